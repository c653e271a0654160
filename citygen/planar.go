package citygen

import (
	"math"
	"slices"
)

// street holds what the ways built from a run of edges share.
type street struct {
	Name       string
	Highway    string
	Oneway     bool // edges allow travel from a to b only
	Roundabout bool
	MaxSpeed   string
}

// edge is one straight stretch of street between two nodes. For one-way
// streets it is oriented: travel goes from a to b.
type edge struct {
	a, b   int32
	street int32
	bridge bool
	dead   bool
	// twoWay lifts the street's one-way rule from this edge: set where a
	// one-way lane would otherwise trap cars.
	twoWay bool
}

// planar is the street network under construction: nodes in the local
// plane, edges between them, and a bucket grid over both so that laying a
// new road over the network finds what it crosses without a full scan.
type planar struct {
	pts      []vec
	nodeDead []bool
	pinned   []bool // nodes a later road may not move or merge away
	adj      [][]int32
	edges    []edge
	streets  []street

	cell       float64
	minX, minY float64
	nx, ny     int
	nodeCells  [][]int32 // may hold stale entries; callers check positions
	edgeCells  [][]int32
	edgeStamp  []uint32
	nodeStamp  []uint32
	stamp      uint32
}

func newPlanar(minX, minY, maxX, maxY, cell float64) *planar {
	p := &planar{cell: cell, minX: minX, minY: minY}
	p.nx = int((maxX-minX)/cell) + 1
	p.ny = int((maxY-minY)/cell) + 1
	p.nodeCells = make([][]int32, p.nx*p.ny)
	p.edgeCells = make([][]int32, p.nx*p.ny)
	return p
}

func (p *planar) cellOf(v vec) (int, int) {
	cx := int((v.X - p.minX) / p.cell)
	cy := int((v.Y - p.minY) / p.cell)
	return max(0, min(p.nx-1, cx)), max(0, min(p.ny-1, cy))
}

func (p *planar) addStreet(s street) int32 {
	p.streets = append(p.streets, s)
	return int32(len(p.streets) - 1)
}

func (p *planar) addNode(v vec) int32 {
	id := int32(len(p.pts))
	p.pts = append(p.pts, v)
	p.nodeDead = append(p.nodeDead, false)
	p.pinned = append(p.pinned, false)
	p.adj = append(p.adj, nil)
	p.nodeStamp = append(p.nodeStamp, 0)
	cx, cy := p.cellOf(v)
	p.nodeCells[cy*p.nx+cx] = append(p.nodeCells[cy*p.nx+cx], id)
	return id
}

func (p *planar) indexEdge(e int32) {
	a, b := p.pts[p.edges[e].a], p.pts[p.edges[e].b]
	x0, y0 := p.cellOf(vec{math.Min(a.X, b.X), math.Min(a.Y, b.Y)})
	x1, y1 := p.cellOf(vec{math.Max(a.X, b.X), math.Max(a.Y, b.Y)})
	for cy := y0; cy <= y1; cy++ {
		for cx := x0; cx <= x1; cx++ {
			p.edgeCells[cy*p.nx+cx] = append(p.edgeCells[cy*p.nx+cx], e)
		}
	}
}

func (p *planar) addEdge(a, b, st int32, bridge bool) int32 {
	if a == b {
		return -1
	}
	id := int32(len(p.edges))
	p.edges = append(p.edges, edge{a: a, b: b, street: st, bridge: bridge})
	p.edgeStamp = append(p.edgeStamp, 0)
	p.adj[a] = append(p.adj[a], id)
	p.adj[b] = append(p.adj[b], id)
	p.indexEdge(id)
	return id
}

func (p *planar) killEdge(e int32) { p.edges[e].dead = true }

// liveEdges returns node n's live edges, dropping dead ones from its list.
func (p *planar) liveEdges(n int32) []int32 {
	l := p.adj[n][:0]
	for _, e := range p.adj[n] {
		if !p.edges[e].dead {
			l = append(l, e)
		}
	}
	p.adj[n] = l
	return l
}

