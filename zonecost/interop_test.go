package zonecost

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/places"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/threat"
	"github.com/paulmach/orb"
)

// scenarioPicture builds the threat picture of a shared scenario at a time
// with the threat package, as `muster threats` does.
func scenarioPicture(t *testing.T, dir, at string) *threat.Picture {
	t.Helper()
	root := filepath.Dir(filepath.Dir(sharedExtract(t, "porto.osm.pbf")))
	sdir := filepath.Join(root, "scenarios", dir)
	pl, err := places.ReadFile(filepath.Join(sdir, "places.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	ix, err := places.NewIndex(pl)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(sdir, "reports.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := threat.ParseReports(bytes.NewReader(data), nil, threat.ParseOptions{Places: ix})
	if err != nil {
		t.Fatal(err)
	}
	when, err := time.Parse(time.RFC3339, at)
	if err != nil {
		t.Fatal(err)
	}
	p, err := threat.Build(res.Reports(), pl, when, threat.DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Zones) == 0 {
		t.Fatalf("%s at %s: the picture has no zones", dir, at)
	}
	return p
}

// TestReadsThreatPicture: what `muster threats --format geojson` writes for
// the shared scenarios is read back to exactly the zones routing is given.
func TestReadsThreatPicture(t *testing.T) {
	for _, sc := range []struct{ dir, at string }{
		{"kabul-2021", "2021-08-21T18:00:00Z"},
		{"porto-alegre-drill", "2026-03-14T12:00:00Z"},
	} {
		p := scenarioPicture(t, sc.dir, sc.at)
		var buf bytes.Buffer
		if err := threat.WriteGeoJSON(&buf, p); err != nil {
			t.Fatal(err)
		}
		zones, err := ReadGeoJSON(&buf, sc.dir+".geojson")
		if err != nil {
			t.Fatalf("%s: reading the threat picture's GeoJSON: %v", sc.dir, err)
		}
		want := p.RoutingZones()
		if !reflect.DeepEqual(zones, want) {
			t.Errorf("%s: read %d zones\n%+v\nwant %d\n%+v", sc.dir, len(zones), zones, len(want), want)
		}
	}
}

// TestPortoAlegreDrill applies the drill's threat picture to the real
// Porto Alegre car graph and checks every arc with the independent checker.
func TestPortoAlegreDrill(t *testing.T) {
	p := scenarioPicture(t, "porto-alegre-drill", "2026-03-14T12:00:00Z")
	zones := p.RoutingZones()
	city, _, err := osmimport.ImportFile(context.Background(), sharedExtract(t, "porto-alegre.osm.pbf"), osmimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := city.Graph(roadgraph.Car)
	if err != nil {
		t.Fatal(err)
	}
	eff, err := Compute(context.Background(), g, roadgraph.NewArcIndex(g), zones)
	if err != nil {
		t.Fatal(err)
	}
	forbidden := map[uint32]bool{}
	exposed := 0
	for _, e := range eff.Arcs {
		forbidden[e.Arc] = e.Forbidden
		if e.Exposure > 0 {
			exposed++
		}
	}
	nForbiddenZones := 0
	for _, z := range zones {
		if z.Forbidden {
			nForbiddenZones++
		}
	}
	if len(eff.Arcs) == 0 {
		t.Fatalf("the drill's %d zones affect no arc of Porto Alegre", len(zones))
	}
	tails := g.Tails()
	var line orb.LineString
	mismatches := 0
	for a := 0; a < g.NumArcs(); a++ {
		line = g.ArcGeometry(line[:0], tails[a], uint32(a))
		if crossed := len(CheckForbidden(line, zones)) > 0; crossed != forbidden[uint32(a)] {
			if mismatches++; mismatches <= 5 {
				t.Errorf("arc %d %v: Compute forbidden=%v, checker %v", a, line, forbidden[uint32(a)], crossed)
			}
		}
	}
	for _, u := range eff.ForbiddenNodes {
		if len(Containing(g.NodePoint(u), zones)) == 0 {
			t.Errorf("forbidden node %d at %v is in no zone", u, g.NodePoint(u))
		}
	}
	t.Logf("Porto Alegre drill: %d zones (%d forbidden) over %d arcs: %d arcs affected, %d exposed, %d forbidden nodes",
		len(zones), nForbiddenZones, g.NumArcs(), len(eff.Arcs), exposed, len(eff.ForbiddenNodes))
}
