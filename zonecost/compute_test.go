package zonecost

import (
	"context"
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/muster-evac/muster"
	"github.com/paulmach/orb"
)

// kabul is near Hamid Karzai International Airport, on the fixed-point grid.
var kabul = orb.Point{69.2, 34.56}

type caseArc struct {
	name      string
	line      orb.LineString
	forbidden bool
	exposure  float64 // expected, when checkExposure
	tailIn    bool    // the tail node is in a forbidden zone
	headIn    bool
}

// runCases builds one graph of the case arcs, applies zones and compares
// every arc's effect with the expectation and with CheckForbidden.
func runCases(t *testing.T, zones []muster.Zone, cases []caseArc, checkExposure bool) *Effects {
	t.Helper()
	var b graphBuilder
	for _, c := range cases {
		b.line(c.line, 60_000)
	}
	g, ids := b.build(t)
	eff, err := Compute(context.Background(), g, newBruteFinder(g), zones)
	if err != nil {
		t.Fatal(err)
	}
	byArc := map[uint32]ArcEffect{}
	for _, e := range eff.Arcs {
		byArc[e.Arc] = e
	}
	tails := g.Tails()
	for i, c := range cases {
		a := ids[i]
		got := byArc[a]
		if got.Forbidden != c.forbidden {
			t.Errorf("%s: forbidden = %v, want %v", c.name, got.Forbidden, c.forbidden)
		}
		if checkExposure && math.Abs(got.Exposure-c.exposure) > 1e-3*math.Max(1, c.exposure) {
			t.Errorf("%s: exposure = %v, want %v", c.name, got.Exposure, c.exposure)
		}
		line := g.ArcGeometry(nil, tails[a], a)
		if crossed := len(CheckForbidden(line, zones)) > 0; crossed != got.Forbidden {
			t.Errorf("%s: CheckForbidden says crossed=%v, Compute says forbidden=%v", c.name, crossed, got.Forbidden)
		}
		_, tailIn := slices.BinarySearch(eff.ForbiddenNodes, tails[a])
		_, headIn := slices.BinarySearch(eff.ForbiddenNodes, g.Head[a])
		if tailIn != c.tailIn || headIn != c.headIn {
			t.Errorf("%s: tail/head forbidden = %v/%v, want %v/%v", c.name, tailIn, headIn, c.tailIn, c.headIn)
		}
	}
	return eff
}

func TestForbiddenCircle(t *testing.T) {
	c := kabul
	// The tangent case needs exact coordinates: a horizontal segment on the
	// fixed-point grid, and a radius equal to its distance from the centre
	// in the zone's own projection.
	tanLat := c[1] + 0.0009
	tangentR := newFrame(c[0], c[1]).project(c[0], tanLat).y
	zones := []muster.Zone{{ID: "checkpoint", Center: c, RadiusM: 100, Forbidden: true, Risk: 1}}
	cases := []caseArc{
		{name: "inside", line: orb.LineString{offset(c, -20, 0), offset(c, 30, 10)}, forbidden: true, tailIn: true, headIn: true},
		{name: "outside", line: orb.LineString{offset(c, 150, 0), offset(c, 300, 50)}},
		{name: "passes through between two outside nodes", line: orb.LineString{offset(c, -300, 5), offset(c, 300, -5)}, forbidden: true},
		{name: "passes through between two outside shape points", line: orb.LineString{offset(c, -300, 300), offset(c, -300, 5), offset(c, 300, -5), offset(c, 300, 300)}, forbidden: true},
		{name: "ends inside", line: orb.LineString{offset(c, -300, 0), offset(c, 0, 50)}, forbidden: true, headIn: true},
		{name: "one metre clear", line: orb.LineString{offset(c, -300, 101), offset(c, 300, 101)}},
		{name: "zero-length arc inside", line: orb.LineString{offset(c, 10, 10)}, forbidden: true, tailIn: true, headIn: true},
		{name: "zero-length arc outside", line: orb.LineString{offset(c, 110, 10)}},
		{name: "repeated shape points", line: orb.LineString{offset(c, -300, 0), offset(c, -300, 0), offset(c, 300, 0), offset(c, 300, 0)}, forbidden: true},
	}
	runCases(t, zones, cases, false)

	// Tangent: touching the circle at one point is touching it.
	tangent := orb.LineString{{c[0] - 0.002, tanLat}, {c[0] + 0.002, tanLat}}
	runCases(t, []muster.Zone{{Center: c, RadiusM: tangentR, Forbidden: true}}, []caseArc{{name: "tangent", line: tangent, forbidden: true}}, false)
	runCases(t, []muster.Zone{{Center: c, RadiusM: tangentR - 0.01, Forbidden: true}}, []caseArc{{name: "a centimetre short of tangent", line: tangent}}, false)
}

