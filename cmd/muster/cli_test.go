package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/internal/testshared"
	"github.com/muster-evac/muster/plan"

	"github.com/muster-evac/muster/roadgraph"
)

// run executes the muster command line in-process.
func run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

func TestDemoRoutesAroundTheThreat(t *testing.T) {
	dir := t.TempDir()
	out, _, err := run(t, "demo", "--scale", "0.3", "--seed", "7", "--out", dir)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []string{"generated a city", "with no threat", "route 1 around the threat", "forbidden zone crossings 0", "times the lower bound; plan check", "Try: go run ./cmd/muster route "} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "forbidden zone crossings 1") {
		t.Errorf("a demo route crosses the forbidden zone:\n%s", out)
	}
	// Both plans, the first and the re-plan, pass every rule, durations
	// recomputed on the city's graphs.
	if n := strings.Count(out, "plan check: 0 violations"); n != 2 {
		t.Errorf("the demo should check two plans and find no violation, found %d such checks:\n%s", n, out)
	}
	city, err := roadgraph.LoadCity(filepath.Join(dir, "city.graph"))
	if err != nil {
		t.Fatal(err)
	}
	if len(city.Graphs) != 2 || len(city.Graphs[roadgraph.Car].Order) == 0 {
		t.Errorf("the demo's graph file should hold both profiles with their routing order")
	}
	// The demo's own suggestion works: route with its zones file.
	var fc struct {
		Features []struct {
			Properties map[string]any `json:"properties"`
		} `json:"features"`
	}
	routes, err := os.ReadFile(filepath.Join(dir, "routes.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(routes, &fc); err != nil || len(fc.Features) < 2 {
		t.Fatalf("routes.geojson: %v, %d features", err, len(fc.Features))
	}
	// "Try: go run ./cmd/muster route ..." here (the test binary is built
	// by go), "Try: muster route ..." from an installed binary.
	try := out[strings.Index(out, "Try: "):]
	try = try[strings.Index(try, " route ")+1:]
	args := strings.Fields(strings.TrimSpace(try))
	rout, rerr, err := run(t, args...)
	if err != nil {
		t.Fatalf("muster %s: %v\n%s", strings.Join(args, " "), err, rerr)
	}
	if err := json.Unmarshal([]byte(rout), &fc); err != nil {
		t.Fatal(err)
	}
	for _, f := range fc.Features {
		if f.Properties["forbidden_crossings"].(float64) != 0 {
			t.Errorf("route crosses a forbidden zone: %v", f.Properties)
		}
		for _, k := range []string{"duration_s", "distance_m", "exposure"} {
			if _, ok := f.Properties[k]; !ok {
				t.Errorf("route lacks property %s", k)
			}
		}
	}
	if strings.Contains(rerr, "touch no road") {
		t.Errorf("the demo's own zones touch its roads, yet a warning:\n%s", rerr)
	}
	// Another city's picture (Porto's, on this Kabul-like city) is not
	// used silently.
	porto := filepath.Join(dir, "porto-zones.geojson")
	if err := os.WriteFile(porto, []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[-8.611,41.1496]},"properties":{"id":"ribeira","forbidden":true,"risk":0.9,"radius_m":400}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, a := range args {
		if a == "--avoid" {
			args[i+1] = porto
		}
	}
	if _, rerr, err = run(t, args...); err != nil || !strings.Contains(rerr, "1 zone(s) touch no road of this graph") || !strings.Contains(rerr, "ribeira") {
		t.Errorf("route with another city's zones: %v, stderr:\n%s", err, rerr)
	}
}

