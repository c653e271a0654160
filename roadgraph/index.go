package roadgraph

import (
	"math"
	"slices"
	"sync"

	"github.com/muster-evac/muster"
	"github.com/paulmach/orb"
)

// ArcIndex finds arcs near a point or inside a box, for snapping a household's
// address to the road network and for finding the arcs a threat zone covers.
//
// It is a static packed R-tree (Hilbert-packed, fan-out 16, as in Flatbush)
// over whole arcs, not over their segments: ArcsInBound must answer by the
// arc polyline's bounding box, which a segment tree cannot do without
// de-duplicating and without missing arcs whose box (but no segment's box)
// meets the query; and city arcs are short (a few shape points), so the
// nearest search loses little by measuring a whole polyline at a leaf.
// Boxes are int32 in the Graph's own fixed point, so they hold the geometry
// exactly (no float rounding) in the same 16 bytes float32 boxes would take.
//
// A two-way road is two arcs with the same shape; the tree holds one of
// them and reports the other as its reverse, which halves the tree.
//
// Distances are measured in a local equirectangular projection around the
// query point, whose error grows as d²·tan(lat)/R: about 1 cm at 300 m and
// 15 cm at 1 km at Porto's latitude, so exact enough for snapping, and only
// approximate for the "nearest is N m away" of a point far outside the
// city. Longitudes do not wrap at ±180°.
//
// The index only reads the Graph, which must not change while it is in use.
// All methods are safe for concurrent use.
type ArcIndex struct {
	g     *Graph
	arcs  packedTree // leaf payload: arc id
	nodes packedTree // leaf payload: node id

	// Per arc-tree leaf position (0 .. arcs.numItems-1).
	leafTail    []uint32
	leafReverse []uint32 // the paired arc, or noReverse
}

const (
	treeFanOut = 16
	noReverse  = math.MaxUint32
)

// packedTree is a static R-tree laid out level by level in flat arrays: the
// numItems leaves first (in Hilbert order of their box centres), then each
// level of parents, the root last. Entry i has box boxes[4i:4i+4] (min lon,
// min lat, max lon, max lat, fixed point) and payload index[i]: for a leaf
// the item, for a parent the position of its first child; its children are
// the fan-out entries from there, or fewer at the end of a level.
type packedTree struct {
	numItems    int
	boxes       []int32
	index       []uint32
	levelBounds []int // end position of each level, leaves first
}

// buildPackedTree packs items given as boxes (4 int32 each) and payloads.
func buildPackedTree(boxes []int32, payload []uint32) packedTree {
	n := len(payload)
	t := packedTree{numItems: n}
	if n == 0 {
		return t
	}
	// Size the levels.
	total, count := n, n
	t.levelBounds = []int{n}
	for count > 1 {
		count = (count + treeFanOut - 1) / treeFanOut
		total += count
		t.levelBounds = append(t.levelBounds, total)
	}
	if len(t.levelBounds) == 1 {
		// A single item still gets a root above it, so that search always
		// starts from a parent.
		total++
		t.levelBounds = append(t.levelBounds, total)
	}
	t.boxes = make([]int32, 4*total)
	t.index = make([]uint32, total)

	// Sort the leaves by the Hilbert value of their box centres, over the
	// extent of all items.
	minX, minY, maxX, maxY := int64(math.MaxInt32), int64(math.MaxInt32), int64(math.MinInt32), int64(math.MinInt32)
	for i := 0; i < n; i++ {
		minX = min(minX, int64(boxes[4*i]))
		minY = min(minY, int64(boxes[4*i+1]))
		maxX = max(maxX, int64(boxes[4*i+2]))
		maxY = max(maxY, int64(boxes[4*i+3]))
	}
	width, height := max(maxX-minX, 1), max(maxY-minY, 1)
	keys := make([]uint64, n)
	for i := 0; i < n; i++ {
		cx := (int64(boxes[4*i]) + int64(boxes[4*i+2])) / 2
		cy := (int64(boxes[4*i+1]) + int64(boxes[4*i+3])) / 2
		hx := uint32((cx - minX) * 0xffff / width)
		hy := uint32((cy - minY) * 0xffff / height)
		keys[i] = uint64(hilbert(hx, hy))<<32 | uint64(i)
	}
	slices.Sort(keys)
	for pos, k := range keys {
		i := int(uint32(k))
		copy(t.boxes[4*pos:4*pos+4], boxes[4*i:4*i+4])
		t.index[pos] = payload[i]
	}

	// Build each level of parents from the one below.
	pos := n
	for level := 0; level+1 < len(t.levelBounds); level++ {
		start := 0
		if level > 0 {
			start = t.levelBounds[level-1]
		}
		end := t.levelBounds[level]
		for c := start; c < end; c += treeFanOut {
			bx := [4]int32{math.MaxInt32, math.MaxInt32, math.MinInt32, math.MinInt32}
			for j := c; j < min(c+treeFanOut, end); j++ {
				bx[0] = min(bx[0], t.boxes[4*j])
				bx[1] = min(bx[1], t.boxes[4*j+1])
				bx[2] = max(bx[2], t.boxes[4*j+2])
				bx[3] = max(bx[3], t.boxes[4*j+3])
			}
			copy(t.boxes[4*pos:], bx[:])
			t.index[pos] = uint32(c)
			pos++
		}
	}
	return t
}

