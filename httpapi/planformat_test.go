package httpapi

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
)

// TestPlanStoredInVersion1: a plan stored before plan.json version 2 (a
// re-plan muster wrote in version 1) is read by the server and served in
// version 2, with its store id: routes written once, groups naming them,
// the same groups, households and times.
func TestPlanStoredInVersion1(t *testing.T) {
	body, err := os.ReadFile("../plan/testdata/v1-replan.json")
	if err != nil {
		t.Fatal(err)
	}
	old, err := plan.Decode(body)
	if err != nil || old.Version != 1 {
		t.Fatalf("the fixture: %v, version %d", err, old.Version)
	}
	e := newEnvCity(t, openSQLite(t), false, nil)
	rec, err := e.store.SavePlan(muster.WithActor(context.Background(), "fixture"), muster.PlanRecord{Body: body, Summary: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	raw := e.do("planner", "GET", "/api/plans/"+rec.ID, nil, 200, nil)
	var doc struct {
		ID      string `json:"id"`
		Version int    `json:"version"`
		Status  string `json:"status"`
		Routes  []struct {
			Polyline string `json:"polyline"`
		} `json:"routes"`
		Groups []struct {
			Route int `json:"route"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.ID != rec.ID || doc.Version != 2 || doc.Status != muster.PlanProposed || len(doc.Routes) == 0 || len(doc.Groups) != len(old.Groups) {
		t.Fatalf("served: id %q, version %d, status %q, %d routes, %d groups", doc.ID, doc.Version, doc.Status, len(doc.Routes), len(doc.Groups))
	}
	for i, g := range doc.Groups {
		if g.Route < 0 || g.Route >= len(doc.Routes) || doc.Routes[g.Route].Polyline == "" {
			t.Fatalf("group %d names route %d of %d", i, g.Route, len(doc.Routes))
		}
	}
	var served plan.Plan
	if err := json.Unmarshal(raw, &served); err != nil {
		t.Fatal(err)
	}
	if len(served.Households) != len(old.Households) {
		t.Fatalf("%d households served, %d stored", len(served.Households), len(old.Households))
	}
	for i, g := range served.Groups {
		o := old.Groups[i]
		if g.ID != o.ID || !g.Departure.Equal(o.Departure) || !g.RouteFrom.Equal(o.RouteFrom) || !g.Through.Equal(o.Through) || g.Route.DurationS != o.Route.DurationS {
			t.Errorf("group %d served as %s leaving %s (from %s, through %s, %v s), stored as %s leaving %s (from %s, through %s, %v s)",
				i, g.ID, g.Departure, g.RouteFrom, g.Through, g.Route.DurationS, o.ID, o.Departure, o.RouteFrom, o.Through, o.Route.DurationS)
		}
	}
	for i, h := range served.Households {
		o := old.Households[i]
		if h.ID != o.ID || h.RallyPoint != o.RallyPoint || !h.ReportBy.Equal(o.ReportBy) || h.Walk.DistanceM != o.Walk.DistanceM {
			t.Errorf("household %d served as %+v, stored as %+v", i, h, o)
		}
	}
}
