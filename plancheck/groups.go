package plancheck

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/zonecost"
)

// groupFact is what the checker knows of one group, from the inputs.
type groupFact struct {
	g       *plan.Group
	people  int // from the evacuee list
	rally   *muster.Place
	gate    *gateFact
	rallyPt orb.Point
	line    orb.LineString // nil when the route is not a line
	start   time.Time      // when its route starts: route_from, or departure
	done    bool           // through its gate before At
	moving  bool           // left before At, not through
	// atGate is the rule its passage breaks at a gate it may not use
	// (gate_closed, gate_forbidden, moving_gate_closed), or "".
	atGate string
	// rallyZones are the forbidden zones its rally point lies in, when it
	// gathers there after At (a rally_forbidden violation).
	rallyZones []int
	drive      *leg // the shortest drive from its route's start to its gate
	reach      *leg // re-routed on the move: from its rally point to its route's start
}

// gateFact is a gate as the inputs describe it.
type gateFact struct {
	place *muster.Place
	pt    orb.Point
	// Throughput, people per second: nominal before since, then its share
	// when restricted (after); and in a re-plan, from At on, the rate the
	// field measured when it is lower (as the planner takes it).
	nominal, after float64
	since          time.Time // when its status took effect (zero: always)
	// rates is the throughput over time: each change, in time order, the
	// first from the beginning of time (at zero).
	rates  []rateChange
	status string
	// unusable says why no group may pass it from unusableSince on, and
	// rule is the rule such a passage breaks.
	unusable, rule string
	unusableSince  time.Time
	zones          []int // the forbidden zones it lies in
}

// forbiddenAt returns the forbidden zones holding pt.
func (c *checker) forbiddenAt(pt orb.Point) []int {
	var out []int
	for _, i := range zonecost.Containing(pt, c.in.Zones) {
		if c.in.Zones[i].Forbidden {
			out = append(out, i)
		}
	}
	return out
}

func (c *checker) zoneName(i int) string {
	z := &c.in.Zones[i]
	if z.Name != "" {
		return fmt.Sprintf("%q (%s)", z.Name, z.ID)
	}
	return fmt.Sprintf("%q", z.ID)
}

// statusRank orders gate statuses from the least strict.
var statusRank = map[string]int{muster.GateOpen: 1, muster.GateRestricted: 2, muster.GateClosed: 3}

// gateFacts reads every gate of the places file: its status under the
// picture, since when, its throughput before and after, and whether it may
// be used at all.
func (c *checker) gateFacts() {
	c.gateInfo = map[string]*gateFact{}
	if c.in.Places == nil {
		return
	}
	for i := range c.in.Places.Places {
		pl := &c.in.Places.Places[i]
		if pl.Kind != muster.PlaceGate {
			continue
		}
		pt, ok := pl.Point()
		if !ok {
			continue
		}
		gf := &gateFact{place: pl, pt: pt, status: pl.Status, since: c.in.At}
		if s, ok := c.in.GateStatus[pl.ID]; ok {
			gf.status = s
		}
		if gf.status == "" {
			gf.status = muster.GateOpen
		}
		if c.in.State != nil {
			// The field's word on a gate (a re-plan's state) applies from
			// the re-plan on when it is stricter than the picture's, as
			// the planner takes it: a gate seen restricted or closed is.
			if s, ok := c.in.State.GateStatus[pl.ID]; ok && statusRank[s] > statusRank[gf.status] {
				gf.status = s
			}
		}
		if t, ok := c.in.GateSince[pl.ID]; ok {
			gf.since = t
		}
		gf.nominal = float64(pl.ThroughputPerHour) / 3600
		gf.after = gf.nominal
		if gf.status == muster.GateRestricted {
			gf.after *= c.lim.RestrictedFactor
		}
		gf.rates = []rateChange{{rate: gf.nominal}}
		if gf.after != gf.nominal {
			gf.rates = []rateChange{{rate: gf.after}}
			if !gf.since.IsZero() {
				gf.rates = []rateChange{{rate: gf.nominal}, {at: gf.since, rate: gf.after}}
			}
		}
		measured, slower := c.measuredRate(pl.ID, gf.after)
		if slower {
			gf.rates = withRateFrom(gf.rates, c.in.At, measured)
		}
		gf.zones = c.forbiddenAt(pt)
		switch {
		case gf.status == muster.GateClosed:
			gf.unusable, gf.rule, gf.unusableSince = "closed", RuleGateClosed, gf.since
		case pl.ThroughputPerHour <= 0:
			gf.unusable, gf.rule = "without throughput", RuleGateClosed
		case len(gf.zones) > 0:
			gf.unusable, gf.rule, gf.unusableSince = "inside forbidden zone "+c.zoneName(gf.zones[0]), RuleGateForbidden, c.in.At
		case slower && measured <= 0:
			gf.unusable, gf.rule, gf.unusableSince = "measured passing nobody", RuleGateClosed, c.in.At
		}
		c.gateInfo[pl.ID] = gf
	}
}

