package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muster-evac/muster/internal/testshared"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/zonecost"
)

// scenarioFile returns a file of ../shared/scenarios, or skips.
func scenarioFile(t *testing.T, rel string) string {
	t.Helper()
	return testshared.Path(t, "scenarios/"+rel)
}

func TestThreatsGeoJSONFeedsRouting(t *testing.T) {
	reports := scenarioFile(t, "kabul-2021/reports.jsonl")
	placesFile := scenarioFile(t, "kabul-2021/places.geojson")
	out := filepath.Join(t.TempDir(), "threats.geojson")
	_, stderr, err := run(t, "threats", "--reports", reports, "--places", placesFile, "--at", "2021-08-21T18:00:00Z", "--out", out)
	if err != nil {
		t.Fatalf("threats: %v\n%s", err, stderr)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zones, err := zonecost.ReadGeoJSON(f, out)
	if err != nil {
		t.Fatalf("routing cannot read the threat picture: %v", err)
	}
	byID := map[string]muster.Zone{}
	for _, z := range zones {
		byID[z.ID] = z
	}
	if z := byID["zone-r04"]; !z.Forbidden || z.Level != "critical" || z.IsCircle() {
		t.Errorf("airport zone as routing reads it: %+v", z)
	}
	if z := byID["zone-r10"]; z.Forbidden || !z.IsCircle() || z.RadiusM != 12000 {
		t.Errorf("city zone as routing reads it: %+v", z)
	}
	data, _ := os.ReadFile(out)
	var fc struct {
		Features []struct {
			Properties map[string]any `json:"properties"`
		} `json:"features"`
		Gates []map[string]any `json:"gates"`
	}
	if err := json.Unmarshal(data, &fc); err != nil {
		t.Fatal(err)
	}
	for _, f := range fc.Features {
		for _, k := range []string{"id", "name", "level", "risk", "confidence", "disputed", "forbidden", "reports_for", "reports_against", "explanation"} {
			if _, ok := f.Properties[k]; !ok {
				t.Errorf("zone %v lacks property %s", f.Properties["id"], k)
			}
		}
		for _, r := range f.Properties["reports_for"].([]any) {
			m := r.(map[string]any)
			if m["id"] == "" || m["source"] == "" || len(m["grade"].(string)) != 2 {
				t.Errorf("report ref %v", m)
			}
		}
	}
	if len(fc.Gates) != 4 {
		t.Errorf("%d gates in the output, want 4", len(fc.Gates))
	}
}

func TestThreatsReplayAndTable(t *testing.T) {
	reports := scenarioFile(t, "kabul-2021/reports.jsonl")
	placesFile := scenarioFile(t, "kabul-2021/places.geojson")
	out, _, err := run(t, "threats", "--reports", reports, "--places", placesFile, "--at", "2021-08-19T00:00:00Z", "--format", "table")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "zone-r11") || strings.Contains(out, "zone-r04") || strings.Contains(out, "\nr01 ") {
		t.Errorf("the picture of 19 August should hold only r11:\n%s", out)
	}
	_, _, err = run(t, "threats", "--reports", reports, "--places", placesFile, "--at", "yesterday")
	if muster.ErrorCode(err) != muster.EINVALID || !strings.Contains(err.Error(), "--at") {
		t.Errorf("bad --at: %v", err)
	}
	out, stderr, err := run(t, "threats", "--reports", reports, "--at", "2021-08-21T18:00:00Z")
	if err != nil || !strings.Contains(stderr, `line 1 (id "r01"): area.place: "HKIA" cannot be resolved: no places file given`) ||
		!strings.Contains(out, "zone-r10") {
		t.Errorf("without --places the named-place reports are left out with a reason, the others kept: %v\n%s", err, stderr)
	}
	policy := filepath.Join(t.TempDir(), "policy.json")
	os.WriteFile(policy, []byte(`{"forbid": ["critical", "severe"]}`), 0o644)
	_, _, err = run(t, "threats", "--reports", reports, "--places", placesFile, "--policy", policy)
	if err == nil || !strings.Contains(err.Error(), `"severe"`) {
		t.Errorf("bad policy: %v", err)
	}
}

