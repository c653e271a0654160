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
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
)

// maxCandidates is how many rally points, nearest first, each household
// keeps to fall back on.
const maxCandidates = 6

// candidate is a rally point a household can walk to, and the foot
// sweep's cost to it (ms, with the risk penalty: never less than the walk
// takes).
type candidate struct {
	rally int32
	cost  uint32
}

// home is a household being assigned.
type home struct {
	h     *muster.Household
	snap  roadgraph.Snap
	ends  [2]ending // where it meets the foot graph's nodes, and the cost to each
	nEnds int
	limit float64 // its longest walk, s
	cands []candidate
}

type ending struct{ node, cost uint32 }

// rallyFit is what a rally point can take: the largest group it can send
// (the maximum group size, its capacity, and the largest crowd limit of
// the gates it reaches) and how many people it can pass in the time the
// operation is expected to take.
type rallyFit struct {
	maxGroup int
	bound    string  // what bounds its groups, in words
	budget   float64 // people; +Inf without a capacity
	used     float64
	open     bool // open at some time within the horizon
}

// walkLimit is the longest walk a household is asked to make: shorter for
// those with mobility needs.
func walkLimit(p Params, h *muster.Household) float64 {
	if h.Priority == muster.PriorityMobility {
		return math.Min(p.MaxWalkS, p.MobilityMaxWalkS)
	}
	return p.MaxWalkS
}

// rallyFits says, per rally point, the largest group it can send and how
// many people it can take: its capacity, times the share of the expected
// operation it is open, over the time each group waits there. The
// expected operation is everyone over the usable gates' total throughput.
func rallyFits(p Params, in Input, gates []*gateState, rallies []*rallyState) []rallyFit {
	tp := 0.0
	for _, g := range gates {
		if g.Usable {
			tp += g.perSecond
		}
	}
	people := 0
	for i := range in.Households {
		people += max(0, in.Households[i].PartySize)
	}
	expected := p.HorizonS
	if tp > 0 {
		expected = math.Min(p.HorizonS, math.Max(3600, float64(people)/tp*1.1))
	}
	fits := make([]rallyFit, len(rallies))
	for ri, r := range rallies {
		f := &fits[ri]
		f.maxGroup, f.bound = 0, "the crowd limits of the gates it reaches"
		for gi, g := range gates {
			if g.Usable && r.toGate[gi] != nil {
				f.maxGroup = max(f.maxGroup, min(p.MaxGroupSize, g.CrowdLimit))
			}
		}
		if f.maxGroup == p.MaxGroupSize {
			f.bound = "the maximum group size"
		}
		if r.Capacity > 0 && r.Capacity < f.maxGroup {
			f.maxGroup, f.bound = r.Capacity, "its capacity"
		}
		f.open = openSeconds(r.hours, p.Start, p.HorizonS) >= p.AssemblyLeadS
		f.budget = math.Inf(1)
		if r.Capacity > 0 {
			f.budget = float64(r.Capacity) * openSeconds(r.hours, p.Start, expected) / p.AssemblyLeadS
		}
	}
	return fits
}

// openSeconds is how long h is open within the d seconds from t.
func openSeconds(h hours, t time.Time, d float64) float64 {
	if h.always {
		return d
	}
	end := t.Add(time.Duration(d * float64(time.Second)))
	open := 0.0
	for i := 0; i < 1000 && t.Before(end); i++ {
		from, to := h.window(t)
		if !from.Before(end) {
			break
		}
		open += to.Sub(from).Seconds()
		if to.After(end) {
			open -= to.Sub(end).Seconds()
		}
		t = to.Add(time.Second)
	}
	return open
}

