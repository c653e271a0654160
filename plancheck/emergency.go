package plancheck

import (
	"math"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
)

// onClosedRoadM is how near the line of a road closed to pedestrians both
// ends of a stretch of walk must lie for the stretch to run along it.
const onClosedRoadM = 1.5

// emergencyWalks holds the plan's list of walks along roads closed to
// pedestrians to what the walks' geometry shows: every walk that runs
// along one of the foot graph's emergency arcs is listed with about its
// length on them, and no other walk is.
func (c *checker) emergencyWalks() {
	if c.foot == nil {
		return
	}
	declared := map[string]float64{}
	if r := c.p.Reach; r != nil {
		for _, w := range r.EmergencyWalks {
			declared[w.Household] = w.DistanceM
		}
	}
	if len(declared) == 0 && len(c.foot.g.EmergencyArcs) == 0 {
		return
	}
	seen := map[string]bool{}
	for i := range c.p.Households {
		hp := &c.p.Households[i]
		if first, ok := c.instruction[hp.ID]; !ok || first != i {
			continue
		}
		seen[hp.ID] = true
		line, ok := lineOf(hp.Walk.Geometry)
		if !ok {
			continue // rule geometry says so
		}
		onClosed := c.closedRoadM(line)
		said, listed := declared[hp.ID]
		switch {
		case onClosed > 0 && !listed:
			c.add(RuleEmergencyWalk, hp.ID, "its walk runs %.0f m along roads closed to pedestrians, but the plan's reach.emergency_walks does not list it", onClosed)
		case listed && math.Abs(said-onClosed) > math.Max(5, 0.05*onClosed):
			c.add(RuleEmergencyWalk, hp.ID, "listed as walking %.0f m along roads closed to pedestrians, but its walk runs %.0f m on them", said, onClosed)
		}
	}
	for id, said := range declared {
		if !seen[id] {
			c.add(RuleEmergencyWalk, id, "listed as walking %.0f m along roads closed to pedestrians, but it has no walk in the plan", said)
		}
	}
}

// closedRoadM is how far a walk runs along the foot graph's emergency
// arcs: the stretches of it whose both ends lie on one of their lines.
func (c *checker) closedRoadM(line orb.LineString) float64 {
	g := c.foot.g
	if len(g.EmergencyArcs) == 0 {
		return 0
	}
	total := 0.0
	var arcLine orb.LineString
	for k := 1; k < len(line); k++ {
		p, q := line[k-1], line[k]
		if p == q {
			continue
		}
		pad := onClosedRoadM / 100_000
		box := orb.Bound{Min: p, Max: p}.Extend(q).Pad(pad)
		on := false
		c.foot.ix.ArcsInBound(box, func(a uint32) bool {
			if !g.IsEmergency(a) {
				return true
			}
			arcLine = g.ArcGeometry(arcLine[:0], c.foot.tail[a], a)
			if toLineM(p, arcLine) <= onClosedRoadM && toLineM(q, arcLine) <= onClosedRoadM {
				on = true
				return false
			}
			return true
		})
		if on {
			total += muster.DistanceM(p[0], p[1], q[0], q[1])
		}
	}
	return total
}

// toLineM is the distance in metres from p to the nearest point of a line,
// measured in a flat projection around p.
func toLineM(p orb.Point, line orb.LineString) float64 {
	mx := 111_320 * math.Cos(p[1]*math.Pi/180)
	const my = 110_574
	best := math.Inf(1)
	for i := 1; i < len(line); i++ {
		ax, ay := (line[i-1][0]-p[0])*mx, (line[i-1][1]-p[1])*my
		bx, by := (line[i][0]-p[0])*mx, (line[i][1]-p[1])*my
		dx, dy := bx-ax, by-ay
		t := 0.0
		if l := dx*dx + dy*dy; l > 0 {
			t = min(1, max(0, -(ax*dx+ay*dy)/l))
		}
		best = min(best, math.Hypot(ax+t*dx, ay+t*dy))
	}
	return best
}
