package tiles

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/osm"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/citygen"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/roadgraph"
)

// A small town, imported by the real importer: a motorway, a residential
// street named in Dari, a service road and a footway, each a chain of
// nodes 0.001° (about 90 m) apart, near Kabul. (A one-way car road into a
// dead end is dropped by the importer, which keeps the car network
// strongly connected: the foot network still has it, drawn as a path.)
type testWay struct {
	id      osm.WayID
	tags    osm.Tags
	nodes   [][2]float64 // lon, lat
	class   string
	name    string
	minZoom int
}

var town = []testWay{
	{id: 1, tags: osm.Tags{{Key: "highway", Value: "motorway"}, {Key: "name", Value: "Ring Road"}, {Key: "oneway", Value: "no"}},
		nodes: [][2]float64{{69.100, 34.500}, {69.101, 34.500}, {69.102, 34.500}, {69.103, 34.500}}, class: "major", name: "Ring Road", minZoom: 9},
	{id: 2, tags: osm.Tags{{Key: "highway", Value: "residential"}, {Key: "name", Value: "کوچه باغ"}},
		nodes: [][2]float64{{69.101, 34.500}, {69.101, 34.501}, {69.101, 34.502}}, class: "street", name: "کوچه باغ", minZoom: 13},
	{id: 3, tags: osm.Tags{{Key: "highway", Value: "service"}},
		nodes: [][2]float64{{69.102, 34.500}, {69.102, 34.501}, {69.101, 34.501}}, class: "minor", minZoom: 14},
	{id: 4, tags: osm.Tags{{Key: "highway", Value: "footway"}, {Key: "name", Value: "Garden Path"}},
		nodes: [][2]float64{{69.101, 34.502}, {69.102, 34.502}, {69.102, 34.501}}, class: "path", name: "Garden Path", minZoom: 14},
}

