package osmimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/paulmach/osm"
)

// Options tunes an import.
type Options struct {
	Profiles []roadgraph.Profile // nil means both Car and Foot
	// Progress, when set, is told the input bytes read so far and the file
	// size (0 if unknown). It is called from the importing goroutine, at
	// most about 50 times a second, and once more at the end of reading.
	Progress func(done, total int64)
	// MinFootPiece is the size, in nodes, from which a walkable piece that
	// no footpath joins to the rest is kept in the foot graph beside the
	// largest: a town cut off on foot by a road closed to pedestrians is
	// still a place people live and must be planned for. 0 means
	// DefaultMinFootPiece (every piece); a negative value keeps the
	// largest piece only.
	MinFootPiece int
	// FootEmergency opens to pedestrians the roads foot=no (or
	// use_sidepath, or motorroad=yes) closes to them, where nothing else
	// joins the walkable pieces they join: a stretch of such a road is
	// kept in the foot graph only when it links pieces that no open way
	// and no shorter such stretch links (a shortcut between two streets of
	// one town is not kept), and its arcs are listed in the foot graph's
	// EmergencyArcs so that a plan can say who walks on them.
	FootEmergency bool
}

// DefaultMinFootPiece keeps every walkable piece: on Andorra some 300 of
// 6,000 households live nearest a piece of fewer than 10 nodes, 200 to
// 800 m from any larger one (a street between two stretches of a road
// closed to pedestrians); dropped, they would be walked from a road that
// far from their door. A footpath fragment by a house is not a trap: the planner walks
// its people from a road of a piece with a rally point when one is only a
// few metres farther (plan: snapHome).
const DefaultMinFootPiece = 2

func (o Options) minPiece(p roadgraph.Profile) int {
	switch {
	case p != roadgraph.Foot || o.MinFootPiece < 0:
		return math.MaxInt
	case o.MinFootPiece == 0:
		return DefaultMinFootPiece
	}
	return o.MinFootPiece
}

// ProfileStats describes one profile's graph.
type ProfileStats struct {
	Profile           roadgraph.Profile
	Ways, Nodes, Arcs int // kept in the final graph
	Components        int // strongly connected components of the profile's network
	// Pieces are the strongly connected components kept: the largest, and
	// for foot every other of at least Options.MinFootPiece nodes. No arc
	// joins two pieces, so a node reaches exactly the nodes of its piece.
	Pieces                    int
	DroppedNodes, DroppedArcs int // outside the pieces kept
	// EmergencyArcs are the arcs on roads closed to pedestrians kept by
	// Options.FootEmergency, EmergencyM their length (one way).
	EmergencyArcs int
	EmergencyM    float64
}

// Stats describes an import.
type Stats struct {
	Source            string
	OSMNodes, OSMWays int // read
	// MissingNodeRefs counts way->node references, in any way, whose node
	// is not in the input: extracts cut at a border keep the ways that
	// cross it whole. Routable ways are cut there into their present runs.
	// References to nodes with impossible coordinates count here too.
	MissingNodeRefs int
	Profiles        []ProfileStats
}

// InputError reports input that cannot be imported: which source, where in
// it (a byte offset or a line, when known) and what is wrong. Its chain
// holds both the underlying error and a muster.Error with code EINVALID,
// so muster.ErrorCode reports it as bad input.
type InputError struct {
	Source string
	Where  string // "byte 123456", "line 17" or ""
	Err    error
}

func (e *InputError) Error() string {
	if e.Where == "" {
		return e.Source + ": " + e.Err.Error()
	}
	return e.Source + ": " + e.Where + ": " + e.Err.Error()
}

func (e *InputError) Unwrap() []error {
	return []error{e.Err, &muster.Error{Code: muster.EINVALID, Message: e.Error()}}
}

// ImportFile reads an OSM extract (.osm.pbf, .osm, .osm.gz or .osm.bz2,
// recognised by content, not by name) and builds its road graphs.
func ImportFile(ctx context.Context, path string, opts Options) (*roadgraph.City, *Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open OSM extract: %w", err)
	}
	defer f.Close()
	var size int64
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	return importStream(ctx, f, filepath.Base(path), size, opts)
}

// Import reads an OSM extract from r; name labels the source in errors and
// in the City. The format is recognised by content.
func Import(ctx context.Context, r io.Reader, name string, opts Options) (*roadgraph.City, *Stats, error) {
	return importStream(ctx, r, name, 0, opts)
}

