package plancheck

import (
	"slices"
	"sort"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
)

// fieldState holds a re-plan made mid-operation to the state of the field
// it was made from (Inputs.State) and the plan it revises: nobody already
// through is planned again (state_through), nobody on the move is sent
// back to a rally point (moving_sent_back), nothing a departed group did is
// changed (executed_changed), and no household the field reported missing
// is dropped without a word (missing_dropped). Who is where comes from the
// state and the previous plan's times, never from the plan checked.
func (c *checker) fieldState() {
	st, prev := c.in.State, c.in.Previous
	if prev == nil || !c.replan() {
		return
	}
	if st == nil {
		st = &plan.State{At: c.in.At} // nothing reported: the previous plan's times say who is where
	}
	at := c.in.At
	now := map[string]*plan.Group{}
	for i := range c.p.Groups {
		if g := &c.p.Groups[i]; now[g.ID] == nil {
			now[g.ID] = g
		}
	}
	unserved := map[string]plan.Unassigned{}
	for _, u := range c.p.Unassigned {
		unserved[u.Household] = u
	}
	// where is the group now holding household h, or nil.
	where := func(h string) *plan.Group {
		if gs := c.inGroups[h]; len(gs) > 0 {
			return &c.p.Groups[gs[0]]
		}
		return nil
	}
	through := map[string]string{} // household -> how we know it is out
	for _, id := range sortedKeys(st.HouseholdsThrough) {
		if st.HouseholdsThrough[id] {
			through[id] = "the field reported it through a gate"
		}
	}
	for i := range prev.Groups {
		g0 := &prev.Groups[i]
		_, moving := st.Moving[g0.ID]
		done := st.Through[g0.ID] || (!moving && !g0.Through.After(at))
		left := done || moving || !g0.Departure.After(at)
		if done {
			// Who went through with it: not the households the field
			// reports missing, which never joined it.
			for _, h := range c.aboard(g0) {
				if _, ok := through[h]; !ok {
					through[h] = "its group " + g0.ID + " was through before the re-plan"
				}
			}
		}
		if !left {
			continue
		}
		g := now[g0.ID]
		// What a departed group did stays as it was: where it gathered and
		// when it left; a group through, all of it.
		switch {
		case g == nil:
			if done && len(c.aboard(g0)) > 0 { // (a group of none but missing households never left)
				c.add(RuleExecutedChanged, g0.ID, "was through gate %s by %s, and the re-plan drops it", g0.Gate, fmtT(g0.Through))
			}
		case g.RallyPoint != g0.RallyPoint || (!g.Departure.Equal(g0.Departure) && !moving):
			// (The state's departure of a group reported on the move is
			// when it really left, which the re-plan may state.)
			c.add(RuleExecutedChanged, g0.ID, "left rally point %s at %s before the re-plan, which now has it leave %s at %s", g0.RallyPoint, fmtT(g0.Departure), g.RallyPoint, fmtT(g.Departure))
		case done && (g.Gate != g0.Gate || !g.Through.Equal(g0.Through) || (!slices.Equal(g.Households, g0.Households) && !slices.Equal(g.Households, c.aboard(g0)))):
			c.add(RuleExecutedChanged, g0.ID, "was through gate %s by %s, and the re-plan changes its gate, times or households", g0.Gate, fmtT(g0.Through))
		}
		if done {
			continue
		}
		// On the move: who is aboard stays on the move.
		for _, h := range c.aboard(g0) {
			if _, out := through[h]; out {
				continue
			}
			ng := where(h)
			switch {
			case ng != nil && ng.Departure.After(at):
				c.add(RuleMovingSentBack, h, "on the move with group %s at %s, and sent back to rally point %s to leave at %s with group %s", g0.ID, fmtT(at), ng.RallyPoint, fmtT(ng.Departure), ng.ID)
			case ng == nil:
				if u, ok := unserved[h]; ok && u.Code != plan.UnservedStranded {
					c.add(RuleMovingSentBack, h, "on the move with group %s at %s, and unserved with code %q: only %q (no gate reachable from where it is) fits", g0.ID, fmtT(at), u.Code, plan.UnservedStranded)
				}
			}
		}
	}
	// Nobody already out is planned again, and only they are listed out.
	for _, h := range sortedKeys(through) {
		if g := where(h); g != nil && g.Through.After(at) && !c.wasIn(h, g) {
			c.add(RuleStateThrough, h, "%s, and the re-plan has it through again with group %s at %s", through[h], g.ID, fmtT(g.Through))
		}
	}
	for _, u := range c.p.Unassigned {
		if _, ok := through[u.Household]; u.Code == plan.UnservedOut && !ok {
			c.add(RuleStateThrough, u.Household, "listed as out (already through), but the state says nothing of it")
		}
	}
	// Missing households: not in a group that left without them, and
	// never dropped without a reason in the diff.
	changes := map[string]string{}
	if c.p.Diff != nil {
		for _, ch := range c.p.Diff.Changes {
			changes[ch.Household] = ch.Reason
		}
	}
	for _, h := range sortedKeys(st.Missing) {
		if _, ok := c.households[h]; !ok {
			continue
		}
		if _, out := through[h]; out {
			continue
		}
		g := where(h)
		if g != nil && !g.Departure.After(at) {
			c.add(RuleMissingDropped, h, "reported %s, but still in group %s, which left at %s", st.Missing[h].Kind, g.ID, fmtT(g.Departure))
			continue
		}
		if changes[h] == "" {
			c.add(RuleMissingDropped, h, "reported %s, and the re-plan's diff says nothing of it: it goes to a later group, or is unserved, with the reason", st.Missing[h].Kind)
		}
	}
}

// wasIn reports whether household h was in group g (by id, with the same
// through time) in the plan revised: then it is the record of what
// happened, not a new passage.
func (c *checker) wasIn(h string, g *plan.Group) bool {
	for i := range c.in.Previous.Groups {
		g0 := &c.in.Previous.Groups[i]
		if g0.ID == g.ID {
			return slices.Contains(g0.Households, h) && g0.Through.Equal(g.Through)
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// limits holds the plan to the limits of the command line the other rules
// do not: the walk of a household with mobility needs, and the horizon.
func (c *checker) limits() {
	for _, hp := range c.p.Households {
		h := c.households[hp.ID]
		if h == nil || h.Priority != muster.PriorityMobility {
			continue
		}
		if c.in.CheckedIn[hp.ID] {
			continue // already at its rally point
		}
		if hp.Walk.DurationS > c.lim.MaxWalkMobilityS+1 {
			c.add(RuleMaxWalkMobility, hp.ID, "has mobility needs and walks %.0f s, more than the %.0f s allowed (--max-walk-mobility)", hp.Walk.DurationS, c.lim.MaxWalkMobilityS)
		}
	}
	from := c.p.Params.Start
	if c.replan() && c.in.At.After(from) {
		from = c.in.At // a re-plan schedules from its time
	}
	end := from.Add(secs(c.lim.HorizonS))
	for _, g := range c.p.Groups {
		if g.Through.After(end) {
			c.add(RuleHorizon, g.ID, "through at %s, after the %.0f h horizon from %s (--horizon)", fmtT(g.Through), c.lim.HorizonS/3600, fmtT(from))
		}
	}
}
