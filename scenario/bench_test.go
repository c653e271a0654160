package scenario_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/muster-evac/muster/internal/testshared"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/baseline"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/plancheck"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
	"github.com/muster-evac/muster/scenario"
	"github.com/muster-evac/muster/zonecost"
)

// PortoAirport is the centre of Porto's airport (Francisco Sá Carneiro).
var PortoAirport = orb.Point{-8.681, 41.248}

// portoStart is when the Porto operation starts: fixed, so that runs
// compare.
var portoStart = time.Date(2026, 3, 14, 6, 0, 0, 0, time.UTC)

type porto struct {
	car, foot *route.Router
	s         *scenario.Scenario
	setup     time.Duration
}

var (
	portoOnce sync.Once
	portoCity *porto
	portoErr  error
	// portoZones serialises the tests and benchmarks that set zones on
	// the shared routers.
	portoZones sync.Mutex
)

// loadPorto imports Porto, prepares both routers and generates the default
// scenario, once per test binary.
func loadPorto(t testing.TB) *porto {
	t.Helper()
	path := testshared.Path(t, "data/porto.osm.pbf")
	portoOnce.Do(func() {
		t0 := time.Now()
		ctx := context.Background()
		city, _, err := osmimport.ImportFile(ctx, path, osmimport.Options{})
		if err != nil {
			portoErr = err
			return
		}
		p := &porto{}
		if p.car, err = route.New(ctx, city.Graphs[roadgraph.Car], route.Options{}); err != nil {
			portoErr = err
			return
		}
		if p.foot, err = route.New(ctx, city.Graphs[roadgraph.Foot], route.Options{}); err != nil {
			portoErr = err
			return
		}
		p.s, portoErr = scenario.Generate(ctx, city.Graphs[roadgraph.Car], city.Graphs[roadgraph.Foot],
			scenario.Options{Seed: 1, AirportCenter: PortoAirport, Timezone: "Europe/Lisbon"})
		p.setup = time.Since(t0)
		portoCity = p
	})
	if portoErr != nil {
		t.Fatal(portoErr)
	}
	return portoCity
}

func (p *porto) planInput(gateStatus map[string]string) plan.Input {
	return plan.Input{Car: p.car, Foot: p.foot, Places: &p.s.Places, Households: p.s.Households, GateStatus: gateStatus,
		Params: plan.Params{Start: portoStart}}
}

// setZones gives both routers the threat picture.
func (p *porto) setZones(t testing.TB, zones []muster.Zone) {
	t.Helper()
	ctx := context.Background()
	if _, err := p.car.SetZones(ctx, zones); err != nil {
		t.Fatal(err)
	}
	if _, err := p.foot.SetZones(ctx, zones); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkPlanPorto: a full plan for Porto's default scenario (100,000
// people in 30,000 households, 300 rally points, 4 gates, no threat).
func BenchmarkPlanPorto(b *testing.B) {
	p := loadPorto(b)
	portoZones.Lock()
	defer portoZones.Unlock()
	p.setZones(b, nil)
	ctx := context.Background()
	var last *plan.Plan
	var peak uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var err error
		pk := testshared.PeakHeap(func() { last, err = plan.Make(ctx, p.planInput(nil)) })
		if err != nil {
			b.Fatal(err)
		}
		peak = max(peak, pk)
	}
	b.StopTimer()
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(last.Summary.Ratio, "makespan/lower-bound")
	b.ReportMetric(float64(last.Summary.Groups), "groups")
}

// replanAt is when the threat inject arrives in the Porto runs: two hours
// into the operation, with groups on the move and through.
var replanAt = portoStart.Add(2 * time.Hour)

