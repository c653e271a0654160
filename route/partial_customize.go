package route

import (
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

	inputFirst []uint32 // per hierarchy arc
	inputs     []uint32 // input arc << 1 | 1 when it runs downward
}

func (c *CCH) buildDownIndex() *downIndex {
	n, m := len(c.parent), len(c.upHead)
	d := &downIndex{first: make([]uint32, n+1), tail: make([]uint32, m), arc: make([]uint32, m)}
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
	return d
}

func (c *CCH) down() *downIndex {
	c.downOnce.Do(func() { c.downIdx = c.buildDownIndex() })
	return c.downIdx
}

// customizeScratch is the working memory of a customization, kept
// between calls (in CCH.scratchPool) so that applying a threat picture
// allocates nothing in proportion to the graph.
type customizeScratch struct {
	arcTo []uint32 // per node: the arc from the current node to it
	// Per hierarchy arc: 0 when partial customization has not touched it,
	// else 1 + its index in touched, with needsRecompute set when its
	// weight must be recomputed from scratch.
	slot           []uint32
	touched        []uint32 // arcs written to, in the order first touched
	oldUp, oldDown []uint32 // their weights before
	nodes          *minHeap // lower ends of the touched arcs still to settle
}

const needsRecompute = 1 << 31

func (c *CCH) scratch() *customizeScratch {
	if s, ok := c.scratchPool.Get().(*customizeScratch); ok {
		return s
	}
	n, m := len(c.parent), len(c.upHead)
	return &customizeScratch{arcTo: make([]uint32, n), slot: make([]uint32, m), nodes: newMinHeap(n)}
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
	if len(changed) > len(c.inputArc)/8 {
		c.customizeInto(mt, weights)
		return touched, true
	}
	d := c.down()
	s := c.scratch()
	defer c.scratchPool.Put(s)
	u := updater{c: c, d: d, s: s, mt: mt, weights: weights}
	for _, a := range changed {
		ca := c.inputArc[a]
		if ca == Inf {
			continue
		}
		if ca&1 == 0 {
			u.relax(ca>>1, mt.up, mt.upVia, weights[a], a|viaInput)
		} else {
			u.relax(ca>>1, mt.down, mt.downVia, weights[a], a|viaInput)
		}
	}
	for s.nodes.Len() > 0 {
		x, _ := s.nodes.Pop()
		lo, hi := c.upFirst[x], c.upFirst[x+1]
		for e := lo; e < hi; e++ {
			if s.slot[e]&needsRecompute != 0 {
				u.recompute(e)
			}
		}
		for e := lo; e < hi; e++ {
			if k := s.slot[e] &^ needsRecompute; k != 0 {
				u.propagate(e, mt.up[e] != s.oldUp[k-1], mt.down[e] != s.oldDown[k-1])
			}
		}
	}
	for _, e := range s.touched {
		s.slot[e] = 0
	}
	touched = append(touched, s.touched...)
	s.touched, s.oldUp, s.oldDown = s.touched[:0], s.oldUp[:0], s.oldDown[:0]
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
	s.oldUp = append(s.oldUp, u.mt.up[e])
	s.oldDown = append(s.oldDown, u.mt.down[e])
	s.slot[e] = uint32(len(s.touched))
	x := u.c.upTail[e]
	if s.nodes.pos[x] < 0 {
		s.nodes.PushOrDecrease(x, x)
	}
}

// relax offers arc e, in the direction whose weights and vias are w and
// via, the new candidate weight cand from source src (a middle node, or an
// input arc with viaInput).
func (u *updater) relax(e uint32, w, via []uint32, cand, src uint32) {
	switch cur := w[e]; {
	case cand < cur:
		u.touch(e)
		w[e], via[e] = cand, src
	case cand > cur && via[e] == src:
		// The weight came from src, which got dearer: only a full
		// recomputation knows what the best is now.
		u.touch(e)
		u.s.slot[e] |= needsRecompute
	}
}

