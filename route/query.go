package route

// Query answers shortest-path questions on a customized Metric by walking
// the elimination tree: from each source up to the root relaxing upward
// arcs, from each target likewise with downward arcs, and taking the best
// node where the two meet. No priority queue, no search: the work is bounded
// by the tree's height. A Query holds per-node scratch memory and is reused
// (not safe for concurrent use; take one per goroutine).
type Query struct {
	c            *CCH
	distF, distB []uint32 // by rank
	predF, predB []uint32 // the hierarchy arc that improved a node, Inf for a start
	pathF, pathB []uint32 // nodes visited, for resetting
	unpackStack  []unpackItem
	MeetingRank  uint32
}

// NewQuery allocates the scratch memory for queries on hierarchy c.
func NewQuery(c *CCH) *Query {
	n := len(c.parent)
	q := &Query{c: c, distF: make([]uint32, n), distB: make([]uint32, n), predF: make([]uint32, n), predB: make([]uint32, n)}
	for i := 0; i < n; i++ {
		q.distF[i], q.distB[i] = Inf, Inf
	}
	return q
}

// Run computes the cost of the best path from any of the sources to any of
// the targets (graph nodes, each with a cost already incurred to reach it
// or to go on from it). It returns Inf when none exists.
//
// Both sides climb the elimination tree together, always at the lowest
// node either side has not yet visited, so that where their root paths
// join, a node's forward and backward costs are both final when it is
// reached: it is then a meeting candidate, and neither side needs to relax
// the arcs of a node whose cost is already no better than the best meeting
// found (costs only grow upward). The starts are few, so a linear scan
// for the lowest current node is fastest.
func (q *Query) Run(m *Metric, sources, targets []Source) uint32 {
	c := q.c
	q.reset()
	var curFA, curBA [4]uint32
	curF, curB := curFA[:0], curBA[:0]
	for _, s := range sources {
		x := c.rank[s.Node]
		if s.Cost < q.distF[x] {
			q.distF[x], q.predF[x] = s.Cost, Inf
		}
		curF = append(curF, x)
	}
	for _, t := range targets {
		x := c.rank[t.Node]
		if t.Cost < q.distB[x] {
			q.distB[x], q.predB[x] = t.Cost, Inf
		}
		curB = append(curB, x)
	}
	best := uint32(Inf)
	q.MeetingRank = Inf
	upward, downward, head, first, parent := m.upward, m.downward, c.upHead, c.upFirst, c.parent
	distF, distB := q.distF, q.distB
	for {
		x := uint32(Inf)
		for _, s := range curF {
			x = min(x, s)
		}
		for _, s := range curB {
			x = min(x, s)
		}
		if x == Inf {
			break
		}
		inF, inB := false, false
		for i, s := range curF {
			if s == x {
				curF[i], inF = parent[x], true
			}
		}
		for i, s := range curB {
			if s == x {
				curB[i], inB = parent[x], true
			}
		}
		if inF {
			q.pathF = append(q.pathF, x)
		}
		if inB {
			q.pathB = append(q.pathB, x)
		}
		if inF && inB {
			if d := addCost(distF[x], distB[x]); d < best {
				best, q.MeetingRank = d, x
			}
		}
		if dx := distF[x]; inF && dx < best {
			for e := first[x]; e < first[x+1]; e++ {
				if nd := addCost(dx, upward[e]); nd < distF[head[e]] {
					distF[head[e]] = nd
					q.predF[head[e]] = e
				}
			}
		}
		if dx := distB[x]; inB && dx < best {
			for e := first[x]; e < first[x+1]; e++ {
				if nd := addCost(dx, downward[e]); nd < distB[head[e]] {
					distB[head[e]] = nd
					q.predB[head[e]] = e
				}
			}
		}
	}
	return best
}

func (q *Query) reset() {
	for _, x := range q.pathF {
		q.distF[x] = Inf
	}
	for _, x := range q.pathB {
		q.distB[x] = Inf
	}
	q.pathF, q.pathB = q.pathF[:0], q.pathB[:0]
}

