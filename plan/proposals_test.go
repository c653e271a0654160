package plan_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/internal/testshared"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/plancheck"
	"github.com/muster-evac/muster/route"
)

// fieldState makes the state of the field at `at` from a plan's forecast,
// with what goes wrong in the field: every tenth household due at its rally
// point is a no-show, every fifth group on the move left without its last
// household, and slowGate passes at 60% of its planned rate.
func fieldState(p *plan.Plan, at time.Time, places *muster.Places, slowGate string) plan.State {
	st := plan.State{At: at, Through: map[string]bool{}, Moving: map[string]plan.MovingGroup{}, CheckedIn: map[string]bool{},
		Missing: map[string]plan.Missing{}, GateRates: map[string]float64{}}
	n := 0
	for _, g := range p.Groups {
		switch {
		case !g.Through.After(at):
			st.Through[g.ID] = true
		case !g.Departure.After(at):
			n++
			mv := plan.MovingGroup{Departed: g.Departure}
			if n%5 == 0 && len(g.Households) > 1 {
				mv.Households = g.Households[:len(g.Households)-1]
				st.Missing[g.Households[len(g.Households)-1]] = plan.Missing{Kind: plan.MissingNoShow, Since: g.ReportBy, RallyPoint: g.RallyPoint}
			}
			st.Moving[g.ID] = mv
		case !g.ReportBy.After(at):
			for i, h := range g.Households {
				if (n+i)%10 == 0 {
					st.Missing[h] = plan.Missing{Kind: plan.MissingOverdue, Since: g.ReportBy, RallyPoint: g.RallyPoint}
				} else {
					st.CheckedIn[h] = true
				}
			}
			n++
		}
	}
	for _, pl := range places.Places {
		if pl.ID == slowGate {
			st.GateRates[slowGate] = 0.6 * float64(pl.ThroughputPerHour)
		}
	}
	return st
}

func showNumbers(ps []plan.Proposal) string {
	var b strings.Builder
	for _, pr := range ps {
		n := pr.Numbers
		fmt.Fprintf(&b, "\n%-8s makespan %5.2f h bound %5.2f h ratio %.3f changed %6d %v exposure %.0f unserved %d priority %d delayed %d >6h %d behind %d max %.1f h; %.2f s",
			pr.ID, n.MakespanS/3600, n.LowerBoundS/3600, n.Ratio, n.Changed, n.ByField, n.Exposure, n.Unserved, n.Priority, n.PriorityDelayed, n.PriorityOver6h, n.PriorityBehind, n.PriorityMaxS/3600, n.PlanS)
	}
	return b.String()
}

// TestProposalsPorto: Porto's default scenario (100,000 people), the
// scenario's threat two hours in (a gate closed, roads blocked) and a field
// that went its own way (no-shows, groups leaving short, a gate at 60% of
// its rate): every proposal passes plancheck with the state, never plans
// again anyone through, keeps every group on the move, and puts no
// priority household behind a lighter group that kept its turn; the fresh
// proposal is no slower than the minimal one. Long.
func TestProposalsPorto(t *testing.T) {
	testshared.Long(t)
	c := loadPorto(t)
	s := portoVariants[0].scenario(t, c)
	ctx := context.Background()
	p0, err := plan.Make(ctx, plan.Input{Car: c.car, Foot: c.foot, Places: &s.Places, Households: s.Households, Params: plan.Params{Start: portoStart}})
	if err != nil {
		t.Fatal(err)
	}
	at := portoStart.Add(2 * time.Hour)
	th := s.Threat
	setZones(t, th.Zones, c.car, c.foot)
	defer setZones(t, nil, c.car, c.foot)
	st := fieldState(p0, at, &s.Places, "gate-1")
	t0 := time.Now()
	ps, err := plan.Proposals(ctx, p0, plan.Input{Car: c.car, Foot: c.foot, Places: &s.Places, Households: s.Households, GateStatus: th.GateStatus}, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("proposals in %.1f s:%s", time.Since(t0).Seconds(), showNumbers(ps))
	byID := map[string]plan.Proposal{}
	for _, pr := range ps {
		byID[pr.ID] = pr
		r, err := plancheck.CheckContext(ctx, pr.Plan, plancheck.Inputs{Places: &s.Places, Households: s.Households, Car: c.carG, Foot: c.footG,
			Zones: th.Zones, GateStatus: th.GateStatus, At: at, Previous: p0, State: &st})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Violations) > 0 {
			for i, v := range r.Violations {
				if i == 10 {
					break
				}
				t.Errorf("%s: %s", pr.ID, v)
			}
			t.Errorf("%s: %d violations", pr.ID, len(r.Violations))
		}
		if pr.Numbers.PriorityBehind > 0 {
			t.Errorf("%s: %d priority households behind lighter groups that kept their turns", pr.ID, pr.Numbers.PriorityBehind)
		}
		if pr.Numbers.Ratio <= 1 && pr.Numbers.Ratio != 0 {
			t.Errorf("%s: makespan %.0f s is below the bound %.0f s: the bound is wrong", pr.ID, pr.Numbers.MakespanS, pr.Numbers.LowerBoundS)
		}
	}
	if m, f := byID["minimal"].Numbers, byID["fresh"].Numbers; f.MakespanS > m.MakespanS*1.01 {
		t.Errorf("fresh ends at %.0f s, later than minimal change at %.0f s", f.MakespanS, m.MakespanS)
	}
}

