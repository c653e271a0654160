package plan

import (
	"fmt"
	"math"
	"sync"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
)

// UnservedCutOff: the household lives on a walkable piece of the network
// that no footpath joins to the rest (a town cut off on foot by a road
// closed to pedestrians), and no usable rally point is on that piece.
const UnservedCutOff = "cut_off"

// footPieces are a foot graph's pieces (roadgraph.Graph.Pieces): a walk
// can only be planned between two points of one piece.
type footPieces struct {
	label []int32
	sizes []int
	tail  []uint32 // per arc
}

// piecesCache keeps the pieces of the last few graphs planned on, so that
// each plan does not label its graph again.
var piecesCache struct {
	sync.Mutex
	graphs []*roadgraph.Graph
	pieces []*footPieces
}

func piecesOf(g *roadgraph.Graph) *footPieces {
	piecesCache.Lock()
	defer piecesCache.Unlock()
	for i, cg := range piecesCache.graphs {
		if cg == g {
			return piecesCache.pieces[i]
		}
	}
	label, sizes := g.Pieces()
	fp := &footPieces{label, sizes, g.Tails()}
	if len(piecesCache.graphs) == 4 {
		piecesCache.graphs, piecesCache.pieces = piecesCache.graphs[1:], piecesCache.pieces[1:]
	}
	piecesCache.graphs = append(piecesCache.graphs, g)
	piecesCache.pieces = append(piecesCache.pieces, fp)
	return fp
}

// pieceAt is the piece of r's graph a point snaps to, or -1 when it is
// too far from any road of it.
func pieceAt(r *route.Router, pt orb.Point) int32 {
	s, err := r.Snap(pt)
	if err != nil {
		return -1
	}
	return piecesOf(r.Graph()).label[s.Tail]
}

// cutOffReason says a household's piece of the foot network has no usable
// rally point.
func cutOffReason(in Input, h *muster.Household, piece int32) Unassigned {
	fp := piecesOf(in.Foot.Graph())
	return Unassigned{h.ID, UnservedCutOff, fmt.Sprintf(
		"no usable rally point is on the walkable piece of the network it lives on (%d of the foot network's %d nodes, which no footpath joins to the rest): a rally point there or a vehicle pickup would serve it (the plan's suggestions say where)",
		fp.sizes[piece], len(fp.label))}
}

// homeSlackM is how much farther than its nearest foot road a household
// may be walked from a road of another piece of the network, one with a
// usable rally point, when its nearest road's piece has none: a fragment
// of footpath by the house (a mapping gap) is not where its people are
// stranded, while a hamlet a road closed to pedestrians cuts off is.
// Below plancheck's SnapMarginM, which a walk's start is held to.
const homeSlackM = 25

// snapHome is where a household's walk starts: its nearest foot road, or,
// when no usable rally point is on that road's piece of the network, the
// nearest road of a piece that has one, if it is no more than homeSlackM
// farther. It returns the snap and the point on the road.
func snapHome(in Input, rallies []*rallyState, home orb.Point) (roadgraph.Snap, orb.Point, error) {
	s, err := in.Foot.Snap(home)
	if err != nil {
		return s, home, err
	}
	fp := piecesOf(in.Foot.Graph())
	piece := fp.label[s.Tail]
	served := map[int32]bool{}
	for _, r := range rallies {
		if r.Usable && r.footPiece == piece {
			return s, home, nil // the usual case: found at once
		}
		if r.Usable && r.footPiece >= 0 {
			served[r.footPiece] = true
		}
	}
	if len(served) == 0 {
		return s, home, nil
	}
	g := in.Foot.Graph()
	reach := s.DistanceM + homeSlackM
	dLat := reach / 111_000
	dLon := dLat / math.Max(0.01, math.Cos(home[1]*math.Pi/180))
	box := orb.Bound{Min: orb.Point{home[0] - dLon, home[1] - dLat}, Max: orb.Point{home[0] + dLon, home[1] + dLat}}
	best, bestD := orb.Point{}, math.Inf(1)
	var line orb.LineString
	in.Foot.Index().ArcsInBound(box, func(a uint32) bool {
		if !served[fp.label[fp.tail[a]]] {
			return true
		}
		line = g.ArcGeometry(line[:0], fp.tail[a], a)
		if pt, d := nearestOnLine(home, line); d < bestD {
			best, bestD = pt, d
		}
		return true
	})
	if bestD > reach {
		return s, home, nil
	}
	s2, err := in.Foot.Snap(best)
	if err != nil || !served[fp.label[s2.Tail]] {
		return s, home, nil
	}
	return s2, best, nil
}

// nearestOnLine is the point of line nearest p and its distance in
// metres, in a flat projection around p.
func nearestOnLine(p orb.Point, line orb.LineString) (orb.Point, float64) {
	kx := 111_320 * math.Cos(p[1]*math.Pi/180)
	const ky = 110_574
	best, bestD := p, math.Inf(1)
	for i := 1; i < len(line); i++ {
		a, b := line[i-1], line[i]
		ax, ay := (a[0]-p[0])*kx, (a[1]-p[1])*ky
		dx, dy := (b[0]-a[0])*kx, (b[1]-a[1])*ky
		t := 0.0
		if l := dx*dx + dy*dy; l > 0 {
			t = min(1, max(0, -(ax*dx+ay*dy)/l))
		}
		if d := math.Hypot(ax+t*dx, ay+t*dy); d < bestD {
			best, bestD = orb.Point{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1])}, d
		}
	}
	return best, bestD
}
