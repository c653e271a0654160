package route

import (
	"math/bits"
	"slices"
)

// downIndex lists, for every node y, the hierarchy arcs that reach it from
// below, sorted by their lower end; and, for every hierarchy arc, the input
// arcs it carries. Partial customization needs both; they are built on
// first use so that routers that never re-customize do not pay for them.
type downIndex struct {
	first []uint32 // per node
	tail  []uint32 // lower end of each entry, sorted within a node
	arc   []uint32 // the hierarchy arc of each entry
	entry []uint32 // per hierarchy arc x-y: its entry in y's list

	inputFirst []uint32 // per hierarchy arc
	inputs     []uint32 // input arc << 1 | 1 when it runs downward

	// The upper triangles of every node x, by the position of their top
	// arcs: for x's upward neighbours z_0 < z_1 < ... < z_(n-1), the pair
	// (i, k), i < k, holds where z_k is among z_i's upward neighbours (the
	// top arc z_i-z_k is arc upFirst[z_i] + that). x's pairs start at
	// triFirst[x], row after row: (0,1) ... (0,n-1), (1,2) ... (n-2,n-1).
	// Partial customization finds a triangle's top in it instead of
	// walking a list. A position fits 16 bits: a node's upward neighbours
	// form a clique, and 2^16+1 of them would have more arcs than NewCCH
	// lets a hierarchy have (2^31).
	triFirst []uint32 // per node
	tri      []uint16
}

// triRow is where row i of a node's triangle table starts, the node
// having n upward neighbours.
func triRow(i, n int) int { return i * (2*n - i - 1) / 2 }

func (c *CCH) buildDownIndex() *downIndex {
	n, m := len(c.parent), len(c.upHead)
	d := &downIndex{first: make([]uint32, n+1), tail: make([]uint32, m), arc: make([]uint32, m), entry: make([]uint32, m)}
	for _, y := range c.upHead {
		d.first[y+1]++
	}
	for i := 0; i < n; i++ {
		d.first[i+1] += d.first[i]
	}
	next := slices.Clone(d.first[:n])
	// Arcs are stored by increasing tail, so each node's list comes out sorted.
	for e := 0; e < m; e++ {
		y := c.upHead[e]
		d.tail[next[y]] = c.upTail[e]
		d.arc[next[y]] = uint32(e)
		d.entry[e] = next[y]
		next[y]++
	}
	d.inputFirst = make([]uint32, m+1)
	for _, ca := range c.inputArc {
		if ca != Inf {
			d.inputFirst[ca>>1+1]++
		}
	}
	for i := 0; i < m; i++ {
		d.inputFirst[i+1] += d.inputFirst[i]
	}
	d.inputs = make([]uint32, d.inputFirst[m])
	fill := slices.Clone(d.inputFirst[:m])
	for a, ca := range c.inputArc {
		if ca != Inf {
			e := ca >> 1
			d.inputs[fill[e]] = uint32(a)<<1 | ca&1
			fill[e]++
		}
	}
	d.triFirst = make([]uint32, n+1)
	for x := 0; x < n; x++ {
		k := int(c.upFirst[x+1] - c.upFirst[x])
		d.triFirst[x+1] = d.triFirst[x] + uint32(triRow(k, k))
	}
	d.tri = make([]uint16, d.triFirst[n])
	for x := 0; x < n; x++ {
		hx := c.upHead[c.upFirst[x]:c.upFirst[x+1]]
		t := d.tri[d.triFirst[x]:d.triFirst[x+1]]
		for i, z := range hx {
			hz := c.upHead[c.upFirst[z]:c.upFirst[z+1]]
			p := 0
			for _, w := range hx[i+1:] {
				for hz[p] < w { // there, the hierarchy being chordal
					p++
				}
				t[0] = uint16(p)
				t = t[1:]
			}
		}
	}
	return d
}

func (c *CCH) down() *downIndex {
	c.downOnce.Do(func() { c.downIdx = c.buildDownIndex() })
	return c.downIdx
}

