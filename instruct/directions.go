package instruct

import (
	"fmt"
	"math"
	"sync"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
)

// Streets turns a walk's geometry into walking directions with the street
// names of the foot network it was routed on. A plan keeps a walk as a
// line only; the line is made of the graph's own arcs (cut at its two ends),
// so Streets finds the arc of each stretch between two graph nodes by its
// exact coordinates, and the arc of a cut end by snapping.
//
// A Streets only reads its graph and is safe for concurrent use.
type Streets struct {
	g      *roadgraph.Graph
	ix     *roadgraph.ArcIndex
	nodeAt map[[2]int32]uint32 // a node's fixed-point lon, lat -> node
}

// NewStreets indexes the foot network g for Directions.
func NewStreets(g *roadgraph.Graph) (*Streets, error) {
	if g == nil {
		return nil, fmt.Errorf("streets: no graph")
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("streets: %w", err)
	}
	s := &Streets{g: g, ix: roadgraph.NewArcIndex(g), nodeAt: make(map[[2]int32]uint32, g.NumNodes())}
	for u := g.NumNodes() - 1; u >= 0; u-- {
		s.nodeAt[[2]int32{g.Lon[u], g.Lat[u]}] = uint32(u) // the lowest id wins a shared position
	}
	return s, nil
}

// Turn angles (degrees, either way) that name a maneuver.
const (
	straightDeg = 20  // below: straight on
	slightDeg   = 60  // below: bear left or right
	turnDeg     = 120 // below: turn
	sharpDeg    = 165 // below: sharp turn; above: turn back
)

// Stretches shorter than these are folded into a neighbour: an unnamed
// connector between two streets, or a few metres of a cross street.
const (
	minUnnamedM = 30
	minCrossM   = 15
	bearingM    = 20 // the length over which a stretch's direction is measured
)

// stretch is part of the walk along one street: points [from, to] of the
// line. Its core is the part that is really that street: a short piece
// folded into it is walked but does not set its direction.
type stretch struct {
	name             string
	from, to         int
	coreFrom, coreTo int
	lengthM          float64
}

// turn is the angle between two consecutive stretches, from their cores.
func turn(a, b stretch, pts orb.LineString, cum []float64) int {
	return turnAngle(bearingTo(pts, cum, a.coreFrom, a.coreTo), bearingFrom(pts, cum, b.coreFrom, b.coreTo))
}

// Directions returns the walking directions along line (lon/lat, from home
// to the rally point): a depart step, a step at each change of street (a
// turn or straight on), and an arrive step. Consecutive arcs of the same
// street are one step; an unnamed connector of a few metres and a cross
// street crossed in a few metres are folded into the steps beside them.
// A line too short to walk gives none.
func (s *Streets) Directions(line orb.LineString) []muster.WalkStep {
	sc := scratches.Get().(*scratch)
	defer scratches.Put(sc)
	pts := sc.pts[:0]
	for _, p := range line {
		if len(pts) == 0 || pts[len(pts)-1] != p {
			pts = append(pts, p)
		}
	}
	sc.pts = pts
	if len(pts) < 2 {
		return nil
	}
	cum := grow(&sc.cum, len(pts))   // distance from the start to each point
	seg := grow(&sc.seg, len(pts)-1) // the length of each segment, measured once
	cum[0] = 0
	for i := 1; i < len(pts); i++ {
		seg[i-1] = muster.DistanceM(pts[i-1][0], pts[i-1][1], pts[i][0], pts[i][1])
		cum[i] = cum[i-1] + seg[i-1]
	}
	if cum[len(cum)-1] < 1 {
		return nil
	}
	sts := mergeStretches(s.stretches(sc, pts, cum, seg), pts, cum)
	sts = foldShort(sts, pts, cum)
	sc.sts = sts[:0]
	steps := make([]muster.WalkStep, 0, len(sts)+1)
	for i, st := range sts {
		step := muster.WalkStep{Maneuver: muster.ManeuverDepart, Street: st.name, DistanceM: int(math.Round(st.lengthM)),
			Bearing: bearingFrom(pts, cum, st.coreFrom, st.coreTo)}
		if i > 0 {
			step.Maneuver = maneuver(turn(sts[i-1], st, pts, cum))
		}
		steps = append(steps, step)
	}
	return append(steps, muster.WalkStep{Maneuver: muster.ManeuverArrive})
}

// scratch is what Directions works in: kept for the next call, not
// made again for every walk (an approval makes the directions of 100,000
// walks on every core: 200 MB of such slices, all garbage at once, and
// most of the building's allocations). Nothing of it is in what
// Directions returns.
type scratch struct {
	pts      orb.LineString
	cum, seg []float64
	node     []int64
	sts      []stretch
}

var scratches = sync.Pool{New: func() any { return new(scratch) }}

// grow returns (*buf)[:n], made larger first if it must be; what it held
// is not cleared.
func grow[T any](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n, n+n/2)
	}
	return (*buf)[:n]
}

// stretches splits the line at graph nodes and names each piece by its arc.
// seg[i] is the length of the segment from point i to i+1. The stretches
// and the nodes are made in sc.
func (s *Streets) stretches(sc *scratch, pts orb.LineString, cum, seg []float64) []stretch {
	node := grow(&sc.node, len(pts))
	for i, p := range pts {
		node[i] = -1
		if u, ok := s.nodeAt[[2]int32{fixed(p[0]), fixed(p[1])}]; ok && float64(s.g.Lon[u])/roadgraph.CoordScale == p[0] && float64(s.g.Lat[u])/roadgraph.CoordScale == p[1] {
			node[i] = int64(u)
		}
	}
	out := sc.sts[:0]
	start := 0
	for i := 1; i < len(pts); i++ {
		if node[i] < 0 && i < len(pts)-1 {
			continue
		}
		out = append(out, stretch{name: s.pieceName(pts, node, seg, start, i), from: start, to: i, coreFrom: start, coreTo: i, lengthM: cum[i] - cum[start]})
		start = i
	}
	return out
}

