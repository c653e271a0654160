package citygen

import (
	"bytes"
	"context"
	"math"
	"testing"

	muster "github.com/muster-evac/muster"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/paulmach/orb"
)

// graphPoints returns every node and shape point of a graph.
func graphPoints(g *roadgraph.Graph) []orb.Point {
	out := make([]orb.Point, 0, g.NumNodes()+len(g.GeomLat))
	for u := 0; u < g.NumNodes(); u++ {
		out = append(out, g.NodePoint(uint32(u)))
	}
	for i := range g.GeomLat {
		out = append(out, orb.Point{float64(g.GeomLon[i]) / roadgraph.CoordScale, float64(g.GeomLat[i]) / roadgraph.CoordScale})
	}
	return out
}

// nearestGrid finds the distance from p to the nearest of pts, through a
// coarse bucket grid so that hundreds of look-ups stay fast.
type nearestGrid struct {
	cells map[[2]int][]orb.Point
	size  float64 // degrees
}

func newNearestGrid(pts []orb.Point) *nearestGrid {
	g := &nearestGrid{cells: map[[2]int][]orb.Point{}, size: 0.005}
	for _, p := range pts {
		k := [2]int{int(math.Floor(p[0] / g.size)), int(math.Floor(p[1] / g.size))}
		g.cells[k] = append(g.cells[k], p)
	}
	return g
}

func (g *nearestGrid) distM(p orb.Point) float64 {
	cx, cy := int(math.Floor(p[0]/g.size)), int(math.Floor(p[1]/g.size))
	best := math.Inf(1)
	for dx := -1; dx <= 1; dx++ {
		for dy := -1; dy <= 1; dy++ {
			for _, q := range g.cells[[2]int{cx + dx, cy + dy}] {
				best = math.Min(best, distM(p, q))
			}
		}
	}
	return best
}

func TestImportedCity(t *testing.T) {
	for _, scale := range []float64{0.2, 1} {
		c := testCity(t, scale)
		city, stats, err := osmimport.FromOSM(context.Background(), c.OSM, "generated", osmimport.Options{})
		if err != nil {
			t.Fatalf("scale %v: import: %v", scale, err)
		}
		car, err := city.Graph(roadgraph.Car)
		if err != nil {
			t.Fatal(err)
		}
		foot, err := city.Graph(roadgraph.Foot)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range []*roadgraph.Graph{car, foot} {
			if err := g.Validate(); err != nil {
				t.Errorf("scale %v: %v", scale, err)
			}
		}
		for _, ps := range stats.Profiles {
			// The import keeps only the largest strongly connected part.
			kept := float64(ps.Nodes) / float64(ps.Nodes+ps.DroppedNodes)
			t.Logf("scale %v %s: %d nodes, %d arcs, %d dropped outside the largest strongly connected component", scale, ps.Profile, ps.Nodes, ps.Arcs, ps.DroppedNodes)
			if kept < 0.95 {
				t.Errorf("scale %v %s: largest strongly connected component keeps %.1f%% of the nodes, want at least 95%%", scale, ps.Profile, 100*kept)
			}
		}
		if foot.NumNodes() <= car.NumNodes() || foot.NumArcs() <= car.NumArcs() {
			t.Errorf("scale %v: foot graph (%d nodes, %d arcs) not larger than car graph (%d nodes, %d arcs)", scale, foot.NumNodes(), foot.NumArcs(), car.NumNodes(), car.NumArcs())
		}
		if scale == 1 && (car.NumNodes() < 10000 || car.NumNodes() > 30000) {
			t.Errorf("default city's car graph has %d nodes, want 10,000 to 30,000", car.NumNodes())
		}
		// Every gate and rally point lies on both graphs, and each graph
		// is strongly connected: so each place is reachable from, and can
		// reach, every other.
		for _, g := range []*roadgraph.Graph{car, foot} {
			if fwd, bwd := reachedFromFirst(g); fwd != g.NumNodes() || bwd != g.NumNodes() {
				t.Errorf("scale %v: %s graph: node 0 reaches %d and is reached from %d of %d nodes", scale, g.Profile, fwd, bwd, g.NumNodes())
			}
			near := newNearestGrid(graphPoints(g))
			for _, p := range c.Places.Places {
				if p.Kind != muster.PlaceGate && p.Kind != muster.PlaceRally {
					continue
				}
				if d := near.distM(p.Geometry.(orb.Point)); d > 1 {
					t.Errorf("scale %v: %s %s is %.0f m from the %s graph", scale, p.Kind, p.Name, d, g.Profile)
				}
			}
		}
	}
}

// reachedFromFirst counts the nodes node 0 reaches, and the nodes that
// reach node 0, by breadth-first search forward and backward.
func reachedFromFirst(g *roadgraph.Graph) (fwd, bwd int) {
	n := g.NumNodes()
	if n == 0 {
		return 0, 0
	}
	tails := g.Tails()
	rfirst := make([]uint32, n+1)
	for _, h := range g.Head {
		rfirst[h+1]++
	}
	for i := 1; i <= n; i++ {
		rfirst[i] += rfirst[i-1]
	}
	rtail := make([]uint32, len(g.Head))
	fill := append([]uint32(nil), rfirst[:n]...)
	for a, h := range g.Head {
		rtail[fill[h]] = tails[a]
		fill[h]++
	}
	bfs := func(first, to []uint32) int {
		seen := make([]bool, n)
		seen[0] = true
		queue := []uint32{0}
		for len(queue) > 0 {
			u := queue[0]
			queue = queue[1:]
			for a := first[u]; a < first[u+1]; a++ {
				if v := to[a]; !seen[v] {
					seen[v] = true
					queue = append(queue, v)
				}
			}
		}
		k := 0
		for _, s := range seen {
			if s {
				k++
			}
		}
		return k
	}
	return bfs(g.FirstOut, g.Head), bfs(rfirst, rtail)
}

// TestWrittenXMLImports reads the written OSM XML back through the same
// import a real extract goes through: the file is the city.
func TestWrittenXMLImports(t *testing.T) {
	c := testCity(t, 0.2)
	var buf bytes.Buffer
	if err := c.WriteOSMXML(&buf); err != nil {
		t.Fatal(err)
	}
	fromFile, _, err := osmimport.Import(context.Background(), &buf, "generated.osm", osmimport.Options{})
	if err != nil {
		t.Fatalf("importing the written XML: %v", err)
	}
	direct, _, err := osmimport.FromOSM(context.Background(), c.OSM, "generated", osmimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range roadgraph.Profiles {
		a, b := fromFile.Graphs[p], direct.Graphs[p]
		if a == nil || b == nil || a.NumNodes() != b.NumNodes() || a.NumArcs() != b.NumArcs() {
			t.Errorf("%s: the XML file and the in-memory data import differently", p)
		}
	}
}
