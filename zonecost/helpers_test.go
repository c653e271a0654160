package zonecost

import (
	"math"
	"slices"
	"testing"

	"github.com/muster-evac/muster/roadgraph"
	"github.com/paulmach/orb"
)

// fixed converts degrees to the graph's fixed point.
func fixed(deg float64) int32 { return int32(math.Round(deg * roadgraph.CoordScale)) }

// graphBuilder makes a valid roadgraph.Graph from explicit nodes and arcs.
type graphBuilder struct {
	lat, lon []int32
	arcs     []builderArc
}

type builderArc struct {
	tail, head uint32
	shape      []orb.Point
	timeMS     uint32
}

func (b *graphBuilder) node(p orb.Point) uint32 {
	b.lat = append(b.lat, fixed(p[1]))
	b.lon = append(b.lon, fixed(p[0]))
	return uint32(len(b.lat) - 1)
}

func (b *graphBuilder) arc(tail, head uint32, shape []orb.Point, timeMS uint32) {
	b.arcs = append(b.arcs, builderArc{tail, head, shape, timeMS})
}

// line adds a polyline as one arc between two new nodes and returns the
// index of the builder arc (arc ids are assigned by build).
func (b *graphBuilder) line(pts orb.LineString, timeMS uint32) {
	tail := b.node(pts[0])
	head := tail
	if len(pts) > 1 {
		head = b.node(pts[len(pts)-1])
	}
	var shape []orb.Point
	if len(pts) > 2 {
		shape = pts[1 : len(pts)-1]
	}
	b.arc(tail, head, shape, timeMS)
}

// build groups arcs by tail (stably) and returns the graph and, for each
// builder arc in the order added, its arc id.
func (b *graphBuilder) build(t testing.TB) (*roadgraph.Graph, []uint32) {
	t.Helper()
	n := len(b.lat)
	order := make([]int, len(b.arcs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int { return int(b.arcs[x].tail) - int(b.arcs[y].tail) })
	g := &roadgraph.Graph{
		Profile:   roadgraph.Car,
		Lat:       b.lat,
		Lon:       b.lon,
		OSMNodeID: make([]int64, n),
		FirstOut:  make([]uint32, n+1),
		GeomFirst: []uint32{0},
		Names:     []string{""},
	}
	id := make([]uint32, len(b.arcs))
	for k, i := range order {
		a := b.arcs[i]
		id[i] = uint32(k)
		g.FirstOut[a.tail+1]++
		g.Head = append(g.Head, a.head)
		g.TimeMS = append(g.TimeMS, max(1, a.timeMS))
		g.LengthM = append(g.LengthM, 1)
		g.NameID = append(g.NameID, 0)
		for _, p := range a.shape {
			g.GeomLat = append(g.GeomLat, fixed(p[1]))
			g.GeomLon = append(g.GeomLon, fixed(p[0]))
		}
		g.GeomFirst = append(g.GeomFirst, uint32(len(g.GeomLat)))
	}
	for u := 1; u <= n; u++ {
		g.FirstOut[u] += g.FirstOut[u-1]
	}
	if err := g.Validate(); err != nil {
		t.Fatalf("test graph is invalid: %v", err)
	}
	return g, id
}

// gridGraph builds a rows×cols grid of two-way streets spacingM apart
// around (lon0, lat0); every other street has a shape point bent sideways
// by a fifth of the spacing, so that arcs have real shape.
func gridGraph(t testing.TB, rows, cols int, lon0, lat0, spacingM float64) *roadgraph.Graph {
	t.Helper()
	dLat := spacingM / metresPerDegree
	dLon := spacingM / (metresPerDegree * math.Cos(lat0*math.Pi/180))
	var b graphBuilder
	at := func(r, c int) orb.Point { return orb.Point{lon0 + float64(c)*dLon, lat0 + float64(r)*dLat} }
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			b.node(at(r, c))
		}
	}
	const speed = 10.0 // m/s
	timeMS := uint32(spacingM / speed * 1000)
	id := func(r, c int) uint32 { return uint32(r*cols + c) }
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			for _, nb := range [][2]int{{r, c + 1}, {r + 1, c}} {
				if nb[0] >= rows || nb[1] >= cols {
					continue
				}
				p, q := at(r, c), at(nb[0], nb[1])
				var shape, back []orb.Point
				if (r+c)%2 == 0 {
					mid := orb.Point{(p[0] + q[0]) / 2, (p[1] + q[1]) / 2}
					if nb[0] == r {
						mid[1] += dLat / 5
					} else {
						mid[0] += dLon / 5
					}
					shape, back = []orb.Point{mid}, []orb.Point{mid}
				}
				b.arc(id(r, c), id(nb[0], nb[1]), shape, timeMS)
				b.arc(id(nb[0], nb[1]), id(r, c), back, timeMS)
			}
		}
	}
	g, _ := b.build(t)
	return g
}

