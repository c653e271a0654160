package zonecost

import (
	"fmt"
	"math"
	"slices"

	"github.com/muster-evac/muster"
	"github.com/paulmach/orb"
)

// TouchToleranceM is how close, in metres, a line must come to a zone to
// touch it. Graph coordinates are stored to 1e-7° (about 1 cm); a millimetre
// absorbs the rounding of the projection without letting a road a
// centimetre away count as touching.
const TouchToleranceM = 0.001

// metresPerDegree is the length of one degree of latitude (and of longitude
// at the equator) on muster's sphere.
const metresPerDegree = muster.EarthRadiusM * math.Pi / 180

// vec is a point in a zone's local projection, in metres.
type vec struct{ x, y float64 }

func (a vec) sub(b vec) vec       { return vec{a.x - b.x, a.y - b.y} }
func (a vec) add(b vec) vec       { return vec{a.x + b.x, a.y + b.y} }
func (a vec) scale(s float64) vec { return vec{a.x * s, a.y * s} }
func (a vec) dot(b vec) float64   { return a.x*b.x + a.y*b.y }
func (a vec) cross(b vec) float64 { return a.x*b.y - a.y*b.x }
func (a vec) length() float64     { return math.Sqrt(a.x*a.x + a.y*a.y) }
func minf(a, b float64) float64   { return min(a, b) }
func maxf(a, b float64) float64   { return max(a, b) }
func clamp01(t float64) float64   { return max(0, min(1, t)) }

// frame is a zone's local equirectangular projection.
type frame struct{ lon0, lat0, kx, ky float64 }

func newFrame(lon0, lat0 float64) frame {
	c := math.Cos(lat0 * math.Pi / 180)
	if c < 1e-6 { // at a pole every longitude is one point; keep the map finite
		c = 1e-6
	}
	return frame{lon0: lon0, lat0: lat0, kx: metresPerDegree * c, ky: metresPerDegree}
}

// wrapDeg brings a longitude difference into [-180, 180).
func wrapDeg(d float64) float64 {
	if d >= -180 && d < 180 {
		return d
	}
	d = math.Mod(d+180, 360)
	if d < 0 {
		d += 360
	}
	return d - 180
}

func (f frame) project(lon, lat float64) vec {
	return vec{wrapDeg(lon-f.lon0) * f.kx, (lat - f.lat0) * f.ky}
}

// edge is one side of a polygon ring, with its bounding box.
type edge struct {
	a, b                   vec
	minX, minY, maxX, maxY float64
}

// preparedPolygon is one polygon of a zone (outer ring and holes), with its
// edges bucketed into horizontal bands so that a segment or a point meets
// only the edges near its latitude.
type preparedPolygon struct {
	edges                  []edge
	minX, minY, maxX, maxY float64
	bandY0, bandH          float64
	nb                     int     // number of bands
	bandFirst              []int32 // CSR: band i holds bandEdges[bandFirst[i]:bandFirst[i+1]]
	bandEdges              []int32
	stamp                  []uint32 // per edge: the query that last visited it
	query                  uint32
}

// preparedZone is a zone projected into its own frame, ready for many
// segment tests. It is not safe for concurrent use (the edge stamps).
type preparedZone struct {
	zone                   *muster.Zone
	f                      frame
	circle                 bool
	r                      float64
	polys                  []preparedPolygon
	minX, minY, maxX, maxY float64
}

// checkZone reports why a zone cannot be used, or nil. It is cheap: the
// self-intersection test of rings belongs to ReadGeoJSON.
func checkZone(z *muster.Zone) error {
	if math.IsNaN(z.Risk) || z.Risk < 0 || z.Risk > 1 {
		return fmt.Errorf("risk %v is outside 0..1", z.Risk)
	}
	if len(z.Polygon) == 0 {
		if !(z.RadiusM > 0) || math.IsInf(z.RadiusM, 0) {
			return fmt.Errorf("neither a polygon nor a circle with a positive radius (radius_m %v)", z.RadiusM)
		}
		if !muster.ValidLatLon(z.Center[1], z.Center[0]) {
			return fmt.Errorf("circle centre %v is not a valid lon/lat", z.Center)
		}
		return nil
	}
	for pi, poly := range z.Polygon {
		if len(poly) == 0 {
			return fmt.Errorf("polygon %d has no rings", pi)
		}
		for ri, ring := range poly {
			if len(ring) < 4 {
				return fmt.Errorf("polygon %d ring %d has %d positions, need at least 4", pi, ri, len(ring))
			}
			for vi, p := range ring {
				if !muster.ValidLatLon(p[1], p[0]) {
					return fmt.Errorf("polygon %d ring %d position %d %v is not a valid lon/lat", pi, ri, vi, p)
				}
			}
		}
	}
	return nil
}

