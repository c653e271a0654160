package plancheck_test

import (
	"context"
	"testing"
	"time"

	"github.com/muster-evac/muster/internal/testshared"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/plancheck"
	"github.com/muster-evac/muster/route"
)

// BenchmarkCheckPorto: the check of Porto's re-plan under the threat two
// hours in (100,000 people, the scenario's zones), every rule, and the
// same with unserved_code silenced (its sweeps not run): what the
// unserved codes' recomputation costs, in CPU seconds side by side.
func BenchmarkCheckPorto(b *testing.B) {
	testshared.Long(b)
	ctx := context.Background()
	carG, footG, car, foot, s := porto(b)
	start := time.Date(2026, 3, 14, 6, 0, 0, 0, time.UTC)
	at := start.Add(2 * time.Hour)
	p0, err := plan.Make(ctx, plan.Input{Car: car, Foot: foot, Places: &s.Places, Households: s.Households, Params: plan.Params{Start: start}})
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range []*route.Router{car, foot} {
		if _, err := r.SetZones(ctx, s.Threat.Zones); err != nil {
			b.Fatal(err)
		}
	}
	p1, err := plan.Replan(ctx, p0, plan.Input{Car: car, Foot: foot, Places: &s.Places, Households: s.Households, GateStatus: s.Threat.GateStatus}, plan.State{At: at})
	if err != nil {
		b.Fatal(err)
	}
	in := plancheck.Inputs{Places: &s.Places, Households: s.Households, Car: carG, Foot: footG, Zones: s.Threat.Zones,
		GateStatus: s.Threat.GateStatus, At: at, Previous: p0}
	for _, c := range []struct {
		name string
		in   plancheck.Inputs
	}{{"all", in}, {"without-unserved_code", plancheck.Without(in, plancheck.RuleUnservedCode)}} {
		b.Run(c.name, func(b *testing.B) {
			cpu0 := cpuSeconds()
			for i := 0; i < b.N; i++ {
				r, err := plancheck.CheckContext(ctx, p1, c.in)
				if err != nil {
					b.Fatal(err)
				}
				if len(r.Violations) > 0 {
					b.Fatalf("%d violations:%s", len(r.Violations), show(r.Violations))
				}
			}
			b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(len(p1.Unassigned)), "unserved")
		})
	}
}