// groupFacts reads every group: its people from the evacuee list, its
// places, its route, where it stands at At, and which gate or rally rule
// its places break.
func (c *checker) groupFacts() {
	c.gateFacts()
	rallyZones := map[string][]int{}
	at := c.in.At
	for gi := range c.p.Groups {
		g := &c.p.Groups[gi]
		gf := &groupFact{g: g, start: g.Departure}
		c.groups = append(c.groups, gf)
		for _, h := range g.Households {
			if hh, ok := c.households[h]; ok {
				gf.people += hh.PartySize
			}
		}
		if gf.people != g.People {
			c.add(RuleGroupPeople, g.ID, "says %d people, its households hold %d", g.People, gf.people)
		}
		if gf.people > c.lim.MaxGroupSize {
			c.add(RuleGroupSize, g.ID, "%d people, more than the maximum group size %d", gf.people, c.lim.MaxGroupSize)
		}
		if !g.RouteFrom.IsZero() {
			gf.start = g.RouteFrom
		}
		if c.replan() {
			// Done: through by the plan's times, or by the field's report
			// (sooner than planned).
			gf.done = !g.Through.After(at) || (c.in.State != nil && c.in.State.Through[g.ID])
			gf.moving = !gf.done && g.Departure.Before(at)
		}
		var ok bool
		if gf.rally, gf.rallyPt, ok = c.placeOf(g.RallyPoint, muster.PlaceRally); !ok {
			c.add(RulePlaceUnknown, g.ID, "rally point %q is not a rally point of the places file", g.RallyPoint)
		} else if !g.Departure.Before(at) {
			zs, seen := rallyZones[g.RallyPoint]
			if !seen {
				zs = c.forbiddenAt(gf.rallyPt)
				rallyZones[g.RallyPoint] = zs
			}
			gf.rallyZones = zs
		}
		if gf.gate = c.gateInfo[g.Gate]; gf.gate == nil {
			c.add(RulePlaceUnknown, g.ID, "gate %q is not a gate of the places file", g.Gate)
		} else if gt := gf.gate; gt.unusable != "" && g.Through.After(gt.unusableSince) && !(c.in.State != nil && c.in.State.Through[g.ID]) {
			// (A group the field reports through passed before the re-plan,
			// sooner than it was planned: it keeps its stated times.)
			gf.atGate = gt.rule
			if !gt.unusableSince.IsZero() && g.Departure.Before(gt.unusableSince) {
				gf.atGate = RuleMovingGateClosed
			}
		}
		if gf.line, ok = lineOf(g.Route.Geometry); !ok {
			c.add(RuleGeometry, g.ID, "its route's geometry is not a LineString of two points or more")
		}
	}
}

// recompute finds, on the checker's own searches over the road graphs,
// the shortest drive and walk each leg could take.
func (c *checker) recompute(ctx context.Context) error {
	if c.car != nil {
		if err := c.recomputeDrives(ctx); err != nil {
			return err
		}
	}
	if c.foot != nil {
		return c.recomputeWalks(ctx)
	}
	return nil
}

// recomputeDrives finds the shortest drive from each route's start (its
// rally point, or where it was re-routed on the move) to its gate: one
// search back from each gate. A group re-routed on the move also gets the
// shortest drive from its rally point to where it was re-routed.
func (c *checker) recomputeDrives(ctx context.Context) error {
	tol := TimeTolerance.Seconds()
	snaps := map[string]*target{}
	gateTarget := func(gt *gateFact) *target {
		t, ok := snaps[gt.place.ID]
		if !ok {
			if s, found := c.car.snap(gt.pt); found {
				t = &target{to: s}
			}
			snaps[gt.place.ID] = t
		}
		return t
	}
	rallySnap := map[string]*roadgraph.Snap{}
	snapRally := func(gf *groupFact) *roadgraph.Snap {
		s, ok := rallySnap[gf.rally.ID]
		if !ok {
			if sn, found := c.car.snap(gf.rallyPt); found {
				s = &sn
			}
			rallySnap[gf.rally.ID] = s
		}
		return s
	}
	var extra []*target
	for _, gf := range c.groups {
		if gf.line == nil || gf.gate == nil {
			continue
		}
		t := gateTarget(gf.gate)
		var from *roadgraph.Snap
		if gf.g.RouteFrom.IsZero() {
			if gf.rally != nil {
				from = snapRally(gf)
			}
		} else if s, found := c.car.snap(gf.line[0]); found {
			from = &s
			// And it can have come this far since it left.
			if gf.rally != nil {
				if rs := snapRally(gf); rs != nil {
					gf.reach = &leg{from: *rs, limit: MovingSlack*math.Max(0, gf.g.RouteFrom.Sub(gf.g.Departure).Seconds()) + MovingSlackS}
					extra = append(extra, &target{to: s, legs: []*leg{gf.reach}})
				}
			}
		}
		if t == nil || from == nil {
			gf.drive = &leg{best: math.NaN()} // no road near its ends
			continue
		}
		gf.drive = &leg{from: *from, limit: gf.g.Route.DurationS + tol}
		t.legs = append(t.legs, gf.drive)
	}
	var ts []*target
	for _, t := range snaps {
		if t != nil && len(t.legs) > 0 {
			ts = append(ts, t)
		}
	}
	return c.car.solve(ctx, append(ts, extra...))
}

