package plan

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/route"
	"github.com/muster-evac/muster/zonecost"
)

// Replan revises prev for a new threat picture (the routers' zones and
// in.GateStatus) and what has happened (st), changing as little as
// possible: groups whose rally point, route and gate are still safe keep
// them and their times; groups whose route crosses a new forbidden zone or
// whose gate closed are re-routed or re-scheduled, a group on the move from
// where it is; households whose rally point became unsafe are sent to
// another. The result is proposed, with a Diff saying whose instructions
// change and why; it becomes current only when an operator approves it.
func Replan(ctx context.Context, prev *Plan, in Input, st State) (*Plan, error) {
	if prev == nil {
		return nil, muster.Errorf(muster.EINVALID, "replan: no plan to revise")
	}
	// Nothing new is scheduled before now: the schedule runs from At, the
	// plan keeps the operation's start.
	st.At = st.At.Truncate(time.Second)
	p := prev.Params
	if st.At.After(p.Start) {
		p.Start = st.At
	}
	p = p.WithDefaults() // a plan made before a parameter existed has none
	in.Params = p
	loc := time.UTC
	if in.Places != nil && in.Places.Timezone != "" {
		if l, err := time.LoadLocation(in.Places.Timezone); err == nil {
			loc = l
		}
	}
	progress := in.Progress
	if progress == nil {
		progress = func(string, int, int) {}
	}
	gates, err := prepareGates(in, p, loc)
	if err != nil {
		return nil, err
	}
	rallies, err := prepareRallies(ctx, in, p, loc, gates, progress)
	if err != nil {
		return nil, err
	}
	zones := in.Car.Zones()
	footZones := in.Foot.Zones()
	gateIx, rallyIx := map[string]int{}, map[string]int{}
	for i, g := range gates {
		gateIx[g.ID] = i
	}
	for i, r := range rallies {
		rallyIx[r.ID] = i
	}
	households := map[string]*muster.Household{}
	for i := range in.Households {
		households[in.Households[i].ID] = &in.Households[i]
	}
	prevHH := map[string]Household{}
	for _, h := range prev.Households {
		prevHH[h.ID] = h
	}

	np := &Plan{Version: FormatVersion, Status: "proposed", CreatedAt: time.Now().UTC().Truncate(time.Second), Params: prev.Params, AsOf: st.At}
	taken := map[string]bool{}
	for _, g := range prev.Groups {
		taken[g.ID] = true
	}
	newID := groupIDs(taken)
	reasons := map[string]string{} // household -> why its instruction changes
	var drafts []*draft
	var pool []*muster.Household // households that need a new rally point
	type keptGroup struct {
		g  Group
		hh []Household
	}
	var kept []keptGroup
	// Kept groups hold their turns at the gates: booked in arrival order
	// (each gate's queue is first in, first out) before anything new.
	type booking struct {
		gate int
		g    Group
	}
	var bookings []booking
	type mover struct {
		g       Group
		members []Household
		pos     orb.Point
		why     string
	}
	var movers []mover
	type pending struct {
		gate, rally int
		g           Group
		members     []Household
		stay        []*member
	}
	var future []pending

	for _, g := range prev.Groups {
		gi, gateKnown := gateIx[g.Gate]
		ri, rallyKnown := rallyIx[g.RallyPoint]
		line, _ := g.Route.Geometry.Coordinates.(orb.LineString)
		routeUnsafe := firstForbidden(line, zones)
		gateBad := ""
		switch {
		case !gateKnown:
			gateBad = "its gate is no longer in the places file"
		case !gates[gi].Usable:
			gateBad = fmt.Sprintf("gate %s is now %s", g.Gate, strings.Join(gates[gi].Reasons, "; "))
		case gates[gi].Status == muster.GateRestricted:
			gateBad = fmt.Sprintf("gate %s is now restricted: its schedule is rebuilt", g.Gate)
		}
		members := groupHouseholds(prev, g, prevHH)

		switch {
		case st.Through[g.ID] || !g.Through.After(st.At):
			kept = append(kept, keptGroup{g, members}) // done: nothing to change

		case !g.Departure.After(st.At): // on the move
			if routeUnsafe == "" && gateBad == "" {
				bookings = append(bookings, booking{gi, g})
				kept = append(kept, keptGroup{g, members})
				continue
			}
			pos, _, ok := st.position(g.ID)
			if !ok {
				pos = alongRoute(line, g.Departure, g.Arrival, st.At)
			}
			why := routeUnsafe
			if why == "" {
				why = gateBad
			}
			movers = append(movers, mover{g, members, pos, why})

		default: // not yet left
			rallyBad := ""
			if !rallyKnown {
				rallyBad = "its rally point is no longer in the places file"
			} else if !rallies[ri].Usable {
				rallyBad = fmt.Sprintf("rally point %s is now unsafe (%s)", g.RallyPoint, strings.Join(rallies[ri].Reasons, "; "))
			}
			if rallyBad != "" {
				for _, h := range members {
					if hh := households[h.ID]; hh != nil {
						pool = append(pool, hh)
						reasons[h.ID] = rallyBad
					}
				}
				continue
			}
			// Walks still safe? A household not yet there whose walk now
			// crosses a forbidden zone gets a new one, or a new rally point.
			var stay []*member
			walksChanged := false
			for _, h := range members {
				hh := households[h.ID]
				if hh == nil {
					continue
				}
				m := &member{h: hh, route: h.Walk, walkS: h.Walk.DurationS, rally: ri}
				if st.CheckedIn[h.ID] {
					m.walkS = 0
				} else if wl, _ := h.Walk.Geometry.Coordinates.(orb.LineString); walkCrosses(wl, h.Walk.Escape, footZones) {
					nm, why := walkTo(ctx, in, p, rallies, hh, ri)
					if nm == nil {
						pool = append(pool, hh)
						reasons[h.ID] = "the walk to rally point " + g.RallyPoint + " now crosses a forbidden zone (" + why.Reason + ")"
						walksChanged = true
						continue
					}
					m = nm
					reasons[h.ID] = "the walk to rally point " + g.RallyPoint + " now crosses a forbidden zone: new walking route"
					if st.At.Add(secs(m.walkS)).After(g.ReportBy) {
						walksChanged = true // the new walk is too long for the group's time
					}
				} else {
					m.walkS = st.At.Sub(prev.Params.Start).Seconds() // already on the way: assume they keep walking
					m.walkS = max(0, h.Walk.DurationS-m.walkS)
				}
				stay = append(stay, m)
			}
			if len(stay) == 0 {
				continue
			}
			if routeUnsafe == "" && gateBad == "" && !walksChanged && len(stay) == len(members) {
				// Unchanged: it keeps its slot and times if, once the
				// groups on the move have their turns, they are still free.
				walks := map[string]Route{}
				for _, m := range stay {
					walks[m.h.ID] = m.route
				}
				for i := range members {
					if w, ok := walks[members[i].ID]; ok {
						members[i].Walk = w
					}
				}
				future = append(future, pending{gi, ri, g, members, stay})
				continue
			}
			why := routeUnsafe
			if why == "" {
				why = gateBad
			}
			if why == "" {
				why = "some of its households were moved"
			}
			d := &draft{id: g.ID, rally: ri, reason: why}
			for _, m := range stay {
				d.members = append(d.members, m)
				d.people += m.h.PartySize
				d.priority = d.priority || m.h.IsPriority()
				d.weight = max(d.weight, weightOf(p, m.h))
				d.readyS = max(d.readyS, m.walkS)
				if _, ok := reasons[m.h.ID]; !ok {
					reasons[m.h.ID] = why
				}
			}
			drafts = append(drafts, d)
		}
	}

	// Turns at the gates: groups on the move that keep their way first, in
	// arrival order (each gate's queue is first in, first out); then those
	// re-routed on the move, who are on the road and must not wait behind
	// people still at home; then the groups that have not left, at their
	// old times if those are still free, or else re-scheduled.
	slices.SortStableFunc(bookings, func(a, b booking) int { return a.g.Arrival.Compare(b.g.Arrival) })
	for _, b := range bookings {
		gates[b.gate].bookFixed(b.g.Arrival, b.g.Through, b.g.People)
	}
	for _, mv := range movers {
		ng, err := rerouteMoving(ctx, in, gates, mv.g, mv.pos, st.At, p)
		if err != nil {
			for _, h := range mv.members {
				np.Unassigned = append(np.Unassigned, Unassigned{h.ID, UnservedStranded, fmt.Sprintf("group %s on the move: %s, and no open gate can be reached from where it is: %v", mv.g.ID, mv.why, err)})
				reasons[h.ID] = mv.why
			}
			continue
		}
		for i := range mv.members {
			reasons[mv.members[i].ID] = "re-routed on the move: " + mv.why
		}
		kept = append(kept, keptGroup{ng, mv.members})
	}
	slices.SortStableFunc(future, func(a, b pending) int { return a.g.Arrival.Compare(b.g.Arrival) })
	for _, f := range future {
		gs, r := gates[f.gate], rallies[f.rally]
		if _, ok := r.capacityAllows(clockOf(f.g.ReportBy), clockOf(f.g.Departure), f.g.People); ok && gs.fitsFixed(f.g.Arrival, f.g.Through, f.g.People) {
			r.book(clockOf(f.g.ReportBy), clockOf(f.g.Departure), f.g.People)
			kept = append(kept, keptGroup{f.g, f.members})
			continue
		}
		const why = "its turn at the gate went to groups re-routed on the move"
		d := &draft{id: f.g.ID, rally: f.rally, reason: why}
		for _, m := range f.stay {
			d.members = append(d.members, m)
			d.people += m.h.PartySize
			d.priority = d.priority || m.h.IsPriority()
			d.weight = max(d.weight, weightOf(p, m.h))
			d.readyS = max(d.readyS, m.walkS)
			if _, ok := reasons[m.h.ID]; !ok {
				reasons[m.h.ID] = why
			}
		}
		drafts = append(drafts, d)
	}

	// Households sent to another rally point: the nearest safe ones.
	var moved []*member
	for _, hh := range pool {
		m, why := walkTo(ctx, in, p, rallies, hh, -1)
		if m == nil {
			why.Reason = reasons[hh.ID] + "; " + why.Reason
			np.Unassigned = append(np.Unassigned, why)
			continue
		}
		moved = append(moved, m)
	}
	for _, d := range formGroups(p, moved, rallyFits(p, in, gates, rallies), nil) {
		d.reason = "rally point changed"
		drafts = append(drafts, d)
	}
	// Kept groups first, in order, then the rest where they fit.
	for _, k := range kept {
		np.Groups = append(np.Groups, k.g)
		np.Households = append(np.Households, k.hh...)
	}
	// The fleet: free now, but for the vehicles kept groups hold until back.
	fl := newFleet(p, p.Start)
	for _, k := range kept {
		if back := k.g.Departure.Add(2 * secs(k.g.Route.DurationS)); k.g.Vehicles > 0 && back.After(p.Start) {
			fl.take(k.g.Vehicles, back)
		}
	}
	failed, err := newScheduler(p, gates, rallies, fl).schedule(ctx, np, drafts, newID, progress)
	if err != nil {
		return nil, err
	}
	for _, f := range failed {
		f.unserve(np)
	}
	// Those unserved before stay so unless something changed for them.
	served := map[string]bool{}
	for _, h := range np.Households {
		served[h.ID] = true
	}
	for _, u := range prev.Unassigned {
		if !served[u.Household] && !slices.ContainsFunc(np.Unassigned, func(x Unassigned) bool { return x.Household == u.Household }) {
			np.Unassigned = append(np.Unassigned, u)
		}
	}
	for _, g := range gates {
		g.finish()
		np.Gates = append(np.Gates, g.Gate)
	}
	for _, r := range rallies {
		r.finish()
		np.RallyPoints = append(np.RallyPoints, r.RallyPoint)
	}
	slices.SortFunc(np.Groups, func(a, b Group) int { return cmp.Compare(a.ID, b.ID) })
	summarize(np, in, gates, rallies)
	np.Diff = diff(prev, np, reasons)
	np.Zones = zonesDoc(in.Car.Zones())
	return np, nil
}

