package osmimport

import (
	"context"
	"math"
	"os"
	"testing"

	"github.com/muster-evac/muster/internal/testshared"

	"github.com/muster-evac/muster/roadgraph"
)

// sharedData returns the path of a file in the shared data directory
// (../shared/data next to the repository root), skipping the test when it
// is absent.
func sharedData(tb testing.TB, name string) string {
	tb.Helper()
	return testshared.Path(tb, "data/"+name)
}

func importShared(t *testing.T, name string) (*roadgraph.City, *Stats) {
	t.Helper()
	city, st, err := ImportFile(context.Background(), sharedData(t, name), Options{})
	if err != nil {
		t.Fatalf("import %s: %v", name, err)
	}
	t.Logf("%s: %d OSM nodes, %d OSM ways, %d missing refs", name, st.OSMNodes, st.OSMWays, st.MissingNodeRefs)
	for _, ps := range st.Profiles {
		t.Logf("  %-4s ways %d nodes %d arcs %d components %d dropped nodes %d dropped arcs %d",
			ps.Profile, ps.Ways, ps.Nodes, ps.Arcs, ps.Components, ps.DroppedNodes, ps.DroppedArcs)
	}
	for p, g := range city.Graphs {
		if err := g.Validate(); err != nil {
			t.Errorf("%s %s graph: %v", name, p, err)
		}
	}
	return city, st
}

func TestPorto(t *testing.T) {
	city, _ := importShared(t, "porto.osm.pbf")
	car, foot := city.Graphs[roadgraph.Car], city.Graphs[roadgraph.Foot]
	if n, m := car.NumNodes(), car.NumArcs(); n < 50_000 || n > 80_000 || m < 110_000 || m > 190_000 {
		t.Errorf("Porto car graph has %d nodes and %d arcs, want 50k-80k nodes and 110k-190k arcs", n, m)
	}
	// Nodes are numbered along a Hilbert curve: an arc's ends are near in
	// memory. In a random numbering the mean gap would be about n/3.
	var gap float64
	tails := car.Tails()
	for a, u := range tails {
		gap += math.Abs(float64(u) - float64(car.Head[a]))
	}
	gap /= float64(len(tails))
	t.Logf("car graph: mean index gap between an arc's ends %.0f of %d nodes", gap, car.NumNodes())
	if gap > float64(car.NumNodes())/100 {
		t.Errorf("mean index gap between an arc's ends is %.0f of %d nodes: the numbering is not local", gap, car.NumNodes())
	}
	if foot.NumNodes() <= car.NumNodes() || foot.NumArcs() <= car.NumArcs() {
		t.Errorf("Porto foot graph (%d nodes, %d arcs) is not larger than the car graph (%d nodes, %d arcs)",
			foot.NumNodes(), foot.NumArcs(), car.NumNodes(), car.NumArcs())
	}
}

func BenchmarkImportPorto(b *testing.B) {
	path := sharedData(b, "porto.osm.pbf")
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ImportFile(context.Background(), path, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPortoAlegreGates(t *testing.T) {
	city, _ := importShared(t, "porto-alegre.osm.pbf")
	car := city.Graphs[roadgraph.Car]
	have := map[int64]bool{}
	for _, id := range car.OSMNodeID {
		have[id] = true
	}
	// The airport's private service gates (../shared/data/README.md): the
	// car graph is only the largest strongly connected component, so being
	// in it means a car can drive to the gate and away again.
	for _, gate := range []int64{1139191644, 7537359921, 7537359911, 7539772849} {
		if !have[gate] {
			t.Errorf("gate n%d is not in the car graph's largest component", gate)
		}
	}
}

func TestCampoGrandeMissingRefs(t *testing.T) {
	city, st := importShared(t, "campo-grande.osm.gz")
	if st.MissingNodeRefs < 3000 || st.MissingNodeRefs > 3200 {
		t.Errorf("MissingNodeRefs = %d, want about 3,080", st.MissingNodeRefs)
	}
	if n := city.Graphs[roadgraph.Car].NumNodes(); n < 1000 {
		t.Errorf("Campo Grande car graph has only %d nodes", n)
	}
}

func TestAndorra(t *testing.T) {
	city, _ := importShared(t, "andorra.osm.pbf")
	for _, p := range roadgraph.Profiles {
		if g := city.Graphs[p]; g.NumArcs() < 1000 {
			t.Errorf("Andorra %s graph has only %d arcs", p, g.NumArcs())
		}
	}
}
