package citygen

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muster-evac/muster/internal/testshared"

	muster "github.com/muster-evac/muster"
	"github.com/muster-evac/muster/places"
	"github.com/paulmach/orb"
	orbplanar "github.com/paulmach/orb/planar"
	"github.com/paulmach/osm"
)

// cityCase is one generated city the property tests check.
type cityCase struct {
	seed  int64
	scale float64
	city  *City
}

var (
	cityOnce  sync.Once
	cityCases []cityCase
	cityErr   error
)

// allCities returns the cities every property is checked on: the default
// and the small test city of seed 1, and a few other seeds and sizes,
// generated once.
func allCities(t testing.TB) []cityCase {
	t.Helper()
	cityOnce.Do(func() {
		for _, k := range []struct {
			seed  int64
			scale float64
		}{{1, 0.2}, {1, 1}, {2, 0.2}, {3, 0.5}, {4, 0.05}} {
			c, err := Generate(context.Background(), Options{Seed: k.seed, Scale: k.scale})
			if err != nil {
				cityErr = fmt.Errorf("seed %d scale %v: %w", k.seed, k.scale, err)
				return
			}
			cityCases = append(cityCases, cityCase{k.seed, k.scale, c})
		}
	})
	if cityErr != nil {
		t.Fatal(cityErr)
	}
	return cityCases
}

// testCity returns the seed-1 city at scale 0.2 or 1.
func testCity(t testing.TB, scale float64) *City {
	t.Helper()
	for _, c := range allCities(t) {
		if c.seed == 1 && c.scale == scale {
			return c.city
		}
	}
	t.Fatalf("no seed-1 test city at scale %v", scale)
	return nil
}

// segment is one stretch of a highway way between consecutive nodes.
type segment struct {
	way  *osm.Way
	a, b orb.Point
}

func highwaySegments(c *City) []segment {
	pos := make(map[osm.NodeID]orb.Point, len(c.OSM.Nodes))
	for _, n := range c.OSM.Nodes {
		pos[n.ID] = orb.Point{n.Lon, n.Lat}
	}
	var out []segment
	for _, w := range c.OSM.Ways {
		if w.Tags.Find("highway") == "" {
			continue
		}
		for i := 0; i+1 < len(w.Nodes); i++ {
			out = append(out, segment{w, pos[w.Nodes[i].ID], pos[w.Nodes[i+1].ID]})
		}
	}
	return out
}

// roadNodes returns the position of every node of a highway way.
func roadNodes(c *City) []orb.Point {
	used := map[osm.NodeID]bool{}
	for _, w := range c.OSM.Ways {
		if w.Tags.Find("highway") != "" {
			for _, n := range w.Nodes {
				used[n.ID] = true
			}
		}
	}
	var out []orb.Point
	for _, n := range c.OSM.Nodes {
		if used[n.ID] {
			out = append(out, orb.Point{n.Lon, n.Lat})
		}
	}
	return out
}

// crossLonLat returns where segments ab and cd cross, treating lon/lat as
// a plane (exact enough over a few hundred metres).
func crossLonLat(a, b, c, d orb.Point) (orb.Point, bool) {
	av, bv, cv, dv := vec{a[0], a[1]}, vec{b[0], b[1]}, vec{c[0], c[1]}, vec{d[0], d[1]}
	_, _, p, ok := segmentIntersection(av, bv, cv, dv)
	return orb.Point{p.X, p.Y}, ok
}

// segmentIndex buckets a line's segments by longitude so that checking
// every road segment against it stays fast.
type segmentIndex struct {
	buckets map[int][]int
}

const segmentBucketDeg = 0.002

func newSegmentIndex(line orb.LineString) *segmentIndex {
	ix := &segmentIndex{buckets: map[int][]int{}}
	for i := 0; i+1 < len(line); i++ {
		lo := int(math.Floor(math.Min(line[i][0], line[i+1][0]) / segmentBucketDeg))
		hi := int(math.Floor(math.Max(line[i][0], line[i+1][0]) / segmentBucketDeg))
		for k := lo; k <= hi; k++ {
			ix.buckets[k] = append(ix.buckets[k], i)
		}
	}
	return ix
}

