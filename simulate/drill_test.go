package simulate

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/muster-evac/muster/evacuees"
	"github.com/muster-evac/muster/internal/testshared"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/places"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
)

// TestDrillExercise runs the exercise on the scenario files of the Porto
// Alegre drill (../shared/scenarios/porto-alegre-drill: its places and
// evacuee list, on the city's OpenStreetMap extract) with the injects of
// docs/exercise.md (a flood of 500 fake reports, a gate closing, a road
// blocked): everyone is accounted for, every re-plan passes plancheck, and,
// recounted from the simulation's own per-minute gate counts, muster's plan
// keeps every gate within its crowd limit and below Fruin E where the
// nearest-gate baseline crowds. Long: an import and a plan of the city.
func TestDrillExercise(t *testing.T) {
	testshared.Long(t)
	ctx := context.Background()
	dir := testshared.Path(t, "scenarios/porto-alegre-drill")
	city, _, err := osmimport.ImportFile(ctx, testshared.Path(t, "data/porto-alegre.osm.pbf"), osmimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	car, err := route.New(ctx, city.Graphs[roadgraph.Car], route.Options{})
	if err != nil {
		t.Fatal(err)
	}
	foot, err := route.New(ctx, city.Graphs[roadgraph.Foot], route.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pl, err := places.ReadFile(dir + "/places.geojson")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(dir + "/evacuees.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ev, err := evacuees.ReadContext(ctx, f, "evacuees.csv", evacuees.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 14, 7, 0, 0, 0, time.UTC)
	data, err := os.ReadFile("testdata/porto-alegre-injects.json")
	if err != nil {
		t.Fatal(err)
	}
	injects, err := ParseInjects(data, pl, start)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Car: car, Foot: foot, Places: pl, Households: ev.Households()}
	in.Params.Start = start
	res, err := Run(ctx, in, Config{Seed: 1, Injects: injects, Baselines: true})
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
	for _, c := range res.Report.Comparison {
		t.Logf("%+v", c)
	}
	for _, r := range res.Report.Run(NameMuster).Replans {
		t.Logf("re-plan for inject %d: %s approved, %d changed, %d re-issued", r.Inject, r.Chosen, r.Changes, r.Reissued)
	}
	replansPass(t, res, in)
	musterSafe(t, "Porto Alegre drill", &res.Report)
	nearestCrowds(t, "Porto Alegre drill", &res.Report)
}
