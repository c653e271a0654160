package route

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/zonecost"
)

// Alternative routes must be genuinely different and not much slower.
const (
	// MaxStretch bounds an alternative's duration relative to the best route's.
	MaxStretch = 1.4
	// MaxSharing bounds the share of an alternative's length that it may
	// have in common with any better route.
	MaxSharing = 0.6
)

// Request asks for routes between two coordinates.
type Request struct {
	From, To orb.Point // lon, lat
	// Alternatives is the number of routes wanted, best first (default 1).
	Alternatives int
}

// Route is one way from the origin to the destination.
type Route struct {
	Arcs               []uint32 // graph arcs, in travel order (partial first and last arcs included)
	Geometry           orb.LineString
	DurationS          float64 // free-flow travel time
	CostS              float64 // travel time with the risk penalty: what was minimised
	DistanceM          float64
	Exposure           float64 // risk-weighted seconds inside risky zones
	ForbiddenCrossings int     // arcs that touch a forbidden zone: 0 on a route, > 0 only on an escape leg
	// Leg is "route" for an ordinary route; "escape" for the shortest way
	// out of the forbidden zone the origin lies in, which precedes the
	// routes; "approach" for the last stretch into a forbidden zone that
	// holds the destination, which routes stop short of.
	Leg string
}

// Result is the answer to a Request.
type Result struct {
	Routes []Route
	// Escape, when the origin lies in a forbidden zone, is the shortest way
	// out of it; Routes then start where it ends.
	Escape *Route
	// Approach, when the destination lies in a forbidden zone, is the
	// shortest way in from where Routes end. Routes never enter the zone.
	Approach *Route
	// Notes say plainly what the caller must know: a start or end inside a
	// forbidden zone, or fewer alternatives than asked and why.
	Notes []string
}

// Route finds up to req.Alternatives routes between two coordinates under
// the current threat picture.
func (r *Router) Route(ctx context.Context, req Request) (*Result, error) {
	p := r.acquire()
	defer p.release()
	from, err := r.Snap(req.From)
	if err != nil {
		return nil, fmt.Errorf("origin: %w", err)
	}
	to, err := r.Snap(req.To)
	if err != nil {
		return nil, fmt.Errorf("destination: %w", err)
	}
	k := max(1, req.Alternatives)
	res := &Result{}
	sources := r.endpoints(from, p.weight, false)
	targets := r.endpoints(to, p.weight, true)
	start, end := from, to

	if len(sources) == 0 || r.inForbidden(p, from) {
		esc, exit, ok := r.escape(p, from, false)
		if !ok {
			return nil, muster.Errorf(muster.EUNREACHABLE, "the origin lies in forbidden zone %s and no road leads out of it", r.zoneNames(p, req.From))
		}
		res.Escape = esc
		res.Notes = append(res.Notes, fmt.Sprintf("The origin lies in forbidden zone %s. Leave it first by the shortest way out (%.0f m, %.0f s); the routes start where that leg ends.",
			r.zoneNames(p, req.From), esc.DistanceM, esc.DurationS))
		sources = []Source{{exit, 0}}
		start = NodeSnap(r.g, exit)
	}
	if len(targets) == 0 || r.inForbidden(p, to) {
		app, entry, ok := r.escape(p, to, true)
		if !ok {
			return nil, muster.Errorf(muster.EUNREACHABLE, "the destination lies in forbidden zone %s and no road leads into it from outside", r.zoneNames(p, req.To))
		}
		res.Approach = app
		res.Notes = append(res.Notes, fmt.Sprintf("The destination lies in forbidden zone %s. The routes stop at its edge; the last %.0f m into it are given separately as the approach leg and cross the zone.",
			r.zoneNames(p, req.To), app.DistanceM))
		targets = []Source{{entry, 0}}
		end = NodeSnap(r.g, entry)
	}

	q := r.queries.Get().(*Query)
	defer r.queries.Put(q)
	best := q.Run(p.metric, sources, targets)
	direct, directOK := r.sameArc(p, start, end)
	if best == Inf && !directOK {
		// A foot graph keeps every walkable piece: no road may join the
		// two ends at all (labelling the pieces costs a pass over the
		// graph, only on this path).
		if label, sizes := r.g.Pieces(); label[start.Tail] != label[end.Tail] {
			return nil, muster.Errorf(muster.EUNREACHABLE, "no route from %.6f,%.6f to %.6f,%.6f: they lie on separate pieces of the %s network (of %d and %d nodes) that no road joins",
				req.From[1], req.From[0], req.To[1], req.To[0], r.g.Profile, sizes[label[start.Tail]], sizes[label[end.Tail]])
		}
		return nil, muster.Errorf(muster.EUNREACHABLE, "no route from %.6f,%.6f to %.6f,%.6f avoids the forbidden zones", req.From[1], req.From[0], req.To[1], req.To[0])
	}
	var first Route
	if directOK && direct <= best {
		first = r.assemble(p, start, end, []uint32{start.Arc}, true)
	} else {
		arcs, fromNode, toNode := q.Path(p.metric)
		first = r.assemble(p, start, end, r.withPartials(p.weight, start, end, arcs, fromNode, toNode), false)
	}
	res.Routes = append(res.Routes, first)
	if k > 1 {
		alts, why := r.alternatives(ctx, p, start, end, sources, targets, first, k-1)
		res.Routes = append(res.Routes, alts...)
		if len(res.Routes) < k {
			res.Notes = append(res.Notes, fmt.Sprintf("Only %d of the %d routes asked for: %s", len(res.Routes), k, why))
		}
	}
	return res, nil
}

