package threat

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/planar"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/places"
)

// DefaultPlaceRadiusM is the radius given to a place that is a bare point
// in the places file (a rally point, a landmark) when a report names it.
const DefaultPlaceRadiusM = 100

const mPerDegLat = 111_320.0

// shape is a circle or a polygon in lon/lat.
type shape struct {
	circle bool
	center orb.Point
	radius float64
	poly   orb.Polygon
	bound  orb.Bound
	areaM2 float64
}

// region is where a report applies once resolved: one or more shapes (a
// group name gives one shape per member), and the places it named.
type region struct {
	shapes []shape
	bound  orb.Bound
	areaM2 float64
	places []string // ids of the places named, if any
	label  string   // how the report named them, for the zone's name
}

func circleShape(c orb.Point, r float64) shape {
	dLat := r / mPerDegLat
	dLon := r / (mPerDegLat * math.Max(math.Cos(c[1]*math.Pi/180), 1e-6))
	return shape{circle: true, center: c, radius: r, areaM2: math.Pi * r * r,
		bound: orb.Bound{Min: orb.Point{c[0] - dLon, c[1] - dLat}, Max: orb.Point{c[0] + dLon, c[1] + dLat}}}
}

func polyShape(p orb.Polygon) shape {
	return shape{poly: p, bound: p.Bound(), areaM2: math.Abs(geo.Area(p))}
}

func newRegion(shapes []shape, placeIDs []string) region {
	r := region{shapes: shapes, places: placeIDs}
	for i, s := range shapes {
		if i == 0 {
			r.bound = s.bound
		} else {
			r.bound = r.bound.Union(s.bound)
		}
		r.areaM2 += s.areaM2
	}
	return r
}

// resolveArea turns a report's area into shapes, resolving a place name or
// id through the index.
func resolveArea(a muster.Area, ix *places.Index) (region, error) {
	var pls []*muster.Place
	field := "area.place"
	switch {
	case a.PlaceID != "":
		field = "area.place_id"
		if a.Place != "" {
			return region{}, fmt.Errorf("area: gives both place %q and place_id %q: give one", a.Place, a.PlaceID)
		}
		if ix == nil {
			return region{}, fmt.Errorf("area.place_id: %q cannot be resolved: no places file given", a.PlaceID)
		}
		p, err := ix.ResolveID(a.PlaceID)
		if err != nil {
			return region{}, fmt.Errorf("area.place_id: %w", err)
		}
		pls = []*muster.Place{p}
		reg, err := placesRegion(pls, field)
		reg.label = p.Name + " (" + p.ID + ")"
		return reg, err
	case a.Place != "":
		if ix == nil {
			return region{}, fmt.Errorf("area.place: %q cannot be resolved: no places file given", a.Place)
		}
		var err error
		if pls, err = ix.Resolve(a.Place); err != nil {
			return region{}, fmt.Errorf("area.place: %w", err)
		}
	case a.Point != nil:
		return newRegion([]shape{circleShape(*a.Point, a.RadiusM)}, nil), nil
	case len(a.Polygon) > 0:
		return newRegion([]shape{polyShape(a.Polygon)}, nil), nil
	default:
		return region{}, fmt.Errorf("area: empty")
	}
	reg, err := placesRegion(pls, field)
	reg.label = a.Place
	return reg, err
}

// placesRegion is the region of the places a report names.
func placesRegion(pls []*muster.Place, field string) (region, error) {
	var shapes []shape
	var ids []string
	for _, p := range pls {
		ids = append(ids, p.ID)
		switch g := p.Geometry.(type) {
		case orb.Point:
			r := p.RadiusM
			if r <= 0 {
				r = DefaultPlaceRadiusM
			}
			shapes = append(shapes, circleShape(g, r))
		case orb.Polygon:
			shapes = append(shapes, polyShape(g))
		case orb.MultiPolygon:
			for _, poly := range g {
				shapes = append(shapes, polyShape(poly))
			}
		default:
			return region{}, fmt.Errorf("%s: place %q has a geometry muster cannot use as an area", field, p.ID)
		}
	}
	return newRegion(shapes, ids), nil
}

