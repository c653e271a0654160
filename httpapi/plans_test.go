package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/citygen"
	"github.com/muster-evac/muster/instruct"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/places"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/plancheck"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
	"github.com/paulmach/orb"
)

// cityKit is a small generated city the test servers plan on.
type cityKit struct {
	places    *muster.Places
	car, foot *route.Router
	footGraph *roadgraph.Graph
	streets   *instruct.Streets
}

var (
	kitOnce sync.Once
	kit     *cityKit
	kitErr  error
)

func testCity(t testing.TB) *cityKit {
	t.Helper()
	kitOnce.Do(func() {
		ctx := context.Background()
		gen, err := citygen.Generate(ctx, citygen.Options{Seed: 3, Scale: 0.25})
		if err != nil {
			kitErr = err
			return
		}
		c, _, err := osmimport.FromOSM(ctx, gen.OSM, "test city", osmimport.Options{})
		if err != nil {
			kitErr = err
			return
		}
		k := &cityKit{places: &gen.Places, footGraph: c.Graphs[roadgraph.Foot]}
		if k.streets, err = instruct.NewStreets(k.footGraph); err != nil {
			kitErr = err
			return
		}
		if k.car, err = route.New(ctx, c.Graphs[roadgraph.Car], route.Options{}); err != nil {
			kitErr = err
			return
		}
		if k.foot, err = route.New(ctx, c.Graphs[roadgraph.Foot], route.Options{}); err != nil {
			kitErr = err
			return
		}
		kit = k
	})
	if kitErr != nil {
		t.Fatal(kitErr)
	}
	return kit
}

// savedPlan stores a small plan straight in the store, for fixtures.
func savedPlan(e *testEnv, approve bool) string {
	ctx := muster.WithActor(context.Background(), "fixture")
	rec, err := e.store.SavePlan(ctx, muster.PlanRecord{Body: []byte(`{"version":1,"status":"proposed","households":[]}`), Summary: []byte(`{"summary":{"people":0}}`)})
	if err != nil {
		e.t.Fatal(err)
	}
	if approve {
		if _, err := e.store.ApprovePlan(ctx, rec.ID); err != nil {
			e.t.Fatal(err)
		}
	}
	return rec.ID
}

