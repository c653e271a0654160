package plancheck_test

import (
	"context"
	"maps"
	"testing"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/internal/planfixture"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/plancheck"
)

// busiestAfter is the open gate the most people of p pass after at.
func busiestAfter(w *world, p *plan.Plan, at interface{ Unix() int64 }) string {
	return planfixture.BusiestGate(p, func(g *plan.Group) bool { return g.Gate != w.busiest && g.Through.Unix() > at.Unix() })
}

// rateMutations hold a re-plan to the rates the field measured at its
// gates (plan.State.GateRates), from the re-plan on.
func rateMutations() []mutation {
	return []mutation{
		{"a re-plan booking a gate measured at 40% of its rate as if at its full rate", "field", []string{plancheck.RuleGateThroughput}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			gate := busiestAfter(w, p, w.replanAt)
			if gate == "" {
				t.Fatal("nobody passes an open gate after the re-plan")
			}
			st := *in.State
			st.GateRates = maps.Clone(st.GateRates)
			if st.GateRates == nil {
				st.GateRates = map[string]float64{}
			}
			st.GateRates[gate] = 0.4 * float64(gatePlace(w, gate).ThroughputPerHour)
			in.State = &st
			// (Slower, the queue there grows past the gate's crowd
			// limit too: gate_crowd's to report, not this mutation's.)
			for i := range in.Places.Places {
				if in.Places.Places[i].ID == gate {
					in.Places.Places[i].CrowdLimit = 1_000_000
				}
			}
		}},
		{"a re-plan passing people through a gate the field measured passing nobody", "field", []string{plancheck.RuleGateClosed, plancheck.RuleMovingGateClosed}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			gate := busiestAfter(w, p, w.replanAt)
			st := *in.State
			st.GateRates = map[string]float64{gate: 0}
			in.State = &st
		}},
	}
}

// TestMeasuredRatesReplan: a re-plan from a field that measured one gate
// at 40% of its rate, and saw another restricted and measured it below its
// restricted share, passes every rule with the state; the same re-plan
// with the slow gate's rate taken back to nominal in the plan's own times
// (its groups there booked as the plan revised had them) is caught.
func TestMeasuredRatesReplan(t *testing.T) {
	w := theWorld(t)
	at := w.replanAt
	st := stateOf(w.base, at)
	slow := busiestAfter(w, w.base, at)
	restricted := ""
	for _, g := range w.base.Groups {
		if g.Gate != w.busiest && g.Gate != slow && g.Through.After(at) {
			restricted = g.Gate
			break
		}
	}
	if slow == "" {
		t.Fatal("no open gate with people passing after the re-plan")
	}
	st.GateRates = map[string]float64{slow: 0.4 * float64(gatePlace(w, slow).ThroughputPerHour)}
	if restricted != "" {
		// Restricted (half its rate), and measured at 30%: the measured
		// rate applies.
		st.GateStatus = map[string]string{restricted: muster.GateRestricted}
		st.GateRates[restricted] = 0.3 * float64(gatePlace(w, restricted).ThroughputPerHour)
	}
	p, err := plan.Replan(context.Background(), w.base, plan.Input{Car: w.car, Foot: w.foot, Places: &w.places, Households: w.hs,
		GateStatus: map[string]string{w.busiest: muster.GateClosed}}, st)
	if err != nil {
		t.Fatal(err)
	}
	in := w.inputs("field")
	in.State = &st
	r := check(t, p, in)
	if len(r.Violations) > 0 {
		t.Fatalf("the re-plan with measured rates: %d violations:%s", len(r.Violations), show(r.Violations))
	}
	after := 0
	for _, g := range p.Groups {
		if g.Gate == slow && g.Through.After(at) {
			after++
		}
	}
	if after < 2 {
		t.Fatalf("%d groups through the slow gate %s after the re-plan: the test shows nothing", after, slow)
	}
	t.Logf("%d groups through %s (measured at 40%%) after the re-plan; restricted and measured at 30%%: %q", after, slow, restricted)
}
