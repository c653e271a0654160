package plan_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/internal/twotowns"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/plancheck"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
)

// twoTownsPlan plans the two towns (twotowns): 12 households in each of
// town A (the rally point's), town B (beyond the road closed to
// pedestrians, the gate's side) and the footpaths of C.
func twoTownsPlan(t *testing.T, o osmimport.Options) (*city, []muster.Household, *plan.Plan) {
	t.Helper()
	ctx := context.Background()
	c, _, err := osmimport.FromOSM(ctx, twotowns.OSM(), "two towns", o)
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
	w := &city{car: car, foot: foot, places: twotowns.Places(), foot0: c.Graphs[roadgraph.Foot]}
	hs := twotowns.Households(12)
	p, err := plan.Make(ctx, plan.Input{Car: car, Foot: foot, Places: w.places, Households: hs,
		Params: plan.Params{Start: time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC)}})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, w, p, plancheck.Inputs{Places: w.places, Households: hs})
	return w, hs, p
}

// codesByTown counts the unserved households' codes by town letter.
func codesByTown(p *plan.Plan) map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, u := range p.Unassigned {
		town := u.Household[:1]
		if out[town] == nil {
			out[town] = map[string]int{}
		}
		out[town][u.Code]++
	}
	return out
}

// suggestedOnce checks that every household unserved for want of a rally
// point within its walk is in exactly one suggestion, and no other
// household is; it returns each household's suggestion.
func suggestedOnce(t *testing.T, p *plan.Plan) map[string]plan.Suggestion {
	t.Helper()
	in := map[string]plan.Suggestion{}
	for _, s := range p.Reach.Suggested() {
		for _, h := range s.Households {
			if prev, ok := in[h]; ok {
				t.Errorf("household %s is in suggestions %s and %s", h, prev.ID, s.ID)
			}
			in[h] = s
		}
		if s.Why == "" || len(s.Households) == 0 || s.People <= 0 {
			t.Errorf("suggestion %+v", s)
		}
	}
	for _, u := range p.Unassigned {
		_, ok := in[u.Household]
		want := u.Code == plan.UnservedCutOff || u.Code == plan.UnservedMaxWalk || u.Code == plan.UnservedNoRoad || u.Code == plan.UnservedNoRally
		if ok != want {
			t.Errorf("household %s, unserved %s, in a suggestion: %v", u.Household, u.Code, ok)
		}
		delete(in, u.Household)
	}
	for h := range in {
		t.Errorf("household %s is served, yet in suggestion %s", h, in[h].ID)
	}
	got := map[string]plan.Suggestion{}
	for _, s := range p.Reach.Suggested() {
		for _, h := range s.Households {
			got[h] = s
		}
	}
	return got
}

// Without the emergency option, town B and the footpaths are cut off on
// foot: their households are unserved as cut_off (not "no road", as when
// the import kept the largest piece only), and the plan suggests a rally
// point in town B, from which the gate is a drive away, and vehicles for
// the footpaths, which no car road reaches.
func TestCutOffTownsGetSuggestions(t *testing.T) {
	w, hs, p := twoTownsPlan(t, osmimport.Options{})
	codes := codesByTown(p)
	if len(codes["A"]) != 0 || codes["B"][plan.UnservedCutOff] != 12 || codes["C"][plan.UnservedCutOff] != 12 {
		t.Fatalf("unserved by town: %v; want A served, B and C cut off", codes)
	}
	for _, u := range p.Unassigned {
		if !strings.Contains(u.Reason, "no footpath joins") {
			t.Errorf("%s: reason %q", u.Household, u.Reason)
		}
	}
	of := suggestedOnce(t, p)
	homes := map[string]muster.Household{}
	for _, h := range hs {
		homes[h.ID] = h
	}
	label, _ := w.foot0.Pieces()
	for id, s := range of {
		switch id[:1] {
		case "B":
			if s.Kind != plan.SuggestRally || s.Gate != "gate-east" || s.DriveS <= 0 || s.LongestWalkS > 2700 {
				t.Errorf("%s: suggestion %+v, want a rally point with the gate a drive away", id, s)
			}
			// The rally point proposed is on the household's own piece.
			home, err := w.foot.Snap(orb.Point{homes[id].Lon, homes[id].Lat})
			if err != nil {
				t.Fatal(err)
			}
			at, err := w.foot.Snap(orb.Point{s.Lon, s.Lat})
			if err != nil {
				t.Fatal(err)
			}
			if label[home.Tail] != label[at.Tail] {
				t.Errorf("%s: rally point suggested on another piece", id)
			}
		case "C":
			if s.Kind != plan.SuggestPickup || s.Gate != "gate-east" {
				t.Errorf("%s: suggestion %+v, want a vehicle pickup", id, s)
			}
		}
	}
	if p.Reach.FootEmergency || len(p.Reach.EmergencyWalks) != 0 {
		t.Errorf("emergency walks without the option: %+v", p.Reach)
	}
	if line := plan.SuggestionsLine(p.Reach.Suggested()); !strings.Contains(line, "new rally point") || !strings.Contains(line, "vehicle pickup") {
		t.Errorf("summary line %q", line)
	}
	// Town B's rally point moved to town A's square, a short walk away as
	// the crow flies but on another walkable piece: the checker (rule
	// suggestion_walk) catches it for every household of town B.
	moved := *p
	moved.Reach = &plan.Reach{Suggestions: slices.Clone(p.Reach.Suggestions)}
	n := 0
	for i := range moved.Reach.Suggestions {
		if s := &moved.Reach.Suggestions[i]; s.Kind == plan.SuggestRally {
			s.Lon, s.Lat = twotowns.Rally[0], twotowns.Rally[1]
			n += len(s.Households)
		}
	}
	vs := plancheck.Check(&moved, plancheck.Inputs{Places: w.places, Households: hs, Car: w.car.Graph(), Foot: w.foot.Graph()})
	for _, v := range vs {
		if v.Rule != plancheck.RuleSuggestionWalk || !strings.Contains(v.Message, "another walkable piece") {
			t.Errorf("violation %s, want %s for another piece", v, plancheck.RuleSuggestionWalk)
		}
	}
	if len(vs) != n || n == 0 {
		t.Errorf("%d violations for %d households moved to another piece", len(vs), n)
	}
}

