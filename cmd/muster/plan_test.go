package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster/internal/testshared"
	"github.com/muster-evac/muster/plan"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/evacuees"
	"github.com/muster-evac/muster/roadgraph"
)

// demoCity runs the demo into a folder and writes an evacuee list for its
// city: the inputs of a plan, as an operator would have them.
func demoCity(t *testing.T) (dir, graph, places, list string) {
	t.Helper()
	dir = t.TempDir()
	if _, _, err := run(t, "demo", "--scale", "0.4", "--seed", "11", "--out", dir); err != nil {
		t.Fatal(err)
	}
	graph, places = filepath.Join(dir, "city.graph"), filepath.Join(dir, "places.geojson")
	city, err := roadgraph.LoadCity(graph)
	if err != nil {
		t.Fatal(err)
	}
	foot := city.Graphs[roadgraph.Foot]
	rng := rand.New(rand.NewPCG(1, 2))
	var hs []muster.Household
	for i := 0; i < 300; i++ {
		p := foot.NodePoint(uint32(rng.IntN(foot.NumNodes())))
		n := 1 + rng.IntN(6)
		hs = append(hs, muster.Household{ID: fmt.Sprintf("H%04d", i+1), Name: "Test Person", PartySize: n, Adults: 1, Children: n - 1,
			Priority: muster.PriorityNone, Language: muster.LangPashto, Phone: fmt.Sprintf("+9370%07d", i), Lat: p[1], Lon: p[0], HasLocation: true,
			Eligibility: "siv", Documents: "passport"})
	}
	list = filepath.Join(dir, "evacuees.csv")
	f, err := os.Create(list)
	if err != nil {
		t.Fatal(err)
	}
	if err := evacuees.Write(f, hs); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return dir, graph, places, list
}