func townGraphs(t *testing.T) (car, foot *roadgraph.Graph) {
	t.Helper()
	o := &osm.OSM{}
	ids := map[[2]float64]osm.NodeID{}
	for _, w := range town {
		way := &osm.Way{ID: w.id, Tags: w.tags, Visible: true}
		for _, p := range w.nodes {
			id, ok := ids[p]
			if !ok {
				id = osm.NodeID(len(ids) + 1)
				ids[p] = id
				o.Nodes = append(o.Nodes, &osm.Node{ID: id, Lon: p[0], Lat: p[1], Visible: true})
			}
			way.Nodes = append(way.Nodes, osm.WayNode{ID: id})
		}
		o.Ways = append(o.Ways, way)
	}
	sort.Slice(o.Nodes, func(i, j int) bool { return o.Nodes[i].ID < o.Nodes[j].ID })
	c, _, err := osmimport.FromOSM(context.Background(), o, "town", osmimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c.Graphs[roadgraph.Car], c.Graphs[roadgraph.Foot]
}

// road is a decoded feature: its class, name and lon/lat line.
type road struct {
	class, name string
	line        orb.LineString
}

func decode(t *testing.T, data []byte, tile maptile.Tile) (roads []road, cut bool) {
	t.Helper()
	layers, err := mvt.Unmarshal(data)
	if err != nil {
		t.Fatalf("tile %v does not decode: %v", tile, err)
	}
	layers.ProjectToWGS84(tile)
	for _, l := range layers {
		switch l.Name {
		case "cut":
			cut = true
		case Layer:
			for _, f := range l.Features {
				ls, ok := f.Geometry.(orb.LineString)
				if !ok {
					t.Fatalf("a road is a %T", f.Geometry)
				}
				name, _ := f.Properties["name"].(string)
				roads = append(roads, road{class: f.Properties.MustString("class"), name: name, line: ls})
			}
		default:
			t.Fatalf("unexpected layer %q", l.Name)
		}
	}
	return roads, cut
}

// near reports whether a point is within about 10 m of a line's vertices.
func near(ls orb.LineString, p [2]float64) bool {
	for _, q := range ls {
		if abs(q[0]-p[0]) < 1e-4 && abs(q[1]-p[1]) < 1e-4 {
			return true
		}
	}
	return false
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestTileHoldsTheRoadsOfItsZoom(t *testing.T) {
	car, foot := townGraphs(t)
	src, err := New(car, foot, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, z := range []int{9, 12, 13, 14, 16} {
		tile := maptile.At(orb.Point{69.1015, 34.501}, maptile.Zoom(z))
		data, err := src.Tile(ctx, z, int(tile.X), int(tile.Y))
		if err != nil {
			t.Fatal(err)
		}
		roads, cut := decode(t, data, tile)
		if cut {
			t.Errorf("z%d: cut with %d roads", z, len(roads))
		}
		for _, w := range town {
			var got []road
			for _, r := range roads {
				// The way's own stretches: its class, and its shape.
				if r.class == w.class && near(r.line, w.nodes[0]) || r.class == w.class && near(r.line, w.nodes[len(w.nodes)-1]) {
					got = append(got, r)
				}
			}
			switch {
			case z < w.minZoom && len(got) > 0:
				t.Errorf("z%d: way %d (%s, from z%d) is drawn", z, w.id, w.class, w.minZoom)
			case z >= w.minZoom && len(got) == 0:
				t.Errorf("z%d: way %d (%s) is missing; tile has %+v", z, w.id, w.class, roads)
			}
			for _, r := range got {
				if r.name != w.name {
					t.Errorf("z%d: way %d named %q, want %q", z, w.id, r.name, w.name)
				}
			}
		}
		if z >= 14 {
			// Every stretch once: a two-way street is not drawn twice.
			seen := map[string]int{}
			for _, r := range roads {
				a, b := r.line[0], r.line[len(r.line)-1]
				if a[0] > b[0] || a[0] == b[0] && a[1] > b[1] {
					a, b = b, a
				}
				seen[fmt.Sprintf("%s %.5f,%.5f %.5f,%.5f", r.class, a[0], a[1], b[0], b[1])]++
			}
			for k, n := range seen {
				if n > 1 {
					t.Errorf("z%d: stretch %s drawn %d times", z, k, n)
				}
			}
			// Stretches: motorway 3, street 2, service 1 (the car network
			// does not split it where only the footway joins, and the foot
			// network's two halves of it are drawn as the car road), footway 1.
			if len(roads) != 7 {
				t.Errorf("z%d: %d stretches, want 7: %+v", z, len(roads), roads)
			}
		}
	}
}

func TestTileWorkIsBounded(t *testing.T) {
	car, foot := townGraphs(t)
	src, err := New(car, foot, Options{MaxFeatures: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tile := maptile.At(orb.Point{69.1015, 34.501}, 15)
	data, err := src.Tile(ctx, 15, int(tile.X), int(tile.Y))
	if err != nil {
		t.Fatal(err)
	}
	roads, cut := decode(t, data, tile)
	if !cut || len(roads) != 2 {
		t.Fatalf("MaxFeatures 2: %d roads, cut %v", len(roads), cut)
	}
	for _, r := range roads {
		if r.class != "major" {
			t.Errorf("a cut tile keeps the most important roads first, got %s", r.class)
		}
	}
	// Zooms out of range, and tiles off the grid, are refused with the range.
	for _, c := range []struct {
		z, x, y int
		want    string
	}{{0, 0, 0, "zooms 9 to 16"}, {30, 1, 1, "zooms 9 to 16"}, {8, 0, 0, "zooms 9 to 16"}, {14, 1 << 14, 0, "0 to 16383"}, {14, 0, -1, "0 to 16383"}} {
		_, err := src.Tile(ctx, c.z, c.x, c.y)
		if muster.ErrorCode(err) != muster.EINVALID || !strings.Contains(err.Error(), c.want) {
			t.Errorf("tile %d/%d/%d: %v, want EINVALID saying %q", c.z, c.x, c.y, err, c.want)
		}
	}
	// Far from the town: empty, and no work.
	if data, err := src.Tile(ctx, 14, 0, 0); err != nil || len(data) != 0 {
		t.Errorf("far tile: %d bytes, %v", len(data), err)
	}
	// A request whose client has gone does not wait for a turn.
	src.sem <- struct{}{}
	src.sem <- struct{}{}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	other := maptile.At(orb.Point{69.1015, 34.501}, 16)
	if _, err := src.Tile(cctx, 16, int(other.X), int(other.Y)); err == nil {
		t.Error("a cancelled request built a tile while every turn was taken")
	}
	<-src.sem
	<-src.sem
	// The cache answers the same tile with the same bytes.
	again, err := src.Tile(ctx, 15, int(tile.X), int(tile.Y))
	if err != nil || string(again) != string(data) {
		t.Errorf("cached tile differs: %v", err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	car, _ := townGraphs(t)
	if _, err := New(nil, nil, Options{}); err == nil {
		t.Error("no graph accepted")
	}
	if _, err := New(car, nil, Options{MinZoom: 15, MaxZoom: 12}); err == nil {
		t.Error("MinZoom above MaxZoom accepted")
	}
	if _, err := New(car, nil, Options{MaxZoom: 30}); err == nil {
		t.Error("MaxZoom 30 accepted")
	}
}

// BenchmarkTile builds tiles of a generated city (no cache: a new Source
// per round of tiles), at a street zoom and a low zoom.
func BenchmarkTile(b *testing.B) {
	ctx := context.Background()
	gen, err := citygen.Generate(ctx, citygen.Options{Seed: 7, Scale: 0.5})
	if err != nil {
		b.Fatal(err)
	}
	c, _, err := osmimport.FromOSM(ctx, gen.OSM, "bench", osmimport.Options{})
	if err != nil {
		b.Fatal(err)
	}
	car, foot := c.Graphs[roadgraph.Car], c.Graphs[roadgraph.Foot]
	for _, z := range []int{10, 14} {
		b.Run(fmt.Sprintf("z%d", z), func(b *testing.B) {
			src, err := New(car, foot, Options{CacheBytes: 1})
			if err != nil {
				b.Fatal(err)
			}
			t := maptile.At(src.Bound().Center(), maptile.Zoom(z))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := src.Tile(ctx, z, int(t.X), int(t.Y)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