// With --foot-emergency town B walks to town A's rally point along the
// main road; the plan lists every such walk with its length on the road,
// and the checker catches a walk left off the list or misstated.
func TestFootEmergencyWalksListed(t *testing.T) {
	w, hs, p := twoTownsPlan(t, osmimport.Options{FootEmergency: true})
	codes := codesByTown(p)
	if len(codes["A"]) != 0 || len(codes["B"]) != 0 || codes["C"][plan.UnservedCutOff] != 12 {
		t.Fatalf("unserved by town: %v; want A and B served, C cut off", codes)
	}
	if p.Reach == nil || !p.Reach.FootEmergency {
		t.Fatalf("reach %+v", p.Reach)
	}
	var listed []string
	for _, ew := range p.Reach.EmergencyWalks {
		listed = append(listed, ew.Household)
		if math.Abs(ew.DistanceM-twotowns.RoadM) > 0.1*twotowns.RoadM || !slices.Equal(ew.Roads, []string{"Main Road"}) {
			t.Errorf("%+v: want about %d m on the Main Road", ew, twotowns.RoadM)
		}
	}
	var townB []string
	for _, h := range hs {
		if h.ID[0] == 'B' {
			townB = append(townB, h.ID)
		}
	}
	slices.Sort(listed)
	if !slices.Equal(listed, townB) {
		t.Errorf("emergency walks of %v, want town B's %v", listed, townB)
	}
	suggestedOnce(t, p)

	// A re-plan lists them too (the walks it keeps and those it makes).
	at := p.Params.Start.Add(20 * time.Minute)
	p1, err := plan.Replan(context.Background(), p, plan.Input{Car: w.car, Foot: w.foot, Places: w.places, Households: hs}, plan.State{At: at})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, w, p1, plancheck.Inputs{Places: w.places, Households: hs, At: at, Previous: p})
	if p1.Reach == nil || len(p1.Reach.EmergencyWalks) != len(p.Reach.EmergencyWalks) {
		t.Errorf("the re-plan lists %+v", p1.Reach)
	}

	in := plancheck.Inputs{Places: w.places, Households: hs, Car: w.car.Graph(), Foot: w.foot.Graph()}
	dropped := *p
	dropped.Reach = &plan.Reach{FootEmergency: true, EmergencyWalks: p.Reach.EmergencyWalks[1:], Suggestions: p.Reach.Suggestions}
	misstated := *p
	misstated.Reach = &plan.Reach{FootEmergency: true, EmergencyWalks: slices.Clone(p.Reach.EmergencyWalks), Suggestions: p.Reach.Suggestions}
	misstated.Reach.EmergencyWalks[0].DistanceM = 10
	for name, tc := range map[string]*plan.Plan{"dropped": &dropped, "misstated": &misstated} {
		vs := plancheck.Check(tc, in)
		if len(vs) != 1 || vs[0].Rule != plancheck.RuleEmergencyWalk || vs[0].Subject != p.Reach.EmergencyWalks[0].Household {
			t.Errorf("%s: violations %v, want one emergency_walk for %s", name, vs, p.Reach.EmergencyWalks[0].Household)
		}
	}
}

