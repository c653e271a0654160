package plancheck

import (
	"testing"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
)

// TestEscapeFromARoadThatTouchesAZone: the router escapes from a point
// whose one-way road passes through a forbidden zone far behind it (the
// road is closed to it), though the point, and the leg, are far from the
// zone. The checker accepts that escape with the graph; without it, it
// cannot tell, and says so.
func TestEscapeFromARoadThatTouchesAZone(t *testing.T) {
	// a (0,0) -> b (0,0.02) -> c (0.01,0.02): a one-way road 2.2 km north,
	// then east.
	fixed := func(deg float64) int32 { return int32(deg * roadgraph.CoordScale) }
	g := &roadgraph.Graph{Profile: roadgraph.Car,
		Lat: []int32{0, fixed(0.02), fixed(0.02)}, Lon: []int32{0, 0, fixed(0.01)}, OSMNodeID: []int64{1, 2, 3},
		FirstOut: []uint32{0, 1, 2, 2}, Head: []uint32{1, 2}, TimeMS: []uint32{100_000, 50_000}, LengthM: []float32{2224, 1112},
		NameID: []uint32{0, 0}, GeomFirst: []uint32{0, 0, 0}, Names: []string{""}}
	n, err := newNetwork(g)
	if err != nil {
		t.Fatal(err)
	}
	zone := muster.Zone{ID: "behind", Center: orb.Point{0, 0.001}, RadiusM: 50, Forbidden: true}
	leg := orb.LineString{{0, 0.0198}, {0, 0.02}, {0.01, 0.02}}
	for _, c := range []struct {
		net  *network
		want int
	}{{n, 0}, {nil, 1}} {
		ch := &checker{in: Inputs{Zones: []muster.Zone{zone}}}
		ch.legZones(RuleRouteZone, "G1", "route", leg, true, true, c.net, nil)
		if len(ch.vs) != c.want || (c.want == 1 && ch.vs[0].Rule != RuleEscapeStart) {
			t.Errorf("graph given %v: %v", c.net != nil, ch.vs)
		}
	}
	// Not an escape: the zone behind is nothing to it either way.
	ch := &checker{in: Inputs{Zones: []muster.Zone{zone}}}
	ch.legZones(RuleRouteZone, "G1", "route", leg, false, true, n, nil)
	if len(ch.vs) != 0 {
		t.Errorf("a leg that touches no zone: %v", ch.vs)
	}
}
