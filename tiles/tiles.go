// Package tiles draws muster's road graph as Mapbox vector tiles (MVT,
// through paulmach/orb's encoding/mvt), for the operations map: the map of
// the city comes from muster's own data, not from a tile server on the
// internet.
//
// One layer, "roads", holds a line per road stretch (a two-way street
// once, not once per direction) with its class and name:
//
//	class     what (from the car network's free-flow speed, or foot only)  from zoom
//	major     motorways and trunk roads (70 km/h and more)                   9
//	arterial  primary roads (44 km/h and more)                               11
//	street    secondary, tertiary, unclassified, residential (20 km/h +)     12/13
//	minor     service roads, tracks, living streets                          14
//	path      footways, paths, steps: in the foot network only               14
//
// The graph keeps no OSM highway tag, only travel times: the class is read
// back from the speed the importer gave the road (osmimport's profile
// table), which is what sets a road's importance for routing anyway.
//
// Work per request is bounded: zooms outside MinZoom..MaxZoom are refused
// with an error saying the range (a map overzooms MaxZoom), a tile reads
// only the roads its zoom shows (low zooms read a precomputed list of the
// few fast roads, never the whole graph), at most MaxFeatures stretches go
// into one tile, tiles are built by at most Concurrency requests at a time
// and kept in a cache of CacheBytes.
package tiles

import (
	"container/list"
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/simplify"
	"golang.org/x/sync/singleflight"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
)

// Layer is the name of the tiles' one layer.
const Layer = "roads"

// Defaults of Options left at zero.
const (
	DefaultMinZoom     = 9
	DefaultMaxZoom     = 16
	DefaultMaxFeatures = 20000
	DefaultCacheBytes  = 64 << 20
	DefaultConcurrency = 2
)

// Options tune a Source.
type Options struct {
	MinZoom, MaxZoom int
	// MaxFeatures caps the road stretches in one tile: past it the tile
	// holds the most important ones (by class) and says it was cut.
	MaxFeatures int
	CacheBytes  int
	// Concurrency is how many tiles are built at once; other requests wait
	// their turn (or their context's end).
	Concurrency int
}

func (o Options) withDefaults() Options {
	if o.MinZoom <= 0 {
		o.MinZoom = DefaultMinZoom
	}
	if o.MaxZoom <= 0 {
		o.MaxZoom = DefaultMaxZoom
	}
	if o.MaxFeatures <= 0 {
		o.MaxFeatures = DefaultMaxFeatures
	}
	if o.CacheBytes <= 0 {
		o.CacheBytes = DefaultCacheBytes
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	return o
}

// Class is a road's class on the map.
type Class uint8

// The classes, most important first.
const (
	Major Class = iota
	Arterial
	Secondary
	Street
	Minor
	Path
	numClasses
)

var classNames = [numClasses]string{"major", "arterial", "street", "street", "minor", "path"}

// classMinZoom is the first zoom a class is drawn at.
var classMinZoom = [numClasses]int{9, 11, 12, 13, 14, 14}

func (c Class) String() string { return classNames[c] }

// MinZoom is the first zoom the class is drawn at.
func (c Class) MinZoom() int { return classMinZoom[c] }

// carClass reads a car arc's class back from its free-flow speed.
func carClass(lengthM float32, timeMS uint32) Class {
	kmh := float64(lengthM) / float64(timeMS) * 3600
	switch {
	case kmh >= 70:
		return Major
	case kmh >= 44:
		return Arterial
	case kmh >= 36:
		return Secondary
	case kmh >= 20:
		return Street
	}
	return Minor
}

// lowZoomGrid is the zoom of the cells that list the roads drawn below
// the zoom at which whole-graph index queries start (classMinZoom of
// Street): a tile of zoom z < lowZoomGrid reads 4^(lowZoomGrid-z) cells.
const lowZoomGrid = 12

// stretch is one road stretch to draw: an arc of a graph.
type stretch struct {
	foot  bool // of the foot graph (else the car graph)
	arc   uint32
	class Class
}

// network is one graph with what a tile needs of it.
type network struct {
	g     *roadgraph.Graph
	index *roadgraph.ArcIndex
	tails []uint32
	class []Class // per arc
	draw  []bool  // per arc: drawn (one of a two-way pair; for foot: not also a car road)
}

// Source makes the tiles of a city's road graphs. Safe for concurrent use.
type Source struct {
	opts  Options
	car   *network
	foot  *network
	bound orb.Bound
	// low lists, per cell of zoom lowZoomGrid, the stretches drawn below
	// zoom classMinZoom[Street].
	low map[maptile.Tile][]stretch

	sem     chan struct{}
	flight  singleflight.Group
	mu      sync.Mutex
	cache   map[maptile.Tile]*list.Element
	lru     *list.List // of *cached, most recent first
	cacheSz int
}

type cached struct {
	t    maptile.Tile
	data []byte
}

// New indexes the graphs for tiles; either may be nil (not both).
func New(car, foot *roadgraph.Graph, opts Options) (*Source, error) {
	opts = opts.withDefaults()
	if opts.MinZoom > opts.MaxZoom || opts.MaxZoom > 22 {
		return nil, muster.Errorf(muster.EINVALID, "tiles: zoom range %d-%d: want MinZoom <= MaxZoom <= 22", opts.MinZoom, opts.MaxZoom)
	}
	if car == nil && foot == nil {
		return nil, muster.Errorf(muster.EINVALID, "tiles: no road graph")
	}
	s := &Source{opts: opts, low: map[maptile.Tile][]stretch{}, sem: make(chan struct{}, opts.Concurrency),
		cache: map[maptile.Tile]*list.Element{}, lru: list.New(), bound: orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}}
	// The car network's segments (consecutive points of its arcs, either
	// way): a foot stretch made only of them is a car road, drawn as such.
	// Segments, not end nodes: the two networks split a way at different
	// junctions (a footway joining a street splits only the foot arc).
	carSegs := map[segment]bool{}
	if car != nil {
		s.car = newNetwork(car, false, nil)
		for a := range car.Head {
			forSegments(car, s.car.tails[a], uint32(a), func(k segment) bool { carSegs[k] = true; return true })
		}
	}
	if foot != nil {
		s.foot = newNetwork(foot, true, carSegs)
	}
	for _, n := range []*network{s.car, s.foot} {
		if n == nil {
			continue
		}
		for u := range n.g.Lat {
			p := n.g.NodePoint(uint32(u))
			s.bound = s.bound.Extend(p)
		}
		var line orb.LineString
		for a := range n.g.Head {
			if !n.draw[a] || n.class[a].MinZoom() >= classMinZoom[Street] {
				continue
			}
			line = n.g.ArcGeometry(line[:0], n.tails[a], uint32(a))
			st := stretch{foot: n == s.foot, arc: uint32(a), class: n.class[a]}
			b := line.Bound()
			lo, hi := maptile.At(orb.Point{b.Min[0], b.Max[1]}, lowZoomGrid), maptile.At(orb.Point{b.Max[0], b.Min[1]}, lowZoomGrid)
			for x := lo.X; x <= hi.X; x++ {
				for y := lo.Y; y <= hi.Y; y++ {
					t := maptile.New(x, y, lowZoomGrid)
					s.low[t] = append(s.low[t], st)
				}
			}
		}
	}
	return s, nil
}

