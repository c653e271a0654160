// Package operation computes the live state of an evacuation: from the
// current plan, the field events (muster.FieldEvent) and the time now,
// where everyone is (through a gate, on the move, waiting at a rally point,
// not yet moved, overdue, no-show), each gate's people through, waiting and
// expected and its measured rate against the nominal one, and how far the
// operation is behind or ahead of the plan. It is pure: the same plan,
// events and now give the same state, whatever order the events came in
// and however often each was sent (docs/operations.md).
//
// Events are applied in the order they happened (At, then ID), not the
// order they arrived. An event that contradicts another (a group seen
// after it arrived, an arrival before the departure, a household marked
// overdue though it had checked in) is kept and listed as flagged, and not
// applied; so is a check-in the store flagged (a token superseded,
// revoked, spent or forged). A check-in at another rally point than its
// household was sent to (muster.FlagOtherRallyPoint) is applied, where it
// was made, and listed as flagged too.
package operation

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
)

// DefaultGrace is how long after its report-by time an overdue household
// becomes a no-show.
const DefaultGrace = 30 * time.Minute

// Options tune the live state.
type Options struct {
	// Grace is the time after report-by an overdue household becomes a
	// no-show (DefaultGrace when 0).
	Grace time.Duration
	// PlanID names the plan (its store id): it is in the ids of the
	// overdue and no-show events the server makes, so that each is made
	// once per plan.
	PlanID string
}

// Where a household is.
const (
	HouseholdNotMoved = "not_moved" // not yet at its rally point, not late
	HouseholdOverdue  = "overdue"   // not at its rally point by its report-by time
	HouseholdNoShow   = "no_show"   // still not there after the grace period
	HouseholdAtRally  = "at_rally"  // checked in, its group not yet left
	HouseholdMoving   = "moving"    // left with its group
	HouseholdAtGate   = "at_gate"   // its group arrived at the gate, waiting to pass
	HouseholdThrough  = "through"   // through the gate
)

// Where a group is.
const (
	GroupForming = "forming" // not yet left its rally point
	GroupMoving  = "moving"  // left, not yet at its gate
	GroupAtGate  = "at_gate" // at its gate, not all through
	GroupThrough = "through" // all through its gate
)

// Why an event is kept but not applied (besides the store's token flags).
const (
	FlagUnknown            = "unknown"                  // names a household, group, gate or rally point the plan does not have
	FlagAfterDeparture     = "after_departure"          // a check-in of a household that left with its group earlier
	FlagContradictsCheckIn = "contradicts_checkin"      // overdue or no-show, but it had checked in before
	FlagArrivedFirst       = "arrived_before_departure" // an arrival earlier than the group's departure
	FlagSeenBeforeLeaving  = "seen_before_departure"    // a sighting earlier than the group's departure
	FlagSeenAfterArrival   = "seen_after_arrival"       // a sighting later than the group's arrival
	FlagRepeated           = "repeated"                 // a second departure or arrival of one group (the earliest counts)
)

// State is the live state of an operation at At.
type State struct {
	At     time.Time `json:"at"`
	Plan   string    `json:"plan,omitempty"`
	Totals Totals    `json:"totals"`
	// BehindMin is how many minutes the operation is behind its plan
	// (negative: ahead): now minus the time the plan had as many people
	// through as there really are.
	BehindMin   float64      `json:"behind_min"`
	Gates       []GateState  `json:"gates"`
	RallyPoints []RallyState `json:"rally_points"`
	Groups      []GroupState `json:"groups"`
	// Flagged are the events kept but not applied, and why, and those
	// applied but flagged for the operators (Applied: a check-in at
	// another rally point).
	Flagged []FlaggedEvent `json:"flagged"`
	// Events counts the distinct events the state was made from.
	Events int `json:"events"`

	households map[string]*hhState
	planned    *plan.Plan
}

