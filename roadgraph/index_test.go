package roadgraph

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/muster-evac/muster"
	"github.com/paulmach/orb"
)

// randomGraph is a messy network: jittered grid streets, long roads across
// the whole area, parallel two-way roads with one shape, self-loops,
// zero-length arcs and nodes on top of each other.
func randomGraph(t testing.TB, seed uint64, p Profile) *Graph {
	rng := rand.New(rand.NewPCG(seed, 99))
	const side = 12
	n := side*side + 10
	lat, lon := make([]int32, n), make([]int32, n)
	for u := 0; u < n; u++ {
		if u < side*side {
			lat[u] = int32(41_150_000_0 + (u/side)*12_000 + rng.IntN(6000))
			lon[u] = int32(-8_610_000_0 + (u%side)*16_000 + rng.IntN(6000))
		} else {
			// Extra nodes: some exactly on top of others.
			v := rng.IntN(side * side)
			lat[u], lon[u] = lat[v], lon[v]
			if rng.IntN(2) == 0 {
				lat[u] += int32(rng.IntN(50))
			}
		}
	}
	shape := func(u, v int, points int) [][2]int32 {
		var s [][2]int32
		for range points {
			f := rng.Float64()
			s = append(s, [2]int32{
				int32(float64(lat[u]) + f*float64(lat[v]-lat[u]) + float64(rng.IntN(8000)-4000)),
				int32(float64(lon[u]) + f*float64(lon[v]-lon[u]) + float64(rng.IntN(8000)-4000)),
			})
		}
		return s
	}
	var roads []testRoad
	for u := 0; u < side*side; u++ {
		for _, v := range []int{u + 1, u + side} {
			if v >= side*side || (v == u+1 && v%side == 0) || rng.IntN(5) == 0 {
				continue
			}
			r := testRoad{from: uint32(u), to: uint32(v), shape: shape(u, v, rng.IntN(4)), name: 1, oneWay: rng.IntN(3) == 0}
			roads = append(roads, r)
			if rng.IntN(15) == 0 {
				roads = append(roads, r) // a parallel road with the same shape
			}
		}
	}
	for range 15 {
		u, v := rng.IntN(n), rng.IntN(n)
		roads = append(roads, testRoad{from: uint32(u), to: uint32(v), shape: shape(u, v, rng.IntN(6)), oneWay: rng.IntN(2) == 0})
	}
	for range 4 {
		u := rng.IntN(n)
		roads = append(roads, testRoad{from: uint32(u), to: uint32(u), shape: shape(u, u, 2+rng.IntN(2))}) // a loop
		roads = append(roads, testRoad{from: uint32(u), to: uint32(u), oneWay: true})                      // zero length
	}
	return buildTestGraph(t, p, lat, lon, roads, []string{"", "Rua Direita"})
}

// leafItems lists what the arc tree holds: (arc, tail, reverse) per leaf.
func leafItems(ix *ArcIndex) (arcs, tails, reverses []uint32) {
	for pos := 0; pos < ix.arcs.numItems; pos++ {
		arcs = append(arcs, ix.arcs.index[pos])
	}
	return arcs, ix.leafTail, ix.leafReverse
}

func TestReverseArcPairing(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		g := randomGraph(t, seed, Car)
		ix := NewArcIndex(g)
		tails := g.Tails()
		arcs, leafTails, reverses := leafItems(ix)
		seen := make([]int, g.NumArcs())
		for i, a := range arcs {
			seen[a]++
			if leafTails[i] != tails[a] {
				t.Fatalf("leaf %d: arc %d has tail %d, index says %d", i, a, tails[a], leafTails[i])
			}
			r := reverses[i]
			if r == noReverse {
				continue
			}
			seen[r]++
			if tails[r] != g.Head[a] || g.Head[r] != tails[a] {
				t.Fatalf("arc %d (%d->%d) paired with %d (%d->%d)", a, tails[a], g.Head[a], r, tails[r], g.Head[r])
			}
			ga := g.ArcGeometry(nil, tails[a], a)
			gr := g.ArcGeometry(nil, tails[r], r)
			slices.Reverse(gr)
			if !slices.Equal(ga, gr) {
				t.Fatalf("arc %d paired with %d whose shape is not its reverse", a, r)
			}
		}
		for a, k := range seen {
			if k != 1 {
				t.Fatalf("arc %d appears %d times in the index", a, k)
			}
		}
		// Pairing is maximal: no two unpaired arcs are each other's reverse.
		unpaired := map[uint32]bool{}
		for i, a := range arcs {
			if reverses[i] == noReverse {
				unpaired[a] = true
			}
		}
		for a := range unpaired {
			for b := range unpaired {
				if a != b && tails[b] == g.Head[a] && g.Head[b] == tails[a] && sameShapeReversed(g, a, b) {
					t.Fatalf("arcs %d and %d are reverses but were not paired", a, b)
				}
			}
		}
	}
}