// BenchmarkProposalsPorto: the proposals for Porto's 100k scenario two
// hours in, under the threat; the issue asks for both under 5 s together.
func BenchmarkProposalsPorto(b *testing.B) {
	testshared.Long(b)
	c := loadPorto(b)
	s := portoVariants[0].scenario(b, c)
	ctx := context.Background()
	p0, err := plan.Make(ctx, plan.Input{Car: c.car, Foot: c.foot, Places: &s.Places, Households: s.Households, Params: plan.Params{Start: portoStart}})
	if err != nil {
		b.Fatal(err)
	}
	at := portoStart.Add(2 * time.Hour)
	setZones(b, s.Threat.Zones, c.car, c.foot)
	defer setZones(b, nil, c.car, c.foot)
	st := fieldState(p0, at, &s.Places, "gate-1")
	in := plan.Input{Car: c.car, Foot: c.foot, Places: &s.Places, Households: s.Households, GateStatus: s.Threat.GateStatus}
	b.ResetTimer()
	var ps []plan.Proposal
	cpu0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		if ps, err = plan.Proposals(ctx, p0, in, st); err != nil {
			b.Fatal(err)
		}
	}
	// CPU as well as wall time: on a machine shared with other work, the
	// wall time says more about the neighbours than about the planner.
	b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
	for _, pr := range ps {
		b.ReportMetric(pr.Numbers.Ratio, pr.ID+"-ratio")
		b.ReportMetric(pr.Numbers.PlanS, pr.ID+"-s")
	}
}

