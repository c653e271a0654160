package zonecost

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/paulmach/orb"
)

// ArcFinder finds the candidate arcs near a bound: every arc whose
// polyline's bounding box intersects b (more is harmless, fewer is a bug).
// roadgraph.ArcIndex satisfies it.
type ArcFinder interface {
	ArcsInBound(b orb.Bound, fn func(arc uint32) bool)
}

// ArcEffect is what the zones do to one arc.
type ArcEffect struct {
	Arc uint32
	// Forbidden: the arc's polyline touches a forbidden zone (a vertex
	// inside or on the boundary, or a segment crossing or touching it).
	Forbidden bool
	// Exposure is risk-weighted seconds inside non-forbidden risky zones:
	// the sum over zones of Risk × (arc time in s) × (fraction of the arc's
	// length inside the zone).
	Exposure float64
}

// Effects is a threat picture applied to one graph.
type Effects struct {
	Arcs           []ArcEffect // sorted by Arc; only arcs with an effect
	ForbiddenNodes []uint32    // sorted: arc endpoints inside or on a forbidden zone
}

// Compute applies zones to g. Candidate arcs come from finder; every one is
// clipped against the zone in the zone's local projection (see the package
// documentation). The result does not depend on the order of zones: they are
// processed in a canonical order so that exposures sum bit-identically.
//
// ForbiddenNodes holds the nodes at either end of some arc that lie in a
// forbidden zone; a node with no arc at all cannot be routed to and is
// not listed.
func Compute(ctx context.Context, g *roadgraph.Graph, finder ArcFinder, zones []muster.Zone) (*Effects, error) {
	if g == nil || finder == nil {
		return nil, fmt.Errorf("zonecost: compute needs a graph and an arc finder")
	}
	for i := range zones {
		if err := checkZone(&zones[i]); err != nil {
			return nil, muster.Errorf(muster.EINVALID, "zone %d (id %q): %v", i, zones[i].ID, err)
		}
	}
	order := make([]int, len(zones))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return compareZones(&zones[a], &zones[b]) })

	type contribution struct {
		arc       uint32
		forbidden bool
		exposure  float64
	}
	var (
		contribs  []contribution
		nodes     []uint32
		cand      []uint32
		line      []vec
		ts        []float64
		numArcs   = uint32(g.NumArcs())
		candErr   error
		collected int
	)
	for _, zi := range order {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("zonecost: applying zones: %w", err)
		}
		z := &zones[zi]
		if !z.Forbidden && z.Risk == 0 {
			continue // no effect on anything
		}
		pz := prepare(z)
		cand = cand[:0]
		for _, b := range pz.lonLatBounds() {
			finder.ArcsInBound(b, func(a uint32) bool {
				if a >= numArcs {
					candErr = fmt.Errorf("zonecost: arc finder returned arc %d of a graph with %d arcs", a, numArcs)
					return false
				}
				cand = append(cand, a)
				return true
			})
		}
		if candErr != nil {
			return nil, candErr
		}
		slices.Sort(cand)
		cand = slices.Compact(cand)
		for _, a := range cand {
			if collected++; collected%8192 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, fmt.Errorf("zonecost: applying zone %q: %w", z.ID, err)
				}
			}
			tail := tailOf(g, a)
			line = projectArc(line[:0], g, pz.f, tail, a)
			if z.Forbidden {
				var touches bool
				touches, ts = pz.touchesLine(line, ts)
				if !touches {
					continue
				}
				contribs = append(contribs, contribution{arc: a, forbidden: true})
				if pz.containsOrOn(line[0]) {
					nodes = append(nodes, tail)
				}
				if pz.containsOrOn(line[len(line)-1]) {
					nodes = append(nodes, g.Head[a])
				}
				continue
			}
			var frac float64
			frac, ts = pz.fractionInside(line, ts)
			if frac > 0 {
				contribs = append(contribs, contribution{arc: a, exposure: z.Risk * float64(g.TimeMS[a]) / 1000 * frac})
			}
		}
	}

	// Stable: an arc's contributions stay in canonical zone order, so the
	// floating-point sum is the same whatever order the caller gave.
	slices.SortStableFunc(contribs, func(x, y contribution) int { return cmp.Compare(x.arc, y.arc) })
	eff := &Effects{}
	for _, c := range contribs {
		if n := len(eff.Arcs); n > 0 && eff.Arcs[n-1].Arc == c.arc {
			eff.Arcs[n-1].Forbidden = eff.Arcs[n-1].Forbidden || c.forbidden
			eff.Arcs[n-1].Exposure += c.exposure
			continue
		}
		eff.Arcs = append(eff.Arcs, ArcEffect{Arc: c.arc, Forbidden: c.forbidden, Exposure: c.exposure})
	}
	slices.Sort(nodes)
	eff.ForbiddenNodes = slices.Compact(nodes)
	return eff, nil
}

// Containing returns the indices of the zones that contain p, boundary
// included (within TouchToleranceM), in increasing order. Zones that are
// not valid (see Compute) contain nothing.
func Containing(p orb.Point, zones []muster.Zone) []int {
	var in []int
	for i := range zones {
		if checkZone(&zones[i]) != nil {
			continue
		}
		pz := prepare(&zones[i])
		if pz.containsOrOn(pz.f.project(p[0], p[1])) {
			in = append(in, i)
		}
	}
	return in
}

