package plancheck

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster/roadgraph"
)

// network is a road graph prepared for the checker's own shortest paths:
// its spatial index, to find where a place meets the road, and its arcs
// reversed, to search from a destination back toward every origin. It
// shares nothing with the router: plain Dijkstra on free-flow times, no
// zones, no penalties, so that what it finds is a lower bound on any route
// the planner could have made.
type network struct {
	g      *roadgraph.Graph
	ix     *roadgraph.ArcIndex
	tail   []uint32 // per arc
	inFrom []uint32 // per node: its entering arcs are inArc[inFrom[u]:inFrom[u+1]]
	inArc  []uint32
	snaps  map[orb.Point]snapped // places are snapped again and again
}

type snapped struct {
	s  roadgraph.Snap
	ok bool
}

// snapReachM is how far from a road a place may be and still be snapped:
// far more than the router allows, so that the distance itself can be
// judged.
const snapReachM = 50_000

func newNetwork(g *roadgraph.Graph) (*network, error) {
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("the %s graph: %w", g.Profile, err)
	}
	if g.NumNodes() == 0 || g.NumArcs() == 0 {
		return nil, fmt.Errorf("the %s graph has no roads", g.Profile)
	}
	n := &network{g: g, ix: roadgraph.NewArcIndex(g), tail: g.Tails(), snaps: map[orb.Point]snapped{}}
	nodes := g.NumNodes()
	n.inFrom = make([]uint32, nodes+1)
	for _, h := range g.Head {
		n.inFrom[h+1]++
	}
	for u := 0; u < nodes; u++ {
		n.inFrom[u+1] += n.inFrom[u]
	}
	n.inArc = make([]uint32, g.NumArcs())
	next := append([]uint32(nil), n.inFrom[:nodes]...)
	for a, h := range g.Head {
		n.inArc[next[h]] = uint32(a)
		next[h]++
	}
	return n, nil
}

// snap is where p meets the road network; ok is false when no road is
// within snapReachM. Not safe for concurrent use.
func (n *network) snap(p orb.Point) (roadgraph.Snap, bool) {
	if r, ok := n.snaps[p]; ok {
		return r.s, r.ok
	}
	s, err := n.ix.Snap(p, snapReachM)
	n.snaps[p] = snapped{s, err == nil}
	return s, err == nil
}

// arcLine returns the full polyline of the arc a snap lies on.
func (n *network) arcLine(s roadgraph.Snap) orb.LineString {
	return n.g.ArcGeometry(nil, s.Tail, s.Arc)
}

// leg is one question for the shortest-path search: the least free-flow
// time from an origin's snap to a destination's.
type leg struct {
	from  roadgraph.Snap
	limit float64 // seconds: the search need not look farther than this
	best  float64 // the answer, seconds; +Inf when beyond limit
}

// target is one destination and the legs that end there.
type target struct {
	to   roadgraph.Snap
	legs []*leg
}

// solve answers every leg of every target: one search per target, backward
// over the reversed arcs, stopped at the longest limit of its legs. A leg
// whose origin lies beyond its limit gets +Inf: its stated time is shorter
// than the road allows, whatever the exact figure.
func (n *network) solve(ctx context.Context, targets []*target) error {
	var wg sync.WaitGroup
	jobs := make(chan *target)
	workers := min(runtime.GOMAXPROCS(0), max(1, len(targets)))
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newSearch(n.g.NumNodes())
			for t := range jobs {
				s.run(n, t)
			}
		}()
	}
	var err error
	for _, t := range targets {
		if err = ctx.Err(); err != nil {
			break
		}
		jobs <- t
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("shortest paths: %w", err)
	}
	return nil
}

// search is one worker's scratch: tentative times in milliseconds, reset
// through the list of nodes touched.
type search struct {
	dist    []float64
	done    []bool
	touched []uint32
	heap    []item
}

type item struct {
	d float64
	u uint32
}

func newSearch(nodes int) *search {
	s := &search{dist: make([]float64, nodes), done: make([]bool, nodes)}
	for i := range s.dist {
		s.dist[i] = math.Inf(1)
	}
	return s
}