func setZones(tb testing.TB, zones []muster.Zone, rs ...*route.Router) {
	tb.Helper()
	for _, r := range rs {
		if _, err := r.SetZones(context.Background(), zones); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestProposalsOnGeneratedCity: on a generated city, after the busiest
// gate closes 40 minutes in with a field that went its own way, the three
// proposals each pass plancheck with the state and the plan they revise,
// put no priority household behind a lighter group that kept its turn,
// stay above their bound, and differ as they should: fresh changes more
// instructions than minimal change, and ends no later.
func TestProposalsOnGeneratedCity(t *testing.T) {
	c := generatedCity(t, 4, 0.5)
	hs := households(c.foot0, 500, 2)
	start := time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)
	ctx := context.Background()
	p0, err := plan.Make(ctx, plan.Input{Car: c.car, Foot: c.foot, Places: c.places, Households: hs, Params: plan.Params{Start: start}})
	if err != nil {
		t.Fatal(err)
	}
	people := map[string]int{}
	closed := ""
	for _, g := range p0.Groups {
		people[g.Gate] += g.People
		if closed == "" || people[g.Gate] > people[closed] {
			closed = g.Gate
		}
	}
	other := ""
	for id := range people {
		if id != closed && (other == "" || id < other) {
			other = id
		}
	}
	at := start.Add(40 * time.Minute)
	st := fieldState(p0, at, c.places, other)
	if len(st.Missing) == 0 || len(st.Moving) == 0 {
		t.Fatalf("the state lacks what the test needs: %d missing, %d moving", len(st.Missing), len(st.Moving))
	}
	status := map[string]string{closed: muster.GateClosed}
	ps, err := plan.Proposals(ctx, p0, plan.Input{Car: c.car, Foot: c.foot, Places: c.places, Households: hs, GateStatus: status}, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("closing %s at %s:%s", closed, at.Format(time.TimeOnly), showNumbers(ps))
	byID := map[string]plan.Numbers{}
	for _, pr := range ps {
		byID[pr.ID] = pr.Numbers
		if pr.Plan.Status != "proposed" || pr.Plan.Diff == nil {
			t.Errorf("%s: status %q", pr.ID, pr.Plan.Status)
		}
		mustCheck(t, c, pr.Plan, plancheck.Inputs{Places: c.places, Households: hs, GateStatus: status, At: at, Previous: p0, State: &st})
		n := pr.Numbers
		if n.PriorityBehind > 0 || n.LowerBoundS <= 0 || n.MakespanS < n.LowerBoundS {
			t.Errorf("%s: %+v", pr.ID, n)
		}
	}
	if len(byID) != 3 || byID["fresh"].Changed < byID["minimal"].Changed || byID["fresh"].MakespanS > byID["minimal"].MakespanS*1.02 {
		t.Errorf("minimal %+v\nfresh %+v", byID["minimal"], byID["fresh"])
	}
	if _, err := plan.Proposals(ctx, nil, plan.Input{}, st); muster.ErrorCode(err) != muster.EINVALID {
		t.Errorf("no plan to revise: %v", err)
	}
}

// cpuSeconds is the CPU time this process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// TestBoundCountsGateHours: with every gate opening at 14:00 in the city's
// time zone (09:30 UTC, three and a half hours after the start), the lower
// bound counts the hours (no plan can pass anyone before), so the plan is held to a bound it could reach: the ratio stays
// near 1 where a bound of people over throughput reported several times.
func TestBoundCountsGateHours(t *testing.T) {
	c := generatedCity(t, 4, 0.5)
	hs := households(c.foot0, 400, 5)
	places := *c.places
	places.Places = slices.Clone(places.Places)
	for i := range places.Places {
		if places.Places[i].Kind == muster.PlaceGate {
			places.Places[i].Opens, places.Places[i].Closes = "14:00", "23:00"
		}
	}
	start := time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)
	p, err := plan.Make(context.Background(), plan.Input{Car: c.car, Foot: c.foot, Places: &places, Households: hs, Params: plan.Params{Start: start}})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, c, p, plancheck.Inputs{Places: &places, Households: hs})
	s := p.Summary
	t.Logf("makespan %.0f s, bound %.0f s, ratio %.3f", s.MakespanS, s.LowerBoundS, s.Ratio)
	if s.LowerBoundS < 3.5*3600 || s.MakespanS < s.LowerBoundS || s.Ratio > 1.3 {
		t.Errorf("with gates opening at 14:00: makespan %.0f s, bound %.0f s, ratio %.3f", s.MakespanS, s.LowerBoundS, s.Ratio)
	}
}

// TestReplanUnchangedChangesNothing: a re-plan when nothing has changed
// (the same picture, a field that went as planned) changes no instruction
// in the minimal proposal, at the start and mid-operation. Every kept
// group must find its own turn again among the others', whose stated
// times are rounded up to the second (before, a third of them lost their
// turns to that rounding, and were re-timed).
func TestReplanUnchangedChangesNothing(t *testing.T) {
	c, hs, in, p0 := replanWorld(t, 500, 2)
	start, ctx := in.Params.Start, context.Background()
	for _, after := range []time.Duration{0, 20 * time.Minute, 40 * time.Minute} {
		at := start.Add(after)
		ps, err := plan.Proposals(ctx, p0, in, plan.State{At: at})
		if err != nil {
			t.Fatal(err)
		}
		m := ps[0]
		if m.ID != "minimal" {
			t.Fatalf("first proposal %q", m.ID)
		}
		if m.Numbers.Changed != 0 {
			n := 0
			for _, ch := range m.Plan.Diff.Changes {
				if n++; n <= 5 {
					t.Logf("%s: %v: %s", ch.Household, ch.Fields, ch.Reason)
				}
			}
			t.Errorf("at +%s nothing changed, yet the minimal re-plan changes %d instructions %v", after, m.Numbers.Changed, m.Numbers.ByField)
		}
		mustCheck(t, c, m.Plan, plancheck.Inputs{Places: c.places, Households: hs, At: at, Previous: p0})
	}
}

