package scenario

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/evacuees"
	"github.com/muster-evac/muster/places"
	"github.com/muster-evac/muster/zonecost"
)

// File names WriteDir uses.
const (
	PlacesFile   = "places.geojson"
	EvacueesFile = "evacuees.csv"
	ThreatFile   = "threat-zones.geojson"
)

// WritePlaces writes places as a places file (see places.Write).
func WritePlaces(w io.Writer, ps *muster.Places) error { return places.Write(w, ps, "") }

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
