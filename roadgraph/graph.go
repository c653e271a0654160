// Package roadgraph holds muster's routable road network: one compact graph
// per travel profile (car, foot) in forward-star form, with node coordinates,
// arc geometry for drawing, a versioned checksummed file format and a
// spatial index that snaps any coordinate to the nearest routable arc.
//
// Graphs are flat arrays indexed by dense integer ids, not objects and
// pointers: a Porto-sized city (62,000 intersections) fits in a few MB and
// loads with one read.
package roadgraph

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/paulmach/orb"
)

// Profile is a way of travelling that decides which ways are usable and how fast.
type Profile uint8

const (
	Car Profile = iota
	Foot
)

// Profiles lists every profile, in file order.
var Profiles = []Profile{Car, Foot}

func (p Profile) String() string {
	switch p {
	case Car:
		return "car"
	case Foot:
		return "foot"
	}
	return fmt.Sprintf("profile(%d)", uint8(p))
}

// ParseProfile turns "car" or "foot" into a Profile.
func ParseProfile(s string) (Profile, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "car", "driving", "drive":
		return Car, nil
	case "foot", "walking", "walk":
		return Foot, nil
	}
	return 0, fmt.Errorf("unknown profile %q: use car or foot", s)
}

// CoordScale converts degrees to the fixed-point integers stored in a Graph
// (1e-7 degrees, about 1 cm: what OSM itself stores).
const CoordScale = 1e7

// Graph is the routable network of one profile. Nodes are intersections and
// dead ends (OSM nodes shared by routable ways, or way ends); an arc is a
// directed stretch of road between two nodes, with the shape points in
// between kept for drawing and for testing against zones.
//
// The arcs leaving node u are FirstOut[u] .. FirstOut[u+1]-1.
type Graph struct {
	Profile Profile

	// Per node.
	Lat, Lon  []int32 // fixed point, see CoordScale
	OSMNodeID []int64 // the OSM node each graph node came from (0 if synthetic)

	// Forward star.
	FirstOut []uint32 // len NumNodes()+1
	Head     []uint32 // per arc: the node it leads to
	TimeMS   []uint32 // per arc: free-flow travel time in milliseconds (>= 1)
	LengthM  []float32
	NameID   []uint32 // per arc: index into Names ("" is index 0)

	// Shape points strictly between an arc's tail and head, in travel order:
	// arc a has GeomLat/GeomLon[GeomFirst[a]:GeomFirst[a+1]].
	GeomFirst        []uint32 // len NumArcs()+1
	GeomLat, GeomLon []int32

	Names []string

	// Order is an optional nested-dissection order of the nodes (Order[i]
	// is the node ranked i), computed once at import so that the router's
	// metric-independent preprocessing need not recompute it at load.
	Order []uint32

	// EmergencyArcs are the arcs, in increasing order, on roads closed to
	// this profile (foot=no) that an import for an emergency opened
	// because nothing else joins the pieces they join (osmimport's
	// FootEmergency). Empty in an ordinary graph.
	EmergencyArcs []uint32
}

// IsEmergency reports whether arc a is one of the EmergencyArcs.
func (g *Graph) IsEmergency(a uint32) bool {
	_, ok := slices.BinarySearch(g.EmergencyArcs, a)
	return ok
}

// NumNodes returns the number of nodes.
func (g *Graph) NumNodes() int { return len(g.Lat) }

// NumArcs returns the number of directed arcs.
func (g *Graph) NumArcs() int { return len(g.Head) }

// NodePoint returns node u as a lon/lat point.
func (g *Graph) NodePoint(u uint32) orb.Point {
	return orb.Point{float64(g.Lon[u]) / CoordScale, float64(g.Lat[u]) / CoordScale}
}

// Tails returns, for every arc, the node it leaves.
func (g *Graph) Tails() []uint32 {
	tail := make([]uint32, g.NumArcs())
	for u := 0; u+1 < len(g.FirstOut); u++ {
		for a := g.FirstOut[u]; a < g.FirstOut[u+1]; a++ {
			tail[a] = uint32(u)
		}
	}
	return tail
}

// ArcGeometry appends arc a's full polyline, tail and head included, to dst.
func (g *Graph) ArcGeometry(dst orb.LineString, tail, a uint32) orb.LineString {
	dst = append(dst, g.NodePoint(tail))
	for i := g.GeomFirst[a]; i < g.GeomFirst[a+1]; i++ {
		dst = append(dst, orb.Point{float64(g.GeomLon[i]) / CoordScale, float64(g.GeomLat[i]) / CoordScale})
	}
	return append(dst, g.NodePoint(g.Head[a]))
}