// children returns the positions of the children of parent entry p.
func (t *packedTree) children(p int) (start, end int) {
	start = int(t.index[p])
	for _, b := range t.levelBounds {
		if start < b {
			return start, min(start+treeFanOut, b)
		}
	}
	return start, start // unreachable for a well-built tree
}

func (t *packedTree) root() int { return len(t.index) - 1 }

func (t *packedTree) memoryBytes() int {
	return 4*cap(t.boxes) + 4*cap(t.index) + 8*cap(t.levelBounds)
}

// hilbert returns the position of (x, y), both < 2^16, on a Hilbert curve
// filling the 2^16 x 2^16 square. (The branch-free method of
// rawrunprotected.org, as used by Flatbush.)
func hilbert(x, y uint32) uint32 {
	a := x ^ y
	b := 0xffff ^ a
	c := 0xffff ^ (x | y)
	d := x & (y ^ 0xffff)

	A := a | (b >> 1)
	B := (a >> 1) ^ a
	C := ((c >> 1) ^ (b & (d >> 1))) ^ c
	D := ((a & (c >> 1)) ^ (d >> 1)) ^ d

	a, b, c, d = A, B, C, D
	A = (a & (a >> 2)) ^ (b & (b >> 2))
	B = (a & (b >> 2)) ^ (b & ((a ^ b) >> 2))
	C ^= (a & (c >> 2)) ^ (b & (d >> 2))
	D ^= (b & (c >> 2)) ^ ((a ^ b) & (d >> 2))

	a, b, c, d = A, B, C, D
	A = (a & (a >> 4)) ^ (b & (b >> 4))
	B = (a & (b >> 4)) ^ (b & ((a ^ b) >> 4))
	C ^= (a & (c >> 4)) ^ (b & (d >> 4))
	D ^= (b & (c >> 4)) ^ ((a ^ b) & (d >> 4))

	a, b, c, d = A, B, C, D
	C ^= (a & (c >> 8)) ^ (b & (d >> 8))
	D ^= (b & (c >> 8)) ^ ((a ^ b) & (d >> 8))

	a = C ^ (C >> 1)
	b = D ^ (D >> 1)

	i0 := x ^ y
	i1 := b | (0xffff ^ (i0 | a))
	return (interleave(i1) << 1) | interleave(i0)
}

func interleave(v uint32) uint32 {
	v = (v | (v << 8)) & 0x00ff00ff
	v = (v | (v << 4)) & 0x0f0f0f0f
	v = (v | (v << 2)) & 0x33333333
	v = (v | (v << 1)) & 0x55555555
	return v
}

