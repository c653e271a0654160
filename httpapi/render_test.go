package httpapi

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/issue"
)

// TestEmailsRenderedWhenSent: an approval queues each household's e-mail
// with its link and reply code and no text; issue.Render writes it from
// the instruction it names (the long form with the token, as text and
// HTML), and refuses a message that names another household's
// instruction, or another version.
func TestEmailsRenderedWhenSent(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		var now time.Time
		e := scenarioEnv(t, open(t), 12, &now)
		var p planOut
		e.do("planner", "POST", "/api/plans", []byte(`{"at":"2021-08-26T06:00:00Z"}`), 201, &p)
		e.do("planner", "POST", "/api/plans/"+p.ID+"/approve", nil, 200, nil)
		ctx := muster.WithActor(context.Background(), "worker")
		ms, err := e.store.LeaseMessages(ctx, "worker", []string{muster.ChannelEmail}, 100, time.Minute, time.Time{})
		if err != nil || len(ms) < 2 {
			t.Fatalf("leased %d e-mails: %v", len(ms), err)
		}
		for _, m := range ms {
			if m.Link == "" || m.Body != "" || m.BodyHTML != "" || m.Subject != "" || m.AckCode == "" {
				t.Fatalf("queued e-mail: %+v", m)
			}
			in, err := e.store.GetInstruction(ctx, m.InstructionID)
			if err != nil {
				t.Fatal(err)
			}
			r, err := issue.Render(ctx, e.store, m)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{m.Link, m.AckCode, in.Token} {
				if !strings.Contains(r.Body, want) {
					t.Fatalf("%s: the text lacks %q:\n%s", m.ID, want, r.Body)
				}
			}
			if !strings.Contains(r.BodyHTML, m.AckCode) || !strings.Contains(r.Subject, in.ID) || r.Recipient != m.Recipient {
				t.Fatalf("%s: rendered %+v", m.ID, r)
			}
		}
		other := ms[0]
		other.HouseholdID = ms[1].HouseholdID
		if _, err := issue.Render(ctx, e.store, other); muster.ErrorCode(err) != muster.EINVALID {
			t.Fatalf("another household's instruction: %v", err)
		}
		later := ms[0]
		later.InstructionVersion++
		if _, err := issue.Render(ctx, e.store, later); muster.ErrorCode(err) != muster.EINVALID {
			t.Fatalf("another version: %v", err)
		}
	})
}
