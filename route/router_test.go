package route

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/zonecost"
)

// referenceCost is the best cost between two snapped points by plain
// Dijkstra under weights w, written without any of the router's code for
// partial arcs: every way on and off the snapped arcs is tried.
func referenceCost(g *roadgraph.Graph, w []uint32, from, to roadgraph.Snap) float64 {
	d := NewDijkstra(g.FirstOut, g.Head)
	best := math.Inf(1)
	type end struct {
		node uint32
		cost float64
	}
	var starts, ends []end
	if from.Fraction == 0 {
		starts = append(starts, end{from.Tail, 0})
	}
	if to.Fraction == 0 {
		ends = append(ends, end{to.Tail, 0})
	}
	if w[from.Arc] != Inf {
		starts = append(starts, end{g.Head[from.Arc], float64(w[from.Arc]) * (1 - from.Fraction)})
	}
	if from.Reverse >= 0 && w[from.Reverse] != Inf {
		starts = append(starts, end{from.Tail, float64(w[from.Reverse]) * from.Fraction})
	}
	if w[to.Arc] != Inf {
		ends = append(ends, end{to.Tail, float64(w[to.Arc]) * to.Fraction})
	}
	if to.Reverse >= 0 && w[to.Reverse] != Inf {
		ends = append(ends, end{g.Head[to.Arc], float64(w[to.Reverse]) * (1 - to.Fraction)})
	}
	for _, s := range starts {
		d.Run(w, []Source{{s.node, 0}}, nil)
		for _, e := range ends {
			if d.Dist[e.node] != Inf {
				best = math.Min(best, s.cost+float64(d.Dist[e.node])+e.cost)
			}
		}
	}
	if from.Arc == to.Arc && from.Fraction <= to.Fraction && w[from.Arc] != Inf {
		best = math.Min(best, float64(w[from.Arc])*(to.Fraction-from.Fraction))
	}
	if from.Reverse >= 0 && uint32(from.Reverse) == to.Arc && 1-from.Fraction <= to.Fraction && w[to.Arc] != Inf {
		best = math.Min(best, float64(w[to.Arc])*(to.Fraction-(1-from.Fraction)))
	}
	return best / 1000
}

func randomPoint(rng *rand.Rand, b orb.Bound) orb.Point {
	return orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])}
}

func graphBound(g *roadgraph.Graph) orb.Bound {
	b := orb.Bound{Min: g.NodePoint(0), Max: g.NodePoint(0)}
	for u := 0; u < g.NumNodes(); u++ {
		b = b.Extend(g.NodePoint(uint32(u)))
	}
	return b
}

// randomZones makes circles and polygons of random size inside b, some
// forbidden.
func randomZones(rng *rand.Rand, b orb.Bound, n int) []muster.Zone {
	var zs []muster.Zone
	for i := 0; i < n; i++ {
		c := randomPoint(rng, b)
		z := muster.Zone{ID: "z" + string(rune('a'+i)), Risk: rng.Float64(), Forbidden: rng.IntN(2) == 0}
		if rng.IntN(2) == 0 {
			z.Center, z.RadiusM = c, 50+rng.Float64()*400
		} else {
			dx, dy := 0.001+rng.Float64()*0.004, 0.001+rng.Float64()*0.004
			z.Polygon = orb.MultiPolygon{{{{c[0] - dx, c[1] - dy}, {c[0] + dx, c[1] - dy}, {c[0] + dx*0.3, c[1] + dy}, {c[0] - dx, c[1] - dy}}}}
		}
		zs = append(zs, z)
	}
	return zs
}

