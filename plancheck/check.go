// Package plancheck verifies a plan against its inputs, rule by rule, and
// names every violation. It shares no code with the planner: it re-reads
// the plan as data, re-simulates every gate's queue and every rally point's
// crowd from the plan's own times, and checks routes against the forbidden
// zones with zonecost's independent checker. Tests run it on every plan
// they make.
package plancheck

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/zonecost"
)

// Violation is one broken rule.
type Violation struct {
	Rule    string `json:"rule"`    // e.g. "gate-throughput"
	Subject string `json:"subject"` // the group, household, gate or rally point
	Message string `json:"message"`
}

func (v Violation) String() string { return fmt.Sprintf("%s: %s: %s", v.Rule, v.Subject, v.Message) }

// Inputs are what the plan was made from.
type Inputs struct {
	Places     *muster.Places
	Households []muster.Household
	Zones      []muster.Zone // the threat picture, as routing saw it
	// GateStatus overrides the places file's statuses, as the picture did.
	GateStatus map[string]string
	// At, for a re-plan, is when the picture changed: groups that left
	// before it travel under the picture they were planned with, so their
	// routes, walks and gates are not held to this one.
	At time.Time
}

// tolerance absorbs the rounding of times to whole seconds in plan.json.
const tolerance = 2 * time.Second