// TestRevisionLead: a gate closes 40 minutes in and the re-plan's
// revisions reach the field 7 minutes later. Every group due to leave
// before then for a gate still open keeps its turn exactly (it leaves as
// planned whatever the re-plan says); every group re-routed on the move is
// at its new gate no sooner than it can be from where it is once told; the
// proposals pass plancheck.
func TestRevisionLead(t *testing.T) {
	c, hs, in, p0 := replanWorld(t, 500, 2)
	start, ctx := in.Params.Start, context.Background()
	at := start.Add(40 * time.Minute)
	lead := 7 * time.Minute
	// The gate with the most groups leaving within the lead closes.
	soon := map[string]int{}
	closed := ""
	for _, g := range p0.Groups {
		if g.Departure.After(at) && !g.Departure.After(at.Add(lead)) {
			if soon[g.Gate]++; closed == "" || soon[g.Gate] > soon[closed] {
				closed = g.Gate
			}
		}
	}
	status := map[string]string{closed: muster.GateClosed}
	in.GateStatus, in.RevisionLead = status, lead
	ps, err := plan.Proposals(ctx, p0, in, plan.State{At: at})
	if err != nil {
		t.Fatal(err)
	}
	kept, soonOpen, moved := 0, 0, 0
	for _, pr := range ps {
		now := map[string]plan.Group{}
		for _, g := range pr.Plan.Groups {
			now[g.ID] = g
		}
		for _, g0 := range p0.Groups {
			g, ok := now[g0.ID]
			switch {
			case g0.Gate != closed && g0.Departure.After(at) && !g0.Departure.After(at.Add(lead)):
				soonOpen++
				if !ok || g.Gate != g0.Gate || !g.Departure.Equal(g0.Departure) || !g.Arrival.Equal(g0.Arrival) || !g.Through.Equal(g0.Through) {
					t.Errorf("%s: group %s leaves at %s, within the lead, for open gate %s: re-planned as %+v", pr.ID, g0.ID, g0.Departure.Format(time.TimeOnly), g0.Gate, g)
				} else {
					kept++
				}
			case ok && !g.RouteFrom.IsZero():
				moved++
				if soonest := at.Add(lead).Add(time.Duration(g.Route.DurationS * float64(time.Second))); g.Arrival.Before(soonest.Add(-time.Second)) {
					t.Errorf("%s: group %s re-routed on the move arrives at %s, before it can once told (%s)", pr.ID, g.ID, g.Arrival.Format(time.TimeOnly), soonest.Format(time.TimeOnly))
				}
			}
		}
		mustCheck(t, c, pr.Plan, plancheck.Inputs{Places: c.places, Households: hs, GateStatus: status, At: at, Previous: p0})
	}
	if soonOpen == 0 || moved == 0 {
		t.Errorf("the test needs groups leaving within the lead (%d) and groups re-routed on the move (%d)", soonOpen, moved)
	}
	t.Logf("closing %s: %d turns kept within the lead, %d groups re-routed on the move, over 3 proposals", closed, kept, moved)
}

// TestReplanServesTheUnservedAgain: households a plan could not serve (no
// gate could take them, no way out) are planned again by every re-plan:
// once what kept them out has passed (an all-clear), they are served, the
// diff says so, and the proposals pass plancheck. Before, a re-plan kept
// the unserved unserved, and the Porto Alegre drill's households stayed so
// after its all-clear.
func TestReplanServesTheUnservedAgain(t *testing.T) {
	c, hs, in, p0 := replanWorld(t, 300, 5)
	start, ctx := in.Params.Start, context.Background()
	// The plan as if its last groups had found no gate (a threat since
	// lifted): their households unserved.
	slices.SortFunc(p0.Groups, func(a, b plan.Group) int { return b.Departure.Compare(a.Departure) })
	out := map[string]bool{}
	for _, g := range p0.Groups[:5] {
		for _, h := range g.Households {
			out[h] = true
			p0.Unassigned = append(p0.Unassigned, plan.Unassigned{Household: h, Code: plan.UnservedNoGate, Reason: "every gate was closed"})
		}
	}
	p0.Groups = p0.Groups[5:]
	p0.Households = slices.DeleteFunc(p0.Households, func(h plan.Household) bool { return out[h.ID] })
	at := start.Add(10 * time.Minute)
	ps, err := plan.Proposals(ctx, p0, in, plan.State{At: at})
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range ps {
		served := 0
		for _, h := range pr.Plan.Households {
			if out[h.ID] {
				served++
			}
		}
		assigned := 0
		for _, ch := range pr.Plan.Diff.Changes {
			if out[ch.Household] && slices.Contains(ch.Fields, "assigned") {
				assigned++
			}
		}
		if served != len(out) || assigned != len(out) {
			t.Errorf("%s: %d of the %d unserved households served again, %d said so in the diff", pr.ID, served, len(out), assigned)
		}
		mustCheck(t, c, pr.Plan, plancheck.Inputs{Places: c.places, Households: hs, At: at, Previous: p0})
	}
}