// NewArcIndex builds the index of g, which must pass Validate.
func NewArcIndex(g *Graph) *ArcIndex {
	ix := &ArcIndex{g: g}
	m := g.NumArcs()
	tails := g.Tails()
	reverse := pairReverseArcs(g, tails)

	items := 0
	for a := 0; a < m; a++ {
		if r := reverse[a]; r == noReverse || r > uint32(a) {
			items++
		}
	}
	boxes := make([]int32, 0, 4*items)
	payload := make([]uint32, 0, items)
	for a := 0; a < m; a++ {
		if r := reverse[a]; r != noReverse && r < uint32(a) {
			continue // indexed as its pair's reverse
		}
		bx := [4]int32{g.Lon[tails[a]], g.Lat[tails[a]], g.Lon[tails[a]], g.Lat[tails[a]]}
		extend := func(lon, lat int32) {
			bx[0], bx[1] = min(bx[0], lon), min(bx[1], lat)
			bx[2], bx[3] = max(bx[2], lon), max(bx[3], lat)
		}
		for i := g.GeomFirst[a]; i < g.GeomFirst[a+1]; i++ {
			extend(g.GeomLon[i], g.GeomLat[i])
		}
		h := g.Head[a]
		extend(g.Lon[h], g.Lat[h])
		boxes = append(boxes, bx[:]...)
		payload = append(payload, uint32(a))
	}
	ix.arcs = buildPackedTree(boxes, payload)
	ix.leafTail = make([]uint32, ix.arcs.numItems)
	ix.leafReverse = make([]uint32, ix.arcs.numItems)
	for pos := 0; pos < ix.arcs.numItems; pos++ {
		a := ix.arcs.index[pos]
		ix.leafTail[pos] = tails[a]
		ix.leafReverse[pos] = reverse[a]
	}

	n := g.NumNodes()
	boxes = make([]int32, 0, 4*n)
	payload = make([]uint32, n)
	for u := 0; u < n; u++ {
		boxes = append(boxes, g.Lon[u], g.Lat[u], g.Lon[u], g.Lat[u])
		payload[u] = uint32(u)
	}
	ix.nodes = buildPackedTree(boxes, payload)
	return ix
}

// pairReverseArcs returns, for every arc, the arc that runs head to tail
// along the same shape reversed, or noReverse. Each arc is paired at most
// once, lower ids first, so parallel two-way roads pair up one to one.
func pairReverseArcs(g *Graph, tails []uint32) []uint32 {
	m := g.NumArcs()
	reverse := make([]uint32, m)
	for a := range reverse {
		reverse[a] = noReverse
	}
	for a := 0; a < m; a++ {
		if reverse[a] != noReverse {
			continue
		}
		u, v := tails[a], g.Head[a]
		for b := g.FirstOut[v]; b < g.FirstOut[v+1]; b++ {
			if int(b) == a || reverse[b] != noReverse || g.Head[b] != u || !sameShapeReversed(g, uint32(a), b) {
				continue
			}
			reverse[a], reverse[b] = b, uint32(a)
			break
		}
	}
	return reverse
}

func sameShapeReversed(g *Graph, a, b uint32) bool {
	fa, la := g.GeomFirst[a], g.GeomFirst[a+1]
	fb, lb := g.GeomFirst[b], g.GeomFirst[b+1]
	if la-fa != lb-fb {
		return false
	}
	for i, j := fa, lb; i < la; i, j = i+1, j-1 {
		if g.GeomLat[i] != g.GeomLat[j-1] || g.GeomLon[i] != g.GeomLon[j-1] {
			return false
		}
	}
	return true
}

// MemoryBytes returns the heap memory the index holds (not counting the Graph).
func (ix *ArcIndex) MemoryBytes() int {
	return ix.arcs.memoryBytes() + ix.nodes.memoryBytes() + 4*cap(ix.leafTail) + 4*cap(ix.leafReverse)
}

// ArcsInBound calls fn for every arc whose polyline's bounding box intersects
// b (lon/lat degrees, edges included), both arcs of a two-way pair, each
// once, in no particular order, until fn returns false. A bound with NaN or
// Min above Max meets nothing.
func (ix *ArcIndex) ArcsInBound(b orb.Bound, fn func(arc uint32) bool) {
	t := &ix.arcs
	if t.numItems == 0 {
		return
	}
	minLon, ok1 := fixedAtLeast(b.Min[0])
	minLat, ok2 := fixedAtLeast(b.Min[1])
	maxLon, ok3 := fixedAtMost(b.Max[0])
	maxLat, ok4 := fixedAtMost(b.Max[1])
	if !ok1 || !ok2 || !ok3 || !ok4 || minLon > maxLon || minLat > maxLat {
		return
	}
	q := [4]int64{minLon, minLat, maxLon, maxLat}
	stackp := stackPool.Get().(*[]int)
	defer stackPool.Put(stackp)
	stack := append((*stackp)[:0], t.root())
	defer func() { *stackp = stack[:0] }()
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		start, end := t.children(p)
		for c := start; c < end; c++ {
			bx := t.boxes[4*c : 4*c+4 : 4*c+4]
			if int64(bx[2]) < q[0] || int64(bx[0]) > q[2] || int64(bx[3]) < q[1] || int64(bx[1]) > q[3] {
				continue
			}
			if c >= t.numItems {
				stack = append(stack, c)
				continue
			}
			if !fn(t.index[c]) {
				return
			}
			if r := ix.leafReverse[c]; r != noReverse && !fn(r) {
				return
			}
		}
	}
}