// checkRoutes asserts what every route must satisfy: its cost is the
// reference Dijkstra's, its geometry touches no forbidden zone, and
// alternatives keep to their bounds.
func checkRoutes(t *testing.T, r *Router, from, to orb.Point, zones []muster.Zone, k int) {
	t.Helper()
	res, err := r.Route(context.Background(), Request{From: from, To: to, Alternatives: k})
	fs, err1 := r.Snap(from)
	ts, err2 := r.Snap(to)
	if err1 != nil || err2 != nil {
		t.Fatalf("snapping: %v %v", err1, err2)
	}
	want := referenceCost(r.g, r.Weights(), fs, ts)
	if err != nil {
		if muster.ErrorCode(err) == muster.EUNREACHABLE && math.IsInf(want, 1) {
			return
		}
		if res == nil && (r.inForbidden(r.picture.Load(), fs) || r.inForbidden(r.picture.Load(), ts)) {
			return // no way out of (or into) a forbidden zone: said so
		}
		t.Fatalf("route %v -> %v: %v (reference cost %v)", from, to, err, want)
	}
	if res.Escape == nil && res.Approach == nil {
		got := res.Routes[0].CostS
		if math.Abs(got-want) > 0.003 {
			t.Fatalf("route %v -> %v costs %.3f s, Dijkstra %.3f s", from, to, got, want)
		}
	}
	best := res.Routes[0]
	for i, rt := range res.Routes {
		if rt.ForbiddenCrossings != 0 {
			t.Fatalf("route %d uses %d forbidden arcs", i, rt.ForbiddenCrossings)
		}
		if c := zonecost.CheckForbidden(rt.Geometry, zones); len(c) > 0 {
			t.Fatalf("route %d touches forbidden zone %d at %v", i, c[0].Zone, c[0].Point)
		}
		if i > 0 {
			if rt.DurationS > MaxStretch*best.DurationS+1e-9 {
				t.Fatalf("alternative %d takes %.1f s, more than %.1f × %.1f", i, rt.DurationS, MaxStretch, best.DurationS)
			}
			for j := 0; j < i; j++ {
				if s := shared(r.g, rt.Arcs, res.Routes[j].Arcs); s > MaxSharing*rt.DistanceM+1e-6 {
					t.Fatalf("alternative %d shares %.0f of its %.0f m with route %d", i, s, rt.DistanceM, j)
				}
			}
		}
	}
}