// prepare projects a valid zone (see checkZone) into its frame.
func prepare(z *muster.Zone) *preparedZone {
	if z.IsCircle() {
		r := z.RadiusM
		return &preparedZone{zone: z, f: newFrame(z.Center[0], z.Center[1]), circle: true, r: r,
			minX: -r, minY: -r, maxX: r, maxY: r}
	}
	ref := z.Polygon[0][0][0]
	pz := &preparedZone{zone: z, f: newFrame(ref[0], ref[1]),
		minX: math.Inf(1), minY: math.Inf(1), maxX: math.Inf(-1), maxY: math.Inf(-1)}
	for _, poly := range z.Polygon {
		pp := preparePolygon(pz.f, poly)
		pz.minX, pz.minY = minf(pz.minX, pp.minX), minf(pz.minY, pp.minY)
		pz.maxX, pz.maxY = maxf(pz.maxX, pp.maxX), maxf(pz.maxY, pp.maxY)
		pz.polys = append(pz.polys, pp)
	}
	return pz
}

func preparePolygon(f frame, poly orb.Polygon) preparedPolygon {
	pp := preparedPolygon{minX: math.Inf(1), minY: math.Inf(1), maxX: math.Inf(-1), maxY: math.Inf(-1)}
	for _, ring := range poly {
		n := len(ring)
		// A ring that is not closed is closed implicitly; a closed one gets a
		// zero-length closing edge, which changes nothing.
		for i := 0; i < n; i++ {
			a := f.project(ring[i][0], ring[i][1])
			b := f.project(ring[(i+1)%n][0], ring[(i+1)%n][1])
			e := edge{a: a, b: b, minX: minf(a.x, b.x), minY: minf(a.y, b.y), maxX: maxf(a.x, b.x), maxY: maxf(a.y, b.y)}
			pp.edges = append(pp.edges, e)
			pp.minX, pp.minY = minf(pp.minX, e.minX), minf(pp.minY, e.minY)
			pp.maxX, pp.maxY = maxf(pp.maxX, e.maxX), maxf(pp.maxY, e.maxY)
		}
	}
	pp.stamp = make([]uint32, len(pp.edges))

	// About two edges per band keeps a band scan short; a band's edges are
	// those whose y-extent, widened by the tolerance, overlaps it.
	nb := len(pp.edges) / 2
	nb = max(1, min(nb, 4096))
	pp.nb = nb
	pp.bandY0 = pp.minY - TouchToleranceM
	pp.bandH = (pp.maxY - pp.minY + 2*TouchToleranceM) / float64(nb)
	if !(pp.bandH > 0) {
		pp.bandH = 1
	}
	counts := make([]int32, nb+1)
	for _, e := range pp.edges {
		b0, b1 := pp.bandRange(e.minY-TouchToleranceM, e.maxY+TouchToleranceM)
		for b := b0; b <= b1; b++ {
			counts[b+1]++
		}
	}
	for b := 1; b <= nb; b++ {
		counts[b] += counts[b-1]
	}
	pp.bandFirst = counts
	pp.bandEdges = make([]int32, counts[nb])
	fill := append([]int32(nil), counts[:nb]...)
	for i, e := range pp.edges {
		b0, b1 := pp.bandRange(e.minY-TouchToleranceM, e.maxY+TouchToleranceM)
		for b := b0; b <= b1; b++ {
			pp.bandEdges[fill[b]] = int32(i)
			fill[b]++
		}
	}
	return pp
}

