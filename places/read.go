// Package places reads a places file (a GeoJSON FeatureCollection of gates,
// rally points, landmarks and areas) into muster.Places, validates it, and
// resolves the names that reports and operators use for those places.
package places

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // time zones must resolve on hosts without a zoneinfo database

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
)

// MaxFileBytes bounds a places file, so a wrong path to a huge file fails
// fast instead of exhausting memory.
const MaxFileBytes = 64 << 20

// ReadFile reads and validates the places file at path.
func ReadFile(path string) (*muster.Places, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, muster.Errorf(muster.EINVALID, "places file: %v", err)
	}
	defer f.Close()
	p, err := Read(f, path)
	if err != nil {
		return nil, err
	}
	return p, nil
}

type fileJSON struct {
	Type     string        `json:"type"`
	Timezone string        `json:"timezone"`
	Features []featureJSON `json:"features"`
}

type featureJSON struct {
	Type       string          `json:"type"`
	Geometry   *geometryJSON   `json:"geometry"`
	Properties *propertiesJSON `json:"properties"`
}

type geometryJSON struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
}

type propertiesJSON struct {
	ID                string   `json:"id"`
	Name              string   `json:"name"`
	Aliases           []string `json:"aliases"`
	Kind              string   `json:"kind"`
	Groups            []string `json:"groups"`
	RadiusM           *float64 `json:"radius_m"`
	ThroughputPerHour int      `json:"throughput_per_hour"`
	CrowdLimit        int      `json:"crowd_limit"`
	Status            string   `json:"status"`
	Capacity          int      `json:"capacity"`
	Opens             string   `json:"opens"`
	Closes            string   `json:"closes"`
}

