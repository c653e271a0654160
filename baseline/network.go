// Package baseline holds what muster's planner is measured against, on the
// same scenario and in the same run:
//
//   - NearestGate: what happens without muster. Every household drives, as
//     soon as the operation starts, by the shortest path to its nearest
//     gate and queues there; the gate lets people through first come,
//     first served at its throughput.
//   - CCRP: Lu, George and Shekhar's Capacity Constrained Route Planner
//     (2005), a practical version on the car graph (see ccrp.go for what is
//     simplified).
//
// Both report an Outcome, as does a plan (FromPlan), so that the three
// can be printed side by side.
package baseline

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
	"github.com/muster-evac/muster/zonecost"
)

// Input is what a baseline runs on. The car router carries the threat
// picture (its zones); GateStatus overrides the places file's gate
// statuses, as for the planner.
type Input struct {
	Car        *route.Router
	Places     *muster.Places
	Households []muster.Household
	GateStatus map[string]string
	// RestrictedFactor is the share of its throughput a restricted gate
	// keeps; default 0.5, as the planner's.
	RestrictedFactor float64
	// MaxSnapM is how far from a car road node a household or gate may be;
	// default 1,000 m.
	MaxSnapM float64
}

// gate is a usable gate on the car graph.
type gate struct {
	id         string
	node       uint32
	perSecond  float64 // people per second
	crowdLimit int
}

// network is the car graph as the baselines see it under the threat
// picture: forbidden arcs are closed (road blocks), every other arc takes
// its free-flow time (people without muster do not know where the risk
// is), and each arc's exposure is what zonecost says.
type network struct {
	g        *roadgraph.Graph
	rev      *route.Reversed
	tails    []uint32
	open     []bool    // per arc: not touching a forbidden zone
	exposure []float32 // per arc: risk-weighted seconds
	gates    []gate
	// sources are the households' start nodes, with their people.
	sources []source
	people  int // in all households
	// unserved people: no location, no road near, start in a forbidden
	// zone with no way out.
	unserved int
}

type source struct {
	node   uint32
	people int
}

func newNetwork(ctx context.Context, in Input) (*network, error) {
	if in.Car == nil || in.Places == nil {
		return nil, muster.Errorf(muster.EINVALID, "baseline: a car router and places are needed")
	}
	if in.RestrictedFactor <= 0 || in.RestrictedFactor > 1 {
		in.RestrictedFactor = 0.5
	}
	if in.MaxSnapM <= 0 {
		in.MaxSnapM = 1000
	}
	g := in.Car.Graph()
	zones := in.Car.Zones()
	n := &network{g: g, rev: route.Reverse(g), tails: g.Tails(), open: make([]bool, g.NumArcs()), exposure: make([]float32, g.NumArcs())}
	for a := range n.open {
		n.open[a] = true
	}
	eff, err := zonecost.Compute(ctx, g, in.Car.Index(), zones)
	if err != nil {
		return nil, fmt.Errorf("baseline: applying the threat picture: %w", err)
	}
	forbiddenNode := make([]bool, g.NumNodes())
	for _, e := range eff.Arcs {
		if e.Forbidden {
			n.open[e.Arc] = false
		} else {
			n.exposure[e.Arc] = float32(e.Exposure)
		}
	}
	for _, u := range eff.ForbiddenNodes {
		forbiddenNode[u] = true
	}
	ix := in.Car.Index()
	for i := range in.Places.Places {
		pl := &in.Places.Places[i]
		if pl.Kind != muster.PlaceGate {
			continue
		}
		pt, ok := pl.Geometry.(orb.Point)
		if !ok {
			pt = pl.Geometry.Bound().Center()
		}
		status := pl.Status
		if s, ok := in.GateStatus[pl.ID]; ok {
			status = s
		}
		tp := float64(pl.ThroughputPerHour)
		if status == muster.GateRestricted {
			tp *= in.RestrictedFactor
		}
		if status == muster.GateClosed || tp <= 0 {
			continue
		}
		forbidden := false
		for _, zi := range zonecost.Containing(pt, zones) {
			forbidden = forbidden || zones[zi].Forbidden
		}
		if forbidden {
			continue
		}
		node, _, err := ix.NearestNode(pt, in.MaxSnapM)
		if err != nil || forbiddenNode[node] {
			continue
		}
		n.gates = append(n.gates, gate{id: pl.ID, node: node, perSecond: tp / 3600, crowdLimit: pl.CrowdLimit})
	}
	if len(n.gates) == 0 {
		return nil, muster.Errorf(muster.EUNREACHABLE, "baseline: no usable gate (all closed, without throughput, in a forbidden zone or off the car graph)")
	}
	// Households to their nearest car node; those on the same node form
	// one source.
	at := map[uint32]int{}
	for i := range in.Households {
		h := &in.Households[i]
		n.people += max(h.PartySize, 0)
		if h.PartySize <= 0 {
			continue
		}
		if !h.HasLocation {
			n.unserved += h.PartySize
			continue
		}
		node, _, err := ix.NearestNode(orb.Point{h.Lon, h.Lat}, in.MaxSnapM)
		if err != nil {
			n.unserved += h.PartySize
			continue
		}
		k, ok := at[node]
		if !ok {
			k = len(n.sources)
			at[node] = k
			n.sources = append(n.sources, source{node: node})
		}
		n.sources[k].people += h.PartySize
	}
	return n, nil
}

