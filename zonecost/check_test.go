package zonecost

import (
	"math"
	"testing"

	"github.com/muster-evac/muster"
	"github.com/paulmach/orb"
)

// TestCheckerSurvivesBadZones: the checker and Containing take zones from
// anywhere (tests, hand-built pictures); broken ones must not panic, and
// the checker still finds the crossing of the good zone among them.
func TestCheckerSurvivesBadZones(t *testing.T) {
	nan := math.NaN()
	good := muster.Zone{ID: "good", Center: kabul, RadiusM: 50, Forbidden: true}
	zones := []muster.Zone{
		{ID: "empty", Forbidden: true},
		{ID: "nan circle", Center: orb.Point{nan, nan}, RadiusM: 10, Forbidden: true},
		{ID: "inf radius", Center: kabul, RadiusM: math.Inf(1), Forbidden: false},
		{ID: "empty rings", Polygon: orb.MultiPolygon{{{}, {}}}, Forbidden: true},
		{ID: "no rings", Polygon: orb.MultiPolygon{{}}, Forbidden: true},
		{ID: "nan ring", Polygon: orb.MultiPolygon{{{{nan, 0}, {1, nan}, {0, 1}, {nan, 0}}}}, Forbidden: true},
		{ID: "open ring", Polygon: orb.MultiPolygon{{{{0, 0}, {1, 0}}}}, Forbidden: true},
		good,
	}
	line := orb.LineString{offset(kabul, -100, 0), offset(kabul, 100, 0)}
	crossings := CheckForbidden(line, zones)
	found := false
	for _, c := range crossings {
		if zones[c.Zone].ID == "good" {
			found = true
		}
	}
	if !found {
		t.Errorf("the crossing of the good zone is missing: %+v", crossings)
	}
	if got := Containing(kabul, zones); len(got) != 1 || zones[got[0]].ID != "good" {
		t.Errorf("Containing(kabul) = %v, want only the good zone", got)
	}
	for _, l := range []orb.LineString{nil, {}, {{nan, nan}}, {{nan, 0}, {0, nan}}, {{0, 0}, {0, 0}}} {
		_ = CheckForbidden(l, zones)
	}
}

// TestCrossingPoints: the checker reports where a line first touches a
// zone, on the right segment.
func TestCrossingPoints(t *testing.T) {
	c := kabul
	zones := []muster.Zone{
		{ID: "circle", Center: c, RadiusM: 100, Forbidden: true},
		{ID: "square", Polygon: orb.MultiPolygon{{square(c, 300, -50, 400, 50)}}, Forbidden: true},
		{ID: "risky only", Center: offset(c, 600, 0), RadiusM: 50, Risk: 1},
	}
	line := orb.LineString{offset(c, -300, 0), offset(c, 200, 0), offset(c, 700, 0)}
	got := CheckForbidden(line, zones)
	want := []struct {
		zone, segment int
		at            orb.Point
	}{
		{0, 0, offset(c, -100, 0)}, // enters the circle 100 m west of its centre
		{1, 1, offset(c, 300, 0)},  // enters the square at its west side
	}
	if len(got) != len(want) {
		t.Fatalf("crossings %+v, want %d", got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Zone != w.zone || g.Segment != w.segment {
			t.Errorf("crossing %d: zone %d segment %d, want zone %d segment %d", i, g.Zone, g.Segment, w.zone, w.segment)
		}
		if d := muster.DistanceM(g.Point[0], g.Point[1], w.at[0], w.at[1]); d > 0.01 {
			t.Errorf("crossing %d at %v, %.3f m from where it should be", i, g.Point, d)
		}
	}
}
