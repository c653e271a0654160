package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/plancheck"
)

var (
	demoOnce sync.Once
	demo     *Demo
	demoErr  error
	runOnce  sync.Once
	runRes   *Result
	runErr   error
)

// theDemo generates the demo city once for the tests here.
func theDemo(t testing.TB) *Demo {
	t.Helper()
	demoOnce.Do(func() { demo, demoErr = NewDemo(context.Background(), DemoOptions{Seed: 7}) })
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	return demo
}

// theRun is the demo with its injects (a flood of fake reports, a gate
// closing) and the baselines, run once.
func theRun(t *testing.T) *Result {
	t.Helper()
	d := theDemo(t)
	runOnce.Do(func() {
		runRes, runErr = Run(context.Background(), d.Input, Config{Seed: 1, Injects: d.Injects, Baselines: true})
	})
	if runErr != nil {
		t.Fatal(runErr)
	}
	return runRes
}

// Nobody lost, nobody counted twice: the running counts add up to
// everyone, and a recount from the households (and parties) gives the same.
func TestAccounting(t *testing.T) {
	res := theRun(t)
	d := theDemo(t)
	people := 0
	for _, h := range d.Input.Households {
		people += h.PartySize
	}
	for name, ck := range res.checks {
		sum := 0
		for _, n := range ck.states {
			if n < 0 {
				t.Errorf("%s: a negative count %v", name, ck.states)
			}
			sum += n
		}
		if sum != people || ck.total != people {
			t.Errorf("%s: states add up to %d, total %d, want %d people", name, sum, ck.total, people)
		}
		through := 0
		for _, g := range ck.gates {
			through += g.through
			if len(g.passLog) != g.through {
				t.Errorf("%s: gate %s passed %d, logged %d", name, g.id, g.through, len(g.passLog))
			}
		}
		if through != ck.states[stSafe] {
			t.Errorf("%s: %d through the gates, %d counted safe", name, through, ck.states[stSafe])
		}
		if name == NameMuster {
			var recount [numStates]int
			for _, h := range ck.hh {
				recount[h.state] += h.people
				if h.through > h.people {
					t.Errorf("household %s: %d of its %d people through", h.h.ID, h.through, h.people)
				}
				if (h.state == stSafe) != (h.through == h.people && h.people > 0) {
					t.Errorf("household %s: state %s with %d of %d through", h.h.ID, stateNames[h.state], h.through, h.people)
				}
			}
			if recount != ck.states {
				t.Errorf("recount from the households %v, running counts %v", recount, ck.states)
			}
			if ck.states[stSafe] < people/2 {
				t.Errorf("only %d of %d people safe", ck.states[stSafe], people)
			}
		}
	}
}

// Nobody passes a gate while it is closed: every passage is re-checked
// against the gate's status log.
func TestNobodyThroughClosedGate(t *testing.T) {
	res := theRun(t)
	closedOnce := false
	for name, ck := range res.checks {
		for _, g := range ck.gates {
			for _, at := range g.passLog {
				st := g.statusLog[0]
				for _, s := range g.statusLog {
					if s.T <= at {
						st = s
					}
				}
				if st.Factor == 0 {
					t.Fatalf("%s: someone passed gate %s at %.0f s, closed since %.0f s", name, g.id, at, st.T)
				}
			}
			for _, s := range g.statusLog {
				closedOnce = closedOnce || s.Factor == 0
			}
		}
	}
	if !closedOnce {
		t.Fatal("no gate was ever closed: the inject did not close one")
	}
}

// The same seed gives the same report, byte for byte (and the same
// events); another seed another.
func TestSameSeedSameReport(t *testing.T) {
	d := theDemo(t)
	run := func(seed uint64) ([]byte, []byte) {
		res, err := Run(context.Background(), d.Input, Config{Seed: seed, Injects: d.Injects})
		if err != nil {
			t.Fatal(err)
		}
		var r, e bytes.Buffer
		if err := res.Report.WriteJSON(&r); err != nil {
			t.Fatal(err)
		}
		if err := WriteEvents(&e, res.Events); err != nil {
			t.Fatal(err)
		}
		return r.Bytes(), e.Bytes()
	}
	r1, e1 := run(3)
	r2, e2 := run(3)
	if !bytes.Equal(r1, r2) || !bytes.Equal(e1, e2) {
		t.Fatal("the same seed gave different reports or events")
	}
	r3, _ := run(4)
	if bytes.Equal(r1, r3) {
		t.Fatal("another seed gave the same report: the seed is not used")
	}
}

