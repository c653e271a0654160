package plan

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// trip is a group's way through: when it gathers, leaves and takes its
// turn at a gate.
type trip struct {
	gate            int
	reportBy, leave clock
	turn            turn
	exposure        float64
}

// earliestTrip finds the group's earliest trip through gate gi: it leaves
// its rally point once gathered, within the rally point's hours and
// capacity and, with a fleet, once enough vehicles are back, and reaches
// the gate at the start of a turn there. Each constraint that is not met
// moves the departure to the next moment it could be (an opening, a group
// leaving the rally point, a gap at the gate, someone through it); there
// is no fixed step. Without a trip, it says why.
func (s *scheduler) earliestTrip(r *rallyState, gi int, d *draft, ready clock, need int) (trip, string) {
	g := s.gates[gi]
	rt := r.toGate[gi]
	if d.people > g.CrowdLimit {
		return trip{}, fmt.Sprintf("%s holds at most %d people", g.ID, g.CrowdLimit)
	}
	travel := clock(secs(rt.DurationS))
	dep := ready
	if t := s.fl.freeAt(need); !t.IsZero() {
		dep = max(dep, clockOf(t))
	}
	for dep <= s.horizon {
		dep = r.departure(dep, ready, s.lead, d.people, s.horizon)
		if dep > s.horizon {
			return trip{}, fmt.Sprintf("%s is not open, or has no room, before the horizon", r.ID)
		}
		arrive := dep + travel
		t, ok := g.slot(arrive, d.people, s.early, s.horizon)
		if !ok {
			break
		}
		if t.arrive == arrive {
			return trip{gate: gi, reportBy: max(dep-s.lead, ready), leave: dep, turn: t, exposure: rt.Exposure * float64(d.people)}, ""
		}
		dep = t.arrive - travel
	}
	return trip{}, fmt.Sprintf("%s is fully booked until the horizon", g.ID)
}

// scheduler is what scheduling the groups works with: the gates' and
// rally points' timelines and the fleet, as booked so far.
type scheduler struct {
	p       Params
	gates   []*gateState
	rallies []*rallyState
	fl      *fleet
	lead    clock       // how long a group gathers before it leaves
	early   clock       // how early a group may reach its gate before its turn
	horizon clock       // nothing is scheduled after it
	quota   [][]float64 // [rally][gate]: people still to send, from the look-ahead
	// fluidEnd is the look-ahead's makespan: groups sized for a gate go
	// there if they are through by then.
	fluidEnd clock
}

// guide says how the look-ahead guides the greedy: sizing forms groups
// bound for gates with small crowd limits; quota makes a group prefer a
// gate its rally point still has a share of in the relaxation, when that
// gate has it through no more than slack after the best.
var guide = struct {
	sizing, quota bool
	slack         clock
}{sizing: true, quota: false, slack: clock(10 * time.Minute)}

// guideBy takes the look-ahead's shares of each rally point's people per
// gate as quotas.
func (s *scheduler) guideBy(la *lookahead) {
	if la == nil {
		return
	}
	s.fluidEnd = clockOf(s.p.Start) + clock(la.T*float64(time.Second))
	s.quota = make([][]float64, len(la.flow))
	for ri, row := range la.flow {
		s.quota[ri] = slices.Clone(row)
	}
}

func newScheduler(p Params, gates []*gateState, rallies []*rallyState, fl *fleet) *scheduler {
	return &scheduler{p: p, gates: gates, rallies: rallies, fl: fl, lead: clock(secs(p.AssemblyLeadS)), early: clock(secs(p.GateEarlyS)),
		horizon: clockOf(p.Start.Add(time.Duration(p.HorizonS * float64(time.Second))))}
}

// failure is a group no gate can take, and why.
type failure struct {
	d   *draft
	why string
}

// unserve lists the group's households as unserved.
func (f failure) unserve(pl *Plan) {
	for _, m := range f.d.members {
		pl.Unassigned = append(pl.Unassigned, Unassigned{m.h.ID, UnservedNoGate, f.why})
	}
}

