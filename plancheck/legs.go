package plancheck

import (
	"math"
	"slices"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/zonecost"
)

// walks checks every household's walk: where it starts and ends, how long
// it says it takes against the shortest walk the foot graph allows, the
// longest walk allowed, the household's times, and the forbidden zones.
func (c *checker) walks() {
	start := c.p.Params.Start
	tol := TimeTolerance
	for i := range c.p.Households {
		hp := &c.p.Households[i]
		if first, ok := c.instruction[hp.ID]; !ok || first != i {
			continue
		}
		gi, ok := c.holder(hp.ID, hp.Group)
		if !ok {
			continue // its instruction is wrong: instruction_mismatch says so
		}
		gf, hh := c.groups[gi], c.households[hp.ID]
		walk := secs(hp.Walk.DurationS)
		if hp.ReportBy.Add(tol).Before(start.Add(walk)) {
			c.add(RuleHouseholdTimes, hp.ID, "cannot walk %.0f s from the start %s and report by %s", hp.Walk.DurationS, fmtT(start), fmtT(hp.ReportBy))
		}
		if hp.ReportBy.After(gf.g.Departure) {
			c.add(RuleHouseholdTimes, hp.ID, "to report by %s, after its group %s leaves at %s", fmtT(hp.ReportBy), gf.g.ID, fmtT(gf.g.Departure))
		}
		if hp.Walk.DurationS > c.lim.MaxWalkS+1 {
			c.add(RuleMaxWalk, hp.ID, "walks %.0f s, more than the %.0f s allowed", hp.Walk.DurationS, c.lim.MaxWalkS)
		}
		if l := c.walkLegs[hp.ID]; l != nil {
			switch {
			case math.IsNaN(l.best):
				c.add(RuleWalkDuration, hp.ID, "its home or rally point %s is more than %d km from any foot road: is this the graph the plan was made on?", gf.g.RallyPoint, snapReachM/1000)
			case math.IsInf(l.best, 1):
				c.add(RuleWalkDuration, hp.ID, "its walk says %.0f s, but the shortest walk the foot graph allows from its home to rally point %s takes more than %.0f s",
					hp.Walk.DurationS, gf.g.RallyPoint, l.limit)
			}
		}
		line, ok := lineOf(hp.Walk.Geometry)
		if !ok {
			c.add(RuleGeometry, hp.ID, "its walk's geometry is not a LineString of two points or more")
			continue
		}
		home := orb.Point{hh.Lon, hh.Lat}
		if !hh.HasLocation {
			c.add(RuleWalkStart, hp.ID, "walks from %.6f,%.6f, but the evacuee list has no location for it", line[0][1], line[0][0])
		} else if ok, allowed := c.endpointOK(c.foot, home, line[0]); !ok {
			c.add(RuleWalkStart, hp.ID, "its walk starts %.0f m from its home (at most %.0f m: where the home meets the foot network)", distM(home, line[0]), allowed)
		}
		if gf.rally != nil {
			end := line[len(line)-1]
			if ok, allowed := c.endpointOK(c.foot, gf.rallyPt, end); !ok {
				c.add(RuleWalkEnd, hp.ID, "its walk ends %.0f m from rally point %s (at most %.0f m: where it meets the foot network)", distM(gf.rallyPt, end), gf.g.RallyPoint, allowed)
			}
		}
		if gf.g.Departure.Before(c.in.At) || c.in.CheckedIn[hp.ID] {
			continue // walked before the picture changed
		}
		c.legZones(RuleWalkZone, hp.ID, "walk", line, hp.Walk.Escape, true, c.foot, gf.rallyZones)
	}
}

// routes checks every group's route: where it starts and ends, how long it
// says it takes against the shortest drive the car graph allows, when the
// group arrives, and the forbidden zones on its way still ahead.
func (c *checker) routes() {
	tol := TimeTolerance
	for _, gf := range c.groups {
		g := gf.g
		if l := gf.reach; l != nil && math.IsInf(l.best, 1) {
			c.add(RuleMovingStart, g.ID, "re-routed on the move at %s from %.6f,%.6f, more than %.0f s' drive from rally point %s, %s after it left",
				fmtT(g.RouteFrom), gf.line[0][1], gf.line[0][0], l.limit, g.RallyPoint, g.RouteFrom.Sub(g.Departure))
		}
		drive := g.Route.DurationS
		if l := gf.drive; l != nil {
			switch {
			case math.IsNaN(l.best):
				c.add(RuleRouteDuration, g.ID, "its route's start or gate %s is more than %d km from any car road: is this the graph the plan was made on?", g.Gate, snapReachM/1000)
			case math.IsInf(l.best, 1):
				c.add(RuleRouteDuration, g.ID, "its route says %.0f s, but the shortest drive the car graph allows from its start to gate %s takes more than %.0f s",
					g.Route.DurationS, g.Gate, l.limit)
			default:
				drive = math.Max(drive, l.best)
			}
		}
		if g.Arrival.Add(tol).Before(gf.start.Add(secs(drive))) {
			c.add(RuleArrival, g.ID, "reaches gate %s at %s, %s after its route starts at %s, but the drive takes %.0f s",
				g.Gate, fmtT(g.Arrival), g.Arrival.Sub(gf.start), fmtT(gf.start), drive)
		}
		if gf.line == nil {
			continue
		}
		if g.RouteFrom.IsZero() && gf.rally != nil {
			if ok, allowed := c.endpointOK(c.car, gf.rallyPt, gf.line[0]); !ok {
				c.add(RuleRouteStart, g.ID, "its route starts %.0f m from rally point %s (at most %.0f m: where it meets the car network)", distM(gf.rallyPt, gf.line[0]), g.RallyPoint, allowed)
			}
		}
		if gf.gate != nil {
			end := gf.line[len(gf.line)-1]
			if ok, allowed := c.endpointOK(c.car, gf.gate.pt, end); !ok {
				c.add(RuleRouteEnd, g.ID, "its route ends %.0f m from gate %s (at most %.0f m: where it meets the car network)", distM(gf.gate.pt, end), g.Gate, allowed)
			}
		}
		if gf.done {
			continue
		}
		skip := gf.rallyZones
		if gf.atGate != "" && gf.gate != nil {
			skip = append(slices.Clip(skip), gf.gate.zones...) // the gate's own rule reports it
		}
		if gf.moving && gf.start.Before(c.in.At) {
			// On its way since before the picture changed: only the way
			// ahead counts; an escape it began it may still be making.
			line := ahead(gf.line, gf.start, g.Arrival, c.in.At)
			c.legZones(RuleRouteZone, g.ID, "route", line, g.Route.Escape, false, c.car, skip)
			continue
		}
		c.legZones(RuleRouteZone, g.ID, "route", gf.line, g.Route.Escape, true, c.car, skip)
	}
}

