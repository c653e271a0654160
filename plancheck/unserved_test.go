package plancheck_test

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/plancheck"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
)

// servable returns a household the plan serves with a short walk far from
// the test's forbidden zone, in a group of more than one household, and
// not walking along closed roads: one the planner would serve under any
// code's claim.
func servable(t *testing.T, w *world, p *plan.Plan) *plan.Household {
	t.Helper()
	listed := map[string]bool{}
	if p.Reach != nil {
		for _, e := range p.Reach.EmergencyWalks {
			listed[e.Household] = true
		}
	}
	size := map[string]int{}
	for _, g := range p.Groups {
		size[g.ID] = len(g.Households)
	}
	for i := range p.Households {
		h := &p.Households[i]
		line := h.Walk.Geometry.Coordinates.(orb.LineString)
		if size[h.Group] > 1 && !listed[h.ID] && h.Walk.DurationS > 30 && h.Walk.DurationS < 600 &&
			distM(line[0], w.zone.Center) > 1000 && distM(line[len(line)-1], w.zone.Center) > 1000 {
			return h
		}
	}
	t.Fatal("no household served with a short walk far from the zone")
	return nil
}

// unserve takes household h out of its group and lists it unserved with
// code; a code a suggestion answers gets one (a vehicle pickup), so that
// the suggestion rules have nothing to say.
func unserve(w *world, p *plan.Plan, h, code string) {
	people := peopleOf(w)[h]
	for i := range p.Groups {
		g := &p.Groups[i]
		if k := slices.Index(g.Households, h); k >= 0 {
			g.Households = slices.Delete(g.Households, k, k+1)
			g.People -= people
		}
	}
	p.Households = slices.DeleteFunc(p.Households, func(x plan.Household) bool { return x.ID == h })
	p.Unassigned = append(p.Unassigned, plan.Unassigned{Household: h, Code: code, Reason: "as the test claims"})
	switch code {
	case plan.UnservedNoRoad, plan.UnservedMaxWalk, plan.UnservedCutOff, plan.UnservedNoRally:
		p.Reach.Suggestions = append(p.Reach.Suggestions, plan.Suggestion{ID: "S-TEST", Kind: plan.SuggestPickup,
			Households: []string{h}, People: people, Why: "as the test claims"})
	}
}

// unservedMutations list servable households unserved, each with a code
// the inputs do not justify.
func unservedMutations() []mutation {
	var ms []mutation
	for _, code := range []string{plan.UnservedMaxWalk, plan.UnservedNoRoad, plan.UnservedCutOff, plan.UnservedNoRally, plan.UnservedUnreachable,
		plan.UnservedTooLarge, plan.UnservedEmpty, plan.UnservedNoLocation, plan.UnservedOut, plan.UnservedStranded} {
		ms = append(ms, mutation{"a servable household unserved as " + code, "base", []string{plancheck.RuleUnservedCode}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			unserve(w, p, servable(t, w, p).ID, code)
		}})
	}
	return append(ms,
		mutation{"a household without coordinates unserved as max_walk", "base", []string{plancheck.RuleUnservedCode}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			relabel(t, p, "H-NOWHERE", plan.UnservedNoLocation, plan.UnservedMaxWalk)
			p.Reach.Suggestions = append(p.Reach.Suggestions, plan.Suggestion{ID: "S-TEST", Kind: plan.SuggestPickup,
				Households: []string{"H-NOWHERE"}, People: peopleOf(w)["H-NOWHERE"], Why: "as the test claims"})
		}},
		mutation{"a household of 13 unserved as no_gate (groups hold 12: too_large)", "base", []string{plancheck.RuleUnservedCode}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			relabel(t, p, "H-CROWD", plan.UnservedTooLarge, plan.UnservedNoGate)
		}},
		mutation{"a household of 13 unserved as too_large, with groups of 13 allowed", "base", []string{plancheck.RuleUnservedCode}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			in.Limits.MaxGroupSize = 13
		}},
		mutation{"households no rally point is within walking distance of relabelled no_gate, out of the suggestions", "base", []string{plancheck.RuleUnservedCode}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			n := 0
			for i := range p.Unassigned {
				u := &p.Unassigned[i]
				if u.Code != plan.UnservedMaxWalk {
					continue
				}
				u.Code = plan.UnservedNoGate
				n++
				for j := range p.Reach.Suggestions {
					s := &p.Reach.Suggestions[j]
					if k := slices.Index(s.Households, u.Household); k >= 0 {
						s.Households = slices.Delete(s.Households, k, k+1)
						s.People -= peopleOf(w)[u.Household]
					}
				}
			}
			p.Reach.Suggestions = slices.DeleteFunc(p.Reach.Suggestions, func(s plan.Suggestion) bool { return len(s.Households) == 0 })
			if n == 0 {
				t.Fatal("no household unserved as max_walk")
			}
		}},
		mutation{"a re-plan stranding a household that is not on the move", "field", []string{plancheck.RuleUnservedCode}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			for _, g := range p.Groups {
				if g.Departure.After(w.replanAt) && len(g.Households) > 1 {
					unserve(w, p, g.Households[0], plan.UnservedStranded)
					return
				}
			}
			t.Fatal("no group leaving after the re-plan")
		}},
	)
}

