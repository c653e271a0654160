package plan

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
)

// Proposal is one way to re-plan, with the numbers an operator compares.
type Proposal struct {
	// ID names it among the proposals: "minimal", "hybrid", "fresh".
	ID string `json:"id"`
	// Title says what it does, in words.
	Title   string  `json:"title"`
	Plan    *Plan   `json:"-"`
	Numbers Numbers `json:"numbers"`
}

// Numbers are a re-plan's figures, all from the state at the re-plan time.
type Numbers struct {
	// MakespanS runs from the re-plan time (State.At) until the last
	// person is through a gate.
	MakespanS float64 `json:"makespan_s"`
	// LowerBoundS is the least MakespanS any re-plan could reach from the
	// same state (ReplanBound): the people still to go through, at the
	// gates' rates within their hours, none sooner than it can get there.
	LowerBoundS float64 `json:"lower_bound_s"`
	Ratio       float64 `json:"ratio"` // MakespanS / LowerBoundS
	// Changed is how many households' instructions change; ByField how
	// many change in each field (rally_point, group, gate, time, route,
	// walk, assigned, unassigned).
	Changed int            `json:"instructions_changed"`
	ByField map[string]int `json:"changed_by_field"`
	// Exposure is the person-risk-seconds of the walks and drives still
	// to be made.
	Exposure float64 `json:"exposure"`
	// Unserved is the households the plan cannot serve.
	Unserved int `json:"unserved"`
	// Priority households still to go through; those through more than
	// 15 minutes later than the plan revised said, more than 6 hours
	// later, and the longest delay.
	Priority        int     `json:"priority_households"`
	PriorityDelayed int     `json:"priority_delayed"`
	PriorityOver6h  int     `json:"priority_delayed_over_6h"`
	PriorityMaxS    float64 `json:"priority_max_delay_s"`
	// PriorityBehind is the priority households whose group passes its
	// gate after a group of lower priority that kept its turn there and
	// had not yet left, when they could have been at the gate for that
	// turn by their walk and drive alone: priority reversed. The planner
	// books classes heaviest first, so it is 0 but where rally hours,
	// rally capacity or the fleet (which this count does not see) kept the
	// group from that turn.
	PriorityBehind int `json:"priority_behind"`
	// PlanS is how long it took to make, seconds.
	PlanS float64 `json:"plan_s"`
}

// mode is how a re-plan treats the groups that have not left.
type mode struct {
	id, title string
	// freeze: groups leaving within it of the re-plan time keep their
	// turns when still safe and free; negative: all of them.
	freeze time.Duration
	// regroup: the others are assigned to rally points and grouped
	// again, as a fresh plan would (otherwise they keep their rally point
	// and groupmates and are only re-timed).
	regroup bool
	// keptFirst: groups still safe that have not left keep their turns
	// before the groups on the move that must be re-routed take theirs, in
	// what is left (each priority class in turn); otherwise those on the
	// move take the first turns, and the turns they take are the kept
	// groups' to lose.
	keptFirst bool
	// safety, when set, says which routes and walks of the plan revised
	// now cross a forbidden zone (shared by the proposals).
	safety *safety
}

// safety is which routes and walks of a plan now touch a forbidden zone.
type safety struct {
	route map[string]string // group id -> why its route is unsafe, or ""
	walk  map[string]bool   // household id -> its walk crosses a zone
}

// newSafety tests every route and walk of prev against the routers' zones,
// on all cores.
func newSafety(prev *Plan, in Input) *safety {
	s := &safety{route: make(map[string]string, len(prev.Groups)), walk: make(map[string]bool, len(prev.Households))}
	zones, footZones := in.Car.Zones(), in.Foot.Zones()
	routes := make([]string, len(prev.Groups))
	walks := make([]bool, len(prev.Households))
	var wg sync.WaitGroup
	workers := max(1, runtime.GOMAXPROCS(0))
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(routes); i += workers {
				if geo := prev.Groups[i].Route.Geometry; geo != nil {
					line, _ := geo.Coordinates.(orb.LineString)
					routes[i] = firstForbidden(line, zones)
				}
			}
			for i := w; i < len(walks); i += workers {
				h := &prev.Households[i]
				if h.Walk.Geometry != nil {
					wl, _ := h.Walk.Geometry.Coordinates.(orb.LineString)
					walks[i] = walkCrosses(wl, h.Walk.Escape, footZones)
				}
			}
		}()
	}
	wg.Wait()
	for i, g := range prev.Groups {
		s.route[g.ID] = routes[i]
	}
	for i, h := range prev.Households {
		s.walk[h.ID] = walks[i]
	}
	return s
}

// LateDeparture is how much later than planned a group on the move may
// have left its rally point and still keep its turn at the gate: beyond
// it, the group would reach the gate in the turn of a group behind it, so
// a re-plan books it a turn again from where it is. Five minutes is half a
// report-by window: a turn at the gate is of that order.
const LateDeparture = 5 * time.Minute

