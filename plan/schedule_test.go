package plan

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/route"
)

// toy is a small world for the scheduler alone: gates and rally points
// with given drives between them, no graph.
type toy struct {
	p       Params
	gates   []*gateState
	rallies []*rallyState
}

func newToy(p Params) *toy { return &toy{p: p.WithDefaults()} }

func (w *toy) gate(id string, perHour, crowd int, opens, closes string) int {
	h, err := newHours(opens, closes, time.UTC)
	if err != nil {
		panic(err)
	}
	g := newGateState(Gate{ID: id, ThroughputPerHour: perHour, CrowdLimit: crowd, Opens: opens, Closes: closes, Usable: true, Status: muster.GateOpen},
		orb.Point{}, float64(perHour)/3600, h, w.p.Start)
	w.gates = append(w.gates, g)
	return len(w.gates) - 1
}

// rally adds a rally point with the drive to each gate in seconds (a
// negative drive: unreachable).
func (w *toy) rally(id string, capacity int, opens, closes string, driveS ...float64) int {
	h, err := newHours(opens, closes, time.UTC)
	if err != nil {
		panic(err)
	}
	r := &rallyState{hours: h, RallyPoint: RallyPoint{ID: id, Capacity: capacity, Opens: opens, Closes: closes, Usable: true}}
	for _, d := range driveS {
		if d < 0 {
			r.toGate = append(r.toGate, nil)
			continue
		}
		r.toGate = append(r.toGate, &route.Route{Geometry: orb.LineString{{0, 0}, {0.01, 0.01}}, DurationS: d})
	}
	w.rallies = append(w.rallies, r)
	return len(w.rallies) - 1
}

var toyHouseholds int

// group makes a draft of one household of people at rally ri, ready after
// readyS, with a priority or none.
func (w *toy) group(ri, people int, readyS float64, priority string) *draft {
	toyHouseholds++
	h := &muster.Household{ID: fmt.Sprintf("H%04d", toyHouseholds), PartySize: people, Priority: priority}
	m := &member{h: h, walkS: readyS, rally: ri}
	return &draft{rally: ri, members: []*member{m}, people: people, priority: h.IsPriority(), weight: weightOf(w.p, h), readyS: readyS, firstS: readyS}
}

func (w *toy) schedule(t *testing.T, drafts ...*draft) *Plan {
	t.Helper()
	pl := &Plan{Params: w.p}
	failed, err := newScheduler(w.p, w.gates, w.rallies, newFleet(w.p, w.p.Start)).schedule(context.Background(), pl, drafts, groupIDs(map[string]bool{}), func(string, int, int) {})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range failed {
		f.unserve(pl)
	}
	return pl
}

func groupOf(p *Plan, household string) *Group {
	for i := range p.Groups {
		for _, h := range p.Groups[i].Households {
			if h == household {
				return &p.Groups[i]
			}
		}
	}
	return nil
}

// TestScheduleFillsGapBeforePriority: a priority group from far away is
// booked first and leaves the gate idle until it arrives; an ordinary
// group booked after it, from next to the gate, passes in that gap instead
// of queueing behind it, and the priority group keeps its earliest turn.
func TestScheduleFillsGapBeforePriority(t *testing.T) {
	w := newToy(Params{Start: t0})
	w.gate("gate", 1200, 100, "", "")
	far := w.rally("far", 0, "", "", 1800)
	near := w.rally("near", 0, "", "", 60)
	prio := w.group(far, 8, 120, muster.PriorityMedical)
	ord := w.group(near, 10, 120, muster.PriorityNone)
	p := w.schedule(t, ord, prio) // the scheduler puts priority first
	gp, go_ := groupOf(p, prio.members[0].h.ID), groupOf(p, ord.members[0].h.ID)
	if gp == nil || go_ == nil {
		t.Fatalf("unassigned: %v", p.Unassigned)
	}
	if want := t0.Add(120*time.Second + 1800*time.Second); !gp.Arrival.Equal(want) {
		t.Errorf("the priority group arrives at %v, want %v: as soon as it can", gp.Arrival, want)
	}
	if !go_.Through.Before(gp.Arrival) {
		t.Errorf("the ordinary group is through at %v, after the priority group arrives (%v): the gap before it was not used", go_.Through, gp.Arrival)
	}
	if want := t0.Add(180 * time.Second); !go_.Arrival.Equal(want) {
		t.Errorf("the ordinary group arrives at %v, want %v", go_.Arrival, want)
	}
}

