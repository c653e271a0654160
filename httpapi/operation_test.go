package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/operation"
	"github.com/muster-evac/muster/plan"
)

// fieldBatch posts events as role and returns the answer.
func fieldBatch(e *testEnv, role string, evs []muster.FieldEvent) fieldEventsResponse {
	e.t.Helper()
	var out fieldEventsResponse
	e.do(role, "POST", "/api/field-events", mustJSON(fieldEventsRequest{Events: evs}), 200, &out)
	return out
}

// TestFieldEventsAndLiveState: on an issued plan, a field officer's
// check-ins by signed token, by household id, a forged token and a copy
// of a spent one are recorded with their outcomes (the forged and the copy
// flagged, not applied); the same batch again, shuffled, changes nothing;
// a group leaving, seen and arriving moves its households; the live state
// says so to a viewer, and to a re-plan (Config.LiveState); the server
// marks the late households overdue, then no-show, as "system", once.
func TestFieldEventsAndLiveState(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		var now time.Time
		e := scenarioEnv(t, open(t), 24, &now)
		_, byHH, _ := issuedScenario(t, e)
		var cur plan.Plan
		e.do("planner", "GET", "/api/plans/current", nil, 200, &cur)
		g := cur.Groups[0]
		a := g.Households[0]
		var b, c string
		for _, h := range cur.Households {
			if h.Group != g.ID && h.ID != a {
				if b == "" {
					b = h.ID
				} else if c == "" && h.Group != cur.Households[slices.IndexFunc(cur.Households, func(x plan.Household) bool { return x.ID == b })].Group {
					c = h.ID
				}
			}
		}
		tokA := byHH[a].Token
		at := g.ReportBy.Add(-10 * time.Minute)
		now = at.Add(time.Minute)
		evs := []muster.FieldEvent{
			{ID: "ci-a", Kind: muster.FieldCheckIn, At: at, Token: tokA, RallyPoint: g.RallyPoint},
			{ID: "ci-b-forged", Kind: muster.FieldCheckIn, At: at, Token: changeChar(byHH[b].Token, len(byHH[b].Token)/2), RallyPoint: g.RallyPoint},
			{ID: "ci-c", Kind: muster.FieldCheckIn, At: at, Household: c, RallyPoint: cur.Households[slices.IndexFunc(cur.Households, func(x plan.Household) bool { return x.ID == c })].RallyPoint},
			{ID: "ci-a-copy", Kind: muster.FieldCheckIn, At: at.Add(time.Minute), Token: tokA, RallyPoint: g.RallyPoint},
			{ID: "gs-1", Kind: muster.FieldGateState, At: at, Gate: g.Gate, GateStatus: "restricted", Queue: 30},
		}
		res := fieldBatch(e, "field", evs)
		if res.Recorded != 5 || res.Flagged != 2 || res.Outcomes[1].Flags[0] != muster.FlagTokenForged || res.Outcomes[3].Flags[0] != muster.FlagTokenSpent ||
			len(res.Outcomes[0].Flags) != 0 || len(res.Outcomes[2].Flags) != 0 {
			t.Fatalf("first batch: %+v", res)
		}
		// The phone did not hear the answer: the batch again, shuffled.
		again := slices.Clone(evs)
		rand.New(rand.NewPCG(3, 3)).Shuffle(len(again), func(i, j int) { again[i], again[j] = again[j], again[i] })
		if res := fieldBatch(e, "field", again); res.Duplicates != 5 || res.Recorded != 0 {
			t.Fatalf("the batch again: %+v", res)
		}
		// The check-in by token is the one /api/checkin sees.
		resp, body := e.request("field", "POST", "/api/checkin", mustJSON(checkinRequest{Token: tokA, RallyPoint: g.RallyPoint}), "")
		if resp.StatusCode != 409 || !strings.Contains(string(body), "checked in already") {
			t.Fatalf("a check-in after the field's: %d %s", resp.StatusCode, body)
		}
		var st operation.State
		e.do("viewer", "GET", "/api/operation", nil, 200, &st)
		here := map[string]bool{}
		for _, r := range st.RallyPoints {
			for _, h := range r.Here {
				here[h] = true
			}
		}
		// Flagged: the forged token, the field's copy and /api/checkin's
		// copy (the store records an event of each check-in it makes).
		apiCopy := slices.IndexFunc(st.Flagged, func(f operation.FlaggedEvent) bool { return strings.HasPrefix(f.ID, muster.CheckInEventPrefix) })
		if !here[a] || !here[c] || here[b] || len(st.Flagged) != 3 || apiCopy < 0 || st.Flagged[apiCopy].Flags[0] != muster.FlagTokenSpent ||
			st.Totals.Planned != cur.Summary.AssignedPeople {
			t.Fatalf("live state: at rally %v (a %s, b %s, c %s), flagged %+v, totals %+v", here, a, b, c, st.Flagged, st.Totals)
		}
		gi := slices.IndexFunc(st.Gates, func(x operation.GateState) bool { return x.ID == g.Gate })
		if st.Gates[gi].Status != "restricted" || st.Gates[gi].Queue != 30 {
			t.Fatalf("gate %+v", st.Gates[gi])
		}

		// The group leaves with a alone, is seen, arrives, passes.
		now = g.Arrival.Add(10 * time.Minute)
		res = fieldBatch(e, "planner", []muster.FieldEvent{
			{ID: "dep", Kind: muster.FieldDeparted, At: g.Departure, Group: g.ID, Households: []string{a}, People: cur.Households[slices.IndexFunc(cur.Households, func(x plan.Household) bool { return x.ID == a })].People},
			{ID: "seen", Kind: muster.FieldSeen, At: g.Departure.Add(time.Minute), Group: g.ID, Lat: cur.Gates[0].Lat, Lon: cur.Gates[0].Lon},
		})
		if res.Recorded != 2 {
			t.Fatalf("departure: %+v", res)
		}
		ps, err := e.api.cfg.LiveState(context.Background())
		if err != nil || ps.Moving[g.ID].SeenAt.IsZero() || !slices.Equal(ps.Moving[g.ID].Households, []string{a}) || ps.GateStatus[g.Gate] != "restricted" {
			t.Fatalf("the state a re-plan takes: %+v, %v", ps, err)
		}
		// Everyone else of the plan is past report-by and the grace: the
		// server marks them, once.
		now = cur.Groups[len(cur.Groups)-1].ReportBy.Add(operation.DefaultGrace + time.Minute)
		e.api.live.swept = time.Time{}
		e.do("viewer", "GET", "/api/operation", nil, 200, &st)
		var sys []muster.FieldEvent
		e.do("planner", "GET", "/api/field-events?kind=no_show&limit=10000", nil, 200, &struct {
			Events *[]muster.FieldEvent `json:"events"`
		}{&sys})
		if len(sys) == 0 || sys[0].By != "system" || st.Totals.NoShows == 0 || st.Totals.AtRally == 0 {
			t.Fatalf("no-shows: %d events (%+v), totals %+v", len(sys), sys[:min(1, len(sys))], st.Totals)
		}
		e.api.live.swept = time.Time{}
		e.do("viewer", "GET", "/api/operation", nil, 200, nil)
		var sys2 []muster.FieldEvent
		e.do("planner", "GET", "/api/field-events?kind=no_show&limit=10000", nil, 200, &struct {
			Events *[]muster.FieldEvent `json:"events"`
		}{&sys2})
		if len(sys2) != len(sys) {
			t.Fatalf("no-shows made twice: %d, then %d", len(sys), len(sys2))
		}
		// A viewer reads the state, but reports nothing.
		e.do("viewer", "POST", "/api/field-events", mustJSON(fieldEventsRequest{Events: evs[:1]}), 403, nil)
		// Bad input: an error naming the event; an id reused, refused.
		bad := fieldBatch(e, "field", []muster.FieldEvent{{ID: "seen", Kind: muster.FieldSeen, At: now, Group: g.ID, Lat: 1, Lon: 1},
			{ID: "x y", Kind: muster.FieldSeen, At: now, Group: g.ID, Lat: 1, Lon: 1}})
		if bad.Refused != 2 || !strings.Contains(bad.Outcomes[0].Reason, "another event") || !strings.Contains(bad.Outcomes[1].Reason, "id must be") {
			t.Fatalf("bad events: %+v", bad)
		}
	})
}

