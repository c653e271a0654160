package zonecost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/muster-evac/muster"
	"github.com/paulmach/orb"
)

// Limits on a zones file. A threat picture has tens of zones of tens of
// vertices; these leave room for hand-drawn district boundaries while
// bounding the time and memory a hostile file can cost.
const (
	// MaxGeoJSONBytes is the largest zones file read.
	MaxGeoJSONBytes = 64 << 20
	// MaxRingVertices is the most positions in one ring: it bounds the
	// self-intersection sweep (ring.go), quadratic for rings built to
	// defeat it, to about 70 ms of CPU per ring.
	MaxRingVertices = 10_000
	// MaxTotalVertices is the most positions in a whole file.
	MaxTotalVertices = 250_000
	// MaxRadiusM is the largest circle accepted, the threat package's own
	// limit: real pictures have country-wide zones (Kabul 2021 has a
	// 650 km ISIS-K presence circle), but a circle larger than a large
	// country is a typo.
	MaxRadiusM = 2_000_000
)

type rawCollection struct {
	Type     string            `json:"type"`
	Features []json.RawMessage `json:"features"`
}

type rawFeature struct {
	Type       string                     `json:"type"`
	ID         json.RawMessage            `json:"id"`
	Geometry   json.RawMessage            `json:"geometry"`
	Properties map[string]json.RawMessage `json:"properties"`
}

type rawGeometry struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
}

// ReadGeoJSON reads a zones file: a FeatureCollection whose features are
// Polygons or MultiPolygons, or Points with a radius_m property (circles).
// Properties: id, name, forbidden (bool), risk (0..1), level (string);
// others (confidence, disputed, explanation...) are ignored. A feature
// without forbidden or risk is forbidden: a bare shape in an avoid file
// means "do not go there". A feature with risk but no forbidden is not
// forbidden; one with forbidden but no risk has risk 1 if forbidden, else 0.
// A feature without id gets "<name>#<index>". penalty (>= 1) is the
// threat policy's cost factor for time inside; a feature that is not
// forbidden and has penalty exactly 1 is context only (a country-wide
// presence, say) and is skipped: it changes no route.
//
// name (usually the file name) starts every error message. Errors are
// *muster.Error with code EINVALID, naming the feature and the field.
func ReadGeoJSON(r io.Reader, name string) ([]muster.Zone, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxGeoJSONBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: reading zones: %w", name, err)
	}
	if len(data) > MaxGeoJSONBytes {
		return nil, muster.Errorf(muster.EINVALID, "%s: larger than the %d MiB limit for a zones file", name, MaxGeoJSONBytes>>20)
	}
	var fc rawCollection
	if err := json.Unmarshal(data, &fc); err != nil {
		return nil, muster.Errorf(muster.EINVALID, "%s: not a GeoJSON FeatureCollection: %v", name, jsonErr(data, err))
	}
	if fc.Type != "FeatureCollection" {
		return nil, muster.Errorf(muster.EINVALID, "%s: type is %q, want \"FeatureCollection\"", name, fc.Type)
	}
	if fc.Features == nil {
		return nil, muster.Errorf(muster.EINVALID, "%s: FeatureCollection has no \"features\" array", name)
	}
	zones := make([]muster.Zone, 0, len(fc.Features))
	budget := MaxTotalVertices
	for i, raw := range fc.Features {
		z, err := readFeature(raw, i, name, &budget)
		if err != nil {
			return nil, err
		}
		if !z.Forbidden && z.Penalty == 1 {
			continue // context only: the policy neither forbids nor penalises it
		}
		zones = append(zones, z)
	}
	return zones, nil
}

// jsonErr adds the line of a syntax error, which encoding/json gives only as
// a byte offset.
func jsonErr(data []byte, err error) string {
	var se *json.SyntaxError
	if e, ok := err.(*json.SyntaxError); ok {
		se = e
	}
	if se == nil || se.Offset > int64(len(data)) {
		return err.Error()
	}
	line := 1 + bytes.Count(data[:se.Offset], []byte("\n"))
	return fmt.Sprintf("line %d: %v", line, err)
}

