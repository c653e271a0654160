package scenario

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
)

// GateGroup is the place group every generated gate belongs to.
const GateGroup = "airport gates"

// gateRoadKmh is the least free-flow speed of a road a gate is preferably
// on: unclassified roads and faster.
const gateRoadKmh = 30

var compass = []string{"north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west"}

// placeGates puts the gates on car-graph nodes in a ring around the
// airport, one per equal sector of angle, each as near its sector's middle
// direction and the ring's middle distance as the roads allow.
func placeGates(car *roadgraph.Graph, o Options, rng *rand.Rand) ([]muster.Place, error) {
	l := newLocal(o.AirportCenter)
	inner, outer := o.GateRingM[0], o.GateRingM[1]
	mid := (inner + outer) / 2
	// A gate is on an access road: a node where a road of at least
	// gateRoadKmh meets, or, in a sector without one, any road but a
	// service road or living street.
	access := make([]int, car.NumNodes()) // 2 main, 1 street, 0 neither
	for u := 0; u < car.NumNodes(); u++ {
		for a := car.FirstOut[u]; a < car.FirstOut[u+1]; a++ {
			switch v := arcKmh(car, int(a)); {
			case v >= gateRoadKmh:
				access[u] = 2
			case v >= residentialMinKmh:
				access[u] = max(access[u], 1)
			}
		}
	}
	type cand struct {
		node       uint32
		angle, rad float64
		main       bool
	}
	var cands []cand
	for u := 0; u < car.NumNodes(); u++ {
		x, y := l.xy(car.NodePoint(uint32(u)))
		r := math.Hypot(x, y)
		if r >= inner && r <= outer && access[u] > 0 {
			cands = append(cands, cand{uint32(u), math.Atan2(x, y), r, access[u] == 2}) // angle clockwise from north
		}
	}
	offset := rng.Float64() * 2 * math.Pi / float64(o.Gates)
	var out []muster.Place
	var used []orb.Point
	for k := 0; k < o.Gates; k++ {
		want := offset + 2*math.Pi*float64(k)/float64(o.Gates)
		best, bestScore := -1, math.Inf(1)
		for i, c := range cands {
			d := math.Abs(math.Remainder(c.angle-want, 2*math.Pi))
			if d > math.Pi/float64(o.Gates) {
				continue // outside the sector
			}
			p := car.NodePoint(c.node)
			tooNear := false
			for _, q := range used {
				if l.dist(p, q) < 500 {
					tooNear = true
				}
			}
			if tooNear {
				continue
			}
			// Metres off the middle direction plus metres off the ring's middle.
			score := d*mid + math.Abs(c.rad-mid)
			if !c.main {
				score += 10 * outer // only where no main road is
			}
			if score < bestScore || (score == bestScore && c.node < cands[best].node) {
				best, bestScore = i, score
			}
		}
		if best < 0 {
			return nil, muster.Errorf(muster.EINVALID, "scenario: no car road %.0f-%.0f m from the airport centre %.5f,%.5f in direction %.0f° for gate %d",
				inner, outer, o.AirportCenter[1], o.AirportCenter[0], want*180/math.Pi, k+1)
		}
		c := cands[best]
		p := round6(car.NodePoint(c.node))
		used = append(used, p)
		deg := math.Mod(c.angle*180/math.Pi+360, 360)
		dir := compass[int(math.Round(deg/45))%8]
		name := fmt.Sprintf("Gate %d", k+1)
		out = append(out, muster.Place{
			ID: fmt.Sprintf("gate-%d", k+1), Name: name, Kind: muster.PlaceGate,
			Aliases:           []string{fmt.Sprintf("%s gate %d", dir, k+1)},
			Groups:            []string{GateGroup},
			Geometry:          p,
			RadiusM:           250,
			ThroughputPerHour: 1000 + 50*rng.IntN(11), // 1,000-1,500
			CrowdLimit:        150 + 10*rng.IntN(16),  // 150-300
			Status:            muster.GateOpen,
		})
	}
	return out, nil
}

// DefaultRallyHoursShare is the share of rally points that keep daytime
// hours (06:00-22:00) unless Options say otherwise.
const DefaultRallyHoursShare = 0.2

