package zonecost

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/paulmach/orb"
)

// threatPicture is what `muster threats --format geojson` emits: zones with
// the threat picture's own properties beside the ones routing reads.
const threatPicture = `{
  "type": "FeatureCollection",
  "features": [
    {"type": "Feature", "id": "abbey-gate",
     "geometry": {"type": "Point", "coordinates": [69.2254, 34.5606]},
     "properties": {"name": "Abbey Gate", "radius_m": 250, "forbidden": true, "risk": 0.9, "level": "critical",
                    "confidence": "high", "disputed": false, "explanation": "two independent sources, A1 and B2"}},
    {"type": "Feature",
     "geometry": {"type": "Polygon", "coordinates": [[[69.20, 34.55], [69.21, 34.55], [69.21, 34.56], [69.20, 34.56], [69.20, 34.55]],
                                                     [[69.204, 34.554], [69.204, 34.556], [69.206, 34.556], [69.206, 34.554], [69.204, 34.554]]]},
     "properties": {"id": "crowd-north", "risk": 0.3, "level": "moderate", "disputed": true}},
    {"type": "Feature",
     "geometry": {"type": "MultiPolygon", "coordinates": [
        [[[69.22, 34.57], [69.23, 34.57], [69.23, 34.58], [69.22, 34.57]]],
        [[[69.24, 34.57], [69.25, 34.57], [69.25, 34.58, 1800], [69.24, 34.57]]]]},
     "properties": {"id": 17, "name": "checkpoints", "forbidden": false, "risk": 0}},
    {"type": "Feature",
     "geometry": {"type": "Polygon", "coordinates": [[[69.1, 34.5], [69.11, 34.5], [69.11, 34.51], [69.1, 34.5]]]},
     "properties": null}
  ]
}`

func TestReadGeoJSONThreatPicture(t *testing.T) {
	zones, err := ReadGeoJSON(strings.NewReader(threatPicture), "threats.geojson")
	if err != nil {
		t.Fatal(err)
	}
	want := []muster.Zone{
		{ID: "abbey-gate", Name: "Abbey Gate", Center: orb.Point{69.2254, 34.5606}, RadiusM: 250, Forbidden: true, Risk: 0.9, Level: "critical"},
		{ID: "crowd-north", Polygon: orb.MultiPolygon{{
			{{69.20, 34.55}, {69.21, 34.55}, {69.21, 34.56}, {69.20, 34.56}, {69.20, 34.55}},
			{{69.204, 34.554}, {69.204, 34.556}, {69.206, 34.556}, {69.206, 34.554}, {69.204, 34.554}},
		}}, Risk: 0.3, Level: "moderate"},
		{ID: "17", Name: "checkpoints", Polygon: orb.MultiPolygon{
			{{{69.22, 34.57}, {69.23, 34.57}, {69.23, 34.58}, {69.22, 34.57}}},
			{{{69.24, 34.57}, {69.25, 34.57}, {69.25, 34.58}, {69.24, 34.57}}},
		}},
		// No forbidden and no risk: a bare shape in an avoid file is avoided.
		{ID: "threats.geojson#3", Polygon: orb.MultiPolygon{{{{69.1, 34.5}, {69.11, 34.5}, {69.11, 34.51}, {69.1, 34.5}}}}, Forbidden: true, Risk: 1},
	}
	if !reflect.DeepEqual(zones, want) {
		t.Fatalf("read\n%+v\nwant\n%+v", zones, want)
	}
}

func TestGeoJSONRoundTrip(t *testing.T) {
	c := kabul
	hole := square(c, -50, -50, 50, 50)
	for i, j := 0, len(hole)-1; i < j; i, j = i+1, j-1 {
		hole[i], hole[j] = hole[j], hole[i]
	}
	zones := []muster.Zone{
		{ID: "c", Name: "circle", Center: c, RadiusM: 123.5, Risk: 0.25, Level: "low"},
		{ID: "p", Polygon: orb.MultiPolygon{{square(c, -100, -100, 100, 100), hole}}, Forbidden: true, Risk: 1, Level: "critical"},
		{ID: "m", Polygon: orb.MultiPolygon{{square(c, 200, 0, 300, 100)}, {square(c, 400, 0, 500, 100)}}, Risk: 0.5},
	}
	var buf bytes.Buffer
	if err := WriteGeoJSON(&buf, zones); err != nil {
		t.Fatal(err)
	}
	back, err := ReadGeoJSON(&buf, "roundtrip")
	if err != nil {
		t.Fatalf("reading back what WriteGeoJSON wrote: %v", err)
	}
	if !reflect.DeepEqual(back, zones) {
		t.Fatalf("round trip changed the zones:\n%+v\n%+v", back, zones)
	}
	if err := WriteGeoJSON(io.Discard, []muster.Zone{{ID: "broken"}}); muster.ErrorCode(err) != muster.EINVALID {
		t.Errorf("writing a zone with no shape: err = %v", err)
	}
}

