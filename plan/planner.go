package plan

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/route"
	"github.com/muster-evac/muster/zonecost"
)

// Input is what a plan is made from. The routers carry the threat picture
// (their zones are set); GateStatus overrides the places file's gate
// statuses with the picture's (place id -> open|restricted|closed), and
// GateReasons says why.
type Input struct {
	Car, Foot   *route.Router
	Places      *muster.Places
	Households  []muster.Household
	GateStatus  map[string]string
	GateReasons map[string][]string
	Params      Params
	// Progress, if set, is told how far each stage is.
	Progress func(stage string, done, total int)
}

// gateState is a gate's schedule as it is built: groups go through one
// after another at the gate's throughput, arrivals never go back in time,
// and the people at the gate (arrived, not yet through) never exceed its
// crowd limit.
type gateState struct {
	Gate
	point     orb.Point
	perSecond float64 // people per second
	hours     hours
	free      time.Time // when the gate has processed everyone scheduled so far
	lastArr   time.Time
	visits    []visit // in arrival order
}

// crowdMargin is how much longer than its stated through time a group is
// counted at its gate: the plan states times rounded up to the second, and
// a re-simulation from those (plancheck's) may see a group through up to a
// second after the time stated.
const crowdMargin = time.Second

type visit struct {
	arrive, through time.Time
	people          int
}

// waitingAt counts the people at the gate at t: arrived and not through.
// Visits are booked in order and go through one after another, so their
// through times never decrease: those still at the gate are a suffix.
func (g *gateState) waitingAt(t time.Time) int {
	n := 0
	for i := g.firstNotThrough(t); i < len(g.visits); i++ {
		if v := g.visits[i]; !v.arrive.After(t) {
			n += v.people
		}
	}
	return n
}

// firstNotThrough returns the index of the first visit not through by t.
func (g *gateState) firstNotThrough(t time.Time) int {
	return sort.Search(len(g.visits), func(i int) bool { return g.visits[i].through.After(t) })
}

// slot finds the earliest turn at the gate for a group that can arrive
// from earliest on: its arrival (a whole second), the exact start of its
// passage and the exact moment its last member is through. The gate's clock
// is exact: passages follow one another at the gate's throughput without
// rounding, and only the times the plan states are whole seconds.
func (g *gateState) slot(earliest time.Time, people int, earlyS float64) (arrive, start, through time.Time) {
	pass := g.pass(people)
	start = g.hours.fit(maxTime(earliest, g.free), pass)
	arrive = maxTime(earliest, ceilSecond(start.Add(-secs(earlyS))), g.lastArr)
	if arrive.After(start) {
		start = g.hours.fit(arrive, pass)
	}
	// Crowd limit: arrive only when enough of those ahead are through.
	for g.waitingAt(arrive)+people > g.CrowdLimit {
		i := g.firstNotThrough(arrive)
		if i >= len(g.visits) {
			break
		}
		arrive = g.visits[i].through
		if arrive.After(start) {
			start = g.hours.fit(arrive, pass)
		}
	}
	return arrive, start, start.Add(pass)
}

// pass is how long people take to go through the gate, exactly.
func (g *gateState) pass(people int) time.Duration {
	return time.Duration(float64(people) / g.perSecond * float64(time.Second))
}

// book takes the turn slot found: the gate's clock runs on from the exact
// end of the passage, the plan states it rounded up to the second.
func (g *gateState) book(arrive, through time.Time, people int) {
	g.visits = append(g.visits, visit{arrive, ceilSecond(through).Add(crowdMargin), people})
	g.free = through
	g.lastArr = arrive
	g.People += people
	g.Groups++
	if w := g.waitingAt(arrive); w > g.MaxWaiting {
		g.MaxWaiting = w
	}
	if t := ceilSecond(through); t.After(g.LastThrough) {
		g.LastThrough = t
	}
}

type rallyState struct {
	RallyPoint
	point  orb.Point
	hours  hours
	toGate []*route.Route // per gate; nil when unreachable
	stays  []visit        // [report by, departure) of each group
}