// bandRange returns the bands overlapping y0..y1, clamped to the index.
func (pp *preparedPolygon) bandRange(y0, y1 float64) (int, int) {
	nb := pp.nb
	b0 := int(math.Floor((y0 - pp.bandY0) / pp.bandH))
	b1 := int(math.Floor((y1 - pp.bandY0) / pp.bandH))
	return max(0, min(b0, nb-1)), max(0, min(b1, nb-1))
}

// bandOf returns the edges of the band holding y, or nil outside the index.
func (pp *preparedPolygon) bandOf(y float64) []int32 {
	b := math.Floor((y - pp.bandY0) / pp.bandH)
	if !(b >= 0 && b < float64(pp.nb)) {
		return nil
	}
	return pp.bandEdges[pp.bandFirst[int(b)]:pp.bandFirst[int(b)+1]]
}

// distToSegment is the distance from p to the segment ab.
func distToSegment(p, a, b vec) float64 {
	ab := b.sub(a)
	l2 := ab.dot(ab)
	if l2 == 0 {
		return p.sub(a).length()
	}
	t := clamp01(p.sub(a).dot(ab) / l2)
	return p.sub(a.add(ab.scale(t))).length()
}

// evenOdd reports whether p is strictly inside the polygon by the even-odd
// rule over all its rings (outer and holes).
func (pp *preparedPolygon) evenOdd(p vec) bool {
	in := false
	for _, ei := range pp.bandOf(p.y) {
		e := &pp.edges[ei]
		if (e.a.y > p.y) != (e.b.y > p.y) {
			xi := e.a.x + (p.y-e.a.y)*(e.b.x-e.a.x)/(e.b.y-e.a.y)
			if p.x < xi {
				in = !in
			}
		}
	}
	return in
}

// onBoundary reports whether p lies within the tolerance of a ring.
func (pp *preparedPolygon) onBoundary(p vec) bool {
	for _, ei := range pp.bandOf(p.y) {
		e := &pp.edges[ei]
		if p.x < e.minX-TouchToleranceM || p.x > e.maxX+TouchToleranceM {
			continue
		}
		if distToSegment(p, e.a, e.b) <= TouchToleranceM {
			return true
		}
	}
	return false
}

// containsOrOn reports whether p (projected) is in the zone, boundary included.
func (pz *preparedZone) containsOrOn(p vec) bool {
	if pz.circle {
		return p.length() <= pz.r+TouchToleranceM
	}
	for i := range pz.polys {
		pp := &pz.polys[i]
		if p.x < pp.minX-TouchToleranceM || p.x > pp.maxX+TouchToleranceM ||
			p.y < pp.minY-TouchToleranceM || p.y > pp.maxY+TouchToleranceM {
			continue
		}
		if pp.evenOdd(p) || pp.onBoundary(p) {
			return true
		}
	}
	return false
}

// clipSegment measures the segment p→q against the zone: the length of it
// inside the zone (boundary included) and whether it touches the zone at
// all. ts is scratch space, returned for reuse.
func (pz *preparedZone) clipSegment(p, q vec, ts []float64) (inside float64, touches bool, _ []float64) {
	tol := TouchToleranceM
	if maxf(p.x, q.x) < pz.minX-tol || minf(p.x, q.x) > pz.maxX+tol ||
		maxf(p.y, q.y) < pz.minY-tol || minf(p.y, q.y) > pz.maxY+tol {
		return 0, false, ts
	}
	d := q.sub(p)
	l2 := d.dot(d)
	if l2 == 0 {
		return 0, pz.containsOrOn(p), ts
	}
	if pz.circle {
		in, t := clipCircle(p, d, l2, pz.r)
		return in, t, ts
	}
	// The zone is the union of its polygons (the threat picture's members
	// may overlap): split the segment at every crossing of every ring, and
	// count a piece as inside when its midpoint is in any polygon.
	segLen := math.Sqrt(l2)
	ts = append(ts[:0], 0, 1)
	for i := range pz.polys {
		var polyTouch bool
		ts, polyTouch = pz.polys[i].crossings(p, q, d, l2, segLen, ts)
		touches = touches || polyTouch
	}
	if len(ts) == 2 && !touches && !pz.containsOrOn(p) {
		return 0, false, ts // meets no ring and starts outside: wholly outside
	}
	insertionSort(ts)
	for k := 0; k+1 < len(ts); k++ {
		dt := ts[k+1] - ts[k]
		if dt <= 0 {
			continue
		}
		if pz.containsOrOn(p.add(d.scale((ts[k] + ts[k+1]) / 2))) {
			inside += dt * segLen
		}
	}
	return minf(inside, segLen), touches || inside > 0, ts
}

