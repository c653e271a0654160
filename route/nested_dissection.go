package route

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/muster-evac/muster/roadgraph"
)

// NestedDissectionOrder computes a node order for the customizable
// contraction hierarchy: the nodes of a small balanced separator are ranked
// above the two halves it separates, recursively. The quality of this order
// alone decides how many shortcuts the hierarchy needs, and so the speed of
// customization and queries; it does not depend on any metric, which is why
// a new threat picture never requires it again.
//
// Separators come from inertial flow (Schild and Sommer, 2015): nodes are
// sorted along a few directions in the plane, the first and last quarter
// become source and sink, and a unit-capacity max-flow between them yields a
// minimum balanced node separator. Road networks have small geometric cuts
// (rivers, ring roads, bridges), which is what makes this work well.
//
// Order[i] is the node of rank i.
func NestedDissectionOrder(ctx context.Context, g *roadgraph.Graph) ([]uint32, error) {
	n := g.NumNodes()
	adjFirst, adj := undirectedAdjacency(g)
	xs, ys := make([]float64, n), make([]float64, n)
	var latSum float64
	for u := 0; u < n; u++ {
		latSum += float64(g.Lat[u])
	}
	cosLat := 1.0
	if n > 0 {
		cosLat = math.Cos(latSum / float64(n) / roadgraph.CoordScale * math.Pi / 180)
	}
	for u := 0; u < n; u++ {
		xs[u] = float64(g.Lon[u]) * cosLat
		ys[u] = float64(g.Lat[u])
	}
	d := &dissector{ctx: ctx, adjFirst: adjFirst, adj: adj, xs: xs, ys: ys, order: make([]uint32, n),
		local: make([]int32, n)}
	for i := range d.local {
		d.local[i] = -1
	}
	all := make([]uint32, n)
	for i := range all {
		all[i] = uint32(i)
	}
	if err := d.dissect(all, 0); err != nil {
		return nil, err
	}
	return d.order, nil
}

// undirectedAdjacency returns the graph's simple undirected adjacency:
// every pair of nodes joined by an arc in either direction, once each way,
// without self-loops.
func undirectedAdjacency(g *roadgraph.Graph) (first, adj []uint32) {
	n := g.NumNodes()
	deg := make([]uint32, n+1)
	for u := 0; u < n; u++ {
		for a := g.FirstOut[u]; a < g.FirstOut[u+1]; a++ {
			if v := g.Head[a]; v != uint32(u) {
				deg[u+1]++
				deg[v+1]++
			}
		}
	}
	for i := 0; i < n; i++ {
		deg[i+1] += deg[i]
	}
	raw := make([]uint32, deg[n])
	next := append([]uint32(nil), deg[:n]...)
	for u := 0; u < n; u++ {
		for a := g.FirstOut[u]; a < g.FirstOut[u+1]; a++ {
			if v := g.Head[a]; v != uint32(u) {
				raw[next[u]] = v
				next[u]++
				raw[next[v]] = uint32(u)
				next[v]++
			}
		}
	}
	first = make([]uint32, n+1)
	adj = make([]uint32, 0, len(raw))
	for u := 0; u < n; u++ {
		nb := raw[deg[u]:deg[u+1]]
		sort.Slice(nb, func(i, j int) bool { return nb[i] < nb[j] })
		for i, v := range nb {
			if i == 0 || v != nb[i-1] {
				adj = append(adj, v)
			}
		}
		first[u+1] = uint32(len(adj))
	}
	return first, adj
}

type dissector struct {
	ctx           context.Context
	adjFirst, adj []uint32
	xs, ys        []float64
	order         []uint32
	local         []int32 // global node -> index in the current subgraph, -1 outside
	calls         int
}

// leafSize is the subgraph size below which nodes are ranked without
// further dissection: their fill-in is bounded by the size itself.
const leafSize = 8

// subgraph is the induced subgraph on a set of nodes, in local ids.
type subgraph struct {
	nodes       []uint32 // local -> global
	first, head []int32
}

