package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/muster-evac/muster/internal/testshared"
)

// TestBrowserRealExtract serves the operations map of a real extract,
// Porto Alegre with the drill's places and households from ../shared, and
// runs web/e2e/real/real.mjs on it: roads from the tiles of the real
// graph, every gate and rally point, a plan's routes. (Its script sits in
// a folder of its own, so TestBrowser does not run it on the demo city.)
func TestBrowserRealExtract(t *testing.T) {
	testshared.Long(t)
	if _, err := os.Stat(chromium); err != nil {
		testshared.Unavailable(t, "no Chromium at %s (apt-get install chromium): %v", chromium, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		testshared.Unavailable(t, "no node (apt-get install nodejs): %v", err)
	}
	if _, err := os.Stat(filepath.Join("node_modules", "playwright-core")); err != nil {
		testshared.Unavailable(t, "web/node_modules has no playwright-core: run `npm ci` in web/ (%v)", err)
	}
	extract := testshared.Path(t, "data/porto-alegre.osm.pbf")
	drill := testshared.Path(t, "scenarios/porto-alegre-drill")
	shots := os.Getenv("MUSTER_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join("e2e", "screenshots")
	}
	if shots, err = filepath.Abs(shots); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "muster")
	run(t, ".", "go", "build", "-o", bin, "github.com/muster-evac/muster/cmd/muster")
	// The folder startServer reads, made of the real files.
	city := filepath.Join(dir, "porto-alegre")
	if err := os.MkdirAll(city, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, ".", bin, "import", extract, "-o", filepath.Join(city, "city.graph"))
	for _, f := range []string{"places.geojson", "evacuees.csv"} {
		if err := os.Symlink(filepath.Join(drill, f), filepath.Join(city, f)); err != nil {
			t.Fatal(err)
		}
	}
	base, spki := startServer(t, bin, city)
	script, _ := filepath.Abs(filepath.Join("e2e", "real", "real.mjs"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, base, shots)
	cmd.Env = append(os.Environ(), "MUSTER_E2E_PASSWORD="+E2EPassword, "MUSTER_E2E_DEMO="+city, "MUSTER_E2E_SPKI="+spki)
	out, err := cmd.CombinedOutput()
	t.Logf("real:\n%s", out)
	if err != nil {
		t.Fatalf("real: %v", err)
	}
}
