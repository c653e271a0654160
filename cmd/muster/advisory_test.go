package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/advisory"
	"github.com/muster-evac/muster/httpapi"
)

// advisorySchemaCheck validates a CAP file against the OASIS schema when
// xmllint is there (advisory's own tests insist on it in CI).
func advisorySchemaCheck(t *testing.T, path string) {
	t.Helper()
	schema := filepath.Join("..", "..", "..", "shared", "standards", "CAP-v1.2.xsd")
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		return
	}
	if _, err := os.Stat(schema); err != nil {
		return
	}
	if out, err := exec.Command(bin, "--noout", "--nonet", "--schema", schema, path).CombinedOutput(); err != nil {
		t.Errorf("%s is not valid CAP 1.2: %s", path, out)
	}
}

func TestAdvisoryCommands(t *testing.T) {
	reports := scenarioFile(t, "kabul-2021/reports.jsonl")
	placesFile := scenarioFile(t, "kabul-2021/places.geojson")
	evacueesFile := scenarioFile(t, "kabul-2021/evacuees.csv")
	dir := t.TempDir()
	zones := filepath.Join(dir, "zones.geojson")
	if _, stderr, err := run(t, "threats", "--reports", reports, "--places", placesFile, "--at", "2021-08-21T18:00:00Z", "--out", zones); err != nil {
		t.Fatalf("threats: %v\n%s", err, stderr)
	}

	adv := filepath.Join(dir, "advisory.xml")
	_, stderr, err := run(t, "advisory", "new", "--canned", "avoid-gates", "--zone-file", zones, "--zone", "zone-r04",
		"--area-name", "Hamid Karzai International Airport", "--severity", "Extreme", "--urgency", "Immediate", "--certainty", "Likely",
		"--sender", "muster@kabul.example.org", "--id", "adv-kabul-1", "--sent", "2021-08-26T14:00:00Z", "-o", adv)
	if err != nil || !strings.Contains(stderr, "wrote "+adv+": Actual Alert adv-kabul-1, en, fa, ps") {
		t.Fatalf("advisory new: %v\n%s", err, stderr)
	}
	advisorySchemaCheck(t, adv)
	doc, _ := os.ReadFile(adv)
	for _, want := range []string{"<sent>2021-08-26T14:00:00-00:00</sent>", "<expires>2021-08-27T14:00:00-00:00</expires>", "<severity>Extreme</severity>",
		"<language>fa-AF</language>", "<value>zone-r04</value>", "Avoid the airport gates unless you receive individual instructions"} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("the CAP file lacks %s", want)
		}
	}

	out, _, err := run(t, "advisory", "check", adv)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"advisory adv-kabul-1 from muster@kabul.example.org, sent 2021-08-26T14:00:00Z", "urgency Immediate, severity Extreme, certainty Likely",
		"from zone zone-r04", "[ps] Hamid Karzai International Airport: د هوايي ډګر"} {
		if !strings.Contains(out, want) {
			t.Errorf("check lacks %q:\n%s", want, out)
		}
	}

	// The city-wide circle reaches every household of the list; nothing
	// personal is printed without --list.
	city := filepath.Join(dir, "city.xml")
	if _, stderr, err := run(t, "advisory", "new", "--canned", "shelter-in-place", "--zone-file", zones, "--zone", "zone-r10", "--area-name", "Kabul", "-o", city); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	out, _, err = run(t, "advisory", "recipients", city, "--evacuees", evacueesFile)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^  (en|fa|ps) +(\d+)$`).FindAllStringSubmatch(out, -1) {
		counts[m[1]], _ = strconv.Atoi(m[2])
	}
	if !strings.Contains(out, "2000 households inside the area") || counts["en"]+counts["fa"]+counts["ps"] != 2000 || counts["fa"] == 0 || counts["ps"] == 0 {
		t.Errorf("recipients:\n%s", out)
	}
	if strings.Contains(out, "H000001") || strings.Contains(out, "Popal") || strings.Contains(out, "+93") {
		t.Errorf("recipients prints personal data without --list:\n%s", out)
	}
	out, _, err = run(t, "advisory", "recipients", city, "--evacuees", evacueesFile, "--list")
	if err != nil || !strings.Contains(out, "H000001\tfa\n") || strings.Contains(out, "Popal") {
		t.Errorf("--list: %v\n%.300s", err, out)
	}

	// An update over a drawn polygon, then a cancellation.
	poly := filepath.Join(dir, "gates.geojson")
	os.WriteFile(poly, []byte(`{"type": "Polygon", "coordinates": [[[69.21, 34.555], [69.235, 34.555], [69.235, 34.57], [69.21, 34.57], [69.21, 34.555]]]}`), 0o644)
	up := filepath.Join(dir, "update.xml")
	if _, stderr, err := run(t, "advisory", "new", "--canned", "avoid-gates", "--polygon", poly, "--area-name", "the airport gates",
		"--updates", adv, "--sender", "muster@kabul.example.org", "--sent", "2021-08-26T15:00:00Z", "-o", up); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	advisorySchemaCheck(t, up)
	out, _, err = run(t, "advisory", "check", up)
	if err != nil || !strings.Contains(out, "Actual Update, refers to adv-kabul-1 (muster@kabul.example.org, sent 2021-08-26T14:00:00Z)") ||
		!strings.Contains(out, "area: 1 polygons (0 holes, 4 corners), 0 circles\n") {
		t.Errorf("check of the update: %v\n%s", err, out)
	}
	cancel := filepath.Join(dir, "cancel.xml")
	if _, stderr, err := run(t, "advisory", "cancel", adv, "--note", "issued in error", "--sent", "2021-08-26T16:00:00Z", "-o", cancel); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	advisorySchemaCheck(t, cancel)
	out, _, err = run(t, "advisory", "check", cancel)
	if err != nil || !strings.Contains(out, "Actual Cancel, refers to adv-kabul-1") || !strings.Contains(out, "note: issued in error") ||
		!strings.Contains(out, "[en] Hamid Karzai International Airport: Cancelled: the earlier advisory for Hamid Karzai International Airport") {
		t.Errorf("check of the cancel: %v\n%s", err, out)
	}
}

func TestAdvisoryRefusals(t *testing.T) {
	dir := t.TempDir()
	poly := filepath.Join(dir, "p.geojson")
	os.WriteFile(poly, []byte(`{"type": "Feature", "properties": {"name": "Abbey Gate"}, "geometry": {"type": "Point", "coordinates": [69.2195, 34.5605]}}`), 0o644)
	open := filepath.Join(dir, "open.geojson")
	os.WriteFile(open, []byte(`{"type": "Polygon", "coordinates": [[[69.21, 34.555], [69.235, 34.555], [69.235, 34.57], [69.21, 34.57]]]}`), 0o644)
	circle := filepath.Join(dir, "circle.geojson")
	os.WriteFile(circle, []byte(`{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "Abbey Gate", "radius_m": 300}, "geometry": {"type": "Point", "coordinates": [69.2195, 34.5605]}}]}`), 0o644)
	doctype := filepath.Join(dir, "doctype.xml")
	os.WriteFile(doctype, []byte(`<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY x "y">]><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>`), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"advisory", "new", "--polygon", circle}, "give --canned, one of avoid-gates, shelter-in-place, all-clear"},
		{[]string{"advisory", "new", "--canned", "evacuate", "--polygon", circle}, `canned advisory "evacuate": want one of`},
		{[]string{"advisory", "new", "--canned", "all-clear"}, "give the area: --zone-file FILE with --zone ID, or --polygon FILE"},
		{[]string{"advisory", "new", "--canned", "all-clear", "--polygon", poly}, "properties.radius_m is missing"},
		{[]string{"advisory", "new", "--canned", "all-clear", "--polygon", open}, "geometry.coordinates"},
		{[]string{"advisory", "new", "--canned", "all-clear", "--polygon", circle, "--severity", "Bad"}, `severity: "Bad" is not one of Extreme`},
		{[]string{"advisory", "new", "--canned", "all-clear", "--polygon", circle, "--sender", "muster kabul"}, `sender: "muster kabul" holds ' '`},
		{[]string{"advisory", "new", "--canned", "all-clear", "--polygon", circle, "--sent", "yesterday"}, "--sent \"yesterday\""},
		{[]string{"advisory", "check", doctype}, "<!DOCTYPE...> refused"},
		{[]string{"advisory", "recipients", doctype}, "give --evacuees"},
	} {
		_, _, err := run(t, c.args...)
		if muster.ErrorCode(err) != muster.EINVALID || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
	// The area name comes from the feature.
	out, _, err := run(t, "advisory", "new", "--canned", "all-clear", "--polygon", circle, "--id", "adv-x", "--sent", "2021-08-26T14:00:00Z")
	if err != nil || !strings.Contains(out, "<headline>All clear for Abbey Gate</headline>") || !strings.Contains(out, "<circle>34.5605,69.2195 0.3</circle>") {
		t.Errorf("%v\n%s", err, out)
	}
}

// TestAdvisoryUpdateAndCancelOnAServer: `muster advisory update ID
// --server` and `cancel ID --server` have a running server issue a CAP
// Update and a CAP Cancel of its advisory, with a planner's API token;
// without a token, or with a field officer's, nothing is issued.
func TestAdvisoryUpdateAndCancelOnAServer(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	const pw = "tangerine zeppelin quartz 42\n"
	for _, u := range [][2]string{{"pat", "planner"}, {"fran", "field"}} {
		if _, stderr, err := runIn(t, pw, "user", "add", u[0], "--role", u[1], "--password-stdin", "--data", data); err != nil {
			t.Fatalf("user add: %v %s", err, stderr)
		}
	}
	planner, _, err := runIn(t, "", "user", "token", "pat", "--ttl", "1h", "--data", data)
	if err != nil {
		t.Fatal(err)
	}
	field, _, err := runIn(t, "", "user", "token", "fran", "--ttl", "1h", "--data", data)
	if err != nil {
		t.Fatal(err)
	}
	ctx := muster.WithActor(context.Background(), "tester")
	sf := storeFlags{data: data}
	st, err := sf.openStore(ctx, io.Discard, true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var hs []muster.Household
	for i := range 4 {
		hs = append(hs, muster.Household{ID: fmt.Sprintf("H%06d", i+1), Name: "Family", PartySize: 2, Adults: 2, Language: muster.Languages[i%3],
			Phone: fmt.Sprintf("+9370000000%d", i), Lat: 34.56 + float64(i)*0.0005, Lon: 69.2, HasLocation: true})
	}
	if _, err := st.ImportHouseholds(ctx, hs, muster.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Store: st, IPRate: -1, AccountRate: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	srv := httptest.NewServer(api)
	defer srv.Close()
	post := func(token, path, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(token))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 201 {
			t.Fatalf("%s: %d %v %v", path, resp.StatusCode, out, err)
		}
		return out
	}
	a := post(planner, "/api/advisories", `{"canned":"avoid-gates","area_name":"the airport","polygon":{"type":"Feature","geometry":{"type":"Point","coordinates":[69.2,34.561]},"properties":{"radius_m":1000}}}`)
	id := a["id"].(string)
	if a["recipients"].(float64) != 4 {
		t.Fatalf("the advisory: %v", a)
	}

	t.Setenv("MUSTER_TOKEN", "")
	if _, _, err := run(t, "advisory", "update", id, "--server", srv.URL, "--canned", "shelter-in-place", "--area-name", "the airport"); err == nil || !strings.Contains(err.Error(), "no API token") {
		t.Fatalf("update without a token: %v", err)
	}
	t.Setenv("MUSTER_TOKEN", field)
	if _, _, err := run(t, "advisory", "cancel", id, "--server", srv.URL); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a field officer's cancel: %v", err)
	}
	t.Setenv("MUSTER_TOKEN", planner)
	out, _, err := run(t, "advisory", "update", id, "--server", srv.URL, "--canned", "shelter-in-place", "--area-name", "the airport")
	if err != nil || !strings.Contains(out, `"msg_type":"Update"`) || !strings.Contains(out, `"recipients":4`) {
		t.Fatalf("update: %v\n%s", err, out)
	}
	out, _, err = run(t, "advisory", "cancel", id, "--server", srv.URL, "--note", "the gates are open")
	if err != nil || !strings.Contains(out, `"msg_type":"Cancel"`) {
		t.Fatalf("cancel: %v\n%s", err, out)
	}
	if _, _, err := run(t, "advisory", "cancel", id, "--server", srv.URL); err == nil || !strings.Contains(err.Error(), "cancelled by") {
		t.Fatalf("a second cancel: %v", err)
	}
	list, err := st.ListAdvisories(ctx, 10)
	if err != nil || len(list) != 3 {
		t.Fatalf("advisories: %d, %v", len(list), err)
	}
	for _, l := range list {
		full, err := st.GetAdvisory(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		d, err := advisory.Read(bytes.NewReader(full.CAP))
		if err != nil {
			t.Fatal(err)
		}
		if l.ID != id && (len(d.Advisory.References) != 1 || d.Advisory.References[0].ID != id) {
			t.Fatalf("%s %s references %v, not %s", l.MsgType, l.ID, d.Advisory.References, id)
		}
	}
}
