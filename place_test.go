package muster

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
)

func TestPlacePoint(t *testing.T) {
	square := orb.Polygon{{{69.1, 34.5}, {69.3, 34.5}, {69.3, 34.7}, {69.1, 34.7}, {69.1, 34.5}}}
	for _, c := range []struct {
		g    orb.Geometry
		want orb.Point
		ok   bool
	}{
		{orb.Point{69.2, 34.6}, orb.Point{69.2, 34.6}, true},
		{square, orb.Point{69.2, 34.6}, true},
		{orb.MultiPolygon{square}, orb.Point{69.2, 34.6}, true},
		{nil, orb.Point{}, false},
	} {
		p := Place{Geometry: c.g}
		got, ok := p.Point()
		if ok != c.ok || math.Abs(got[1]-c.want[1]) > 1e-9 || math.Abs(got[0]-c.want[0]) > 1e-9 {
			t.Errorf("%T: %v %v, want %v %v", c.g, got, ok, c.want, c.ok)
		}
	}
}
