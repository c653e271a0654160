package citygen

import (
	"bytes"
	"context"
	"math"
	"testing"

	muster "github.com/muster-evac/muster"
	"github.com/muster-evac/muster/places"
	"github.com/paulmach/orb"
)

// FuzzGenerate feeds arbitrary options to Generate: it must reject bad
// ones with an invalid-input error and build a consistent city from good
// ones, never panic. Scales above 0.3 are only validated, to keep each
// run short.
func FuzzGenerate(f *testing.F) {
	f.Add(int64(1), 0.2, 0.0, 0.0)
	f.Add(int64(-5), 0.05, -8.61, 41.15)
	f.Add(int64(3), 1e-9, 179.0, -70.0)
	f.Add(int64(0), -1.0, 0.0, 0.0)
	f.Add(int64(9), 0.3, 1e-300, 0.0)
	f.Add(int64(2), 17.0, math.NaN(), 91.0)
	f.Fuzz(func(t *testing.T, seed int64, scale, lon, lat float64) {
		opts := Options{Seed: seed, Scale: scale, Center: orb.Point{lon, lat}}
		if _, err := opts.normalize(); err != nil {
			if _, gerr := Generate(context.Background(), opts); gerr == nil || muster.ErrorCode(gerr) != muster.EINVALID {
				t.Fatalf("%+v: normalize says %v, Generate says %v", opts, err, gerr)
			}
			return
		}
		if scale > 0.3 {
			return
		}
		c, err := Generate(context.Background(), opts)
		if err != nil {
			t.Fatalf("%+v: %v", opts, err)
		}
		var buf bytes.Buffer
		if err := c.WriteOSMXML(&buf); err != nil {
			t.Fatal(err)
		}
		buf.Reset()
		if err := c.WritePlacesGeoJSON(&buf); err != nil {
			t.Fatal(err)
		}
		if _, err := places.Read(&buf, "generated"); err != nil {
			t.Fatalf("%+v: places reader rejects the generated places: %v", opts, err)
		}
		gates := 0
		for _, p := range c.Places.Places {
			pt, ok := p.Geometry.(orb.Point)
			if ok && !muster.ValidLatLon(pt[1], pt[0]) {
				t.Fatalf("%+v: place %s at %v", opts, p.ID, pt)
			}
			if p.Kind == muster.PlaceGate {
				gates++
			}
		}
		if gates != 4 {
			t.Fatalf("%+v: %d gates", opts, gates)
		}
		for _, n := range c.OSM.Nodes {
			if !muster.ValidLatLon(n.Lat, n.Lon) {
				t.Fatalf("%+v: node %d at %v,%v", opts, n.ID, n.Lat, n.Lon)
			}
		}
	})
}
