package plancheck_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/plancheck"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
)

// TestDefaultsAreThePlanners: the limits the checker holds a plan to by
// default are the planner's.
func TestDefaultsAreThePlanners(t *testing.T) {
	d := plan.Params{}.WithDefaults()
	if d.MaxGroupSize != plancheck.DefaultMaxGroupSize || d.MaxWalkS != plancheck.DefaultMaxWalkS || d.RestrictedFactor != plancheck.DefaultRestrictedFactor {
		t.Errorf("planner defaults: group %d, walk %.0f s, restricted %.2f; checker defaults: %d, %d s, %.2f",
			d.MaxGroupSize, d.MaxWalkS, d.RestrictedFactor, plancheck.DefaultMaxGroupSize, plancheck.DefaultMaxWalkS, plancheck.DefaultRestrictedFactor)
	}
}

// TestShortestMatchesTheRouter: the checker's own searches find, between
// random points of both networks, exactly the free-flow time of the
// router's route when no zone is set (partial arcs at both ends included).
func TestShortestMatchesTheRouter(t *testing.T) {
	w := theWorld(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 7))
	for _, g := range []*roadgraph.Graph{w.carG, w.footG} {
		r, err := route.New(ctx, g, route.Options{})
		if err != nil {
			t.Fatal(err)
		}
		point := func() orb.Point {
			p := g.NodePoint(uint32(rng.IntN(g.NumNodes())))
			return orb.Point{p[0] + (rng.Float64()-0.5)*0.002, p[1] + (rng.Float64()-0.5)*0.002}
		}
		compared := 0
		for i := 0; i < 60; i++ {
			from, to := point(), point()
			res, err := r.Route(ctx, route.Request{From: from, To: to})
			if muster.ErrorCode(err) == muster.EUNREACHABLE {
				continue
			}
			compared++
			if err != nil {
				t.Fatal(err)
			}
			got, err := plancheck.Shortest(ctx, g, from, to)
			if err != nil {
				t.Fatal(err)
			}
			if want := res.Routes[0].DurationS; math.Abs(got-want) > 0.01 {
				t.Errorf("%s %v -> %v: the checker finds %.3f s, the router %.3f s", g.Profile, from, to, got, want)
			}
		}
		if compared < 50 {
			t.Errorf("%s: only %d of 60 pairs routed", g.Profile, compared)
		}
	}
}

// TestRestrictedFromWhenItBecameRestricted: a gate restricted at T passes
// people at its full rate before T. Groups through before T are not held to
// the restricted rate (the re-plan's 1,565 false violations); groups after
// T, planned at the full rate, are; and a re-plan at T passes.
func TestRestrictedFromWhenItBecameRestricted(t *testing.T) {
	w := theWorld(t)
	p := w.base
	var through []time.Time
	for _, g := range p.Groups {
		if g.Gate == w.busiest {
			through = append(through, g.Through)
		}
	}
	slices.SortFunc(through, time.Time.Compare)
	at := through[len(through)/2]
	in := w.inputs("base")
	in.GateStatus, in.At = map[string]string{w.busiest: muster.GateRestricted}, at
	r := check(t, p, in)
	if len(r.Violations) == 0 {
		t.Fatal("groups planned at the full rate after the gate became restricted pass")
	}
	byID := map[string]plan.Group{}
	for _, g := range p.Groups {
		byID[g.ID] = g
	}
	for _, v := range r.Violations {
		if v.Rule == plancheck.RuleGateCrowd && v.Subject == w.busiest {
			// Slowed from at on, the queue of groups planned for the
			// full rate may grow past the limit: also after at.
			continue
		}
		if g := byID[v.Subject]; v.Rule != plancheck.RuleGateThroughput || g.Gate != w.busiest || !g.Through.After(at) {
			t.Errorf("restricted at %s: %s (through at %s)", at.Format(time.TimeOnly), v, g.Through.Format(time.TimeOnly))
		}
	}
	// Held to the restricted rate all along, earlier groups fail too.
	in.GateSince = map[string]time.Time{w.busiest: {}}
	early := 0
	for _, v := range check(t, p, in).Violations {
		if !byID[v.Subject].Through.After(at) {
			early++
		}
	}
	if early == 0 {
		t.Error("with the gate restricted from the start, no group through before the restriction is held to it: the test shows nothing")
	}
	// The planner's re-plan at T passes.
	status := map[string]string{w.busiest: muster.GateRestricted}
	rp, err := plan.Replan(context.Background(), p, plan.Input{Car: w.car, Foot: w.foot, Places: &w.places, Households: w.hs, GateStatus: status}, plan.State{At: at})
	if err != nil {
		t.Fatal(err)
	}
	in.GateSince, in.Previous = nil, p
	if r := check(t, rp, in); len(r.Violations) > 0 || len(r.Unchecked) > 0 {
		t.Errorf("the re-plan after %s became restricted: %d violations:%s (unchecked: %v)", w.busiest, len(r.Violations), show(r.Violations), r.Unchecked)
	}
}