func TestReportImportDirty(t *testing.T) {
	reports := scenarioFile(t, "kabul-2021/reports.jsonl")
	dirty := scenarioFile(t, "kabul-2021/reports-dirty.jsonl")
	placesFile := scenarioFile(t, "kabul-2021/places.geojson")
	record := filepath.Join(t.TempDir(), "record.jsonl")
	out, _, err := run(t, "report", "import", reports, "--places", placesFile, "--into", record)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	before, _ := os.ReadFile(record)
	orig, _ := os.ReadFile(reports)
	if strings.Count(string(before), "\n") != 11 || !strings.Contains(string(before), strings.Split(string(orig), "\n")[0]) {
		t.Errorf("the record does not keep the reports as received:\n%s", before)
	}
	out, _, err = run(t, "report", "import", dirty, "--places", placesFile, "--into", record, "--dry-run")
	if muster.ErrorCode(err) != muster.EINVALID {
		t.Errorf("dry run with rejections: %v", err)
	}
	if !strings.Contains(out, "would add  line 11  d11") || strings.Count(out, "rejected  line") != 11 ||
		!strings.Contains(out, `did you mean "Abbey Gate"`) || !strings.Contains(out, `line 10 (id "r01"): id:`) {
		t.Errorf("dry run output:\n%s", out)
	}
	if after, _ := os.ReadFile(record); string(after) != string(before) {
		t.Error("a dry run wrote to the record")
	}
	out, _, err = run(t, "report", "import", dirty, "--places", placesFile, "--into", record)
	if muster.ErrorCode(err) != muster.EINVALID || !strings.Contains(out, "1 added, 11 rejected") {
		t.Errorf("import dirty: %v\n%s", err, out)
	}
	after, _ := os.ReadFile(record)
	if !strings.HasPrefix(string(after), string(before)) || strings.Count(string(after), "\n") != 12 {
		t.Errorf("the record was not appended to:\n%s", after)
	}
	// d11's text stays data: the table escapes it.
	table, _, err := run(t, "threats", "--reports", record, "--places", placesFile, "--at", "2021-08-21T18:00:00Z", "--format", "table")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(table, "<script>") || !strings.Contains(table, "&lt;script&gt;") {
		t.Error("the table renders d11's markup")
	}
}

func TestReportAdd(t *testing.T) {
	placesFile := scenarioFile(t, "kabul-2021/places.geojson")
	record := filepath.Join(t.TempDir(), "record.jsonl")
	args := []string{"report", "add", "--into", record, "--places", placesFile, "--id", "f01",
		"--received-at", "2021-08-26T12:00:00Z", "--source-id", "abbey-team", "--source-name", "Abbey Gate team",
		"--source-kind", "field", "--reliability", "A", "--credibility", "1", "--kind", "explosion", "--claim", "present",
		"--likelihood", "almost certain", "--immediacy", "imminent", "--severity", "5", "--place", "abbey gate",
		"--text", "Explosion at the gate"}
	out, _, err := run(t, args...)
	if err != nil || !strings.Contains(out, "added f01") {
		t.Fatalf("add: %v %s", err, out)
	}
	_, _, err = run(t, args...)
	if muster.ErrorCode(err) != muster.ECONFLICT {
		t.Errorf("second add of f01: %v, want a conflict", err)
	}
	doc := `{"id":"f02","received_at":"2021-08-26T12:10:00Z","source":{"id":"x","name":"X","kind":"media"},"reliability":"C","credibility":3,"kind":"gunfire","claim":"present","likelihood":0.6,"severity":4,"area":{"point":[69.2195,34.5605],"radius_m":400},"text":"shots"}`
	if _, _, err := run(t, "report", "add", "--into", record, "--json", doc); err != nil {
		t.Fatalf("add --json: %v", err)
	}
	bad := strings.Replace(args[len(args)-3], "abbey gate", "Abey Gate", 1)
	args[len(args)-3] = bad
	args[7] = "f03"
	_, _, err = run(t, args...)
	if err == nil || !strings.Contains(err.Error(), `area.place: unknown place "Abey Gate": did you mean "Abbey Gate"?`) {
		t.Errorf("misspelt place: %v", err)
	}
	data, _ := os.ReadFile(record)
	if lines := strings.Split(strings.TrimSpace(string(data)), "\n"); len(lines) != 2 || lines[1] != doc {
		t.Errorf("record:\n%s", data)
	}
	out, _, err = run(t, "threats", "--reports", record, "--places", placesFile, "--at", "2021-08-26T12:30:00Z", "--format", "table")
	if err != nil || !strings.Contains(out, "Abbey Gate: closed") {
		t.Errorf("the explosion should close Abbey Gate: %v\n%s", err, out)
	}
}
