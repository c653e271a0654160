// Package scenario generates evacuation scenarios on any road graph, a real
// extract or the generated city: households on residential streets, rally
// point candidates on main roads spread over the city, gates around the
// airport, and a threat inject that closes one gate and blocks roads near
// the airport. The same options always give the same scenario, byte for
// byte, so benchmarks and comparisons are repeatable.
//
// The road classes are not stored in the graph; they are read from the car
// graph's speeds, which the importer derives from the class (see
// osmimport/PROFILES.md): residential streets are driven at about 24 km/h
// (80% of 30 km/h), living streets at 8, service roads at 16, tertiary and
// secondary roads at 40, primary at 48 and trunk roads and motorways above.
package scenario

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
)

// Options say which scenario to generate; zero values take the defaults.
type Options struct {
	Seed int64
	// Households is the number of households. Default 30,000.
	Households int
	// TargetPeople is the number of people in all households together; the
	// sizes are drawn around TargetPeople/Households and then nudged so that
	// they add up to exactly this. Default 100,000.
	TargetPeople int
	// RallyPoints is the number of rally point candidates. Default 300.
	RallyPoints int
	// Gates is the number of airport gates. Default 4.
	Gates int
	// AirportCenter is the airport's centre (lon, lat); required. Porto's
	// is about -8.681, 41.248.
	AirportCenter orb.Point
	// Timezone is the IANA name the places' opening hours are in. Default UTC.
	Timezone string
	// RallyHoursShare is the share of rally points that keep daytime hours
	// (06:00-22:00 local); the others are open around the clock. Zero
	// means DefaultRallyHoursShare; a negative value, none.
	RallyHoursShare float64
	// GateRingM is the band of distances from AirportCenter the gates are
	// placed in. Default 1,000-2,000 m.
	GateRingM [2]float64
}

// Defaults of Options.
const (
	DefaultHouseholds   = 30_000
	DefaultTargetPeople = 100_000
	DefaultRallyPoints  = 300
	DefaultGates        = 4
	// MaxHouseholdSize is the largest household drawn: below the planner's
	// default maximum group size (12), so no household must be split.
	MaxHouseholdSize = 10
)

func (o Options) withDefaults() (Options, error) {
	if o.Households == 0 {
		o.Households = DefaultHouseholds
	}
	if o.TargetPeople == 0 {
		o.TargetPeople = DefaultTargetPeople
	}
	if o.RallyPoints == 0 {
		o.RallyPoints = DefaultRallyPoints
	}
	if o.Gates == 0 {
		o.Gates = DefaultGates
	}
	if o.Timezone == "" {
		o.Timezone = "UTC"
	}
	if o.RallyHoursShare == 0 {
		o.RallyHoursShare = DefaultRallyHoursShare
	}
	if o.GateRingM == [2]float64{} {
		o.GateRingM = [2]float64{1000, 2000}
	}
	switch {
	case o.Households < 0 || o.RallyPoints < 0 || o.Gates < 0 || o.TargetPeople < 0:
		return o, muster.Errorf(muster.EINVALID, "scenario: negative count in options (households %d, people %d, rally points %d, gates %d)",
			o.Households, o.TargetPeople, o.RallyPoints, o.Gates)
	case o.TargetPeople < o.Households || o.TargetPeople > o.Households*MaxHouseholdSize:
		return o, muster.Errorf(muster.EINVALID, "scenario: %d people cannot fill %d households of 1 to %d people",
			o.TargetPeople, o.Households, MaxHouseholdSize)
	case o.RallyHoursShare > 1 || math.IsNaN(o.RallyHoursShare):
		return o, muster.Errorf(muster.EINVALID, "scenario: rally hours share %v is more than 1", o.RallyHoursShare)
	case o.Gates < 2:
		return o, muster.Errorf(muster.EINVALID, "scenario: %d gates: at least 2 are needed (the threat closes one)", o.Gates)
	case o.AirportCenter == orb.Point{}:
		return o, muster.Errorf(muster.EINVALID, "scenario: the airport centre is required (Porto's is about lon -8.681 lat 41.248)")
	case !muster.ValidLatLon(o.AirportCenter[1], o.AirportCenter[0]):
		return o, muster.Errorf(muster.EINVALID, "scenario: airport centre %v is not a longitude, latitude", o.AirportCenter)
	case !(o.GateRingM[0] > 0 && o.GateRingM[1] > o.GateRingM[0]):
		return o, muster.Errorf(muster.EINVALID, "scenario: gate ring %v m: want 0 < inner < outer", o.GateRingM)
	}
	return o, nil
}

// Scenario is one generated operation.
type Scenario struct {
	Options    Options // with the defaults filled in
	Places     muster.Places
	Households []muster.Household
	Threat     Threat
}

// Threat is the inject: zones as routing consumes them (give them to the
// routers' SetZones), and the gate statuses they imply.
type Threat struct {
	Zones      []muster.Zone
	GateStatus map[string]string // place id -> closed
	ClosedGate string            // the id of the gate the threat closes
	RoadBlocks []string          // the ids of the road-block zones
}

// Gates returns the scenario's gates.
func (s *Scenario) Gates() []muster.Place { return s.kind(muster.PlaceGate) }

// RallyPoints returns the scenario's rally point candidates.
func (s *Scenario) RallyPoints() []muster.Place { return s.kind(muster.PlaceRally) }