func TestForbiddenPolygon(t *testing.T) {
	c := kabul
	// Corners on the fixed-point grid so that touching is exact.
	x0, y0, x1, y1 := c[0], c[1], c[0]+0.002, c[1]+0.0015
	ring := orb.Ring{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}
	zones := []muster.Zone{{ID: "compound", Polygon: orb.MultiPolygon{{ring}}, Forbidden: true, Risk: 1}}
	mid := orb.Point{(x0 + x1) / 2, (y0 + y1) / 2}
	cases := []caseArc{
		{name: "inside", line: orb.LineString{offset(mid, -10, 0), offset(mid, 10, 5)}, forbidden: true, tailIn: true, headIn: true},
		{name: "outside", line: orb.LineString{offset(c, -100, -100), offset(c, -10, -100)}},
		{name: "crosses between two outside nodes", line: orb.LineString{{x0 - 0.001, mid[1]}, {x1 + 0.001, mid[1] + 0.0001}}, forbidden: true},
		{name: "crosses a corner between outside shape points", line: orb.LineString{{x0 - 0.001, y0 - 0.001}, {x0 - 0.0002, y0 + 0.0005}, {x0 + 0.0005, y0 - 0.0002}, {x0 + 0.001, y0 - 0.001}}, forbidden: true},
		{name: "touches a corner at one point", line: orb.LineString{{x0 - 0.0005, y0 + 0.0005}, {x0 + 0.0005, y0 - 0.0005}}, forbidden: true},
		{name: "ends on the boundary", line: orb.LineString{{x0 - 0.001, mid[1]}, {x0, mid[1]}}, forbidden: true, headIn: true},
		{name: "runs along the boundary", line: orb.LineString{{x0 + 0.0005, y0}, {x0 + 0.0015, y0}}, forbidden: true, tailIn: true, headIn: true},
		{name: "parallel a few centimetres outside", line: orb.LineString{{x0 + 0.0005, y0 - 0.0000005}, {x0 + 0.0015, y0 - 0.0000005}}},
		{name: "zero-length arc on a corner", line: orb.LineString{{x1, y1}}, forbidden: true, tailIn: true, headIn: true},
	}
	runCases(t, zones, cases, false)
}

