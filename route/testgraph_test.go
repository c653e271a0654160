package route

import (
	"math/rand/v2"
	"sort"

	"github.com/muster-evac/muster/roadgraph"
)

// gridGraph builds a valid road-like graph: a jittered w×h grid around
// Kabul with some streets missing, some one-way and random travel times.
func gridGraph(seed uint64, w, h int) *roadgraph.Graph {
	rng := rand.New(rand.NewPCG(seed, 7))
	var arcs []testArc
	id := func(x, y int) uint32 { return uint32(y*w + x) }
	add := func(u, v uint32) {
		t := uint32(1000 + rng.IntN(30000))
		switch r := rng.IntN(10); {
		case r == 0: // one-way
			arcs = append(arcs, testArc{u, v, t})
		case r == 1:
			arcs = append(arcs, testArc{v, u, t})
		default:
			arcs = append(arcs, testArc{u, v, t}, testArc{v, u, t + uint32(rng.IntN(3))})
		}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if x+1 < w && rng.IntN(12) != 0 {
				add(id(x, y), id(x+1, y))
			}
			if y+1 < h && rng.IntN(12) != 0 {
				add(id(x, y), id(x, y+1))
			}
			if x+1 < w && y+1 < h && rng.IntN(15) == 0 {
				add(id(x, y), id(x+1, y+1))
			}
		}
	}
	n := w * h
	sort.Slice(arcs, func(i, j int) bool { return arcs[i].u < arcs[j].u })
	return csrGraph(n, arcs, func(t uint32) float32 { return float32(t) / 100 }, func(i int) (lat, lon float64) {
		x, y := i%w, i/w
		return 34.5 + 0.001*float64(y) + 0.0003*rng.Float64(), 69.1 + 0.001*float64(x) + 0.0003*rng.Float64()
	})
}

// testArc is an arc of a test graph: tail, head, travel time in ms.
type testArc struct{ u, v, t uint32 }

// csrGraph builds a valid car graph of n nodes from arcs sorted by tail,
// each of length lengthM(its time), node i placed at at(i) (called in
// node order, after the arcs are drawn: the callers' random draws stay
// in the order they were).
func csrGraph(n int, arcs []testArc, lengthM func(t uint32) float32, at func(i int) (lat, lon float64)) *roadgraph.Graph {
	g := &roadgraph.Graph{Profile: roadgraph.Car, Lat: make([]int32, n), Lon: make([]int32, n), OSMNodeID: make([]int64, n),
		FirstOut: make([]uint32, n+1), Names: []string{""}}
	for i := 0; i < n; i++ {
		lat, lon := at(i)
		g.Lat[i], g.Lon[i] = int32(lat*roadgraph.CoordScale), int32(lon*roadgraph.CoordScale)
	}
	for _, a := range arcs {
		g.FirstOut[a.u+1]++
		g.Head = append(g.Head, a.v)
		g.TimeMS = append(g.TimeMS, a.t)
		g.LengthM = append(g.LengthM, lengthM(a.t))
		g.NameID = append(g.NameID, 0)
	}
	for i := 0; i < n; i++ {
		g.FirstOut[i+1] += g.FirstOut[i]
	}
	g.GeomFirst = make([]uint32, len(arcs)+1)
	if err := g.Validate(); err != nil {
		panic(err)
	}
	return g
}
