// Command pgrouting runs muster's router and pgRouting side by side on the
// same graph and the same queries, checks that they agree on every cost,
// and prints the ratio of their median times.
//
// It loads muster's car graph (imported from an OSM extract, or read from a
// graph file) into PostgreSQL as a pgRouting edge table, one row per
// directed arc, draws random node pairs and three forbidden circles with a
// fixed seed, and times, for every pair, muster's Route and its bare
// hierarchy Query against pgr_dijkstra, without zones and with the edges
// that touch a circle left out of pgRouting's edge SQL. One-to-all searches
// (muster's CostsTo) are timed against pgr_drivingDistance on the reversed
// graph. bench/pgrouting.sh sets up a throwaway database and runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sys/unix"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/bench/internal/benchgraph"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
	"github.com/muster-evac/muster/zonecost"
)

// config is what the flags say.
type config struct {
	osmPath, graphPath, dsn, table string
	pairs, oneToAll, zones         int
	seed                           uint64
}

func main() {
	var cfg config
	flag.StringVar(&cfg.osmPath, "osm", "", "OSM extract to import (default ../shared/data/porto.osm.pbf from the repository root)")
	flag.StringVar(&cfg.graphPath, "graph", "", "muster graph file to load instead of importing an extract")
	flag.StringVar(&cfg.dsn, "db", os.Getenv("DATABASE_URL"), "PostgreSQL connection string (default $DATABASE_URL)")
	flag.StringVar(&cfg.table, "table", "muster_edges", "edge table to (re)create")
	flag.IntVar(&cfg.pairs, "n", 200, "random node pairs to route between")
	flag.IntVar(&cfg.oneToAll, "onetoall", 20, "one-to-all searches (targets taken from the pairs)")
	flag.IntVar(&cfg.zones, "zones", 3, "forbidden circles")
	flag.Uint64Var(&cfg.seed, "seed", 1, "random seed for pairs and circles")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		slog.Error("benchmark failed", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	// muster's calls are timed on this goroutine by its thread's CPU clock.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if cfg.dsn == "" {
		return errors.New("no database: pass -db or set DATABASE_URL (bench/pgrouting.sh starts a throwaway one)")
	}
	if cfg.pairs < 1 || cfg.zones < 0 || cfg.oneToAll < 0 {
		return fmt.Errorf("-n must be at least 1 and -zones, -onetoall not negative (got %d, %d, %d)", cfg.pairs, cfg.zones, cfg.oneToAll)
	}
	if !validIdent(cfg.table) {
		return fmt.Errorf("-table %q: use letters, digits and underscores only", cfg.table)
	}
	g, source, err := loadGraph(ctx, cfg)
	if err != nil {
		return err
	}
	t0 := time.Now()
	r, err := route.New(ctx, g, route.Options{})
	if err != nil {
		return fmt.Errorf("preparing the router: %w", err)
	}
	slog.Info("router ready", "nodes", g.NumNodes(), "arcs", g.NumArcs(), "took", time.Since(t0).Round(time.Millisecond))

	conn, err := pgx.Connect(ctx, cfg.dsn)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer conn.Close(context.Background())
	var versions string
	if err := conn.QueryRow(ctx, "SELECT 'PostgreSQL ' || current_setting('server_version') || ', PostGIS ' || postgis_lib_version() || ', pgRouting ' || pgr_version()").Scan(&versions); err != nil {
		return fmt.Errorf("asking for the PostGIS and pgRouting versions (are the extensions created?): %w", err)
	}
	t0 = time.Now()
	if err := loadEdges(ctx, conn, cfg.table, g); err != nil {
		return err
	}
	slog.Info("edge table loaded", "table", cfg.table, "took", time.Since(t0).Round(time.Millisecond))

	rng := rand.New(rand.NewPCG(cfg.seed, 0x6d7573746572))
	pairs := drawPairs(g, rng, cfg.pairs)
	circles, err := drawCircles(ctx, r, rng, cfg.zones, pairs)
	if err != nil {
		return err
	}
	b := &bench{r: r, g: g, conn: conn, table: cfg.table, baseline: make([]float64, len(pairs))}
	b.findBackend(ctx)

	fmt.Fprintf(out, "graph: %s, car, %d nodes, %d arcs; %s\n", source, g.NumNodes(), g.NumArcs(), versions)
	fmt.Fprintf(out, "%d random node pairs, %d one-to-all targets, seed %d; zones: %s\n", len(pairs), min(cfg.oneToAll, len(pairs)), cfg.seed, describe(circles))

	pictures := [][]muster.Zone{nil}
	if len(circles) > 0 {
		pictures = append(pictures, circles)
	}
	var rows []*row
	for _, zones := range pictures {
		label := "no zones"
		if zones != nil {
			label = fmt.Sprintf("%d zones", len(zones))
		}
		st, err := r.SetZones(ctx, zones)
		if err != nil {
			return err
		}
		if zones != nil {
			var pgForbidden int
			q := fmt.Sprintf("SELECT count(*) FROM %s WHERE %s", cfg.table, touchesAny(zones))
			if err := conn.QueryRow(ctx, q).Scan(&pgForbidden); err != nil {
				return fmt.Errorf("counting the edges the zones touch: %w", err)
			}
			fmt.Fprintf(out, "arcs touching a zone: muster %d, PostGIS %d\n", st.ArcsForbidden, pgForbidden)
		}
		got, err := b.pairQueries(ctx, pairs, zones, label)
		if err != nil {
			return err
		}
		if zones != nil {
			fmt.Fprintf(out, "routes the zones change: %d of %d (%d now unreachable)\n", got[0].changedByZones, len(pairs), got[0].unreachable)
		}
		rows = append(rows, got...)
		if cfg.oneToAll > 0 {
			row, err := b.oneToAll(ctx, pairs[:min(cfg.oneToAll, len(pairs))], zones, label)
			if err != nil {
				return err
			}
			rows = append(rows, row)
		}
	}
	if len(circles) > 0 {
		update, err := zoneUpdateTime(ctx, r, circles)
		if err != nil {
			return err
		}
		rows = append(rows, update)
	}
	if _, err := r.SetZones(ctx, nil); err != nil {
		return err
	}

	fmt.Fprintln(out)
	fmt.Fprintf(out, "medians (muster answers every query %d times); ratio = pgRouting / muster; mismatches = pairs (one to all: targets) whose costs differ\n", musterPasses)
	if err := printTable(out, rows, b.backendStat != ""); err != nil {
		return err
	}
	fmt.Fprintln(out, "pgRouting has no zone update: the zones are part of every query's edge SQL.")
	return nil
}

