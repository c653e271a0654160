package plan_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/citygen"
	"github.com/muster-evac/muster/internal/planfixture"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/plancheck"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
	"github.com/muster-evac/muster/zonecost"
)

type city struct {
	car, foot *route.Router
	places    *muster.Places
	foot0     *roadgraph.Graph
}

func generatedCity(t testing.TB, seed int64, scale float64) *city {
	t.Helper()
	ctx := context.Background()
	gen, err := citygen.Generate(ctx, citygen.Options{Seed: seed, Scale: scale})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := osmimport.FromOSM(ctx, gen.OSM, "test", osmimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	car, err := route.New(ctx, c.Graphs[roadgraph.Car], route.Options{})
	if err != nil {
		t.Fatal(err)
	}
	foot, err := route.New(ctx, c.Graphs[roadgraph.Foot], route.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &city{car: car, foot: foot, places: &gen.Places, foot0: c.Graphs[roadgraph.Foot]}
}

// households puts n households at random foot-graph nodes.
func households(g *roadgraph.Graph, n int, seed uint64) []muster.Household {
	rng := rand.New(rand.NewPCG(seed, 3))
	hs := make([]muster.Household, n)
	for i := range hs {
		p := g.NodePoint(uint32(rng.IntN(g.NumNodes())))
		size := 1 + rng.IntN(7)
		prio := muster.PriorityNone
		if rng.IntN(10) == 0 {
			prio = muster.Priorities[1+rng.IntN(len(muster.Priorities)-1)]
		}
		hs[i] = muster.Household{ID: fmt.Sprintf("H%05d", i+1), PartySize: size, Adults: 1, Children: size - 1, Priority: prio,
			Language: muster.LangDari, Lat: p[1] + (rng.Float64()-0.5)*0.0005, Lon: p[0] + (rng.Float64()-0.5)*0.0005, HasLocation: true, Status: muster.StatusRegistered}
	}
	return hs
}

// mustCheck has plancheck verify the plan with the city's graphs, so that
// every duration and endpoint is recomputed, and fails on any violation or
// any rule left unchecked.
func mustCheck(t *testing.T, c *city, p *plan.Plan, in plancheck.Inputs) {
	t.Helper()
	in.Car, in.Foot = c.car.Graph(), c.foot.Graph()
	r, err := plancheck.CheckContext(context.Background(), p, in)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range r.Unchecked {
		t.Errorf("not checked: %s: %s", u.Rule, u.Reason)
	}
	if vs := r.Violations; len(vs) > 0 {
		for i, v := range vs {
			if i == 10 {
				t.Errorf("... and %d more", len(vs)-10)
				break
			}
			t.Errorf("violation: %s", v)
		}
		t.FailNow()
	}
}

func TestPlanOnGeneratedCity(t *testing.T) {
	c := generatedCity(t, 3, 0.5)
	hs := households(c.foot0, 600, 1)
	start := time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)
	p, err := plan.Make(context.Background(), plan.Input{Car: c.car, Foot: c.foot, Places: c.places, Households: hs, Params: plan.Params{Start: start}})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, c, p, plancheck.Inputs{Places: c.places, Households: hs})
	s := p.Summary
	t.Logf("%+v; %d unassigned", s, len(p.Unassigned))
	if s.AssignedPeople < s.People*9/10 {
		t.Errorf("only %d of %d people assigned: %v", s.AssignedPeople, s.People, p.Unassigned[:min(5, len(p.Unassigned))])
	}
	if s.Ratio < 1 || s.Ratio > 1.5 {
		t.Errorf("makespan %.0f s is %.2f times the lower bound %.0f s", s.MakespanS, s.Ratio, s.LowerBoundS)
	}
	// The fluid bound knows when each gate can first be reached: tighter
	// than the lower bound, never above the makespan.
	if s.FluidBoundS < s.LowerBoundS-s.LowerBoundS/100 || s.FluidBoundS > s.MakespanS {
		t.Errorf("fluid bound %.0f s, lower bound %.0f s, makespan %.0f s", s.FluidBoundS, s.LowerBoundS, s.MakespanS)
	}
	// Priority households go first: no priority group leaves after the
	// last ordinary group that could have taken its place.
	var lastPrio, firstOrdinary time.Time
	for _, g := range p.Groups {
		if g.Priority && g.Departure.After(lastPrio) {
			lastPrio = g.Departure
		}
		if !g.Priority && (firstOrdinary.IsZero() || g.Arrival.Before(firstOrdinary)) {
			firstOrdinary = g.Arrival
		}
	}
	if lastPrio.IsZero() {
		t.Errorf("no priority group")
	}
}

