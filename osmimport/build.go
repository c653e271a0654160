package osmimport

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
)

// errNoNetwork says a profile found no way it could use.
var errNoNetwork = errors.New("no routable way")

// rawGraph is a profile's network before its pieces (strongly connected
// components) are chosen: nodes numbered in the order met, arcs in way order.
type rawGraph struct {
	nodeOf []int32 // graph node -> index into resolved.nodes

	tail, head []uint32
	timeMS     []uint32
	lengthM    []float32
	name       []uint32 // into resolved.names
	way        []int32  // into resolved.ways
	// Shape points are the interior nodes of the way between tail and
	// head: refIdx[shapeFirst : shapeFirst+shapeN], walked backwards for
	// an arc that runs against the way.
	shapeFirst []uint32
	shapeN     []uint32
	reversed   []bool
	emergency  []bool // on a road closed to pedestrians (Options.FootEmergency)
}

// ctxCheckEvery is how many loop steps run between context checks.
const ctxCheckEvery = 1 << 16

// buildRaw splits the profile's ways into arcs. A graph node is an OSM
// node where a way of this profile ends (or is cut by a missing node or
// a barrier) or
// that two routable way segments share (a way passing twice through one
// node counts twice, so closed ways are split too); every other node is a
// shape point of the arc that passes it.
func buildRaw(ctx context.Context, r *resolved, p roadgraph.Profile) (*rawGraph, error) {
	// use counts how often each OSM node is used, saturating at 2 (junction).
	use := make([]uint8, len(r.nodes))
	// A way is cut at a missing node, and for cars at a barrier they
	// cannot pass: the barrier node leaves the car graph, and the road on
	// either side of it ends at the node before.
	blocked := func(n int32) bool { return n < 0 }
	if p == roadgraph.Car && r.carBlocked != nil {
		blocked = func(n int32) bool { return n < 0 || r.carBlocked[n] }
	}
	forRuns := func(w *wayRec, fn func(run []int32, first uint32)) {
		refs := r.refIdx[w.first : w.first+w.n]
		for i := 0; i < len(refs); {
			if blocked(refs[i]) {
				i++
				continue
			}
			j := i
			for j < len(refs) && !blocked(refs[j]) {
				j++
			}
			if j-i >= 2 {
				fn(refs[i:j], w.first+uint32(i))
			}
			i = j
		}
	}
	for wi := range r.ways {
		w := &r.ways[wi]
		if !w.byProfile[p].routable() {
			continue
		}
		forRuns(w, func(run []int32, _ uint32) {
			use[run[0]], use[run[len(run)-1]] = 2, 2
			for _, n := range run[1 : len(run)-1] {
				if use[n] < 2 {
					use[n]++
				}
			}
		})
		if wi%ctxCheckEvery == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}

	// Count the arcs first so that the arc arrays are allocated once.
	arcs := 0
	for wi := range r.ways {
		w := &r.ways[wi]
		wp := w.byProfile[p]
		if !wp.routable() {
			continue
		}
		dirs := 0
		if wp.fwd {
			dirs++
		}
		if wp.bwd {
			dirs++
		}
		forRuns(w, func(run []int32, _ uint32) {
			for _, n := range run[1:] {
				if use[n] == 2 {
					arcs += dirs
				}
			}
		})
	}
	g := &rawGraph{
		tail: make([]uint32, 0, arcs), head: make([]uint32, 0, arcs),
		timeMS: make([]uint32, 0, arcs), lengthM: make([]float32, 0, arcs),
		name: make([]uint32, 0, arcs), way: make([]int32, 0, arcs),
		shapeFirst: make([]uint32, 0, arcs), shapeN: make([]uint32, 0, arcs),
		reversed: make([]bool, 0, arcs), emergency: make([]bool, 0, arcs),
	}
	gid := make([]int32, len(r.nodes))
	for i := range gid {
		gid[i] = -1
	}
	nodeID := func(n int32) uint32 {
		if gid[n] < 0 {
			gid[n] = int32(len(g.nodeOf))
			g.nodeOf = append(g.nodeOf, n)
		}
		return uint32(gid[n])
	}
	addArc := func(u, v uint32, ms uint32, length float32, name uint32, way int32, shapeFirst, shapeN uint32, rev, emergency bool) {
		g.emergency = append(g.emergency, emergency)
		g.tail = append(g.tail, u)
		g.head = append(g.head, v)
		g.timeMS = append(g.timeMS, ms)
		g.lengthM = append(g.lengthM, length)
		g.name = append(g.name, name)
		g.way = append(g.way, way)
		g.shapeFirst = append(g.shapeFirst, shapeFirst)
		g.shapeN = append(g.shapeN, shapeN)
		g.reversed = append(g.reversed, rev)
	}
	for wi := range r.ways {
		w := &r.ways[wi]
		wp := w.byProfile[p]
		if !wp.routable() {
			continue
		}
		forRuns(w, func(run []int32, first uint32) {
			start := 0
			length := 0.0
			for k := 1; k < len(run); k++ {
				a, b := &r.nodes[run[k-1]], &r.nodes[run[k]]
				length += muster.DistanceM(
					float64(a.lon)/roadgraph.CoordScale, float64(a.lat)/roadgraph.CoordScale,
					float64(b.lon)/roadgraph.CoordScale, float64(b.lat)/roadgraph.CoordScale)
				if use[run[k]] < 2 {
					continue
				}
				u, v := nodeID(run[start]), nodeID(run[k])
				if u != v || length > 0 { // a loop of no length leads nowhere
					shapeFirst, shapeN := first+uint32(start+1), uint32(k-start-1)
					if wp.fwd {
						addArc(u, v, travelMS(length, wp.fwdKmh), float32(length), w.name, int32(wi), shapeFirst, shapeN, false, wp.emergency)
					}
					if wp.bwd {
						addArc(v, u, travelMS(length, wp.bwdKmh), float32(length), w.name, int32(wi), shapeFirst, shapeN, true, wp.emergency)
					}
				}
				start, length = k, 0
			}
		})
		if wi%ctxCheckEvery == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	if len(g.tail) == 0 {
		return nil, errNoNetwork
	}
	return g, nil
}

// travelMS is the time to cover lengthM metres at kmh, at least 1 ms so
// that no arc is free.
func travelMS(lengthM float64, kmh float32) uint32 {
	ms := math.Round(lengthM * 3600 / float64(kmh))
	switch {
	case !(ms >= 1):
		return 1
	case ms > math.MaxUint32-1:
		return math.MaxUint32 - 1
	}
	return uint32(ms)
}

// forwardStar returns the CSR offsets of arcs sorted by tail and, for
// each slot, the arc it holds (stable: arcs of one tail keep their order).
func forwardStar(n int, tail []uint32) (firstOut, arcAt []uint32) {
	firstOut = make([]uint32, n+1)
	for _, u := range tail {
		firstOut[u+1]++
	}
	for u := 0; u < n; u++ {
		firstOut[u+1] += firstOut[u]
	}
	next := make([]uint32, n)
	copy(next, firstOut[:n])
	arcAt = make([]uint32, len(tail))
	for a, u := range tail {
		arcAt[next[u]] = uint32(a)
		next[u]++
	}
	return firstOut, arcAt
}

// strongComponents labels every node with its strongly connected
// component using Tarjan's algorithm, run with an explicit stack so that a
// path of hundreds of thousands of nodes cannot overflow the goroutine
// stack. It returns the labels, the number of components and the label of
// the largest.
func strongComponents(n int, firstOut, arcAt, head []uint32) (comp []int32, count int, largest int32) {
	comp, sizes := strongComponentSizes(n, firstOut, arcAt, head)
	for c, s := range sizes {
		if s > sizes[largest] {
			largest = int32(c)
		}
	}
	return comp, len(sizes), largest
}

// strongComponentSizes labels every node with its strongly connected
// component (see strongComponents) and returns each component's size.
func strongComponentSizes(n int, firstOut, arcAt, head []uint32) (comp []int32, sizes []int) {
	const unvisited = -1
	index := make([]int32, n)
	low := make([]int32, n)
	comp = make([]int32, n)
	for i := range index {
		index[i] = unvisited
		comp[i] = unvisited
	}
	type frame struct{ v, next uint32 }
	var calls []frame
	var stack []uint32
	var counter int32
	for s := 0; s < n; s++ {
		if index[s] != unvisited {
			continue
		}
		index[s], low[s] = counter, counter
		counter++
		stack = append(stack, uint32(s))
		calls = append(calls, frame{uint32(s), firstOut[s]})
		for len(calls) > 0 {
			f := &calls[len(calls)-1]
			v := f.v
			if f.next < firstOut[v+1] {
				w := head[arcAt[f.next]]
				f.next++
				switch {
				case index[w] == unvisited:
					index[w], low[w] = counter, counter
					counter++
					stack = append(stack, w)
					calls = append(calls, frame{w, firstOut[w]})
				case comp[w] == unvisited: // w is on the stack
					low[v] = min(low[v], index[w])
				}
				continue
			}
			calls = calls[:len(calls)-1]
			if len(calls) > 0 {
				parent := calls[len(calls)-1].v
				low[parent] = min(low[parent], low[v])
			}
			if low[v] != index[v] {
				continue
			}
			size := 0
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				comp[w] = int32(len(sizes))
				size++
				if w == v {
					break
				}
			}
			sizes = append(sizes, size)
		}
	}
	return comp, sizes
}

