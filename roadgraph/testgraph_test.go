package roadgraph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// testRoad is one road between two nodes of a hand-built graph: a one-way
// road becomes one arc, a two-way road two arcs with mirrored shapes.
type testRoad struct {
	from, to uint32
	shape    [][2]int32 // lat, lon fixed point, strictly between from and to
	name     uint32
	oneWay   bool
}

// buildTestGraph turns nodes and roads into a forward-star Graph, the way an
// importer would: arcs grouped by tail, shape points in travel order.
func buildTestGraph(t testing.TB, p Profile, lat, lon []int32, roads []testRoad, names []string) *Graph {
	t.Helper()
	type arc struct {
		tail, head uint32
		shape      [][2]int32
		name       uint32
	}
	var arcs []arc
	for _, r := range roads {
		arcs = append(arcs, arc{r.from, r.to, r.shape, r.name})
		if !r.oneWay {
			rev := slices.Clone(r.shape)
			slices.Reverse(rev)
			arcs = append(arcs, arc{r.to, r.from, rev, r.name})
		}
	}
	slices.SortStableFunc(arcs, func(a, b arc) int { return int(a.tail) - int(b.tail) })
	n := len(lat)
	g := &Graph{
		Profile:   p,
		Lat:       lat,
		Lon:       lon,
		OSMNodeID: make([]int64, n),
		FirstOut:  make([]uint32, n+1),
		GeomFirst: []uint32{0},
		Names:     names,
	}
	for u := range g.OSMNodeID {
		g.OSMNodeID[u] = int64(1_000_000_000_000 + u*7)
	}
	for _, a := range arcs {
		g.FirstOut[a.tail+1]++
		g.Head = append(g.Head, a.head)
		pts := [][2]int32{{lat[a.tail], lon[a.tail]}}
		pts = append(pts, a.shape...)
		pts = append(pts, [2]int32{lat[a.head], lon[a.head]})
		length := 0.0
		for i := 1; i < len(pts); i++ {
			length += fixedDistM(pts[i-1], pts[i])
		}
		g.LengthM = append(g.LengthM, float32(length))
		g.TimeMS = append(g.TimeMS, uint32(length/10*1000)+1)
		g.NameID = append(g.NameID, a.name)
		for _, s := range a.shape {
			g.GeomLat = append(g.GeomLat, s[0])
			g.GeomLon = append(g.GeomLon, s[1])
		}
		g.GeomFirst = append(g.GeomFirst, uint32(len(g.GeomLat)))
	}
	for u := 0; u < n; u++ {
		g.FirstOut[u+1] += g.FirstOut[u]
	}
	if err := g.Validate(); err != nil {
		t.Fatalf("hand-built graph is invalid: %v", err)
	}
	return g
}

func fixedDistM(a, b [2]int32) float64 {
	const rad = math.Pi / 180
	lat1, lon1 := float64(a[0])/CoordScale, float64(a[1])/CoordScale
	lat2, lon2 := float64(b[0])/CoordScale, float64(b[1])/CoordScale
	x := (lon2 - lon1) * rad * math.Cos((lat1+lat2)/2*rad)
	y := (lat2 - lat1) * rad
	return 6_371_008.8 * math.Hypot(x, y)
}

// gridGraph builds a rows x cols street grid near Porto with ~100 m blocks,
// jittered corners, a bent shape on some blocks, and (for Car) every fifth
// street one-way; dropFrac of the blocks are left out at random. withOrder
// adds a node order.
func gridGraph(t testing.TB, p Profile, rows, cols int, seed uint64, withOrder bool, dropFrac float64) *Graph {
	rng := rand.New(rand.NewPCG(seed, 17))
	const lat0, lon0, step = 41_140_000_0, -8_630_000_0, 9_000 // 1e-7 deg
	n := rows * cols
	lat, lon := make([]int32, n), make([]int32, n)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			lat[r*cols+c] = int32(lat0 + r*step + rng.IntN(2000) - 1000)
			lon[r*cols+c] = int32(lon0 + c*step*4/3 + rng.IntN(2000) - 1000)
		}
	}
	names := []string{"", "Rua de Santa Catarina", "Avenida dos Aliados", "Rua das Flores", "Travessa do Carmo — Ribeira"}
	var roads []testRoad
	add := func(u, v int, oneWay bool) {
		if rng.Float64() < dropFrac {
			return
		}
		r := testRoad{from: uint32(u), to: uint32(v), name: uint32(rng.IntN(len(names))), oneWay: oneWay}
		for range rng.IntN(4) {
			// A bend off the straight line, so arc boxes are more than segments.
			f := rng.Float64()
			r.shape = append(r.shape, [2]int32{
				int32(float64(lat[u]) + f*float64(lat[v]-lat[u]) + float64(rng.IntN(3000)-1500)),
				int32(float64(lon[u]) + f*float64(lon[v]-lon[u]) + float64(rng.IntN(3000)-1500)),
			})
		}
		roads = append(roads, r)
	}
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			u := r*cols + c
			if c+1 < cols {
				add(u, u+1, p == Car && r%5 == 2)
			}
			if r+1 < rows {
				add(u, u+cols, p == Car && c%5 == 3)
			}
		}
	}
	g := buildTestGraph(t, p, lat, lon, roads, names)
	if withOrder {
		g.Order = make([]uint32, n)
		for i, u := range rng.Perm(n) {
			g.Order[i] = uint32(u)
		}
	}
	return g
}

// gridCity is a city with a car and a foot grid.
func gridCity(t testing.TB, rows, cols int, seed uint64) *City {
	return &City{
		Source: fmt.Sprintf("test grid %dx%d: seed %d", rows, cols, seed),
		Graphs: map[Profile]*Graph{
			Car:  gridGraph(t, Car, rows, cols, seed, true, 0.1),
			Foot: gridGraph(t, Foot, rows, cols, seed+1, false, 0),
		},
	}
}