// groupHouseholds returns the households of group g as prev instructed them.
func groupHouseholds(prev *Plan, g Group, byID map[string]Household) []Household {
	out := make([]Household, 0, len(g.Households))
	for _, id := range g.Households {
		if h, ok := byID[id]; ok {
			out = append(out, h)
		}
	}
	return out
}

// firstForbidden names the first forbidden zone the line touches, or "".
// Zones whose bounding box misses the line's are not examined: a city's
// thousands of routes against a few zones is what a re-plan checks.
func firstForbidden(line orb.LineString, zones []muster.Zone) string {
	if len(line) < 2 || len(zones) == 0 {
		return ""
	}
	lb := line.Bound().Pad(1e-4) // about 10 m: more than any touching tolerance
	for i := range zones {
		z := &zones[i]
		if !z.Forbidden || !z.Bound().Intersects(lb) {
			continue
		}
		if cs := zonecost.CheckForbidden(line, zones[i:i+1]); len(cs) > 0 {
			name := z.Name
			if name == "" {
				name = z.ID
			}
			return fmt.Sprintf("its route now crosses forbidden zone %q", name)
		}
	}
	return ""
}

// walkCrosses reports whether a walk now touches a forbidden zone; an
// escape (a walk from a home inside a zone) may cross the zones it starts
// in, and no other.
func walkCrosses(line orb.LineString, escape bool, zones []muster.Zone) bool {
	if !escape {
		return firstForbidden(line, zones) != ""
	}
	if len(line) < 2 {
		return false
	}
	var others []muster.Zone
	for i := range zones {
		if zones[i].Forbidden && len(zonecost.CheckForbidden(line[:2], zones[i:i+1])) == 0 && len(zonecost.Containing(line[0], zones[i:i+1])) == 0 {
			others = append(others, zones[i])
		}
	}
	return firstForbidden(line, others) != ""
}

