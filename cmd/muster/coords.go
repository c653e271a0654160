package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
)

// Every flag that takes a coordinate takes LAT,LON, the order people say
// and maps apps copy (the GeoJSON files muster reads and writes keep
// GeoJSON's LON,LAT). A pair given the other way round is told so, with
// the pair it probably meant, when that is clear: the latitude is out of
// range while the swap is not, or the point is far from the graph while
// its swap is on it.

// parseLatLon reads "LAT,LON" in decimal degrees into a point (lon, lat).
func parseLatLon(flag, s string) (orb.Point, error) {
	parts := strings.Split(s, ",")
	var lat, lon float64
	var err1, err2 error
	if len(parts) == 2 {
		lat, err1 = strconv.ParseFloat(strings.TrimSpace(parts[0]), 64)
		lon, err2 = strconv.ParseFloat(strings.TrimSpace(parts[1]), 64)
	}
	if len(parts) != 2 || err1 != nil || err2 != nil {
		return orb.Point{}, muster.Errorf(muster.EINVALID, "%s %q: want LAT,LON in decimal degrees, e.g. 41.1496,-8.611", flag, s)
	}
	if !muster.ValidLatLon(lat, lon) {
		if muster.ValidLatLon(lon, lat) {
			return orb.Point{}, muster.Errorf(muster.EINVALID, "%s %q: latitude %g is out of range (-90..90): did you mean LAT,LON = %s?", flag, s, lat, latLonText(orb.Point{lat, lon}))
		}
		return orb.Point{}, muster.Errorf(muster.EINVALID, "%s %q: latitude must be within -90..90 and longitude within -180..180", flag, s)
	}
	return orb.Point{lon, lat}, nil
}

func latLonText(p orb.Point) string {
	return strconv.FormatFloat(p.Lat(), 'f', -1, 64) + "," + strconv.FormatFloat(p.Lon(), 'f', -1, 64)
}

// graphBound is the box around a graph's nodes.
func graphBound(g *roadgraph.Graph) orb.Bound {
	if g.NumNodes() == 0 {
		return orb.Bound{}
	}
	b := orb.Bound{Min: g.NodePoint(0), Max: g.NodePoint(0)}
	for u := 1; u < g.NumNodes(); u++ {
		b = b.Extend(g.NodePoint(uint32(u)))
	}
	return b
}

// farFromGraph is how far (in degrees, about 50 km) outside its graph's
// box a point must be to be called far from it.
const farFromGraph = 0.5

// checkOnGraph refuses a point far outside the graph's box, saying which
// pair was probably meant when its swap lies in the box.
func checkOnGraph(flag, s string, p orb.Point, b orb.Bound) error {
	if b.IsZero() || b.Pad(farFromGraph).Contains(p) {
		return nil
	}
	covers := fmt.Sprintf("the graph covers latitudes %.4f..%.4f and longitudes %.4f..%.4f", b.Min.Lat(), b.Max.Lat(), b.Min.Lon(), b.Max.Lon())
	if swapped := (orb.Point{p.Lat(), p.Lon()}); b.Pad(0.01).Contains(swapped) {
		return muster.Errorf(muster.EINVALID, "%s %q is far from the graph (%s): did you mean LAT,LON = %s?", flag, s, covers, latLonText(swapped))
	}
	return muster.Errorf(muster.EINVALID, "%s %q (LAT,LON) is far from the graph: %s", flag, s, covers)
}
