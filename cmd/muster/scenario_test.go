package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/muster-evac/muster/citygen"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/places"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/scenario"
	"github.com/paulmach/orb"
)

func TestScenarioWritesFilesThatPlan(t *testing.T) {
	ctx := context.Background()
	c, err := citygen.Generate(ctx, citygen.Options{Seed: 1, Scale: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	city, _, err := osmimport.FromOSM(ctx, c.OSM, "generated", osmimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	graph := filepath.Join(dir, "city.graph")
	if err := roadgraph.SaveCity(graph, city); err != nil {
		t.Fatal(err)
	}
	ap := c.Airport.Bound().Center()
	out := filepath.Join(dir, "sc")
	if _, _, err := run(t, "scenario", "--graph", graph, "--airport", fmt.Sprintf("%f,%f", ap.Lat(), ap.Lon()), "--households", "300", "--people", "1000",
		"--rally-points", "20", "--timezone", "Asia/Kabul", "-o", out); err != nil {
		t.Fatal(err)
	}
	pl, err := places.ReadFile(filepath.Join(out, scenario.PlacesFile))
	if err != nil {
		t.Fatal(err)
	}
	if pl.Timezone != "Asia/Kabul" || len(pl.Places) != 1+4+20 {
		t.Errorf("places: %q, %d places", pl.Timezone, len(pl.Places))
	}
	csv, err := os.ReadFile(filepath.Join(out, scenario.EvacueesFile))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(csv), "\n"); n != 301 {
		t.Errorf("evacuees.csv has %d lines, want a header and 300 households", n)
	}
	// The files plan, under the threat inject, and the plan checks.
	planPath := filepath.Join(dir, "plan.json")
	zones := filepath.Join(out, scenario.ThreatFile)
	if out, _, err := run(t, "plan", "-q", "--graph", graph, "--places", filepath.Join(out, scenario.PlacesFile), "--evacuees", filepath.Join(out, scenario.EvacueesFile),
		"--zones", zones, "--at", "2026-01-01T06:00:00Z", "-o", planPath); err != nil {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	if out, _, err := run(t, "plan", "check", "--plan", planPath, "--graph", graph, "--places", filepath.Join(out, scenario.PlacesFile), "--evacuees", filepath.Join(out, scenario.EvacueesFile)); err != nil {
		t.Fatalf("check: %v\n%s", err, out)
	}
	for _, args := range [][]string{
		{"scenario", "--graph", graph, "-o", out},
		{"scenario", "--graph", graph, "--airport", "69.2", "-o", out},
		{"scenario", "--graph", filepath.Join(dir, "missing.graph"), "--airport", "69.2,34.5", "-o", out},
		{"scenario", "--graph", graph, "--airport", fmt.Sprintf("%f,%f", ap.Lat(), ap.Lon()), "--people", "1", "-o", out},
	} {
		if _, _, err := run(t, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	// The airport given LON,LAT, the order this flag took before: told
	// which LAT,LON it probably meant.
	_, _, err = run(t, "scenario", "--graph", graph, "--airport", fmt.Sprintf("%f,%f", ap.Lon(), ap.Lat()), "-o", filepath.Join(dir, "sc2"))
	if want := fmt.Sprintf("did you mean LAT,LON = %s?", latLonText(orb.Point{roundTo6(ap.Lon()), roundTo6(ap.Lat())})); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("--airport LON,LAT: %v, want %q", err, want)
	}
}

// roundTo6 is v as %f prints it.
func roundTo6(v float64) float64 {
	r, _ := strconv.ParseFloat(fmt.Sprintf("%f", v), 64)
	return r
}
