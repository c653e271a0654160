package osmimport

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
)

func importFixture(t *testing.T, name string) (*roadgraph.City, *Stats) {
	t.Helper()
	return importFixtureWith(t, name, Options{})
}

func importFixtureWith(t *testing.T, name string, o Options) (*roadgraph.City, *Stats) {
	t.Helper()
	city, st, err := ImportFile(context.Background(), filepath.Join("testdata", name), o)
	if err != nil {
		t.Fatalf("import %s: %v", name, err)
	}
	for p, g := range city.Graphs {
		if err := g.Validate(); err != nil {
			t.Fatalf("%s %s graph: %v", name, p, err)
		}
	}
	return city, st
}

// arcView is one arc with its ends as OSM node ids.
type arcView struct {
	from, to int64
	shape    [][2]int32 // lat, lon
	timeMS   uint32
	lengthM  float32
}

// arcsNamed returns the arcs of g whose street name is name.
func arcsNamed(g *roadgraph.Graph, name string) []arcView {
	var out []arcView
	tails := g.Tails()
	for a := range g.Head {
		if g.Names[g.NameID[a]] != name {
			continue
		}
		v := arcView{from: g.OSMNodeID[tails[a]], to: g.OSMNodeID[g.Head[a]], timeMS: g.TimeMS[a], lengthM: g.LengthM[a]}
		for i := g.GeomFirst[a]; i < g.GeomFirst[a+1]; i++ {
			v.shape = append(v.shape, [2]int32{g.GeomLat[i], g.GeomLon[i]})
		}
		out = append(out, v)
	}
	return out
}

func hasArc(arcs []arcView, from, to int64) bool {
	for _, a := range arcs {
		if a.from == from && a.to == to {
			return true
		}
	}
	return false
}

func TestDirectionsAndAccess(t *testing.T) {
	city, _ := importFixture(t, "rules.osm")
	car, foot := city.Graphs[roadgraph.Car], city.Graphs[roadgraph.Foot]
	// The chord in column i runs from ring node 1+i (south) to 101+i (north).
	tests := []struct {
		name                string
		carArcs, footArcs   int
		carForward, carBack bool // south->north, north->south
	}{
		{"One Way Street", 1, 2, true, false},
		{"Reverse Street", 1, 2, false, true},
		{"Two Way Street", 2, 2, true, true},
		{"Footway", 0, 2, false, false},
		{"No Access Street", 0, 0, false, false},
		{"Private Street", 2, 2, true, true},
		{"Plaza", 0, 0, false, false},
		{"A1", 1, 0, true, false}, // motorway: implied one-way, no pedestrians
		{"One Way Footpath", 0, 1, false, false},
		{"Foot Forbidden Street", 2, 0, true, true},
		{"Bollard Street", 0, 2, false, false},    // a bollard in the middle stops cars
		{"Gate Street", 2, 2, true, true},         // a private gate does not
		{"Open Bollard Street", 2, 2, true, true}, // nor a bollard tagged motor_vehicle=yes
	}
	for _, tc := range tests {
		carArcs, footArcs := arcsNamed(car, tc.name), arcsNamed(foot, tc.name)
		if len(carArcs) != tc.carArcs || len(footArcs) != tc.footArcs {
			t.Errorf("%s: %d car arcs and %d foot arcs, want %d and %d", tc.name, len(carArcs), len(footArcs), tc.carArcs, tc.footArcs)
			continue
		}
		for _, a := range append(carArcs, footArcs...) {
			if a.from%100 != a.to%100 || len(a.shape) != 1 {
				t.Errorf("%s: arc %d->%d with %d shape points, want one chord with its middle node", tc.name, a.from, a.to, len(a.shape))
			}
		}
		if tc.carArcs > 0 {
			fwd, back := false, false
			for _, a := range carArcs {
				fwd = fwd || a.from < 100 && a.to > 100
				back = back || a.from > 100 && a.to < 100
			}
			if fwd != tc.carForward || back != tc.carBack {
				t.Errorf("%s: car may go south->north %v, north->south %v; want %v, %v", tc.name, fwd, back, tc.carForward, tc.carBack)
			}
		}
	}
	if len(arcsNamed(foot, "One Way Footpath")) == 1 {
		if a := arcsNamed(foot, "One Way Footpath")[0]; !(a.from < 100 && a.to > 100) {
			t.Errorf("oneway:foot=yes footpath runs %d->%d, want south to north", a.from, a.to)
		}
	}
}

func TestRoundabout(t *testing.T) {
	city, _ := importFixture(t, "rules.osm")
	// The roundabout way is 301 302 303 304 301; 301 and 302 join the
	// connectors, so it splits into 301->302 and 302->(303, 304)->301.
	car := arcsNamed(city.Graphs[roadgraph.Car], "Roundabout")
	if len(car) != 2 || !hasArc(car, 301, 302) || !hasArc(car, 302, 301) {
		t.Fatalf("car roundabout arcs %+v, want 301->302 and 302->301", car)
	}
	for _, a := range car {
		if a.from == 302 && len(a.shape) != 2 {
			t.Errorf("car arc 302->301 has %d shape points, want 2 (the long way round, with the traffic)", len(a.shape))
		}
		if a.from == 301 && len(a.shape) != 0 {
			t.Errorf("car arc 301->302 has %d shape points, want 0", len(a.shape))
		}
	}
	foot := arcsNamed(city.Graphs[roadgraph.Foot], "Roundabout")
	if len(foot) != 4 {
		t.Fatalf("foot roundabout has %d arcs, want 4 (both ways round)", len(foot))
	}
	// Against the traffic, 301->302 goes the long way by 304 then 303.
	for _, a := range foot {
		if a.from == 301 && len(a.shape) == 2 {
			lat303 := int32(math.Round(41.1565 * roadgraph.CoordScale))
			if a.shape[1][0] != lat303 {
				t.Errorf("foot arc 301->302 the long way: shape %v, want 304 then 303 (lat %d)", a.shape, lat303)
			}
		}
	}
}