// TestLiveStateTwoInstances: two servers on one PostgreSQL answer the same
// live state, whichever received the events.
func TestLiveStateTwoInstances(t *testing.T) {
	if _, ok := openStores(t)["postgres"]; !ok {
		t.Skip("MUSTER_TEST_POSTGRES is unset")
	}
	st1, st2 := openPostgresPair(t)
	var now time.Time
	e := scenarioEnv(t, st1, 12, &now)
	issuedScenario(t, e)
	api2, err := New(Config{Store: st2, IPRate: -1, AccountRate: -1, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api2.Close)
	srv2 := httptest.NewServer(api2)
	t.Cleanup(srv2.Close)
	e2 := *e
	e2.srv = srv2
	var cur plan.Plan
	e.do("planner", "GET", "/api/plans/current", nil, 200, &cur)
	state := func(e *testEnv) string {
		var st json.RawMessage
		e.do("viewer", "GET", "/api/operation", nil, 200, &st)
		return string(st)
	}
	now = cur.Groups[0].Departure.Add(5 * time.Minute)
	for i, h := range cur.Households[:6] {
		target := e
		if i%2 == 1 {
			target = &e2
		}
		fieldBatch(target, "field", []muster.FieldEvent{{ID: "ci-" + h.ID, Kind: muster.FieldCheckIn, At: h.ReportBy.Add(-time.Minute), Household: h.ID, RallyPoint: h.RallyPoint}})
	}
	fieldBatch(&e2, "field", []muster.FieldEvent{{ID: "dep", Kind: muster.FieldDeparted, At: cur.Groups[0].Departure, Group: cur.Groups[0].ID}})
	s1, s2 := state(e), state(&e2)
	if s1 != s2 {
		t.Fatalf("two instances, two states:\n%s\n%s", s1, s2)
	}
	if !strings.Contains(s1, `"status":"moving"`) {
		t.Fatalf("the departure is not in the state: %s", s1)
	}
}

// TestFieldEventsStreamed: a batch of field events reaches a viewer's
// event stream as a "fieldevent" event (a hint to read the state again).
func TestFieldEventsStreamed(t *testing.T) {
	e := newEnvCity(t, openSQLite(t), false, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/events", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens["viewer"])
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Scan() // subscribed
	fieldBatch(e, "field", []muster.FieldEvent{{ID: "q-1", Kind: muster.FieldGateState, At: time.Now(), Gate: "gate-1", Queue: 12}})
	for sc.Scan() {
		if sc.Text() == "event: fieldevent" {
			return
		}
	}
	t.Fatalf("no fieldevent event: %v", sc.Err())
}