func TestImportAndRouteOnARealExtract(t *testing.T) {
	src := testshared.Path(t, "data/andorra.osm.pbf")
	graph := filepath.Join(t.TempDir(), "andorra.graph")
	out, _, err := run(t, "import", "-q", src, "-o", graph)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if !strings.Contains(out, "car") || !strings.Contains(out, "foot") || !strings.Contains(out, "dropped") {
		t.Errorf("import summary should say what each profile kept and dropped:\n%s", out)
	}
	// Andorra la Vella to Encamp.
	rout, _, err := run(t, "route", "--graph", graph, "--from", "42.5078,1.5211", "--to", "42.5347,1.5806", "--alternatives", "2", "--depart", "2021-08-26T10:00:00Z")
	if err != nil {
		t.Fatalf("route: %v", err)
	}
	var fc struct {
		Type     string `json:"type"`
		Features []struct {
			Geometry struct {
				Type        string      `json:"type"`
				Coordinates [][]float64 `json:"coordinates"`
			} `json:"geometry"`
			Properties map[string]any `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal([]byte(rout), &fc); err != nil {
		t.Fatal(err)
	}
	if fc.Type != "FeatureCollection" || len(fc.Features) == 0 || fc.Features[0].Geometry.Type != "LineString" {
		t.Fatalf("want a FeatureCollection of LineStrings, got %s", rout[:min(300, len(rout))])
	}
	p := fc.Features[0].Properties
	if d := p["duration_s"].(float64); d < 300 || d > 2400 {
		t.Errorf("Andorra la Vella to Encamp by car in %v s: implausible", d)
	}
	if p["arrival"] == nil || p["departure"] != "2021-08-26T10:00:00Z" {
		t.Errorf("--depart should add departure and arrival: %v", p)
	}
}

func TestRouteRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := run(t, "demo", "--scale", "0.2", "--out", dir); err != nil {
		t.Fatal(err)
	}
	graph := filepath.Join(dir, "city.graph")
	badZones := filepath.Join(dir, "bad.geojson")
	os.WriteFile(badZones, []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[69.2,34.5]},"properties":{"forbidden":true}}]}`), 0o644)
	corrupt := filepath.Join(dir, "corrupt.graph")
	data, _ := os.ReadFile(graph)
	data[len(data)/2] ^= 0xff
	os.WriteFile(corrupt, data, 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"route", "--graph", graph, "--from", "34.5", "--to", "34.5,69.2"}, "LAT,LON"},
		{[]string{"route", "--graph", graph, "--from", "134.5,69.1", "--to", "34.5,69.2"}, "latitude"},
		{[]string{"route", "--graph", graph, "--from", "34.5,69.1", "--to", "34.5,69.2", "--profile", "bike"}, "profile"},
		{[]string{"route", "--graph", graph, "--from", "10,10", "--to", "34.5,69.2"}, "far from the graph"},
		{[]string{"route", "--graph", graph, "--from", "34.5,69.1", "--to", "34.5,69.2", "--avoid", badZones}, "radius_m"},
		{[]string{"route", "--graph", corrupt, "--from", "34.5,69.1", "--to", "34.5,69.2"}, "corrupt"},
		{[]string{"route", "--graph", filepath.Join(dir, "missing.graph"), "--from", "34.5,69.1", "--to", "34.5,69.2"}, "missing.graph"},
		{[]string{"import", filepath.Join(dir, "routes.geojson"), "-o", filepath.Join(dir, "x.graph")}, "routes.geojson"},
	}
	// A point given LON,LAT, far from the graph while its swap is on it.
	city, err := roadgraph.LoadCity(graph)
	if err != nil {
		t.Fatal(err)
	}
	car, err := city.Graph(roadgraph.Car)
	if err != nil {
		t.Fatal(err)
	}
	mid := car.NodePoint(uint32(car.NumNodes() / 2))
	lonLat := fmt.Sprintf("%s,%s", strconv.FormatFloat(mid.Lon(), 'f', -1, 64), strconv.FormatFloat(mid.Lat(), 'f', -1, 64))
	cases = append(cases, struct {
		args []string
		want string
	}{[]string{"route", "--graph", graph, "--from", "34.5,69.2", "--to", lonLat}, "--to \"" + lonLat + "\" is far from the graph"},
		struct {
			args []string
			want string
		}{[]string{"route", "--graph", graph, "--from", "34.5,69.2", "--to", lonLat}, "did you mean LAT,LON = " + latLonText(mid) + "?"})
	for _, c := range cases {
		_, _, err := run(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("muster %s: want an error mentioning %q, got %v", strings.Join(c.args, " "), c.want, err)
		}
	}
}

// A plan that moves nobody fails the demo with the reason; the summary
// counts the households left behind by reason.
func TestDemoPlanThatMovesNobodyFails(t *testing.T) {
	empty := &plan.Plan{Unassigned: []plan.Unassigned{
		{Household: "H1", Code: plan.UnservedMaxWalk}, {Household: "H2", Code: plan.UnservedNoGate}, {Household: "H3", Code: plan.UnservedMaxWalk},
	}}
	err := movesSomeone(empty, "the plan")
	if muster.ErrorCode(err) != muster.EUNREACHABLE || !strings.Contains(err.Error(), "moves nobody: 3 households not served (2 max_walk, 1 no_gate)") {
		t.Fatalf("movesSomeone(a plan of nobody) = %v", err)
	}
	if err := movesSomeone(&plan.Plan{}, "the plan"); err == nil || !strings.Contains(err.Error(), "no households") {
		t.Fatalf("movesSomeone(no households) = %v", err)
	}
	moving := &plan.Plan{Summary: plan.Summary{AssignedPeople: 4}, Groups: []plan.Group{{ID: "G1"}}}
	if err := movesSomeone(moving, "the plan"); err != nil {
		t.Fatalf("a plan that moves 4 people: %v", err)
	}
	if got := unservedLine(moving); got != "every household is served" {
		t.Errorf("unservedLine = %q", got)
	}
}
