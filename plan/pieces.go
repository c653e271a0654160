package plan

import (
	"fmt"
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
	fp := &footPieces{label, sizes}
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