// hilbertKey maps a point of a 2^16 x 2^16 grid to its distance along the
// Hilbert curve, which keeps points that are near in space near in order.
func hilbertKey(x, y uint32) uint64 {
	const side = 1 << 16
	var d uint64
	for s := uint32(side / 2); s > 0; s /= 2 {
		var rx, ry uint32
		if x&s != 0 {
			rx = 1
		}
		if y&s != 0 {
			ry = 1
		}
		d += uint64(s) * uint64(s) * uint64((3*rx)^ry)
		if ry == 0 { // rotate the quadrant so the curve stays continuous
			if rx == 1 {
				x, y = side-1-x, side-1-y
			}
			x, y = y, x
		}
	}
	return d
}

// strongComponentsOf labels the strongly connected components of raw's
// nodes joined by the given arcs (all of raw's when arcs is nil, none
// when it is empty).
func strongComponentsOf(n int, raw *rawGraph, arcs []uint32) (comp []int32, sizes []int) {
	if arcs == nil {
		firstOut, arcAt := forwardStar(n, raw.tail)
		return strongComponentSizes(n, firstOut, arcAt, raw.head)
	}
	tail, head := make([]uint32, len(arcs)), make([]uint32, len(arcs))
	for i, a := range arcs {
		tail[i], head[i] = raw.tail[a], raw.head[a]
	}
	firstOut, arcAt := forwardStar(n, tail)
	return strongComponentSizes(n, firstOut, arcAt, head)
}