func TestPlanCheckReplanApprove(t *testing.T) {
	dir, graph, places, list := demoCity(t)
	planPath := filepath.Join(dir, "plan.json")
	out, _, err := run(t, "plan", "-q", "--graph", graph, "--places", places, "--evacuees", list, "--at", "2021-08-26T06:00:00Z",
		"-o", planPath, "--geojson", filepath.Join(dir, "plan.geojson"))
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	for _, want := range []string{"makespan", "lower bound", "gate", "most waiting"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan summary lacks %q:\n%s", want, out)
		}
	}
	var p struct {
		Version int `json:"version"`
		Summary struct {
			People, AssignedPeople, Groups int
			MakespanS                      float64 `json:"makespan_s"`
		} `json:"summary"`
		Routes []struct {
			Polyline string `json:"polyline"`
		} `json:"routes"`
		Groups []struct {
			Route      int     `json:"route"`
			DepartureS float64 `json:"departure_s"`
		} `json:"groups"`
		Households []map[string]any `json:"households"`
		Unassigned []map[string]any `json:"unassigned"`
	}
	data, _ := os.ReadFile(planPath)
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	if p.Version != 2 || len(p.Groups) == 0 || p.Groups[0].Route >= len(p.Routes) || p.Routes[p.Groups[0].Route].Polyline == "" || p.Summary.MakespanS <= 0 {
		t.Fatalf("plan.json (version 2) lacks groups with routes: %s", data[:min(400, len(data))])
	}
	// A short horizon: what cannot be through a gate by then is unserved,
	// and the plan says the horizon it was made for.
	short := filepath.Join(dir, "short.json")
	if out, _, err := run(t, "plan", "-q", "--graph", graph, "--places", places, "--evacuees", list, "--at", "2021-08-26T06:00:00Z",
		"--horizon", "40m", "-o", short); err != nil {
		t.Fatalf("plan --horizon 40m: %v\n%s", err, out)
	}
	sdata, _ := os.ReadFile(short)
	sp, err := plan.Decode(sdata)
	if err != nil {
		t.Fatal(err)
	}
	late := 0
	for _, u := range sp.Unassigned {
		if u.Code == "no_gate" && strings.Contains(u.Reason, "40-minute horizon") {
			late++
		}
	}
	if sp.Params.HorizonS != 2400 || late == 0 || len(sp.Groups) == 0 {
		t.Errorf("--horizon 40m: horizon_s %v, %d groups, %d households unserved for the horizon", sp.Params.HorizonS, len(sp.Groups), late)
	}
	for _, g := range sp.Groups {
		if g.Through.After(time.Date(2021, 8, 26, 6, 40, 0, 0, time.UTC)) {
			t.Errorf("a group is through at %s, after the horizon", g.Through)
		}
	}
	if _, _, err := run(t, "plan", "-q", "--graph", graph, "--places", places, "--evacuees", list, "--horizon", "-1h", "-o", short); muster.ErrorCode(err) != muster.EINVALID {
		t.Errorf("--horizon -1h: %v", err)
	}

	check := func(plan string, extra ...string) (string, error) {
		out, _, err := run(t, append([]string{"plan", "check", "--plan", plan, "--graph", graph, "--places", places, "--evacuees", list}, extra...)...)
		return out, err
	}
	out, err = check(planPath)
	if err != nil || !strings.Contains(out, "no violation") {
		t.Fatalf("plan check: %v\n%s", err, out)
	}
	if out, err := check(short); err != nil || !strings.Contains(out, "no violation") {
		t.Fatalf("plan check of the plan with a 40-minute horizon: %v\n%s", err, out)
	}

	// A tampered plan fails the check, naming the rule: exit 1.
	var raw map[string]any
	json.Unmarshal(data, &raw)
	groups := raw["groups"].([]any)
	first := groups[0].(map[string]any)
	second := groups[1].(map[string]any)
	second["households"] = append(second["households"].([]any), first["households"].([]any)[0])
	bad := filepath.Join(dir, "bad.json")
	tampered, _ := json.Marshal(raw)
	os.WriteFile(bad, tampered, 0o644)
	out, err = check(bad)
	if err == nil || muster.ErrorCode(err) == muster.EINVALID || !strings.Contains(out, "household_twice (1)") {
		t.Fatalf("a household in two groups should fail the check (exit 1), naming the rule with its count: %v\n%s", err, out)
	}
	// A route claiming 60 s: the duration is recomputed from the graph,
	// for every group that names the route (plan.json keeps a route from
	// a rally point to a gate once).
	json.Unmarshal(data, &raw)
	ref := raw["groups"].([]any)[0].(map[string]any)["route"]
	raw["routes"].([]any)[int(ref.(float64))].(map[string]any)["duration_s"] = 60
	var sharing []string
	for _, g := range raw["groups"].([]any) {
		if g.(map[string]any)["route"] == ref {
			sharing = append(sharing, g.(map[string]any)["id"].(string))
		}
	}
	tampered, _ = json.Marshal(raw)
	os.WriteFile(bad, tampered, 0o644)
	out, err = check(bad, "--all")
	if err == nil || !strings.Contains(out, fmt.Sprintf("1 rules\nroute_duration (%d)\n", len(sharing))) {
		t.Fatalf("a shared route claiming 60 s should be caught for the %d groups that name it, alone: %v\n%s", len(sharing), err, out)
	}
	for _, id := range sharing {
		if !strings.Contains(out, "  "+id+": ") {
			t.Errorf("group %s names the tampered route and is not reported:\n%s", id, out)
		}
	}
	t.Logf("a route shared by %d groups, tampered: caught for each", len(sharing))
	// The limits come from the command line, not the plan: every group
	// above 2 people is reported, three of them shown.
	out, err = check(planPath, "--max-group", "2")
	if err == nil || !strings.Contains(out, "group_size (") || !strings.Contains(out, "... and ") {
		t.Fatalf("--max-group 2 should find groups too large, three shown: %v\n%s", err, out)
	}
	// Without a graph, the check says what it could not check and exits 2,
	// unless told that is acceptable.
	out, _, err = run(t, "plan", "check", "--plan", planPath, "--places", places, "--evacuees", list)
	if muster.ErrorCode(err) != muster.EINVALID || !strings.Contains(out, "not checked") || !strings.Contains(out, "route_duration") {
		t.Fatalf("without --graph: want exit 2 and the rules not checked: %v\n%s", err, out)
	}
	out, _, err = run(t, "plan", "check", "--plan", planPath, "--places", places, "--evacuees", list, "--no-graph")
	if err != nil || !strings.Contains(out, "no violation") || !strings.Contains(out, "not checked") {
		t.Fatalf("--no-graph: %v\n%s", err, out)
	}

	// A new threat: the demo's zones (an explosion on a route, a crowd).
	proposed := filepath.Join(dir, "proposed.json")
	out, _, err = run(t, "plan", "replan", "-q", "--plan", planPath, "--graph", graph, "--places", places, "--evacuees", list,
		"--zones", filepath.Join(dir, "zones.geojson"), "--at", "2021-08-26T06:30:00Z", "-o", proposed)
	if err != nil {
		t.Fatalf("replan: %v\n%s", err, out)
	}
	if !strings.Contains(out, "instructions change") || !strings.Contains(out, "status proposed") {
		t.Errorf("replan output should list changes and say the plan is proposed:\n%s", out)
	}
	out, err = check(proposed, "--previous", planPath)
	if err != nil || !strings.Contains(out, "no violation") || strings.Contains(out, "not checked") {
		t.Fatalf("check of the proposed plan (against the zones it carries and the plan it revises): %v\n%s", err, out)
	}
	// Without the plan it revises, the groups on the move are not held to
	// it, and the check says so.
	if out, err = check(proposed); err != nil || !strings.Contains(out, "moving_kept: a re-plan") {
		t.Fatalf("check of the proposed plan alone: %v\n%s", err, out)
	}
	if _, _, err := run(t, "plan", "approve", proposed); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, "plan", "approve", proposed); err == nil {
		t.Errorf("approving a current plan again should be refused")
	}
	data, _ = os.ReadFile(proposed)
	var approved plan.Plan
	if err := json.Unmarshal(data, &approved); err != nil || approved.Status != "current" {
		t.Errorf("approved plan is not current: %v %q", err, approved.Status)
	}

	// Mid-operation: a state of the field (a group through, one on the
	// move that left a household behind, a gate slower than planned), the
	// three proposals side by side, each passing the check with the state.
	var p0 plan.Plan
	data, _ = os.ReadFile(planPath)
	if err := json.Unmarshal(data, &p0); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2021, 8, 26, 6, 30, 0, 0, time.UTC)
	st := plan.State{At: at, Through: map[string]bool{}, Moving: map[string]plan.MovingGroup{}, Missing: map[string]plan.Missing{}, GateRates: map[string]float64{}}
	for _, g := range p0.Groups {
		switch {
		case !g.Through.After(at):
			st.Through[g.ID] = true
		case !g.Departure.After(at) && len(st.Moving) == 0 && len(g.Households) > 1:
			st.Moving[g.ID] = plan.MovingGroup{Departed: g.Departure, Households: g.Households[1:]}
			st.Missing[g.Households[0]] = plan.Missing{Kind: plan.MissingNoShow, Since: g.ReportBy, RallyPoint: g.RallyPoint}
		}
		st.GateRates[g.Gate] = 500
	}
	if len(st.Moving) == 0 {
		t.Fatal("no group of two households on the move at 06:30")
	}
	statePath := filepath.Join(dir, "state.json")
	sd, _ := json.Marshal(st)
	os.WriteFile(statePath, sd, 0o644)
	out, _, err = run(t, "plan", "replan", "-q", "--plan", planPath, "--graph", graph, "--places", places, "--evacuees", list,
		"--zones", filepath.Join(dir, "zones.geojson"), "--state", statePath, "--proposals", "-o", proposed)
	if err != nil {
		t.Fatalf("replan --proposals: %v\n%s", err, out)
	}
	for _, want := range []string{"minimal", "hybrid", "fresh", "makespan from now", "lower bound", "instructions changed", "behind lighter groups", "proposed.fresh.json"} {
		if !strings.Contains(out, want) {
			t.Errorf("the proposals table lacks %q:\n%s", want, out)
		}
	}
	for _, id := range []string{"minimal", "hybrid", "fresh"} {
		path := filepath.Join(dir, "proposed."+id+".json")
		if out, err := check(path, "--previous", planPath, "--state", statePath); err != nil || !strings.Contains(out, "no violation") {
			t.Errorf("check of the %s proposal with the state: %v\n%s", id, err, out)
		}
	}
	if _, _, err := run(t, "plan", "approve", filepath.Join(dir, "proposed.fresh.json")); err != nil {
		t.Fatal(err)
	}
	// A state that says nonsense is refused, naming where.
	os.WriteFile(statePath, []byte(`{"at":"2021-08-26T06:30:00Z","gate_rates":{"gate-x":-5}}`), 0o644)
	if out, _, err := run(t, "plan", "replan", "-q", "--plan", planPath, "--graph", graph, "--places", places, "--evacuees", list,
		"--state", statePath, "--proposals", "-o", proposed); muster.ErrorCode(err) != muster.EINVALID || !strings.Contains(err.Error(), "gate-x") {
		t.Errorf("a bad state file: %v\n%s", err, out)
	}
}

