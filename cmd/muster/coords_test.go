package main

import (
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

// TestCoordinateFlags: every coordinate flag reads LAT,LON, and a pair
// clearly given the other way round is answered with the pair meant.
func TestCoordinateFlags(t *testing.T) {
	if p, err := parseLatLon("--from", " 41.1496, -8.611 "); err != nil || p != (orb.Point{-8.611, 41.1496}) {
		t.Errorf("41.1496,-8.611: %v %v", p, err)
	}
	for in, want := range map[string]string{
		"-8.611":           "want LAT,LON",
		"a,b":              "want LAT,LON",
		"1,2,3":            "want LAT,LON",
		"-122.42,37.77":    "did you mean LAT,LON = 37.77,-122.42?",
		"100,200":          "within -90..90",
		"NaN,1":            "within -90..90",
		"1e400,1":          "want LAT,LON",
		"69.2195,134.5605": "", // valid as given
	} {
		_, err := parseLatLon("--from", in)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
	// Report points: LAT,LON on the command line, [lon, lat] in the report.
	if pt, err := parsePointFlag("34.5605,69.2195"); err != nil || pt[0] != 69.2195 || pt[1] != 34.5605 {
		t.Errorf("--point 34.5605,69.2195: %v %v", pt, err)
	}
	porto := orb.Bound{Min: orb.Point{-8.70, 41.10}, Max: orb.Point{-8.55, 41.25}}
	for in, want := range map[string]string{
		"41.1496,-8.611": "",
		"41.5,-8.6":      "",                                       // near the box: the snap decides
		"-8.611,41.1496": "did you mean LAT,LON = 41.1496,-8.611?", // both in range, swapped
		"34.5,69.2":      "far from the graph: the graph covers latitudes 41.1000..41.2500",
	} {
		p, err := parseLatLon("--from", in)
		if err != nil {
			t.Fatal(err)
		}
		err = checkOnGraph("--from", in, p, porto)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%q on Porto: %v, want %q", in, err, want)
		}
	}
}

// FuzzParseLatLon: no panic, and what parses is in range.
func FuzzParseLatLon(f *testing.F) {
	f.Add("41.1496,-8.611")
	f.Add("-122.42,37.77")
	f.Add(",")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseLatLon("--from", s)
		if err == nil && (p.Lat() < -90 || p.Lat() > 90 || p.Lon() < -180 || p.Lon() > 180) {
			t.Fatalf("%q parsed to %v", s, p)
		}
	})
}
