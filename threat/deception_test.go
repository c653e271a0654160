package threat

import (
	"bytes"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
)

// The tests in this file are issue 9's: a flood of unverified reports,
// however many, never outweighs graded ones.

var floodSizes = []int{5, 40, 1000}

// blastAtAbbeyGate is the A1 report of the explosion at Abbey Gate, 26
// August 2021, 12:50 UTC.
func blastAtAbbeyGate(t testing.TB) muster.Report {
	return muster.Report{ID: "x01", ReceivedAt: mustTime(t, "2021-08-26T12:50:00Z"),
		Source:      muster.Source{ID: "abbey-team", Name: "Abbey Gate field team", Kind: muster.SourceField},
		Reliability: "A", Credibility: 1, Actor: "ISIS-K", Kind: muster.KindExplosion, Claim: muster.ClaimPresent,
		Likelihood: 0.97, LikelihoodText: "almost certain", Immediacy: muster.ImmediacyImminent, Severity: 5,
		Area: muster.Area{Place: "Abbey Gate"}, Text: "Explosion at Abbey Gate, mass casualties"}
}

// flood makes n reports graded F6, each from its own new source, arriving
// one every 40/n minutes from start, their text varied the way people
// retype a message they were forwarded.
func flood(t testing.TB, n int, prefix, kind, claim, place, text string, start time.Time) []muster.Report {
	out := make([]muster.Report, n)
	variants := []func(string) string{
		func(s string) string { return s },
		strings.ToLower,
		func(s string) string { return strings.ToUpper(s) + "!!" },
		func(s string) string { return strings.ReplaceAll(s, ",", " -") },
	}
	for i := range out {
		out[i] = muster.Report{ID: fmt.Sprintf("%s%04d", prefix, i),
			ReceivedAt:  start.Add(time.Duration(i) * 40 * time.Minute / time.Duration(n)),
			Source:      muster.Source{ID: fmt.Sprintf("%s-account-%d", prefix, i), Name: "messaging account", Kind: muster.SourceSocial},
			Reliability: "F", Credibility: 6, Kind: kind, Claim: claim,
			Likelihood: 0.97, LikelihoodText: "almost certain", Immediacy: muster.ImmediacyImminent, Severity: 5,
			Area: muster.Area{Place: place}, Text: variants[i%len(variants)](text)}
	}
	return out
}

func gateStatus(t testing.TB, p *Picture, name string) GateStatus {
	t.Helper()
	for _, g := range p.Gates {
		if g.Name == name {
			return g
		}
	}
	t.Fatalf("no gate %q", name)
	return GateStatus{}
}

// zoneAt returns the zones containing the place's point.
func zonesAt(t testing.TB, s *scenario, p *Picture, place string) []*Zone {
	t.Helper()
	pls, err := s.index.Resolve(place)
	if err != nil {
		t.Fatal(err)
	}
	pt, _ := pls[0].Point()
	var out []*Zone
	for _, z := range p.Zones {
		if z.Contains(pt) {
			out = append(out, z)
		}
	}
	return out
}

