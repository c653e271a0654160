package osmimport

import (
	"math"
	"slices"
	"sort"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/paulmach/osm"
)

// collector keeps, while the input is read, only what graph building
// needs: every node's id and fixed-point position (16 bytes a node), the
// node lists of the ways some profile can use, and the node lists of the
// other ways just long enough to count their missing references.
type collector struct {
	profiles []roadgraph.Profile
	// footEmergency opens to pedestrians the roads closed to them
	// (emergencyFoot), marked as such.
	footEmergency bool

	nodes       []nodeRec
	nodesSorted bool
	badCoords   int     // nodes dropped for impossible coordinates
	carBarriers []int64 // nodes a car cannot pass (bollards...)

	ways      []wayRec
	refs      []int64 // node ids of routable ways, concatenated
	otherRefs []int64 // node ids of all other ways (for MissingNodeRefs only)

	names    []string
	nameByID map[string]uint32

	osmNodes, osmWays int
	scratch           []int64
}

type nodeRec struct {
	id       int64
	lat, lon int32
}

type wayRec struct {
	id        int64
	first, n  uint32 // refs[first : first+n]
	name      uint32 // into collector.names
	byProfile [2]wayProfile
}

func newCollector(profiles []roadgraph.Profile) *collector {
	return &collector{
		profiles:    profiles,
		nodesSorted: true,
		names:       []string{""},
		nameByID:    map[string]uint32{"": 0},
	}
}

// addNode adds a node; blocksCar marks a barrier cars cannot pass.
func (c *collector) addNode(id int64, lat, lon float64, blocksCar bool) {
	c.osmNodes++
	if blocksCar {
		c.carBarriers = append(c.carBarriers, id)
	}
	if !muster.ValidLatLon(lat, lon) {
		c.badCoords++
		return
	}
	if n := len(c.nodes); n > 0 && c.nodes[n-1].id >= id {
		c.nodesSorted = false
	}
	c.nodes = append(c.nodes, nodeRec{id: id,
		lat: int32(math.Round(lat * roadgraph.CoordScale)),
		lon: int32(math.Round(lon * roadgraph.CoordScale))})
}

// addOSMWay adds a way decoded by paulmach/osm.
func (c *collector) addOSMWay(w *osm.Way) {
	c.scratch = c.scratch[:0]
	for _, wn := range w.Nodes {
		c.scratch = append(c.scratch, int64(wn.ID))
	}
	c.addWay(int64(w.ID), w.Tags, c.scratch)
}

// addWay adds a way with these tags and node refs (which it copies).
func (c *collector) addWay(wayID int64, tags osm.Tags, refs []int64) {
	c.osmWays++
	var rec wayRec
	routable := false
	for _, p := range c.profiles {
		wp := evaluateWay(tags, p)
		if p == roadgraph.Foot && c.footEmergency && !wp.routable() {
			wp = emergencyFoot(tags)
		}
		rec.byProfile[p] = wp
		routable = routable || wp.routable()
	}
	if !routable {
		c.otherRefs = append(c.otherRefs, refs...)
		return
	}
	name := tags.Find("name")
	if name == "" {
		name = tags.Find("ref")
	}
	id, ok := c.nameByID[name]
	if !ok {
		id = uint32(len(c.names))
		c.names = append(c.names, name)
		c.nameByID[name] = id
	}
	rec.id = wayID
	rec.name = id
	rec.first = uint32(len(c.refs))
	rec.n = uint32(len(refs))
	c.refs = append(c.refs, refs...)
	c.ways = append(c.ways, rec)
}

// resolved is the read input made ready for graph building: node records
// sorted by id without duplicates, and every routable way's node refs
// turned into indexes into them (-1 where the node is missing).
type resolved struct {
	nodes   []nodeRec
	ways    []wayRec
	refIdx  []int32
	names   []string
	missing int
	// carBlocked marks, by node index, barriers that cut ways for cars
	// (nil when there are none).
	carBlocked []bool
}

func (c *collector) resolve() *resolved {
	nodes := c.nodes
	if !c.nodesSorted {
		// Stable, so that of several versions of one node the last read wins.
		sort.SliceStable(nodes, func(i, j int) bool { return nodes[i].id < nodes[j].id })
		out := nodes[:0]
		for i, n := range nodes {
			if i+1 < len(nodes) && nodes[i+1].id == n.id {
				continue
			}
			out = append(out, n)
		}
		nodes = out
	}
	find := func(id int64) int32 {
		i, ok := slices.BinarySearchFunc(nodes, id, func(n nodeRec, id int64) int {
			switch {
			case n.id < id:
				return -1
			case n.id > id:
				return 1
			}
			return 0
		})
		if !ok {
			return -1
		}
		return int32(i)
	}
	r := &resolved{nodes: nodes, ways: c.ways, names: c.names, refIdx: make([]int32, len(c.refs))}
	for i, id := range c.refs {
		r.refIdx[i] = find(id)
		if r.refIdx[i] < 0 {
			r.missing++
		}
	}
	for _, id := range c.otherRefs {
		if find(id) < 0 {
			r.missing++
		}
	}
	for _, id := range c.carBarriers {
		if i := find(id); i >= 0 {
			if r.carBlocked == nil {
				r.carBlocked = make([]bool, len(nodes))
			}
			r.carBlocked[i] = true
		}
	}
	return r
}
