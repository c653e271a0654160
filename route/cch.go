package route

import (
	"fmt"
	"slices"
	"sync"

	"github.com/muster-evac/muster/roadgraph"
)

// CCH is the metric-independent part of a customizable contraction
// hierarchy (Dibbelt, Strasser and Wagner, 2016): the graph's nodes ranked
// by a nested-dissection order, and the chordal supergraph obtained by
// eliminating them in that order. Every arc of it joins a node to a higher
// ranked one; the upward neighbours of a node are all ancestors of it in the
// elimination tree. That property is what lets a query walk the tree
// instead of searching, and what lets a new metric (a new threat picture)
// be applied by one sweep over lower triangles instead of a new contraction.
//
// Everything here is in rank space: node x is the node of rank x.
type CCH struct {
	rank    []uint32 // graph node -> rank
	order   []uint32 // rank -> graph node
	parent  []uint32 // elimination tree parent, Inf for a root
	upFirst []uint32 // arcs of x: upFirst[x] .. upFirst[x+1]-1
	upHead  []uint32 // the higher endpoint of each arc
	upTail  []uint32 // the lower endpoint of each arc

	// inputArc maps each arc of the road graph to the hierarchy arc that
	// carries it: index<<1 | 1 when it runs downward (from the higher
	// ranked node to the lower), Inf for a self-loop.
	inputArc []uint32

	downOnce sync.Once
	downIdx  *downIndex

	scratchPool sync.Pool // *customizeScratch
}

// NewCCH builds the hierarchy of g for the given node order (Order[i] is
// the node of rank i; see NestedDissectionOrder).
func NewCCH(g *roadgraph.Graph, order []uint32) (*CCH, error) {
	n := g.NumNodes()
	if len(order) != n {
		return nil, fmt.Errorf("contraction hierarchy: order has %d nodes, graph %d", len(order), n)
	}
	if g.NumArcs() >= viaInput {
		return nil, fmt.Errorf("contraction hierarchy: %d arcs, at most %d are supported", g.NumArcs(), viaInput-1)
	}
	c := &CCH{rank: make([]uint32, n), order: order, parent: make([]uint32, n)}
	for i := range c.rank {
		c.rank[i] = Inf
	}
	for r, u := range order {
		if int(u) >= n || c.rank[u] != Inf {
			return nil, fmt.Errorf("contraction hierarchy: order is not a permutation of the %d nodes", n)
		}
		c.rank[u] = uint32(r)
	}
	// Upward neighbourhoods, then elimination: each node's neighbours
	// (except its parent) become neighbours of its parent.
	up := make([][]uint32, n)
	for u := 0; u < n; u++ {
		x := c.rank[u]
		for a := g.FirstOut[u]; a < g.FirstOut[u+1]; a++ {
			y := c.rank[g.Head[a]]
			switch {
			case x < y:
				up[x] = append(up[x], y)
			case y < x:
				up[y] = append(up[y], x)
			}
		}
	}
	total := 0
	for x := 0; x < n; x++ {
		nb := up[x]
		slices.Sort(nb)
		nb = slices.Compact(nb)
		up[x] = slices.Clip(nb)
		total += len(nb)
		if len(nb) == 0 {
			c.parent[x] = Inf
			continue
		}
		p := nb[0]
		c.parent[x] = p
		up[p] = append(up[p], nb[1:]...)
	}
	// Hierarchy arcs are numbered in 31 bits (inputArc keeps a direction
	// in the last); partial customization's triangle table relies on it.
	if total >= viaInput {
		return nil, fmt.Errorf("contraction hierarchy: %d arcs with this order, at most %d are supported", total, viaInput-1)
	}
	c.upFirst = make([]uint32, n+1)
	c.upHead = make([]uint32, 0, total)
	c.upTail = make([]uint32, 0, total)
	for x := 0; x < n; x++ {
		c.upHead = append(c.upHead, up[x]...)
		for range up[x] {
			c.upTail = append(c.upTail, uint32(x))
		}
		c.upFirst[x+1] = uint32(len(c.upHead))
		up[x] = nil
	}
	c.inputArc = make([]uint32, g.NumArcs())
	for u := 0; u < n; u++ {
		x := c.rank[u]
		for a := g.FirstOut[u]; a < g.FirstOut[u+1]; a++ {
			y := c.rank[g.Head[a]]
			switch {
			case x < y:
				c.inputArc[a] = c.arc(x, y) << 1
			case y < x:
				c.inputArc[a] = c.arc(y, x)<<1 | 1
			default:
				c.inputArc[a] = Inf
			}
		}
	}
	return c, nil
}

// arc returns the index of the hierarchy arc from x up to y, which must exist.
func (c *CCH) arc(x, y uint32) uint32 {
	lo, hi := c.upFirst[x], c.upFirst[x+1]
	i, found := slices.BinarySearch(c.upHead[lo:hi], y)
	if !found {
		panic(fmt.Sprintf("contraction hierarchy: no arc %d-%d (the hierarchy is not chordal)", x, y))
	}
	return lo + uint32(i)
}

// Arc returns the ends of hierarchy arc e, as ranks: lower < upper.
func (c *CCH) Arc(e int) (lower, upper uint32) { return c.upTail[e], c.upHead[e] }

// NumArcs returns the number of arcs of the hierarchy (input arcs and shortcuts).
func (c *CCH) NumArcs() int { return len(c.upHead) }

// TreeHeight returns the height of the elimination tree: the number of
// nodes a query visits at most on each side.
func (c *CCH) TreeHeight() int {
	n := len(c.parent)
	depth := make([]int32, n)
	h := 0
	for x := n - 1; x >= 0; x-- {
		if p := c.parent[x]; p != Inf {
			depth[x] = depth[p] + 1
		}
		h = max(h, int(depth[x])+1)
	}
	return h
}

// MemoryBytes estimates the memory held by the hierarchy.
func (c *CCH) MemoryBytes() int {
	return 4 * (len(c.rank) + len(c.order) + len(c.parent) + len(c.upFirst) + len(c.upHead) + len(c.upTail) + len(c.inputArc))
}