// customizeScratch is the working memory of a customization, kept
// between calls (by a MetricPair, or in CCH.scratchPool) so that applying
// a threat picture allocates nothing in proportion to the graph.
type customizeScratch struct {
	arcTo []uint32 // per node: the arc from the current node to it
	// Per hierarchy arc: 0 when partial customization has not touched it,
	// else 1 + its index in touched, with needsRecompute set when its
	// weight must be recomputed from scratch.
	slot    []uint32
	touched []uint32    // arcs written to, in the order first touched
	moved   []uint8     // per arc of the node being settled: which weights moved
	old     [][2]uint32 // their weights before
	// Lower ends of the touched arcs still to settle, a bit per rank: the
	// nodes are settled in increasing rank and only higher ones are added
	// meanwhile, so one forward scan over the words finds them all.
	pending []uint64
	// The lower neighbours of the node being settled, a bit per rank, and
	// per node z among them the arc z-x (see markLower).
	lowBits []uint64
	lowArc  []uint32
}

const needsRecompute = 1 << 31

func (c *CCH) scratch() *customizeScratch {
	if s, ok := c.scratchPool.Get().(*customizeScratch); ok {
		return s
	}
	n, m := len(c.parent), len(c.upHead)
	return &customizeScratch{arcTo: make([]uint32, n), slot: make([]uint32, m), pending: make([]uint64, (n+63)/64), lowBits: make([]uint64, (n+63)/64), lowArc: make([]uint32, n)}
}

// Recustomize returns the metric for new weights, derived from prev, the
// metric of the previous weights, when only the input arcs in changed
// differ between the two (changed may list arcs that did not change). prev
// is left as it was. The result equals Customize(weights), weight for
// weight. A router alternating between two metrics uses Update instead and
// copies nothing.
func (c *CCH) Recustomize(prev *Metric, weights []uint32, changed []uint32) *Metric {
	mt := prev.clone()
	c.Update(mt, weights, changed, nil)
	return mt
}

// Update turns mt, the metric of the previous weights, into the metric of
// weights, in place, when only the input arcs in changed differ between
// the two (changed may list arcs that did not change). It appends to
// touched every hierarchy arc it wrote to and returns it, with all true
// when it customized every arc instead (beyond 1/8 of the arcs changed,
// that is cheaper). Queries must not run on mt meanwhile.
//
// Only weights that can change are recomputed. Nodes are settled in
// increasing rank; when an arc x-y's weight has moved, each triangle it is
// a lower side of (x<y<z, arc y-z, or x<z<y, arc z-y) gives its top arc a
// new candidate through x. A candidate lower than the top's weight
// replaces it at once; a candidate that rose forces the top to be
// recomputed from scratch (its input arcs and all its lower triangles)
// only when the top's weight came from that very triangle, which the
// metric's via entry says; otherwise the top is left alone. Changed input
// arcs are treated alike. The tops' lower sides are all final when they are
// read, because everything below their lower end has been settled.
func (c *CCH) Update(mt *Metric, weights []uint32, changed []uint32, touched []uint32) ([]uint32, bool) {
	s := c.scratch()
	defer c.scratchPool.Put(s)
	return c.update(s, mt, weights, changed, touched)
}

func (c *CCH) update(s *customizeScratch, mt *Metric, weights []uint32, changed []uint32, touched []uint32) ([]uint32, bool) {
	if len(changed) > len(c.inputArc)/8 {
		c.customizeInto(s, mt, weights)
		return touched, true
	}
	d := c.down()
	u := updater{c: c, d: d, s: s, mt: mt, weights: weights}
	for _, a := range changed {
		if ca := c.inputArc[a]; ca != Inf {
			u.relax(ca>>1, ca&1, weights[a], a|viaInput)
		}
	}
	am := mt.a
	for word := 0; ; {
		for word < len(s.pending) && s.pending[word] == 0 {
			word++
		}
		if word == len(s.pending) {
			break
		}
		b := bits.TrailingZeros64(s.pending[word])
		s.pending[word] &^= 1 << b
		x := uint32(word*64 + b)
		lo, hi := c.upFirst[x], c.upFirst[x+1]
		marked := false
		for e := lo; e < hi; e++ {
			if s.slot[e]&needsRecompute != 0 {
				if !marked {
					u.markLower(x, true)
					marked = true
				}
				u.recompute(e)
			}
		}
		if marked {
			u.markLower(x, false)
		}
		// Which of x's arcs moved, and which of their weights.
		moved := s.moved[:0]
		anyMoved := false
		for e := lo; e < hi; e++ {
			var mv uint8
			if k := s.slot[e] &^ needsRecompute; k != 0 {
				old, w := s.old[k-1], am[e].w
				if w[up] != old[up] {
					mv |= movedUp
				}
				if w[down] != old[down] {
					mv |= movedDown
				}
				anyMoved = anyMoved || mv != 0
			}
			moved = append(moved, mv)
		}
		s.moved = moved
		if !anyMoved {
			continue
		}
		for e := lo; e < hi; e++ {
			if moved[e-lo] != 0 {
				u.propagate(e, moved)
			}
		}
	}
	for _, e := range s.touched {
		s.slot[e] = 0
		mt.upward[e], mt.downward[e] = am[e].w[up], am[e].w[down]
	}
	touched = append(touched, s.touched...)
	s.touched, s.old = s.touched[:0], s.old[:0]
	return touched, false
}

