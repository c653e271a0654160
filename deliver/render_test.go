package deliver_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/deliver"
	"github.com/muster-evac/muster/storetest"
)

// recorder is an e-mail sender that keeps what it is handed.
type recorder struct {
	mu   sync.Mutex
	sent map[string]muster.OutboxMessage
}

func (r *recorder) Channel() string { return muster.ChannelEmail }
func (r *recorder) Close() error    { return nil }
func (r *recorder) Send(_ context.Context, m muster.OutboxMessage) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent[m.HouseholdID] = m
	return "", nil
}

func (r *recorder) get(household string) (muster.OutboxMessage, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.sent[household]
	return m, ok
}

// TestRenderWhenSent: a message queued with a link and no bodies is sent
// as Render writes it, with its link and reply code; one Render cannot
// write (its instruction is gone) is a dead letter saying so, and a
// worker without Render sends none of them and leaves them to retry.
func TestRenderWhenSent(t *testing.T) {
	st := newStore(t, 3)
	var ms []muster.OutboxMessage
	for i := 1; i <= 3; i++ {
		m := storetest.OutboxMessage(i, 1, muster.ChannelEmail)
		m.Subject, m.Body, m.BodyHTML, m.Link = "", "", "", "https://evac.example.org/i/link"+m.HouseholdID
		ms = append(ms, m)
	}
	if n, _, err := st.EnqueueMessages(ctx, ms); err != nil || n != 3 {
		t.Fatalf("enqueue: %d, %v", n, err)
	}

	// No Render: nothing is sent, every message waits for a worker that can.
	rec := &recorder{sent: map[string]muster.OutboxMessage{}}
	stop := runWorker(t, &deliver.Worker{Store: st, Senders: []deliver.Sender{rec}, Backoff: fastBackoff()})
	waitFor(t, 10*time.Second, "the messages released for retry", func() bool { return counts(t, st)[muster.MessageRetrying] == 3 })
	stop()
	if len(rec.sent) != 0 {
		t.Fatalf("a worker without Render sent %d messages", len(rec.sent))
	}
	for _, m := range mustList(t, st) {
		if !strings.Contains(m.LastError, "no Render") {
			t.Fatalf("message %s: %q", m.ID, m.LastError)
		}
	}

	// With Render: sent as rendered; H000003's instruction is gone.
	render := func(_ context.Context, m muster.OutboxMessage) (muster.OutboxMessage, error) {
		if m.HouseholdID == "H000003" {
			return m, muster.Errorf(muster.ENOTFOUND, "instruction %s not found", m.InstructionID)
		}
		m.Subject, m.Body = "Instruction "+m.InstructionID, "Go to the rally point. "+m.Link+" Reply "+m.AckCode
		return m, nil
	}
	runWorker(t, &deliver.Worker{Store: st, Senders: []deliver.Sender{rec}, Backoff: fastBackoff(), Render: render, PollInterval: 20 * time.Millisecond})
	waitFor(t, 20*time.Second, "two sent and one dead", func() bool {
		c := counts(t, st)
		return c[muster.MessageSent] == 2 && c[muster.MessageDead] == 1
	})
	for _, want := range ms[:2] {
		got, ok := rec.get(want.HouseholdID)
		if !ok || !strings.Contains(got.Body, want.Link) || !strings.Contains(got.Body, want.AckCode) || got.Recipient != want.Recipient || got.Subject == "" {
			t.Fatalf("sent to %s: %+v", want.HouseholdID, got)
		}
	}
	if _, ok := rec.get("H000003"); ok {
		t.Fatal("a message Render could not write was sent")
	}
	dead, err := st.DeadLetters(ctx, 10)
	if err != nil || len(dead) != 1 || dead[0].HouseholdID != "H000003" || !strings.Contains(dead[0].LastError, "rendering it failed") {
		t.Fatalf("dead letters: %+v, %v", dead, err)
	}
}

func mustList(t *testing.T, st muster.Store) []muster.OutboxMessage {
	t.Helper()
	ms, _, err := st.ListMessages(ctx, muster.MessageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}