// After the A1 report of the blast, forty F6 all-clears from forty new
// accounts: Abbey Gate stays critical, forbidden and closed, the zone is
// disputed with both sides shown, and the burst is flagged.
func TestFloodOfAllClearsAfterTheBlast(t *testing.T) {
	s := loadScenario(t, "kabul-2021")
	at := mustTime(t, "2021-08-26T14:00:00Z")
	for _, n := range floodSizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			rs := append(append([]muster.Report(nil), s.reports...), blastAtAbbeyGate(t))
			rs = append(rs, flood(t, n, "ac", muster.KindAllClear, muster.ClaimAbsent, "Abbey Gate",
				"Abbey Gate is open and safe, everyone go now", mustTime(t, "2021-08-26T12:55:00Z"))...)
			p := build(t, s, rs, at)
			z := p.ZoneOf("x01")
			if z == nil {
				t.Fatal("the blast makes no zone")
			}
			if z.Level != LevelCritical || !z.Forbidden {
				t.Errorf("Abbey Gate zone after %d F6 all-clears: level %s, forbidden %v, want critical and forbidden: %s", n, z.Level, z.Forbidden, z.Explain())
			}
			if !z.Disputed || len(z.Against) != n || z.Prevailing != muster.ClaimPresent {
				t.Errorf("the all-clears should be shown against it (%d of %d), disputed %v, prevailing %s", len(z.Against), n, z.Disputed, z.Prevailing)
			}
			if g := gateStatus(t, p, "Abbey Gate"); g.Status != muster.GateClosed {
				t.Errorf("Abbey Gate %s, want closed: %v", g.Status, g.Reasons)
			}
			if len(z.Coordination) != 1 || z.Coordination[0].Side != "against" || z.Coordination[0].NewSources != n ||
				z.Coordination[0].DistinctTexts != 1 || len(z.Coordination[0].Reports) != n {
				t.Fatalf("the burst is not flagged as it should be: %+v", z.Coordination)
			}
			want := fmt.Sprintf("possible coordinated reporting against it: %d new sources in %d min, 1 distinct text", n, z.Coordination[0].SpanMinutes)
			var table bytes.Buffer
			if err := WriteTable(&table, p); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(table.String(), want) {
				t.Errorf("the table lacks %q", want)
			}
			geo := geojsonOf(t, p)
			if !strings.Contains(geo, `"coordination"`) || !strings.Contains(geo, `"to_verify"`) {
				t.Error("the GeoJSON lacks the coordination flag or the list to verify")
			}
			flagged := false
			for _, v := range p.ToVerify {
				flagged = flagged || (v.Zone == z.ID && strings.Contains(v.Why, "coordinated"))
			}
			if !flagged {
				t.Errorf("the burst is not listed to verify: %+v", p.ToVerify)
			}
		})
	}
}

// Forty F6 reports of a bomb at North Gate from forty anonymous callers,
// and nothing else: a lead to verify, not a closed gate.
func TestFloodOfFakeBombReports(t *testing.T) {
	s := loadScenario(t, "kabul-2021")
	at := mustTime(t, "2021-08-26T14:00:00Z")
	ceiling := GradeWeight("C", 3)
	for _, n := range floodSizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			rs := flood(t, n, "nb", muster.KindExplosion, muster.ClaimPresent, "North Gate",
				"Bomb at North Gate, do not go there, use Abbey Gate", mustTime(t, "2021-08-26T13:00:00Z"))
			p := build(t, s, rs, at)
			zs := zonesAt(t, s, p, "North Gate")
			if len(zs) != 1 {
				t.Fatalf("%d zones at North Gate, want the one lead", len(zs))
			}
			z := zs[0]
			if z.Forbidden || !z.Unverified || z.Confidence > ceiling || levelRank(z.Level) > levelRank(LevelModerate) {
				t.Errorf("North Gate zone on %d F6 reports: level %s, forbidden %v, unverified %v, confidence %.2f (ceiling %.2f)",
					n, z.Level, z.Forbidden, z.Unverified, z.Confidence, ceiling)
			}
			for _, g := range p.Gates {
				if g.Status != muster.GateOpen {
					t.Errorf("%s is %s on unverified reports alone: %v", g.Name, g.Status, g.Reasons)
				}
			}
			if len(z.Coordination) != 1 || z.Coordination[0].Side != "for" || z.Coordination[0].NewSources != n {
				t.Errorf("the burst is not flagged: %+v", z.Coordination)
			}
			if !strings.Contains(z.Explain(), "verify") {
				t.Errorf("the explanation does not ask to verify: %s", z.Explain())
			}
			// On top of the real record, the flood changes no gate and no
			// forbidden zone.
			base := build(t, s, s.reports, at)
			with := build(t, s, append(append([]muster.Report(nil), s.reports...), rs...), at)
			assertSameVerdicts(t, base, with)
		})
	}
}

