package scenario_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/citygen"
	"github.com/muster-evac/muster/evacuees"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/places"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/scenario"
	"github.com/muster-evac/muster/threat"
	"github.com/muster-evac/muster/zonecost"
)

type genCity struct {
	car, foot *roadgraph.Graph
	airport   orb.Point
}

var (
	genOnce sync.Once
	gen     genCity
	genErr  error
)

// generatedCity imports the generated city once for all tests here.
func generatedCity(t testing.TB) genCity {
	t.Helper()
	genOnce.Do(func() {
		ctx := context.Background()
		c, err := citygen.Generate(ctx, citygen.Options{Seed: 5, Scale: 0.5})
		if err != nil {
			genErr = err
			return
		}
		city, _, err := osmimport.FromOSM(ctx, c.OSM, "generated", osmimport.Options{})
		if err != nil {
			genErr = err
			return
		}
		gen = genCity{car: city.Graphs[roadgraph.Car], foot: city.Graphs[roadgraph.Foot], airport: c.Airport.Bound().Center()}
	})
	if genErr != nil {
		t.Fatal(genErr)
	}
	return gen
}

func smallOptions(c genCity, seed int64) scenario.Options {
	return scenario.Options{Seed: seed, Households: 2000, TargetPeople: 6500, RallyPoints: 40, Gates: 4,
		AirportCenter: c.airport, Timezone: "Asia/Kabul"}
}

