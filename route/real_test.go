package route

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/muster-evac/muster/internal/benchpictures"
	"github.com/muster-evac/muster/internal/testshared"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/roadgraph"
)

// sharedData returns the path of a file in ../shared/data from the
// repository root, or skips the test when it is absent.
func sharedData(tb testing.TB, name string) string {
	tb.Helper()
	return testshared.Path(tb, "data/"+name)
}

var (
	realCities   = map[string]*roadgraph.City{}
	realCitiesMu sync.Mutex
)

// realCity imports an extract once per test binary.
func realCity(tb testing.TB, name string) *roadgraph.City {
	path := sharedData(tb, name)
	realCitiesMu.Lock()
	defer realCitiesMu.Unlock()
	if c := realCities[name]; c != nil {
		return c
	}
	c, _, err := osmimport.ImportFile(context.Background(), path, osmimport.Options{})
	if err != nil {
		tb.Fatalf("importing %s: %v", name, err)
	}
	realCities[name] = c
	return c
}

// TestRealExtractsAgainstDijkstra is the router's proof on real roads: on
// every extract, node-to-node costs equal plain Dijkstra's on thousands of
// pairs, before any zone and after each of many successive threat pictures
// (the partial re-customization path included), and routes between random
// coordinates cost what Dijkstra says and touch no forbidden zone by an
// independent geometric check.
func TestRealExtractsAgainstDijkstra(t *testing.T) {
	cases := []struct {
		file    string
		profile roadgraph.Profile
		rounds  int
	}{
		{"andorra.osm.pbf", roadgraph.Car, 6},
		{"andorra.osm.pbf", roadgraph.Foot, 6}, // two pieces: Sant Julià de Lòria is cut off on foot
		{"campo-grande.osm.gz", roadgraph.Car, 6},
		{"porto-alegre.osm.pbf", roadgraph.Foot, 6},
		{"porto-alegre.osm.pbf", roadgraph.Car, 8},
		{"porto.osm.pbf", roadgraph.Car, 10},
	}
	for _, tc := range cases {
		t.Run(tc.file+"/"+tc.profile.String(), func(t *testing.T) {
			g, err := realCity(t, tc.file).Graph(tc.profile)
			if err != nil {
				t.Fatal(err)
			}
			r, err := New(context.Background(), g, Options{})
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(uint64(len(tc.file)), uint64(tc.profile)))
			b := graphBound(g)
			dij := NewDijkstra(g.FirstOut, g.Head)
			q := NewQuery(r.cch)
			tails := g.Tails()
			var zones []muster.Zone
			pairs := 0
			for round := 0; round <= tc.rounds; round++ {
				if round > 0 {
					zones = benchpictures.Zones(rng, g, 1+rng.IntN(5))
					if _, err := r.SetZones(context.Background(), zones); err != nil {
						t.Fatal(err)
					}
				}
				p := r.picture.Load()
				sources := 40
				if round > 0 {
					sources = 8
				}
				for i := 0; i < sources; i++ {
					s := uint32(rng.IntN(g.NumNodes()))
					dij.Run(p.weight, []Source{{s, 0}}, nil)
					for j := 0; j < 50; j++ {
						tt := uint32(rng.IntN(g.NumNodes()))
						got := q.Run(p.metric, []Source{{s, 0}}, []Source{{tt, 0}})
						if got != dij.Dist[tt] {
							t.Fatalf("round %d: %d->%d: hierarchy %d ms, Dijkstra %d ms", round, s, tt, got, dij.Dist[tt])
						}
						pairs++
						if got == Inf {
							continue
						}
						arcs, _, _ := q.Path(p.metric)
						checkPath(t, tails, g.Head, p.weight, arcs, s, tt, got)
					}
				}
				// One-to-all, both ways, against Dijkstra on every node.
				target := uint32(rng.IntN(g.NumNodes()))
				to, from := r.CostsTo(NodeSnap(g, target)), r.CostsFrom(NodeSnap(g, target))
				bwd := NewDijkstra(r.rev.FirstOut, r.rev.Head)
				bwd.Run(r.rev.Weights(p.weight), []Source{{target, 0}}, nil)
				dij.Run(p.weight, []Source{{target, 0}}, nil)
				for u := range to {
					if to[u] != bwd.Dist[u] || from[u] != dij.Dist[u] {
						t.Fatalf("round %d: node %d: one-to-all %d to / %d from node %d, Dijkstra %d / %d", round, u, to[u], from[u], target, bwd.Dist[u], dij.Dist[u])
					}
				}
				for i := 0; i < 15; i++ {
					from := g.NodePoint(uint32(rng.IntN(g.NumNodes())))
					to := g.NodePoint(uint32(rng.IntN(g.NumNodes())))
					from[0] += (rng.Float64() - 0.5) * 0.002
					to[1] += (rng.Float64() - 0.5) * 0.002
					if !b.Contains(from) || !b.Contains(to) {
						continue
					}
					checkRoutes(t, r, from, to, zones, 1+rng.IntN(3))
				}
			}
			t.Logf("%d nodes, %d arcs: %d node pairs checked over %d threat pictures", g.NumNodes(), g.NumArcs(), pairs, tc.rounds+1)
		})
	}
}

// TestRecustomizePortoEqualsCustomize is partial customization's proof at
// city scale (long): on Porto's car graph, the benchmark's succession of
// threat pictures and then random ones (weights raised, lowered, forbidden,
// restored) give, after every update, exactly the weights of a full
// customization, each derived as its via entry says.
func TestRecustomizePortoEqualsCustomize(t *testing.T) {
	testshared.Long(t)
	g, err := realCity(t, "porto.osm.pbf").Graph(roadgraph.Car)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(context.Background(), g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pictures := benchpictures.Sequence(g, 16)
	for i := 0; i < 2*len(pictures); i++ {
		if _, err := r.SetZones(context.Background(), pictures[i%len(pictures)]); err != nil {
			t.Fatal(err)
		}
		p := r.picture.Load()
		checkMetric(t, fmt.Sprintf("picture %d", i), r.cch, p.metric, r.cch.Customize(p.weight), p.weight)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	w := slices.Clone(r.Weights())
	m := r.picture.Load().metric.clone()
	for round := 0; round < 20; round++ {
		changed := randomPicture(rng, g, w)
		m = r.cch.Recustomize(m, w, changed)
		checkMetric(t, fmt.Sprintf("random picture %d", round), r.cch, m, r.cch.Customize(w), w)
	}
}
