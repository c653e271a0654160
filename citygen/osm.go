package citygen

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/paulmach/osm"
)

// osmTimestamp stamps every element: a fixed time keeps the output
// byte-identical from run to run.
var osmTimestamp = time.Date(2021, 8, 15, 0, 0, 0, 0, time.UTC)

type wayKey struct {
	street int32
	bridge bool
	twoWay bool
}

// chainWays groups the live edges into ways: maximal runs of one street
// with the same bridge and direction rules, split where a one-way run would
// change direction. Each way is a list of planar nodes, in travel order for
// one-way streets.
func (l *layout) chainWays() (keys []wayKey, ways [][]int32) {
	p := l.net
	groups := map[wayKey][]int32{}
	for e, ed := range p.edges {
		if ed.dead {
			continue
		}
		k := wayKey{ed.street, ed.bridge, ed.twoWay}
		groups[k] = append(groups[k], int32(e))
	}
	order := make([]wayKey, 0, len(groups))
	for k := range groups {
		order = append(order, k)
	}
	slices.SortFunc(order, func(a, b wayKey) int {
		if a.street != b.street {
			return int(a.street - b.street)
		}
		if a.bridge != b.bridge {
			return boolCmp(a.bridge, b.bridge)
		}
		return boolCmp(a.twoWay, b.twoWay)
	})
	for _, k := range order {
		es := groups[k]
		st := p.streets[k.street]
		directed := (st.Oneway && !k.twoWay) || st.Roundabout
		at := map[int32][]int32{}
		for _, e := range es {
			at[p.edges[e].a] = append(at[p.edges[e].a], e)
			at[p.edges[e].b] = append(at[p.edges[e].b], e)
		}
		isBreak := func(n int32) bool {
			l := at[n]
			if len(l) != 2 {
				return true
			}
			if directed {
				// One edge must come in and the other go out.
				in0 := p.edges[l[0]].b == n
				in1 := p.edges[l[1]].b == n
				return in0 == in1
			}
			return false
		}
		visited := map[int32]bool{}
		walk := func(start, e int32) []int32 {
			seq := []int32{start}
			cur := start
			for {
				visited[e] = true
				nxt := p.other(e, cur)
				seq = append(seq, nxt)
				if nxt == start || isBreak(nxt) {
					break
				}
				ne := int32(-1)
				for _, c := range at[nxt] {
					if !visited[c] {
						ne = c
					}
				}
				if ne < 0 {
					break
				}
				e, cur = ne, nxt
			}
			if directed && p.edges[firstEdge(p, seq)].a != seq[0] {
				slices.Reverse(seq)
			}
			return seq
		}
		// Open chains start at break nodes, in edge order; what is left
		// are closed loops.
		for _, e := range es {
			for _, n := range []int32{p.edges[e].a, p.edges[e].b} {
				if visited[e] || !isBreak(n) {
					continue
				}
				keys = append(keys, k)
				ways = append(ways, walk(n, e))
			}
		}
		for _, e := range es {
			if !visited[e] {
				keys = append(keys, k)
				ways = append(ways, walk(p.edges[e].a, e))
			}
		}
	}
	return keys, ways
}

// firstEdge returns the edge between a way's first two nodes.
func firstEdge(p *planar, seq []int32) int32 { return p.edgeBetween(seq[0], seq[1]) }

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// toOSM writes the network, the river and the airport as OSM data with
// dense ids from 1.
func (l *layout) toOSM() *osm.OSM {
	p := l.net
	o := &osm.OSM{Version: "0.6", Generator: "muster citygen"}
	ids := make([]osm.NodeID, len(p.pts))
	var nextNode osm.NodeID = 1
	addNode := func(v vec, tags osm.Tags) osm.NodeID {
		pt := l.toLonLat(v)
		id := nextNode
		nextNode++
		o.Nodes = append(o.Nodes, &osm.Node{ID: id, Lat: pt[1], Lon: pt[0], Visible: true, Version: 1, Timestamp: osmTimestamp, Tags: tags})
		return id
	}
	var nextWay osm.WayID = 1
	addWay := func(nodes []osm.NodeID, tags osm.Tags) {
		w := &osm.Way{ID: nextWay, Visible: true, Version: 1, Timestamp: osmTimestamp, Tags: tags}
		nextWay++
		for _, n := range nodes {
			w.Nodes = append(w.Nodes, osm.WayNode{ID: n})
		}
		o.Ways = append(o.Ways, w)
	}
	keys, ways := l.chainWays()
	for i, seq := range ways {
		k := keys[i]
		st := p.streets[k.street]
		refs := make([]osm.NodeID, len(seq))
		for j, n := range seq {
			if ids[n] == 0 {
				ids[n] = addNode(p.pts[n], nil)
			}
			refs[j] = ids[n]
		}
		tags := osm.Tags{{Key: "highway", Value: st.Highway}}
		if st.Name != "" {
			tags = append(tags, osm.Tag{Key: "name", Value: st.Name})
		}
		if st.Roundabout {
			tags = append(tags, osm.Tag{Key: "junction", Value: "roundabout"})
		} else if st.Oneway && !k.twoWay {
			tags = append(tags, osm.Tag{Key: "oneway", Value: "yes"})
		}
		if st.MaxSpeed != "" {
			tags = append(tags, osm.Tag{Key: "maxspeed", Value: st.MaxSpeed})
		}
		if k.bridge {
			tags = append(tags, osm.Tag{Key: "bridge", Value: "yes"}, osm.Tag{Key: "layer", Value: "1"})
		}
		addWay(refs, tags)
	}

	// The river and the airport, for people looking at the map; the road
	// import ignores them.
	var refs []osm.NodeID
	for _, v := range l.river {
		refs = append(refs, addNode(v, nil))
	}
	addWay(refs, osm.Tags{{Key: "waterway", Value: "river"}, {Key: "name", Value: l.riverName()}})
	refs = refs[:0]
	for _, v := range l.airport {
		refs = append(refs, addNode(v, nil))
	}
	refs = append(refs, refs[0])
	addWay(refs, osm.Tags{{Key: "aeroway", Value: "aerodrome"}, {Key: "name", Value: airportName}})

	b := &osm.Bounds{MinLat: math.Inf(1), MinLon: math.Inf(1), MaxLat: math.Inf(-1), MaxLon: math.Inf(-1)}
	for _, n := range o.Nodes {
		b.MinLat, b.MaxLat = math.Min(b.MinLat, n.Lat), math.Max(b.MaxLat, n.Lat)
		b.MinLon, b.MaxLon = math.Min(b.MinLon, n.Lon), math.Max(b.MaxLon, n.Lon)
	}
	o.Bounds = b
	return o
}

// riverName is the river's name: the Kabul River at the default centre.
func (l *layout) riverName() string {
	if l.isDefaultCentre() {
		return "Kabul River"
	}
	return "River"
}

func (l *layout) isDefaultCentre() bool {
	return l.o.Center[0] == DefaultLon && l.o.Center[1] == DefaultLat
}

// WriteOSMXML writes the city as an OSM XML file, which any OSM tool (and
// muster's own import) reads.
func (c *City) WriteOSMXML(w io.Writer) error {
	if c == nil || c.OSM == nil {
		return fmt.Errorf("citygen: no city to write")
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("citygen: writing OSM XML: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", " ")
	if err := enc.Encode(c.OSM); err != nil {
		return fmt.Errorf("citygen: writing OSM XML: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("citygen: writing OSM XML: %w", err)
	}
	return nil
}
