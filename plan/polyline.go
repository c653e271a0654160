package plan

import (
	"fmt"
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// PolylinePrecision is the number of decimals of a degree that plan.json
// (version 2) keeps of every coordinate: Google's encoded polyline
// algorithm at 1e-6°, as OSRM's "polyline6" and Valhalla write it. At
// 1e-5° (Google's default) a point moves by up to 0.8 m, enough to carry
// a route that runs along a forbidden zone's edge into it in the
// checker's eyes; 1e-6° moves it by 8 cm at most and costs about 40%
// more characters. OpenStreetMap itself keeps 1e-7°.
const PolylinePrecision = 6

const polylineScale = 1e6

// maxPolylineChunks bounds the 5-bit chunks of one value: 7 hold any
// difference of two coordinates at 1e-6° (360e6 doubled is under 2^30);
// more is not a polyline this package wrote, and would overflow.
const maxPolylineChunks = 7

// quantum rounds a coordinate to the precision plan.json keeps, so that a
// plan in memory holds what its file holds, to the bit: the decoder
// computes float64(n)/1e6 from the same n.
func quantum(x float64) float64 { return math.Round(x*polylineScale) / polylineScale }

// onGrid says whether every coordinate of line is already at the
// precision plan.json keeps.
func onGrid(line orb.LineString) bool {
	for _, p := range line {
		if quantum(p[0]) != p[0] || quantum(p[1]) != p[1] {
			return false
		}
	}
	return true
}

// gridLine returns line at the precision plan.json keeps: line itself
// when it is already, else a copy (line may be shared with the router).
func gridLine(line orb.LineString) orb.LineString {
	if onGrid(line) {
		return line
	}
	out := slices.Clone(line)
	toGrid(out)
	return out
}

// toGrid rounds line in place to the precision plan.json keeps.
func toGrid(line orb.LineString) {
	for i, p := range line {
		line[i] = orb.Point{quantum(p[0]), quantum(p[1])}
	}
}

// appendPolyline appends line as an encoded polyline (Google's
// algorithm: latitude then longitude, each the difference from the point
// before, at PolylinePrecision). A coordinate that is not finite or out of
// range is refused: the decoder would refuse it.
func appendPolyline(b []byte, line orb.LineString) ([]byte, error) {
	var plat, plon int64
	for i, p := range line {
		lon, lat := p[0], p[1]
		if !(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) { // NaN fails too
			return b, fmt.Errorf("point %d (%v, %v) is not a longitude and latitude", i, lon, lat)
		}
		la, lo := int64(math.Round(lat*polylineScale)), int64(math.Round(lon*polylineScale))
		b = appendPolylineValue(b, la-plat)
		b = appendPolylineValue(b, lo-plon)
		plat, plon = la, lo
	}
	return b, nil
}

func appendPolylineValue(b []byte, v int64) []byte {
	u := uint64(v) << 1
	if v < 0 {
		u = ^u
	}
	for u >= 0x20 {
		b = append(b, byte(0x20|u&0x1f)+63)
		u >>= 5
	}
	return append(b, byte(u)+63)
}

// EncodePolyline is line as plan.json writes it: an encoded polyline at
// PolylinePrecision, latitude first.
func EncodePolyline(line orb.LineString) (string, error) {
	b, err := appendPolyline(nil, line)
	return string(b), err
}

// DecodePolyline reads an encoded polyline written at PolylinePrecision.
// Anything else gets an error saying where: a character outside the
// alphabet, a value cut short or too long, a latitude without its
// longitude, a point out of range.
func DecodePolyline(s string) (orb.LineString, error) {
	// Made once at its length: a value ends at a character without the
	// 0x20 bit (below 63+0x20), a point is two values. (A walk of a few
	// characters a point grew two or three times from len(s)/6: a quarter
	// of the bytes allocated reading a plan, BenchmarkDecodePlan.)
	values := 0
	for i := 0; i < len(s); i++ {
		if s[i] < 63+0x20 {
			values++
		}
	}
	line := make(orb.LineString, 0, values/2)
	var lat, lon int64
	for i := 0; i < len(s); {
		start := i
		dlat, next, err := polylineValue(s, i)
		if err != nil {
			return nil, err
		}
		if next == len(s) {
			return nil, fmt.Errorf("polyline: a latitude without its longitude at character %d", start)
		}
		dlon, next, err := polylineValue(s, next)
		if err != nil {
			return nil, err
		}
		i = next
		lat += dlat
		lon += dlon
		if lat < -90*polylineScale || lat > 90*polylineScale || lon < -180*polylineScale || lon > 180*polylineScale {
			return nil, fmt.Errorf("polyline: point %d at character %d is out of range (latitude %.6f, longitude %.6f)",
				len(line), start, float64(lat)/polylineScale, float64(lon)/polylineScale)
		}
		line = append(line, orb.Point{float64(lon) / polylineScale, float64(lat) / polylineScale})
	}
	return line, nil
}

func polylineValue(s string, i int) (int64, int, error) {
	var u uint64
	for k := 0; ; k++ {
		if i >= len(s) {
			return 0, i, fmt.Errorf("polyline: cut short at character %d", i)
		}
		c := s[i]
		if c < 63 || c > 63+0x3f {
			return 0, i, fmt.Errorf("polyline: character %q at %d is not of an encoded polyline (? to ~)", s[i:i+1], i)
		}
		if k == maxPolylineChunks {
			return 0, i, fmt.Errorf("polyline: a value longer than %d characters at character %d", maxPolylineChunks, i)
		}
		c -= 63
		u |= uint64(c&0x1f) << (5 * k)
		i++
		if c < 0x20 {
			break
		}
	}
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v, i, nil
}
