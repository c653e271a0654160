// Package benchgraph loads the car graph the programs under bench/ compare
// muster with other systems on: a graph file from `muster import`, an
// extract, or by default Porto's extract in ../shared.
package benchgraph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/roadgraph"
)

// Car returns the car graph of the graph file graphPath if given, else of
// the extract osmPath (default ../shared/data/porto.osm.pbf from the
// repository's root) imported with profiles (nil: every profile, as
// route's benchmarks import it), and a name for it.
func Car(ctx context.Context, graphPath, osmPath string, profiles []roadgraph.Profile) (*roadgraph.Graph, string, error) {
	if graphPath != "" {
		city, err := roadgraph.LoadCity(graphPath)
		if err != nil {
			return nil, "", fmt.Errorf("loading the graph: %w", err)
		}
		g, err := city.Graph(roadgraph.Car)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", graphPath, err)
		}
		return g, filepath.Base(graphPath), nil
	}
	path := osmPath
	if path == "" {
		root, err := repoRoot()
		if err != nil {
			return nil, "", err
		}
		path = filepath.Join(root, "..", "shared", "data", "porto.osm.pbf")
	}
	t0 := time.Now()
	city, _, err := osmimport.ImportFile(ctx, path, osmimport.Options{Profiles: profiles})
	if err != nil {
		return nil, "", fmt.Errorf("importing %s: %w", path, err)
	}
	slog.Info("imported", "file", path, "took", time.Since(t0).Round(time.Millisecond))
	g, err := city.Graph(roadgraph.Car)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return g, filepath.Base(path), nil
}

// repoRoot walks up from the working directory to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the repository (no go.mod above the working directory): pass -osm or -graph")
		}
		dir = parent
	}
}
