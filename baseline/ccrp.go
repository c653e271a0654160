package baseline

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
)

// maxWaitSteps bounds how many steps a party may wait at one junction for
// a full arc; past it the arc is taken as closed for this search (a later
// gate step finds the way).
const maxWaitSteps = 96

// CCRPOptions tune CCRP; zero values take the defaults.
type CCRPOptions struct {
	// StepS is the time step capacities are counted in. Default: the
	// longest step in which no gate passes more people than its crowd
	// limit, and at most 600 s; a longer StepS is shortened to that too.
	StepS float64
	// FastPerHour, MediumPerHour and SlowPerHour are the people an arc
	// carries per hour: on fast roads (free-flow 45 km/h and above: primary,
	// trunk, motorway), medium ones (30-45 km/h: secondary, tertiary,
	// unclassified) and the rest (residential, living and service streets).
	// Defaults 1,800, 1,200 and 600.
	FastPerHour, MediumPerHour, SlowPerHour float64
}

func (o CCRPOptions) withDefaults() CCRPOptions {
	if o.StepS <= 0 {
		o.StepS = 600
	}
	if o.FastPerHour <= 0 {
		o.FastPerHour = 1800
	}
	if o.MediumPerHour <= 0 {
		o.MediumPerHour = 1200
	}
	if o.SlowPerHour <= 0 {
		o.SlowPerHour = 600
	}
	return o
}

// CCRP plans the evacuation with Lu, George and Shekhar's Capacity
// Constrained Route Planner (Lu, George, Shekhar: "Capacity Constrained
// Routing Algorithms for Evacuation Planning: A Summary of Results",
// SSTD 2005): while anyone is left, find the route, from any source with
// evacuees left to any destination, that reaches its destination earliest
// given the capacity still free on every arc and node at every time step;
// send along it as many as its tightest capacity allows; reserve that
// capacity.
//
// The network is the car graph under the threat picture (forbidden arcs
// closed); sources are the households' nearest nodes, households on one
// node pooled; destinations are the usable gates. Capacities are counted in
// time steps of opts.StepS: an arc carries a road-class rate (see
// CCRPOptions) per step, counted in the step a party enters it; a gate
// passes its throughput per step.
//
// What is simplified, and why:
//   - The search runs backward. The earliest any route can reach a gate is
//     the first step in which a gate still has passage left; so rather
//     than one earliest-arrival search from all sources over the whole
//     time-expanded graph, each search starts from the gates whose first
//     free step is earliest, and finds for every node the latest it can be
//     left to reach one of them in that step (waiting at a junction while
//     an arc is full), taking sources nearest first. If no source can make
//     it, that step can never be used (capacities only shrink) and the
//     next is tried. Every route found reaches its gate at the earliest
//     time any route could: CCRP's choice, up to ties.
//   - Parties reach a gate at the start of their step and pass in the
//     order they were routed, at the gate's throughput; the arc into a gate
//     is entered so as to arrive then (no waiting at the gate). The gate's
//     node capacity is its crowd limit, and the step is kept short enough
//     that one step's passage never exceeds it.
//   - Intermediate nodes have no capacity: a party may wait at any
//     junction for an arc's next step. The original bounds waiting by node
//     capacity; city junctions are not where an evacuation plan's limits
//     are.
//   - A search is reused, as CCRP++ (Yin et al. 2009) reuses its trees:
//     after a reservation it goes on from where it stopped, and once its
//     gates are full in a step it is moved one step later whole. A route
//     it offers is checked against the capacity left before it is used;
//     if a reservation made since has filled part of it, or the search
//     runs dry after reservations, a fresh search decides.
//   - No groups, households pooled per node, everyone by car: this is the
//     network-flow view of the problem, not muster's.
func CCRP(ctx context.Context, in Input, opts CCRPOptions) (Outcome, error) {
	res, err := ccrp(ctx, in, opts, false)
	return res.Outcome, err
}

// CCRPResult is CCRP's outcome with the flows it routed.
type CCRPResult struct {
	Outcome
	StepS float64 // the time step capacities were counted in
	Flows []Flow
}

// Flow is one reservation: people from one source along one route to a
// gate.
type Flow struct {
	Gate   string
	People int
	// Arcs of the car graph in travel order, and when the party enters
	// each (ms after the start; it may wait at a junction in between).
	Arcs    []uint32
	EnterMS []int64
	// From is the source node (the first arc's tail, or the gate's node
	// for a party that starts there).
	From uint32
	// ArriveS is when the party reaches the gate, ThroughS when its last
	// member is through (seconds after the start).
	ArriveS, ThroughS float64
}