// The field events the simulation sends are valid field events.
func TestEventsValid(t *testing.T) {
	res := theRun(t)
	kinds := map[string]int{}
	for _, e := range res.Events {
		fe := e.FieldEvent()
		if err := fe.Validate(); err != nil {
			t.Fatal(err)
		}
		kinds[e.Kind]++
	}
	for _, k := range []string{"checkin", "departed", "seen", "arrived", "gate_count", "gate_state"} {
		if kinds[k] == 0 {
			t.Errorf("no %s event (%v)", k, kinds)
		}
	}
}

// crowding recounts, from a run's own per-minute gate counts (the most
// people waiting at each gate in each minute), the minutes a gate held more
// than its crowd limit and those its queue reached Fruin level E, with
// where and when.
func crowding(rr *RunReport) (over, levelE int, where []string) {
	for _, g := range rr.Gates {
		for m, n := range g.Waiting {
			d := float64(n) / g.QueueAreaM2
			if n > g.CrowdLimit || d >= FruinE {
				where = append(where, fmt.Sprintf("%s at minute %d: %d waiting (limit %d), %.2f people/m²", g.ID, m, n, g.CrowdLimit, d))
			}
			if n > g.CrowdLimit {
				over++
			}
			if d >= FruinE {
				levelE++
			}
		}
	}
	return over, levelE, where
}

// musterSafe fails the test unless muster's plan kept every gate within its
// crowd limit and below Fruin level E in every minute of the run.
func musterSafe(t *testing.T, label string, rep *Report) {
	t.Helper()
	m := rep.Run(NameMuster)
	if over, e, where := crowding(m); over > 0 || e > 0 {
		t.Errorf("%s: muster's plan: %d gate-minutes over the crowd limit, %d at Fruin E or worse: %v", label, over, e, where[:min(len(where), 10)])
	}
	if m.SafeShare < 0.85 {
		t.Errorf("%s: muster: only %.2f of people safe", label, m.SafeShare)
	}
	// The figures the README quotes (go test -v): the most people waiting
	// at any gate in any minute, against that gate's limit, and the level.
	most, limit, level := 0, 0, ""
	for _, g := range m.Gates {
		if g.MaxWaiting > most {
			most, limit, level = g.MaxWaiting, g.CrowdLimit, g.WorstLevel
		}
	}
	t.Logf("%s: muster's plan: most waiting %d of %d (level %s), %.1f%% safe", label, most, limit, level, 100*m.SafeShare)
}

// nearestCrowds fails the test unless the nearest-gate baseline took some
// gate over its crowd limit and to Fruin level E.
func nearestCrowds(t *testing.T, label string, rep *Report) {
	t.Helper()
	if over, e, _ := crowding(rep.Run(NameNearest)); over == 0 || e == 0 {
		t.Errorf("%s: nearest gate: %d gate-minutes over the crowd limit, %d at Fruin E: the baseline should crowd", label, over, e)
	}
}

// On the generated city, recomputed from the simulation's own per-minute
// gate counts: muster's plan keeps every gate within its crowd limit and
// below Fruin level E; the nearest-gate baseline does not. With a flood of
// fake reports (which must not close or forbid anything).
func TestMusterKeepsGatesSafe(t *testing.T) {
	d := theDemo(t)
	res, err := Run(context.Background(), d.Input, Config{Seed: 2, Injects: d.Injects[:1], Baselines: true})
	if err != nil {
		t.Fatal(err)
	}
	musterSafe(t, "a flood of fake reports", &res.Report)
	nearestCrowds(t, "a flood of fake reports", &res.Report)
	m := res.Report.Run(NameMuster)
	if len(m.DangerousMinutes) != 0 || m.OverLimitGates != 0 {
		t.Errorf("muster: the report says %d dangerous minutes, %d gates over their limit", len(m.DangerousMinutes), m.OverLimitGates)
	}
	if len(m.Replans) != 0 || m.Reissued != 0 {
		t.Errorf("the flood re-planned (%d) or re-issued %d instructions", len(m.Replans), m.Reissued)
	}
	pic := res.Report.Injects[0].Picture
	if pic.Forbidden != 0 || pic.ToVerify == 0 {
		t.Errorf("a flood of fake reports: %d forbidden zones, %d flagged to verify", pic.Forbidden, pic.ToVerify)
	}
	for id, s := range pic.GateStatus {
		if s != "open" {
			t.Errorf("the flood set gate %s %s", id, s)
		}
	}
}

