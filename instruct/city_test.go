package instruct

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/citygen"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
	"github.com/muster-evac/muster/scenario"
)

// demoCity is a generated city with households and an approved plan, as
// `muster demo` makes them, small enough for tests.
type demoCity struct {
	city       *roadgraph.City
	places     *muster.Places
	households []muster.Household
	car, foot  *route.Router
	plan       *plan.Plan
	streets    *Streets
}

var (
	demoOnce sync.Once
	demo     *demoCity
	demoErr  error
)

var demoStart = time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)

// testCity builds the demo city once for every test of the package.
func testCity(t testing.TB) *demoCity {
	t.Helper()
	demoOnce.Do(func() { demo, demoErr = makeDemoCity(context.Background(), 2021, 0.35, 500) })
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	return demo
}

func makeDemoCity(ctx context.Context, seed int64, scale float64, households int) (*demoCity, error) {
	gen, err := citygen.Generate(ctx, citygen.Options{Seed: seed, Scale: scale})
	if err != nil {
		return nil, err
	}
	city, _, err := osmimport.FromOSM(ctx, gen.OSM, "test", osmimport.Options{})
	if err != nil {
		return nil, err
	}
	places := gen.Places
	var airport orb.Point
	for _, pl := range places.Places {
		if pl.Kind == muster.PlaceAirport {
			airport, _ = pl.Point()
		}
	}
	carG, footG := city.Graphs[roadgraph.Car], city.Graphs[roadgraph.Foot]
	sc, err := scenario.Generate(ctx, carG, footG, scenario.Options{Seed: seed, Households: households, TargetPeople: households * 7 / 2,
		RallyPoints: 1, Gates: 2, AirportCenter: airport, Timezone: places.Timezone})
	if err != nil {
		return nil, err
	}
	car, err := route.New(ctx, carG, route.Options{})
	if err != nil {
		return nil, err
	}
	foot, err := route.New(ctx, footG, route.Options{})
	if err != nil {
		return nil, err
	}
	p, err := plan.Make(ctx, plan.Input{Car: car, Foot: foot, Places: &places, Households: sc.Households, Params: plan.Params{Start: demoStart}})
	if err != nil {
		return nil, err
	}
	if err := plan.Approve(p); err != nil {
		return nil, err
	}
	streets, err := NewStreets(footG)
	if err != nil {
		return nil, err
	}
	return &demoCity{city: city, places: &places, households: sc.Households, car: car, foot: foot, plan: p, streets: streets}, nil
}

var testSecret = []byte("a test secret of 32 bytes, no more")

func testOptions(c *demoCity) Options {
	return Options{Secret: testSecret, TimeZone: c.places.Timezone, Escorts: true, IssuedAt: demoStart.Add(-2 * time.Hour),
		Contact: muster.Contact{Phone: "+93 20 000 0000", URL: "https://evac.example.org/help"}}
}
