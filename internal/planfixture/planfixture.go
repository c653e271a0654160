// Package planfixture makes, for tests, the threat a re-plan is tested
// against: the busiest gate closed, and a bomb on a route to another.
// Several packages' tests (plan, instruct, plancheck) close the same gate
// and put the same zone; one definition keeps their scenarios alike.
package planfixture

import (
	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
)

// BusiestGate is the gate p sends the most people to (of a tie, the
// lowest id), counting only the groups of which counts says true (nil:
// every group); "" if none is counted.
func BusiestGate(p *plan.Plan, counts func(g *plan.Group) bool) string {
	people := map[string]int{}
	for i := range p.Groups {
		if g := &p.Groups[i]; counts == nil || counts(g) {
			people[g.Gate] += g.People
		}
	}
	busiest := ""
	for id, n := range people {
		if busiest == "" || n > people[busiest] || (n == people[busiest] && id < busiest) {
			busiest = id
		}
	}
	return busiest
}

// BombOffGate is a forbidden zone ("bomb", 250 m, risk 1) on the midpoint
// of the route of p's first group to another gate than gate: a threat on
// a route the closing of gate does not already take away.
func BombOffGate(p *plan.Plan, gate string) []muster.Zone {
	var mid orb.Point
	for _, g := range p.Groups {
		if g.Gate != gate {
			line := g.Route.Geometry.Coordinates.(orb.LineString)
			mid = line[len(line)/2]
			break
		}
	}
	return []muster.Zone{{ID: "bomb", Name: "explosion", Center: mid, RadiusM: 250, Forbidden: true, Risk: 1}}
}
