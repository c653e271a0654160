package route

import (
	"math"

	"github.com/muster-evac/muster/roadgraph"
)

// Inf is the cost of what cannot be reached, and the weight of an arc that
// may not be used (one that touches a forbidden zone).
const Inf = math.MaxUint32

// addCost adds two costs, saturating at Inf.
func addCost(a, b uint32) uint32 {
	return uint32(min(uint64(a)+uint64(b), Inf))
}

// Dijkstra runs plain Dijkstra on a forward-star graph. It is the reference
// that every faster technique here is tested against, and it serves the
// queries that touch every node anyway (one-to-all, many-to-one) and the
// alternative-route search, which needs weights no hierarchy was customised
// with.
type Dijkstra struct {
	firstOut, head []uint32
	Dist           []uint32 // per node; Inf where not reached
	PredArc        []uint32 // per node: the arc that reached it, or Inf
	heap           *minHeap
	touched        []uint32
}

// NewDijkstra prepares a search over the graph given by firstOut and head;
// its memory is reused by every Run.
func NewDijkstra(firstOut, head []uint32) *Dijkstra {
	n := len(firstOut) - 1
	d := &Dijkstra{firstOut: firstOut, head: head, Dist: make([]uint32, n), PredArc: make([]uint32, n), heap: newMinHeap(n)}
	for i := range d.Dist {
		d.Dist[i] = Inf
		d.PredArc[i] = Inf
	}
	return d
}

// Source is a node a search starts from, already Cost away.
type Source struct {
	Node, Cost uint32
}

func (d *Dijkstra) reset() {
	for _, u := range d.touched {
		d.Dist[u] = Inf
		d.PredArc[u] = Inf
	}
	d.touched = d.touched[:0]
	d.heap.Clear()
}

// Run computes costs from the sources under weight, settling nodes until
// stop returns true for a settled node (nil: settle everything reachable).
// It returns the node that stopped it, or Inf.
func (d *Dijkstra) Run(weight []uint32, sources []Source, stop func(node, cost uint32) bool) uint32 {
	d.reset()
	for _, s := range sources {
		if s.Cost < d.Dist[s.Node] {
			if d.Dist[s.Node] == Inf {
				d.touched = append(d.touched, s.Node)
			}
			d.Dist[s.Node] = s.Cost
			d.PredArc[s.Node] = Inf
			d.heap.PushOrDecrease(s.Node, s.Cost)
		}
	}
	for d.heap.Len() > 0 {
		u, du := d.heap.Pop()
		if stop != nil && stop(u, du) {
			return u
		}
		for a := d.firstOut[u]; a < d.firstOut[u+1]; a++ {
			w := weight[a]
			if w == Inf {
				continue
			}
			v := d.head[a]
			if nd := addCost(du, w); nd < d.Dist[v] {
				if d.Dist[v] == Inf {
					d.touched = append(d.touched, v)
				}
				d.Dist[v] = nd
				d.PredArc[v] = a
				d.heap.PushOrDecrease(v, nd)
			}
		}
	}
	return Inf
}

// PathArcs returns the arcs of the search tree from a source to node, in
// travel order. tail gives each arc's tail node.
func (d *Dijkstra) PathArcs(node uint32, tail []uint32) []uint32 {
	var arcs []uint32
	for d.PredArc[node] != Inf {
		a := d.PredArc[node]
		arcs = append(arcs, a)
		node = tail[a]
	}
	for i, j := 0, len(arcs)-1; i < j; i, j = i+1, j-1 {
		arcs[i], arcs[j] = arcs[j], arcs[i]
	}
	return arcs
}

// Reversed is a graph's arcs turned around: the arcs entering node v are
// the reversed graph's arcs leaving v. Arc[i] maps reversed arc i to the
// original arc, so one weight array serves both directions.
type Reversed struct {
	FirstOut, Head, Arc []uint32
}

// Reverse builds the reversed graph of g.
func Reverse(g *roadgraph.Graph) *Reversed {
	n, m := g.NumNodes(), g.NumArcs()
	r := &Reversed{FirstOut: make([]uint32, n+1), Head: make([]uint32, m), Arc: make([]uint32, m)}
	for _, v := range g.Head {
		r.FirstOut[v+1]++
	}
	for i := 0; i < n; i++ {
		r.FirstOut[i+1] += r.FirstOut[i]
	}
	next := append([]uint32(nil), r.FirstOut[:n]...)
	for u := 0; u < n; u++ {
		for a := g.FirstOut[u]; a < g.FirstOut[u+1]; a++ {
			v := g.Head[a]
			r.Head[next[v]] = uint32(u)
			r.Arc[next[v]] = a
			next[v]++
		}
	}
	return r
}

// Weights returns w permuted for the reversed graph.
func (r *Reversed) Weights(w []uint32) []uint32 {
	out := make([]uint32, len(r.Arc))
	for i, a := range r.Arc {
		out[i] = w[a]
	}
	return out
}
