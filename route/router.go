// Package route finds threat-aware routes on a road graph: the fastest
// routes that never touch a forbidden zone, penalise time spent in risky
// ones, offer genuinely different alternatives, and state their exposure.
//
// Queries run on a customizable contraction hierarchy (see DESIGN.md in this
// directory): the expensive, metric-independent part (a nested-dissection
// order and the chordal supergraph) is built once per graph; a new threat
// picture only re-customizes arc weights, in milliseconds, and queries walk
// the elimination tree in microseconds. Plain Dijkstra serves the searches
// that touch the whole graph anyway, and is the reference every test
// compares against.
package route

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/zonecost"
)

// Options tune a Router. The zero value gives the defaults.
type Options struct {
	// RiskPenalty is the extra cost of time spent inside a risky zone, per
	// unit of risk, for zones that carry no penalty factor of their own (the
	// threat policy gives one): a second inside a zone of risk r costs
	// 1+RiskPenalty*r seconds. Default 4 (a risk-0.5 zone is avoided unless
	// the way round takes three times as long).
	RiskPenalty float64
	// MaxSnapM is how far from a road a coordinate may be and still be
	// routed from. Default 1,000 m.
	MaxSnapM float64
}

func (o Options) withDefaults() Options {
	if o.RiskPenalty <= 0 {
		o.RiskPenalty = 4
	}
	if o.MaxSnapM <= 0 {
		o.MaxSnapM = 1000
	}
	return o
}

// Router answers routing questions on one profile's graph under the
// current threat picture. It is safe for concurrent use; SetZones swaps in a
// new picture atomically, so a query sees either the old or the new one.
type Router struct {
	g     *roadgraph.Graph
	index *roadgraph.ArcIndex
	cch   *CCH
	tails []uint32
	rev   *Reversed
	opts  Options

	picture atomic.Pointer[picture]
	updates sync.Mutex // serialises SetZones and guards what follows
	// The current picture's metric and the one before, which the next
	// SetZones rewrites in place unless a query still reads spareOwner's.
	metrics    *MetricPair
	spareOwner *picture

	queries  sync.Pool // *Query
	forward  sync.Pool // *Dijkstra on the graph
	backward sync.Pool // *Dijkstra on the reversed graph
}

// picture is one threat picture applied to the graph: everything a query
// needs, immutable once published.
type picture struct {
	zones     []muster.Zone
	weight    []uint32  // per arc: routing cost in ms, Inf if forbidden
	exposure  []float32 // per arc: risk-weighted seconds inside risky zones
	forbidden []bool    // per node: inside or on a forbidden zone
	metric    *Metric
	changed   []uint32 // sorted: arcs the picture's zones touch
	// Queries reading metric (see acquire); SetZones rewrites the metric
	// of an older picture only when none is left.
	readers atomic.Int64
}

// acquire returns the current picture, counted as read until release: its
// metric is not rewritten meanwhile. The second load closes the race with
// a SetZones that has just checked the count: a picture that is no longer
// current by then is not used.
func (r *Router) acquire() *picture {
	for {
		p := r.picture.Load()
		p.readers.Add(1)
		if r.picture.Load() == p {
			return p
		}
		p.readers.Add(-1)
	}
}

func (p *picture) release() { p.readers.Add(-1) }

// New prepares a router for g. It uses g.Order when the graph file carries
// one and computes a nested-dissection order otherwise (seconds on a city).
func New(ctx context.Context, g *roadgraph.Graph, opts Options) (*Router, error) {
	order := g.Order
	if len(order) == 0 {
		var err error
		if order, err = NestedDissectionOrder(ctx, g); err != nil {
			return nil, err
		}
	}
	c, err := NewCCH(g, order)
	if err != nil {
		return nil, err
	}
	// The index for re-customization is built now, not at the first
	// threat picture: that is when speed matters.
	c.down()
	return newRouter(g, roadgraph.NewArcIndex(g), c, g.Tails(), Reverse(g), opts.withDefaults()), nil
}

// Fork returns a router on r's graph and hierarchy with a threat picture
// of its own, none applied yet: an exercise moves its picture as its
// injects come without touching r's (planning's), and shares what r cost to
// build (the order, the hierarchy, the indexes: seconds on a city). Only
// the metric is new. r is not changed and may be used meanwhile.
func (r *Router) Fork() *Router {
	return newRouter(r.g, r.index, r.cch, r.tails, r.rev, r.opts)
}

// newRouter makes a router from its parts, which it does not change (a
// fork shares them), with the graph's own weights as its first picture.
func newRouter(g *roadgraph.Graph, index *roadgraph.ArcIndex, c *CCH, tails []uint32, rev *Reversed, opts Options) *Router {
	r := &Router{g: g, index: index, cch: c, tails: tails, rev: rev, opts: opts}
	r.queries.New = func() any { return NewQuery(c) }
	r.forward.New = func() any { return NewDijkstra(g.FirstOut, g.Head) }
	r.backward.New = func() any { return NewDijkstra(r.rev.FirstOut, r.rev.Head) }
	base := &picture{weight: g.TimeMS, exposure: make([]float32, g.NumArcs()), forbidden: make([]bool, g.NumNodes())}
	r.metrics = NewMetricPair(c, base.weight)
	base.metric = r.metrics.Current()
	r.picture.Store(base)
	return r
}

// Graph returns the graph the router routes on.
func (r *Router) Graph() *roadgraph.Graph { return r.g }

