// Package citygen generates a realistic, fictional city as OpenStreetMap
// data, deterministically from a seed, so that muster can run demos and
// tests without shipping third-party map data. The city goes through the
// same OSM import as a real extract.
//
// The city has an irregular street grid with one-way lanes in its old town,
// footways and living streets through blocks, a ring road with roundabouts,
// radial arteries, a river crossed only at a few bridges, and an airport in
// the north-east whose perimeter road is entered only at its gates. At the
// default centre the airport and two of its gates lie where Kabul's airport
// and its Abbey and East gates were in August 2021, so the places of the
// kabul-2021 scenario snap to the generated city.
package citygen

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	muster "github.com/muster-evac/muster"
	"github.com/paulmach/orb"
	"github.com/paulmach/osm"
)

// Default centre: Kabul's approximate centre.
const (
	DefaultLon = 69.17
	DefaultLat = 34.53
	// MaxScale is the largest Options.Scale accepted (about 250,000
	// intersections).
	MaxScale = 16
)

// Options say which city to generate.
type Options struct {
	Seed int64
	// Scale is the city's size relative to the default city (about 15,000
	// to 25,000 road nodes after import): 0.2 is a small test city, 4 a big
	// one. Zero means 1. The area grows with Scale, the airport does not.
	Scale float64
	// Center is the city centre as lon, lat; the zero point means the
	// default (Kabul's approximate centre, lon 69.17 lat 34.53).
	Center orb.Point
}

// City is a generated city: its map as OSM data and the places of an
// evacuation from it.
type City struct {
	OSM     *osm.OSM
	Places  muster.Places
	Airport orb.Polygon
	River   orb.LineString
	Bridges []orb.Point // the middle of every bridge over the river, footbridges included
}

// normalize fills in defaults and checks the options.
func (o Options) normalize() (Options, error) {
	if o.Scale == 0 {
		o.Scale = 1
	}
	if math.IsNaN(o.Scale) || o.Scale <= 0 || o.Scale > MaxScale {
		return o, muster.Errorf(muster.EINVALID, "citygen: scale %v out of range: must be greater than 0 and at most %d", o.Scale, MaxScale)
	}
	if o.Center == (orb.Point{}) {
		o.Center = orb.Point{DefaultLon, DefaultLat}
	}
	lon, lat := o.Center[0], o.Center[1]
	if math.IsNaN(lon) || math.IsNaN(lat) || math.IsInf(lon, 0) || math.IsInf(lat, 0) {
		return o, muster.Errorf(muster.EINVALID, "citygen: centre %v is not a number", o.Center)
	}
	// The city spans up to about 70 km east-west at the largest scale: keep
	// it off the poles (where the local plane breaks down) and the
	// antimeridian (where longitudes wrap).
	if lat < -70 || lat > 70 {
		return o, muster.Errorf(muster.EINVALID, "citygen: centre latitude %v out of range: must be within -70..70", lat)
	}
	if lon < -179 || lon > 179 {
		return o, muster.Errorf(muster.EINVALID, "citygen: centre longitude %v out of range: must be within -179..179", lon)
	}
	return o, nil
}

// Generate builds the city the options describe. The same options always
// give the same city, down to the bytes of its OSM XML.
func Generate(ctx context.Context, opts Options) (*City, error) {
	o, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 0x6d75737465726379)) // "mustercy"
	l := newLayout(ctx, o, rng)
	steps := []struct {
		name string
		run  func()
	}{
		{"street grid", l.buildGrid},
		{"blocks", l.buildBlocks},
		{"river banks", l.buildEmbankments},
		{"airport", l.buildAirport},
		{"ring road", l.buildRing},
		{"radials", l.buildRadials},
		{"connectors", l.buildConnectors},
		{"airport access", l.buildAccessRoads},
		{"bridges", l.buildExtraBridges},
		{"roundabouts", l.buildRoundabouts},
		{"cleanup", l.cleanup},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("citygen: generating %s: %w", s.name, err)
		}
		s.run()
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("citygen: %w", err)
	}
	c := &City{}
	c.OSM = l.toOSM()
	c.Places = l.places()
	c.Airport = orb.Polygon{l.toRing(l.airport)}
	for _, v := range l.river {
		c.River = append(c.River, l.toLonLat(v))
	}
	for _, b := range l.bridgePts {
		c.Bridges = append(c.Bridges, l.toLonLat(b))
	}
	return c, nil
}
