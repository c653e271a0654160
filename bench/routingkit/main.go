// Command routingkit runs muster's customization side by side with
// RoutingKit's on the same graph, the same node order and the same threat
// pictures (see bench/README.md; bench/routingkit.sh builds RoutingKit and
// the driver and runs this). It imports the extract, takes the car graph
// and its nested-dissection order, applies the pictures of
// BenchmarkSetZonesPorto (internal/benchpictures) to get each picture's arc
// weights, writes graph, order and pictures for the driver, then, run after
// run, times full customization and partial customization (one picture
// after another) in both, in CPU time of the thread doing it, checks that both give the same
// weights on every hierarchy arc after every picture, and prints the
// medians and their ratios.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"

	"github.com/muster-evac/muster/bench/internal/benchgraph"
	"github.com/muster-evac/muster/internal/benchpictures"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
)

type config struct {
	osmPath, graphPath, driver, dir string
	pictures, runs, full, passes    int
}

func main() {
	var cfg config
	flag.StringVar(&cfg.osmPath, "osm", "", "OSM extract to import (default ../shared/data/porto.osm.pbf from the repository root)")
	flag.StringVar(&cfg.graphPath, "graph", "", "muster graph file to load instead of importing an extract")
	flag.StringVar(&cfg.driver, "driver", "", "the RoutingKit driver built by bench/routingkit.sh (required)")
	flag.StringVar(&cfg.dir, "dir", "", "directory for the exported graph and pictures (default: a temp dir, removed after)")
	flag.IntVar(&cfg.pictures, "pictures", 16, "threat pictures, applied in turn (BenchmarkSetZonesPorto's 16)")
	flag.IntVar(&cfg.runs, "runs", 5, "runs; muster and RoutingKit take turns going first")
	flag.IntVar(&cfg.full, "full", 20, "full customizations timed per run")
	flag.IntVar(&cfg.passes, "passes", 4, "passes over the pictures per run")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		slog.Error("benchmark failed", "err", err)
		os.Exit(1)
	}
}

// transition is one picture's change: the arcs whose weight differs from
// the picture before, their new weights, and all the weights after.
type transition struct {
	arcs, weights []uint32
	after         []uint32
}

