package realdata_test

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/muster-evac/muster/internal/testshared"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/paulmach/orb"
)

var porto struct {
	once sync.Once
	city *roadgraph.City
	err  error
}

// importPorto imports ../shared/data/porto.osm.pbf once per test binary,
// skipping when the file is absent.
func importPorto(tb testing.TB) *roadgraph.City {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			tb.Skip("repository root (go.mod) not found")
		}
		dir = filepath.Dir(dir)
	}
	path := testshared.Path(tb, "data/porto.osm.pbf")
	porto.once.Do(func() {
		porto.city, _, porto.err = osmimport.ImportFile(context.Background(), path, osmimport.Options{})
	})
	if porto.err != nil {
		tb.Fatalf("import Porto: %v", porto.err)
	}
	return porto.city
}

func sameGraph(a, b *roadgraph.Graph) bool {
	return a.Profile == b.Profile && slices.Equal(a.Lat, b.Lat) && slices.Equal(a.Lon, b.Lon) &&
		slices.Equal(a.OSMNodeID, b.OSMNodeID) && slices.Equal(a.FirstOut, b.FirstOut) &&
		slices.Equal(a.Head, b.Head) && slices.Equal(a.TimeMS, b.TimeMS) && slices.Equal(a.LengthM, b.LengthM) &&
		slices.Equal(a.NameID, b.NameID) && slices.Equal(a.GeomFirst, b.GeomFirst) &&
		slices.Equal(a.GeomLat, b.GeomLat) && slices.Equal(a.GeomLon, b.GeomLon) &&
		slices.Equal(a.Names, b.Names) && slices.Equal(a.Order, b.Order)
}

func TestPortoFileRoundTrip(t *testing.T) {
	city := importPorto(t)
	path := filepath.Join(t.TempDir(), "porto.graph")
	if err := roadgraph.SaveCity(path, city); err != nil {
		t.Fatal(err)
	}
	got, err := roadgraph.LoadCity(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != city.Source || len(got.Graphs) != len(city.Graphs) {
		t.Fatalf("loaded %q with %d graphs, saved %q with %d", got.Source, len(got.Graphs), city.Source, len(city.Graphs))
	}
	for p, g := range city.Graphs {
		if !sameGraph(g, got.Graphs[p]) {
			t.Errorf("the %s graph changed through the file", p)
		}
	}
	st, _ := os.Stat(path)
	t.Logf("porto.graph: %d bytes", st.Size())

	// A corrupt copy is refused, naming the file.
	data, _ := os.ReadFile(path)
	data[len(data)/2] ^= 0x10
	bad := filepath.Join(t.TempDir(), "porto-bad.graph")
	os.WriteFile(bad, data, 0o644)
	if _, err := roadgraph.LoadCity(bad); err == nil || !bytes.Contains([]byte(err.Error()), []byte("porto-bad.graph: ")) {
		t.Errorf("corrupt Porto file: %v", err)
	}
}

// segmentDistM is an independent equirectangular point-to-segment distance;
// k is metres per degree of longitude at p.
func segmentDistM(p, a, b orb.Point, k float64) float64 {
	const ky = muster.EarthRadiusM * math.Pi / 180
	ax, ay := (a[0]-p[0])*k, (a[1]-p[1])*ky
	bx, by := (b[0]-p[0])*k, (b[1]-p[1])*ky
	dx, dy := bx-ax, by-ay
	t := 0.0
	if l2 := dx*dx + dy*dy; l2 > 0 {
		t = min(max(-(ax*dx+ay*dy)/l2, 0), 1)
	}
	return math.Hypot(ax+t*dx, ay+t*dy)
}

func TestPortoSnap(t *testing.T) {
	city := importPorto(t)
	for _, p := range roadgraph.Profiles {
		g := city.Graphs[p]
		ix := roadgraph.NewArcIndex(g)
		t.Logf("%s: %d nodes, %d arcs, index %d bytes", p, g.NumNodes(), g.NumArcs(), ix.MemoryBytes())
		tails := g.Tails()
		var b orb.Bound
		for u := 0; u < g.NumNodes(); u++ {
			if u == 0 {
				b = orb.Bound{Min: g.NodePoint(0), Max: g.NodePoint(0)}
			}
			b = b.Extend(g.NodePoint(uint32(u)))
		}
		rng := rand.New(rand.NewPCG(uint64(p), 41))
		lines := make([]orb.LineString, g.NumArcs())
		bounds := make([]orb.Bound, g.NumArcs())
		for a := range lines {
			lines[a] = g.ArcGeometry(nil, tails[a], uint32(a))
			bounds[a] = lines[a].Bound()
		}
		for range 40 {
			q := orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])}
			s, err := ix.Snap(q, math.Inf(1))
			if err != nil {
				t.Fatal(err)
			}
			k := math.Cos(q[1]*math.Pi/180) * muster.EarthRadiusM * math.Pi / 180
			best := math.Inf(1)
			for _, line := range lines {
				for i := 1; i < len(line); i++ {
					best = min(best, segmentDistM(q, line[i-1], line[i], k))
				}
			}
			if math.Abs(best-s.DistanceM) > 1e-6 {
				t.Fatalf("%s snap %v: index %v m, scan %v m", p, q, s.DistanceM, best)
			}
			if d := segmentDistM(q, s.Point, s.Point, k); math.Abs(d-s.DistanceM) > 1e-6 {
				t.Fatalf("%s snap %v: point %v is %v m away, not %v", p, q, s.Point, d, s.DistanceM)
			}
			if s.Reverse >= 0 && (tails[s.Reverse] != g.Head[s.Arc] || g.Head[s.Reverse] != s.Tail) {
				t.Fatalf("%s snap %v: reverse %d does not run head to tail of %d", p, q, s.Reverse, s.Arc)
			}
		}
		// ArcsInBound gives exactly the arcs whose boxes meet the query's.
		for range 20 {
			c := orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])}
			box := orb.Bound{Min: c, Max: c}.Pad(rng.Float64() * 0.01)
			var want, got []uint32
			for a, bound := range bounds {
				if bound.Intersects(box) {
					want = append(want, uint32(a))
				}
			}
			ix.ArcsInBound(box, func(a uint32) bool { got = append(got, a); return true })
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("%s arcs in %v: index %d, scan %d", p, box, len(got), len(want))
			}
		}
		// Every node snaps to itself at distance 0 (a road touches it).
		for range 200 {
			u := uint32(rng.IntN(g.NumNodes()))
			v, d, err := ix.NearestNode(g.NodePoint(u), 1)
			if err != nil || d != 0 || g.NodePoint(v) != g.NodePoint(u) {
				t.Fatalf("%s nearest node to node %d: %d at %v m (%v)", p, u, v, d, err)
			}
			s, err := ix.Snap(g.NodePoint(u), 1)
			if err != nil || s.DistanceM != 0 {
				t.Fatalf("%s snap node %d: %+v (%v)", p, u, s, err)
			}
		}
	}
}

