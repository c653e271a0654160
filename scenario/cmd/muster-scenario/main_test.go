package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muster-evac/muster/citygen"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/places"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/scenario"
)

func TestWritesAScenarioForAGraphFile(t *testing.T) {
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
	if err := run([]string{"--graph", graph, "--airport", fmt.Sprintf("%f,%f", ap[0], ap[1]), "--households", "300", "--people", "1000",
		"--rally-points", "20", "--timezone", "Asia/Kabul", "-o", out}); err != nil {
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
	if _, err := os.Stat(filepath.Join(out, scenario.ThreatFile)); err != nil {
		t.Error(err)
	}

	for _, args := range [][]string{
		{"--graph", graph, "-o", out},
		{"--graph", graph, "--airport", "69.2", "-o", out},
		{"--graph", filepath.Join(dir, "missing.graph"), "--airport", "69.2,34.5", "-o", out},
		{"--graph", graph, "--airport", "69.2,34.5", "--people", "1", "-o", out},
	} {
		if err := run(args); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