// placeRallies spreads rally points over the city's main roads by
// farthest-point sampling, starting next to the households' centre: every
// new one is the candidate farthest from all chosen so far, which spreads
// them evenly and leaves no district without one. Candidates are points on
// main roads (tertiary to primary), one per 150 m cell, that a pedestrian
// can reach (within 25 m of the foot graph).
func placeRallies(ctx context.Context, car *roadgraph.Graph, footIndex *roadgraph.ArcIndex, hs []muster.Household, o Options, rng *rand.Rand) ([]muster.Place, error) {
	if o.RallyPoints == 0 {
		return nil, nil
	}
	var cx, cy float64
	for i := range hs {
		cx += hs[i].Lon
		cy += hs[i].Lat
	}
	centre := orb.Point{cx / float64(len(hs)), cy / float64(len(hs))}
	l := newLocal(centre)
	tails := car.Tails()
	type cand struct {
		p    orb.Point
		x, y float64
		name string
	}
	var cands []cand
	cells := map[[2]int]bool{}
	const cell = 150.0
	for a := 0; a < car.NumArcs(); a++ {
		if !mainArc(car, a) || !oneWayOrFirst(car, tails, a) {
			continue
		}
		p := round6(alongArc(car, tails, a, 0.5))
		x, y := l.xy(p)
		key := [2]int{int(math.Floor(x / cell)), int(math.Floor(y / cell))}
		if cells[key] {
			continue
		}
		if _, err := footIndex.Snap(p, 25); err != nil {
			continue
		}
		cells[key] = true
		cands = append(cands, cand{p, x, y, car.Names[car.NameID[a]]})
	}
	if a := ctx.Err(); a != nil {
		return nil, fmt.Errorf("scenario: %w", a)
	}
	if len(cands) < o.RallyPoints {
		return nil, muster.Errorf(muster.EINVALID, "scenario: only %d places on main roads for %d rally points", len(cands), o.RallyPoints)
	}
	// Farthest-point sampling.
	first := 0
	for i, c := range cands {
		if math.Hypot(c.x, c.y) < math.Hypot(cands[first].x, cands[first].y) {
			first = i
		}
	}
	minD := make([]float64, len(cands))
	for i := range minD {
		minD[i] = math.Inf(1)
	}
	var chosen []int
	for next := first; len(chosen) < o.RallyPoints; {
		chosen = append(chosen, next)
		c := cands[next]
		far := 0
		for i, d := range cands {
			minD[i] = min(minD[i], math.Hypot(d.x-c.x, d.y-c.y))
			if minD[i] > minD[far] {
				far = i
			}
		}
		next = far
	}
	out := make([]muster.Place, 0, len(chosen))
	for k, i := range chosen {
		c := cands[i]
		name := fmt.Sprintf("Rally point %03d", k+1)
		if c.name != "" {
			name += " (" + c.name + ")"
		}
		pl := muster.Place{ID: fmt.Sprintf("rally-%03d", k+1), Name: name, Kind: muster.PlaceRally,
			Geometry: c.p, Capacity: 100 + 50*rng.IntN(7)} // 100-400
		if rng.Float64() < o.RallyHoursShare {
			pl.Opens, pl.Closes = "06:00", "22:00"
		}
		out = append(out, pl)
	}
	return out, nil
}

// makeThreat builds the inject: a forbidden circle on one gate (which
// closes it), two or three forbidden circles on main roads near the
// airport (road blocks), and a risky zone on a main road farther out (a
// crowd reported there), so that exposure is not zero everywhere.
func makeThreat(car *roadgraph.Graph, gates []muster.Place, o Options, rng *rand.Rand) (Threat, error) {
	t := Threat{GateStatus: map[string]string{}}
	l := newLocal(o.AirportCenter)
	closed := gates[rng.IntN(len(gates))]
	cp := closed.Geometry.(orb.Point)
	t.ClosedGate = closed.ID
	t.GateStatus[closed.ID] = muster.GateClosed
	t.Zones = append(t.Zones, muster.Zone{ID: "threat-" + closed.ID, Name: "Attack threat at " + closed.Name,
		Center: cp, RadiusM: 200, Risk: 1, Forbidden: true, Level: "critical"})

	tails := car.Tails()
	farFromOpenGates := func(p orb.Point, m float64) bool {
		for _, g := range gates {
			if g.ID != closed.ID && l.dist(p, g.Geometry.(orb.Point)) < m {
				return false
			}
		}
		return true
	}
	var near, farther []orb.Point
	for a := 0; a < car.NumArcs(); a++ {
		if !mainArc(car, a) || !oneWayOrFirst(car, tails, a) {
			continue
		}
		p := round6(alongArc(car, tails, a, 0.5))
		d := l.dist(p, o.AirportCenter)
		switch {
		case d >= o.GateRingM[0] && d <= o.GateRingM[1]+2000 && farFromOpenGates(p, 600) && l.dist(p, cp) > 400:
			near = append(near, p)
		case d >= o.GateRingM[1]+2000 && d <= o.GateRingM[1]+5000 && farFromOpenGates(p, 1500):
			farther = append(farther, p)
		}
	}
	blocks := 2 + rng.IntN(2)
	var placed []orb.Point
	for tries := 0; len(placed) < blocks && tries < 10*len(near)+100 && len(near) > 0; tries++ {
		p := near[rng.IntN(len(near))]
		ok := true
		for _, q := range placed {
			if l.dist(p, q) < 800 {
				ok = false
			}
		}
		if !ok {
			continue
		}
		placed = append(placed, p)
		id := fmt.Sprintf("roadblock-%d", len(placed))
		t.RoadBlocks = append(t.RoadBlocks, id)
		t.Zones = append(t.Zones, muster.Zone{ID: id, Name: fmt.Sprintf("Road block %d", len(placed)),
			Center: p, RadiusM: 120, Risk: 0.9, Forbidden: true, Level: "critical"})
	}
	if len(placed) < 2 {
		return t, muster.Errorf(muster.EINVALID, "scenario: found room for only %d road blocks on main roads near the airport", len(placed))
	}
	if len(farther) > 0 {
		p := farther[rng.IntN(len(farther))]
		t.Zones = append(t.Zones, muster.Zone{ID: "crowd-1", Name: "Crowd reported", Center: p, RadiusM: 400,
			Risk: 0.3, Level: "moderate"})
	}
	return t, nil
}