// BenchmarkReplanPorto: the threat inject arrives two hours into the plan
// for Porto's default scenario; applying it to both routers and re-planning
// is timed (set-zones-s/op is the routers' share), the first plan is not.
func BenchmarkReplanPorto(b *testing.B) {
	p := loadPorto(b)
	portoZones.Lock()
	defer portoZones.Unlock()
	defer p.setZones(b, nil)
	ctx := context.Background()
	p.setZones(b, nil)
	p0, err := plan.Make(ctx, p.planInput(nil))
	if err != nil {
		b.Fatal(err)
	}
	th := p.s.Threat
	var setZones time.Duration
	var last *plan.Plan
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		p.setZones(b, nil)
		b.StartTimer()
		t0 := time.Now()
		p.setZones(b, th.Zones)
		setZones += time.Since(t0)
		if last, err = plan.Replan(ctx, p0, p.planInput(th.GateStatus), plan.State{At: replanAt}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(setZones.Seconds()/float64(b.N), "set-zones-s/op")
	b.ReportMetric(float64(len(last.Diff.Changes)), "changed-households")
	// Correctness is TestComparePorto's to assert; the figure shows here.
	vs := plancheck.Check(last, plancheck.Inputs{Places: &p.s.Places, Households: p.s.Households, Zones: th.Zones,
		GateStatus: th.GateStatus, At: replanAt, Previous: p0, Car: p.car.Graph(), Foot: p.foot.Graph()})
	b.ReportMetric(float64(len(vs)), "plancheck-violations")
	if len(vs) > 0 {
		b.Logf("the re-plan has %d violations, first: %s", len(vs), vs[0])
	}
}

// BenchmarkBaselinesPorto: the two baselines on the same scenario, no
// threat, for comparison with BenchmarkPlanPorto.
func BenchmarkBaselinesPorto(b *testing.B) {
	p := loadPorto(b)
	portoZones.Lock()
	defer portoZones.Unlock()
	p.setZones(b, nil)
	ctx := context.Background()
	in := baseline.Input{Car: p.car, Places: &p.s.Places, Households: p.s.Households}
	for _, bl := range []struct {
		name string
		run  func() (baseline.Outcome, error)
	}{
		{"NearestGate", func() (baseline.Outcome, error) { return baseline.NearestGate(ctx, in) }},
		{"CCRP", func() (baseline.Outcome, error) { return baseline.CCRP(ctx, in, baseline.CCRPOptions{}) }},
	} {
		b.Run(bl.name, func(b *testing.B) {
			var o baseline.Outcome
			var peak uint64
			for i := 0; i < b.N; i++ {
				var err error
				pk := testshared.PeakHeap(func() { o, err = bl.run() })
				if err != nil {
					b.Fatal(err)
				}
				peak = max(peak, pk)
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			b.ReportMetric(o.Ratio(), "makespan/lower-bound")
		})
	}
}

func withAllDayRallies(o scenario.Options) scenario.Options {
	o.RallyHoursShare = -1
	return o
}

func gateLimits(s *scenario.Scenario) map[string]int {
	m := map[string]int{}
	for _, g := range s.Gates() {
		m[g.ID] = g.CrowdLimit
	}
	return m
}

func logViolations(t *testing.T, what string, vs []plancheck.Violation) {
	t.Helper()
	for i, v := range vs {
		if i == 10 {
			t.Errorf("%s: ... and %d more", what, len(vs)-10)
			break
		}
		t.Errorf("%s: violation: %s", what, v)
	}
}

// TestComparePorto runs the planner, nearest gate and CCRP on Porto's
// default scenario, first with no threat, then with the threat inject.
func TestComparePorto(t *testing.T) {
	testshared.Long(t)
	p := loadPorto(t)
	portoZones.Lock()
	defer portoZones.Unlock()
	ctx := context.Background()
	s := p.s
	limits := gateLimits(s)
	t.Logf("Porto: %d households, %d people, %d rally points, %d gates (import, routers, scenario: %v)",
		len(s.Households), s.People(), len(s.RallyPoints()), len(s.Gates()), p.setup.Round(time.Millisecond))

	// No threat.
	p.setZones(t, nil)
	t0 := time.Now()
	pl, err := plan.Make(ctx, p.planInput(nil))
	if err != nil {
		t.Fatal(err)
	}
	planTime := time.Since(t0)
	// Every plan is checked with the graphs: durations and ends recomputed.
	carG, footG := p.car.Graph(), p.foot.Graph()
	vs := plancheck.Check(pl, plancheck.Inputs{Places: &s.Places, Households: s.Households, Car: carG, Foot: footG})
	logViolations(t, "no threat", vs)
	in := baseline.Input{Car: p.car, Places: &s.Places, Households: s.Households}
	t1 := time.Now()
	ng, err := baseline.NearestGate(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	ngTime := time.Since(t1)
	t2 := time.Now()
	cc, err := baseline.CCRP(ctx, in, baseline.CCRPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ccTime := time.Since(t2)
	mu := baseline.FromPlan("muster", pl)
	var tab bytes.Buffer
	if err := baseline.WriteTable(&tab, []baseline.Outcome{mu, ng, cc}, limits); err != nil {
		t.Fatal(err)
	}
	t.Logf("no threat (plan %d groups, %d unassigned; time relative to the plan: nearest gate %.2f, CCRP %.2f):\n%s",
		len(pl.Groups), len(pl.Unassigned), ngTime.Seconds()/planTime.Seconds(), ccTime.Seconds()/planTime.Seconds(), tab.String())

	if r := mu.Ratio(); r > 1.10 {
		t.Errorf("the plan's makespan %.0f s is %.3f times its lower bound %.0f s: more than 10%% over", mu.MakespanS, r, mu.LowerBoundS)
	}
	// The lower bound knows nothing of rally point hours. The same
	// scenario with every rally point open around the clock says whether
	// they are what keeps the plan from it.
	allDay, err := scenario.Generate(ctx, p.car.Graph(), p.foot.Graph(), withAllDayRallies(s.Options))
	if err != nil {
		t.Fatal(err)
	}
	pa, err := plan.Make(ctx, plan.Input{Car: p.car, Foot: p.foot, Places: &allDay.Places, Households: allDay.Households,
		Params: plan.Params{Start: portoStart}})
	if err != nil {
		t.Fatal(err)
	}
	logViolations(t, "rally points open around the clock", plancheck.Check(pa, plancheck.Inputs{Places: &allDay.Places, Households: allDay.Households, Car: carG, Foot: footG}))
	t.Logf("the same with every rally point open around the clock: makespan %.0f s, lower bound %.0f s, ratio %.3f",
		pa.Summary.MakespanS, pa.Summary.LowerBoundS, pa.Summary.Ratio)
	if r := pa.Summary.Ratio; r > 1.10 {
		t.Errorf("rally points open around the clock: the plan's makespan is %.3f times its lower bound: more than 10%% over", r)
	}
	for g, q := range mu.MaxQueue {
		if q > limits[g] {
			t.Errorf("plan: %d waiting at %s, over its crowd limit %d", q, g, limits[g])
		}
	}
	over := false
	for g, q := range ng.MaxQueue {
		over = over || q > limits[g]
	}
	if !over {
		t.Errorf("nearest gate: no gate over its crowd limit (%v, limits %v)", ng.MaxQueue, limits)
	}

	// The threat inject: one gate closed, roads blocked.
	th := s.Threat
	p.setZones(t, th.Zones)
	defer p.setZones(t, nil)
	pt, err := plan.Make(ctx, p.planInput(th.GateStatus))
	if err != nil {
		t.Fatal(err)
	}
	vs = plancheck.Check(pt, plancheck.Inputs{Places: &s.Places, Households: s.Households, Zones: th.Zones, GateStatus: th.GateStatus, Car: carG, Foot: footG})
	logViolations(t, "threat", vs)
	for _, g := range pt.Groups {
		if g.Gate == th.ClosedGate {
			t.Errorf("threat: group %s goes through the closed gate %s", g.ID, g.Gate)
		}
		line, ok := g.Route.Geometry.Coordinates.(orb.LineString)
		if !ok {
			t.Fatalf("threat: group %s has no line", g.ID)
		}
		if cs := zonecost.CheckForbidden(line, th.Zones); len(cs) > 0 {
			t.Errorf("threat: group %s's route touches forbidden zone %s", g.ID, th.Zones[cs[0].Zone].ID)
		}
	}
	in.GateStatus = th.GateStatus
	ngT, err := baseline.NearestGate(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	ccT, err := baseline.CCRP(ctx, in, baseline.CCRPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tab.Reset()
	if err := baseline.WriteTable(&tab, []baseline.Outcome{baseline.FromPlan("muster", pt), ngT, ccT}, limits); err != nil {
		t.Fatal(err)
	}
	t.Logf("threat (%s closed, %d road blocks; plan %d groups, %d unassigned):\n%s", th.ClosedGate, len(th.RoadBlocks),
		len(pt.Groups), len(pt.Unassigned), tab.String())
	if q := baseline.FromPlan("muster", pt).MaxQueue[th.ClosedGate]; q != 0 {
		t.Errorf("threat: %d waiting at the closed gate", q)
	}

	// The same inject two hours into the first plan: a re-plan.
	t3 := time.Now()
	pr, err := plan.Replan(ctx, pl, p.planInput(th.GateStatus), plan.State{At: replanAt})
	if err != nil {
		t.Fatal(err)
	}
	replanTime := time.Since(t3)
	vs = plancheck.Check(pr, plancheck.Inputs{Places: &s.Places, Households: s.Households, Zones: th.Zones, GateStatus: th.GateStatus, At: replanAt,
		Previous: pl, Car: carG, Foot: footG})
	logViolations(t, "re-plan", vs)
	for _, g := range pr.Groups {
		if !g.Departure.Before(replanAt) && g.Gate == th.ClosedGate {
			t.Errorf("re-plan: group %s leaves at %s for the closed gate", g.ID, g.Departure)
		}
	}
	changed := 0
	if pr.Diff != nil {
		changed = len(pr.Diff.Changes)
	}
	t.Logf("re-plan at +2h (time relative to the first plan: %.2f): %d households' instructions change; makespan %.0f s, ratio %.3f, %d unassigned",
		replanTime.Seconds()/planTime.Seconds(), changed, pr.Summary.MakespanS, pr.Summary.Ratio, len(pr.Unassigned))
}