func TestPolygonHole(t *testing.T) {
	c := kabul
	outer := square(c, -200, -200, 200, 200)
	hole := square(c, -100, -100, 100, 100)
	slices.Reverse(hole)
	poly := orb.MultiPolygon{{outer, hole}}
	forbidden := []muster.Zone{{Polygon: poly, Forbidden: true}}
	cases := []caseArc{
		{name: "inside the hole", line: orb.LineString{offset(c, -50, 0), offset(c, 50, 20)}},
		{name: "from the hole out across the ring", line: orb.LineString{offset(c, -50, 0), offset(c, -250, 0)}, forbidden: true},
		{name: "in the ring", line: orb.LineString{offset(c, -150, -150), offset(c, 150, -150)}, forbidden: true, tailIn: true, headIn: true},
	}
	runCases(t, forbidden, cases, false)

	// Exposure: across the whole zone the arc is inside for 100 m on each
	// side of the hole, a third of its 600 m; 60 s at risk 0.6 gives 12.
	risky := []muster.Zone{{Polygon: poly, Risk: 0.6}}
	runCases(t, risky, []caseArc{
		{name: "across ring, hole, ring", line: orb.LineString{offset(c, -300, 0), offset(c, 300, 0)}, exposure: 0.6 * 60 / 3},
		{name: "inside the hole", line: orb.LineString{offset(c, -50, 0), offset(c, 50, 0)}},
		{name: "wholly inside the ring", line: orb.LineString{offset(c, -150, -150), offset(c, 150, -150)}, exposure: 0.6 * 60},
	}, true)
}

func TestExposureCircle(t *testing.T) {
	c := kabul
	zones := []muster.Zone{{ID: "crowd", Center: c, RadiusM: 100, Risk: 0.5}}
	chord := 2 * math.Sqrt(100*100-60*60)
	cases := []caseArc{
		// Through the centre a straight segment is inside for 2r.
		{name: "through the centre", line: orb.LineString{offset(c, -300, 0), offset(c, 300, 0)}, exposure: 0.5 * 60 * 200 / 600},
		{name: "through the centre with a shape point there", line: orb.LineString{offset(c, -300, 0), c, offset(c, 300, 0)}, exposure: 0.5 * 60 * 200 / 600},
		{name: "a chord 60 m off centre", line: orb.LineString{offset(c, -300, 60), offset(c, 300, 60)}, exposure: 0.5 * 60 * chord / 600},
		{name: "inside", line: orb.LineString{offset(c, -30, 0), offset(c, 30, 0)}, exposure: 0.5 * 60},
		{name: "half in", line: orb.LineString{offset(c, 0, 0), offset(c, 200, 0)}, exposure: 0.5 * 60 * 100 / 200},
		{name: "outside", line: orb.LineString{offset(c, 200, 0), offset(c, 300, 0)}},
		{name: "zero-length inside", line: orb.LineString{offset(c, 10, 0)}, exposure: 0.5 * 60},
	}
	runCases(t, zones, cases, true)
}

func TestExposureLeavesAndReenters(t *testing.T) {
	c := kabul
	// A U open to the north: the arms are 100 m wide with a 100 m gap, so an
	// east-west arc across the arms is in, out, in: 200 of its 500 m.
	u := orb.Ring{offset(c, -150, -100), offset(c, 150, -100), offset(c, 150, 200), offset(c, 50, 200),
		offset(c, 50, 0), offset(c, -50, 0), offset(c, -50, 200), offset(c, -150, 200), offset(c, -150, -100)}
	zones := []muster.Zone{{Polygon: orb.MultiPolygon{{u}}, Risk: 1}}
	runCases(t, zones, []caseArc{
		{name: "across both arms", line: orb.LineString{offset(c, -250, 100), offset(c, 250, 100)}, exposure: 60 * 200.0 / 500},
		{name: "up the gap", line: orb.LineString{offset(c, 0, 50), offset(c, 0, 300)}},
	}, true)
	// The same crossing as a MultiPolygon of the two arms.
	arms := orb.MultiPolygon{{square(c, -150, 0, -50, 200)}, {square(c, 50, 0, 150, 200)}}
	runCases(t, []muster.Zone{{Polygon: arms, Risk: 1}}, []caseArc{
		{name: "across two polygons", line: orb.LineString{offset(c, -250, 100), offset(c, 250, 100)}, exposure: 60 * 200.0 / 500},
	}, true)
	runCases(t, []muster.Zone{{Polygon: arms, Forbidden: true}}, []caseArc{
		{name: "between two forbidden polygons", line: orb.LineString{offset(c, 0, -100), offset(c, 0, 300)}},
		{name: "across two forbidden polygons", line: orb.LineString{offset(c, -250, 100), offset(c, 250, 100)}, forbidden: true},
	}, false)
}

