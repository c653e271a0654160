package zonecost

import (
	"context"
	"reflect"
	"testing"

	"github.com/muster-evac/muster/roadgraph"
)

// The real index satisfies ArcFinder.
var _ ArcFinder = (*roadgraph.ArcIndex)(nil)

// TestArcIndexFinder: with roadgraph's R-tree as the finder, Compute gives
// exactly what the brute-force finder gives.
func TestArcIndexFinder(t *testing.T) {
	g := gridGraph(t, 60, 60, kabul[0], kabul[1], 70)
	zones := benchZones(kabul, 60*70)
	want, err := Compute(context.Background(), g, newBruteFinder(g), zones)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Compute(context.Background(), g, roadgraph.NewArcIndex(g), zones)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Arcs) == 0 {
		t.Fatal("the zones affect no arc")
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ArcIndex finder: %d arcs, %d nodes; brute force: %d arcs, %d nodes",
			len(got.Arcs), len(got.ForbiddenNodes), len(want.Arcs), len(want.ForbiddenNodes))
	}
}

// BenchmarkCompute applies a threat picture of 10 circles and 5 polygons
// (with holes) to a 60k-node synthetic grid city (245×245 nodes 80 m apart,
// 240k arcs, half of them with a shape point), with roadgraph's ArcIndex.
func BenchmarkCompute(b *testing.B) {
	const side, spacing = 245, 80.0
	g := gridGraph(b, side, side, kabul[0], kabul[1], spacing)
	ix := roadgraph.NewArcIndex(g)
	zones := benchZones(kabul, side*spacing)
	eff, err := Compute(context.Background(), g, ix, zones)
	if err != nil {
		b.Fatal(err)
	}
	forbidden := 0
	for _, e := range eff.Arcs {
		if e.Forbidden {
			forbidden++
		}
	}
	cpu0 := processCPU()
	for b.Loop() {
		if _, err := Compute(context.Background(), g, ix, zones); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(len(eff.Arcs)), "affected-arcs")
	b.ReportMetric(float64(forbidden), "forbidden-arcs")
}
