package threat

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/places"
)

func TestLikelihoodVocabulary(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
	}{
		{"almost no chance", 0.03}, {"Remote", 0.03}, {"very unlikely", 0.125}, {"unlikely", 0.325},
		{"probably not", 0.325}, {"roughly even chance", 0.5}, {"likely", 0.675}, {"Probable", 0.675},
		{"very likely", 0.875}, {"highly probable", 0.875}, {"almost certain", 0.97}, {"nearly certain", 0.97},
		{"strong possibility", 0.70}, {"credible", 0.60}, {"cannot rule out", 0.15}, {"potential", 0.30},
		{"realistic possibility", 0.45}, {"  Very-Likely ", 0.875}, {"0.35", 0.35}, {"70%", 0.7}, {"1", 1}, {"0", 0},
	} {
		got, err := ParseLikelihood(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseLikelihood(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, w := range Likelihoods {
		if !(w.Lo <= w.P && w.P <= w.Hi) || w.Lo < 0 || w.Hi > 1 {
			t.Errorf("%q: p %v outside its band %v-%v", w.Phrase, w.P, w.Lo, w.Hi)
		}
	}
	_, err := ParseLikelihood("kinda maybe")
	if err == nil || !strings.Contains(err.Error(), "roughly even chance") || !strings.Contains(err.Error(), "number 0..1") {
		t.Errorf("unknown word: %v", err)
	}
	_, err = ParseLikelihood("not immediate")
	if err == nil || !strings.Contains(err.Error(), "immediacy") {
		t.Errorf("immediacy as likelihood: %v", err)
	}
	for _, bad := range []string{"1.7", "-0.1", "NaN", "150%", ""} {
		if _, err := ParseLikelihood(bad); err == nil {
			t.Errorf("ParseLikelihood(%q) accepted", bad)
		}
	}
}

func TestGradeWeights(t *testing.T) {
	prev := 2.0
	for _, g := range "ABCDE" {
		w := ReliabilityWeight[string(g)]
		if !(w < prev) {
			t.Errorf("reliability %c weight %v not below the better grade's %v", g, w, prev)
		}
		prev = w
	}
	prev = 2.0
	for c := 1; c <= 5; c++ {
		if !(CredibilityWeight[c] < prev) {
			t.Errorf("credibility %d weight not decreasing", c)
		}
		prev = CredibilityWeight[c]
	}
	if ReliabilityWeight["F"] <= 0 || CredibilityWeight[6] <= 0 {
		t.Error("cannot-be-judged grades must keep some weight")
	}
	if ReliabilityWeight["F"] >= ReliabilityWeight["A"] || CredibilityWeight[6] >= CredibilityWeight[1] {
		t.Error("cannot-be-judged grades must weigh little")
	}
}

const goodReport = `{"id":"g1","received_at":"2021-08-21T15:00:00Z","source":{"id":"x","name":"X","kind":"official"},"reliability":"B","credibility":3,"kind":"attack-threat","claim":"present","likelihood":"likely","immediacy":"unknown","severity":5,"area":{"point":[69.2,34.5],"radius_m":300},"text":"t"}`

func TestParseReportFields(t *testing.T) {
	now := ParseOptions{Now: time.Date(2021, 8, 22, 0, 0, 0, 0, time.UTC)}
	r, err := ParseReport([]byte(goodReport), now)
	if err != nil {
		t.Fatal(err)
	}
	if r.Grade() != "B3" || r.Likelihood != 0.675 || r.LikelihoodText != "likely" || r.Area.RadiusM != 300 {
		t.Errorf("parsed %+v", r)
	}
	cases := []struct{ from, to, field string }{
		{`"id":"g1"`, `"id":""`, "id"},
		{`"received_at":"2021-08-21T15:00:00Z"`, `"received_at":"yesterday"`, "received_at"},
		{`"received_at":"2021-08-21T15:00:00Z"`, `"received_at":"2021-08-21T15:00:00Z","observed_at":"2021-08-23T00:00:00Z"`, "observed_at"},
		{`"kind":"official"`, `"kind":"blog"`, "source.kind"},
		{`"id":"x"`, `"id":""`, "source.id"},
		{`"credibility":3`, `"credibility":"3"`, "credibility"},
		{`"credibility":3`, `"credibility":0`, "credibility"},
		{`"kind":"attack-threat"`, `"kind":"alien-invasion"`, "kind"},
		{`"claim":"present"`, `"claim":"maybe"`, "claim"},
		{`"kind":"attack-threat","claim":"present"`, `"kind":"gate-status","claim":"present"`, "claim"},
		{`"immediacy":"unknown"`, `"immediacy":"soon"`, "immediacy"},
		{`"severity":5`, `"severity":6`, "severity"},
		{`"likelihood":"likely"`, `"likelihood":null`, "likelihood"},
		{`"likelihood":"likely"`, `"likelihood":true`, "likelihood"},
		{`"radius_m":300`, `"radius_m":0`, "area.radius_m"},
		{`"point":[69.2,34.5]`, `"point":[69.2,95]`, "area.point"},
		{`"point":[69.2,34.5]`, `"point":[69.2]`, "area.point"},
		{`"area":{"point":[69.2,34.5],"radius_m":300}`, `"area":{}`, "area"},
		{`"area":{"point":[69.2,34.5],"radius_m":300}`, `"area":{"place":"HKIA"}`, "area.place"},
		{`"area":{"point":[69.2,34.5],"radius_m":300}`, `"area":{"polygon":[[[0,0],[1,0],[1,1]]]}`, "area.polygon[0]"},
		{`"area":{"point":[69.2,34.5],"radius_m":300}`, `"area":{"polygon":[[[0,0],[1,0],[1,1],[0,0]]],"point":[1,1]}`, "area"},
		{`"text":"t"`, `"text":"t","valid_until":"2021-08-20T00:00:00Z"`, "valid_until"},
		{`"text":"t"`, `"text":"t","relates_to":["g1"]}`, "relates_to[0]"},
		{`"text":"t"`, `"text":"t","colour":"red"`, "colour"},
		{`"text":"t"`, "\"text\":\"a\\u001b[31m\"", "text"},
	}
	for _, c := range cases {
		if !strings.Contains(goodReport, c.from) {
			t.Fatalf("bad case %q", c.from)
		}
		doc := strings.Replace(goodReport, c.from, c.to, 1)
		_, err := ParseReport([]byte(doc), now)
		fe, ok := err.(*FieldError)
		if !ok || fe.Field != c.field {
			t.Errorf("%s\n  error %v, want one on field %q", doc, err, c.field)
		}
	}
}

func TestParseReportsKeepsGoodOnes(t *testing.T) {
	bad := strings.Replace(goodReport, `"g1"`, `"g2"`, 1)
	bad = strings.Replace(bad, `"B"`, `"Z"`, 1)
	in := goodReport + "\n\n" + bad + "\r\n" + strings.Replace(goodReport, `"g1"`, `"g3"`, 1) + "\n" + goodReport
	res, err := ParseReports(strings.NewReader(in), map[string]bool{"g3": true}, ParseOptions{Now: time.Date(2021, 8, 22, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Accepted) != 1 || res.Accepted[0].Report.ID != "g1" || string(res.Accepted[0].Raw) != goodReport {
		t.Errorf("accepted %+v", res.Accepted)
	}
	var lines []int
	for _, r := range res.Rejected {
		lines = append(lines, r.Line)
	}
	if !reflect.DeepEqual(lines, []int{3, 4, 5}) {
		t.Errorf("rejected lines %v, want 3 4 5: %v", lines, res.Rejected)
	}
	if !strings.Contains(res.Rejected[2].Error(), "line 1") {
		t.Errorf("duplicate in the same input should name the first line: %v", res.Rejected[2])
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	s := loadScenario(t, "kabul-2021")
	for _, r := range s.reports {
		data, err := MarshalReport(&r)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseReport(data, ParseOptions{Places: s.index})
		if err != nil {
			t.Fatalf("%s: %v\n%s", r.ID, err, data)
		}
		if !reflect.DeepEqual(back, r) {
			t.Errorf("%s round trip:\n %+v\n %+v", r.ID, r, back)
		}
	}
}

func TestPortoAlegreDrill(t *testing.T) {
	s := loadScenario(t, "porto-alegre-drill")
	if len(s.reports) != 7 {
		t.Fatalf("%d reports, want 7", len(s.reports))
	}
	p := build(t, s, s.reports, mustTime(t, "2026-03-14T12:30:00Z"))
	threat := p.ZoneOf("p01")
	if threat == nil || p.ZoneOf("p03") != threat {
		t.Fatal("p01 and its TV relay p03 are not one zone")
	}
	counted := 0
	for _, r := range threat.For {
		if r.Counted {
			counted++
		}
	}
	if counted != 1 {
		t.Errorf("state intelligence counted %d times, want once (p03 relays p01)", counted)
	}
	if !threat.Disputed || len(threat.Against) != 1 || threat.Against[0].ID != "p07" {
		t.Errorf("the all-clear p07 should dispute the threat zone: %+v", threat.Against)
	}
	if threat.Prevailing != muster.ClaimPresent {
		t.Errorf("B2 threat vs B3 all-clear: %s prevails", threat.Prevailing)
	}
	gates := map[string]GateStatus{}
	for _, g := range p.Gates {
		gates[g.Name] = g
	}
	if len(gates) != 4 {
		t.Fatalf("gates %v", p.Gates)
	}
	if g := gates["Gate 2"]; g.Status != muster.GateClosed || !strings.Contains(strings.Join(g.Reasons, " "), "p06") {
		t.Errorf("Gate 2: %+v", g)
	}
	if g := gates["Gate 3"]; g.Status != muster.GateRestricted || !strings.Contains(strings.Join(g.Reasons, " "), "zone-p02") {
		t.Errorf("Gate 3 (crowd): %+v", g)
	}
	// Gate 4 is 190 m from Gate 3, inside the crowd's 200 m: restricted
	// by it, not closed.
	if g := gates["Gate 4"]; g.Status != muster.GateRestricted || !strings.Contains(strings.Join(g.Reasons, " "), "zone-p02") {
		t.Errorf("Gate 4: %+v", g)
	}
	if g := gates["Gate 1"]; g.Status == muster.GateOpen || !strings.Contains(strings.Join(g.Reasons, " "), "zone-p01") {
		t.Errorf("Gate 1, inside the attack-threat zone: %+v", g)
	}
	rumour := p.ZoneOf("p04")
	if rumour == nil || rumour.Forbidden || rumour.Level != LevelLow {
		t.Errorf("the E5 rumour should make a low, open zone: %+v", rumour)
	}
	if rb := p.ZoneOf("p05"); rb == nil || !rb.Forbidden {
		t.Errorf("the A2 armed roadblock should be forbidden: %+v", rb)
	}
	// After the roadblock's valid_until it stops counting.
	late := build(t, s, s.reports, mustTime(t, "2026-03-14T23:00:00Z"))
	if late.ZoneOf("p05") != nil {
		t.Error("the roadblock still counts after its valid_until")
	}
}

func FuzzParseReport(f *testing.F) {
	f.Add([]byte(goodReport))
	f.Add([]byte(`{"id":"d09", "received_at": "2021-08-21T15:00:00Z", "truncated`))
	f.Add([]byte(`{"id":"a","area":{"polygon":[[[69.20,34.55],[69.22,34.57],[69.22,34.55],[69.20,34.57],[69.20,34.55]]]}}`))
	// Places named by name, by id, and by a name several places share.
	for _, area := range []string{`{"place_id":"abbey"}`, `{"place_id":"rally-002"}`, `{"place_id":"abey"}`, `{"place":"unclassified junction"}`,
		`{"place_id":"gate-1","place":"Gate 1"}`, `{"place_id":"rally-001","radius_m":10}`, `{"place":"rally-003"}`} {
		f.Add([]byte(strings.Replace(junctionReport, `{"place":"unclassified junction"}`, area, 1)))
	}
	f.Add([]byte(strings.NewReplacer(`"kind":"explosion","claim":"present"`, `"kind":"gate-status","claim":"closed"`,
		`{"place":"unclassified junction"}`, `{"place_id":"gate-1"}`).Replace(junctionReport)))
	for _, name := range []string{"reports.jsonl", "reports-dirty.jsonl"} {
		if data, err := os.ReadFile("../../shared/scenarios/kabul-2021/" + name); err == nil {
			for _, line := range bytes.Split(data, []byte("\n")) {
				f.Add(line)
			}
		}
	}
	// The Kabul places, if at hand, and rally points sharing one name.
	pl := &muster.Places{}
	if kabul, err := places.ReadFile("../../shared/scenarios/kabul-2021/places.geojson"); err == nil {
		pl = kabul
	}
	pl.Places = append(pl.Places, junctionPlaces(5).Places...)
	ix, err := places.NewIndex(pl)
	if err != nil {
		f.Fatal(err)
	}
	opt := ParseOptions{Places: ix, Now: time.Date(2021, 8, 22, 0, 0, 0, 0, time.UTC)}
	f.Fuzz(func(t *testing.T, data []byte) {
		// As a file: every non-blank line is either accepted or rejected.
		res, err := ParseReports(bytes.NewReader(data), nil, opt)
		if err != nil {
			t.Fatal(err)
		}
		lines := 0
		for _, l := range bytes.Split(data, []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 {
				lines++
			}
		}
		if len(res.Accepted)+len(res.Rejected) != lines {
			t.Fatalf("%d lines, %d accepted, %d rejected", lines, len(res.Accepted), len(res.Rejected))
		}
		r, err := ParseReport(data, opt)
		if err != nil {
			if _, ok := err.(*FieldError); !ok {
				t.Fatalf("error %T is not a FieldError: %v", err, err)
			}
			return
		}
		// What is accepted re-encodes to itself, and fuses without error.
		enc, err := MarshalReport(&r)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseReport(enc, opt)
		if err != nil {
			t.Fatalf("re-encoded report rejected: %v\n%s", err, enc)
		}
		if !reflect.DeepEqual(back, r) {
			t.Fatalf("round trip differs:\n%+v\n%+v", r, back)
		}
		if (r.Area.Place != "") && (r.Area.PlaceID != "") {
			t.Fatalf("area with both a place name and an id accepted: %+v", r.Area)
		}
		// It fuses: every area the parser accepts resolves.
		p, err := Build([]muster.Report{r}, pl, r.ReceivedAt.Add(time.Hour), DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Rejected) > 0 {
			t.Fatalf("accepted report rejected by the fusion: %v", p.Rejected)
		}
	})
}

func TestGateStatusContradiction(t *testing.T) {
	s := loadScenario(t, "kabul-2021")
	at := mustTime(t, "2021-08-26T12:00:00Z")
	gate := func(id, claim, rel string, cred int, received string) muster.Report {
		return muster.Report{ID: id, ReceivedAt: mustTime(t, received), Source: muster.Source{ID: "src-" + id, Name: "S " + id, Kind: muster.SourceField},
			Reliability: rel, Credibility: cred, Kind: muster.KindGateStatus, Claim: claim, Likelihood: 0.97, LikelihoodText: "almost certain",
			Immediacy: muster.ImmediacyImminent, Severity: 3, Area: muster.Area{Place: "Abbey Gate"}}
	}
	status := func(rs ...muster.Report) GateStatus {
		for _, g := range build(t, s, rs, at).Gates {
			if g.Name == "Abbey Gate" {
				return g
			}
		}
		t.Fatal("no Abbey Gate")
		return GateStatus{}
	}
	closed := gate("g1", muster.GateClosed, "A", 1, "2021-08-26T11:00:00Z")
	open := gate("g2", muster.GateOpen, "C", 3, "2021-08-26T11:30:00Z")
	g := status(closed, open)
	if g.Status != muster.GateClosed || !g.Disputed {
		t.Errorf("A1 closed against C3 open: %+v", g)
	}
	reasons := strings.Join(g.Reasons, "\n")
	if !strings.Contains(reasons, "g1, A1") || !strings.Contains(reasons, "not weighed: open") || !strings.Contains(reasons, "g2, C3") {
		t.Errorf("both sides should be shown with their grades:\n%s", reasons)
	}
	// Freshness counts: a closure reported a day and a half earlier has
	// decayed below a fresh, equally graded opening.
	old := gate("g1", muster.GateClosed, "B", 2, "2021-08-25T00:00:00Z")
	fresh := gate("g2", muster.GateOpen, "B", 2, "2021-08-26T11:30:00Z")
	if g := status(old, fresh); g.Status != muster.GateOpen || !g.Disputed {
		t.Errorf("stale closed against fresh open: %+v", g)
	}
	if g := status(); g.Status != muster.GateOpen || g.Disputed {
		t.Errorf("no reports: %+v", g)
	}
}

func TestBuildRejectsOneByOne(t *testing.T) {
	s := loadScenario(t, "kabul-2021")
	rs := append([]muster.Report(nil), s.reports...)
	dup := rs[0]
	dup.Text = "another"
	bad := rs[1]
	bad.ID, bad.Area = "bad", muster.Area{Place: "Nowhere Gate"}
	p, err := Build(append(rs, dup, bad), s.places, mustTime(t, kabulEvening), DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rejected) != 2 || muster.ErrorCode(p.Rejected[0].Err) != muster.ECONFLICT || !strings.Contains(p.Rejected[1].Error(), "Nowhere Gate") {
		t.Errorf("rejected %v", p.Rejected)
	}
	if len(p.Record) != len(s.reports) {
		t.Errorf("record %d", len(p.Record))
	}
}

func TestLoadPolicy(t *testing.T) {
	dir := t.TempDir()
	write := func(doc string) string {
		p := dir + "/p.json"
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p, err := LoadPolicy(write(`{"forbid": ["critical"], "penalty": {"high": 10}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.Forbid, []string{"critical"}) || p.Penalty["high"] != 10 || p.Penalty["moderate"] != 2 || p.WellGraded != "B2" {
		t.Errorf("policy %+v", p)
	}
	for doc, want := range map[string]string{
		`{"forbid": ["red"]}`:            `forbid: "red"`,
		`{"penalty": {"high": 0.5}}`:     "penalty.high",
		`{"well_graded": "Z9"}`:          "well_graded",
		`{"large_area_km2": -1}`:         "large_area_km2",
		`{"forbidden": ["high"]}`:        "unknown field",
		`{"max_forbidden_area_km2": 10}`: "max_forbidden_area_km2",
	} {
		if _, err := LoadPolicy(write(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
	// A policy that forbids only critical zones opens the high ones.
	s := loadScenario(t, "kabul-2021")
	pic, err := Build(s.reports, s.places, mustTime(t, "2021-08-25T18:00:00Z"), p)
	if err != nil {
		t.Fatal(err)
	}
	if z := pic.ZoneOf("r01"); z == nil || z.Level != LevelHigh || z.Forbidden || z.Penalty != 10 {
		t.Errorf("airport zone under the custom policy: %+v", z)
	}
}