// clipCircle solves |p + t·d| = r for t: the segment is inside between the
// two roots, and touches the circle when the roots for r + tolerance exist
// and overlap 0..1.
func clipCircle(p, d vec, l2, r float64) (inside float64, touches bool) {
	b := p.dot(d) // half of the linear coefficient
	c := p.dot(p) - r*r
	disc := b*b - l2*c
	if disc >= 0 {
		s := math.Sqrt(disc)
		t0, t1 := (-b-s)/l2, (-b+s)/l2
		inside = maxf(0, clamp01(t1)-clamp01(t0)) * math.Sqrt(l2)
		if t1 >= 0 && t0 <= 1 {
			return inside, true
		}
	}
	rt := r + TouchToleranceM
	discT := b*b - l2*(p.dot(p)-rt*rt)
	if discT < 0 {
		return inside, false
	}
	s := math.Sqrt(discT)
	t0, t1 := (-b-s)/l2, (-b+s)/l2
	return inside, t1 >= 0 && t0 <= 1
}

// crossings appends to ts the parameters along p→q (direction d, squared
// length l2) where the segment crosses or runs along one of the polygon's
// rings, and reports whether it comes within the tolerance of any ring.
func (pp *preparedPolygon) crossings(p, q, d vec, l2, segLen float64, ts []float64) ([]float64, bool) {
	tol := TouchToleranceM
	sMinX, sMaxX := minf(p.x, q.x)-tol, maxf(p.x, q.x)+tol
	sMinY, sMaxY := minf(p.y, q.y)-tol, maxf(p.y, q.y)+tol
	if sMaxX < pp.minX || sMinX > pp.maxX || sMaxY < pp.minY || sMinY > pp.maxY {
		return ts, false
	}
	touches := false
	pp.query++
	if pp.query == 0 { // wrapped: old stamps could collide
		clear(pp.stamp)
		pp.query = 1
	}
	b0, b1 := pp.bandRange(sMinY, sMaxY)
	for _, ei := range pp.bandEdges[pp.bandFirst[b0]:pp.bandFirst[b1+1]] {
		if pp.stamp[ei] == pp.query {
			continue
		}
		pp.stamp[ei] = pp.query
		e := &pp.edges[ei]
		if e.maxX < sMinX || e.minX > sMaxX || e.maxY < sMinY || e.minY > sMaxY {
			continue
		}
		s := e.b.sub(e.a)
		w := e.a.sub(p)
		den := d.cross(s)
		sl2 := s.dot(s)
		if math.Abs(den) > 1e-12*math.Sqrt(l2*sl2) {
			t := w.cross(s) / den
			u := w.cross(d) / den
			if t >= 0 && t <= 1 && u >= 0 && u <= 1 {
				ts = append(ts, t)
				touches = true
				continue
			}
		} else if math.Abs(w.cross(d)) <= tol*segLen {
			// Parallel and on the same line: the overlap, if any, runs
			// along the boundary; its ends split the segment.
			ta, tb := w.dot(d)/l2, e.b.sub(p).dot(d)/l2
			if maxf(minf(ta, tb), 0) <= minf(maxf(ta, tb), 1) {
				ts = append(ts, clamp01(ta), clamp01(tb))
				touches = true
				continue
			}
		}
		if !touches && (distToSegment(e.a, p, q) <= tol || distToSegment(e.b, p, q) <= tol ||
			distToSegment(p, e.a, e.b) <= tol || distToSegment(q, e.a, e.b) <= tol) {
			touches = true
		}
	}
	return ts, touches
}

// insertionSort sorts the few crossing parameters of one segment; they are
// almost always a handful, where this beats the general sort.
func insertionSort(a []float64) {
	if len(a) > 32 {
		slices.Sort(a)
		return
	}
	for i := 1; i < len(a); i++ {
		v := a[i]
		j := i
		for j > 0 && a[j-1] > v {
			a[j] = a[j-1]
			j--
		}
		a[j] = v
	}
}