// lineOf returns a leg's line, if it is a LineString of two points or
// more.
func lineOf(g *geojson.Geometry) (orb.LineString, bool) {
	if g == nil {
		return nil, false
	}
	if l, ok := g.Coordinates.(orb.LineString); ok && len(l) >= 2 {
		return l, true
	}
	return nil, false
}

// ahead returns the part of a route still ahead at t, for a group that
// started it at from and reaches its end at to, placed along it in
// proportion to distance (as the planner places it): the segment it is on
// and all after.
func ahead(line orb.LineString, from, to, t time.Time) orb.LineString {
	total := to.Sub(from).Seconds()
	if total <= 0 || !t.After(from) {
		return line
	}
	f := math.Min(1, t.Sub(from).Seconds()/total)
	var length float64
	for i := 1; i < len(line); i++ {
		length += distM(line[i-1], line[i])
	}
	want := f * length
	for i := 1; i < len(line); i++ {
		d := distM(line[i-1], line[i])
		if d >= want {
			return line[i-1:]
		}
		want -= d
	}
	return line[len(line)-2:]
}

// legZones checks a leg still to be made against the forbidden zones of
// the picture. A leg marked escape must start inside a forbidden zone, or
// on a road that touches one (the router then leaves by the shortest way
// out, possibly through it): those zones it may cross, once, as it leaves;
// every other zone it must not touch; verify says to report an escape
// that starts in no zone (not for the way ahead of a group on the move,
// which may have left the zone already). Zones in skip are reported by
// another rule (the leg's rally point or gate lies in them).
func (c *checker) legZones(rule, subject, what string, line orb.LineString, escape, verify bool, net *network, skip []int) {
	zones := c.in.Zones
	near := forbidden(zones, line.Bound())
	var leaving map[int]bool // the zones an escape leaves
	if escape {
		leaving = map[int]bool{}
		for _, i := range c.forbiddenAt(line[0]) {
			leaving[i] = true
		}
		road := line[:2] // without a graph: the leg's first stretch
		if net != nil {
			if s, ok := net.snap(line[0]); ok {
				road = net.arcLine(s)
			}
		}
		for _, cr := range crossings(road, zones, forbidden(zones, road.Bound())) {
			leaving[cr.Zone] = true
		}
		if len(leaving) == 0 && verify {
			c.add(RuleEscapeStart, subject, "its %s is marked as an escape, but starts outside every forbidden zone, on a road that touches none", what)
		}
	}
	// The escape's way out: the first run of consecutive segments touching
	// a zone it leaves.
	out := [2]int{-1, -1}
	cs := crossings(line, zones, near)
	for _, cr := range cs {
		if !leaving[cr.Zone] {
			continue
		}
		switch {
		case out[0] < 0:
			out = [2]int{cr.Segment, cr.Segment}
		case cr.Segment <= out[1]+1 && cr.Segment >= out[0]:
			out[1] = max(out[1], cr.Segment)
		}
	}
	for _, cr := range cs {
		if slices.Contains(skip, cr.Zone) || (leaving[cr.Zone] && cr.Segment >= out[0] && cr.Segment <= out[1]) {
			continue
		}
		c.add(rule, subject, "its %s touches forbidden zone %s at %.6f,%.6f", what, c.zoneName(cr.Zone), cr.Point[1], cr.Point[0])
		return
	}
}

// forbidden returns the forbidden zones whose bounds come near b.
func forbidden(zones []muster.Zone, b orb.Bound) []int {
	b = b.Pad(1e-3) // about 100 m: far more than the touching tolerance
	var out []int
	for i := range zones {
		if zones[i].Forbidden && zones[i].Bound().Intersects(b) {
			out = append(out, i)
		}
	}
	return out
}

// crossings runs zonecost's independent checker on the zones listed,
// reporting zones by their index in all.
func crossings(line orb.LineString, all []muster.Zone, which []int) []zonecost.Crossing {
	var out []zonecost.Crossing
	for _, i := range which {
		for _, cr := range zonecost.CheckForbidden(line, all[i:i+1]) {
			cr.Zone = i
			out = append(out, cr)
		}
	}
	slices.SortStableFunc(out, func(a, b zonecost.Crossing) int { return a.Segment - b.Segment })
	return out
}