func readFeature(raw json.RawMessage, i int, name string, budget *int) (muster.Zone, error) {
	where := fmt.Sprintf("%s: feature %d", name, i)
	fail := func(format string, args ...any) (muster.Zone, error) {
		return muster.Zone{}, muster.Errorf(muster.EINVALID, "%s: %s", where, fmt.Sprintf(format, args...))
	}
	var f rawFeature
	if err := json.Unmarshal(raw, &f); err != nil {
		return fail("not a GeoJSON Feature: %v", err)
	}
	if f.Type != "Feature" {
		return fail("type is %q, want \"Feature\"", f.Type)
	}

	var z muster.Zone
	id, err := idString(f.Properties["id"])
	if err != nil {
		return fail("properties.id: %v", err)
	}
	if id == "" {
		if id, err = idString(f.ID); err != nil {
			return fail("id: %v", err)
		}
	}
	if id == "" {
		id = fmt.Sprintf("%s#%d", name, i)
	} else {
		where = fmt.Sprintf("%s: feature %d (id %q)", name, i, id)
	}
	z.ID = id
	if z.Name, err = optString(f.Properties["name"]); err != nil {
		return fail("properties.name: %v", err)
	}
	if z.Level, err = optString(f.Properties["level"]); err != nil {
		return fail("properties.level: %v", err)
	}
	forbidden, hasForbidden, err := optBool(f.Properties["forbidden"])
	if err != nil {
		return fail("properties.forbidden: %v", err)
	}
	risk, hasRisk, err := optNumber(f.Properties["risk"])
	if err != nil {
		return fail("properties.risk: %v", err)
	}
	if hasRisk && !(risk >= 0 && risk <= 1) {
		return fail("properties.risk: %v is outside 0..1", risk)
	}
	switch {
	case !hasForbidden && !hasRisk:
		forbidden, risk = true, 1
	case !hasRisk && forbidden:
		risk = 1
	}
	z.Forbidden, z.Risk = forbidden, risk
	penalty, hasPenalty, err := optNumber(f.Properties["penalty"])
	if err != nil {
		return fail("properties.penalty: %v", err)
	}
	if hasPenalty && !(penalty >= 1 && penalty <= 1000) {
		return fail("properties.penalty: %v is outside 1..1000 (a cost factor for time inside)", penalty)
	}
	z.Penalty = penalty

	if len(f.Geometry) == 0 || string(f.Geometry) == "null" {
		return fail("geometry is missing")
	}
	var g rawGeometry
	if err := json.Unmarshal(f.Geometry, &g); err != nil {
		return fail("geometry: %v", err)
	}
	switch g.Type {
	case "Point":
		var pos []float64
		if err := json.Unmarshal(g.Coordinates, &pos); err != nil {
			return fail("geometry.coordinates: not a position: %v", err)
		}
		p, err := position(pos)
		if err != nil {
			return fail("geometry.coordinates: %v", err)
		}
		radius, ok, err := optNumber(f.Properties["radius_m"])
		if err != nil {
			return fail("properties.radius_m: %v", err)
		}
		switch {
		case !ok:
			return fail("properties.radius_m is missing: a Point zone is a circle and needs a radius in metres")
		case !(radius > 0):
			return fail("properties.radius_m: %v must be positive", radius)
		case radius > MaxRadiusM:
			return fail("properties.radius_m: %v is more than the %d km limit", radius, MaxRadiusM/1000)
		}
		z.Center, z.RadiusM = p, radius
	case "Polygon":
		var rings [][][]float64
		if err := json.Unmarshal(g.Coordinates, &rings); err != nil {
			return fail("geometry.coordinates: not Polygon coordinates: %v", err)
		}
		poly, err := polygon(rings, budget)
		if err != nil {
			return fail("geometry.coordinates: %v", err)
		}
		z.Polygon = orb.MultiPolygon{poly}
	case "MultiPolygon":
		var polys [][][][]float64
		if err := json.Unmarshal(g.Coordinates, &polys); err != nil {
			return fail("geometry.coordinates: not MultiPolygon coordinates: %v", err)
		}
		if len(polys) == 0 {
			return fail("geometry.coordinates: MultiPolygon has no polygons")
		}
		for pi, rings := range polys {
			poly, err := polygon(rings, budget)
			if err != nil {
				return fail("geometry.coordinates: polygon %d: %v", pi, err)
			}
			z.Polygon = append(z.Polygon, poly)
		}
	default:
		return fail("geometry type %q is not supported: use Polygon, MultiPolygon, or Point with radius_m", g.Type)
	}
	return z, nil
}

func idString(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), nil
	}
	return "", fmt.Errorf("%s is not a string or a number", short(raw))
}

func optString(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s is not a string", short(raw))
	}
	return s, nil
}

func optBool(raw json.RawMessage) (v, ok bool, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return false, false, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return false, false, fmt.Errorf("%s is not true or false", short(raw))
	}
	return v, true, nil
}

func optNumber(raw json.RawMessage) (v float64, ok bool, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, false, fmt.Errorf("%s is not a number", short(raw))
	}
	return v, true, nil
}

// short quotes a JSON value for an error message, cut to a readable length.
func short(raw json.RawMessage) string {
	const limit = 40
	s := string(raw)
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return strconv.Quote(s)
}

