package plan_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
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

// Andorra's border posts, the gates of the Andorra scenario: Pas de la
// Casa (to France) and La Farga de Moles (to Spain).
var andorraBorderPosts = []orb.Point{{1.7330, 42.5425}, {1.4590, 42.4370}}

// santJulia is the middle of Sant Julià de Lòria, which the main road's
// foot=no stretches cut off on foot from the rest of the country.
var santJulia = orb.Point{1.4910, 42.4637}

// andorraScenario is the scenario of issue 11 (two border posts as gates,
// 40 rally points, 6,000 households), generated as it was then: on the
// graphs of an import that kept the largest walkable piece only.
func andorraScenario(t *testing.T) *scenario.Scenario {
	t.Helper()
	ctx := context.Background()
	c, _, err := osmimport.ImportFile(ctx, testshared.Path(t, "data/andorra.osm.pbf"), osmimport.Options{MinFootPiece: -1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := scenario.Generate(ctx, c.Graphs[roadgraph.Car], c.Graphs[roadgraph.Foot], scenario.Options{Seed: 1, AirportCenter: orb.Point{1.521, 42.507},
		Timezone: "Europe/Andorra", Gates: 2, RallyPoints: 40, Households: 6000, TargetPeople: 20000})
	if err != nil {
		t.Fatal(err)
	}
	gate := 0
	for i := range s.Places.Places {
		if pl := &s.Places.Places[i]; pl.Kind == muster.PlaceGate {
			pl.Geometry = andorraBorderPosts[gate]
			gate++
		}
	}
	return s
}

// andorraPlan imports Andorra with o, plans the scenario on it, and has
// plancheck verify the plan with the graphs.
func andorraPlan(t *testing.T, s *scenario.Scenario, o osmimport.Options) (*city, *plan.Plan) {
	t.Helper()
	ctx := context.Background()
	c, _, err := osmimport.ImportFile(ctx, testshared.Path(t, "data/andorra.osm.pbf"), o)
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
	w := &city{car: car, foot: foot, places: &s.Places, foot0: c.Graphs[roadgraph.Foot]}
	p, err := plan.Make(ctx, plan.Input{Car: car, Foot: foot, Places: w.places, Households: s.Households,
		Params: plan.Params{Start: time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC)}})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, w, p, plancheck.Inputs{Places: w.places, Households: s.Households})
	return w, p
}

func unservedCodes(p *plan.Plan) map[string]int {
	out := map[string]int{}
	for _, u := range p.Unassigned {
		out[u.Code]++
	}
	return out
}

func codesLine(m map[string]int) string {
	s := ""
	for _, k := range slices.Sorted(maps.Keys(m)) {
		s += fmt.Sprintf(" %s %d", k, m[k])
	}
	return s
}