// relabel changes household h's unserved code from one to another.
func relabel(t *testing.T, p *plan.Plan, h, from, to string) {
	t.Helper()
	for i := range p.Unassigned {
		if u := &p.Unassigned[i]; u.Household == h && u.Code == from {
			u.Code = to
			return
		}
	}
	t.Fatalf("household %s is not unserved as %s", h, from)
}

// TestUnservedDefaultsAreThePlanners: the reach and the assembly lead the
// unserved codes are recomputed with are the router's and the planner's:
// a point just within RouterReachM of a foot road snaps, one just beyond
// does not.
func TestUnservedDefaultsAreThePlanners(t *testing.T) {
	if d := (plan.Params{}).WithDefaults(); d.AssemblyLeadS != plancheck.DefaultAssemblyLeadS {
		t.Errorf("planner's assembly lead %.0f s, checker's %d s", d.AssemblyLeadS, plancheck.DefaultAssemblyLeadS)
	}
	w := theWorld(t)
	ix := roadgraph.NewArcIndex(w.footG)
	north := -90.0
	for _, h := range w.hs {
		north = max(north, h.Lat)
	}
	lon := w.hs[0].Lon
	for _, h := range w.hs {
		if h.Lat == north {
			lon = h.Lon
		}
	}
	// Move north until the nearest foot road is about RouterReachM away.
	lo, hi := north, north+0.1
	var at orb.Point
	for range 60 {
		mid := (lo + hi) / 2
		s, err := ix.Snap(orb.Point{lon, mid}, 50_000)
		if err != nil {
			t.Fatal(err)
		}
		if s.DistanceM < plancheck.RouterReachM {
			lo = mid
		} else {
			hi = mid
		}
		at = orb.Point{lon, mid}
	}
	type probe struct {
		dLat float64
		ok   bool
	}
	for _, c := range []probe{{-20.0 / 111_320, true}, {20.0 / 111_320, false}} {
		p := orb.Point{at[0], at[1] + c.dLat}
		s, _ := ix.Snap(p, 50_000)
		if _, err := w.foot.Snap(p); (err == nil) != c.ok {
			t.Errorf("a point %.0f m from the nearest foot road: the router snaps it: %v, want %v", s.DistanceM, err == nil, c.ok)
		}
	}
}

// TestUnservedCodeWithoutCarGraph: with the foot graph but not the car
// graph, which rally points can send groups is not known: the check says
// unserved_code was not wholly checked, and still catches what the foot
// graph shows (a household no rally point is within walking distance of,
// unserved as no_gate).
func TestUnservedCodeWithoutCarGraph(t *testing.T) {
	w := theWorld(t)
	in := w.inputs("base")
	in.Car = nil
	p := clone(t, w.base)
	r := check(t, p, in)
	var unchecked []string
	for _, u := range r.Unchecked {
		unchecked = append(unchecked, u.Rule)
	}
	if !slices.Contains(unchecked, plancheck.RuleUnservedCode) || len(r.Violations) > 0 {
		t.Fatalf("without the car graph: unchecked %v, violations:%s", unchecked, show(r.Violations))
	}
	far := ""
	for i := range p.Unassigned {
		if u := &p.Unassigned[i]; u.Code == plan.UnservedMaxWalk && far == "" {
			u.Code, far = plan.UnservedNoGate, u.Household
		}
	}
	r = check(t, p, plancheck.Without(in, plancheck.RuleSuggestionServed))
	if got := rulesOf(r.Violations); !slices.Equal(got, []string{plancheck.RuleUnservedCode}) {
		t.Fatalf("household %s relabelled no_gate: reported %v:%s", far, got, show(r.Violations))
	}
}

