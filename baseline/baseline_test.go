package baseline_test

import (
	"bytes"
	"context"
	"math"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/baseline"
	"github.com/muster-evac/muster/citygen"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/plancheck"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
	"github.com/muster-evac/muster/scenario"
)

// On the generated city with a generated scenario: the planner, nearest
// gate and CCRP side by side; what each must and must not do.
func TestBaselinesOnGeneratedCity(t *testing.T) {
	ctx := context.Background()
	c, err := citygen.Generate(ctx, citygen.Options{Seed: 2, Scale: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	city, _, err := osmimport.FromOSM(ctx, c.OSM, "generated", osmimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	carG, footG := city.Graphs[roadgraph.Car], city.Graphs[roadgraph.Foot]
	s, err := scenario.Generate(ctx, carG, footG, scenario.Options{Seed: 1, Households: 1500, TargetPeople: 5000,
		RallyPoints: 40, AirportCenter: c.Airport.Bound().Center(), Timezone: "Asia/Kabul"})
	if err != nil {
		t.Fatal(err)
	}
	car, err := route.New(ctx, carG, route.Options{})
	if err != nil {
		t.Fatal(err)
	}
	foot, err := route.New(ctx, footG, route.Options{})
	if err != nil {
		t.Fatal(err)
	}
	limits := map[string]int{}
	for _, g := range s.Gates() {
		limits[g.ID] = g.CrowdLimit
	}
	start := time.Date(2021, 8, 20, 0, 0, 0, 0, time.UTC)
	p, err := plan.Make(ctx, plan.Input{Car: car, Foot: foot, Places: &s.Places, Households: s.Households, Params: plan.Params{Start: start}})
	if err != nil {
		t.Fatal(err)
	}
	if vs := plancheck.Check(p, plancheck.Inputs{Places: &s.Places, Households: s.Households}); len(vs) > 0 {
		t.Fatalf("%d violations, first %v", len(vs), vs[0])
	}
	in := baseline.Input{Car: car, Places: &s.Places, Households: s.Households}
	ng, err := baseline.NearestGate(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := baseline.CCRP(ctx, in, baseline.CCRPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	outs := []baseline.Outcome{baseline.FromPlan("muster", p), ng, cc}
	var tab bytes.Buffer
	if err := baseline.WriteTable(&tab, outs, limits); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", tab.String())

	for _, o := range outs {
		if o.People != s.People() {
			t.Errorf("%s: %d people, the scenario has %d", o.Name, o.People, s.People())
		}
		if o.MakespanS < o.LowerBoundS-1 {
			t.Errorf("%s: makespan %.0f s below its lower bound %.0f s", o.Name, o.MakespanS, o.LowerBoundS)
		}
		if len(o.MaxQueue) != len(limits) {
			t.Errorf("%s: queues at %d gates, want %d", o.Name, len(o.MaxQueue), len(limits))
		}
	}
	// Without a threat everyone can drive to a gate.
	if ng.Unserved != 0 || cc.Unserved != 0 {
		t.Errorf("unserved: nearest gate %d, CCRP %d", ng.Unserved, cc.Unserved)
	}
	// Everyone leaving at once crowds some gate past its limit; CCRP, which
	// counts the gate's capacity, does not.
	over := false
	for g, q := range ng.MaxQueue {
		over = over || q > limits[g]
	}
	if !over {
		t.Errorf("nearest gate: no gate over its crowd limit: %v (limits %v)", ng.MaxQueue, limits)
	}
	for g, q := range cc.MaxQueue {
		if q > limits[g] {
			t.Errorf("CCRP: %d waiting at %s, over its crowd limit %d", q, g, limits[g])
		}
	}
	// CCRP uses every gate's capacity, the nearest gate rule does not.
	if cc.MakespanS > ng.MakespanS {
		t.Errorf("CCRP makespan %.0f s longer than nearest gate's %.0f s", cc.MakespanS, ng.MakespanS)
	}
	if r := cc.Ratio(); r > 1.2 {
		t.Errorf("CCRP makespan %.2f times its lower bound", r)
	}
}

// lineCity is a straight road: node 0 (the source) to node n-1 (the gate),
// each arc 100 m long and taking timeMS, both ways.
func lineCity(t *testing.T, n int, timeMS uint32) *route.Router {
	t.Helper()
	g := &roadgraph.Graph{Profile: roadgraph.Car, Names: []string{""}}
	for i := 0; i < n; i++ {
		g.Lat = append(g.Lat, int32(34.5*roadgraph.CoordScale))
		g.Lon = append(g.Lon, int32((69.0+0.0011*float64(i))*roadgraph.CoordScale)) // about 100 m apart
		g.OSMNodeID = append(g.OSMNodeID, int64(i+1))
	}
	g.FirstOut = append(g.FirstOut, 0)
	for i := 0; i < n; i++ {
		for _, j := range []int{i - 1, i + 1} {
			if j >= 0 && j < n {
				g.Head = append(g.Head, uint32(j))
				g.TimeMS = append(g.TimeMS, timeMS)
				g.LengthM = append(g.LengthM, 100)
				g.NameID = append(g.NameID, 0)
			}
		}
		g.FirstOut = append(g.FirstOut, uint32(len(g.Head)))
	}
	g.GeomFirst = make([]uint32, len(g.Head)+1)
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	r, err := route.New(context.Background(), g, route.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func lineInput(r *route.Router, people, throughput, crowd int) baseline.Input {
	g := r.Graph()
	last := uint32(g.NumNodes() - 1)
	var hs []muster.Household
	for i := 0; i < people/5; i++ {
		p := g.NodePoint(0)
		hs = append(hs, muster.Household{ID: "H" + string(rune('a'+i%26)) + string(rune('a'+i/26)), PartySize: 5, Lat: p[1], Lon: p[0], HasLocation: true})
	}
	return baseline.Input{Car: r, Households: hs, Places: &muster.Places{Places: []muster.Place{{ID: "gate", Name: "Gate", Kind: muster.PlaceGate,
		Geometry: g.NodePoint(last), ThroughputPerHour: throughput, CrowdLimit: crowd, Status: muster.GateOpen}}}}
}

// On a straight road the outcomes can be worked out by hand.
func TestOnALine(t *testing.T) {
	ctx := context.Background()
	// 5 arcs of 100 m in 30 s each (12 km/h: a slow street, 600 people an
	// hour): 150 s from source to gate.
	r := lineCity(t, 6, 30_000)
	in := lineInput(r, 100, 600, 50)

	ng, err := baseline.NearestGate(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	// All 100 arrive at 150 s and pass at 600 an hour: 600 s.
	if ng.MakespanS != 750 || ng.MaxQueue["gate"] != 100 || ng.LowerBoundS != 750 || ng.Unserved != 0 {
		t.Errorf("nearest gate: %+v, want makespan 750 s, queue 100, lower bound 750 s", ng)
	}

	// CCRP, steps of 60 s: the gate passes 10 a step, the street carries
	// 10 a step. The first step anyone reaches is step 3 (180 s); ten
	// steps of ten people; the last ten are through at 13 × 60 = 780 s.
	cc, err := baseline.CCRP(ctx, in, baseline.CCRPOptions{StepS: 60})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(cc.MakespanS-780) > 1e-6 || cc.MaxQueue["gate"] != 10 || cc.Unserved != 0 {
		t.Errorf("CCRP: %+v, want makespan 780 s and 10 waiting at most", cc)
	}

	// A gate twice as fast: the street (10 a step) binds, not the gate; the
	// last ten arrive at step 12 and pass in 30 s.
	in = lineInput(r, 100, 1200, 50)
	cc, err = baseline.CCRP(ctx, in, baseline.CCRPOptions{StepS: 60})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(cc.MakespanS-750) > 1e-6 {
		t.Errorf("CCRP with the street binding: makespan %.1f s, want 750 s", cc.MakespanS)
	}

	// A crowd limit below one step's passage shortens the step: 600 an
	// hour and at most 5 waiting gives steps of 30 s.
	in = lineInput(r, 100, 600, 5)
	cc, err = baseline.CCRP(ctx, in, baseline.CCRPOptions{StepS: 60})
	if err != nil {
		t.Fatal(err)
	}
	if cc.MaxQueue["gate"] > 5 {
		t.Errorf("CCRP: %d waiting, crowd limit 5", cc.MaxQueue["gate"])
	}

	// A closed gate leaves nothing to go to.
	in.GateStatus = map[string]string{"gate": muster.GateClosed}
	if _, err := baseline.CCRP(ctx, in, baseline.CCRPOptions{}); err == nil {
		t.Errorf("CCRP with the only gate closed: no error")
	}
	if _, err := baseline.NearestGate(ctx, in); err == nil {
		t.Errorf("nearest gate with the only gate closed: no error")
	}
}

// A road block between the households and the gate leaves them unserved.
func TestRoadBlockCutsOff(t *testing.T) {
	ctx := context.Background()
	r := lineCity(t, 6, 30_000)
	mid := r.Graph().NodePoint(2)
	if _, err := r.SetZones(ctx, []muster.Zone{{ID: "block", Center: mid, RadiusM: 30, Risk: 1, Forbidden: true}}); err != nil {
		t.Fatal(err)
	}
	in := lineInput(r, 50, 600, 50)
	for name, run := range map[string]func() (baseline.Outcome, error){
		"nearest gate": func() (baseline.Outcome, error) { return baseline.NearestGate(ctx, in) },
		"CCRP":         func() (baseline.Outcome, error) { return baseline.CCRP(ctx, in, baseline.CCRPOptions{}) },
	} {
		o, err := run()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if o.Unserved != 50 || o.People != 50 || o.MakespanS != 0 {
			t.Errorf("%s: %+v, want all 50 unserved", name, o)
		}
	}
}
