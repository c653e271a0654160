package zonecost

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/muster-evac/muster"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// snap puts a point on the graph's fixed-point grid, so that arcs can share
// vertices with zones exactly.
func snap(p orb.Point) orb.Point {
	return orb.Point{float64(fixed(p[0])) / 1e7, float64(fixed(p[1])) / 1e7}
}

// randomStar is a star-shaped ring around c: valid (simple) by construction.
func randomStar(rng *rand.Rand, c orb.Point, rMin, rMax float64, n int, clockwise bool) orb.Ring {
	ring := make(orb.Ring, 0, n+1)
	for k := 0; k < n; k++ {
		a := 2 * math.Pi * (float64(k) + 0.8*rng.Float64()) / float64(n)
		if clockwise {
			a = -a
		}
		r := rMin + (rMax-rMin)*rng.Float64()
		ring = append(ring, snap(offset(c, r*math.Cos(a), r*math.Sin(a))))
	}
	return append(ring, ring[0])
}

func randomZones(rng *rand.Rand, c orb.Point, size float64, n int) []muster.Zone {
	var zones []muster.Zone
	for i := 0; i < n; i++ {
		z := muster.Zone{Forbidden: rng.IntN(2) == 0, Risk: rng.Float64()}
		at := snap(offset(c, size*rng.Float64(), size*rng.Float64()))
		switch rng.IntN(3) {
		case 0:
			z.Center, z.RadiusM = at, 20+300*rng.Float64()
		case 1:
			r := 50 + 300*rng.Float64()
			n := 3 + rng.IntN(15)
			poly := orb.Polygon{randomStar(rng, at, 0.5*r, r, n, false)}
			// With 8 or more vertices no angular gap exceeds 81°, so the
			// outer ring keeps 0.5r·cos(40.5°) > 0.3r clear of the centre
			// and a hole within 0.3r is inside it.
			if n >= 8 && rng.IntN(2) == 0 {
				poly = append(poly, randomStar(rng, at, 0.1*r, 0.3*r, 3+rng.IntN(6), true))
			}
			z.Polygon = orb.MultiPolygon{poly}
		default:
			r := 40 + 100*rng.Float64()
			z.Polygon = orb.MultiPolygon{
				{randomStar(rng, at, 0.5*r, r, 3+rng.IntN(8), false)},
				// Members may overlap, as the threat picture's do.
				{randomStar(rng, offset(at, (0.5+2.5*rng.Float64())*r, 0), 0.5*r, r, 3+rng.IntN(8), false)},
			}
		}
		zones = append(zones, z)
	}
	return zones
}

// randomLine is a polyline of 1 to 5 points, sometimes with repeated points
// or points taken from the zones' own vertices, so that touching, running
// along a boundary and zero-length segments come up often.
func randomLine(rng *rand.Rand, c orb.Point, size float64, zones []muster.Zone) orb.LineString {
	n := 1 + rng.IntN(5)
	if rng.IntN(10) > 0 {
		n = max(n, 2)
	}
	var line orb.LineString
	p := offset(c, size*rng.Float64(), size*rng.Float64())
	for k := 0; k < n; k++ {
		switch r := rng.IntN(10); {
		case r == 0 && k > 0:
			// a repeated point: a zero-length segment
		case r == 1:
			z := zones[rng.IntN(len(zones))]
			if len(z.Polygon) > 0 {
				ring := z.Polygon[rng.IntN(len(z.Polygon))][0]
				p = ring[rng.IntN(len(ring))]
			}
		default:
			step := 1000 * rng.Float64()
			a := 2 * math.Pi * rng.Float64()
			p = offset(p, step*math.Cos(a), step*math.Sin(a))
		}
		line = append(line, snap(p))
	}
	return line
}

// TestComputeAgreesWithChecker: on thousands of random arcs and random
// zones, Compute's Forbidden flags and forbidden nodes are exactly what the
// independent checker finds.
func TestComputeAgreesWithChecker(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const size = 3000.0
	totalForbidden, totalArcs := 0, 0
	for round := 0; round < 6; round++ {
		zones := randomZones(rng, kabul, size, 4+rng.IntN(12))
		var b graphBuilder
		var lines []orb.LineString
		for i := 0; i < 1000; i++ {
			l := randomLine(rng, kabul, size, zones)
			lines = append(lines, l)
			b.line(l, uint32(1000+rng.IntN(100_000)))
		}
		g, ids := b.build(t)
		eff, err := Compute(context.Background(), g, newBruteFinder(g), zones)
		if err != nil {
			t.Fatal(err)
		}
		forbidden := map[uint32]bool{}
		for _, e := range eff.Arcs {
			if e.Forbidden {
				forbidden[e.Arc] = true
			}
		}
		tails := g.Tails()
		for i := range lines {
			a := ids[i]
			line := g.ArcGeometry(nil, tails[a], a)
			crossings := CheckForbidden(line, zones)
			if got, want := forbidden[a], len(crossings) > 0; got != want {
				t.Errorf("round %d arc %d %v: Compute forbidden=%v, checker %v", round, a, line, got, crossings)
			}
			for _, x := range crossings {
				if !zones[x.Zone].Forbidden || x.Segment < 0 || x.Segment >= max(1, len(line)-1) {
					t.Errorf("round %d arc %d: bad crossing %+v", round, a, x)
				}
			}
		}
		for u := 0; u < g.NumNodes(); u++ {
			_, got := slices.BinarySearch(eff.ForbiddenNodes, uint32(u))
			want := len(CheckForbidden(orb.LineString{g.NodePoint(uint32(u))}, zones)) > 0
			if got != want {
				t.Errorf("round %d node %d at %v: Compute forbidden=%v, checker %v", round, u, g.NodePoint(uint32(u)), got, want)
			}
		}
		totalForbidden += len(forbidden)
		totalArcs += len(lines)
	}
	// The test must exercise both outcomes in earnest.
	if totalForbidden < totalArcs/10 || totalForbidden > totalArcs*9/10 {
		t.Fatalf("%d of %d random arcs forbidden: the generator is off", totalForbidden, totalArcs)
	}
	t.Logf("%d of %d random arcs forbidden", totalForbidden, totalArcs)
}