// With a flood of fake reports half an hour in and a gate closing an hour
// in, muster's plan keeps every gate within its crowd limit and below
// Fruin level E in every minute, on the generated city of the tests (two
// seeds) and on the one `muster simulate` runs by default, where the
// nearest-gate baseline crowds and crushes. The re-plan is approved among
// three proposals and re-issues instructions. (Before, the gate that took
// over held 220 people for a limit of 170 for 8 minutes: groups re-timed
// by the re-plan had left on their old times before it reached them and
// drove to their new gate from their rally point at once; groups kept
// driving to the closed gate and crowded it; and the minimal proposal
// re-timed a third of the groups it meant to keep.)
func TestGateClosingKeepsGatesSafe(t *testing.T) {
	res := theRun(t)
	musterSafe(t, "demo seed 7, run seed 1", &res.Report)
	nearestCrowds(t, "demo seed 7, run seed 1", &res.Report)
	m := res.Report.Run(NameMuster)
	if len(m.Replans) != 1 || !m.Replans[0].Approved || m.Replans[0].Chosen == "" || len(m.Replans[0].Proposals) != 3 {
		t.Errorf("re-plans %+v: want one, for the gate closing (the flood is not re-planned for), approved among 3 proposals", m.Replans)
	}
	if m.Reissued == 0 {
		t.Error("no instruction re-issued after the gate closed")
	}
	d := theDemo(t)
	for _, seed := range []uint64{2} {
		r, err := Run(context.Background(), d.Input, Config{Seed: seed, Injects: d.Injects})
		if err != nil {
			t.Fatal(err)
		}
		musterSafe(t, fmt.Sprintf("demo seed 7, run seed %d", seed), &r.Report)
	}
	other, err := NewDemo(context.Background(), DemoOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(context.Background(), other.Input, Config{Seed: 1, Injects: other.Injects, Baselines: true})
	if err != nil {
		t.Fatal(err)
	}
	musterSafe(t, "demo seed 1 (muster simulate's default)", &r.Report)
	nearestCrowds(t, "demo seed 1 (muster simulate's default)", &r.Report)
}

// Every re-plan the simulated operator was offered passes plancheck with
// the plan it revises, the state of the field the simulation reported and
// the picture it was made under.
func TestReplansPassPlancheck(t *testing.T) {
	replansPass(t, theRun(t), theDemo(t).Input)
}

func replansPass(t *testing.T, res *Result, in Input) {
	t.Helper()
	rcs := res.checks[NameMuster].replans
	if len(rcs) == 0 {
		t.Fatal("no re-plan to check")
	}
	for _, rc := range rcs {
		r, err := plancheck.CheckContext(context.Background(), rc.plan, plancheck.Inputs{Places: in.Places, Households: in.Households,
			Car: in.Car.Graph(), Foot: in.Foot.Graph(), Zones: rc.zones, GateStatus: rc.status, At: rc.state.At, Previous: rc.prev, State: &rc.state})
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range r.Violations {
			if i < 10 {
				t.Errorf("re-plan at %s: %s", rc.state.At.Format(time.TimeOnly), v)
			}
		}
	}
}

// The report folder: JSON, events, a self-contained HTML page with its
// figures inline, and each figure as SVG and PNG.
func TestWriteDir(t *testing.T) {
	res := theRun(t)
	dir := t.TempDir()
	if err := res.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "src=", "href=\"http", "@import", "url("} {
		if bytes.Contains(html, []byte(bad)) {
			t.Errorf("report.html holds %q: not self-contained", bad)
		}
	}
	if n := bytes.Count(html, []byte("<svg")); n != 1+3*len(res.Report.Runs) {
		t.Errorf("report.html has %d inline figures", n)
	}
	for _, name := range []string{"safe.svg", "safe.png", "density-run1.svg", "density-run1.png", "waiting-run2.png", "flow-run3.svg", "events.jsonl", "report.json"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Size() < 100 {
			t.Errorf("%s: %v", name, err)
		}
	}
	png, _ := os.ReadFile(filepath.Join(dir, "safe.png"))
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Error("safe.png is not a PNG")
	}
	var rep Report
	b, _ := os.ReadFile(filepath.Join(dir, "report.json"))
	if err := json.Unmarshal(b, &rep); err != nil || len(rep.Comparison) != 3 {
		t.Errorf("report.json: %v, %d comparison rows", err, len(rep.Comparison))
	}
}