// TestOnTheMove: a group on the move when a zone appears is held to its
// way ahead, not to the way behind it.
func TestOnTheMove(t *testing.T) {
	w := theWorld(t)
	p := w.base
	// The group with the longest route, a third of the way along.
	g := longestRoute(p)
	at := g.Departure.Add(g.Arrival.Sub(g.Departure) / 3)
	line := g.Route.Geometry.Coordinates.(orb.LineString)
	behind, ahead := line[1], line[len(line)-2]
	for _, c := range []struct {
		where string
		p     orb.Point
		want  bool
	}{{"behind", behind, false}, {"ahead", ahead, true}} {
		in := w.inputs("base")
		in.At = at
		in.Zones = append(in.Zones, muster.Zone{ID: c.where, Center: c.p, RadiusM: 5, Forbidden: true})
		found := false
		for _, v := range check(t, p, in).Violations {
			if v.Rule == plancheck.RuleRouteZone && v.Subject == g.ID {
				found = true
			} else if v.Rule != plancheck.RuleRouteZone && v.Rule != plancheck.RuleWalkZone && v.Rule != plancheck.RuleRallyForbidden {
				t.Errorf("zone %s: %s", c.where, v)
			}
		}
		if found != c.want {
			t.Errorf("a zone %s group %s on the move: reported %v, want %v", c.where, g.ID, found, c.want)
		}
	}
}

// TestUnchecked: without graphs the checker says which rules it could not
// check; without the fleet a plan was made for, the fleet's.
func TestUnchecked(t *testing.T) {
	w := theWorld(t)
	in := w.inputs("fleet")
	in.Car, in.Foot, in.Limits.Fleet = nil, nil, nil
	r := check(t, w.fleet, in)
	var got []string
	for _, u := range r.Unchecked {
		got = append(got, u.Rule)
		if u.Reason == "" {
			t.Errorf("%s unchecked without a reason", u.Rule)
		}
	}
	want := []string{plancheck.RuleUnservedCode, plancheck.RuleWalkDuration, plancheck.RuleRouteDuration, plancheck.RuleMovingStart, plancheck.RuleVehicles, plancheck.RuleFleet, plancheck.RuleEmergencyWalk, plancheck.RuleSuggestionWalk}
	if !slices.Equal(got, want) {
		t.Errorf("unchecked %v, want %v", got, want)
	}
	if len(r.Violations) > 0 {
		t.Errorf("without graphs:%s", show(r.Violations))
	}
	// Without a graph, ends are held to a fixed distance: still a walk
	// starting 3 km from home is caught.
	p := clone(t, w.base)
	h := farWalk(t, w, p)
	h.Walk.Geometry.Coordinates.(orb.LineString)[0] = away(h.Walk.Geometry.Coordinates.(orb.LineString)[1], w.zone.Center, 3000)
	in = w.inputs("base")
	in.Car, in.Foot = nil, nil
	if got := rulesOf(check(t, p, in).Violations); !slices.Equal(got, []string{plancheck.RuleWalkStart}) {
		t.Errorf("without a graph, a walk 3 km from home: %v", got)
	}
}