func TestReplanAfterNewThreat(t *testing.T) {
	c := generatedCity(t, 4, 0.5)
	hs := households(c.foot0, 500, 2)
	start := time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)
	ctx := context.Background()
	p0, err := plan.Make(ctx, plan.Input{Car: c.car, Foot: c.foot, Places: c.places, Households: hs, Params: plan.Params{Start: start}})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, c, p0, plancheck.Inputs{Places: c.places, Households: hs})

	// A new threat: a bomb on a group route's midpoint, and the busiest
	// gate is closed.
	closed, zones := bombAndClosedGate(t, ctx, c, p0)
	at := start.Add(40 * time.Minute)
	status := map[string]string{closed: muster.GateClosed}
	p1, err := plan.Replan(ctx, p0, plan.Input{Car: c.car, Foot: c.foot, Places: c.places, Households: hs, GateStatus: status}, plan.State{At: at})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, c, p1, plancheck.Inputs{Places: c.places, Households: hs, Zones: zones, GateStatus: status, At: at, Previous: p0})
	// The plan read back from its file re-plans to the same plan: the file
	// keeps what the planner holds, so no route reads as changed.
	back, err := plan.Decode(must(plan.Encode(p0)))
	if err != nil {
		t.Fatal(err)
	}
	p1b, err := plan.Replan(ctx, back, plan.Input{Car: c.car, Foot: c.foot, Places: c.places, Households: hs, GateStatus: status}, plan.State{At: at})
	if err != nil {
		t.Fatal(err)
	}
	p1b.CreatedAt = p1.CreatedAt
	sameAsV1(t, "re-planned from the plan read back", p1, p1b)
	if p1.Status != "proposed" || p1.Diff == nil {
		t.Fatalf("a re-plan is proposed with a diff: status %q", p1.Status)
	}
	// Nobody who had not left goes to the closed gate; groups on the move
	// there are re-routed from where they are.
	old := map[string]plan.Group{}
	for _, g := range p0.Groups {
		old[g.ID] = g
	}
	for _, g := range p1.Groups {
		if g.Gate == closed && g.Through.After(at) {
			t.Errorf("group %s still goes to closed gate %s", g.ID, closed)
		}
	}
	// Changes are only for households whose group was affected, and each has a reason.
	changed := map[string]bool{}
	for _, ch := range p1.Diff.Changes {
		if ch.Reason == "" {
			t.Errorf("household %s changes without a reason", ch.Household)
		}
		changed[ch.Household] = true
	}
	if len(changed) == 0 {
		t.Fatalf("closing the busiest gate changed nobody's instruction")
	}
	unaffected := 0
	for _, g := range p0.Groups {
		line := g.Route.Geometry.Coordinates.(orb.LineString)
		safe := g.Gate != closed && len(zonecost.CheckForbidden(line, zones)) == 0
		if !safe {
			continue
		}
		for _, h := range g.Households {
			if !changed[h] {
				unaffected++
			}
		}
	}
	if unaffected == 0 {
		t.Errorf("every household changed: a re-plan should keep what is still safe")
	}
	if p1.Diff.Kept == 0 {
		t.Errorf("diff keeps nobody")
	}
	t.Logf("re-plan: %d households change, %d keep their instruction; makespan %.0f s -> %.0f s", len(p1.Diff.Changes), p1.Diff.Kept, p0.Summary.MakespanS, p1.Summary.MakespanS)
	if err := plan.Approve(p1); err != nil || p1.Status != "current" {
		t.Errorf("approve: %v, status %s", err, p1.Status)
	}
}

// bombAndClosedGate is the new threat the re-plan tests answer: the gate
// most people are planned through is closed, and a bomb (a forbidden zone
// of 250 m) is on the midpoint of the first route to another gate, set on
// c's routers. It returns the gate closed and the zones.
func bombAndClosedGate(t testing.TB, ctx context.Context, c *city, p0 *plan.Plan) (string, []muster.Zone) {
	t.Helper()
	closed := planfixture.BusiestGate(p0, nil)
	zones := planfixture.BombOffGate(p0, closed)
	for _, r := range []*route.Router{c.car, c.foot} {
		if _, err := r.SetZones(ctx, zones); err != nil {
			t.Fatal(err)
		}
	}
	return closed, zones
}