// TestNoGateBehindAForbiddenZone: a forbidden zone across a household's
// way to its rally point keeps it beyond its walk (max_walk), though
// free-flow the walk is within it. The plan made under that zone passes;
// relabelled no_gate, the household is caught by the lower bound that
// leaves out the roads that run inside the zone (free-flow alone would
// let it through).
func TestNoGateBehindAForbiddenZone(t *testing.T) {
	w := theWorld(t)
	ctx := context.Background()
	setZones := func(zones []muster.Zone) {
		for _, r := range []*route.Router{w.car, w.foot} {
			if _, err := r.SetZones(ctx, zones); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer setZones([]muster.Zone{w.zone})
	byID := map[string]muster.Household{}
	for _, h := range w.hs {
		byID[h.ID] = h
	}
	cands := slices.Clone(w.base.Households)
	slices.SortFunc(cands, func(a, b plan.Household) int { return cmp.Compare(b.Walk.DurationS, a.Walk.DurationS) })
	tries := 0
	for _, hp := range cands {
		line := hp.Walk.Geometry.Coordinates.(orb.LineString)
		mid := halfway(line)
		home := orb.Point{byID[hp.ID].Lon, byID[hp.ID].Lat}
		if hp.Walk.DurationS < 600 || distM(home, mid) < 600 || distM(line[len(line)-1], mid) < 600 || distM(w.zone.Center, mid) < 1200 || nearPlace(w.places, mid, 650) {
			continue
		}
		if tries++; tries > 12 {
			break
		}
		zones := []muster.Zone{w.zone, {ID: "wall", Name: "wall", Center: mid, RadiusM: 400, Forbidden: true, Risk: 1}}
		limit := hp.Walk.DurationS + 20 // free-flow its walk is within the limit: only the wall keeps it beyond
		setZones(zones)
		p, err := plan.Make(ctx, plan.Input{Car: w.car, Foot: w.foot, Places: &w.places, Households: w.hs, Params: plan.Params{Start: w.start, MaxWalkS: limit}})
		setZones([]muster.Zone{w.zone})
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(p.Unassigned, func(u plan.Unassigned) bool { return u.Household == hp.ID })
		if i < 0 || p.Unassigned[i].Code != plan.UnservedMaxWalk {
			continue // served another way, or unserved for another reason
		}
		in := plancheck.Inputs{Places: &w.places, Households: w.hs, Zones: zones, Car: w.carG, Foot: w.footG, Limits: plancheck.Limits{MaxWalkS: limit}}
		if r := check(t, p, in); len(r.Violations) > 0 {
			t.Fatalf("the plan made under the wall: %d violations:%s", len(r.Violations), show(r.Violations))
		}
		p.Unassigned[i].Code = plan.UnservedNoGate
		for j := range p.Reach.Suggestions {
			s := &p.Reach.Suggestions[j]
			if k := slices.Index(s.Households, hp.ID); k >= 0 {
				s.Households = slices.Delete(s.Households, k, k+1)
				s.People -= byID[hp.ID].PartySize
			}
		}
		p.Reach.Suggestions = slices.DeleteFunc(p.Reach.Suggestions, func(s plan.Suggestion) bool { return len(s.Households) == 0 })
		r := check(t, p, in)
		if got := rulesOf(r.Violations); !slices.Equal(got, []string{plancheck.RuleUnservedCode}) || !strings.Contains(r.Violations[0].Message, "forbidden zone") {
			t.Fatalf("household %s, kept beyond its walk by the wall, relabelled no_gate: reported%s", hp.ID, show(r.Violations))
		}
		t.Logf("household %s (a %.0f s walk, the limit %.0f s): %s", hp.ID, hp.Walk.DurationS, limit, r.Violations[0].Message)
		return
	}
	t.Fatalf("no household the wall kept beyond its walk (%d tries)", tries)
}
