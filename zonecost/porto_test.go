package zonecost

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/muster-evac/muster/internal/testshared"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/paulmach/orb"
)

// sharedExtract returns the path of ../shared/data/name beside the
// repository root, skipping when it is absent.
func sharedExtract(tb testing.TB, name string) string {
	tb.Helper()
	return testshared.Path(tb, "data/"+name)
}

var (
	portoOnce sync.Once
	portoCar  *roadgraph.Graph
	portoErr  error
)

// porto imports Porto's car graph once for the whole test binary.
func porto(tb testing.TB) *roadgraph.Graph {
	tb.Helper()
	path := sharedExtract(tb, "porto.osm.pbf")
	portoOnce.Do(func() {
		city, _, err := osmimport.ImportFile(context.Background(), path, osmimport.Options{})
		if err != nil {
			portoErr = err
			return
		}
		portoCar, portoErr = city.Graph(roadgraph.Car)
	})
	if portoErr != nil {
		tb.Fatalf("importing Porto: %v", portoErr)
	}
	return portoCar
}

// portoZones is a dozen zones around the graph's median node: eight
// circles of 150-430 m and four polygons, one with a hole; half forbidden.
func portoZones(g *roadgraph.Graph) []muster.Zone {
	lons, lats := slices.Clone(g.Lon), slices.Clone(g.Lat)
	slices.Sort(lons)
	slices.Sort(lats)
	c := orb.Point{float64(lons[len(lons)/2]) / roadgraph.CoordScale, float64(lats[len(lats)/2]) / roadgraph.CoordScale}
	var zones []muster.Zone
	for i := 0; i < 8; i++ {
		dx, dy := float64((i*1700)%5000-2500), float64((i*2300)%5000-2500)
		zones = append(zones, muster.Zone{ID: "c" + string(rune('0'+i)), Center: offset(c, dx, dy),
			RadiusM: 150 + 40*float64(i), Risk: 0.1 + 0.1*float64(i), Forbidden: i%2 == 0})
	}
	hole := square(c, -100, -100, 100, 100)
	slices.Reverse(hole)
	zones = append(zones,
		muster.Zone{ID: "p0", Polygon: orb.MultiPolygon{{square(c, -400, -300, 400, 300), hole}}, Forbidden: true},
		muster.Zone{ID: "p1", Polygon: orb.MultiPolygon{{square(c, 1000, 1000, 1600, 1300)}}, Risk: 0.5},
		muster.Zone{ID: "p2", Polygon: orb.MultiPolygon{{square(c, -2000, 500, -1500, 1500)}, {square(c, -1200, 500, -900, 900)}}, Forbidden: true},
		muster.Zone{ID: "p3", Polygon: orb.MultiPolygon{{{offset(c, 0, -2000), offset(c, 800, -1500), offset(c, 300, -1200), offset(c, -500, -1600), offset(c, 0, -2000)}}}, Risk: 0.8},
	)
	return zones
}

// TestPorto applies a dozen zones to Porto's real car graph and checks every
// arc of the city with the independent checker.
func TestPorto(t *testing.T) {
	g := porto(t)
	zones := portoZones(g)
	eff, err := Compute(context.Background(), g, roadgraph.NewArcIndex(g), zones)
	if err != nil {
		t.Fatal(err)
	}
	forbidden := map[uint32]bool{}
	exposed := 0
	for _, e := range eff.Arcs {
		if e.Forbidden {
			forbidden[e.Arc] = true
		}
		if e.Exposure > 0 {
			exposed++
		}
	}
	if len(forbidden) < 100 || exposed < 100 {
		t.Fatalf("%d forbidden and %d exposed arcs: the zones miss the city", len(forbidden), exposed)
	}
	tails := g.Tails()
	var line orb.LineString
	mismatches := 0
	for a := 0; a < g.NumArcs(); a++ {
		line = g.ArcGeometry(line[:0], tails[a], uint32(a))
		if crossed := len(CheckForbidden(line, zones)) > 0; crossed != forbidden[uint32(a)] {
			if mismatches++; mismatches <= 5 {
				t.Errorf("arc %d %v: Compute forbidden=%v, checker %v", a, line, forbidden[uint32(a)], crossed)
			}
		}
	}
	t.Logf("Porto car graph: %d nodes, %d arcs; %d forbidden arcs, %d exposed, %d forbidden nodes",
		g.NumNodes(), g.NumArcs(), len(forbidden), exposed, len(eff.ForbiddenNodes))
}

// BenchmarkComputePorto applies the dozen zones of TestPorto to Porto's car
// graph with roadgraph's ArcIndex: the zone half of a new threat picture.
// "country-wide" adds a risky circle of 650 km around the city, like the
// ISIS-K presence zone of the Kabul picture, which every arc is inside.
func BenchmarkComputePorto(b *testing.B) {
	g := porto(b)
	ix := roadgraph.NewArcIndex(g)
	city := portoZones(g)
	wide := append(slices.Clone(city), muster.Zone{ID: "country", Center: city[0].Center, RadiusM: 650_000, Risk: 0.2})
	for _, bc := range []struct {
		name  string
		zones []muster.Zone
	}{{"dozen", city}, {"dozen+country-wide", wide}} {
		b.Run(bc.name, func(b *testing.B) {
			var eff *Effects
			cpu0 := processCPU()
			for b.Loop() {
				var err error
				if eff, err = Compute(context.Background(), g, ix, bc.zones); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(len(eff.Arcs)), "affected-arcs")
		})
	}
}