// NodeSnap is a point exactly on node u.
func NodeSnap(g *roadgraph.Graph, u uint32) roadgraph.Snap {
	return roadgraph.Snap{Arc: Inf, Tail: u, Reverse: -1, Point: g.NodePoint(u)}
}

// atNode reports whether a snapped point lies exactly on node u.
func (r *Router) atNode(s roadgraph.Snap, u uint32) bool {
	switch {
	case s.Arc == Inf || s.Fraction <= 0:
		return s.Tail == u
	case s.Fraction >= 1:
		return r.g.Head[s.Arc] == u
	}
	return false
}

// withPartials completes a node-to-node path with the partial arcs from
// the origin's snap point to its first node and from its last node to the
// destination's snap point. Where both ways along the snapped road meet the
// node (a loop), the cheaper under weights w is the one the search used.
func (r *Router) withPartials(w []uint32, from, to roadgraph.Snap, arcs []uint32, fromNode, toNode uint32) []uint32 {
	out := make([]uint32, 0, len(arcs)+2)
	if !r.atNode(from, fromNode) {
		// Leaving the point: along the arc to its head, or along the reverse to the tail.
		if a, ok := cheaperPartial(w, from, r.g.Head[from.Arc] == fromNode, from.Tail == fromNode, false); ok {
			out = append(out, a)
		}
	}
	out = append(out, arcs...)
	if !r.atNode(to, toNode) {
		// Reaching the point: along the arc from its tail, or along the reverse from the head.
		if a, ok := cheaperPartial(w, to, to.Tail == toNode, r.g.Head[to.Arc] == toNode, true); ok {
			out = append(out, a)
		}
	}
	return out
}

// cheaperPartial picks the snapped arc (useArc) or its reverse (useRev),
// whichever is usable and cheaper for the part between the point and the
// node; arriving tells which part of the arc that is.
func cheaperPartial(w []uint32, s roadgraph.Snap, useArc, useRev, arriving bool) (uint32, bool) {
	fArc, fRev := 1-s.Fraction, s.Fraction
	if arriving {
		fArc, fRev = s.Fraction, 1-s.Fraction
	}
	best, bestCost := uint32(Inf), math.Inf(1)
	if useArc && w[s.Arc] != Inf {
		best, bestCost = s.Arc, float64(w[s.Arc])*fArc
	}
	if useRev && s.Reverse >= 0 && w[s.Reverse] != Inf {
		if c := float64(w[s.Reverse]) * fRev; c < bestCost {
			best = uint32(s.Reverse)
		}
	}
	return best, best != Inf
}

// sameArc handles an origin and destination on the same arc, in travel
// order, where the best way may be along that arc alone.
func (r *Router) sameArc(p *picture, from, to roadgraph.Snap) (uint32, bool) {
	if from.Arc == Inf || from.Arc != to.Arc || from.Fraction > to.Fraction || p.weight[from.Arc] == Inf {
		return Inf, false
	}
	return uint32(math.Round(float64(p.weight[from.Arc]) * (to.Fraction - from.Fraction))), true
}

// assemble turns arcs into a Route with geometry and measures. The first
// and last arcs are cut at the snap points; single is set when the route
// runs along one arc from one snap point to the other.
func (r *Router) assemble(p *picture, from, to roadgraph.Snap, arcs []uint32, single bool) Route {
	rt := Route{Arcs: arcs, Leg: "route"}
	var line, buf orb.LineString
	for i, a := range arcs {
		lo, hi := 0.0, 1.0
		if i == 0 {
			lo = fractionOn(from, a, 0)
		}
		if i == len(arcs)-1 {
			hi = fractionOn(to, a, 1)
		}
		if single {
			lo, hi = from.Fraction, to.Fraction
		}
		if hi < lo {
			hi = lo
		}
		frac := hi - lo
		rt.DurationS += float64(r.g.TimeMS[a]) / 1000 * frac
		rt.DistanceM += float64(r.g.LengthM[a]) * frac
		rt.Exposure += float64(p.exposure[a]) * frac
		if p.weight[a] == Inf {
			rt.ForbiddenCrossings++
		} else {
			rt.CostS += float64(p.weight[a]) / 1000 * frac
		}
		buf = r.g.ArcGeometry(buf[:0], r.tails[a], a)
		line = appendCut(line, buf, lo, hi)
	}
	if len(line) == 0 {
		line = orb.LineString{from.Point, to.Point}
	}
	if len(line) == 1 {
		line = append(line, line[0])
	}
	rt.Geometry = line
	return rt
}

