package osmimport

import (
	"math"
	"testing"

	"github.com/muster-evac/muster/roadgraph"
	"github.com/paulmach/osm"
)

func TestParseMaxspeed(t *testing.T) {
	tests := []struct {
		in   string
		want float64 // 0: not usable, the class default applies
	}{
		{"50", 50},
		{" 50 ", 50},
		{"50 km/h", 50},
		{"50kmh", 50},
		{"30 mph", 30 * 1.609344},
		{"30mph", 30 * 1.609344},
		{"10 knots", 18.52},
		{"walk", walkLimitKmh},
		{"DE:zone30", 30},
		{"DE:zone:30", 30},
		{"50;30", 30},
		{"none", 0},
		{"signals", 0},
		{"PT:urban", 0},
		{"BR:urban", 0},
		{"RU:rural", 0},
		{"fast", 0},
		{"0", 0},
		{"-30", 0},
		{"9999", 0},
		{"NaN", 0},
		{"Inf", 0},
		{"50 furlongs", 0},
		{"", 0},
		{";", 0},
		{"1.5.5", 0},
	}
	for _, tc := range tests {
		got, ok := parseMaxspeed(tc.in)
		if ok != (tc.want != 0) || math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("parseMaxspeed(%q) = %v, %v; want %v", tc.in, got, ok, tc.want)
		}
	}
}

func tagsOf(kv ...string) osm.Tags {
	var ts osm.Tags
	for i := 0; i+1 < len(kv); i += 2 {
		ts = append(ts, osm.Tag{Key: kv[i], Value: kv[i+1]})
	}
	return ts
}

func TestEvaluateWay(t *testing.T) {
	type dirs struct{ fwd, bwd bool }
	tests := []struct {
		tags      osm.Tags
		car, foot dirs
	}{
		{tagsOf("highway", "residential"), dirs{true, true}, dirs{true, true}},
		{tagsOf("highway", "residential", "oneway", "yes"), dirs{true, false}, dirs{true, true}},
		{tagsOf("highway", "residential", "oneway", "true"), dirs{true, false}, dirs{true, true}},
		{tagsOf("highway", "residential", "oneway", "1"), dirs{true, false}, dirs{true, true}},
		{tagsOf("highway", "residential", "oneway", "reverse"), dirs{false, true}, dirs{true, true}},
		{tagsOf("highway", "residential", "oneway", "reversible"), dirs{}, dirs{true, true}},
		{tagsOf("highway", "residential", "oneway", "maybe"), dirs{true, true}, dirs{true, true}},
		{tagsOf("highway", "primary", "junction", "roundabout", "oneway", "no"), dirs{true, true}, dirs{true, true}},
		{tagsOf("highway", "motorway_link"), dirs{true, false}, dirs{}},
		{tagsOf("highway", "motorway", "foot", "yes"), dirs{true, false}, dirs{true, true}},
		{tagsOf("highway", "motorway", "access", "private"), dirs{true, false}, dirs{}},
		{tagsOf("highway", "trunk", "motorroad", "yes"), dirs{true, true}, dirs{}},
		{tagsOf("highway", "service", "access", "no", "motor_vehicle", "destination"), dirs{true, true}, dirs{}},
		{tagsOf("highway", "service", "access", "no", "foot", "yes"), dirs{}, dirs{true, true}},
		{tagsOf("highway", "service", "motorcar", "no", "vehicle", "yes"), dirs{}, dirs{true, true}},
		{tagsOf("highway", "track"), dirs{}, dirs{true, true}},
		{tagsOf("highway", "track", "tracktype", "grade1"), dirs{true, true}, dirs{true, true}},
		{tagsOf("highway", "footway", "motor_vehicle", "yes"), dirs{}, dirs{true, true}},
		{tagsOf("highway", "footway", "oneway:foot", "-1"), dirs{}, dirs{false, true}},
		{tagsOf("highway", "pedestrian", "area", "yes"), dirs{}, dirs{}},
		{tagsOf("highway", "construction"), dirs{}, dirs{}},
		{tagsOf("building", "yes"), dirs{}, dirs{}},
	}
	for _, tc := range tests {
		car, foot := evaluateWay(tc.tags, roadgraph.Car), evaluateWay(tc.tags, roadgraph.Foot)
		if (dirs{car.fwd, car.bwd}) != tc.car || (dirs{foot.fwd, foot.bwd}) != tc.foot {
			t.Errorf("%v: car %v/%v foot %v/%v; want car %v foot %v", tc.tags, car.fwd, car.bwd, foot.fwd, foot.bwd, tc.car, tc.foot)
		}
	}
}

func TestCarSpeeds(t *testing.T) {
	tests := []struct {
		tags     osm.Tags
		fwd, bwd float64
	}{
		{tagsOf("highway", "motorway"), 120 * fastFactor, 120 * fastFactor},
		{tagsOf("highway", "motorway", "maxspeed", "100"), 100 * fastFactor, 100 * fastFactor},
		{tagsOf("highway", "residential"), 30 * urbanFactor, 30 * urbanFactor},
		{tagsOf("highway", "primary", "maxspeed", "PT:urban"), 60 * urbanFactor, 60 * urbanFactor},
		{tagsOf("highway", "primary", "maxspeed", "70", "maxspeed:backward", "50"), 70 * urbanFactor, 50 * urbanFactor},
		{tagsOf("highway", "living_street", "maxspeed", "walk"), walkLimitKmh * urbanFactor, walkLimitKmh * urbanFactor},
	}
	for _, tc := range tests {
		wp := evaluateWay(tc.tags, roadgraph.Car)
		if math.Abs(float64(wp.fwdKmh)-tc.fwd) > 1e-4 || math.Abs(float64(wp.bwdKmh)-tc.bwd) > 1e-4 {
			t.Errorf("%v: %v/%v km/h, want %v/%v", tc.tags, wp.fwdKmh, wp.bwdKmh, tc.fwd, tc.bwd)
		}
	}
	if wp := evaluateWay(tagsOf("highway", "steps"), roadgraph.Foot); wp.fwdKmh != stepsKmh {
		t.Errorf("steps on foot: %v km/h, want %v", wp.fwdKmh, stepsKmh)
	}
}

func TestTravelMS(t *testing.T) {
	if got := travelMS(0, 50); got != 1 {
		t.Errorf("zero length: %d ms, want 1", got)
	}
	if got := travelMS(1000, 36); got != 100_000 {
		t.Errorf("1 km at 36 km/h: %d ms, want 100000", got)
	}
}

func TestNodeBlocksCar(t *testing.T) {
	tests := []struct {
		tags osm.Tags
		want bool
	}{
		{tagsOf("barrier", "bollard"), true},
		{tagsOf("barrier", "jersey_barrier"), true},
		{tagsOf("barrier", "gate"), false},
		{tagsOf("barrier", "gate", "access", "private"), false},
		{tagsOf("barrier", "lift_gate"), false},
		{tagsOf("barrier", "bollard", "motor_vehicle", "yes"), false},
		{tagsOf("barrier", "gate", "access", "no"), true},
		{tagsOf("access", "no"), true},
		{tagsOf("highway", "traffic_signals"), false},
		{nil, false},
	}
	for _, tc := range tests {
		if got := nodeBlocksCar(tc.tags.Find); got != tc.want {
			t.Errorf("node %v blocks cars: %v, want %v", tc.tags, got, tc.want)
		}
	}
}