// arcBounds returns every arc's polyline bounding box.
func arcBounds(g *roadgraph.Graph) []orb.Bound {
	tails := g.Tails()
	bounds := make([]orb.Bound, g.NumArcs())
	var line orb.LineString
	for a := range bounds {
		line = g.ArcGeometry(line[:0], tails[a], uint32(a))
		bounds[a] = line.Bound()
	}
	return bounds
}

// bruteFinder scans every arc: the obviously right ArcFinder.
type bruteFinder struct{ bounds []orb.Bound }

func newBruteFinder(g *roadgraph.Graph) *bruteFinder { return &bruteFinder{arcBounds(g)} }

func (f *bruteFinder) ArcsInBound(b orb.Bound, fn func(uint32) bool) {
	for a, ab := range f.bounds {
		if ab.Intersects(b) && !fn(uint32(a)) {
			return
		}
	}
}

// gridFinder buckets arcs into cells of a fixed size in degrees, for the
// benchmark: it reports an arc once per cell it overlaps (duplicates are
// allowed by ArcFinder's contract, and Compute must cope).
type gridFinder struct {
	cell   float64
	bounds []orb.Bound
	cells  map[[2]int32][]uint32
}

func newGridFinder(g *roadgraph.Graph, cell float64) *gridFinder {
	f := &gridFinder{cell: cell, bounds: arcBounds(g), cells: map[[2]int32][]uint32{}}
	for a, b := range f.bounds {
		x0, y0, x1, y1 := f.cellRange(b)
		for x := x0; x <= x1; x++ {
			for y := y0; y <= y1; y++ {
				f.cells[[2]int32{x, y}] = append(f.cells[[2]int32{x, y}], uint32(a))
			}
		}
	}
	return f
}

func (f *gridFinder) cellRange(b orb.Bound) (x0, y0, x1, y1 int32) {
	return int32(math.Floor(b.Min[0] / f.cell)), int32(math.Floor(b.Min[1] / f.cell)),
		int32(math.Floor(b.Max[0] / f.cell)), int32(math.Floor(b.Max[1] / f.cell))
}

func (f *gridFinder) ArcsInBound(b orb.Bound, fn func(uint32) bool) {
	x0, y0, x1, y1 := f.cellRange(b)
	for x := x0; x <= x1; x++ {
		for y := y0; y <= y1; y++ {
			for _, a := range f.cells[[2]int32{x, y}] {
				if f.bounds[a].Intersects(b) && !fn(a) {
					return
				}
			}
		}
	}
}

// offset returns the point dx metres east and dy metres north of p, in the
// same projection the package uses.
func offset(p orb.Point, dx, dy float64) orb.Point {
	lon := p[0] + dx/(metresPerDegree*math.Cos(p[1]*math.Pi/180))
	if lon > 180 {
		lon -= 360
	} else if lon < -180 {
		lon += 360
	}
	return orb.Point{lon, p[1] + dy/metresPerDegree}
}

// square returns a closed ring, counter-clockwise, of the square with
// corners dx0..dx1, dy0..dy1 metres from c.
func square(c orb.Point, dx0, dy0, dx1, dy1 float64) orb.Ring {
	return orb.Ring{offset(c, dx0, dy0), offset(c, dx1, dy0), offset(c, dx1, dy1), offset(c, dx0, dy1), offset(c, dx0, dy0)}
}
