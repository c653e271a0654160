package plan

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
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
	// RevisionLead, for a re-plan, is how long after it is made (State.At)
	// its revisions reach the field: the operator's approval and the radio
	// to escorts. A group due to leave before then leaves as the plan it
	// revises says, so a re-plan keeps its turn as it keeps those of groups
	// on the move; and a group re-routed on the move turns only then. Zero:
	// at once.
	RevisionLead time.Duration

	// knownWalks, in a fresh re-plan, are the walks of the plan revised
	// that are still safe, by household: a household sent to the same
	// rally point again walks the same way, without routing it again.
	knownWalks map[string]knownWalk
}

// knownWalk is a household's walk to a rally point, still safe.
type knownWalk struct {
	rally string
	route Route
}

type member struct {
	h     *muster.Household
	route Route // the walk to the rally point
	walkS float64
	rally int
	cands []candidate // rally points to fall back on, nearest first
}

// secs turns seconds into a duration rounded up to whole seconds: every
// time in a plan is a whole second, as instructions give them.
func secs(s float64) time.Duration { return time.Duration(math.Ceil(s)) * time.Second }

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
	// Households to rally points, then into groups sized for the gates
	// each rally point reaches.
	fits := rallyFits(p, in, gates, rallies)
	members, unassigned := assignRallies(ctx, in, p, rallies, fits, progress)
	pl.Unassigned = unassigned
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	s := newScheduler(p, gates, rallies, newFleet(p, p.Start))
	la := relax(p, gates, rallies, fits, members, false)
	s.guideBy(la)
	newID := groupIDs(map[string]bool{})
	failed, err := s.schedule(ctx, pl, formGroups(p, members, fits, la), newID, progress)
	if err != nil {
		return nil, err
	}
	// Groups no gate can take in time fall back, household by household, to
	// the next rally point within their walk.
	for round := 0; round < 2 && len(failed) > 0; round++ {
		var moved []*member
		for _, f := range failed {
			for _, m := range f.d.members {
				if nm := fallBack(ctx, in, p, rallies, fits, m); nm != nil {
					moved = append(moved, nm)
				} else {
					pl.Unassigned = append(pl.Unassigned, Unassigned{m.h.ID, UnservedNoGate, f.why})
				}
			}
		}
		if failed, err = s.schedule(ctx, pl, formGroups(p, moved, fits, nil), newID, progress); err != nil {
			return nil, err
		}
	}
	for _, f := range failed {
		f.unserve(pl)
	}

	for _, g := range gates {
		g.finish()
		pl.Gates = append(pl.Gates, g.Gate)
	}
	for _, r := range rallies {
		r.finish()
		pl.RallyPoints = append(pl.RallyPoints, r.RallyPoint)
	}
	summarize(pl, in, gates, rallies)
	// The hours-aware bound (each gate within its hours, from the first
	// moment anyone can drive to it) when it is tighter: with gates that
	// open late, the throughput bound alone is far below anything
	// possible.
	if b := round1(replanBound(pl, p.Start, gates, rallies)); b > pl.Summary.LowerBoundS {
		pl.Summary.LowerBoundS = b
		pl.Summary.Ratio = math.Round(pl.Summary.MakespanS/b*1000) / 1000
	}
	pl.Summary.FluidBoundS = round1(fluidBound(pl, p, gates, rallies, fits))
	// Every plan, a re-plan too, says who walks on roads closed to
	// pedestrians and what would serve those no rally point is within
	// walking distance of.
	pl.Reach = reachOf(in.Foot.Graph(), pl, suggest(ctx, in, p, pl, gates))
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("plan: %w", err) // the suggestions were cut short
	}
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
		g := newGateState(Gate{ID: pl.ID, Name: pl.Name, Lat: pt[1], Lon: pt[0], Status: status,
			ThroughputPerHour: pl.ThroughputPerHour, CrowdLimit: pl.CrowdLimit, Opens: pl.Opens, Closes: pl.Closes, Usable: true}, pt, 0, h, p.Start)
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
		r.footPiece = pieceAt(in.Foot, pt)
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
					rt.Geometry = gridLine(rt.Geometry) // once: every group of the pair shares it (lineRoute)
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
	toGrid(line) // its own copy: rounded where it is
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
	bound    int     // the crowd limit of the gates it was sized for, or 0
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
//
// With a look-ahead that sends some of a rally point's people to gates
// holding fewer than its groups may have, that many people, from its
// households without priority small enough for such a gate, are grouped
// for it (bound, the gate's crowd limit) first.
func formGroups(p Params, members []*member, fits []rallyFit, la *lookahead) []*draft {
	byRally := make([][]*member, len(fits))
	for _, m := range members {
		byRally[m.rally] = append(byRally[m.rally], m)
	}
	var drafts []*draft
	for ri, ms := range byRally {
		sortForGroups(p, ms)
		if la != nil && guide.sizing && len(la.small[ri]) > 0 {
			limits := slices.Sorted(maps.Keys(la.small[ri]))
			for _, lim := range limits {
				need := la.small[ri][lim]
				var bound, rest []*member
				for _, m := range ms {
					if need > 0 && !m.h.IsPriority() && m.h.PartySize <= lim {
						bound = append(bound, m)
						need -= m.h.PartySize
					} else {
						rest = append(rest, m)
					}
				}
				for _, d := range packGroups(p, ri, bound, lim) {
					d.bound = lim
					drafts = append(drafts, d)
				}
				ms = rest
			}
		}
		drafts = append(drafts, packGroups(p, ri, ms, fits[ri].maxGroup)...)
	}
	return drafts
}

// sortForGroups orders a rally point's households for packing: the
// heaviest weight first, priority before none, then by walk, the larger
// first.
func sortForGroups(p Params, ms []*member) {
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
}

// packGroups packs households, in order, into groups of at most maxGroup.
func packGroups(p Params, ri int, ms []*member, maxGroup int) []*draft {
	var drafts, open []*draft
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
	return drafts
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
