package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/httpapi"
	"github.com/muster-evac/muster/internal/testshared"
	"github.com/muster-evac/muster/operation"
	"github.com/muster-evac/muster/plan"
)

// newDataStore makes a data folder with an empty store, for the CLI's
// local-store commands.
func newDataStore(t *testing.T) string {
	t.Helper()
	data := t.TempDir()
	sf := storeFlags{data: data}
	st, err := sf.openStore(muster.WithActor(context.Background(), "tester"), io.Discard, true)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	return data
}

func writeEvents(t *testing.T, path string, evs []muster.FieldEvent) {
	t.Helper()
	var b bytes.Buffer
	for _, e := range evs {
		line, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// drillEvents makes what the field reports of plan p up to now: every
// household due by now checks in 5 minutes before its report-by time,
// but one in eleven never comes; each group due leaves two minutes late
// with those who came, is seen halfway along its route and arrives three
// minutes late; every gate counts what passes each quarter hour at its
// nominal rate from the first planned arrival on, but slow passes 40%
// of it. One check-in comes late from a
// phone that was offline, 10 minutes after its group left with the
// household: it contradicts the departure.
func drillEvents(p *plan.Plan, now time.Time, slow string) []muster.FieldEvent {
	var evs []muster.FieldEvent
	hh := map[string]plan.Household{}
	for _, h := range p.Households {
		hh[h.ID] = h
	}
	n := 0
	late := ""
	for _, g := range p.Groups {
		if g.ReportBy.After(now) {
			continue
		}
		var came []string
		people := 0
		for _, id := range g.Households {
			n++
			if n%11 == 0 {
				continue // a no-show
			}
			h := hh[id]
			evs = append(evs, muster.FieldEvent{ID: "ci-" + id, Kind: muster.FieldCheckIn, At: h.ReportBy.Add(-5 * time.Minute), Household: id, RallyPoint: h.RallyPoint})
			came = append(came, id)
			people += h.People
		}
		left := g.Departure.Add(2 * time.Minute)
		if left.After(now) || len(came) == 0 {
			continue
		}
		evs = append(evs, muster.FieldEvent{ID: "dep-" + g.ID, Kind: muster.FieldDeparted, At: left, Group: g.ID, RallyPoint: g.RallyPoint, Households: came, People: people})
		if late == "" && left.Add(10*time.Minute).Before(now) {
			late = came[0]
			evs = append(evs, muster.FieldEvent{ID: "late-ci-" + late, Kind: muster.FieldCheckIn, At: left.Add(10 * time.Minute), Household: late, RallyPoint: g.RallyPoint, Note: "synced late"})
		}
		half := g.Departure.Add(g.Arrival.Sub(g.Departure) / 2)
		if g.Route.Geometry == nil {
			g.Route.Geometry = geojson.NewGeometry(orb.LineString{{-51.2, -30.0}, {-51.18, -29.99}})
		}
		if line, ok := g.Route.Geometry.Coordinates.(orb.LineString); ok && len(line) > 0 && half.After(left) && !half.After(now) {
			pt := line[len(line)/2]
			evs = append(evs, muster.FieldEvent{ID: "seen-" + g.ID, Kind: muster.FieldSeen, At: half, Group: g.ID, Lat: pt[1], Lon: pt[0]})
		}
		if arr := g.Arrival.Add(3 * time.Minute); !arr.After(now) {
			evs = append(evs, muster.FieldEvent{ID: "arr-" + g.ID, Kind: muster.FieldArrived, At: arr, Group: g.ID, Gate: g.Gate})
		}
	}
	first := now
	for _, g := range p.Groups {
		if g.Arrival.Before(first) {
			first = g.Arrival
		}
	}
	first = first.Truncate(15 * time.Minute)
	for _, gate := range p.Gates {
		rate := float64(gate.ThroughputPerHour)
		if gate.ID == slow {
			rate *= 0.4
		}
		for t := first; !t.Add(15 * time.Minute).After(now); t = t.Add(15 * time.Minute) {
			evs = append(evs, muster.FieldEvent{ID: fmt.Sprintf("count-%s-%s", gate.ID, t.Format("1504")), Kind: muster.FieldGateCount,
				Since: t, At: t.Add(15 * time.Minute), Gate: gate.ID, People: int(rate / 4)})
		}
	}
	evs = append(evs, muster.FieldEvent{ID: "queue-" + slow, Kind: muster.FieldGateState, At: now.Add(-time.Minute), Gate: slow, GateStatus: "restricted", Queue: 420})
	return evs
}

// TestFieldReplayAndStatus: `muster field replay` records a file of
// events in the local store (again: nothing twice), `muster field add`
// one more, and `muster status --plan --at` shows the live state they
// make against a plan file; a bad line is an error naming it.
func TestFieldReplayAndStatus(t *testing.T) {
	dir := t.TempDir()
	data := newDataStore(t)
	start := time.Date(2026, 3, 14, 7, 0, 0, 0, time.UTC)
	p := &plan.Plan{Version: plan.FormatVersion, Status: "current", Params: plan.Params{Start: start},
		Gates:       []plan.Gate{{ID: "gate-1", Status: "open", ThroughputPerHour: 400}, {ID: "gate-2", Status: "open", ThroughputPerHour: 400}},
		RallyPoints: []plan.RallyPoint{{ID: "rp-1"}, {ID: "rp-2"}}}
	for g := range 8 {
		dep := start.Add(time.Duration(15*g) * time.Minute)
		grp := plan.Group{ID: fmt.Sprintf("G%02d", g), RallyPoint: fmt.Sprintf("rp-%d", 1+g%2), Gate: fmt.Sprintf("gate-%d", 1+g%2),
			Departure: dep, Arrival: dep.Add(20 * time.Minute), Through: dep.Add(30 * time.Minute), ReportBy: dep.Add(-10 * time.Minute), People: 12,
			Route: plan.Route{}}
		for k := range 4 {
			h := plan.Household{ID: fmt.Sprintf("H%02d%d", g, k), RallyPoint: grp.RallyPoint, Group: grp.ID, ReportBy: grp.ReportBy, People: 3}
			grp.Households = append(grp.Households, h.ID)
			p.Households = append(p.Households, h)
		}
		p.Groups = append(p.Groups, grp)
	}
	planFile := filepath.Join(dir, "plan.json")
	if err := writePlan(planFile, p, ""); err != nil {
		t.Fatal(err)
	}
	now := start.Add(80 * time.Minute)
	evs := drillEvents(p, now, "gate-2")
	file := filepath.Join(dir, "events.jsonl")
	writeEvents(t, file, evs)
	out, _, err := run(t, "field", "replay", file, "--data", data)
	if err != nil || !strings.Contains(out, fmt.Sprintf("%d events: %d recorded (0 flagged)", len(evs), len(evs))) {
		t.Fatalf("replay: %v\n%s", err, out)
	}
	out, _, err = run(t, "field", "replay", file, "--data", data)
	if err != nil || !strings.Contains(out, fmt.Sprintf("0 recorded (0 flagged), %d already recorded", len(evs))) {
		t.Fatalf("replay again: %v\n%s", err, out)
	}
	out, _, err = run(t, "field", "add", "--data", data, "--kind", "seen", "--id", "seen-extra", "--group", "G04", "--lat", "-30.0", "--lon", "-51.2",
		"--at", now.Add(-time.Minute).Format(time.RFC3339))
	if err != nil || !strings.Contains(out, "1 recorded") {
		t.Fatalf("field add: %v\n%s", err, out)
	}
	// H070 (of rp-2) checked in at rp-1, the officer's reason noted:
	// applied there, and flagged.
	elsewhere := muster.FieldEvent{ID: "ci-elsewhere", Kind: muster.FieldCheckIn, At: now.Add(-2 * time.Minute), Household: "H070", RallyPoint: "rp-1", Note: "rp-2 flooded"}
	out, _, err = run(t, "field", "add", "--data", data, "--kind", "checkin", "--id", elsewhere.ID, "--household", elsewhere.Household, "--rally", elsewhere.RallyPoint,
		"--note", elsewhere.Note, "--at", elsewhere.At.Format(time.RFC3339))
	if err != nil || !strings.Contains(out, "1 recorded") {
		t.Fatalf("field add: %v\n%s", err, out)
	}
	out, _, err = run(t, "status", "--data", data, "--plan", planFile, "--at", now.Format(time.RFC3339), "--json")
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	var st operation.State
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	want := operation.Compute(p, append(evs, muster.FieldEvent{ID: "seen-extra", Kind: muster.FieldSeen, At: now.Add(-time.Minute), Group: "G04", Lat: -30, Lon: -51.2}, elsewhere), now, operation.Options{PlanID: "file"})
	if st.Totals != want.Totals || st.Events != len(evs)+2 || len(st.Flagged) != 2 || st.Flagged[0].Flags[0] != operation.FlagAfterDeparture ||
		st.Flagged[1].ID != elsewhere.ID || !st.Flagged[1].Applied || st.Flagged[1].Flags[0] != muster.FlagOtherRallyPoint || !slices.Contains(st.RallyPoints[0].Here, "H070") {
		t.Fatalf("status: totals %+v (want %+v), %d events, flagged %+v", st.Totals, want.Totals, st.Events, st.Flagged)
	}
	if !st.Gates[1].Slow || st.Gates[0].Slow || st.Totals.NoShows == 0 || st.Totals.Through == 0 {
		t.Fatalf("status: gates %+v, totals %+v", st.Gates, st.Totals)
	}
	out, _, err = run(t, "status", "--data", data, "--plan", planFile, "--at", now.Format(time.RFC3339))
	if err != nil || !strings.Contains(out, "SLOW") || !strings.Contains(out, "after_departure") || !strings.Contains(out, "G04") ||
		!strings.Contains(out, "ci-elsewhere  checkin H070 at "+elsewhere.At.Format(time.RFC3339)+" by ") ||
		!strings.Contains(out, "other_rally_point at rally point rp-1, applied, with a note") {
		t.Fatalf("status table: %v\n%s", err, out)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte(`{"id":"a","kind":"seen","at":"2026-03-14T07:00:00Z","group":"G01","lat":0,"lon":0}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, "field", "replay", bad, "--data", data); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("a bad line: %v", err)
	}
}

// TestPortoAlegreDrillReplayed: the Porto Alegre drill (8,000 households,
// 60 rally points, 4 gates on the real extract) is planned, and two
// hours of its operation replayed from a file of field events:
// check-ins, no-shows, departures, groups seen on the move and arriving, a
// gate passing 40% of its rate. The live state counts them, flags the
// slow gate and the late check-in, and writes the state a re-plan starts
// from, which muster plan replan --state takes. Long: an import, a plan
// and a re-plan.
func TestPortoAlegreDrillReplayed(t *testing.T) {
	testshared.Long(t)
	pbf := testshared.Path(t, "data/porto-alegre.osm.pbf")
	drill := testshared.Path(t, "scenarios/porto-alegre-drill")
	dir := t.TempDir()
	graph, planFile := filepath.Join(dir, "pa.graph"), filepath.Join(dir, "plan.json")
	if out, _, err := run(t, "import", pbf, "-o", graph); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	if out, _, err := run(t, "plan", "--graph", graph, "--places", filepath.Join(drill, "places.geojson"), "--evacuees", filepath.Join(drill, "evacuees.csv"),
		"--at", "2026-03-14T07:00:00Z", "-o", planFile); err != nil {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	p, err := readPlan(planFile)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(p.Gates, func(a, b plan.Gate) int { return b.People - a.People })
	slow := p.Gates[0].ID
	now := p.Params.Start.Add(2 * time.Hour)
	evs := drillEvents(p, now, slow)
	file := filepath.Join(dir, "events.jsonl")
	writeEvents(t, file, evs)
	data := newDataStore(t)
	if out, _, err := run(t, "field", "replay", file, "--data", data); err != nil || !strings.Contains(out, "0 refused") {
		t.Fatalf("replay: %v\n%s", err, out)
	}
	stateFile := filepath.Join(dir, "state.json")
	out, _, err := run(t, "status", "--data", data, "--plan", planFile, "--at", now.Format(time.RFC3339), "--json", "--state-out", stateFile)
	if err != nil {
		t.Fatal(err)
	}
	var st operation.State
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	moving, seen := 0, 0
	for _, g := range st.Groups {
		if g.Status == operation.GroupMoving {
			moving++
			if !g.SeenAt.IsZero() {
				seen++
			}
		}
	}
	gi := slices.IndexFunc(st.Gates, func(g operation.GateState) bool { return g.ID == slow })
	t.Logf("drill at %s: %d events, totals %+v, behind %.0f min, %d groups moving (%d seen), slow gate %+v",
		now.Format("15:04"), len(evs), st.Totals, st.BehindMin, moving, seen, st.Gates[gi])
	if st.Totals.NoShows+st.Totals.Overdue == 0 || st.Totals.AtRally+st.Totals.OnTheWay+st.Totals.Through == 0 || !st.Gates[gi].Slow ||
		len(st.Flagged) != 1 || st.Flagged[0].Flags[0] != operation.FlagAfterDeparture {
		t.Fatalf("drill state: totals %+v, gate %+v, flagged %+v", st.Totals, st.Gates[gi], st.Flagged)
	}
	if st.Totals.Planned != p.Summary.AssignedPeople {
		t.Fatalf("planned %d, the plan assigns %d", st.Totals.Planned, p.Summary.AssignedPeople)
	}
	// What a re-plan takes holds: computed again from the plan and the
	// events, it is the same state.
	again := operation.Compute(p, evs, now, operation.Options{PlanID: "file"})
	ps := again.PlanState()
	if err := ps.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(ps.Missing) == 0 || len(ps.WaitingAt)+len(ps.Moving)+len(ps.Through) == 0 || ps.GateRates[slow] >= float64(p.Gates[0].ThroughputPerHour) {
		t.Fatalf("plan state: %d missing, %d waiting, %d moving, %d through, rate of %s %g", len(ps.Missing), len(ps.WaitingAt), len(ps.Moving), len(ps.Through), slow, ps.GateRates[slow])
	}
	f, err := os.Open(stateFile)
	if err != nil {
		t.Fatal(err)
	}
	written, err := plan.ReadState(f)
	f.Close()
	if err != nil || len(written.Missing) != len(ps.Missing) || len(written.Moving) != len(ps.Moving) {
		t.Fatalf("the state file: %d missing, %d moving, %v", len(written.Missing), len(written.Moving), err)
	}
	// The re-plan starts from it (the slow gate's measured rate, the
	// no-shows, the groups where they were seen).
	args := []string{"--graph", graph, "--places", filepath.Join(drill, "places.geojson"), "--evacuees", filepath.Join(drill, "evacuees.csv")}
	proposed := filepath.Join(dir, "proposed.json")
	if out, errOut, err := run(t, append([]string{"plan", "replan", "--plan", planFile,
		"--at", now.Format(time.RFC3339), "--state", stateFile, "-o", proposed}, args...)...); err != nil {
		t.Fatalf("replan: %v\n%s\n%s", err, out, errOut)
	}
	p2, err := readPlan(proposed)
	if err != nil || p2.AsOf.IsZero() {
		t.Fatalf("the re-plan: as of %v, %v", p2.AsOf, err)
	}
	// The checker holds it to the plan it revises and the same state:
	// groups on the move re-routed only off a gate the field reports
	// restricted, overdue households out of the groups that left without
	// them.
	out, _, err = run(t, append([]string{"plan", "check", "--plan", proposed, "--previous", planFile, "--state", stateFile, "--all"}, args...)...)
	if err != nil || !strings.Contains(out, "no violation") {
		t.Fatalf("plan check of the re-plan: %v\n%s", err, out)
	}

	// A new threat ahead of a group on the move, seen on its way: every
	// proposal re-routes it from where it is, around the zone, and passes
	// the checker with that picture.
	gid, center := "", orb.Point{}
	for _, g := range p.Groups {
		mg, ok := ps.Moving[g.ID]
		line, _ := g.Route.Geometry.Coordinates.(orb.LineString)
		if !ok || mg.SeenAt.IsZero() || g.Route.DistanceM < 4000 || len(line) < 8 {
			continue
		}
		seen := orb.Point{mg.Lon, mg.Lat}
		at := 0
		for i, pt := range line {
			if muster.DistanceM(pt[0], pt[1], seen[0], seen[1]) < muster.DistanceM(line[at][0], line[at][1], seen[0], seen[1]) {
				at = i
			}
		}
		c := line[at+(len(line)-at)/2]
		end := line[len(line)-1]
		if muster.DistanceM(c[0], c[1], seen[0], seen[1]) > 600 && muster.DistanceM(c[0], c[1], end[0], end[1]) > 800 {
			gid, center = g.ID, c
			break
		}
	}
	if gid == "" {
		t.Fatal("no group on the move with a long way left to put a threat on")
	}
	zones := filepath.Join(dir, "zones.geojson")
	zone := fmt.Sprintf(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[%f,%f]},"properties":{"id":"ahead","forbidden":true,"risk":0.9,"radius_m":120}}]}`, center[0], center[1])
	if err := os.WriteFile(zones, []byte(zone), 0o644); err != nil {
		t.Fatal(err)
	}
	threatened := filepath.Join(dir, "threatened.json")
	if out, errOut, err := run(t, append([]string{"plan", "replan", "--plan", planFile, "--zones", zones,
		"--at", now.Format(time.RFC3339), "--state", stateFile, "--proposals", "-o", threatened}, args...)...); err != nil {
		t.Fatalf("replan with the new threat: %v\n%s\n%s", err, out, errOut)
	}
	for _, kind := range []string{"minimal", "hybrid", "fresh"} {
		file := strings.TrimSuffix(threatened, ".json") + "." + kind + ".json"
		pk, err := readPlan(file)
		if err != nil {
			t.Fatal(err)
		}
		gi := slices.IndexFunc(pk.Groups, func(g plan.Group) bool { return g.ID == gid })
		if gi < 0 || pk.Groups[gi].RouteFrom.IsZero() {
			t.Fatalf("%s: group %s, threatened on its way, is not re-routed from where it is", kind, gid)
		}
		if line, _ := pk.Groups[gi].Route.Geometry.Coordinates.(orb.LineString); nearestM(line, center) <= 120 {
			t.Errorf("%s: group %s's new route passes %.0f m from the threat's centre, inside its 120 m", kind, gid, nearestM(line, center))
		}
		out, _, err := run(t, append([]string{"plan", "check", "--plan", file, "--previous", planFile, "--state", stateFile, "--zones", zones, "--all"}, args...)...)
		if err != nil || !strings.Contains(out, "no violation") {
			t.Errorf("plan check of the %s proposal with the new threat: %v\n%s", kind, err, out)
		}
	}
}

// TestFieldAndStatusThroughAServer: `muster field replay --server` and
// `muster status --server` talk to a server with a field officer's API
// token; the state it answers is the one the events make.
func TestFieldAndStatusThroughAServer(t *testing.T) {
	data := newDataStore(t)
	ctx := muster.WithActor(context.Background(), "tester")
	sf := storeFlags{data: data}
	st, err := sf.openStore(ctx, io.Discard, false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hash, err := muster.HashPassword("correct horse battery field")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, muster.User{Name: "officer-7", Role: muster.RoleField, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	secret := "field-officer-secret-token-0123456789abcdef"
	if err := st.CreateToken(ctx, muster.Token{ID: "tok-field", User: "officer-7", Kind: muster.TokenAPI, Hash: muster.TokenHash(secret), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 14, 7, 0, 0, 0, time.UTC)
	p := &plan.Plan{Version: plan.FormatVersion, Status: "current", Params: plan.Params{Start: start},
		Gates: []plan.Gate{{ID: "gate-1", Status: "open", ThroughputPerHour: 400}}, RallyPoints: []plan.RallyPoint{{ID: "rp-1"}}}
	for g := range 3 {
		dep := start.Add(time.Duration(20*g) * time.Minute)
		grp := plan.Group{ID: fmt.Sprintf("G%d", g), RallyPoint: "rp-1", Gate: "gate-1", Departure: dep, Arrival: dep.Add(15 * time.Minute),
			Through: dep.Add(20 * time.Minute), ReportBy: dep.Add(-10 * time.Minute), People: 6}
		for k := range 2 {
			h := plan.Household{ID: fmt.Sprintf("H%d%d", g, k), RallyPoint: "rp-1", Group: grp.ID, ReportBy: grp.ReportBy, People: 3}
			grp.Households = append(grp.Households, h.ID)
			p.Households = append(p.Households, h)
		}
		p.Groups = append(p.Groups, grp)
	}
	body, _ := json.Marshal(p)
	rec, err := st.SavePlan(ctx, muster.PlanRecord{Body: body, Summary: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ApprovePlan(ctx, rec.ID); err != nil {
		t.Fatal(err)
	}
	now := start.Add(50 * time.Minute)
	api, err := httpapi.New(httpapi.Config{Store: st, IPRate: -1, AccountRate: -1, OverdueSweep: -1, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	srv := httptest.NewServer(api)
	defer srv.Close()
	evs := drillEvents(p, now, "gate-1")
	file := filepath.Join(t.TempDir(), "events.jsonl")
	writeEvents(t, file, evs)
	out, _, err := run(t, "field", "replay", file, "--server", srv.URL, "--token", secret)
	if err != nil || !strings.Contains(out, fmt.Sprintf("%d recorded", len(evs))) {
		t.Fatalf("replay to the server: %v\n%s", err, out)
	}
	if _, _, err := run(t, "field", "replay", file, "--server", srv.URL, "--token", "not-a-token"); err == nil {
		t.Fatal("a bad token was let in")
	}
	out, _, err = run(t, "status", "--server", srv.URL, "--token", secret, "--json")
	if err != nil {
		t.Fatalf("status from the server: %v\n%s", err, out)
	}
	var got operation.State
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	want := operation.Compute(p, evs, now, operation.Options{})
	if got.Totals != want.Totals || got.Plan != rec.ID || got.Totals.AtRally+got.Totals.OnTheWay+got.Totals.Through == 0 {
		t.Fatalf("the server's state: %+v, want %+v (plan %s)", got.Totals, want.Totals, got.Plan)
	}
}

// nearestM is how close line comes to p, in metres (segments measured in
// a local flat frame: enough at a few kilometres).
func nearestM(line orb.LineString, p orb.Point) float64 {
	best := math.Inf(1)
	kx := 111_320 * math.Cos(p[1]*math.Pi/180)
	const ky = 110_540.0
	for i := range line {
		a := line[i]
		b := a
		if i+1 < len(line) {
			b = line[i+1]
		}
		ax, ay := (a[0]-p[0])*kx, (a[1]-p[1])*ky
		bx, by := (b[0]-p[0])*kx, (b[1]-p[1])*ky
		dx, dy := bx-ax, by-ay
		t := 0.0
		if l := dx*dx + dy*dy; l > 0 {
			t = math.Max(0, math.Min(1, -(ax*dx+ay*dy)/l))
		}
		best = math.Min(best, math.Hypot(ax+t*dx, ay+t*dy))
	}
	return best
}