func TestOverlappingZonesAddUp(t *testing.T) {
	c := kabul
	zones := []muster.Zone{
		{ID: "a", Center: c, RadiusM: 100, Risk: 0.5},
		{ID: "b", Polygon: orb.MultiPolygon{{square(c, -50, -50, 50, 50)}}, Risk: 0.2},
	}
	runCases(t, zones, []caseArc{
		{name: "through both", line: orb.LineString{offset(c, -300, 0), offset(c, 300, 0)}, exposure: 60 * (0.5*200 + 0.2*100) / 600},
	}, true)
}

func TestAntimeridian(t *testing.T) {
	east := orb.Point{179.9999, -17} // Fiji's longitude
	west := orb.Point{-179.9999, -17}
	zones := []muster.Zone{
		// Centred just west of the line; the arc lies just east of it.
		{ID: "west circle", Center: west, RadiusM: 100, Forbidden: true},
		// A square straddling the line.
		{ID: "straddling square", Polygon: orb.MultiPolygon{{{{179.999, -17.1}, {-179.999, -17.1}, {-179.999, -17.099}, {179.999, -17.099}, {179.999, -17.1}}}}, Forbidden: true},
	}
	cases := []caseArc{
		{name: "east of the line, in the west circle", line: orb.LineString{east, {179.99995, -17}}, forbidden: true, tailIn: true, headIn: true},
		{name: "across the line through the circle", line: orb.LineString{{179.998, -17}, {-179.998, -17}}, forbidden: true},
		{name: "across the line through the square", line: orb.LineString{{179.9985, -17.0995}, {-179.9985, -17.0995}}, forbidden: true},
		{name: "across the line clear of both", line: orb.LineString{{179.998, -17.05}, {-179.998, -17.05}}},
		{name: "inside the square, west side", line: orb.LineString{{-179.9995, -17.0998}, {-179.9992, -17.0992}}, forbidden: true, tailIn: true, headIn: true},
	}
	runCases(t, zones, cases, false)
	risky := []muster.Zone{{Center: west, RadiusM: 100, Risk: 1}}
	// 0.0002° of longitude at 17°S is about 21 m; the arc is 60 m long.
	runCases(t, risky, []caseArc{{name: "wholly inside across the line", line: orb.LineString{offset(east, -30, 0), offset(east, 30, 0)}, exposure: 60}}, true)
}

func TestDeterministicAndOrderIndependent(t *testing.T) {
	g := gridGraph(t, 40, 40, kabul[0], kabul[1], 80)
	f := newBruteFinder(g)
	zones := benchZones(kabul, 40*80)
	want, err := Compute(context.Background(), g, f, zones)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Arcs) == 0 || len(want.ForbiddenNodes) == 0 {
		t.Fatalf("the zones affect nothing (%d arcs, %d nodes): the test proves nothing", len(want.Arcs), len(want.ForbiddenNodes))
	}
	var risky, forbidden int
	for _, e := range want.Arcs {
		if e.Forbidden {
			forbidden++
		}
		if e.Exposure > 0 {
			risky++
		}
	}
	if risky == 0 || forbidden == 0 {
		t.Fatalf("%d risky and %d forbidden arcs: want both", risky, forbidden)
	}
	// Large zones are split over goroutines: force that, same result.
	saved := splitZoneArcs
	splitZoneArcs = 50
	split, err := Compute(context.Background(), g, f, zones)
	splitZoneArcs = saved
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(split, want) {
		t.Fatal("splitting zones over goroutines changes the effects")
	}
	for i := 0; i < 5; i++ {
		shuffled := slices.Clone(zones)
		for k := range shuffled {
			j := (k*7 + i*3) % len(shuffled)
			shuffled[k], shuffled[j] = shuffled[j], shuffled[k]
		}
		got, err := Compute(context.Background(), g, newGridFinder(g, 0.003), shuffled)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("permutation %d of the zones (and another finder) changes the effects", i)
		}
	}
}