// Totals count people against the plan.
type Totals struct {
	Planned       int `json:"planned"`        // people in the plan's groups
	Through       int `json:"through"`        // out: through a gate
	OnTheWay      int `json:"on_the_way"`     // left their rally point, not through (moving or at a gate)
	AtRally       int `json:"at_rally"`       // checked in, waiting at a rally point
	NotMoved      int `json:"not_moved"`      // not yet at a rally point, not late
	Overdue       int `json:"overdue"`        // late for their report-by time
	NoShows       int `json:"no_shows"`       // still not there after the grace period
	PlannedBy     int `json:"planned_by_now"` // people the plan has through a gate by now
	Households    int `json:"households"`
	HouseholdsOut int `json:"households_through"`
}

// GateState is one gate's part.
type GateState struct {
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
	Expected int    `json:"expected"` // people the plan sends through it
	Through  int    `json:"through"`  // people counted through (gate_count)
	Arrived  int    `json:"arrived"`  // people in groups that reached it
	Waiting  int    `json:"waiting"`  // arrived and not yet counted through
	// Queue is the queue last seen at the gate (-1: never counted), and
	// QueueAt when.
	Queue   int       `json:"queue"`
	QueueAt time.Time `json:"queue_at,omitzero"`
	Status  string    `json:"status"` // as last seen in the field, else as planned
	// MeasuredPerHour is the rate the gate's counts show (people through
	// per hour over the intervals counted; 0 when none); NominalPerHour
	// is what the plan assumed.
	MeasuredPerHour float64 `json:"measured_per_hour"`
	NominalPerHour  int     `json:"nominal_per_hour"`
	// Slow is set when the measured rate is under 80% of the nominal.
	Slow bool `json:"slow,omitempty"`
}

// RallyState is one rally point's part.
type RallyState struct {
	ID       string   `json:"id"`
	Name     string   `json:"name,omitempty"`
	Expected int      `json:"expected"` // people the plan gathers here
	Present  int      `json:"present"`  // people checked in here and not yet left
	Here     []string `json:"here"`     // the households present
	Overdue  []string `json:"overdue"`  // households late here (not yet no-shows)
	NoShows  []string `json:"no_shows"`
}

// GroupState is one group's part.
type GroupState struct {
	ID         string    `json:"id"`
	Status     string    `json:"status"` // GroupForming, ...
	RallyPoint string    `json:"rally_point"`
	Gate       string    `json:"gate"`
	People     int       `json:"people"`    // as planned, or as counted when it left
	Departure  time.Time `json:"departure"` // planned
	Departed   time.Time `json:"departed,omitzero"`
	Arrival    time.Time `json:"arrival"` // planned
	Arrived    time.Time `json:"arrived,omitzero"`
	// Late is how many minutes after the plan it left (or, not yet left,
	// how late it is now); negative: early.
	LateMin float64   `json:"late_min"`
	SeenAt  time.Time `json:"seen_at,omitzero"`
	Lat     float64   `json:"lat,omitempty"`
	Lon     float64   `json:"lon,omitempty"`
	// Households are those really in it when it left; planned ones
	// before.
	Households []string `json:"households"`
}

// FlaggedEvent is an event kept but not applied, or applied but flagged
// (Applied).
type FlaggedEvent struct {
	ID    string    `json:"id"`
	Kind  string    `json:"kind"`
	At    time.Time `json:"at"`
	By    string    `json:"by,omitempty"`
	Flags []string  `json:"flags"`
	What  string    `json:"what"` // the household, group or gate it names
	// RallyPoint is where a check-in says it was made.
	RallyPoint string `json:"rally_point,omitempty"`
	// Applied is set when the event counts in the state all the same
	// (its only flag is muster.FlagOtherRallyPoint).
	Applied bool `json:"applied,omitempty"`
	// Noted is set when the event carries a note (the field page sends
	// the officer's reason for admitting a household at another rally
	// point in it): GET /api/field-events shows it to those who may read
	// it; the live state, which every role reads, does not.
	Noted bool `json:"noted,omitempty"`
}

type hhState struct {
	plan      *plan.Household
	checkedIn time.Time // zero: not checked in (by an applied event)
	rally     string    // where it checked in
	missing   string    // HouseholdOverdue or HouseholdNoShow, from events or the clock
	missingAt time.Time
	group     string // the group it really left with ("" when it has not)
	status    string
}

