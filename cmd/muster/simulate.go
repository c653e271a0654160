package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/evacuees"
	"github.com/muster-evac/muster/places"
	"github.com/muster-evac/muster/simulate"
	"github.com/muster-evac/muster/threat"
)

func init() { subcommands = append(subcommands, newSimulateCmd) }

type simulateFlags struct {
	planFlags
	planFile, injects, start, out string
	seed                          uint64
	noBaselines                   bool
	queueArea                     []string
	noShow, late                  float64
	operatorDelay                 time.Duration
	households                    int
	scale                         float64
	horizon                       time.Duration
	picks                         string
	remote                        simulateRemote
}

func newSimulateCmd() *cobra.Command {
	var f simulateFlags
	cmd := &cobra.Command{
		Use:   "simulate [--graph G --places P --evacuees E [--reports R] [--plan plan.json]] [--injects I] [--seed N] -o report/",
		Short: "Exercise: simulate the operation household by household, with threat injects, against the baselines",
		Long: `Simulates the operation under muster's approved plan (--plan, or one made here from the
inputs), household by household: instructions delivered by SMS, e-mail or in person (with
delays and failures), households leaving late or never, walking to their rally point,
leaving with their group, driving with congestion, queuing at their gate. Injects (--injects,
a JSON file: docs/exercise.md) close or slow gates, block roads, set off explosions and
flood the threat picture with fake reports; each goes through the threat picture and a
re-plan that a simulated operator approves. The same scenario runs under the baselines
(everyone to the nearest gate, and CCRP) for comparison.

Without --graph, --places and --evacuees it runs on the generated demo city, with an inject
that floods the picture with fake reports and one that closes a gate mid-operation.

Writes into -o: report.json, report.html (self-contained), events.jsonl (the field events),
and the figures as SVG and PNG. The same --seed gives the same report, byte for byte.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runSimulate(cmd, &f) },
	}
	fl := cmd.Flags()
	f.register(cmd, true)
	fl.Lookup("graph").DefValue, f.graph = "", ""
	fl.StringVar(&f.planFile, "plan", "", "the approved plan to simulate (default: plan here from the inputs)")
	fl.StringVar(&f.injects, "injects", "", "injects file (JSON, docs/exercise.md)")
	fl.StringVar(&f.start, "start", "", "when the operation starts (RFC 3339; default: the plan's start, else --at, else now)")
	fl.StringVarP(&f.out, "out", "o", "", "folder to write the report into")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the simulation (and of the demo city)")
	fl.BoolVar(&f.noBaselines, "no-baselines", false, "simulate muster's plan only")
	fl.StringSliceVar(&f.queueArea, "queue-area", nil, "a gate's queuing area, GATE=M2 (default: its crowd limit at 2 people per m²); repeat or comma-separate")
	fl.Float64Var(&f.noShow, "no-show", simulate.DefaultBehaviour.NoShowShare, "share of reached households that never leave home")
	fl.Float64Var(&f.late, "late", simulate.DefaultBehaviour.LateShare, "share of households that leave late")
	fl.DurationVar(&f.operatorDelay, "operator-delay", time.Duration(simulate.DefaultBehaviour.OperatorDelayS)*time.Second, "how long the operator takes to approve a re-plan")
	fl.StringVar(&f.picks, "operator-picks", simulate.PickAuto, "which re-plan proposal the operator approves: auto (fewest unserved, then fewest changes, then soonest out), minimal, hybrid or fresh")
	fl.DurationVar(&f.horizon, "horizon", 72*time.Hour, "the longest the simulation runs")
	fl.IntVar(&f.households, "households", 2000, "demo: households in the generated city")
	fl.Float64Var(&f.scale, "scale", 0.5, "demo: size of the generated city")
	fl.StringVar(&f.remote.server, "server", "", "run the exercise on this muster server, on its current plan, households and reports (POST /api/simulations); the operations map shows it")
	fl.StringVar(&f.remote.post, "post", "", "send the simulated field's events to this muster server's live state (as muster field replay --server)")
	fl.StringVar(&f.remote.token, "token", "", "the API token for --server (a planner's) or --post (a field officer's) (default: $"+EnvServerToken+")")
	return cmd
}

func runSimulate(cmd *cobra.Command, f *simulateFlags) error {
	ctx := cmd.Context()
	if f.remote.server != "" {
		return runSimulateOnServer(cmd, f)
	}
	if f.out == "" {
		return muster.Errorf(muster.EINVALID, "say where to write the report with -o report/")
	}
	switch {
	case f.noShow < 0 || f.noShow > 1 || math.IsNaN(f.noShow):
		return muster.Errorf(muster.EINVALID, "--no-show %g: give a share between 0 and 1", f.noShow)
	case f.late < 0 || f.late > 1 || math.IsNaN(f.late):
		return muster.Errorf(muster.EINVALID, "--late %g: give a share between 0 and 1", f.late)
	case f.operatorDelay <= 0 || f.operatorDelay > 24*time.Hour:
		return muster.Errorf(muster.EINVALID, "--operator-delay %v: give 1s to 24h", f.operatorDelay)
	case f.horizon <= 0 || f.horizon > 60*24*time.Hour:
		return muster.Errorf(muster.EINVALID, "--horizon %v: give up to 60 days", f.horizon)
	case f.picks != simulate.PickAuto && f.picks != simulate.PickMinimal && f.picks != simulate.PickHybrid && f.picks != simulate.PickFresh:
		return muster.Errorf(muster.EINVALID, "--operator-picks %q: give auto, minimal, hybrid or fresh", f.picks)
	case f.zones != "":
		return muster.Errorf(muster.EINVALID, "--zones: an exercise builds its picture from --reports (and the injects' reports)")
	}
	areas := map[string]float64{}
	for _, qa := range f.queueArea {
		id, v, ok := strings.Cut(qa, "=")
		a, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || !(a > 0 && a < 1e7) {
			return muster.Errorf(muster.EINVALID, "--queue-area %q: want GATE=SQUARE_METRES, such as gate-1=400", qa)
		}
		areas[id] = a
	}
	beh := simulate.DefaultBehaviour
	beh.NoShowShare, beh.LateShare, beh.OperatorDelayS = f.noShow, f.late, f.operatorDelay.Seconds()

	progress, done := stageBar(cmd.ErrOrStderr(), f.quiet)
	var in simulate.Input
	var injects []simulate.Inject
	demo := f.graph == "" && f.places == "" && f.evacuees == ""
	if demo {
		if f.scale <= 0 || f.scale > 4 || f.households <= 0 || f.households > 200_000 {
			done()
			return muster.Errorf(muster.EINVALID, "--scale %g --households %d: give a scale up to 4 and 1 to 200,000 households", f.scale, f.households)
		}
		progress("generating the demo city", 0, 1)
		d, err := simulate.NewDemo(ctx, simulate.DemoOptions{Seed: int64(f.seed), Scale: f.scale, Households: f.households})
		if err != nil {
			done()
			return err
		}
		in, injects = d.Input, d.Injects
		fmt.Fprintf(cmd.OutOrStdout(), "demo city (seed %d): %d households, %d people, gates %s\n", f.seed, len(in.Households), peopleOf(in.Households), gateIDs(in.Places))
	} else {
		if f.graph == "" || f.places == "" || f.evacuees == "" {
			done()
			return muster.Errorf(muster.EINVALID, "give --graph, --places and --evacuees (or none of them, for the demo city)")
		}
		var err error
		if in, err = f.loadInputs(cmd); err != nil {
			done()
			return err
		}
	}
	if f.start != "" {
		t, err := time.Parse(time.RFC3339, f.start)
		if err != nil {
			done()
			return muster.Errorf(muster.EINVALID, "--start %q: want an RFC 3339 time", f.start)
		}
		in.Params.Start = t.UTC()
		if in.Plan != nil && !in.Plan.Params.Start.Equal(t.UTC()) {
			done()
			return muster.Errorf(muster.EINVALID, "--start %s differs from the plan's start %s", f.start, in.Plan.Params.Start.Format(time.RFC3339))
		}
	}
	start := in.Params.Start
	if in.Plan != nil {
		start = in.Plan.Params.Start
	}
	if f.injects != "" {
		data, err := os.ReadFile(f.injects)
		if err != nil {
			done()
			return muster.Errorf(muster.EINVALID, "injects: %v", err)
		}
		if injects, err = simulate.ParseInjects(data, in.Places, start); err != nil {
			done()
			return fmt.Errorf("%s: %w", f.injects, err)
		}
	}
	res, err := simulate.Run(ctx, in, simulate.Config{Seed: f.seed, Behaviour: beh, Injects: injects, Baselines: !f.noBaselines,
		QueueAreaM2: areas, HorizonS: f.horizon.Seconds(), OperatorPicks: f.picks,
		Progress: func(stage string, d, t float64) {
			if t > 0 {
				progress("simulating: "+stage, int(1000*d/t), 1000)
			}
		}})
	done()
	if err != nil {
		return err
	}
	if err := res.WriteDir(f.out); err != nil {
		return err
	}
	if err := writeComparison(cmd.OutOrStdout(), &res.Report, f.out); err != nil {
		return err
	}
	if f.remote.post != "" {
		return postEvents(cmd, f, res)
	}
	return nil
}

// loadInputs reads the graph, places, evacuees, reports and plan.
func (f *simulateFlags) loadInputs(cmd *cobra.Command) (simulate.Input, error) {
	var in simulate.Input
	pl, err := places.ReadFile(f.places)
	if err != nil {
		return in, err
	}
	in.Places = pl
	ef, err := os.Open(f.evacuees)
	if err != nil {
		return in, muster.Errorf(muster.EINVALID, "evacuees: %v", err)
	}
	defer ef.Close()
	er, err := evacuees.ReadContext(cmd.Context(), ef, f.evacuees, evacuees.Options{})
	if err != nil {
		return in, err
	}
	if er.Bad > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d rows rejected (run 'muster households import --dry-run FILE' to see why); %d households simulated\n", f.evacuees, er.Bad, er.Good)
	}
	in.Households = er.Households()
	if f.planFile != "" {
		p, err := readPlan(f.planFile)
		if err != nil {
			return in, err
		}
		if p.Status != "current" {
			return in, muster.Errorf(muster.EINVALID, "%s is %s: simulate the approved plan ('muster plan approve %s'), or leave --plan out to plan here", f.planFile, p.Status, f.planFile)
		}
		in.Plan = p
	}
	in.Params.Start = time.Now().UTC().Truncate(time.Minute)
	if f.at != "" && f.at != "now" {
		t, err := time.Parse(time.RFC3339, f.at)
		if err != nil {
			return in, muster.Errorf(muster.EINVALID, "--at %q: want an RFC 3339 time", f.at)
		}
		in.Params.Start = t.UTC()
	}
	if f.reports != "" {
		ix, err := places.NewIndex(pl)
		if err != nil {
			return in, err
		}
		rf, err := os.Open(f.reports)
		if err != nil {
			return in, muster.Errorf(muster.EINVALID, "reports: %v", err)
		}
		defer rf.Close()
		pr, err := threat.ParseReports(rf, nil, threat.ParseOptions{Places: ix, Now: time.Now().Add(100 * 365 * 24 * time.Hour)})
		if err != nil {
			return in, fmt.Errorf("reading %s: %w", f.reports, err)
		}
		for _, rej := range pr.Rejected {
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: report rejected: %v\n", f.reports, rej)
		}
		in.Reports = pr.Reports()
	}
	if in.Car, in.Foot, err = f.routers(cmd, nil); err != nil {
		return in, err
	}
	return in, nil
}

func peopleOf(hs []muster.Household) int {
	n := 0
	for i := range hs {
		n += max(hs[i].PartySize, 0)
	}
	return n
}

func gateIDs(pl *muster.Places) string {
	var ids []string
	for _, p := range pl.Places {
		if p.Kind == muster.PlaceGate {
			ids = append(ids, p.ID)
		}
	}
	return strings.Join(ids, ", ")
}

// writeComparison prints the comparison and where the report is.
func writeComparison(w io.Writer, r *simulate.Report, dir string) error {
	if err := writeComparisonTable(w, r); err != nil {
		return err
	}
	fmt.Fprintf(w, "report: %s\n", filepath.Join(dir, "report.html"))
	return nil
}

// writeComparisonTable prints the injects, the comparison and the re-plans.
func writeComparisonTable(w io.Writer, r *simulate.Report) error {
	for _, in := range r.Injects {
		fmt.Fprintf(w, "inject at %s: %s %s %s (picture: %d reports, %d zones, %d forbidden, %d flagged to verify)\n",
			fmtClock(in.AtS), in.Kind, in.Gate, in.Note, in.Picture.Reports, in.Picture.Zones, in.Picture.Forbidden, in.Picture.ToVerify)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tegress\t90% out\tsafe\tmost waiting\tmax density\tlevel\tgates over limit\tdangerous min\tlongest wait\texposure\t")
	for _, c := range r.Comparison {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f%%\t%d\t%.2f\t%s\t%d\t%d\t%s\t%.0f\t\n", c.Name, fmtClock(c.EgressS), fmtClock(c.T90S), 100*c.SafeShare,
			c.MaxWaiting, c.MaxDensity, c.WorstLevel, c.OverLimitGates, c.DangerMinutes, fmtClock(c.MaxWaitS), c.Exposure)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if m := r.Run(simulate.NameMuster); m != nil {
		for _, rp := range m.Replans {
			fmt.Fprintf(w, "re-plan for inject %d (%s approved): %d instructions changed, %d re-issued, %d groups revised%s\n", rp.Inject, rp.Chosen, rp.Changes, rp.Reissued, rp.GroupsRevised, errNote(rp.Error))
		}
	}
	return nil
}

func errNote(e string) string {
	if e == "" {
		return ""
	}
	return " (failed: " + e + ")"
}

func fmtClock(s float64) string {
	if s < 0 {
		return "never"
	}
	m := int(math.Round(s / 60))
	return fmt.Sprintf("%dh%02d", m/60, m%60)
}
