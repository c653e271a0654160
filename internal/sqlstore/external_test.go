package sqlstore

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/muster-evac/muster"
)

// TestAuditEventsComplete: every change this package audits maps to an
// event, so that other processes hear of it (external.go); and every
// mapping names a change that is still audited.
func TestAuditEventsComplete(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]bool{}
	re := regexp.MustCompile(`w\.record\("([^"]+)"`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			recorded[string(m[1])] = true
		}
	}
	if len(recorded) < 10 {
		t.Fatalf("found only %d audited changes: has the call changed?", len(recorded))
	}
	for a := range recorded {
		if _, ok := auditEvents[a]; !ok {
			t.Errorf("change %q is audited but announces nothing to other processes: add it to auditEvents", a)
		}
	}
	for a := range auditEvents {
		if !recorded[a] {
			t.Errorf("auditEvents maps %q, which nothing records", a)
		}
	}
}

func TestEventOf(t *testing.T) {
	for _, c := range []struct {
		e    muster.AuditEntry
		want muster.Event
		ok   bool
	}{
		{muster.AuditEntry{Action: "household.create", Target: "household:H1"}, muster.Event{Kind: "household", ID: "H1"}, true},
		{muster.AuditEntry{Action: "household.import", Target: "households"}, muster.Event{Kind: "household"}, true},
		{muster.AuditEntry{Action: "token.create", Target: "user:amina"}, muster.Event{Kind: "token"}, true},
		{muster.AuditEntry{Action: "key.wipe", Target: "data_key"}, muster.Event{Kind: "wipe", ID: "data_key"}, true},
		{muster.AuditEntry{Action: "household.read", Target: "household:H1"}, muster.Event{}, false},
	} {
		got, ok := eventOf(c.e)
		if got != c.want || ok != c.ok {
			t.Errorf("%+v: %+v %v, want %+v %v", c.e, got, ok, c.want, c.ok)
		}
	}
}