// Check returns every violation of the plan's hard rules.
func Check(p *plan.Plan, in Inputs) []Violation {
	var vs []Violation
	add := func(rule, subject, format string, args ...any) {
		vs = append(vs, Violation{rule, subject, fmt.Sprintf(format, args...)})
	}
	loc := time.UTC
	if in.Places != nil && in.Places.Timezone != "" {
		if l, err := time.LoadLocation(in.Places.Timezone); err == nil {
			loc = l
		}
	}
	places := map[string]*muster.Place{}
	if in.Places != nil {
		for i := range in.Places.Places {
			places[in.Places.Places[i].ID] = &in.Places.Places[i]
		}
	}
	households := map[string]*muster.Household{}
	for i := range in.Households {
		households[in.Households[i].ID] = &in.Households[i]
	}
	maxGroup := p.Params.MaxGroupSize
	start := p.Params.Start

	// Households: each served once or said to be unserved, never both, never lost.
	seen := map[string]string{} // household -> group
	for _, g := range p.Groups {
		people := 0
		for _, id := range g.Households {
			h, ok := households[id]
			if !ok {
				add("unknown-household", g.ID, "household %s is not in the evacuee list", id)
				continue
			}
			if other, dup := seen[id]; dup {
				add("household-split", id, "in groups %s and %s: a household is never split or sent twice", other, g.ID)
			}
			seen[id] = g.ID
			people += h.PartySize
		}
		if people != g.People {
			add("group-people", g.ID, "says %d people, its households hold %d", g.People, people)
		}
		if maxGroup > 0 && people > maxGroup {
			add("group-size", g.ID, "%d people, more than the maximum group size %d", people, maxGroup)
		}
		if !g.Departure.Before(g.Arrival) && g.Route.DurationS > 0 {
			add("group-times", g.ID, "departs %s, not before it arrives %s", g.Departure, g.Arrival)
		}
		routeStart := g.Departure
		if g.RouteFrom.After(routeStart) {
			routeStart = g.RouteFrom // re-routed on the move
		}
		if travel := g.Arrival.Sub(routeStart); travel+tolerance < time.Duration(g.Route.DurationS*float64(time.Second)) {
			add("group-times", g.ID, "%s from the start of its route to arrival, but the route takes %.0f s", travel, g.Route.DurationS)
		}
		if g.Departure.Before(start) {
			add("group-times", g.ID, "departs %s, before the operation starts (%s)", g.Departure, start)
		}
		if g.ReportBy.After(g.Departure) {
			add("group-times", g.ID, "gathers by %s, after its departure %s", g.ReportBy, g.Departure)
		}
		if r, ok := places[g.RallyPoint]; !ok || r.Kind != muster.PlaceRally {
			add("unknown-place", g.ID, "rally point %q is not a rally point of the places file", g.RallyPoint)
		}
		if gt, ok := places[g.Gate]; !ok || gt.Kind != muster.PlaceGate {
			add("unknown-place", g.ID, "gate %q is not a gate of the places file", g.Gate)
		}
		if !g.Departure.Before(in.At) || !g.RouteFrom.Before(in.At) {
			checkLine(g.ID, "group-route", g.Route, g.Route.Escape, in.Zones, add)
		}
	}
	unassigned := map[string]bool{}
	for _, u := range p.Unassigned {
		if strings.TrimSpace(u.Reason) == "" {
			add("unassigned-reason", u.Household, "unserved without a reason")
		}
		if _, ok := seen[u.Household]; ok {
			add("household-split", u.Household, "both in group %s and unserved", seen[u.Household])
		}
		unassigned[u.Household] = true
	}
	for id := range households {
		if _, ok := seen[id]; !ok && !unassigned[id] {
			add("household-lost", id, "neither in a group nor listed as unserved")
		}
	}
	groups := map[string]*plan.Group{}
	for i := range p.Groups {
		groups[p.Groups[i].ID] = &p.Groups[i]
	}
	for _, hp := range p.Households {
		g, ok := groups[hp.Group]
		if !ok || seen[hp.ID] != hp.Group {
			add("household-group", hp.ID, "its instruction names group %q, which does not hold it", hp.Group)
			continue
		}
		if hp.RallyPoint != g.RallyPoint {
			add("household-group", hp.ID, "told rally point %s, its group meets at %s", hp.RallyPoint, g.RallyPoint)
		}
		if hp.ReportBy.After(g.Departure) {
			add("household-times", hp.ID, "to report by %s, after its group leaves at %s", hp.ReportBy, g.Departure)
		}
		if walk := time.Duration(hp.Walk.DurationS * float64(time.Second)); hp.ReportBy.Add(tolerance).Before(start.Add(walk)) {
			add("household-times", hp.ID, "cannot walk %.0f s from the start %s and report by %s", hp.Walk.DurationS, start, hp.ReportBy)
		}
		if p.Params.MaxWalkS > 0 && hp.Walk.DurationS > p.Params.MaxWalkS+1 {
			add("max-walk", hp.ID, "walks %.0f s, more than the %.0f s allowed", hp.Walk.DurationS, p.Params.MaxWalkS)
		}
		if !g.Departure.Before(in.At) {
			checkLine(hp.ID, "walk-route", hp.Walk, hp.Walk.Escape, in.Zones, add)
		}
	}

	// Gates: re-simulate each queue from the plan's arrivals.
	byGate := map[string][]*plan.Group{}
	for i := range p.Groups {
		byGate[p.Groups[i].Gate] = append(byGate[p.Groups[i].Gate], &p.Groups[i])
	}
	for id, gs := range byGate {
		gp, ok := places[id]
		if !ok {
			continue
		}
		status := gp.Status
		if s, ok := in.GateStatus[id]; ok {
			status = s
		}
		current := 0 // groups still to go through when the picture changed
		for _, g := range gs {
			if g.Through.After(in.At) && !g.Departure.Before(in.At) {
				current++
			}
		}
		if status == muster.GateClosed && current > 0 {
			add("gate-closed", id, "%d groups are sent through a closed gate", current)
			continue
		}
		if z := forbiddenAt(gp, in.Zones); z != "" && current > 0 {
			add("gate-forbidden", id, "the gate lies in forbidden zone %q, yet %d groups are sent to it", z, current)
		}
		tp := float64(gp.ThroughputPerHour)
		if status == muster.GateRestricted {
			f := p.Params.RestrictedFactor
			if f <= 0 || f > 1 {
				f = 0.5
			}
			tp *= f
		}
		if tp <= 0 {
			add("gate-throughput", id, "has no throughput, yet %d groups are sent to it", len(gs))
			continue
		}
		// First come, first served; groups arriving in the same second pass
		// in the order they are through.
		sort.SliceStable(gs, func(i, j int) bool {
			if !gs[i].Arrival.Equal(gs[j].Arrival) {
				return gs[i].Arrival.Before(gs[j].Arrival)
			}
			return gs[i].Through.Before(gs[j].Through)
		})
		// FIFO at the gate's throughput: the earliest each group can be through.
		var free time.Time
		type stay struct {
			arrive, through time.Time
			people          int
		}
		var stays []stay
		for _, g := range gs {
			pass := time.Duration(float64(g.People) / tp * float64(time.Hour))
			begin := g.Arrival
			if free.After(begin) {
				begin = free
			}
			earliest := begin.Add(pass)
			if g.Through.Add(tolerance).Before(earliest) {
				add("gate-throughput", g.ID, "through gate %s by %s, but at %.0f people an hour the earliest is %s", id, g.Through.Format(time.RFC3339), tp, earliest.Format(time.RFC3339))
			}
			through := g.Through
			if through.Before(earliest) {
				through = earliest
			}
			free = through
			if !openDuring(gp.Opens, gp.Closes, loc, through.Add(-pass), through) {
				add("gate-hours", g.ID, "passes gate %s from %s to %s, outside its hours %s-%s", id,
					through.Add(-pass).In(loc).Format("2006-01-02 15:04"), through.In(loc).Format("15:04"), gp.Opens, gp.Closes)
			}
			stays = append(stays, stay{g.Arrival, through, g.People})
		}
		for _, s := range stays {
			waiting := 0
			for _, o := range stays {
				if !o.arrive.After(s.arrive) && o.through.After(s.arrive) {
					waiting += o.people
				}
			}
			if waiting > gp.CrowdLimit {
				add("gate-crowd", id, "%d people at the gate at %s, more than its crowd limit %d", waiting, s.arrive.Format(time.RFC3339), gp.CrowdLimit)
				break
			}
		}
	}

	// Rally points: never more people at once than they hold.
	byRally := map[string][]*plan.Group{}
	for i := range p.Groups {
		byRally[p.Groups[i].RallyPoint] = append(byRally[p.Groups[i].RallyPoint], &p.Groups[i])
	}
	for id, gs := range byRally {
		rp, ok := places[id]
		if !ok {
			continue
		}
		if z := forbiddenAt(rp, in.Zones); z != "" {
			for _, g := range gs {
				if !g.Departure.Before(in.At) { // those gone before the picture changed were not sent into it
					add("rally-forbidden", g.ID, "meets at %s, which lies in forbidden zone %q", id, z)
					break
				}
			}
		}
		for _, g := range gs {
			if !openDuring(rp.Opens, rp.Closes, loc, g.ReportBy, g.Departure) {
				add("rally-hours", g.ID, "waits at %s from %s to %s, outside its hours %s-%s", id,
					g.ReportBy.In(loc).Format("2006-01-02 15:04"), g.Departure.In(loc).Format("15:04"), rp.Opens, rp.Closes)
			}
			if rp.Capacity <= 0 {
				continue
			}
			at := 0
			for _, o := range gs {
				if !o.ReportBy.After(g.ReportBy) && o.Departure.After(g.ReportBy) {
					at += o.People
				}
			}
			if at > rp.Capacity {
				add("rally-capacity", id, "%d people at once at %s, more than it holds (%d)", at, g.ReportBy.Format(time.RFC3339), rp.Capacity)
				break
			}
		}
	}
	// The fleet: each group holds enough vehicles for its people from its
	// departure for twice its route's time (there and back), and never more
	// vehicles are out at once than the fleet has.
	if v := p.Params.Vehicles; v != nil && v.Count > 0 && v.Seats > 0 {
		type change struct {
			at time.Time
			n  int
		}
		var changes []change
		for _, g := range p.Groups {
			if need := (g.People + v.Seats - 1) / v.Seats; g.Vehicles < need {
				add("vehicles", g.ID, "%d people in %d vehicles of %d seats", g.People, g.Vehicles, v.Seats)
			}
			back := g.Departure.Add(2 * time.Duration(math.Ceil(g.Route.DurationS)) * time.Second)
			changes = append(changes, change{g.Departure, g.Vehicles}, change{back, -g.Vehicles})
		}
		sort.Slice(changes, func(i, j int) bool {
			if !changes[i].at.Equal(changes[j].at) {
				return changes[i].at.Before(changes[j].at)
			}
			return changes[i].n < changes[j].n // back before out
		})
		out := 0
		for _, c := range changes {
			if out += c.n; out > v.Count {
				add("fleet", "vehicles", "%d vehicles out at %s, the fleet has %d", out, c.at.Format(time.RFC3339), v.Count)
				break
			}
		}
	}
	sort.SliceStable(vs, func(i, j int) bool {
		if vs[i].Rule != vs[j].Rule {
			return vs[i].Rule < vs[j].Rule
		}
		return vs[i].Subject < vs[j].Subject
	})
	return vs
}