// fractionOn returns where a snap lies on arc a, which is the snapped arc
// or its reverse, as a fraction from a's tail; def when the snap is not on
// a (a path that starts or ends at a node uses all of a).
func fractionOn(s roadgraph.Snap, a uint32, def float64) float64 {
	switch {
	case s.Arc == Inf:
		return def
	case s.Arc == a:
		return s.Fraction
	case s.Reverse >= 0 && uint32(s.Reverse) == a:
		return 1 - s.Fraction
	}
	return def
}

// appendCut appends the part of polyline line between length fractions lo
// and hi to dst, without repeating dst's last point.
func appendCut(dst, line orb.LineString, lo, hi float64) orb.LineString {
	if lo <= 0 && hi >= 1 {
		for _, pt := range line {
			if len(dst) == 0 || dst[len(dst)-1] != pt {
				dst = append(dst, pt)
			}
		}
		return dst
	}
	seg := make([]float64, len(line))
	for i := 1; i < len(line); i++ {
		seg[i] = seg[i-1] + muster.DistanceM(line[i-1][0], line[i-1][1], line[i][0], line[i][1])
	}
	total := seg[len(seg)-1]
	at := func(f float64) (orb.Point, int) {
		d := f * total
		for i := 1; i < len(line); i++ {
			if seg[i] >= d {
				l := seg[i] - seg[i-1]
				t := 0.0
				if l > 0 {
					t = (d - seg[i-1]) / l
				}
				return orb.Point{line[i-1][0] + t*(line[i][0]-line[i-1][0]), line[i-1][1] + t*(line[i][1]-line[i-1][1])}, i
			}
		}
		return line[len(line)-1], len(line)
	}
	add := func(pt orb.Point) {
		if len(dst) == 0 || dst[len(dst)-1] != pt {
			dst = append(dst, pt)
		}
	}
	p0, i0 := at(lo)
	p1, i1 := at(hi)
	add(p0)
	for i := i0; i < i1 && i < len(line); i++ {
		add(line[i])
	}
	add(p1)
	return dst
}

// inForbidden reports whether a snapped point's arc touches a forbidden zone
// at the snap point itself: both of its possible ways on are forbidden, or
// the point lies in a zone.
func (r *Router) inForbidden(p *picture, s roadgraph.Snap) bool {
	if len(p.zones) == 0 {
		return false
	}
	for _, i := range zonecost.Containing(s.Point, p.zones) {
		if p.zones[i].Forbidden {
			return true
		}
	}
	return false
}

func (r *Router) zoneNames(p *picture, pt orb.Point) string {
	var names []string
	for _, i := range zonecost.Containing(pt, p.zones) {
		if z := p.zones[i]; z.Forbidden {
			n := z.Name
			if n == "" {
				n = z.ID
			}
			if n == "" {
				n = fmt.Sprintf("#%d", i+1)
			}
			names = append(names, fmt.Sprintf("%q", n))
		}
	}
	if len(names) == 0 {
		return "(along the road it snaps to)"
	}
	return strings.Join(names, ", ")
}

