package plancheck

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
)

// moving holds a re-plan's groups on the move at At to the plan it
// revises: a group already driving keeps its gate, its times, its route and
// its households, unless it is re-routed from where it is (route_from at
// the re-plan), which it may be only when its gate closed, fell in a
// forbidden zone or became restricted, or its route crosses a forbidden
// zone. A group that could not be re-routed is gone, its households
// unserved: none of them is put in another group.
func (c *checker) moving() {
	prev := c.in.Previous
	if prev == nil || !c.replan() {
		return
	}
	at := c.in.At
	now := map[string]*plan.Group{}
	for i := range c.p.Groups {
		if g := &c.p.Groups[i]; now[g.ID] == nil {
			now[g.ID] = g
		}
	}
	for i := range prev.Groups {
		g0 := &prev.Groups[i]
		if !g0.Departure.Before(at) || !g0.Through.After(at) {
			continue // not on the move when the picture changed
		}
		if c.in.State != nil && c.in.State.Through[g0.ID] {
			continue // through sooner than planned: executed_changed holds it
		}
		g := now[g0.ID]
		if g == nil {
			for _, h := range c.aboard(g0) {
				if gs := c.inGroups[h]; len(gs) > 0 {
					c.add(RuleMovingKept, g0.ID, "was on the move at %s with household %s, which is now in group %s", fmtT(at), h, c.p.Groups[gs[0]].ID)
					break
				}
			}
			continue
		}
		var changed []string
		departed := g0.Departure
		if left, late := c.leftLate(g0); late {
			departed = left // the field's time, which the re-plan takes
		}
		if !g.Departure.Equal(departed) {
			changed = append(changed, "departure")
		}
		aboard := c.aboard(g0)
		if !g.RouteFrom.IsZero() && !g.RouteFrom.Equal(g0.RouteFrom) {
			// Re-routed now: those of it the field reports through the
			// gate it was going to are out; it goes on without them.
			aboard = c.notThrough(aboard)
		}
		if !slices.Equal(c.lessMissing(g.Households, aboard), aboard) {
			changed = append(changed, "households")
		}
		if !g.RouteFrom.IsZero() && !g.RouteFrom.Equal(g0.RouteFrom) {
			// Re-routed now: only for a reason.
			if why := c.rerouteReason(g0); why == "" {
				c.add(RuleMovingKept, g.ID, "re-routed on the move to gate %s, though its gate %s is still open and its route clear", g.Gate, g0.Gate)
			} else if len(changed) > 0 {
				c.add(RuleMovingKept, g.ID, "re-routed on the move (%s), but its %s changed too", why, strings.Join(changed, " and "))
			}
			continue
		}
		if left, late := c.leftLate(g0); late {
			c.add(RuleMovingKept, g.ID, "left its rally point at %s, %s late, yet keeps its turn at gate %s: it is not re-routed from where it is",
				fmtT(left), left.Sub(g0.Departure).Round(time.Minute), g.Gate)
			continue
		}
		if g.Gate != g0.Gate {
			changed = append(changed, "gate")
		}
		if slower := c.measuredSlower(g0.Gate); (!g.Arrival.Equal(g0.Arrival) && !(slower && g.Arrival.After(g0.Arrival))) ||
			(!g.Through.Equal(g0.Through) && !slower) {
			changed = append(changed, "times at the gate")
		}
		l0, _ := lineOf(g0.Route.Geometry)
		if l, _ := lineOf(g.Route.Geometry); !slices.Equal(l0, l) {
			changed = append(changed, "route")
		}
		if len(changed) > 0 {
			c.add(RuleMovingKept, g.ID, "on the move since %s, and its %s changed without re-routing it from where it is", fmtT(g0.Departure), strings.Join(changed, " and "))
		}
	}
}

// rerouteReason says why a group on the move with the route and gate g0
// had may be re-routed under the picture, or "".
func (c *checker) rerouteReason(g0 *plan.Group) string {
	if gt := c.gateInfo[g0.Gate]; gt == nil {
		return "its gate is no longer in the places file"
	} else if gt.unusable != "" {
		return fmt.Sprintf("gate %s is %s", g0.Gate, gt.unusable)
	} else if gt.status == muster.GateRestricted {
		return fmt.Sprintf("gate %s is restricted", g0.Gate)
	}
	if l0, ok := lineOf(g0.Route.Geometry); ok && len(crossings(l0, c.in.Zones, forbidden(c.in.Zones, l0.Bound()))) > 0 {
		return "its route crosses a forbidden zone"
	}
	if left, late := c.leftLate(g0); late {
		return fmt.Sprintf("it left its rally point at %s, %s after its planned departure", fmtT(left), left.Sub(g0.Departure).Round(time.Minute))
	}
	return ""
}

// leftLate is when the state of the field says group g0 left its rally
// point, if that is more than plan.LateDeparture after its planned
// departure: it would reach its gate in another group's turn, so a
// re-plan books it a turn again from where it is.
func (c *checker) leftLate(g0 *plan.Group) (time.Time, bool) {
	if c.in.State == nil {
		return time.Time{}, false
	}
	mv, ok := c.in.State.Moving[g0.ID]
	if !ok || mv.Departed.IsZero() || mv.Departed.Sub(g0.Departure) <= plan.LateDeparture {
		return time.Time{}, false
	}
	return mv.Departed, true
}

// aboard is who is in a group on the move: its households in the plan
// revised that the state of the field says left with it, or, when the
// state does not say who left (or names none of them), all but those it
// reports missing (overdue or no-show): they missed it.
func (c *checker) aboard(g0 *plan.Group) []string {
	st := c.in.State
	if st == nil {
		return g0.Households
	}
	var out []string
	if mv, ok := st.Moving[g0.ID]; ok {
		for _, h := range g0.Households {
			if slices.Contains(mv.Households, h) {
				out = append(out, h)
			}
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, h := range g0.Households {
		if _, missing := st.Missing[h]; !missing {
			out = append(out, h)
		}
	}
	return out
}

// notThrough is hs without the households the state reports through a
// gate.
func (c *checker) notThrough(hs []string) []string {
	if c.in.State == nil || len(c.in.State.HouseholdsThrough) == 0 {
		return hs
	}
	return slices.DeleteFunc(slices.Clone(hs), func(h string) bool { return c.in.State.HouseholdsThrough[h] })
}

// lessMissing is hs without the households the state reports missing and
// aboard does not name: one kept in a group that left without it is
// missing_dropped's to report, not this rule's.
func (c *checker) lessMissing(hs, aboard []string) []string {
	if c.in.State == nil || len(c.in.State.Missing) == 0 {
		return hs
	}
	return slices.DeleteFunc(slices.Clone(hs), func(h string) bool {
		_, missing := c.in.State.Missing[h]
		return missing && !slices.Contains(aboard, h)
	})
}

// measuredSlower reports whether the state of the field has a gate
// passing fewer people an hour than planned (the places file's rate, or
// its restricted share), as the planner takes it: then groups on the move
// there may reach it later than planned (holding back on their way, to
// keep its crowd within its limit), never sooner, and pass when the gate
// can take them (gate_throughput holds that).
func (c *checker) measuredSlower(gate string) bool {
	gt := c.gateInfo[gate]
	if gt == nil {
		return false
	}
	_, slower := c.measuredRate(gate, gt.after)
	return slower
}