// TestExposureAgreesWithSampling compares Compute's exposure with the share
// of dense samples along each arc that orb/planar (or the distance to the
// centre) puts inside each risky zone.
func TestExposureAgreesWithSampling(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const size = 3000.0
	const samples = 2000
	zones := randomZones(rng, kabul, size, 12)
	for i := range zones {
		zones[i].Forbidden = false
	}
	var b graphBuilder
	var lines []orb.LineString
	for i := 0; i < 400; i++ {
		l := randomLine(rng, kabul, size, zones)
		if len(l) < 2 {
			l = append(l, offset(l[0], 500, 0))
		}
		lines = append(lines, l)
		b.line(l, 60_000)
	}
	g, ids := b.build(t)
	eff, err := Compute(context.Background(), g, newBruteFinder(g), zones)
	if err != nil {
		t.Fatal(err)
	}
	exposure := map[uint32]float64{}
	for _, e := range eff.Arcs {
		exposure[e.Arc] = e.Exposure
	}
	tails := g.Tails()
	exposed := 0
	for i := range lines {
		a := ids[i]
		line := g.ArcGeometry(nil, tails[a], a)
		want, tol := 0.0, 1e-9
		for _, z := range zones {
			zb := z.Bound()
			zb = zb.Pad(0.1 * (zb.Max[1] - zb.Min[1]))
			if !line.Bound().Intersects(zb) {
				continue
			}
			want += z.Risk * 60 * sampledFraction(line, z, samples)
			// A boundary crossing can be off by one sample; few arcs cross
			// a zone's boundary more than a handful of times.
			tol += z.Risk * 60 * 10 / samples
		}
		if math.Abs(exposure[a]-want) > tol {
			t.Errorf("arc %d %v: exposure %v, sampling says %v", a, line, exposure[a], want)
		}
		if want > 0 {
			exposed++
		}
	}
	if exposed < len(lines)/5 {
		t.Fatalf("only %d of %d arcs exposed: the generator is off", exposed, len(lines))
	}
}

// sampledFraction estimates the share of line's length inside z from
// samples at the midpoints of equal steps along it, in a map local to z.
func sampledFraction(line orb.LineString, z muster.Zone, samples int) float64 {
	ref := z.Center
	if len(z.Polygon) > 0 {
		ref = z.Polygon[0][0][0]
	}
	kx := metresPerDegree * math.Cos(ref[1]*math.Pi/180)
	toM := func(p orb.Point) orb.Point { return orb.Point{(p[0] - ref[0]) * kx, (p[1] - ref[1]) * metresPerDegree} }
	pts := make([]orb.Point, len(line))
	cum := make([]float64, len(line))
	for i, p := range line {
		pts[i] = toM(p)
		if i > 0 {
			cum[i] = cum[i-1] + planar.Distance(pts[i-1], pts[i])
		}
	}
	total := cum[len(cum)-1]
	var mp orb.MultiPolygon
	for _, poly := range z.Polygon {
		var lp orb.Polygon
		for _, ring := range poly {
			var lr orb.Ring
			for _, p := range ring {
				lr = append(lr, toM(p))
			}
			lp = append(lp, lr)
		}
		mp = append(mp, lp)
	}
	inside := func(p orb.Point) bool {
		if len(mp) > 0 {
			return planar.MultiPolygonContains(mp, p)
		}
		return math.Hypot(p[0], p[1]) <= z.RadiusM
	}
	if total == 0 {
		if inside(pts[0]) {
			return 1
		}
		return 0
	}
	in, seg := 0, 0
	for s := 0; s < samples; s++ {
		d := (float64(s) + 0.5) / float64(samples) * total
		for seg+2 < len(cum) && cum[seg+1] < d {
			seg++
		}
		l := cum[seg+1] - cum[seg]
		f := 0.0
		if l > 0 {
			f = (d - cum[seg]) / l
		}
		p := orb.Point{pts[seg][0] + f*(pts[seg+1][0]-pts[seg][0]), pts[seg][1] + f*(pts[seg+1][1]-pts[seg][1])}
		if inside(p) {
			in++
		}
	}
	return float64(in) / float64(samples)
}