var placeKinds = []string{muster.PlaceAirport, muster.PlaceGate, muster.PlaceRally, muster.PlaceLandmark, muster.PlaceArea}
var gateStatuses = []string{muster.GateOpen, muster.GateRestricted, muster.GateClosed}
var hhmm = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$`)

// Read reads and validates a places file from r; name says where it came
// from in error messages. Every error names the feature and the property.
func Read(r io.Reader, name string) (*muster.Places, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("places file %s: %w", name, err)
	}
	if len(data) > MaxFileBytes {
		return nil, muster.Errorf(muster.EINVALID, "places file %s: larger than %d bytes", name, MaxFileBytes)
	}
	var fj fileJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&fj); err != nil {
		return nil, muster.Errorf(muster.EINVALID, "places file %s: not a GeoJSON FeatureCollection: %v", name, err)
	}
	if fj.Type != "FeatureCollection" {
		return nil, muster.Errorf(muster.EINVALID, "places file %s: type is %q, want \"FeatureCollection\"", name, fj.Type)
	}
	if fj.Timezone != "" {
		if !validTimezone(fj.Timezone) {
			return nil, muster.Errorf(muster.EINVALID, "places file %s: timezone %q is not an IANA time zone name", name, fj.Timezone)
		}
	}
	out := &muster.Places{Timezone: fj.Timezone, Places: make([]muster.Place, 0, len(fj.Features))}
	ids := map[string]int{}
	for i, f := range fj.Features {
		where := fmt.Sprintf("places file %s: feature %d", name, i)
		p, err := readFeature(f, where)
		if err != nil {
			return nil, err
		}
		if j, dup := ids[p.ID]; dup {
			return nil, muster.Errorf(muster.EINVALID, "%s: id %q is also the id of feature %d", where, p.ID, j)
		}
		ids[p.ID] = i
		out.Places = append(out.Places, p)
	}
	// Ids are unique (above); names and aliases may repeat (a report names
	// such a place by its id), but every name needs a letter or digit and
	// a group may share its name only with its own members.
	if _, err := NewIndex(out); err != nil {
		return nil, fmt.Errorf("places file %s: %w", name, err)
	}
	return out, nil
}

func readFeature(f featureJSON, where string) (muster.Place, error) {
	var p muster.Place
	if f.Type != "Feature" {
		return p, muster.Errorf(muster.EINVALID, "%s: type is %q, want \"Feature\"", where, f.Type)
	}
	if f.Properties == nil {
		return p, muster.Errorf(muster.EINVALID, "%s: properties missing", where)
	}
	pr := f.Properties
	if strings.TrimSpace(pr.ID) == "" {
		return p, muster.Errorf(muster.EINVALID, "%s: property id missing", where)
	}
	where = fmt.Sprintf("%s (id %q)", where, pr.ID)
	if strings.TrimSpace(pr.Name) == "" {
		return p, muster.Errorf(muster.EINVALID, "%s: property name missing", where)
	}
	if !contains(placeKinds, pr.Kind) {
		return p, muster.Errorf(muster.EINVALID, "%s: property kind %q is not one of %s", where, pr.Kind, strings.Join(placeKinds, ", "))
	}
	for _, a := range pr.Aliases {
		if strings.TrimSpace(a) == "" {
			return p, muster.Errorf(muster.EINVALID, "%s: property aliases holds an empty name", where)
		}
	}
	for _, g := range pr.Groups {
		if strings.TrimSpace(g) == "" {
			return p, muster.Errorf(muster.EINVALID, "%s: property groups holds an empty name", where)
		}
	}
	if f.Geometry == nil {
		return p, muster.Errorf(muster.EINVALID, "%s: geometry missing", where)
	}
	g, err := readGeometry(f.Geometry)
	if err != nil {
		return p, muster.Errorf(muster.EINVALID, "%s: geometry: %v", where, err)
	}
	if pr.RadiusM != nil {
		r := *pr.RadiusM
		if math.IsNaN(r) || r <= 0 || r > 1_000_000 {
			return p, muster.Errorf(muster.EINVALID, "%s: property radius_m %v is not in (0, 1000000]", where, r)
		}
		p.RadiusM = r
	}
	for _, c := range []struct {
		name string
		v    int
	}{{"throughput_per_hour", pr.ThroughputPerHour}, {"crowd_limit", pr.CrowdLimit}, {"capacity", pr.Capacity}} {
		if c.v < 0 {
			return p, muster.Errorf(muster.EINVALID, "%s: property %s %d is negative", where, c.name, c.v)
		}
	}
	if pr.Status != "" && !contains(gateStatuses, pr.Status) {
		return p, muster.Errorf(muster.EINVALID, "%s: property status %q is not one of %s", where, pr.Status, strings.Join(gateStatuses, ", "))
	}
	if pr.Kind == muster.PlaceGate && pr.Status == "" {
		pr.Status = muster.GateOpen // a gate nobody said is shut is taken as open
	}
	for _, c := range []struct{ name, v string }{{"opens", pr.Opens}, {"closes", pr.Closes}} {
		if c.v != "" && !hhmm.MatchString(c.v) {
			return p, muster.Errorf(muster.EINVALID, "%s: property %s %q is not a local time HH:MM", where, c.name, c.v)
		}
	}
	if (pr.Opens == "") != (pr.Closes == "") {
		return p, muster.Errorf(muster.EINVALID, "%s: properties opens and closes must be given together", where)
	}
	p = muster.Place{
		ID: pr.ID, Name: pr.Name, Aliases: pr.Aliases, Kind: pr.Kind, Groups: pr.Groups,
		Geometry: g, RadiusM: p.RadiusM,
		ThroughputPerHour: pr.ThroughputPerHour, CrowdLimit: pr.CrowdLimit, Status: pr.Status,
		Capacity: pr.Capacity, Opens: pr.Opens, Closes: pr.Closes,
	}
	return p, nil
}

func readGeometry(g *geometryJSON) (orb.Geometry, error) {
	switch g.Type {
	case "Point":
		var c []float64
		if err := json.Unmarshal(g.Coordinates, &c); err != nil {
			return nil, fmt.Errorf("coordinates of the Point: %v", err)
		}
		pt, err := point(c)
		if err != nil {
			return nil, fmt.Errorf("the Point: %v", err)
		}
		return pt, nil
	case "Polygon":
		var c [][][]float64
		if err := json.Unmarshal(g.Coordinates, &c); err != nil {
			return nil, fmt.Errorf("coordinates of the Polygon: %v", err)
		}
		poly, err := polygon(c)
		if err != nil {
			return nil, fmt.Errorf("the Polygon: %v", err)
		}
		return poly, nil
	case "MultiPolygon":
		var c [][][][]float64
		if err := json.Unmarshal(g.Coordinates, &c); err != nil {
			return nil, fmt.Errorf("MultiPolygon coordinates: %v", err)
		}
		if len(c) == 0 {
			return nil, fmt.Errorf("MultiPolygon has no polygon")
		}
		mp := make(orb.MultiPolygon, 0, len(c))
		for i, pc := range c {
			poly, err := polygon(pc)
			if err != nil {
				return nil, fmt.Errorf("MultiPolygon polygon %d: %v", i, err)
			}
			mp = append(mp, poly)
		}
		return mp, nil
	default:
		return nil, fmt.Errorf("type %q is not Point, Polygon or MultiPolygon", g.Type)
	}
}

func point(c []float64) (orb.Point, error) {
	if len(c) < 2 {
		return orb.Point{}, fmt.Errorf("position has %d numbers, want [lon, lat]", len(c))
	}
	if !muster.ValidLatLon(c[1], c[0]) {
		return orb.Point{}, fmt.Errorf("position [%v, %v] is out of range (lon -180..180, lat -90..90)", c[0], c[1])
	}
	return orb.Point{c[0], c[1]}, nil
}

func polygon(c [][][]float64) (orb.Polygon, error) {
	if len(c) == 0 {
		return nil, fmt.Errorf("no ring")
	}
	poly := make(orb.Polygon, 0, len(c))
	for i, rc := range c {
		ring := make(orb.Ring, 0, len(rc))
		for j, pc := range rc {
			pt, err := point(pc)
			if err != nil {
				return nil, fmt.Errorf("ring %d position %d: %v", i, j, err)
			}
			ring = append(ring, pt)
		}
		if err := ValidateRing(ring); err != nil {
			return nil, fmt.Errorf("ring %d: %v", i, err)
		}
		poly = append(poly, ring)
	}
	return poly, nil
}

// MaxRingPoints bounds the positions of one ring, so validating a ring
// (quadratic in its size) stays cheap on hostile input.
const MaxRingPoints = 20_000

// ValidateRing checks that a lon/lat ring is closed, has at least three
// distinct corners and does not cross itself.
func ValidateRing(r orb.Ring) error {
	if len(r) < 4 {
		return fmt.Errorf("has %d positions, a closed ring needs at least 4", len(r))
	}
	if len(r) > MaxRingPoints {
		return fmt.Errorf("has %d positions, more than %d", len(r), MaxRingPoints)
	}
	if r[0] != r[len(r)-1] {
		return fmt.Errorf("is not closed: first position %v differs from last %v", r[0], r[len(r)-1])
	}
	n := len(r) - 1 // segments
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if j == i+1 || (i == 0 && j == n-1) {
				continue // neighbours share a corner
			}
			if segmentsCross(r[i], r[i+1], r[j], r[j+1]) {
				return fmt.Errorf("crosses itself: segment %d (%v-%v) meets segment %d (%v-%v)", i, r[i], r[i+1], j, r[j], r[j+1])
			}
		}
	}
	if math.Abs(signedArea(r)) < 1e-14 {
		return fmt.Errorf("has no area")
	}
	return nil
}

func signedArea(r orb.Ring) float64 {
	var s float64
	for i := 0; i+1 < len(r); i++ {
		s += r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
	}
	return s / 2
}

func orient(a, b, c orb.Point) float64 {
	return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
}

func onSegment(a, b, p orb.Point) bool {
	return math.Min(a[0], b[0]) <= p[0] && p[0] <= math.Max(a[0], b[0]) &&
		math.Min(a[1], b[1]) <= p[1] && p[1] <= math.Max(a[1], b[1])
}

// segmentsCross reports whether segments ab and cd share any point.
func segmentsCross(a, b, c, d orb.Point) bool {
	d1, d2 := orient(c, d, a), orient(c, d, b)
	d3, d4 := orient(a, b, c), orient(a, b, d)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	return (d1 == 0 && onSegment(c, d, a)) || (d2 == 0 && onSegment(c, d, b)) ||
		(d3 == 0 && onSegment(a, b, c)) || (d4 == 0 && onSegment(a, b, d))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// knownZones caches time zone names already checked: loading a zone reads
// the zone database, and a server checks the same few names again and
// again.
var knownZones sync.Map // name -> true

func validTimezone(name string) bool {
	if v, ok := knownZones.Load(name); ok {
		return v.(bool)
	}
	_, err := time.LoadLocation(name)
	ok := err == nil && !strings.EqualFold(name, "local")
	if ok {
		knownZones.Store(name, true) // only real zones: the cache stays as small as the database
	}
	return ok
}
