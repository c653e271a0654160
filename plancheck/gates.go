package plancheck

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// gates reports the groups sent through a gate they may not use, then
// re-simulates each gate's queue from the plan's arrivals: first come,
// first served, at the gate's throughput (its restricted share only from
// when it became restricted), within its hours and its crowd limit.
func (c *checker) gates() {
	byGate := map[string][]*groupFact{}
	for _, gf := range c.groups {
		if gf.gate == nil {
			continue
		}
		g, gt := gf.g, gf.gate
		switch gf.atGate {
		case "":
			byGate[g.Gate] = append(byGate[g.Gate], gf)
		case RuleMovingGateClosed:
			c.add(RuleMovingGateClosed, g.ID, "left at %s, and gate %s became %s at %s while it was on the move; it must be re-routed, yet it is still sent there (through at %s)",
				fmtT(g.Departure), g.Gate, gt.unusable, fmtT(gt.unusableSince), fmtT(g.Through))
		default:
			since := "always"
			if !gt.unusableSince.IsZero() {
				since = "since " + fmtT(gt.unusableSince)
			}
			c.add(gf.atGate, g.ID, "sent through gate %s (through at %s), which is %s (%s)", g.Gate, fmtT(g.Through), gt.unusable, since)
		}
	}
	ids := make([]string, 0, len(byGate))
	for id := range byGate {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		c.queue(c.gateInfo[id], byGate[id])
	}
}

// stay is a group's time at a gate or rally point, and its people.
type stay struct {
	from, to time.Time
	people   int
}

func (c *checker) queue(gt *gateFact, gs []*groupFact) {
	slices.SortStableFunc(gs, func(a, b *groupFact) int {
		if c := a.g.Arrival.Compare(b.g.Arrival); c != 0 {
			return c
		}
		return a.g.Through.Compare(b.g.Through)
	})
	pl := gt.place
	var free time.Time
	stays := make([]stay, 0, len(gs))
	for _, gf := range gs {
		g := gf.g
		begin := g.Arrival
		if free.After(begin) {
			begin = free
		}
		earliest := gt.passEnd(begin, gf.people)
		if g.Through.Add(TimeTolerance).Before(earliest) {
			c.add(RuleGateThroughput, g.ID, "through gate %s by %s, but at %s the earliest is %s", pl.ID, fmtT(g.Through), gt.rate(), fmtT(earliest))
		}
		through := g.Through
		if through.Before(earliest) {
			through = earliest
		}
		free = through
		from := gt.passStart(through, gf.people)
		if !openDuring(pl.Opens, pl.Closes, c.loc, from, through) {
			c.add(RuleGateHours, g.ID, "passes gate %s from %s to %s, outside its hours %s-%s", pl.ID,
				from.In(c.loc).Format("2006-01-02 15:04"), through.In(c.loc).Format("15:04"), pl.Opens, pl.Closes)
		}
		stays = append(stays, stay{g.Arrival, through, gf.people})
	}
	if n, at := peak(stays); n > pl.CrowdLimit {
		c.add(RuleGateCrowd, pl.ID, "%d people at the gate at %s, more than its crowd limit %d", n, fmtT(at), pl.CrowdLimit)
	}
}

// rateChange is a gate's throughput from a moment on: people per second.
type rateChange struct {
	at   time.Time // zero: from the beginning of time
	rate float64
}

// withRateFrom returns rates with the throughput from t on replaced by
// rate.
func withRateFrom(rates []rateChange, t time.Time, rate float64) []rateChange {
	var out []rateChange
	for _, r := range rates {
		if !r.at.Before(t) {
			break
		}
		out = append(out, r)
	}
	return append(out, rateChange{at: t, rate: rate})
}