// joiningEmergencyArcs decides which arcs on roads closed to pedestrians
// to keep (nil when there are none: every arc is usable). The pieces are
// first found without them; a stretch of such roads (its arcs joined at
// nodes that belong to no piece of minPiece nodes or more: the road's own
// nodes) is kept when it joins pieces that nothing else joins, the
// shortest stretches first; a stretch that touches one piece (a shortcut
// between two of its streets, or a dead end), or pieces a kept stretch
// already joins, is not: a walk must not use a forbidden road where an
// open one, or a shorter forbidden one, serves.
func joiningEmergencyArcs(raw *rawGraph, minPiece int) []bool {
	m := len(raw.tail)
	if !slices.Contains(raw.emergency, true) {
		return nil
	}
	n := len(raw.nodeOf)
	open := []uint32{}
	for a := 0; a < m; a++ {
		if !raw.emergency[a] {
			open = append(open, uint32(a))
		}
	}
	comp, sizes := strongComponentsOf(n, raw, open)
	keep, _ := keptPieces(sizes, minPiece)
	big := func(u uint32) bool { return keep[comp[u]] }
	// Stretches: union the ends of emergency arcs that are not in a piece.
	parent := make([]int32, n)
	for u := range parent {
		parent[u] = int32(u)
	}
	find := func(u int32) int32 {
		for parent[u] != u {
			parent[u] = parent[parent[u]]
			u = parent[u]
		}
		return u
	}
	for a := 0; a < m; a++ {
		if u, v := raw.tail[a], raw.head[a]; raw.emergency[a] && !big(u) && !big(v) {
			if ru, rv := find(int32(u)), find(int32(v)); ru != rv {
				parent[ru] = rv
			}
		}
	}
	// stretch names an arc's stretch: its loose end's root, or, when both
	// ends are in pieces, the pair of ends (so that the two directions of
	// a road are one stretch).
	stretch := func(a int) int64 {
		switch u, v := raw.tail[a], raw.head[a]; {
		case !big(u):
			return int64(find(int32(u)))
		case !big(v):
			return int64(find(int32(v)))
		default:
			return int64(n) + int64(min(u, v))*int64(n) + int64(max(u, v))
		}
	}
	// Each stretch: the pieces it touches and its length.
	type stretchInfo struct {
		pieces  []int32
		lengthM float64
	}
	stretches := map[int64]*stretchInfo{}
	for a := 0; a < m; a++ {
		if !raw.emergency[a] {
			continue
		}
		key := stretch(a)
		st := stretches[key]
		if st == nil {
			st = &stretchInfo{}
			stretches[key] = st
		}
		st.lengthM += float64(raw.lengthM[a])
		for _, u := range [2]uint32{raw.tail[a], raw.head[a]} {
			if big(u) && !slices.Contains(st.pieces, comp[u]) {
				st.pieces = append(st.pieces, comp[u])
			}
		}
	}
	// Shortest first, a stretch is kept when it joins pieces that the
	// stretches kept so far do not join already (a spanning forest of the
	// pieces): so no two ways of closed road join the same pieces, and
	// none runs beside a way that is open.
	keys := make([]int64, 0, len(stretches))
	for k := range stretches {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b int64) int {
		if c := cmp.Compare(stretches[a].lengthM, stretches[b].lengthM); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	joined := make([]int32, len(sizes))
	for c := range joined {
		joined[c] = int32(c)
	}
	root := func(c int32) int32 {
		for joined[c] != c {
			joined[c] = joined[joined[c]]
			c = joined[c]
		}
		return c
	}
	keptStretch := map[int64]bool{}
	for _, k := range keys {
		st := stretches[k]
		for i := 1; i < len(st.pieces); i++ {
			if a, b := root(st.pieces[0]), root(st.pieces[i]); a != b {
				joined[b] = a
				keptStretch[k] = true
			}
		}
	}
	usable := make([]bool, m)
	for a := 0; a < m; a++ {
		usable[a] = !raw.emergency[a] || keptStretch[stretch(a)]
	}
	return usable
}

// keptPieces says which strongly connected components to keep: the
// largest, and every other of at least minPiece nodes.
func keptPieces(sizes []int, minPiece int) (keep []bool, pieces int) {
	keep = make([]bool, len(sizes))
	largest := 0
	for c, s := range sizes {
		if s > sizes[largest] {
			largest = c
		}
	}
	for c, s := range sizes {
		if c == largest || s >= minPiece {
			keep[c] = true
			pieces++
		}
	}
	return keep, pieces
}

// finish keeps the pieces of raw (its largest strongly connected
// component, and the others of at least minPiece nodes) with the arcs
// inside each (an arc from one piece to another, which only a one-way way
// makes, is dropped, so that every node reaches exactly its own piece),
// numbers their nodes along a Hilbert curve (so that nodes near in space
// are near in memory, which is what a router's searches touch together)
// and lays them out as a roadgraph.Graph.
func finish(r *resolved, raw *rawGraph, p roadgraph.Profile, minPiece int) (*roadgraph.Graph, ProfileStats) {
	n, m := len(raw.nodeOf), len(raw.tail)
	usable := joiningEmergencyArcs(raw, minPiece)
	var arcs []uint32 // usable arcs; nil: all
	if usable != nil {
		arcs = []uint32{}
		for a := 0; a < m; a++ {
			if usable[a] {
				arcs = append(arcs, uint32(a))
			}
		}
	}
	comp, sizes := strongComponentsOf(n, raw, arcs)
	keep, pieces := keptPieces(sizes, minPiece)

	var kept []uint32
	var minLat, minLon, maxLat, maxLon int32 = math.MaxInt32, math.MaxInt32, math.MinInt32, math.MinInt32
	for u := 0; u < n; u++ {
		if !keep[comp[u]] {
			continue
		}
		kept = append(kept, uint32(u))
		nd := &r.nodes[raw.nodeOf[u]]
		minLat, maxLat = min(minLat, nd.lat), max(maxLat, nd.lat)
		minLon, maxLon = min(minLon, nd.lon), max(maxLon, nd.lon)
	}
	scale := func(v, lo, hi int32) uint32 {
		if hi == lo {
			return 0
		}
		return uint32((int64(v) - int64(lo)) * 0xFFFF / (int64(hi) - int64(lo)))
	}
	keys := make([]uint64, n)
	for _, u := range kept {
		nd := &r.nodes[raw.nodeOf[u]]
		keys[u] = hilbertKey(scale(nd.lon, minLon, maxLon), scale(nd.lat, minLat, maxLat))
	}
	sort.Slice(kept, func(i, j int) bool {
		a, b := kept[i], kept[j]
		if keys[a] != keys[b] {
			return keys[a] < keys[b]
		}
		return r.nodes[raw.nodeOf[a]].id < r.nodes[raw.nodeOf[b]].id
	})
	newID := make([]int32, n)
	for i := range newID {
		newID[i] = -1
	}
	for i, u := range kept {
		newID[u] = int32(i)
	}

	g := &roadgraph.Graph{Profile: p}
	nk := len(kept)
	g.Lat, g.Lon, g.OSMNodeID = make([]int32, nk), make([]int32, nk), make([]int64, nk)
	for i, u := range kept {
		nd := &r.nodes[raw.nodeOf[u]]
		g.Lat[i], g.Lon[i], g.OSMNodeID[i] = nd.lat, nd.lon, nd.id
	}
	keptArcs := make([]uint32, 0, m)
	newTail := make([]uint32, 0, m)
	shapePoints := 0
	for a := 0; a < m; a++ {
		if t := newID[raw.tail[a]]; t >= 0 && newID[raw.head[a]] >= 0 && comp[raw.tail[a]] == comp[raw.head[a]] && (usable == nil || usable[a]) {
			keptArcs = append(keptArcs, uint32(a))
			newTail = append(newTail, uint32(t))
			shapePoints += int(raw.shapeN[a])
		}
	}
	var slot []uint32
	g.FirstOut, slot = forwardStar(nk, newTail)
	mk := len(keptArcs)
	g.Head, g.TimeMS, g.LengthM, g.NameID = make([]uint32, mk), make([]uint32, mk), make([]float32, mk), make([]uint32, mk)
	g.GeomFirst = make([]uint32, mk+1)
	g.GeomLat, g.GeomLon = make([]int32, 0, shapePoints), make([]int32, 0, shapePoints)
	g.Names = []string{""}
	nameID := map[uint32]uint32{0: 0}
	emergencyM := 0.0
	wayUsed := make([]bool, len(r.ways))
	ways := 0
	for i, k := range slot {
		a := keptArcs[k]
		g.Head[i] = uint32(newID[raw.head[a]])
		g.TimeMS[i] = raw.timeMS[a]
		g.LengthM[i] = raw.lengthM[a]
		id, ok := nameID[raw.name[a]]
		if !ok {
			id = uint32(len(g.Names))
			g.Names = append(g.Names, r.names[raw.name[a]])
			nameID[raw.name[a]] = id
		}
		g.NameID[i] = id
		if !wayUsed[raw.way[a]] {
			wayUsed[raw.way[a]] = true
			ways++
		}
		shape := r.refIdx[raw.shapeFirst[a] : raw.shapeFirst[a]+raw.shapeN[a]]
		for j := range shape {
			if raw.reversed[a] {
				j = len(shape) - 1 - j
			}
			nd := &r.nodes[shape[j]]
			g.GeomLat = append(g.GeomLat, nd.lat)
			g.GeomLon = append(g.GeomLon, nd.lon)
		}
		g.GeomFirst[i+1] = uint32(len(g.GeomLat))
		if raw.emergency[a] {
			g.EmergencyArcs = append(g.EmergencyArcs, uint32(i))
			emergencyM += float64(raw.lengthM[a])
		}
	}
	return g, ProfileStats{
		Profile: p, Ways: ways, Nodes: nk, Arcs: mk, Components: len(sizes), Pieces: pieces,
		DroppedNodes: n - nk, DroppedArcs: m - mk,
		// Both directions of a two-way road are arcs: half their length
		// is the road's.
		EmergencyArcs: len(g.EmergencyArcs), EmergencyM: math.Round(emergencyM / 2),
	}
}

// buildProfile turns the resolved input into profile p's graph.
func buildProfile(ctx context.Context, r *resolved, p roadgraph.Profile, minPiece int) (*roadgraph.Graph, ProfileStats, error) {
	raw, err := buildRaw(ctx, r, p)
	if err != nil {
		return nil, ProfileStats{Profile: p}, fmt.Errorf("%s network: %w", p, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, ProfileStats{Profile: p}, err
	}
	g, st := finish(r, raw, p, minPiece)
	return g, st, nil
}
