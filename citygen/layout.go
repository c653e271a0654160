package citygen

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"

	muster "github.com/muster-evac/muster"
	"github.com/paulmach/orb"
)

// metresPerDegree is the length of one degree of latitude.
const metresPerDegree = muster.EarthRadiusM * math.Pi / 180

// Sizes of the default city, in metres.
const (
	baseRadius     = 7000 // the default city's mean radius before its ellipse
	riverClearance = 40   // no street node nearer the river than this
	bridgeHalf     = 30   // a bridge deck runs this far each side of the river
	embankment     = 55   // riverside roads run this far from the river
	perimeterGap   = 45   // the airport perimeter road's distance from the fence
	gridClearance  = 25   // no grid node nearer the airport fence than this
	arterialSnap   = 22
	streetSnap     = 12
	sampleStep     = 40 // spacing of a laid road's shape points
	riverStep      = 40 // spacing of the river's samples
)

// airportTemplate is the airport's fence at the default centre, lon/lat,
// counter-clockwise: roughly Kabul's HKIA.
var airportTemplate = [][2]float64{
	{69.1800, 34.5625}, {69.2000, 34.5560}, {69.2195, 34.5605}, {69.2300, 34.5640},
	{69.2360, 34.5670}, {69.2250, 34.5750}, {69.1950, 34.5750}, {69.1800, 34.5685},
}

// gateTemplate places the gates at the default centre. Abbey and East Gate
// are where the kabul-2021 scenario puts them.
var gateTemplate = []struct {
	id, name          string
	lon, lat          float64
	throughput, crowd int
}{
	{"gate-north", "North Gate", 69.2130, 34.5750, 400, 120},
	{"gate-abbey", "Abbey Gate", 69.2195, 34.5605, 500, 150},
	{"gate-east", "East Gate", 69.2300, 34.5640, 400, 120},
	{"gate-south", "South Gate", 69.2075, 34.5560 + (69.2075-69.2000)/(69.2195-69.2000)*(34.5605-34.5560), 300, 100},
}

type gate struct {
	id, name          string
	at                vec // on the fence
	out               vec // outward direction
	throughput, crowd int
	perim, node       int32 // perimeter road node; the gate's own node on the fence
}

type layout struct {
	ctx context.Context // long steps stop early when it is done; Generate reports it
	o   Options
	rng *rand.Rand
	nm  *namer

	s      float64 // scale
	f      float64 // how far the airport and river sit from the centre, relative to the default
	R      float64 // mean radius
	A, B   float64 // semi-axes of the city's ellipse
	phase  [6]float64
	cosLat float64

	net *planar

	river      polyline
	riverX0    float64
	airport    ring // the fence, counter-clockwise
	airportArt ring // the fence grown by the clearance arterials keep
	airportGrd ring // the fence grown by gridClearance
	gates      []gate
	gateStreet map[int32]bool

	bridgeBudget int
	bridgePts    []vec

	ringStreet    int32
	radialStreets map[int32]bool
	centre        int32
	roundabouts   []vec

	carStrong []bool // per node: in the largest strongly connected car component

	gridState
}

func newLayout(ctx context.Context, o Options, rng *rand.Rand) *layout {
	l := &layout{ctx: ctx, o: o, rng: rng, nm: newNamer(rng), s: o.Scale, centre: -1}
	l.f = math.Min(1, math.Sqrt(l.s))
	l.R = baseRadius * math.Sqrt(l.s)
	l.A, l.B = 1.25*l.R, 0.85*l.R
	for i := range l.phase {
		l.phase[i] = rng.Float64() * 2 * math.Pi
	}
	l.cosLat = math.Cos(o.Center[1] * math.Pi / 180)
	switch {
	case l.s < 0.5:
		l.bridgeBudget = 3
	case l.s < 2:
		l.bridgeBudget = 4
	case l.s < 6:
		l.bridgeBudget = 5
	default:
		l.bridgeBudget = 6
	}
	l.gateStreet = map[int32]bool{}
	l.radialStreets = map[int32]bool{}

	// River: west to east, meandering, from well beyond the city on both sides.
	y0 := -0.01 * metresPerDegree * l.f // lat 34.52 at the default centre
	riverHalf := math.Max(1.6*l.A, 3000)
	l.riverX0 = -riverHalf
	n := int(2*riverHalf/riverStep) + 1
	a1, a2 := 180.0, 60.0
	for i := 0; i < n; i++ {
		x := l.riverX0 + float64(i)*riverStep
		y := y0 + a1*math.Sin(x/1500+l.phase[3]) + a2*math.Sin(x/450+l.phase[4])
		l.river = append(l.river, vec{x, y})
	}

	// Airport: fixed size; at small scales it moves toward the centre with
	// the city's edge.
	defCos := math.Cos(DefaultLat * math.Pi / 180)
	local := func(lon, lat float64) vec {
		return vec{(lon - DefaultLon) * metresPerDegree * defCos, (lat - DefaultLat) * metresPerDegree}
	}
	var cen vec
	for _, p := range airportTemplate {
		v := local(p[0], p[1])
		l.airport = append(l.airport, v)
		cen = cen.add(v)
	}
	cen = cen.mul(1 / float64(len(l.airport)))
	shift := cen.mul(l.f - 1)
	for i := range l.airport {
		l.airport[i] = l.airport[i].add(shift)
	}
	if l.airport.signedArea() < 0 {
		slices.Reverse(l.airport)
	}
	for _, g := range gateTemplate {
		at := local(g.lon, g.lat).add(shift)
		l.gates = append(l.gates, gate{id: g.id, name: g.name, at: at, throughput: g.throughput, crowd: g.crowd, perim: -1, node: -1})
	}
	l.airportArt = l.airport.offsetOutward(perimeterGap + 15)
	l.airportGrd = l.airport.offsetOutward(gridClearance)

	// The bucket grid covers the city, the river's run beyond it and the airport.
	minX, minY, maxX, maxY := -riverHalf-500, -1.7*l.B, riverHalf+500, 1.7*l.B
	for _, v := range l.airportArt.offsetOutward(1000) {
		minX, minY = math.Min(minX, v.X), math.Min(minY, v.Y)
		maxX, maxY = math.Max(maxX, v.X), math.Max(maxY, v.Y)
	}
	l.net = newPlanar(minX, minY, maxX, maxY, 150)
	return l
}