var (
	modeMinimal = mode{"minimal", "minimal change: every group still safe keeps its rally point, groupmates, gate and times", -1, false, true, nil}
	modeHybrid  = mode{"hybrid", "hybrid: groups leaving in the next 30 minutes keep their turns; the others keep rally point and groupmates and are re-timed", 30 * time.Minute, false, false, nil}
	modeFresh   = mode{"fresh", "fresh: everyone not through or on the move is planned again from where they are", 0, true, false, nil}
)

// Proposals makes the ways to re-plan prev for a new threat picture (in)
// and the state of the field (st), side by side: minimal change (Replan),
// a hybrid that freezes the next 30 minutes and re-times the rest, and a
// fresh plan for everyone not yet through or on the move. In each, groups
// on the move are never sent back, households through are never planned
// again, no-shows go to a later group, and no priority household is put
// behind a lower-priority group that kept its turn. They are made at the
// same time; each is proposed until an operator approves one.
func Proposals(ctx context.Context, prev *Plan, in Input, st State) ([]Proposal, error) {
	modes := []mode{modeMinimal, modeHybrid, modeFresh}
	if prev == nil {
		return nil, muster.Errorf(muster.EINVALID, "replan: no plan to revise")
	}
	// What is still safe is the same for every proposal: tested once.
	shared := newSafety(prev, in)
	for i := range modes {
		modes[i].safety = shared
	}
	out := make([]Proposal, len(modes))
	errs := make([]error, len(modes))
	var wg sync.WaitGroup
	for i, m := range modes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			np, info, err := replan(ctx, prev, in, st, m)
			if err != nil {
				errs[i] = fmt.Errorf("%s re-plan: %w", m.id, err)
				return
			}
			n := numbers(prev, np, st, info)
			n.PlanS = math.Round(time.Since(t0).Seconds()*100) / 100
			out[i] = Proposal{ID: m.id, Title: m.title, Plan: np, Numbers: n}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// replanInfo is what the re-planning engine knows that the plan does not
// say: the bound and who was checked in.
type replanInfo struct {
	boundS float64
}

// rank orders priority classes: the heavier first, then priority of no
// weight, then none.
func rank(priority bool, weight int) int {
	if !priority {
		return 0
	}
	return 1 + weight
}

// stricter is the stricter of two gate statuses.
func stricter(a, b string) string {
	order := map[string]int{muster.GateOpen: 1, muster.GateRestricted: 2, muster.GateClosed: 3}
	if order[b] > order[a] {
		return b
	}
	return a
}

// replan is the engine under Replan and Proposals.
func replan(ctx context.Context, prev *Plan, in Input, st State, md mode) (*Plan, replanInfo, error) {
	var info replanInfo
	if prev == nil {
		return nil, info, muster.Errorf(muster.EINVALID, "replan: no plan to revise")
	}
	if st.At.IsZero() {
		st.At = time.Now().UTC()
	}
	if err := st.Validate(); err != nil {
		return nil, info, err
	}
	// Nothing new is scheduled before now: the schedule runs from At, the
	// plan keeps the operation's start.
	st.At = st.At.Truncate(time.Second)
	// Revisions reach the field only at reach: what is due before goes
	// as planned.
	reach := st.At.Add(max(0, in.RevisionLead).Truncate(time.Second))
	p := prev.Params
	if st.At.After(p.Start) {
		p.Start = st.At
	}
	p = p.WithDefaults() // a plan made before a parameter existed has none
	in.Params = p
	if len(st.GateStatus) > 0 {
		merged := map[string]string{}
		for id, s := range in.GateStatus {
			merged[id] = s
		}
		for id, s := range st.GateStatus {
			merged[id] = stricter(merged[id], s)
		}
		in.GateStatus = merged
	}
	loc := time.UTC
	if in.Places != nil && in.Places.Timezone != "" {
		if l, err := time.LoadLocation(in.Places.Timezone); err == nil {
			loc = l
		}
	}
	if in.Car == nil || in.Foot == nil || in.Places == nil {
		return nil, info, muster.Errorf(muster.EINVALID, "replan: a car graph, a foot graph and places are needed")
	}
	progress := in.Progress
	if progress == nil {
		progress = func(string, int, int) {}
	}
	gates, err := prepareGates(in, p, loc)
	if err != nil {
		return nil, info, err
	}
	// Measured rates replace the planned ones when lower.
	slower := make([]bool, len(gates))
	for i, g := range gates {
		nominal := g.perSecond * 3600
		if r := st.gateRate(g.ID, nominal); r < nominal {
			g.perSecond = r / 3600
			slower[i] = true
			g.Reasons = append(g.Reasons, fmt.Sprintf("measured passing %.0f people an hour, planned %.0f", r, nominal))
			if r <= 0 && g.Usable {
				g.Usable = false
			}
		}
	}
	rallies, err := prepareRallies(ctx, in, p, loc, gates, progress)
	if err != nil {
		return nil, info, err
	}
	fits := rallyFits(p, in, gates, rallies)
	if md.safety == nil {
		md.safety = newSafety(prev, in)
	}
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
	// Nor an id the field still knows a group by: a group of an earlier
	// plan that the plan revised no longer lists may be through or on the
	// road, and a new group by its id would be taken for it.
	for id := range st.Through {
		taken[id] = true
	}
	for id := range st.Moving {
		taken[id] = true
	}
	newID := groupIDs(taken)
	reasons := map[string]string{} // household -> why its instruction changes
	var drafts []*draft
	var pool []*muster.Household // households that need a new rally point
	var missing []*muster.Household
	var homes []muster.Household // fresh: households planned again from home
	var waiting []*member        // fresh: households waiting at a rally point, planned again from there
	type keptGroup struct {
		g  Group
		hh []Household
	}
	var kept []keptGroup
	type fixed struct {
		gate int
		g    Group
		k    int // its index in kept
	}
	var bookings []fixed
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
	out := func(h Household, why string) {
		np.Unassigned = append(np.Unassigned, Unassigned{h.ID, UnservedOut, why})
		reasons[h.ID] = why
	}
	missed := func(id, group string, hh *muster.Household) {
		why := fmt.Sprintf("not at rally point when group %s left: re-assigned to a later group", group)
		if ms, ok := st.Missing[id]; ok {
			what := "overdue"
			if ms.Kind == MissingNoShow {
				what = "no-show"
			}
			why = fmt.Sprintf("%s at rally point %s since %s: re-assigned to a later group", what, cmp.Or(ms.RallyPoint, prevHH[id].RallyPoint), ms.Since.UTC().Format("15:04"))
		}
		reasons[id] = why
		missing = append(missing, hh)
	}
	freezeUntil := st.At.Add(md.freeze)

	for _, g := range prev.Groups {
		gi, gateKnown := gateIx[g.Gate]
		ri, rallyKnown := rallyIx[g.RallyPoint]
		var line orb.LineString
		if g.Route.Geometry != nil {
			line, _ = g.Route.Geometry.Coordinates.(orb.LineString)
		}
		routeUnsafe := md.safety.route[g.ID]
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
		mv, reportedMoving := st.Moving[g.ID]

		switch {
		case st.Through[g.ID] || (!reportedMoving && !g.Through.After(st.At)):
			// Done: nothing to change, but for households the field
			// reports missing, which never went with it: they go to a
			// later group (a group of none but them is gone: it never
			// left).
			var with []Household
			for _, h := range members {
				if _, isMissing := st.Missing[h.ID]; !isMissing || st.householdThrough(h.ID) {
					with = append(with, h)
				}
			}
			if len(with) < len(members) {
				for _, h := range members {
					if hh := households[h.ID]; hh != nil && !slices.ContainsFunc(with, func(w Household) bool { return w.ID == h.ID }) {
						missed(h.ID, g.ID, hh)
					}
				}
				if len(with) == 0 {
					continue
				}
				members = with
				g.Households, g.People = nil, 0
				for _, h := range with {
					g.Households = append(g.Households, h.ID)
					g.People += h.People
				}
			}
			kept = append(kept, keptGroup{g, members})

		case reportedMoving || !g.Departure.After(st.At): // on the move
			// Who really left with it: those the field saw leave, else
			// (it left unseen, as planned) all but the households the
			// field reports missing. The others missed it.
			// (A list naming none of its households says nothing of it.)
			aboard := map[string]bool{}
			for _, id := range mv.Households {
				aboard[id] = true
			}
			listed := slices.ContainsFunc(members, func(h Household) bool { return aboard[h.ID] })
			var with []Household
			for _, h := range members {
				_, isMissing := st.Missing[h.ID]
				if aboard[h.ID] || (!listed && !isMissing) {
					with = append(with, h)
				} else if hh := households[h.ID]; hh != nil && !st.householdThrough(h.ID) {
					missed(h.ID, g.ID, hh)
				} else if st.householdThrough(h.ID) {
					// Out with another party (a later group, a sweep): not
					// aboard this one, and not to be lost.
					out(h, "already through a gate (reported by the field)")
				}
			}
			if len(with) == 0 {
				continue // it left with nobody: every household of it missed it
			}
			if len(with) > 0 && len(with) < len(members) {
				members = with
				g.Households, g.People = nil, 0
				for _, h := range with {
					g.Households = append(g.Households, h.ID)
					g.People += h.People
				}
			}
			early := ""
			if g.Departure.After(st.At) {
				// It left before it was due: it is on the road, and its
				// turn at the gate is found again from where it is.
				early = "left its rally point before it was due"
				dep := st.At
				if !mv.Departed.IsZero() {
					dep = mv.Departed
				}
				g.Departure = dep
				if g.ReportBy.After(dep) {
					g.ReportBy = dep
				}
				for i := range members {
					if members[i].ReportBy.After(dep) {
						members[i].ReportBy = dep
					}
				}
			}
			late := ""
			if reportedMoving && !mv.Departed.IsZero() && mv.Departed.Sub(g.Departure) > LateDeparture {
				// It left late: it reaches its gate late too, in the turn
				// of a group behind it, so its turn is found again from
				// where it is, as for a group that left early.
				late = fmt.Sprintf("left its rally point %s late", mv.Departed.Sub(g.Departure).Round(time.Minute))
				g.Departure = mv.Departed
			}
			if routeUnsafe == "" && gateBad == "" && early == "" && late == "" {
				bookings = append(bookings, fixed{gi, g, len(kept)})
				kept = append(kept, keptGroup{g, members})
				continue
			}
			// Re-routed: those of it already through the gate it was
			// going to are out, and it goes on without them.
			var still []Household
			for _, h := range members {
				if st.householdThrough(h.ID) {
					out(h, "already through a gate (reported by the field)")
				} else {
					still = append(still, h)
				}
			}
			if len(still) == 0 {
				continue
			}
			if len(still) < len(members) {
				members = still
				g.Households, g.People = nil, 0
				for _, h := range still {
					g.Households = append(g.Households, h.ID)
					g.People += h.People
				}
			}
			pos, _, ok := st.position(g.ID)
			if !ok {
				dep := g.Departure
				if reportedMoving && !mv.Departed.IsZero() {
					dep = mv.Departed
				}
				pos = alongRoute(line, dep, dep.Add(g.Arrival.Sub(g.Departure)), st.At)
			}
			why := cmp.Or(routeUnsafe, gateBad, early, late)
			movers = append(movers, mover{g, members, pos, why})

		default: // not yet left
			rallyBad := ""
			if !rallyKnown {
				rallyBad = "its rally point is no longer in the places file"
			} else if !rallies[ri].Usable {
				rallyBad = fmt.Sprintf("rally point %s is now unsafe (%s)", g.RallyPoint, strings.Join(rallies[ri].Reasons, "; "))
			}
			var stay []*member
			// changed: some of its households go elsewhere or can no
			// longer keep its times; dropped: some are out of it (through,
			// missing, gone from the list), and the others can keep its
			// turn without them.
			changed, dropped := false, false
			for _, h := range members {
				hh := households[h.ID]
				if hh == nil {
					dropped = true
					continue
				}
				if st.householdThrough(h.ID) {
					out(h, "already through a gate (reported by the field)")
					dropped = true
					continue
				}
				if _, ok := st.Missing[h.ID]; ok {
					missed(h.ID, g.ID, hh)
					dropped = true
					continue
				}
				isIn, at := st.checkedIn(h.ID)
				if rallyBad != "" || (isIn && at != "" && at != g.RallyPoint) {
					changed = true
					if isIn && at != "" && at != g.RallyPoint {
						if ai, ok := rallyIx[at]; ok && rallies[ai].Usable {
							// Waiting somewhere else than planned: grouped there.
							if m, _ := walkTo(ctx, in, p, rallies, hh, ai); m != nil {
								m.walkS = 0
								waiting = append(waiting, m)
								reasons[h.ID] = "waiting at rally point " + at + ", not " + g.RallyPoint
								continue
							}
						}
					}
					pool = append(pool, hh)
					reasons[h.ID] = cmp.Or(rallyBad, "waiting at rally point "+at+", which cannot send groups now")
					continue
				}
				m := &member{h: hh, route: h.Walk, walkS: h.Walk.DurationS, rally: ri}
				if isIn {
					m.walkS = 0
				} else if md.safety.walk[h.ID] {
					nm, why := walkTo(ctx, in, p, rallies, hh, ri)
					if nm == nil {
						pool = append(pool, hh)
						reasons[h.ID] = "the walk to rally point " + g.RallyPoint + " now crosses a forbidden zone (" + why.Reason + ")"
						changed = true
						continue
					}
					m = nm
					reasons[h.ID] = "the walk to rally point " + g.RallyPoint + " now crosses a forbidden zone: new walking route"
					if st.At.Add(secs(m.walkS)).After(g.ReportBy) {
						changed = true // the new walk is too long for the group's time
					}
				} else {
					// Perhaps on the way already: assume they keep walking.
					m.walkS = max(0, h.Walk.DurationS-st.At.Sub(prev.Params.Start).Seconds())
				}
				stay = append(stay, m)
			}
			if len(stay) == 0 {
				continue
			}
			if !g.Departure.After(reach) && routeUnsafe == "" && gateBad == "" {
				// It leaves before a revision can reach its escort: it goes
				// as planned with those of its households who are there,
				// and keeps its turn as a group on the move does.
				ids := map[string]Route{}
				for _, m := range stay {
					ids[m.h.ID] = m.route
				}
				var with []Household
				for _, h := range members {
					if w, ok := ids[h.ID]; ok {
						h.Walk = w
						with = append(with, h)
					}
				}
				if len(with) < len(members) {
					g.Households, g.People = nil, 0
					for _, h := range with {
						g.Households = append(g.Households, h.ID)
						g.People += h.People
					}
				}
				rallies[ri].book(clockOf(g.ReportBy), clockOf(g.Departure), g.People)
				bookings = append(bookings, fixed{gi, g, len(kept)})
				kept = append(kept, keptGroup{g, with})
				continue
			}
			frozen := md.freeze < 0 || !g.Departure.After(freezeUntil)
			if md.regroup && !frozen {
				// Fresh: planned again, those waiting from their rally
				// point, the others from home.
				for _, m := range stay {
					if m.walkS == 0 && (st.CheckedIn[m.h.ID] || st.WaitingAt[m.h.ID] != "") {
						waiting = append(waiting, m)
					} else {
						homes = append(homes, *m.h)
					}
				}
				continue
			}
			if routeUnsafe == "" && gateBad == "" && !changed && frozen {
				// Unchanged: it keeps its slot and times if, once the
				// groups on the move and heavier groups have their turns,
				// they are still free.
				walks := map[string]Route{}
				for _, m := range stay {
					walks[m.h.ID] = m.route
				}
				var with []Household
				for _, h := range members {
					if w, ok := walks[h.ID]; ok {
						h.Walk = w
						with = append(with, h)
					}
				}
				if dropped {
					g.Households, g.People = nil, 0
					for _, h := range with {
						g.Households = append(g.Households, h.ID)
						g.People += h.People
					}
				}
				future = append(future, pending{gi, ri, g, with, stay})
				continue
			}
			why := cmp.Or(routeUnsafe, gateBad)
			if why == "" && (changed || dropped) {
				why = "some of its households were moved"
			}
			if why == "" {
				why = "re-timed: only groups leaving within " + md.freeze.String() + " keep their turns"
			}
			drafts = append(drafts, draftOf(p, g.ID, ri, stay, why, reasons))
		}
	}

	// Turns at the gates: groups on the move that keep their way, in
	// arrival order (each gate's queue is first in, first out); then the
	// queue seen waiting; then those re-routed on the move, who are on the
	// road and must not wait behind people still at home.
	// In the order the gate takes them, as plancheck re-simulates it: by
	// arrival, then (arriving together) by through time. (By arrival
	// alone, a group booked after another that arrived with it but passes
	// later was pushed behind it to a passage of no length, and its turn
	// left to others.)
	slices.SortStableFunc(bookings, func(a, b fixed) int {
		return cmp.Or(a.g.Arrival.Compare(b.g.Arrival), a.g.Through.Compare(b.g.Through))
	})
	for _, b := range bookings {
		gs := gates[b.gate]
		if slower[b.gate] {
			// It cannot be there sooner than planned, and the gate passes
			// fewer people an hour than planned: it takes the first turn
			// from its planned arrival that keeps the queue within the
			// crowd limit, holding back on its way if need be.
			if t, ok := gs.slot(clockOf(laterOf(b.g.Arrival, st.At)), b.g.People, clock(secs(p.GateEarlyS)), never); ok {
				gs.take(t)
				g := &kept[b.k].g
				if arrive, through := t.arrive.time(), t.end.ceilSec().time(); !arrive.Equal(g.Arrival) || !through.Equal(g.Through) {
					g.Arrival, g.Through = arrive, through
					for _, h := range kept[b.k].hh {
						reasons[h.ID] = fmt.Sprintf("gate %s passes fewer people an hour than planned: at the gate and through later", b.g.Gate)
					}
				}
				continue
			}
		}
		gs.bookFixed(b.g.Arrival, b.g.Through, b.g.People)
	}
	// The queue seen waiting at a gate is mostly groups on the move that
	// kept their way, booked above at their own times (due at the gate by
	// now, not through yet): only the people it holds beyond them are
	// booked for it, from now, in the first turns free, in parts the crowd
	// limit allows. (Booked first, at the times the state says, it pushed
	// the passages of the groups kept after it and left turns that their
	// stated times still held: a re-plan plancheck refused.)
	for gi, g := range gates {
		q := st.GateQueues[g.ID]
		if q <= 0 || !g.Usable || g.perSecond <= 0 {
			continue
		}
		for _, b := range bookings {
			if b.gate == gi && !b.g.Arrival.After(st.At) && b.g.Through.After(st.At) {
				q -= b.g.People
			}
		}
		part := max(1, g.CrowdLimit/2)
		for q > 0 {
			n := min(q, part)
			t, ok := g.slot(clockOf(st.At), n, clock(24*time.Hour), never)
			if !ok {
				break
			}
			g.take(t)
			q -= n
		}
	}
	// Groups on the move re-routed from where they are, those of one
	// priority class (or all) at a time.
	rerouteMovers := func(level int, all bool) {
		for _, mv := range movers {
			if !all && rank(mv.g.Priority, mv.g.Weight) != level {
				continue
			}
			ng, err := rerouteMoving(ctx, in, gates, mv.g, mv.pos, st.At, reach, p)
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
	}
	if !md.keptFirst {
		rerouteMovers(0, true)
	}

	// Households the plan revised could not serve for want of a usable
	// rally point (within their walk, or on their piece of the foot
	// network), a way out or a gate: the picture or the rally points may
	// have changed since (an all-clear, a rally point opened where the
	// plan suggested one), so they are planned again, from home, like those
	// sent to another rally point. Those it still cannot serve are listed
	// again, with today's reason.
	inPlan := make(map[string]bool, len(prev.Households))
	for _, h := range prev.Households {
		inPlan[h.ID] = true
	}
	for _, u := range prev.Unassigned {
		switch u.Code {
		case UnservedNoRally, UnservedUnreachable, UnservedNoGate, UnservedMaxWalk, UnservedCutOff, UnservedNoRoad:
		default:
			continue
		}
		hh := households[u.Household]
		if hh == nil || inPlan[u.Household] || st.householdThrough(u.Household) || reasons[u.Household] != "" {
			continue
		}
		pool = append(pool, hh)
		reasons[u.Household] = "unserved before (" + u.Code + "): planned again under the new picture"
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
	for _, d := range formGroups(p, moved, fits, nil) {
		d.reason = "rally point changed"
		drafts = append(drafts, d)
	}
	// Overdue and no-show households: a later group, from home, at the
	// rally point they missed when it is still usable.
	var late []*member
	for _, hh := range missing {
		ri := -1
		if r, ok := rallyIx[prevHH[hh.ID].RallyPoint]; ok && rallies[r].Usable {
			ri = r
		}
		m, why := walkTo(ctx, in, p, rallies, hh, ri)
		if m == nil && ri >= 0 {
			m, why = walkTo(ctx, in, p, rallies, hh, -1)
		}
		if m == nil {
			why.Reason = reasons[hh.ID] + "; but " + why.Reason
			np.Unassigned = append(np.Unassigned, why)
			continue
		}
		late = append(late, m)
	}
	drafts = append(drafts, formGroups(p, late, fits, nil)...)
	// Fresh: households at home to rally points as a new plan would, and
	// with those waiting, grouped anew.
	var fresh []*member
	if md.regroup {
		sub := in
		sub.Households = homes
		sub.knownWalks = make(map[string]knownWalk, len(homes))
		for _, h := range homes {
			if o, ok := prevHH[h.ID]; ok && o.Walk.Geometry != nil && !md.safety.walk[h.ID] {
				sub.knownWalks[h.ID] = knownWalk{o.RallyPoint, o.Walk}
			}
		}
		ms, un := assignRallies(ctx, sub, p, rallies, fits, progress)
		for _, u := range un {
			u.Reason = "fresh re-plan: " + u.Reason
			np.Unassigned = append(np.Unassigned, u)
		}
		fresh = append(ms, waiting...)
		la := relax(p, gates, rallies, fits, fresh, false)
		drafts = append(drafts, formGroups(p, fresh, fits, la)...)
		for _, m := range fresh {
			if _, ok := reasons[m.h.ID]; !ok {
				reasons[m.h.ID] = "fresh re-plan from where everyone is"
			}
		}
	} else {
		drafts = append(drafts, formGroups(p, waiting, fits, nil)...)
	}
	for _, d := range drafts {
		if d.reason == "" {
			d.reason = "re-planned"
		}
	}

	// The fleet: free now, but for the vehicles kept groups hold until back.
	fl := newFleet(p, p.Start)
	for _, k := range kept {
		if back := k.g.Departure.Add(2 * secs(k.g.Route.DurationS)); k.g.Vehicles > 0 && back.After(p.Start) {
			fl.take(k.g.Vehicles, back)
		}
	}
	// Priority class by class, the heaviest first: the groups of a class
	// that keep their turns, if still free, then the class's groups to
	// schedule; so a group of a lower class never keeps a turn a heavier
	// one needed.
	s := newScheduler(p, gates, rallies, fl)
	levels := map[int]bool{}
	for _, f := range future {
		levels[rank(f.g.Priority, f.g.Weight)] = true
	}
	for _, d := range drafts {
		levels[rank(d.priority, d.weight)] = true
	}
	if md.keptFirst {
		for _, mv := range movers {
			levels[rank(mv.g.Priority, mv.g.Weight)] = true
		}
	}
	order := make([]int, 0, len(levels))
	for l := range levels {
		order = append(order, l)
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(b, a) })
	slices.SortStableFunc(future, func(a, b pending) int { return a.g.Arrival.Compare(b.g.Arrival) })
	for _, lv := range order {
		var level []*draft
		for _, f := range future {
			if rank(f.g.Priority, f.g.Weight) != lv {
				continue
			}
			gs, r := gates[f.gate], rallies[f.rally]
			need := fl.need(f.g.People)
			vehiclesFree := fl == nil || (need <= len(fl.free) && !fl.freeAt(need).After(f.g.Departure))
			if _, ok := r.capacityAllows(clockOf(f.g.ReportBy), clockOf(f.g.Departure), f.g.People); ok && vehiclesFree && gs.fitsFixed(f.g.Arrival, f.g.Through, f.g.People) {
				r.book(clockOf(f.g.ReportBy), clockOf(f.g.Departure), f.g.People)
				fl.take(need, f.g.Departure.Add(2*secs(f.g.Route.DurationS)))
				f.g.Vehicles = need
				kept = append(kept, keptGroup{f.g, f.members})
				continue
			}
			level = append(level, draftOf(p, f.g.ID, f.rally, f.stay, "its turn at the gate went to groups re-routed on the move or of higher priority", reasons))
		}
		if md.keptFirst {
			rerouteMovers(lv, false)
		}
		for _, d := range drafts {
			if rank(d.priority, d.weight) == lv {
				level = append(level, d)
			}
		}
		failed, err := s.schedule(ctx, np, level, newID, progress)
		if err != nil {
			return nil, info, err
		}
		// Groups no gate can take fall back, household by household, to
		// the next rally point within their walk, in the same class.
		var back []*member
		for _, f := range failed {
			for _, m := range f.d.members {
				if nm := fallBack(ctx, in, p, rallies, fits, m); nm != nil {
					back = append(back, nm)
				} else {
					np.Unassigned = append(np.Unassigned, Unassigned{m.h.ID, UnservedNoGate, f.why})
				}
			}
		}
		if len(back) > 0 {
			if failed, err = s.schedule(ctx, np, formGroups(p, back, fits, nil), newID, progress); err != nil {
				return nil, info, err
			}
			for _, f := range failed {
				f.unserve(np)
			}
		}
	}
	// Kept groups with the rest.
	for _, k := range kept {
		np.Groups = append(np.Groups, k.g)
		np.Households = append(np.Households, k.hh...)
	}
	// Those unserved before stay so unless something changed for them.
	served := map[string]bool{}
	for _, h := range np.Households {
		served[h.ID] = true
	}
	for _, u := range np.Unassigned {
		served[u.Household] = true
	}
	for _, u := range prev.Unassigned {
		if !served[u.Household] {
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
	// The bound of a re-plan runs from its time: the people not yet out.
	info.boundS = replanBound(np, st.At, gates, rallies)
	if info.boundS > 0 {
		np.Summary.LowerBoundS = round1(st.At.Sub(prev.Params.Start).Seconds() + info.boundS)
		np.Summary.Ratio = math.Round(np.Summary.MakespanS/np.Summary.LowerBoundS*1000) / 1000
	}
	np.Diff = diff(prev, np, reasons)
	// Those left unserved for want of a rally point within their walk get
	// suggestions, as in a fresh plan: under today's picture, from home.
	np.Reach = reachOf(in.Foot.Graph(), np, suggest(ctx, in, p, np, gates))
	if err := ctx.Err(); err != nil {
		return nil, info, fmt.Errorf("replan: %w", err) // the suggestions were cut short
	}
	np.Zones = zonesDoc(in.Car.Zones())
	return np, info, nil
}

// draftOf makes a group to schedule from members that stay together.
func draftOf(p Params, id string, ri int, stay []*member, why string, reasons map[string]string) *draft {
	d := &draft{id: id, rally: ri, reason: why}
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
	return d
}

// ReplanBound is the least time from at until everyone a re-plan serves
// and who is not out yet could be through: every usable gate at its rate
// (measured, when lower) within its hours; the people on the move from at,
// the others no sooner than the shortest drive to that gate from a usable
// rally point. Rally points' hours and capacities, walks, groups and the
// order of passage are relaxed, so no re-plan from the same state ends
// sooner. Seconds; 0 when nobody is left.
func replanBound(pl *Plan, at time.Time, gates []*gateState, rallies []*rallyState) float64 {
	moving, rest := 0, 0
	for _, g := range pl.Groups {
		switch {
		case !g.Through.After(at):
		case !g.Departure.After(at):
			moving += g.People
		default:
			rest += g.People
		}
	}
	if moving+rest == 0 {
		return 0
	}
	type gcap struct {
		g    *gateState
		from time.Time // the first moment someone not yet moving could reach it
	}
	var gs []gcap
	for gi, g := range gates {
		if !g.Usable || g.perSecond <= 0 {
			continue
		}
		d := math.Inf(1)
		for _, r := range rallies {
			if rt := r.toGate[gi]; r.Usable && rt != nil {
				d = math.Min(d, rt.DurationS)
			}
		}
		from := at.Add(100 * 365 * 24 * time.Hour)
		if !math.IsInf(d, 1) {
			from = at.Add(time.Duration(d * float64(time.Second)))
		}
		gs = append(gs, gcap{g, from})
	}
	if len(gs) == 0 {
		return 0
	}
	capBy := func(T float64, fromAt bool) float64 {
		c := 0.0
		end := at.Add(time.Duration(T * float64(time.Second)))
		for _, x := range gs {
			from := x.from
			if fromAt {
				from = at
			}
			if end.After(from) {
				c += x.g.perSecond * openSeconds(x.g.hours, from, end.Sub(from).Seconds())
			}
		}
		return c
	}
	least := func(people int, fromAt bool) float64 {
		if people == 0 {
			return 0
		}
		hi := 3600.0
		for capBy(hi, fromAt) < float64(people) {
			hi *= 2
			if hi > 400*24*3600 {
				return 0 // not within a year: no useful bound
			}
		}
		lo := 0.0
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			if capBy(mid, fromAt) >= float64(people) {
				hi = mid
			} else {
				lo = mid
			}
		}
		return hi
	}
	return math.Max(least(moving+rest, true), least(rest, false))
}

// numbers are a re-plan's figures against the plan it revises.
func numbers(prev, np *Plan, st State, info replanInfo) Numbers {
	n := Numbers{ByField: map[string]int{}}
	at := np.AsOf
	var last time.Time
	for _, g := range np.Groups {
		if g.Through.After(last) {
			last = g.Through
		}
	}
	if last.After(at) {
		n.MakespanS = last.Sub(at).Seconds()
	}
	n.LowerBoundS = round1(info.boundS)
	if n.LowerBoundS > 0 {
		n.Ratio = math.Round(n.MakespanS/n.LowerBoundS*1000) / 1000
	}
	if np.Diff != nil {
		n.Changed = len(np.Diff.Changes)
		for _, c := range np.Diff.Changes {
			for _, f := range c.Fields {
				n.ByField[f]++
			}
		}
	}
	n.Unserved = len(np.Unassigned)
	for _, u := range np.Unassigned {
		if u.Code == UnservedOut {
			n.Unserved--
		}
	}
	oldG, newG := map[string]Group{}, map[string]Group{}
	for _, g := range prev.Groups {
		oldG[g.ID] = g
	}
	for _, g := range np.Groups {
		newG[g.ID] = g
	}
	oldH := map[string]Household{}
	for _, h := range prev.Households {
		oldH[h.ID] = h
	}
	// Still to be made: walks of households whose group has not left (and
	// who are not waiting), drives of groups not yet through.
	for _, h := range np.Households {
		g := newG[h.Group]
		if g.Departure.After(at) {
			if in, _ := st.checkedIn(h.ID); !in {
				n.Exposure += float64(h.People) * h.Walk.Exposure
			}
		}
	}
	for _, g := range np.Groups {
		if g.Through.After(at) {
			n.Exposure += float64(g.People) * g.Route.Exposure
		}
	}
	n.Exposure = round1(n.Exposure)
	// Priority households: delay against the plan revised, and reversal.
	keptLight := map[string][]Group{} // gate -> kept groups of no priority that had not left
	for _, g := range np.Groups {
		if o, ok := oldG[g.ID]; ok && !g.Priority && g.Departure.After(at) && o.Arrival.Equal(g.Arrival) && o.Gate == g.Gate && slices.Equal(o.Households, g.Households) {
			keptLight[g.Gate] = append(keptLight[g.Gate], g)
		}
	}
	for _, h := range np.Households {
		if h.Priority == "" {
			continue
		}
		g := newG[h.Group]
		if !g.Through.After(at) {
			continue
		}
		n.Priority++
		if o, ok := oldH[h.ID]; ok {
			if og, ok := oldG[o.Group]; ok {
				if d := g.Through.Sub(og.Through).Seconds(); d > 0 {
					if d > 15*60 {
						n.PriorityDelayed++
					}
					if d > 6*3600 {
						n.PriorityOver6h++
					}
					n.PriorityMaxS = math.Max(n.PriorityMaxS, d)
				}
			}
		}
		if o, ok := oldG[g.ID]; ok && o.Arrival.Equal(g.Arrival) && o.Gate == g.Gate {
			continue // kept its own turn
		}
		// When could this group have been at its gate at the soonest?
		ready := at
		for _, id := range g.Households {
			if in, _ := st.checkedIn(id); !in {
				if hh, ok := findHousehold(np, id); ok {
					ready = laterOf(ready, at.Add(secs(hh.Walk.DurationS)))
				}
			}
		}
		if g.Departure.After(at) {
			soonest := ready.Add(secs(g.Route.DurationS))
			for _, k := range keptLight[g.Gate] {
				if k.People >= g.People && !k.Arrival.Before(soonest) && k.Arrival.Before(g.Arrival) {
					n.PriorityBehind++
					break
				}
			}
		}
	}
	n.MakespanS = round1(n.MakespanS)
	return n
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// findHousehold finds a household of a plan by id (households are sorted).
func findHousehold(pl *Plan, id string) (Household, bool) {
	i, ok := slices.BinarySearchFunc(pl.Households, id, func(h Household, id string) int { return cmp.Compare(h.ID, id) })
	if !ok {
		return Household{}, false
	}
	return pl.Households[i], true
}