// assertSameVerdicts fails unless both pictures forbid the same zones
// (same ids, same areas) and give every gate the same status.
func assertSameVerdicts(t testing.TB, before, after *Picture) {
	t.Helper()
	forbidden := func(p *Picture) map[string]bool {
		m := map[string]bool{}
		for _, z := range p.Zones {
			if z.Forbidden {
				m[z.ID+fmt.Sprint(z.Polygon, z.Center, z.RadiusM)] = true
			}
		}
		return m
	}
	fb, fa := forbidden(before), forbidden(after)
	for k := range fb {
		if !fa[k] {
			t.Errorf("forbidden zone %s lifted", k[:min(len(k), 60)])
		}
	}
	for k := range fa {
		if !fb[k] {
			t.Errorf("zone %s newly forbidden", k[:min(len(k), 60)])
		}
	}
	if len(before.Gates) != len(after.Gates) {
		t.Fatalf("%d gates, then %d", len(before.Gates), len(after.Gates))
	}
	for i := range before.Gates {
		if before.Gates[i].Status != after.Gates[i].Status {
			t.Errorf("gate %s: %s, then %s: %v", before.Gates[i].Name, before.Gates[i].Status, after.Gates[i].Status, after.Gates[i].Reasons)
		}
	}
}

// propPlaces are gates in the property tests' 20 km square.
func propPlaces(rng *rand.Rand) *muster.Places {
	pl := &muster.Places{Timezone: "Asia/Kabul"}
	for i := 0; i < 6; i++ {
		pt := orb.Point{69.1 + rng.Float64()*0.2, 34.45 + rng.Float64()*0.2}
		pl.Places = append(pl.Places, muster.Place{ID: fmt.Sprintf("g%d", i), Name: fmt.Sprintf("Gate %d", i),
			Kind: muster.PlaceGate, Geometry: pt, RadiusM: 250, ThroughputPerHour: 600, CrowdLimit: 200,
			Status: []string{muster.GateOpen, muster.GateRestricted, muster.GateClosed}[rng.Intn(3)]})
	}
	return pl
}

// unverifiedReport makes a random report graded E/F or 5/6: a claim, a
// denial, an all-clear or a gate status, from a new source.
func unverifiedReport(rng *rand.Rand, pl *muster.Places, id string) muster.Report {
	r := randomReport(rng, id, rng.Intn(3) > 0)
	r.Source.ID = "new-" + id
	if rng.Intn(2) == 0 {
		r.Reliability = string("EF"[rng.Intn(2)])
	} else {
		r.Credibility = 5 + rng.Intn(2)
	}
	switch rng.Intn(5) {
	case 0:
		r.Kind, r.Claim = muster.KindAllClear, muster.ClaimAbsent
	case 1:
		g := pl.Places[rng.Intn(len(pl.Places))]
		r.Kind, r.Claim = muster.KindGateStatus, []string{muster.GateOpen, muster.GateRestricted, muster.GateClosed}[rng.Intn(3)]
		r.Area = muster.Area{Place: g.Name}
	}
	if rng.Intn(3) == 0 {
		// Aimed at a gate, or at a report already in the picture.
		g := pl.Places[rng.Intn(len(pl.Places))].Geometry.(orb.Point)
		if r.Kind != muster.KindGateStatus {
			r.Area = muster.Area{Point: &g, RadiusM: 100 + rng.Float64()*2000}
		}
	}
	return r
}