// A road blocked where many groups drive, and an explosion at a gate: the
// groups stop before the block and are re-routed, nobody passes the gate
// after the explosion, and everyone is still accounted for.
func TestRoadBlockAndExplosion(t *testing.T) {
	d := theDemo(t)
	// Block the spot groups are most often seen at, half-way.
	seen := map[[2]float64]int{}
	var spot [2]float64
	for _, e := range theRun(t).Events {
		if e.Kind == "seen" {
			k := [2]float64{e.Lat, e.Lon}
			if seen[k]++; seen[k] > seen[spot] {
				spot = k
			}
		}
	}
	gate := d.Scenario.Gates()[0].ID
	injects := []Inject{
		{Kind: InjectRoadBlock, Lat: spot[0], Lon: spot[1], RadiusM: 150, atS: 2400},
		{Kind: InjectExplosion, Gate: gate, RadiusM: 300, atS: 4200},
	}
	res, err := Run(context.Background(), d.Input, Config{Seed: 5, Injects: injects, Baselines: true})
	if err != nil {
		t.Fatal(err)
	}
	for name, ck := range res.checks {
		sum := 0
		for _, n := range ck.states {
			sum += n
		}
		if sum != ck.total {
			t.Errorf("%s: %d accounted for of %d", name, sum, ck.total)
		}
		for _, g := range ck.gates {
			if g.id != gate {
				continue
			}
			for _, at := range g.passLog {
				if at > 4200 {
					t.Fatalf("%s: someone passed %s at %.0f s, after the explosion", name, gate, at)
				}
			}
		}
	}
	m := res.Report.Run(NameMuster)
	blocked := false
	for _, l := range m.Log {
		blocked = blocked || (strings.Contains(l, "road block") && !strings.Contains(l, "(0 road pieces closed)"))
	}
	if !blocked {
		t.Errorf("the road block closed no road: %v", m.Log)
	}
	if len(m.Replans) != 2 || m.SafeShare < 0.8 || m.Final["on_road"] != 0 || m.Final["at_gate"] != 0 {
		t.Errorf("muster: %d re-plans, %.2f safe, final %v", len(m.Replans), m.SafeShare, m.Final)
	}
	if res.Report.Injects[1].Picture.Forbidden == 0 {
		t.Error("the explosion forbade no zone")
	}
	replansPass(t, res, d.Input)
}

// A plan that does not match its inputs is refused with the reason, not
// simulated (nor a panic).
func TestBadPlanRefused(t *testing.T) {
	d := theDemo(t)
	ctx := context.Background()
	if _, err := d.Input.Car.SetZones(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Input.Foot.SetZones(ctx, nil); err != nil {
		t.Fatal(err)
	}
	p, err := plan.Make(ctx, plan.Input{Car: d.Input.Car, Foot: d.Input.Foot, Places: d.Input.Places, Households: d.Input.Households, Params: plan.Params{Start: DemoStart}})
	if err != nil {
		t.Fatal(err)
	}
	for name, spoil := range map[string]func(p *plan.Plan){
		"gate":      func(p *plan.Plan) { p.Groups[0].Gate = "nowhere" },
		"household": func(p *plan.Plan) { p.Households[0].ID = "H-unknown" },
		"group":     func(p *plan.Plan) { p.Households[0].Group = "G-unknown" },
	} {
		bad := *p
		bad.Groups = slices.Clone(p.Groups)
		bad.Households = slices.Clone(p.Households)
		spoil(&bad)
		in := d.Input
		in.Plan = &bad
		if _, err := Run(ctx, in, Config{Seed: 1}); muster.ErrorCode(err) != muster.EINVALID {
			t.Errorf("%s: %v, want an EINVALID error", name, err)
		}
	}
}

// TestBaselinesShareNoShows: the households the advisory does not reach,
// and those that never come, are the same under both baselines (the same
// draws from each household's stream): CCRP no longer moves people who
// stay home, and with a third of the households no-shows, a third of the
// people are not safe under either, and not through any gate.
func TestBaselinesShareNoShows(t *testing.T) {
	d := theDemo(t)
	beh := DefaultBehaviour
	beh.NoShowShare = 0.3
	res, err := Run(context.Background(), d.Input, Config{Seed: 4, Baselines: true, Behaviour: beh})
	if err != nil {
		t.Fatal(err)
	}
	people := 0
	for _, h := range d.Input.Households {
		people += h.PartySize
	}
	near, ccrp := res.Report.Run(NameNearest), res.Report.Run(NameCCRP)
	if near == nil || ccrp == nil {
		t.Fatalf("runs %+v", res.Report.Runs)
	}
	if near.NoShows != ccrp.NoShows || near.NotReached != ccrp.NotReached {
		t.Fatalf("no-shows %d and %d, not reached %d and %d (nearest gate, CCRP)", near.NoShows, ccrp.NoShows, near.NotReached, ccrp.NotReached)
	}
	if ccrp.NoShows < people/5 || ccrp.NoShows > people*2/5 {
		t.Fatalf("%d of %d people no-shows at a share of 0.3", ccrp.NoShows, people)
	}
	ck := res.checks[NameCCRP]
	through := 0
	for _, g := range ck.gates {
		through += g.through
	}
	if through > people-ccrp.NoShows-ccrp.NotReached || ck.states[stNoShow] != ccrp.NoShows {
		t.Fatalf("CCRP: %d through of %d people, %d no-shows, %d not reached", through, people, ccrp.NoShows, ccrp.NotReached)
	}
}
