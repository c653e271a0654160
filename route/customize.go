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
	// Per hierarchy arc, the cost of travelling it upward (from its lower
	// to its higher ranked end) and downward.
	up, down []uint32
	// How each weight was obtained: the middle node (rank) of the lower
	// triangle that gave it; or, with viaInput set, the road graph arc whose
	// own weight it is; Inf when the weight is Inf. Path unpacking follows
	// it, and partial customization uses it to tell whether a weight that
	// rose was the one an arc's weight came from.
	upVia, downVia []uint32
}

// viaInput marks a Metric's via entry as a road graph arc rather than the
// middle node of a triangle. NewCCH refuses graphs with 2^31 arcs or more.
const viaInput = 1 << 31

func (c *CCH) newMetric() *Metric {
	m := len(c.upHead)
	return &Metric{c: c, up: make([]uint32, m), down: make([]uint32, m), upVia: make([]uint32, m), downVia: make([]uint32, m)}
}

// clone returns a copy of mt that shares nothing with it.
func (mt *Metric) clone() *Metric {
	return &Metric{c: mt.c, up: slices.Clone(mt.up), down: slices.Clone(mt.down), upVia: slices.Clone(mt.upVia), downVia: slices.Clone(mt.downVia)}
}

// copyArcs makes the given hierarchy arcs of mt what they are in src.
func (mt *Metric) copyArcs(src *Metric, arcs []uint32) {
	for _, e := range arcs {
		mt.up[e], mt.down[e] = src.up[e], src.down[e]
		mt.upVia[e], mt.downVia[e] = src.upVia[e], src.downVia[e]
	}
}

// copyAll makes mt equal to src.
func (mt *Metric) copyAll(src *Metric) {
	copy(mt.up, src.up)
	copy(mt.down, src.down)
	copy(mt.upVia, src.upVia)
	copy(mt.downVia, src.downVia)
}

// Customize propagates the road graph's arc weights (indexed like the
// graph's arcs; Inf means the arc may not be used) through the hierarchy.
func (c *CCH) Customize(weights []uint32) *Metric {
	mt := c.newMetric()
	c.customizeInto(mt, weights)
	return mt
}

// customizeInto is the basic customization, into mt's arrays. Nodes go in
// increasing rank; node x receives all its lower triangles at once: for
// every lower neighbour y of x and every upward arc y-z of y above x, the
// triangle y<x<z can shorten x-z by way of y (x->y->z and z->y->x). The arc
// x-z is found in a node-indexed table filled with x's arcs, so a triangle
// costs a constant, and every arc y-z that the loop reads is a real
// triangle: the upward neighbours of y form a clique, so all those above x
// are neighbours of x. The arcs of y are final when x is reached, since
// their lower triangles all lie below y.
func (c *CCH) customizeInto(mt *Metric, weights []uint32) {
	up, down, upVia, downVia := mt.up, mt.down, mt.upVia, mt.downVia
	for i := range up {
		up[i], down[i], upVia[i], downVia[i] = Inf, Inf, Inf, Inf
	}
	for a, ca := range c.inputArc {
		w := weights[a]
		if ca == Inf || w == Inf {
			continue
		}
		e := ca >> 1
		if ca&1 == 0 {
			if w < up[e] {
				up[e], upVia[e] = w, uint32(a)|viaInput
			}
		} else if w < down[e] {
			down[e], downVia[e] = w, uint32(a)|viaInput
		}
	}
	d := c.down()
	s := c.scratch()
	defer c.scratchPool.Put(s)
	arcTo := s.arcTo
	head, first := c.upHead, c.upFirst
	n := uint32(len(c.parent))
	for x := uint32(0); x < n; x++ {
		lo, hi := first[x], first[x+1]
		if lo == hi {
			continue
		}
		for e := lo; e < hi; e++ {
			arcTo[head[e]] = e
		}
		for i := d.first[x]; i < d.first[x+1]; i++ {
			y, yx := d.tail[i], d.arc[i]
			toY, fromY := down[yx], up[yx] // x->y, y->x
			if toY == Inf && fromY == Inf {
				continue
			}
			// y's arcs above x, from the top down; the arc y-x ends the walk.
			for yz := first[y+1] - 1; head[yz] > x; yz-- {
				xz := arcTo[head[yz]]
				if w := addCost(toY, up[yz]); w < up[xz] { // x->y->z
					up[xz], upVia[xz] = w, y
				}
				if w := addCost(down[yz], fromY); w < down[xz] { // z->y->x
					down[xz], downVia[xz] = w, y
				}
			}
		}
	}
}
