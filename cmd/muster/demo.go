package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/spf13/cobra"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/citygen"
	"github.com/muster-evac/muster/evacuees"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/plancheck"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
	"github.com/muster-evac/muster/scenario"
	"github.com/muster-evac/muster/zonecost"
)

func init() { subcommands = append(subcommands, newDemoCmd) }

func newDemoCmd() *cobra.Command {
	var seed int64
	var scale float64
	var osmPath, outDir, addr string
	var serve bool
	cmd := &cobra.Command{
		Use:   "demo [--osm FILE] [--seed N] [--out DIR] [--serve [--addr HOST:PORT]]",
		Short: "Build a city, route to the airport, then route around a new threat",
		Long: `Runs muster's main job end to end with nothing to install and no file to bring:
it generates a realistic city (deterministic from --seed; an irregular street grid,
ring road and radial arteries, one-way streets, a river with few bridges, an airport
with gates), or imports your OpenStreetMap extract (--osm), builds the road graphs,
routes from a rally point to an airport gate, then a threat appears on that route and
muster routes around it, with alternatives and their exposure.

Everything it makes is written to --out: city.graph (for 'muster route'), city.osm and
places.geojson (the generated city), zones.geojson (the threat), routes.geojson.

With --serve it then runs the server on the demo city (generated cities only):
a fresh data folder in OUT/data with signing keys and an admin account whose
password it prints once, the demo's households imported, the threat reported,
a plan made and approved through the server's API. It prints the operations
map's URL, the login and one household's evacuee link, and serves until
Ctrl-C. It is a demonstration: every run starts the data folder anew.`,
		Example: `  muster demo
  muster demo --serve                 # then open http://localhost:8080/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o := demoOptions{seed: seed, scale: scale, osm: osmPath, out: outDir}
			if serve {
				return runDemoServe(cmd, o, addr)
			}
			if cmd.Flags().Changed("addr") {
				return muster.Errorf(muster.EINVALID, "--addr goes with --serve")
			}
			return runDemo(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.Int64Var(&seed, "seed", 2021, "seed of the generated city")
	f.Float64Var(&scale, "scale", 1, "size of the generated city (1: about 20,000 intersections)")
	f.StringVar(&osmPath, "osm", "", "use this OpenStreetMap extract instead of a generated city")
	f.StringVar(&outDir, "out", "muster-demo", "folder for what the demo makes")
	f.BoolVar(&serve, "serve", false, "then serve the demo city's operation (plan approved) until Ctrl-C")
	f.StringVar(&addr, "addr", "localhost:8080", "with --serve: HOST:PORT to listen on")
	return cmd
}

type demoOptions struct {
	seed  int64
	scale float64
	osm   string
	out   string
}

func runDemo(ctx context.Context, w io.Writer, o demoOptions) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	step := func(format string, args ...any) { fmt.Fprintf(w, "• "+format+"\n", args...) }
	t0 := time.Now()

	// 1. The city.
	var city *roadgraph.City
	var places muster.Places
	if o.osm != "" {
		c, stats, err := osmimport.ImportFile(ctx, o.osm, osmimport.Options{})
		if err != nil {
			return err
		}
		city = c
		step("imported %s: %d OSM nodes, %d ways", o.osm, stats.OSMNodes, stats.OSMWays)
	} else {
		gen, err := citygen.Generate(ctx, citygen.Options{Seed: o.seed, Scale: o.scale})
		if err != nil {
			return err
		}
		if err := writeFile(filepath.Join(o.out, "city.osm"), gen.WriteOSMXML); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(o.out, "places.geojson"), gen.WritePlacesGeoJSON); err != nil {
			return err
		}
		c, _, err := osmimport.FromOSM(ctx, gen.OSM, fmt.Sprintf("generated city (seed %d)", o.seed), osmimport.Options{})
		if err != nil {
			return err
		}
		city, places = c, gen.Places
		step("generated a city around %.4f,%.4f (seed %d): %d bridges over the river, an airport with %d gates, %d rally points",
			citygen.DefaultLat, citygen.DefaultLon, o.seed, len(gen.Bridges), countKind(places, muster.PlaceGate), countKind(places, muster.PlaceRally))
	}
	for _, p := range roadgraph.Profiles {
		if g := city.Graphs[p]; g != nil {
			order, err := route.NestedDissectionOrder(ctx, g)
			if err != nil {
				return err
			}
			g.Order = order
			step("%s network: %d intersections, %d road segments", p, g.NumNodes(), g.NumArcs())
		}
	}
	graphPath := filepath.Join(o.out, "city.graph")
	if err := roadgraph.SaveCity(graphPath, city); err != nil {
		return err
	}
	g, err := city.Graph(roadgraph.Car)
	if err != nil {
		return err
	}
	r, err := route.New(ctx, g, route.Options{})
	if err != nil {
		return err
	}

	// 2. Where to go: from the rally point farthest from the airport to the
	// nearest open gate (on a real extract without places: across the map).
	from, to, fromName, toName := demoTrip(g, places)
	step("trip: from %s (%.5f,%.5f) to %s (%.5f,%.5f)", fromName, from[1], from[0], toName, to[1], to[0])
	before, err := r.Route(ctx, route.Request{From: from, To: to})
	if err != nil {
		return err
	}
	best := before.Routes[0]
	step("with no threat: %s, %.1f km", fmtDuration(best.DurationS), best.DistanceM/1000)

	// 3. A threat appears on that route: an explosion near its middle closes
	// the area (forbidden), and a crowd further on makes a stretch risky.
	mid := best.Geometry[len(best.Geometry)/2]
	crowd := best.Geometry[len(best.Geometry)*3/4]
	zones := []muster.Zone{
		{ID: "explosion", Name: "explosion reported near the route's midpoint", Center: mid, RadiusM: 400, Forbidden: true, Risk: 0.9, Level: "critical"},
		{ID: "crowd", Name: "crowd gathering", Center: crowd, RadiusM: 300, Risk: 0.5, Level: "moderate"},
	}
	st, err := r.SetZones(ctx, zones)
	if err != nil {
		return err
	}
	step("threat picture applied in %s: %d road segments closed, %d penalised", (st.ZoneTime + st.CustomizeTime).Round(10*time.Microsecond), st.ArcsForbidden, st.ArcsAffected-st.ArcsForbidden)
	after, err := r.Route(ctx, route.Request{From: from, To: to, Alternatives: 3})
	if err != nil {
		return err
	}
	for i, rt := range after.Routes {
		crossings := len(zonecost.CheckForbidden(rt.Geometry, zones))
		step("route %d around the threat: %s, %.1f km, exposure %.0f risk-seconds, forbidden zone crossings %d",
			i+1, fmtDuration(rt.DurationS), rt.DistanceM/1000, rt.Exposure, crossings)
	}
	for _, n := range after.Notes {
		step("note: %s", n)
	}

	// 4. The plan: households to rally points, groups, gates and times,
	// then re-made when the threat appears and the busiest gate closes.
	if len(places.Places) > 0 {
		if err := demoPlan(ctx, w, step, o, city, places, zones); err != nil {
			return err
		}
	}

	// 5. What it wrote.
	if err := writeFile(filepath.Join(o.out, "zones.geojson"), func(w io.Writer) error { return zonecost.WriteGeoJSON(w, zones) }); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(o.out, "routes.geojson"), func(w io.Writer) error {
		fc := geojson.NewFeatureCollection()
		f := routeFeature(&best, 0, time.Time{})
		f.Properties["leg"] = "before the threat"
		fc.Append(f)
		for i := range after.Routes {
			fc.Append(routeFeature(&after.Routes[i], i+1, time.Time{}))
		}
		return json.NewEncoder(w).Encode(fc)
	}); err != nil {
		return err
	}
	made := "graph, zones, routes"
	if len(places.Places) > 0 {
		made = "graph, city, places, evacuees, zones, routes, plans"
	}
	step("wrote %s (%s) in %s", o.out, made, time.Since(t0).Round(time.Millisecond))
	fmt.Fprintf(w, "\nTry: %s route --graph %s --from %.5f,%.5f --to %.5f,%.5f --avoid %s --alternatives 3\n",
		selfCommand(), graphPath, from[1], from[0], to[1], to[0], filepath.Join(o.out, "zones.geojson"))
	return nil
}

func countKind(p muster.Places, kind string) int {
	n := 0
	for _, pl := range p.Places {
		if pl.Kind == kind {
			n++
		}
	}
	return n
}

// demoTrip picks the demo's origin and destination.
func demoTrip(g *roadgraph.Graph, places muster.Places) (from, to orb.Point, fromName, toName string) {
	var gates, rallies []muster.Place
	for _, pl := range places.Places {
		switch {
		case pl.Kind == muster.PlaceGate && pl.Status != muster.GateClosed:
			gates = append(gates, pl)
		case pl.Kind == muster.PlaceRally:
			rallies = append(rallies, pl)
		}
	}
	if len(gates) > 0 && len(rallies) > 0 {
		gp, _ := gates[0].Point()
		sort.SliceStable(rallies, func(i, j int) bool {
			pi, _ := rallies[i].Point()
			pj, _ := rallies[j].Point()
			return muster.DistanceM(pi[0], pi[1], gp[0], gp[1]) > muster.DistanceM(pj[0], pj[1], gp[0], gp[1])
		})
		from, _ = rallies[0].Point()
		to, _ = gates[0].Point()
		return from, to, "rally point " + rallies[0].Name, gates[0].Name
	}
	// Across the map: the nodes nearest the south-west and north-east corners.
	b := orb.Bound{Min: g.NodePoint(0), Max: g.NodePoint(0)}
	for u := 0; u < g.NumNodes(); u++ {
		b = b.Extend(g.NodePoint(uint32(u)))
	}
	nearest := func(p orb.Point) orb.Point {
		best, bestD := g.NodePoint(0), math.Inf(1)
		for u := 0; u < g.NumNodes(); u++ {
			q := g.NodePoint(uint32(u))
			if d := muster.DistanceM(p[0], p[1], q[0], q[1]); d < bestD {
				best, bestD = q, d
			}
		}
		return best
	}
	c := b.Center()
	from = nearest(orb.Point{(b.Min[0] + c[0]) / 2, (b.Min[1] + c[1]) / 2})
	to = nearest(orb.Point{(b.Max[0] + c[0]) / 2, (b.Max[1] + c[1]) / 2})
	return from, to, "the south-west", "the north-east"
}

func fmtDuration(s float64) string {
	d := time.Duration(s * float64(time.Second)).Round(time.Second)
	return fmt.Sprintf("%d min %02d s", int(d.Minutes()), int(d.Seconds())%60)
}

// writeFile writes a file atomically through fn.
func writeFile(path string, fn func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := fn(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// demoPlan plans the evacuation of the generated city's households, then
// re-plans when the threat appears, and checks both plans.
func demoPlan(ctx context.Context, w io.Writer, step func(string, ...any), o demoOptions, city *roadgraph.City, places muster.Places, zones []muster.Zone) error {
	car, foot := city.Graphs[roadgraph.Car], city.Graphs[roadgraph.Foot]
	var airport orb.Point
	for _, pl := range places.Places {
		if pl.Kind == muster.PlaceAirport {
			airport, _ = pl.Point()
		}
	}
	n := int(3000 * o.scale)
	sc, err := scenario.Generate(ctx, car, foot, scenario.Options{Seed: o.seed, Households: n, TargetPeople: n * 7 / 2, RallyPoints: 1, Gates: 2, AirportCenter: airport, Timezone: places.Timezone})
	if err != nil {
		return err
	}
	hs := sc.Households
	if err := writeFile(filepath.Join(o.out, "evacuees.csv"), func(w io.Writer) error { return evacuees.Write(w, hs) }); err != nil {
		return err
	}
	carR, err := route.New(ctx, car, route.Options{})
	if err != nil {
		return err
	}
	footR, err := route.New(ctx, foot, route.Options{})
	if err != nil {
		return err
	}
	start := time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)
	p0, err := plan.Make(ctx, plan.Input{Car: carR, Foot: footR, Places: &places, Households: hs, Params: plan.Params{Start: start}})
	if err != nil {
		return err
	}
	vs, err := demoCheck(ctx, p0, plancheck.Inputs{Places: &places, Households: hs, Car: car, Foot: foot})
	if err != nil {
		return err
	}
	step("plan: %d households (%d people) in %d groups from %d rally points to %d gates; last through after %s, %.2f times the lower bound; plan check: %d violations",
		len(hs), p0.Summary.People, p0.Summary.Groups, countUsed(p0), len(p0.Gates), fmtDuration(p0.Summary.MakespanS), p0.Summary.Ratio, len(vs))
	step("  %s", unservedLine(p0))
	if line := plan.SuggestionsLine(p0.Reach.Suggested()); line != "" {
		step("  %s", line)
	}
	if err := movesSomeone(p0, "the plan"); err != nil {
		return err
	}
	if err := writePlan(filepath.Join(o.out, "plan.json"), p0, filepath.Join(o.out, "plan.geojson")); err != nil {
		return err
	}

	// The threat appears an hour in; the busiest gate closes with it.
	busiest := ""
	for _, g := range p0.Gates {
		if busiest == "" || g.People > gatePeople(p0, busiest) {
			busiest = g.ID
		}
	}
	status := map[string]string{busiest: muster.GateClosed}
	for _, r := range []*route.Router{carR, footR} {
		if _, err := r.SetZones(ctx, zones); err != nil {
			return err
		}
	}
	at := start.Add(time.Hour)
	p1, err := plan.Replan(ctx, p0, plan.Input{Car: carR, Foot: footR, Places: &places, Households: hs, GateStatus: status}, plan.State{At: at})
	if err != nil {
		return err
	}
	vs, err = demoCheck(ctx, p1, plancheck.Inputs{Places: &places, Households: hs, Zones: zones, GateStatus: status, At: at, Previous: p0, Car: car, Foot: foot})
	if err != nil {
		return err
	}
	step("an hour in, the threat appears and %s closes: re-plan proposed, %d households get new instructions, %d keep theirs; last through after %s, %.2f times the lower bound; plan check: %d violations",
		busiest, len(p1.Diff.Changes), p1.Diff.Kept, fmtDuration(p1.Summary.MakespanS), p1.Summary.Ratio, len(vs))
	step("  %s", unservedLine(p1))
	if line := plan.SuggestionsLine(p1.Reach.Suggested()); line != "" {
		step("  %s", line)
	}
	if err := movesSomeone(p1, "the re-plan"); err != nil {
		return err
	}
	for i, c := range p1.Diff.Changes {
		if i == 3 {
			break
		}
		step("  e.g. %s: %s (%s)", c.Household, strings.Join(c.Fields, ", "), c.Reason)
	}
	return writePlan(filepath.Join(o.out, "proposed.json"), p1, "")
}

// demoCheck checks a plan of the demo with every rule, durations
// recomputed on the city's graphs.
func demoCheck(ctx context.Context, p *plan.Plan, in plancheck.Inputs) ([]plancheck.Violation, error) {
	r, err := plancheck.CheckContext(ctx, p, in)
	if err != nil {
		return nil, err
	}
	if len(r.Unchecked) > 0 {
		return nil, fmt.Errorf("demo: plan check left %s unchecked: %s", r.Unchecked[0].Rule, r.Unchecked[0].Reason)
	}
	return r.Violations, nil
}

func countUsed(p *plan.Plan) int {
	n := 0
	for _, r := range p.RallyPoints {
		if r.Groups > 0 {
			n++
		}
	}
	return n
}

func gatePeople(p *plan.Plan, id string) int {
	for _, g := range p.Gates {
		if g.ID == id {
			return g.People
		}
	}
	return 0
}

// unservedLine says how many households a plan leaves behind, and why, in
// one line: the operator must see them, not only the makespan.
func unservedLine(p *plan.Plan) string {
	if len(p.Unassigned) == 0 {
		return "every household is served"
	}
	byCode := map[string]int{}
	for _, u := range p.Unassigned {
		byCode[u.Code]++
	}
	codes := make([]string, 0, len(byCode))
	for c := range byCode {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool {
		if byCode[codes[i]] != byCode[codes[j]] {
			return byCode[codes[i]] > byCode[codes[j]]
		}
		return codes[i] < codes[j]
	})
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%d %s", byCode[c], c)
	}
	return fmt.Sprintf("%d households not served (%s): see unassigned in the plan for each one's reason", len(p.Unassigned), strings.Join(parts, ", "))
}

// movesSomeone fails when a plan moves nobody: a plan that evacuates no
// one is not a success, whatever else it says.
func movesSomeone(p *plan.Plan, what string) error {
	if p.Summary.AssignedPeople > 0 && len(p.Groups) > 0 {
		return nil
	}
	reason := "there are no households"
	if len(p.Unassigned) > 0 {
		reason = unservedLine(p)
	}
	return muster.Errorf(muster.EUNREACHABLE, "demo: %s moves nobody: %s", what, reason)
}

// selfCommand is how the user can run muster again: the binary's own
// name when it is on the PATH, its path otherwise, and "go run
// ./cmd/muster" when it was built by go run into a temporary folder.
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "muster"
	}
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return "go run ./cmd/muster"
	}
	if p, err := exec.LookPath(filepath.Base(exe)); err == nil {
		if a, err := filepath.EvalSymlinks(p); err == nil {
			if b, err := filepath.EvalSymlinks(exe); err == nil && a == b {
				return filepath.Base(exe)
			}
		}
	}
	return exe
}
