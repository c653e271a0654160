package route

import (
	"context"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster/internal/benchpictures"
	"github.com/muster-evac/muster/roadgraph"
)

// portoRouter is the benchmark city: Porto's car graph, the scale
// reference (about 63,000 nodes and 147,000 arcs).
func portoRouter(b *testing.B) (*Router, *roadgraph.Graph) {
	b.Helper()
	g, err := realCity(b, "porto.osm.pbf").Graph(roadgraph.Car)
	if err != nil {
		b.Fatal(err)
	}
	if len(g.Order) == 0 {
		if g.Order, err = NestedDissectionOrder(context.Background(), g); err != nil {
			b.Fatal(err)
		}
	}
	r, err := New(context.Background(), g, Options{})
	if err != nil {
		b.Fatal(err)
	}
	return r, g
}

func randomPairs(g *roadgraph.Graph, n int) [][2]orb.Point {
	rng := rand.New(rand.NewPCG(42, 42))
	out := make([][2]orb.Point, n)
	for i := range out {
		out[i] = [2]orb.Point{g.NodePoint(uint32(rng.IntN(g.NumNodes()))), g.NodePoint(uint32(rng.IntN(g.NumNodes())))}
	}
	return out
}

// BenchmarkRoutePorto is a whole point-to-point route with three forbidden
// circles: snapping both ends, the hierarchy query, unpacking the path and
// building its geometry and measures.
func BenchmarkRoutePorto(b *testing.B) {
	r, g := portoRouter(b)
	if _, err := r.SetZones(context.Background(), benchpictures.Circles(g, 1)); err != nil {
		b.Fatal(err)
	}
	pairs := randomPairs(g, 1000)
	ctx := context.Background()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; b.Loop(); i++ {
		p := pairs[i%len(pairs)]
		_, _ = r.Route(ctx, Request{From: p[0], To: p[1]})
	}
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

// BenchmarkQueryPorto is the node-to-node hierarchy query with the path
// unpacked into road arcs, with three forbidden circles.
func BenchmarkQueryPorto(b *testing.B) {
	r, g := portoRouter(b)
	if _, err := r.SetZones(context.Background(), benchpictures.Circles(g, 1)); err != nil {
		b.Fatal(err)
	}
	m := r.picture.Load().metric
	q := NewQuery(r.cch)
	rng := rand.New(rand.NewPCG(1, 1))
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		s, t := uint32(rng.IntN(g.NumNodes())), uint32(rng.IntN(g.NumNodes()))
		if q.Run(m, []Source{{s, 0}}, []Source{{t, 0}}) != Inf {
			q.Path(m)
		}
	}
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

// BenchmarkDijkstraPorto is the plain Dijkstra baseline for the same
// question, stopped at the target.
func BenchmarkDijkstraPorto(b *testing.B) {
	_, g := portoRouter(b)
	d := NewDijkstra(g.FirstOut, g.Head)
	rng := rand.New(rand.NewPCG(1, 1))
	for b.Loop() {
		s, t := uint32(rng.IntN(g.NumNodes())), uint32(rng.IntN(g.NumNodes()))
		d.Run(g.TimeMS, []Source{{s, 0}}, func(u, _ uint32) bool { return u == t })
	}
}

// BenchmarkSetZonesPorto applies a new threat picture (three forbidden
// circles and two risky or forbidden zones, different each time): zone
// geometry against the arcs, then partial re-customization.
func BenchmarkSetZonesPorto(b *testing.B) {
	r, g := portoRouter(b)
	pictures := benchpictures.Sequence(g, 16)
	ctx := context.Background()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; b.Loop(); i++ {
		if _, err := r.SetZones(ctx, pictures[i%len(pictures)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

// BenchmarkRecustomizePorto is the re-customization part of
// BenchmarkSetZonesPorto alone, the part bench/routingkit.sh compares with
// RoutingKit: the same pictures' weights, applied in turn as the router
// does (into the spare metric, after copying back the arcs the last update
// touched).
func BenchmarkRecustomizePorto(b *testing.B) {
	r, g := portoRouter(b)
	pictures := benchpictures.Sequence(g, 16)
	weights := make([][]uint32, len(pictures))
	for i, zs := range pictures {
		if _, err := r.SetZones(context.Background(), zs); err != nil {
			b.Fatal(err)
		}
		weights[i] = r.Weights()
	}
	// diffs[i]: the arcs whose weight differs from the picture before.
	diffs := make([][]uint32, len(pictures))
	for i, w := range weights {
		prev := weights[(i+len(weights)-1)%len(weights)]
		for a := range w {
			if w[a] != prev[a] {
				diffs[i] = append(diffs[i], uint32(a))
			}
		}
	}
	pair := NewMetricPair(r.cch, weights[len(weights)-1])
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; b.Loop(); i++ {
		k := i % len(pictures)
		pair.Next(weights[k], diffs[k], false)
	}
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

// BenchmarkCustomizePorto is a full customization of every arc, what a
// picture that changed everything would cost.
func BenchmarkCustomizePorto(b *testing.B) {
	r, g := portoRouter(b)
	mt := r.cch.Customize(g.TimeMS)
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		r.cch.CustomizeInto(mt, g.TimeMS)
	}
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

// BenchmarkCostsToPorto is every node's cost to one target (many-to-one).
func BenchmarkCostsToPorto(b *testing.B) {
	r, g := portoRouter(b)
	if _, err := r.SetZones(context.Background(), benchpictures.Circles(g, 1)); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	cpu0 := cpuTime()
	for b.Loop() {
		r.CostsTo(NodeSnap(g, uint32(rng.IntN(g.NumNodes()))))
	}
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

// BenchmarkNestedDissectionPorto is the metric-independent preprocessing
// done once at import.
func BenchmarkNestedDissectionPorto(b *testing.B) {
	_, g := portoRouter(b)
	for b.Loop() {
		if _, err := NestedDissectionOrder(context.Background(), g); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRouterMemoryPorto reports the heap held by Porto's loaded car
// graph with its spatial index and every structure of the router under a
// threat picture, in MB.
func BenchmarkRouterMemoryPorto(b *testing.B) {
	path := sharedData(b, "porto.osm.pbf")
	_ = path
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		r, g := portoRouterFresh(b)
		if _, err := r.SetZones(context.Background(), benchpictures.Circles(g, 1)); err != nil {
			b.Fatal(err)
		}
		r.Route(context.Background(), Request{From: g.NodePoint(0), To: g.NodePoint(1), Alternatives: 3})
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1e6, "MB")
		runtime.KeepAlive(r)
	}
}

// portoRouterFresh loads Porto's car graph from a graph file, as muster
// does, so that the measure holds only what a running router keeps.
func portoRouterFresh(b *testing.B) (*Router, *roadgraph.Graph) {
	_, g0 := portoRouter(b)
	dir := b.TempDir()
	c := &roadgraph.City{Source: "porto", Graphs: map[roadgraph.Profile]*roadgraph.Graph{roadgraph.Car: g0}}
	if err := roadgraph.SaveCity(dir+"/porto.graph", c); err != nil {
		b.Fatal(err)
	}
	realCitiesMu.Lock()
	delete(realCities, "porto.osm.pbf")
	realCitiesMu.Unlock()
	g0 = nil
	runtime.GC()
	loaded, err := roadgraph.LoadCity(dir + "/porto.graph")
	if err != nil {
		b.Fatal(err)
	}
	g, _ := loaded.Graph(roadgraph.Car)
	r, err := New(context.Background(), g, Options{})
	if err != nil {
		b.Fatal(err)
	}
	return r, g
}