func TestReversePairingByHand(t *testing.T) {
	lat := []int32{41_150_000_0, 41_151_000_0, 41_152_000_0}
	lon := []int32{-8_610_000_0, -8_609_000_0, -8_610_000_0}
	bend := [][2]int32{{41_150_500_0, -8_609_000_0}}
	other := [][2]int32{{41_151_500_0, -8_611_000_0}}
	roads := []testRoad{
		{from: 0, to: 1, shape: bend},                // two-way: arcs paired
		{from: 1, to: 2, oneWay: true},               // one-way
		{from: 2, to: 1, shape: other, oneWay: true}, // opposite one-way with another shape: not a pair
	}
	g := buildTestGraph(t, Car, lat, lon, roads, []string{""})
	ix := NewArcIndex(g)
	if ix.arcs.numItems != 3 {
		t.Fatalf("index holds %d arcs, want 3 (one per road)", ix.arcs.numItems)
	}
	tails := g.Tails()
	// Snap at the bend of the two-way road.
	s, err := ix.Snap(orb.Point{-8.609, 41.1505}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if tails[s.Arc] != 0 || g.Head[s.Arc] != 1 || s.Reverse < 0 || tails[s.Reverse] != 1 || g.Head[s.Reverse] != 0 {
		t.Fatalf("snap to the two-way road: %+v", s)
	}
	if s.DistanceM != 0 || s.Point != (orb.Point{-8.609, 41.1505}) {
		t.Errorf("snap at the bend: %v at %v m, want the bend itself", s.Point, s.DistanceM)
	}
	checkSnapPoint(t, g, orb.Point{-8.609, 41.1505}, s)
	// Snap onto each one-way road.
	s, err = ix.Snap(orb.Point{-8.6095, 41.1515}, 200)
	if err != nil {
		t.Fatal(err)
	}
	if s.Reverse != -1 || tails[s.Arc] != 1 || g.Head[s.Arc] != 2 {
		t.Errorf("snap to the one-way road 1->2: %+v", s)
	}
	s, err = ix.Snap(orb.Point{-8.6109, 41.1515}, 200)
	if err != nil {
		t.Fatal(err)
	}
	if s.Reverse != -1 || tails[s.Arc] != 2 || g.Head[s.Arc] != 1 {
		t.Errorf("snap to the one-way road 2->1: %+v", s)
	}
}

// bruteSnap scans every indexed arc the way the index measures them.
func bruteSnap(ix *ArcIndex, p orb.Point) (arc uint32, dist float64) {
	pr := newProjection(p)
	dist = math.Inf(1)
	arcs, tails, _ := leafItems(ix)
	for i, a := range arcs {
		d2, _, _ := ix.arcDist2(&pr, a, tails[i])
		if d2 < dist || (d2 == dist && a < arc) {
			arc, dist = a, d2
		}
	}
	return arc, math.Sqrt(dist)
}

func randomQuery(rng *rand.Rand, g *Graph) orb.Point {
	switch rng.IntN(4) {
	case 0: // exactly on a node
		return g.NodePoint(uint32(rng.IntN(g.NumNodes())))
	case 1: // exactly on a shape point
		if len(g.GeomLat) > 0 {
			i := rng.IntN(len(g.GeomLat))
			return orb.Point{float64(g.GeomLon[i]) / CoordScale, float64(g.GeomLat[i]) / CoordScale}
		}
	case 2: // far outside
		return orb.Point{-8.61 + rng.Float64()*0.6 - 0.3, 41.15 + rng.Float64()*0.6 - 0.3}
	}
	return orb.Point{-8.612 + rng.Float64()*0.024, 41.148 + rng.Float64()*0.02}
}

func TestSnapMatchesBruteForce(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		g := randomGraph(t, seed, Profile(seed%2))
		ix := NewArcIndex(g)
		tails := g.Tails()
		rng := rand.New(rand.NewPCG(seed, 5))
		for range 1000 {
			p := randomQuery(rng, g)
			s, err := ix.Snap(p, math.Inf(1))
			if err != nil {
				t.Fatalf("snap %v: %v", p, err)
			}
			arc, dist := bruteSnap(ix, p)
			if s.Arc != arc || s.DistanceM != dist {
				t.Fatalf("seed %d, snap %v: index says arc %d at %v m, scan says arc %d at %v m", seed, p, s.Arc, s.DistanceM, arc, dist)
			}
			if s.Tail != tails[s.Arc] {
				t.Fatalf("snap %v: tail %d, arc %d leaves %d", p, s.Tail, s.Arc, tails[s.Arc])
			}
			// Across all arcs, reverses included, nothing is nearer.
			pr := newProjection(p)
			for a := 0; a < g.NumArcs(); a++ {
				if d2, _, _ := ix.arcDist2(&pr, uint32(a), tails[a]); math.Sqrt(d2) < dist-1e-6 {
					t.Fatalf("snap %v: arc %d at %v m is nearer than the snap's %v m", p, a, math.Sqrt(d2), dist)
				}
			}
			checkSnapPoint(t, g, p, s)
		}
	}
}

