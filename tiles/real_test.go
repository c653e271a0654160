package tiles

import (
	"context"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"github.com/muster-evac/muster/internal/testshared"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/roadgraph"
)

// TestTilesOfARealExtract: the map's tiles of Porto Alegre's extract, as
// the server makes them for the operations map. At every zoom of the
// city centre the tile decodes, is not cut, and every road stays within
// the tile and its buffer; at zoom 16 every intersection of the car graph
// inside the tile is the end of a road drawn (recomputed from the graph,
// not from the tiles).
func TestTilesOfARealExtract(t *testing.T) {
	path := testshared.Path(t, "data/porto-alegre.osm.pbf")
	city, _, err := osmimport.ImportFile(context.Background(), path, osmimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	car, foot := city.Graphs[roadgraph.Car], city.Graphs[roadgraph.Foot]
	src, err := New(car, foot, Options{})
	if err != nil {
		t.Fatal(err)
	}
	centre := orb.Point{-51.2177, -30.0331}
	for _, z := range []int{11, 13, 14, 15, 16} {
		tile := maptile.At(centre, maptile.Zoom(z))
		data, err := src.Tile(context.Background(), z, int(tile.X), int(tile.Y))
		if err != nil {
			t.Fatalf("z%d: %v", z, err)
		}
		roads, cut := decode(t, data, tile)
		if cut {
			t.Errorf("z%d: the tile is cut (%d roads)", z, len(roads))
		}
		if len(roads) == 0 {
			t.Fatalf("z%d: no road in the centre of Porto Alegre", z)
		}
		b := tile.Bound()
		pad := 0.1 * (b.Max[0] - b.Min[0]) // the clipping buffer, generously
		for _, r := range roads {
			for _, p := range r.line {
				if p[0] < b.Min[0]-pad || p[0] > b.Max[0]+pad || p[1] < b.Min[1]-pad || p[1] > b.Max[1]+pad {
					t.Fatalf("z%d: road %q reaches %v, outside tile %v", z, r.name, p, b)
				}
			}
		}
		if z != 16 {
			continue
		}
		inner := orb.Bound{Min: orb.Point{b.Min[0] + pad, b.Min[1] + pad}, Max: orb.Point{b.Max[0] - pad, b.Max[1] - pad}}
		checked, named := 0, 0
		for u := 0; u < car.NumNodes(); u++ {
			p := car.NodePoint(uint32(u))
			if !inner.Contains(p) || car.FirstOut[u] == car.FirstOut[u+1] {
				continue
			}
			checked++
			found := false
			for _, r := range roads {
				if near(r.line, [2]float64{p[0], p[1]}) {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("z16: the car graph's node %d at %v is on no road drawn", u, p)
			}
		}
		for _, r := range roads {
			if r.name != "" {
				named++
			}
		}
		if checked < 10 || named == 0 {
			t.Fatalf("z16: %d intersections checked, %d roads named: the centre should hold many", checked, named)
		}
		t.Logf("z16: %d roads, %d car intersections each found on one, %d roads named", len(roads), checked, named)
	}
}
