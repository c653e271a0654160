package route

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/muster-evac/muster/roadgraph"
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

// checkMetric fails unless mt has exactly want's weights on every
// hierarchy arc, and every weight of mt is what its via entry derives: the
// input arc it names (which the hierarchy arc carries, in that direction)
// or the triangle through the middle node it names.
func checkMetric(t *testing.T, what string, c *CCH, mt, want *Metric, weights []uint32) {
	t.Helper()
	for e := range want.a {
		if mt.upward[e] != mt.a[e].w[up] || mt.downward[e] != mt.a[e].w[down] {
			t.Fatalf("%s: arc %d: queries read %d/%d, customization left %d/%d", what, e, mt.upward[e], mt.downward[e], mt.a[e].w[up], mt.a[e].w[down])
		}
		if mt.a[e].w != want.a[e].w {
			t.Fatalf("%s: arc %d: partial customization gives %d/%d, full %d/%d", what, e, mt.a[e].w[up], mt.a[e].w[down], want.a[e].w[up], want.a[e].w[down])
		}
	}
	derive := func(e, dir uint32) uint32 {
		via := mt.a[e].via[dir]
		x, y := c.upTail[e], c.upHead[e]
		switch {
		case via == Inf:
			return Inf
		case via&viaInput != 0:
			a := via &^ viaInput
			if c.inputArc[a] != e<<1|dir {
				t.Fatalf("%s: arc %d (direction %d) says it is input arc %d, which is hierarchy arc %d/%d", what, e, dir, a, c.inputArc[a]>>1, c.inputArc[a]&1)
			}
			return weights[a]
		case via >= x:
			t.Fatalf("%s: arc %d-%d says it goes through %d, not below it", what, x, y, via)
		}
		zx, zy := mt.a[c.arc(via, x)].w, mt.a[c.arc(via, y)].w
		if dir == down {
			return addCost(zy[down], zx[up]) // y->z->x
		}
		return addCost(zx[down], zy[up]) // x->z->y
	}
	for e := range mt.a {
		for dir := uint32(up); dir <= down; dir++ {
			if got := derive(uint32(e), dir); got != mt.a[e].w[dir] {
				t.Fatalf("%s: arc %d (direction %d) weighs %d, its derivation %d", what, e, dir, mt.a[e].w[dir], got)
			}
		}
	}
}

// withParallelArcs returns g with a second arc, of another travel time,
// beside one in ten of its arcs, and a few self-loops: several input arcs
// on one hierarchy arc, and input arcs on none.
func withParallelArcs(g *roadgraph.Graph, seed uint64) *roadgraph.Graph {
	rng := rand.New(rand.NewPCG(seed, 3))
	out := *g
	out.FirstOut = make([]uint32, len(g.FirstOut))
	out.Head, out.TimeMS, out.LengthM, out.NameID = nil, nil, nil, nil
	add := func(v, t uint32) {
		out.Head = append(out.Head, v)
		out.TimeMS = append(out.TimeMS, t)
		out.LengthM = append(out.LengthM, float32(t)/100)
		out.NameID = append(out.NameID, 0)
	}
	for u := 0; u < g.NumNodes(); u++ {
		for a := g.FirstOut[u]; a < g.FirstOut[u+1]; a++ {
			add(g.Head[a], g.TimeMS[a])
			if rng.IntN(10) == 0 {
				add(g.Head[a], g.TimeMS[a]+uint32(rng.IntN(3000))-1000)
			}
		}
		if rng.IntN(50) == 0 {
			add(uint32(u), 500)
		}
		out.FirstOut[u+1] = uint32(len(out.Head))
	}
	out.GeomFirst = make([]uint32, len(out.Head)+1)
	if err := out.Validate(); err != nil {
		panic(err)
	}
	return &out
}

