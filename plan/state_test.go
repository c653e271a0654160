package plan_test

import (
	"strings"
	"testing"

	"github.com/muster-evac/muster/plan"
)

func TestReadState(t *testing.T) {
	good := `{"at":"2026-05-01T10:00:00Z","groups_through":{"G00001":true},"households_through":{"H1":true},
	"moving":{"G00002":{"households":["H2"],"people":3,"departed":"2026-05-01T09:40:00Z","seen_at":"2026-05-01T09:55:00Z","lat":41.15,"lon":-8.61}},
	"checked_in":{"H3":true},"waiting_at":{"H4":"R1"},"missing":{"H5":{"kind":"no_show","since":"2026-05-01T09:30:00Z","rally_point":"R1"}},
	"gate_rates":{"gate-1":600},"gate_status":{"gate-2":"closed"},"gate_queues":{"gate-1":40}}`
	s, err := plan.ReadState(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Through["G00001"] || !s.HouseholdsThrough["H1"] || s.WaitingAt["H4"] != "R1" || s.Missing["H5"].Kind != plan.MissingNoShow ||
		s.GateRates["gate-1"] != 600 || s.GateQueues["gate-1"] != 40 {
		t.Fatalf("state read wrong: %+v", s)
	}
	if pt, ok := s.Moving["G00002"].Seen(); !ok || pt[1] != 41.15 || pt[0] != -8.61 {
		t.Fatalf("moving group position %v %v", pt, ok)
	}
	for name, tc := range map[string]struct{ in, want string }{
		"no at":         {`{}`, "at (now) is required"},
		"unknown field": {`{"at":"2026-05-01T10:00:00Z","through":{}}`, "unknown field"},
		"bad kind":      {`{"at":"2026-05-01T10:00:00Z","missing":{"H":{"kind":"lost"}}}`, `missing household "H": kind "lost"`},
		"departs later": {`{"at":"2026-05-01T10:00:00Z","moving":{"G":{"departed":"2026-05-01T11:00:00Z"}}}`, `moving group "G" departed`},
		"seen nowhere":  {`{"at":"2026-05-01T10:00:00Z","moving":{"G":{"departed":"2026-05-01T09:00:00Z","seen_at":"2026-05-01T09:30:00Z","lat":95,"lon":0}}}`, "not a place on Earth"},
		"rate":          {`{"at":"2026-05-01T10:00:00Z","gate_rates":{"g":-1}}`, `gate "g": rate -1`},
		"status":        {`{"at":"2026-05-01T10:00:00Z","gate_status":{"g":"ajar"}}`, `status "ajar"`},
		"syntax":        {`{"at":`, "state:"},
		"type":          {`{"at":"2026-05-01T10:00:00Z","gate_queues":{"g":"x"}}`, "gate_queues"},
	} {
		if _, err := plan.ReadState(strings.NewReader(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", name, err, tc.want)
		}
	}
}

func FuzzReadState(f *testing.F) {
	f.Add(`{"at":"2026-05-01T10:00:00Z","moving":{"G":{"departed":"2026-05-01T09:00:00Z","seen_at":"2026-05-01T09:30:00Z","lat":41,"lon":-8}}}`)
	f.Add(`{"at":"2026-05-01T10:00:00Z","missing":{"H":{"kind":"overdue","since":"2026-05-01T09:00:00Z"}},"gate_rates":{"g":1e300}}`)
	f.Fuzz(func(t *testing.T, in string) {
		s, err := plan.ReadState(strings.NewReader(in))
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("ReadState accepted a state Validate refuses: %v", err)
		}
	})
}