// Adding any number of unverified reports to any picture never forbids a
// zone, never lifts one, never changes a gate's status, and never raises a
// zone's confidence above what it was or, for a new zone, above one C3
// report's weight.
func TestPropertyUnverifiedNeverDecides(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	ceiling := GradeWeight("C", 3)
	exercised := 0
	for trial := 0; trial < 150; trial++ {
		pl := propPlaces(rng)
		rs := randomReports(rng, 1+rng.Intn(40), true)
		before, err := Build(rs, pl, propT0, DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		n := []int{1, 5, 40, 300}[rng.Intn(4)]
		more := append([]muster.Report(nil), rs...)
		for i := 0; i < n; i++ {
			more = append(more, unverifiedReport(rng, pl, fmt.Sprintf("u%d-%04d", trial, i)))
		}
		after, err := Build(more, pl, propT0, DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		if len(after.Rejected) > 0 {
			t.Fatal(after.Rejected)
		}
		assertSameVerdicts(t, before, after)
		conf := map[string]float64{}
		for _, z := range before.Zones {
			conf[z.ID] = z.Confidence
		}
		for _, z := range after.Zones {
			limit, ok := conf[z.ID]
			if !ok || limit < ceiling {
				limit = max(limit, ceiling)
			}
			if z.Confidence > limit+1e-9 {
				t.Fatalf("trial %d: %s confidence %.4f after %d unverified reports, limit %.4f", trial, z.ID, z.Confidence, n, limit)
			}
			if z.Unverified && (z.Forbidden || z.Confidence > ceiling) {
				t.Fatalf("trial %d: unverified zone %s forbidden %v confidence %.4f", trial, z.ID, z.Forbidden, z.Confidence)
			}
		}
		if t.Failed() {
			t.Fatalf("trial %d", trial)
		}
		if len(after.Zones) > len(before.Zones) || len(before.Zones) > 0 {
			exercised++
		}
	}
	if exercised < 100 {
		t.Fatalf("only %d trials exercised the property", exercised)
	}
}

// Splitting one source's unverified reports across any number of new
// source ids never raises a zone's risk: they count as one weak source,
// below what one C3 report saying "almost certain" gives.
func TestPropertySplittingSourcesNeverRaisesRisk(t *testing.T) {
	rng := rand.New(rand.NewSource(10))
	oneC3 := GradeWeight("C", 3) * 0.97
	for trial := 0; trial < 100; trial++ {
		center := orb.Point{69.1 + rng.Float64()*0.2, 34.45 + rng.Float64()*0.2}
		n := []int{5, 40, 1000}[rng.Intn(3)]
		one := make([]muster.Report, n)
		for i := range one {
			r := randomReport(rng, fmt.Sprintf("s%04d", i), true)
			r.Source.ID = "one-source"
			r.Kind, r.Actor = muster.KindAttackThreat, "ISIS-K"
			r.Area = muster.Area{Point: &center, RadiusM: 500}
			r.Reliability, r.Credibility = string("EF"[rng.Intn(2)]), 1+rng.Intn(6)
			r.Likelihood = 0.97
			r.ValidUntil = time.Time{}
			one[i] = r
		}
		split := append([]muster.Report(nil), one...)
		for i := range split {
			split[i].Source.ID = fmt.Sprintf("sock-%d", i)
		}
		a, b := buildAt(t, one, propT0), buildAt(t, split, propT0)
		za, zb := a.ZoneOf(one[0].ID), b.ZoneOf(one[0].ID)
		if za == nil || zb == nil {
			t.Fatalf("trial %d: no zone", trial)
		}
		if zb.Risk != za.Risk || zb.Confidence != za.Confidence || zb.Level != za.Level {
			t.Fatalf("trial %d: splitting %d reports across new ids changed the zone from %.4f/%.4f/%s to %.4f/%.4f/%s",
				trial, n, za.Risk, za.Confidence, za.Level, zb.Risk, zb.Confidence, zb.Level)
		}
		if zb.Risk > oneC3 {
			t.Fatalf("trial %d: %d unverified sources give risk %.4f, above one C3 report's %.4f", trial, n, zb.Risk, oneC3)
		}
	}
}

// Sources are graded once, by analysts: the registry's reliability
// replaces the one typed on each report, a hostile source's reports are
// kept in the record and never count, and a sock-puppet cluster counts as
// one source.
func TestSourceRegistry(t *testing.T) {
	s := loadScenario(t, "kabul-2021")
	at := mustTime(t, "2021-08-26T14:00:00Z")
	bombs := flood(t, 5, "nb", muster.KindExplosion, muster.ClaimPresent, "North Gate",
		"Bomb at North Gate", mustTime(t, "2021-08-26T13:00:00Z"))
	for i := range bombs {
		bombs[i].Text = differentTexts[i]
	}

	// An analyst vouches for the first caller: graded B, its report is
	// verified evidence and the gate closes on it.
	bombs[0].Credibility = 3
	reg := NewSources([]muster.SourceGrade{{ID: bombs[0].Source.ID, Reliability: "B", Note: "embassy contact, known for years"}})
	p, err := Build(bombs, s.places, at, DefaultPolicy(), WithSources(reg))
	if err != nil {
		t.Fatal(err)
	}
	z := p.ZoneOf(bombs[0].ID)
	if z == nil || z.Unverified || z.For[0].Grade != "B3" || z.For[0].ReportedGrade != "F3" || !strings.Contains(z.For[0].Note, "source registry") {
		t.Fatalf("the registry's grade is not applied: %+v", z)
	}

	// The same callers marked hostile: kept in the record, counted nowhere.
	var hostile []muster.SourceGrade
	for _, b := range bombs {
		hostile = append(hostile, muster.SourceGrade{ID: b.Source.ID, Hostile: true, Note: "campaign of 26 Aug"})
	}
	p, err = Build(bombs, s.places, at, DefaultPolicy(), WithSources(NewSources(hostile)))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Zones) != 0 || len(p.Record) != len(bombs) {
		t.Fatalf("hostile sources: %d zones, %d in the record", len(p.Zones), len(p.Record))
	}
	for _, e := range p.Record {
		if e.Status != StatusDiscounted || !strings.Contains(e.Note, "hostile") {
			t.Errorf("record %s: %s %q", e.ID, e.Status, e.Note)
		}
	}

	// Five sources graded C by their typed grade, found to be one
	// operator: as a cluster they count once.
	graded := append([]muster.Report(nil), bombs...)
	var cluster []muster.SourceGrade
	for i := range graded {
		graded[i].Reliability, graded[i].Credibility = "C", 3
		cluster = append(cluster, muster.SourceGrade{ID: graded[i].Source.ID, Cluster: "north-gate-callers"})
	}
	apart, err := Build(graded, s.places, at, DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	one, err := Build(graded, s.places, at, DefaultPolicy(), WithSources(NewSources(cluster)))
	if err != nil {
		t.Fatal(err)
	}
	za, zo := apart.ZoneOf(graded[0].ID), one.ZoneOf(graded[0].ID)
	strongest := 0.0 // the cluster counts once, through its strongest report
	for i := range graded {
		single, err := Build(graded[i:i+1], s.places, at, DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		strongest = max(strongest, single.ZoneOf(graded[i].ID).Risk)
	}
	if za == nil || zo == nil || !(zo.Risk < za.Risk) || zo.Risk != strongest {
		t.Fatalf("a cluster of five should weigh as one source: apart %v, clustered %v", za, zo)
	}
	counted := 0
	for _, r := range zo.For {
		if r.Counted {
			counted++
		}
	}
	if counted != 1 {
		t.Errorf("%d reports of the cluster counted, want 1", counted)
	}
}

// With a registry too, the picture does not depend on arrival order, and
// adding reports one by one equals a rebuild.
func TestRegistryOrderIndependent(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	for trial := 0; trial < 30; trial++ {
		rs := randomReports(rng, 2+rng.Intn(80), true)
		var reg []muster.SourceGrade
		for k := 0; k < 8; k++ {
			g := muster.SourceGrade{ID: fmt.Sprintf("src%d", k)}
			switch rng.Intn(4) {
			case 0:
				g.Hostile = true
			case 1:
				g.Reliability = string(muster.ReliabilityGrades[rng.Intn(6)])
			case 2:
				g.Cluster = []string{"c1", "c2"}[rng.Intn(2)]
			}
			reg = append(reg, g)
		}
		opt := WithSources(NewSources(reg))
		pic := func(rs []muster.Report) string {
			p, err := Build(rs, nil, propT0, DefaultPolicy(), opt)
			if err != nil {
				t.Fatal(err)
			}
			return geojsonOf(t, p)
		}
		want := pic(rs)
		rng.Shuffle(len(rs), func(a, b int) { rs[a], rs[b] = rs[b], rs[a] })
		if got := pic(rs); got != want {
			t.Fatalf("trial %d: shuffle changes the picture", trial)
		}
		f, err := NewFuser(nil, propT0, DefaultPolicy(), opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if _, err := f.Add(r); err != nil {
				t.Fatal(err)
			}
			if rng.Intn(3) == 0 {
				_ = f.Picture()
			}
		}
		if got := geojsonOf(t, f.Picture()); got != want {
			t.Fatalf("trial %d: incremental picture differs from the rebuild", trial)
		}
	}
}

// Bursts are flagged whatever order they arrive in, and a burst from
// sources known before the window, with different texts, is not.
func TestCoordinationNeedsNewSourcesOrOneText(t *testing.T) {
	s := loadScenario(t, "kabul-2021")
	at := mustTime(t, "2021-08-26T14:00:00Z")
	rs := flood(t, 10, "nb", muster.KindExplosion, muster.ClaimPresent, "North Gate", "x", mustTime(t, "2021-08-26T13:00:00Z"))
	for i := range rs {
		rs[i].Text = differentTexts[i]
	}
	// The same ten sources, each heard from a week before.
	var history []muster.Report
	for i, r := range rs {
		h := r
		h.ID, h.ReceivedAt = fmt.Sprintf("old%02d", i), r.ReceivedAt.Add(-7*24*time.Hour)
		h.Kind, h.Area = muster.KindCrowd, muster.Area{Place: "Massoud Circle"}
		history = append(history, h)
	}
	p := build(t, s, append(append([]muster.Report(nil), history...), rs...), at)
	if z := p.ZoneOf(rs[0].ID); z == nil || len(z.Coordination) != 0 {
		t.Fatalf("known sources with different texts flagged: %+v", z)
	}
	// New sources: flagged, in any order.
	p = build(t, s, rs, at)
	z := p.ZoneOf(rs[0].ID)
	if z == nil || len(z.Coordination) != 1 || z.Coordination[0].NewSources != 10 || z.Coordination[0].DistinctTexts != 10 {
		t.Fatalf("ten new sources not flagged: %+v", z)
	}
	// Known sources, one text: flagged.
	for i := range rs {
		rs[i].Text = "Bomb at North Gate, do not go there, use Abbey Gate"
	}
	p = build(t, s, append(append([]muster.Report(nil), history...), rs...), at)
	if z := p.ZoneOf(rs[0].ID); z == nil || len(z.Coordination) != 1 || z.Coordination[0].NewSources != 0 || z.Coordination[0].DistinctTexts != 1 {
		t.Fatalf("known sources with one text not flagged: %+v", z)
	}
}

// differentTexts are ten reports of one thing in ten people's words.
var differentTexts = []string{
	"Loud bang heard near the northern entrance",
	"Smoke rising behind the fuel depot by North Gate",
	"My cousin says soldiers are running towards the north side",
	"Is something happening at the north gate? Phones are down here",
	"Explosion reported close to the airport's northern perimeter",
	"We felt the ground shake, could be near Gate N",
	"Ambulances heading north along the airport road",
	"People fleeing from the northern checkpoint",
	"Heard two blasts, maybe by the north wall",
	"Taxi driver refuses to go to the north entrance, says there was an attack",
}