// randomPicture changes w for a new threat picture: a cluster of arcs is
// forbidden, raised, lowered below its free-flow time or restored, and now
// and then the whole graph is restored (the threat is over). It returns
// the arcs it changed.
func randomPicture(rng *rand.Rand, g *roadgraph.Graph, w []uint32) []uint32 {
	var changed []uint32
	if rng.IntN(8) == 0 {
		for a := range w {
			if w[a] != g.TimeMS[a] {
				w[a] = g.TimeMS[a]
				changed = append(changed, uint32(a))
			}
		}
		return changed
	}
	start := rng.IntN(g.NumArcs())
	span := 20 + rng.IntN(g.NumArcs()/10)
	for i := 0; i < 1+rng.IntN(120); i++ {
		a := uint32((start + rng.IntN(span)) % g.NumArcs())
		switch rng.IntN(4) {
		case 0:
			w[a] = Inf
		case 1:
			w[a] = g.TimeMS[a] * uint32(2+rng.IntN(5))
		case 2:
			w[a] = g.TimeMS[a]/2 + uint32(rng.IntN(int(g.TimeMS[a])+1))
		default:
			w[a] = g.TimeMS[a]
		}
		changed = append(changed, a)
	}
	return changed
}

// TestRecustomizeEqualsCustomize is partial customization's proof: over
// random successions of pictures (weights raised, lowered, forbidden,
// restored), on graphs with parallel arcs and loops, the metric updated in
// place (as a router does, alternating between two and copying back only
// the arcs an update touched) and the one Recustomize derives both have
// exactly the weights of a full customization from scratch, and every
// weight is what its recorded derivation gives.
func TestRecustomizeEqualsCustomize(t *testing.T) {
	graphs := map[string]*roadgraph.Graph{
		"grid 50x40":         gridGraph(21, 50, 40),
		"grid 12x9":          gridGraph(4, 12, 9),
		"grid 30x30 doubled": withParallelArcs(gridGraph(5, 30, 30), 1),
	}
	for name, g := range graphs {
		t.Run(name, func(t *testing.T) {
			order, err := NestedDissectionOrder(context.Background(), g)
			if err != nil {
				t.Fatal(err)
			}
			c, err := NewCCH(g, order)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(8, uint64(g.NumArcs())))
			w := append([]uint32(nil), g.TimeMS...)
			pure := c.Customize(w)
			pair := NewMetricPair(c, w)
			q := NewQuery(c)
			tails := g.Tails()
			for round := 0; round < 60; round++ {
				changed := randomPicture(rng, g, w)
				pure = c.Recustomize(pure, w, changed)
				cur := pair.Next(w, changed, round%7 == 3)
				full := c.Customize(w)
				checkMetric(t, fmt.Sprintf("round %d, Recustomize", round), c, pure, full, w)
				checkMetric(t, fmt.Sprintf("round %d, Update", round), c, cur, full, w)
				for i := 0; i < 30; i++ {
					s, tt := uint32(rng.IntN(g.NumNodes())), uint32(rng.IntN(g.NumNodes()))
					if cost := q.Run(cur, []Source{{s, 0}}, []Source{{tt, 0}}); cost != Inf {
						arcs, _, _ := q.Path(cur)
						checkPath(t, tails, g.Head, w, arcs, s, tt, cost)
					}
				}
			}
		})
	}
}

// TestApplyingPicturesAllocatesNothing: once warmed up, a MetricPair
// applies pictures (partial customization, and full customization of a
// picture that changes most arcs) without allocating, so the collector has
// nothing to do per picture whatever the graph's size.
func TestApplyingPicturesAllocatesNothing(t *testing.T) {
	g := gridGraph(9, 30, 30)
	order, err := NestedDissectionOrder(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCCH(g, order)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	pictures := make([][]uint32, 4)
	changes := make([][]uint32, 4)
	w := slices.Clone(g.TimeMS)
	for i := range pictures {
		if i == 3 {
			for a := range w {
				w[a] = g.TimeMS[a] * 2
			}
		} else {
			randomPicture(rng, g, w)
		}
		pictures[i] = slices.Clone(w)
	}
	// Each picture's changes from the one before, the last leading back.
	for i, p := range pictures {
		prev := pictures[(i+3)%4]
		for a := range p {
			if p[a] != prev[a] {
				changes[i] = append(changes[i], uint32(a))
			}
		}
	}
	pair := NewMetricPair(c, pictures[3])
	k := 0
	next := func() {
		pair.Next(pictures[k%4], changes[k%4], false)
		k++
	}
	for range 8 {
		next()
	}
	if n := testing.AllocsPerRun(20, next); n != 0 {
		t.Errorf("applying a picture allocates %v times", n)
	}
	checkMetric(t, "after the pictures", c, pair.Current(), c.Customize(pictures[(k-1)%4]), pictures[(k-1)%4])
}