// assignRallies sends each household to a rally point within its walking
// limit: the nearest under the threat picture (one many-to-one sweep of
// the foot graph per rally point) that can take it. A rally point can
// take a household that fits in one of its groups (within its capacity and
// the crowd limit of the gates it reaches) while it has room over time:
// households, the heaviest priority first and then the nearest, fall back
// to the next rally point when the nearest is full for the time the
// operation is expected to take, or closed for all of it. Those no rally
// point can take are unserved, each with the reason and what would serve
// it.
func assignRallies(ctx context.Context, in Input, p Params, rallies []*rallyState, fits []rallyFit, progress func(string, int, int)) ([]*member, []Unassigned) {
	var unassigned []Unassigned
	largest := 0
	for _, f := range fits {
		largest = max(largest, f.maxGroup)
	}
	var homes []*home
	for i := range in.Households {
		h := &in.Households[i]
		switch {
		case h.PartySize <= 0:
			unassigned = append(unassigned, Unassigned{h.ID, UnservedEmpty, "no people in the household"})
			continue
		case h.PartySize > p.MaxGroupSize:
			unassigned = append(unassigned, Unassigned{h.ID, UnservedTooLarge, fmt.Sprintf("a household of %d is larger than the largest group allowed (%d): raise the maximum group size (--max-group %d) or plan it by hand", h.PartySize, p.MaxGroupSize, h.PartySize)})
			continue
		case !h.HasLocation:
			unassigned = append(unassigned, Unassigned{h.ID, UnservedNoLocation, "no coordinates: locate the household first"})
			continue
		}
		s, _, err := snapHome(in, rallies, orb.Point{h.Lon, h.Lat})
		if err != nil {
			unassigned = append(unassigned, Unassigned{h.ID, UnservedNoRoad, "cannot walk from the household's location: " + err.Error()})
			continue
		}
		hm := &home{h: h, snap: s, limit: walkLimit(p, h)}
		hm.setEnds(in.Foot)
		homes = append(homes, hm)
	}

	var usable []int
	for ri, r := range rallies {
		if r.Usable && fits[ri].open {
			usable = append(usable, ri)
		}
	}
	if len(usable) == 0 {
		why := "no rally point is usable: " + rallyReasons(rallies, fits)
		for _, hm := range homes {
			unassigned = append(unassigned, Unassigned{hm.h.ID, UnservedNoRally, why})
		}
		return nil, unassigned
	}
	sweepRallies(ctx, in, rallies, usable, homes, progress)

	// Choose, the heaviest priority first, then the nearest.
	slices.SortStableFunc(homes, func(a, b *home) int {
		if c := cmp.Compare(weightOf(p, b.h), weightOf(p, a.h)); c != 0 {
			return c
		}
		return cmp.Compare(firstCost(a), firstCost(b))
	})
	choice := make([]int, len(homes))
	for i, hm := range homes {
		choice[i] = -1
		fallback := -1
		for k, c := range hm.cands {
			f := &fits[c.rally]
			if hm.h.PartySize > f.maxGroup {
				continue
			}
			if float64(c.cost)/1000 > hm.limit && k > 0 {
				break // farther than it may walk (the nearest is tried in any case)
			}
			if f.used+float64(hm.h.PartySize) <= f.budget {
				choice[i] = k
				break
			}
			if fallback < 0 {
				fallback = k
			}
		}
		if choice[i] < 0 {
			choice[i] = fallback // every one in reach is full: the nearest that fits, later
		}
		if k := choice[i]; k >= 0 {
			fits[hm.cands[k].rally].used += float64(hm.h.PartySize)
		}
	}

	// Walking routes, in parallel, to the rally point chosen; a walk longer
	// than the limit (the sweep's cost counts risk) falls back to the next.
	members := make([]*member, len(homes))
	reasons := make([]Unassigned, len(homes))
	var mu sync.Mutex
	var wg sync.WaitGroup
	var done int
	jobs := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				members[i], reasons[i] = walkHome(ctx, in, p, rallies, fits, homes[i], choice[i], largest)
				mu.Lock()
				done++
				if done%512 == 0 {
					progress("walking routes", done, len(homes))
				}
				mu.Unlock()
			}
		}()
	}
	for i := range homes {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	var out []*member
	for i, m := range members {
		if m != nil {
			out = append(out, m)
		} else if reasons[i].Reason != "" {
			unassigned = append(unassigned, reasons[i])
		}
	}
	return out, unassigned
}

func firstCost(h *home) uint32 {
	if len(h.cands) == 0 {
		return route.Inf
	}
	return h.cands[0].cost
}

// setEnds finds where the home meets the foot graph's nodes and the cost
// of the stretch to each, as route.Router.CostAt counts them.
func (hm *home) setEnds(foot *route.Router) {
	s, g, w := hm.snap, foot.Graph(), foot.Weights()
	add := func(node, cost uint32, frac float64) {
		if cost != route.Inf {
			hm.ends[hm.nEnds] = ending{node, uint32(math.Round(float64(cost) * frac))}
			hm.nEnds++
		}
	}
	switch {
	case s.Arc == route.Inf || s.Fraction <= 0:
		add(s.Tail, 0, 0)
	case s.Fraction >= 1:
		add(g.Head[s.Arc], 0, 0)
	default:
		add(g.Head[s.Arc], w[s.Arc], 1-s.Fraction)
		if s.Reverse >= 0 {
			add(s.Tail, w[s.Reverse], s.Fraction)
		}
	}
}