// FromOSM builds road graphs from OSM data already in memory (the city
// generator's output). Relations are ignored.
func FromOSM(ctx context.Context, o *osm.OSM, name string, opts Options) (*roadgraph.City, *Stats, error) {
	profiles, err := checkProfiles(opts.Profiles)
	if err != nil {
		return nil, nil, err
	}
	if o == nil {
		return nil, nil, &InputError{Source: name, Err: errors.New("no OSM data")}
	}
	c := newCollector(profiles)
	c.footEmergency = opts.FootEmergency
	for i, n := range o.Nodes {
		if n == nil {
			continue
		}
		c.addNode(int64(n.ID), n.Lat, n.Lon, nodeBlocksCar(n.Tags.Find))
		if i%ctxCheckEvery == 0 && ctx.Err() != nil {
			return nil, nil, fmt.Errorf("%s: import cancelled: %w", name, ctx.Err())
		}
	}
	for _, w := range o.Ways {
		if w != nil {
			c.addOSMWay(w)
		}
	}
	return build(ctx, c, name, opts)
}

func checkProfiles(ps []roadgraph.Profile) ([]roadgraph.Profile, error) {
	if len(ps) == 0 {
		return roadgraph.Profiles, nil
	}
	seen := map[roadgraph.Profile]bool{}
	var out []roadgraph.Profile
	for _, p := range ps {
		if p != roadgraph.Car && p != roadgraph.Foot {
			return nil, fmt.Errorf("osm import: unknown %s", p)
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// progressMeter counts input bytes (the reading may happen on a decoder
// goroutine) and reports them from the importing goroutine, throttled.
type progressMeter struct {
	r     io.Reader
	read  atomic.Int64
	total int64
	fn    func(done, total int64)
	last  time.Time
}

func (p *progressMeter) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.read.Add(int64(n))
	return n, err
}

const progressInterval = 20 * time.Millisecond // at most 50 calls a second

// tick reports progress if enough time has passed since the last report.
func (p *progressMeter) tick() {
	if p.fn == nil {
		return
	}
	if now := time.Now(); now.Sub(p.last) >= progressInterval {
		p.last = now
		p.fn(p.read.Load(), p.total)
	}
}

func (p *progressMeter) done() {
	if p.fn != nil {
		p.fn(p.read.Load(), p.total)
	}
}

func importStream(ctx context.Context, r io.Reader, name string, size int64, opts Options) (*roadgraph.City, *Stats, error) {
	profiles, err := checkProfiles(opts.Profiles)
	if err != nil {
		return nil, nil, err
	}
	meter := &progressMeter{r: r, total: size, fn: opts.Progress}
	c := newCollector(profiles)
	c.footEmergency = opts.FootEmergency
	if err := readOSM(ctx, meter, name, c); err != nil {
		return nil, nil, err
	}
	meter.done()
	return build(ctx, c, name, opts)
}

// build turns the collected input into a City, one profile per goroutine.
func build(ctx context.Context, c *collector, name string, opts Options) (*roadgraph.City, *Stats, error) {
	if c.osmNodes == 0 && c.osmWays == 0 {
		return nil, nil, &InputError{Source: name, Err: errors.New("no OpenStreetMap nodes or ways in the input")}
	}
	if c.badCoords > 0 {
		// Kept out of the graph; the ways through them are cut there and
		// the references counted as missing.
		slog.Warn("OSM nodes with impossible coordinates ignored", "source", name, "nodes", c.badCoords)
	}
	r := c.resolve()
	stats := &Stats{Source: name, OSMNodes: c.osmNodes, OSMWays: c.osmWays, MissingNodeRefs: r.missing}
	city := &roadgraph.City{Source: name, Graphs: map[roadgraph.Profile]*roadgraph.Graph{}}
	graphs := make([]*roadgraph.Graph, len(c.profiles))
	pstats := make([]ProfileStats, len(c.profiles))
	errs := make([]error, len(c.profiles))
	var wg sync.WaitGroup
	for i, p := range c.profiles {
		wg.Go(func() { graphs[i], pstats[i], errs[i] = buildProfile(ctx, r, p, opts.minPiece(p)) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: import cancelled: %w", name, err)
	}
	for i, err := range errs {
		if errors.Is(err, errNoNetwork) {
			return nil, nil, &InputError{Source: name, Err: fmt.Errorf("%w for %s among the %d ways read", errNoNetwork, c.profiles[i], c.osmWays)}
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	for i, p := range c.profiles {
		if err := graphs[i].Validate(); err != nil {
			return nil, nil, fmt.Errorf("%s: built an invalid graph (a bug): %w", name, err)
		}
		city.Graphs[p] = graphs[i]
	}
	stats.Profiles = pstats
	return city, stats, nil
}
