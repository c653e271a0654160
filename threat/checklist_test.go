package threat

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"os"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
)

// The tests in this file are the items of
// ../shared/scenarios/kabul-2021/CHECKLIST.md, in order.

const kabulEvening = "2021-08-21T18:00:00Z"

// Item 1: the HKIA gates lie in a zone of level high or critical,
// forbidden under the default policy.
func TestChecklist1GatesForbidden(t *testing.T) {
	s := loadScenario(t, "kabul-2021")
	p := build(t, s, s.reports, mustTime(t, kabulEvening))
	gates, err := s.index.Resolve("HKIA gates")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gates {
		pt := g.Geometry.(orb.Point)
		found := false
		for _, z := range p.Zones {
			if z.Contains(pt) && (z.Level == LevelHigh || z.Level == LevelCritical) && z.Forbidden {
				found = true
			}
		}
		if !found {
			t.Errorf("gate %s is in no forbidden high/critical zone", g.Name)
		}
		for _, gs := range p.Gates {
			if gs.PlaceID == g.ID && gs.Status != muster.GateClosed {
				t.Errorf("gate %s status %s, want closed (inside a forbidden zone): %v", g.Name, gs.Status, gs.Reasons)
			}
		}
	}
	// And the routing view carries the verdict.
	forbidden := 0
	for _, z := range p.RoutingZones() {
		if z.Forbidden {
			forbidden++
		}
	}
	if forbidden == 0 {
		t.Error("no forbidden routing zone")
	}
}

// Item 2: the airport zone is more confident than any of r01-r04 alone:
// four independent original sources, r01 and r02 both relayed by CNN.
func TestChecklist2IndependentSourcesCorroborate(t *testing.T) {
	s := loadScenario(t, "kabul-2021")
	at := mustTime(t, kabulEvening)
	p := build(t, s, s.reports, at)
	zone := p.ZoneOf("r01")
	if zone == nil {
		t.Fatal("r01 counts in no zone")
	}
	sources := map[string]bool{}
	for _, id := range []string{"r01", "r02", "r03", "r04"} {
		if p.ZoneOf(id) != zone {
			t.Fatalf("%s is not in the airport zone %s", id, zone.ID)
		}
		r := s.report(t, id)
		sources[r.Source.ID] = true
		alone := build(t, s, []muster.Report{r}, at)
		az := alone.ZoneOf(id)
		if az == nil {
			t.Fatalf("%s alone makes no zone", id)
		}
		if zone.Confidence <= az.Confidence {
			t.Errorf("zone confidence %.3f is not above %s alone %.3f", zone.Confidence, id, az.Confidence)
		}
		if zone.Risk <= az.Risk {
			t.Errorf("zone risk %.3f is not above %s alone %.3f", zone.Risk, id, az.Risk)
		}
	}
	if len(sources) != 4 {
		t.Errorf("r01-r04 have %d original sources, the checklist says 4", len(sources))
	}
	if s.report(t, "r01").Source.Via != "CNN" || s.report(t, "r02").Source.Via != "CNN" {
		t.Error("r01 and r02 should both be relayed by CNN")
	}
	for _, ref := range zone.For {
		if !ref.Counted {
			t.Errorf("%s not counted, but its source is independent", ref.ID)
		}
	}
}

// Item 3: r08 and r09 share the Pentagon as source: together they raise
// confidence less than two independent sources of the same grades would.
func TestChecklist3SameSourceCountsOnce(t *testing.T) {
	s := loadScenario(t, "kabul-2021")
	at := mustTime(t, kabulEvening)
	r08, r09 := s.report(t, "r08"), s.report(t, "r09")
	if r08.Source.ID != r09.Source.ID {
		t.Fatal("r08 and r09 should share a source id")
	}
	same := build(t, s, []muster.Report{r08, r09}, at).ZoneOf("r08")
	indep09 := r09
	indep09.Source.ID = "another-agency"
	indep := build(t, s, []muster.Report{r08, indep09}, at).ZoneOf("r08")
	alone := build(t, s, []muster.Report{r08}, at).ZoneOf("r08")
	if same == nil || indep == nil || alone == nil {
		t.Fatal("missing zone")
	}
	if !(same.Confidence < indep.Confidence) {
		t.Errorf("same-source confidence %.3f not below independent %.3f", same.Confidence, indep.Confidence)
	}
	if !(same.Risk < indep.Risk) {
		t.Errorf("same-source risk %.3f not below independent %.3f", same.Risk, indep.Risk)
	}
	if same.Risk > alone.Risk+1e-9 {
		t.Errorf("repeating the Pentagon raised the risk from %.3f to %.3f", alone.Risk, same.Risk)
	}
	counted := 0
	for _, ref := range same.For {
		if ref.Counted {
			counted++
		} else if !strings.Contains(ref.Note, "counted once") {
			t.Errorf("uncounted %s has note %q", ref.ID, ref.Note)
		}
	}
	if counted != 1 {
		t.Errorf("%d Pentagon reports counted, want 1", counted)
	}
}