// updater is one partial customization in progress.
type updater struct {
	c       *CCH
	d       *downIndex
	s       *customizeScratch
	mt      *Metric
	weights []uint32
}

// touch records arc e's weights before it is first written to, and queues
// its lower end.
func (u *updater) touch(e uint32) {
	s := u.s
	if s.slot[e] != 0 {
		return
	}
	s.touched = append(s.touched, e)
	s.old = append(s.old, u.mt.a[e].w)
	s.slot[e] = uint32(len(s.touched))
	x := u.c.upTail[e]
	s.pending[x>>6] |= 1 << (x & 63)
}

// relax offers arc e, in direction dir, the new candidate weight cand from
// source src (a middle node, or an input arc with viaInput).
func (u *updater) relax(e, dir, cand, src uint32) {
	am := &u.mt.a[e]
	w, via := &am.w, &am.via
	switch cur := w[dir]; {
	case cand < cur:
		u.touch(e)
		w[dir], via[dir] = cand, src
	case cand > cur && via[dir] == src:
		// The weight came from src, which got dearer: only a full
		// recomputation knows what the best is now.
		u.touch(e)
		u.s.slot[e] |= needsRecompute
	}
}

// markLower sets (or clears) the bits of x's lower neighbours in the
// scratch's bit set and records their arcs to x, for recompute.
func (u *updater) markLower(x uint32, set bool) {
	d, bits, arcs := u.d, u.s.lowBits, u.s.lowArc
	tail, arc := d.tail[d.first[x]:d.first[x+1]], d.arc[d.first[x]:d.first[x+1]]
	arc = arc[:len(tail)]
	for i, z := range tail {
		if set {
			bits[z>>6] |= 1 << (z & 63)
			arcs[z] = arc[i]
		} else {
			bits[z>>6] = 0
		}
	}
}

// recompute sets arc e = x-y's weights from scratch: its input arcs, then
// every lower triangle z<x<y. y's lower neighbours below x are walked and
// each looked up in the bit set of x's lower neighbours that markLower
// filled, so the cost is one pass over that part of y's list. Any
// triangle of the least weight may be the one recorded.
func (u *updater) recompute(e uint32) {
	c, d, mt, weights := u.c, u.d, u.mt, u.weights
	best := [2]uint32{Inf, Inf}
	via := [2]uint32{Inf, Inf}
	for _, in := range d.inputs[d.inputFirst[e]:d.inputFirst[e+1]] {
		a, dir := in>>1, in&1
		if wa := weights[a]; wa < best[dir] {
			best[dir], via[dir] = wa, a|viaInput
		}
	}
	am, bits, lowArc := mt.a, u.s.lowBits, u.s.lowArc
	y := c.upHead[e]
	// y's lower neighbours below x come before x-y's own entry.
	from, to := d.first[y], d.entry[e]
	ty, ay := d.tail[from:to], d.arc[from:to]
	ay = ay[:len(ty)]
	for j, z := range ty {
		if bits[z>>6]&(1<<(z&63)) == 0 {
			continue
		}
		zx, zy := am[lowArc[z]].w, am[ay[j]].w
		if c := addCost(zx[down], zy[up]); c < best[up] { // x->z->y
			best[up], via[up] = c, z
		}
		if c := addCost(zy[down], zx[up]); c < best[down] { // y->z->x
			best[down], via[down] = c, z
		}
	}
	am[e] = arcMetric{w: best, via: via}
	u.s.slot[e] &^= needsRecompute
}

