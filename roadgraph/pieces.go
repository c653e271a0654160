package roadgraph

// Pieces labels every node with the piece of the network it belongs to:
// the nodes joined to it by arcs in either direction (weakly connected
// components), numbered 0.. in the order of their lowest node, and returns
// each piece's size in nodes.
//
// The import keeps, besides the largest strongly connected part of a
// profile's network, every other walkable piece of some size (a town that a
// road closed to pedestrians cuts off), with no arc between two pieces: so
// a node reaches exactly the nodes of its piece, and a walk can only be
// planned between two points of one piece. Graphs from older imports are
// one piece.
func (g *Graph) Pieces() (label []int32, sizes []int) {
	n := g.NumNodes()
	parent := make([]int32, n)
	for u := range parent {
		parent[u] = int32(u)
	}
	find := func(u int32) int32 {
		for parent[u] != u {
			parent[u] = parent[parent[u]]
			u = parent[u]
		}
		return u
	}
	for u := 0; u < n; u++ {
		for a := g.FirstOut[u]; a < g.FirstOut[u+1]; a++ {
			ru, rv := find(int32(u)), find(int32(g.Head[a]))
			if ru != rv {
				if ru < rv {
					parent[rv] = ru
				} else {
					parent[ru] = rv
				}
			}
		}
	}
	label = make([]int32, n)
	for u := 0; u < n; u++ {
		r := find(int32(u))
		if r == int32(u) {
			label[u] = int32(len(sizes))
			sizes = append(sizes, 0)
		} else {
			label[u] = label[r]
		}
		sizes[label[u]]++
	}
	return label, sizes
}
