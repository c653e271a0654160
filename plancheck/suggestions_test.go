package plancheck_test

import (
	"math"
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/plancheck"
)

// rallySuggestion returns the plan's first suggested rally point.
func rallySuggestion(t *testing.T, p *plan.Plan) *plan.Suggestion {
	t.Helper()
	for i, s := range p.Reach.Suggested() {
		if s.Kind == plan.SuggestRally && len(s.Households) > 0 {
			return &p.Reach.Suggestions[i]
		}
	}
	t.Fatal("the plan suggests no rally point")
	return nil
}

func peopleOf(w *world) map[string]int {
	m := map[string]int{}
	for _, h := range w.hs {
		m[h.ID] = h.PartySize
	}
	return m
}

// suggestionMutations tamper with the plan's reach.suggestions, each in
// one way the checker must catch.
func suggestionMutations() []mutation {
	return []mutation{
		{"a household unserved for want of a rally point left out of the suggestions", "base", []string{plancheck.RuleSuggestionMissing}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			s := rallySuggestion(t, p)
			last := s.Households[len(s.Households)-1]
			s.Households = s.Households[:len(s.Households)-1]
			s.People -= peopleOf(w)[last]
			if len(s.Households) == 0 {
				p.Reach.Suggestions = slices.DeleteFunc(p.Reach.Suggestions, func(x plan.Suggestion) bool { return x.ID == s.ID })
			}
		}},
		{"the re-plan's suggestions dropped", "replan", []string{plancheck.RuleSuggestionMissing}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			rallySuggestion(t, p)
			p.Reach.Suggestions = nil
		}},
		{"a household in two suggestions", "base", []string{plancheck.RuleSuggestionTwice}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			s := rallySuggestion(t, p)
			h := s.Households[0]
			p.Reach.Suggestions = append(p.Reach.Suggestions, plan.Suggestion{ID: "S-COPY", Kind: plan.SuggestPickup, Lat: s.Lat, Lon: s.Lon,
				Households: []string{h}, People: peopleOf(w)[h], Why: "a copy"})
		}},
		{"a household a group serves in a suggestion", "base", []string{plancheck.RuleSuggestionServed}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			s := rallySuggestion(t, p)
			h := p.Groups[0].Households[0]
			s.Households = append(s.Households, h)
			s.People += peopleOf(w)[h]
		}},
		{"a household unserved for another reason in a suggestion", "base", []string{plancheck.RuleSuggestionServed}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			s := rallySuggestion(t, p)
			for _, u := range p.Unassigned {
				if u.Code == plan.UnservedTooLarge {
					s.Households = append(s.Households, u.Household)
					s.People += peopleOf(w)[u.Household]
					return
				}
			}
			t.Fatal("no household unserved as too_large")
		}},
		{"a suggested rally point moved beyond its households' walk", "base", []string{plancheck.RuleSuggestionWalk}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			s := rallySuggestion(t, p)
			// The home farthest from it: farther from every household it
			// names than anyone walks in the limit at 2.5 m/s.
			at := orb.Point{s.Lon, s.Lat}
			var far orb.Point
			for _, h := range w.hs {
				if q := (orb.Point{h.Lon, h.Lat}); h.HasLocation && distM(at, q) > distM(at, far) {
					far = q
				}
			}
			for _, id := range s.Households {
				for _, h := range w.hs {
					if h.ID == id && distM(orb.Point{h.Lon, h.Lat}, far) < plancheck.DefaultMaxWalkS*2.5 {
						t.Fatalf("the farthest home is %.0f m from %s", distM(orb.Point{h.Lon, h.Lat}, far), id)
					}
				}
			}
			s.Lon, s.Lat = far[0], far[1]
		}},
		{"a suggested rally point for a household whose home is 5 km from any foot road", "base", []string{plancheck.RuleSuggestionWalk, plancheck.RuleUnservedCode}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			// On this evacuee list it lives 5 km north of the city's
			// northernmost home.
			s := rallySuggestion(t, p)
			north := -90.0
			for _, h := range w.hs {
				north = math.Max(north, h.Lat)
			}
			in.Households = slices.Clone(in.Households)
			for i := range in.Households {
				if h := &in.Households[i]; h.ID == s.Households[0] {
					h.Lat = north + 5000.0/111_320
				}
			}
		}},
		{"a suggested rally point off the foot network", "base", []string{plancheck.RuleSuggestionWalk}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			s := rallySuggestion(t, p)
			s.Lat += 5000.0 / 111_320
		}},
		{"a suggested rally point for more people than a rally point holds (a household too large for a group, too: unserved_code)", "base", []string{plancheck.RuleSuggestionCapacity, plancheck.RuleUnservedCode}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			// On this evacuee list, one of its households is as large as
			// the largest rally point of the places file.
			s := rallySuggestion(t, p)
			most := 0
			for _, pl := range in.Places.Places {
				if pl.Kind == muster.PlaceRally {
					most = max(most, pl.Capacity)
				}
			}
			if most == 0 {
				t.Fatal("no rally point has a capacity")
			}
			in.Households = slices.Clone(in.Households)
			for i := range in.Households {
				if h := &in.Households[i]; h.ID == s.Households[0] {
					s.People += most - h.PartySize
					h.PartySize, h.Adults = most, most
				}
			}
			if s.People <= most {
				t.Fatalf("%s holds %d people", s.ID, s.People)
			}
		}},
		{"a suggestion misstating its people", "base", []string{plancheck.RuleSuggestionCapacity}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			rallySuggestion(t, p).People++
		}},
		{"a suggestion naming a household not on the list", "base", []string{plancheck.RuleHouseholdUnknown}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			p.Reach.Suggestions = append(p.Reach.Suggestions, plan.Suggestion{ID: "S-STRANGER", Kind: plan.SuggestByHand, Households: []string{"H-STRANGER"}, Why: "a stranger"})
		}},
	}
}
