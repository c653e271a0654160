package plancheck

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/roadgraph"
)

// The planner's limits and reach that the unserved codes are recomputed
// with (a test keeps them equal to the planner's).
const (
	// RouterReachM is how far from a road the router snaps a point (its
	// default, which `muster plan` uses): a home farther from every foot
	// road is no_road.
	RouterReachM = 1000
	// DefaultAssemblyLeadS is how long a group gathers at its rally
	// point before it leaves: a rally point open less than that within
	// the horizon sends nobody.
	DefaultAssemblyLeadS = 900
	// reachMarginM and walkMarginS keep the checker's recomputation on
	// the planner's side of every limit: a home is held beyond the
	// router's reach, or a walk within the walk limit, only by more than
	// these.
	reachMarginM = 5
	walkMarginS  = 5
)

// walkCodes are the codes that say a household could not walk to a rally
// point that can send groups: the planner's walk, from home, failed.
var walkCodes = map[string]bool{
	plan.UnservedNoRoad: true, plan.UnservedNoRally: true, plan.UnservedMaxWalk: true,
	plan.UnservedCutOff: true, plan.UnservedUnreachable: true,
}

// sureRally is a rally point as the checker recomputes it: whether the
// planner surely finds it usable, and what it can surely send.
type sureRally struct {
	place *muster.Place
	pt    orb.Point
	// usable: outside every forbidden zone, open long enough within the
	// horizon, and a drive over roads clear of every zone leads from it
	// to a gate that is open, has throughput and a crowd limit.
	usable bool
	// maxGroup is, when usable, the least the planner can take for the
	// largest group it sends: the maximum group size, its capacity, and
	// the largest crowd limit of the gates it surely reaches.
	maxGroup int
	// foot is where it meets the foot network; walkable when within the
	// router's reach.
	foot     roadgraph.Snap
	walkable bool
	piece    int32 // its foot snap's walkable piece, when walkable
}

// unserved is one unserved household of the plan, to justify.
type unserved struct {
	u    plan.Unassigned
	h    *muster.Household
	home orb.Point
	snap roadgraph.Snap
	// near: the home is within the router's reach of the foot network.
	near  bool
	limit float64 // its walk limit, s
	why   string  // the violation found, if any
}