// segment is two consecutive points of an arc, fixed point, the smaller
// first, so that both directions share it.
type segment [4]int32

// forSegments calls fn with each segment of arc a (leaving tail) until it
// returns false, and reports whether it went through them all.
func forSegments(g *roadgraph.Graph, tail, a uint32, fn func(segment) bool) bool {
	lat, lon := g.Lat[tail], g.Lon[tail]
	step := func(la, lo int32) bool {
		k := segment{lat, lon, la, lo}
		if la < lat || la == lat && lo < lon {
			k = segment{la, lo, lat, lon}
		}
		lat, lon = la, lo
		return fn(k)
	}
	for i := g.GeomFirst[a]; i < g.GeomFirst[a+1]; i++ {
		if !step(g.GeomLat[i], g.GeomLon[i]) {
			return false
		}
	}
	h := g.Head[a]
	return step(g.Lat[h], g.Lon[h])
}

func newNetwork(g *roadgraph.Graph, foot bool, carSegs map[segment]bool) *network {
	n := &network{g: g, index: roadgraph.NewArcIndex(g), tails: g.Tails(), class: make([]Class, g.NumArcs()), draw: make([]bool, g.NumArcs())}
	for a := range g.Head {
		tail, head := n.tails[a], g.Head[a]
		if foot {
			n.class[a] = Path
			if len(carSegs) > 0 && forSegments(g, tail, uint32(a), func(k segment) bool { return carSegs[k] }) {
				continue // drawn as the car road it also is
			}
		} else {
			n.class[a] = carClass(g.LengthM[a], g.TimeMS[a])
		}
		// Of a two-way pair draw the arc leaving the smaller node; a
		// one-way arc has no reverse and is drawn.
		n.draw[a] = tail < head || !hasArc(g, head, tail, g.LengthM[a])
	}
	return n
}

// hasArc reports whether u has an arc to v of about the given length (the
// reverse of a two-way stretch).
func hasArc(g *roadgraph.Graph, u, v uint32, lengthM float32) bool {
	for a := g.FirstOut[u]; a < g.FirstOut[u+1]; a++ {
		if g.Head[a] == v && math.Abs(float64(g.LengthM[a]-lengthM)) < 0.5 {
			return true
		}
	}
	return false
}

// Bound is the graphs' extent (lon/lat).
func (s *Source) Bound() orb.Bound { return s.bound }

// Options returns the options in force (defaults filled in).
func (s *Source) Options() Options { return s.opts }