// tailOf finds the node arc a leaves: the last node whose first out-arc is
// at or before a.
func tailOf(g *roadgraph.Graph, a uint32) uint32 {
	return uint32(sort.Search(len(g.FirstOut), func(i int) bool { return g.FirstOut[i] > a }) - 1)
}

// projectArc appends arc a's polyline, tail to head, in frame f.
func projectArc(dst []vec, g *roadgraph.Graph, f frame, tail, a uint32) []vec {
	dst = append(dst, f.project(float64(g.Lon[tail])/roadgraph.CoordScale, float64(g.Lat[tail])/roadgraph.CoordScale))
	for i := g.GeomFirst[a]; i < g.GeomFirst[a+1]; i++ {
		dst = append(dst, f.project(float64(g.GeomLon[i])/roadgraph.CoordScale, float64(g.GeomLat[i])/roadgraph.CoordScale))
	}
	h := g.Head[a]
	return append(dst, f.project(float64(g.Lon[h])/roadgraph.CoordScale, float64(g.Lat[h])/roadgraph.CoordScale))
}

// touchesLine reports whether any part of the projected polyline touches the zone.
func (pz *preparedZone) touchesLine(line []vec, ts []float64) (bool, []float64) {
	if len(line) == 1 {
		return pz.containsOrOn(line[0]), ts
	}
	for i := 0; i+1 < len(line); i++ {
		var touches bool
		_, touches, ts = pz.clipSegment(line[i], line[i+1], ts)
		if touches {
			return true, ts
		}
	}
	return false, ts
}

// fractionInside returns the share of the polyline's length inside the
// zone; a polyline of no length is wholly inside or wholly outside.
func (pz *preparedZone) fractionInside(line []vec, ts []float64) (float64, []float64) {
	var total, inside float64
	for i := 0; i+1 < len(line); i++ {
		var in float64
		in, _, ts = pz.clipSegment(line[i], line[i+1], ts)
		inside += in
		total += line[i+1].sub(line[i]).length()
	}
	if total == 0 {
		if pz.containsOrOn(line[0]) {
			return 1, ts
		}
		return 0, ts
	}
	return clamp01(inside / total), ts
}

// lonLatBounds returns the zone's bounding box, widened by the tolerance,
// in lon/lat: two boxes when it straddles the antimeridian, the full range
// of longitudes near a pole.
func (pz *preparedZone) lonLatBounds() []orb.Bound {
	tol := TouchToleranceM
	lon0 := pz.f.lon0 + (pz.minX-tol)/pz.f.kx
	lon1 := pz.f.lon0 + (pz.maxX+tol)/pz.f.kx
	lat0 := math.Max(-90, pz.f.lat0+(pz.minY-tol)/pz.f.ky)
	lat1 := math.Min(90, pz.f.lat0+(pz.maxY+tol)/pz.f.ky)
	// Near a pole the projection's cosine is taken at the zone's reference
	// latitude, not at its poleward edge: take every longitude when the box
	// nears a pole or is wider than the world.
	if lon1-lon0 >= 360 || lat0 <= -89 || lat1 >= 89 {
		return []orb.Bound{{Min: orb.Point{-180, lat0}, Max: orb.Point{180, lat1}}}
	}
	var bounds []orb.Bound
	switch {
	case lon0 < -180:
		bounds = []orb.Bound{
			{Min: orb.Point{lon0 + 360, lat0}, Max: orb.Point{180, lat1}},
			{Min: orb.Point{-180, lat0}, Max: orb.Point{lon1, lat1}},
		}
	case lon1 > 180:
		bounds = []orb.Bound{
			{Min: orb.Point{lon0, lat0}, Max: orb.Point{180, lat1}},
			{Min: orb.Point{-180, lat0}, Max: orb.Point{lon1 - 360, lat1}},
		}
	default:
		bounds = []orb.Bound{{Min: orb.Point{lon0, lat0}, Max: orb.Point{lon1, lat1}}}
	}
	if lon0 < -179 || lon1 > 179 {
		// An arc across the antimeridian has a lon/lat bounding box that
		// spans the world the other way round, through longitude 0 and not
		// near ±180: a thin query at longitude 0 finds it. Arcs truly near
		// longitude 0 that it also finds are clipped away as far from the zone.
		bounds = append(bounds, orb.Bound{Min: orb.Point{0, lat0}, Max: orb.Point{0, lat1}})
	}
	return bounds
}

// compareZones orders zones by everything that affects their result, so
// that equal zones are interchangeable and unequal ones have a fixed order.
func compareZones(a, b *muster.Zone) int {
	if c := cmp.Compare(boolInt(a.Forbidden), boolInt(b.Forbidden)); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Risk, b.Risk); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.RadiusM, b.RadiusM); c != 0 {
		return c
	}
	if c := comparePoints(a.Center, b.Center); c != 0 {
		return c
	}
	if c := cmp.Compare(len(a.Polygon), len(b.Polygon)); c != 0 {
		return c
	}
	for i := range a.Polygon {
		pa, pb := a.Polygon[i], b.Polygon[i]
		if c := cmp.Compare(len(pa), len(pb)); c != 0 {
			return c
		}
		for j := range pa {
			if c := slices.CompareFunc(pa[j], pb[j], comparePoints); c != 0 {
				return c
			}
		}
	}
	return 0
}

func comparePoints(a, b orb.Point) int {
	if c := cmp.Compare(a[0], b[0]); c != 0 {
		return c
	}
	return cmp.Compare(a[1], b[1])
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
