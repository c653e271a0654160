package httpapi

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/muster-evac/muster"
)

// TestSimulationOnTheServer: a planner runs an exercise on the current
// plan with a gate closing; the answer's curves are the simulation's own
// (people in safety rise to the share reported, every gate's queue is
// given minute by minute and muster's stays within each crowd limit), any
// role reads the latest back for the map, a second one while one runs is
// refused 429 with Retry-After, bad injects are refused naming the inject,
// and only planners may run one.
func TestSimulationOnTheServer(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		k := testCity(t)
		e := newEnv(t, open(t), nil)
		rng := rand.New(rand.NewPCG(2, 2))
		for i := 0; i < 80; i++ {
			p := k.footGraph.NodePoint(uint32(rng.IntN(k.footGraph.NumNodes())))
			body := fmt.Sprintf(`{"id":"S%03d","name":"Person %d","party_size":%d,"adults":1,"children":%d,"priority":"none","language":"fa","phone":"+9370222%04d","location":{"lat":%f,"lon":%f}}`,
				i, i, 2+i%3, 1+i%3, i, p[1], p[0])
			e.do("field", "POST", "/api/households", []byte(body), 201, nil)
		}
		e.do("viewer", "GET", "/api/simulations/latest", nil, 404, nil)
		e.do("planner", "POST", "/api/simulations", []byte(`{"seed":1}`), 404, nil) // no current plan yet
		var p1 planOut
		e.do("planner", "POST", "/api/plans", []byte(`{"at":"2021-08-26T06:00:00Z"}`), 201, &p1)
		e.do("planner", "POST", "/api/plans/"+p1.ID+"/approve", nil, 200, nil)

		gate := ""
		for _, pl := range k.places.Places {
			if pl.Kind == muster.PlaceGate && gate == "" {
				gate = pl.ID
			}
		}
		e.do("field", "POST", "/api/simulations", []byte(`{"seed":1}`), 403, nil)
		bad := errorOf(t, e.do("planner", "POST", "/api/simulations", []byte(`{"seed":1,"injects":[{"at":"+20m","kind":"gate_close","gate":"nowhere"}]}`), 400, nil))
		if !strings.Contains(bad.Message, "nowhere") {
			t.Errorf("a bad inject: %q does not name the gate", bad.Message)
		}
		e.do("planner", "POST", "/api/simulations", []byte(`{"seed":1,"horizon_h":1000}`), 400, nil)

		// One at a time: while one runs, another is refused.
		e.api.sims.running <- struct{}{}
		resp, body := e.request("planner", "POST", "/api/simulations", []byte(`{"seed":1}`), "application/json")
		<-e.api.sims.running
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("a second simulation at once: %d %s (Retry-After %q)", resp.StatusCode, body, resp.Header.Get("Retry-After"))
		}

		var out simulationOut
		e.do("planner", "POST", "/api/simulations", []byte(fmt.Sprintf(`{"seed":3,"baselines":true,"injects":[{"at":"+20m","kind":"gate_close","gate":%q}]}`, gate)), 201, &out)
		if out.Plan != p1.ID || out.By != "planner-user" || len(out.Runs) != 3 || len(out.Comparison) != 3 || out.People == 0 {
			t.Fatalf("simulation: plan %s by %s, %d runs, %d comparison rows, %d people", out.Plan, out.By, len(out.Runs), len(out.Comparison), out.People)
		}
		m := out.Runs[0]
		if m.Name != "muster plan" || len(m.Minutes) == 0 || len(m.Safe) != len(m.Minutes) {
			t.Fatalf("muster's run: %q, %d minutes, %d safe", m.Name, len(m.Minutes), len(m.Safe))
		}
		if last := m.Safe[len(m.Safe)-1]; last == 0 || float64(last) != float64(int(m.SafeShare*float64(out.People)+0.5)) && absf(float64(last)/float64(out.People)-m.SafeShare) > 0.001 {
			t.Errorf("people in safety end at %d of %d, the report says a share of %.3f", last, out.People, m.SafeShare)
		}
		for i := 1; i < len(m.Safe); i++ {
			if m.Safe[i] < m.Safe[i-1] {
				t.Fatalf("people in safety fell from %d to %d at minute %d", m.Safe[i-1], m.Safe[i], i)
			}
		}
		closed := false
		for _, g := range m.Gates {
			if len(g.Waiting) != len(m.Minutes) {
				t.Errorf("gate %s: %d minutes of queue for %d minutes", g.ID, len(g.Waiting), len(m.Minutes))
			}
			for i, n := range g.Waiting {
				if n > g.CrowdLimit {
					t.Errorf("muster: gate %s held %d at minute %d, over its limit %d", g.ID, n, i, g.CrowdLimit)
				}
			}
			closed = closed || g.ID == gate
		}
		if !closed || len(out.Injects) != 1 || out.Injects[0].Picture.GateStatus[gate] != muster.GateClosed {
			t.Errorf("the gate closing: %+v", out.Injects)
		}
		var latest simulationOut
		e.do("viewer", "GET", "/api/simulations/latest", nil, 200, &latest)
		if latest.ID != out.ID || len(latest.Runs) != 3 {
			t.Errorf("latest %s, want %s", latest.ID, out.ID)
		}
	})
}

func absf(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
