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

// sweep walks from the starts up the elimination tree in increasing rank,
// relaxing each visited node's arcs with weight w, and records the visited
// nodes in path.
// The starts' root paths merge; their union is visited in increasing rank
// by always advancing the lowest current node (cur is overwritten). There
// are only a few starts, so a linear scan for the minimum is fastest.
func (q *Query) sweep(w []uint32, dist, pred, cur, path []uint32) []uint32 {
	c := q.c
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
		path = append(path, x)
		dx := dist[x]
		if dx == Inf {
			continue
		}
		for e := c.upFirst[x]; e < c.upFirst[x+1]; e++ {
			if nd := addCost(dx, w[e]); nd < dist[c.upHead[e]] {
				y := c.upHead[e]
				dist[y] = nd
				pred[y] = e
			}
		}
	}
	return path
}

// Run computes the cost of the best path from any of the sources to any of
// the targets (graph nodes, each with a cost already incurred to reach it
// or to go on from it). It returns Inf when none exists.
func (q *Query) Run(m *Metric, sources, targets []Source) uint32 {
	c := q.c
	q.reset()
	var startF, startB [4]uint32
	sf, sb := startF[:0], startB[:0]
	for _, s := range sources {
		x := c.rank[s.Node]
		if s.Cost < q.distF[x] {
			q.distF[x], q.predF[x] = s.Cost, Inf
		}
		sf = append(sf, x)
	}
	for _, t := range targets {
		x := c.rank[t.Node]
		if t.Cost < q.distB[x] {
			q.distB[x], q.predB[x] = t.Cost, Inf
		}
		sb = append(sb, x)
	}
	q.pathF = q.sweep(m.up, q.distF, q.predF, sf, q.pathF[:0])
	q.pathB = q.sweep(m.down, q.distB, q.predB, sb, q.pathB[:0])
	best := uint32(Inf)
	q.MeetingRank = Inf
	for _, x := range q.pathF {
		if d := addCost(q.distF[x], q.distB[x]); d < best {
			best, q.MeetingRank = d, x
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
func (q *Query) unpack(m *Metric, e uint32, down bool, out []uint32) []uint32 {
	c := q.c
	stack := append(q.unpackStack[:0], unpackItem{e, down})
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		lo, hi := c.upTail[it.arc], c.upHead[it.arc]
		if !it.down {
			mid := m.upMid[it.arc]
			if mid == Inf {
				out = append(out, m.upInput[it.arc])
				continue
			}
			// lo -> mid (downward on mid-lo), then mid -> hi (upward on mid-hi).
			// Pushed in reverse so that the first leg is expanded first.
			stack = append(stack, unpackItem{c.arc(mid, hi), false}, unpackItem{c.arc(mid, lo), true})
		} else {
			mid := m.downMid[it.arc]
			if mid == Inf {
				out = append(out, m.downInput[it.arc])
				continue
			}
			// hi -> mid (downward on mid-hi), then mid -> lo (upward on mid-lo).
			stack = append(stack, unpackItem{c.arc(mid, lo), false}, unpackItem{c.arc(mid, hi), true})
		}
	}
	q.unpackStack = stack
	return out
}