var stackPool = sync.Pool{New: func() any { s := make([]int, 0, 64); return &s }}

// fixedAtLeast returns the smallest fixed-point value x with x/CoordScale >= deg,
// so that comparing fixed-point boxes against it is exactly comparing degrees.
func fixedAtLeast(deg float64) (int64, bool) {
	if math.IsNaN(deg) {
		return 0, false
	}
	x := int64(math.Ceil(math.Max(math.Min(deg*CoordScale, math.MaxInt32+1), math.MinInt32-1)))
	for x > math.MinInt32-1 && float64(x-1)/CoordScale >= deg {
		x--
	}
	for x <= math.MaxInt32 && float64(x)/CoordScale < deg {
		x++
	}
	return x, true
}

// fixedAtMost returns the largest fixed-point value x with x/CoordScale <= deg.
func fixedAtMost(deg float64) (int64, bool) {
	if math.IsNaN(deg) {
		return 0, false
	}
	x := int64(math.Floor(math.Max(math.Min(deg*CoordScale, math.MaxInt32+1), math.MinInt32-1)))
	for x < math.MaxInt32+1 && float64(x+1)/CoordScale <= deg {
		x++
	}
	for x >= math.MinInt32 && float64(x)/CoordScale > deg {
		x--
	}
	return x, true
}

// Snap is where a point meets the road network.
type Snap struct {
	Arc       uint32    // the arc snapped to (tail -> head)
	Tail      uint32    // the node Arc leaves
	Reverse   int64     // the arc head -> tail with the same shape reversed, or -1 (one-way)
	Fraction  float64   // 0..1 position of Point along the arc's length, from its tail
	Point     orb.Point // the nearest point on the arc's polyline (lon, lat)
	DistanceM float64   // from the query point to Point
}

// projection is a local equirectangular projection centred on the query
// point, in metres: x east, y north. Over the few kilometres a search looks
// at, its error is far below a metre, and it is linear in lon/lat, so a
// fixed-point box projects to a box and a segment to a segment.
type projection struct {
	lon0, lat0 float64 // the centre, in fixed-point units (not rounded)
	kx, ky     float64 // metres per fixed-point unit
}

func newProjection(p orb.Point) projection {
	const rad = math.Pi / 180
	c := math.Cos(p[1] * rad)
	if c < 1e-6 {
		c = 1e-6 // at the poles a degree of longitude is nearly nothing
	}
	return projection{
		lon0: toFixedExact(p[0]), lat0: toFixedExact(p[1]),
		kx: muster.EarthRadiusM * rad * c / CoordScale, ky: muster.EarthRadiusM * rad / CoordScale,
	}
}

// toFixedExact scales degrees to fixed point, giving exactly the integer a
// coordinate came from (as NodePoint returns it), so that a query at a node
// is at distance 0, not a rounding error away.
func toFixedExact(deg float64) float64 {
	f := deg * CoordScale
	if r := math.Round(f); r/CoordScale == deg {
		return r
	}
	return f
}

// x and y are monotone in their argument (each float operation is), which
// keeps projected segments inside their projected boxes.
func (pr *projection) x(lon int32) float64 { return (float64(lon) - pr.lon0) * pr.kx }
func (pr *projection) y(lat int32) float64 { return (float64(lat) - pr.lat0) * pr.ky }

// boxDist2 is a lower bound of the squared distance from the query point to
// anything inside box bx. Each axis gap is shaved by a micrometre, so that
// float rounding in segment distances (far smaller at city scale) can never
// put a true candidate below its box's bound.
func (pr *projection) boxDist2(bx []int32) float64 {
	const slackM = 1e-6
	dx := max(pr.x(bx[0])-slackM, 0, -pr.x(bx[2])-slackM)
	dy := max(pr.y(bx[1])-slackM, 0, -pr.y(bx[3])-slackM)
	return dx*dx + dy*dy
}

// segmentDist2 returns the squared distance from the origin to segment a-b
// and the parameter t in 0..1 of the nearest point a + t(b-a). Searches
// compare squared distances, and take one square root at the end.
func segmentDist2(ax, ay, bx, by float64) (dist2, t float64) {
	dx, dy := bx-ax, by-ay
	l2 := dx*dx + dy*dy
	if l2 > 0 {
		t = -(ax*dx + ay*dy) / l2
	}
	var cx, cy float64
	switch {
	case t <= 0:
		t, cx, cy = 0, ax, ay
	case t >= 1:
		t, cx, cy = 1, bx, by
	default:
		cx, cy = ax+t*dx, ay+t*dy
	}
	return cx*cx + cy*cy, t
}

