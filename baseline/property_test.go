package baseline_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/baseline"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
)

// gridCity is a rows × cols grid of streets about 100 m apart, every
// street two-way at a random class speed.
func gridCity(t *testing.T, rng *rand.Rand, rows, cols int) *route.Router {
	t.Helper()
	g := &roadgraph.Graph{Profile: roadgraph.Car, Names: []string{""}}
	const lat0, lon0 = 34.5, 69.0
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			g.Lat = append(g.Lat, int32((lat0+0.0009*float64(r))*roadgraph.CoordScale))
			g.Lon = append(g.Lon, int32((lon0+0.0011*float64(c))*roadgraph.CoordScale))
			g.OSMNodeID = append(g.OSMNodeID, int64(len(g.Lat)))
		}
	}
	speeds := []float64{8, 24, 32, 40, 48, 90} // km/h: living street to trunk road
	speed := map[[2]int]float64{}
	edge := func(u, v int) [2]int { return [2]int{min(u, v), max(u, v)} }
	g.FirstOut = append(g.FirstOut, 0)
	for u := 0; u < rows*cols; u++ {
		r, c := u/cols, u%cols
		for _, d := range [][2]int{{-1, 0}, {1, 0}, {0, -1}, {0, 1}} {
			rr, cc := r+d[0], c+d[1]
			if rr < 0 || rr >= rows || cc < 0 || cc >= cols {
				continue
			}
			v := rr*cols + cc
			e := edge(u, v)
			if _, ok := speed[e]; !ok {
				speed[e] = speeds[rng.IntN(len(speeds))]
			}
			pu, pv := g.NodePoint(uint32(u)), g.NodePoint(uint32(v))
			length := muster.DistanceM(pu[0], pu[1], pv[0], pv[1])
			g.Head = append(g.Head, uint32(v))
			g.LengthM = append(g.LengthM, float32(length))
			g.TimeMS = append(g.TimeMS, uint32(math.Max(1, math.Round(length/(speed[e]/3.6)*1000))))
			g.NameID = append(g.NameID, 0)
		}
		g.FirstOut = append(g.FirstOut, uint32(len(g.Head)))
	}
	g.GeomFirst = make([]uint32, len(g.Head)+1)
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	rt, err := route.New(context.Background(), g, route.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// arcCapacity is the capacity rule CCRPOptions documents, worked out again
// here: people per step by free-flow speed.
func arcCapacity(g *roadgraph.Graph, a uint32, stepS float64) float64 {
	kmh := float64(g.LengthM[a]) / (float64(g.TimeMS[a]) / 1000) * 3.6
	rate := 600.0
	switch {
	case kmh >= 45:
		rate = 1800
	case kmh >= 30:
		rate = 1200
	}
	return math.Max(1, math.Round(rate*stepS/3600))
}

// Every flow CCRP routes on random grids, checked on its own terms: a
// connected way from a household's node to a gate over open roads, in
// time order, within every arc's capacity in every step and every gate's
// passage per step, with nobody lost or counted twice.
func TestCCRPFlowsRespectCapacities(t *testing.T) {
	ctx := context.Background()
	for seed := uint64(1); seed <= 25; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			rows, cols := 3+rng.IntN(8), 3+rng.IntN(8)
			r := gridCity(t, rng, rows, cols)
			g := r.Graph()
			var zones []muster.Zone
			if rng.IntN(3) == 0 {
				zones = append(zones, muster.Zone{ID: "block", Center: g.NodePoint(uint32(rng.IntN(g.NumNodes()))), RadiusM: 30, Risk: 1, Forbidden: true})
			}
			if rng.IntN(3) == 0 {
				zones = append(zones, muster.Zone{ID: "risk", Center: g.NodePoint(uint32(rng.IntN(g.NumNodes()))), RadiusM: 150, Risk: 0.5})
			}
			if _, err := r.SetZones(ctx, zones); err != nil {
				t.Fatal(err)
			}
			places := &muster.Places{}
			for i := 0; i < 1+rng.IntN(3); i++ {
				places.Places = append(places.Places, muster.Place{ID: fmt.Sprintf("gate-%d", i), Name: fmt.Sprintf("Gate %d", i), Kind: muster.PlaceGate,
					Geometry: g.NodePoint(uint32(rng.IntN(g.NumNodes()))), ThroughputPerHour: 300 + rng.IntN(1200), CrowdLimit: 20 + rng.IntN(180),
					Status: muster.GateOpen})
			}
			var hs []muster.Household
			people := 0
			for i := 0; i < 5+rng.IntN(60); i++ {
				p := g.NodePoint(uint32(rng.IntN(g.NumNodes())))
				size := 1 + rng.IntN(8)
				people += size
				hs = append(hs, muster.Household{ID: fmt.Sprintf("H%d", i), PartySize: size, Lat: p[1], Lon: p[0], HasLocation: true})
			}
			in := baseline.Input{Car: r, Places: places, Households: hs}
			res, err := baseline.CCRPFlows(ctx, in, baseline.CCRPOptions{StepS: float64(30 + rng.IntN(600))})
			if err != nil {
				if muster.ErrorCode(err) == muster.EUNREACHABLE {
					t.Skipf("no usable gate: %v", err)
				}
				t.Fatal(err)
			}
			checkFlows(t, r, in, res, people)
		})
	}
}