func fixed(deg float64) int32 {
	return int32(math.Round(deg * roadgraph.CoordScale))
}

// pieceName names the arc that points [a, b] of the line run along: the
// arc from node a to node b with exactly those shape points, or, for a
// piece cut from an arc (the walk's two ends) or one that matches no arc,
// the arc under its longest segment's midpoint.
func (s *Streets) pieceName(pts orb.LineString, node []int64, seg []float64, a, b int) string {
	g := s.g
	if node[a] >= 0 && node[b] >= 0 {
		u, v := uint32(node[a]), uint32(node[b])
		for arc := g.FirstOut[u]; arc < g.FirstOut[u+1]; arc++ {
			if g.Head[arc] != v || int(g.GeomFirst[arc+1]-g.GeomFirst[arc]) != b-a-1 {
				continue
			}
			match := true
			for k, j := g.GeomFirst[arc], a+1; k < g.GeomFirst[arc+1]; k, j = k+1, j+1 {
				if float64(g.GeomLon[k])/roadgraph.CoordScale != pts[j][0] || float64(g.GeomLat[k])/roadgraph.CoordScale != pts[j][1] {
					match = false
					break
				}
			}
			if match {
				return g.Names[g.NameID[arc]]
			}
		}
	}
	best, bestLen := a, -1.0
	for i := a; i < b; i++ {
		if l := seg[i]; l > bestLen {
			best, bestLen = i, l
		}
	}
	mid := orb.Point{(pts[best][0] + pts[best+1][0]) / 2, (pts[best][1] + pts[best+1][1]) / 2}
	snap, err := s.ix.Snap(mid, 2)
	if err != nil {
		return ""
	}
	return g.Names[g.NameID[snap.Arc]]
}

// mergeStretches joins consecutive stretches of the same street, unless
// the street turns there (by slightDeg or more): then the turn is a step.
func mergeStretches(sts []stretch, pts orb.LineString, cum []float64) []stretch {
	out := sts[:0]
	for _, st := range sts {
		if n := len(out); n > 0 && out[n-1].name == st.name && abs(turn(out[n-1], st, pts, cum)) < slightDeg {
			out[n-1].to, out[n-1].coreTo = st.to, st.coreTo
			out[n-1].lengthM += st.lengthM
			continue
		}
		out = append(out, st)
	}
	return out
}

// foldShort folds into a neighbour a short unnamed stretch (into the one
// before it, or after it at the start) and a short stretch between two of
// the same street, until none is left.
func foldShort(sts []stretch, pts orb.LineString, cum []float64) []stretch {
	for changed := true; changed && len(sts) > 1; {
		changed = false
		for i, st := range sts {
			between := i > 0 && i+1 < len(sts) && sts[i-1].name == sts[i+1].name && st.lengthM < minCrossM
			if !(st.name == "" && st.lengthM < minUnnamedM) && !between {
				continue
			}
			if i > 0 {
				sts[i-1].to = st.to // walked, but not what sets its direction
			} else {
				sts[1].from = st.from
			}
			sts = append(sts[:i], sts[i+1:]...)
			for j := range sts {
				sts[j].lengthM = cum[sts[j].to] - cum[sts[j].from]
			}
			sts = mergeStretches(sts, pts, cum)
			changed = true
			break
		}
	}
	return sts
}

// bearingFrom is the direction a stretch [a, b] sets off in: from its
// start to its point bearingM along (or its end).
func bearingFrom(pts orb.LineString, cum []float64, a, b int) int {
	j := a + 1
	for j < b && cum[j]-cum[a] < bearingM {
		j++
	}
	return bearing(pts[a], pts[j])
}

// bearingTo is the direction a stretch [a, b] ends in: from its point
// bearingM before its end (or its start) to its end.
func bearingTo(pts orb.LineString, cum []float64, a, b int) int {
	j := b - 1
	for j > a && cum[b]-cum[j] < bearingM {
		j--
	}
	return bearing(pts[j], pts[b])
}

// bearing is the compass direction from p to q, in whole degrees 0-359.
func bearing(p, q orb.Point) int {
	const rad = math.Pi / 180
	dx := (q[0] - p[0]) * math.Cos((p[1]+q[1])/2*rad)
	dy := q[1] - p[1]
	b := int(math.Round(math.Atan2(dx, dy) / rad))
	return (b%360 + 360) % 360
}

// turnAngle is the turn from bearing out to bearing in, -180..180
// degrees, positive to the right.
func turnAngle(out, in int) int {
	d := ((in-out)%360 + 360) % 360
	if d > 180 {
		d -= 360
	}
	return d
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func maneuver(angle int) string {
	a, left := angle, angle < 0
	if left {
		a = -a
	}
	pick := func(l, r string) string {
		if left {
			return l
		}
		return r
	}
	switch {
	case a < straightDeg:
		return muster.ManeuverContinue
	case a < slightDeg:
		return pick(muster.ManeuverSlightLeft, muster.ManeuverSlightRight)
	case a < turnDeg:
		return pick(muster.ManeuverLeft, muster.ManeuverRight)
	case a < sharpDeg:
		return pick(muster.ManeuverSharpLeft, muster.ManeuverSharpRight)
	}
	return muster.ManeuverUTurn
}
