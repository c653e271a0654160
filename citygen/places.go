package citygen

import (
	"fmt"
	"io"
	"math"
	"strings"

	muster "github.com/muster-evac/muster"
	"github.com/muster-evac/muster/places"
	"github.com/paulmach/orb"
)

const (
	airportName = "International Airport"
	gateGroup   = "airport gates"
)

// rallyKinds are what a rally point is, with the people it holds.
var rallyKinds = []struct {
	suffix     string
	capMin, to int
}{
	{"Square", 800, 2000},
	{"Park", 500, 1500},
	{"Mosque", 300, 800},
	{"School", 300, 900},
	{"Market", 400, 1000},
	{"Stadium", 1500, 3000},
}

// places lists the airport, its gates, rally points spread over the city on
// main roads, and landmarks.
func (l *layout) places() muster.Places {
	ps := muster.Places{Timezone: l.timezone()}
	ps.Places = append(ps.Places, muster.Place{
		ID: "airport", Name: airportName, Kind: muster.PlaceAirport,
		Aliases:  []string{"the airport", "airport"},
		Geometry: orb.Polygon{l.toRing(l.airport)},
	})
	for _, g := range l.gates {
		ps.Places = append(ps.Places, muster.Place{
			ID: g.id, Name: g.name, Kind: muster.PlaceGate,
			Aliases:           []string{strings.Replace(g.name, "Gate", "gate", 1)},
			Groups:            []string{gateGroup},
			Geometry:          l.toLonLat(l.net.pts[g.node]),
			RadiusM:           250,
			ThroughputPerHour: g.throughput, CrowdLimit: g.crowd,
			Status: muster.GateOpen, Opens: "00:00", Closes: "24:00",
		})
	}

	// Rally points: spread out by farthest-point sampling over the nodes
	// of main roads that cars can reach and leave, away from the city's
	// ragged edge (where farthest-point sampling would otherwise pile them).
	p := l.net
	var cands []int32
	for n := range p.pts {
		if p.nodeDead[n] || !l.carStrong[n] || !l.inCity(p.pts[n], 0.85) || l.airport.distTo(p.pts[n]) < 300 || l.airport.contains(p.pts[n]) {
			continue
		}
		for _, e := range p.liveEdges(int32(n)) {
			switch p.streets[p.edges[e].street].Highway {
			case "trunk", "primary", "secondary", "tertiary":
				cands = append(cands, int32(n))
			default:
				continue
			}
			break
		}
	}
	want := max(5, int(math.Round(30*l.s)))
	dist := make([]float64, len(cands))
	for i := range dist {
		dist[i] = math.Inf(1)
	}
	pick := -1
	best := math.Inf(1)
	for i, c := range cands {
		// Start from the candidate nearest a point just off the centre,
		// so the centre's roundabout is not itself a rally point.
		if d := p.pts[c].dist(vec{300, 300}); d < best {
			pick, best = i, d
		}
	}
	for k := 0; k < want && pick >= 0; k++ {
		c := cands[pick]
		kind := rallyKinds[l.rng.IntN(len(rallyKinds))]
		ps.Places = append(ps.Places, muster.Place{
			ID:       fmt.Sprintf("rally-%02d", k+1),
			Name:     l.nm.unique(l.nm.word() + " " + kind.suffix),
			Kind:     muster.PlaceRally,
			Geometry: l.toLonLat(p.pts[c]),
			Capacity: (kind.capMin + l.rng.IntN(kind.to-kind.capMin+1)) / 50 * 50,
			Opens:    "05:00", Closes: "21:00",
		})
		pick = -1
		far := -1.0
		for i, o := range cands {
			dist[i] = math.Min(dist[i], p.pts[o].dist(p.pts[c]))
			if dist[i] > far {
				pick, far = i, dist[i]
			}
		}
		if far < 1 {
			break
		}
	}

	// Landmarks: the central square, the bazaar, the citadel, the bridges.
	landmark := func(id, name string, aliases []string, v vec) {
		ps.Places = append(ps.Places, muster.Place{
			ID: id, Name: name, Aliases: aliases, Kind: muster.PlaceLandmark,
			Geometry: l.toLonLat(v), RadiusM: 300,
		})
	}
	centre := vec{}
	if len(l.roundabouts) > 0 && l.centre >= 0 {
		centre = l.roundabouts[0]
	}
	landmark("central-square", "Central Square", []string{"the central roundabout", "Chowk"}, centre)
	landmark("old-bazaar", "Old Bazaar", []string{"the bazaar", "Mandawi"}, centre.add(vec{-350, -250}))
	landmark("citadel", "Citadel", []string{"Bala Hissar", "the old fort"}, l.riverPoint(0.35).add(vec{0, -400}))
	for i, b := range l.bridgePts {
		name := l.nm.unique("Pul-e " + l.nm.word())
		landmark(fmt.Sprintf("bridge-%d", i+1), name, []string{strings.TrimPrefix(name, "Pul-e ") + " Bridge"}, b)
	}
	return ps
}

// riverPoint returns the river's point at fraction f of the city's width
// east of the centre.
func (l *layout) riverPoint(f float64) vec {
	x := f * l.A
	return vec{x, l.riverY(x)}
}

// timezone is Asia/Kabul at the default centre, else the nautical zone of
// the centre's longitude (the IANA Etc/GMT names count west as positive).
func (l *layout) timezone() string {
	if l.isDefaultCentre() {
		return "Asia/Kabul"
	}
	h := int(math.Round(l.o.Center[0] / 15))
	switch {
	case h == 0:
		return "Etc/GMT"
	case h > 0:
		return fmt.Sprintf("Etc/GMT-%d", h)
	}
	return fmt.Sprintf("Etc/GMT+%d", -h)
}

// WritePlacesGeoJSON writes the city's places as a places file.
func (c *City) WritePlacesGeoJSON(w io.Writer) error {
	if c == nil {
		return fmt.Errorf("citygen: no city to write")
	}
	return places.Write(w, &c.Places, "generated city places")
}