// toLonLat projects a local point to lon/lat, rounded to OSM's 1e-7 degrees.
func (l *layout) toLonLat(v vec) orb.Point {
	lon := l.o.Center[0] + v.X/(metresPerDegree*l.cosLat)
	lat := l.o.Center[1] + v.Y/metresPerDegree
	return orb.Point{math.Round(lon*1e7) / 1e7, math.Round(lat*1e7) / 1e7}
}

func (l *layout) toRing(r ring) orb.Ring {
	out := make(orb.Ring, 0, len(r)+1)
	for _, v := range r {
		out = append(out, l.toLonLat(v))
	}
	return append(out, out[0])
}

// boundary returns the city's edge radius factor in direction theta.
func (l *layout) boundary(theta float64) float64 {
	return 1 + 0.10*math.Sin(2*theta+l.phase[0]) + 0.07*math.Sin(3*theta+l.phase[1]) + 0.05*math.Sin(5*theta+l.phase[2])
}

// inCity reports whether v is inside the city's edge grown by factor k.
func (l *layout) inCity(v vec, k float64) bool {
	r := l.boundary(math.Atan2(v.Y, v.X)) * k
	ex, ey := v.X/l.A, v.Y/l.B
	return ex*ex+ey*ey <= r*r
}

// riverY returns the river's northing at easting x (the river runs west to
// east, so it is a function of x), interpolated between its samples.
func (l *layout) riverY(x float64) float64 {
	u := (x - l.riverX0) / riverStep
	if u <= 0 {
		return l.river[0].Y
	}
	i := int(u)
	if i >= len(l.river)-1 {
		return l.river[len(l.river)-1].Y
	}
	fr := u - float64(i)
	return l.river[i].Y*(1-fr) + l.river[i+1].Y*fr
}

// riverSide is positive north of the river.
func (l *layout) riverSide(v vec) float64 { return v.Y - l.riverY(v.X) }

// riverClear reports whether v is at least d metres from the river.
func (l *layout) riverClear(v vec, d float64) bool {
	dy := math.Abs(l.riverSide(v))
	if dy >= d*1.6 {
		return true // the river's slope never exceeds about 1.2
	}
	i := int((v.X - l.riverX0) / riverStep)
	lo, hi := max(0, i-int(d/riverStep)-2), min(len(l.river)-1, i+int(d/riverStep)+3)
	dist, _, _ := l.river[lo : hi+1].distTo(v)
	return dist >= d
}

// crossesRiver reports whether segment ab crosses the river line.
func (l *layout) crossesRiver(a, b vec) bool {
	lo := int((math.Min(a.X, b.X)-l.riverX0)/riverStep) - 1
	hi := int((math.Max(a.X, b.X)-l.riverX0)/riverStep) + 2
	lo, hi = max(0, lo), min(len(l.river)-1, hi)
	if lo >= hi {
		return false
	}
	return len(l.river[lo:hi+1].crossings(a, b)) > 0
}

// touchesAirport reports whether segment ab enters the fenced airport.
func (l *layout) touchesAirport(a, b vec) bool {
	return l.airport.segmentTouches(a, b, 0)
}

// Grid and road bookkeeping the build steps share.
type gridState struct {
	gridIDs        []int32
	gridH, gridV   []int32
	gridNU, gridNV int
	mids           map[int32]int32
	perimStreet    int32
	radialAngles   []float64
}
