package simulate

import (
	"context"
	"fmt"
	"time"

	"github.com/muster-evac/muster/citygen"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
	"github.com/muster-evac/muster/scenario"
)

// Demo is an exercise on the generated city: its road graphs, a generated
// scenario (households, rally points, gates round the airport) and the
// default injects.
type Demo struct {
	Input    Input
	Injects  []Inject
	Scenario *scenario.Scenario
	City     *roadgraph.City
}

// DemoStart is when the demo operation starts.
var DemoStart = time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)

// DemoOptions size the demo.
type DemoOptions struct {
	Seed       int64
	Scale      float64 // of the city; default 0.5
	Households int     // default 2,000
	People     int     // default 3.3 per household
}

// NewDemo generates the city and its scenario; the injects close the gate
// the scenario's threat closes, an hour in, and flood the picture with 300
// fake reports about another gate half an hour in.
func NewDemo(ctx context.Context, o DemoOptions) (*Demo, error) {
	if o.Scale <= 0 {
		o.Scale = 0.5
	}
	if o.Households <= 0 {
		o.Households = 2000
	}
	if o.People <= 0 {
		o.People = o.Households * 33 / 10
	}
	gen, err := citygen.Generate(ctx, citygen.Options{Seed: o.Seed, Scale: o.Scale})
	if err != nil {
		return nil, err
	}
	city, _, err := osmimport.FromOSM(ctx, gen.OSM, fmt.Sprintf("generated city (seed %d)", o.Seed), osmimport.Options{})
	if err != nil {
		return nil, err
	}
	car, foot := city.Graphs[roadgraph.Car], city.Graphs[roadgraph.Foot]
	sc, err := scenario.Generate(ctx, car, foot, scenario.Options{Seed: o.Seed, Households: o.Households, TargetPeople: o.People,
		RallyPoints: max(20, o.Households/50), Gates: 4, AirportCenter: gen.Airport.Bound().Center()})
	if err != nil {
		return nil, err
	}
	carR, err := route.New(ctx, car, route.Options{})
	if err != nil {
		return nil, err
	}
	footR, err := route.New(ctx, foot, route.Options{})
	if err != nil {
		return nil, err
	}
	d := &Demo{Scenario: sc, City: city, Input: Input{Car: carR, Foot: footR, Places: &sc.Places, Households: sc.Households}}
	d.Input.Params.Start = DemoStart
	var other string
	for _, g := range sc.Gates() {
		if g.ID != sc.Threat.ClosedGate {
			other = g.ID
			break
		}
	}
	d.Injects = []Inject{
		{At: "+30m", Kind: InjectFakeReports, Gate: other, Count: 300, RadiusM: 300, Note: "a flood of fake reports of an attack at a gate", atS: 1800},
		{At: "+1h", Kind: InjectGateClose, Gate: sc.Threat.ClosedGate, RadiusM: 300, Note: "the gate closes mid-operation", atS: 3600},
	}
	return d, nil
}