// feature wraps one feature's geometry and properties in a collection.
func feature(geometry, properties string) string {
	return fmt.Sprintf(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[69.2,34.5]},"properties":{"radius_m":10}},
{"type":"Feature","geometry":%s,"properties":%s}]}`, geometry, properties)
}

const okSquare = `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}`

func TestReadGeoJSONErrors(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		want        []string // substrings of the message
	}{
		{"not JSON", `{"type": "FeatureCollection", "features": [`, []string{"z.geojson", "not a GeoJSON FeatureCollection"}},
		{"syntax error line", "{\n\"type\": \"FeatureCollection\",\n\"features\": [}\n", []string{"line 3"}},
		{"a Feature alone", `{"type":"Feature","geometry":null,"properties":{}}`, []string{`type is "Feature", want "FeatureCollection"`}},
		{"no features", `{"type":"FeatureCollection"}`, []string{`no "features" array`}},
		{"feature type", `{"type":"FeatureCollection","features":[{"type":"Point"}]}`, []string{"feature 0", `type is "Point", want "Feature"`}},
		{"no geometry", feature(`null`, `{"id":"g"}`), []string{`feature 1 (id "g")`, "geometry is missing"}},
		{"unsupported geometry", feature(`{"type":"LineString","coordinates":[[0,0],[1,1]]}`, `{"id":"road"}`), []string{`feature 1 (id "road")`, `geometry type "LineString" is not supported`}},
		{"open ring", feature(`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}`, `{}`), []string{"feature 1", "ring 0 is not closed"}},
		{"short ring", feature(`{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}`, `{}`), []string{"ring 0 has 3 positions, need at least 4"}},
		{"no rings", feature(`{"type":"Polygon","coordinates":[]}`, `{}`), []string{"polygon has no rings"}},
		{"empty multipolygon", feature(`{"type":"MultiPolygon","coordinates":[]}`, `{}`), []string{"MultiPolygon has no polygons"}},
		{"bowtie", feature(`{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}`, `{"id":"bow"}`), []string{`(id "bow")`, "ring 0", "intersects itself"}},
		{"figure eight", feature(`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[2,1],[2,2],[1,2],[1,1],[0,1],[0,0]]]}`, `{}`), []string{"intersects itself"}},
		{"spike", feature(`{"type":"Polygon","coordinates":[[[0,0],[2,0],[1,0],[1,1],[0,0]]]}`, `{}`), []string{"folds back"}},
		{"hole crossing itself", feature(`{"type":"Polygon","coordinates":[[[0,0],[4,0],[4,4],[0,4],[0,0]],[[1,1],[3,3],[3,1],[1,3],[1,1]]]}`, `{}`), []string{"ring 1", "intersects itself"}},
		{"multipolygon bad ring", feature(`{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[0,0],[1,0],[1,1]]]]}`, `{}`), []string{"polygon 1", "ring 0 has 3 positions"}},
		{"lon out of range", feature(`{"type":"Polygon","coordinates":[[[0,0],[181,0],[1,1],[0,0]]]}`, `{}`), []string{"ring 0 position 1", "out of range"}},
		{"lat out of range", feature(`{"type":"Point","coordinates":[0,-91]}`, `{"radius_m":5}`), []string{"geometry.coordinates", "out of range"}},
		{"number too large", feature(`{"type":"Point","coordinates":[0,1e999]}`, `{"radius_m":5}`), []string{"feature 1", "geometry.coordinates"}},
		{"short position", feature(`{"type":"Point","coordinates":[0]}`, `{"radius_m":5}`), []string{"has 1 numbers"}},
		{"string coordinate", feature(`{"type":"Point","coordinates":["0","1"]}`, `{"radius_m":5}`), []string{"geometry.coordinates: not a position"}},
		{"risk above 1", feature(okSquare, `{"id":"r","risk":1.5}`), []string{`(id "r")`, "properties.risk: 1.5 is outside 0..1"}},
		{"negative risk", feature(okSquare, `{"risk":-0.1}`), []string{"properties.risk: -0.1"}},
		{"risk as text", feature(okSquare, `{"risk":"high"}`), []string{"properties.risk", `"\"high\"" is not a number`}},
		{"forbidden as text", feature(okSquare, `{"id":"f","forbidden":"yes"}`), []string{`(id "f")`, "properties.forbidden", "is not true or false"}},
		{"forbidden as number", feature(okSquare, `{"forbidden":1}`), []string{"properties.forbidden"}},
		{"no radius", feature(`{"type":"Point","coordinates":[0,0]}`, `{"id":"p"}`), []string{`(id "p")`, "properties.radius_m is missing"}},
		{"zero radius", feature(`{"type":"Point","coordinates":[0,0]}`, `{"radius_m":0}`), []string{"properties.radius_m: 0 must be positive"}},
		{"absurd radius", feature(`{"type":"Point","coordinates":[0,0]}`, `{"radius_m":2000001}`), []string{"radius_m: 2.000001e+06 is more than the 2000 km limit"}},
		{"radius as text", feature(`{"type":"Point","coordinates":[0,0]}`, `{"radius_m":"5 km"}`), []string{"properties.radius_m", "is not a number"}},
		{"level not a string", feature(okSquare, `{"level":3}`), []string{"properties.level"}},
		{"id an object", feature(okSquare, `{"id":{"a":1}}`), []string{"properties.id", "is not a string or a number"}},
		{"properties an array", feature(okSquare, `[1]`), []string{"feature 1", "not a GeoJSON Feature"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			zones, err := ReadGeoJSON(strings.NewReader(tc.input), "z.geojson")
			if err == nil {
				t.Fatalf("accepted: %+v", zones)
			}
			if muster.ErrorCode(err) != muster.EINVALID {
				t.Errorf("code %q, want %q", muster.ErrorCode(err), muster.EINVALID)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "z.geojson: ") {
				t.Errorf("error %q does not start with the file name", err)
			}
		})
	}
}

// ringJSON writes a closed ring of n vertices on a circle, or, when comb is
// set, a comb of long horizontal teeth: every edge overlaps every other in
// longitude, the worst case for the self-intersection sweep.
func ringJSON(n int, comb bool) string {
	var sb strings.Builder
	sb.WriteString(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[`)
	var pts [][2]float64
	if comb {
		teeth := (n - 2) / 4
		h := 1.0 / float64(teeth)
		for k := 0; k < teeth; k++ {
			y := float64(k) * h
			pts = append(pts, [2]float64{0, y}, [2]float64{1, y}, [2]float64{1, y + h/2}, [2]float64{0.01, y + h/2})
		}
		pts = append(pts, [2]float64{0, 1}, [2]float64{-0.01, 1}, [2]float64{-0.01, 0})
	} else {
		for k := 0; k < n-1; k++ {
			a := 2 * math.Pi * float64(k) / float64(n-1)
			pts = append(pts, [2]float64{math.Cos(a), math.Sin(a)})
		}
	}
	pts = append(pts, pts[0])
	for i, p := range pts {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, "[%.9f,%.9f]", p[0], p[1])
	}
	sb.WriteString(`]]}}]}`)
	return sb.String()
}