// unservedCodes recomputes, for every household the plan lists unserved,
// that its code is justified by the inputs (rule unserved_code). Exactly,
// from the evacuee list: empty (no people), too_large (more than the
// maximum group size, or than any rally point within its walk can send),
// no_location (no coordinates). From the foot graph: no_road (beyond the
// router's reach of every foot road), and the codes that need a walk
// (every other) within it. From both graphs and the picture, the rally
// points the planner surely finds usable (outside every forbidden zone,
// open long enough, and a drive clear of every zone to a usable gate) and
// one sweep from all of them over the foot roads clear of every zone: a
// household that can walk to one within its limit on those roads alone
// would have been served, so it is not no_road, no_rally, max_walk,
// cut_off or unreachable; no_rally needs no such rally point at all,
// cut_off none on its walkable piece, unreachable a forbidden zone. One
// free-flow sweep from every rally point gives each home a lower bound on
// any walk: a household no rally point is within walking distance of is
// not no_gate (its group never reached a gate's queue) nor too_large. In
// a re-plan, out and stranded are held to the plan revised and the state
// of the field: stranded only for a household on the move at as_of (or
// stranded in the plan revised); out only in a re-plan (state_through
// holds the rest). What is not recomputed: a no_gate household that could
// walk (the queues of every gate over the horizon), and a stranded
// group's way to every gate.
func (c *checker) unservedCodes(ctx context.Context) error {
	if c.in.disabled[RuleUnservedCode] {
		return nil // silenced: its sweeps are not run
	}
	var us []*unserved
	seen := map[string]bool{}
	for _, u := range c.p.Unassigned {
		h := c.households[u.Household]
		if h == nil || seen[u.Household] || !unservedCodes[u.Code] || len(c.inGroups[u.Household]) > 0 {
			continue // household_unknown, household_twice, unassigned_reason say so
		}
		seen[u.Household] = true
		us = append(us, &unserved{u: u, h: h, home: orb.Point{h.Lon, h.Lat}, limit: c.walkLimit(h)})
	}
	if len(us) == 0 {
		return nil
	}
	var graphs []*unserved // those whose code the graphs judge
	var onMove map[string]bool
	for _, x := range us {
		code, h := x.u.Code, x.h
		switch {
		case code == plan.UnservedEmpty:
			if h.PartySize > 0 {
				x.why = fmt.Sprintf("the evacuee list gives it %d people", h.PartySize)
			}
			continue
		case code == plan.UnservedOut:
			if !c.replan() {
				x.why = "only a re-plan lists households already through a gate, and this plan is not one"
			}
			continue // (state_through holds a re-plan's to the state)
		case code == plan.UnservedStranded:
			if !c.replan() {
				x.why = "only a re-plan has households on the move, and this plan is not one"
				continue
			}
			if c.in.Previous == nil {
				continue // who was on the move is not known
			}
			if onMove == nil {
				onMove = c.onTheMove()
			}
			if !onMove[h.ID] {
				x.why = "it was on the move with no group at as_of (by the state of the field and the plan revised), nor stranded in the plan revised"
			}
			continue
		case h.PartySize <= 0:
			x.why = "the evacuee list gives it no people: it is empty"
			continue
		case code == plan.UnservedTooLarge && h.PartySize > c.lim.MaxGroupSize:
			continue // larger than any group
		case code != plan.UnservedTooLarge && h.PartySize > c.lim.MaxGroupSize:
			x.why = fmt.Sprintf("a household of %d is larger than the largest group allowed (%d): that is too_large, whatever else", h.PartySize, c.lim.MaxGroupSize)
			continue
		case code == plan.UnservedNoLocation:
			if h.HasLocation {
				x.why = fmt.Sprintf("the evacuee list locates it at %.6f,%.6f", h.Lat, h.Lon)
			}
			continue
		case code == plan.UnservedNoGate && c.in.CheckedIn[h.ID]:
			continue // waiting at a rally point: it walks no more
		case !h.HasLocation:
			if code == plan.UnservedNoGate && c.replan() {
				continue // kept from the plan revised, where it may have walked from
			}
			x.why = "the evacuee list has no location for it: that is no_location"
			continue
		case code == plan.UnservedUnreachable && !slices.ContainsFunc(c.in.Zones, func(z muster.Zone) bool { return z.Forbidden }):
			x.why = "the threat picture has no forbidden zone to cut it off"
			continue
		}
		graphs = append(graphs, x)
	}
	if c.foot != nil && len(graphs) > 0 {
		if err := c.unservedOnGraphs(ctx, graphs); err != nil {
			return err
		}
	}
	for _, x := range us {
		if x.why != "" {
			c.add(RuleUnservedCode, x.h.ID, "unserved as %s, but %s", x.u.Code, x.why)
		}
	}
	return nil
}