// atOnce counts the people at the rally point at t.
func (r *rallyState) atOnce(t time.Time) int {
	n := 0
	for _, s := range r.stays {
		if !s.arrive.After(t) && s.through.After(t) {
			n += s.people
		}
	}
	return n
}

// fits reports whether people more can stay over [from, to).
func (r *rallyState) fits(from, to time.Time, people int) bool {
	if r.Capacity <= 0 {
		return true
	}
	if r.atOnce(from)+people > r.Capacity {
		return false
	}
	for _, s := range r.stays {
		if s.arrive.After(from) && s.arrive.Before(to) && r.atOnce(s.arrive)+people > r.Capacity {
			return false
		}
	}
	return true
}

type member struct {
	h     *muster.Household
	route Route // the walk to the rally point
	walkS float64
	rally int
}

func maxTime(ts ...time.Time) time.Time {
	m := ts[0]
	for _, t := range ts[1:] {
		if t.After(m) {
			m = t
		}
	}
	return m
}

// secs turns seconds into a duration rounded up to whole seconds: every
// time in a plan is a whole second, as instructions give them.
func secs(s float64) time.Duration { return time.Duration(math.Ceil(s)) * time.Second }

// ceilSecond rounds t up to a whole second.
func ceilSecond(t time.Time) time.Time {
	if r := t.Truncate(time.Second); r.Before(t) {
		return r.Add(time.Second)
	}
	return t
}

// Make builds a plan.
func Make(ctx context.Context, in Input) (*Plan, error) {
	p := in.Params.WithDefaults()
	if in.Car == nil || in.Foot == nil || in.Places == nil {
		return nil, muster.Errorf(muster.EINVALID, "plan: a car graph, a foot graph and places are needed")
	}
	loc := time.UTC
	if in.Places.Timezone != "" {
		l, err := time.LoadLocation(in.Places.Timezone)
		if err != nil {
			return nil, muster.Errorf(muster.EINVALID, "plan: places time zone %q: %v", in.Places.Timezone, err)
		}
		loc = l
	}
	progress := in.Progress
	if progress == nil {
		progress = func(string, int, int) {}
	}
	pl := &Plan{Version: FormatVersion, Status: "proposed", CreatedAt: time.Now().UTC().Truncate(time.Second), Params: p}

	gates, err := prepareGates(in, p, loc)
	if err != nil {
		return nil, err
	}
	rallies, err := prepareRallies(ctx, in, p, loc, gates, progress)
	if err != nil {
		return nil, err
	}
	maxGroup := p.MaxGroupSize
	for _, g := range gates {
		if g.Usable && g.CrowdLimit > 0 && g.CrowdLimit < maxGroup {
			maxGroup = g.CrowdLimit // a group must fit at its gate
		}
	}

	// Households to rally points.
	members, unassigned := assignRallies(ctx, in, p, rallies, maxGroup, progress)
	pl.Unassigned = unassigned
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}

	drafts := formGroups(p, members, len(rallies), maxGroup)
	if err := schedule(ctx, pl, p, gates, rallies, newFleet(p, p.Start), drafts, groupIDs(map[string]bool{}), progress); err != nil {
		return nil, err
	}

	for _, g := range gates {
		pl.Gates = append(pl.Gates, g.Gate)
	}
	for _, r := range rallies {
		pl.RallyPoints = append(pl.RallyPoints, r.RallyPoint)
	}
	summarize(pl, in, gates, rallies)
	pl.Zones = zonesDoc(in.Car.Zones())
	return pl, nil
}

// weightOf is a household's priority weight.
func weightOf(p Params, h *muster.Household) int {
	if !h.IsPriority() {
		return 0
	}
	return p.PriorityWeights[h.Priority]
}

func inForbidden(p orb.Point, zones []muster.Zone) string {
	for _, i := range zonecost.Containing(p, zones) {
		if zones[i].Forbidden {
			if zones[i].Name != "" {
				return zones[i].Name
			}
			return zones[i].ID
		}
	}
	return ""
}