// TestScheduleNightAtAllDayRallies: daytime rally points keep their
// groups to daylight; groups from a rally point open round the clock use
// the gate overnight, even when booked after daytime groups that took
// next-day turns.
func TestScheduleNightAtAllDayRallies(t *testing.T) {
	start := time.Date(2026, 3, 14, 21, 0, 0, 0, time.UTC)
	w := newToy(Params{Start: start, AssemblyLeadS: 60})
	w.gate("gate", 360, 200, "", "") // a person every 10 s
	day := w.rally("day", 0, "06:00", "22:00", 60)
	night := w.rally("night", 0, "", "", 60)
	var drafts []*draft
	for i := 0; i < 60; i++ { // 600 people: 100 min of gate time, more than the hour left before 22:00
		drafts = append(drafts, w.group(day, 10, 60, ""))
	}
	for i := 0; i < 30; i++ {
		drafts = append(drafts, w.group(night, 10, 60, ""))
	}
	p := w.schedule(t, drafts...)
	if len(p.Unassigned) > 0 {
		t.Fatalf("unassigned: %v", p.Unassigned[0])
	}
	var nightUse, lastNight time.Time
	for _, g := range p.Groups {
		if g.RallyPoint == "night" && g.Through.After(lastNight) {
			lastNight = g.Through
		}
		if g.RallyPoint == "night" && g.Departure.Hour() >= 22 && nightUse.IsZero() {
			nightUse = g.Departure
		}
		if g.RallyPoint == "day" && (g.Departure.Hour() >= 22 || g.Departure.Hour() < 6) {
			t.Errorf("group %s leaves the daytime rally point at %v", g.ID, g.Departure)
		}
	}
	if nightUse.IsZero() {
		t.Fatalf("no group from the all-day rally point leaves after 22:00")
	}
	// 300 people from the all-day rally point take 50 min: they are all
	// through long before the daytime point opens again.
	if lastNight.After(start.Add(4 * time.Hour)) {
		t.Errorf("the all-day groups are through only at %v: the night was not used", lastNight)
	}
}

// TestScheduleHorizon: nothing is through after the horizon; the groups
// that cannot be are unserved, told the horizon and what would serve them.
func TestScheduleHorizon(t *testing.T) {
	w := newToy(Params{Start: t0, HorizonS: 3600})
	w.gate("gate", 600, 100, "", "") // ten people a minute
	r := w.rally("r", 0, "", "", 300)
	var drafts []*draft
	for i := 0; i < 100; i++ {
		drafts = append(drafts, w.group(r, 10, 60, ""))
	}
	p := w.schedule(t, drafts...)
	end := t0.Add(time.Hour)
	for _, g := range p.Groups {
		if g.Through.After(end) {
			t.Errorf("group %s through at %v, after the horizon", g.ID, g.Through)
		}
	}
	// 6 minutes to get there, then ten people a minute: 54 groups by the hour.
	if len(p.Groups) < 50 || len(p.Groups) > 54 {
		t.Errorf("%d groups within the hour", len(p.Groups))
	}
	if len(p.Unassigned) != 100-len(p.Groups) {
		t.Fatalf("%d groups and %d unserved", len(p.Groups), len(p.Unassigned))
	}
	u := p.Unassigned[0]
	if u.Code != UnservedNoGate || !strings.Contains(u.Reason, "1-hour horizon") || !strings.Contains(u.Reason, "--horizon") {
		t.Errorf("%s: %s", u.Code, u.Reason)
	}
}

// TestOddParams: parameters out of range take their defaults or bounds
// instead of breaking the schedule.
func TestOddParams(t *testing.T) {
	for _, p := range []Params{
		{Start: t0, HorizonS: 1e300},
		{Start: t0, HorizonS: math.NaN(), MobilityMaxWalkS: math.NaN()},
		{Start: t0, HorizonS: -5, GateEarlyS: -1, AssemblyLeadS: -3},
	} {
		w := newToy(p)
		w.gate("gate", 600, 100, "", "")
		w.gate("shut", 0, 100, "", "") // no throughput: never chosen
		r := w.rally("r", 0, "", "", 300, 300)
		pl := w.schedule(t, w.group(r, 10, 60, ""), w.group(r, 500, 60, ""))
		if len(pl.Groups) != 1 || len(pl.Unassigned) != 1 {
			t.Errorf("%+v: %d groups, unassigned %v", p, len(pl.Groups), pl.Unassigned)
		}
	}
}