// propagate offers the new weights of arc e = x-y to the top arcs of the
// triangles e is a lower side of: with every other upward neighbour z of x,
// the arc z-y when z < y, y-z when z > y. All arcs of x are final by now;
// moved says which of them moved (indexed from x's first arc). A triangle
// whose other lower side x-z moved too is offered once, from the lower of
// the two arcs, with both candidates that either change affects. A
// candidate that neither beats the top's weight nor rose where the top's
// weight came from (the usual case) is dismissed inline.
func (u *updater) propagate(e uint32, moved []uint8) {
	c, d, am := u.c, u.d, u.mt.a
	first := c.upFirst
	x, y := c.upTail[e], c.upHead[e]
	lo, hi := first[x], first[x+1]
	// x's arcs, indexed from lo; e is the k-th.
	hx, ax, mv := c.upHead[lo:hi], am[lo:hi], moved[:hi-lo]
	ax = ax[:len(hx)]
	mv = mv[:len(hx)]
	n, k := len(hx), int(e-lo)
	tri := d.tri[d.triFirst[x]:d.triFirst[x+1]]
	mine := mv[k]
	toY, fromY := ax[k].w[up], ax[k].w[down] // x->y, y->x
	// z < y: the top is z-y, found in the column of y in x's table. A
	// triangle whose side x-z moved too was offered when x-z was, as the
	// lower of the two.
	yxz, zxy := mine&movedDown != 0, mine&movedUp != 0
	row := 0 // triRow(i, n)
	for i := 0; i < k; i++ {
		if mv[i] == 0 {
			z := hx[i]
			g := first[z] + uint32(tri[row+k-i-1])
			ag := &am[g]
			if yxz {
				if c := addCost(fromY, ax[i].w[up]); c < ag.w[down] || c > ag.w[down] && ag.via[down] == x { // y->x->z
					u.relax(g, down, c, x)
				}
			}
			if zxy {
				if c := addCost(ax[i].w[down], toY); c < ag.w[up] || c > ag.w[up] && ag.via[up] == x { // z->x->y
					u.relax(g, up, c, x)
				}
			}
		}
		row += n - 1 - i
	}
	// z > y: the top is y-z, found in the row of y.
	fy := first[y]
	rowY := tri[row : row+n-1-k]
	for i := k + 1; i < n; i++ {
		other := mv[i]
		g := fy + uint32(rowY[i-k-1])
		ag := &am[g]
		if mine&movedDown != 0 || other&movedUp != 0 {
			if c := addCost(fromY, ax[i].w[up]); c < ag.w[up] || c > ag.w[up] && ag.via[up] == x { // y->x->z
				u.relax(g, up, c, x)
			}
		}
		if mine&movedUp != 0 || other&movedDown != 0 {
			if c := addCost(ax[i].w[down], toY); c < ag.w[down] || c > ag.w[down] && ag.via[down] == x { // z->x->y
				u.relax(g, down, c, x)
			}
		}
	}
}

// Bits of customizeScratch.moved.
const (
	movedUp   = 1
	movedDown = 2
)

// MetricPair applies successive weights to a hierarchy without copying a
// metric each time: it alternates between two metrics, the current one and
// a spare one picture behind. Next brings the spare up to date (copying
// back only the arcs the last update touched), updates it in place to the
// new weights and makes it current. The current metric is never written
// to, so queries can go on reading it; the caller says whether any query
// still reads the spare (see Router.SetZones). Not safe for concurrent use.
type MetricPair struct {
	c          *CCH
	s          *customizeScratch // its own: a pool is emptied by the collector
	cur, spare *Metric
	stale      []uint32 // arcs where spare differs from cur...
	all        bool     // ...or possibly every arc
}

// NewMetricPair customizes weights into the first current metric.
func NewMetricPair(c *CCH, weights []uint32) *MetricPair {
	return &MetricPair{c: c, cur: c.Customize(weights), s: c.scratch()}
}

// Current returns the current metric.
func (p *MetricPair) Current() *Metric { return p.cur }

// Next returns the metric of weights, which differ from the current
// metric's at most at the input arcs in changed, and makes it current.
// With spareInUse, the spare metric is left to whoever reads it and a copy
// of the current one is updated instead.
func (p *MetricPair) Next(weights, changed []uint32, spareInUse bool) *Metric {
	next := p.spare
	switch {
	case next == nil || spareInUse:
		next = p.cur.clone()
	case p.all:
		next.copyAll(p.cur)
	default:
		next.copyArcs(p.cur, p.stale)
	}
	p.stale, p.all = p.c.update(p.s, next, weights, changed, p.stale[:0])
	p.cur, p.spare = next, p.cur
	return next
}
