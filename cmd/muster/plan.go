package main

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/evacuees"
	"github.com/muster-evac/muster/places"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/plancheck"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
	"github.com/muster-evac/muster/threat"
	"github.com/muster-evac/muster/zonecost"
)

func init() { subcommands = append(subcommands, newPlanCmd) }

// planFlags are the inputs every plan command reads.
type planFlags struct {
	graph, places, evacuees, reports, zones, at, policy string
	quiet                                               bool
	sources                                             string // the source registry file
}

func (f *planFlags) register(cmd *cobra.Command, needGraph bool) {
	fl := cmd.Flags()
	if needGraph {
		fl.StringVar(&f.graph, "graph", "city.graph", "graph file made by 'muster import' or 'muster demo'")
	}
	fl.StringVar(&f.places, "places", "", "places file (GeoJSON): gates, rally points, their limits and hours")
	fl.StringVar(&f.evacuees, "evacuees", "", "evacuee list (CSV)")
	fl.StringVar(&f.reports, "reports", "", "threat reports (JSON Lines): the picture is built from them")
	fl.StringVar(&f.sources, "sources", "", "source registry file (JSON Lines, see 'muster source') the picture of --reports reads")
	fl.StringVar(&f.zones, "zones", "", "zones (GeoJSON) instead of reports, e.g. from 'muster threats'")
	fl.StringVar(&f.at, "at", "", "time of the threat picture (RFC 3339; default: now)")
	fl.StringVar(&f.policy, "policy", "", "threat policy file (default: muster's)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress bar")
}

// planInputs is everything a plan is made from or checked against.
type planInputs struct {
	places     *muster.Places
	households []muster.Household
	zones      []muster.Zone
	gateStatus map[string]string
	reasons    map[string][]string
	at         time.Time
}

func (f *planFlags) load(cmd *cobra.Command) (*planInputs, error) {
	if f.places == "" || f.evacuees == "" {
		return nil, muster.Errorf(muster.EINVALID, "give --places FILE and --evacuees FILE")
	}
	in := &planInputs{at: time.Now().UTC().Truncate(time.Second)}
	if f.at != "" && f.at != "now" {
		t, err := time.Parse(time.RFC3339, f.at)
		if err != nil {
			return nil, muster.Errorf(muster.EINVALID, "--at %q: want an RFC 3339 time such as 2021-08-26T06:00:00Z", f.at)
		}
		in.at = t.UTC()
	}
	pl, err := places.ReadFile(f.places)
	if err != nil {
		return nil, err
	}
	in.places = pl
	ef, err := os.Open(f.evacuees)
	if err != nil {
		return nil, muster.Errorf(muster.EINVALID, "evacuees: %v", err)
	}
	defer ef.Close()
	res, err := evacuees.ReadContext(cmd.Context(), ef, f.evacuees, evacuees.Options{})
	if err != nil {
		return nil, err
	}
	if res.Bad > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d rows rejected (run 'muster households import --dry-run FILE' to see why); %d households planned\n", f.evacuees, res.Bad, res.Good)
	}
	in.households = res.Households()
	switch {
	case f.reports != "" && f.zones != "":
		return nil, muster.Errorf(muster.EINVALID, "give --reports or --zones, not both")
	case f.sources != "" && f.reports == "":
		return nil, muster.Errorf(muster.EINVALID, "--sources grades the sources of --reports: give --reports too")
	case f.zones != "":
		if in.zones, err = readZonesFile(f.zones); err != nil {
			return nil, err
		}
	case f.reports != "":
		policy := threat.DefaultPolicy()
		if f.policy != "" {
			if policy, err = threat.LoadPolicy(f.policy); err != nil {
				return nil, err
			}
		}
		ix, err := places.NewIndex(pl)
		if err != nil {
			return nil, err
		}
		rf, err := os.Open(f.reports)
		if err != nil {
			return nil, muster.Errorf(muster.EINVALID, "reports: %v", err)
		}
		defer rf.Close()
		now := time.Now()
		if in.at.After(now) {
			now = in.at
		}
		pr, err := threat.ParseReports(rf, nil, threat.ParseOptions{Places: ix, Now: now})
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", f.reports, err)
		}
		for _, rej := range pr.Rejected {
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: report rejected: %v\n", f.reports, rej)
		}
		opts, err := loadSourceRegistry(f.sources)
		if err != nil {
			return nil, err
		}
		pic, err := threat.Build(pr.Reports(), pl, in.at, policy, opts...)
		if err != nil {
			return nil, err
		}
		in.zones = pic.RoutingZones()
		in.gateStatus, in.reasons = map[string]string{}, map[string][]string{}
		for _, g := range pic.Gates {
			in.gateStatus[g.PlaceID] = g.Status
			in.reasons[g.PlaceID] = g.Reasons
		}
	}
	return in, nil
}