func position(pos []float64) (orb.Point, error) {
	if len(pos) < 2 || len(pos) > 3 {
		return orb.Point{}, fmt.Errorf("position %v has %d numbers, want lon, lat (and optional altitude)", pos, len(pos))
	}
	lon, lat := pos[0], pos[1]
	if !muster.ValidLatLon(lat, lon) {
		return orb.Point{}, fmt.Errorf("position [%v, %v] is out of range (lon -180..180, lat -90..90)", lon, lat)
	}
	return orb.Point{lon, lat}, nil
}

func polygon(rings [][][]float64, budget *int) (orb.Polygon, error) {
	if len(rings) == 0 {
		return nil, fmt.Errorf("polygon has no rings")
	}
	poly := make(orb.Polygon, 0, len(rings))
	for ri, coords := range rings {
		if len(coords) < 4 {
			return nil, fmt.Errorf("ring %d has %d positions, need at least 4 (a closed triangle)", ri, len(coords))
		}
		if len(coords) > MaxRingVertices {
			return nil, fmt.Errorf("ring %d has %d positions, more than the limit of %d", ri, len(coords), MaxRingVertices)
		}
		if *budget -= len(coords); *budget < 0 {
			return nil, fmt.Errorf("ring %d: the file has more than the limit of %d positions", ri, MaxTotalVertices)
		}
		ring := make(orb.Ring, len(coords))
		for k, pos := range coords {
			p, err := position(pos)
			if err != nil {
				return nil, fmt.Errorf("ring %d position %d: %v", ri, k, err)
			}
			ring[k] = p
		}
		if ring[0] != ring[len(ring)-1] {
			return nil, fmt.Errorf("ring %d is not closed: first position %v, last %v", ri, ring[0], ring[len(ring)-1])
		}
		if err := checkSimpleRing(ring); err != nil {
			return nil, fmt.Errorf("ring %d: %v", ri, err)
		}
		poly = append(poly, ring)
	}
	return poly, nil
}

type outFeature struct {
	Type       string         `json:"type"`
	Geometry   outGeometry    `json:"geometry"`
	Properties map[string]any `json:"properties"`
}

type outGeometry struct {
	Type        string `json:"type"`
	Coordinates any    `json:"coordinates"`
}

// WriteGeoJSON writes zones as a FeatureCollection that ReadGeoJSON reads
// back to the same zones: circles as Points with radius_m, polygons as
// Polygon or MultiPolygon.
func WriteGeoJSON(w io.Writer, zones []muster.Zone) error {
	features := make([]outFeature, 0, len(zones))
	for i := range zones {
		z := &zones[i]
		if err := checkZone(z); err != nil {
			return muster.Errorf(muster.EINVALID, "zone %d (id %q): %v", i, z.ID, err)
		}
		props := map[string]any{"id": z.ID, "forbidden": z.Forbidden, "risk": z.Risk}
		if z.Penalty > 0 {
			props["penalty"] = z.Penalty
		}
		if z.Name != "" {
			props["name"] = z.Name
		}
		if z.Level != "" {
			props["level"] = z.Level
		}
		var g outGeometry
		switch {
		case len(z.Polygon) == 0:
			g = outGeometry{Type: "Point", Coordinates: [2]float64{z.Center[0], z.Center[1]}}
			props["radius_m"] = z.RadiusM
		case len(z.Polygon) == 1:
			g = outGeometry{Type: "Polygon", Coordinates: polygonCoords(z.Polygon[0])}
		default:
			polys := make([][][][2]float64, len(z.Polygon))
			for pi, p := range z.Polygon {
				polys[pi] = polygonCoords(p)
			}
			g = outGeometry{Type: "MultiPolygon", Coordinates: polys}
		}
		features = append(features, outFeature{Type: "Feature", Geometry: g, Properties: props})
	}
	enc := json.NewEncoder(w)
	if err := enc.Encode(struct {
		Type     string       `json:"type"`
		Features []outFeature `json:"features"`
	}{"FeatureCollection", features}); err != nil {
		return fmt.Errorf("writing zones: %w", err)
	}
	return nil
}

func polygonCoords(p orb.Polygon) [][][2]float64 {
	rings := make([][][2]float64, len(p))
	for ri, r := range p {
		rings[ri] = make([][2]float64, len(r))
		for k, pt := range r {
			rings[ri][k] = [2]float64{pt[0], pt[1]}
		}
		// Close the ring as GeoJSON requires.
		if len(r) > 0 && r[0] != r[len(r)-1] {
			rings[ri] = append(rings[ri], [2]float64{r[0][0], r[0][1]})
		}
	}
	return rings
}
