package plan

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/route"
	"github.com/muster-evac/muster/zonecost"
)

// Replan revises prev for a new threat picture (the routers' zones and
// in.GateStatus) and the state of the field (st), changing as little as
// possible: the minimal-change proposal of Proposals. Groups whose rally
// point, route and gate are still safe keep them and their times, unless a
// heavier-priority group that had to be re-scheduled needs the turn;
// groups whose route crosses a new forbidden zone or whose gate closed are
// re-routed or re-scheduled, a group on the move from where it is;
// households whose rally point became unsafe are sent to another;
// overdue and no-show households go to a later group. The result is
// proposed, with a Diff saying whose instructions change and why; it
// becomes current only when an operator approves it.
func Replan(ctx context.Context, prev *Plan, in Input, st State) (*Plan, error) {
	np, _, err := replan(ctx, prev, in, st, modeMinimal)
	return np, err
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
// it is through soonest. It is re-routed at `at` (the re-plan's time, its
// route_from) and turns at `turns` (when the revision reaches it, held
// where it is until then): its turn at the gate is found from then.
func rerouteMoving(ctx context.Context, in Input, gates []*gateState, g Group, pos orb.Point, at, turns time.Time, p Params) (Group, error) {
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
		t, ok := gs.slot(clockOf(laterOf(at, turns).Add(secs(dur))), g.People, clock(secs(p.GateEarlyS)), never)
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