// routers loads the graph's car and foot networks under the zones.
func (f *planFlags) routers(cmd *cobra.Command, zones []muster.Zone) (car, foot *route.Router, err error) {
	city, err := roadgraph.LoadCity(f.graph)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range []roadgraph.Profile{roadgraph.Car, roadgraph.Foot} {
		g, err := city.Graph(p)
		if err != nil {
			return nil, nil, muster.Errorf(muster.EINVALID, "%s: %v", f.graph, err)
		}
		r, err := route.New(cmd.Context(), g, route.Options{})
		if err != nil {
			return nil, nil, err
		}
		if len(zones) > 0 {
			st, err := r.SetZones(cmd.Context(), zones)
			if err != nil {
				return nil, nil, err
			}
			if p == roadgraph.Car {
				warnUntouched(cmd.ErrOrStderr(), "the threat picture", st.Untouched)
			}
		}
		if p == roadgraph.Car {
			car = r
		} else {
			foot = r
		}
	}
	return car, foot, nil
}

// stageBar shows the planner's stages on one progress bar.
func stageBar(w io.Writer, quiet bool) (func(string, int, int), func()) {
	if quiet {
		return func(string, int, int) {}, func() {}
	}
	bar := progressbar.NewOptions(100, progressbar.OptionSetWriter(w), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
	stage := ""
	return func(s string, done, total int) {
			if s != stage {
				stage = s
				bar.Describe(s)
			}
			if total > 0 {
				_ = bar.Set(done * 100 / total)
			}
		}, func() {
			_ = bar.Finish()
		}
}

func newPlanCmd() *cobra.Command {
	var f planFlags
	var out, geo, start string
	var params plan.Params
	var maxWalkMin, mobilityWalkMin float64
	var vehicles, seats int
	var horizon time.Duration
	cmd := &cobra.Command{
		Use:   "plan --graph city.graph --places places.geojson --evacuees evacuees.csv [--reports reports.jsonl] -o plan.json",
		Short: "Plan the evacuation: rally points, groups, routes, gates and times",
		Long: `Decides, for every household, its rally point and walking route, its group (never a split
household, never above --max-group), the group's departure, route and gate, and its arrival
window, so that no gate takes more than its throughput or holds more than its crowd limit
waiting, nothing goes through a closed gate or outside opening hours, and everyone is out as
early as the gates allow. Households that cannot be served are listed with the reason.
plan.json is documented in plan/PLAN_FORMAT.md; 'muster plan check' verifies it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return muster.Errorf(muster.EINVALID, "say where to write the plan with -o plan.json")
			}
			in, err := f.load(cmd)
			if err != nil {
				return err
			}
			params.Start = in.at
			if start != "" {
				t, err := time.Parse(time.RFC3339, start)
				if err != nil {
					return muster.Errorf(muster.EINVALID, "--start %q: want an RFC 3339 time", start)
				}
				params.Start = t.UTC()
			}
			params.MaxWalkS = maxWalkMin * 60
			params.MobilityMaxWalkS = mobilityWalkMin * 60
			if horizon <= 0 || horizon > 60*24*time.Hour {
				return muster.Errorf(muster.EINVALID, "--horizon %v: give a duration of up to 60 days, such as 72h", horizon)
			}
			params.HorizonS = horizon.Seconds()
			if maxWalkMin <= 0 || mobilityWalkMin <= 0 {
				return muster.Errorf(muster.EINVALID, "--max-walk %g --max-walk-mobility %g: give positive minutes", maxWalkMin, mobilityWalkMin)
			}
			if vehicles != 0 || seats != 0 {
				if vehicles <= 0 || seats <= 0 || vehicles > 100000 || seats > 200 {
					return muster.Errorf(muster.EINVALID, "--vehicles %d --seats %d: give both, a fleet of 1 to 100,000 vehicles of 1 to 200 seats", vehicles, seats)
				}
				params.Vehicles = &plan.Vehicles{Seats: seats, Count: vehicles}
			}
			car, foot, err := f.routers(cmd, in.zones)
			if err != nil {
				return err
			}
			progress, done := stageBar(cmd.ErrOrStderr(), f.quiet)
			p, err := plan.Make(cmd.Context(), plan.Input{Car: car, Foot: foot, Places: in.places, Households: in.households,
				GateStatus: in.gateStatus, GateReasons: in.reasons, Params: params, Progress: progress})
			done()
			if err != nil {
				return err
			}
			if err := writePlan(out, p, geo); err != nil {
				return err
			}
			printSummary(cmd.OutOrStdout(), p)
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (status %s)\n", out, p.Status)
			return nil
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVarP(&out, "output", "o", "", "plan file to write")
	cmd.Flags().StringVar(&geo, "geojson", "", "also write the plan as GeoJSON for maps")
	cmd.Flags().StringVar(&start, "start", "", "when the operation starts (RFC 3339; default: --at)")
	cmd.Flags().IntVar(&params.MaxGroupSize, "max-group", 12, "most people in one group")
	cmd.Flags().Float64Var(&maxWalkMin, "max-walk", 45, "longest walk to a rally point, in minutes")
	cmd.Flags().Float64Var(&mobilityWalkMin, "max-walk-mobility", 30, "longest walk for a household with mobility needs, in minutes (never more than --max-walk)")
	cmd.Flags().DurationVar(&horizon, "horizon", 72*time.Hour, "how far from --start to schedule: a group no gate can take by then is unserved, with the reason")
	cmd.Flags().IntVar(&vehicles, "vehicles", 0, "vehicles that carry the groups (with --seats); none: every group has its own transport")
	cmd.Flags().IntVar(&seats, "seats", 0, "seats per vehicle")
	cmd.AddCommand(newPlanCheckCmd(), newPlanReplanCmd(), newPlanApproveCmd())
	return cmd
}

// checkFlags are what 'muster plan check' holds a plan to beyond its
// inputs: the graph to recompute on and the limits, never read from the
// plan itself.
type checkFlags struct {
	graph, checkedIn   string
	previous           string
	noGraph, all       bool
	maxGroup           int
	maxWalkMin, factor float64
	vehicles, seats    int
	mobilityWalkMin    float64
	horizon            time.Duration
	state              string
}

func newPlanCheckCmd() *cobra.Command {
	var f planFlags
	var c checkFlags
	var planPath string
	cmd := &cobra.Command{
		Use:   "check --plan plan.json --graph city.graph --places places.geojson --evacuees evacuees.csv [--reports reports.jsonl]",
		Short: "Verify every hard rule of a plan against its inputs, naming each violation",
		Long: `Trusts nothing the plan says about itself. Every household of the evacuee list must be in
exactly one group, with one instruction, or unserved with a reason; each walk and route must
start and end where the home, rally point and gate meet the road, and take no less time than
the shortest way the graph allows (recomputed from --graph); groups keep to --max-group and
walks to --max-walk (the planner's defaults; the plan's own params are ignored); every gate's
queue and every rally point's crowd is re-simulated from the plan's times; nothing passes a
closed gate or outside hours; groups on the move when their gate closed must be re-routed;
no walk or route still to be made touches a forbidden zone of the threat picture (the one the
plan carries, or --reports/--zones at --at); a plan that moves nobody, or has no gate open,
fails. A re-plan is checked as of its as_of (or --at): what was done before is not held to the
new picture, and a gate restricted since then passed people at its full rate before.
plan/PLAN_FORMAT.md lists the rules. Shares no code with the planner.

For a re-plan, --previous (the plan it revises) holds the groups on the move to what they
were told: the same gate, times and route, unless re-routed for a reason.

Prints the violations grouped by rule, with counts and the first examples, and the rules it
could not check. Exits 1 when it finds a violation, 2 on bad input, or when rules could not be
checked for want of a graph: without --graph, the durations are not recomputed (say --no-graph
to accept that).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPlanCheck(cmd, &f, &c, planPath)
		},
	}
	f.register(cmd, false)
	fl := cmd.Flags()
	fl.StringVar(&planPath, "plan", "plan.json", "plan to check")
	fl.StringVar(&c.graph, "graph", "", "graph file the plan was made on: walks' and routes' durations and ends are recomputed on it")
	fl.BoolVar(&c.noGraph, "no-graph", false, "check without a graph: durations are not recomputed")
	fl.IntVar(&c.maxGroup, "max-group", plancheck.DefaultMaxGroupSize, "most people in one group")
	fl.Float64Var(&c.maxWalkMin, "max-walk", plancheck.DefaultMaxWalkS/60, "longest walk to a rally point, in minutes")
	fl.Float64Var(&c.factor, "restricted-factor", plancheck.DefaultRestrictedFactor, "share of its throughput a restricted gate keeps")
	fl.IntVar(&c.vehicles, "vehicles", 0, "the fleet that carries the groups (with --seats); needed for a plan made for a fleet")
	fl.IntVar(&c.seats, "seats", 0, "seats per vehicle")
	fl.StringVar(&c.checkedIn, "checked-in", "", "file of household ids already at their rally point at the re-plan's time")
	fl.StringVar(&c.previous, "previous", "", "for a re-plan, the plan it revises: groups on the move are held to it")
	fl.StringVar(&c.state, "state", "", "for a re-plan made mid-operation, the state of the field it was made from (JSON, plan/PLAN_FORMAT.md): nobody through planned again, nobody on the move sent back, no-shows not dropped")
	fl.Float64Var(&c.mobilityWalkMin, "max-walk-mobility", plancheck.DefaultMaxWalkMobilityS/60, "longest walk for a household with mobility needs, in minutes")
	fl.DurationVar(&c.horizon, "horizon", plancheck.DefaultHorizonS*time.Second, "the last group through no later than this after the start (a re-plan: after its time)")
	fl.BoolVar(&c.all, "all", false, "print every violation, not the first few of each rule")
	return cmd
}