// timings are one run's CPU times per operation, and the checksums of the
// metric after each transition of the first pass.
type timings struct {
	full, partial []time.Duration
	checks        map[string]uint64
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	// The operations timed here run on this thread, and allocate nothing
	// (route's TestApplyingPicturesAllocatesNothing): the thread's CPU time
	// is their cost, without the collector and scavenger freeing the
	// import's memory on other threads meanwhile.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if cfg.driver == "" {
		return errors.New("no RoutingKit driver: pass -driver (bench/routingkit.sh builds it)")
	}
	if cfg.pictures < 2 || cfg.runs < 1 || cfg.full < 1 || cfg.passes < 1 {
		return fmt.Errorf("-pictures must be at least 2 and -runs, -full, -passes at least 1")
	}
	g, source, err := loadGraph(ctx, cfg)
	if err != nil {
		return err
	}
	if len(g.Order) == 0 {
		t0 := time.Now()
		if g.Order, err = route.NestedDissectionOrder(ctx, g); err != nil {
			return err
		}
		slog.Info("nested-dissection order computed", "took", time.Since(t0).Round(time.Millisecond))
	}
	r, err := route.New(ctx, g, route.Options{})
	if err != nil {
		return fmt.Errorf("preparing the router: %w", err)
	}
	trans, err := pictureTransitions(ctx, r, g, cfg.pictures)
	if err != nil {
		return err
	}
	dir := cfg.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "muster-routingkit-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	graphFile, picFile := filepath.Join(dir, "graph.bin"), filepath.Join(dir, "pictures.bin")
	if err := writeGraph(graphFile, g); err != nil {
		return err
	}
	if err := writePictures(picFile, trans); err != nil {
		return err
	}
	c := r.Hierarchy()
	var changed []int
	for _, t := range trans[1:] {
		changed = append(changed, len(t.arcs))
	}
	fmt.Fprintf(out, "graph: %s, car, %d nodes, %d arcs, hierarchy %d arcs (muster's nested-dissection order on both sides)\n", source, g.NumNodes(), g.NumArcs(), c.NumArcs())
	fmt.Fprintf(out, "%d pictures (BenchmarkSetZonesPorto's), each changing %d-%d arcs (median %d) from the one before; %d full customizations and %d passes over the pictures per run, %d runs\n",
		len(trans)-1, slices.Min(changed), slices.Max(changed), median(changed), cfg.full, cfg.passes, cfg.runs)
	fmt.Fprintf(out, "CPU time of the thread per operation (CLOCK_THREAD_CPUTIME_ID), median within each run\n\n")

	rk, err := startRoutingKit(ctx, cfg.driver, graphFile, picFile)
	if err != nil {
		return err
	}
	defer rk.close()

	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tfull muster\tfull RoutingKit\tratio\tpartial muster\tpartial RoutingKit\tratio\t")
	var fullRatios, partialRatios []float64
	for i := 0; i < cfg.runs; i++ {
		mu, rt, err := timeBoth(c, g, rk, trans, cfg, i == 0)
		if err != nil {
			return err
		}
		if i == 0 {
			if err := compareChecks(mu.checks, rt.checks, len(trans)); err != nil {
				return err
			}
		}
		mf, rf := medianD(mu.full), medianD(rt.full)
		mp, rp := medianD(mu.partial), medianD(rt.partial)
		fullRatios = append(fullRatios, rf.Seconds()/mf.Seconds())
		partialRatios = append(partialRatios, rp.Seconds()/mp.Seconds())
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.2f\t%s\t%s\t%.2f\t\n", i+1, ms(mf), ms(rf), fullRatios[i], ms(mp), ms(rp), partialRatios[i])
	}
	tw.Flush()
	fmt.Fprintf(out, "\nratio RoutingKit/muster (above 1: muster is faster), over %d runs: full customization %.2f-%.2f (median %.2f), partial customization %.2f-%.2f (median %.2f)\n",
		cfg.runs, slices.Min(fullRatios), slices.Max(fullRatios), medianF(fullRatios), slices.Min(partialRatios), slices.Max(partialRatios), medianF(partialRatios))
	fmt.Fprintf(out, "same weights on every hierarchy arc after the base customization and after each of the %d pictures\n", len(trans))
	return nil
}

// pictureTransitions applies the pictures to r in turn and returns the
// transitions RoutingKit and muster both replay: from the free-flow
// weights to picture 0, then from each picture to the next, the last one
// leading back to picture 0.
func pictureTransitions(ctx context.Context, r *route.Router, g *roadgraph.Graph, n int) ([]transition, error) {
	pics := benchpictures.Sequence(g, n)
	weights := make([][]uint32, n)
	for i, zs := range pics {
		if _, err := r.SetZones(ctx, zs); err != nil {
			return nil, fmt.Errorf("picture %d: %w", i, err)
		}
		weights[i] = slices.Clone(r.Weights())
	}
	diff := func(from, to []uint32) transition {
		t := transition{after: to}
		for a := range to {
			if from[a] != to[a] {
				t.arcs = append(t.arcs, uint32(a))
				t.weights = append(t.weights, to[a])
			}
		}
		return t
	}
	trans := []transition{diff(g.TimeMS, weights[0])}
	for i := 1; i <= n; i++ {
		trans = append(trans, diff(weights[i-1], weights[i%n]))
	}
	return trans, nil
}