func prepareGates(in Input, p Params, loc *time.Location) ([]*gateState, error) {
	var gates []*gateState
	zones := in.Car.Zones()
	for i := range in.Places.Places {
		pl := &in.Places.Places[i]
		if pl.Kind != muster.PlaceGate {
			continue
		}
		pt, ok := pl.Point()
		if !ok {
			continue
		}
		h, err := newHours(pl.Opens, pl.Closes, loc)
		if err != nil {
			return nil, muster.Errorf(muster.EINVALID, "gate %s: %v", pl.ID, err)
		}
		status := pl.Status
		if s, ok := in.GateStatus[pl.ID]; ok {
			status = s
		}
		if status == "" {
			status = muster.GateOpen
		}
		g := &gateState{point: pt, hours: h, Gate: Gate{ID: pl.ID, Name: pl.Name, Lat: pt[1], Lon: pt[0], Status: status,
			ThroughputPerHour: pl.ThroughputPerHour, CrowdLimit: pl.CrowdLimit, Opens: pl.Opens, Closes: pl.Closes, Usable: true}}
		g.Reasons = append(g.Reasons, in.GateReasons[pl.ID]...)
		tp := float64(pl.ThroughputPerHour)
		if status == muster.GateRestricted {
			tp *= p.RestrictedFactor
			g.Reasons = append(g.Reasons, fmt.Sprintf("restricted: %.0f%% of its throughput", p.RestrictedFactor*100))
		}
		g.perSecond = tp / 3600
		switch {
		case status == muster.GateClosed:
			g.Usable = false
			if len(g.Reasons) == 0 {
				g.Reasons = append(g.Reasons, "closed")
			}
		case tp <= 0:
			g.Usable = false
			g.Reasons = append(g.Reasons, "no throughput given")
		case pl.CrowdLimit <= 0:
			g.Usable = false
			g.Reasons = append(g.Reasons, "no crowd limit given")
		}
		if z := inForbidden(pt, zones); z != "" && g.Usable {
			g.Usable = false
			g.Reasons = append(g.Reasons, fmt.Sprintf("inside forbidden zone %q", z))
		}
		if _, err := in.Car.Snap(pt); err != nil {
			g.Usable = false
			g.Reasons = append(g.Reasons, err.Error())
		}
		g.free = p.Start
		gates = append(gates, g)
	}
	return gates, nil
}

