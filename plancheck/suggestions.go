package plancheck

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
)

// suggestedCodes are the unserved codes a suggestion answers: no rally
// point within the household's walk (PLAN_FORMAT.md, reach).
var suggestedCodes = map[string]bool{
	plan.UnservedNoRoad: true, plan.UnservedMaxWalk: true, plan.UnservedCutOff: true, plan.UnservedNoRally: true,
}

// SuggestionReachM is how far from the foot network a home, or a
// suggested rally point, may be and still be walked from or to: the
// router's default snap distance, beyond which the planner finds no road
// (no_road).
const SuggestionReachM = 1000

// suggestionCapacity is the most people a suggested rally point may
// cover, from the places file: the largest capacity it gives a rally
// point; 0 when none gives one.
func (c *checker) suggestionCapacity() int {
	most := 0
	if c.in.Places == nil {
		return 0
	}
	for _, pl := range c.in.Places.Places {
		if pl.Kind == muster.PlaceRally {
			most = max(most, pl.Capacity)
		}
	}
	return most
}

// suggestions holds the plan's reach.suggestions to the plan's own
// unserved list and to the inputs: every household unserved for want of a
// rally point within its walk is in exactly one suggestion, no other
// household is in any; a suggestion's people are its households' on the
// evacuee list, a suggested rally point's no more than a rally point may
// hold; and, with the foot graph, every household of a suggested rally
// point lies on its walkable piece and can walk there within its limit
// (the checker's own Dijkstra, free-flow: a lower bound on the planner's
// walk under the threat picture).
func (c *checker) suggestions(ctx context.Context) error {
	var ss []plan.Suggestion
	if c.p.Reach != nil {
		ss = c.p.Reach.Suggestions
	}
	code := map[string]string{}
	for _, u := range c.p.Unassigned {
		if _, ok := code[u.Household]; !ok {
			code[u.Household] = u.Code
		}
	}
	in := map[string][]string{} // household -> the suggestions naming it
	for _, s := range ss {
		for _, h := range s.Households {
			in[h] = append(in[h], s.ID)
		}
	}
	for i := range c.in.Households {
		id := c.in.Households[i].ID
		named := in[id]
		switch {
		case suggestedCodes[code[id]] && len(named) == 0:
			c.add(RuleSuggestionMissing, id, "unserved as %s, but in no suggestion of the plan's reach", code[id])
		case len(named) > 1:
			c.add(RuleSuggestionTwice, id, "in suggestions %s: each household unserved for want of a rally point is in one", strings.Join(named, ", "))
		}
		if len(named) == 0 || suggestedCodes[code[id]] {
			continue
		}
		switch gs := c.inGroups[id]; {
		case len(gs) > 0:
			c.add(RuleSuggestionServed, id, "in suggestion %s, but group %s serves it", named[0], c.p.Groups[gs[0]].ID)
		case code[id] != "":
			c.add(RuleSuggestionServed, id, "in suggestion %s, but unserved as %s, which no rally point within its walk would answer", named[0], code[id])
		default:
			c.add(RuleSuggestionServed, id, "in suggestion %s, but neither unserved nor in a group", named[0])
		}
	}
	capacity := c.suggestionCapacity()
	var ts []*target
	type check struct {
		s plan.Suggestion
		h *muster.Household
		l *leg
	}
	var walks []check
	var label []int32
	if c.foot != nil {
		for _, s := range ss {
			if s.Kind == plan.SuggestRally {
				label, _ = c.foot.g.Pieces()
				break
			}
		}
	}
	for _, s := range ss {
		people := 0
		for _, id := range s.Households {
			h, ok := c.households[id]
			if !ok {
				c.add(RuleHouseholdUnknown, id, "suggestion %s names it, but it is not on the evacuee list", s.ID)
				continue
			}
			people += h.PartySize
		}
		if s.People != people {
			c.add(RuleSuggestionCapacity, s.ID, "says %d people, its households hold %d on the evacuee list", s.People, people)
		}
		if s.Kind != plan.SuggestRally {
			continue
		}
		if capacity > 0 && people > capacity {
			c.add(RuleSuggestionCapacity, s.ID, "a suggested rally point for %d people; no rally point of the places file holds more than %d", people, capacity)
		}
		if c.foot == nil {
			continue
		}
		at := orb.Point{s.Lon, s.Lat}
		if !muster.ValidLatLon(s.Lat, s.Lon) {
			c.add(RuleSuggestionWalk, s.ID, "a suggested rally point at %v,%v, not a place on Earth", s.Lat, s.Lon)
			continue
		}
		to, ok := c.foot.snap(at)
		if !ok || to.DistanceM > SuggestionReachM {
			c.add(RuleSuggestionWalk, s.ID, "a suggested rally point at %.6f,%.6f, with no foot road within %d m", s.Lat, s.Lon, SuggestionReachM)
			continue
		}
		t := &target{to: to}
		for _, id := range s.Households {
			h := c.households[id]
			if h == nil || !suggestedCodes[code[id]] || len(in[id]) > 1 {
				continue // reported above
			}
			from, ok := c.foot.snap(orb.Point{h.Lon, h.Lat})
			if !h.HasLocation || !ok || from.DistanceM > SuggestionReachM {
				c.add(RuleSuggestionWalk, s.ID, "household %s has no foot road within %d m of its home to walk from, yet the rally point is suggested for it", id, SuggestionReachM)
				continue
			}
			if label[from.Tail] != label[to.Tail] {
				c.add(RuleSuggestionWalk, s.ID, "household %s lives on another walkable piece of the foot network than the rally point suggested for it (%.0f m away): no footpath leads there", id, distM(orb.Point{h.Lon, h.Lat}, at))
				continue
			}
			l := &leg{from: from, limit: c.walkLimit(h) + TimeTolerance.Seconds()}
			t.legs = append(t.legs, l)
			walks = append(walks, check{s, h, l})
		}
		if len(t.legs) > 0 {
			ts = append(ts, t)
		}
	}
	if len(ts) == 0 {
		return nil
	}
	if err := c.foot.solve(ctx, ts); err != nil {
		return err
	}
	for _, w := range walks {
		if math.IsInf(w.l.best, 1) || math.IsNaN(w.l.best) {
			c.add(RuleSuggestionWalk, w.s.ID, "household %s cannot walk to the rally point suggested for it within %s: the foot graph's shortest walk is longer", w.h.ID, fmtDur(c.walkLimit(w.h)))
		}
	}
	return nil
}

// walkLimit is the longest walk household h may be asked to make, from
// the command line: shorter with mobility needs.
func (c *checker) walkLimit(h *muster.Household) float64 {
	if h.Priority == muster.PriorityMobility {
		return c.lim.MaxWalkMobilityS
	}
	return c.lim.MaxWalkS
}

func fmtDur(s float64) string { return fmt.Sprintf("%.0f min", math.Floor(s/60)) }
