package muster

import "math"

// EarthRadiusM is the mean Earth radius used for every distance in muster.
const EarthRadiusM = 6_371_008.8

func cosDeg(d float64) float64 {
	c := math.Cos(d * math.Pi / 180)
	if c < 1e-6 {
		c = 1e-6
	}
	return c
}

// DistanceM returns the great-circle (haversine) distance in metres between
// two lon/lat points.
func DistanceM(lon1, lat1, lon2, lat2 float64) float64 {
	const rad = math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * EarthRadiusM * math.Asin(math.Min(1, math.Sqrt(a)))
}

// ValidLatLon reports whether lat, lon are finite and within range.
func ValidLatLon(lat, lon float64) bool {
	return !math.IsNaN(lat) && !math.IsNaN(lon) && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180
}