// unservedOnGraphs judges the codes that depend on where a household can
// walk.
func (c *checker) unservedOnGraphs(ctx context.Context, xs []*unserved) error {
	if c.in.Places == nil {
		return nil
	}
	for _, x := range xs {
		s, ok := c.foot.snap(x.home)
		x.snap, x.near = s, ok && s.DistanceM <= RouterReachM+reachMarginM
		if x.u.Code != plan.UnservedNoRoad && !x.near {
			d := "more than 50 km"
			if ok {
				d = fmt.Sprintf("%.0f m", s.DistanceM)
			}
			x.why = fmt.Sprintf("its home is %s from the nearest foot road, beyond the router's reach (%d m): that is no_road", d, RouterReachM)
		}
	}
	xs = slices.DeleteFunc(slices.Clone(xs), func(x *unserved) bool { return x.why != "" })

	// Lower bounds: no_gate and too_large need a rally point within the
	// household's walk.
	var low []*unserved
	for _, x := range xs {
		if x.u.Code == plan.UnservedNoGate || x.u.Code == plan.UnservedTooLarge {
			low = append(low, x)
		}
	}
	if len(low) > 0 {
		var srcs []roadgraph.Snap
		least := c.lim.MaxGroupSize // the least any rally point can send
		minCrowd := math.MaxInt
		for _, gt := range c.gateInfo {
			if gt.place.CrowdLimit > 0 {
				minCrowd = min(minCrowd, gt.place.CrowdLimit)
			}
		}
		for i := range c.in.Places.Places {
			pl := &c.in.Places.Places[i]
			if pl.Kind != muster.PlaceRally {
				continue
			}
			pt, ok := pl.Point()
			if !ok || len(c.forbiddenAt(pt)) > 0 {
				continue
			}
			if s, ok := c.foot.snap(pt); ok {
				srcs = append(srcs, s)
			}
			most := minCrowd
			if pl.Capacity > 0 {
				most = min(most, pl.Capacity)
			}
			least = min(least, most)
		}
		sw, err := c.foot.sweepBack(ctx, srcs, c.lim.MaxWalkS+walkMarginS, nil)
		if err != nil {
			return err
		}
		// And, under forbidden zones, one that leaves out the roads with
		// a point inside one, for the homes no escape can start from.
		var zoned *sweep
		var sure, near []bool
		if slices.ContainsFunc(c.in.Zones, func(z muster.Zone) bool { return z.Forbidden }) {
			sure, near = c.forbiddenArcs(c.foot)
			if zoned, err = c.foot.sweepBack(ctx, srcs, c.lim.MaxWalkS+walkMarginS, sure); err != nil {
				return err
			}
		}
		label := c.footPieces()
		for _, x := range low {
			radius := x.snap.DistanceM + SnapMarginM
			lb, _ := sw.lowerBound(x.home, x.snap, radius, label, nil, nil)
			how := "free-flow"
			if zoned != nil {
				if z, ok := zoned.lowerBound(x.home, x.snap, radius, label, sure, near); ok && z > lb {
					lb, how = z, "free-flow, leaving out the roads that run inside a forbidden zone, which no walk from there takes"
				}
			}
			if lb > x.limit+walkMarginS {
				x.why = fmt.Sprintf("no rally point is within its %s walk (the foot graph's shortest walk from its home, %s, is longer): that is max_walk, cut_off or unreachable", fmtDur(x.limit), how)
				continue
			}
			if x.u.Code == plan.UnservedTooLarge && x.h.PartySize <= least {
				x.why = fmt.Sprintf("a household of %d fits the groups every rally point can send (at least %d: the maximum group size, the rally points' capacities, the gates' crowd limits)", x.h.PartySize, least)
			}
		}
	}

	// Upper bounds: a household that can walk to a rally point the
	// planner surely finds usable, on roads clear of every zone, within
	// its limit, would have been served.
	var high []*unserved
	for _, x := range xs {
		if walkCodes[x.u.Code] && x.why == "" && (x.u.Code != plan.UnservedNoRoad || x.snap.DistanceM <= RouterReachM-reachMarginM) {
			high = append(high, x)
		}
	}
	if len(high) == 0 {
		return nil
	}
	if c.car == nil {
		return nil // Report.Unchecked says so
	}
	rallies := c.sureRallies()
	var first *sureRally
	for _, r := range rallies {
		if r.usable {
			first = r
			break
		}
	}
	var label []int32
	pieces := map[int32]*sureRally{}
	if first != nil {
		label = c.footPieces()
		for _, r := range rallies {
			if r.usable && r.walkable {
				r.piece = label[r.foot.Tail]
				if pieces[r.piece] == nil {
					pieces[r.piece] = r
				}
			}
		}
	}
	var walkers []*unserved
	for _, x := range high {
		switch {
		case first == nil:
			// No rally point the planner surely finds usable: nothing to
			// refute.
		case x.u.Code == plan.UnservedNoRally:
			x.why = fmt.Sprintf("rally point %s can send groups (outside every forbidden zone, open, a drive clear of every zone to an open gate)", first.place.ID)
		case x.u.Code == plan.UnservedCutOff && x.near && pieces[label[x.snap.Tail]] != nil:
			x.why = fmt.Sprintf("rally point %s, which can send groups, is on the walkable piece of the foot network its home's nearest road is on", pieces[label[x.snap.Tail]].place.ID)
		default:
			walkers = append(walkers, x)
		}
	}
	if len(walkers) == 0 {
		return nil
	}
	// One sweep per size of group the rally points can surely send (as a
	// rule one): a household goes to a rally point that can take it.
	var sizes []int
	for _, r := range rallies {
		if r.usable && r.walkable && !slices.Contains(sizes, r.maxGroup) {
			sizes = append(sizes, r.maxGroup)
		}
	}
	sort.Ints(sizes)
	blocked := c.blockedArcs(c.foot)
	for k, size := range sizes {
		var mine []*unserved
		for _, x := range walkers {
			if x.h.PartySize <= size && (k == 0 || x.h.PartySize > sizes[k-1]) {
				mine = append(mine, x)
			}
		}
		if len(mine) == 0 {
			continue
		}
		var srcs []roadgraph.Snap
		var of []*sureRally
		for _, r := range rallies {
			if r.usable && r.walkable && r.maxGroup >= size {
				srcs = append(srcs, r.foot)
				of = append(of, r)
			}
		}
		sw, err := c.foot.sweepBack(ctx, srcs, c.lim.MaxWalkS, blocked)
		if err != nil {
			return err
		}
		for _, x := range mine {
			if d, src := sw.from(x.snap, blocked); src >= 0 && d <= x.limit-walkMarginS {
				x.why = fmt.Sprintf("rally point %s, which can send groups of %d, is a %.0f s walk from its home on foot roads clear of every zone, within its %s limit: the planner serves such a household",
					of[src].place.ID, of[src].maxGroup, d, fmtDur(x.limit))
			}
		}
	}
	return nil
}