// TestLateGroupRebooked: groups on the move that left their rally point
// well after their planned departure (20 minutes) reach their gate in
// the turn of the groups behind them: every proposal books them a turn
// again from where they are (leaving when they did, at the gate no sooner
// than they can be), with the reason in the diff; a group that left 2
// minutes late keeps its turn exactly. Every proposal passes plancheck
// with the state.
func TestLateGroupRebooked(t *testing.T) {
	c, hs, in, p0 := replanWorld(t, 500, 2)
	start, ctx := in.Params.Start, context.Background()
	// Groups due to leave between 10 and 20 minutes in: at 40 minutes,
	// the even ones left 20 minutes late, the odd ones 2 minutes late.
	at := start.Add(40 * time.Minute)
	st := plan.State{At: at, Moving: map[string]plan.MovingGroup{}}
	late, punctual := map[string]time.Time{}, map[string]bool{}
	for _, g := range p0.Groups {
		if g.Departure.Before(start.Add(10*time.Minute)) || !g.Departure.Before(start.Add(20*time.Minute)) {
			continue
		}
		if len(late) <= len(punctual) {
			late[g.ID] = g.Departure.Add(20 * time.Minute)
			st.Moving[g.ID] = plan.MovingGroup{Departed: late[g.ID]}
		} else {
			punctual[g.ID] = true
			st.Moving[g.ID] = plan.MovingGroup{Departed: g.Departure.Add(2 * time.Minute)}
		}
	}
	if len(late) < 2 || len(punctual) < 2 {
		t.Fatalf("%d late and %d punctual groups: the plan lacks groups leaving 10 to 20 minutes in", len(late), len(punctual))
	}
	ps, err := plan.Proposals(ctx, p0, in, st)
	if err != nil {
		t.Fatal(err)
	}
	before := map[string]plan.Group{}
	for _, g := range p0.Groups {
		before[g.ID] = g
	}
	for _, pr := range ps {
		mustCheck(t, c, pr.Plan, plancheck.Inputs{Places: c.places, Households: hs, At: at, Previous: p0, State: &st})
		for _, g := range pr.Plan.Groups {
			old := before[g.ID]
			switch {
			case punctual[g.ID]:
				if g.Gate != old.Gate || !g.Departure.Equal(old.Departure) || !g.Through.Equal(old.Through) {
					t.Errorf("%s: group %s left 2 minutes late and lost its turn: gate %s->%s, through %s->%s", pr.ID, g.ID, old.Gate, g.Gate,
						old.Through.Format(time.TimeOnly), g.Through.Format(time.TimeOnly))
				}
			case !late[g.ID].IsZero():
				left := late[g.ID]
				if !g.Departure.Equal(left) || g.RouteFrom.IsZero() {
					t.Errorf("%s: group %s left at %s: planned leaving %s, routed from %v", pr.ID, g.ID, left.Format(time.TimeOnly), g.Departure.Format(time.TimeOnly), g.RouteFrom)
				}
				// From where it is at the re-plan, no sooner than its
				// remaining way takes.
				if least := at.Add(time.Duration(g.Route.DurationS * float64(time.Second))); g.Arrival.Before(least.Add(-time.Second)) {
					t.Errorf("%s: group %s arrives at %s, before it can (%s)", pr.ID, g.ID, g.Arrival.Format(time.TimeOnly), least.Format(time.TimeOnly))
				}
				if !g.Through.After(old.Through) {
					t.Errorf("%s: group %s left 20 minutes late and still passes at %s, its planned time", pr.ID, g.ID, g.Through.Format(time.TimeOnly))
				}
				reason := ""
				for _, ch := range pr.Plan.Diff.Changes {
					if slices.Contains(g.Households, ch.Household) {
						reason = ch.Reason
					}
				}
				if !strings.Contains(reason, "late") {
					t.Errorf("%s: group %s's households' change says %q, not that it left late", pr.ID, g.ID, reason)
				}
			}
		}
	}
}

// replanWorld is a plan to revise: n households (seeded) on the generated
// city of the tests, planned from 06:00 on 26 August 2021, with the input
// it was made from.
func replanWorld(t *testing.T, n int, seed uint64) (*city, []muster.Household, plan.Input, *plan.Plan) {
	t.Helper()
	c := generatedCity(t, 4, 0.5)
	hs := households(c.foot0, n, seed)
	in := plan.Input{Car: c.car, Foot: c.foot, Places: c.places, Households: hs, Params: plan.Params{Start: time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)}}
	p0, err := plan.Make(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return c, hs, in, p0
}