// schedule gives each group a gate and times, priority groups first, then
// those ready earliest: each takes the gate where its last member is
// through soonest, then with the least exposure, at the earliest turn
// there that fits the gates' and rally points' limits as booked so far;
// a turn may fall in a gap left between turns booked before it. It
// returns the groups no gate can take within the horizon.
func (s *scheduler) schedule(ctx context.Context, pl *Plan, drafts []*draft, newID func() string, progress func(string, int, int)) ([]failure, error) {
	rallies, gates, fl := s.rallies, s.gates, s.fl
	// Within each priority class, groups whose rally point keeps hours go
	// first: they can only leave while it is open, while the others can
	// fill the night.
	slices.SortStableFunc(drafts, func(a, b *draft) int {
		if a.priority != b.priority {
			if a.priority {
				return -1
			}
			return 1
		}
		if a.weight != b.weight {
			return cmp.Compare(b.weight, a.weight)
		}
		ah, bh := rallies[a.rally].hours.always, rallies[b.rally].hours.always
		if ah != bh {
			if !ah {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.readyS, b.readyS)
	})
	var failed []failure
	for i, d := range drafts {
		if i%256 == 0 {
			progress("scheduling groups", i, len(drafts))
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("plan: %w", err)
			}
		}
		r := rallies[d.rally]
		ready := clockOf(s.p.Start.Add(secs(d.readyS)))
		need := fl.need(d.people)
		if fl != nil && need > len(fl.free) {
			failed = append(failed, failure{d, fmt.Sprintf("its group of %d needs %d vehicles of %d seats; the fleet has %d", d.people, need, fl.seats, len(fl.free))})
			continue
		}
		var best, bound, quota trip
		found, foundBound, foundQuota := false, false, false
		var why []string
		for gi, g := range gates {
			if !g.Usable || r.toGate[gi] == nil {
				continue
			}
			t, cause := s.earliestTrip(r, gi, d, ready, need)
			if cause != "" {
				if !slices.Contains(why, cause) {
					why = append(why, cause)
				}
				continue
			}
			better := func(b trip) bool {
				return t.turn.end < b.turn.end || (t.turn.end == b.turn.end && t.exposure < b.exposure)
			}
			if !found || better(best) {
				best, found = t, true
			}
			if d.bound > 0 && g.CrowdLimit == d.bound && (!foundBound || better(bound)) {
				bound, foundBound = t, true
			}
			if s.quota != nil && s.quota[d.rally][gi] >= float64(d.people) && (!foundQuota || better(quota)) {
				quota, foundQuota = t, true
			}
		}
		switch {
		case foundBound && (bound.turn.end <= s.fluidEnd || bound.turn.end == best.turn.end):
			best = bound // sized for that gate: it goes there, unless it is full up to the look-ahead's makespan
		case guide.quota && foundQuota && quota.turn.end <= best.turn.end+guide.slack:
			best = quota
		}
		if found && s.quota != nil {
			s.quota[d.rally][best.gate] -= float64(d.people)
		}
		if !found {
			failed = append(failed, failure{d, fmt.Sprintf("no gate can take its group of %d from rally point %s within the %s horizon (%s)%s",
				d.people, r.ID, fmtHours(s.p.HorizonS), strings.Join(why, "; "), advice(why))})
			continue
		}
		pl.Groups = append(pl.Groups, s.book(d, best, need, pl, newID))
	}
	progress("scheduling groups", len(drafts), len(drafts))
	return failed, nil
}

// advice says what would serve a group no gate could take.
func advice(why []string) string {
	for _, w := range why {
		if strings.Contains(w, "horizon") {
			return ": a longer --horizon would serve it"
		}
	}
	if len(why) == 0 {
		return ""
	}
	return ": a smaller --max-group, or a gate that holds more"
}

// fmtHours says a horizon in words: "72-hour", "90-minute".
func fmtHours(s float64) string {
	if h := s / 3600; h == math.Trunc(h) {
		return fmt.Sprintf("%.0f-hour", h)
	}
	return fmt.Sprintf("%.0f-minute", math.Round(s/60))
}

// book takes the trip found for a group and writes the group and its
// households into the plan.
func (s *scheduler) book(d *draft, t trip, need int, pl *Plan, newID func() string) Group {
	r, g := s.rallies[d.rally], s.gates[t.gate]
	g.take(t.turn)
	r.book(t.reportBy, t.leave, d.people)
	rt := r.toGate[t.gate]
	s.fl.take(need, t.leave.time().Add(2*secs(rt.DurationS)))
	id := d.id
	if id == "" {
		id = newID()
	}
	grp := Group{ID: id, RallyPoint: r.ID, Gate: g.ID,
		Departure: t.leave.time(), Arrival: t.turn.arrive.time(), Through: t.turn.end.ceilSec().time(), ReportBy: t.reportBy.time(),
		People: d.people, Priority: d.priority, Weight: d.weight, Vehicles: need,
		Route: lineRoute(rt.Geometry, rt.DurationS, rt.DistanceM, rt.Exposure)}
	for _, m := range d.members {
		grp.Households = append(grp.Households, m.h.ID)
		hp := Household{ID: m.h.ID, RallyPoint: r.ID, Group: grp.ID, ReportBy: grp.ReportBy, People: m.h.PartySize}
		if m.h.IsPriority() {
			hp.Priority = m.h.Priority
		}
		hp.Walk = m.route
		pl.Households = append(pl.Households, hp)
	}
	return grp
}