func TestReadGeoJSONLimits(t *testing.T) {
	if _, err := ReadGeoJSON(strings.NewReader(ringJSON(MaxRingVertices, false)), "big"); err != nil {
		t.Errorf("a ring of %d vertices (the limit) is rejected: %v", MaxRingVertices, err)
	}
	if _, err := ReadGeoJSON(strings.NewReader(ringJSON(MaxRingVertices-10, true)), "comb"); err != nil {
		t.Errorf("a valid comb ring is rejected: %v", err)
	}
	_, err := ReadGeoJSON(strings.NewReader(ringJSON(MaxRingVertices+1, false)), "huge")
	if err == nil || !strings.Contains(err.Error(), "more than the limit") {
		t.Errorf("a ring over the limit: err = %v", err)
	}
	// Too many vertices in all: many rings, each under the limit.
	var sb strings.Builder
	sb.WriteString(`{"type":"FeatureCollection","features":[`)
	ring := ringJSON(9000, false)
	feat := ring[strings.Index(ring, "[{")+1 : len(ring)-2]
	for i := 0; i*9000 <= MaxTotalVertices; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(feat)
	}
	sb.WriteString(`]}`)
	_, err = ReadGeoJSON(strings.NewReader(sb.String()), "many")
	if err == nil || !strings.Contains(err.Error(), fmt.Sprint(MaxTotalVertices)) {
		t.Errorf("a file over the total vertex limit: err = %v", err)
	}
	// Over the size limit: refused after reading just past it.
	big := io.MultiReader(strings.NewReader(`{"type":"FeatureCollection","features":[], "pad": "`), zeros{})
	_, err = ReadGeoJSON(big, "big.geojson")
	if muster.ErrorCode(err) != muster.EINVALID || !strings.Contains(err.Error(), "64 MiB") {
		t.Errorf("an endless file: err = %v", err)
	}
}

