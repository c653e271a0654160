package plan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/plancheck"
)

// sameAsV1 fails unless a and b are the same plan, field by field: both
// written as version 1 wrote them, which spells every field out (times
// to the nanosecond, coordinates whole).
func sameAsV1(t *testing.T, what string, a, b *plan.Plan) {
	t.Helper()
	ea, err := plan.EncodeV1(a)
	if err != nil {
		t.Fatal(err)
	}
	eb, err := plan.EncodeV1(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ea, eb) {
		i := 0
		for i < min(len(ea), len(eb)) && ea[i] == eb[i] {
			i++
		}
		t.Fatalf("%s: differs at byte %d:\n  %s\n  %s", what, i, ea[max(0, i-120):min(len(ea), i+120)], eb[max(0, i-120):min(len(eb), i+120)])
	}
}

// TestPlanFileRoundTrip: a plan the planner made, written and read again,
// is the same plan to the bit (the planner keeps coordinates on the
// file's grid), passes the checker as read, names each rally point's
// route to a gate once, and is several times smaller than version 1.
func TestPlanFileRoundTrip(t *testing.T) {
	c := generatedCity(t, 3, 0.5)
	hs := households(c.foot0, 400, 7)
	start := time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)
	p, err := plan.Make(context.Background(), plan.Input{Car: c.car, Foot: c.foot, Places: c.places, Households: hs, Params: plan.Params{Start: start}})
	if err != nil {
		t.Fatal(err)
	}
	data, err := plan.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	q, err := plan.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	sameAsV1(t, "read back", p, q)
	mustCheck(t, c, q, plancheck.Inputs{Places: c.places, Households: hs})
	// json.Marshal and json.Unmarshal go the same way.
	viaJSON, err := json.Marshal(p)
	if err != nil || !bytes.Equal(viaJSON, data) {
		t.Fatalf("json.Marshal: %v, %d bytes against %d", err, len(viaJSON), len(data))
	}
	var r plan.Plan
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	sameAsV1(t, "json.Unmarshal", p, &r)

	var doc struct {
		Version int               `json:"version"`
		Routes  []json.RawMessage `json:"routes"`
		Groups  []struct {
			RallyPoint string `json:"rally_point"`
			Gate       string `json:"gate"`
			Route      int    `json:"route"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	pairs := map[[2]string]int{}
	for _, g := range doc.Groups {
		k := [2]string{g.RallyPoint, g.Gate}
		if ref, ok := pairs[k]; ok && ref != g.Route {
			t.Errorf("groups from %s to %s name routes %d and %d", k[0], k[1], ref, g.Route)
		}
		pairs[k] = g.Route
	}
	if doc.Version != 2 || len(doc.Routes) != len(pairs) || len(pairs) >= len(doc.Groups) {
		t.Errorf("version %d: %d routes for %d rally point-gate pairs and %d groups", doc.Version, len(doc.Routes), len(pairs), len(doc.Groups))
	}
	v1, err := plan.EncodeV1(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d groups, %d households: %d routes; %d bytes, %d as version 1", len(p.Groups), len(p.Households), len(doc.Routes), len(data), len(v1))
	if len(data)*4 > len(v1) {
		t.Errorf("version 2 is %d bytes, version 1 %d: less than 4 times smaller", len(data), len(v1))
	}
	// Read as version 1 too, the same plan.
	old, err := plan.Decode(v1)
	if err != nil {
		t.Fatal(err)
	}
	if old.Version != 1 {
		t.Errorf("a version 1 plan read says version %d", old.Version)
	}
	old.Version = p.Version
	sameAsV1(t, "read from version 1", p, old)
}

// handMade is a plan with every field of a group and a household set
// somewhere, and what version 2 writes in a special way: a route shared,
// a group re-routed on the move, fractions of a second, a household whose
// rally point or report time is not its group's, one in an unknown
// group, one whose report time is unset, a walk without geometry.
func handMade() *plan.Plan {
	start := time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return start.Add(time.Duration(s * float64(time.Second))) }
	shared := orb.LineString{{-8.670419, 41.37438}, {-8.670304, 41.374692}, {-8.675153, 41.258583}}
	other := orb.LineString{{-8.6, 41.3}, {-8.61, 41.31}}
	walk := orb.LineString{{-8.601, 41.301}, {-8.6, 41.3}}
	route := func(line orb.LineString, escape bool) plan.Route {
		return plan.Route{Geometry: geojson.NewGeometry(line), DurationS: 612.3, DistanceM: 8000.5, Exposure: 1.5, Escape: escape}
	}
	return &plan.Plan{Version: plan.FormatVersion, Status: "proposed", CreatedAt: start.Add(-time.Hour), AsOf: at(600),
		Params:      plan.Params{Start: start, MaxGroupSize: 12, MaxWalkS: 2700, Vehicles: &plan.Vehicles{Seats: 8, Count: 3}},
		Summary:     plan.Summary{Households: 5, People: 9, Groups: 3, MakespanS: 4000},
		Gates:       []plan.Gate{{ID: "gate-1", Lat: 41.258583, Lon: -8.675153, Status: "open", Usable: true, LastThrough: at(4000)}},
		RallyPoints: []plan.RallyPoint{{ID: "r1", Capacity: 100, Usable: true}, {ID: "r2", Capacity: 50, Usable: true}},
		Groups: []plan.Group{
			{ID: "G1", RallyPoint: "r1", Gate: "gate-1", ReportBy: at(60), Departure: at(900), Arrival: at(1512.25), Through: at(1600),
				People: 3, Households: []string{"H1", "H2"}, Priority: true, Weight: 5, Vehicles: 1, Route: route(shared, true)},
			{ID: "G2", RallyPoint: "r1", Gate: "gate-1", ReportBy: at(300), Departure: at(1000), RouteFrom: start.Add(1200*time.Second + 1), Arrival: at(1900), Through: at(1950),
				People: 2, Households: []string{"H4"}, Route: route(shared, true)},
			{ID: "G3", RallyPoint: "r2", Gate: "gate-1", ReportBy: at(-30), Departure: at(2000), Arrival: at(2600), Through: at(2700),
				People: 4, Households: []string{"H5"}, Route: route(other, false)},
			{ID: "G4", RallyPoint: "r2", Gate: "gate-1", People: 0, Households: nil, Route: plan.Route{}},
		},
		Households: []plan.Household{
			{ID: "H1", RallyPoint: "r1", Group: "G1", ReportBy: at(60), People: 1, Priority: "medical", Walk: route(walk, true)},
			{ID: "H2", RallyPoint: "r9", Group: "G1", ReportBy: at(30), People: 2, Walk: plan.Route{DurationS: 10}},
			{ID: "H3", RallyPoint: "r1", Group: "G-none", ReportBy: at(70), People: 1, Walk: route(walk, false)},
			{ID: "H4", RallyPoint: "", Group: "G2", People: 2, Walk: route(walk, false)},
			{ID: "H5", RallyPoint: "r2", Group: "G3", ReportBy: at(-30), People: 4, Walk: route(walk, false)},
		},
		Unassigned: []plan.Unassigned{{Household: "H6", Code: plan.UnservedMaxWalk, Reason: "far"}},
		Diff:       &plan.Diff{Basis: "2026-01-01T05:00:00Z", Changes: []plan.Change{{Household: "H1", Fields: []string{"gate"}, Reason: "closed"}}, Kept: 3},
		Zones:      json.RawMessage(`{"type":"FeatureCollection","features":[]}`),
	}
}

// TestEveryFieldRoundTrip: every field of a group and a household is
// written and read back (a field added to either without being written
// fails here), with what version 2 leaves out read back as it was.
func TestEveryFieldRoundTrip(t *testing.T) {
	p := handMade()
	for _, set := range []reflect.Value{reflect.ValueOf(p.Groups), reflect.ValueOf(p.Households), reflect.ValueOf([]plan.Plan{*p})} {
		typ := set.Type().Elem()
		for f := range typ.NumField() {
			found := false
			for i := range set.Len() {
				found = found || !set.Index(i).Field(f).IsZero()
			}
			if !found {
				t.Errorf("%s.%s is set in no %s of the plan made by hand: set it, and make sure plan.json keeps it", typ.Name(), typ.Field(f).Name, typ.Name())
			}
		}
	}
	data, err := plan.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	q, err := plan.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	sameAsV1(t, "read back", p, q)
	s := string(data)
	for _, want := range []string{`"route":0}`, `"routes":[{"polyline"`, `"arrival_s":1512.25,`, `"route_from_s":1200.000000001,`, `"report_by_s":-30,`,
		`{"id":"H2","rally_point":"r9","group":"G1","report_by_s":30,`, `{"id":"H3","rally_point":"r1","group":"G-none","report_by_s":70,`,
		`{"id":"H4","rally_point":"","group":"G2","report_by_s":null,`, `{"id":"H1","group":"G1","people":1,`, `"walk":{"duration_s":10,`} {
		if !strings.Contains(s, want) {
			t.Errorf("plan.json lacks %s:\n%s", want, s)
		}
	}
	if n := strings.Count(s, `"polyline"`); n != 2+4 {
		t.Errorf("%d polylines: want 2 routes (G1 and G2 share one; G4 has no line) and 4 walks:\n%s", n, s)
	}
	// The decoder gives each group its own geometry, sharing the line.
	g1, g2 := q.Groups[0].Route.Geometry, q.Groups[1].Route.Geometry
	if g1 == g2 || &g1.Coordinates.(orb.LineString)[0] != &g2.Coordinates.(orb.LineString)[0] {
		t.Errorf("groups sharing a route: geometry objects %p and %p", g1, g2)
	}
	// Coordinates off the grid are kept to 1e-6°.
	p.Households[0].Walk.Geometry = geojson.NewGeometry(orb.LineString{{-8.60100049, 41.30100051}, {-8.6, 41.3}})
	q, err = plan.Decode(must(plan.Encode(p)))
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Households[0].Walk.Geometry.Coordinates.(orb.LineString)[0]; got != (orb.Point{-8.601, 41.301001}) {
		t.Errorf("rounded to %v", got)
	}
	// A geometry that is not a line cannot be written.
	p.Groups[2].Route.Geometry = geojson.NewGeometry(orb.Point{1, 2})
	if _, err := plan.Encode(p); err == nil || !strings.Contains(err.Error(), `group "G3": its route is a Point`) {
		t.Errorf("a point as a route: %v", err)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestReadVersion1: a re-plan written by muster before version 2 (with
// groups re-routed on the move, a diff and zones) reads, to the same plan
// as it wrote, coordinates rounded to 1e-6°; written again it is version 2
// and reads the same.
func TestReadVersion1(t *testing.T) {
	data, err := os.ReadFile("testdata/v1-replan.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	moving := 0
	for _, g := range p.Groups {
		if !g.RouteFrom.IsZero() {
			moving++
		}
	}
	if p.Version != 1 || len(p.Groups) != 10 || len(p.Households) != 10 || moving != 3 || p.Diff == nil || len(p.Diff.Changes) != 3 || p.AsOf.IsZero() || len(p.Zones) == 0 {
		t.Fatalf("version %d, %d groups (%d re-routed on the move), %d households, diff %v, as of %v, zones %d bytes",
			p.Version, len(p.Groups), moving, len(p.Households), p.Diff, p.AsOf, len(p.Zones))
	}
	// The same as the file says, field by field, but for the rounding.
	var raw struct {
		Groups []struct {
			Departure time.Time `json:"departure"`
			Route     struct {
				Geometry  geojson.Geometry `json:"geometry"`
				DurationS float64          `json:"duration_s"`
			} `json:"route"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	for i, g := range raw.Groups {
		line := g.Route.Geometry.Coordinates.(orb.LineString)
		got := p.Groups[i].Route.Geometry.Coordinates.(orb.LineString)
		if !g.Departure.Equal(p.Groups[i].Departure) || g.Route.DurationS != p.Groups[i].Route.DurationS || len(line) != len(got) {
			t.Fatalf("group %d: read %+v", i, p.Groups[i])
		}
		for k := range line {
			if math.Abs(got[k][0]-line[k][0]) > 0.5e-6+1e-12 || math.Abs(got[k][1]-line[k][1]) > 0.5e-6+1e-12 {
				t.Fatalf("group %d point %d: %v read as %v", i, k, line[k], got[k])
			}
		}
	}
	v2, err := plan.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	q, err := plan.Decode(v2)
	if err != nil {
		t.Fatal(err)
	}
	if q.Version != 2 {
		t.Errorf("written again: version %d", q.Version)
	}
	q.Version = 1
	sameAsV1(t, "version 1 written as 2 and read", p, q)
	t.Logf("%d bytes in version 1, %d in version 2", len(data), len(v2))
}

// malformed is plan.json broken each way the decoder must refuse, with
// what its error must say.
func malformed() (good, v1 string, cases []struct{ name, doc, want string }) {
	good = string(must(plan.Encode(handMade())))
	v1 = string(must(plan.EncodeV1(handMade())))
	return good, v1, []struct{ name, doc, want string }{
		{"empty", "", "not a plan: empty"},
		{"not JSON", "{\"version\":2,", "not a plan"},
		{"trailing data", good + "{}", "more after the plan's closing brace"},
		{"no version", strings.Replace(good, `"version":2,`, "", 1), "no format version"},
		{"a newer version", strings.Replace(good, `"version":2,`, `"version":3,`, 1), "plan format version 3: this muster reads versions 1 to 2"},
		{"an unknown field", strings.Replace(good, `"version":2,`, `"version":2,"colour":1,`, 1), `unknown field "colour"`},
		{"a route index out of range", strings.Replace(good, `"route":0}`, `"route":7}`, 1), `groups[0] ("G1"): route: no route 7 (routes has 3)`},
		{"a negative route index", strings.Replace(good, `"route":0}`, `"route":-1}`, 1), `groups[0] ("G1"): route: no route -1`},
		{"a huge route index", strings.Replace(good, `"route":0}`, `"route":99999999999999999999999}`, 1), `route: 99999999999999999999 is neither an index`},
		{"a fractional route index", strings.Replace(good, `"route":0}`, `"route":0.5}`, 1), `route: 0.5 is neither an index`},
		{"a group without a route", strings.Replace(good, `,"route":0}`, `}`, 1), `groups[0] ("G1"): no route`},
		{"a route inline in version 2", strings.Replace(good, `"route":0}`, `"route":{"duration_s":1,"distance_m":1,"exposure":0}}`, 1), "a route object is version 1's"},
		{"a bad polyline in routes", strings.Replace(good, `"routes":[{"polyline":"`, `"routes":[{"polyline":" `, 1), `routes[0]: polyline: character " " at 0`},
		{"a polyline cut short", strings.Replace(good, `"routes":[{"polyline":"`, `"routes":[{"polyline":"_`, 1), `routes[0]: polyline:`},
		{"a walk's polyline out of range", strings.Replace(good, `"walk":{"polyline":"`, `"walk":{"polyline":"______I??`, 1), `households[0] ("H1"): walk: polyline: point 0 at character 0 is out of range`},
		{"geometry in version 2", strings.Replace(good, `"walk":{"polyline":"`, `"walk":{"geometry":{"type":"LineString","coordinates":[[1,2],[3,4]]},"polyline":"`, 1), `households[0] ("H1"): walk: geometry is version 1's; version 2 has polyline`},
		{"a time in words", strings.Replace(good, `"departure_s":900`, `"departure_s":"06:15"`, 1), "a time is seconds after params.start, a number"},
		{"a time with an exponent", strings.Replace(good, `"departure_s":900`, `"departure_s":9e2`, 1), `groups[0] ("G1"): departure_s: 9e2 is not seconds`},
		{"a time centuries away", strings.Replace(good, `"departure_s":900`, `"departure_s":99999999999`, 1), `departure_s: 99999999999 is not seconds`},
		{"a time decades away", strings.Replace(good, `"departure_s":900`, `"departure_s":1000000001`, 1), `departure_s: 1000000001 s is more than 1000000000 s`},
		{"too many decimals", strings.Replace(good, `"departure_s":900`, `"departure_s":900.0000000001`, 1), `departure_s: 900.0000000001 is not seconds`},
		{"a version 1 time in version 2", strings.Replace(good, `"departure_s":900`, `"departure":"2026-01-01T06:15:00Z"`, 1), `groups[0] ("G1"): departure is version 1's; version 2 has departure_s`},
		{"a version 1 report time in version 2", strings.Replace(good, `"group":"G1","people":1`, `"group":"G1","report_by":"2026-01-01T06:15:00Z","people":1`, 1), `households[0] ("H1"): report_by is version 1's`},
		{"a count that is not", strings.Replace(good, `"people":3`, `"people":"3"`, 1), `groups.people cannot be a JSON string`},
		{"a huge count", strings.Replace(good, `"people":3`, `"people":1e300`, 1), `groups.people cannot be a JSON number 1e300`},
		{"routes in version 1", strings.Replace(v1, `"version":1,`, `"version":1,"routes":[],`, 1), "version 1 with routes[]"},
		{"a version 2 time in version 1", strings.Replace(v1, `"people":3,`, `"people":3,"through_s":5,`, 1), `groups[0] ("G1"): through_s is version 2's`},
		{"a route index in version 1", `{"version":1,"groups":[{"id":"X","route":0}]}`, `groups[0] ("X"): route: an index into routes, which version 1 does not have`},
		{"a polyline in version 1", strings.Replace(v1, `"walk":{"geometry":`, `"walk":{"polyline":"??","geometry":`, 1), `households[0] ("H1"): walk: polyline is version 2's`},
	}
}

// TestDecodeErrors: a plan.json that is not one says where and why.
func TestDecodeErrors(t *testing.T) {
	good, v1, cases := malformed()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.doc == good || c.doc == v1 {
				t.Fatal("the mutation changed nothing")
			}
			_, err := plan.Decode([]byte(c.doc))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%v, want an error saying %q", err, c.want)
			}
			if strings.Contains(err.Error(), "plan.") || strings.Contains(err.Error(), "Go ") {
				t.Errorf("the error names a Go type: %v", err)
			}
		})
	}
}

// FuzzDecode: any input is a plan or an error, never a panic, never more
// groups, households or points than its bytes; a plan read writes as a
// version 2 plan that reads back to the same plan.
func FuzzDecode(f *testing.F) {
	good := must(plan.Encode(handMade()))
	f.Add(good)
	f.Add(must(plan.EncodeV1(handMade())))
	f.Add([]byte(`{"version":2,"params":{"start":"2026-01-01T06:00:00Z"},"routes":[{"polyline":"??_@","duration_s":1}],"groups":[{"id":"G","route":0,"departure_s":1.5,"households":["H"]}],"households":[{"id":"H","group":"G","walk":{"polyline":"_p~iF~ps|U"}}]}`))
	f.Add([]byte(`{"version":1,"groups":[{"id":"G","route":{"geometry":{"type":"LineString","coordinates":[[1,2],[3,4]]}}}]}`))
	f.Add([]byte(`{"version":2,"groups":[{"id":"G","route":3}]}`))
	f.Add([]byte(`{"version":2,"routes":[{"polyline":"~~~~~~~~?"}]}`))
	_, _, cases := malformed()
	for _, c := range cases {
		f.Add([]byte(c.doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := plan.Decode(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		// Points are counted once per line: a group names a shared route
		// in a few bytes, and holds the route's line, not a copy.
		points, lines := 0, map[*orb.Point]bool{}
		count := func(r plan.Route) {
			if r.Geometry == nil {
				return
			}
			if l, ok := r.Geometry.Coordinates.(orb.LineString); ok && len(l) > 0 && !lines[&l[0]] {
				lines[&l[0]] = true
				points += len(l)
			}
		}
		for _, g := range p.Groups {
			count(g.Route)
		}
		for _, h := range p.Households {
			count(h.Walk)
		}
		if len(p.Groups)+len(p.Households) > len(data) || points > len(data) {
			t.Fatalf("%d groups, %d households and %d points from %d bytes", len(p.Groups), len(p.Households), points, len(data))
		}
		enc, err := plan.Encode(p)
		if err != nil {
			return // a version 1 geometry version 2 cannot hold (not a line, out of range)
		}
		q, err := plan.Decode(enc)
		if err != nil {
			t.Fatalf("a plan read and written does not read: %v\n%s", err, enc)
		}
		again, err := plan.Encode(q)
		if err != nil || !bytes.Equal(again, enc) {
			t.Fatalf("written, read and written again: %v\n%s\n%s", err, enc, again)
		}
	})
}