// Index returns the router's spatial index of the graph's arcs.
func (r *Router) Index() *roadgraph.ArcIndex { return r.index }

// Hierarchy returns the router's contraction hierarchy.
func (r *Router) Hierarchy() *CCH { return r.cch }

// Zones returns the zones of the current threat picture.
func (r *Router) Zones() []muster.Zone { return r.picture.Load().zones }

// UpdateStats says what applying a threat picture did and what it cost.
type UpdateStats struct {
	Zones, ArcsAffected, ArcsForbidden, NodesForbidden int
	// Untouched names the zones that touch no road of the graph (see
	// zonecost.Effects): they change nothing, and callers warn of them.
	Untouched               []string
	ZoneTime, CustomizeTime time.Duration
}

// SetZones applies a new threat picture: arcs touching a forbidden zone
// become unusable, arcs through risky zones cost more, and the hierarchy is
// re-customized. Nothing is recomputed that does not depend on the zones.
func (r *Router) SetZones(ctx context.Context, zones []muster.Zone) (UpdateStats, error) {
	r.updates.Lock()
	defer r.updates.Unlock()
	st := UpdateStats{Zones: len(zones)}
	t0 := time.Now()
	// A zone without the policy's penalty factor gets one from its risk.
	priced := slices.Clone(zones)
	for i := range priced {
		if priced[i].Penalty <= 0 {
			priced[i].Penalty = 1 + r.opts.RiskPenalty*priced[i].Risk
		}
	}
	eff, err := zonecost.Compute(ctx, r.g, r.index, priced)
	if err != nil {
		return st, fmt.Errorf("applying the threat picture: %w", err)
	}
	p := &picture{zones: priced, weight: append([]uint32(nil), r.g.TimeMS...),
		exposure: make([]float32, r.g.NumArcs()), forbidden: make([]bool, r.g.NumNodes())}
	for _, e := range eff.Arcs {
		st.ArcsAffected++
		if e.Forbidden {
			p.weight[e.Arc] = Inf
			st.ArcsForbidden++
		} else {
			p.weight[e.Arc] = uint32(min(float64(Inf-1), float64(p.weight[e.Arc])+math.Round(e.ExtraS*1000)))
			p.exposure[e.Arc] = float32(e.Exposure)
		}
		p.changed = append(p.changed, e.Arc)
	}
	for _, u := range eff.ForbiddenNodes {
		p.forbidden[u] = true
	}
	st.NodesForbidden = len(eff.ForbiddenNodes)
	st.Untouched = eff.Untouched
	st.ZoneTime = time.Since(t0)
	if err := ctx.Err(); err != nil {
		return st, fmt.Errorf("applying the threat picture: %w", err)
	}
	t1 := time.Now()
	// Only arcs whose weight differs from the previous picture's need
	// re-customizing: those the old or the new picture touches.
	old := r.picture.Load()
	var diff []uint32
	for _, a := range old.changed {
		if old.weight[a] != p.weight[a] {
			diff = append(diff, a)
		}
	}
	for _, a := range p.changed {
		if _, inOld := slices.BinarySearch(old.changed, a); !inOld && old.weight[a] != p.weight[a] {
			diff = append(diff, a)
		}
	}
	// The new metric is written into the spare one, the previous
	// picture's, unless a query still reads it: then the current one is
	// copied.
	p.metric = r.metrics.Next(p.weight, diff, r.spareOwner != nil && r.spareOwner.readers.Load() > 0)
	st.CustomizeTime = time.Since(t1)
	r.picture.Store(p)
	r.spareOwner = old
	return st, nil
}

// Weights returns the current routing cost of every arc in milliseconds
// (Inf for arcs that touch a forbidden zone). The slice must not be modified.
func (r *Router) Weights() []uint32 { return r.picture.Load().weight }

// Snap finds where a coordinate joins the graph.
func (r *Router) Snap(p orb.Point) (roadgraph.Snap, error) {
	if !muster.ValidLatLon(p[1], p[0]) {
		return roadgraph.Snap{}, muster.Errorf(muster.EINVALID, "coordinate %g,%g is out of range (latitude -90..90, longitude -180..180)", p[1], p[0])
	}
	return r.index.Snap(p, r.opts.MaxSnapM)
}

// endpoints returns the graph nodes a snapped point reaches (forward) or is
// reached from (backward), with the cost of the partial arc in between,
// under weights w. Partial arcs are costed by the fraction of their length.
// A point exactly on a node (fraction 0, or a snap with no arc) is that node.
func (r *Router) endpoints(s roadgraph.Snap, w []uint32, backward bool) []Source {
	if s.Arc == Inf || s.Fraction <= 0 {
		return []Source{{s.Tail, 0}}
	}
	head := r.g.Head[s.Arc]
	if s.Fraction >= 1 {
		return []Source{{head, 0}}
	}
	var out []Source
	add := func(node, cost uint32, frac float64) {
		if cost == Inf {
			return
		}
		out = append(out, Source{node, uint32(math.Round(float64(cost) * frac))})
	}
	if !backward {
		add(head, w[s.Arc], 1-s.Fraction)
		if s.Reverse >= 0 {
			add(s.Tail, w[s.Reverse], s.Fraction)
		}
	} else {
		add(s.Tail, w[s.Arc], s.Fraction)
		if s.Reverse >= 0 {
			add(head, w[s.Reverse], 1-s.Fraction)
		}
	}
	return out
}