type groupState struct {
	plan     *plan.Group
	departed *muster.FieldEvent
	arrived  *muster.FieldEvent
	seen     *muster.FieldEvent
	members  []string
	people   int
	through  bool
}

// Compute makes the live state of operation p at now from events.
func Compute(p *plan.Plan, events []muster.FieldEvent, now time.Time, opt Options) *State {
	if opt.Grace <= 0 {
		opt.Grace = DefaultGrace
	}
	now = now.UTC()
	st := &State{At: now, Plan: opt.PlanID, households: make(map[string]*hhState, len(p.Households)), planned: p,
		Gates: []GateState{}, RallyPoints: []RallyState{}, Groups: []GroupState{}, Flagged: []FlaggedEvent{}}
	evs := Canonical(events)
	st.Events = len(evs)
	st.Groups = make([]GroupState, 0, len(p.Groups))

	hs := make([]hhState, len(p.Households)) // one allocation, not one per household
	for i := range p.Households {
		hs[i].plan = &p.Households[i]
		st.households[p.Households[i].ID] = &hs[i]
	}
	groups := make(map[string]*groupState, len(p.Groups))
	gs := make([]groupState, len(p.Groups))
	for i := range p.Groups {
		gs[i].plan = &p.Groups[i]
		groups[p.Groups[i].ID] = &gs[i]
	}
	gates := map[string]*GateState{}
	for _, g := range p.Gates {
		gates[g.ID] = &GateState{ID: g.ID, Name: g.Name, Queue: -1, Status: g.Status, NominalPerHour: g.ThroughputPerHour}
	}
	countedS := map[string]float64{}

	flag := func(e *muster.FieldEvent, what string, flags ...string) {
		st.Flagged = append(st.Flagged, FlaggedEvent{ID: e.ID, Kind: e.Kind, At: e.At, By: e.By, Flags: append(slices.Clone(e.Flags), flags...), What: what,
			RallyPoint: e.RallyPoint, Noted: e.Note != ""})
	}
	rallyKnown := make(map[string]bool, len(p.RallyPoints))
	for _, r := range p.RallyPoints {
		rallyKnown[r.ID] = true
	}

	// First the group movements (the earliest departure and arrival of
	// each), then everything else against them: a late event is judged
	// against all that is known, whatever order they came in.
	for _, kind := range []string{muster.FieldDeparted, muster.FieldArrived} {
		for i := range evs {
			e := &evs[i]
			g := groups[e.Group]
			if e.Kind != kind || g == nil || e.Withheld() {
				continue
			}
			switch {
			case kind == muster.FieldDeparted && g.departed == nil:
				g.departed = e
			case kind == muster.FieldArrived && g.arrived == nil && (g.departed == nil || !e.At.Before(g.departed.At)):
				g.arrived = e
			}
		}
	}
	for i := range evs {
		e := &evs[i]
		if e.Withheld() {
			flag(e, cmp.Or(e.Household, e.TokenID, e.Group, e.Gate))
			continue
		}
		switch e.Kind {
		case muster.FieldCheckIn:
			h := st.households[e.Household]
			if h == nil {
				flag(e, e.Household, FlagUnknown)
				continue
			}
			// Where the household was sent: the store checked a check-in
			// that spent an instruction against the rally point that
			// instruction names (the version shown was the truth when it
			// was made; a re-plan since may send the household
			// elsewhere); one without a token, checked in by its id, is
			// checked here against the plan's.
			var other []string
			if e.TokenID == "" && e.RallyPoint != "" && e.RallyPoint != h.plan.RallyPoint && !slices.Contains(e.Flags, muster.FlagOtherRallyPoint) {
				other = []string{muster.FlagOtherRallyPoint}
			}
			if e.RallyPoint != "" && !rallyKnown[e.RallyPoint] {
				// A place the plan does not have: nobody is counted
				// there (a made-up rally point is no place to wait).
				flag(e, e.Household, append(other, FlagUnknown)...)
				continue
			}
			if g := groups[h.plan.Group]; g != nil && g.departed != nil && !e.At.Before(g.departed.At) && departedWith(g, h.plan.ID) {
				flag(e, e.Household, append(other, FlagAfterDeparture)...)
				continue
			}
			if h.checkedIn.IsZero() {
				h.checkedIn, h.rally = e.At, cmp.Or(e.RallyPoint, h.plan.RallyPoint)
			}
			if e.Flagged() || other != nil {
				flag(e, e.Household, other...)
				st.Flagged[len(st.Flagged)-1].Applied = true
			}
		case muster.FieldOverdue, muster.FieldNoShow:
			h := st.households[e.Household]
			if h == nil {
				flag(e, e.Household, FlagUnknown)
				continue
			}
			// Applied below, against the check-ins.
		case muster.FieldDeparted:
			g := groups[e.Group]
			switch {
			case g == nil:
				flag(e, e.Group, FlagUnknown)
			case g.departed != e:
				flag(e, e.Group, FlagRepeated)
			}
		case muster.FieldArrived:
			g := groups[e.Group]
			switch {
			case g == nil:
				flag(e, e.Group, FlagUnknown)
			case g.departed != nil && e.At.Before(g.departed.At):
				flag(e, e.Group, FlagArrivedFirst)
			case g.arrived != e:
				flag(e, e.Group, FlagRepeated)
			}
		case muster.FieldSeen:
			g := groups[e.Group]
			switch {
			case g == nil:
				flag(e, e.Group, FlagUnknown)
			case g.departed != nil && e.At.Before(g.departed.At):
				flag(e, e.Group, FlagSeenBeforeLeaving)
			case g.arrived != nil && e.At.After(g.arrived.At):
				flag(e, e.Group, FlagSeenAfterArrival)
			default:
				g.seen = e // the latest, events being in time order
			}
		case muster.FieldGateCount:
			gs := gates[e.Gate]
			if gs == nil {
				flag(e, e.Gate, FlagUnknown)
				continue
			}
			gs.Through += e.People
			countedS[e.Gate] += e.At.Sub(e.Since).Seconds()
		case muster.FieldGateState:
			gs := gates[e.Gate]
			if gs == nil {
				flag(e, e.Gate, FlagUnknown)
				continue
			}
			if e.GateStatus != "" {
				gs.Status = e.GateStatus
			}
			if e.Queue >= 0 {
				gs.Queue, gs.QueueAt = e.Queue, e.At
			}
		}
	}
	// Overdue and no-show: from the events (the server's, or the field's)
	// and from the clock. One that says a household missed its time
	// though it had checked in before is flagged.
	for i := range evs {
		e := &evs[i]
		if e.Withheld() || (e.Kind != muster.FieldOverdue && e.Kind != muster.FieldNoShow) {
			continue
		}
		h := st.households[e.Household]
		if h == nil {
			continue
		}
		if !h.checkedIn.IsZero() && !h.checkedIn.After(e.At) {
			flag(e, e.Household, FlagContradictsCheckIn)
			continue
		}
		if e.Kind == muster.FieldNoShow || h.missing == "" {
			if h.missing != HouseholdNoShow {
				h.missing, h.missingAt = e.Kind, e.At
			}
		}
	}
	// Who really left with each group.
	// In the plan's order, and a household named by two departures goes
	// with the earlier: the same events give the same state.
	for i := range p.Groups {
		g := groups[p.Groups[i].ID]
		if g.departed == nil && g.arrived == nil {
			continue
		}
		if g.departed != nil {
			g.members, g.people = g.departed.Households, g.departed.People
		}
		if len(g.members) == 0 { // as planned (an arrival never seen leaving too)
			g.members = g.plan.Households
		}
		sum := 0
		for _, id := range g.members {
			if h := st.households[id]; h != nil {
				if h.group == "" || leftAt(g).Before(leftAt(groups[h.group])) {
					h.group = g.plan.ID
				}
				sum += h.plan.People
			}
		}
		if g.people == 0 {
			g.people = sum
		}
	}
	// Arrived groups pass their gate first in, first out: a group is
	// through when the gate's counts cover it and all who arrived before.
	arrivedAt := map[string][]*groupState{}
	for _, g := range groups {
		if g.arrived != nil {
			gate := cmp.Or(g.arrived.Gate, g.plan.Gate)
			arrivedAt[gate] = append(arrivedAt[gate], g)
		}
	}
	for gate, gs := range arrivedAt {
		slices.SortFunc(gs, func(a, b *groupState) int {
			return cmp.Or(a.arrived.At.Compare(b.arrived.At), strings.Compare(a.plan.ID, b.plan.ID))
		})
		counted := 0
		arrived := 0
		if g := gates[gate]; g != nil {
			counted = g.Through
		}
		for _, g := range gs {
			arrived += g.people
			g.through = arrived <= counted
		}
		if g := gates[gate]; g != nil {
			g.Arrived = arrived
			g.Waiting = max(0, arrived-counted)
		}
	}

	// Each household's place, and the totals.
	rallies := map[string]*RallyState{}
	for _, r := range p.RallyPoints {
		rallies[r.ID] = &RallyState{ID: r.ID, Name: r.Name, Here: []string{}, Overdue: []string{}, NoShows: []string{}}
	}
	rallyOf := func(id string) *RallyState {
		r := rallies[id]
		if r == nil {
			r = &RallyState{ID: id, Here: []string{}, Overdue: []string{}, NoShows: []string{}}
			rallies[id] = r
		}
		return r
	}
	t := &st.Totals
	for _, hp := range p.Households {
		h := st.households[hp.ID]
		rallyOf(hp.RallyPoint).Expected += hp.People
		t.Households++
		switch {
		case h.group != "":
			g := groups[h.group]
			switch {
			case g.through:
				h.status = HouseholdThrough
			case g.arrived != nil:
				h.status = HouseholdAtGate
			default:
				h.status = HouseholdMoving
			}
		case !h.checkedIn.IsZero():
			h.status = HouseholdAtRally
		case h.missing == HouseholdNoShow || (!hp.ReportBy.IsZero() && !now.Before(hp.ReportBy.Add(opt.Grace))):
			h.status = HouseholdNoShow
		case h.missing == HouseholdOverdue || (!hp.ReportBy.IsZero() && now.After(hp.ReportBy)):
			h.status = HouseholdOverdue
		default:
			h.status = HouseholdNotMoved
		}
		switch h.status {
		case HouseholdThrough:
			t.Through += hp.People
			t.HouseholdsOut++
		case HouseholdAtGate, HouseholdMoving:
			t.OnTheWay += hp.People
		case HouseholdAtRally:
			t.AtRally += hp.People
			r := rallyOf(h.rally)
			r.Present += hp.People
			r.Here = append(r.Here, hp.ID)
		case HouseholdNoShow:
			t.NoShows += hp.People
			r := rallyOf(hp.RallyPoint)
			r.NoShows = append(r.NoShows, hp.ID)
		case HouseholdOverdue:
			t.Overdue += hp.People
			r := rallyOf(hp.RallyPoint)
			r.Overdue = append(r.Overdue, hp.ID)
		default:
			t.NotMoved += hp.People
		}
	}

	// Groups, and the plan's pace.
	var marks []mark
	for i := range p.Groups {
		pg := &p.Groups[i]
		g := groups[pg.ID]
		t.Planned += pg.People
		gs := GroupState{ID: pg.ID, Status: GroupForming, RallyPoint: pg.RallyPoint, Gate: pg.Gate, People: pg.People,
			Departure: pg.Departure, Arrival: pg.Arrival, Households: pg.Households}
		if g.departed != nil || g.arrived != nil {
			gs.People, gs.Households, gs.Status = g.people, g.members, GroupMoving
		}
		if g.departed != nil {
			gs.Departed = g.departed.At
			gs.LateMin = minutes(g.departed.At.Sub(pg.Departure))
		} else if g.arrived == nil && now.After(pg.Departure) {
			gs.LateMin = minutes(now.Sub(pg.Departure))
		}
		if g.seen != nil {
			gs.SeenAt, gs.Lat, gs.Lon = g.seen.At, g.seen.Lat, g.seen.Lon
		}
		if g.arrived != nil {
			gs.Arrived, gs.Status = g.arrived.At, GroupAtGate
			if g.through {
				gs.Status = GroupThrough
			}
		}
		st.Groups = append(st.Groups, gs)
		if gate := gates[pg.Gate]; gate != nil {
			gate.Expected += pg.People
		}
		marks = append(marks, mark{pg.Through, pg.People})
		if !pg.Through.After(now) {
			t.PlannedBy += pg.People
		}
	}
	slices.SortFunc(marks, func(a, b mark) int { return a.at.Compare(b.at) })
	st.BehindMin = behind(marks, t.Through, now)

	for _, g := range p.Gates {
		gs := gates[g.ID]
		if s := countedS[g.ID]; s > 0 {
			gs.MeasuredPerHour = math.Round(float64(gs.Through)/s*3600*10) / 10
			gs.Slow = gs.NominalPerHour > 0 && gs.MeasuredPerHour < 0.8*float64(gs.NominalPerHour)
		}
		st.Gates = append(st.Gates, *gs)
	}
	for _, r := range rallies {
		st.RallyPoints = append(st.RallyPoints, *r)
	}
	slices.SortFunc(st.RallyPoints, func(a, b RallyState) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(st.Flagged, func(a, b FlaggedEvent) int { return cmp.Or(a.At.Compare(b.At), strings.Compare(a.ID, b.ID)) })
	return st
}

// behind is now minus the time the plan had `through` people through
// (marks sorted by time): positive when the field is behind the plan.
// Before the plan has anyone through, and with nobody through, nobody is
// behind.
func behind(marks []mark, through int, now time.Time) float64 {
	if through == 0 {
		if len(marks) == 0 || !now.After(marks[0].at) {
			return 0
		}
		return minutes(now.Sub(marks[0].at))
	}
	cum := 0
	for _, m := range marks {
		cum += m.people
		if cum >= through {
			return minutes(now.Sub(m.at))
		}
	}
	return minutes(now.Sub(marks[len(marks)-1].at))
}

// leftAt is when a group left: its departure, else its arrival.
func leftAt(g *groupState) time.Time {
	if g.departed != nil {
		return g.departed.At
	}
	return g.arrived.At
}

// mark is when the plan has a group's people through.
type mark struct {
	at     time.Time
	people int
}

func minutes(d time.Duration) float64 { return math.Round(d.Minutes()*10) / 10 }

func departedWith(g *groupState, household string) bool {
	if len(g.departed.Households) == 0 {
		return slices.Contains(g.plan.Households, household)
	}
	return slices.Contains(g.departed.Households, household)
}

// Canonical returns the events without repeats (the same id twice is one
// event: the first recorded, else the least content), in the order they
// happened (At, then ID). Any order and any repetition of one set of
// events give the same result.
func Canonical(events []muster.FieldEvent) []muster.FieldEvent {
	byID := make(map[string]int, len(events))
	keep := make([]int, 0, len(events)) // indices into events: sorted without moving the events
	for i := range events {
		e := &events[i]
		if j, ok := byID[e.ID]; ok {
			if before(e, &events[keep[j]]) {
				keep[j] = i
			}
			continue
		}
		byID[e.ID] = len(keep)
		keep = append(keep, i)
	}
	slices.SortFunc(keep, func(a, b int) int {
		x, y := &events[a], &events[b]
		return cmp.Or(x.At.Compare(y.At), strings.Compare(x.ID, y.ID))
	})
	out := make([]muster.FieldEvent, len(keep))
	for k, i := range keep {
		out[k] = events[i]
	}
	return out
}

// before says which of two events with one id stands: the one the store
// recorded first, else the one with the least content.
func before(a, b *muster.FieldEvent) bool {
	if a.Seq != b.Seq && a.Seq > 0 && b.Seq > 0 {
		return a.Seq < b.Seq
	}
	if (a.Seq > 0) != (b.Seq > 0) {
		return a.Seq > 0
	}
	return a.Content()+strings.Join(a.Flags, ",") < b.Content()+strings.Join(b.Flags, ",")
}

// Household returns where household id is ("" when the plan does not
// have it).
func (s *State) Household(id string) string {
	if h := s.households[id]; h != nil {
		return h.status
	}
	return ""
}

// PlanState is the state a re-plan starts from (plan.State): who is
// through, which groups are on the move (who is in them, where last
// seen), who waits at which rally point, who is missing, and the gates'
// measured rates, states and queues.
func (s *State) PlanState() plan.State {
	ps := plan.State{At: s.At, Through: map[string]bool{}, HouseholdsThrough: map[string]bool{}, Moving: map[string]plan.MovingGroup{},
		CheckedIn: map[string]bool{}, WaitingAt: map[string]string{}, Missing: map[string]plan.Missing{},
		GateRates: map[string]float64{}, GateStatus: map[string]string{}, GateQueues: map[string]int{}}
	for _, g := range s.Groups {
		switch g.Status {
		case GroupThrough:
			ps.Through[g.ID] = true
		case GroupMoving, GroupAtGate:
			m := plan.MovingGroup{Households: g.Households, People: g.People, Departed: g.Departed}
			if !g.SeenAt.IsZero() {
				m.SeenAt, m.Lat, m.Lon = g.SeenAt, g.Lat, g.Lon
			}
			ps.Moving[g.ID] = m
		}
	}
	for id, h := range s.households {
		switch h.status {
		case HouseholdThrough:
			ps.HouseholdsThrough[id] = true
		case HouseholdAtRally:
			ps.CheckedIn[id] = true
			ps.WaitingAt[id] = h.rally
		case HouseholdOverdue, HouseholdNoShow:
			since := h.plan.ReportBy
			kind := plan.MissingOverdue
			if h.status == HouseholdNoShow {
				kind = plan.MissingNoShow
				if h.missing == HouseholdNoShow && !h.missingAt.IsZero() {
					since = h.missingAt
				}
			}
			ps.Missing[id] = plan.Missing{Kind: kind, Since: since, RallyPoint: h.plan.RallyPoint}
		}
	}
	for _, g := range s.Gates {
		if g.MeasuredPerHour > 0 {
			ps.GateRates[g.ID] = g.MeasuredPerHour
		}
		if g.Status != "" {
			ps.GateStatus[g.ID] = g.Status
		}
		if g.Queue >= 0 {
			ps.GateQueues[g.ID] = g.Queue
		}
	}
	return ps
}

// Due returns the overdue and no-show events the server makes at now for
// plan p: one per household not at its rally point by its report-by time
// (At: that time), and one more after the grace period (At: report-by +
// grace), by "system". Their ids are derived from the plan and the
// household, so that making them again records nothing new. Households
// already checked in, or gone with a group, get none.
func Due(p *plan.Plan, events []muster.FieldEvent, now time.Time, opt Options) []muster.FieldEvent {
	if opt.Grace <= 0 {
		opt.Grace = DefaultGrace
	}
	st := Compute(p, events, now, opt)
	have := map[string]bool{}
	for _, e := range events {
		have[e.ID] = true
	}
	var out []muster.FieldEvent
	for _, hp := range p.Households {
		h := st.households[hp.ID]
		if h.status != HouseholdOverdue && h.status != HouseholdNoShow || hp.ReportBy.IsZero() {
			continue
		}
		mk := func(kind string, at time.Time) {
			id := fmt.Sprintf("sys-%s-%s-%s", kind, cmp.Or(opt.PlanID, "plan"), hp.ID)
			if len(id) > muster.MaxFieldEventIDLen || have[id] || at.After(now) {
				return
			}
			out = append(out, muster.FieldEvent{ID: id, Kind: kind, At: at, Household: hp.ID, RallyPoint: hp.RallyPoint, Queue: -1})
		}
		mk(muster.FieldOverdue, hp.ReportBy)
		if h.status == HouseholdNoShow {
			mk(muster.FieldNoShow, hp.ReportBy.Add(opt.Grace))
		}
	}
	return out
}

// LastSeen returns where a group was last seen (lon, lat), if it was.
func (s *State) LastSeen(group string) (orb.Point, bool) {
	for _, g := range s.Groups {
		if g.ID == group && !g.SeenAt.IsZero() {
			return orb.Point{g.Lon, g.Lat}, true
		}
	}
	return orb.Point{}, false
}