// candidates returns the segments whose longitude range may meet ab's,
// each once.
func (ix *segmentIndex) candidates(a, b orb.Point) []int {
	lo := int(math.Floor(math.Min(a[0], b[0]) / segmentBucketDeg))
	hi := int(math.Floor(math.Max(a[0], b[0]) / segmentBucketDeg))
	var out []int
	for k := lo; k <= hi; k++ {
		for _, i := range ix.buckets[k] {
			if !slices.Contains(out, i) {
				out = append(out, i)
			}
		}
	}
	return out
}

func distM(a, b orb.Point) float64 { return muster.DistanceM(a[0], a[1], b[0], b[1]) }

func nearestM(p orb.Point, pts []orb.Point) float64 {
	best := math.Inf(1)
	for _, q := range pts {
		best = math.Min(best, distM(p, q))
	}
	return best
}

func writeXML(t *testing.T, c *City) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := c.WriteOSMXML(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGenerateIsDeterministic(t *testing.T) {
	ctx := context.Background()
	a, err := Generate(ctx, Options{Seed: 7, Scale: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(ctx, Options{Seed: 7, Scale: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Generate(ctx, Options{Seed: 8, Scale: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	xa, xb, xc := writeXML(t, a), writeXML(t, b), writeXML(t, c)
	if !bytes.Equal(xa, xb) {
		t.Errorf("seed 7 twice gave different XML (%d and %d bytes)", len(xa), len(xb))
	}
	if bytes.Equal(xa, xc) {
		t.Errorf("seeds 7 and 8 gave identical XML")
	}
	var pa, pb bytes.Buffer
	if err := a.WritePlacesGeoJSON(&pa); err != nil {
		t.Fatal(err)
	}
	if err := b.WritePlacesGeoJSON(&pb); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pa.Bytes(), pb.Bytes()) {
		t.Errorf("seed 7 twice gave different places")
	}
	// The XML is a well-formed OSM file with every way's nodes in it.
	var back osm.OSM
	if err := xml.Unmarshal(xa, &back); err != nil {
		t.Fatalf("reading back the XML: %v", err)
	}
	if len(back.Nodes) != len(a.OSM.Nodes) || len(back.Ways) != len(a.OSM.Ways) {
		t.Fatalf("XML round trip: %d nodes %d ways, want %d and %d", len(back.Nodes), len(back.Ways), len(a.OSM.Nodes), len(a.OSM.Ways))
	}
	ids := map[osm.NodeID]bool{}
	for _, n := range back.Nodes {
		if ids[n.ID] {
			t.Fatalf("node id %d twice", n.ID)
		}
		ids[n.ID] = true
	}
	for _, w := range back.Ways {
		if len(w.Nodes) < 2 {
			t.Errorf("way %d has %d nodes", w.ID, len(w.Nodes))
		}
		for _, n := range w.Nodes {
			if !ids[n.ID] {
				t.Fatalf("way %d refers to missing node %d", w.ID, n.ID)
			}
		}
	}
}

func TestRiverIsCrossedOnlyAtBridges(t *testing.T) {
	for _, cc := range allCities(t) {
		c, scale := cc.city, cc.scale
		river := c.River
		if len(river) < 10 {
			t.Fatalf("seed %d scale %v: river has %d points", cc.seed, scale, len(river))
		}
		roadBridges, footBridges := map[osm.WayID]bool{}, map[osm.WayID]bool{}
		var crossings []orb.Point
		riverIndex := newSegmentIndex(river)
		for _, s := range highwaySegments(c) {
			for _, i := range riverIndex.candidates(s.a, s.b) {
				x, ok := crossLonLat(s.a, s.b, river[i], river[i+1])
				if !ok {
					continue
				}
				if s.way.Tags.Find("bridge") != "yes" {
					t.Errorf("seed %d scale %v: way %d (%s %q) crosses the river at %v without a bridge", cc.seed, scale, s.way.ID, s.way.Tags.Find("highway"), s.way.Tags.Find("name"), x)
					continue
				}
				crossings = append(crossings, x)
				if carHighways[s.way.Tags.Find("highway")] {
					roadBridges[s.way.ID] = true
				} else {
					footBridges[s.way.ID] = true
				}
			}
		}
		if n := len(roadBridges); n < 3 || n > 6 {
			t.Errorf("seed %d scale %v: %d road bridges, want 3 to 6", cc.seed, scale, n)
		}
		if len(footBridges) < 1 {
			t.Errorf("seed %d scale %v: no footbridge", cc.seed, scale)
		}
		if len(c.Bridges) != len(roadBridges)+len(footBridges) {
			t.Errorf("seed %d scale %v: City.Bridges has %d points for %d bridges", cc.seed, scale, len(c.Bridges), len(roadBridges)+len(footBridges))
		}
		for _, b := range c.Bridges {
			if d := nearestM(b, crossings); d > 5 {
				t.Errorf("seed %d scale %v: bridge point %v is %.0f m from any bridge over the river", cc.seed, scale, b, d)
			}
		}
	}
}

func TestGatesAreOnRoads(t *testing.T) {
	for _, cc := range allCities(t) {
		c, scale := cc.city, cc.scale
		nodes := roadNodes(c)
		gates := 0
		for _, p := range c.Places.Places {
			if p.Kind != muster.PlaceGate {
				continue
			}
			gates++
			pt := p.Geometry.(orb.Point)
			if d := nearestM(pt, nodes); d > 3 {
				t.Errorf("seed %d scale %v: %s is %.1f m from the nearest road node", cc.seed, scale, p.Name, d)
			}
			if d := orbplanar.DistanceFrom(c.Airport, pt); d > 1e-6 {
				t.Errorf("seed %d scale %v: %s is not on the airport fence (%.2g degrees off)", cc.seed, scale, p.Name, d)
			}
			if p.ThroughputPerHour <= 0 || p.CrowdLimit <= 0 || p.Status != muster.GateOpen || p.Opens == "" || p.Closes == "" {
				t.Errorf("seed %d scale %v: %s lacks gate properties: %+v", cc.seed, scale, p.Name, p)
			}
		}
		if gates != 4 {
			t.Errorf("seed %d scale %v: %d gates, want 4", cc.seed, scale, gates)
		}
	}
}

func TestAirportIsEnteredOnlyAtGates(t *testing.T) {
	for _, cc := range allCities(t) {
		c, scale := cc.city, cc.scale
		var gates []orb.Point
		for _, p := range c.Places.Places {
			if p.Kind == muster.PlaceGate {
				gates = append(gates, p.Geometry.(orb.Point))
			}
		}
		fence := c.Airport[0]
		near := c.Airport.Bound().Pad(0.001)
		entries := 0
		for _, s := range highwaySegments(c) {
			if !near.Intersects(orb.MultiPoint{s.a, s.b}.Bound()) {
				continue // far from the airport
			}
			var touch []orb.Point
			for _, p := range []orb.Point{s.a, s.b} {
				if orbplanar.PolygonContains(c.Airport, p) || orbplanar.DistanceFrom(fence, p) < 1e-7 {
					touch = append(touch, p)
				}
			}
			for i := 0; i+1 < len(fence); i++ {
				if x, ok := crossLonLat(s.a, s.b, fence[i], fence[i+1]); ok {
					touch = append(touch, x)
				}
			}
			for _, p := range touch {
				entries++
				if d := nearestM(p, gates); d > 3 {
					t.Errorf("seed %d scale %v: way %d (%s %q) enters the airport at %v, %.0f m from any gate", cc.seed, scale, s.way.ID, s.way.Tags.Find("highway"), s.way.Tags.Find("name"), p, d)
				}
			}
		}
		if entries == 0 {
			t.Errorf("seed %d scale %v: no road reaches the airport", cc.seed, scale)
		}
	}
}

func TestCityHasItsRoadKinds(t *testing.T) {
	c := testCity(t, 1)
	pos := map[osm.NodeID]orb.Point{}
	for _, n := range c.OSM.Nodes {
		pos[n.ID] = orb.Point{n.Lon, n.Lat}
	}
	count := map[string]int{}
	for _, w := range c.OSM.Ways {
		hw := w.Tags.Find("highway")
		count["highway="+hw]++
		for _, k := range []string{"oneway", "junction", "bridge"} {
			if v := w.Tags.Find(k); v != "" {
				count[k+"="+v]++
			}
		}
		if w.Tags.Find("maxspeed") != "" {
			count["maxspeed"]++
		}
		if w.Tags.Find("junction") == "roundabout" {
			if w.Nodes[0].ID != w.Nodes[len(w.Nodes)-1].ID {
				t.Errorf("roundabout way %d is not closed", w.ID)
			}
			// Right-hand traffic drives roundabouts counter-clockwise.
			var r orb.Ring
			for _, n := range w.Nodes {
				r = append(r, pos[n.ID])
			}
			if r.Orientation() != orb.CCW {
				t.Errorf("roundabout way %d runs clockwise", w.ID)
			}
		}
	}
	// One-way lanes alternate: along each axis of the grid about as many
	// run one way as the other.
	var dirs [4]int // east, north, west, south
	for _, w := range c.OSM.Ways {
		if w.Tags.Find("oneway") != "yes" {
			continue
		}
		a, b := pos[w.Nodes[0].ID], pos[w.Nodes[len(w.Nodes)-1].ID]
		bearing := math.Atan2(b[1]-a[1], (b[0]-a[0])*math.Cos(a[1]*math.Pi/180))
		dirs[int(math.Round(bearing/(math.Pi/2))+4)%4]++
	}
	for axis := 0; axis < 2; axis++ {
		x, y := dirs[axis], dirs[axis+2]
		if x+y < 20 || min(x, y)*10 < (x+y)*3 {
			t.Errorf("one-way ways along axis %d: %d one way, %d the other; want both directions well represented", axis, x, y)
		}
	}
	for _, k := range []string{
		"highway=trunk", "highway=primary", "highway=secondary", "highway=tertiary", "highway=residential",
		"highway=unclassified", "highway=living_street", "highway=service", "highway=footway", "highway=path",
		"highway=steps", "highway=pedestrian", "oneway=yes", "junction=roundabout", "bridge=yes", "maxspeed",
	} {
		if count[k] == 0 {
			t.Errorf("no way with %s", k)
		}
	}
	if count["junction=roundabout"] < 3 {
		t.Errorf("%d roundabouts, want a few", count["junction=roundabout"])
	}
	if count["highway=residential"] < count["highway=primary"]*10 {
		t.Errorf("residential ways (%d) should far outnumber primary ones (%d)", count["highway=residential"], count["highway=primary"])
	}
}

func TestRallyPointsAndLandmarks(t *testing.T) {
	for _, cc := range allCities(t) {
		c, scale := cc.city, cc.scale
		nodes := roadNodes(c)
		var rally []orb.Point
		ids := map[string]bool{}
		landmarks := 0
		for _, p := range c.Places.Places {
			if ids[p.ID] {
				t.Errorf("seed %d scale %v: place id %q twice", cc.seed, scale, p.ID)
			}
			ids[p.ID] = true
			switch p.Kind {
			case muster.PlaceRally:
				pt := p.Geometry.(orb.Point)
				rally = append(rally, pt)
				if p.Capacity <= 0 || p.Name == "" {
					t.Errorf("seed %d scale %v: rally point %+v lacks a name or capacity", cc.seed, scale, p)
				}
				if d := nearestM(pt, nodes); d > 1 {
					t.Errorf("seed %d scale %v: rally point %s is %.1f m off the road", cc.seed, scale, p.Name, d)
				}
				if orbplanar.PolygonContains(c.Airport, pt) {
					t.Errorf("seed %d scale %v: rally point %s is inside the airport", cc.seed, scale, p.Name)
				}
			case muster.PlaceLandmark:
				landmarks++
				if len(p.Aliases) == 0 {
					t.Errorf("seed %d scale %v: landmark %s has no aliases", cc.seed, scale, p.Name)
				}
			}
		}
		want := math.Max(5, math.Round(30*scale))
		if n := float64(len(rally)); n < want*0.8 || n > want*1.2 {
			t.Errorf("seed %d scale %v: %v rally points, want about %v", cc.seed, scale, n, want)
		}
		if landmarks < 3 {
			t.Errorf("seed %d scale %v: %d landmarks", cc.seed, scale, landmarks)
		}
		// Spread over the city: no two closer than a fraction of the
		// spacing an even spread would give.
		minD := math.Inf(1)
		for i := range rally {
			for j := i + 1; j < len(rally); j++ {
				minD = math.Min(minD, distM(rally[i], rally[j]))
			}
		}
		spacing := 14000 * math.Sqrt(scale) / math.Sqrt(float64(len(rally)))
		if minD < spacing/4 {
			t.Errorf("seed %d scale %v: two rally points only %.0f m apart (even spacing would be about %.0f m)", cc.seed, scale, minD, spacing)
		}
		if c.Places.Timezone != "Asia/Kabul" {
			t.Errorf("timezone %q at the default centre", c.Places.Timezone)
		}
	}
}

func TestOptionsAreValidated(t *testing.T) {
	bad := []struct {
		opts Options
		want string
	}{
		{Options{Scale: -1}, "scale"},
		{Options{Scale: 16.5}, "scale"},
		{Options{Scale: math.NaN()}, "scale"},
		{Options{Scale: math.Inf(1)}, "scale"},
		{Options{Center: orb.Point{10, 95}}, "latitude"},
		{Options{Center: orb.Point{10, 75}}, "latitude"},
		{Options{Center: orb.Point{200, 10}}, "longitude"},
		{Options{Center: orb.Point{179.9, 10}}, "longitude"},
		{Options{Center: orb.Point{math.NaN(), 10}}, "not a number"},
	}
	for _, b := range bad {
		_, err := Generate(context.Background(), b.opts)
		if err == nil {
			t.Errorf("%+v: no error", b.opts)
			continue
		}
		if muster.ErrorCode(err) != muster.EINVALID || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%+v: error %q (code %s), want an invalid-input error about %s", b.opts, err, muster.ErrorCode(err), b.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Generate(ctx, Options{Scale: 0.2}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: error %v", err)
	}
	// A deadline that passes mid-way stops a big city's generation.
	ctx, cancel = context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := Generate(ctx, Options{Scale: 4}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("expired deadline: error %v", err)
	}
}

func TestCentreShiftsTheCity(t *testing.T) {
	porto := orb.Point{-8.61, 41.15}
	c, err := Generate(context.Background(), Options{Seed: 1, Scale: 0.2, Center: porto})
	if err != nil {
		t.Fatal(err)
	}
	def := testCity(t, 0.2)
	if c.Places.Timezone != "Etc/GMT+1" {
		t.Errorf("timezone %q at lon %v, want Etc/GMT+1", c.Places.Timezone, porto[0])
	}
	for _, n := range c.OSM.Nodes {
		if d := distM(porto, orb.Point{n.Lon, n.Lat}); d > 15000 {
			t.Fatalf("node %d is %.0f m from the centre", n.ID, d)
		}
	}
	// The layout is the same in metres: each place lies as far from the
	// centre as in the default city.
	if len(c.Places.Places) != len(def.Places.Places) {
		t.Fatalf("%d places, default city has %d", len(c.Places.Places), len(def.Places.Places))
	}
	defCentre := orb.Point{DefaultLon, DefaultLat}
	for i, p := range c.Places.Places {
		q := def.Places.Places[i]
		if p.ID != q.ID {
			t.Fatalf("place %d is %s here and %s in the default city", i, p.ID, q.ID)
		}
		a, b := orbplanar.CentroidArea(p.Geometry)
		_ = b
		qa, _ := orbplanar.CentroidArea(q.Geometry)
		da, db := distM(porto, a), distM(defCentre, qa)
		if math.Abs(da-db) > 0.01*db+5 {
			t.Errorf("%s is %.0f m from the centre, %.0f m in the default city", p.ID, da, db)
		}
	}
}

func TestPlacesGeoJSON(t *testing.T) {
	c := testCity(t, 0.2)
	var buf bytes.Buffer
	if err := c.WritePlacesGeoJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Type     string `json:"type"`
		Timezone string `json:"timezone"`
		Features []struct {
			Type     string `json:"type"`
			Geometry struct {
				Type        string          `json:"type"`
				Coordinates json.RawMessage `json:"coordinates"`
			} `json:"geometry"`
			Properties map[string]any `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("places file is not JSON: %v", err)
	}
	if doc.Type != "FeatureCollection" || doc.Timezone != "Asia/Kabul" || len(doc.Features) != len(c.Places.Places) {
		t.Fatalf("type %q timezone %q, %d features for %d places", doc.Type, doc.Timezone, len(doc.Features), len(c.Places.Places))
	}
	// muster's own places reader accepts it and reads back the same places.
	back, err := places.Read(bytes.NewReader(buf.Bytes()), "generated places")
	if err != nil {
		t.Fatalf("places reader rejects the generated places: %v", err)
	}
	if back.Timezone != c.Places.Timezone || len(back.Places) != len(c.Places.Places) {
		t.Fatalf("read back timezone %q and %d places, want %q and %d", back.Timezone, len(back.Places), c.Places.Timezone, len(c.Places.Places))
	}
	for i, p := range back.Places {
		q := c.Places.Places[i]
		if p.ID != q.ID || p.Name != q.Name || p.Kind != q.Kind || p.Capacity != q.Capacity || p.ThroughputPerHour != q.ThroughputPerHour ||
			!orb.Equal(p.Geometry, q.Geometry) {
			t.Errorf("place %d read back as %+v, want %+v", i, p, q)
		}
	}
	kinds := map[string]int{}
	for i, f := range doc.Features {
		kind, _ := f.Properties["kind"].(string)
		kinds[kind]++
		if f.Type != "Feature" || f.Properties["id"] == "" || f.Properties["name"] == "" {
			t.Errorf("feature %d: %+v", i, f)
		}
		switch kind {
		case "airport":
			var rings [][][2]float64
			if f.Geometry.Type != "Polygon" || json.Unmarshal(f.Geometry.Coordinates, &rings) != nil || len(rings[0]) < 4 || rings[0][0] != rings[0][len(rings[0])-1] {
				t.Errorf("airport geometry %s %s", f.Geometry.Type, f.Geometry.Coordinates)
			}
		case "gate":
			for _, k := range []string{"throughput_per_hour", "crowd_limit", "status", "opens", "closes", "groups"} {
				if f.Properties[k] == nil {
					t.Errorf("gate %v lacks %s", f.Properties["name"], k)
				}
			}
		case "rally":
			if f.Properties["capacity"] == nil {
				t.Errorf("rally point %v lacks capacity", f.Properties["name"])
			}
		}
		if kind != "airport" {
			var pt [2]float64
			if f.Geometry.Type != "Point" || json.Unmarshal(f.Geometry.Coordinates, &pt) != nil || !muster.ValidLatLon(pt[1], pt[0]) {
				t.Errorf("%v: geometry %s %s", f.Properties["name"], f.Geometry.Type, f.Geometry.Coordinates)
			}
		}
	}
	if kinds["airport"] != 1 || kinds["gate"] != 4 || kinds["rally"] < 5 || kinds["landmark"] < 3 {
		t.Errorf("kinds %v", kinds)
	}
}

func TestKabulScenarioPlacesSnapToCity(t *testing.T) {
	path := testshared.Path(t, "scenarios/kabul-2021/places.geojson")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Features []struct {
			Geometry struct {
				Type        string          `json:"type"`
				Coordinates json.RawMessage `json:"coordinates"`
			} `json:"geometry"`
			Properties struct {
				ID, Name, Kind string
			} `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := testCity(t, 1)
	nodes := roadNodes(c)
	gates := map[string]orb.Point{}
	for _, p := range c.Places.Places {
		if p.Kind == muster.PlaceGate {
			gates[p.Name] = p.Geometry.(orb.Point)
		}
	}
	checked := 0
	for _, f := range doc.Features {
		if f.Geometry.Type != "Point" {
			continue
		}
		var pt orb.Point
		if err := json.Unmarshal(f.Geometry.Coordinates, &pt); err != nil {
			t.Fatalf("%s: %s: %v", path, f.Properties.ID, err)
		}
		switch f.Properties.Kind {
		case "gate":
			g, ok := gates[f.Properties.Name]
			if !ok {
				t.Errorf("the city has no %s", f.Properties.Name)
				continue
			}
			limit := 300.0 // approximate positions
			if f.Properties.Name == "Abbey Gate" || f.Properties.Name == "East Gate" {
				limit = 50
			}
			if d := distM(g, pt); d > limit {
				t.Errorf("%s is %.0f m from the scenario's, want within %.0f m", f.Properties.Name, d, limit)
			}
			checked++
		case "rally":
			if d := nearestM(pt, nodes); d > 250 {
				t.Errorf("scenario rally point %s is %.0f m from the nearest road", f.Properties.Name, d)
			}
			checked++
		}
	}
	if checked < 10 {
		t.Errorf("checked only %d scenario places", checked)
	}
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		if _, err := Generate(context.Background(), Options{Seed: 1, Scale: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
