package route

import (
	"github.com/muster-evac/muster/roadgraph"
)

// CostsTo returns every node's routing cost (ms, Inf where the target
// cannot be reached without a forbidden zone) to the snapped point: one
// Dijkstra over the reversed graph, the many-to-one question the planner
// asks for every gate. The slice is the caller's.
func (r *Router) CostsTo(target roadgraph.Snap) []uint32 {
	p := r.picture.Load()
	d := r.backward.Get().(*Dijkstra)
	defer r.backward.Put(d)
	d.Run(p.revWeight, r.endpoints(target, p.weight, true), nil)
	return append([]uint32(nil), d.Dist...)
}

// CostsFrom returns every node's routing cost from the snapped point: the
// one-to-many question (a rally point to every household).
func (r *Router) CostsFrom(source roadgraph.Snap) []uint32 {
	p := r.picture.Load()
	d := r.forward.Get().(*Dijkstra)
	defer r.forward.Put(d)
	d.Run(p.weight, r.endpoints(source, p.weight, false), nil)
	return append([]uint32(nil), d.Dist...)
}