func checkFlows(t *testing.T, r *route.Router, in baseline.Input, res baseline.CCRPResult, people int) {
	t.Helper()
	g := r.Graph()
	w := r.Weights()
	step := res.StepS
	tails := g.Tails()
	gateNode := map[string]uint32{}
	gateCap := map[string]float64{}
	for _, p := range in.Places.Places {
		n, _, err := r.Index().NearestNode(p.Geometry.(orb.Point), 1000)
		if err != nil {
			t.Fatal(err)
		}
		gateNode[p.ID] = n
		gateCap[p.ID] = float64(p.ThroughputPerHour) * step / 3600
		if gateCap[p.ID] > float64(p.CrowdLimit)+1e-9 {
			t.Errorf("step %.0f s passes %.1f at %s, more than its crowd limit %d", step, gateCap[p.ID], p.ID, p.CrowdLimit)
		}
	}
	atNode := map[uint32]int{}
	for _, h := range in.Households {
		n, _, err := r.Index().NearestNode(orb.Point{h.Lon, h.Lat}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		atNode[n] += h.PartySize
	}
	arcUse := map[[2]int64]float64{}
	gateUse := map[string]map[int64]float64{}
	sent := map[uint32]int{}
	routed := 0
	for i, f := range res.Flows {
		if f.People <= 0 || len(f.Arcs) != len(f.EnterMS) {
			t.Fatalf("flow %d: %d people, %d arcs, %d entry times", i, f.People, len(f.Arcs), len(f.EnterMS))
		}
		routed += f.People
		sent[f.From] += f.People
		at := f.From
		clock := int64(0)
		for j, a := range f.Arcs {
			if tails[a] != at {
				t.Fatalf("flow %d: arc %d leaves node %d, the route is at %d", i, a, tails[a], at)
			}
			if w[a] == route.Inf {
				t.Fatalf("flow %d: arc %d touches a forbidden zone", i, a)
			}
			if f.EnterMS[j] < clock {
				t.Fatalf("flow %d: enters arc %d at %d ms, before it can be there (%d ms)", i, a, f.EnterMS[j], clock)
			}
			clock = f.EnterMS[j] + int64(g.TimeMS[a])
			at = g.Head[a]
			arcUse[[2]int64{int64(a), int64(math.Floor(float64(f.EnterMS[j]) / (step * 1000)))}] += float64(f.People)
		}
		if at != gateNode[f.Gate] {
			t.Fatalf("flow %d ends at node %d, gate %s is node %d", i, at, f.Gate, gateNode[f.Gate])
		}
		if math.Abs(float64(clock)/1000-f.ArriveS) > 0.002 && len(f.Arcs) > 0 {
			t.Errorf("flow %d reaches the gate at %.3f s, says %.3f s (no waiting at the gate)", i, float64(clock)/1000, f.ArriveS)
		}
		k := int64(math.Round(f.ArriveS / step))
		if math.Abs(float64(k)*step-f.ArriveS) > 1e-6 {
			t.Errorf("flow %d arrives at %.3f s, not at the start of a step", i, f.ArriveS)
		}
		if f.ThroughS > f.ArriveS+step+1e-6 || f.ThroughS <= f.ArriveS {
			t.Errorf("flow %d: through at %.1f s, arrived at %.1f s, step %.1f s", i, f.ThroughS, f.ArriveS, step)
		}
		if gateUse[f.Gate] == nil {
			gateUse[f.Gate] = map[int64]float64{}
		}
		gateUse[f.Gate][k] += float64(f.People)
	}
	for key, n := range arcUse {
		if c := arcCapacity(g, uint32(key[0]), step); n > c {
			t.Errorf("arc %d carries %.0f people in step %d, its capacity is %.0f", key[0], n, key[1], c)
		}
	}
	for id, m := range gateUse {
		for k, n := range m {
			if n > gateCap[id]+1e-6 {
				t.Errorf("gate %s passes %.0f in step %d, it can pass %.2f", id, n, k, gateCap[id])
			}
		}
	}
	for node, n := range sent {
		if n > atNode[node] {
			t.Errorf("node %d sends %d people, it has %d", node, n, atNode[node])
		}
	}
	if routed+res.Unserved != people || res.People != people {
		t.Errorf("%d routed and %d unserved of %d (outcome says %d people)", routed, res.Unserved, people, res.People)
	}
	if res.MakespanS < res.LowerBoundS-1e-6 && routed > 0 {
		t.Errorf("makespan %.1f s below the lower bound %.1f s", res.MakespanS, res.LowerBoundS)
	}
	for id, q := range res.MaxQueue {
		for _, p := range in.Places.Places {
			if p.ID == id && q > p.CrowdLimit {
				t.Errorf("%d waiting at %s, crowd limit %d", q, id, p.CrowdLimit)
			}
		}
	}
}
