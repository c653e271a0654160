package muster

import "github.com/paulmach/orb"

// Place kinds, as in a places file.
const (
	PlaceAirport  = "airport"
	PlaceGate     = "gate"
	PlaceRally    = "rally"
	PlaceLandmark = "landmark"
	PlaceArea     = "area"
)

// Gate statuses.
const (
	GateOpen       = "open"
	GateRestricted = "restricted"
	GateClosed     = "closed"
)

// Place is a named location an operation refers to: an airport, one of its
// gates, a rally point, a landmark or an area that reports may name.
type Place struct {
	ID       string
	Name     string
	Aliases  []string
	Kind     string   // PlaceAirport, PlaceGate, ...
	Groups   []string // place groups it belongs to ("HKIA gates")
	Geometry orb.Geometry
	RadiusM  float64 // for a Point used as an area

	// Gates.
	ThroughputPerHour int
	CrowdLimit        int
	Status            string // GateOpen, GateRestricted, GateClosed

	// Rally points.
	Capacity int

	// Opening hours, local "HH:MM" ("24:00" for midnight); empty means always.
	Opens, Closes string
}

// Places is a places file: the places of one operation and the time zone
// their opening hours are in.
type Places struct {
	Timezone string
	Places   []Place
}

// Point is where a place is for routing and display: the place itself if
// it is a point, else the centre of its bounds; false if it has no
// geometry.
func (p *Place) Point() (orb.Point, bool) {
	switch g := p.Geometry.(type) {
	case nil:
		return orb.Point{}, false
	case orb.Point:
		return g, true
	default:
		return g.Bound().Center(), true
	}
}
