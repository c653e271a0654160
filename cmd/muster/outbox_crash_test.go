package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/deliver/deliverytest"
	"github.com/muster-evac/muster/postgres"
	"github.com/muster-evac/muster/seal"
	"github.com/muster-evac/muster/sqlite"
)

// TestDeliverySIGKILL kills `muster serve` with SIGKILL again and again
// while it delivers a queued outbox to a real SMTP server (mailpit), then
// lets it finish, and checks what "loses no message and sends none twice
// beyond what the idempotency key lets the provider drop" means here:
//
//   - no message is lost: every queued message ends sent, and the SMTP
//     server holds at least one copy of each, under the Message-ID made
//     from its idempotency key;
//   - delivery is at least once with a stable key: a message reaches the
//     server more than once only when an attempt's send completed but its
//     outcome was not recorded (the process was killed in between, and the
//     message was sent again when its lease expired). So every copy of a
//     message carries the same Message-ID (the provider, or the reader's
//     mail client, can drop all but one), a message has no more copies
//     than attempts, and the copies beyond the first are at most the sends
//     in flight at the kills (kills × --deliver-concurrency);
//   - the server holds nothing else, and the audit chain verifies.
//
// On SQLite one server is killed each round; on PostgreSQL two servers
// share the database and one of them, at random, is killed each round
// while the other goes on (and takes the dead one's leases over).
func TestDeliverySIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a delivering server many times: not in -short")
	}
	for name, args := range storeBackends() {
		t.Run(name, func(t *testing.T) {
			mp := deliverytest.StartMailpit(t)
			store := args(t)
			if _, stderr, err := runIn(t, "tangerine zeppelin quartz 42\n", append([]string{"user", "add", "ops", "--role", "planner", "--password-stdin"}, store...)...); err != nil {
				t.Fatalf("user add: %v %s", err, stderr)
			}
			st := openStoreArgs(t, store)
			const n = 1500
			queueCrashMessages(t, st, n)

			const concurrency = 4
			instances := 1
			if name == "postgres" {
				instances = 2
			}
			serve := append([]string{"--smtp", "smtp://" + mp.SMTPAddr, "--smtp-from", "Muster <noreply@muster.example.org>",
				"--deliver-lease", "4s", "--deliver-timeout", "1s", "--deliver-poll", "100ms",
				"--deliver-concurrency", fmt.Sprint(concurrency), "--deliver-batch", "16"}, store...)
			rng := rand.New(rand.NewPCG(10, 10))
			servers := make([]*serverProc, instances)
			for i := range servers {
				servers[i] = startServer(t, serve)
			}
			kills := 0
			for round := 0; round < 6; round++ {
				time.Sleep(time.Duration(150+rng.IntN(350)) * time.Millisecond)
				i := rng.IntN(instances)
				servers[i].kill(t)
				kills++
				servers[i] = startServer(t, serve)
			}
			sentBeforeEnd := countStatus(t, st)[muster.MessageSent]
			deadline := time.Now().Add(90 * time.Second)
			for countStatus(t, st)[muster.MessageSent] < n {
				if time.Now().After(deadline) {
					t.Fatalf("after the kills, the servers did not finish: %v", countStatus(t, st))
				}
				time.Sleep(200 * time.Millisecond)
			}
			for _, s := range servers {
				s.kill(t)
			}
			if sentBeforeEnd == n {
				t.Fatal("everything was sent before the last kill: the kills hit nothing")
			}

			// What the SMTP server holds.
			keys := map[string]muster.OutboxMessage{}
			for after := ""; ; {
				ms, next, err := st.ListMessages(context.Background(), muster.MessageFilter{AfterID: after, Limit: 1000})
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range ms {
					if m.Status != muster.MessageSent {
						t.Fatalf("message %s ended %s (%s)", m.ID, m.Status, m.LastError)
					}
					keys[m.IdempotencyKey+"@muster.example.org"] = m
				}
				if next == "" {
					break
				}
				after = next
			}
			copies := map[string]int{}
			for _, got := range mp.Messages(t) {
				if _, ours := keys[got.MessageID]; !ours {
					t.Fatalf("the SMTP server holds a message that is not in the outbox: Message-ID %q", got.MessageID)
				}
				copies[got.MessageID]++
			}
			extra, attempts := 0, 0
			for id, m := range keys {
				c := copies[id]
				if c == 0 {
					t.Errorf("message %s (household %s) is marked sent but the SMTP server never got it", m.ID, m.HouseholdID)
				}
				if c > m.Attempts {
					t.Errorf("message %s reached the server %d times in %d attempts", m.ID, c, m.Attempts)
				}
				extra += max(c-1, 0)
				attempts += m.Attempts
			}
			if extra > kills*concurrency {
				t.Errorf("%d copies beyond the first, more than the %d kills × %d sends in flight can explain", extra, kills, concurrency)
			}
			if out, stderr, err := runIn(t, "", append([]string{"audit", "verify"}, store...)...); err != nil || !strings.HasPrefix(out, "OK") {
				t.Errorf("audit verify after the kills: %v %s %s", err, out, stderr)
			}
			t.Logf("%d messages over %d kills of %d instance(s): all delivered; %d attempts; %d duplicate copies, each under its message's one Message-ID",
				n, kills, instances, attempts, extra)
		})
	}
}

// openStoreArgs opens, in this process, the store that the command-line
// flags name (--data DIR, or --db URL --key FILE).
func openStoreArgs(t *testing.T, args []string) muster.Store {
	t.Helper()
	flag := func(name string) string {
		if i := slices.Index(args, name); i >= 0 && i+1 < len(args) {
			return args[i+1]
		}
		return ""
	}
	keyFile := flag("--key")
	if keyFile == "" {
		keyFile = filepath.Join(flag("--data"), masterKeyFile)
	}
	master, err := seal.LoadMasterKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	keys := seal.DataKeys(master)
	ctx := muster.WithActor(context.Background(), "crash-test")
	var st muster.Store
	if db := flag("--db"); db != "" {
		st, err = postgres.Open(ctx, db, keys)
	} else {
		st, err = sqlite.Open(ctx, filepath.Join(flag("--data"), sqliteFile), keys)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// queueCrashMessages registers n households and queues one e-mail each.
func queueCrashMessages(t *testing.T, st muster.Store, n int) {
	t.Helper()
	ctx := muster.WithActor(context.Background(), "crash-test")
	hs := make([]muster.Household, n)
	ms := make([]muster.OutboxMessage, n)
	for i := range hs {
		id := fmt.Sprintf("K%05d", i)
		hs[i] = muster.Household{ID: id, Name: "Crash Test " + id, PartySize: 1, Adults: 1, Language: muster.LangEnglish,
			Email: fmt.Sprintf("family%d@example.org", i)}
		ms[i] = muster.OutboxMessage{HouseholdID: id, InstructionID: "I-" + id, InstructionVersion: 1, Channel: muster.ChannelEmail,
			Recipient: hs[i].Email, Subject: "Your evacuation instruction", Body: "Be at rally point 7 between 06:00 and 06:30."}
	}
	if _, err := st.ImportHouseholds(ctx, hs, muster.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if enq, _, err := st.EnqueueMessages(ctx, ms); err != nil || enq != n {
		t.Fatalf("enqueue: %d %v", enq, err)
	}
}

func countStatus(t *testing.T, st muster.Store) map[string]int {
	t.Helper()
	c, err := st.CountMessages(context.Background(), muster.MessageFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