func BenchmarkLoadCity(b *testing.B) {
	city := importPorto(b)
	path := filepath.Join(b.TempDir(), "porto.graph")
	if err := roadgraph.SaveCity(path, city); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(path)
	b.Run("porto", func(b *testing.B) {
		b.SetBytes(st.Size())
		for b.Loop() {
			if _, err := roadgraph.LoadCity(path); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkNewArcIndex(b *testing.B) {
	city := importPorto(b)
	for _, p := range roadgraph.Profiles {
		g := city.Graphs[p]
		b.Run("porto-"+p.String(), func(b *testing.B) {
			var ix *roadgraph.ArcIndex
			for b.Loop() {
				ix = roadgraph.NewArcIndex(g)
			}
			b.ReportMetric(float64(ix.MemoryBytes()), "index-bytes")
			b.ReportMetric(float64(g.NumArcs()), "arcs")
		})
	}
}

// BenchmarkSnap queries points up to about 150 m from random nodes, like
// addresses near streets.
func BenchmarkSnap(b *testing.B) {
	city := importPorto(b)
	for _, p := range roadgraph.Profiles {
		g := city.Graphs[p]
		ix := roadgraph.NewArcIndex(g)
		rng := rand.New(rand.NewPCG(1, 1))
		queries := make([]orb.Point, 4096)
		for i := range queries {
			n := g.NodePoint(uint32(rng.IntN(g.NumNodes())))
			queries[i] = orb.Point{n[0] + (rng.Float64()*2-1)*0.0018, n[1] + (rng.Float64()*2-1)*0.0013}
		}
		b.Run("porto-"+p.String()+"/snap", func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, err := ix.Snap(queries[i%len(queries)], 1000); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run("porto-"+p.String()+"/nearest-node", func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, _, err := ix.NearestNode(queries[i%len(queries)], 1000); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run("porto-"+p.String()+"/arcs-in-500m-box", func(b *testing.B) {
			i, n := 0, 0
			for b.Loop() {
				q := queries[i%len(queries)]
				ix.ArcsInBound(orb.Bound{Min: q, Max: q}.Pad(0.003), func(uint32) bool { n++; return true })
				i++
			}
			b.ReportMetric(float64(n)/float64(i), "arcs/op")
		})
	}
}