func (s *search) reset() {
	for _, u := range s.touched {
		s.dist[u] = math.Inf(1)
		s.done[u] = false
	}
	s.touched = s.touched[:0]
	s.heap = s.heap[:0]
}

func (s *search) relax(u uint32, d float64) {
	if d < s.dist[u] {
		if math.IsInf(s.dist[u], 1) {
			s.touched = append(s.touched, u)
		}
		s.dist[u] = d
		s.push(item{d, u})
	}
}

func (s *search) push(it item) {
	s.heap = append(s.heap, it)
	i := len(s.heap) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s.heap[p].d <= s.heap[i].d {
			break
		}
		s.heap[p], s.heap[i] = s.heap[i], s.heap[p]
		i = p
	}
}

func (s *search) pop() item {
	top := s.heap[0]
	last := len(s.heap) - 1
	s.heap[0] = s.heap[last]
	s.heap = s.heap[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && s.heap[l].d < s.heap[m].d {
			m = l
		}
		if r < last && s.heap[r].d < s.heap[m].d {
			m = r
		}
		if m == i {
			break
		}
		s.heap[i], s.heap[m] = s.heap[m], s.heap[i]
		i = m
	}
	return top
}

// run settles every node from which the target can be reached within the
// longest limit of its legs, then reads each leg's answer.
func (s *search) run(n *network, t *target) {
	s.reset()
	g := n.g
	limit := 0.0
	for _, l := range t.legs {
		limit = math.Max(limit, l.limit)
	}
	limitMS := limit * 1000
	// Reaching the target's point: along its arc from the arc's tail, or
	// along the reverse arc from the arc's head.
	to := t.to
	s.relax(to.Tail, to.Fraction*float64(g.TimeMS[to.Arc]))
	if to.Fraction >= 1 {
		s.relax(g.Head[to.Arc], 0) // on its head node: reached by any arc into it
	}
	if to.Reverse >= 0 {
		s.relax(g.Head[to.Arc], (1-to.Fraction)*float64(g.TimeMS[to.Reverse]))
	}
	for len(s.heap) > 0 {
		it := s.pop()
		if s.done[it.u] || it.d > s.dist[it.u] {
			continue
		}
		if it.d > limitMS {
			break
		}
		s.done[it.u] = true
		for i := n.inFrom[it.u]; i < n.inFrom[it.u+1]; i++ {
			a := n.inArc[i]
			s.relax(n.tail[a], it.d+float64(g.TimeMS[a]))
		}
	}
	for _, l := range t.legs {
		l.best = s.from(n, l.from, to) / 1000
		if l.best > l.limit {
			l.best = math.Inf(1)
		}
	}
}

// from is the least time, in milliseconds, from an origin's snap point to
// the target: off its arc by either end (only settled nodes count), or
// along the arc itself when both lie on it in travel order.
func (s *search) from(n *network, o, to roadgraph.Snap) float64 {
	g := n.g
	at := func(u uint32) float64 {
		if !s.done[u] {
			return math.Inf(1)
		}
		return s.dist[u]
	}
	best := (1-o.Fraction)*float64(g.TimeMS[o.Arc]) + at(g.Head[o.Arc])
	if o.Fraction <= 0 {
		// On its tail node: any arc out of it will do, not only the one
		// snapped to (a one-way arc has no reverse to say so). The router
		// starts there too.
		best = math.Min(best, at(o.Tail))
	}
	if o.Reverse >= 0 {
		best = math.Min(best, o.Fraction*float64(g.TimeMS[o.Reverse])+at(o.Tail))
	}
	if o.Arc == to.Arc {
		if o.Fraction <= to.Fraction {
			best = math.Min(best, (to.Fraction-o.Fraction)*float64(g.TimeMS[o.Arc]))
		}
		if o.Reverse >= 0 && o.Fraction >= to.Fraction {
			best = math.Min(best, (o.Fraction-to.Fraction)*float64(g.TimeMS[o.Reverse]))
		}
	}
	return best
}
