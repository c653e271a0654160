package zonecost

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/paulmach/orb"
)

// ArcFinder finds the candidate arcs near a bound: every arc whose
// polyline's bounding box intersects b (more is harmless, fewer is a bug).
// roadgraph.ArcIndex satisfies it. Compute may call it from several
// goroutines at once.
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
	// ExtraS is the extra routing cost in seconds: the sum over
	// non-forbidden zones of (zone.Penalty - 1) × (arc time in s) ×
	// (fraction inside). Zones with no Penalty (0 or 1) add nothing.
	ExtraS float64
}

// Effects is a threat picture applied to one graph.
type Effects struct {
	Arcs           []ArcEffect // sorted by Arc; only arcs with an effect
	ForbiddenNodes []uint32    // sorted: arc endpoints inside or on a forbidden zone
	// Untouched names the zones, by id in the order given, that are meant
	// to act (forbidden, risky or penalised) but touch no arc of the
	// graph: a picture of another city, or a zone in open country. They
	// change nothing, and the operator must be told so.
	Untouched []string
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
	order := make([]int, 0, len(zones))
	for i := range zones {
		if zones[i].Forbidden || zones[i].Risk > 0 || zones[i].Penalty > 1 { // others affect nothing
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return compareZones(&zones[a], &zones[b]) })

	// Zones are independent: workers take them in turn, each with its own
	// scratch; the results are merged in canonical zone order below.
	results := make([]zoneResult, len(order))
	workers := max(1, min(runtime.GOMAXPROCS(0), len(order), maxWorkers))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := getZoneScratch(g.NumArcs())
			defer zoneScratchPool.Put(sc)
			for {
				k := int(next.Add(1) - 1)
				if k >= len(order) {
					return
				}
				results[k] = applyZone(ctx, g, finder, &zones[order[k]], sc)
				if results[k].err != nil {
					next.Store(int64(len(order))) // stop the others early
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, r := range results {
		if r.err != nil {
			return nil, r.err
		}
	}

	// Merge: an arc's contributions are summed in canonical zone order, so
	// the floating-point sum is the same whatever order the caller gave.
	sc := getMergeScratch(g.NumArcs(), g.NumNodes())
	defer mergeScratchPool.Put(sc)
	slot := sc.slot[:g.NumArcs()]
	total := 0
	for _, r := range results {
		total += len(r.contribs)
	}
	merged := make([]ArcEffect, 0, min(total, g.NumArcs()))
	var nodes []uint32
	for _, r := range results {
		for _, c := range r.contribs {
			if s := slot[c.arc]; s >= 0 {
				merged[s].Forbidden = merged[s].Forbidden || c.forbidden
				merged[s].Exposure += c.exposure
				merged[s].ExtraS += c.extra
				continue
			}
			slot[c.arc] = int32(len(merged))
			merged = append(merged, ArcEffect{Arc: c.arc, Forbidden: c.forbidden, Exposure: c.exposure, ExtraS: c.extra})
		}
		for _, u := range r.nodes {
			if !sc.nodeIn[u] {
				sc.nodeIn[u] = true
				nodes = append(nodes, u)
			}
		}
	}
	eff := &Effects{Arcs: make([]ArcEffect, 0, len(merged))}
	untouched := make([]bool, len(zones))
	for k, r := range results {
		untouched[order[k]] = len(r.contribs) == 0 && len(r.nodes) == 0
	}
	for i, u := range untouched {
		if u {
			eff.Untouched = append(eff.Untouched, zones[i].ID)
		}
	}
	// Walking the slots in arc order sorts the result and leaves the
	// slots clean (all -1) for the next call.
	if len(merged) > 0 {
		for a, s := range slot {
			if s >= 0 {
				eff.Arcs = append(eff.Arcs, merged[s])
				slot[a] = -1
			}
		}
	}
	for _, u := range nodes {
		sc.nodeIn[u] = false
	}
	slices.Sort(nodes)
	eff.ForbiddenNodes = nodes
	return eff, nil
}

// maxWorkers caps the goroutines of one Compute: a threat picture has
// tens of zones, and the machine runs other work.
const maxWorkers = 4

type contribution struct {
	arc       uint32
	forbidden bool
	exposure  float64
	extra     float64
}

// zoneResult is what one zone does to the graph.
type zoneResult struct {
	contribs []contribution // in candidate order, at most one per arc
	nodes    []uint32
	err      error
}

// zoneScratch is a worker's working memory, kept between calls.
type zoneScratch struct {
	seen  []uint32 // per arc: the stamp of the zone that last listed it
	stamp uint32
	cand  []uint32
}

// mergeScratch is the merge's per-arc and per-node memory; between calls
// every slot is -1 and every nodeIn false.
type mergeScratch struct {
	slot   []int32 // per arc: index into the merged effects, or -1
	nodeIn []bool  // per node: listed as forbidden already
}

var (
	zoneScratchPool  = sync.Pool{New: func() any { return new(zoneScratch) }}
	mergeScratchPool = sync.Pool{New: func() any { return new(mergeScratch) }}
)

func getZoneScratch(numArcs int) *zoneScratch {
	sc := zoneScratchPool.Get().(*zoneScratch)
	if len(sc.seen) < numArcs {
		sc.seen = make([]uint32, numArcs)
		sc.stamp = 0
	}
	return sc
}

func getMergeScratch(numArcs, numNodes int) *mergeScratch {
	sc := mergeScratchPool.Get().(*mergeScratch)
	if len(sc.nodeIn) < numNodes {
		sc.nodeIn = make([]bool, numNodes)
	}
	if len(sc.slot) < numArcs {
		sc.slot = make([]int32, numArcs)
		for i := range sc.slot {
			sc.slot[i] = -1
		}
	}
	return sc
}

// applyZone clips every candidate arc against one valid zone.
func applyZone(ctx context.Context, g *roadgraph.Graph, finder ArcFinder, z *muster.Zone, sc *zoneScratch) zoneResult {
	if err := ctx.Err(); err != nil {
		return zoneResult{err: fmt.Errorf("zonecost: applying zones: %w", err)}
	}
	pz := prepare(z)
	numArcs := uint32(g.NumArcs())
	sc.stamp++
	if sc.stamp == 0 { // wrapped: old stamps could collide
		clear(sc.seen)
		sc.stamp = 1
	}
	var candErr error
	cand := sc.cand[:0]
	for _, b := range pz.lonLatBounds() {
		finder.ArcsInBound(b, func(a uint32) bool {
			if a >= numArcs {
				candErr = fmt.Errorf("zonecost: arc finder returned arc %d of a graph with %d arcs", a, numArcs)
				return false
			}
			if sc.seen[a] != sc.stamp {
				sc.seen[a] = sc.stamp
				cand = append(cand, a)
			}
			return true
		})
		if candErr != nil {
			return zoneResult{err: candErr}
		}
	}
	sc.cand = cand
	// Tails: a binary search over FirstOut per arc, unless the zone covers
	// so much of the graph that one pass over FirstOut is cheaper.
	var tails []uint32
	if len(cand) > g.NumArcs()/32 {
		tails = g.Tails()
	}
	// A zone as large as the city (a country-wide presence zone) would
	// keep one core busy while the others idle: split its arcs.
	parts := 1
	if len(cand) >= 2*splitZoneArcs {
		parts = min(runtime.GOMAXPROCS(0), len(cand)/splitZoneArcs, maxWorkers)
	}
	if parts <= 1 {
		return clipArcs(ctx, g, z, pz, cand, tails)
	}
	partResults := make([]zoneResult, parts)
	var wg sync.WaitGroup
	for i := range parts {
		lo, hi := i*len(cand)/parts, (i+1)*len(cand)/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each part has its own prepared zone: polygons keep per-query
			// scratch in it.
			partResults[i] = clipArcs(ctx, g, z, prepare(z), cand[lo:hi], tails)
		}()
	}
	wg.Wait()
	r := zoneResult{contribs: make([]contribution, 0, len(cand))}
	for _, pr := range partResults {
		if pr.err != nil {
			return pr
		}
		r.contribs = append(r.contribs, pr.contribs...)
		r.nodes = append(r.nodes, pr.nodes...)
	}
	return r
}

// splitZoneArcs is the share of one zone's candidate arcs worth a
// goroutine of its own (a variable so that tests can force the split).
var splitZoneArcs = 20_000

// clipArcs measures the candidate arcs against one prepared zone. tails
// may be nil (then each arc's tail is looked up).
func clipArcs(ctx context.Context, g *roadgraph.Graph, z *muster.Zone, pz *preparedZone, cand, tails []uint32) zoneResult {
	var (
		line []vec
		ts   []float64
		r    = zoneResult{contribs: make([]contribution, 0, len(cand))}
	)
	for k, a := range cand {
		if k%4096 == 4095 {
			if err := ctx.Err(); err != nil {
				return zoneResult{err: fmt.Errorf("zonecost: applying zone %q: %w", z.ID, err)}
			}
		}
		var tail uint32
		if tails != nil {
			tail = tails[a]
		} else {
			tail = tailOf(g, a)
		}
		line = projectArc(line[:0], g, pz.f, tail, a)
		if z.Forbidden {
			var touches bool
			touches, ts = pz.touchesLine(line, ts)
			if !touches {
				continue
			}
			r.contribs = append(r.contribs, contribution{arc: a, forbidden: true})
			if pz.containsOrOn(line[0]) {
				r.nodes = append(r.nodes, tail)
			}
			if pz.containsOrOn(line[len(line)-1]) {
				r.nodes = append(r.nodes, g.Head[a])
			}
			continue
		}
		var frac float64
		frac, ts = pz.fractionInside(line, ts)
		if frac > 0 {
			t := float64(g.TimeMS[a]) / 1000 * frac
			r.contribs = append(r.contribs, contribution{arc: a, exposure: z.Risk * t, extra: max(0, z.Penalty-1) * t})
		}
	}
	return r
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
	if pz.circle {
		// A disc is convex: with every vertex in it, the whole polyline
		// is. The common case for a zone much larger than a road.
		r2 := pz.r * pz.r
		allIn := true
		for _, v := range line {
			if v.x*v.x+v.y*v.y > r2 {
				allIn = false
				break
			}
		}
		if allIn {
			return 1, ts
		}
	}
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