// arcKmh is the arc's free-flow speed.
func (n *network) arcKmh(a uint32) float64 {
	return float64(n.g.LengthM[a]) / (float64(n.g.TimeMS[a]) / 1000) * 3.6
}

// towards runs Dijkstra backward from node t over the open arcs: every
// node's free-flow time to t (ms, math.MaxInt64 when cut off) and the
// exposure of that fastest way.
func (n *network) towards(t uint32) (timeMS []int64, exposure []float64) {
	nn := n.g.NumNodes()
	timeMS = make([]int64, nn)
	exposure = make([]float64, nn)
	for i := range timeMS {
		timeMS[i] = math.MaxInt64
	}
	timeMS[t] = 0
	h := &heap{}
	h.push(item{key: 0, node: t})
	for h.len() > 0 {
		it := h.pop()
		u := it.node
		if it.key != timeMS[u] {
			continue
		}
		for i := n.rev.FirstOut[u]; i < n.rev.FirstOut[u+1]; i++ {
			a := n.rev.Arc[i]
			if !n.open[a] {
				continue
			}
			v := n.rev.Head[i]
			if d := timeMS[u] + int64(n.g.TimeMS[a]); d < timeMS[v] {
				timeMS[v] = d
				exposure[v] = exposure[u] + float64(n.exposure[a])
				h.push(item{key: d, node: v})
			}
		}
	}
	return timeMS, exposure
}

// item is a heap entry; the heap pops the smallest key, then the lowest
// node (so that runs are deterministic).
type item struct {
	key  int64
	node uint32
}

type heap struct{ items []item }

func (h *heap) len() int { return len(h.items) }

func less(a, b item) bool { return a.key < b.key || (a.key == b.key && a.node < b.node) }

// The heap is 4-ary: shallower than a binary heap, and its four children
// share a cache line.
func (h *heap) push(it item) {
	h.items = append(h.items, it)
	i := len(h.items) - 1
	for i > 0 {
		p := (i - 1) / 4
		if !less(it, h.items[p]) {
			break
		}
		h.items[i] = h.items[p]
		i = p
	}
	h.items[i] = it
}

func (h *heap) pop() item {
	top := h.items[0]
	last := len(h.items) - 1
	it := h.items[last]
	h.items = h.items[:last]
	if last == 0 {
		return top
	}
	i := 0
	for {
		c := 4*i + 1
		if c >= last {
			break
		}
		m := c
		for j := c + 1; j < c+4 && j < last; j++ {
			if less(h.items[j], h.items[m]) {
				m = j
			}
		}
		if !less(h.items[m], it) {
			break
		}
		h.items[i] = h.items[m]
		i = m
	}
	h.items[i] = it
	return top
}

// visit is a party's stay at a gate: from arrival until the last of it is
// through.
type visit struct {
	arrive, through float64 // seconds after the start
	people          int
}

// maxWaiting is the most people at a gate at once: arrived, not yet
// through (as plancheck counts them: arrive <= t < through).
func maxWaiting(vs []visit) int {
	type event struct {
		t     float64
		delta int
	}
	es := make([]event, 0, 2*len(vs))
	for _, v := range vs {
		if v.through > v.arrive {
			es = append(es, event{v.arrive, v.people}, event{v.through, -v.people})
		}
	}
	// At equal times those leaving go first.
	slices.SortFunc(es, func(a, b event) int {
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.delta, b.delta)
	})
	best, cur := 0, 0
	for _, e := range es {
		cur += e.delta
		best = max(best, cur)
	}
	return best
}
