package route

import (
	"github.com/muster-evac/muster/roadgraph"
)

// CostsTo returns every node's routing cost (ms, Inf where the target
// cannot be reached without a forbidden zone) to the snapped point: the
// many-to-one question the planner asks for every gate, answered by one
// sweep over the hierarchy. The slice is the caller's.
func (r *Router) CostsTo(target roadgraph.Snap) []uint32 {
	p := r.acquire()
	defer p.release()
	q := r.queries.Get().(*Query)
	defer r.queries.Put(q)
	return q.OneToAll(p.metric, r.endpoints(target, p.weight, true), true, nil)
}

// CostsFrom returns every node's routing cost from the snapped point: the
// one-to-many question (a rally point to every household).
func (r *Router) CostsFrom(source roadgraph.Snap) []uint32 {
	p := r.acquire()
	defer p.release()
	q := r.queries.Get().(*Query)
	defer r.queries.Put(q)
	return q.OneToAll(p.metric, r.endpoints(source, p.weight, false), false, nil)
}

// CostAt returns the cost from a snapped point to wherever a one-to-all
// cost array (CostsTo) leads, counting the partial arc to the graph.
func (r *Router) CostAt(costs []uint32, from roadgraph.Snap) uint32 {
	p := r.picture.Load() // weights only: no need to hold the metric
	best := uint32(Inf)
	for _, s := range r.endpoints(from, p.weight, false) {
		best = min(best, addCost(s.Cost, costs[s.Node]))
	}
	return best
}