func (p *planar) other(e, n int32) int32 {
	if p.edges[e].a == n {
		return p.edges[e].b
	}
	return p.edges[e].a
}

func (p *planar) edgeBetween(a, b int32) int32 {
	for _, e := range p.liveEdges(a) {
		if p.other(e, a) == b {
			return e
		}
	}
	return -1
}

// removeNode kills a node and every edge at it.
func (p *planar) removeNode(n int32) {
	for _, e := range p.adj[n] {
		p.edges[e].dead = true
	}
	p.adj[n] = nil
	p.nodeDead[n] = true
}

func (p *planar) moveNode(n int32, v vec) {
	p.pts[n] = v
	cx, cy := p.cellOf(v)
	p.nodeCells[cy*p.nx+cx] = append(p.nodeCells[cy*p.nx+cx], n)
	for _, e := range p.liveEdges(n) {
		p.indexEdge(e)
	}
}

// mergeNode moves every edge of node from onto node into and removes from.
func (p *planar) mergeNode(from, into int32) {
	if from == into {
		return
	}
	for _, e := range slices.Clone(p.liveEdges(from)) {
		ed := p.edges[e]
		o := p.other(e, from)
		p.killEdge(e)
		if o == into || p.edgeBetween(into, o) >= 0 {
			continue
		}
		if ed.a == from {
			p.addEdge(into, o, ed.street, ed.bridge)
		} else {
			p.addEdge(o, into, ed.street, ed.bridge)
		}
	}
	p.adj[from] = nil
	p.nodeDead[from] = true
	p.pinned[into] = p.pinned[into] || p.pinned[from]
}

// splitEdge cuts edge e at the given new nodes, ordered from a to b, and
// returns the edges of the chain.
func (p *planar) splitEdge(e int32, at []int32) {
	ed := p.edges[e]
	p.killEdge(e)
	prev := ed.a
	for _, n := range at {
		p.addEdge(prev, n, ed.street, ed.bridge)
		prev = n
	}
	p.addEdge(prev, ed.b, ed.street, ed.bridge)
}

// nodesNear calls f for every live node within r of segment ab (each once).
func (p *planar) nodesNear(a, b vec, r float64, f func(n int32)) {
	p.stamp++
	x0, y0 := p.cellOf(vec{math.Min(a.X, b.X) - r, math.Min(a.Y, b.Y) - r})
	x1, y1 := p.cellOf(vec{math.Max(a.X, b.X) + r, math.Max(a.Y, b.Y) + r})
	for cy := y0; cy <= y1; cy++ {
		for cx := x0; cx <= x1; cx++ {
			for _, n := range p.nodeCells[cy*p.nx+cx] {
				if p.nodeDead[n] || p.nodeStamp[n] == p.stamp {
					continue
				}
				p.nodeStamp[n] = p.stamp
				f(n)
			}
		}
	}
}

// edgesNear calls f for every live edge whose bounding box meets the
// bounding box of segment ab grown by r (each once).
func (p *planar) edgesNear(a, b vec, r float64, f func(e int32)) {
	p.stamp++
	x0, y0 := p.cellOf(vec{math.Min(a.X, b.X) - r, math.Min(a.Y, b.Y) - r})
	x1, y1 := p.cellOf(vec{math.Max(a.X, b.X) + r, math.Max(a.Y, b.Y) + r})
	for cy := y0; cy <= y1; cy++ {
		for cx := x0; cx <= x1; cx++ {
			for _, e := range p.edgeCells[cy*p.nx+cx] {
				if p.edges[e].dead || p.edgeStamp[e] == p.stamp {
					continue
				}
				p.edgeStamp[e] = p.stamp
				f(e)
			}
		}
	}
}

// span is a stretch of a road, by distance along it, where nothing joins it
// and which is a bridge.
type span struct{ from, to float64 }

type overlayOpts struct {
	snap    float64 // existing nodes this close move onto the new road
	closed  bool    // the polyline's last point is its first
	bridges []span  // along-road distances of bridge decks
}

// stop is one node of an overlaid road, at distance t along it.
type stop struct {
	t        float64
	n        int32
	existing bool // a node of the network before this road, or a crossing
	vertex   int  // index into the polyline for a vertex not yet a node
}