// Path returns the road graph arcs of the best path found by the last Run,
// in travel order, and the graph nodes it starts and ends at. Call it only
// after a Run that returned less than Inf.
func (q *Query) Path(m *Metric) (arcs []uint32, from, to uint32) {
	c := q.c
	// Forward half: hierarchy arcs from the meeting node back to a source.
	var half []uint32
	x := q.MeetingRank
	for q.predF[x] != Inf {
		e := q.predF[x]
		half = append(half, e)
		x = c.upTail[e]
	}
	from = c.order[x]
	for i := len(half) - 1; i >= 0; i-- {
		arcs = q.unpack(m, half[i], false, arcs)
	}
	x = q.MeetingRank
	for q.predB[x] != Inf {
		e := q.predB[x]
		arcs = q.unpack(m, e, true, arcs)
		x = c.upTail[e]
	}
	to = c.order[x]
	return arcs, from, to
}

type unpackItem struct {
	arc  uint32
	down bool
}

// unpack appends the input arcs a hierarchy arc stands for, travelled
// upward (lower to higher rank) or downward.
func (q *Query) unpack(m *Metric, e uint32, downward bool, out []uint32) []uint32 {
	c := q.c
	stack := append(q.unpackStack[:0], unpackItem{e, downward})
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		lo, hi := c.upTail[it.arc], c.upHead[it.arc]
		if !it.down {
			mid := m.a[it.arc].via[up]
			if mid&viaInput != 0 {
				out = append(out, mid&^viaInput)
				continue
			}
			// lo -> mid (downward on mid-lo), then mid -> hi (upward on mid-hi).
			// Pushed in reverse so that the first leg is expanded first.
			stack = append(stack, unpackItem{c.arc(mid, hi), false}, unpackItem{c.arc(mid, lo), true})
		} else {
			mid := m.a[it.arc].via[down]
			if mid&viaInput != 0 {
				out = append(out, mid&^viaInput)
				continue
			}
			// hi -> mid (downward on mid-hi), then mid -> lo (upward on mid-lo).
			stack = append(stack, unpackItem{c.arc(mid, lo), false}, unpackItem{c.arc(mid, hi), true})
		}
	}
	q.unpackStack = stack
	return out
}

// OneToAll computes every node's cost from the starts (toTarget false:
// one-to-many) or to them (toTarget true: many-to-one), as a slice indexed
// by graph node. It is PHAST on the hierarchy (Delling et al., 2011): the
// starts climb the elimination tree as in a query, then one sweep over all
// nodes in decreasing rank finishes every node from its upward neighbours,
// which are all final by then. The sweep reads the arcs in memory order,
// which is what makes it several times faster than Dijkstra on a city.
func (q *Query) OneToAll(m *Metric, starts []Source, toTarget bool, out []uint32) []uint32 {
	c := q.c
	n := len(c.parent)
	q.reset()
	// Climb: the starts' costs to (or from) their ancestors.
	climb, sweep := m.upward, m.downward // from the starts upward; then y -> x downward
	if toTarget {
		climb, sweep = m.downward, m.upward
	}
	dist := q.distF
	var curA [4]uint32
	cur := curA[:0]
	for _, s := range starts {
		x := c.rank[s.Node]
		dist[x] = min(dist[x], s.Cost)
		cur = append(cur, x)
	}
	for {
		x := uint32(Inf)
		for _, s := range cur {
			x = min(x, s)
		}
		if x == Inf {
			break
		}
		for i, s := range cur {
			if s == x {
				cur[i] = c.parent[x]
			}
		}
		q.pathF = append(q.pathF, x)
		if dx := dist[x]; dx != Inf {
			for e := c.upFirst[x]; e < c.upFirst[x+1]; e++ {
				if nd := addCost(dx, climb[e]); nd < dist[c.upHead[e]] {
					dist[c.upHead[e]] = nd
				}
			}
		}
	}
	// Sweep down: d(x) = min(d(x), w(x-y) + d(y)) over x's upward arcs.
	if cap(out) < n {
		out = make([]uint32, n)
	}
	out = out[:n]
	byRank := make([]uint32, n)
	copy(byRank, dist)
	head, first := c.upHead, c.upFirst
	for x := n - 1; x >= 0; x-- {
		dx := byRank[x]
		for e := first[x]; e < first[x+1]; e++ {
			if d := addCost(byRank[head[e]], sweep[e]); d < dx {
				dx = d
			}
		}
		byRank[x] = dx
	}
	for x, u := range c.order {
		out[u] = byRank[x]
	}
	return out
}