func checkLine(subject, rule string, r plan.Route, escape bool, zones []muster.Zone, add func(string, string, string, ...any)) {
	if r.Geometry == nil {
		add(rule, subject, "has no geometry")
		return
	}
	line, ok := r.Geometry.Coordinates.(orb.LineString)
	if !ok || len(line) < 2 {
		add(rule, subject, "geometry is not a LineString")
		return
	}
	if escape {
		return // starts inside a forbidden zone by the shortest way out, as documented
	}
	if cs := zonecost.CheckForbidden(line, zones); len(cs) > 0 {
		z := zones[cs[0].Zone]
		add("forbidden-crossing", subject, "its %s touches forbidden zone %q at %.6f,%.6f", strings.TrimSuffix(rule, "-route"), z.ID, cs[0].Point[1], cs[0].Point[0])
	}
}

func forbiddenAt(pl *muster.Place, zones []muster.Zone) string {
	var pt orb.Point
	switch g := pl.Geometry.(type) {
	case orb.Point:
		pt = g
	default:
		return ""
	}
	for _, i := range zonecost.Containing(pt, zones) {
		if zones[i].Forbidden {
			return zones[i].ID
		}
	}
	return ""
}

// openDuring reports whether [from, to] lies within one daily opening
// window "HH:MM"-"HH:MM" (local time; empty means always; a window whose
// close is not after its open runs past midnight).
func openDuring(opens, closes string, loc *time.Location, from, to time.Time) bool {
	o, c := minutes(opens, 0), minutes(closes, 1440)
	if (opens == "" && closes == "") || o == c || (o == 0 && c == 1440) {
		return true
	}
	lf := from.In(loc)
	for d := -1; d <= 1; d++ {
		day := time.Date(lf.Year(), lf.Month(), lf.Day()+d, 0, 0, 0, 0, loc)
		ws := day.Add(time.Duration(o) * time.Minute)
		end := c
		if c <= o {
			end += 1440
		}
		we := day.Add(time.Duration(end) * time.Minute)
		if !from.Before(ws.Add(-tolerance)) && !to.After(we.Add(tolerance)) {
			return true
		}
	}
	return false
}

func minutes(s string, def int) int {
	if s == "" {
		return def
	}
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil {
		return def
	}
	return int(math.Min(float64(hh*60+mm), 1440))
}
