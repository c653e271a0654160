package route

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/muster-evac/muster/roadgraph"
)

// randomGraph builds a valid graph of n nodes joined by about m random
// arcs (any two nodes, one-way or both ways, now and then parallel), with
// travel times drawn from 1..maxTime ms: with a small maxTime most
// shortest paths tie.
func randomGraph(seed uint64, n, m int, maxTime uint32) *roadgraph.Graph {
	rng := rand.New(rand.NewPCG(seed, 11))
	var arcs []testArc
	for len(arcs) < m {
		u, v := uint32(rng.IntN(n)), uint32(rng.IntN(n))
		t := 1 + uint32(rng.IntN(int(maxTime)))
		arcs = append(arcs, testArc{u, v, t})
		if rng.IntN(3) != 0 {
			arcs = append(arcs, testArc{v, u, 1 + uint32(rng.IntN(int(maxTime)))})
		}
	}
	sort.SliceStable(arcs, func(i, j int) bool { return arcs[i].u < arcs[j].u })
	return csrGraph(n, arcs, func(t uint32) float32 { return float32(t) }, func(int) (lat, lon float64) {
		return 34.5 + 0.01*rng.Float64(), 69.1 + 0.01*rng.Float64()
	})
}

// hierarchies are the test cases of partial customization's structure: road
// like grids in nested-dissection order, and random graphs in random order,
// whose hierarchies are dense (up to 153 upward neighbours a node).
func hierarchies(t *testing.T) map[string]*CCH {
	t.Helper()
	out := map[string]*CCH{}
	add := func(name string, g *roadgraph.Graph, order []uint32) {
		c, err := NewCCH(g, order)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = c
	}
	for _, size := range [][2]int{{12, 9}, {40, 30}} {
		g := withParallelArcs(gridGraph(uint64(size[0]), size[0], size[1]), 2)
		order, err := NestedDissectionOrder(context.Background(), g)
		if err != nil {
			t.Fatal(err)
		}
		add(fmt.Sprintf("grid %dx%d", size[0], size[1]), g, order)
	}
	for i, size := range [][2]int{{60, 150}, {300, 1200}} {
		g := randomGraph(uint64(i), size[0], size[1], 4)
		rng := rand.New(rand.NewPCG(uint64(i), 5))
		order := make([]uint32, g.NumNodes())
		for j, v := range rng.Perm(g.NumNodes()) {
			order[j] = uint32(v)
		}
		add(fmt.Sprintf("random %d nodes, random order", size[0]), g, order)
	}
	return out
}

// TestTriangleTable checks the table partial customization finds a
// triangle's top arc in, entry by entry, against a search of the arc lists:
// for every node x and every two upward neighbours z_i < z_k of x, the
// position it gives is that of the arc z_i-z_k.
func TestTriangleTable(t *testing.T) {
	for name, c := range hierarchies(t) {
		t.Run(name, func(t *testing.T) {
			d := c.down()
			maxUp := 0
			for x := 0; x+1 < len(c.upFirst); x++ {
				hx := c.upHead[c.upFirst[x]:c.upFirst[x+1]]
				n := len(hx)
				maxUp = max(maxUp, n)
				if got, want := d.triFirst[x+1]-d.triFirst[x], uint32(n*(n-1)/2); got != want {
					t.Fatalf("node %d: %d table entries for %d upward neighbours, want %d", x, got, n, want)
				}
				tri := d.tri[d.triFirst[x]:d.triFirst[x+1]]
				for i := 0; i < n; i++ {
					for k := i + 1; k < n; k++ {
						got := c.upFirst[hx[i]] + uint32(tri[triRow(i, n)+k-i-1])
						if want := c.arc(hx[i], hx[k]); got != want {
							t.Fatalf("node %d, neighbours %d and %d: table gives arc %d, the top is arc %d", x, hx[i], hx[k], got, want)
						}
					}
				}
			}
			t.Logf("%d arcs, up to %d upward neighbours", c.NumArcs(), maxUp)
		})
	}
}

// TestUpdateEqualsCustomizeWithTies is partial customization against full
// customization where ties are the rule: travel times of 1-4 ms on dense
// random hierarchies and grids, changed picture after picture (single arcs
// and clusters raised, lowered, forbidden, redrawn from 1-4 ms,
// restored). After every picture the metric updated in place (as a
// router does), the one Recustomize derives and the one a MetricPair
// gives a router still reading its spare have exactly the weights of a full
// customization, and every weight is what its recorded derivation gives.
func TestUpdateEqualsCustomizeWithTies(t *testing.T) {
	for name, c := range hierarchies(t) {
		t.Run(name, func(t *testing.T) {
			numArcs := len(c.inputArc)
			base := make([]uint32, numArcs)
			rng := rand.New(rand.NewPCG(3, uint64(numArcs)))
			for a := range base {
				base[a] = 1 + uint32(rng.IntN(4))
			}
			w := slices.Clone(base)
			pair := NewMetricPair(c, w)
			pure := c.Customize(w)
			rises, falls := 0, 0
			for round := 0; round < 80; round++ {
				var changed []uint32
				k := 1 + rng.IntN(max(1, numArcs/(4+rng.IntN(60))))
				if round%10 == 9 {
					k = numArcs / 4 // beyond 1/8: full customization
				}
				start := rng.IntN(numArcs)
				for range k {
					a := uint32((start + rng.IntN(1+numArcs/8)) % numArcs)
					old := w[a]
					switch rng.IntN(6) {
					case 0:
						w[a] = Inf
					case 1:
						w[a] = addCost(w[a], 1+uint32(rng.IntN(3)))
					case 2:
						w[a] = max(1, w[a]-min(w[a], 1+uint32(rng.IntN(2))))
					case 3:
						w[a] = 1 + uint32(rng.IntN(4))
					default:
						w[a] = base[a]
					}
					switch {
					case w[a] > old:
						rises++
					case w[a] < old:
						falls++
					}
					changed = append(changed, a)
				}
				// Listed arcs that did not change, listed twice, too.
				changed = append(changed, uint32(rng.IntN(numArcs)))
				changed = append(changed, changed[0])
				full := c.Customize(w)
				cur := pair.Next(w, changed, round%5 == 2)
				checkMetric(t, fmt.Sprintf("round %d, MetricPair", round), c, cur, full, w)
				pure = c.Recustomize(pure, w, changed)
				checkMetric(t, fmt.Sprintf("round %d, Recustomize", round), c, pure, full, w)
			}
			if rises == 0 || falls == 0 {
				t.Fatalf("%d rises and %d falls: the test changed too little", rises, falls)
			}
		})
	}
}