func runPlanCheck(cmd *cobra.Command, f *planFlags, c *checkFlags, planPath string) error {
	p, err := readPlan(planPath)
	if err != nil {
		return err
	}
	lim := plancheck.Limits{MaxGroupSize: c.maxGroup, MaxWalkS: c.maxWalkMin * 60, RestrictedFactor: c.factor,
		MaxWalkMobilityS: c.mobilityWalkMin * 60, HorizonS: c.horizon.Seconds()}
	switch {
	case c.maxGroup <= 0 || c.maxWalkMin <= 0 || c.factor <= 0 || c.factor > 1:
		return muster.Errorf(muster.EINVALID, "--max-group %d --max-walk %g --restricted-factor %g: give a positive group size and walk, and a share of 0 to 1", c.maxGroup, c.maxWalkMin, c.factor)
	case c.mobilityWalkMin <= 0 || c.horizon <= 0:
		return muster.Errorf(muster.EINVALID, "--max-walk-mobility %g --horizon %s: give a positive walk and horizon", c.mobilityWalkMin, c.horizon)
	case c.graph != "" && c.noGraph:
		return muster.Errorf(muster.EINVALID, "give --graph FILE or --no-graph, not both")
	case c.vehicles != 0 || c.seats != 0:
		if c.vehicles <= 0 || c.seats <= 0 {
			return muster.Errorf(muster.EINVALID, "--vehicles %d --seats %d: give both", c.vehicles, c.seats)
		}
		lim.Fleet = &plan.Vehicles{Seats: c.seats, Count: c.vehicles}
	case p.Params.Vehicles != nil:
		return muster.Errorf(muster.EINVALID, "%s was made for a fleet of %d vehicles of %d seats: give the real fleet with --vehicles N --seats S to check it",
			planPath, p.Params.Vehicles.Count, p.Params.Vehicles.Seats)
	}
	at := p.AsOf // the picture's time: a re-plan's as_of, or none
	if f.at == "" {
		t := p.Params.Start
		if !p.AsOf.IsZero() {
			t = p.AsOf
		}
		f.at = t.Format(time.RFC3339)
	} else if t, err := time.Parse(time.RFC3339, f.at); err == nil {
		at = t.UTC()
	}
	in, err := f.load(cmd)
	if err != nil {
		return err
	}
	if f.zones == "" && f.reports == "" && len(p.Zones) > 0 {
		// The picture the plan was made against travels with it.
		if in.zones, err = zonesFromJSON(p.Zones); err != nil {
			return err
		}
	}
	inputs := plancheck.Inputs{Places: in.places, Households: in.households, Zones: in.zones, GateStatus: in.gateStatus, At: at, Limits: lim}
	if c.checkedIn != "" {
		data, err := os.ReadFile(c.checkedIn)
		if err != nil {
			return muster.Errorf(muster.EINVALID, "--checked-in: %v", err)
		}
		inputs.CheckedIn = map[string]bool{}
		for _, id := range strings.Fields(string(data)) {
			inputs.CheckedIn[id] = true
		}
	}
	if c.previous != "" {
		if inputs.Previous, err = readPlan(c.previous); err != nil {
			return err
		}
	}
	if c.state != "" {
		if c.previous == "" {
			return muster.Errorf(muster.EINVALID, "--state holds a re-plan to the plan it revises: give --previous too")
		}
		st, err := readState(c.state)
		if err != nil {
			return err
		}
		inputs.State = &st
	}
	if c.graph != "" {
		city, err := roadgraph.LoadCity(c.graph)
		if err != nil {
			return err
		}
		if inputs.Car, err = city.Graph(roadgraph.Car); err != nil {
			return muster.Errorf(muster.EINVALID, "%s: %v", c.graph, err)
		}
		if inputs.Foot, err = city.Graph(roadgraph.Foot); err != nil {
			return muster.Errorf(muster.EINVALID, "%s: %v", c.graph, err)
		}
	}
	t0 := time.Now()
	r, err := plancheck.CheckContext(cmd.Context(), p, inputs)
	if err != nil {
		return fmt.Errorf("checking %s: %w", planPath, err)
	}
	took := time.Since(t0)
	w := cmd.OutOrStdout()
	examples := 3
	if c.all {
		examples = -1
	}
	printViolations(w, planPath, r.Violations, examples)
	if len(r.Unchecked) > 0 {
		fmt.Fprintf(w, "not checked:\n")
		for _, u := range r.Unchecked {
			fmt.Fprintf(w, "  %s: %s\n", u.Rule, u.Reason)
		}
	}
	if len(r.Violations) > 0 {
		return fmt.Errorf("%s: %d violations of %d rules", planPath, len(r.Violations), len(byRule(r.Violations)))
	}
	needGraph := 0
	for _, u := range r.Unchecked {
		if i := slices.IndexFunc(plancheck.Rules, func(x plancheck.Rule) bool { return x.Code == u.Rule }); i >= 0 && strings.HasSuffix(plancheck.Rules[i].Needs, "graph") {
			needGraph++
		}
	}
	if needGraph > 0 && !c.noGraph {
		return muster.Errorf(muster.EINVALID, "%s: %d rules not checked: give --graph FILE (the graph the plan was made on), or --no-graph to accept a check without it", planPath, needGraph)
	}
	fmt.Fprintf(w, "%s: no violation (%d groups, %d households, %d gates checked against %d rules in %s)\n", planPath, len(p.Groups), len(p.Households),
		len(p.Gates), len(plancheck.Rules)-len(r.Unchecked), took.Round(time.Millisecond))
	return nil
}

