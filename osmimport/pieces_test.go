package osmimport

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/muster-evac/muster/internal/twotowns"
	"github.com/muster-evac/muster/roadgraph"
)

func twoTowns(t *testing.T, o Options) (*roadgraph.City, map[roadgraph.Profile]ProfileStats) {
	t.Helper()
	city, st, err := FromOSM(context.Background(), twotowns.OSM(), "two towns", o)
	if err != nil {
		t.Fatal(err)
	}
	byProfile := map[roadgraph.Profile]ProfileStats{}
	for _, ps := range st.Profiles {
		byProfile[ps.Profile] = ps
	}
	return city, byProfile
}

// namesOf lists the names of the arcs of g that are emergency arcs, and
// of those that are not.
func arcNames(g *roadgraph.Graph, emergency bool) []string {
	var out []string
	for a := 0; a < g.NumArcs(); a++ {
		if g.IsEmergency(uint32(a)) == emergency && !slices.Contains(out, g.Names[g.NameID[a]]) {
			out = append(out, g.Names[g.NameID[a]])
		}
	}
	slices.Sort(out)
	return out
}

// Two towns joined only by a road closed to pedestrians, a grid of
// footpaths no car road reaches and a fragment of footpath: the foot graph
// keeps all four as pieces of their own (the import used to keep the
// largest only), with no arc between them; the car graph is one piece.
func TestWalkablePiecesKept(t *testing.T) {
	city, st := twoTowns(t, Options{})
	foot, car := city.Graphs[roadgraph.Foot], city.Graphs[roadgraph.Car]
	_, sizes := foot.Pieces()
	const grid = twotowns.Side * twotowns.Side
	slices.Sort(sizes)
	if !slices.Equal(sizes, []int{2, grid, grid, grid + 1}) || st[roadgraph.Foot].Pieces != 4 {
		t.Errorf("foot pieces %v (stats say %d), want four: the footpath fragment, two grids of %d nodes and town B's with the gate road's end", sizes, st[roadgraph.Foot].Pieces, grid)
	}
	if _, sizes := car.Pieces(); len(sizes) != 1 || st[roadgraph.Car].Pieces != 1 {
		t.Errorf("car pieces %v", sizes)
	}
	if names := arcNames(foot, false); slices.Contains(names, "Main Road") || slices.Contains(names, "Shortcut") {
		t.Errorf("the foot graph has roads closed to pedestrians: %v", names)
	}
	if len(foot.EmergencyArcs) != 0 || st[roadgraph.Foot].EmergencyArcs != 0 {
		t.Errorf("emergency arcs %v without FootEmergency", foot.EmergencyArcs)
	}
	// Each piece is strongly connected: every node reaches exactly the
	// nodes of its own piece.
	label, _ := foot.Pieces()
	for _, s := range []uint32{0, uint32(foot.NumNodes() - 1)} {
		seen := map[uint32]bool{s: true}
		stack := []uint32{s}
		for len(stack) > 0 {
			u := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for a := foot.FirstOut[u]; a < foot.FirstOut[u+1]; a++ {
				if v := foot.Head[a]; !seen[v] {
					seen[v] = true
					stack = append(stack, v)
				}
			}
		}
		for v := range label {
			if seen[uint32(v)] != (label[v] == label[s]) {
				t.Fatalf("node %d reaches node %d: %v; same piece: %v", s, v, seen[uint32(v)], label[v] == label[s])
			}
		}
	}

	// Below the size kept, or with the largest only, pieces go.
	city, st = twoTowns(t, Options{MinFootPiece: -1})
	if n := city.Graphs[roadgraph.Foot].NumNodes(); n != grid+1 || st[roadgraph.Foot].Pieces != 1 || st[roadgraph.Foot].DroppedNodes != 2*grid+2 {
		t.Errorf("largest only: %d nodes kept, %+v", n, st[roadgraph.Foot])
	}
	city, _ = twoTowns(t, Options{MinFootPiece: grid + 1})
	if n := city.Graphs[roadgraph.Foot].NumNodes(); n != grid+1 {
		t.Errorf("pieces of %d nodes or more: %d nodes kept, want the largest piece's %d", grid+1, n, grid+1)
	}
}

// With FootEmergency the main road between the towns joins them on foot,
// marked as emergency arcs; the shortcut inside town A, which joins
// nothing that is not joined already, stays closed.
func TestFootEmergencyJoinsPieces(t *testing.T) {
	city, st := twoTowns(t, Options{FootEmergency: true})
	foot := city.Graphs[roadgraph.Foot]
	const grid = twotowns.Side * twotowns.Side
	_, sizes := foot.Pieces()
	slices.Sort(sizes)
	if !slices.Equal(sizes, []int{2, grid, 2*grid + 1}) {
		t.Errorf("foot pieces %v, want the fragment, the footpaths (%d) and both towns joined (%d)", sizes, grid, 2*grid+1)
	}
	if got := arcNames(foot, true); !slices.Equal(got, []string{"Main Road"}) {
		t.Errorf("emergency arcs on %v, want the Main Road only", got)
	}
	if slices.Contains(arcNames(foot, false), "Shortcut") || slices.Contains(arcNames(foot, false), "Main Road") {
		t.Errorf("a road closed to pedestrians is in the foot graph unmarked: %v", arcNames(foot, false))
	}
	fs := st[roadgraph.Foot]
	if fs.EmergencyArcs != 2 || len(foot.EmergencyArcs) != 2 || math.Abs(fs.EmergencyM-twotowns.RoadM) > 0.1*twotowns.RoadM {
		t.Errorf("%d emergency arcs (%d in the graph), %.0f m; want 2 (the road, both ways), about %d m", fs.EmergencyArcs, len(foot.EmergencyArcs), fs.EmergencyM, twotowns.RoadM)
	}
	// The car graph is what it was.
	plain, _ := twoTowns(t, Options{})
	if a, b := city.Graphs[roadgraph.Car], plain.Graphs[roadgraph.Car]; a.NumArcs() != b.NumArcs() || len(a.EmergencyArcs) != 0 {
		t.Errorf("car graph: %d arcs, %d emergency; without the option %d arcs", a.NumArcs(), len(a.EmergencyArcs), b.NumArcs())
	}
}

// Only foot=no, foot=use_sidepath and motorroad=yes on roads pedestrians
// use by default are opened; a road closed to everyone, a motorway or a
// footway closed to them are not.
func TestEmergencyFootTags(t *testing.T) {
	cases := []struct {
		tags []string
		open bool
	}{
		{[]string{"highway", "primary", "foot", "no"}, true},
		{[]string{"highway", "secondary", "foot", "use_sidepath"}, true},
		{[]string{"highway", "trunk", "motorroad", "yes"}, true},
		{[]string{"highway", "trunk", "motorroad", "yes", "access", "no"}, false},
		{[]string{"highway", "primary", "access", "no"}, false},
		{[]string{"highway", "primary", "foot", "no", "access", "no"}, false},
		{[]string{"highway", "motorway"}, false},
		{[]string{"highway", "motorway", "foot", "no"}, false},
		{[]string{"highway", "primary", "foot", "military"}, false},
		{[]string{"highway", "primary", "foot", "no", "area", "yes"}, false},
		{[]string{"highway", "construction", "foot", "no"}, false},
	}
	for _, tc := range cases {
		if got := emergencyFoot(tagsOf(tc.tags...)); got.routable() != tc.open || (got.routable() && !got.emergency) {
			t.Errorf("%v: opened %v (%+v), want %v", tc.tags, got.routable(), got, tc.open)
		}
	}
}