// arcPoint returns the i-th point of arc a's polyline (0 is the tail).
func (ix *ArcIndex) arcPoint(a, tail uint32, i int) (lon, lat int32) {
	g := ix.g
	first, last := g.GeomFirst[a], g.GeomFirst[a+1]
	switch {
	case i == 0:
		return g.Lon[tail], g.Lat[tail]
	case i <= int(last-first):
		return g.GeomLon[int(first)+i-1], g.GeomLat[int(first)+i-1]
	default:
		h := g.Head[a]
		return g.Lon[h], g.Lat[h]
	}
}

// arcDist2 returns the squared distance from the projection's centre to arc
// a's polyline, the segment holding the nearest point and its parameter on
// it. The first segment wins a tie.
func (ix *ArcIndex) arcDist2(pr *projection, a, tail uint32) (dist2 float64, seg int, t float64) {
	g := ix.g
	segments := int(g.GeomFirst[a+1]-g.GeomFirst[a]) + 1
	lon, lat := ix.arcPoint(a, tail, 0)
	px, py := pr.x(lon), pr.y(lat)
	dist2 = math.Inf(1)
	for i := 1; i <= segments; i++ {
		lon, lat = ix.arcPoint(a, tail, i)
		qx, qy := pr.x(lon), pr.y(lat)
		if d2, s := segmentDist2(px, py, qx, qy); d2 < dist2 {
			dist2, seg, t = d2, i-1, s
		}
		px, py = qx, qy
	}
	return dist2, seg, t
}

type queued struct {
	dist2 float64
	pos   int
}

var queuePool = sync.Pool{New: func() any { q := make([]queued, 0, 64); return &q }}

// nearest runs a best-first search of t: parents come off a priority queue
// in order of their boxes' distance, and leaves are measured exactly with
// exact2(pos), a squared distance. It returns the leaf position nearest the
// query point and its squared distance, ties going to the lowest payload,
// or -1 for an empty tree.
func nearest(t *packedTree, pr *projection, exact2 func(pos int) float64) (bestPos int, bestDist2 float64) {
	bestPos, bestDist2 = -1, math.Inf(1)
	if t.numItems == 0 {
		return
	}
	qp := queuePool.Get().(*[]queued)
	q := append((*qp)[:0], queued{0, t.root()})
	defer func() { *qp = q[:0]; queuePool.Put(qp) }()
	for len(q) > 0 {
		top := q[0]
		// Pop the minimum: move the last entry to the top and sift it down.
		last := len(q) - 1
		q[0] = q[last]
		q = q[:last]
		for i := 0; ; {
			l, r, m := 2*i+1, 2*i+2, i
			if l < len(q) && q[l].dist2 < q[m].dist2 {
				m = l
			}
			if r < len(q) && q[r].dist2 < q[m].dist2 {
				m = r
			}
			if m == i {
				break
			}
			q[i], q[m] = q[m], q[i]
			i = m
		}
		if top.dist2 > bestDist2 {
			break // every box left is farther than the best arc
		}
		start, end := t.children(top.pos)
		for c := start; c < end; c++ {
			lb := pr.boxDist2(t.boxes[4*c : 4*c+4])
			if lb > bestDist2 {
				continue
			}
			if c < t.numItems {
				d2 := exact2(c)
				if bestPos < 0 || d2 < bestDist2 || (d2 == bestDist2 && t.index[c] < t.index[bestPos]) {
					bestPos, bestDist2 = c, d2
				}
				continue
			}
			// Push and sift up.
			q = append(q, queued{lb, c})
			for i := len(q) - 1; i > 0; {
				parent := (i - 1) / 2
				if q[parent].dist2 <= q[i].dist2 {
					break
				}
				q[i], q[parent] = q[parent], q[i]
				i = parent
			}
		}
	}
	return bestPos, bestDist2
}

func checkQuery(p orb.Point, maxDistM float64) error {
	if !muster.ValidLatLon(p[1], p[0]) {
		return muster.Errorf(muster.EINVALID, "cannot snap %v,%v (lat,lon): latitude must be within -90..90 and longitude within -180..180", p[1], p[0])
	}
	if math.IsNaN(maxDistM) || maxDistM < 0 {
		return muster.Errorf(muster.EINVALID, "cannot snap with a maximum distance of %v m: it must be 0 or more", maxDistM)
	}
	return nil
}