// recompute sets arc e = x-y's weights from scratch: its input arcs, then
// every lower triangle z<x<y, the lower neighbours common to x and y found
// by merging their sorted lists. Ties go to the lowest middle node, as in
// Customize.
func (u *updater) recompute(e uint32) {
	c, d, mt, weights := u.c, u.d, u.mt, u.weights
	wu, wd := uint32(Inf), uint32(Inf)
	vu, vd := uint32(Inf), uint32(Inf)
	for _, in := range d.inputs[d.inputFirst[e]:d.inputFirst[e+1]] {
		a := in >> 1
		if w := weights[a]; in&1 == 0 && w < wu {
			wu, vu = w, a|viaInput
		} else if in&1 == 1 && w < wd {
			wd, vd = w, a|viaInput
		}
	}
	up, down := mt.up, mt.down
	x, y := c.upTail[e], c.upHead[e]
	i, iEnd := d.first[x], d.first[x+1]
	j, jEnd := d.first[y], d.first[y+1]
	for i < iEnd && j < jEnd {
		zi, zj := d.tail[i], d.tail[j]
		switch {
		case zi < zj:
			i++
		case zj < zi:
			j++
		default:
			e1, e2 := d.arc[i], d.arc[j]                // z-x, z-y
			if w := addCost(down[e1], up[e2]); w < wu { // x->z->y
				wu, vu = w, zi
			}
			if w := addCost(down[e2], up[e1]); w < wd { // y->z->x
				wd, vd = w, zi
			}
			i++
			j++
		}
	}
	up[e], down[e] = wu, wd
	mt.upVia[e], mt.downVia[e] = vu, vd
	u.s.slot[e] &^= needsRecompute
}

// propagate offers the new weights of arc e = x-y (upMoved, downMoved say
// which changed) to the top arcs of the triangles e is a lower side of:
// with every other upward neighbour z of x, the arc z-y when z < y, y-z
// when z > y. All arcs of x are final by now.
func (u *updater) propagate(e uint32, upMoved, downMoved bool) {
	if !upMoved && !downMoved {
		return
	}
	c, d, mt := u.c, u.d, u.mt
	up, down, upVia, downVia := mt.up, mt.down, mt.upVia, mt.downVia
	head, first := c.upHead, c.upFirst
	x, y := c.upTail[e], c.upHead[e]
	toY, fromY := up[e], down[e] // x->y, y->x
	// The lower neighbours of y above x, in increasing rank, hold the arcs
	// z-y for z < y; y's upward arcs hold y-z for z > y.
	j := d.first[y]
	jEnd := d.first[y+1]
	k, _ := slices.BinarySearch(d.tail[j:jEnd], x)
	j += uint32(k)
	f := first[y]
	for e2 := first[x]; e2 < first[x+1]; e2++ {
		z := head[e2]
		toZ, fromZ := up[e2], down[e2] // x->z, z->x
		switch {
		case z < y:
			for d.tail[j] < z {
				j++
			}
			g := d.arc[j] // z-y
			if upMoved {
				u.relax(g, up, upVia, addCost(fromZ, toY), x) // z->x->y
			}
			if downMoved {
				u.relax(g, down, downVia, addCost(fromY, toZ), x) // y->x->z
			}
		case z > y:
			for head[f] < z {
				f++
			}
			// f is y-z
			if downMoved {
				u.relax(f, up, upVia, addCost(fromY, toZ), x) // y->x->z
			}
			if upMoved {
				u.relax(f, down, downVia, addCost(fromZ, toY), x) // z->x->y
			}
		}
	}
}

// MetricPair applies successive weights to a hierarchy without copying a
// metric each time: it alternates between two metrics, the current one and
// a spare one picture behind. Next brings the spare up to date (copying
// back only the arcs the last update touched), updates it in place to the
// new weights and makes it current. The current metric is never written
// to, so queries can go on reading it; the caller says whether any query
// still reads the spare (see Router.SetZones). Not safe for concurrent use.
type MetricPair struct {
	c          *CCH
	cur, spare *Metric
	stale      []uint32 // arcs where spare differs from cur...
	all        bool     // ...or possibly every arc
}

// NewMetricPair customizes weights into the first current metric.
func NewMetricPair(c *CCH, weights []uint32) *MetricPair {
	return &MetricPair{c: c, cur: c.Customize(weights)}
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
	p.stale, p.all = p.c.Update(next, weights, changed, p.stale[:0])
	p.cur, p.spare = next, p.cur
	return next
}
