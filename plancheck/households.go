package plancheck

import (
	"fmt"
	"sort"
	"strings"

	"github.com/muster-evac/muster/plan"
)

// unservedCodes are the codes PLAN_FORMAT.md documents.
var unservedCodes = map[string]bool{
	plan.UnservedEmpty: true, plan.UnservedTooLarge: true, plan.UnservedNoLocation: true, plan.UnservedNoRoad: true,
	plan.UnservedNoRally: true, plan.UnservedMaxWalk: true, plan.UnservedUnreachable: true, plan.UnservedNoGate: true,
	plan.UnservedStranded: true, plan.UnservedOut: true, plan.UnservedCutOff: true,
}

// serving checks that every household of the evacuee list is served
// exactly once, in one group or unserved with a reason, and that the
// instructions match the groups.
func (c *checker) serving() {
	p := c.p
	c.inGroups = map[string][]int{}
	ids := map[string]int{}
	for gi, g := range p.Groups {
		ids[g.ID]++
		if ids[g.ID] == 2 {
			c.add(RuleGroupIDDuplicate, g.ID, "more than one group has this id")
		}
		for _, h := range g.Households {
			if _, ok := c.households[h]; !ok {
				c.add(RuleHouseholdUnknown, h, "group %s holds it, but it is not on the evacuee list", g.ID)
				continue
			}
			c.inGroups[h] = append(c.inGroups[h], gi)
		}
	}
	unserved := map[string]int{}
	for _, u := range p.Unassigned {
		if _, ok := c.households[u.Household]; !ok {
			c.add(RuleHouseholdUnknown, u.Household, "listed as unserved, but it is not on the evacuee list")
			continue
		}
		unserved[u.Household]++
		if !unservedCodes[u.Code] || strings.TrimSpace(u.Reason) == "" {
			c.add(RuleUnassignedReason, u.Household, "unserved with code %q and reason %q: a documented code and a reason are needed", u.Code, u.Reason)
		}
	}
	for i := range c.in.Households {
		id := c.in.Households[i].ID
		gs, un := c.inGroups[id], unserved[id]
		switch {
		case len(gs)+un == 0:
			c.add(RuleHouseholdLost, id, "neither in a group nor listed as unserved")
		case len(gs)+un > 1:
			var where []string
			for _, gi := range gs {
				where = append(where, "group "+p.Groups[gi].ID)
			}
			if un > 0 {
				where = append(where, fmt.Sprintf("unserved (%d times)", un))
			}
			c.add(RuleHouseholdTwice, id, "in %s: a household is served once, never split or sent twice", strings.Join(where, " and "))
		}
	}

	// Instructions: one for each household in a group, naming that group.
	c.instruction = map[string]int{}
	for i, hp := range p.Households {
		if _, ok := c.households[hp.ID]; !ok {
			c.add(RuleHouseholdUnknown, hp.ID, "has an instruction, but it is not on the evacuee list")
			continue
		}
		if _, dup := c.instruction[hp.ID]; dup {
			c.add(RuleInstructionDup, hp.ID, "has more than one instruction")
			continue
		}
		c.instruction[hp.ID] = i
		h := c.households[hp.ID]
		if hp.People != h.PartySize {
			c.add(RuleHouseholdPeople, hp.ID, "its instruction says %d people, the evacuee list %d", hp.People, h.PartySize)
		}
		gi, ok := c.holder(hp.ID, hp.Group)
		switch {
		case !ok && len(c.inGroups[hp.ID]) == 0:
			c.add(RuleInstructionMismatch, hp.ID, "its instruction names group %q, but no group holds it", hp.Group)
		case !ok:
			c.add(RuleInstructionMismatch, hp.ID, "its instruction names group %q, but group %s holds it", hp.Group, p.Groups[c.inGroups[hp.ID][0]].ID)
		case hp.RallyPoint != p.Groups[gi].RallyPoint:
			c.add(RuleInstructionMismatch, hp.ID, "told rally point %s, its group %s meets at %s", hp.RallyPoint, hp.Group, p.Groups[gi].RallyPoint)
		}
	}
	var missing []string
	for h := range c.inGroups {
		if _, ok := c.instruction[h]; !ok {
			missing = append(missing, h)
		}
	}
	sort.Strings(missing)
	for _, h := range missing {
		c.add(RuleInstructionMissing, h, "group %s holds it, but it has no instruction", p.Groups[c.inGroups[h][0]].ID)
	}
}

// holder returns the group named id that holds household h.
func (c *checker) holder(h, id string) (int, bool) {
	for _, gi := range c.inGroups[h] {
		if c.p.Groups[gi].ID == id {
			return gi, true
		}
	}
	return 0, false
}