// The router says why it finds no walk between two towns: they are
// separate pieces of the foot network, not cut apart by a zone.
func TestRouteBetweenPieces(t *testing.T) {
	ctx := context.Background()
	c, _, err := osmimport.FromOSM(ctx, twotowns.OSM(), "two towns", osmimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	foot, err := route.New(ctx, c.Graphs[roadgraph.Foot], route.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = foot.Route(ctx, route.Request{From: twotowns.At(twotowns.TownA, 2, 2), To: twotowns.At(twotowns.TownB, 2, 2)})
	if muster.ErrorCode(err) != muster.EUNREACHABLE || !strings.Contains(err.Error(), "separate pieces of the foot network (of 64 and 65 nodes)") {
		t.Errorf("walk from town A to town B: %v", err)
	}
	if _, err := foot.Route(ctx, route.Request{From: twotowns.At(twotowns.TownB, 1, 1), To: twotowns.At(twotowns.TownB, 5, 6)}); err != nil {
		t.Errorf("walk within town B: %v", err)
	}
}

// A suggested rally point covers no more people than a rally point of
// the places file may hold: with town A's square holding 10, town B's 30
// people get several rally points, none for more than 10, each saying so,
// and the checker (rule suggestion_capacity) holds them to it.
func TestSuggestionsWithinCapacity(t *testing.T) {
	ctx := context.Background()
	c, _, err := osmimport.FromOSM(ctx, twotowns.OSM(), "two towns", osmimport.Options{})
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
	const holds = 10
	places := twotowns.Places()
	for i := range places.Places {
		if places.Places[i].Kind == muster.PlaceRally {
			places.Places[i].Capacity = holds
		}
	}
	w := &city{car: car, foot: foot, places: places, foot0: c.Graphs[roadgraph.Foot]}
	hs := twotowns.Households(12)
	p, err := plan.Make(ctx, plan.Input{Car: car, Foot: foot, Places: places, Households: hs,
		Params: plan.Params{Start: time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC)}})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, w, p, plancheck.Inputs{Places: places, Households: hs})
	of := suggestedOnce(t, p)
	townB, rallies := 0, map[string]plan.Suggestion{}
	for _, h := range hs {
		if h.ID[0] != 'B' {
			continue
		}
		townB += h.PartySize
		s := of[h.ID]
		if s.Kind != plan.SuggestRally {
			t.Errorf("%s: suggestion %+v, want a rally point", h.ID, s)
			continue
		}
		rallies[s.ID] = s
	}
	at := map[orb.Point]string{}
	for _, s := range rallies {
		if s.People > holds || s.Capacity != holds || !strings.Contains(s.Why, "up to 10 people at once") {
			t.Errorf("%s: %d people, capacity %d: %s", s.ID, s.People, s.Capacity, s.Why)
		}
		if o, ok := at[orb.Point{s.Lon, s.Lat}]; ok {
			t.Errorf("%s and %s suggest the same place", o, s.ID)
		}
		at[orb.Point{s.Lon, s.Lat}] = s.ID
	}
	if len(rallies) < (townB+holds-1)/holds {
		t.Errorf("town B's %d people get %d rally points of up to %d", townB, len(rallies), holds)
	}
	t.Logf("town B: %d people, %d suggested rally points", townB, len(rallies))

	// Planned as if rally points held more, the suggestions are over
	// what these places allow: the checker says so.
	roomy := *places
	roomy.Places = slices.Clone(places.Places)
	for i := range roomy.Places {
		if roomy.Places[i].Kind == muster.PlaceRally {
			roomy.Places[i].Capacity = 1000
		}
	}
	big, err := plan.Make(ctx, plan.Input{Car: car, Foot: foot, Places: &roomy, Households: hs,
		Params: plan.Params{Start: time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC)}})
	if err != nil {
		t.Fatal(err)
	}
	over := *big
	over.Groups, over.Households = p.Groups, p.Households // served as under the small square
	over.Unassigned = p.Unassigned
	vs := plancheck.Check(&over, plancheck.Inputs{Places: places, Households: hs, Car: car.Graph(), Foot: foot.Graph()})
	if len(vs) == 0 {
		t.Fatal("suggestions for 30 people at one rally point pass where rally points hold 10")
	}
	for _, v := range vs {
		if v.Rule != plancheck.RuleSuggestionCapacity {
			t.Errorf("violation %s, want only %s", v, plancheck.RuleSuggestionCapacity)
		}
	}
}