func TestRouterAgainstDijkstraUnderChangingZones(t *testing.T) {
	g := gridGraph(11, 60, 45)
	r, err := New(context.Background(), g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := graphBound(g)
	rng := rand.New(rand.NewPCG(3, 4))
	var zones []muster.Zone
	for round := 0; round < 8; round++ {
		if round > 0 {
			zones = randomZones(rng, b, 1+rng.IntN(6))
			if _, err := r.SetZones(context.Background(), zones); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 150; i++ {
			checkRoutes(t, r, randomPoint(rng, b), randomPoint(rng, b), zones, 1+rng.IntN(3))
		}
	}
}

func TestOriginInForbiddenZoneEscapes(t *testing.T) {
	g := gridGraph(12, 30, 30)
	r, err := New(context.Background(), g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := graphBound(g)
	c := b.Center()
	zones := []muster.Zone{{ID: "blast", Name: "blast site", Center: c, RadiusM: 300, Forbidden: true, Risk: 1}}
	if _, err := r.SetZones(context.Background(), zones); err != nil {
		t.Fatal(err)
	}
	res, err := r.Route(context.Background(), Request{From: c, To: b.Min})
	if err != nil {
		t.Fatal(err)
	}
	if res.Escape == nil || len(res.Notes) == 0 {
		t.Fatalf("origin inside a forbidden zone: want an escape leg and a note, got %+v", res)
	}
	if res.Escape.ForbiddenCrossings == 0 {
		t.Errorf("the escape leg runs inside the zone, yet reports no forbidden arc")
	}
	end := res.Escape.Geometry[len(res.Escape.Geometry)-1]
	if len(zonecost.Containing(end, zones)) != 0 {
		t.Errorf("the escape leg ends at %v, still inside the zone", end)
	}
	for _, rt := range res.Routes {
		if cr := zonecost.CheckForbidden(rt.Geometry, zones); len(cr) > 0 {
			t.Errorf("the route after the escape touches the zone at %v", cr[0].Point)
		}
	}
	// And the other way round: the routes stop at the edge.
	res, err = r.Route(context.Background(), Request{From: b.Min, To: c})
	if err != nil {
		t.Fatal(err)
	}
	if res.Approach == nil || len(res.Notes) == 0 {
		t.Fatalf("destination inside a forbidden zone: want an approach leg and a note")
	}
	for _, rt := range res.Routes {
		if cr := zonecost.CheckForbidden(rt.Geometry, zones); len(cr) > 0 {
			t.Errorf("a route enters the destination's forbidden zone at %v", cr[0].Point)
		}
	}
}

func TestCostsToMatchesQueries(t *testing.T) {
	g := gridGraph(13, 40, 40)
	r, err := New(context.Background(), g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	b := graphBound(g)
	if _, err := r.SetZones(context.Background(), randomZones(rng, b, 4)); err != nil {
		t.Fatal(err)
	}
	target := NodeSnap(g, uint32(rng.IntN(g.NumNodes())))
	costs := r.CostsTo(target)
	from := r.CostsFrom(target)
	// Against Dijkstra, forward and on the reversed graph, for every node.
	p := r.picture.Load()
	fwd := NewDijkstra(g.FirstOut, g.Head)
	fwd.Run(p.weight, []Source{{target.Tail, 0}}, nil)
	bwd := NewDijkstra(r.rev.FirstOut, r.rev.Head)
	bwd.Run(r.rev.Weights(p.weight), []Source{{target.Tail, 0}}, nil)
	for u := range costs {
		if costs[u] != bwd.Dist[u] || from[u] != fwd.Dist[u] {
			t.Fatalf("node %d: one-to-all gives %d to and %d from the target, Dijkstra %d and %d", u, costs[u], from[u], bwd.Dist[u], fwd.Dist[u])
		}
	}
	q := NewQuery(r.cch)
	m := r.picture.Load().metric
	for i := 0; i < 500; i++ {
		u := uint32(rng.IntN(g.NumNodes()))
		if got := q.Run(m, []Source{{u, 0}}, []Source{{target.Tail, 0}}); got != costs[u] {
			t.Fatalf("cost %d -> %d: one-to-all says %d, point query %d", u, target.Tail, costs[u], got)
		}
		if got := q.Run(m, []Source{{target.Tail, 0}}, []Source{{u, 0}}); got != from[u] {
			t.Fatalf("cost %d -> %d: one-to-all says %d, point query %d", target.Tail, u, from[u], got)
		}
	}
}

// TestSetZonesKeepsMetricsOfQueriesInFlight checks the router's two
// alternating metrics: a picture a query still reads is never rewritten
// (the next update copies the current metric instead), and once released
// its metric is reused in place; after every update the current metric
// has the weights of a full customization.
func TestSetZonesKeepsMetricsOfQueriesInFlight(t *testing.T) {
	g := gridGraph(13, 40, 30)
	r, err := New(context.Background(), g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := graphBound(g)
	rng := rand.New(rand.NewPCG(5, 6))
	set := func(round int) {
		t.Helper()
		if _, err := r.SetZones(context.Background(), randomZones(rng, b, 2+rng.IntN(4))); err != nil {
			t.Fatal(err)
		}
		p := r.picture.Load()
		checkMetric(t, fmt.Sprintf("round %d", round), r.cch, p.metric, r.cch.Customize(p.weight), p.weight)
	}
	set(0)
	held := r.acquire()
	heldWant := r.cch.Customize(held.weight)
	checkMetric(t, "held", r.cch, held.metric, heldWant, held.weight)
	for round := 1; round < 5; round++ {
		set(round)
		if r.metrics.spare == held.metric && round > 1 {
			t.Fatalf("round %d: the metric of a picture still read is kept to be rewritten", round)
		}
		checkMetric(t, fmt.Sprintf("held, after round %d", round), r.cch, held.metric, heldWant, held.weight)
	}
	held.release()
	reused := 0
	for round := 5; round < 12; round++ {
		spare := r.metrics.spare
		set(round)
		if r.picture.Load().metric == spare {
			reused++
		}
	}
	if reused < 6 {
		t.Errorf("the spare metric was reused in %d of 7 updates with no query in flight", reused)
	}
}

// TestQueriesDuringSetZones runs one-to-all queries while pictures change
// (run it with -race too): each answer must be exactly one picture's,
// never a mix of two.
func TestQueriesDuringSetZones(t *testing.T) {
	g := gridGraph(17, 30, 25)
	r, err := New(context.Background(), g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := graphBound(g)
	rng := rand.New(rand.NewPCG(7, 8))
	pictures := make([][]muster.Zone, 4)
	target := NodeSnap(g, uint32(rng.IntN(g.NumNodes())))
	var want [][]uint32
	for i := range pictures {
		pictures[i] = randomZones(rng, b, 3)
		if _, err := r.SetZones(context.Background(), pictures[i]); err != nil {
			t.Fatal(err)
		}
		bwd := NewDijkstra(r.rev.FirstOut, r.rev.Head)
		bwd.Run(r.rev.Weights(r.Weights()), []Source{{target.Tail, 0}}, nil)
		want = append(want, slices.Clone(bwd.Dist))
	}
	done := make(chan struct{})
	errs := make(chan error, 2)
	for w := 0; w < 2; w++ {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				got := r.CostsTo(target)
				if !slices.ContainsFunc(want, func(w []uint32) bool { return slices.Equal(w, got) }) {
					errs <- fmt.Errorf("one-to-all costs match none of the pictures")
					return
				}
			}
		}()
	}
	for i := 0; i < 40; i++ {
		if _, err := r.SetZones(context.Background(), pictures[i%len(pictures)]); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	for w := 0; w < 2; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