// alongRoute estimates where a group is at t from its departure and arrival.
func alongRoute(line orb.LineString, dep, arr, t time.Time) orb.Point {
	if len(line) == 0 {
		return orb.Point{}
	}
	total := arr.Sub(dep).Seconds()
	if total <= 0 || !t.After(dep) {
		return line[0]
	}
	f := min(1, t.Sub(dep).Seconds()/total)
	var length float64
	for i := 1; i < len(line); i++ {
		length += muster.DistanceM(line[i-1][0], line[i-1][1], line[i][0], line[i][1])
	}
	want := f * length
	for i := 1; i < len(line); i++ {
		d := muster.DistanceM(line[i-1][0], line[i-1][1], line[i][0], line[i][1])
		if d >= want && d > 0 {
			k := want / d
			return orb.Point{line[i-1][0] + k*(line[i][0]-line[i-1][0]), line[i-1][1] + k*(line[i][1]-line[i-1][1])}
		}
		want -= d
	}
	return line[len(line)-1]
}

// rerouteMoving sends a group on the move from pos to the usable gate where
// it is through soonest.
func rerouteMoving(ctx context.Context, in Input, gates []*gateState, g Group, pos orb.Point, at time.Time, p Params) (Group, error) {
	best, bestGate := Group{}, -1
	var bestTurn turn
	var lastErr error = fmt.Errorf("no usable gate")
	for gi, gs := range gates {
		if !gs.Usable {
			continue
		}
		res, err := in.Car.Route(ctx, route.Request{From: pos, To: gs.point})
		if err != nil {
			lastErr = err
			continue
		}
		if res.Approach != nil {
			continue
		}
		var line orb.LineString
		dur, dist, exp := 0.0, 0.0, 0.0
		if res.Escape != nil {
			line = append(line, res.Escape.Geometry...)
			dur, dist, exp = res.Escape.DurationS, res.Escape.DistanceM, res.Escape.Exposure
		}
		rt := res.Routes[0]
		line = append(line, rt.Geometry...)
		dur, dist, exp = dur+rt.DurationS, dist+rt.DistanceM, exp+rt.Exposure
		t, ok := gs.slot(clockOf(at.Add(secs(dur))), g.People, clock(secs(p.GateEarlyS)), never)
		if !ok {
			lastErr = fmt.Errorf("gate %s cannot take a group of %d (crowd limit %d)", gs.ID, g.People, gs.CrowdLimit)
			continue
		}
		if bestGate < 0 || t.end < bestTurn.end {
			bestTurn = t
			best = g
			best.Gate, best.Arrival, best.Through = gs.ID, t.arrive.time(), t.end.ceilSec().time()
			best.RouteFrom = at // from where it is, now
			best.Route = lineRoute(line, dur, dist, exp)
			best.Route.Escape = res.Escape != nil
			bestGate = gi
		}
	}
	if bestGate < 0 {
		return Group{}, lastErr
	}
	gates[bestGate].take(bestTurn)
	return best, nil
}

