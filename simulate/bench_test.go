package simulate

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster/internal/testshared"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
	"github.com/muster-evac/muster/scenario"
)

var (
	portoOnce sync.Once
	porto     *portoExercise
	portoErr  error
)

// portoExercise is Porto with the scenario generator's default (100,000
// people in 30,000 households, 300 rally point candidates, 4 gates),
// planned and approved: an operation of about a day.
type portoExercise struct {
	in      Input
	injects []Inject
	setup   time.Duration
}

func loadPorto(tb testing.TB) *portoExercise {
	tb.Helper()
	path := testshared.Path(tb, "data/porto.osm.pbf")
	portoOnce.Do(func() {
		t0 := time.Now()
		ctx := context.Background()
		city, _, err := osmimport.ImportFile(ctx, path, osmimport.Options{})
		if err != nil {
			portoErr = err
			return
		}
		car, err := route.New(ctx, city.Graphs[roadgraph.Car], route.Options{})
		if err != nil {
			portoErr = err
			return
		}
		foot, err := route.New(ctx, city.Graphs[roadgraph.Foot], route.Options{})
		if err != nil {
			portoErr = err
			return
		}
		sc, err := scenario.Generate(ctx, city.Graphs[roadgraph.Car], city.Graphs[roadgraph.Foot],
			scenario.Options{Seed: 1, AirportCenter: orb.Point{-8.681, 41.248}, Timezone: "Europe/Lisbon"})
		if err != nil {
			portoErr = err
			return
		}
		start := time.Date(2026, 3, 14, 6, 0, 0, 0, time.UTC)
		p, err := plan.Make(ctx, plan.Input{Car: car, Foot: foot, Places: &sc.Places, Households: sc.Households, Params: plan.Params{Start: start}})
		if err != nil {
			portoErr = err
			return
		}
		if portoErr = plan.Approve(p); portoErr != nil {
			return
		}
		var other string
		for _, g := range sc.Gates() {
			if g.ID != sc.Threat.ClosedGate {
				other = g.ID
				break
			}
		}
		porto = &portoExercise{in: Input{Car: car, Foot: foot, Places: &sc.Places, Households: sc.Households, Plan: p},
			injects: []Inject{
				{Kind: InjectFakeReports, Gate: other, Count: 500, RadiusM: 300, atS: 2 * 3600},
				{Kind: InjectGateClose, Gate: sc.Threat.ClosedGate, RadiusM: 300, atS: 8 * 3600},
			}, setup: time.Since(t0)}
	})
	if portoErr != nil {
		tb.Fatal(portoErr)
	}
	return porto
}

// BenchmarkSimulatePorto: 100,000 people over the day-long operation of
// Porto's plan, with a flood of fake reports and a gate closing (each
// re-planned and approved); muster's plan only. Target: under 30 s.
func BenchmarkSimulatePorto(b *testing.B) {
	p := loadPorto(b)
	b.Logf("setup (import, routers, scenario, plan): %v", p.setup)
	var res *Result
	cpu0 := cpuTime()
	for b.Loop() {
		var err error
		if res, err = Run(context.Background(), p.in, Config{Seed: 1, Injects: p.injects}); err != nil {
			b.Fatal(err)
		}
	}
	// CPU seconds as well as wall time: on a shared machine the wall
	// time says more about the load than about the simulation.
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	m := res.Report.Run(NameMuster)
	b.ReportMetric(float64(m.People), "people")
	b.ReportMetric(m.EndS/3600, "simulated-h")
	b.ReportMetric(float64(len(res.Events)), "events")
}

// BenchmarkSimulatePortoQuiet is the same day without injects: the
// simulation alone, no re-plan.
func BenchmarkSimulatePortoQuiet(b *testing.B) {
	p := loadPorto(b)
	for b.Loop() {
		if _, err := Run(context.Background(), p.in, Config{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPortoExercise checks the accounting and the gates' safety at scale,
// with the baselines.
func TestPortoExercise(t *testing.T) {
	testshared.Long(t)
	p := loadPorto(t)
	res, err := Run(context.Background(), p.in, Config{Seed: 1, Injects: p.injects[:1], Baselines: true})
	if err != nil {
		t.Fatal(err)
	}
	for name, ck := range res.checks {
		sum := 0
		for _, n := range ck.states {
			sum += n
		}
		if sum != ck.total {
			t.Errorf("%s: states add up to %d of %d", name, sum, ck.total)
		}
	}
	m, n := res.Report.Run(NameMuster), res.Report.Run(NameNearest)
	for _, c := range res.Report.Comparison {
		t.Logf("%+v", c)
	}
	if m.MaxDensity >= FruinE || m.OverLimitGates > 0 {
		t.Errorf("muster: max density %.2f, %d gates over their limit", m.MaxDensity, m.OverLimitGates)
	}
	if n.MaxDensity < FruinE {
		t.Errorf("nearest gate: max density %.2f: the baseline should crowd", n.MaxDensity)
	}
}