// byRule groups violations by rule, in the checker's order.
func byRule(vs []plancheck.Violation) [][]plancheck.Violation {
	var out [][]plancheck.Violation
	for i, v := range vs {
		if i == 0 || v.Rule != vs[i-1].Rule {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], v)
	}
	return out
}

// printViolations prints violations grouped by rule, with their counts
// and the first examples of each (all, when examples < 0).
func printViolations(w io.Writer, name string, vs []plancheck.Violation, examples int) {
	if len(vs) == 0 {
		return
	}
	groups := byRule(vs)
	fmt.Fprintf(w, "%s: %d violations of %d rules\n", name, len(vs), len(groups))
	for _, g := range groups {
		fmt.Fprintf(w, "%s (%d)\n", g[0].Rule, len(g))
		for i, v := range g {
			if examples >= 0 && i == examples {
				fmt.Fprintf(w, "  ... and %d more\n", len(g)-examples)
				break
			}
			fmt.Fprintf(w, "  %s: %s\n", v.Subject, v.Message)
		}
	}
}

func newPlanReplanCmd() *cobra.Command {
	var f planFlags
	var planPath, out, geo, checkedIn, statePath string
	var proposals bool
	cmd := &cobra.Command{
		Use:   "replan --plan plan.json --graph city.graph --places ... --evacuees ... --reports new-reports.jsonl --at T [--state STATE.json] [--proposals] -o proposed.json",
		Short: "Revise a plan for a new threat picture, changing as little as possible",
		Long: `Groups whose rally point, route and gate are still safe keep them and their times; groups
whose route now crosses a forbidden zone or whose gate closed are re-routed or re-scheduled
(a group on the move from where it is); households whose rally point became unsafe go to
another. The result is a proposed plan with a diff of whose instructions change and why:
it becomes current only when an operator approves it ('muster plan approve').

--state STATE.json starts from the state of the field (plan/PLAN_FORMAT.md, "state file"): groups
and households through, groups on the move and where last seen, who waits at which rally
point, overdue and no-show households (moved to a later group, with the reason), measured gate
rates (they replace the planned throughput when lower). Its "at" is the re-plan's time unless
--at is given.

--proposals makes three proposals side by side: minimal change (as above), hybrid (groups
leaving in the next 30 minutes keep their turns, the others keep rally point and groupmates
and are re-timed) and fresh (everyone not through or on the move planned again from where they
are); prints their numbers in a table (makespan, its ratio to the re-plan's lower bound,
instructions changed, exposure, priority households delayed) and writes each beside -o as
NAME.minimal.json, NAME.hybrid.json, NAME.fresh.json. Approve the one chosen.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return muster.Errorf(muster.EINVALID, "say where to write the proposed plan with -o FILE")
			}
			prev, err := readPlan(planPath)
			if err != nil {
				return err
			}
			in, err := f.load(cmd)
			if err != nil {
				return err
			}
			st := plan.State{At: in.at}
			if statePath != "" {
				if st, err = readState(statePath); err != nil {
					return err
				}
				if cmd.Flags().Changed("at") {
					st.At = in.at
				}
			}
			if st.CheckedIn == nil {
				st.CheckedIn = map[string]bool{}
			}
			if checkedIn != "" {
				data, err := os.ReadFile(checkedIn)
				if err != nil {
					return muster.Errorf(muster.EINVALID, "--checked-in: %v", err)
				}
				for _, id := range strings.Fields(string(data)) {
					st.CheckedIn[id] = true
				}
			}
			car, foot, err := f.routers(cmd, in.zones)
			if err != nil {
				return err
			}
			pin := plan.Input{Car: car, Foot: foot, Places: in.places, Households: in.households, GateStatus: in.gateStatus, GateReasons: in.reasons}
			if proposals {
				return writeProposals(cmd, prev, pin, st, out, geo)
			}
			progress, done := stageBar(cmd.ErrOrStderr(), f.quiet)
			pin.Progress = progress
			p, err := plan.Replan(cmd.Context(), prev, pin, st)
			done()
			if err != nil {
				return err
			}
			if err := writePlan(out, p, geo); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			printSummary(w, p)
			fmt.Fprintf(w, "%d households' instructions change, %d keep theirs:\n", len(p.Diff.Changes), p.Diff.Kept)
			for i, c := range p.Diff.Changes {
				if i == 20 {
					fmt.Fprintf(w, "  ... and %d more (see diff in %s)\n", len(p.Diff.Changes)-20, out)
					break
				}
				fmt.Fprintf(w, "  %s: %s (%s)\n", c.Household, strings.Join(c.Fields, ", "), c.Reason)
			}
			fmt.Fprintf(w, "wrote %s (status proposed): approve it with 'muster plan approve %s'\n", out, out)
			return nil
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&planPath, "plan", "plan.json", "the current plan")
	cmd.Flags().StringVarP(&out, "output", "o", "", "proposed plan to write")
	cmd.Flags().StringVar(&geo, "geojson", "", "also write the proposed plan as GeoJSON")
	cmd.Flags().StringVar(&checkedIn, "checked-in", "", "file of household ids already at their rally point")
	cmd.Flags().StringVar(&statePath, "state", "", "the state of the field to re-plan from (JSON; plan/PLAN_FORMAT.md)")
	cmd.Flags().BoolVar(&proposals, "proposals", false, "make the minimal, hybrid and fresh proposals side by side, and write each beside -o")
	return cmd
}

// readState reads a state file.
func readState(path string) (plan.State, error) {
	f, err := os.Open(path)
	if err != nil {
		return plan.State{}, muster.Errorf(muster.EINVALID, "--state: %v", err)
	}
	defer f.Close()
	st, err := plan.ReadState(bufio.NewReader(f))
	if err != nil {
		return plan.State{}, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// proposalPath is where proposal id is written beside out:
// proposed.json -> proposed.fresh.json.
func proposalPath(out, id string) string {
	ext := filepath.Ext(out)
	return strings.TrimSuffix(out, ext) + "." + id + cmp.Or(ext, ".json")
}

// writeProposals makes the re-plan proposals, prints them side by side
// and writes each.
func writeProposals(cmd *cobra.Command, prev *plan.Plan, in plan.Input, st plan.State, out, geo string) error {
	ps, err := plan.Proposals(cmd.Context(), prev, in, st)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	printProposals(w, ps)
	for _, pr := range ps {
		path := proposalPath(out, pr.ID)
		g := ""
		if geo != "" {
			g = proposalPath(geo, pr.ID)
		}
		if err := writePlan(path, pr.Plan, g); err != nil {
			return err
		}
		fmt.Fprintf(w, "wrote %s (%s)\n", path, pr.Title)
	}
	fmt.Fprintf(w, "all proposed: approve the one chosen with 'muster plan approve FILE'\n")
	return nil
}

// printProposals prints the proposals' numbers side by side.
func printProposals(w io.Writer, ps []plan.Proposal) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	row := func(name string, f func(n plan.Numbers) string) {
		fmt.Fprintf(tw, "%s\t", name)
		for _, pr := range ps {
			fmt.Fprintf(tw, "%s\t", f(pr.Numbers))
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintf(tw, "\t")
	for _, pr := range ps {
		fmt.Fprintf(tw, "%s\t", pr.ID)
	}
	fmt.Fprintln(tw)
	hours := func(s float64) string { return fmt.Sprintf("%.2f h", s/3600) }
	row("makespan from now", func(n plan.Numbers) string { return hours(n.MakespanS) })
	row("lower bound", func(n plan.Numbers) string { return hours(n.LowerBoundS) })
	row("ratio", func(n plan.Numbers) string { return fmt.Sprintf("%.3f", n.Ratio) })
	row("instructions changed", func(n plan.Numbers) string { return fmt.Sprint(n.Changed) })
	for _, f := range []string{"rally_point", "group", "gate", "time", "route", "walk"} {
		row("  "+f, func(n plan.Numbers) string { return fmt.Sprint(n.ByField[f]) })
	}
	row("exposure (person-risk-s)", func(n plan.Numbers) string { return fmt.Sprintf("%.0f", n.Exposure) })
	row("unserved", func(n plan.Numbers) string { return fmt.Sprint(n.Unserved) })
	row("priority households", func(n plan.Numbers) string { return fmt.Sprint(n.Priority) })
	row("  delayed > 15 min", func(n plan.Numbers) string { return fmt.Sprint(n.PriorityDelayed) })
	row("  delayed > 6 h", func(n plan.Numbers) string { return fmt.Sprint(n.PriorityOver6h) })
	row("  longest delay", func(n plan.Numbers) string { return hours(n.PriorityMaxS) })
	row("  behind lighter groups", func(n plan.Numbers) string { return fmt.Sprint(n.PriorityBehind) })
	row("made in", func(n plan.Numbers) string { return fmt.Sprintf("%.1f s", n.PlanS) })
	tw.Flush()
}

func newPlanApproveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "approve proposed.json",
		Short: "Make a proposed plan current",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := readPlan(args[0])
			if err != nil {
				return err
			}
			if err := plan.Approve(p); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if err := writePlan(args[0], p, ""); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is now the current plan\n", args[0])
			return nil
		},
	}
}

func readPlan(path string) (*plan.Plan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, muster.Errorf(muster.EINVALID, "plan: %v", err)
	}
	defer f.Close()
	p, err := plan.Read(bufio.NewReaderSize(f, 1<<20)) // not read whole first: plans run to tens of MB
	if err != nil {
		return nil, muster.Errorf(muster.EINVALID, "%s: %v", path, err)
	}
	return p, nil
}

func writePlan(path string, p *plan.Plan, geo string) error {
	// plan.json version 2: routes shared, walks as encoded polylines,
	// not indented (jq or any JSON viewer shows it indented).
	if err := writeFile(path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		if err := plan.Write(bw, p); err != nil {
			return err
		}
		return bw.Flush()
	}); err != nil {
		return err
	}
	if geo == "" {
		return nil
	}
	return writeFile(geo, func(w io.Writer) error { return json.NewEncoder(w).Encode(planGeoJSON(p)) })
}

// planGeoJSON draws a plan: gates and rally points as points, group
// routes and walks as lines.
func planGeoJSON(p *plan.Plan) *geojson.FeatureCollection {
	fc := geojson.NewFeatureCollection()
	for _, g := range p.Gates {
		f := geojson.NewFeature(orbPoint(g.Lon, g.Lat))
		f.Properties = geojson.Properties{"kind": "gate", "id": g.ID, "name": g.Name, "status": g.Status, "people": g.People, "max_waiting": g.MaxWaiting, "crowd_limit": g.CrowdLimit}
		fc.Append(f)
	}
	for _, r := range p.RallyPoints {
		f := geojson.NewFeature(orbPoint(r.Lon, r.Lat))
		f.Properties = geojson.Properties{"kind": "rally", "id": r.ID, "name": r.Name, "people": r.People, "groups": r.Groups, "capacity": r.Capacity}
		fc.Append(f)
	}
	for _, g := range p.Groups {
		f := &geojson.Feature{Type: "Feature", Geometry: g.Route.Geometry.Geometry(), Properties: geojson.Properties{
			"kind": "group", "id": g.ID, "rally_point": g.RallyPoint, "gate": g.Gate, "people": g.People,
			"departure": g.Departure.Format(time.RFC3339), "arrival": g.Arrival.Format(time.RFC3339), "exposure": g.Route.Exposure}}
		fc.Append(f)
	}
	return fc
}

func printSummary(w io.Writer, p *plan.Plan) {
	s := p.Summary
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "households\t%d\n", s.Households)
	fmt.Fprintf(tw, "people\t%d (%d assigned, %d households unserved)\n", s.People, s.AssignedPeople, len(p.Unassigned))
	fmt.Fprintf(tw, "groups\t%d (largest %d)\n", s.Groups, s.MaxGroupSize)
	fmt.Fprintf(tw, "makespan\t%s\n", fmtDuration(s.MakespanS))
	fmt.Fprintf(tw, "lower bound\t%s (makespan is %.2f times it)\n", fmtDuration(s.LowerBoundS), s.Ratio)
	fmt.Fprintf(tw, "exposure\t%.0f person-risk-seconds\n", s.TotalExposure)
	tw.Flush()
	gates := append([]plan.Gate(nil), p.Gates...)
	sort.Slice(gates, func(i, j int) bool { return gates[i].ID < gates[j].ID })
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "gate\tstatus\tpeople\tgroups\tmost waiting\tcrowd limit\tlast through")
	for _, g := range gates {
		last := ""
		if !g.LastThrough.IsZero() {
			last = g.LastThrough.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\n", g.ID, g.Status, g.People, g.Groups, g.MaxWaiting, g.CrowdLimit, last)
	}
	tw.Flush()
	if len(p.Unassigned) > 0 {
		reasons, example := map[string]int{}, map[string]string{}
		for _, u := range p.Unassigned {
			reasons[u.Code]++
			if example[u.Code] == "" {
				example[u.Code] = u.Household + ": " + u.Reason
			}
		}
		keys := make([]string, 0, len(reasons))
		for k := range reasons {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return reasons[keys[i]] > reasons[keys[j]] })
		fmt.Fprintln(w, "unserved households:")
		for i, k := range keys {
			if i == 5 {
				fmt.Fprintf(w, "  ... and %d other reasons\n", len(keys)-5)
				break
			}
			fmt.Fprintf(w, "  %d %s, e.g. %s\n", reasons[k], k, example[k])
		}
	}
}

func zonesFromJSON(raw json.RawMessage) ([]muster.Zone, error) {
	return zonecost.ReadGeoJSON(bytes.NewReader(raw), "the plan's zones")
}

func orbPoint(lon, lat float64) orb.Point { return orb.Point{lon, lat} }
