package instruct

import (
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
)

// edge is a two-way road of a hand-built graph, with shape points between
// its ends (lon, lat offsets from the origin, in degrees).
type edge struct {
	u, v  int
	name  uint32
	shape [][2]float64
}

const lon0, lat0 = 69.2, 34.5

// handGraph builds a foot graph from nodes (offsets from lon0, lat0 in
// degrees) and two-way edges.
func handGraph(t *testing.T, nodes [][2]float64, edges []edge, names []string) *roadgraph.Graph {
	t.Helper()
	fix := func(d float64) int32 { return int32(d * roadgraph.CoordScale) }
	g := &roadgraph.Graph{Profile: roadgraph.Foot, Names: names}
	for _, n := range nodes {
		g.Lon = append(g.Lon, fix(lon0+n[0]))
		g.Lat = append(g.Lat, fix(lat0+n[1]))
		g.OSMNodeID = append(g.OSMNodeID, 0)
	}
	type arc struct {
		tail, head int
		name       uint32
		shape      [][2]float64
	}
	var arcs []arc
	for _, e := range edges {
		arcs = append(arcs, arc{e.u, e.v, e.name, e.shape})
		rev := slices.Clone(e.shape)
		slices.Reverse(rev)
		arcs = append(arcs, arc{e.v, e.u, e.name, rev})
	}
	sort.SliceStable(arcs, func(i, j int) bool { return arcs[i].tail < arcs[j].tail })
	g.FirstOut = make([]uint32, len(nodes)+1)
	g.GeomFirst = []uint32{0}
	for _, a := range arcs {
		g.FirstOut[a.tail+1]++
		g.Head = append(g.Head, uint32(a.head))
		p, q := g.NodePoint(uint32(a.tail)), g.NodePoint(uint32(a.head))
		g.LengthM = append(g.LengthM, float32(muster.DistanceM(p[0], p[1], q[0], q[1])))
		g.TimeMS = append(g.TimeMS, uint32(1+muster.DistanceM(p[0], p[1], q[0], q[1])/1.3*1000))
		g.NameID = append(g.NameID, a.name)
		for _, s := range a.shape {
			g.GeomLon = append(g.GeomLon, fix(lon0+s[0]))
			g.GeomLat = append(g.GeomLat, fix(lat0+s[1]))
		}
		g.GeomFirst = append(g.GeomFirst, uint32(len(g.GeomLat)))
	}
	for u := 0; u < len(nodes); u++ {
		g.FirstOut[u+1] += g.FirstOut[u]
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestDirectionsOnHandBuiltStreets(t *testing.T) {
	names := []string{"", "Kocha-e Gul", "Jada-e Maiwand", "Sarak-e Logar", "Kocha-e Bagh"}
	nodes := [][2]float64{
		{0, 0}, {0, 0.002}, {0, 0.004}, // 0-1-2: Kocha-e Gul, north
		{0.003, 0.004}, {0.003, 0.0042}, {0.006, 0.0042}, // 2-3 Jada-e Maiwand east, 3-4 a 22 m unnamed step, 4-5 Jada-e Maiwand
		{0.006, 0.0062},                   // 5-6 Sarak-e Logar, north
		{0.0061, 0.0042}, {0.009, 0.0042}, // 5-7: 9 m of Kocha-e Bagh, 7-8: Sarak-e Logar again, east
	}
	edges := []edge{
		{u: 0, v: 1, name: 1}, {u: 1, v: 2, name: 1},
		{u: 2, v: 3, name: 2, shape: [][2]float64{{0.0015, 0.0041}}},
		{u: 3, v: 4, name: 0}, {u: 4, v: 5, name: 2},
		{u: 5, v: 6, name: 3}, {u: 5, v: 7, name: 4}, {u: 7, v: 8, name: 3},
	}
	g := handGraph(t, nodes, edges, names)
	s, err := NewStreets(g)
	if err != nil {
		t.Fatal(err)
	}
	at := func(p [2]float64) orb.Point {
		return orb.Point{float64(int32((lon0+p[0])*roadgraph.CoordScale)) / roadgraph.CoordScale, float64(int32((lat0+p[1])*roadgraph.CoordScale)) / roadgraph.CoordScale}
	}
	node := func(u int) orb.Point { return g.NodePoint(uint32(u)) }

	// From the middle of 0-1 (a cut arc, named by snapping) north, right
	// onto Jada-e Maiwand across the unnamed step, left onto Sarak-e Logar,
	// stopping halfway along it.
	line := orb.LineString{at([2]float64{0, 0.001}), node(1), node(2), at([2]float64{0.0015, 0.0041}), node(3), node(4), node(5), at([2]float64{0.006, 0.0052})}
	steps := s.Directions(line)
	want := []muster.WalkStep{
		{Maneuver: muster.ManeuverDepart, Street: "Kocha-e Gul", DistanceM: 333, Bearing: 0},
		{Maneuver: muster.ManeuverRight, Street: "Jada-e Maiwand", DistanceM: 0, Bearing: 85},
		{Maneuver: muster.ManeuverLeft, Street: "Sarak-e Logar", DistanceM: 111, Bearing: 0},
		{Maneuver: muster.ManeuverArrive},
	}
	checkSteps(t, steps, want, map[int][2]int{1: {560, 580}})

	// Across 9 m of Kocha-e Bagh between two stretches of Sarak-e Logar:
	// one step, not three.
	line = orb.LineString{node(6), node(5), node(7), node(8)}
	steps = s.Directions(line)
	if len(steps) != 3 || steps[0].Street != "Sarak-e Logar" || steps[1].Maneuver != muster.ManeuverLeft || steps[1].Street != "Sarak-e Logar" {
		t.Errorf("a cross street of a few metres: %+v", steps)
	}
	// South on Kocha-e Gul to its end, then back north: a U-turn.
	line = orb.LineString{node(2), node(1), node(0), node(1)}
	steps = s.Directions(line)
	if len(steps) != 3 || steps[1].Maneuver != muster.ManeuverUTurn || steps[0].Bearing != 180 {
		t.Errorf("back and forth: %+v", steps)
	}
	// Too short to walk, or off the streets: no steps, no panic; a line
	// off the network has no street names.
	if steps := s.Directions(orb.LineString{node(0), node(0)}); steps != nil {
		t.Errorf("a walk of no length: %+v", steps)
	}
	far := orb.LineString{{lon0 + 1, lat0 + 1}, {lon0 + 1.01, lat0 + 1}}
	if steps := s.Directions(far); len(steps) != 2 || steps[0].Street != "" {
		t.Errorf("a walk off the streets: %+v", steps)
	}

	// Directions works in buffers it keeps for the next call (scratch):
	// long and short walks, one after another and on many goroutines at
	// once, each get the directions they got first, and what a call
	// returned is not changed by the calls after it.
	walks := []orb.LineString{
		{at([2]float64{0, 0.001}), node(1), node(2), at([2]float64{0.0015, 0.0041}), node(3), node(4), node(5), at([2]float64{0.006, 0.0052})},
		{node(6), node(5), node(7), node(8)},
		{node(2), node(1), node(0), node(1)},
		{node(0), node(0)},
		far,
		{node(0), node(1), node(2), node(3), node(4), node(5), node(7), node(8)},
		{node(8), node(7), node(5), node(6)},
	}
	for _, w := range walks[:3] {
		back := slices.Clone(w)
		slices.Reverse(back)
		walks = append(walks, back)
	}
	first := make([][]muster.WalkStep, len(walks))
	kept := make([][]muster.WalkStep, len(walks))
	for i, w := range walks {
		first[i] = s.Directions(w)
		kept[i] = slices.Clone(first[i])
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for k := range 200 {
				i := (g*7 + k*3) % len(walks)
				if got := s.Directions(walks[i]); !slices.Equal(got, kept[i]) {
					t.Errorf("walk %d again: %+v, first %+v", i, got, kept[i])
					return
				}
			}
		})
	}
	wg.Wait()
	for i := range walks {
		if !slices.Equal(first[i], kept[i]) {
			t.Errorf("walk %d's directions changed after other calls: %+v, were %+v", i, first[i], kept[i])
		}
	}
}