func TestSpeedsAndLengths(t *testing.T) {
	city, _ := importFixture(t, "rules.osm")
	car := city.Graphs[roadgraph.Car]
	const south, mid, north = 41.1500, 41.1520, 41.1540
	tests := []struct {
		name     string
		col      int
		limitKmh float64
	}{
		{"Two Way Street", 3, 50},
		{"Mph Street", 7, 30 * 1.609344},
		{"Code Street", 8, 30},      // PT:urban: residential default
		{"Bad Speed Street", 9, 30}, // garbage: residential default
	}
	for _, tc := range tests {
		lon := -8.6100 + 0.0020*float64(tc.col)
		wantLen := muster.DistanceM(lon, south, lon, mid) + muster.DistanceM(lon, mid, lon, north)
		wantMS := wantLen * 3600 / (tc.limitKmh * urbanFactor)
		arcs := arcsNamed(car, tc.name)
		if len(arcs) == 0 {
			t.Errorf("%s: no car arc", tc.name)
		}
		for _, a := range arcs {
			if math.Abs(float64(a.lengthM)-wantLen) > 0.05 {
				t.Errorf("%s: length %.2f m, want %.2f", tc.name, a.lengthM, wantLen)
			}
			if math.Abs(float64(a.timeMS)-wantMS) > 1 {
				t.Errorf("%s: %d ms, want %.0f (%.1f km/h limit at %.0f%%)", tc.name, a.timeMS, wantMS, tc.limitKmh, 100*urbanFactor)
			}
		}
	}
	foot := city.Graphs[roadgraph.Foot]
	for _, a := range arcsNamed(foot, "Two Way Street") {
		if want := float64(a.lengthM) * 3600 / walkKmh; math.Abs(float64(a.timeMS)-want) > 1 {
			t.Errorf("walking Two Way Street: %d ms, want %.0f", a.timeMS, want)
		}
	}
}

func TestLargestComponent(t *testing.T) {
	// Car: triangle {1,2,3} kept; the one-way spur's end 4 and the island
	// 6-7 dropped. Foot: the island is a walkable piece of its own, kept
	// (as every piece is by default), dropped when only the largest is
	// kept.
	for _, tc := range []struct {
		opts Options
		foot ProfileStats
	}{
		{Options{}, ProfileStats{Profile: roadgraph.Foot, Ways: 5, Nodes: 6, Arcs: 10, Components: 2, Pieces: 2}},
		{Options{MinFootPiece: -1}, ProfileStats{Profile: roadgraph.Foot, Ways: 4, Nodes: 4, Arcs: 8, Components: 2, Pieces: 1, DroppedNodes: 2, DroppedArcs: 2}},
	} {
		city, st := importFixtureWith(t, "spur.osm", tc.opts)
		byProfile := map[roadgraph.Profile]ProfileStats{}
		for _, ps := range st.Profiles {
			byProfile[ps.Profile] = ps
		}
		want := map[roadgraph.Profile]ProfileStats{
			roadgraph.Car:  {Profile: roadgraph.Car, Ways: 3, Nodes: 3, Arcs: 6, Components: 3, Pieces: 1, DroppedNodes: 3, DroppedArcs: 3},
			roadgraph.Foot: tc.foot,
		}
		for p, w := range want {
			if byProfile[p] != w {
				t.Errorf("%+v: %s stats %+v, want %+v", tc.opts, p, byProfile[p], w)
			}
		}
		for p, g := range city.Graphs {
			ids := map[int64]bool{}
			for _, id := range g.OSMNodeID {
				ids[id] = true
			}
			island := p == roadgraph.Foot && tc.opts.MinFootPiece >= 0
			if ids[6] != island || ids[7] != island || (p == roadgraph.Car) == ids[4] {
				t.Errorf("%+v: %s graph keeps OSM nodes %v", tc.opts, p, g.OSMNodeID)
			}
		}
	}
}

func TestMissingNodesCutWays(t *testing.T) {
	city, st := importFixture(t, "missing.osm")
	if st.MissingNodeRefs != 2 {
		t.Errorf("MissingNodeRefs = %d, want 2 (node 99 in a street, 98 in a building)", st.MissingNodeRefs)
	}
	for p, g := range city.Graphs {
		cut := arcsNamed(g, "Cut Street")
		if len(cut) != 4 || !hasArc(cut, 1, 5) || !hasArc(cut, 5, 1) || !hasArc(cut, 6, 3) || !hasArc(cut, 3, 6) {
			t.Errorf("%s: Cut Street arcs %+v, want 1<->5 and 6<->3 only", p, cut)
		}
		if g.NumNodes() != 4 || g.NumArcs() != 8 {
			t.Errorf("%s graph: %d nodes, %d arcs; want 4 and 8", p, g.NumNodes(), g.NumArcs())
		}
	}
}