// loadGraph reads the car graph from -graph, or imports it from -osm.
func loadGraph(ctx context.Context, cfg config) (*roadgraph.Graph, string, error) {
	return benchgraph.Car(ctx, cfg.graphPath, cfg.osmPath, []roadgraph.Profile{roadgraph.Car})
}

func validIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// loadEdges writes g as a pgRouting edge table: one row per directed arc
// (reverse_cost -1), ids one more than muster's arc and node numbers
// (pgRouting ids are positive), cost in seconds, the arc's polyline as
// geometry. Rows go in by COPY; a GiST index serves the zone filters.
func loadEdges(ctx context.Context, conn *pgx.Conn, table string, g *roadgraph.Graph) error {
	ddl := fmt.Sprintf(`DROP TABLE IF EXISTS %[1]s;
CREATE TABLE %[1]s (id bigint PRIMARY KEY, source bigint NOT NULL, target bigint NOT NULL,
  cost double precision NOT NULL, reverse_cost double precision NOT NULL, geom geometry(LineString, 4326) NOT NULL)`, table)
	if _, err := conn.Exec(ctx, ddl); err != nil {
		return fmt.Errorf("creating the edge table: %w", err)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeEdgeRows(pw, g)) }()
	tag, err := conn.PgConn().CopyFrom(ctx, pr, fmt.Sprintf("COPY %s (id, source, target, cost, reverse_cost, geom) FROM STDIN", table))
	pr.Close()
	if err != nil {
		return fmt.Errorf("copying the edges: %w", err)
	}
	if tag.RowsAffected() != int64(g.NumArcs()) {
		return fmt.Errorf("copied %d edges of %d arcs", tag.RowsAffected(), g.NumArcs())
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE INDEX ON %[1]s USING gist (geom); ANALYZE %[1]s", table)); err != nil {
		return fmt.Errorf("indexing the edges: %w", err)
	}
	return nil
}

