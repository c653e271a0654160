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

// Recustomize derives the metric for new weights from prev, the metric of
// the previous weights, when only the input arcs in changed differ between
// the two. Only hierarchy arcs whose weight can change are recomputed: each
// changed arc is recomputed from its input arcs and all its lower
// triangles, and if its weight moved, the arcs of the triangles it is a
// lower side of are queued in turn, by increasing lower end. Threat
// pictures change a small part of a city, so this touches a small part of
// the hierarchy; the result is identical to Customize(weights).
func (c *CCH) Recustomize(prev *Metric, weights []uint32, changed []uint32) *Metric {
	if len(changed) > len(c.inputArc)/8 {
		return c.Customize(weights)
	}
	d := c.down()
	mt := &Metric{c: c, up: slices.Clone(prev.up), down: slices.Clone(prev.down),
		upMid: slices.Clone(prev.upMid), downMid: slices.Clone(prev.downMid),
		upInput: slices.Clone(prev.upInput), downInput: slices.Clone(prev.downInput)}
	h := newMinHeap(len(c.upHead))
	// The heap's position array already tells whether an arc is queued.
	push := func(e uint32) {
		if h.pos[e] < 0 {
			h.PushOrDecrease(e, c.upTail[e])
		}
	}
	for _, a := range changed {
		if ca := c.inputArc[a]; ca != Inf {
			push(ca >> 1)
		}
	}
	up, down, head, first := mt.up, mt.down, c.upHead, c.upFirst
	for h.Len() > 0 {
		e, _ := h.Pop()
		x, y := c.upTail[e], c.upHead[e]
		oldUp, oldDown := up[e], down[e]
		// From scratch: the input arcs...
		wu, wd := uint32(Inf), uint32(Inf)
		iu, id := uint32(Inf), uint32(Inf)
		for _, in := range d.inputs[d.inputFirst[e]:d.inputFirst[e+1]] {
			a := in >> 1
			if w := weights[a]; in&1 == 0 && w < wu {
				wu, iu = w, a
			} else if in&1 == 1 && w < wd {
				wd, id = w, a
			}
		}
		mu, md := uint32(Inf), uint32(Inf)
		// ...then every lower triangle z<x<y: the lower neighbours common
		// to x and y, by a merge of their sorted lists.
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
					wu, mu = w, zi
				}
				if w := addCost(down[e2], up[e1]); w < wd { // y->z->x
					wd, md = w, zi
				}
				i++
				j++
			}
		}
		up[e], down[e] = wu, wd
		mt.upMid[e], mt.downMid[e] = mu, md
		mt.upInput[e], mt.downInput[e] = iu, id
		if wu == oldUp && wd == oldDown {
			continue
		}
		// e = x-y is a lower side of the triangles x<y<z (arc y-z) and
		// x<z<y (arc z-y), for every other upward neighbour z of x.
		f := first[y]
		for e2 := first[x]; e2 < first[x+1]; e2++ {
			z := head[e2]
			switch {
			case z < y:
				push(c.arc(z, y))
			case z > y:
				for f < first[y+1] && head[f] < z {
					f++
				}
				push(f)
			}
		}
	}
	return mt
}