// footPieces labels the foot graph's walkable pieces, once per check.
func (c *checker) footPieces() []int32 {
	if c.pieces == nil {
		c.pieces, _ = c.foot.g.Pieces()
	}
	return c.pieces
}

// sureRallies recomputes, for every rally point of the places file, what
// the planner surely finds of it: usable (outside every forbidden zone,
// open long enough within the horizon, a drive clear of every zone to a
// gate that is open, has throughput and a crowd limit and lies within the
// router's reach of the car network), and then the least it can take for
// its largest group.
func (c *checker) sureRallies() []*sureRally {
	type sureGate struct {
		crowd int
		mark  []bool
	}
	var gates []sureGate
	blocked := c.blockedArcs(c.car)
	ids := make([]string, 0, len(c.gateInfo))
	for id := range c.gateInfo {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		gt := c.gateInfo[id]
		if gt.unusable != "" || gt.place.CrowdLimit <= 0 {
			continue
		}
		s, ok := c.car.snap(gt.pt)
		if !ok || s.DistanceM > RouterReachM-reachMarginM {
			continue
		}
		mark := make([]bool, c.car.g.NumNodes())
		c.car.reachesBack(s, blocked, mark)
		gates = append(gates, sureGate{gt.place.CrowdLimit, mark})
	}
	var out []*sureRally
	for i := range c.in.Places.Places {
		pl := &c.in.Places.Places[i]
		if pl.Kind != muster.PlaceRally {
			continue
		}
		pt, ok := pl.Point()
		if !ok {
			continue
		}
		r := &sureRally{place: pl, pt: pt}
		out = append(out, r)
		if s, ok := c.foot.snap(pt); ok && s.DistanceM <= RouterReachM-reachMarginM {
			r.foot, r.walkable = s, true
		}
		if len(c.forbiddenAt(pt)) > 0 || !c.openLongEnough(pl) {
			continue
		}
		s, ok := c.car.snap(pt)
		if !ok || s.DistanceM > RouterReachM-reachMarginM {
			continue
		}
		crowd := 0
		for _, g := range gates {
			if g.crowd > crowd && c.car.leaves(s, blocked, g.mark) {
				crowd = g.crowd
			}
		}
		if crowd == 0 {
			continue
		}
		r.usable = true
		r.maxGroup = min(c.lim.MaxGroupSize, crowd)
		if pl.Capacity > 0 {
			r.maxGroup = min(r.maxGroup, pl.Capacity)
		}
	}
	return out
}

// openLongEnough reports whether a rally point is surely open long enough
// within the horizon for a group to gather: always open, or open each day
// at least DefaultAssemblyLeadS with a horizon of a day or more (any day
// holds its whole window).
func (c *checker) openLongEnough(pl *muster.Place) bool {
	o, cl := minutes(pl.Opens, 0), minutes(pl.Closes, 1440)
	if (pl.Opens == "" && pl.Closes == "") || o == cl || (o == 0 && cl == 1440) {
		return true
	}
	window := cl - o
	if cl <= o {
		window += 1440
	}
	return c.lim.HorizonS >= 24*3600 && float64(window*60) >= DefaultAssemblyLeadS
}

// onTheMove is the households on the move at as_of, by the state of the
// field and the plan revised (as moving_sent_back takes them), and those
// the plan revised left stranded.
func (c *checker) onTheMove() map[string]bool {
	out := map[string]bool{}
	prev, st, at := c.in.Previous, c.in.State, c.in.At
	for i := range prev.Groups {
		g0 := &prev.Groups[i]
		moving := false
		through := false
		if st != nil {
			_, moving = st.Moving[g0.ID]
			through = st.Through[g0.ID]
		}
		done := through || (!moving && !g0.Through.After(at))
		if done || !(moving || !g0.Departure.After(at)) {
			continue
		}
		for _, h := range c.aboard(g0) {
			out[h] = true
		}
	}
	for _, u := range prev.Unassigned {
		if u.Code == plan.UnservedStranded {
			out[u.Household] = true
		}
	}
	return out
}
