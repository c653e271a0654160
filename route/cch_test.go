package route

import (
	"context"
	"math/rand/v2"
	"testing"
)

// checkPath verifies that arcs form a path from `from` to `to` in g whose
// weights add up to cost.
func checkPath(t *testing.T, tails, head, w []uint32, arcs []uint32, from, to, cost uint32) {
	t.Helper()
	at := from
	var sum uint32
	for _, a := range arcs {
		if tails[a] != at {
			t.Fatalf("path breaks at arc %d: it leaves %d, the path is at %d", a, tails[a], at)
		}
		sum = addCost(sum, w[a])
		at = head[a]
	}
	if at != to {
		t.Fatalf("path ends at %d, want %d", at, to)
	}
	if sum != cost {
		t.Fatalf("path weighs %d, the query said %d", sum, cost)
	}
}

func TestCCHMatchesDijkstra(t *testing.T) {
	for _, size := range [][2]int{{3, 3}, {10, 7}, {40, 30}} {
		g := gridGraph(uint64(size[0]), size[0], size[1])
		order, err := NestedDissectionOrder(context.Background(), g)
		if err != nil {
			t.Fatal(err)
		}
		c, err := NewCCH(g, order)
		if err != nil {
			t.Fatal(err)
		}
		tails := g.Tails()
		dij := NewDijkstra(g.FirstOut, g.Head)
		q := NewQuery(c)
		rng := rand.New(rand.NewPCG(1, 2))
		for round := 0; round < 6; round++ {
			// Successive metrics: the base one, then ever different
			// forbidden and penalised arcs, as threat pictures change.
			w := append([]uint32(nil), g.TimeMS...)
			if round > 0 {
				for a := range w {
					switch rng.IntN(20) {
					case 0:
						w[a] = Inf
					case 1:
						w[a] *= 3
					}
				}
			}
			m := c.Customize(w)
			for i := 0; i < 300; i++ {
				s, tt := uint32(rng.IntN(g.NumNodes())), uint32(rng.IntN(g.NumNodes()))
				dij.Run(w, []Source{{s, 0}}, nil)
				want := dij.Dist[tt]
				got := q.Run(m, []Source{{s, 0}}, []Source{{tt, 0}})
				if got != want {
					t.Fatalf("%v round %d: %d->%d: hierarchy says %d, Dijkstra %d", size, round, s, tt, got, want)
				}
				if got == Inf {
					continue
				}
				arcs, from, to := q.Path(m)
				if from != s || to != tt {
					t.Fatalf("path runs %d->%d, want %d->%d", from, to, s, tt)
				}
				checkPath(t, tails, g.Head, w, arcs, s, tt, got)
			}
		}
	}
}

func TestNestedDissectionIsPermutation(t *testing.T) {
	g := gridGraph(5, 60, 50)
	order, err := NestedDissectionOrder(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]bool, g.NumNodes())
	for _, u := range order {
		if seen[u] {
			t.Fatalf("node %d ranked twice", u)
		}
		seen[u] = true
	}
	c, err := NewCCH(g, order)
	if err != nil {
		t.Fatal(err)
	}
	// A grid of 3,000 nodes has separators of about 50: a good order keeps
	// the elimination tree shallow and the shortcuts few. A bad one (say,
	// row by row) gives a tree thousands deep.
	if h := c.TreeHeight(); h > 400 {
		t.Errorf("elimination tree is %d high: the order is poor", h)
	}
	t.Logf("%d nodes, %d arcs, hierarchy %d arcs, tree height %d", g.NumNodes(), g.NumArcs(), c.NumArcs(), c.TreeHeight())
}

func TestRecustomizeEqualsCustomize(t *testing.T) {
	g := gridGraph(21, 50, 40)
	order, err := NestedDissectionOrder(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCCH(g, order)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(8, 9))
	w := append([]uint32(nil), g.TimeMS...)
	m := c.Customize(w)
	q := NewQuery(c)
	tails := g.Tails()
	for round := 0; round < 30; round++ {
		// Change a random cluster of arcs: raise, forbid, or restore.
		var changed []uint32
		start := rng.IntN(g.NumArcs())
		for i := 0; i < 1+rng.IntN(80); i++ {
			a := uint32((start + rng.IntN(200)) % g.NumArcs())
			switch rng.IntN(3) {
			case 0:
				w[a] = Inf
			case 1:
				w[a] = g.TimeMS[a] * uint32(2+rng.IntN(5))
			default:
				w[a] = g.TimeMS[a]
			}
			changed = append(changed, a)
		}
		m = c.Recustomize(m, w, changed)
		full := c.Customize(w)
		for e := range full.up {
			if m.up[e] != full.up[e] || m.down[e] != full.down[e] {
				t.Fatalf("round %d: arc %d: partial customization gives %d/%d, full %d/%d", round, e, m.up[e], m.down[e], full.up[e], full.down[e])
			}
		}
		for i := 0; i < 50; i++ {
			s, tt := uint32(rng.IntN(g.NumNodes())), uint32(rng.IntN(g.NumNodes()))
			if cost := q.Run(m, []Source{{s, 0}}, []Source{{tt, 0}}); cost != Inf {
				arcs, _, _ := q.Path(m)
				checkPath(t, tails, g.Head, w, arcs, s, tt, cost)
			}
		}
	}
}