func TestContaining(t *testing.T) {
	c := kabul
	zones := []muster.Zone{
		{ID: "circle", Center: c, RadiusM: 100, Forbidden: true},
		{ID: "square", Polygon: orb.MultiPolygon{{square(c, 0, 0, 200, 200)}}, Risk: 0.3},
		{ID: "far", Center: offset(c, 5000, 0), RadiusM: 100},
	}
	for _, tc := range []struct {
		p    orb.Point
		want []int
	}{
		{c, []int{0, 1}},
		{offset(c, 50, 50), []int{0, 1}},
		{offset(c, 150, 150), []int{1}},
		{offset(c, -50, -50), []int{0}},
		{offset(c, 1000, 1000), nil},
		{offset(c, 5000, 0), []int{2}},
	} {
		if got := Containing(tc.p, zones); !slices.Equal(got, tc.want) {
			t.Errorf("Containing(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestComputeRejectsBadInput(t *testing.T) {
	g := gridGraph(t, 3, 3, kabul[0], kabul[1], 100)
	f := newBruteFinder(g)
	for _, z := range []muster.Zone{
		{ID: "no shape"},
		{ID: "nan radius", Center: kabul, RadiusM: math.NaN()},
		{ID: "bad centre", Center: orb.Point{200, 0}, RadiusM: 10},
		{ID: "risk", Center: kabul, RadiusM: 10, Risk: 2},
		{ID: "short ring", Polygon: orb.MultiPolygon{{{kabul, kabul}}}},
		{ID: "nan vertex", Polygon: orb.MultiPolygon{{{kabul, {math.NaN(), 0}, kabul, kabul}}}},
	} {
		_, err := Compute(context.Background(), g, f, []muster.Zone{z})
		if muster.ErrorCode(err) != muster.EINVALID {
			t.Errorf("zone %q: err = %v, want an invalid-input error", z.ID, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	zones := []muster.Zone{{Center: kabul, RadiusM: 100, Forbidden: true}}
	if _, err := Compute(ctx, g, f, zones); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v", err)
	}
	if _, err := Compute(context.Background(), g, badFinder{}, zones); err == nil {
		t.Error("a finder returning a nonexistent arc was not caught")
	}
}

type badFinder struct{}

func (badFinder) ArcsInBound(_ orb.Bound, fn func(uint32) bool) { fn(1 << 30) }

// benchZones is a threat picture over a city of the given size in metres
// around c: ten circles and five polygons, a third of them forbidden.
func benchZones(c orb.Point, sizeM float64) []muster.Zone {
	var zones []muster.Zone
	for i := 0; i < 10; i++ {
		fx := 0.1 + 0.8*float64((i*37)%10)/10
		fy := 0.1 + 0.8*float64((i*61)%10)/10
		zones = append(zones, muster.Zone{
			ID: "circle-" + string(rune('a'+i)), Center: offset(c, fx*sizeM, fy*sizeM),
			RadiusM: sizeM * (0.02 + 0.01*float64(i%4)), Risk: 0.1 * float64(1+i%9), Forbidden: i%3 == 0,
		})
	}
	for i := 0; i < 5; i++ {
		p := offset(c, sizeM*(0.15+0.15*float64(i)), sizeM*(0.8-0.15*float64(i)))
		s := sizeM * 0.06
		// A star-shaped polygon of 12 vertices with a hole.
		var outer, hole orb.Ring
		for k := 0; k < 12; k++ {
			a := 2 * math.Pi * float64(k) / 12
			r := s * (1 - 0.3*float64(k%2))
			outer = append(outer, offset(p, r*math.Cos(a), r*math.Sin(a)))
			hole = append(hole, offset(p, 0.2*s*math.Cos(-a), 0.2*s*math.Sin(-a)))
		}
		outer = append(outer, outer[0])
		hole = append(hole, hole[0])
		zones = append(zones, muster.Zone{
			ID: "polygon-" + string(rune('a'+i)), Polygon: orb.MultiPolygon{{outer, hole}},
			Risk: 0.3, Forbidden: i%2 == 1,
		})
	}
	return zones
}

// TestTouchTolerance: within TouchToleranceM of a zone is touching it, for
// Compute and CheckForbidden alike; twice that is not.
func TestTouchTolerance(t *testing.T) {
	c := kabul
	ring := square(c, 0, 0, 100, 100)
	zones := []muster.Zone{
		{Polygon: orb.MultiPolygon{{ring}}, Forbidden: true},
		{Center: offset(c, 500, 0), RadiusM: 50, Forbidden: true},
	}
	h := TouchToleranceM / 2 / math.Sqrt2 // half a tolerance, diagonally
	for _, tc := range []struct {
		name  string
		line  orb.LineString
		touch bool
	}{
		{"ends half a tolerance short of an edge", orb.LineString{offset(c, -50, 50), offset(c, -TouchToleranceM/2, 50)}, true},
		{"ends two tolerances short of an edge", orb.LineString{offset(c, -50, 50), offset(c, -2*TouchToleranceM, 50)}, false},
		{"passes half a tolerance from a corner", orb.LineString{offset(c, -h-50, -h+50), offset(c, -h+50, -h-50)}, true},
		{"passes two tolerances from a corner", orb.LineString{offset(c, -4*h-50, -4*h+50), offset(c, -4*h+50, -4*h-50)}, false},
		{"passes half a tolerance outside the circle", orb.LineString{offset(c, 400, 50+TouchToleranceM/2), offset(c, 600, 50+TouchToleranceM/2)}, true},
		{"passes two tolerances outside the circle", orb.LineString{offset(c, 400, 50+2*TouchToleranceM), offset(c, 600, 50+2*TouchToleranceM)}, false},
	} {
		var touches bool
		for zi := range zones {
			pz := prepare(&zones[zi])
			var pl []vec
			for _, p := range tc.line {
				pl = append(pl, pz.f.project(p[0], p[1]))
			}
			tz, _ := pz.touchesLine(pl, nil)
			touches = touches || tz
		}
		if touches != tc.touch {
			t.Errorf("%s: Compute's test says %v", tc.name, touches)
		}
		if got := len(CheckForbidden(tc.line, zones)) > 0; got != tc.touch {
			t.Errorf("%s: CheckForbidden says %v", tc.name, got)
		}
	}
}

// A zone that touches no arc (another city's, or open country) is named
// in Untouched; one that touches any is not; a zone meant to do nothing
// (no risk, not forbidden) is not a warning.
func TestUntouchedZones(t *testing.T) {
	c := kabul
	var b graphBuilder
	b.line(orb.LineString{offset(c, -300, 0), offset(c, 300, 0)}, 60_000)
	g, _ := b.build(t)
	zones := []muster.Zone{
		{ID: "on-the-road", Center: c, RadiusM: 50, Forbidden: true, Risk: 1},
		{ID: "porto", Center: orb.Point{-8.61, 41.15}, RadiusM: 500, Forbidden: true, Risk: 1},
		{ID: "open-country", Center: offset(c, 0, 2000), RadiusM: 100, Risk: 0.5},
		{ID: "harmless", Center: orb.Point{-8.61, 41.15}, RadiusM: 500},
	}
	eff, err := Compute(context.Background(), g, newBruteFinder(g), zones)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"porto", "open-country"}; !reflect.DeepEqual(eff.Untouched, want) {
		t.Fatalf("Untouched = %v, want %v", eff.Untouched, want)
	}
}