// zeros is an endless stream of '0'.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '0'
	}
	return len(p), nil
}

func BenchmarkReadGeoJSONWorstRing(b *testing.B) {
	in := ringJSON(MaxRingVertices-10, true)
	b.SetBytes(int64(len(in)))
	cpu0 := processCPU()
	for b.Loop() {
		if _, err := ReadGeoJSON(strings.NewReader(in), "comb"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

func FuzzReadGeoJSON(f *testing.F) {
	f.Add(threatPicture)
	f.Add(feature(okSquare, `{"id":"x","risk":0.5}`))
	f.Add(feature(`{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}`, `{}`))
	f.Add(feature(`{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[2,0],[3,0],[3,1],[2,0]]]]}`, `{"forbidden":false}`))
	f.Add(feature(`{"type":"Point","coordinates":[179.9,-89.9]}`, `{"radius_m":499999}`))
	f.Add(`{"type":"FeatureCollection","features":[null]}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, input string) {
		zones, err := ReadGeoJSON(strings.NewReader(input), "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz: ") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		for i := range zones {
			if err := checkZone(&zones[i]); err != nil {
				t.Fatalf("accepted zone %d is unusable: %v", i, err)
			}
		}
		var buf bytes.Buffer
		if err := WriteGeoJSON(&buf, zones); err != nil {
			t.Fatalf("cannot write what was read: %v", err)
		}
		back, err := ReadGeoJSON(&buf, "fuzz")
		if err != nil {
			t.Fatalf("cannot read back what was written: %v", err)
		}
		if !reflect.DeepEqual(back, zones) {
			t.Fatalf("round trip changed the zones:\n%+v\n%+v", back, zones)
		}
		// Whatever was accepted can be applied and checked without panic.
		_ = Containing(orb.Point{0, 0}, zones)
		_ = CheckForbidden(orb.LineString{{0, 0}, {1, 1}}, zones)
		g := fuzzGraph(t)
		if _, err := Compute(context.Background(), g, newBruteFinder(g), zones); err != nil {
			t.Fatalf("Compute refuses accepted zones: %v", err)
		}
	})
}

var (
	fuzzGraphOnce sync.Once
	fuzzGraphG    *roadgraph.Graph
)

// fuzzGraph is a small graph where fuzzed zones are likely to fall: a grid
// around (0, 0), arcs across the antimeridian and near a pole.
func fuzzGraph(t *testing.T) *roadgraph.Graph {
	fuzzGraphOnce.Do(func() {
		var b graphBuilder
		for _, l := range []orb.LineString{
			{{0, 0}, {1, 1}}, {{0, 1}, {1, 0}}, {{0.5, -0.5}, {0.5, 0.5}, {0.6, 0.7}}, {{0, 0}},
			{{179.9, 10}, {-179.9, 10}}, {{10, 89.9}, {100, 89.9}}, {{69.2, 34.5}, {69.3, 34.6}},
		} {
			b.line(l, 1000)
		}
		fuzzGraphG, _ = b.build(t)
	})
	return fuzzGraphG
}
