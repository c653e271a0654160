package plan_test

import (
	"context"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/plancheck"
)

// TestPlanWithRepeatedNames: the planner and its checker know places by
// id, so a places file whose rally points all share one name, and whose
// gates share another, plans as well as one with distinct names.
func TestPlanWithRepeatedNames(t *testing.T) {
	c := generatedCity(t, 3, 0.5)
	pl := &muster.Places{Timezone: c.places.Timezone, Places: append([]muster.Place(nil), c.places.Places...)}
	rallies, gates := 0, 0
	for i := range pl.Places {
		switch p := &pl.Places[i]; p.Kind {
		case muster.PlaceRally:
			p.Name, p.Aliases = "unclassified junction", nil
			rallies++
		case muster.PlaceGate:
			p.Name, p.Aliases = "Airport gate", nil
			gates++
		}
	}
	if rallies < 2 || gates < 2 {
		t.Fatalf("%d rally points and %d gates: the test needs several of each", rallies, gates)
	}
	hs := households(c.foot0, 200, 5)
	start := time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)
	p, err := plan.Make(context.Background(), plan.Input{Car: c.car, Foot: c.foot, Places: pl, Households: hs, Params: plan.Params{Start: start}})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, c, p, plancheck.Inputs{Places: pl, Households: hs})
	usedRallies, usedGates := map[string]bool{}, map[string]bool{}
	for _, g := range p.Groups {
		usedRallies[g.RallyPoint], usedGates[g.Gate] = true, true
	}
	if p.Summary.AssignedPeople < p.Summary.People*9/10 || len(usedRallies) < 2 || len(usedGates) < 2 {
		t.Errorf("%d of %d people assigned, through %d rally points and %d gates", p.Summary.AssignedPeople, p.Summary.People, len(usedRallies), len(usedGates))
	}
}