// checkSteps compares steps, distances within 2 m unless a range is given.
func checkSteps(t *testing.T, got, want []muster.WalkStep, distRange map[int][2]int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d steps, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		lo, hi := w.DistanceM-2, w.DistanceM+2
		if r, ok := distRange[i]; ok {
			lo, hi = r[0], r[1]
		}
		if g.Maneuver != w.Maneuver || g.Street != w.Street || g.DistanceM < lo || g.DistanceM > hi || abs(turnAngle(g.Bearing, w.Bearing)) > 3 {
			t.Errorf("step %d: %+v, want %+v (distance %d-%d)", i+1, g, w, lo, hi)
		}
	}
}

func TestManeuvers(t *testing.T) {
	for angle, want := range map[int]string{
		0: muster.ManeuverContinue, 19: muster.ManeuverContinue, -19: muster.ManeuverContinue,
		30: muster.ManeuverSlightRight, -30: muster.ManeuverSlightLeft,
		90: muster.ManeuverRight, -90: muster.ManeuverLeft,
		140: muster.ManeuverSharpRight, -140: muster.ManeuverSharpLeft,
		175: muster.ManeuverUTurn, -180: muster.ManeuverUTurn,
	} {
		if got := maneuver(angle); got != want {
			t.Errorf("maneuver(%d) = %s, want %s", angle, got, want)
		}
	}
	for _, tc := range []struct{ out, in, want int }{{350, 10, 20}, {10, 350, -20}, {90, 0, -90}, {0, 180, 180}, {270, 90, 180}} {
		if got := turnAngle(tc.out, tc.in); got != tc.want {
			t.Errorf("turnAngle(%d, %d) = %d, want %d", tc.out, tc.in, got, tc.want)
		}
	}
	for b, want := range map[int]string{0: "n", 22: "n", 23: "ne", 90: "e", 180: "s", 225: "sw", 337: "nw", 338: "n", 359: "n"} {
		if got := keyDefs[compassKey(b)].name; got != "compass."+want {
			t.Errorf("compass of %d°: %s, want %s", b, got, want)
		}
	}
}