// writeEdgeRows writes COPY text rows; coordinates and costs are printed
// with the fewest digits that read back as the same float64.
func writeEdgeRows(w io.Writer, g *roadgraph.Graph) error {
	var buf []byte
	coord := func(lon, lat int32) {
		buf = strconv.AppendFloat(buf, float64(lon)/roadgraph.CoordScale, 'g', -1, 64)
		buf = append(buf, ' ')
		buf = strconv.AppendFloat(buf, float64(lat)/roadgraph.CoordScale, 'g', -1, 64)
	}
	for u := range uint32(g.NumNodes()) {
		for a := g.FirstOut[u]; a < g.FirstOut[u+1]; a++ {
			h := g.Head[a]
			buf = strconv.AppendUint(buf[:0], uint64(a)+1, 10)
			buf = append(buf, '\t')
			buf = strconv.AppendUint(buf, uint64(u)+1, 10)
			buf = append(buf, '\t')
			buf = strconv.AppendUint(buf, uint64(h)+1, 10)
			buf = append(buf, '\t')
			buf = strconv.AppendFloat(buf, float64(g.TimeMS[a])/1000, 'g', -1, 64)
			buf = append(buf, "\t-1\tSRID=4326;LINESTRING("...)
			coord(g.Lon[u], g.Lat[u])
			for i := g.GeomFirst[a]; i < g.GeomFirst[a+1]; i++ {
				buf = append(buf, ',')
				coord(g.GeomLon[i], g.GeomLat[i])
			}
			buf = append(buf, ',')
			coord(g.Lon[h], g.Lat[h])
			buf = append(buf, ")\n"...)
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
	}
	return nil
}

// drawPairs picks n random pairs of distinct nodes.
func drawPairs(g *roadgraph.Graph, rng *rand.Rand, n int) [][2]uint32 {
	pairs := make([][2]uint32, 0, n)
	for len(pairs) < n {
		s, t := uint32(rng.IntN(g.NumNodes())), uint32(rng.IntN(g.NumNodes()))
		if s != t {
			pairs = append(pairs, [2]uint32{s, t})
		}
	}
	return pairs
}

// drawCircles places n forbidden circles of 300-800 m where traffic goes:
// each is centred on a node in the middle third of a random pair's fastest
// route (circles at random nodes of a regional extract mostly land on
// lanes that no route uses, and then test nothing). A circle is drawn again
// while any pair's end lies within 100 m of it, so that no route needs an
// escape or approach leg.
func drawCircles(ctx context.Context, r *route.Router, rng *rand.Rand, n int, pairs [][2]uint32) ([]muster.Zone, error) {
	g := r.Graph()
	clear := func(z muster.Zone) bool {
		for _, p := range pairs {
			for _, u := range p {
				pt := g.NodePoint(u)
				if muster.DistanceM(pt[0], pt[1], z.Center[0], z.Center[1]) < z.RadiusM+100 {
					return false
				}
			}
		}
		return true
	}
	var zones []muster.Zone
	for tries := 0; len(zones) < n; tries++ {
		if tries == 1000 {
			return nil, fmt.Errorf("could not place %d circles clear of all %d pairs' ends: ask for fewer pairs", n, len(pairs))
		}
		p := pairs[rng.IntN(len(pairs))]
		res, err := r.Route(ctx, route.Request{From: g.NodePoint(p[0]), To: g.NodePoint(p[1])})
		if err != nil {
			return nil, fmt.Errorf("routing pair %d-%d to place a circle: %w", p[0], p[1], err)
		}
		arcs := res.Routes[0].Arcs
		if len(arcs) < 3 {
			continue
		}
		a := arcs[len(arcs)/3+rng.IntN(len(arcs)/3)]
		z := muster.Zone{ID: fmt.Sprintf("circle-%d", len(zones)+1), Center: g.NodePoint(g.Head[a]),
			RadiusM: math.Round(300 + 500*rng.Float64()), Forbidden: true}
		if clear(z) {
			zones = append(zones, z)
		}
	}
	return zones, nil
}

func describe(zones []muster.Zone) string {
	if len(zones) == 0 {
		return "none"
	}
	var parts []string
	for _, z := range zones {
		parts = append(parts, fmt.Sprintf("%.5f,%.5f r=%.0f m", z.Center[1], z.Center[0], z.RadiusM))
	}
	return strings.Join(parts, "; ")
}

// touchesAny is a SQL condition true for the edges that touch any of the
// forbidden circles, by muster's own test (package zonecost): a circle is
// the disc of RadiusM metres around its centre in the local equirectangular
// projection x = Δlon·cos(lat0)·R·π/180, y = Δlat·R·π/180, and an arc
// touches it when its polyline comes within RadiusM + TouchToleranceM of
// the centre. Scaling lon by cos(lat0) about the centre makes that a planar
// ST_DWithin in degrees; the bounding box lets the GiST index find the
// candidates first.
func touchesAny(zones []muster.Zone) string {
	const metresPerDegree = muster.EarthRadiusM * math.Pi / 180
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	var conds []string
	for _, z := range zones {
		lon0, lat0 := z.Center[0], z.Center[1]
		cos := math.Cos(lat0 * math.Pi / 180)
		reach := (z.RadiusM + zonecost.TouchToleranceM) / metresPerDegree
		dLat, dLon := reach*1.001, reach/cos*1.001
		conds = append(conds, fmt.Sprintf("(geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) AND ST_DWithin(ST_Scale(ST_Translate(geom, %s, %s), %s, 1), ST_SetSRID(ST_MakePoint(0, 0), 4326), %s))",
			f(lon0-dLon), f(lat0-dLat), f(lon0+dLon), f(lat0+dLat), f(-lon0), f(-lat0), f(cos), f(reach)))
	}
	if len(conds) == 0 {
		return "false"
	}
	return strings.Join(conds, " OR ")
}

// edgesSQL is pgRouting's edge query: every edge but those touching a zone,
// with source and target swapped when reversed (to search towards a target).
func edgesSQL(table string, zones []muster.Zone, reversed bool) string {
	cols := "id, source, target, cost, reverse_cost"
	if reversed {
		cols = "id, target AS source, source AS target, cost, reverse_cost"
	}
	q := fmt.Sprintf("SELECT %s FROM %s", cols, table)
	if len(zones) > 0 {
		q += fmt.Sprintf(" WHERE id NOT IN (SELECT id FROM %s WHERE %s)", table, touchesAny(zones))
	}
	return q
}

type bench struct {
	r     *route.Router
	g     *roadgraph.Graph
	conn  *pgx.Conn
	table string
	// backendStat is /proc/PID/schedstat of the PostgreSQL backend serving
	// conn, "" when it cannot be read (a database on another machine).
	backendStat string
	// baseline is every pair's cost without zones, to count the routes the
	// zones change (a zone test that changes no route tests nothing).
	baseline []float64
}

// sample is one timed call: wall-clock time and the CPU time of the thread
// (muster) or backend process (PostgreSQL) that did the work. On a shared,
// loaded machine a 300 ms query is stretched by every other process while
// a 60 µs one mostly runs in one time slice, which flatters the short one;
// CPU time is not stretched.
type sample struct{ wall, cpu time.Duration }

// threadCPU is the CPU time of the calling OS thread; run locks the main
// goroutine to its thread so that muster's calls are measured by it.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// timeMuster runs f on this thread and measures it.
func timeMuster(f func()) sample {
	c0, t0 := threadCPU(), time.Now()
	f()
	wall := time.Since(t0)
	return sample{wall, threadCPU() - c0}
}

// timePG runs f, a database call, and measures it; cpu is the backend's.
func (b *bench) timePG(f func() error) (sample, error) {
	c0 := b.backendCPU()
	t0 := time.Now()
	err := f()
	wall := time.Since(t0)
	return sample{wall, b.backendCPU() - c0}, err
}

// backendCPU reads the backend's run time so far (the first field of
// schedstat, in nanoseconds), or 0 when it cannot.
func (b *bench) backendCPU() time.Duration {
	if b.backendStat == "" {
		return 0
	}
	data, err := os.ReadFile(b.backendStat)
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return 0
	}
	ns, err := strconv.ParseInt(fields[0], 10, 64)
	if err != nil {
		return 0
	}
	return time.Duration(ns)
}

