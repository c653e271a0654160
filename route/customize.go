package route

import "slices"

// Metric is a hierarchy customized with one set of arc weights: the
// weights of the road graph's arcs (travel times, raised inside risky zones
// and Inf across forbidden ones) propagated into every shortcut. Queries
// only read a Metric, so they can run on one while the next threat picture
// is customized into another (see Router.SetZones for how a router
// alternates between two without copying them).
type Metric struct {
	c *CCH
	a []arcMetric // per hierarchy arc
	// The weights again, each direction on its own, as queries read them:
	// a query relaxes one direction of every arc of a node, and a
	// one-to-all sweep one direction of every arc, so 4 bytes an arc
	// instead of 16 is what keeps them as fast as before. Customization
	// writes them last, and only for the arcs it changed.
	upward, downward []uint32
}

// arcMetric is one hierarchy arc's part of a Metric, kept together because
// customization reads and writes it all at once.
type arcMetric struct {
	// The cost of travelling the arc upward (from its lower to its higher
	// ranked end: w[up]) and downward (w[down]).
	w [2]uint32
	// How each weight was obtained: the middle node (rank) of the lower
	// triangle that gave it; or, with viaInput set, the road graph arc whose
	// own weight it is; Inf when the weight is Inf. Path unpacking follows
	// it, and partial customization uses it to tell whether a weight that
	// rose was the one an arc's weight came from.
	via [2]uint32
}

// The two directions of a hierarchy arc, as indexes of arcMetric.w and via.
const (
	up   = 0
	down = 1
)

// viaInput marks a Metric's via entry as a road graph arc rather than the
// middle node of a triangle. NewCCH refuses graphs with 2^31 arcs or more.
const viaInput = 1 << 31

func (c *CCH) newMetric() *Metric {
	m := len(c.upHead)
	return &Metric{c: c, a: make([]arcMetric, m), upward: make([]uint32, m), downward: make([]uint32, m)}
}

// clone returns a copy of mt that shares nothing with it.
func (mt *Metric) clone() *Metric {
	return &Metric{c: mt.c, a: slices.Clone(mt.a), upward: slices.Clone(mt.upward), downward: slices.Clone(mt.downward)}
}

// copyArcs makes the given hierarchy arcs of mt what they are in src.
func (mt *Metric) copyArcs(src *Metric, arcs []uint32) {
	for _, e := range arcs {
		mt.a[e] = src.a[e]
		mt.upward[e], mt.downward[e] = src.upward[e], src.downward[e]
	}
}

// copyAll makes mt equal to src.
func (mt *Metric) copyAll(src *Metric) {
	copy(mt.a, src.a)
	copy(mt.upward, src.upward)
	copy(mt.downward, src.downward)
}

// Customize propagates the road graph's arc weights (indexed like the
// graph's arcs; Inf means the arc may not be used) through the hierarchy.
func (c *CCH) Customize(weights []uint32) *Metric {
	mt := c.newMetric()
	s := c.scratch()
	defer c.scratchPool.Put(s)
	c.customizeInto(s, mt, weights)
	return mt
}

// CustomizeInto is Customize into mt, a metric of c, overwriting it
// instead of allocating another. Queries must not run on mt meanwhile.
func (c *CCH) CustomizeInto(mt *Metric, weights []uint32) {
	if mt.c != c {
		panic("route: CustomizeInto: the metric belongs to another hierarchy")
	}
	s := c.scratch()
	defer c.scratchPool.Put(s)
	c.customizeInto(s, mt, weights)
}

// ArcWeights returns hierarchy arc e's weights, upward (from its lower
// ranked end to its higher) and downward.
func (mt *Metric) ArcWeights(e int) (upward, downward uint32) { return mt.upward[e], mt.downward[e] }

// customizeInto is the basic customization, into mt's arrays. Nodes go in
// increasing rank; node x receives all its lower triangles at once: for
// every lower neighbour y of x and every upward arc y-z of y above x, the
// triangle y<x<z can shorten x-z by way of y (x->y->z and z->y->x). The arc
// x-z is found in a node-indexed table filled with x's arcs, so a triangle
// costs a constant, and every arc y-z that the loop reads is a real
// triangle: the upward neighbours of y form a clique, so all those above x
// are neighbours of x. The arcs of y are final when x is reached, since
// their lower triangles all lie below y.
func (c *CCH) customizeInto(s *customizeScratch, mt *Metric, weights []uint32) {
	am := mt.a
	for i := range am {
		am[i] = arcMetric{w: [2]uint32{Inf, Inf}, via: [2]uint32{Inf, Inf}}
	}
	for a, ca := range c.inputArc {
		wa := weights[a]
		if ca == Inf || wa == Inf {
			continue
		}
		e, dir := ca>>1, ca&1
		if wa < am[e].w[dir] {
			am[e].w[dir], am[e].via[dir] = wa, uint32(a)|viaInput
		}
	}
	d := c.down()
	arcTo := s.arcTo
	head, first := c.upHead, c.upFirst
	n := uint32(len(c.parent))
	for x := uint32(0); x < n; x++ {
		lo, hi := first[x], first[x+1]
		if lo == hi {
			continue
		}
		// x's arcs, and the table from their upper ends to them (relative).
		ax := am[lo:hi]
		for e := lo; e < hi; e++ {
			arcTo[head[e]] = e - lo
		}
		for i := d.first[x]; i < d.first[x+1]; i++ {
			y, yx := d.tail[i], d.arc[i]
			toY, fromY := am[yx].w[down], am[yx].w[up] // x->y, y->x
			if toY == Inf && fromY == Inf {
				continue
			}
			// y's arcs above x, from the top down; the arc y-x ends the walk.
			headY := head[first[y]:first[y+1]]
			ay := am[first[y]:first[y+1]]
			ay = ay[:len(headY)]
			for k := len(headY) - 1; k >= 0 && headY[k] > x; k-- {
				xz := arcTo[headY[k]]
				wyz, axz := ay[k].w, &ax[xz]
				// x->y->z and z->y->x. Written so that the compiler
				// selects without branching: which candidate wins is
				// unpredictable, and mispredictions cost more than the
				// store.
				cu, cd := addCost(toY, wyz[up]), addCost(wyz[down], fromY)
				wu, vu, wd, vd := axz.w[up], axz.via[up], axz.w[down], axz.via[down]
				if cu < wu {
					wu, vu = cu, y
				}
				if cd < wd {
					wd, vd = cd, y
				}
				*axz = arcMetric{w: [2]uint32{wu, wd}, via: [2]uint32{vu, vd}}
			}
		}
	}
	for e := range am {
		mt.upward[e], mt.downward[e] = am[e].w[up], am[e].w[down]
	}
}