// routingKit is the driver process, answering one command at a time.
type routingKit struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startRoutingKit(ctx context.Context, driver, graphFile, picFile string) (*routingKit, error) {
	cmd := exec.CommandContext(ctx, driver, graphFile, picFile)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the RoutingKit driver: %w", err)
	}
	rk := &routingKit{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	if _, err := rk.read("arcs", 2); err != nil {
		rk.close()
		return nil, err
	}
	return rk, nil
}

// ask sends a command and returns the fields of the answer, which must
// start with want and have n fields.
func (rk *routingKit) ask(command, want string, n int) ([]string, error) {
	if _, err := fmt.Fprintln(rk.in, command); err != nil {
		return nil, fmt.Errorf("RoutingKit driver: %w", err)
	}
	return rk.read(want, n)
}

func (rk *routingKit) read(want string, n int) ([]string, error) {
	if !rk.out.Scan() {
		return nil, fmt.Errorf("RoutingKit driver: no answer (%v)", rk.out.Err())
	}
	f := strings.Fields(rk.out.Text())
	if len(f) != n || f[0] != want {
		return nil, fmt.Errorf("RoutingKit driver: unexpected line %q", rk.out.Text())
	}
	return f, nil
}

// timed asks for an operation and returns its CPU time.
func (rk *routingKit) timed(command, want string, n int) (time.Duration, error) {
	f, err := rk.ask(command, want, n)
	if err != nil {
		return 0, err
	}
	ns, err := strconv.ParseInt(f[n-1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("RoutingKit driver: %q: %w", strings.Join(f, " "), err)
	}
	return time.Duration(ns), nil
}

func (rk *routingKit) check(label string) (uint64, error) {
	f, err := rk.ask("check "+label, "check", 3)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(f[2], 10, 64)
}

func (rk *routingKit) close() {
	fmt.Fprintln(rk.in, "quit")
	rk.in.Close()
	rk.cmd.Wait()
}

// timeBoth is one run: the same operations on both sides, each muster
// operation next to the same RoutingKit one (which goes first alternates),
// so that whatever else the machine does at a moment weighs on both.
// Muster: full customization in place (as the router does for a picture
// that changes more than 1/8 of the arcs), and the router's partial
// customization, route.MetricPair.Next, for each picture. RoutingKit: its
// metric's customize, and update_arc then its partial customization.
func timeBoth(c *route.CCH, g *roadgraph.Graph, rk *routingKit, trans []transition, cfg config, check bool) (mu, rt timings, err error) {
	mu.checks, rt.checks = map[string]uint64{}, map[string]uint64{}
	debug.FreeOSMemory()
	mt := c.Customize(g.TimeMS)
	op := 0
	both := func(muster func(), rkCommand, want string, n int) error {
		op++
		var took time.Duration
		var err error
		if op%2 == 0 {
			took, err = rk.timed(rkCommand, want, n)
		}
		t0 := threadCPU()
		muster()
		mine := threadCPU() - t0
		if op%2 == 1 {
			took, err = rk.timed(rkCommand, want, n)
		}
		if err != nil {
			return err
		}
		if want == "full" {
			mu.full, rt.full = append(mu.full, mine), append(rt.full, took)
		} else {
			mu.partial, rt.partial = append(mu.partial, mine), append(rt.partial, took)
		}
		return nil
	}
	for i := 0; i < cfg.full; i++ {
		if err := both(func() { c.CustomizeInto(mt, g.TimeMS) }, "full", "full", 2); err != nil {
			return mu, rt, err
		}
	}
	if check {
		mu.checks["base"] = checksum(c, mt)
		if rt.checks["base"], err = rk.check("base"); err != nil {
			return mu, rt, err
		}
	}
	// Transition 0, from the free-flow weights to the first picture, is
	// not timed.
	pair := route.NewMetricPair(c, g.TimeMS)
	pair.Next(trans[0].after, trans[0].arcs, false)
	if _, err := rk.ask("partial 0", "partial", 3); err != nil {
		return mu, rt, err
	}
	if check {
		mu.checks["0"] = checksum(c, pair.Current())
		if rt.checks["0"], err = rk.check("0"); err != nil {
			return mu, rt, err
		}
	}
	debug.FreeOSMemory()
	for p := 0; p < cfg.passes; p++ {
		for k := 1; k < len(trans); k++ {
			if err := both(func() { pair.Next(trans[k].after, trans[k].arcs, false) }, "partial "+strconv.Itoa(k), "partial", 3); err != nil {
				return mu, rt, err
			}
			if check && p == 0 {
				label := strconv.Itoa(k)
				mu.checks[label] = checksum(c, pair.Current())
				if rt.checks[label], err = rk.check(label); err != nil {
					return mu, rt, err
				}
			}
		}
	}
	return mu, rt, nil
}

func compareChecks(mu, rk map[string]uint64, transitions int) error {
	keys := []string{"base"}
	for k := 0; k < transitions; k++ {
		keys = append(keys, strconv.Itoa(k))
	}
	for _, k := range keys {
		m, okM := mu[k]
		r, okR := rk[k]
		if !okM || !okR || m != r {
			return fmt.Errorf("metrics differ after transition %s: muster %x, RoutingKit %x (same graph, order and weights should give the same hierarchy and weights)", k, m, r)
		}
	}
	return nil
}

// checksum is the driver's order-independent sum over hierarchy arcs of
// their ends and both weights (Inf as 0xFFFFFFFF).
func checksum(c *route.CCH, m *route.Metric) uint64 {
	var sum uint64
	for e := 0; e < c.NumArcs(); e++ {
		lo, hi := c.Arc(e)
		up, down := m.ArcWeights(e)
		ends := uint64(lo)<<32 | uint64(hi)
		sum += (ends * 0x9E3779B97F4A7C15) ^ ((uint64(up)<<32 | uint64(down)) * 0xC2B2AE3D27D4EB4F)
	}
	return sum
}

// rkInf is RoutingKit's infinite weight; every finite weight must stay below.
const rkInf = math.MaxInt32

func writeGraph(path string, g *roadgraph.Graph) error {
	w := make([]uint32, g.NumArcs())
	for a, t := range g.TimeMS {
		if t >= rkInf {
			return fmt.Errorf("arc %d weighs %d ms, more than RoutingKit's finite weights", a, t)
		}
		w[a] = t
	}
	return writeFile(path, "MRKG", []uint32{uint32(g.NumNodes()), uint32(g.NumArcs())}, g.Tails(), g.Head, w, g.Order)
}

func writePictures(path string, trans []transition) error {
	parts := [][]uint32{{uint32(len(trans))}}
	for i, t := range trans {
		ws := make([]uint32, len(t.weights))
		for j, x := range t.weights {
			switch {
			case x == route.Inf:
				ws[j] = rkInf
			case x >= rkInf:
				return fmt.Errorf("transition %d: arc %d weighs %d ms, more than RoutingKit's finite weights", i, t.arcs[j], x)
			default:
				ws[j] = x
			}
		}
		parts = append(parts, []uint32{uint32(len(t.arcs))}, t.arcs, ws)
	}
	return writeFile(path, "MRKP", parts...)
}

// writeFile writes a magic and then little-endian uint32s.
func writeFile(path, magic string, parts ...[]uint32) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	bw.WriteString(magic)
	for _, p := range parts {
		if err := binary.Write(bw, binary.LittleEndian, p); err != nil {
			f.Close()
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

// loadGraph reads the car graph from -graph, or imports it from -osm.
func loadGraph(ctx context.Context, cfg config) (*roadgraph.Graph, string, error) {
	// Both profiles, as route's benchmarks import it: the same car graph.
	return benchgraph.Car(ctx, cfg.graphPath, cfg.osmPath, nil)
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func medianD(xs []time.Duration) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func median(xs []int) int {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianF(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", d.Seconds()*1000) }
