package plancheck_test

import (
	"context"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/internal/testshared"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/plancheck"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
	"github.com/muster-evac/muster/scenario"
)

// TestPortoPlansPass: on Porto's real roads, with the scenario generator's
// default (100,000 people in 30,000 households, 300 rally points, 4
// gates), the plan, its re-plan under the threat inject two hours in (a
// gate closed, roads blocked), and a re-plan after a gate becomes
// restricted pass every rule, durations recomputed on the graphs. Long
// (20 s to minutes): runs with MUSTER_LONG=1 or in CI (testshared.Long).
func TestPortoPlansPass(t *testing.T) {
	testshared.Long(t)
	ctx := context.Background()
	carG, footG, car, foot, s := porto(t)
	start := time.Date(2026, 3, 14, 6, 0, 0, 0, time.UTC)
	at := start.Add(2 * time.Hour)
	setZones := func(zones []muster.Zone) {
		for _, r := range []*route.Router{car, foot} {
			if _, err := r.SetZones(ctx, zones); err != nil {
				t.Fatal(err)
			}
		}
	}
	pass := func(what string, p *plan.Plan, in plancheck.Inputs) {
		t.Helper()
		in.Places, in.Households, in.Car, in.Foot = &s.Places, s.Households, carG, footG
		t0 := time.Now()
		r := check(t, p, in)
		t.Logf("%s: %d groups, %d households, checked in %s", what, len(p.Groups), len(p.Households), time.Since(t0).Round(time.Millisecond))
		if len(r.Violations) > 0 || len(r.Unchecked) > 0 {
			t.Errorf("%s: %d violations:%s (unchecked: %v)", what, len(r.Violations), show(r.Violations), r.Unchecked)
		}
	}
	p0, err := plan.Make(ctx, plan.Input{Car: car, Foot: foot, Places: &s.Places, Households: s.Households, Params: plan.Params{Start: start}})
	if err != nil {
		t.Fatal(err)
	}
	pass("plan", p0, plancheck.Inputs{})

	th := s.Threat
	setZones(th.Zones)
	p1, err := plan.Replan(ctx, p0, plan.Input{Car: car, Foot: foot, Places: &s.Places, Households: s.Households, GateStatus: th.GateStatus}, plan.State{At: at})
	if err != nil {
		t.Fatal(err)
	}
	pass("re-plan under the threat", p1, plancheck.Inputs{Zones: th.Zones, GateStatus: th.GateStatus, At: at, Previous: p0})

	setZones(nil)
	restricted := map[string]string{"gate-2": muster.GateRestricted}
	p2, err := plan.Replan(ctx, p0, plan.Input{Car: car, Foot: foot, Places: &s.Places, Households: s.Households, GateStatus: restricted}, plan.State{At: at})
	if err != nil {
		t.Fatal(err)
	}
	pass("re-plan with gate-2 restricted", p2, plancheck.Inputs{GateStatus: restricted, At: at, Previous: p0})
}

// porto is Porto's real roads (graphs and routers) and the scenario
// generator's default on them (100,000 people, the airport's gates, the
// threat inject): what the Porto test and benchmark check plans of.
func porto(tb testing.TB) (carG, footG *roadgraph.Graph, car, foot *route.Router, s *scenario.Scenario) {
	tb.Helper()
	ctx := context.Background()
	city, _, err := osmimport.ImportFile(ctx, testshared.Path(tb, "data/porto.osm.pbf"), osmimport.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	carG, footG = city.Graphs[roadgraph.Car], city.Graphs[roadgraph.Foot]
	if car, err = route.New(ctx, carG, route.Options{}); err != nil {
		tb.Fatal(err)
	}
	if foot, err = route.New(ctx, footG, route.Options{}); err != nil {
		tb.Fatal(err)
	}
	s, err = scenario.Generate(ctx, carG, footG, scenario.Options{Seed: 1, AirportCenter: orb.Point{-8.681, 41.248}, Timezone: "Europe/Lisbon"})
	if err != nil {
		tb.Fatal(err)
	}
	return carG, footG, car, foot, s
}
