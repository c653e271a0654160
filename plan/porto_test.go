package plan_test

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster/internal/testshared"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/plancheck"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
	"github.com/muster-evac/muster/scenario"
)

// portoCity is Porto's road graphs and routers, imported once per test
// binary.
type portoCity struct {
	car, foot   *route.Router
	carG, footG *roadgraph.Graph
}

var (
	portoOnce sync.Once
	porto     *portoCity
	portoErr  error
)

func loadPorto(t testing.TB) *portoCity {
	t.Helper()
	if testing.Short() {
		t.Skip("Porto skipped with -short")
	}
	path := testshared.Path(t, "data/porto.osm.pbf")
	portoOnce.Do(func() {
		ctx := context.Background()
		city, _, err := osmimport.ImportFile(ctx, path, osmimport.Options{})
		if err != nil {
			portoErr = err
			return
		}
		p := &portoCity{carG: city.Graphs[roadgraph.Car], footG: city.Graphs[roadgraph.Foot]}
		if p.car, portoErr = route.New(ctx, p.carG, route.Options{}); portoErr != nil {
			return
		}
		if p.foot, portoErr = route.New(ctx, p.footG, route.Options{}); portoErr != nil {
			return
		}
		porto = p
	})
	if portoErr != nil {
		t.Fatal(portoErr)
	}
	return porto
}

// schedMetrics is what the scheduler is judged by: the makespan against
// the lower bound, and how long each gate stood idle between the first
// moment anyone could reach it and the last passage of the plan (while
// somebody was still waiting somewhere).
type schedMetrics struct {
	ratio, makespanH, boundH float64
	idleH                    map[string]float64
	firstArrivalMin          map[string]float64
	unassigned               map[string]int
}

func (m schedMetrics) String() string {
	var idle, first []string
	for _, g := range slices.Sorted(maps.Keys(m.idleH)) {
		idle = append(idle, fmt.Sprintf("%s %.2f h", g, m.idleH[g]))
		first = append(first, fmt.Sprintf("%s %.0f min", g, m.firstArrivalMin[g]))
	}
	return fmt.Sprintf("makespan %.2f h, lower bound %.2f h, ratio %.3f; idle while people wait: %s; first arrival: %s; unassigned %v",
		m.makespanH, m.boundH, m.ratio, strings.Join(idle, ", "), strings.Join(first, ", "), m.unassigned)
}

// measure recomputes the figures from the plan's groups: a gate is idle
// while it is not passing anyone between its first possible arrival (the
// plan's start plus the shortest trip to it from any rally point it
// serves) and the last passage anywhere. The Porto gates keep no hours.
func measure(p *plan.Plan) schedMetrics {
	m := schedMetrics{ratio: p.Summary.Ratio, makespanH: p.Summary.MakespanS / 3600, boundH: p.Summary.LowerBoundS / 3600,
		idleH: map[string]float64{}, firstArrivalMin: map[string]float64{}, unassigned: map[string]int{}}
	for _, u := range p.Unassigned {
		m.unassigned[u.Code]++
	}
	rate := map[string]float64{}
	for _, g := range p.Gates {
		if g.Usable {
			f := 1.0
			if g.Status == "restricted" {
				f = p.Params.RestrictedFactor
			}
			rate[g.ID] = float64(g.ThroughputPerHour) * f / 3600
		}
	}
	shortest := map[string]float64{}
	busy := map[string]float64{}
	var end time.Time
	for _, g := range p.Groups {
		if s, ok := shortest[g.Gate]; !ok || g.Route.DurationS < s {
			shortest[g.Gate] = g.Route.DurationS
		}
		busy[g.Gate] += float64(g.People) / rate[g.Gate]
		if g.Through.After(end) {
			end = g.Through
		}
		first := g.Arrival.Sub(p.Params.Start).Minutes()
		if f, ok := m.firstArrivalMin[g.Gate]; !ok || first < f {
			m.firstArrivalMin[g.Gate] = first
		}
	}
	for id := range rate {
		open := end.Sub(p.Params.Start).Seconds() - shortest[id]
		m.idleH[id] = (open - busy[id]) / 3600
	}
	return m
}

// peakHeap samples the heap while fn runs and returns its peak in bytes.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var peak atomic.Uint64
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc > peak.Load() {
			peak.Store(ms.HeapAlloc)
		}
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				sample()
			}
		}
	}()
	fn()
	sample()
	close(stop)
	<-done
	return peak.Load()
}

// TestSchedulePorto plans Porto's default scenario (100,000 people) and
// its 300,000-people variant, each with its daytime rally points and with
// every rally point open around the clock, has plancheck verify every plan
// on the graphs, and logs the scheduler's figures (plan/SCHEDULER.md
// quotes them). Long: skipped with -short and without the extract; run
// one variant with -run 'TestSchedulePorto/100k$'.
func TestSchedulePorto(t *testing.T) {
	c := loadPorto(t)
	start := time.Date(2026, 3, 14, 6, 0, 0, 0, time.UTC)
	for _, v := range []struct {
		name        string
		households  int
		people      int
		allDay      bool
		wantRatio   float64
		wantSeconds float64
	}{
		{"100k", 30_000, 100_000, false, 1.10, 20},
		{"100k-all-day", 30_000, 100_000, true, 1.10, 20},
		{"300k", 90_000, 300_000, false, 1.10, 60},
		{"300k-all-day", 90_000, 300_000, true, 1.10, 60},
	} {
		t.Run(v.name, func(t *testing.T) {
			ctx := context.Background()
			o := scenario.Options{Seed: 1, AirportCenter: orb.Point{-8.681, 41.248}, Timezone: "Europe/Lisbon",
				Households: v.households, TargetPeople: v.people}
			if v.allDay {
				o.RallyHoursShare = -1
			}
			s, err := scenario.Generate(ctx, c.carG, c.footG, o)
			if err != nil {
				t.Fatal(err)
			}
			var p *plan.Plan
			t0 := time.Now()
			peak := peakHeap(func() {
				p, err = plan.Make(ctx, plan.Input{Car: c.car, Foot: c.foot, Places: &s.Places, Households: s.Households, Params: plan.Params{Start: start}})
			})
			took := time.Since(t0)
			if err != nil {
				t.Fatal(err)
			}
			m := measure(p)
			t.Logf("%s: planned in %.1f s, peak heap %d MB, %d groups; %s", v.name, took.Seconds(), peak>>20, len(p.Groups), m)
			r, err := plancheck.CheckContext(ctx, p, plancheck.Inputs{Places: &s.Places, Households: s.Households, Car: c.carG, Foot: c.footG})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Violations) > 0 || len(r.Unchecked) > 0 {
				for i, vi := range r.Violations {
					if i == 10 {
						break
					}
					t.Errorf("violation: %s", vi)
				}
				t.Fatalf("%d violations, unchecked %v", len(r.Violations), r.Unchecked)
			}
			if m.ratio > v.wantRatio {
				t.Errorf("makespan is %.3f times the lower bound, more than %.2f", m.ratio, v.wantRatio)
			}
			if took.Seconds() > v.wantSeconds {
				t.Errorf("planned in %.1f s, more than %.0f s", took.Seconds(), v.wantSeconds)
			}
		})
	}
}