// escape finds the shortest way (in free-flow time) from a snapped point
// out of the forbidden zones to a node from which the safe network goes on,
// or, with inward set, the shortest way from such a node to the point.
func (r *Router) escape(p *picture, s roadgraph.Snap, inward bool) (*Route, uint32, bool) {
	free := r.g.TimeMS
	var d *Dijkstra
	var sources []Source
	if !inward {
		d = r.forward.Get().(*Dijkstra)
		defer r.forward.Put(d)
		sources = r.endpoints(s, free, false)
	} else {
		d = r.backward.Get().(*Dijkstra)
		defer r.backward.Put(d)
		sources = r.endpoints(s, free, true)
	}
	w := free
	if inward {
		w = r.rev.Weights(free)
	}
	safe := func(u uint32) bool {
		if p.forbidden[u] {
			return false
		}
		if !inward {
			for a := r.g.FirstOut[u]; a < r.g.FirstOut[u+1]; a++ {
				if p.weight[a] != Inf {
					return true
				}
			}
			return false
		}
		for i := r.rev.FirstOut[u]; i < r.rev.FirstOut[u+1]; i++ {
			if p.weight[r.rev.Arc[i]] != Inf {
				return true
			}
		}
		return false
	}
	exit := d.Run(w, sources, func(u, _ uint32) bool { return safe(u) })
	if exit == Inf {
		return nil, 0, false
	}
	var arcs []uint32
	if !inward {
		arcs = d.PathArcs(exit, r.tails)
		arcs = r.withPartials(free, s, NodeSnap(r.g, exit), arcs, firstTail(r, arcs, exit), exit)
		rt := r.assemble(p, s, NodeSnap(r.g, exit), arcs, false)
		rt.Leg = "escape"
		return &rt, exit, true
	}
	// The reversed search's tree leads from the destination back to exit;
	// its arcs, mapped to the graph and read backwards, lead exit -> point.
	var path []uint32
	for u := exit; d.PredArc[u] != Inf; {
		ra := d.PredArc[u]
		a := r.rev.Arc[ra]
		path = append(path, a)
		u = r.g.Head[a]
	}
	path = r.withPartials(free, NodeSnap(r.g, exit), s, path, exit, lastHead(r, path, exit))
	rt := r.assemble(p, NodeSnap(r.g, exit), s, path, false)
	rt.Leg = "approach"
	return &rt, exit, true
}

func firstTail(r *Router, arcs []uint32, def uint32) uint32 {
	if len(arcs) == 0 {
		return def
	}
	return r.tails[arcs[0]]
}

func lastHead(r *Router, arcs []uint32, def uint32) uint32 {
	if len(arcs) == 0 {
		return def
	}
	return r.g.Head[arcs[len(arcs)-1]]
}

// alternatives finds up to k more routes by the penalty method: the arcs
// of routes found so far are made dearer and the search is repeated, and a
// new path is kept only if it is at most MaxStretch times the best route's
// duration and shares at most MaxSharing of its length with every better
// route. Penalties grow each round, so a stubborn corridor is eventually
// left.
func (r *Router) alternatives(ctx context.Context, p *picture, from, to roadgraph.Snap, sources, targets []Source, best Route, k int) ([]Route, string) {
	d := r.forward.Get().(*Dijkstra)
	defer r.forward.Put(d)
	pen := append([]uint32(nil), p.weight...)
	accepted := []Route{best}
	isTarget := map[uint32]uint32{}
	for _, t := range targets {
		if c, ok := isTarget[t.Node]; !ok || t.Cost < c {
			isTarget[t.Node] = t.Cost
		}
	}
	why := fmt.Sprintf("no other route found within %.1f times the best duration that shares at most %.0f%% of its length with a better one", MaxStretch, MaxSharing*100)
	penalise := func(rt Route) {
		for _, a := range rt.Arcs {
			if pen[a] != Inf {
				pen[a] = addCost(pen[a], p.weight[a]/2)
			}
		}
	}
	penalise(best)
	for round := 0; round < 5*k+5 && len(accepted) <= k; round++ {
		if ctx.Err() != nil {
			return accepted[1:], "the search was cancelled"
		}
		// Stop at the first target settled with its own cost added: all
		// targets are settled by then or cannot beat it.
		bestEnd, bestCost := uint32(Inf), uint32(Inf)
		d.Run(pen, sources, func(u, du uint32) bool {
			if du >= bestCost {
				return true
			}
			if c, ok := isTarget[u]; ok {
				if t := addCost(du, c); t < bestCost {
					bestEnd, bestCost = u, t
				}
			}
			return false
		})
		if bestEnd == Inf {
			break
		}
		arcs := d.PathArcs(bestEnd, r.tails)
		cand := r.assemble(p, from, to, r.withPartials(pen, from, to, arcs, firstTail(r, arcs, bestEnd), bestEnd), false)
		penalise(cand)
		if cand.DurationS > MaxStretch*best.DurationS || cand.ForbiddenCrossings > 0 {
			continue
		}
		ok := true
		for _, prev := range accepted {
			if shared(r.g, cand.Arcs, prev.Arcs) > MaxSharing*cand.DistanceM {
				ok = false
				break
			}
		}
		if ok {
			accepted = append(accepted, cand)
		}
	}
	return accepted[1:], why
}

// shared returns the length in metres of the arcs a has in common with b.
func shared(g *roadgraph.Graph, a, b []uint32) float64 {
	bs := slices.Clone(b)
	slices.Sort(bs)
	var l float64
	for _, x := range a {
		if _, ok := slices.BinarySearch(bs, x); ok {
			l += float64(g.LengthM[x])
		}
	}
	return l
}