// TestCancelled: a cancelled check says so.
func TestCancelled(t *testing.T) {
	w := theWorld(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := plancheck.CheckContext(ctx, w.base, w.inputs("base")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := plancheck.CheckContext(context.Background(), nil, w.inputs("base")); err == nil {
		t.Error("no plan: no error")
	}
}

// TestReplanWithAZoneOnAGroupOnTheMove: a threat appears where a group is
// driving; the planner re-routes it from inside the zone by the shortest
// way out (an escape), and its re-plan passes.
func TestReplanWithAZoneOnAGroupOnTheMove(t *testing.T) {
	w := theWorld(t)
	ctx := context.Background()
	g := longestRoute(w.base)
	at := g.Departure.Add(g.Arrival.Sub(g.Departure) / 2).Truncate(time.Second)
	line := g.Route.Geometry.Coordinates.(orb.LineString)
	zones := []muster.Zone{w.zone, {ID: "blast", Center: halfway(line), RadiusM: 300, Forbidden: true, Risk: 1}}
	for _, r := range []*route.Router{w.car, w.foot} {
		if _, err := r.SetZones(ctx, zones); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, r := range []*route.Router{w.car, w.foot} {
			if _, err := r.SetZones(ctx, zones[:1]); err != nil {
				t.Fatal(err)
			}
		}
	}()
	rp, err := plan.Replan(ctx, w.base, plan.Input{Car: w.car, Foot: w.foot, Places: &w.places, Households: w.hs}, plan.State{At: at})
	if err != nil {
		t.Fatal(err)
	}
	escapes := 0
	for _, x := range rp.Groups {
		if !x.RouteFrom.IsZero() && x.Route.Escape {
			escapes++
		}
	}
	if escapes == 0 {
		t.Error("no group re-routed on the move from inside the new zone: the test shows nothing")
	}
	in := w.inputs("base")
	in.Zones, in.At, in.Previous = zones, at, w.base
	if r := check(t, rp, in); len(r.Violations) > 0 || len(r.Unchecked) > 0 {
		t.Errorf("the re-plan: %d violations:%s (unchecked: %v)", len(r.Violations), show(r.Violations), r.Unchecked)
	}
}

// halfway is the point half a line's length along it.
func halfway(line orb.LineString) orb.Point {
	var total float64
	for i := 1; i < len(line); i++ {
		total += distM(line[i-1], line[i])
	}
	want := total / 2
	for i := 1; i < len(line); i++ {
		d := distM(line[i-1], line[i])
		if d >= want {
			f := want / d
			return orb.Point{line[i-1][0] + f*(line[i][0]-line[i-1][0]), line[i-1][1] + f*(line[i][1]-line[i-1][1])}
		}
		want -= d
	}
	return line[len(line)-1]
}

// TestOddInputs: plans and inputs no planner makes are reported, never a
// panic: lines of one point, no geometry, no places, gates without
// throughput or crowd limit, zero-size zones, re-routing in a fresh plan.
func TestOddInputs(t *testing.T) {
	w := theWorld(t)
	odd := []struct {
		name   string
		mutate func(p *plan.Plan, in *plancheck.Inputs)
	}{
		{"one-point lines", func(p *plan.Plan, in *plancheck.Inputs) {
			p.Groups[0].Route.Geometry.Coordinates = orb.LineString{{1, 1}}
			p.Households[0].Walk.Geometry.Coordinates = orb.LineString{{1, 1}}
		}},
		{"no geometry", func(p *plan.Plan, in *plancheck.Inputs) {
			p.Groups[0].Route.Geometry, p.Households[0].Walk.Geometry = nil, nil
		}},
		{"no places", func(p *plan.Plan, in *plancheck.Inputs) { in.Places = nil }},
		{"no households", func(p *plan.Plan, in *plancheck.Inputs) { in.Households = nil }},
		{"empty plan", func(p *plan.Plan, in *plancheck.Inputs) { *p = plan.Plan{} }},
		{"gates without throughput or crowd limit", func(p *plan.Plan, in *plancheck.Inputs) {
			for i := range in.Places.Places {
				in.Places.Places[i].ThroughputPerHour, in.Places.Places[i].CrowdLimit, in.Places.Places[i].Capacity = 0, 0, -1
			}
		}},
		{"odd zones", func(p *plan.Plan, in *plancheck.Inputs) { // far from every leg: nothing to report
			in.Zones = append(in.Zones, muster.Zone{ID: "dot", Forbidden: true}, muster.Zone{ID: "square", Forbidden: true,
				Polygon: orb.MultiPolygon{{{{0, 0}, {0, 1}, {1, 1}, {1, 0}, {0, 0}}}}})
		}},
		{"re-routed in a fresh plan, legs far off the map", func(p *plan.Plan, in *plancheck.Inputs) {
			p.Groups[0].RouteFrom = p.Groups[0].Departure
			p.Groups[0].Route.Geometry.Coordinates = orb.LineString{{100, 60}, {101, 60}}
			p.Households[0].Walk.Geometry.Coordinates = orb.LineString{{-100, -60}, {-101, -60}}
		}},
		{"negative durations and people", func(p *plan.Plan, in *plancheck.Inputs) {
			p.Groups[0].Route.DurationS, p.Households[0].Walk.DurationS, p.Groups[1].People = -5, -5, -3
		}},
	}
	for _, o := range odd {
		p, in := clone(t, w.base), w.inputs("base")
		o.mutate(p, &in)
		r, err := plancheck.CheckContext(context.Background(), p, in)
		if err != nil {
			t.Errorf("%s: %v", o.name, err)
			continue
		}
		t.Logf("%s: %v", o.name, rulesOf(r.Violations))
		if clean := o.name == "odd zones"; clean != (len(r.Violations) == 0) {
			t.Errorf("%s: %d violations:%s", o.name, len(r.Violations), show(r.Violations))
		}
	}
}
