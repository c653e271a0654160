package muster

import "github.com/paulmach/orb"

// Zone is an area of danger as routing sees it. Either Polygon is set, or
// the zone is the circle of RadiusM metres around Center.
type Zone struct {
	ID      string
	Name    string
	Polygon orb.MultiPolygon // lon/lat rings; empty for a circle
	Center  orb.Point        // lon, lat of a circle
	RadiusM float64          // > 0 for a circle

	// Risk in 0..1: the chance that harm comes to whoever is inside.
	Risk float64
	// Forbidden zones are never entered by a route, not even by an edge
	// that only passes through them between two outside nodes.
	Forbidden bool
	// Penalty is the routing cost factor for time spent inside a zone that
	// is not forbidden (>= 1; the threat policy's verdict). Zero leaves it
	// to the router, which derives it from Risk.
	Penalty float64
	// Level is the threat picture's verdict (low, moderate, high,
	// critical); informational for routing.
	Level string
}

// IsCircle reports whether the zone is a circle rather than a polygon.
func (z *Zone) IsCircle() bool { return len(z.Polygon) == 0 && z.RadiusM > 0 }

// Bound returns the zone's bounding box in lon/lat degrees.
func (z *Zone) Bound() orb.Bound {
	if !z.IsCircle() {
		return z.Polygon.Bound()
	}
	const mPerDegLat = 111_320.0
	dLat := z.RadiusM / mPerDegLat
	dLon := z.RadiusM / (mPerDegLat * cosDeg(z.Center[1]))
	return orb.Bound{
		Min: orb.Point{z.Center[0] - dLon, z.Center[1] - dLat},
		Max: orb.Point{z.Center[0] + dLon, z.Center[1] + dLat},
	}
}
