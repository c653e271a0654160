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
	type arc struct{ u, v, t uint32 }
	var arcs []arc
	id := func(x, y int) uint32 { return uint32(y*w + x) }
	add := func(u, v uint32) {
		t := uint32(1000 + rng.IntN(30000))
		switch r := rng.IntN(10); {
		case r == 0: // one-way
			arcs = append(arcs, arc{u, v, t})
		case r == 1:
			arcs = append(arcs, arc{v, u, t})
		default:
			arcs = append(arcs, arc{u, v, t}, arc{v, u, t + uint32(rng.IntN(3))})
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
	g := &roadgraph.Graph{Profile: roadgraph.Car, Lat: make([]int32, n), Lon: make([]int32, n), OSMNodeID: make([]int64, n),
		FirstOut: make([]uint32, n+1), Names: []string{""}}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			g.Lat[id(x, y)] = int32((34.5 + 0.001*float64(y) + 0.0003*rng.Float64()) * roadgraph.CoordScale)
			g.Lon[id(x, y)] = int32((69.1 + 0.001*float64(x) + 0.0003*rng.Float64()) * roadgraph.CoordScale)
		}
	}
	for _, a := range arcs {
		g.FirstOut[a.u+1]++
		g.Head = append(g.Head, a.v)
		g.TimeMS = append(g.TimeMS, a.t)
		g.LengthM = append(g.LengthM, float32(a.t)/100)
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
