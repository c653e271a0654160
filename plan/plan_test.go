package plan_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/citygen"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/plancheck"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
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

func mustCheck(t *testing.T, p *plan.Plan, in plancheck.Inputs) {
	t.Helper()
	if vs := plancheck.Check(p, in); len(vs) > 0 {
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
	mustCheck(t, p, plancheck.Inputs{Places: c.places, Households: hs})
	s := p.Summary
	t.Logf("%+v; %d unassigned", s, len(p.Unassigned))
	if s.AssignedPeople < s.People*9/10 {
		t.Errorf("only %d of %d people assigned: %v", s.AssignedPeople, s.People, p.Unassigned[:min(5, len(p.Unassigned))])
	}
	if s.Ratio < 1 || s.Ratio > 1.5 {
		t.Errorf("makespan %.0f s is %.2f times the lower bound %.0f s", s.MakespanS, s.Ratio, s.LowerBoundS)
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
