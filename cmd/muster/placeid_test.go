package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/places"
)

// TestReportAddPlaceID: with a places file where 131 rally points share
// the name "unclassified junction", `report add --place` of that name is
// refused with the candidates and their ids, `--place-id` is taken, and
// `threats` makes the zone there.
func TestReportAddPlaceID(t *testing.T) {
	dir := t.TempDir()
	ps := &muster.Places{Timezone: "UTC"}
	for i := 1; i <= 131; i++ {
		ps.Places = append(ps.Places, muster.Place{ID: fmt.Sprintf("rally-%03d", i), Name: "unclassified junction",
			Kind: muster.PlaceRally, Geometry: orb.Point{10 + float64(i)/100, 50}, Capacity: 300})
	}
	placesFile := filepath.Join(dir, "places.geojson")
	f, err := os.Create(placesFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := places.Write(f, ps, "junctions"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	record := filepath.Join(dir, "record.jsonl")
	args := []string{"report", "add", "--into", record, "--places", placesFile, "--id", "j1",
		"--received-at", "2021-08-26T12:00:00Z", "--source-id", "team", "--source-kind", "field", "--reliability", "A",
		"--credibility", "1", "--kind", "explosion", "--claim", "present", "--likelihood", "almost certain",
		"--immediacy", "imminent", "--severity", "5", "--place", "Unclassified Junction", "--text", "blast"}
	_, _, err = run(t, args...)
	if err == nil || muster.ErrorCode(err) != muster.EINVALID || !strings.Contains(err.Error(),
		`area.place: place "Unclassified Junction" is ambiguous: 131 places go by this name: "rally-001" (rally at [10.01000, 50.00000]),`) ||
		!strings.Contains(err.Error(), `and 126 more; name the place meant by its id, as {"place_id": "rally-001"}`) {
		t.Fatalf("ambiguous --place: %v", err)
	}
	args[len(args)-4], args[len(args)-3] = "--place-id", "rally-042"
	out, _, err := run(t, args...)
	if err != nil || !strings.Contains(out, `added j1 (A1 explosion present at place id "rally-042")`) {
		t.Fatalf("--place-id: %v %s", err, out)
	}
	data, _ := os.ReadFile(record)
	if !strings.Contains(string(data), `"area":{"place_id":"rally-042"}`) {
		t.Errorf("record: %s", data)
	}
	out, _, err = run(t, "threats", "--reports", record, "--places", placesFile, "--at", "2021-08-26T12:30:00Z")
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Features []struct {
			Geometry struct {
				Type        string    `json:"type"`
				Coordinates []float64 `json:"coordinates"`
			} `json:"geometry"`
			Properties struct {
				RadiusM   float64 `json:"radius_m"`
				Forbidden bool    `json:"forbidden"`
			} `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal([]byte(out), &fc); err != nil {
		t.Fatal(err)
	}
	if len(fc.Features) != 1 || fc.Features[0].Geometry.Type != "Point" || !slices.Equal(fc.Features[0].Geometry.Coordinates, []float64{10.42, 50}) ||
		fc.Features[0].Properties.RadiusM != 100 || !fc.Features[0].Properties.Forbidden {
		t.Errorf("the zone should be a forbidden 100 m circle on rally-042:\n%.600s", out)
	}
}