// Item 4: al-Qaeda's presence is disputed; both sides are shown with their
// grades and the better-graded side (present) prevails.
func TestChecklist4ContradictionShownAndResolved(t *testing.T) {
	s := loadScenario(t, "kabul-2021")
	p := build(t, s, s.reports, mustTime(t, kabulEvening))
	z := p.ZoneOf("r07")
	if z == nil || z != p.ZoneOf("r08") || z != p.ZoneOf("r09") {
		t.Fatal("r07, r08 and r09 are not one zone")
	}
	if !z.Disputed {
		t.Error("al-Qaeda zone not disputed")
	}
	if z.Prevailing != muster.ClaimPresent {
		t.Errorf("prevailing %q, want present", z.Prevailing)
	}
	grades := map[string]string{}
	for _, r := range z.For {
		grades[r.ID] = r.Grade
	}
	if grades["r08"] != "B2" || grades["r09"] != "A2" {
		t.Errorf("for side %v", z.For)
	}
	if len(z.Against) != 1 || z.Against[0].ID != "r07" || z.Against[0].Grade != "C4" {
		t.Errorf("against side %v", z.Against)
	}
	// r09 is graded A2, confirmed: the C4 denial is shown, marks the zone
	// disputed, and is not weighed until evidence of comparable grade
	// answers it (docs/threat-picture.md §6).
	if z.Against[0].Counted || !strings.Contains(z.Against[0].Note, "not weighed") || z.Risk != z.SupportFor {
		t.Errorf("a C4 denial of a confirmed (A2) report should be shown, not weighed: risk %.3f, support %.3f, %+v", z.Risk, z.SupportFor, z.Against[0])
	}
	for _, want := range []string{"r07", "C4", "r08", "B2", "Disputed"} {
		if !strings.Contains(z.Explain(), want) {
			t.Errorf("explanation lacks %q: %s", want, z.Explain())
		}
	}
	// The rule favours grades: with the grades swapped, absent prevails.
	swapped := []muster.Report{s.report(t, "r07"), s.report(t, "r08"), s.report(t, "r09")}
	swapped[0].Reliability, swapped[0].Credibility = "A", 1
	for i := 1; i < 3; i++ {
		swapped[i].Reliability, swapped[i].Credibility = "D", 5
	}
	if zs := build(t, s, swapped, mustTime(t, kabulEvening)).ZoneOf("r08"); zs == nil || zs.Prevailing != muster.ClaimAbsent {
		t.Errorf("with the denial graded A1 and the claims D5, absent should prevail: %+v", zs)
	}
}