// recomputeWalks finds the shortest walk from each household's home to its
// group's rally point: one search back from each rally point.
func (c *checker) recomputeWalks(ctx context.Context) error {
	tol := TimeTolerance.Seconds()
	byRally := map[string]*target{}
	for h, i := range c.instruction {
		hp := &c.p.Households[i]
		gi, ok := c.holder(h, hp.Group)
		if !ok {
			continue
		}
		gf := c.groups[gi]
		hh := c.households[h]
		if gf.rally == nil || !hh.HasLocation {
			continue
		}
		t, seen := byRally[gf.rally.ID]
		if !seen {
			if s, found := c.foot.snap(gf.rallyPt); found {
				t = &target{to: s}
			}
			byRally[gf.rally.ID] = t
		}
		// The walk is held to the shortest from where it starts, when
		// that is where the home may meet the network (walk_start): the
		// nearest road, or one within the margin beyond it (the planner
		// walks a household from the road of a piece with a rally point
		// when the nearest is a fragment joined to nothing).
		homePt := orb.Point{hh.Lon, hh.Lat}
		home, found := c.foot.snap(homePt)
		if line, ok := lineOf(hp.Walk.Geometry); ok && found {
			if near, _ := c.endpointOK(c.foot, homePt, line[0]); near {
				if s, ok := c.foot.snap(line[0]); ok {
					home = s
				}
			}
		}
		if t == nil || !found {
			c.walkLegs[h] = &leg{best: math.NaN()}
			continue
		}
		l := &leg{from: home, limit: hp.Walk.DurationS + tol}
		c.walkLegs[h] = l
		t.legs = append(t.legs, l)
	}
	var ts []*target
	for _, t := range byRally {
		if t != nil && len(t.legs) > 0 {
			ts = append(ts, t)
		}
	}
	return c.foot.solve(ctx, ts)
}

// groupTimes checks each group's own times.
func (c *checker) groupTimes() {
	start := c.p.Params.Start
	for _, gf := range c.groups {
		g := gf.g
		if g.Departure.Before(start) {
			c.add(RuleGroupTimes, g.ID, "departs %s, before the operation starts (%s)", fmtT(g.Departure), fmtT(start))
		}
		if g.ReportBy.After(g.Departure) {
			c.add(RuleGroupTimes, g.ID, "gathers by %s, after its departure %s", fmtT(g.ReportBy), fmtT(g.Departure))
		}
		if g.RouteFrom.IsZero() {
			continue
		}
		switch {
		case !c.replan():
			c.add(RuleGroupTimes, g.ID, "re-routed on the move at %s, but the plan is not a re-plan", fmtT(g.RouteFrom))
		case g.RouteFrom.Before(g.Departure) || g.RouteFrom.After(g.Arrival) || g.RouteFrom.After(c.in.At):
			c.add(RuleGroupTimes, g.ID, "re-routed on the move at %s: not between its departure %s and its arrival %s, or after the re-plan's time %s",
				fmtT(g.RouteFrom), fmtT(g.Departure), fmtT(g.Arrival), fmtT(c.in.At))
		}
	}
}

// endpointOK reports whether a leg's end q is where place pt meets the
// network n (its snap distance plus a margin), or, without a network,
// within the endpoint tolerance; and the distance allowed.
func (c *checker) endpointOK(n *network, pt, q orb.Point) (bool, float64) {
	allowed := c.lim.EndpointToleranceM
	if n != nil {
		if s, ok := n.snap(pt); ok {
			allowed = s.DistanceM + SnapMarginM
		}
	}
	return distM(pt, q) <= allowed, allowed
}
