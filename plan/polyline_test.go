package plan

import (
	"math"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

// The example of Google's documentation of the algorithm, read at the
// precision plan.json keeps: the same digits, one decimal further left.
func TestPolylineGoogleExample(t *testing.T) {
	const enc = "_p~iF~ps|U_ulLnnqC_mqNvxq`@"
	want := orb.LineString{{-12.02, 3.85}, {-12.095, 4.07}, {-12.6453, 4.3252}}
	got, err := DecodePolyline(enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d points, want %d: %v", len(got), len(want), got)
	}
	for i := range want {
		if math.Abs(got[i][0]-want[i][0]) > 1e-9 || math.Abs(got[i][1]-want[i][1]) > 1e-9 {
			t.Errorf("point %d: %v, want %v", i, got[i], want[i])
		}
	}
	back, err := appendPolyline(nil, got)
	if err != nil || string(back) != enc {
		t.Errorf("encoded again: %q (%v), want %q", back, err, enc)
	}
}

// A line off the grid is kept to 1e-6°; one on it comes back to the bit.
func TestPolylineGrid(t *testing.T) {
	line := orb.LineString{{-8.6703045, 41.3746925}, {-8.67, 41.37}, {179.9999996, -89.9999994}, {-180, 90}}
	b, err := appendPolyline(nil, line)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodePolyline(string(b))
	if err != nil {
		t.Fatal(err)
	}
	for i := range line {
		for k := range 2 {
			if d := math.Abs(got[i][k] - line[i][k]); d > 0.5e-6+1e-12 {
				t.Errorf("point %d moved by %g°", i, d)
			}
			if got[i][k] != quantum(line[i][k]) {
				t.Errorf("point %d: %v is not %v on the grid", i, got[i][k], line[i][k])
			}
		}
	}
	if !onGrid(got) || onGrid(line) {
		t.Errorf("onGrid: decoded %v, original %v", onGrid(got), onGrid(line))
	}
	again, _ := appendPolyline(nil, got)
	if string(again) != string(b) {
		t.Errorf("a line on the grid encodes to %q, then %q", b, again)
	}
	if g := gridLine(got); &g[0] != &got[0] {
		t.Errorf("gridLine copied a line already on the grid")
	}
	if g := gridLine(line); &g[0] == &line[0] {
		t.Errorf("gridLine rounded a line in place (it may be the router's)")
	}
	for _, bad := range []orb.LineString{{{0, 90.000001}}, {{-180.1, 0}}, {{math.NaN(), 0}}, {{0, math.Inf(1)}}} {
		if _, err := appendPolyline(nil, bad); err == nil {
			t.Errorf("%v encoded", bad)
		}
	}
}

func TestPolylineErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"_p~iF", "a latitude without its longitude at character 0"},
		{"_p~iF~ps|U_ulL", "a latitude without its longitude at character 10"},
		{"_p~i", "cut short at character 4"},
		{"_p~iF~ps|U_ulLnnq", "cut short"},
		{"_p iF~ps|U", `character " " at 2`},
		{"_p~iF~ps|\x80", `character "\x80" at 9`},
		{"~~~~~~~~?", "a value longer than 7 characters at character 7"},
		{strings.Repeat("_", 6) + "I" + "??", "out of range"},
	} {
		_, err := DecodePolyline(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.in, err, c.want)
		}
	}
}

// FuzzPolyline: any string is a line or an error, never a panic, never
// more points than half its characters; a line read encodes to a string
// that reads as the same line.
func FuzzPolyline(f *testing.F) {
	for _, s := range []string{"", "??", "_p~iF~ps|U_ulLnnqC_mqNvxq`@", "~~~~~~~~?", "_p~iF", "@@", "mpdzmAfdcbOoNpRySdi@HzGd[hl@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		line, err := DecodePolyline(s)
		if err != nil {
			return
		}
		if 2*len(line) > len(s) {
			t.Fatalf("%d points from %d characters", len(line), len(s))
		}
		b, err := appendPolyline(nil, line)
		if err != nil {
			t.Fatalf("a line read does not encode: %v", err)
		}
		again, err := DecodePolyline(string(b))
		if err != nil || len(again) != len(line) {
			t.Fatalf("encoded %q reads as %v (%v), want %v", b, again, err, line)
		}
		for i := range line {
			if again[i] != line[i] {
				t.Fatalf("point %d: %v, then %v", i, line[i], again[i])
			}
		}
	})
}
