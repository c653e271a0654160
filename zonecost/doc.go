// Package zonecost turns a threat picture's danger zones into their effect
// on each arc of a road graph: whether the arc touches a forbidden zone, and
// how many risk-weighted seconds a traveller spends inside the risky ones.
// The router turns that into arc weights (TimeMS + penalty × exposure) and
// drops forbidden arcs.
//
// # Geometry
//
// Every zone is measured in its own local equirectangular projection in
// metres, centred on the zone (a circle's centre, a polygon's first vertex):
// x = Δlon·cos(lat0)·R·π/180, y = Δlat·R·π/180, with Δlon wrapped into
// [-180, 180) so that zones and arcs at the antimeridian stay contiguous.
// The projection is affine in lon/lat, so straight segments stay straight
// and a polygon's topology is the same in degrees and in metres; a circle
// is the disc of RadiusM metres around its centre in that projection.
//
// Zones are closed sets: a point on the boundary is inside. Because graph
// coordinates are fixed point (1e-7°, about 1 cm), "touching" is decided
// with a tolerance of TouchToleranceM: an arc touches a zone when some
// point of it lies within TouchToleranceM of the zone.
//
// # Two implementations on purpose
//
// Compute clips each arc segment against the zone (a quadratic for circles;
// for polygons, the segment's intersections with every ring edge, found
// through a band index, and an even-odd test of each piece). CheckForbidden
// shares no code with it: it tests circles through the segment's closest
// point to the centre, and polygons with orb/planar point-in-polygon and
// orientation-predicate segment-segment tests over all edges. Tests compare
// the two on thousands of random arcs, so a routing test can use
// CheckForbidden to prove that no route crosses a forbidden zone.
//
// # Costs
//
// Per zone: candidate arcs from the ArcFinder (an R-tree query), then one
// projection and clip per arc segment; polygon edges sit in horizontal
// bands so a segment meets only the edges near its latitude. Zones are
// spread over up to four goroutines (a zone with tens of thousands of
// candidate arcs is itself split) and merged in a canonical zone order, so
// the result, down to the bits of each exposure sum, depends neither on
// the order of the zones nor on the scheduling. Measured on the shared
// 2-core machine under heavy load, as CPU time per call (total over all
// goroutines; load inflates wall time, not this):
//
//	Porto car graph (63k nodes, 147k arcs), 8 circles of 150-430 m
//	and 4 polygons up to 1.6 km, 1,143 arcs affected:             0.6-0.8 ms
//	  the same plus a 650 km risky circle (every arc inside):     14 ms
//	synthetic 60k-node grid, 10 circles and 5 polygons of
//	0.4-1.2 km with holes, 18,644 arcs affected:                  8.5 ms
//
// ReadGeoJSON's self-intersection sweep is O(n log n) on ordinary rings;
// the worst ring of MaxRingVertices (a comb of long teeth) costs about
// 70 ms CPU.
package zonecost
