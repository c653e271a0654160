package scenario

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/evacuees"
	"github.com/muster-evac/muster/zonecost"
)

// File names WriteDir uses.
const (
	PlacesFile   = "places.geojson"
	EvacueesFile = "evacuees.csv"
	ThreatFile   = "threat-zones.geojson"
)

type placesDoc struct {
	Type     string         `json:"type"`
	Timezone string         `json:"timezone,omitempty"`
	Features []placeFeature `json:"features"`
}

type placeFeature struct {
	Type       string     `json:"type"`
	Geometry   placeGeom  `json:"geometry"`
	Properties placeProps `json:"properties"`
}

type placeGeom struct {
	Type        string `json:"type"`
	Coordinates any    `json:"coordinates"`
}

type placeProps struct {
	ID                string   `json:"id"`
	Name              string   `json:"name"`
	Aliases           []string `json:"aliases,omitempty"`
	Kind              string   `json:"kind"`
	Groups            []string `json:"groups,omitempty"`
	RadiusM           float64  `json:"radius_m,omitempty"`
	ThroughputPerHour int      `json:"throughput_per_hour,omitempty"`
	CrowdLimit        int      `json:"crowd_limit,omitempty"`
	Status            string   `json:"status,omitempty"`
	Capacity          int      `json:"capacity,omitempty"`
	Opens             string   `json:"opens,omitempty"`
	Closes            string   `json:"closes,omitempty"`
}

// WritePlaces writes places as a places file (GeoJSON FeatureCollection
// with a top-level timezone, as ../shared/scenarios/README.md describes).
// Points and polygons are written; any other geometry is an error naming
// the place.
func WritePlaces(w io.Writer, ps *muster.Places) error {
	doc := placesDoc{Type: "FeatureCollection", Timezone: ps.Timezone, Features: []placeFeature{}}
	for _, pl := range ps.Places {
		var g placeGeom
		switch geom := pl.Geometry.(type) {
		case orb.Point:
			g = placeGeom{"Point", [2]float64{geom[0], geom[1]}}
		case orb.Polygon:
			rings := make([][][2]float64, len(geom))
			for i, r := range geom {
				for _, pt := range r {
					rings[i] = append(rings[i], [2]float64{pt[0], pt[1]})
				}
			}
			g = placeGeom{"Polygon", rings}
		default:
			return fmt.Errorf("writing places: place %q: a %T cannot be written (Point or Polygon)", pl.ID, pl.Geometry)
		}
		doc.Features = append(doc.Features, placeFeature{Type: "Feature", Geometry: g, Properties: placeProps{
			ID: pl.ID, Name: pl.Name, Aliases: pl.Aliases, Kind: pl.Kind, Groups: pl.Groups, RadiusM: pl.RadiusM,
			ThroughputPerHour: pl.ThroughputPerHour, CrowdLimit: pl.CrowdLimit, Status: pl.Status,
			Capacity: pl.Capacity, Opens: pl.Opens, Closes: pl.Closes,
		}})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("writing places: %w", err)
	}
	return nil
}

// WritePlaces writes the scenario's places file.
func (s *Scenario) WritePlaces(w io.Writer) error { return WritePlaces(w, &s.Places) }

// WriteEvacuees writes the households as a canonical evacuee list (CSV).
func (s *Scenario) WriteEvacuees(w io.Writer) error { return evacuees.Write(w, s.Households) }

// WriteThreat writes the threat inject's zones as zone GeoJSON.
func (s *Scenario) WriteThreat(w io.Writer) error { return zonecost.WriteGeoJSON(w, s.Threat.Zones) }

// WriteDir writes the scenario's files into dir (created if missing):
// places.geojson, evacuees.csv, and the threat inject both as zones
// (threat-zones.geojson, for muster plan --zones) and as reports received
// at threatAt (threat-reports.jsonl, for muster plan --reports).
func (s *Scenario) WriteDir(dir string, threatAt time.Time) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("scenario: %w", err)
	}
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{{PlacesFile, s.WritePlaces}, {EvacueesFile, s.WriteEvacuees}, {ThreatFile, s.WriteThreat},
		{ReportsFile, func(w io.Writer) error { return s.WriteReports(w, threatAt) }}} {
		if err := writeFile(filepath.Join(dir, f.name), f.write); err != nil {
			return fmt.Errorf("scenario: %w", err)
		}
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	bw := bufio.NewWriter(f)
	if err := write(bw); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return bw.Flush()
}