// measuredRate is the rate the field measured at a gate, people per
// second, and whether it applies: in a re-plan, from At on, when it is
// lower than the rate planned (the places file's, or its restricted
// share), as the planner takes it (plan.State.GateRates).
func (c *checker) measuredRate(gate string, planned float64) (float64, bool) {
	if c.in.State == nil || !c.replan() {
		return 0, false
	}
	r, ok := c.in.State.GateRates[gate]
	if !ok || r < 0 || math.IsNaN(r) || r/3600 >= planned {
		return 0, false
	}
	return r / 3600, true
}

// rate says the gate's throughput in words.
func (gt *gateFact) rate() string {
	var parts []string
	for i, r := range gt.rates {
		s := fmt.Sprintf("%.0f people an hour", r.rate*3600)
		if i > 0 {
			s += " from " + fmtT(r.at)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// farFuture stands for never: a passage a gate that passes nobody does
// not end.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// passEnd is when n people who start through the gate at begin are all
// through, at the gate's throughput as it changes over time.
func (gt *gateFact) passEnd(begin time.Time, n int) time.Time {
	need := float64(n)
	rs := gt.rates
	for i, r := range rs {
		if i+1 < len(rs) && !begin.Before(rs[i+1].at) {
			continue // over before begin
		}
		if i+1 < len(rs) {
			// Until the next change.
			span := rs[i+1].at.Sub(begin).Seconds()
			if r.rate > 0 && need <= span*r.rate {
				return begin.Add(secs(need / r.rate))
			}
			need -= span * r.rate
			begin = rs[i+1].at
			continue
		}
		if r.rate <= 0 {
			if need <= 0 {
				return begin
			}
			return farFuture
		}
		return begin.Add(secs(need / r.rate))
	}
	return begin
}

// passStart is when n people all through by end began to pass.
func (gt *gateFact) passStart(end time.Time, n int) time.Time {
	need := float64(n)
	rs := gt.rates
	for i := len(rs) - 1; i >= 0; i-- {
		r := rs[i]
		if i > 0 && !end.After(r.at) {
			continue // begins after end
		}
		if i > 0 {
			span := end.Sub(r.at).Seconds()
			if r.rate > 0 && need <= span*r.rate {
				return end.Add(-secs(need / r.rate))
			}
			need -= span * r.rate
			end = r.at
			continue
		}
		if r.rate <= 0 {
			return end
		}
		return end.Add(-secs(need / r.rate))
	}
	return end
}

// peak returns the most people present at once, and when: a stay counts
// from its start, inclusive, to its end, exclusive.
func peak(stays []stay) (int, time.Time) {
	starts := slices.Clone(stays)
	slices.SortFunc(starts, func(a, b stay) int { return a.from.Compare(b.from) })
	ends := slices.Clone(stays)
	slices.SortFunc(ends, func(a, b stay) int { return a.to.Compare(b.to) })
	best, cur, j := 0, 0, 0
	var at time.Time
	for i := 0; i < len(starts); {
		t := starts[i].from
		for ; i < len(starts) && starts[i].from.Equal(t); i++ {
			cur += starts[i].people
		}
		for ; j < len(ends) && !ends[j].to.After(t); j++ {
			cur -= ends[j].people
		}
		if cur > best {
			best, at = cur, t
		}
	}
	return best, at
}

// rallies checks every rally point: not in a forbidden zone for the groups
// that gather there after the picture changed, within its hours, never
// holding more people at once than its capacity.
func (c *checker) rallies() {
	byRally := map[string][]*groupFact{}
	for _, gf := range c.groups {
		if gf.rally == nil {
			continue
		}
		g := gf.g
		if len(gf.rallyZones) > 0 {
			c.add(RuleRallyForbidden, g.ID, "gathers at rally point %s until %s, but it lies in forbidden zone %s", g.RallyPoint, fmtT(g.Departure), c.zoneName(gf.rallyZones[0]))
		}
		if !openDuring(gf.rally.Opens, gf.rally.Closes, c.loc, g.ReportBy, g.Departure) {
			c.add(RuleRallyHours, g.ID, "waits at %s from %s to %s, outside its hours %s-%s", g.RallyPoint,
				g.ReportBy.In(c.loc).Format("2006-01-02 15:04"), g.Departure.In(c.loc).Format("15:04"), gf.rally.Opens, gf.rally.Closes)
		}
		byRally[g.RallyPoint] = append(byRally[g.RallyPoint], gf)
	}
	ids := make([]string, 0, len(byRally))
	for id := range byRally {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := c.places[id]
		if r.Capacity <= 0 {
			continue // no limit given
		}
		var stays []stay
		for _, gf := range byRally[id] {
			if gf.g.Departure.After(gf.g.ReportBy) {
				stays = append(stays, stay{gf.g.ReportBy, gf.g.Departure, gf.people})
			}
		}
		if n, at := peak(stays); n > r.Capacity {
			c.add(RuleRallyCapacity, id, "%d people at once at %s, more than it holds (%d)", n, fmtT(at), r.Capacity)
		}
	}
}

// fleet checks, with a fleet given, that each group holds enough vehicles
// for its people, from its departure for twice its route's time (there and
// back), and that never more vehicles are out at once than the fleet has.
func (c *checker) fleet() {
	v := c.lim.Fleet
	if v == nil || v.Count <= 0 || v.Seats <= 0 {
		return
	}
	var out []stay
	for _, gf := range c.groups {
		g := gf.g
		if need := (gf.people + v.Seats - 1) / v.Seats; g.Vehicles < need {
			c.add(RuleVehicles, g.ID, "%d people in %d vehicles of %d seats", gf.people, g.Vehicles, v.Seats)
		}
		back := g.Departure.Add(2 * time.Duration(math.Ceil(g.Route.DurationS)) * time.Second)
		if g.Vehicles > 0 && back.After(g.Departure) {
			out = append(out, stay{g.Departure, back, g.Vehicles})
		}
	}
	if n, at := peak(out); n > v.Count {
		c.add(RuleFleet, "vehicles", "%d vehicles out at %s, the fleet has %d", n, fmtT(at), v.Count)
	}
}

// overall checks that a plan with people to move moves them: a gate is
// open, and somebody is in a group.
func (c *checker) overall() {
	var closed []string
	open := 0
	ids := make([]string, 0, len(c.gateInfo))
	for id := range c.gateInfo {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if gt := c.gateInfo[id]; gt.unusable == "" {
			open++
		} else {
			closed = append(closed, id+" "+gt.unusable)
		}
	}
	households, people := 0, 0
	for i := range c.in.Households {
		h := &c.in.Households[i]
		if h.PartySize > 0 && len(c.inGroups[h.ID]) == 0 {
			households++
			people += h.PartySize
		}
	}
	if households == 0 {
		return
	}
	switch {
	case open == 0 && len(ids) == 0:
		c.add(RuleNoOpenGate, "gates", "the places file has no gate; %d households (%d people) are not moved", households, people)
	case open == 0:
		c.add(RuleNoOpenGate, "gates", "no gate is open (%s); %d households (%d people) are not moved", strings.Join(closed, "; "), households, people)
	case len(c.groups) == 0:
		codes := map[string]int{}
		for _, u := range c.p.Unassigned {
			codes[u.Code]++
		}
		keys := make([]string, 0, len(codes))
		for k := range codes {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			return codes[keys[i]] > codes[keys[j]] || (codes[keys[i]] == codes[keys[j]] && keys[i] < keys[j])
		})
		var why []string
		for _, k := range keys {
			why = append(why, fmt.Sprintf("%d %s", codes[k], k))
		}
		c.add(RuleNobodyAssigned, "plan", "%d households (%d people) to move, and no group moves anyone (unserved: %s)", households, people, strings.Join(why, ", "))
	}
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
		if !from.Before(ws.Add(-TimeTolerance)) && !to.After(we.Add(TimeTolerance)) {
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