// Validate checks the graph's internal consistency: array lengths, offsets
// that never decrease and stay in range, heads and names in range,
// coordinates on Earth. A graph that passes can be routed on without any
// index going out of bounds.
func (g *Graph) Validate() error {
	n, m := len(g.Lat), len(g.Head)
	if len(g.Lon) != n || len(g.OSMNodeID) != n {
		return fmt.Errorf("%s graph: %d latitudes, %d longitudes, %d OSM ids", g.Profile, n, len(g.Lon), len(g.OSMNodeID))
	}
	if n >= math.MaxUint32 || m >= math.MaxUint32 {
		return fmt.Errorf("%s graph: too large (%d nodes, %d arcs)", g.Profile, n, m)
	}
	if len(g.FirstOut) != n+1 || g.FirstOut[0] != 0 || int(g.FirstOut[n]) != m {
		return fmt.Errorf("%s graph: first-out array does not span the %d arcs", g.Profile, m)
	}
	for u := 0; u < n; u++ {
		if g.FirstOut[u] > g.FirstOut[u+1] {
			return fmt.Errorf("%s graph: first-out offsets decrease at node %d", g.Profile, u)
		}
		if g.Lat[u] < -90*CoordScale || g.Lat[u] > 90*CoordScale || g.Lon[u] < -180*CoordScale || g.Lon[u] > 180*CoordScale {
			return fmt.Errorf("%s graph: node %d has coordinates out of range", g.Profile, u)
		}
	}
	if len(g.TimeMS) != m || len(g.LengthM) != m || len(g.NameID) != m {
		return fmt.Errorf("%s graph: per-arc arrays disagree on the number of arcs (%d)", g.Profile, m)
	}
	if len(g.Names) == 0 || g.Names[0] != "" {
		return fmt.Errorf("%s graph: name table must start with the empty name", g.Profile)
	}
	for a := 0; a < m; a++ {
		if int(g.Head[a]) >= n {
			return fmt.Errorf("%s graph: arc %d leads to node %d of %d", g.Profile, a, g.Head[a], n)
		}
		if g.TimeMS[a] == 0 {
			return fmt.Errorf("%s graph: arc %d takes no time", g.Profile, a)
		}
		if int(g.NameID[a]) >= len(g.Names) {
			return fmt.Errorf("%s graph: arc %d has name %d of %d", g.Profile, a, g.NameID[a], len(g.Names))
		}
		if l := g.LengthM[a]; !(l >= 0) || math.IsInf(float64(l), 0) {
			return fmt.Errorf("%s graph: arc %d has length %v", g.Profile, a, l)
		}
	}
	if len(g.GeomFirst) != m+1 || g.GeomFirst[0] != 0 || int(g.GeomFirst[m]) != len(g.GeomLat) || len(g.GeomLat) != len(g.GeomLon) {
		return fmt.Errorf("%s graph: geometry arrays do not span the %d arcs", g.Profile, m)
	}
	for a := 0; a < m; a++ {
		if g.GeomFirst[a] > g.GeomFirst[a+1] {
			return fmt.Errorf("%s graph: geometry offsets decrease at arc %d", g.Profile, a)
		}
	}
	for i, a := range g.EmergencyArcs {
		if int(a) >= m || (i > 0 && a <= g.EmergencyArcs[i-1]) {
			return fmt.Errorf("%s graph: emergency arcs are not increasing arc ids below %d", g.Profile, m)
		}
	}
	if len(g.Order) != 0 {
		if len(g.Order) != n {
			return fmt.Errorf("%s graph: node order has %d entries for %d nodes", g.Profile, len(g.Order), n)
		}
		seen := make([]bool, n)
		for _, u := range g.Order {
			if int(u) >= n || seen[u] {
				return fmt.Errorf("%s graph: node order is not a permutation", g.Profile)
			}
			seen[u] = true
		}
	}
	return nil
}

// City is what one import produces: a graph per profile and where it came from.
type City struct {
	Source string // file name or "generated: seed N"
	Graphs map[Profile]*Graph
}

// Graph returns the city's graph for profile p, or an error naming the
// profiles it has.
func (c *City) Graph(p Profile) (*Graph, error) {
	if g := c.Graphs[p]; g != nil {
		return g, nil
	}
	return nil, fmt.Errorf("the graph has no %s network", p)
}
