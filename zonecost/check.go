package zonecost

import (
	"math"
	"sort"

	"github.com/muster-evac/muster"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// This file is the independent checker. It deliberately shares no code with
// Compute (prepare.go, compute.go): different projection helpers, different
// tests. Only the definitions agree: the circle is a disc in the zone-centred
// equirectangular projection, zones are closed, and a line within
// TouchToleranceM of a zone touches it.

// Crossing is one place where a line touches a forbidden zone.
type Crossing struct {
	Zone    int       // index into the zones given
	Segment int       // the line's segment line[Segment]→line[Segment+1] (0 for a one-point line)
	Point   orb.Point // lon/lat of the first point of that segment in the zone
}

// CheckForbidden returns every (zone, segment) where line touches a
// forbidden zone, ordered by segment then zone; nil when the line stays
// clear of all of them. Zones that are not forbidden are ignored.
func CheckForbidden(line orb.LineString, zones []muster.Zone) []Crossing {
	if len(line) == 0 {
		return nil
	}
	var out []Crossing
	for zi := range zones {
		z := &zones[zi]
		if !z.Forbidden {
			continue
		}
		if len(z.Polygon) > 0 {
			out = append(out, checkPolygon(zi, line, z.Polygon)...)
		} else if z.RadiusM > 0 {
			out = append(out, checkCircle(zi, line, z.Center, z.RadiusM)...)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Segment != out[j].Segment {
			return out[i].Segment < out[j].Segment
		}
		return out[i].Zone < out[j].Zone
	})
	return out
}

// localMap is an equirectangular map around ref, in metres.
type localMap struct {
	ref    orb.Point
	mx, my float64
}

func newLocalMap(ref orb.Point) localMap {
	my := muster.EarthRadiusM * math.Pi / 180
	c := math.Cos(ref[1] / 180 * math.Pi)
	if c < 1e-6 {
		c = 1e-6
	}
	return localMap{ref: ref, mx: my * c, my: my}
}

// toMetres maps a lon/lat point; longitudes are taken the short way round
// from ref, so lines across the antimeridian stay contiguous.
func (m localMap) toMetres(p orb.Point) orb.Point {
	dl := math.Remainder(p[0]-m.ref[0], 360)
	return orb.Point{dl * m.mx, (p[1] - m.ref[1]) * m.my}
}

func (m localMap) toLonLat(p orb.Point) orb.Point {
	lon := m.ref[0] + p[0]/m.mx
	if lon > 180 {
		lon -= 360
	} else if lon < -180 {
		lon += 360
	}
	return orb.Point{lon, m.ref[1] + p[1]/m.my}
}

// checkCircle finds, for each segment, its closest approach to the centre.
func checkCircle(zi int, line orb.LineString, center orb.Point, r float64) []Crossing {
	m := newLocalMap(center)
	var out []Crossing
	reach := r + TouchToleranceM
	if len(line) == 1 {
		if p := m.toMetres(line[0]); math.Hypot(p[0], p[1]) <= reach {
			out = append(out, Crossing{Zone: zi, Segment: 0, Point: line[0]})
		}
		return out
	}
	for i := 0; i+1 < len(line); i++ {
		a, b := m.toMetres(line[i]), m.toMetres(line[i+1])
		if math.Hypot(a[0], a[1]) <= reach {
			out = append(out, Crossing{Zone: zi, Segment: i, Point: line[i]})
			continue
		}
		dx, dy := b[0]-a[0], b[1]-a[1]
		l2 := dx*dx + dy*dy
		if l2 == 0 {
			continue
		}
		// Closest point of the segment to the centre (the origin).
		t := -(a[0]*dx + a[1]*dy) / l2
		t = math.Max(0, math.Min(1, t))
		cx, cy := a[0]+t*dx, a[1]+t*dy
		dist := math.Hypot(cx, cy)
		if dist > reach {
			continue
		}
		// Walk back from the closest point to where the segment enters.
		if dist < r {
			t -= math.Sqrt(r*r-dist*dist) / math.Sqrt(l2)
			t = math.Max(0, t)
			cx, cy = a[0]+t*dx, a[1]+t*dy
		}
		out = append(out, Crossing{Zone: zi, Segment: i, Point: m.toLonLat(orb.Point{cx, cy})})
	}
	return out
}

// checkPolygon tests every line segment against every ring edge with
// orientation predicates, and every line vertex with orb/planar.
func checkPolygon(zi int, line orb.LineString, mp orb.MultiPolygon) []Crossing {
	m := newLocalMap(line[0])
	local := make(orb.MultiPolygon, len(mp))
	for pi, poly := range mp {
		local[pi] = make(orb.Polygon, len(poly))
		for ri, ring := range poly {
			lr := make(orb.Ring, len(ring))
			for k, p := range ring {
				lr[k] = m.toMetres(p)
			}
			local[pi][ri] = lr
		}
	}
	pts := make([]orb.Point, len(line))
	for i, p := range line {
		pts[i] = m.toMetres(p)
	}
	inOrOn := func(p orb.Point) bool {
		for _, poly := range local {
			if len(poly) > 0 && len(poly[0]) > 0 && planar.PolygonContains(poly, p) {
				return true
			}
			for _, ring := range poly {
				for k := range ring {
					if pointSegmentDistance(p, ring[k], ring[(k+1)%len(ring)]) <= TouchToleranceM {
						return true
					}
				}
			}
		}
		return false
	}
	var out []Crossing
	if len(pts) == 1 {
		if inOrOn(pts[0]) {
			out = append(out, Crossing{Zone: zi, Segment: 0, Point: line[0]})
		}
		return out
	}
	for i := 0; i+1 < len(pts); i++ {
		a, b := pts[i], pts[i+1]
		if inOrOn(a) {
			out = append(out, Crossing{Zone: zi, Segment: i, Point: line[i]})
			continue
		}
		// Starting outside, the segment is in the zone somewhere only if it
		// meets the boundary; the first meeting is where it enters.
		bestT, found := math.Inf(1), false
		for _, poly := range local {
			for _, ring := range poly {
				for k := range ring {
					c, d := ring[k], ring[(k+1)%len(ring)]
					if t, ok := segmentsMeet(a, b, c, d); ok && t < bestT {
						bestT, found = t, true
					}
				}
			}
		}
		if found {
			out = append(out, Crossing{Zone: zi, Segment: i, Point: m.toLonLat(orb.Point{a[0] + bestT*(b[0]-a[0]), a[1] + bestT*(b[1]-a[1])})})
		}
	}
	return out
}

// orientation is twice the signed area of the triangle pqr.
func orientation(p, q, r orb.Point) float64 {
	return (q[0]-p[0])*(r[1]-p[1]) - (q[1]-p[1])*(r[0]-p[0])
}

// segmentsMeet reports whether segment ab comes within the tolerance of
// segment cd, and the parameter along ab of the meeting point.
func segmentsMeet(a, b, c, d orb.Point) (float64, bool) {
	o1, o2 := orientation(a, b, c), orientation(a, b, d)
	o3, o4 := orientation(c, d, a), orientation(c, d, b)
	if ((o1 > 0 && o2 < 0) || (o1 < 0 && o2 > 0)) && ((o3 > 0 && o4 < 0) || (o3 < 0 && o4 > 0)) {
		// A proper crossing: the parameter from the areas on either side of cd.
		return o3 / (o3 - o4), true
	}
	best, ok := math.Inf(1), false
	abx, aby := b[0]-a[0], b[1]-a[1]
	l2 := abx*abx + aby*aby
	for _, p := range []orb.Point{c, d} {
		if pointSegmentDistance(p, a, b) <= TouchToleranceM {
			t := 0.0
			if l2 > 0 {
				t = math.Max(0, math.Min(1, ((p[0]-a[0])*abx+(p[1]-a[1])*aby)/l2))
			}
			best, ok = math.Min(best, t), true
		}
	}
	if pointSegmentDistance(a, c, d) <= TouchToleranceM {
		best, ok = 0, true
	}
	if pointSegmentDistance(b, c, d) <= TouchToleranceM {
		best, ok = math.Min(best, 1), true
	}
	return best, ok
}

func pointSegmentDistance(p, a, b orb.Point) float64 {
	abx, aby := b[0]-a[0], b[1]-a[1]
	l2 := abx*abx + aby*aby
	t := 0.0
	if l2 > 0 {
		t = math.Max(0, math.Min(1, ((p[0]-a[0])*abx+(p[1]-a[1])*aby)/l2))
	}
	return math.Hypot(p[0]-(a[0]+t*abx), p[1]-(a[1]+t*aby))
}
