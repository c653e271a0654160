package route

// Metric is a hierarchy customized with one set of arc weights: the
// weights of the road graph's arcs (travel times, raised inside risky zones
// and Inf across forbidden ones) propagated into every shortcut. A Metric is
// immutable once built, so queries can run on it while the next threat
// picture is being customized into another.
type Metric struct {
	c *CCH
	// Per hierarchy arc, the cost of travelling it upward (from its lower
	// to its higher ranked end) and downward.
	up, down []uint32
	// How each weight was obtained: the middle node (rank) of the lower
	// triangle that gave it, or Inf when it is an input arc's own weight...
	upMid, downMid []uint32
	// ...and then which input arc.
	upInput, downInput []uint32
}

// Customize propagates the road graph's arc weights (indexed like the
// graph's arcs; Inf means the arc may not be used) through the hierarchy.
//
// It is the basic customization: nodes in increasing rank, each relaxing the
// lower triangles it is the bottom of. A triangle x<y<z joins x-y, x-z and
// y-z; going y->x->z can only shorten y->z. When x is processed, every arc
// at x has already received all its own lower triangles, so one sweep
// suffices.
func (c *CCH) Customize(weights []uint32) *Metric {
	m := len(c.upHead)
	mt := &Metric{c: c, up: make([]uint32, m), down: make([]uint32, m),
		upMid: make([]uint32, m), downMid: make([]uint32, m),
		upInput: make([]uint32, m), downInput: make([]uint32, m)}
	for i := 0; i < m; i++ {
		mt.up[i], mt.down[i] = Inf, Inf
		mt.upMid[i], mt.downMid[i] = Inf, Inf
		mt.upInput[i], mt.downInput[i] = Inf, Inf
	}
	for a, ca := range c.inputArc {
		w := weights[a]
		if ca == Inf || w == Inf {
			continue
		}
		e := ca >> 1
		if ca&1 == 0 {
			if w < mt.up[e] {
				mt.up[e], mt.upInput[e] = w, uint32(a)
			}
		} else if w < mt.down[e] {
			mt.down[e], mt.downInput[e] = w, uint32(a)
		}
	}
	up, down, head, first := mt.up, mt.down, c.upHead, c.upFirst
	n := uint32(len(c.parent))
	for x := uint32(0); x < n; x++ {
		lo, hi := first[x], first[x+1]
		for e1 := lo; e1 < hi; e1++ {
			// Arcs x-y (e1) and x-z (e2) with y < z; y-z is found by a
			// merge walk along y's arcs, since both lists are sorted.
			y := head[e1]
			dY, uY := down[e1], up[e1] // y->x, x->y
			if dY == Inf && uY == Inf {
				continue
			}
			f, fEnd := first[y], first[y+1]
			for e2 := e1 + 1; e2 < hi; e2++ {
				z := head[e2]
				for f < fEnd && head[f] < z {
					f++
				}
				if f == fEnd || head[f] != z {
					continue // cannot happen: the hierarchy is chordal
				}
				if dY != Inf {
					if w := addCost(dY, up[e2]); w < up[f] { // y->x->z
						up[f], mt.upMid[f] = w, x
					}
				}
				if uY != Inf {
					if w := addCost(down[e2], uY); w < down[f] { // z->x->y
						down[f], mt.downMid[f] = w, x
					}
				}
			}
		}
	}
	return mt
}