// CCRPFlows runs CCRP and returns every flow it routed as well: for
// drawing its routes, and for checking them.
func CCRPFlows(ctx context.Context, in Input, opts CCRPOptions) (CCRPResult, error) {
	return ccrp(ctx, in, opts, true)
}

func ccrp(ctx context.Context, in Input, opts CCRPOptions, record bool) (CCRPResult, error) {
	var res CCRPResult
	o := opts.withDefaults()
	out := Outcome{Name: "CCRP", MaxQueue: map[string]int{}}
	n, err := newNetwork(ctx, in)
	if err != nil {
		res.Outcome = out
		return res, err
	}
	out.People, out.Unserved = n.people, n.unserved

	step := o.StepS
	for _, g := range n.gates {
		if g.crowdLimit > 0 && g.perSecond*step > float64(g.crowdLimit) {
			step = float64(g.crowdLimit) / g.perSecond
		}
	}
	stepMS := int64(math.Max(1, math.Floor(step*1000)))
	step = float64(stepMS) / 1000
	res.StepS = step

	// Arc capacity per step.
	arcCap := make([]int32, n.g.NumArcs())
	for a := range arcCap {
		rate := o.SlowPerHour
		switch v := n.arcKmh(uint32(a)); {
		case v >= 45:
			rate = o.FastPerHour
		case v >= 30:
			rate = o.MediumPerHour
		}
		arcCap[a] = int32(math.Max(1, math.Round(rate*step/3600)))
	}
	arcSteps := 0

	// Gate passage per step, kept as a real number (a fraction of a person
	// left in a step is lost, less than one person a step).
	type gateState struct {
		gate
		passed []float64 // per step: people through so far in it
		next   int64     // the first step that may still have room
	}
	gates := make([]*gateState, len(n.gates))
	for i, g := range n.gates {
		gates[i] = &gateState{gate: g}
	}
	stepCap := func(g *gateState) float64 { return g.perSecond * step }

	// Which nodes are sources, with how many left.
	left := make([]int, n.g.NumNodes())
	isSource := make([]bool, n.g.NumNodes())
	remaining := 0
	for _, s := range n.sources {
		left[s.node] += s.people
		isSource[s.node] = true
		remaining += s.people
	}
	// Sources cut off from every gate are unserved: found once, by a plain
	// backward search from each gate.
	reach := make([]bool, n.g.NumNodes())
	shortest := math.Inf(1)
	for _, g := range gates {
		tm, _ := n.towards(g.node)
		for u, t := range tm {
			if t != math.MaxInt64 {
				reach[u] = true
				if isSource[u] && left[u] > 0 {
					shortest = math.Min(shortest, float64(t)/1000)
				}
			}
		}
	}
	for u := range left {
		if isSource[u] && !reach[u] {
			out.Unserved += left[u]
			remaining -= left[u]
			left[u] = 0
		}
	}
	served := remaining

	// The open arcs into each node, packed for the backward search.
	type inArc struct {
		from, arc, timeMS uint32
		cap               int32
		used              []int32 // people reserved per step; made when first used
	}
	inFirst := make([]uint32, n.g.NumNodes()+1)
	var ins []inArc
	posOf := make([]uint32, n.g.NumArcs())
	for v := 0; v < n.g.NumNodes(); v++ {
		for i := n.rev.FirstOut[v]; i < n.rev.FirstOut[v+1]; i++ {
			if a := n.rev.Arc[i]; n.open[a] {
				posOf[a] = uint32(len(ins))
				ins = append(ins, inArc{from: n.rev.Head[i], arc: a, timeMS: n.g.TimeMS[a], cap: arcCap[a]})
			}
		}
		inFirst[v+1] = uint32(len(ins))
	}

	// People reserved on each arc in each step, kept with the arc in ins.
	used := func(a uint32, k int64) int32 {
		if row := ins[posOf[a]].used; k < int64(len(row)) {
			return row[k]
		}
		return 0
	}
	reserve := func(a uint32, k int64, f int32) {
		in := &ins[posOf[a]]
		if k >= int64(len(in.used)) {
			in.used = append(in.used, make([]int32, k+1-int64(len(in.used))+16)...)
		}
		in.used[k] += f
	}

	// Backward search state, per node.
	type label struct {
		latest     int64  // ms: the latest the node can be left
		pred       uint32 // the arc taken out of the node; none at a root
		root       int32  // the gate the node's way leads to
		seen, done uint32 // the search generation that set latest, that settled the node
	}
	const none = math.MaxUint32
	nn := n.g.NumNodes()
	lab := make([]label, nn)
	gen := uint32(0)
	pops := 0
	h := &heap{}
	var roots []int // gates searched from
	fresh, dirty := true, false
	rootFull := make([]bool, len(gates))
	var pruned []uint32
	var curStep int64
	// start searches backward from every gate whose first step with room
	// is the earliest.
	start := func() {
		gen++
		h.items = h.items[:0]
		pruned = pruned[:0]
		curStep = math.MaxInt64
		for _, g := range gates {
			for int64(len(g.passed)) > g.next && g.passed[g.next] > stepCap(g)-1 {
				g.next++ // less than one person's passage left: full
			}
			curStep = min(curStep, g.next)
		}
		roots = roots[:0]
		for i, g := range gates {
			rootFull[i] = g.next != curStep
			if g.next == curStep {
				roots = append(roots, i)
				lab[g.node] = label{latest: curStep * stepMS, pred: none, root: int32(i), seen: gen}
				h.push(item{key: -curStep * stepMS, node: g.node}) // max-heap on latest
			}
		}
	}
	// relax offers every arc into u: the latest it can be entered to leave
	// u by its latest, waiting at u while the arc is full.
	relax := func(u uint32) {
		lu := lab[u]
		for j := inFirst[u]; j < inFirst[u+1]; j++ {
			in := &ins[j]
			lv := &lab[in.from]
			if lv.done == gen {
				continue
			}
			row, c := in.used, in.cap
			enter := lu.latest - int64(in.timeMS)
			if enter < 0 {
				continue
			}
			k := enter / stepMS
			if lu.pred == none {
				if k < int64(len(row)) && row[k] >= c {
					continue // no waiting at the gate: its crowd is bounded by the step
				}
			} else {
				for tries := 0; k >= 0 && k < int64(len(row)) && row[k] >= c; tries++ {
					if tries == maxWaitSteps {
						k = -1
						break
					}
					k--
					enter = (k+1)*stepMS - 1
				}
				if k < 0 {
					continue
				}
			}
			if lv.seen != gen || enter > lv.latest {
				*lv = label{latest: enter, pred: in.arc, root: lu.root, seen: gen}
				h.push(item{key: -enter, node: in.from})
			}
		}
	}
	// search pops until a source with evacuees is settled; it returns that
	// node, or false when no source can be left at or after the start.
	search := func() (uint32, bool) {
		for h.len() > 0 {
			it := h.pop()
			pops++
			u := it.node
			l := &lab[u]
			if l.done == gen || -it.key != l.latest {
				continue
			}
			if l.latest < 0 {
				return 0, false
			}
			l.done = gen
			if rootFull[l.root] {
				// Its gate has no room left in the step: prune, until
				// the search moves on to the next step.
				pruned = append(pruned, u)
				continue
			}
			if l.pred != none && used(l.pred, l.latest/stepMS) >= arcCap[l.pred] {
				// A reservation since it was labelled filled its way:
				// prune (a fresh search, if one is needed, finds it
				// another way).
				dirty = true
				continue
			}
			if left[u] > 0 {
				return u, true
			}
			relax(u)
		}
		return 0, false
	}
	// route walks the tree from src to its gate and returns the people the
	// way can still take: reservations made since the search began may
	// have filled an arc it counted on.
	room := func(src uint32) float64 {
		g := gates[lab[src].root]
		r := math.Floor(stepCap(g) - passedAt(&g.passed, curStep) + 1e-9)
		for u := src; lab[u].pred != none; u = n.g.Head[lab[u].pred] {
			a := lab[u].pred
			r = min(r, float64(arcCap[a]-used(a, lab[u].latest/stepMS)))
		}
		return r
	}

	visits := make([][]visit, len(gates))
	rounds, searches, shifts := 0, 0, 0
	// nextRoots returns the gates the next step is searched from, when
	// the next step is the earliest with room at every gate searched from
	// now; false otherwise.
	nextRoots := func() ([]int, bool) {
		var next []int
		for i, g := range gates {
			k := g.next
			for int64(len(g.passed)) > k && g.passed[k] > stepCap(g)-1 {
				k++
			}
			if k <= curStep {
				return nil, false
			}
			if k == curStep+1 {
				next = append(next, i)
			}
		}
		for _, i := range roots {
			if !slices.Contains(next, i) {
				return nil, false
			}
		}
		return next, true
	}
	for remaining > 0 {
		if rounds%256 == 0 {
			if err := ctx.Err(); err != nil {
				return res, fmt.Errorf("CCRP: %w", err)
			}
		}
		rounds++
		if fresh {
			start()
			searches++
			fresh, dirty = false, false
		}
		src, ok := search()
		if !ok {
			if dirty {
				// The tree may have been too hopeful about what the
				// reservations since its start left free: search again.
				fresh = true
				continue
			}
			// No source can reach these gates in this step, for good
			// (capacities only shrink).
			for _, i := range roots {
				if gates[i].next == curStep {
					gates[i].next++
				}
			}
			if curStep > 1<<22 {
				return res, fmt.Errorf("CCRP: no source reaches any gate after %d steps", curStep)
			}
			fresh = true
			continue
		}
		flow := min(float64(left[src]), room(src))
		if flow < 1 {
			// A reservation since the search began filled its way: the
			// tree is stale, search again.
			fresh = true
			continue
		}
		gi := lab[src].root
		g := gates[gi]
		expo := 0.0
		for u := src; lab[u].pred != none; u = n.g.Head[lab[u].pred] {
			a := lab[u].pred
			arcSteps++
			reserve(a, lab[u].latest/stepMS, int32(flow))
			expo += float64(n.exposure[a])
		}
		f := int(flow)
		left[src] -= f
		remaining -= f
		arrive := float64(curStep) * step
		*passedRef(&g.passed, curStep) += flow
		through := arrive + g.passed[curStep]/g.perSecond
		visits[gi] = append(visits[gi], visit{arrive, through, f})
		if record {
			fl := Flow{Gate: g.id, People: f, From: src, ArriveS: arrive, ThroughS: through}
			for u := src; lab[u].pred != none; u = n.g.Head[lab[u].pred] {
				fl.Arcs = append(fl.Arcs, lab[u].pred)
				fl.EnterMS = append(fl.EnterMS, lab[u].latest)
			}
			res.Flows = append(res.Flows, fl)
		}
		out.MakespanS = math.Max(out.MakespanS, through)
		out.Exposure += flow * expo
		dirty = true
		rootFull[gi] = stepCap(g)-g.passed[curStep] < 1
		full := true
		for _, i := range roots {
			full = full && rootFull[i]
		}
		var next []int
		shift := full
		if shift {
			next, shift = nextRoots()
		}
		switch {
		case shift:
			// Every gate searched from is full in this step, and the
			// next step's gates are the same: the tree, moved one step
			// later, still leads to them. Go on with it rather than
			// start again; every way it offers is checked before use.
			curStep++
			for u := range lab {
				if lab[u].seen == gen {
					lab[u].latest += stepMS
				}
			}
			for i := range h.items {
				h.items[i].key -= stepMS
			}
			for _, u := range pruned {
				lab[u].done = 0
				h.push(item{key: -lab[u].latest, node: u})
			}
			pruned = pruned[:0]
			for _, i := range next {
				rootFull[i] = false
				if !slices.Contains(roots, i) {
					// A gate that was full in this step joins.
					g := gates[i]
					lab[g.node] = label{latest: curStep * stepMS, pred: none, root: int32(i), seen: gen}
					h.push(item{key: -curStep * stepMS, node: g.node})
				}
			}
			roots = append(roots[:0], next...)
			shifts++
			if left[src] > 0 {
				lab[src].done = 0
				h.push(item{key: -lab[src].latest, node: src})
			} else {
				relax(src)
			}
		case full:
			fresh = true
		default:
			relax(src)
		}
	}
	tp := 0.0
	for i, g := range gates {
		tp += g.perSecond
		out.MaxQueue[g.id] = maxWaiting(visits[i])
	}
	if served > 0 {
		out.LowerBoundS = float64(served)/tp + shortest
	}
	slog.Debug("CCRP", "rounds", rounds, "searches", searches, "shifts", shifts, "step_s", step, "arc_steps_reserved", arcSteps, "pops", pops)
	res.Outcome = out
	return res, nil
}

// passedAt is the people through in step k so far.
func passedAt(passed *[]float64, k int64) float64 {
	if k < int64(len(*passed)) {
		return (*passed)[k]
	}
	return 0
}

// passedRef is where step k's count is kept, the slice grown to hold it.
func passedRef(passed *[]float64, k int64) *float64 {
	for int64(len(*passed)) <= k {
		*passed = append(*passed, 0)
	}
	return &(*passed)[k]
}
