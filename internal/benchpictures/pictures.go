// Package benchpictures draws the threat pictures that the routing
// benchmarks apply, so that route's own benchmarks and the side-by-side
// harness against RoutingKit (bench/routingkit) apply exactly the same
// ones: same zones from the same seeds on the same graph.
package benchpictures

import (
	"math/rand/v2"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
)

// Circles is a threat picture like the pgRouting benchmark's: three
// forbidden circles of 300-800 m centred on random nodes of g.
func Circles(g *roadgraph.Graph, seed uint64) []muster.Zone {
	rng := rand.New(rand.NewPCG(seed, 1))
	var zs []muster.Zone
	for i := 0; i < 3; i++ {
		zs = append(zs, muster.Zone{ID: string(rune('a' + i)), Center: g.NodePoint(uint32(rng.IntN(g.NumNodes()))), RadiusM: 300 + 500*rng.Float64(), Forbidden: true, Risk: 1})
	}
	return zs
}

// Zones draws n zones around random nodes of g: circles and polygons, two
// in three forbidden, the others risky.
func Zones(rng *rand.Rand, g *roadgraph.Graph, n int) []muster.Zone {
	var zs []muster.Zone
	for i := 0; i < n; i++ {
		c := g.NodePoint(uint32(rng.IntN(g.NumNodes())))
		z := muster.Zone{ID: "z" + string(rune('a'+i)), Risk: 0.2 + 0.8*rng.Float64(), Forbidden: rng.IntN(3) != 0}
		if rng.IntN(2) == 0 {
			z.Center, z.RadiusM = c, 100+rng.Float64()*700
		} else {
			dx, dy := 0.002+rng.Float64()*0.006, 0.002+rng.Float64()*0.006
			z.Polygon = orb.MultiPolygon{{{{c[0] - dx, c[1] - dy}, {c[0] + dx, c[1] - dy}, {c[0] + dx, c[1] + dy}, {c[0] - dx*0.2, c[1] + dy*0.4}, {c[0] - dx, c[1] - dy}}}}
		}
		zs = append(zs, z)
	}
	return zs
}

// Sequence is the succession of pictures BenchmarkSetZonesPorto applies
// in turn (and bench/routingkit after it): picture i is the three circles
// of seed i and two zones of seed (i, 9).
func Sequence(g *roadgraph.Graph, n int) [][]muster.Zone {
	pictures := make([][]muster.Zone, n)
	for i := range pictures {
		pictures[i] = append(Circles(g, uint64(i)), Zones(rand.New(rand.NewPCG(uint64(i), 9)), g, 2)...)
	}
	return pictures
}