func TestPlanKabulScenarioOnGeneratedCity(t *testing.T) {
	testshared.Long(t)
	s := testshared.Path(t, "scenarios/kabul-2021")
	dir := t.TempDir()
	if _, _, err := run(t, "demo", "--out", dir); err != nil {
		t.Fatal(err)
	}
	graph := filepath.Join(dir, "city.graph")
	args := []string{"plan", "-q", "--graph", graph, "--places", filepath.Join(s, "places.geojson"), "--evacuees", filepath.Join(s, "evacuees.csv"),
		"--reports", filepath.Join(s, "reports.jsonl")}
	// On 21 August at 18:00 every gate lies in the forbidden airport zone:
	// nobody is sent to a gate, and the plan says why.
	out, _, err := run(t, append(args, "--at", "2021-08-21T18:00:00Z", "-o", filepath.Join(dir, "p1.json"))...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "0 assigned") || !strings.Contains(out, "no gate is open") {
		t.Errorf("with the gates in a forbidden zone, nobody should be assigned, and the reason said:\n%s", out)
	}
	// Before the reports, the gates are open and the plan serves most.
	p2 := filepath.Join(dir, "p2.json")
	out, _, err = run(t, append(args, "--at", "2021-08-19T02:00:00Z", "-o", p2)...)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Summary struct {
			People         int     `json:"people"`
			AssignedPeople int     `json:"assigned_people"`
			Ratio          float64 `json:"ratio"`
		} `json:"summary"`
	}
	data, _ := os.ReadFile(p2)
	json.Unmarshal(data, &p)
	if p.Summary.AssignedPeople < p.Summary.People*3/4 {
		t.Errorf("only %d of %d people planned:\n%s", p.Summary.AssignedPeople, p.Summary.People, out)
	}
	if out, _, err := run(t, "plan", "check", "--plan", p2, "--graph", graph, "--places", filepath.Join(s, "places.geojson"), "--evacuees", filepath.Join(s, "evacuees.csv")); err != nil {
		t.Fatalf("check: %v\n%s", err, out)
	}
}