// A re-plan, and each of the proposals, suggests for the households it
// leaves unserved for want of a rally point, those it inherits (towns B
// and C, cut off) and those it makes (town A's households not yet gone
// when a fire closes in on their square), and every proposal passes the
// checker's suggestion rules.
func TestReplanSuggests(t *testing.T) {
	ctx := context.Background()
	c, _, err := osmimport.FromOSM(ctx, twotowns.OSM(), "two towns", osmimport.Options{})
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
	// A slow gate: town A's groups leave one after another.
	places := twotowns.Places()
	for i := range places.Places {
		if places.Places[i].Kind == muster.PlaceGate {
			places.Places[i].ThroughputPerHour = 20
		}
	}
	w := &city{car: car, foot: foot, places: places, foot0: c.Graphs[roadgraph.Foot]}
	hs := twotowns.Households(12)
	p, err := plan.Make(ctx, plan.Input{Car: car, Foot: foot, Places: places, Households: hs,
		Params: plan.Params{Start: time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC)}})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, w, p, plancheck.Inputs{Places: places, Households: hs})
	// At 06:30 the first group is on its way, the second gathering, the
	// third's households still at home.
	at := p.Params.Start.Add(30 * time.Minute)
	zones := []muster.Zone{{ID: "fire", Name: "fire", Center: twotowns.Rally, RadiusM: 40, Forbidden: true, Risk: 1}}
	for _, r := range []*route.Router{car, foot} {
		if _, err := r.SetZones(ctx, zones); err != nil {
			t.Fatal(err)
		}
	}
	ps, err := plan.Proposals(ctx, p, plan.Input{Car: car, Foot: foot, Places: places, Households: hs}, plan.State{At: at})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 {
		t.Fatalf("%d proposals", len(ps))
	}
	for _, pr := range ps {
		mustCheck(t, w, pr.Plan, plancheck.Inputs{Places: places, Households: hs, Zones: zones, At: at, Previous: p})
		of := suggestedOnce(t, pr.Plan)
		newly := 0
		for _, u := range pr.Plan.Unassigned {
			if u.Household[0] == 'A' {
				if _, ok := of[u.Household]; ok {
					newly++
				}
			}
		}
		t.Logf("%s: %d unserved:%s; %s; %d of them in town A, suggested for", pr.ID, len(pr.Plan.Unassigned), codesLine(unservedCodes(pr.Plan)), plan.SuggestionsLine(pr.Plan.Reach.Suggested()), newly)
		if len(of) < 24 {
			t.Errorf("%s: %d households suggested for, want towns B and C's 24 at least", pr.ID, len(of))
		}
		if newly == 0 {
			t.Errorf("%s: no household of town A left without its square is suggested for", pr.ID)
		}
		for _, s := range pr.Plan.Reach.Suggested() {
			if d := muster.DistanceM(s.Lon, s.Lat, twotowns.Rally[0], twotowns.Rally[1]); s.Kind == plan.SuggestRally && d <= zones[0].RadiusM {
				t.Errorf("%s: %s suggests a rally point in the fire, %.0f m from its middle", pr.ID, s.ID, d)
			}
		}
	}
}

// A re-plan after a rally point opened in town B (where the plan
// suggested one) plans town B's households again: cut_off, like the other
// codes that depend on the rally points and the picture, is not carried
// over, and the checker agrees with what the re-plan says of each.
func TestReplanServesCutOffTownGivenARallyPoint(t *testing.T) {
	w, hs, p := twoTownsPlan(t, osmimport.Options{})
	var at orb.Point
	for _, s := range p.Reach.Suggested() {
		if s.Kind == plan.SuggestRally {
			at = orb.Point{s.Lon, s.Lat}
		}
	}
	if at == (orb.Point{}) {
		t.Fatal("no rally point suggested for town B")
	}
	places := &muster.Places{Places: append(slices.Clone(w.places.Places),
		muster.Place{ID: "rally-b", Name: "Town B, suggested", Kind: muster.PlaceRally, Geometry: at, Capacity: 500})}
	when := p.Params.Start.Add(10 * time.Minute)
	p1, err := plan.Replan(context.Background(), p, plan.Input{Car: w.car, Foot: w.foot, Places: places, Households: hs}, plan.State{At: when})
	if err != nil {
		t.Fatal(err)
	}
	if codes := codesByTown(p1); len(codes["A"]) != 0 || len(codes["B"]) != 0 || codes["C"][plan.UnservedCutOff] != 12 {
		t.Fatalf("unserved by town after the re-plan: %v; want A and B served, C cut off", codes)
	}
	c := *w
	c.places = places
	mustCheck(t, &c, p1, plancheck.Inputs{Places: places, Households: hs, At: when, Previous: p})
}
