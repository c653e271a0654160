package plancheck

import (
	"context"
	"fmt"
	"math"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/zonecost"
)

// A sweep is one multi-source search backward over a network: from every
// node it settles, the least free-flow time to the nearest of its sources
// (places: rally points, gates) and which. One sweep answers every home at
// once, where one search per place and home would not scale to a city.

// sweep holds what a sweep found: times in milliseconds, +Inf beyond its
// limit or not reached.
type sweep struct {
	n    *network
	dist []float64
	src  []int32 // per node: the source nearest, -1 when not reached
	// onArc are the arcs a source lies on: a point on one of them may be
	// nearer its source than any node.
	onArc map[uint32]int32
}

// blockedArcs marks the arcs of n whose line may come near a zone of the
// picture, forbidden or not: on the others the router's cost is the
// free-flow time (route/DESIGN.md, Zones), so that a path over them alone
// is one the router would take, or better. Padded by about 100 m, and by
// the arcs' bounding boxes, so that it errs on the side of blocking.
func (c *checker) blockedArcs(n *network) []bool {
	blocked := make([]bool, n.g.NumArcs())
	for i := range c.in.Zones {
		b := c.in.Zones[i].Bound().Pad(1e-3)
		n.ix.ArcsInBound(b, func(a uint32) bool {
			blocked[a] = true
			return true
		})
	}
	return blocked
}

// arcOpen reports whether arc a may be used (blocked is nil: all may).
func arcOpen(blocked []bool, a int64) bool {
	return a >= 0 && (blocked == nil || !blocked[a])
}

// sweepBack settles every node from which one of the sources can be
// reached within limitS, over the arcs not blocked, and labels it with
// the nearest. A source is reached along the arc it snaps to, from the
// arc's tail, or along its reverse from its head, when those arcs are not
// blocked.
func (n *network) sweepBack(ctx context.Context, sources []roadgraph.Snap, limitS float64, blocked []bool) (*sweep, error) {
	g := n.g
	nodes := g.NumNodes()
	sw := &sweep{n: n, dist: make([]float64, nodes), src: make([]int32, nodes), onArc: map[uint32]int32{}}
	for i := range sw.dist {
		sw.dist[i] = math.Inf(1)
		sw.src[i] = -1
	}
	done := make([]bool, nodes)
	var h []item
	push := func(u uint32, d float64, s int32) {
		if d < sw.dist[u] {
			sw.dist[u], sw.src[u] = d, s
			h = heapPush(h, item{d, u})
		}
	}
	for i, to := range sources {
		s := int32(i)
		if to.Fraction >= 1 {
			push(g.Head[to.Arc], 0, s)
		}
		if arcOpen(blocked, int64(to.Arc)) {
			push(to.Tail, to.Fraction*float64(g.TimeMS[to.Arc]), s)
			if _, ok := sw.onArc[to.Arc]; !ok {
				sw.onArc[to.Arc] = s
			}
		}
		if arcOpen(blocked, to.Reverse) {
			push(g.Head[to.Arc], (1-to.Fraction)*float64(g.TimeMS[to.Reverse]), s)
			if _, ok := sw.onArc[uint32(to.Reverse)]; !ok {
				sw.onArc[uint32(to.Reverse)] = s
			}
		}
		if to.Fraction <= 0 {
			push(to.Tail, 0, s)
		}
	}
	limitMS := limitS * 1000
	for steps := 0; len(h) > 0; steps++ {
		if steps%65536 == 0 && ctx.Err() != nil {
			return nil, fmt.Errorf("walk sweep: %w", ctx.Err())
		}
		var it item
		it, h = heapPop(h)
		if done[it.u] || it.d > sw.dist[it.u] {
			continue
		}
		if it.d > limitMS {
			break
		}
		done[it.u] = true
		for i := n.inFrom[it.u]; i < n.inFrom[it.u+1]; i++ {
			a := n.inArc[i]
			if blocked != nil && blocked[a] {
				continue
			}
			t := n.tail[a]
			if d := it.d + float64(g.TimeMS[a]); d < sw.dist[t] {
				sw.dist[t], sw.src[t] = d, sw.src[it.u]
				h = heapPush(h, item{d, t})
			}
		}
	}
	for u := range sw.dist {
		if !done[u] {
			sw.dist[u], sw.src[u] = math.Inf(1), -1
		}
	}
	return sw, nil
}

// from is the least time, in seconds, from an origin's snap point to the
// nearest source over the arcs not blocked (+Inf when none is within the
// sweep's limit), and which source. Along the origin's own arc to one of
// its ends, then from that node: a real walk, so an upper bound on the
// shortest when the origin and its source share an arc.
func (sw *sweep) from(o roadgraph.Snap, blocked []bool) (float64, int32) {
	g := sw.n.g
	best, src := math.Inf(1), int32(-1)
	try := func(d float64, u uint32) {
		if d+sw.dist[u] < best {
			best, src = d+sw.dist[u], sw.src[u]
		}
	}
	if arcOpen(blocked, int64(o.Arc)) {
		try((1-o.Fraction)*float64(g.TimeMS[o.Arc]), g.Head[o.Arc])
	}
	if arcOpen(blocked, o.Reverse) {
		try(o.Fraction*float64(g.TimeMS[o.Reverse]), o.Tail)
	}
	if o.Fraction <= 0 {
		try(0, o.Tail)
	}
	if o.Fraction >= 1 {
		try(0, g.Head[o.Arc])
	}
	return best / 1000, src
}

