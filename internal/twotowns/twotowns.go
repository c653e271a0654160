// Package twotowns builds, for tests, a small OpenStreetMap world that the
// foot network splits as Andorra's does: two towns of residential streets
// joined only by a main road tagged foot=no, a third "town" of footpaths
// that no car road reaches, a gate beyond the second town, and a rally
// point in the first.
package twotowns

import (
	"fmt"

	"github.com/paulmach/orb"
	"github.com/paulmach/osm"

	"github.com/muster-evac/muster"
)

// The world's layout: 8 x 8 street grids 100 m apart.
const (
	Side    = 8
	lat0    = 42.5
	lon0    = 1.5
	stepLat = 0.0009  // about 100 m
	stepLon = 0.00122 // about 100 m at 42.5 degrees
	// RoadM is about how long the foot=no road between the towns is.
	RoadM = 1500
)

// Origins of the three grids (south-west corners).
var (
	TownA = orb.Point{lon0, lat0}
	TownB = orb.Point{lon0 + (Side-1)*stepLon + RoadM/82_000.0, lat0}
	// TownC is footpaths only, 600 m north of town A: no car road within
	// 200 m of it, one within a kilometre.
	TownC = orb.Point{lon0, lat0 + (Side-1)*stepLat + 600/111_000.0}
	// Gate is 300 m east of town B, at the end of a car road.
	Gate = orb.Point{TownB[0] + (Side-1)*stepLon + 300/82_000.0, lat0 + 3*stepLat}
	// Rally is in the middle of town A.
	Rally = orb.Point{lon0 + 3*stepLon, lat0 + 3*stepLat}
	// FragmentHome is the household A900's home in town A, 12 m east of
	// Avenue 2, and 4 m from a fragment of footpath joined to nothing.
	FragmentHome = orb.Point{lon0 + stepLon + 12/82_000.0, lat0 + 1.5*stepLat}
)

// At is the point of grid origin o at column x, row y.
func At(o orb.Point, x, y int) orb.Point {
	return orb.Point{o[0] + float64(x)*stepLon, o[1] + float64(y)*stepLat}
}

// OSM returns the world.
func OSM() *osm.OSM {
	b := &builder{o: &osm.OSM{}}
	a := b.grid(TownA, "residential", "A")
	bb := b.grid(TownB, "residential", "B")
	b.grid(TownC, "footway", "C")
	// The main road between the towns: closed to pedestrians.
	from, to := a[3][Side-1], bb[3][0]
	road := []osm.NodeID{from}
	fp, tp := At(TownA, Side-1, 3), At(TownB, 0, 3)
	for k := 1; k <= 4; k++ {
		f := float64(k) / 5
		road = append(road, b.node(orb.Point{fp[0] + f*(tp[0]-fp[0]), fp[1] + f*(tp[1]-fp[1])}))
	}
	road = append(road, to)
	b.way(road, osm.Tags{{Key: "highway", Value: "primary"}, {Key: "foot", Value: "no"}, {Key: "name", Value: "Main Road"}})
	// A shortcut closed to pedestrians inside town A (the diagonal of one
	// block): it joins nothing that is not joined already.
	b.way([]osm.NodeID{a[0][0], a[1][1]}, osm.Tags{{Key: "highway", Value: "primary"}, {Key: "foot", Value: "no"}, {Key: "name", Value: "Shortcut"}})
	// A fragment of footpath (10 m, joined to nothing) 4 m from the
	// household FragmentHome, which is 12 m from its street.
	f := FragmentHome
	b.way([]osm.NodeID{b.node(orb.Point{f[0] + 4/82_000.0, f[1]}), b.node(orb.Point{f[0] + 4/82_000.0, f[1] + 10/111_000.0})},
		osm.Tags{{Key: "highway", Value: "footway"}, {Key: "name", Value: "Fragment"}})
	// The road to the gate.
	b.way([]osm.NodeID{bb[3][Side-1], b.node(Gate)}, osm.Tags{{Key: "highway", Value: "residential"}, {Key: "name", Value: "Gate Road"}})
	return b.o
}

// Places returns the gate and the rally point.
func Places() *muster.Places {
	return &muster.Places{Places: []muster.Place{
		{ID: "gate-east", Name: "East gate", Kind: muster.PlaceGate, Geometry: Gate, ThroughputPerHour: 1000, CrowdLimit: 200, Status: muster.GateOpen},
		{ID: "rally-a", Name: "Town A square", Kind: muster.PlaceRally, Geometry: Rally, Capacity: 500},
	}}
}

// Households puts n households in each town's grid, near its nodes, with
// ids prefixed by the town's letter, and one more, A900, at FragmentHome.
func Households(n int) []muster.Household {
	var hs []muster.Household
	for _, t := range []struct {
		letter string
		o      orb.Point
	}{{"A", TownA}, {"B", TownB}, {"C", TownC}} {
		for i := 0; i < n; i++ {
			p := At(t.o, 1+i%(Side-2), 1+(i/(Side-2))%(Side-2))
			p[1] += stepLat / 3 // a third of the way up a street
			hs = append(hs, muster.Household{ID: fmt.Sprintf("%s%03d", t.letter, i+1), Name: "Test Household", PartySize: 1 + i%4, Adults: 1, Children: i % 4,
				Priority: muster.PriorityNone, Language: muster.LangEnglish, Phone: fmt.Sprintf("+3763%05d", len(hs)), Lat: p[1], Lon: p[0], HasLocation: true,
				Eligibility: "siv", Documents: "passport", Status: muster.StatusRegistered})
		}
	}
	h := hs[0]
	h.ID, h.Phone, h.Lat, h.Lon = "A900", "+376399999", FragmentHome[1], FragmentHome[0]
	return append(hs, h)
}

type builder struct {
	o    *osm.OSM
	next int64
}

func (b *builder) node(p orb.Point) osm.NodeID {
	b.next++
	b.o.Nodes = append(b.o.Nodes, &osm.Node{ID: osm.NodeID(b.next), Lat: p[1], Lon: p[0], Visible: true})
	return osm.NodeID(b.next)
}

func (b *builder) way(ids []osm.NodeID, tags osm.Tags) {
	w := &osm.Way{ID: osm.WayID(len(b.o.Ways) + 1), Tags: tags, Visible: true}
	for _, id := range ids {
		w.Nodes = append(w.Nodes, osm.WayNode{ID: id})
	}
	b.o.Ways = append(b.o.Ways, w)
}

// grid adds a Side x Side grid of streets of the given class; ids[y][x].
func (b *builder) grid(o orb.Point, highway, name string) [Side][Side]osm.NodeID {
	var ids [Side][Side]osm.NodeID
	for y := 0; y < Side; y++ {
		for x := 0; x < Side; x++ {
			ids[y][x] = b.node(At(o, x, y))
		}
	}
	for y := 0; y < Side; y++ {
		b.way(ids[y][:], osm.Tags{{Key: "highway", Value: highway}, {Key: "name", Value: fmt.Sprintf("%s Street %d", name, y+1)}})
	}
	for x := 0; x < Side; x++ {
		var col []osm.NodeID
		for y := 0; y < Side; y++ {
			col = append(col, ids[y][x])
		}
		b.way(col, osm.Tags{{Key: "highway", Value: highway}, {Key: "name", Value: fmt.Sprintf("%s Avenue %d", name, x+1)}})
	}
	return ids
}