// overlay lays road pl onto the network as street st: nodes within
// opts.snap metres move onto it, edges it crosses are cut and joined to it,
// and its own shape points become nodes. It returns the road's nodes in
// order (the first again at the end for a closed road).
func (p *planar) overlay(pl polyline, st int32, opts overlayOpts) []int32 {
	if len(pl) < 2 {
		return nil
	}
	// Bridge decks end exactly at a node: put a vertex at each end.
	pl = insertAt(pl, opts.bridges)
	cum := make([]float64, len(pl))
	for i := 1; i < len(pl); i++ {
		cum[i] = cum[i-1] + pl[i-1].dist(pl[i])
	}
	total := cum[len(cum)-1]
	inBridge := func(t float64, pad float64) bool {
		for _, s := range opts.bridges {
			if t > s.from-pad && t < s.to+pad {
				return true
			}
		}
		return false
	}

	// Snap nearby nodes onto the road.
	type snapCand struct {
		d, t float64
		at   vec
	}
	cands := map[int32]snapCand{}
	if opts.snap > 0 {
		for i := 0; i+1 < len(pl); i++ {
			a, b := pl[i], pl[i+1]
			p.nodesNear(a, b, opts.snap, func(n int32) {
				if p.pinned[n] {
					return
				}
				s, q := projectOnSegment(p.pts[n], a, b)
				d := q.dist(p.pts[n])
				if d > opts.snap {
					return
				}
				t := cum[i] + s*(cum[i+1]-cum[i])
				if inBridge(t, 1) {
					return
				}
				if c, ok := cands[n]; !ok || d < c.d {
					cands[n] = snapCand{d, t, q}
				}
			})
		}
	}
	var stops []stop
	snapped := make(map[int32]bool, len(cands))
	for n, c := range cands {
		stops = append(stops, stop{t: c.t, n: n, existing: true})
		snapped[n] = true
	}
	slices.SortFunc(stops, func(x, y stop) int {
		if x.t != y.t {
			if x.t < y.t {
				return -1
			}
			return 1
		}
		return int(x.n - y.n)
	})
	for _, s := range stops {
		// Edges between two snapped nodes would lie along the new road.
		for _, e := range slices.Clone(p.liveEdges(s.n)) {
			if snapped[p.other(e, s.n)] {
				p.killEdge(e)
			}
		}
	}
	for _, s := range stops {
		p.moveNode(s.n, cands[s.n].at)
	}

	// Cut the edges the road crosses.
	type hit struct {
		e    int32
		s, t float64
		at   vec
	}
	var hits []hit
	for i := 0; i+1 < len(pl); i++ {
		a, b := pl[i], pl[i+1]
		p.edgesNear(a, b, 0, func(e int32) {
			ed := p.edges[e]
			ea, eb := p.pts[ed.a], p.pts[ed.b]
			s, u, x, ok := segmentIntersection(ea, eb, a, b)
			if !ok {
				return
			}
			el := ea.dist(eb)
			if s*el < 3 || (1-s)*el < 3 {
				return // touches at an endpoint: already joined or snapped
			}
			t := cum[i] + u*(cum[i+1]-cum[i])
			if inBridge(t, 0) {
				return // passes under the deck
			}
			hits = append(hits, hit{e, s, t, x})
		})
	}
	slices.SortFunc(hits, func(x, y hit) int {
		if x.e != y.e {
			return int(x.e - y.e)
		}
		switch {
		case x.s < y.s:
			return -1
		case x.s > y.s:
			return 1
		}
		return 0
	})
	for i := 0; i < len(hits); {
		j := i
		var at []int32
		lastS := -1.0
		for ; j < len(hits) && hits[j].e == hits[i].e; j++ {
			if hits[j].s-lastS < 1e-6 {
				continue // same crossing found from two road segments
			}
			lastS = hits[j].s
			n := p.addNode(hits[j].at)
			at = append(at, n)
			stops = append(stops, stop{t: hits[j].t, n: n, existing: true})
		}
		p.splitEdge(hits[i].e, at)
		i = j
	}

	// The road's own shape points.
	last := len(pl)
	if opts.closed {
		last--
	}
	for i := 0; i < last; i++ {
		stops = append(stops, stop{t: cum[i], n: -1, vertex: i})
	}
	slices.SortStableFunc(stops, func(x, y stop) int {
		switch {
		case x.t < y.t:
			return -1
		case x.t > y.t:
			return 1
		}
		return 0
	})

	// Drop shape points crowding a junction and merge junctions that
	// crowd each other, so that no edge is shorter than minGap, except
	// that bridge ends stay where they are.
	const minGap = 8.0
	isBridgeEnd := func(t float64) bool {
		for _, s := range opts.bridges {
			if math.Abs(t-s.from) < 1e-6 || math.Abs(t-s.to) < 1e-6 {
				return true
			}
		}
		return false
	}
	var seq []stop
	for _, s := range stops {
		if len(seq) > 0 {
			l := &seq[len(seq)-1]
			if s.t-l.t < minGap {
				sFree := !s.existing && !isBridgeEnd(s.t) // a shape point we may drop
				lFree := !l.existing && !isBridgeEnd(l.t) && l.vertex != 0
				switch {
				case sFree && s.vertex == last-1 && lFree:
					*l = s // keep the road's final point
					continue
				case sFree && s.vertex != last-1:
					continue
				case lFree || (!l.existing && l.vertex == 0 && s.existing && !isBridgeEnd(l.t)):
					*l = s
					continue
				case s.existing && l.existing:
					if p.pinned[s.n] && !p.pinned[l.n] {
						p.mergeNode(l.n, s.n)
						l.n = s.n
					} else {
						p.mergeNode(s.n, l.n)
					}
					continue
				}
			}
		}
		seq = append(seq, s)
	}
	if opts.closed && len(seq) > 2 {
		// Stops crowding the seam merge into the first.
		for len(seq) > 2 && total-seq[len(seq)-1].t < minGap {
			s := seq[len(seq)-1]
			seq = seq[:len(seq)-1]
			if s.existing {
				if !seq[0].existing {
					seq[0] = stop{t: 0, n: s.n, existing: true}
				} else {
					p.mergeNode(s.n, seq[0].n)
				}
			}
		}
	}
	nodes := make([]int32, len(seq))
	for i, s := range seq {
		if s.existing {
			nodes[i] = s.n
		} else {
			nodes[i] = p.addNode(pl[s.vertex])
			if isBridgeEnd(s.t) {
				p.pinned[nodes[i]] = true
			}
		}
	}
	for i := 0; i+1 < len(nodes); i++ {
		mid := (seq[i].t + seq[i+1].t) / 2
		if nodes[i] != nodes[i+1] && p.edgeBetween(nodes[i], nodes[i+1]) < 0 {
			p.addEdge(nodes[i], nodes[i+1], st, inBridge(mid, 0))
		}
	}
	if opts.closed && len(nodes) > 2 {
		if p.edgeBetween(nodes[len(nodes)-1], nodes[0]) < 0 {
			p.addEdge(nodes[len(nodes)-1], nodes[0], st, false)
		}
		nodes = append(nodes, nodes[0])
	}
	return nodes
}

// insertAt returns pl with a vertex at each along-road distance that ends a
// span.
func insertAt(pl polyline, spans []span) polyline {
	if len(spans) == 0 {
		return pl
	}
	var ts []float64
	for _, s := range spans {
		ts = append(ts, s.from, s.to)
	}
	slices.Sort(ts)
	out := polyline{pl[0]}
	cum := 0.0
	k := 0
	for i := 0; i+1 < len(pl); i++ {
		l := pl[i].dist(pl[i+1])
		for k < len(ts) && ts[k] <= cum+l {
			if ts[k] > cum && ts[k] < cum+l && l > 0 {
				out = append(out, pl[i].lerp(pl[i+1], (ts[k]-cum)/l))
			}
			k++
		}
		out = append(out, pl[i+1])
		cum += l
	}
	return out
}