// TestAndorraNoTownLeftBehind is issue 11's Andorra run: with the largest
// walkable piece only (as the import was), Sant Julià de Lòria's
// households have no foot road; now the import keeps every walkable piece
// with people, none is unserved for want of a road, every household left
// unserved for want of a rally point within its walk is in exactly one
// suggestion, each suggested rally point is within the walk of every
// household it names and reaches its gate by car, and every plan passes
// the checker. With --foot-emergency the cut-off town walks out along the
// main road, and the plan lists who does.
func TestAndorraNoTownLeftBehind(t *testing.T) {
	testshared.Long(t)
	ctx := context.Background()
	sc := andorraScenario(t)
	hs := sc.Households
	_, before := andorraPlan(t, sc, osmimport.Options{MinFootPiece: -1})
	t.Logf("largest walkable piece only: %d households unserved:%s", len(before.Unassigned), codesLine(unservedCodes(before)))

	w, p := andorraPlan(t, sc, osmimport.Options{})
	codes := unservedCodes(p)
	t.Logf("every walkable piece of %d nodes or more: %d households unserved:%s; %s",
		osmimport.DefaultMinFootPiece, len(p.Unassigned), codesLine(codes), plan.SuggestionsLine(p.Reach.Suggested()))
	if codes[plan.UnservedNoRoad] != 0 {
		t.Errorf("%d households have no foot road near them", codes[plan.UnservedNoRoad])
	}
	if unservedCodes(before)[plan.UnservedNoRoad] < 500 {
		t.Errorf("with the largest piece only, %d households have no foot road: the scenario no longer shows what it is for", unservedCodes(before)[plan.UnservedNoRoad])
	}
	if s, err := w.foot.Snap(santJulia); err != nil || s.DistanceM > 150 {
		t.Errorf("Sant Julià de Lòria is not on the foot graph: %v", err)
	}
	if _, sizes := w.foot0.Pieces(); len(sizes) < 2 {
		t.Errorf("the foot graph is %d piece(s)", len(sizes))
	}
	// No walkable piece with households is dropped: with every piece kept
	// (however small), no household's nearest foot road lies on a piece
	// the import drops.
	all, _, err := osmimport.ImportFile(ctx, testshared.Path(t, "data/andorra.osm.pbf"), osmimport.Options{MinFootPiece: 1})
	if err != nil {
		t.Fatal(err)
	}
	allFoot := all.Graphs[roadgraph.Foot]
	allLabel, allSizes := allFoot.Pieces()
	ix := roadgraph.NewArcIndex(allFoot)
	onDropped := map[int32]int{}
	for _, h := range hs {
		s, err := ix.Snap(orb.Point{h.Lon, h.Lat}, 1000)
		if err == nil && allSizes[allLabel[s.Tail]] < osmimport.DefaultMinFootPiece {
			onDropped[allLabel[s.Tail]]++
		}
	}
	for piece, n := range onDropped {
		t.Errorf("%d households live nearest a walkable piece of %d nodes, which the import drops", n, allSizes[piece])
	}
	t.Logf("walkable pieces: %d in all, %d of %d nodes or more kept", len(allSizes), len(slices.DeleteFunc(slices.Clone(allSizes), func(n int) bool { return n < osmimport.DefaultMinFootPiece })), osmimport.DefaultMinFootPiece)

	of := suggestedOnce(t, p)
	if len(of) == 0 {
		t.Fatal("no suggestion")
	}
	// Each suggested rally point: every household it names walks there
	// within its limit (by the router), and a car reaches its gate.
	homes := map[string]muster.Household{}
	for _, h := range hs {
		homes[h.ID] = h
	}
	gates := map[string]orb.Point{}
	for _, pl := range w.places.Places {
		if pt, ok := pl.Point(); ok && pl.Kind == muster.PlaceGate {
			gates[pl.ID] = pt
		}
	}
	limit := plan.Params{}.WithDefaults()
	holds, most := plan.SuggestedCapacity(w.places), 0
	for _, s := range p.Reach.Suggested() {
		if s.Kind == plan.SuggestRally {
			most = max(most, s.People)
		}
	}
	t.Logf("the largest suggested rally point serves %d people; a rally point holds at most %d", most, holds)
	if holds <= 0 || most > holds {
		t.Errorf("a suggested rally point serves %d people, more than the %d a rally point of the places holds", most, holds)
	}
	for _, s := range p.Reach.Suggested() {
		at := orb.Point{s.Lon, s.Lat}
		if s.Kind == plan.SuggestRally || s.Kind == plan.SuggestPickup {
			res, err := w.car.Route(ctx, route.Request{From: at, To: gates[s.Gate]})
			if err != nil || res.Escape != nil || res.Approach != nil {
				t.Errorf("%s: no drive to %s: %v", s.ID, s.Gate, err)
			} else if d := res.Routes[0].DurationS; d > s.DriveS+1 {
				t.Errorf("%s: the drive to %s takes %.0f s, the suggestion says %.0f", s.ID, s.Gate, d, s.DriveS)
			}
		}
		if s.Kind != plan.SuggestRally {
			continue
		}
		for _, id := range s.Households {
			h := homes[id]
			res, err := w.foot.Route(ctx, route.Request{From: orb.Point{h.Lon, h.Lat}, To: at})
			if err != nil {
				t.Errorf("%s: %s cannot walk there: %v", s.ID, id, err)
				continue
			}
			max := limit.MaxWalkS
			if h.Priority == muster.PriorityMobility {
				max = limit.MobilityMaxWalkS
			}
			if d := res.Routes[0].DurationS; d > max+1 {
				t.Errorf("%s: %s walks %.0f s there, more than %.0f", s.ID, id, d, max)
			}
		}
	}

	_, em := andorraPlan(t, sc, osmimport.Options{FootEmergency: true})
	t.Logf("with --foot-emergency: %d households unserved:%s; %s; %s", len(em.Unassigned), codesLine(unservedCodes(em)),
		plan.EmergencyLine(em.Reach), plan.SuggestionsLine(em.Reach.Suggested()))
	if em.Reach == nil || len(em.Reach.EmergencyWalks) == 0 {
		t.Error("with --foot-emergency nobody walks along the main road")
	}
	if len(em.Unassigned) >= len(p.Unassigned) {
		t.Errorf("with --foot-emergency %d households are unserved, without %d", len(em.Unassigned), len(p.Unassigned))
	}
	suggestedOnce(t, em)
}