// findBackend locates the backend process serving conn on this machine.
func (b *bench) findBackend(ctx context.Context) {
	var pid int
	if err := b.conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		return
	}
	path := fmt.Sprintf("/proc/%d/schedstat", pid)
	if _, err := os.ReadFile(path); err != nil {
		slog.Info("PostgreSQL's backend is not readable here: no CPU times", "pid", pid, "err", err)
		return
	}
	b.backendStat = path
}

// row is one line of the result table.
type row struct {
	kind           string
	musterT, pgT   []sample
	mismatches     int
	unreachable    int
	changedByZones int
}

// musterPasses is how often muster answers every query: its passes take
// milliseconds, so one burst of load from another process on a shared
// machine could shift a single pass's median; five passes spread out.
const musterPasses = 5

// unreachable marks a pair with no route, in seconds.
var unreachable = math.Inf(1)

// pairQueries times muster's Route, muster's hierarchy Query (with path
// unpacking, as pgr_dijkstra returns the path too) and pgr_dijkstra on
// every pair under zones, which the router must already have, and counts
// the pairs where the costs differ by more than rounding.
//
// Each system answers all pairs in one pass, as a server answers a stream
// of queries: interleaving them would have every muster query start with
// caches that pgRouting's scan of 147,000 edges has just evicted.
func (b *bench) pairQueries(ctx context.Context, pairs [][2]uint32, zones []muster.Zone, label string) ([]*row, error) {
	g := b.g
	metric := b.r.Hierarchy().Customize(b.r.Weights())
	q := route.NewQuery(b.r.Hierarchy())
	edges := edgesSQL(b.table, zones, false)
	routeRow := &row{kind: "route (Route), " + label}
	queryRow := &row{kind: "node to node (Query+Path), " + label}
	routeCost := make([]float64, len(pairs))
	queryCost := make([]float64, len(pairs))
	pgCost := make([]float64, len(pairs))

	// Warm up: the first calls pay for loading pgRouting's library, cold
	// caches and lazily built scratch memory, which no later query pays.
	for _, p := range pairs[:min(3, len(pairs))] {
		_, _ = b.r.Route(ctx, route.Request{From: g.NodePoint(p[0]), To: g.NodePoint(p[1])})
		q.Run(metric, []route.Source{{Node: p[0]}}, []route.Source{{Node: p[1]}})
		if _, err := b.dijkstra(ctx, edges, p[0], p[1]); err != nil {
			return nil, err
		}
	}

	for range musterPasses {
		for i, p := range pairs {
			// Route, from the nodes' coordinates.
			var res *route.Result
			var err error
			routeRow.musterT = append(routeRow.musterT, timeMuster(func() {
				res, err = b.r.Route(ctx, route.Request{From: g.NodePoint(p[0]), To: g.NodePoint(p[1])})
			}))
			routeCost[i] = unreachable
			switch {
			case err == nil:
				routeCost[i] = res.Routes[0].CostS
				if res.Escape != nil || res.Approach != nil {
					return nil, fmt.Errorf("pair %d (nodes %d, %d): an end lies in a zone, which drawCircles should have prevented", i, p[0], p[1])
				}
			case muster.ErrorCode(err) != muster.EUNREACHABLE:
				return nil, fmt.Errorf("pair %d: %w", i, err)
			}
		}
		for i, p := range pairs {
			// The bare node-to-node query.
			var ms uint32
			queryRow.musterT = append(queryRow.musterT, timeMuster(func() {
				ms = q.Run(metric, []route.Source{{Node: p[0]}}, []route.Source{{Node: p[1]}})
				if ms != route.Inf {
					q.Path(metric)
				}
			}))
			queryCost[i] = unreachable
			if ms != route.Inf {
				queryCost[i] = float64(ms) / 1000
			}
		}
	}
	for i, p := range pairs {
		s, err := b.timePG(func() (err error) {
			pgCost[i], err = b.dijkstra(ctx, edges, p[0], p[1])
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("pair %d: %w", i, err)
		}
		routeRow.pgT = append(routeRow.pgT, s)
	}
	queryRow.pgT = routeRow.pgT

	for i, p := range pairs {
		if math.IsInf(pgCost[i], 1) {
			routeRow.unreachable++
		}
		if zones == nil {
			b.baseline[i] = pgCost[i]
		} else if !sameCost(b.baseline[i], pgCost[i]) {
			routeRow.changedByZones++
		}
		for _, c := range []struct {
			row  *row
			cost float64
		}{{routeRow, routeCost[i]}, {queryRow, queryCost[i]}} {
			if !sameCost(c.cost, pgCost[i]) {
				c.row.mismatches++
				slog.Warn("costs differ", "query", c.row.kind, "pair", i, "from", p[0], "to", p[1], "muster_s", c.cost, "pgrouting_s", pgCost[i])
			}
		}
	}
	return []*row{routeRow, queryRow}, nil
}

// dijkstra asks pgr_dijkstra for the path from s to t (muster node numbers)
// and returns its cost in seconds, +Inf when there is none. It reads the
// whole path, as a caller would.
func (b *bench) dijkstra(ctx context.Context, edges string, s, t uint32) (float64, error) {
	rows, err := b.conn.Query(ctx, "SELECT edge, agg_cost FROM pgr_dijkstra($1, $2::bigint, $3::bigint, true) ORDER BY seq", edges, int64(s)+1, int64(t)+1)
	if err != nil {
		return 0, fmt.Errorf("pgr_dijkstra: %w", err)
	}
	cost := unreachable
	var edge int64
	var agg float64
	_, err = pgx.ForEachRow(rows, []any{&edge, &agg}, func() error {
		if edge == -1 { // the last row: agg_cost is the path's cost
			cost = agg
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("pgr_dijkstra: %w", err)
	}
	return cost, nil
}

// oneToAll times muster's CostsTo against pgr_drivingDistance on the
// reversed edges (the cost of every node to the target) with no distance
// limit, and counts the targets where any node's cost differs.
func (b *bench) oneToAll(ctx context.Context, pairs [][2]uint32, zones []muster.Zone, label string) (*row, error) {
	rw := &row{kind: "one to all (CostsTo / pgr_drivingDistance), " + label}
	edges := edgesSQL(b.table, zones, true)
	pgCost := make([]float64, b.g.NumNodes())
	musterCosts := make([][]uint32, len(pairs))
	for range musterPasses {
		for i, p := range pairs {
			rw.musterT = append(rw.musterT, timeMuster(func() { musterCosts[i] = b.r.CostsTo(route.NodeSnap(b.g, p[1])) }))
		}
	}
	for i, p := range pairs {
		target, costs := p[1], musterCosts[i]
		for u := range pgCost {
			pgCost[u] = unreachable
		}
		s, err := b.timePG(func() error {
			rows, err := b.conn.Query(ctx, "SELECT node, agg_cost FROM pgr_drivingDistance($1, $2::bigint, 1e12, true)", edges, int64(target)+1)
			if err != nil {
				return err
			}
			var node int64
			var agg float64
			_, err = pgx.ForEachRow(rows, []any{&node, &agg}, func() error {
				if node < 1 || node > int64(len(pgCost)) {
					return fmt.Errorf("node %d is not in the graph", node)
				}
				pgCost[node-1] = agg
				return nil
			})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("pgr_drivingDistance to node %d: %w", target, err)
		}
		rw.pgT = append(rw.pgT, s)
		differ := 0
		for u, c := range costs {
			m := unreachable
			if c != route.Inf {
				m = float64(c) / 1000
			}
			if !sameCost(m, pgCost[u]) {
				differ++
			}
		}
		if differ > 0 {
			rw.mismatches++
			slog.Warn("one-to-all costs differ", "zones", label, "search", i, "target", target, "nodes", differ)
		}
	}
	return rw, nil
}

// sameCost reports whether two costs in seconds agree within rounding:
// muster sums integer milliseconds, pgRouting sums doubles, so a real
// difference is at least a millisecond.
func sameCost(a, b float64) bool {
	if math.IsInf(a, 1) || math.IsInf(b, 1) {
		return math.IsInf(a, 1) && math.IsInf(b, 1)
	}
	return math.Abs(a-b) < 0.0005
}

// zoneUpdateTime times applying the circles to a router with no zones:
// muster's whole cost of a new threat picture (zone geometry and partial
// re-customization).
func zoneUpdateTime(ctx context.Context, r *route.Router, circles []muster.Zone) (*row, error) {
	rw := &row{kind: fmt.Sprintf("zone update (SetZones, %d circles)", len(circles))}
	for range 21 {
		if _, err := r.SetZones(ctx, nil); err != nil {
			return nil, err
		}
		var err error
		rw.musterT = append(rw.musterT, timeMuster(func() { _, err = r.SetZones(ctx, circles) }))
		if err != nil {
			return nil, err
		}
	}
	return rw, nil
}

// medians returns the median wall and CPU times of samples.
func medians(ss []sample) (wall, cpu time.Duration) {
	if len(ss) == 0 {
		return 0, 0
	}
	ws, cs := make([]time.Duration, len(ss)), make([]time.Duration, len(ss))
	for i, s := range ss {
		ws[i], cs[i] = s.wall, s.cpu
	}
	return median(ws), median(cs)
}

func median(ts []time.Duration) time.Duration {
	s := slices.Clone(ts)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// printTable writes the result table: medians and their ratios, wall clock
// and CPU (CPU columns say "-" when the backend could not be observed).
func printTable(out io.Writer, rows []*row, haveBackendCPU bool) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "query\tcount\tmuster\tpgRouting\tratio\tmuster CPU\tpgRouting CPU\tCPU ratio\tmismatches\t")
	for _, rw := range rows {
		mw, mc := medians(rw.musterT)
		if rw.pgT == nil { // muster only: SetZones
			fmt.Fprintf(tw, "%s\t%d\t%s\t-\t-\t%s\t-\t-\t-\t\n", rw.kind, len(rw.musterT), fmtDur(mw), fmtDur(mc))
			continue
		}
		pw, pc := medians(rw.pgT)
		pgCPU, ratioCPU := "-", "-"
		if haveBackendCPU {
			pgCPU, ratioCPU = fmtDur(pc), fmt.Sprintf("%.0f", float64(pc)/float64(mc))
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%.0f\t%s\t%s\t%s\t%d\t\n", rw.kind, len(rw.pgT), fmtDur(mw), fmtDur(pw),
			float64(pw)/float64(mw), fmtDur(mc), pgCPU, ratioCPU, rw.mismatches)
	}
	return tw.Flush()
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
	}
}