// checkSnapPoint checks the snap's point, distance and fraction against
// great-circle measures on the arc's geometry.
func checkSnapPoint(t *testing.T, g *Graph, p orb.Point, s Snap) {
	t.Helper()
	if hd := muster.DistanceM(p[0], p[1], s.Point[0], s.Point[1]); math.Abs(hd-s.DistanceM) > 0.01+s.DistanceM*1e-3 {
		t.Fatalf("snap %v: distance %v m, but the point %v is %v m away", p, s.DistanceM, s.Point, hd)
	}
	// The point may lie on several segments of a polyline that crosses
	// itself; the fraction must fit one of them.
	line := g.ArcGeometry(nil, s.Tail, s.Arc)
	var total float64
	var alongs []float64
	for i := 1; i < len(line); i++ {
		a, b := line[i-1], line[i]
		l := muster.DistanceM(a[0], a[1], b[0], b[1])
		da := muster.DistanceM(a[0], a[1], s.Point[0], s.Point[1])
		db := muster.DistanceM(s.Point[0], s.Point[1], b[0], b[1])
		if da+db-l < 0.01 { // on this segment, within a centimetre
			alongs = append(alongs, total+da)
		}
		total += l
	}
	if len(alongs) == 0 {
		t.Fatalf("snap %v: point %v is not on arc %d", p, s.Point, s.Arc)
	}
	if total > 1 && !slices.ContainsFunc(alongs, func(along float64) bool { return math.Abs(along/total-s.Fraction) < 1e-3 }) {
		t.Fatalf("snap %v: fraction %v, but the point is %v m along %v m", p, s.Fraction, alongs, total)
	}
	if s.Fraction < 0 || s.Fraction > 1 {
		t.Fatalf("fraction %v out of 0..1", s.Fraction)
	}
}

func TestNearestNodeMatchesBruteForce(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		g := randomGraph(t, seed, Foot)
		ix := NewArcIndex(g)
		rng := rand.New(rand.NewPCG(seed, 6))
		for range 1500 {
			p := randomQuery(rng, g)
			u, d, err := ix.NearestNode(p, math.Inf(1))
			if err != nil {
				t.Fatal(err)
			}
			pr := newProjection(p)
			bestU, bestD := uint32(0), math.Inf(1)
			for v := 0; v < g.NumNodes(); v++ {
				if dv := pr.nodeDist2(g, uint32(v)); dv < bestD {
					bestU, bestD = uint32(v), dv
				}
			}
			bestD = math.Sqrt(bestD)
			if u != bestU || d != bestD {
				t.Fatalf("nearest node to %v: index says %d at %v m, scan says %d at %v m", p, u, d, bestU, bestD)
			}
		}
	}
}

func TestArcsInBoundMatchesBruteForce(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		g := randomGraph(t, seed, Car)
		ix := NewArcIndex(g)
		tails := g.Tails()
		rng := rand.New(rand.NewPCG(seed, 7))
		boxOf := func(a int) orb.Bound {
			return g.ArcGeometry(nil, tails[a], uint32(a)).Bound()
		}
		for q := range 1000 {
			var b orb.Bound
			switch q % 4 {
			case 0: // exactly an arc's box: touching edges count
				b = boxOf(rng.IntN(g.NumArcs()))
			case 1: // a single node
				b = orb.Bound{Min: g.NodePoint(uint32(rng.IntN(g.NumNodes())))}
				b.Max = b.Min
			default:
				p1, p2 := randomQuery(rng, g), randomQuery(rng, g)
				if q%8 < 4 { // mostly small boxes
					p2 = orb.Point{p1[0] + rng.Float64()*0.003, p1[1] + rng.Float64()*0.003}
				}
				b = orb.Bound{Min: p1, Max: p1}.Extend(p2)
			}
			want := []uint32{}
			for a := 0; a < g.NumArcs(); a++ {
				if boxOf(a).Intersects(b) {
					want = append(want, uint32(a))
				}
			}
			got := []uint32{}
			ix.ArcsInBound(b, func(a uint32) bool { got = append(got, a); return true })
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("arcs in %v: index gives %d arcs, scan %d", b, len(got), len(want))
			}
		}
		// Stopping early stops.
		calls := 0
		ix.ArcsInBound(orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}, func(uint32) bool { calls++; return calls < 5 })
		if calls != 5 {
			t.Errorf("ArcsInBound went on after fn returned false: %d calls", calls)
		}
		// Nonsense bounds meet nothing.
		for _, b := range []orb.Bound{
			{Min: orb.Point{math.NaN(), 41}, Max: orb.Point{-8, 42}},
			{Min: orb.Point{-8, 42}, Max: orb.Point{-9, 41}},
		} {
			ix.ArcsInBound(b, func(uint32) bool { t.Fatalf("an arc in %v", b); return false })
		}
	}
}