func files(t *testing.T, s *scenario.Scenario) [3][]byte {
	t.Helper()
	var out [3]bytes.Buffer
	if err := s.WritePlaces(&out[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteEvacuees(&out[1]); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteThreat(&out[2]); err != nil {
		t.Fatal(err)
	}
	return [3][]byte{out[0].Bytes(), out[1].Bytes(), out[2].Bytes()}
}

func TestSameSeedSameScenario(t *testing.T) {
	c := generatedCity(t)
	ctx := context.Background()
	a, err := scenario.Generate(ctx, c.car, c.foot, smallOptions(c, 7))
	if err != nil {
		t.Fatal(err)
	}
	b, err := scenario.Generate(ctx, c.car, c.foot, smallOptions(c, 7))
	if err != nil {
		t.Fatal(err)
	}
	fa, fb := files(t, a), files(t, b)
	for i, name := range []string{"places", "evacuees", "threat"} {
		if !bytes.Equal(fa[i], fb[i]) {
			t.Errorf("seed 7 twice: the %s files differ", name)
		}
	}
	other, err := scenario.Generate(ctx, c.car, c.foot, smallOptions(c, 8))
	if err != nil {
		t.Fatal(err)
	}
	fo := files(t, other)
	for i, name := range []string{"places", "evacuees", "threat"} {
		if bytes.Equal(fa[i], fo[i]) {
			t.Errorf("seeds 7 and 8 give the same %s file", name)
		}
	}
}

func TestScenarioShape(t *testing.T) {
	c := generatedCity(t)
	o := smallOptions(c, 11)
	s, err := scenario.Generate(context.Background(), c.car, c.foot, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Households) != o.Households || s.People() != o.TargetPeople {
		t.Errorf("%d households of %d people, want %d of %d", len(s.Households), s.People(), o.Households, o.TargetPeople)
	}
	prio, langs := 0, map[string]int{}
	for _, h := range s.Households {
		if h.IsPriority() {
			prio++
		}
		langs[h.Language]++
		if h.PartySize < 1 || h.PartySize > scenario.MaxHouseholdSize || h.Adults+h.Children != h.PartySize {
			t.Fatalf("household %s: %d people, %d adults, %d children", h.ID, h.PartySize, h.Adults, h.Children)
		}
	}
	if share := float64(prio) / float64(len(s.Households)); share < 0.07 || share > 0.13 {
		t.Errorf("%.1f%% priority households, want about 10%%", share*100)
	}
	for _, l := range muster.Languages {
		if langs[l] < len(s.Households)/20 {
			t.Errorf("language %s: %d households", l, langs[l])
		}
	}
	// Households stand beside streets: within 30 m of the foot graph.
	ix := roadgraph.NewArcIndex(c.foot)
	for _, h := range s.Households[:200] {
		if _, err := ix.Snap(orb.Point{h.Lon, h.Lat}, 30); err != nil {
			t.Errorf("household %s: %v", h.ID, err)
		}
	}

	gates, rallies := s.Gates(), s.RallyPoints()
	if len(gates) != o.Gates || len(rallies) != o.RallyPoints {
		t.Fatalf("%d gates and %d rally points, want %d and %d", len(gates), len(rallies), o.Gates, o.RallyPoints)
	}
	var angles []float64
	for _, g := range gates {
		p := g.Geometry.(orb.Point)
		d := muster.DistanceM(p[0], p[1], o.AirportCenter[0], o.AirportCenter[1])
		if d < 950 || d > 2050 {
			t.Errorf("%s is %.0f m from the airport centre, want 1-2 km", g.ID, d)
		}
		if g.ThroughputPerHour < 1000 || g.ThroughputPerHour > 1500 || g.CrowdLimit < 150 || g.CrowdLimit > 300 {
			t.Errorf("%s: throughput %d, crowd limit %d", g.ID, g.ThroughputPerHour, g.CrowdLimit)
		}
		angles = append(angles, math.Atan2(p[0]-o.AirportCenter[0], p[1]-o.AirportCenter[1]))
	}
	// Spread in angle: no two gates within 45° of each other (4 gates).
	slices.Sort(angles)
	for i := range angles {
		gap := angles[(i+1)%len(angles)] - angles[i]
		if i == len(angles)-1 {
			gap += 2 * math.Pi
		}
		if gap < math.Pi/4 {
			t.Errorf("gates %.0f° apart: %v", gap*180/math.Pi, angles)
		}
	}
	// Rally points spread out: the nearest pair is not much closer than the
	// spacing an even spread would give over the rally points' own area.
	nearest := math.Inf(1)
	for i, a := range rallies {
		pa := a.Geometry.(orb.Point)
		for _, b := range rallies[i+1:] {
			pb := b.Geometry.(orb.Point)
			nearest = min(nearest, muster.DistanceM(pa[0], pa[1], pb[0], pb[1]))
		}
		if a.Capacity < 100 || a.Capacity > 400 {
			t.Errorf("%s holds %d", a.ID, a.Capacity)
		}
	}
	if nearest < 150 {
		t.Errorf("two rally points %.0f m apart", nearest)
	}

	// The threat closes one gate with a forbidden circle on it and blocks
	// roads with at least two more.
	th := s.Threat
	if th.GateStatus[th.ClosedGate] != muster.GateClosed || len(th.GateStatus) != 1 {
		t.Errorf("gate status %v, closed gate %q", th.GateStatus, th.ClosedGate)
	}
	var closed orb.Point
	for _, g := range gates {
		if g.ID == th.ClosedGate {
			closed = g.Geometry.(orb.Point)
		}
	}
	onGate := false
	for _, i := range zonecost.Containing(closed, th.Zones) {
		onGate = onGate || th.Zones[i].Forbidden
	}
	if !onGate {
		t.Errorf("no forbidden zone on the closed gate %s", th.ClosedGate)
	}
	for _, g := range gates {
		if g.ID == th.ClosedGate {
			continue
		}
		for _, i := range zonecost.Containing(g.Geometry.(orb.Point), th.Zones) {
			if th.Zones[i].Forbidden {
				t.Errorf("open gate %s lies in forbidden zone %s", g.ID, th.Zones[i].ID)
			}
		}
	}
	if len(th.RoadBlocks) < 2 || len(th.RoadBlocks) > 3 {
		t.Errorf("%d road blocks", len(th.RoadBlocks))
	}
}

// The files read back, with muster's own readers, to what was generated.
func TestScenarioFilesReadBack(t *testing.T) {
	c := generatedCity(t)
	s, err := scenario.Generate(context.Background(), c.car, c.foot, smallOptions(c, 3))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := s.WriteDir(dir, time.Date(2026, 3, 14, 8, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	pl, err := places.ReadFile(filepath.Join(dir, scenario.PlacesFile))
	if err != nil {
		t.Fatal(err)
	}
	if pl.Timezone != s.Places.Timezone || len(pl.Places) != len(s.Places.Places) {
		t.Fatalf("places read back: %q with %d places, want %q with %d", pl.Timezone, len(pl.Places), s.Places.Timezone, len(s.Places.Places))
	}
	for i, p := range pl.Places {
		w := s.Places.Places[i]
		if p.ID != w.ID || p.Kind != w.Kind || p.Capacity != w.Capacity || p.CrowdLimit != w.CrowdLimit ||
			p.ThroughputPerHour != w.ThroughputPerHour || p.Opens != w.Opens || !orb.Equal(p.Geometry, w.Geometry) {
			t.Errorf("place %d read back as %+v, want %+v", i, p, w)
		}
	}

	f, err := os.Open(filepath.Join(dir, scenario.EvacueesFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := evacuees.Read(f, scenario.EvacueesFile, evacuees.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Bad > 0 {
		for _, r := range res.Rows {
			if !r.OK() {
				t.Fatalf("%d bad rows, first: %v", res.Bad, r.Errors)
			}
		}
	}
	hs := res.Households()
	if len(hs) != len(s.Households) {
		t.Fatalf("%d households read back, want %d", len(hs), len(s.Households))
	}
	for i, h := range hs {
		w := s.Households[i]
		if h.ID != w.ID || h.PartySize != w.PartySize || h.Priority != w.Priority || h.Language != w.Language ||
			h.Lat != w.Lat || h.Lon != w.Lon || h.Phone != w.Phone || h.Adults != w.Adults || h.Children != w.Children {
			t.Fatalf("household %d read back as %+v, want %+v", i, h, w)
		}
	}

	zf, err := os.Open(filepath.Join(dir, scenario.ThreatFile))
	if err != nil {
		t.Fatal(err)
	}
	defer zf.Close()
	zones, err := zonecost.ReadGeoJSON(zf, scenario.ThreatFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(zones) != len(s.Threat.Zones) {
		t.Fatalf("%d zones read back, want %d", len(zones), len(s.Threat.Zones))
	}
	for i, z := range zones {
		w := s.Threat.Zones[i]
		if z.ID != w.ID || z.Forbidden != w.Forbidden || z.RadiusM != w.RadiusM || z.Center != w.Center || z.Risk != w.Risk {
			t.Errorf("zone %d read back as %+v, want %+v", i, z, w)
		}
	}
}

func TestOptionsRejected(t *testing.T) {
	c := generatedCity(t)
	for name, o := range map[string]scenario.Options{
		"no airport":         {Households: 10, TargetPeople: 30},
		"too few people":     {Households: 10, TargetPeople: 5, AirportCenter: c.airport},
		"too many people":    {Households: 10, TargetPeople: 500, AirportCenter: c.airport},
		"one gate":           {Households: 10, TargetPeople: 30, Gates: 1, AirportCenter: c.airport},
		"airport off earth":  {Households: 10, TargetPeople: 30, AirportCenter: orb.Point{200, 10}},
		"inverted gate ring": {Households: 10, TargetPeople: 30, AirportCenter: c.airport, GateRingM: [2]float64{2000, 1000}},
		"far airport":        {Households: 10, TargetPeople: 30, AirportCenter: orb.Point{c.airport[0] + 3, c.airport[1]}},
	} {
		if _, err := scenario.Generate(context.Background(), c.car, c.foot, o); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// The inject as reports, fused by the threat package, gives the inject's
// picture: the gate closed, its surroundings and the road blocks forbidden.
func TestReportsGiveTheInject(t *testing.T) {
	c := generatedCity(t)
	s, err := scenario.Generate(context.Background(), c.car, c.foot, smallOptions(c, 5))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 14, 8, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	if err := s.WriteReports(&buf, at); err != nil {
		t.Fatal(err)
	}
	ix, err := places.NewIndex(&s.Places)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := threat.ParseReports(&buf, nil, threat.ParseOptions{Places: ix, Now: at})
	if err != nil {
		t.Fatal(err)
	}
	if len(parsed.Rejected) > 0 {
		t.Fatalf("reports rejected: %+v", parsed.Rejected)
	}
	var reports []muster.Report
	for _, a := range parsed.Accepted {
		reports = append(reports, a.Report)
	}
	if len(reports) != len(s.Threat.Zones)+1 {
		t.Fatalf("%d reports read back, want %d", len(reports), len(s.Threat.Zones)+1)
	}
	pic, err := threat.Build(reports, &s.Places, at.Add(time.Minute), threat.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if len(pic.Rejected) > 0 {
		t.Fatalf("picture rejected %+v", pic.Rejected)
	}
	for _, g := range pic.Gates {
		want := muster.GateOpen
		if g.PlaceID == s.Threat.ClosedGate {
			want = muster.GateClosed
		}
		if g.Status != want {
			t.Errorf("gate %s is %s in the picture, want %s", g.PlaceID, g.Status, want)
		}
	}
	zones := pic.RoutingZones()
	for _, z := range s.Threat.Zones {
		if !z.Forbidden {
			continue
		}
		forbidden := false
		for _, i := range zonecost.Containing(z.Center, zones) {
			forbidden = forbidden || zones[i].Forbidden
		}
		if !forbidden {
			t.Errorf("%s (%s) is not forbidden in the fused picture", z.ID, z.Name)
		}
	}
	// Reports received after the picture's time do not count.
	early, err := threat.Build(reports, &s.Places, at.Add(-time.Minute), threat.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if len(early.RoutingZones()) != 0 {
		t.Errorf("a picture before the reports has %d zones", len(early.RoutingZones()))
	}
}
