package citygen

import "math"

// vec is a point or direction in the city's local plane: metres east (X)
// and north (Y) of the centre. All layout happens in this plane; only the
// final OSM output is projected to lon/lat.
type vec struct{ X, Y float64 }

func (a vec) add(b vec) vec             { return vec{a.X + b.X, a.Y + b.Y} }
func (a vec) sub(b vec) vec             { return vec{a.X - b.X, a.Y - b.Y} }
func (a vec) mul(k float64) vec         { return vec{a.X * k, a.Y * k} }
func (a vec) dot(b vec) float64         { return a.X*b.X + a.Y*b.Y }
func (a vec) cross(b vec) float64       { return a.X*b.Y - a.Y*b.X }
func (a vec) len() float64              { return math.Hypot(a.X, a.Y) }
func (a vec) dist(b vec) float64        { return math.Hypot(a.X-b.X, a.Y-b.Y) }
func (a vec) lerp(b vec, t float64) vec { return vec{a.X + (b.X-a.X)*t, a.Y + (b.Y-a.Y)*t} }

func (a vec) unit() vec {
	l := a.len()
	if l == 0 {
		return vec{}
	}
	return vec{a.X / l, a.Y / l}
}

// perp is a rotated 90 degrees counter-clockwise.
func (a vec) perp() vec { return vec{-a.Y, a.X} }

func polar(r, theta float64) vec { return vec{r * math.Cos(theta), r * math.Sin(theta)} }

// projectOnSegment returns the parameter s in [0,1] of the point of segment
// ab nearest to p, and that point.
func projectOnSegment(p, a, b vec) (float64, vec) {
	d := b.sub(a)
	l2 := d.dot(d)
	if l2 == 0 {
		return 0, a
	}
	s := p.sub(a).dot(d) / l2
	s = math.Max(0, math.Min(1, s))
	return s, a.add(d.mul(s))
}

// segmentIntersection reports where segments ab and cd cross: the
// parameters along each (0..1) and the point. Parallel segments never cross.
func segmentIntersection(a, b, c, d vec) (s, t float64, p vec, ok bool) {
	r := b.sub(a)
	q := d.sub(c)
	den := r.cross(q)
	if math.Abs(den) < 1e-12 {
		return 0, 0, vec{}, false
	}
	ac := c.sub(a)
	s = ac.cross(q) / den
	t = ac.cross(r) / den
	if s < 0 || s > 1 || t < 0 || t > 1 {
		return 0, 0, vec{}, false
	}
	return s, t, a.add(r.mul(s)), true
}

// polyline is an open or closed chain of points.
type polyline []vec

// distTo returns the distance from p to the polyline, the index of the
// nearest segment and the nearest point.
func (pl polyline) distTo(p vec) (float64, int, vec) {
	best, bi, bp := math.Inf(1), -1, vec{}
	for i := 0; i+1 < len(pl); i++ {
		_, q := projectOnSegment(p, pl[i], pl[i+1])
		if d := q.dist(p); d < best {
			best, bi, bp = d, i, q
		}
	}
	return best, bi, bp
}

// crossings returns every point where segment ab crosses the polyline,
// with the parameter along ab.
func (pl polyline) crossings(a, b vec) []float64 {
	var out []float64
	for i := 0; i+1 < len(pl); i++ {
		if s, _, _, ok := segmentIntersection(a, b, pl[i], pl[i+1]); ok {
			out = append(out, s)
		}
	}
	return out
}

// densify returns the polyline with extra points so that no segment is
// longer than step.
func (pl polyline) densify(step float64) polyline {
	if len(pl) < 2 {
		return pl
	}
	out := polyline{pl[0]}
	for i := 0; i+1 < len(pl); i++ {
		n := int(math.Ceil(pl[i].dist(pl[i+1]) / step))
		for k := 1; k <= n; k++ {
			out = append(out, pl[i].lerp(pl[i+1], float64(k)/float64(n)))
		}
	}
	return out
}

// ring is a closed polygon boundary (first point not repeated).
type ring []vec

func (r ring) contains(p vec) bool {
	in := false
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		a, b := r[i], r[j]
		if (a.Y > p.Y) != (b.Y > p.Y) && p.X < (b.X-a.X)*(p.Y-a.Y)/(b.Y-a.Y)+a.X {
			in = !in
		}
	}
	return in
}

// closed returns the ring as a closed polyline.
func (r ring) closed() polyline {
	out := make(polyline, 0, len(r)+1)
	out = append(out, r...)
	return append(out, r[0])
}

// distTo returns the distance from p to the ring's boundary.
func (r ring) distTo(p vec) float64 {
	d, _, _ := r.closed().distTo(p)
	return d
}

// segmentTouches reports whether segment ab enters the area within margin
// metres of the ring (inside it or near its boundary).
func (r ring) segmentTouches(a, b vec, margin float64) bool {
	if r.contains(a) || r.contains(b) {
		return true
	}
	cl := r.closed()
	if len(cl.crossings(a, b)) > 0 {
		return true
	}
	if margin <= 0 {
		return false
	}
	// Nearest approach between the segment and the boundary: it is at an
	// endpoint of one of the two.
	for i := 0; i+1 < len(cl); i++ {
		if _, q := projectOnSegment(cl[i], a, b); q.dist(cl[i]) < margin {
			return true
		}
	}
	if d, _, _ := cl.distTo(a); d < margin {
		return true
	}
	if d, _, _ := cl.distTo(b); d < margin {
		return true
	}
	return false
}

// offsetOutward returns the counter-clockwise ring pushed out by d metres,
// each vertex moved along the bisector of its two edges' outward normals.
func (r ring) offsetOutward(d float64) ring {
	n := len(r)
	out := make(ring, n)
	for i := range r {
		prev, next := r[(i+n-1)%n], r[(i+1)%n]
		// For a counter-clockwise ring the outward normal of edge a->b is
		// (b-a) rotated clockwise.
		n1 := r[i].sub(prev).unit()
		n1 = vec{n1.Y, -n1.X}
		n2 := next.sub(r[i]).unit()
		n2 = vec{n2.Y, -n2.X}
		bis := n1.add(n2).unit()
		cosHalf := bis.dot(n1)
		if cosHalf < 0.3 {
			cosHalf = 0.3
		}
		out[i] = r[i].add(bis.mul(d / cosHalf))
	}
	return out
}

// signedArea is positive for a counter-clockwise ring.
func (r ring) signedArea() float64 {
	a := 0.0
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		a += r[j].cross(r[i])
	}
	return a / 2
}