func prepareRallies(ctx context.Context, in Input, p Params, loc *time.Location, gates []*gateState, progress func(string, int, int)) ([]*rallyState, error) {
	var rallies []*rallyState
	zones := in.Car.Zones()
	for i := range in.Places.Places {
		pl := &in.Places.Places[i]
		if pl.Kind != muster.PlaceRally {
			continue
		}
		pt, ok := pl.Point()
		if !ok {
			continue
		}
		h, err := newHours(pl.Opens, pl.Closes, loc)
		if err != nil {
			return nil, muster.Errorf(muster.EINVALID, "rally point %s: %v", pl.ID, err)
		}
		r := &rallyState{point: pt, hours: h, toGate: make([]*route.Route, len(gates)),
			RallyPoint: RallyPoint{ID: pl.ID, Name: pl.Name, Lat: pt[1], Lon: pt[0], Capacity: pl.Capacity, Opens: pl.Opens, Closes: pl.Closes, Usable: true}}
		if z := inForbidden(pt, zones); z != "" {
			r.Usable = false
			r.Reasons = append(r.Reasons, fmt.Sprintf("inside forbidden zone %q", z))
		}
		rallies = append(rallies, r)
	}
	// Drive from every rally point to every usable gate, in parallel.
	type job struct{ r, g int }
	jobs := make(chan job)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	total := len(rallies) * len(gates)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				res, err := in.Car.Route(ctx, route.Request{From: rallies[j.r].point, To: gates[j.g].point})
				mu.Lock()
				if err == nil && res.Escape == nil && res.Approach == nil {
					rt := res.Routes[0]
					rallies[j.r].toGate[j.g] = &rt
				}
				done++
				if done%64 == 0 {
					progress("routing rally points to gates", done, total)
				}
				mu.Unlock()
			}
		}()
	}
	for ri, r := range rallies {
		for gi, g := range gates {
			if r.Usable && g.Usable && ctx.Err() == nil {
				jobs <- job{ri, gi}
			}
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	for _, r := range rallies {
		if r.Usable && !slices.ContainsFunc(r.toGate, func(rt *route.Route) bool { return rt != nil }) {
			r.Usable = false
			if !slices.ContainsFunc(gates, func(g *gateState) bool { return g.Usable }) {
				r.Reasons = append(r.Reasons, "no gate is open ("+gateSummary(gates)+")")
			} else {
				r.Reasons = append(r.Reasons, "no open gate can be reached from it without crossing a forbidden zone")
			}
		}
	}
	return rallies, nil
}

func walkRoute(res *route.Result) Route {
	var line orb.LineString
	var dur, dist, exp float64
	escape := false
	if res.Escape != nil {
		line = append(line, res.Escape.Geometry...)
		dur, dist, exp = res.Escape.DurationS, res.Escape.DistanceM, res.Escape.Exposure
		escape = true
	}
	rt := res.Routes[0]
	line = append(line, rt.Geometry...)
	r := lineRoute(line, dur+rt.DurationS, dist+rt.DistanceM, exp+rt.Exposure)
	r.Escape = escape
	return r
}

func summarize(pl *Plan, in Input, gates []*gateState, rallies []*rallyState) {
	s := &pl.Summary
	s.Households = len(in.Households)
	for i := range in.Households {
		s.People += in.Households[i].PartySize
	}
	s.Groups = len(pl.Groups)
	var last time.Time
	for _, g := range pl.Groups {
		s.AssignedPeople += g.People
		s.MaxGroupSize = max(s.MaxGroupSize, g.People)
		s.TotalExposure += float64(g.People) * g.Route.Exposure
		if g.Through.After(last) {
			last = g.Through
		}
	}
	for _, h := range pl.Households {
		s.TotalExposure += float64(h.People) * h.Walk.Exposure
	}
	if !last.IsZero() {
		s.MakespanS = last.Sub(pl.Params.Start).Seconds()
	}
	// Lower bound: the assigned people through all usable gates at full
	// throughput, after the shortest trip anyone could make.
	tp := 0.0
	for _, g := range gates {
		if g.Usable {
			tp += g.perSecond
		}
	}
	shortest := math.Inf(1)
	for _, r := range rallies {
		for _, rt := range r.toGate {
			if rt != nil {
				shortest = math.Min(shortest, rt.DurationS)
			}
		}
	}
	if tp > 0 && !math.IsInf(shortest, 1) && s.AssignedPeople > 0 {
		s.LowerBoundS = round1(float64(s.AssignedPeople)/tp + shortest)
		s.Ratio = math.Round(s.MakespanS/s.LowerBoundS*1000) / 1000
	}
	s.MakespanS = round1(s.MakespanS)
	s.TotalExposure = round1(s.TotalExposure)
	slices.SortFunc(pl.Unassigned, func(a, b Unassigned) int { return cmp.Compare(a.Household, b.Household) })
	slices.SortFunc(pl.Households, func(a, b Household) int { return cmp.Compare(a.ID, b.ID) })
}

// draft is a group before it has a gate and times.
type draft struct {
	id       string // kept from an earlier plan, or "" for a new group
	rally    int
	members  []*member
	people   int
	priority bool
	weight   int     // the priority weight its households share
	readyS   float64 // seconds after start when all can be at the rally point
	firstS   float64 // seconds after start when the first can be there
	reason   string  // why a re-plan moves it
}

// gatherWindowS bounds how much later than its first household a group's
// last household may be able to reach the rally point: households are
// grouped in the order they can arrive, and a household only joins an
// earlier group that is not full when it adds no more than this to the
// group's wait.
const gatherWindowS = 300

// formGroups packs each rally point's households into groups: the highest
// priority weight first; within a weight, in the order they can reach the
// rally point (shortest walk first), so that a group can gather when its
// last member arrives, as soon as possible. A household goes into the
// first group of its weight that has room and whose first household
// arrived no more than gatherWindowS before it; groups never exceed the
// maximum group size and never mix weights.
func formGroups(p Params, members []*member, nRallies, maxGroup int) []*draft {
	byRally := make([][]*member, nRallies)
	for _, m := range members {
		byRally[m.rally] = append(byRally[m.rally], m)
	}
	var drafts []*draft
	for ri, ms := range byRally {
		slices.SortStableFunc(ms, func(a, b *member) int {
			if c := cmp.Compare(weightOf(p, b.h), weightOf(p, a.h)); c != 0 {
				return c
			}
			if a.h.IsPriority() != b.h.IsPriority() {
				if a.h.IsPriority() {
					return -1
				}
				return 1
			}
			if c := cmp.Compare(a.walkS, b.walkS); c != 0 {
				return c
			}
			return cmp.Compare(b.h.PartySize, a.h.PartySize)
		})
		var open []*draft
		for _, m := range ms {
			w := weightOf(p, m.h)
			// Groups of another weight, full ones and those gathered too
			// long ago are closed.
			open = slices.DeleteFunc(open, func(d *draft) bool {
				return d.weight != w || d.priority != m.h.IsPriority() || d.people >= maxGroup || m.walkS-d.firstS > gatherWindowS
			})
			var into *draft
			for _, d := range open {
				if d.people+m.h.PartySize <= maxGroup {
					into = d
					break
				}
			}
			if into == nil {
				into = &draft{rally: ri, priority: m.h.IsPriority(), weight: w, firstS: m.walkS}
				open = append(open, into)
				drafts = append(drafts, into)
			}
			into.members = append(into.members, m)
			into.people += m.h.PartySize
			into.readyS = math.Max(into.readyS, m.walkS)
		}
	}
	return drafts
}

// schedule gives each group a gate and times, priority groups first, then
// those ready earliest: each takes the gate where its last member is
// through soonest, then with the least exposure, within the gates' and
// rally points' limits as booked so far.
func schedule(ctx context.Context, pl *Plan, p Params, gates []*gateState, rallies []*rallyState, fl *fleet, drafts []*draft, newID func() string, progress func(string, int, int)) error {
	// Within each priority class, groups whose rally point keeps hours go
	// first: they can only leave while it is open, while the others can
	// fill the night. Each gate's queue only grows at its end, so a group
	// scheduled late can never use gate time left idle before it.
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
	lead := secs(p.AssemblyLeadS)
	for i, d := range drafts {
		if i%256 == 0 {
			progress("scheduling groups", i, len(drafts))
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("plan: %w", err)
			}
		}
		r := rallies[d.rally]
		ready := p.Start.Add(secs(d.readyS))
		need := fl.need(d.people)
		if fl != nil && need > len(fl.free) {
			for _, m := range d.members {
				pl.Unassigned = append(pl.Unassigned, Unassigned{m.h.ID, UnservedNoGate, fmt.Sprintf("its group of %d needs %d vehicles of %d seats; the fleet has %d", d.people, need, fl.seats, len(fl.free))})
			}
			continue
		}
		var best struct {
			gate                    int
			arrive, through, depart time.Time
			exposure                float64
		}
		best.gate = -1
		for delay := time.Duration(0); best.gate < 0 && delay < 72*time.Hour; delay += 10 * time.Minute {
			for gi, g := range gates {
				rt := r.toGate[gi]
				if !g.Usable || rt == nil {
					continue
				}
				travel := secs(rt.DurationS)
				// The group leaves once gathered, within the rally point's
				// hours, when enough vehicles are back.
				leave := r.hours.fit(maxTime(ready.Add(delay), fl.freeAt(need)), 0)
				arrive, _, through := g.slot(leave.Add(travel), d.people, p.GateEarlyS)
				depart := arrive.Add(-travel)
				reportBy := maxTime(depart.Add(-lead), ready)
				if !r.fits(reportBy, depart, d.people) || !r.hours.contains(reportBy, depart) {
					continue
				}
				exp := rt.Exposure * float64(d.people)
				if best.gate < 0 || through.Before(best.through) || (through.Equal(best.through) && exp < best.exposure) {
					best.gate, best.arrive, best.through, best.depart, best.exposure = gi, arrive, through, depart, exp
				}
			}
		}
		if best.gate < 0 {
			for _, m := range d.members {
				pl.Unassigned = append(pl.Unassigned, Unassigned{m.h.ID, UnservedNoGate, fmt.Sprintf("no gate can take a group from rally point %s within 72 hours (all unreachable, closed or full)", r.ID)})
			}
			continue
		}
		g := gates[best.gate]
		g.book(best.arrive, best.through, d.people)
		fl.take(need, best.depart.Add(2*secs(rallies[d.rally].toGate[best.gate].DurationS)))
		reportBy := maxTime(best.depart.Add(-lead), ready)
		r.stays = append(r.stays, visit{reportBy, best.depart, d.people})
		r.People += d.people
		r.Groups++
		r.MaxAtOnce = max(r.MaxAtOnce, r.atOnce(reportBy))
		rt := r.toGate[best.gate]
		id := d.id
		if id == "" {
			id = newID()
		}
		grp := Group{ID: id, RallyPoint: r.ID, Gate: g.ID,
			Departure: best.depart, Arrival: best.arrive, Through: ceilSecond(best.through), ReportBy: reportBy,
			People: d.people, Priority: d.priority, Weight: d.weight, Vehicles: need,
			Route: lineRoute(rt.Geometry, rt.DurationS, rt.DistanceM, rt.Exposure)}
		for _, m := range d.members {
			grp.Households = append(grp.Households, m.h.ID)
			hp := Household{ID: m.h.ID, RallyPoint: r.ID, Group: grp.ID, ReportBy: reportBy, People: m.h.PartySize}
			if m.h.IsPriority() {
				hp.Priority = m.h.Priority
			}
			hp.Walk = m.route
			pl.Households = append(pl.Households, hp)
		}
		pl.Groups = append(pl.Groups, grp)
	}
	progress("scheduling groups", len(drafts), len(drafts))
	return nil
}