// lowerBound is no more than the time, in seconds, of any walk to a source
// from a home at p whose nearest road is at snap, under the sweep's
// blocked arcs. The planner walks from the nearest road, or from another
// within radiusM on another walkable piece (label) of the network: when
// every road that near is on the nearest's piece, the bound is the walk
// from snap itself; else, from any of them, the least time from one of its
// ends (to leave its arc a walk reaches one, unless its source lies on that
// very arc: then 0). ok is false when one of those roads is marked in near
// (nil: none is): a walk may start there on a way the sweep did not take
// (an escape from a forbidden zone).
func (sw *sweep) lowerBound(p orb.Point, snap roadgraph.Snap, radiusM float64, label []int32, blocked, near []bool) (lb float64, ok bool) {
	g := sw.n.g
	dLat := radiusM / 111_000
	dLon := dLat / math.Max(0.01, math.Cos(p[1]*math.Pi/180))
	box := orb.Bound{Min: orb.Point{p[0] - dLon, p[1] - dLat}, Max: orb.Point{p[0] + dLon, p[1] + dLat}}
	loose, same := math.Inf(1), true
	ok = true
	sw.n.ix.ArcsInBound(box, func(a uint32) bool {
		if near != nil && near[a] {
			ok = false
			return false
		}
		if label[sw.n.tail[a]] != label[snap.Tail] {
			same = false
		}
		if _, on := sw.onArc[a]; on {
			loose = 0
			return true
		}
		loose = math.Min(loose, math.Min(sw.dist[sw.n.tail[a]], sw.dist[g.Head[a]]))
		return true
	})
	if !same {
		return loose / 1000, ok
	}
	_, on := sw.onArc[snap.Arc]
	_, onRev := sw.onArc[uint32(max(0, snap.Reverse))]
	if on || (snap.Reverse >= 0 && onRev) {
		return 0, ok
	}
	d, _ := sw.from(snap, blocked)
	return d, ok
}

// forbiddenArcs marks the arcs of n with a point of their line (an end or
// a bend) inside a forbidden zone,
// which the router never takes (its line touches the zone) but on an
// escape out of it, and near, the arcs whose box comes within about 100 m
// of a forbidden zone's: where an escape may start.
func (c *checker) forbiddenArcs(n *network) (sure, near []bool) {
	sure, near = make([]bool, n.g.NumArcs()), make([]bool, n.g.NumArcs())
	inside := map[uint32]bool{}
	for i := range c.in.Zones {
		z := c.in.Zones[i : i+1]
		if !z[0].Forbidden {
			continue
		}
		in := func(u uint32) bool {
			v, seen := inside[u]
			if !seen {
				v = len(zonecost.Containing(n.g.NodePoint(u), z)) > 0
				inside[u] = v
			}
			return v
		}
		var line orb.LineString
		n.ix.ArcsInBound(z[0].Bound(), func(a uint32) bool {
			if in(n.tail[a]) || in(n.g.Head[a]) {
				sure[a] = true
				return true
			}
			line = n.g.ArcGeometry(line[:0], n.tail[a], a)
			for _, pt := range line[1 : len(line)-1] {
				if len(zonecost.Containing(pt, z)) > 0 {
					sure[a] = true
					break
				}
			}
			return true
		})
		clear(inside)
		n.ix.ArcsInBound(z[0].Bound().Pad(1e-3), func(a uint32) bool {
			near[a] = true
			return true
		})
	}
	return sure, near
}

func heapPush(h []item, it item) []item {
	h = append(h, it)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if h[p].d <= h[i].d {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
	return h
}

func heapPop(h []item) (item, []item) {
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && h[l].d < h[m].d {
			m = l
		}
		if r < last && h[r].d < h[m].d {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	return top, h
}

// reachesBack marks every node of n from which the point s snaps to can
// be reached over the arcs not blocked (no limit: reachability only).
func (n *network) reachesBack(s roadgraph.Snap, blocked []bool, mark []bool) {
	g := n.g
	var stack []uint32
	add := func(u uint32) {
		if !mark[u] {
			mark[u] = true
			stack = append(stack, u)
		}
	}
	if arcOpen(blocked, int64(s.Arc)) || s.Fraction <= 0 {
		add(s.Tail)
	}
	if arcOpen(blocked, s.Reverse) || s.Fraction >= 1 {
		add(g.Head[s.Arc])
	}
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for i := n.inFrom[u]; i < n.inFrom[u+1]; i++ {
			if a := n.inArc[i]; blocked == nil || !blocked[a] {
				add(n.tail[a])
			}
		}
	}
}

// leaves reports whether a point snapped at s can set out, over the arcs
// not blocked, to a node marked.
func (n *network) leaves(s roadgraph.Snap, blocked []bool, mark []bool) bool {
	g := n.g
	return (arcOpen(blocked, int64(s.Arc)) && mark[g.Head[s.Arc]]) ||
		(arcOpen(blocked, s.Reverse) && mark[s.Tail]) ||
		(s.Fraction <= 0 && mark[s.Tail]) || (s.Fraction >= 1 && mark[g.Head[s.Arc]])
}
