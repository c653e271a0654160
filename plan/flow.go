package plan

import (
	"math"
	"slices"
	"time"

	"github.com/muster-evac/muster"
)

// The look-ahead: a fluid relaxation of the schedule, solved before any
// group is booked, that says how many people each rally point should send
// to each gate. It is a transportation problem: rally points, split by
// household size where some gate holds fewer people than a group may have
// (households larger than a gate's crowd limit can never pass it), supply
// their people; each gate takes at most its throughput over the time it is
// open between the first moment anyone can reach it and a makespan T. The
// least T for which everyone fits is found by bisection (feasibility by
// Gale's condition on the gates: few, so every subset is tried), then a
// min-cost flow at that T spreads the people at least total driving time.
// SCHEDULER.md says what it is used for and what it gains.

// lookahead is the relaxation's answer.
type lookahead struct {
	T    float64     // the fluid makespan: seconds after the start
	flow [][]float64 // [rally][gate]: people
	// small is, per rally point, how many of its people go to each gate
	// whose crowd limit is below its groups' size, by that limit.
	small []map[int]int
}

// source is a rally point's households of one size class.
type source struct {
	rally   int
	maxSize int // its households hold at most this many people
	people  int
	gates   uint64 // the gates it may use (bit per gate)
}

// relax solves the look-ahead for the members assigned to rally points.
// It returns nil when there is nothing to relax (no members, no gate, or
// more than 64 gates). With nominal, gates pass people at their full
// throughput: T is then a lower bound on the makespan of any schedule of
// these members (fluidBound); without, a gate that takes one group at a
// time is expected to lose half a second between groups.
func relax(p Params, gates []*gateState, rallies []*rallyState, fits []rallyFit, members []*member, nominal bool) *lookahead {
	if len(members) == 0 || len(gates) == 0 || len(gates) > 64 {
		return nil
	}
	// Earliest arrival at each gate, and the size classes.
	readyMin := make([]float64, len(rallies))
	for i := range readyMin {
		readyMin[i] = math.Inf(1)
	}
	for _, m := range members {
		readyMin[m.rally] = math.Min(readyMin[m.rally], m.walkS)
	}
	earliest := make([]float64, len(gates))
	for gi := range earliest {
		earliest[gi] = math.Inf(1)
	}
	for ri, r := range rallies {
		for gi, rt := range r.toGate {
			if rt != nil && gates[gi].Usable && !math.IsInf(readyMin[ri], 1) {
				earliest[gi] = math.Min(earliest[gi], readyMin[ri]+rt.DurationS)
			}
		}
	}
	var limits []int // crowd limits below some rally point's group size, ascending
	for _, g := range gates {
		if g.Usable && !slices.Contains(limits, g.CrowdLimit) {
			limits = append(limits, g.CrowdLimit)
		}
	}
	slices.Sort(limits)
	classOf := func(size int) int { // the least limit holding size
		i, _ := slices.BinarySearch(limits, size)
		return i
	}
	key := func(ri, class int) int { return ri*(len(limits)+1) + class }
	idx := map[int]int{}
	var sources []source
	for _, m := range members {
		c := classOf(m.h.PartySize)
		k := key(m.rally, c)
		i, ok := idx[k]
		if !ok {
			maxSize := math.MaxInt
			if c < len(limits) {
				maxSize = limits[c]
			}
			var set uint64
			for gi, g := range gates {
				if g.Usable && rallies[m.rally].toGate[gi] != nil && g.CrowdLimit >= min(maxSize, fits[m.rally].maxGroup) {
					set |= 1 << gi
				}
			}
			if set == 0 {
				continue
			}
			i = len(sources)
			idx[k] = i
			sources = append(sources, source{rally: m.rally, maxSize: maxSize, gates: set})
		}
		sources[i].people += m.h.PartySize
	}
	if len(sources) == 0 {
		return nil
	}
	// A gate whose crowd limit is less than what it passes in the time a
	// group may wait before its turn takes its groups one at a time, each
	// arriving when the one before is through, stated to the second: half
	// a second idle between groups, on average.
	rate := make([]float64, len(gates))
	for gi, g := range gates {
		rate[gi] = g.perSecond
		if !nominal && float64(g.CrowdLimit) < g.perSecond*p.GateEarlyS {
			pass := 0.8 * float64(g.CrowdLimit) / g.perSecond
			rate[gi] *= pass / (pass + 0.5)
		}
	}
	capAt := func(T float64) []float64 {
		c := make([]float64, len(gates))
		for gi, g := range gates {
			if g.Usable && T > earliest[gi] {
				from := p.Start.Add(time.Duration(earliest[gi] * float64(time.Second)))
				c[gi] = rate[gi] * openSeconds(g.hours, from, T-earliest[gi])
			}
		}
		return c
	}
	// Gale: every set of sources fits the gates it may use.
	supplyWithin := make([]float64, 1<<len(gates))
	if len(gates) <= 16 {
		for _, s := range sources {
			supplyWithin[s.gates] += float64(s.people)
		}
		for bit := 0; bit < len(gates); bit++ { // sum over subsets
			for A := range supplyWithin {
				if A&(1<<bit) != 0 {
					supplyWithin[A] += supplyWithin[A^(1<<bit)]
				}
			}
		}
	}
	feasible := func(T float64) bool {
		c := capAt(T)
		if len(gates) > 16 {
			return maxFlow(sources, c) >= total(sources)-0.5
		}
		for A := 1; A < len(supplyWithin); A++ {
			capA := 0.0
			for gi := range gates {
				if A&(1<<gi) != 0 {
					capA += c[gi]
				}
			}
			if supplyWithin[A] > capA+1e-6 {
				return false
			}
		}
		return true
	}
	lo, hi := 0.0, p.HorizonS
	if !feasible(hi) {
		if hi = 100 * p.HorizonS; nominal && feasible(hi) {
			lo = p.HorizonS // a bound beyond the horizon is still a bound
		} else {
			return nil
		}
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if feasible(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	if nominal {
		return &lookahead{T: hi}
	}
	la := &lookahead{T: hi, flow: make([][]float64, len(rallies)), small: make([]map[int]int, len(rallies))}
	for ri := range la.flow {
		la.flow[ri] = make([]float64, len(gates))
	}
	// Spread the people at least driving time within those capacities.
	c := capAt(hi * 1.0005)
	for si, f := range minCostFlow(sources, c, func(si, gi int) float64 { return rallies[sources[si].rally].toGate[gi].DurationS }) {
		for gi, x := range f {
			if x <= 0 {
				continue
			}
			s := sources[si]
			la.flow[s.rally][gi] += x
			if g := gates[gi]; g.CrowdLimit < fits[s.rally].maxGroup {
				if la.small[s.rally] == nil {
					la.small[s.rally] = map[int]int{}
				}
				la.small[s.rally][g.CrowdLimit] += int(math.Round(x))
			}
		}
	}
	return la
}

func total(sources []source) float64 {
	t := 0.0
	for _, s := range sources {
		t += float64(s.people)
	}
	return t
}

// maxFlow is the most people the sources can send within the gates'
// capacities (for many gates, where Gale's condition has too many subsets).
func maxFlow(sources []source, caps []float64) float64 {
	f := minCostFlow(sources, caps, func(int, int) float64 { return 0 })
	sent := 0.0
	for _, row := range f {
		for _, x := range row {
			sent += x
		}
	}
	return sent
}

// minCostFlow sends as much of the sources' people as the gates' capacities
// allow, at least cost (cost per person from source si to gate gi), by
// successive shortest paths on the bipartite network: source -> gate arcs
// are uncapacitated, so a path alternates between sources and gates, and
// Bellman-Ford over the gates (few) finds it.
func minCostFlow(sources []source, caps []float64, cost func(si, gi int) float64) [][]float64 {
	nG := len(caps)
	flow := make([][]float64, len(sources))
	for i := range flow {
		flow[i] = make([]float64, nG)
	}
	left := make([]float64, len(sources))
	for i, s := range sources {
		left[i] = float64(s.people)
	}
	room := slices.Clone(caps)
	// For each source with people left, push them along the cheapest
	// augmenting path to a gate with room, re-routing earlier flow
	// between gates if that is cheaper (the residual arcs gate -> source
	// exist where flow runs).
	for {
		// dist[g]: the least cost to reach gate g from any source with
		// people left; via: the source it came from, and the gate before
		// (-1: straight from the source).
		dist := make([]float64, nG)
		viaSrc := make([]int, nG)
		viaGate := make([]int, nG)
		for g := range dist {
			dist[g], viaSrc[g], viaGate[g] = math.Inf(1), -1, -1
		}
		for si, s := range sources {
			if left[si] <= 1e-9 {
				continue
			}
			for g := 0; g < nG; g++ {
				if s.gates&(1<<g) != 0 {
					if c := cost(si, g); c < dist[g] {
						dist[g], viaSrc[g], viaGate[g] = c, si, -1
					}
				}
			}
		}
		// Relax gate -> source (undo flow) -> gate.
		for iter := 0; iter < nG; iter++ {
			changed := false
			for g := 0; g < nG; g++ {
				if math.IsInf(dist[g], 1) {
					continue
				}
				for si, s := range sources {
					if flow[si][g] <= 1e-9 {
						continue
					}
					for h := 0; h < nG; h++ {
						if h == g || s.gates&(1<<h) == 0 {
							continue
						}
						if c := dist[g] - cost(si, g) + cost(si, h); c < dist[h]-1e-9 {
							dist[h], viaSrc[h], viaGate[h] = c, si, g
							changed = true
						}
					}
				}
			}
			if !changed {
				break
			}
		}
		// The cheapest gate with room.
		best := -1
		for g := 0; g < nG; g++ {
			if room[g] > 1e-9 && !math.IsInf(dist[g], 1) && (best < 0 || dist[g] < dist[best]) {
				best = g
			}
		}
		if best < 0 {
			return flow
		}
		// The amount: the room at the end, what the first source has
		// left, and the flow undone along the way.
		amount := room[best]
		for g := best; ; {
			si, prev := viaSrc[g], viaGate[g]
			if prev < 0 {
				amount = math.Min(amount, left[si])
				break
			}
			amount = math.Min(amount, flow[si][prev])
			g = prev
		}
		room[best] -= amount
		for g := best; ; {
			si, prev := viaSrc[g], viaGate[g]
			flow[si][g] += amount
			if prev < 0 {
				left[si] -= amount
				break
			}
			flow[si][prev] -= amount
			g = prev
		}
	}
}

// fluidBound is the least makespan any schedule of the plan's groups could
// have: the people through each gate, from the first moment anyone could
// reach it, at its full throughput within its hours, each household only
// through gates that hold it, each rally point's people only through the
// gates it reaches; rally points' hours and capacities, group sizes and
// the order of passage are relaxed. Seconds after the start; 0 without
// groups.
func fluidBound(pl *Plan, p Params, gates []*gateState, rallies []*rallyState, fits []rallyFit) float64 {
	rallyIx := map[string]int{}
	for i, r := range rallies {
		rallyIx[r.ID] = i
	}
	hh := map[string]*Household{}
	for i := range pl.Households {
		hh[pl.Households[i].ID] = &pl.Households[i]
	}
	var ms []*member
	for _, g := range pl.Groups {
		ri, ok := rallyIx[g.RallyPoint]
		if !ok {
			continue
		}
		for _, id := range g.Households {
			if h := hh[id]; h != nil {
				ms = append(ms, &member{h: &muster.Household{ID: id, PartySize: h.People}, walkS: h.Walk.DurationS, rally: ri})
			}
		}
	}
	if la := relax(p, gates, rallies, fits, ms, true); la != nil {
		return la.T
	}
	return 0
}