func (d *dissector) induce(nodes []uint32) *subgraph {
	for i, u := range nodes {
		d.local[u] = int32(i)
	}
	s := &subgraph{nodes: nodes, first: make([]int32, len(nodes)+1)}
	for i, u := range nodes {
		for _, v := range d.adj[d.adjFirst[u]:d.adjFirst[u+1]] {
			if l := d.local[v]; l >= 0 {
				s.head = append(s.head, l)
			}
		}
		s.first[i+1] = int32(len(s.head))
	}
	for _, u := range nodes {
		d.local[u] = -1
	}
	return s
}

// dissect ranks nodes into order[lo : lo+len(nodes)].
func (d *dissector) dissect(nodes []uint32, lo int) error {
	d.calls++
	if d.calls%64 == 0 {
		if err := d.ctx.Err(); err != nil {
			return fmt.Errorf("nested dissection: %w", err)
		}
	}
	if len(nodes) <= leafSize {
		copy(d.order[lo:], nodes)
		return nil
	}
	s := d.induce(nodes)
	// Disconnected parts need no separator.
	if comps := s.components(); len(comps) > 1 {
		for _, c := range comps {
			if err := d.dissect(c, lo); err != nil {
				return err
			}
			lo += len(c)
		}
		return nil
	}
	sideA, sep, sideB := d.separate(s)
	if len(sideA) == 0 || len(sideB) == 0 {
		// No useful cut (a clique-like knot): rank as a leaf.
		copy(d.order[lo:], nodes)
		return nil
	}
	copy(d.order[lo+len(sideA)+len(sideB):], sep)
	if err := d.dissect(sideA, lo); err != nil {
		return err
	}
	return d.dissect(sideB, lo+len(sideA))
}

// components returns the connected components as global node lists.
func (s *subgraph) components() [][]uint32 {
	k := len(s.nodes)
	comp := make([]int32, k)
	for i := range comp {
		comp[i] = -1
	}
	var comps [][]uint32
	stack := make([]int32, 0, 64)
	for start := 0; start < k; start++ {
		if comp[start] >= 0 {
			continue
		}
		id := int32(len(comps))
		var members []uint32
		comp[start] = id
		stack = append(stack[:0], int32(start))
		for len(stack) > 0 {
			u := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			members = append(members, s.nodes[u])
			for _, v := range s.head[s.first[u]:s.first[u+1]] {
				if comp[v] < 0 {
					comp[v] = id
					stack = append(stack, v)
				}
			}
		}
		comps = append(comps, members)
	}
	return comps
}

// inertialDirections are the directions the nodes are sorted along.
var inertialDirections = [][2]float64{{1, 0}, {0, 1}, {1, 1}, {1, -1}}

// separate finds a small balanced node separator of a connected subgraph.
func (d *dissector) separate(s *subgraph) (a, sep, b []uint32) {
	k := len(s.nodes)
	f := newNodeFlow(s)
	idx := make([]int32, k)
	proj := make([]float64, k)
	best := math.MaxInt
	var bestSide []int8
	for _, dir := range inertialDirections {
		for i := range idx {
			idx[i] = int32(i)
			u := s.nodes[i]
			proj[i] = dir[0]*d.xs[u] + dir[1]*d.ys[u]
		}
		sort.Slice(idx, func(i, j int) bool {
			if proj[idx[i]] != proj[idx[j]] {
				return proj[idx[i]] < proj[idx[j]]
			}
			return idx[i] < idx[j]
		})
		q := max(1, k/4)
		side, size := f.minCut(idx[:q], idx[k-q:], best)
		if side != nil && size < best {
			best, bestSide = size, side
		}
	}
	if bestSide == nil {
		return nil, nil, nil
	}
	for i, sd := range bestSide {
		switch sd {
		case sideSource:
			a = append(a, s.nodes[i])
		case sideSeparator:
			sep = append(sep, s.nodes[i])
		default:
			b = append(b, s.nodes[i])
		}
	}
	return a, sep, b
}

const (
	sideSink      int8 = 0
	sideSource    int8 = 1
	sideSeparator int8 = 2
)

