package simulate

import (
	"math"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/zonecost"
)

// Road congestion: the speed-density rule.
//
// A route is cut at its polyline's vertices into pieces; two routes that
// run along the same stretch of road in the same direction share its
// pieces (a piece is keyed by its two ends to about a metre). A party
// entering a piece takes, for it, its free-flow time divided by a speed
// factor from the density of the vehicles already on it (Greenshields):
//
//	k = vehicles ahead / max(length, minPieceM)      (vehicles per metre, one lane)
//	v/vf = max(minSpeedShare, 1 - k/jamDensity)       (jamDensity = 1 / 7.5 m)
//
// A vehicle alone on a road drives at free-flow speed; a road full bumper
// to bumper crawls at a tenth of it. The time is fixed when the piece is
// entered (a mesoscopic model, as in queue-based traffic simulators): no
// event per vehicle per second, only one per piece.
const (
	jamDensity    = 1 / 7.5 // vehicles per metre of lane at a standstill
	minPieceM     = 25.0    // a shorter piece is counted as this long for density
	minSpeedShare = 0.1
)

type pieceKey [4]int32

func quantize(p orb.Point) (int32, int32) {
	return int32(math.Round(p[0] * 1e5)), int32(math.Round(p[1] * 1e5))
}

// piece is one stretch of road between two vertices, in one direction.
type piece struct {
	lengthM  float64
	mid      orb.Point
	vehicles int32 // on it now
	blocked  bool  // a road block: nobody enters
	risk     float64
	riskVer  int // the picture version risk was computed for
}

// roads holds every piece any route uses.
type roads struct {
	pieces []piece
	ix     map[pieceKey]int32
	zones  []muster.Zone // the current threat picture, for exposure
	ver    int           // its version
	blocks []block       // road blocks in force
}

type block struct {
	center  orb.Point
	radiusM float64
}

func newRoads() *roads { return &roads{ix: map[pieceKey]int32{}, ver: 1} }

// path is a route as pieces with their free-flow times, and the vertex each
// piece starts at (to place a party on the map).
type path struct {
	pieces []int32
	ff     []float64
	from   []orb.Point
	end    orb.Point
}

// pathOf cuts a route's line into pieces, its duration spread over them by
// length.
func (rd *roads) pathOf(line orb.LineString, durationS float64) path {
	var p path
	if len(line) == 0 {
		return p
	}
	p.end = line[len(line)-1]
	total := 0.0
	lens := make([]float64, 0, len(line))
	for i := 1; i < len(line); i++ {
		d := muster.DistanceM(line[i-1][0], line[i-1][1], line[i][0], line[i][1])
		lens = append(lens, d)
		total += d
	}
	for i := 1; i < len(line); i++ {
		d := lens[i-1]
		if d < 0.5 {
			continue // a repeated vertex
		}
		ax, ay := quantize(line[i-1])
		bx, by := quantize(line[i])
		k := pieceKey{ax, ay, bx, by}
		id, ok := rd.ix[k]
		if !ok {
			id = int32(len(rd.pieces))
			mid := orb.Point{(line[i-1][0] + line[i][0]) / 2, (line[i-1][1] + line[i][1]) / 2}
			rd.pieces = append(rd.pieces, piece{lengthM: d, mid: mid, blocked: rd.blockedAt(mid)})
			rd.ix[k] = id
		}
		p.pieces = append(p.pieces, id)
		p.ff = append(p.ff, durationS*d/total)
		p.from = append(p.from, line[i-1])
	}
	return p
}

// travelS is the time a party takes over piece i, entering it now.
func (rd *roads) travelS(id int32, ffS float64) float64 {
	pc := &rd.pieces[id]
	k := float64(pc.vehicles) / math.Max(pc.lengthM, minPieceM)
	share := math.Max(minSpeedShare, 1-k/jamDensity)
	return ffS / share
}

// riskOf is the risk (0..1) at the piece under the current picture; a
// forbidden zone counts 1.
func (rd *roads) riskOf(id int32) float64 {
	pc := &rd.pieces[id]
	if pc.riskVer != rd.ver {
		pc.risk, pc.riskVer = riskAt(pc.mid, rd.zones), rd.ver
	}
	return pc.risk
}

func riskAt(p orb.Point, zones []muster.Zone) float64 {
	r := 0.0
	for _, i := range zonecost.Containing(p, zones) {
		z := zones[i]
		v := z.Risk
		if z.Forbidden {
			v = 1
		}
		r = math.Max(r, v)
	}
	return r
}

func (rd *roads) setZones(zones []muster.Zone) {
	rd.zones = zones
	rd.ver++
}

func (rd *roads) blockedAt(p orb.Point) bool {
	for _, b := range rd.blocks {
		if muster.DistanceM(p[0], p[1], b.center[0], b.center[1]) <= b.radiusM {
			return true
		}
	}
	return false
}

// addBlock closes every piece whose middle lies within the block.
func (rd *roads) addBlock(b block) int {
	rd.blocks = append(rd.blocks, b)
	n := 0
	for i := range rd.pieces {
		pc := &rd.pieces[i]
		if !pc.blocked && muster.DistanceM(pc.mid[0], pc.mid[1], b.center[0], b.center[1]) <= b.radiusM {
			pc.blocked = true
			n++
		}
	}
	return n
}
