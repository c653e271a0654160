package httpapi

import (
	"slices"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
)

// TestOperationSeries: the plots' series of an issued plan, on both
// backends. The plan's curve is checked against the plan's groups summed
// here per gate; the measured part against what the field reported (one
// group arriving at its gate, counted through later) and one household's
// acknowledgement, each at its time; a viewer reads it; bad points are
// refused with the range.
func TestOperationSeries(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		var now time.Time
		st := open(t)
		if c, ok := st.(interface{ SetNow(func() time.Time) }); ok {
			c.SetNow(func() time.Time { return now }) // acknowledgements on the scenario's clock
		} else {
			t.Skip("store has no SetNow")
		}
		e := scenarioEnv(t, st, 24, &now)
		_, _, links := issuedScenario(t, e)
		var cur plan.Plan
		e.do("planner", "GET", "/api/plans/current", nil, 200, &cur)
		g := cur.Groups[0]
		counted := g.Arrival.Add(5 * time.Minute)
		now = g.Arrival
		fieldBatch(e, "field", []muster.FieldEvent{
			{ID: "dep", Kind: muster.FieldDeparted, At: g.Departure, Group: g.ID},
			{ID: "arr", Kind: muster.FieldArrived, At: g.Arrival, Group: g.ID, Gate: g.Gate},
			{ID: "count", Kind: muster.FieldGateCount, Since: g.Arrival, At: counted, Gate: g.Gate, People: g.People},
		})
		acker := g.Households[0]
		ackAt := g.Departure.Add(-time.Minute)
		now = ackAt
		e.do("", "POST", "/api/ack/"+links[acker], []byte(`{}`), 200, nil)
		now = counted.Add(20 * time.Minute)

		var s seriesResponse
		e.do("viewer", "GET", "/api/operation/series?points=80", nil, 200, &s)
		if len(s.Times) != 80 || s.Times[0].After(cur.Params.Start) || !s.Times[1].After(cur.Params.Start) || s.Plan == "" {
			t.Fatalf("series: %d times from %v, %v (plan start %v), plan %q", len(s.Times), s.Times[0], s.Times[1], cur.Params.Start, s.Plan)
		}
		if !slices.ContainsFunc(s.Times, now.Equal) || !s.Times[s.Measured-1].Equal(now) {
			t.Fatalf("the measured part does not end now (%v): %v", now, s.Times[:s.Measured])
		}
		for i := 1; i < len(s.Times); i++ {
			if d := s.Times[i].Sub(s.Times[i-1]); d != time.Duration(s.StepS)*time.Second {
				t.Fatalf("times %d and %d are %v apart, step %d s", i-1, i, d, s.StepS)
			}
		}
		last := now
		people := map[string]int{}
		for _, pg := range cur.Groups {
			last = maxTime(last, pg.Through)
			people[pg.Gate] += pg.People
		}
		if s.Times[79].Before(last) {
			t.Errorf("the series ends at %v, before the last group through at %v", s.Times[79], last)
		}
		measured := 0
		for _, tt := range s.Times {
			if !tt.After(now) {
				measured++
			}
		}
		if s.Measured != measured || len(s.Acknowledged) != measured || s.Households != cur.Summary.Households-len(cur.Unassigned) {
			t.Fatalf("measured %d (want %d), acknowledged %d, households %d (plan %d, %d unassigned)", s.Measured, measured, len(s.Acknowledged), s.Households, cur.Summary.Households, len(cur.Unassigned))
		}
		if len(s.Gates) != len(cur.Gates) {
			t.Fatalf("%d gates in the series, %d in the plan", len(s.Gates), len(cur.Gates))
		}
		for _, gs := range s.Gates {
			// The plan's curve: every group's people through by the end;
			// at each time, through and waiting together are the people
			// of the groups arrived by then.
			if n := gs.PlannedThrough[79]; n != people[gs.ID] {
				t.Errorf("gate %s: the plan has %d through by the end, its groups hold %d", gs.ID, n, people[gs.ID])
			}
			for i, tt := range s.Times {
				arrived := 0
				for _, pg := range cur.Groups {
					if pg.Gate == gs.ID && !tt.Before(pg.Arrival) {
						arrived += pg.People
					}
				}
				if gs.PlannedThrough[i]+gs.PlannedWaiting[i] != arrived || i > 0 && gs.PlannedThrough[i] < gs.PlannedThrough[i-1] {
					t.Fatalf("gate %s at %v: planned through %d, waiting %d; %d people arrived by then (before: %d through)", gs.ID, tt, gs.PlannedThrough[i], gs.PlannedWaiting[i], arrived, gs.PlannedThrough[max(i-1, 0)])
				}
			}
			if len(gs.Through) != measured || len(gs.Waiting) != measured {
				t.Fatalf("gate %s: %d through and %d waiting measured, want %d", gs.ID, len(gs.Through), len(gs.Waiting), measured)
			}
			// What the field said, at its times.
			for i := range measured {
				tt := s.Times[i]
				wantThrough, wantWaiting := 0, 0
				if gs.ID == g.Gate {
					if !tt.Before(counted) {
						wantThrough = g.People
					} else if !tt.Before(g.Arrival) {
						wantWaiting = g.People
					}
				}
				if gs.Through[i] != wantThrough || gs.Waiting[i] != wantWaiting {
					t.Fatalf("gate %s at %v: through %d waiting %d, want %d and %d (group %s arrived %v, counted %v)", gs.ID, tt, gs.Through[i], gs.Waiting[i], wantThrough, wantWaiting, g.ID, g.Arrival, counted)
				}
			}
		}
		for i := range measured {
			want := 0
			if !s.Times[i].Before(ackAt) {
				want = 1
			}
			if s.Acknowledged[i] != want {
				t.Fatalf("acknowledged at %v: %d, want %d (acknowledged at %v)", s.Times[i], s.Acknowledged[i], want, ackAt)
			}
		}
		if !slices.Contains(s.Acknowledged, 1) {
			t.Fatalf("the acknowledgement is in no point: %v", s.Acknowledged)
		}
		// Asked again with nothing new, a few seconds later: the same
		// answer, made once. A new count at the gate: a new one, with it.
		now = now.Add(5 * time.Second)
		var again seriesResponse
		e.do("planner", "GET", "/api/operation/series?points=80", nil, 200, &again)
		if !again.At.Equal(s.At) {
			t.Errorf("asked again 5 s later with nothing new: made anew at %v (first at %v)", again.At, s.At)
		}
		fieldBatch(e, "field", []muster.FieldEvent{{ID: "count-2", Kind: muster.FieldGateCount, Since: counted, At: now, Gate: g.Gate, People: 2}})
		var after seriesResponse
		e.do("viewer", "GET", "/api/operation/series?points=80", nil, 200, &after)
		gi := slices.IndexFunc(after.Gates, func(x gateSeries) bool { return x.ID == g.Gate })
		if !after.At.Equal(now) || after.Gates[gi].Through[after.Measured-1] != g.People+2 {
			t.Errorf("after a new count: made at %v (now %v), through %v", after.At, now, after.Gates[gi].Through)
		}
		for _, bad := range []string{"2", "241", "many"} {
			body := e.do("viewer", "GET", "/api/operation/series?points="+bad, nil, 400, nil)
			if msg := errorOf(t, body).Message; msg == "" {
				t.Errorf("points=%s: no message", bad)
			}
		}
	})
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