// local projects p to metres east/north of origin (equirectangular): exact
// enough for the overlap of areas a few hundred kilometres across.
func local(origin, p orb.Point) (x, y float64) {
	return (p[0] - origin[0]) * mPerDegLat * math.Cos(origin[1]*math.Pi/180), (p[1] - origin[1]) * mPerDegLat
}

// segmentDistanceM returns the distance in metres from c to segment ab.
func segmentDistanceM(c, a, b orb.Point) float64 {
	ax, ay := local(c, a)
	bx, by := local(c, b)
	dx, dy := bx-ax, by-ay
	t := 0.0
	if l2 := dx*dx + dy*dy; l2 > 0 {
		t = math.Max(0, math.Min(1, -(ax*dx+ay*dy)/l2))
	}
	px, py := ax+t*dx, ay+t*dy
	return math.Hypot(px, py)
}

func circlePolyOverlap(c shape, p shape) bool {
	if planar.PolygonContains(p.poly, c.center) {
		return true
	}
	for _, ring := range p.poly {
		for i := 0; i+1 < len(ring); i++ {
			if segmentDistanceM(c.center, ring[i], ring[i+1]) < c.radius {
				return true
			}
		}
	}
	return false
}

func polyPolyOverlap(a, b shape) bool {
	if len(a.poly) == 0 || len(b.poly) == 0 {
		return false
	}
	for _, p := range a.poly[0] {
		if planar.PolygonContains(b.poly, p) {
			return true
		}
	}
	for _, p := range b.poly[0] {
		if planar.PolygonContains(a.poly, p) {
			return true
		}
	}
	ra, rb := a.poly[0], b.poly[0]
	for i := 0; i+1 < len(ra); i++ {
		for j := 0; j+1 < len(rb); j++ {
			if segmentsIntersect(ra[i], ra[i+1], rb[j], rb[j+1]) {
				return true
			}
		}
	}
	return false
}

func orient(a, b, c orb.Point) float64 {
	return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
}

func segmentsIntersect(a, b, c, d orb.Point) bool {
	d1, d2 := orient(c, d, a), orient(c, d, b)
	d3, d4 := orient(a, b, c), orient(a, b, d)
	return ((d1 > 0) != (d2 > 0)) && ((d3 > 0) != (d4 > 0)) && d1 != 0 && d2 != 0 && d3 != 0 && d4 != 0
}

func shapesOverlap(a, b shape) bool {
	if !a.bound.Intersects(b.bound) {
		return false
	}
	switch {
	case a.circle && b.circle:
		return muster.DistanceM(a.center[0], a.center[1], b.center[0], b.center[1]) < a.radius+b.radius
	case a.circle:
		return circlePolyOverlap(a, b)
	case b.circle:
		return circlePolyOverlap(b, a)
	}
	return polyPolyOverlap(a, b)
}

func regionsOverlap(a, b *region) bool {
	if !a.bound.Intersects(b.bound) {
		return false
	}
	for _, sa := range a.shapes {
		for _, sb := range b.shapes {
			if shapesOverlap(sa, sb) {
				return true
			}
		}
	}
	return false
}

// shapeContains reports whether the point lies in the shape.
func shapeContains(s shape, p orb.Point) bool {
	if !s.bound.Contains(p) {
		return false
	}
	if s.circle {
		return muster.DistanceM(s.center[0], s.center[1], p[0], p[1]) <= s.radius
	}
	return planar.PolygonContains(s.poly, p)
}

// circlePolygon approximates a circle by a 32-sided polygon, for output
// that must be one MultiPolygon.
func circlePolygon(c orb.Point, r float64) orb.Polygon {
	const n = 32
	ring := make(orb.Ring, 0, n+1)
	cos := math.Max(math.Cos(c[1]*math.Pi/180), 1e-6)
	for i := 0; i < n; i++ {
		th := 2 * math.Pi * float64(i) / n
		lon := c[0] + r*math.Cos(th)/(mPerDegLat*cos)
		lat := c[1] + r*math.Sin(th)/mPerDegLat
		ring = append(ring, orb.Point{math.Max(-180, math.Min(180, lon)), math.Max(-90, math.Min(90, lat))})
	}
	ring = append(ring, ring[0])
	return orb.Polygon{ring}
}