// Snap returns the point of the road network nearest p (lon, lat), on the
// arc holding it. Where two arcs are equally near, the lower arc id wins; of
// a two-way pair, Arc is the lower id and Reverse the other (on which the
// point lies at 1-Fraction from its tail, Head[Arc]). A road farther
// than maxDistM is an EINVALID error that says how far the nearest one is.
func (ix *ArcIndex) Snap(p orb.Point, maxDistM float64) (Snap, error) {
	if err := checkQuery(p, maxDistM); err != nil {
		return Snap{}, err
	}
	pr := newProjection(p)
	t := &ix.arcs
	pos, dist2 := nearest(t, &pr, func(pos int) float64 {
		d2, _, _ := ix.arcDist2(&pr, t.index[pos], ix.leafTail[pos])
		return d2
	})
	dist := math.Sqrt(dist2)
	if pos < 0 {
		return Snap{}, muster.Errorf(muster.ENOTFOUND, "the %s network has no roads to snap %.6f,%.6f to", ix.g.Profile, p[1], p[0])
	}
	if dist > maxDistM {
		return Snap{}, muster.Errorf(muster.EINVALID, "no %s road within %.0f m of %.6f,%.6f (the nearest is %.0f m away)", ix.g.Profile, maxDistM, p[1], p[0], dist)
	}
	a, tail := t.index[pos], ix.leafTail[pos]
	_, seg, segT := ix.arcDist2(&pr, a, tail)
	s := Snap{Arc: a, Tail: tail, Reverse: -1, DistanceM: dist}
	if r := ix.leafReverse[pos]; r != noReverse {
		s.Reverse = int64(r)
	}

	// The nearest point, interpolated in degrees on its segment, and its
	// position along the arc by projected length.
	alon, alat := ix.arcPoint(a, tail, seg)
	blon, blat := ix.arcPoint(a, tail, seg+1)
	ax, ay := float64(alon)/CoordScale, float64(alat)/CoordScale
	bx, by := float64(blon)/CoordScale, float64(blat)/CoordScale
	s.Point = orb.Point{ax + segT*(bx-ax), ay + segT*(by-ay)}
	switch segT {
	case 0:
		s.Point = orb.Point{ax, ay}
	case 1:
		s.Point = orb.Point{bx, by}
	}
	segments := int(ix.g.GeomFirst[a+1]-ix.g.GeomFirst[a]) + 1
	var before, total float64
	plon, plat := ix.arcPoint(a, tail, 0)
	for i := 1; i <= segments; i++ {
		qlon, qlat := ix.arcPoint(a, tail, i)
		l := math.Hypot(pr.x(qlon)-pr.x(plon), pr.y(qlat)-pr.y(plat))
		switch {
		case i-1 < seg:
			before += l
		case i-1 == seg:
			before += segT * l
		}
		total += l
		plon, plat = qlon, qlat
	}
	if total > 0 {
		s.Fraction = min(max(before/total, 0), 1)
	}
	return s, nil
}

// NearestNode returns the graph node nearest p (lon, lat) and its distance,
// the lower id winning a tie; a node farther than maxDistM is an EINVALID
// error that says how far the nearest one is.
func (ix *ArcIndex) NearestNode(p orb.Point, maxDistM float64) (node uint32, distM float64, err error) {
	if err := checkQuery(p, maxDistM); err != nil {
		return 0, 0, err
	}
	pr := newProjection(p)
	t := &ix.nodes
	pos, dist2 := nearest(t, &pr, func(pos int) float64 {
		return pr.nodeDist2(ix.g, t.index[pos])
	})
	dist := math.Sqrt(dist2)
	if pos < 0 {
		return 0, 0, muster.Errorf(muster.ENOTFOUND, "the %s network has no nodes near %.6f,%.6f", ix.g.Profile, p[1], p[0])
	}
	if dist > maxDistM {
		return 0, 0, muster.Errorf(muster.EINVALID, "no %s road node within %.0f m of %.6f,%.6f (the nearest is %.0f m away)", ix.g.Profile, maxDistM, p[1], p[0], dist)
	}
	return t.index[pos], dist, nil
}

func (pr *projection) nodeDist2(g *Graph, u uint32) float64 {
	x, y := pr.x(g.Lon[u]), pr.y(g.Lat[u])
	return x*x + y*y
}