// diff lists the households whose instruction changed between two plans.
func diff(prev, next *Plan, reasons map[string]string) *Diff {
	d := &Diff{Basis: prev.CreatedAt.Format(time.RFC3339)}
	oldG, newG := map[string]Group{}, map[string]Group{}
	for _, g := range prev.Groups {
		oldG[g.ID] = g
	}
	for _, g := range next.Groups {
		newG[g.ID] = g
	}
	oldH, newH := map[string]Household{}, map[string]Household{}
	for _, h := range prev.Households {
		oldH[h.ID] = h
	}
	for _, h := range next.Households {
		newH[h.ID] = h
	}
	ids := map[string]bool{}
	for id := range oldH {
		ids[id] = true
	}
	for id := range newH {
		ids[id] = true
	}
	sorted := make([]string, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	slices.Sort(sorted)
	for _, id := range sorted {
		o, had := oldH[id]
		n, has := newH[id]
		var fields []string
		switch {
		case had && !has:
			fields = []string{"unassigned"}
		case !had && has:
			fields = []string{"assigned"}
		default:
			og, ng := oldG[o.Group], newG[n.Group]
			if o.RallyPoint != n.RallyPoint {
				fields = append(fields, "rally_point")
			}
			if o.Group != n.Group {
				fields = append(fields, "group")
			}
			if og.Gate != ng.Gate {
				fields = append(fields, "gate")
			}
			if absDur(og.Departure.Sub(ng.Departure)) > time.Minute || absDur(o.ReportBy.Sub(n.ReportBy)) > time.Minute {
				fields = append(fields, "time")
			}
			if !sameLine(og.Route, ng.Route) {
				fields = append(fields, "route")
			}
			if !sameLine(o.Walk, n.Walk) {
				fields = append(fields, "walk")
			}
		}
		if len(fields) == 0 {
			d.Kept++
			continue
		}
		why := reasons[id]
		if why == "" {
			why = "the schedule moved to make room for re-planned groups"
		}
		d.Changes = append(d.Changes, Change{Household: id, Fields: fields, Reason: why})
	}
	return d
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func sameLine(a, b Route) bool {
	if a.Geometry == nil || b.Geometry == nil {
		return a.Geometry == b.Geometry
	}
	la, _ := a.Geometry.Coordinates.(orb.LineString)
	lb, _ := b.Geometry.Coordinates.(orb.LineString)
	return slices.Equal(la, lb)
}

// Approve makes a proposed plan current. Who approved it and when is
// recorded by the caller (the audit log, on the server).
func Approve(p *Plan) error {
	if p.Status == "current" {
		return muster.Errorf(muster.ECONFLICT, "the plan is already current")
	}
	p.Status = "current"
	return nil
}
