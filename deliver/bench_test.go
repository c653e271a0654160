package deliver_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/deliver"
	"github.com/muster-evac/muster/deliver/deliverytest"
)

// BenchmarkDeliverSMTP: the whole path, from a SQLite outbox to a real
// SMTP server (mailpit) on loopback: lease, open the sealed fields, send
// over reused connections, record each outcome (audited). b.N messages
// are queued first; the time is from the worker's start to the last
// outcome recorded. Target (issue 10): at least 500 messages a second.
//
//	go test -run '^$' -bench DeliverSMTP -benchtime 3000x ./deliver
func BenchmarkDeliverSMTP(b *testing.B) {
	mp := deliverytest.StartMailpit(b)
	n := max(b.N, 1)
	households := min(n, 50_000)
	st := newStore(b, households)
	var ms []muster.OutboxMessage
	for i := 0; i < n; i++ {
		m := storeMessage(i%households+1, i/households+1)
		ms = append(ms, m)
	}
	if _, _, err := st.EnqueueMessages(ctx, ms); err != nil {
		b.Fatal(err)
	}
	smtp := newSMTP(b, mp.SMTPAddr)
	w := &deliver.Worker{Store: st, Senders: []deliver.Sender{smtp}, Concurrency: 32, Batch: 256, PollInterval: 5 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	b.ResetTimer()
	start := time.Now()
	stop := runWorker(b, w)
	for counts(b, st)[muster.MessageSent] < n {
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(start)
	b.StopTimer()
	stop()
	b.ReportMetric(float64(n)/took.Seconds(), "msgs/s")
	if got := mp.Count(b); got != n {
		b.Fatalf("mailpit holds %d messages, want %d", got, n)
	}
}

func storeMessage(i, v int) muster.OutboxMessage {
	m := storetestMessage(i, v)
	m.BodyHTML = ""
	return m
}