func (s *Scenario) kind(k string) []muster.Place {
	var out []muster.Place
	for _, p := range s.Places.Places {
		if p.Kind == k {
			out = append(out, p)
		}
	}
	return out
}

// People returns the number of people in all households.
func (s *Scenario) People() int {
	n := 0
	for i := range s.Households {
		n += s.Households[i].PartySize
	}
	return n
}

// Speed classes, km/h as driven (see the package documentation).
const (
	// residential-like streets: residential (24 km/h) and living streets (8);
	// service roads (16: parking aisles, driveways) are left out.
	residentialMinKmh, residentialMaxKmh = 20, 26
	livingMaxKmh                         = 10
	// main roads a rally point may stand on: tertiary to primary. Faster
	// roads (trunk, motorway) are no place to gather on foot.
	mainMinKmh, mainMaxKmh = 38, 60
)

func arcKmh(g *roadgraph.Graph, a int) float64 {
	return float64(g.LengthM[a]) / (float64(g.TimeMS[a]) / 1000) * 3.6
}

func residentialArc(g *roadgraph.Graph, a int) bool {
	v := arcKmh(g, a)
	return (v >= residentialMinKmh && v <= residentialMaxKmh) || v <= livingMaxKmh
}

func mainArc(g *roadgraph.Graph, a int) bool {
	v := arcKmh(g, a)
	return v >= mainMinKmh && v <= mainMaxKmh
}

// Generate makes a scenario on a city's car and foot graphs.
func Generate(ctx context.Context, car, foot *roadgraph.Graph, opts Options) (*Scenario, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if car == nil || foot == nil || car.NumArcs() == 0 || foot.NumArcs() == 0 {
		return nil, muster.Errorf(muster.EINVALID, "scenario: a car graph and a foot graph with roads are needed")
	}
	s := &Scenario{Options: o, Places: muster.Places{Timezone: o.Timezone}}
	// One stream per part, so that changing how one part draws does not
	// change the others.
	rng := func(part uint64) *rand.Rand { return rand.New(rand.NewPCG(uint64(o.Seed), part)) }
	footIndex := roadgraph.NewArcIndex(foot)

	s.Places.Places = append(s.Places.Places, muster.Place{ID: "airport", Name: "Airport", Kind: muster.PlaceAirport,
		Aliases: []string{"the airport"}, Geometry: o.AirportCenter, RadiusM: o.GateRingM[0]})
	gates, err := placeGates(car, o, rng(1))
	if err != nil {
		return nil, err
	}
	s.Places.Places = append(s.Places.Places, gates...)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	hs, err := placeHouseholds(car, o, rng(2))
	if err != nil {
		return nil, err
	}
	s.Households = hs
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	rallies, err := placeRallies(ctx, car, footIndex, hs, o, rng(3))
	if err != nil {
		return nil, err
	}
	s.Places.Places = append(s.Places.Places, rallies...)
	s.Threat, err = makeThreat(car, gates, o, rng(4))
	if err != nil {
		return nil, err
	}
	return s, nil
}

// local is an equirectangular projection in metres around a reference
// point: accurate to well under 1% over a city.
type local struct{ lon0, lat0, kx, ky float64 }

func newLocal(p orb.Point) local {
	const mPerDeg = 111_320.0
	return local{p[0], p[1], mPerDeg * math.Cos(p[1]*math.Pi/180), mPerDeg}
}

func (l local) xy(p orb.Point) (float64, float64) {
	return (p[0] - l.lon0) * l.kx, (p[1] - l.lat0) * l.ky
}

func (l local) point(x, y float64) orb.Point { return orb.Point{l.lon0 + x/l.kx, l.lat0 + y/l.ky} }

func (l local) dist(a, b orb.Point) float64 {
	ax, ay := l.xy(a)
	bx, by := l.xy(b)
	return math.Hypot(ax-bx, ay-by)
}

// round6 keeps coordinates to 1e-6 degrees (about 10 cm): tidy files that
// read back to the same numbers.
func round6(p orb.Point) orb.Point {
	return orb.Point{math.Round(p[0]*1e6) / 1e6, math.Round(p[1]*1e6) / 1e6}
}

// alongArc returns the point at fraction f of arc a's polyline length.
func alongArc(g *roadgraph.Graph, tails []uint32, a int, f float64) orb.Point {
	line := g.ArcGeometry(nil, tails[a], uint32(a))
	l := newLocal(line[0])
	total := 0.0
	for i := 1; i < len(line); i++ {
		total += l.dist(line[i-1], line[i])
	}
	want := f * total
	for i := 1; i < len(line); i++ {
		d := l.dist(line[i-1], line[i])
		if want <= d && d > 0 {
			t := want / d
			return orb.Point{line[i-1][0] + t*(line[i][0]-line[i-1][0]), line[i-1][1] + t*(line[i][1]-line[i-1][1])}
		}
		want -= d
	}
	return line[len(line)-1]
}

// oneWayOrFirst keeps one of the two arcs of a two-way street, so that
// two-way streets do not weigh double.
func oneWayOrFirst(g *roadgraph.Graph, tails []uint32, a int) bool {
	u, v := tails[a], g.Head[a]
	if u < v {
		return true
	}
	for b := g.FirstOut[v]; b < g.FirstOut[v+1]; b++ {
		if g.Head[b] == u {
			return false
		}
	}
	return true
}