// groupIDs hands out group ids G00001, G00002, ... skipping those taken.
func groupIDs(taken map[string]bool) func() string {
	n := 0
	return func() string {
		for {
			n++
			if id := fmt.Sprintf("G%05d", n); !taken[id] {
				taken[id] = true
				return id
			}
		}
	}
}

// gateSummary says each gate's state in a few words.
func gateSummary(gates []*gateState) string {
	var parts []string
	for _, g := range gates {
		why := g.Status
		if len(g.Reasons) > 0 {
			why = g.Reasons[len(g.Reasons)-1]
		}
		parts = append(parts, g.ID+": "+why)
	}
	return strings.Join(parts, "; ")
}

// fleet is the vehicles' availability: when each is back and free. A nil
// fleet is a plan without vehicles: every group has its own transport.
type fleet struct {
	seats int
	free  []time.Time // sorted
}

func newFleet(p Params, from time.Time) *fleet {
	if p.Vehicles == nil || p.Vehicles.Count <= 0 || p.Vehicles.Seats <= 0 {
		return nil
	}
	f := &fleet{seats: p.Vehicles.Seats, free: make([]time.Time, p.Vehicles.Count)}
	for i := range f.free {
		f.free[i] = from
	}
	return f
}

// need is how many vehicles a group of people needs (0 without a fleet).
func (f *fleet) need(people int) int {
	if f == nil {
		return 0
	}
	return (people + f.seats - 1) / f.seats
}

// freeAt is when n vehicles are free at once.
func (f *fleet) freeAt(n int) time.Time {
	if f == nil || n == 0 || n > len(f.free) {
		return time.Time{}
	}
	return f.free[n-1]
}

// take holds the n vehicles free soonest until back.
func (f *fleet) take(n int, back time.Time) {
	if f == nil || n == 0 {
		return
	}
	for i := 0; i < n && i < len(f.free); i++ {
		f.free[i] = back
	}
	slices.SortFunc(f.free, func(a, b time.Time) int { return a.Compare(b) })
}