// Tile returns tile z/x/y, encoded (uncompressed MVT); a tile with no road
// is empty (zero bytes). A zoom outside MinZoom..MaxZoom, or x or y outside
// the zoom's grid, is an EINVALID error saying the range.
func (s *Source) Tile(ctx context.Context, z, x, y int) ([]byte, error) {
	if z < s.opts.MinZoom || z > s.opts.MaxZoom {
		return nil, muster.Errorf(muster.EINVALID, "tile %d/%d/%d: zoom out of range: this road map has zooms %d to %d (a map draws deeper zooms from %d)", z, x, y, s.opts.MinZoom, s.opts.MaxZoom, s.opts.MaxZoom)
	}
	if n := 1 << z; x < 0 || y < 0 || x >= n || y >= n {
		return nil, muster.Errorf(muster.EINVALID, "tile %d/%d/%d: x and y must be 0 to %d at zoom %d", z, x, y, n-1, z)
	}
	t := maptile.New(uint32(x), uint32(y), maptile.Zoom(z))
	if !s.bound.Intersects(t.Bound()) {
		return nil, nil
	}
	if b, ok := s.cached(t); ok {
		return b, nil
	}
	v, err, _ := s.flight.Do(fmt.Sprintf("%d/%d/%d", z, x, y), func() (any, error) {
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		defer func() { <-s.sem }()
		b, err := s.build(t)
		if err != nil {
			return nil, err
		}
		s.store(t, b)
		return b, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]byte), nil
}

func (s *Source) cached(t maptile.Tile) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.cache[t]; ok {
		s.lru.MoveToFront(e)
		return e.Value.(*cached).data, true
	}
	return nil, false
}

func (s *Source) store(t maptile.Tile, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cache[t]; ok || len(b) > s.opts.CacheBytes {
		return
	}
	s.cache[t] = s.lru.PushFront(&cached{t: t, data: b})
	s.cacheSz += len(b) + 64
	for s.cacheSz > s.opts.CacheBytes {
		e := s.lru.Back()
		c := e.Value.(*cached)
		s.lru.Remove(e)
		delete(s.cache, c.t)
		s.cacheSz -= len(c.data) + 64
	}
}

// build draws tile t.
func (s *Source) build(t maptile.Tile) ([]byte, error) {
	z := int(t.Z)
	// A little beyond the tile, so that lines join across tile edges.
	b := t.Bound(1.0 / 16)
	var picked []stretch
	pick := func(st stretch) {
		if st.class.MinZoom() <= z {
			picked = append(picked, st)
		}
	}
	if z < classMinZoom[Street] {
		// Only the few fast roads: from the precomputed cells (a stretch
		// crossing cells is listed in each; keep it once).
		seen := map[stretch]bool{}
		shift := uint(lowZoomGrid - z)
		for x := t.X << shift; x < (t.X+1)<<shift; x++ {
			for y := t.Y << shift; y < (t.Y+1)<<shift; y++ {
				for _, st := range s.low[maptile.New(x, y, lowZoomGrid)] {
					if !seen[st] {
						seen[st] = true
						pick(st)
					}
				}
			}
		}
	} else {
		for _, n := range []*network{s.car, s.foot} {
			if n == nil {
				continue
			}
			foot := n == s.foot
			n.index.ArcsInBound(b, func(a uint32) bool {
				if n.draw[a] {
					pick(stretch{foot: foot, arc: a, class: n.class[a]})
				}
				return true
			})
		}
	}
	cut := false
	if len(picked) > s.opts.MaxFeatures {
		// Keep the most important.
		byClass := make([][]stretch, numClasses)
		for _, st := range picked {
			byClass[st.class] = append(byClass[st.class], st)
		}
		picked = picked[:0]
		for _, c := range byClass {
			room := s.opts.MaxFeatures - len(picked)
			if room <= 0 {
				break
			}
			picked = append(picked, c[:min(room, len(c))]...)
		}
		cut = true
	}
	fc := geojson.NewFeatureCollection()
	for _, st := range picked {
		n := s.car
		if st.foot {
			n = s.foot
		}
		line := n.g.ArcGeometry(nil, n.tails[st.arc], st.arc)
		f := geojson.NewFeature(line)
		f.Properties["class"] = st.class.String()
		if name := n.g.Names[n.g.NameID[st.arc]]; name != "" {
			f.Properties["name"] = name
		}
		fc.Append(f)
	}
	if len(fc.Features) == 0 {
		return nil, nil
	}
	layers := mvt.Layers{mvt.NewLayer(Layer, fc)}
	if cut {
		// A marker feature, so that a client (and a test) can tell.
		marker := geojson.NewFeature(t.Center())
		marker.Properties["cut"] = true
		layers = append(layers, mvt.NewLayer("cut", &geojson.FeatureCollection{Features: []*geojson.Feature{marker}}))
	}
	layers.ProjectToTile(t)
	layers.Clip(orb.Bound{Min: orb.Point{-256, -256}, Max: orb.Point{4096 + 256, 4096 + 256}})
	layers.Simplify(simplify.DouglasPeucker(1.0))
	layers.RemoveEmpty(1.0, 1.0)
	return mvt.Marshal(layers)
}