// nodeFlow is a unit node-capacity flow network over a subgraph: local node
// v is split into in(v)=2v and out(v)=2v+1 joined by an arc of capacity 1;
// each undirected edge {u,v} gives out(u)->in(v) and out(v)->in(u) of
// unbounded capacity. A minimum cut in it is a minimum node separator.
type nodeFlow struct {
	first   []int32 // per split node
	head    []int32
	rev     []int32 // the paired residual arc
	capOrig []int8  // 1 for in->out, 2 meaning unbounded, 0 for residual twins
	cap     []int8  // residual capacity (2 = unbounded)
	parent  []int32 // BFS: the arc that reached a split node
	seen    []int32 // BFS stamp per split node
	stamp   int32
	isSink  []bool
	queue   []int32
}

const unbounded int8 = 2

func newNodeFlow(s *subgraph) *nodeFlow {
	k := len(s.nodes)
	f := &nodeFlow{first: make([]int32, 2*k+1)}
	// Each split node has deg(v)+1 arcs.
	for v := 0; v < k; v++ {
		deg := s.first[v+1] - s.first[v]
		f.first[2*v+1] = f.first[2*v] + deg + 1
		f.first[2*v+2] = f.first[2*v+1] + deg + 1
	}
	m := f.first[2*k]
	f.head = make([]int32, m)
	f.rev = make([]int32, m)
	f.capOrig = make([]int8, m)
	fill := append([]int32(nil), f.first[:2*k]...)
	addPair := func(x, y int32, c int8) {
		a, b := fill[x], fill[y]
		fill[x]++
		fill[y]++
		f.head[a], f.rev[a], f.capOrig[a] = y, b, c
		f.head[b], f.rev[b], f.capOrig[b] = x, a, 0
	}
	for v := int32(0); v < int32(k); v++ {
		addPair(2*v, 2*v+1, 1)
		for _, u := range s.head[s.first[v]:s.first[v+1]] {
			addPair(2*v+1, 2*u, unbounded)
		}
	}
	f.cap = make([]int8, m)
	f.parent = make([]int32, 2*k)
	f.seen = make([]int32, 2*k)
	f.isSink = make([]bool, k)
	return f
}

// minCut computes a minimum node cut between sources and sinks (local ids)
// and returns each node's side. It gives up, returning nil, as soon as the
// flow reaches limit: a cut that large is no better than one found already.
func (f *nodeFlow) minCut(sources, sinks []int32, limit int) ([]int8, int) {
	copy(f.cap, f.capOrig)
	for i := range f.isSink {
		f.isSink[i] = false
	}
	for _, t := range sinks {
		f.isSink[t] = true
	}
	flow := 0
	for {
		if flow >= limit {
			return nil, flow
		}
		end := f.bfs(sources, true)
		if end < 0 {
			break
		}
		// Augment one unit along the parent arcs.
		for x := end; ; {
			a := f.parent[x]
			if a < 0 {
				break
			}
			if f.cap[a] != unbounded {
				f.cap[a]--
			}
			if b := f.rev[a]; f.cap[b] != unbounded {
				f.cap[b]++
			}
			x = f.head[f.rev[a]] // the tail of a
		}
		flow++
	}
	// The last BFS marked everything reachable from the sources.
	k := len(f.isSink)
	side := make([]int8, k)
	for v := 0; v < k; v++ {
		in, out := f.seen[2*v] == f.stamp, f.seen[2*v+1] == f.stamp
		switch {
		case out:
			side[v] = sideSource
		case in:
			side[v] = sideSeparator
		default:
			side[v] = sideSink
		}
	}
	return side, flow
}

// bfs searches the residual network from in(s) for every source and returns
// the first out(t) of a sink it reaches, or -1.
func (f *nodeFlow) bfs(sources []int32, stopAtSink bool) int32 {
	f.stamp++
	q := f.queue[:0]
	for _, s := range sources {
		x := 2 * s
		if f.seen[x] != f.stamp {
			f.seen[x] = f.stamp
			f.parent[x] = -1
			q = append(q, x)
		}
	}
	for i := 0; i < len(q); i++ {
		x := q[i]
		for a := f.first[x]; a < f.first[x+1]; a++ {
			if f.cap[a] == 0 {
				continue
			}
			y := f.head[a]
			if f.seen[y] == f.stamp {
				continue
			}
			f.seen[y] = f.stamp
			f.parent[y] = a
			if stopAtSink && y&1 == 1 && f.isSink[y/2] {
				f.queue = q
				return y
			}
			q = append(q, y)
		}
	}
	f.queue = q
	return -1
}
