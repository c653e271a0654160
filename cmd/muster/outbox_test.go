package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
)

// TestOutboxCLI: muster outbox list|dead|retry and muster unacknowledged
// on a store, on each backend: counts and rows without recipients or
// text, a dead letter queued again (audited as the CLI's user), and whom
// to call with names and phones (that read audited).
func TestOutboxCLI(t *testing.T) {
	for name, args := range storeBackends() {
		t.Run(name, func(t *testing.T) {
			store := args(t)
			if _, stderr, err := runIn(t, "tangerine zeppelin quartz 42\n", append([]string{"user", "add", "ops", "--role", "planner", "--password-stdin"}, store...)...); err != nil {
				t.Fatalf("user add: %v %s", err, stderr)
			}
			st := openStoreArgs(t, store)
			queueCrashMessages(t, st, 3)
			ctx := muster.WithActor(context.Background(), "test-worker")
			ms, err := st.LeaseMessages(ctx, "test-worker", nil, 1, time.Minute, time.Time{})
			if err != nil || len(ms) != 1 {
				t.Fatalf("lease: %v %v", ms, err)
			}
			if _, err := st.CompleteMessage(ctx, ms[0].ID, "test-worker", muster.MessageResult{Outcome: muster.OutcomeDead, Error: "smtp: 550 5.1.1 no such user"}); err != nil {
				t.Fatal(err)
			}
			run := func(a ...string) string {
				t.Helper()
				out, stderr, err := runIn(t, "", append(a, store...)...)
				if err != nil {
					t.Fatalf("%v: %v %s", a, err, stderr)
				}
				return out
			}
			out := run("outbox", "list")
			if !strings.HasPrefix(out, "queued 2, sending 0, failed-retrying 0, sent 0, dead 1\n") || strings.Count(out, "\n") != 5 || strings.Contains(out, "example.org") {
				t.Fatalf("outbox list:\n%s", out)
			}
			if out := run("outbox", "dead"); !strings.Contains(out, ms[0].ID) || !strings.Contains(out, "550 5.1.1") {
				t.Fatalf("outbox dead:\n%s", out)
			}
			if out := run("outbox", "retry", ms[0].ID); !strings.Contains(out, ms[0].ID+" queued again") {
				t.Fatalf("outbox retry:\n%s", out)
			}
			if _, _, err := runIn(t, "", append([]string{"outbox", "retry", ms[0].ID}, store...)...); muster.ErrorCode(err) != muster.ECONFLICT {
				t.Fatalf("retrying a message that is not dead: %v", err)
			}
			if out := run("outbox", "dead"); !strings.Contains(out, "no dead letters") {
				t.Fatalf("outbox dead after the retry:\n%s", out)
			}
			if out := run("unacknowledged", "--older-than", "1h"); !strings.Contains(out, "every household acknowledged") {
				t.Fatalf("unacknowledged 1h:\n%s", out)
			}
			if _, err := st.Acknowledge(ctx, "K00001", "I-K00001", muster.AckOperator, time.Time{}); err != nil {
				t.Fatal(err)
			}
			out = run("unacknowledged", "--older-than", "0s")
			if !strings.Contains(out, "K00000") || !strings.Contains(out, "Crash Test K00002") || strings.Contains(out, "K00001") {
				t.Fatalf("unacknowledged 0s:\n%s", out)
			}
			audit, err := st.ListAudit(ctx, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			var seen []string
			for _, e := range audit {
				if e.Action == "message.requeue" || (e.Action == "household.list" && strings.Contains(e.Detail, "unacknowledged")) {
					seen = append(seen, e.Action+" by "+strings.SplitN(e.Actor, ":", 2)[0])
				}
			}
			if strings.Join(seen, ", ") != "message.requeue by cli, household.list by cli" {
				t.Fatalf("audited: %q", seen)
			}
		})
	}
}