// Item 5: the city-wide reports (r05, r10) do not forbid the city; a zone
// as large as a city is never forbidden by C3 or C4 reports alone.
func TestChecklist5CityWideNotForbidden(t *testing.T) {
	s := loadScenario(t, "kabul-2021")
	at := mustTime(t, kabulEvening)
	p := build(t, s, s.reports, at)
	for _, id := range []string{"r05", "r10"} {
		z := p.ZoneOf(id)
		if z == nil {
			t.Fatalf("%s in no zone", id)
		}
		if z.Forbidden {
			t.Errorf("city-wide zone %s of %s is forbidden", z.ID, id)
		}
		if z.AreaKm2 < DefaultPolicy().LargeAreaKm2 {
			t.Errorf("zone %s of %.1f km² is not city-sized", z.ID, z.AreaKm2)
		}
		if z.Penalty < 1 {
			t.Errorf("penalty %v", z.Penalty)
		}
	}
	// The rule, not the low likelihoods, is what keeps the city open: the
	// same city-wide report made "almost certain" and severity 5 reaches
	// the top level and is still not forbidden at C3, but is at B2.
	r := s.report(t, "r05")
	r.Likelihood, r.LikelihoodText, r.Severity, r.Immediacy = 0.97, "almost certain", 5, muster.ImmediacyImminent
	r.Credibility = 1
	r.Reliability = "C"
	z := build(t, s, []muster.Report{r}, at).ZoneOf("r05")
	if pol := DefaultPolicy(); !pol.forbids(z.Level) || z.Forbidden {
		t.Errorf("C1 city-wide zone level %s forbidden %v: want a forbidding level yet not forbidden", z.Level, z.Forbidden)
	}
	r.Reliability, r.Credibility = "B", 2
	if z := build(t, s, []muster.Report{r}, at).ZoneOf("r05"); !z.Forbidden {
		t.Errorf("B2 city-wide zone level %s not forbidden: %s", z.Level, z.PolicyVerdict)
	}
	// Kabul's rally points stay reachable: none but those at the airport's
	// gates (the Baron Hotel, by Abbey Gate) lies in a forbidden zone.
	airport := p.ZoneOf("r01")
	checked := 0
	for _, pl := range s.places.Places {
		if pl.Kind != muster.PlaceRally || airport.Contains(pl.Geometry.(orb.Point)) {
			continue
		}
		checked++
		for _, z := range p.Zones {
			if z.Forbidden && z.Contains(pl.Geometry.(orb.Point)) {
				t.Errorf("rally point %s lies in forbidden zone %s", pl.Name, z.ID)
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d rally points away from the airport", checked)
	}
}

// Item 6: the Parwan prison release (r11), 45 km north, has no effect on
// any route inside Kabul.
func TestChecklist6ParwanFarAway(t *testing.T) {
	s := loadScenario(t, "kabul-2021")
	p := build(t, s, s.reports, mustTime(t, kabulEvening))
	z := p.ZoneOf("r11")
	if z == nil {
		t.Fatal("r11 in no zone")
	}
	for _, other := range []string{"r01", "r05", "r10"} {
		if p.ZoneOf(other) == z {
			t.Errorf("r11 fused with %s", other)
		}
	}
	// Kabul: the 12 km circle of r05. The r11 zone must not reach it.
	kabul := s.report(t, "r05").Area
	rz := z.RoutingZone()
	if !rz.IsCircle() {
		t.Fatalf("r11 zone is not a circle")
	}
	gap := muster.DistanceM(rz.Center[0], rz.Center[1], kabul.Point[0], kabul.Point[1]) - rz.RadiusM - kabul.RadiusM
	if gap <= 0 {
		t.Errorf("r11 zone overlaps Kabul by %.0f m", -gap)
	}
	for _, pl := range s.places.Places {
		if pt, _ := pl.Point(); z.Contains(pt) {
			t.Errorf("Kabul place %s lies in the Parwan zone", pl.Name)
		}
	}
}

// Item 7: on 19 August only r11 had been received.
func TestChecklist7NothingBeforeReceived(t *testing.T) {
	s := loadScenario(t, "kabul-2021")
	p := build(t, s, s.reports, mustTime(t, "2021-08-19T00:00:00Z"))
	if len(p.Record) != 1 || p.Record[0].ID != "r11" {
		t.Errorf("record %v, want only r11", p.Record)
	}
	if len(p.Zones) != 1 || p.Zones[0].For[0].ID != "r11" {
		t.Errorf("zones %v, want only r11's", p.Zones)
	}
	// One second before r04 and r07 arrived, they are not there; at the
	// second they arrive, they are.
	before := build(t, s, s.reports, mustTime(t, "2021-08-20T20:59:59Z"))
	at := build(t, s, s.reports, mustTime(t, "2021-08-20T21:00:00Z"))
	if len(before.Record) != 1 || len(at.Record) != 3 {
		t.Errorf("records: %d before, %d at r04/r07's arrival; want 1 and 3", len(before.Record), len(at.Record))
	}
}

// Item 8: with no new report the airport zone decays below high by
// 15 September, r03 stops counting after its valid_until, and every
// report stays in the record.
func TestChecklist8DecayAndExpiry(t *testing.T) {
	s := loadScenario(t, "kabul-2021")
	late := build(t, s, s.reports, mustTime(t, "2021-09-15T00:00:00Z"))
	gates, _ := s.index.Resolve("HKIA gates")
	for _, g := range gates {
		for _, z := range late.Zones {
			if z.Contains(g.Geometry.(orb.Point)) && levelRank(z.Level) >= levelRank(LevelHigh) {
				t.Errorf("on 15 Sep gate %s is still in %s zone %s", g.Name, z.Level, z.ID)
			}
		}
	}
	if len(late.Record) != len(s.reports) {
		t.Errorf("record holds %d reports, want all %d", len(late.Record), len(s.reports))
	}
	status := func(p *Picture, id string) string {
		for _, e := range p.Record {
			if e.ID == id {
				return e.Status
			}
		}
		return ""
	}
	before := build(t, s, s.reports, mustTime(t, "2021-08-31T23:58:00Z"))
	after := build(t, s, s.reports, mustTime(t, "2021-09-01T00:00:00Z"))
	if status(before, "r03") != StatusCounting || status(after, "r03") != StatusExpired {
		t.Errorf("r03 status %q before and %q after valid_until", status(before, "r03"), status(after, "r03"))
	}
	// The airport zone's risk falls day by day.
	prev := 2.0
	for _, day := range []string{"2021-08-22T18:00:00Z", "2021-08-24T18:00:00Z", "2021-08-28T18:00:00Z", "2021-09-05T18:00:00Z"} {
		p := build(t, s, s.reports, mustTime(t, day))
		risk := 0.0
		if z := p.ZoneOf("r01"); z != nil {
			risk = z.Risk
		}
		if risk >= prev {
			t.Errorf("%s: airport risk %.3f did not fall from %.3f", day, risk, prev)
		}
		prev = risk
	}
}

// Item 9: every dirty line but d11 is rejected with a reason naming the
// field; d11 is accepted and its text is never rendered as HTML.
func TestChecklist9DirtyReports(t *testing.T) {
	s := loadScenario(t, "kabul-2021")
	existing := map[string]bool{}
	for _, r := range s.reports {
		existing[r.ID] = true
	}
	f, err := os.Open(sharedPath(t, "scenarios/kabul-2021/reports-dirty.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := ParseReports(f, existing, ParseOptions{Places: s.index, Now: mustTime(t, "2021-08-22T00:00:00Z")})
	if err != nil {
		t.Fatal(err)
	}
	wantField := map[int]string{1: "likelihood", 2: "reliability", 3: "credibility", 4: "area.point", 5: "area.place",
		6: "area.polygon[0]", 7: "received_at", 8: "source", 9: "received_at", 10: "id", 12: "likelihood"}
	if len(res.Rejected) != len(wantField) {
		t.Errorf("%d rejected, want %d: %v", len(res.Rejected), len(wantField), res.Rejected)
	}
	for _, rej := range res.Rejected {
		fe, ok := rej.Err.(*FieldError)
		if !ok {
			t.Errorf("line %d: error %T is not a FieldError", rej.Line, rej.Err)
			continue
		}
		if fe.Field != wantField[rej.Line] {
			t.Errorf("line %d: field %q, want %q (%v)", rej.Line, fe.Field, wantField[rej.Line], rej)
		}
		if fe.Reason == "" {
			t.Errorf("line %d: no reason", rej.Line)
		}
		switch rej.Line {
		case 1:
			if !strings.Contains(fe.Reason, "almost certain") || !strings.Contains(fe.Reason, "kinda maybe") {
				t.Errorf("d01 reason does not list the accepted words: %s", fe.Reason)
			}
		case 5:
			if !strings.Contains(fe.Reason, `did you mean "Abbey Gate"`) {
				t.Errorf("d05 reason does not suggest Abbey Gate: %s", fe.Reason)
			}
		case 6:
			if !strings.Contains(fe.Reason, "crosses itself") {
				t.Errorf("d06: %s", fe.Reason)
			}
		case 7:
			if !strings.Contains(fe.Reason, "future") {
				t.Errorf("d07: %s", fe.Reason)
			}
		case 10:
			if rej.ID != "r01" || !strings.Contains(fe.Reason, "already") {
				t.Errorf("duplicate: %v", rej)
			}
		}
	}
	if len(res.Accepted) != 1 || res.Accepted[0].Report.ID != "d11" {
		t.Fatalf("accepted %v, want d11 alone", res.Accepted)
	}
	d11 := res.Accepted[0].Report
	if !strings.HasPrefix(d11.Text, "<script>alert(1)</script>") {
		t.Errorf("d11 text not kept as received: %q", d11.Text)
	}
	all := append(append([]muster.Report(nil), s.reports...), d11)
	p := build(t, s, all, mustTime(t, kabulEvening))
	var table bytes.Buffer
	if err := WriteTable(&table, p); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(table.String(), "<script>") || !strings.Contains(table.String(), "&lt;script&gt;") {
		t.Error("table output renders d11's markup instead of escaping it")
	}
	out := geojsonOf(t, p)
	if strings.Contains(out, "<script>") {
		t.Error("GeoJSON holds raw markup")
	}
	var fc struct {
		Features []struct {
			Properties zoneProperties `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal([]byte(out), &fc); err != nil {
		t.Fatal(err)
	}
	kept := false
	for _, f := range fc.Features {
		for _, r := range f.Properties.ReportsFor {
			if r.ID == "d11" && r.Text == d11.Text {
				kept = true
			}
		}
	}
	if !kept {
		t.Error("d11's text is not kept as data in the GeoJSON")
	}
}

// Item 10: the order reports arrive in does not change the picture.
func TestChecklist10OrderIndependent(t *testing.T) {
	s := loadScenario(t, "kabul-2021")
	at := mustTime(t, kabulEvening)
	want := geojsonOf(t, build(t, s, s.reports, at))
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20; i++ {
		rs := append([]muster.Report(nil), s.reports...)
		rng.Shuffle(len(rs), func(a, b int) { rs[a], rs[b] = rs[b], rs[a] })
		if got := geojsonOf(t, build(t, s, rs, at)); got != want {
			t.Fatalf("shuffle %d changes the picture", i)
		}
	}
}
