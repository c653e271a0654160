package zonecost

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// checkSimpleRing rejects a closed ring that touches or crosses itself.
// Repeated consecutive positions are allowed (they add no edge).
//
// Edges are swept in order of their smallest longitude; each is compared
// only with the edges whose longitude range overlaps its own, and of those
// only the ones whose latitude range overlaps too get the exact test. That
// is O(n log n) for ordinary rings; a ring built to defeat it (a comb of
// long teeth) costs n²/2 box comparisons, under a tenth of a second at
// MaxRingVertices, which is why that limit exists.
func checkSimpleRing(ring orb.Ring) error {
	// Distinct consecutive vertices; the closing position is dropped.
	vs := make([]orb.Point, 0, len(ring))
	for _, p := range ring[:len(ring)-1] {
		if len(vs) == 0 || vs[len(vs)-1] != p {
			vs = append(vs, p)
		}
	}
	for len(vs) > 1 && vs[len(vs)-1] == vs[0] {
		vs = vs[:len(vs)-1]
	}
	n := len(vs)
	if n < 3 {
		return fmt.Errorf("has %d distinct positions, need at least 3", n)
	}
	// Neighbouring edges share a vertex and can meet nowhere else unless
	// they fold back over each other (a spike).
	for i := 0; i < n; i++ {
		p, q, r := vs[i], vs[(i+1)%n], vs[(i+2)%n]
		if cross3(p, q, r) == 0 && (q[0]-p[0])*(r[0]-q[0])+(q[1]-p[1])*(r[1]-q[1]) < 0 {
			return fmt.Errorf("folds back on itself at position %v", q)
		}
	}
	type ringEdge struct {
		minX, maxX, minY, maxY float64
		i                      int
	}
	edges := make([]ringEdge, n)
	for i := range edges {
		a, b := vs[i], vs[(i+1)%n]
		edges[i] = ringEdge{math.Min(a[0], b[0]), math.Max(a[0], b[0]), math.Min(a[1], b[1]), math.Max(a[1], b[1]), i}
	}
	slices.SortFunc(edges, func(a, b ringEdge) int { return cmp.Compare(a.minX, b.minX) })
	for k := range edges {
		e := &edges[k]
		for l := k + 1; l < len(edges); l++ {
			f := &edges[l]
			if f.minX > e.maxX {
				break
			}
			if f.maxY < e.minY || f.minY > e.maxY {
				continue
			}
			if d := f.i - e.i; d == 1 || d == -1 || d == n-1 || d == 1-n {
				continue // neighbours, checked above
			}
			a, b := vs[e.i], vs[(e.i+1)%n]
			c, d := vs[f.i], vs[(f.i+1)%n]
			if segmentsTouch(a, b, c, d) {
				return fmt.Errorf("intersects itself: edge %v-%v meets edge %v-%v", a, b, c, d)
			}
		}
	}
	return nil
}

func cross3(p, q, r orb.Point) float64 {
	return (q[0]-p[0])*(r[1]-p[1]) - (q[1]-p[1])*(r[0]-p[0])
}

// segmentsTouch reports whether closed segments ab and cd share a point.
func segmentsTouch(a, b, c, d orb.Point) bool {
	d1, d2 := cross3(c, d, a), cross3(c, d, b)
	d3, d4 := cross3(a, b, c), cross3(a, b, d)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	onSeg := func(p, q, r orb.Point) bool { // r on segment pq, given collinear
		return math.Min(p[0], q[0]) <= r[0] && r[0] <= math.Max(p[0], q[0]) &&
			math.Min(p[1], q[1]) <= r[1] && r[1] <= math.Max(p[1], q[1])
	}
	return (d1 == 0 && onSeg(c, d, a)) || (d2 == 0 && onSeg(c, d, b)) ||
		(d3 == 0 && onSeg(a, b, c)) || (d4 == 0 && onSeg(a, b, d))
}