// costTo is the home's cost to the target of a one-to-all sweep.
func (hm *home) costTo(costs []uint32) uint32 {
	best := uint32(route.Inf)
	for _, e := range hm.ends[:hm.nEnds] {
		if c := costs[e.node]; c != route.Inf {
			best = min(best, c+e.cost)
		}
	}
	return best
}

// sweepRallies keeps, for each home, the maxCandidates rally points it can
// walk to at least cost: one sweep of the foot graph per rally point,
// spread over the cores, merged once per sweep.
func sweepRallies(ctx context.Context, in Input, rallies []*rallyState, usable []int, homes []*home, progress func(string, int, int)) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := 0
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]uint32, len(homes))
			for {
				mu.Lock()
				if next >= len(usable) || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				ri := usable[next]
				next++
				if next%16 == 0 {
					progress("walking distances to rally points", next, len(usable))
				}
				mu.Unlock()
				rs, err := in.Foot.Snap(rallies[ri].point)
				if err != nil {
					continue
				}
				costs := in.Foot.CostsTo(rs)
				for i, hm := range homes {
					mine[i] = hm.costTo(costs)
				}
				mu.Lock()
				for i, hm := range homes {
					if c := mine[i]; c != route.Inf {
						hm.offer(candidate{int32(ri), c})
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// offer keeps c among the home's cheapest candidates (ties: the lower
// rally point index, so that the result does not depend on the order the
// sweeps finish in).
func (hm *home) offer(c candidate) {
	less := func(a, b candidate) bool { return a.cost < b.cost || (a.cost == b.cost && a.rally < b.rally) }
	if len(hm.cands) == maxCandidates && !less(c, hm.cands[maxCandidates-1]) {
		return
	}
	i := len(hm.cands)
	for i > 0 && less(c, hm.cands[i-1]) {
		i--
	}
	if len(hm.cands) < maxCandidates {
		hm.cands = append(hm.cands, candidate{})
	}
	copy(hm.cands[i+1:], hm.cands[i:])
	hm.cands[i] = c
}

// walkHome routes a household to its chosen candidate, falling back to the
// next that can take it when the walk is longer than its limit; a home no
// sweep reached (inside a forbidden zone, or cut off by one) is routed out
// to the nearest rally points.
func walkHome(ctx context.Context, in Input, p Params, rallies []*rallyState, fits []rallyFit, hm *home, chosen, largest int) (*member, Unassigned) {
	h := hm.h
	if len(hm.cands) == 0 {
		return walkTo(ctx, in, p, rallies, h, -1)
	}
	if chosen < 0 {
		// Every rally point within reach is too small for it.
		var parts []string
		for _, c := range hm.cands {
			r := rallies[c.rally]
			if float64(c.cost)/1000 > hm.limit {
				break
			}
			parts = append(parts, fmt.Sprintf("%s: %d, %s", r.ID, fits[c.rally].maxGroup, fits[c.rally].bound))
		}
		if len(parts) == 0 {
			c := hm.cands[0]
			return nil, maxWalkReason(p, h, rallies[c.rally].ID, float64(c.cost)/1000, hm.limit)
		}
		return nil, Unassigned{h.ID, UnservedTooLarge, fmt.Sprintf("a household of %d is larger than any group the rally points within its walk can send (%s): raise the capacity of one of them, or plan it by hand (groups elsewhere hold up to %d)", h.PartySize, strings.Join(parts, "; "), largest)}
	}
	// The one chosen, then the others nearest first (those passed over as
	// full among them: better late than not at all).
	order := make([]int, 0, len(hm.cands))
	order = append(order, chosen)
	for k := range hm.cands {
		if k != chosen {
			order = append(order, k)
		}
	}
	var first *Unassigned
	for _, k := range order {
		c := hm.cands[k]
		if h.PartySize > fits[c.rally].maxGroup {
			continue
		}
		if kw, ok := in.knownWalks[h.ID]; ok && kw.rally == rallies[c.rally].ID && kw.route.DurationS <= hm.limit {
			return &member{h: h, route: kw.route, walkS: kw.route.DurationS, rally: int(c.rally), cands: hm.cands[k+1:]}, Unassigned{}
		}
		m, why := walkTo(ctx, in, p, rallies, h, int(c.rally))
		if m != nil {
			m.cands = hm.cands[k+1:]
			return m, Unassigned{}
		}
		if first == nil {
			first = &why
		}
		if why.Code != UnservedMaxWalk {
			break
		}
	}
	return nil, *first
}

// fallBack walks a household whose group no gate could take to the next
// rally point within its walk that can take it, or returns nil.
func fallBack(ctx context.Context, in Input, p Params, rallies []*rallyState, fits []rallyFit, m *member) *member {
	for k, c := range m.cands {
		if m.h.PartySize > fits[c.rally].maxGroup || float64(c.cost)/1000 > 2*walkLimit(p, m.h) {
			continue
		}
		if nm, _ := walkTo(ctx, in, p, rallies, m.h, int(c.rally)); nm != nil {
			nm.cands = m.cands[k+1:]
			return nm
		}
	}
	return nil
}

// maxWalkReason says a household is too far from every rally point, and
// what would serve it.
func maxWalkReason(p Params, h *muster.Household, rally string, walkS, limit float64) Unassigned {
	need := int(math.Ceil(walkS / 60))
	why := fmt.Sprintf("the nearest rally point (%s) is a %.0f min walk away, more than the %.0f min allowed", rally, walkS/60, limit/60)
	if limit < p.MaxWalkS {
		why += fmt.Sprintf(" for a household with mobility needs: --max-walk-mobility %d would serve it, or a vehicle", need)
	} else {
		why += fmt.Sprintf(": --max-walk %d would serve it, or a rally point nearer to it", need)
	}
	return Unassigned{h.ID, UnservedMaxWalk, why}
}

// walkTo routes a household to rally point ri, or, when no sweep reached it
// (its home lies in a forbidden zone, or the zones cut it off), to the
// nearest rally points by the router's way out of the zone.
func walkTo(ctx context.Context, in Input, p Params, rallies []*rallyState, h *muster.Household, ri int) (*member, Unassigned) {
	home := orb.Point{h.Lon, h.Lat}
	// The walk starts on the home's road (snapHome), and only rally
	// points on that road's piece of the foot network can be walked to.
	from, piece := home, int32(-1)
	if s, at, err := snapHome(in, rallies, home); err == nil {
		from, piece = at, piecesOf(in.Foot.Graph()).label[s.Tail]
	}
	candidates := []int{ri}
	if ri < 0 {
		candidates = nearestRallies(rallies, home, 3, piece)
		if len(candidates) == 0 && piece >= 0 {
			return nil, cutOffReason(in, h, piece)
		}
	}
	limit := walkLimit(p, h)
	var lastErr error
	var tooFar *Unassigned
	for _, c := range candidates {
		res, err := in.Foot.Route(ctx, route.Request{From: from, To: rallies[c].point})
		if err != nil {
			lastErr = err
			continue
		}
		if res.Approach != nil {
			continue // the rally point itself is in a forbidden zone
		}
		walkS := res.Routes[0].DurationS
		if res.Escape != nil {
			walkS += res.Escape.DurationS
		}
		if walkS > limit {
			if tooFar == nil {
				u := maxWalkReason(p, h, rallies[c].ID, walkS, limit)
				tooFar = &u
			}
			continue
		}
		return &member{h: h, route: walkRoute(res), walkS: walkS, rally: c}, Unassigned{}
	}
	if tooFar != nil {
		return nil, *tooFar
	}
	if lastErr != nil && muster.ErrorCode(lastErr) != muster.EUNREACHABLE {
		return nil, Unassigned{h.ID, UnservedNoRoad, "cannot walk to a rally point: " + lastErr.Error()}
	}
	return nil, Unassigned{h.ID, UnservedUnreachable, "no rally point can be reached on foot without crossing a forbidden zone"}
}

func nearestRallies(rallies []*rallyState, p orb.Point, k int, piece int32) []int {
	type cand struct {
		i int
		d float64
	}
	var cs []cand
	for i, r := range rallies {
		if r.Usable && (piece < 0 || r.footPiece == piece) {
			cs = append(cs, cand{i, muster.DistanceM(p[0], p[1], r.point[0], r.point[1])})
		}
	}
	slices.SortFunc(cs, func(a, b cand) int { return cmp.Compare(a.d, b.d) })
	var out []int
	for i := 0; i < len(cs) && i < k; i++ {
		out = append(out, cs[i].i)
	}
	return out
}

// rallyReasons summarises why rally points are unusable, most common first.
func rallyReasons(rallies []*rallyState, fits []rallyFit) string {
	if len(rallies) == 0 {
		return "the places file has no rally point"
	}
	count := map[string]int{}
	for ri, r := range rallies {
		for _, why := range r.Reasons {
			count[why]++
		}
		if r.Usable && fits != nil && !fits[ri].open {
			count["not open within the planning horizon"]++
		}
	}
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if count[a] != count[b] {
			return count[b] - count[a]
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for i, k := range keys {
		if i == 3 {
			break
		}
		parts = append(parts, fmt.Sprintf("%d of %d: %s", count[k], len(rallies), k))
	}
	return strings.Join(parts, "; ")
}
