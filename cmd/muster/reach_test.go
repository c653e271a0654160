package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muster-evac/muster/evacuees"
	"github.com/muster-evac/muster/internal/twotowns"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/scenario"
)

// The two towns through the command line: the import keeps both on foot
// (and with --foot-emergency the road between them, which it reports),
// `muster plan` prints the suggestions and the walks on the closed road,
// and `muster plan check` passes both plans.
func TestImportPlanTwoTowns(t *testing.T) {
	dir := t.TempDir()
	osmPath := filepath.Join(dir, "towns.osm")
	b, err := xml.Marshal(twotowns.OSM())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(osmPath, append([]byte(xml.Header), b...), 0o644); err != nil {
		t.Fatal(err)
	}
	places, list := filepath.Join(dir, "places.geojson"), filepath.Join(dir, "evacuees.csv")
	pf, err := os.Create(places)
	if err != nil {
		t.Fatal(err)
	}
	if err := scenario.WritePlaces(pf, twotowns.Places()); err != nil {
		t.Fatal(err)
	}
	pf.Close()
	ef, err := os.Create(list)
	if err != nil {
		t.Fatal(err)
	}
	if err := evacuees.Write(ef, twotowns.Households(12)); err != nil {
		t.Fatal(err)
	}
	ef.Close()

	for _, tc := range []struct {
		name       string
		flags      []string
		importSays string
		planSays   []string
	}{
		{"pieces", nil, "outside the 4 walkable pieces kept", []string{"cut_off", "suggested: 1 new rally point", "vehicle pickup"}},
		{"emergency", []string{"--foot-emergency"}, "foot emergency: 2 arcs (1.5 km of road)", []string{"foot emergency: 12 households walk along roads closed to pedestrians", "vehicle pickup"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			graph := filepath.Join(dir, tc.name+".graph")
			out, _, err := run(t, append([]string{"import", "-q", osmPath, "-o", graph}, tc.flags...)...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, tc.importSays) {
				t.Errorf("import says:\n%s\nwant %q", out, tc.importSays)
			}
			city, err := roadgraph.LoadCity(graph)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(city.Graphs[roadgraph.Foot].EmergencyArcs) > 0, tc.flags != nil; got != want {
				t.Errorf("emergency arcs in the graph file: %v", got)
			}
			planPath := filepath.Join(dir, tc.name+".json")
			var errOut string
			out, errOut, err = run(t, "plan", "-q", "--graph", graph, "--places", places, "--evacuees", list, "--at", "2026-01-01T06:00:00Z", "-o", planPath)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.planSays {
				if !strings.Contains(out, want) {
					t.Errorf("plan says:\n%s%s\nwant %q", out, errOut, want)
				}
			}
			data, err := os.ReadFile(planPath)
			if err != nil {
				t.Fatal(err)
			}
			var p plan.Plan
			if err := json.Unmarshal(data, &p); err != nil {
				t.Fatal(err)
			}
			if len(p.Reach.Suggested()) == 0 {
				t.Errorf("plan.json has no suggestions")
			}
			if out, _, err := run(t, "plan", "check", "--plan", planPath, "--graph", graph, "--places", places, "--evacuees", list); err != nil {
				t.Errorf("plan check: %v\n%s", err, out)
			}
		})
	}
}