// TestPlanThroughTheAPI: households registered through the API are planned
// under the threat picture of the reports on record, the plan passes the
// independent check, a new report makes a re-plan that says whose
// instructions change, and nothing is current until a planner approves it.
func TestPlanThroughTheAPI(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		k := testCity(t)
		e := newEnv(t, open(t), nil)
		rng := rand.New(rand.NewPCG(1, 1))
		for i := 0; i < 60; i++ {
			p := k.footGraph.NodePoint(uint32(rng.IntN(k.footGraph.NumNodes())))
			body := fmt.Sprintf(`{"id":"P%03d","name":"Person %d","party_size":%d,"adults":1,"children":%d,"priority":"none","language":"fa","phone":"+9370111%04d","location":{"lat":%f,"lon":%f}}`,
				i, i, 2+i%3, 1+i%3, i, p[1], p[0])
			e.do("field", "POST", "/api/households", []byte(body), 201, nil)
		}
		// Planning is for planners.
		e.do("field", "POST", "/api/plans", []byte(`{}`), 403, nil)
		var p1 planOut
		e.do("planner", "POST", "/api/plans", []byte(`{"at":"2021-08-26T06:00:00Z"}`), 201, &p1)
		if p1.Status != muster.PlanProposed || p1.Summary.Households < 60 || p1.Summary.AssignedPeople == 0 {
			t.Fatalf("plan: %+v", p1)
		}
		e.do("field", "GET", "/api/plans/current", nil, 404, nil)
		var a planOut
		e.do("planner", "POST", "/api/plans/"+p1.ID+"/approve", nil, 200, &a)
		if a.Status != muster.PlanCurrent || a.ApprovedBy != "planner-user" {
			t.Fatalf("approved: %+v", a)
		}
		// The whole plan, as a field officer reads it, passes plancheck.
		var whole plan.Plan
		e.do("field", "GET", "/api/plans/current", nil, 200, &whole)
		hs, _, err := e.api.allHouseholds(muster.WithActor(context.Background(), "test"))
		if err != nil {
			t.Fatal(err)
		}
		if vs := plancheck.Check(&whole, plancheck.Inputs{Places: k.places, Households: hs}); len(vs) > 0 {
			t.Fatalf("the API's plan breaks %d rules, e.g. %s", len(vs), vs[0])
		}
		// A threat on the route of the group that leaves last, then a re-plan.
		g := whole.Groups[0]
		for _, x := range whole.Groups {
			if x.Departure.After(g.Departure) {
				g = x
			}
		}
		line := g.Route.Geometry.Coordinates
		coords, _ := json.Marshal(line)
		var pts [][2]float64
		json.Unmarshal(coords, &pts)
		mid := pts[len(pts)/2]
		rep := fmt.Sprintf(`{"id":"bomb-1","received_at":"2021-08-26T06:01:00Z","source":{"id":"field-team","kind":"field"},"reliability":"A","credibility":1,"kind":"explosion","claim":"present","likelihood":"almost certain","immediacy":"imminent","severity":5,"area":{"point":[%f,%f],"radius_m":300},"text":"explosion"}`, mid[0], mid[1])
		e.do("field", "POST", "/api/reports", []byte(rep), 201, nil)
		var p2 planOut
		e.do("planner", "POST", "/api/plans", []byte(fmt.Sprintf(`{"at":"2021-08-26T06:02:00Z","revise":%q}`, p1.ID)), 201, &p2)
		if p2.Basis != p1.ID || p2.Status != muster.PlanProposed || p2.Changes == 0 {
			t.Fatalf("re-plan: %+v", p2)
		}
		var cur plan.Plan
		e.do("field", "GET", "/api/plans/current", nil, 200, &cur)
		if !cur.CreatedAt.Equal(whole.CreatedAt) {
			t.Fatalf("the re-plan became current before approval")
		}
		e.do("planner", "POST", "/api/plans/"+p2.ID+"/approve", nil, 200, nil)
		e.do("planner", "POST", "/api/plans/"+p2.ID+"/approve", nil, 409, nil)
		var list plansResponse
		e.do("viewer", "GET", "/api/plans", nil, 200, &list)
		if len(list.Plans) != 2 || list.Plans[0].Status != muster.PlanCurrent || list.Plans[1].Status != muster.PlanSuperseded {
			t.Fatalf("plans: %+v", list.Plans)
		}
		// Viewers see summaries, never a whole plan (it names households).
		e.do("viewer", "GET", "/api/plans/"+p2.ID, nil, 403, nil)
		e.do("planner", "POST", "/api/plans", []byte(`{"at":"tomorrow"}`), 400, nil)
		e.do("planner", "POST", "/api/plans", []byte(`{"revise":"nope"}`), 404, nil)
	})
}