func TestSnapErrors(t *testing.T) {
	g := gridGraph(t, Car, 4, 4, 3, false, 0)
	ix := NewArcIndex(g)
	// Porto's grid is at about 41.14N 8.63W; Lisbon is 275 km south.
	_, err := ix.Snap(orb.Point{-9.139, 38.722}, 500)
	if err == nil || muster.ErrorCode(err) != muster.EINVALID {
		t.Fatalf("snap from Lisbon: %v", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "no car road within 500 m of 38.722000,-9.139000 (the nearest is ") || !strings.HasSuffix(msg, " m away)") {
		t.Errorf("message %q", msg)
	}
	_, _, err = ix.NearestNode(orb.Point{-9.139, 38.722}, 500)
	if err == nil || muster.ErrorCode(err) != muster.EINVALID || !strings.Contains(err.Error(), "no car road node within 500 m") {
		t.Errorf("nearest node from Lisbon: %v", err)
	}
	// Just inside and just outside the distance to the nearest road.
	p := orb.Point{-8.6305, 41.1385}
	s, err := ix.Snap(p, math.Inf(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Snap(p, s.DistanceM); err != nil {
		t.Errorf("snap within exactly the nearest distance: %v", err)
	}
	if _, err := ix.Snap(p, s.DistanceM*0.999); err == nil {
		t.Error("snap with a limit just short of the nearest road succeeded")
	}

	for _, q := range []orb.Point{{math.NaN(), 41}, {-8.6, math.NaN()}, {-181, 41}, {-8.6, 91}, {math.Inf(1), 0}} {
		if _, err := ix.Snap(q, 100); muster.ErrorCode(err) != muster.EINVALID {
			t.Errorf("snap %v: %v", q, err)
		}
		if _, _, err := ix.NearestNode(q, 100); muster.ErrorCode(err) != muster.EINVALID {
			t.Errorf("nearest node %v: %v", q, err)
		}
	}
	for _, d := range []float64{math.NaN(), -1} {
		if _, err := ix.Snap(p, d); muster.ErrorCode(err) != muster.EINVALID {
			t.Errorf("snap with max distance %v: %v", d, err)
		}
	}

	empty := NewArcIndex(&Graph{Profile: Foot, FirstOut: []uint32{0}, GeomFirst: []uint32{0}, Names: []string{""}})
	var me *muster.Error
	if _, err := empty.Snap(p, 100); !errors.As(err, &me) || me.Code != muster.ENOTFOUND {
		t.Errorf("snap on an empty graph: %v", err)
	}
	if _, _, err := empty.NearestNode(p, 100); muster.ErrorCode(err) != muster.ENOTFOUND {
		t.Errorf("nearest node on an empty graph: %v", err)
	}
	empty.ArcsInBound(orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}, func(uint32) bool {
		t.Fatal("an arc in an empty graph")
		return false
	})
}

func TestSnapConcurrent(t *testing.T) {
	g := gridGraph(t, Foot, 30, 30, 4, false, 0.2)
	ix := NewArcIndex(g)
	rng := rand.New(rand.NewPCG(8, 8))
	queries := make([]orb.Point, 400)
	want := make([]Snap, len(queries))
	for i := range queries {
		queries[i] = randomQuery(rng, g)
		var err error
		if want[i], err = ix.Snap(queries[i], math.Inf(1)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for w := 0; w < 8; w++ {
		wg.Go(func() {
			for i := range queries {
				j := (i*7 + w*13) % len(queries)
				s, err := ix.Snap(queries[j], math.Inf(1))
				if err != nil || s != want[j] {
					errs <- "concurrent snap differs"
					return
				}
				n := 0
				ix.ArcsInBound(orb.Bound{Min: queries[j], Max: queries[j]}.Pad(0.001), func(uint32) bool { n++; return true })
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

func TestFixedBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for range 100000 {
		deg := (rng.Float64()*2 - 1) * 180
		if rng.IntN(3) == 0 {
			deg = float64(int32(deg*CoordScale)) / CoordScale // exactly representable in fixed point
		}
		lo, _ := fixedAtLeast(deg)
		if !(float64(lo)/CoordScale >= deg) || float64(lo-1)/CoordScale >= deg {
			t.Fatalf("fixedAtLeast(%v) = %d", deg, lo)
		}
		hi, _ := fixedAtMost(deg)
		if !(float64(hi)/CoordScale <= deg) || float64(hi+1)/CoordScale <= deg {
			t.Fatalf("fixedAtMost(%v) = %d", deg, hi)
		}
	}
}

// Porto's benchmarks are in package realdata, which may import the OSM
// importer.
func BenchmarkNewArcIndex(b *testing.B) {
	g := gridGraph(b, Car, 245, 245, 1, false, 0.3)
	b.Run("grid", func(b *testing.B) {
		var ix *ArcIndex
		for b.Loop() {
			ix = NewArcIndex(g)
		}
		b.ReportMetric(float64(ix.MemoryBytes()), "index-bytes")
		b.ReportMetric(float64(g.NumArcs()), "arcs")
	})
}

// benchQueries are points up to about 150 m from random nodes, like
// addresses near streets.
func benchQueries(g *Graph, n int) []orb.Point {
	rng := rand.New(rand.NewPCG(1, 1))
	q := make([]orb.Point, n)
	for i := range q {
		p := g.NodePoint(uint32(rng.IntN(g.NumNodes())))
		q[i] = orb.Point{p[0] + (rng.Float64()*2-1)*0.0018, p[1] + (rng.Float64()*2-1)*0.0013}
	}
	return q
}

func benchSnap(b *testing.B, g *Graph) {
	ix := NewArcIndex(g)
	q := benchQueries(g, 4096)
	b.Run("snap", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := ix.Snap(q[i%len(q)], 1000); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("nearest-node", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, _, err := ix.NearestNode(q[i%len(q)], 1000); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("arcs-in-500m-box", func(b *testing.B) {
		i, n := 0, 0
		for b.Loop() {
			p := q[i%len(q)]
			ix.ArcsInBound(orb.Bound{Min: p, Max: p}.Pad(0.003), func(uint32) bool { n++; return true })
			i++
		}
		b.ReportMetric(float64(n)/float64(i), "arcs/op")
	})
}

func BenchmarkSnap(b *testing.B) {
	b.Run("grid", func(b *testing.B) { benchSnap(b, gridGraph(b, Car, 245, 245, 1, false, 0.3)) })
}

// FuzzSnap feeds any coordinates, box and distance to the index: it must
// answer or refuse with EINVALID, never panic, and never return a point
// farther than the limit.
func FuzzSnap(f *testing.F) {
	g := randomGraph(f, 1, Car)
	ix := NewArcIndex(g)
	f.Add(-8.6, 41.15, 100.0, 0.01)
	f.Add(math.NaN(), 41.15, 100.0, 0.0)
	f.Add(-8.6, math.Inf(-1), math.Inf(1), -1.0)
	f.Add(180.0, 90.0, 0.0, 1e300)
	f.Add(-180.0, -90.0, math.Copysign(0, -1), math.NaN())
	f.Fuzz(func(t *testing.T, lon, lat, maxDist, pad float64) {
		p := orb.Point{lon, lat}
		s, err := ix.Snap(p, maxDist)
		if err != nil {
			if muster.ErrorCode(err) != muster.EINVALID {
				t.Fatalf("snap %v within %v: %v", p, maxDist, err)
			}
		} else if !(s.DistanceM <= maxDist) || s.Fraction < 0 || s.Fraction > 1 {
			t.Fatalf("snap %v within %v: %+v", p, maxDist, s)
		}
		if _, d, err := ix.NearestNode(p, maxDist); err == nil && !(d <= maxDist) {
			t.Fatalf("nearest node to %v within %v: %v m", p, maxDist, d)
		} else if err != nil && muster.ErrorCode(err) != muster.EINVALID {
			t.Fatalf("nearest node to %v: %v", p, err)
		}
		ix.ArcsInBound(orb.Bound{Min: p, Max: p}.Pad(pad), func(a uint32) bool {
			if int(a) >= g.NumArcs() {
				t.Fatalf("arc %d of %d", a, g.NumArcs())
			}
			return true
		})
	})
}