// TestPlacesEditedThroughTheAPI: a planner closes a gate and adds a rally
// point; the gates list, the places file and the next plan all follow.
func TestPlacesEditedThroughTheAPI(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		k := testCity(t)
		e := newEnv(t, open(t), nil)
		var gate *muster.Place
		for i := range k.places.Places {
			if k.places.Places[i].Kind == muster.PlaceGate {
				gate = &k.places.Places[i]
				break
			}
		}
		pt := gate.Geometry.(orb.Point)
		closed := fmt.Sprintf(`{"type":"Feature","geometry":{"type":"Point","coordinates":[%f,%f]},"properties":{"id":%q,"name":%q,"kind":"gate","throughput_per_hour":400,"crowd_limit":100,"status":"closed"}}`,
			pt[0], pt[1], gate.ID, gate.Name)
		e.do("planner", "PUT", "/api/places/"+gate.ID, []byte(closed), 200, nil)
		var gs gatesResponse
		e.do("viewer", "GET", "/api/gates", nil, 200, &gs)
		found := false
		for _, g := range gs.Gates {
			if g.ID == gate.ID {
				found = true
				if g.Status != muster.GateClosed || g.ThroughputPerHour != 400 {
					t.Errorf("gate after the change: %+v", g)
				}
			}
		}
		if !found {
			t.Fatalf("gate %s missing from /api/gates", gate.ID)
		}
		// The places file served reads back as one, with the change.
		resp, body := e.request("viewer", "GET", "/api/places", nil, "")
		if resp.StatusCode != 200 {
			t.Fatal(resp.Status)
		}
		pl, err := places.Read(bytes.NewReader(body), "served places")
		if err != nil {
			t.Fatalf("GET /api/places is not a places file: %v", err)
		}
		if len(pl.Places) != len(k.places.Places) || pl.Timezone != k.places.Timezone {
			t.Errorf("served %d places in %q, want %d in %q", len(pl.Places), pl.Timezone, len(k.places.Places), k.places.Timezone)
		}
		// Bad places are refused with the reason; the path and the id must agree.
		e.do("planner", "PUT", "/api/places/"+gate.ID, []byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[200,95]},"properties":{"id":"`+gate.ID+`","name":"x","kind":"gate"}}`), 400, nil)
		e.do("planner", "PUT", "/api/places/other", []byte(closed), 400, nil)
		e.do("planner", "DELETE", "/api/places/no-such-place", nil, 404, nil)
		// The opening hours' time zone is set through the API too.
		e.do("planner", "PUT", "/api/timezone", []byte(`{"timezone":"Asia/Tehran"}`), 200, nil)
		_, body = e.request("viewer", "GET", "/api/places", nil, "")
		if pl, err := places.Read(bytes.NewReader(body), "served places"); err != nil || pl.Timezone != "Asia/Tehran" {
			t.Fatalf("time zone after PUT /api/timezone: %v %v", pl, err)
		}
		e.do("planner", "PUT", "/api/timezone", []byte(`{"timezone":"Mars/Olympus_Mons"}`), 400, nil)
		e.do("planner", "PUT", "/api/timezone", []byte(`{"timezone":"`+k.places.Timezone+`"}`), 200, nil)
		// Nobody is planned through the closed gate.
		rng := rand.New(rand.NewPCG(2, 2))
		for i := 0; i < 30; i++ {
			p := k.footGraph.NodePoint(uint32(rng.IntN(k.footGraph.NumNodes())))
			e.do("field", "POST", "/api/households", []byte(fmt.Sprintf(`{"id":"Q%03d","name":"Person","party_size":2,"adults":2,"language":"ps","phone":"+9370222%04d","location":{"lat":%f,"lon":%f}}`, i, i, p[1], p[0])), 201, nil)
		}
		var out planOut
		e.do("planner", "POST", "/api/plans", []byte(`{"at":"2021-08-26T06:00:00Z"}`), 201, &out)
		var whole plan.Plan
		e.do("planner", "GET", "/api/plans/"+out.ID, nil, 200, &whole)
		for _, g := range whole.Groups {
			if g.Gate == gate.ID {
				t.Fatalf("group %s planned through gate %s, closed through the API", g.ID, gate.ID)
			}
		}
		if len(whole.Groups) == 0 {
			t.Fatal("no group planned: the test proves nothing")
		}
	})
}

// TestReplanProposalsThroughTheAPI: a planner asks for the re-plan
// proposals of the current plan; without a state in the request they start
// from the server's live state (Config.LiveState), which here reports a
// no-show: every proposal moves it to a later group with the reason, passes
// plancheck with that state, and one is approved by its id. A state sent
// with the request replaces the live one, and a state out of range is
// refused.
func TestReplanProposalsThroughTheAPI(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		k := testCity(t)
		var live plan.State
		e := newEnv(t, open(t), func(c *Config) {
			c.LiveState = func(context.Context) (plan.State, error) { return live, nil }
		})
		rng := rand.New(rand.NewPCG(2, 2))
		for i := 0; i < 60; i++ {
			p := k.footGraph.NodePoint(uint32(rng.IntN(k.footGraph.NumNodes())))
			body := fmt.Sprintf(`{"id":"P%03d","name":"Person %d","party_size":%d,"adults":1,"children":%d,"priority":"%s","language":"fa","phone":"+9370111%04d","location":{"lat":%f,"lon":%f}}`,
				i, i, 2+i%3, 1+i%3, []string{"none", "elderly", "none", "none"}[i%4], i, p[1], p[0])
			e.do("field", "POST", "/api/households", []byte(body), 201, nil)
		}
		var p1 planOut
		e.do("planner", "POST", "/api/plans", []byte(`{"at":"2021-08-26T06:00:00Z"}`), 201, &p1)
		e.do("planner", "POST", "/api/plans/"+p1.ID+"/approve", nil, 200, nil)
		var whole plan.Plan
		e.do("planner", "GET", "/api/plans/current", nil, 200, &whole)
		// The last group to leave: its first household never came.
		g := whole.Groups[0]
		for _, x := range whole.Groups {
			if x.Departure.After(g.Departure) {
				g = x
			}
		}
		at := time.Date(2021, 8, 26, 6, 5, 0, 0, time.UTC)
		noShow := g.Households[0]
		live = plan.State{At: at, Missing: map[string]plan.Missing{noShow: {Kind: plan.MissingNoShow, Since: at, RallyPoint: g.RallyPoint}}}

		e.do("field", "POST", "/api/plans/proposals", []byte(`{}`), 403, nil)
		var res proposalsResponse
		e.do("planner", "POST", "/api/plans/proposals", []byte(`{"at":"2021-08-26T06:05:00Z"}`), 201, &res)
		if res.Basis != p1.ID || len(res.Proposals) != 3 {
			t.Fatalf("proposals: %+v", res)
		}
		hs, _, err := e.api.allHouseholds(muster.WithActor(context.Background(), "test"))
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]string{}
		for _, pr := range res.Proposals {
			kinds[pr.Kind] = pr.Plan.ID
			if pr.Plan.Status != muster.PlanProposed || pr.Plan.Basis != p1.ID || pr.Numbers.LowerBoundS <= 0 || pr.Numbers.MakespanS < pr.Numbers.LowerBoundS {
				t.Errorf("%s: %+v", pr.Kind, pr)
			}
			var p plan.Plan
			e.do("planner", "GET", "/api/plans/"+pr.Plan.ID, nil, 200, &p)
			reason := ""
			for _, ch := range p.Diff.Changes {
				if ch.Household == noShow {
					reason = ch.Reason
				}
			}
			if !strings.Contains(reason, "no-show") {
				t.Errorf("%s: the no-show's change says %q", pr.Kind, reason)
			}
			st := live
			if vs := plancheck.Check(&p, plancheck.Inputs{Places: k.places, Households: hs, At: at, Previous: &whole, State: &st}); len(vs) > 0 {
				t.Errorf("%s breaks %d rules, e.g. %s", pr.Kind, len(vs), vs[0])
			}
		}
		if kinds["minimal"] == "" || kinds["hybrid"] == "" || kinds["fresh"] == "" {
			t.Fatalf("kinds: %v", kinds)
		}
		var a planOut
		e.do("planner", "POST", "/api/plans/"+kinds["fresh"]+"/approve", nil, 200, &a)
		if a.Status != muster.PlanCurrent {
			t.Fatalf("approved: %+v", a)
		}
		// A state sent with the request replaces the live one.
		body := fmt.Sprintf(`{"revise":%q,"at":"2021-08-26T06:05:00Z","state":{"at":"2021-08-26T06:05:00Z"}}`, p1.ID)
		e.do("planner", "POST", "/api/plans/proposals", []byte(body), 201, &res)
		for _, pr := range res.Proposals {
			var p plan.Plan
			e.do("planner", "GET", "/api/plans/"+pr.Plan.ID, nil, 200, &p)
			for _, ch := range p.Diff.Changes {
				if ch.Household == noShow && strings.Contains(ch.Reason, "no-show") {
					t.Errorf("%s: the live state was used though the request gave one", pr.Kind)
				}
			}
		}
		e.do("planner", "POST", "/api/plans/proposals", []byte(`{"state":{"at":"2021-08-26T06:05:00Z","gate_rates":{"g":-1}}}`), 400, nil)
		e.do("planner", "POST", "/api/plans/proposals", []byte(`{"revise":"nope"}`), 404, nil)
	})
}
