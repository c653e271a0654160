package plancheck_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/citygen"
	"github.com/muster-evac/muster/internal/planfixture"
	"github.com/muster-evac/muster/osmimport"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/plancheck"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
	"github.com/muster-evac/muster/scenario"
	"github.com/muster-evac/muster/zonecost"
)

// world is a generated city with an evacuation planned on it several
// ways: the plans the mutations start from.
type world struct {
	car, foot   *route.Router
	carG, footG *roadgraph.Graph
	places      muster.Places
	hs          []muster.Household
	zone        muster.Zone // a forbidden zone with homes in it: their walks are escapes
	start       time.Time

	base   *plan.Plan // the plan under the zone
	fleet  *plan.Plan // the same with a fleet of fleetSize
	big    *plan.Plan // made with groups of up to 24
	closed *plan.Plan // made with every gate closed
	replan *plan.Plan // base re-planned at replanAt, the busiest gate closed
	// field is base re-planned at replanAt, the busiest gate closed, from
	// a state of the field (fieldState): no-shows, a group that left
	// short, households waiting.
	field      *plan.Plan
	fieldState plan.State
	// replanAt is when; busiest the gate closed.
	replanAt time.Time
	busiest  string
}

var fleetSize = plan.Vehicles{Seats: 8, Count: 10}

var shared struct {
	once sync.Once
	w    *world
	err  error
}

// theWorld builds the world once for every test of the package.
func theWorld(t *testing.T) *world {
	t.Helper()
	shared.once.Do(func() { shared.w, shared.err = buildWorld(context.Background()) })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.w
}

func buildWorld(ctx context.Context) (*world, error) {
	gen, err := citygen.Generate(ctx, citygen.Options{Seed: 21, Scale: 0.3})
	if err != nil {
		return nil, err
	}
	city, _, err := osmimport.FromOSM(ctx, gen.OSM, "test", osmimport.Options{})
	if err != nil {
		return nil, err
	}
	w := &world{places: gen.Places, carG: city.Graphs[roadgraph.Car], footG: city.Graphs[roadgraph.Foot],
		start: time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)}
	if w.car, err = route.New(ctx, w.carG, route.Options{}); err != nil {
		return nil, err
	}
	if w.foot, err = route.New(ctx, w.footG, route.Options{}); err != nil {
		return nil, err
	}
	var airport orb.Point
	for _, pl := range w.places.Places {
		if pl.Kind == muster.PlaceAirport {
			airport, _ = pl.Point()
		}
	}
	sc, err := scenario.Generate(ctx, w.carG, w.footG, scenario.Options{Seed: 5, Households: 400, TargetPeople: 1400, RallyPoints: 1, Gates: 2,
		AirportCenter: airport, Timezone: w.places.Timezone})
	if err != nil {
		return nil, err
	}
	w.hs = sc.Households
	// Two households the planner cannot serve: unlocated, and too large.
	w.hs = append(w.hs,
		muster.Household{ID: "H-NOWHERE", PartySize: 3, Adults: 3, Priority: muster.PriorityNone, Language: muster.LangDari},
		muster.Household{ID: "H-CROWD", PartySize: 13, Adults: 13, Priority: muster.PriorityNone, Language: muster.LangDari,
			Lat: w.hs[0].Lat, Lon: w.hs[0].Lon, HasLocation: true})
	// A forbidden zone around a few homes, away from every rally point
	// and gate.
	found := false
	for _, h := range w.hs {
		c := orb.Point{h.Lon, h.Lat}
		if !h.HasLocation || nearPlace(w.places, c, 600) {
			continue
		}
		inside := 0
		for _, o := range w.hs {
			if o.HasLocation && distM(c, orb.Point{o.Lon, o.Lat}) < 150 {
				inside++
			}
		}
		if inside >= 3 {
			w.zone = muster.Zone{ID: "fire", Name: "fire", Center: c, RadiusM: 150, Forbidden: true, Risk: 1}
			found = true
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("no place for the test's forbidden zone")
	}
	for _, r := range []*route.Router{w.car, w.foot} {
		if _, err := r.SetZones(ctx, []muster.Zone{w.zone}); err != nil {
			return nil, err
		}
	}
	in := func(params plan.Params, status map[string]string) plan.Input {
		params.Start = w.start
		return plan.Input{Car: w.car, Foot: w.foot, Places: &w.places, Households: w.hs, GateStatus: status, Params: params}
	}
	if w.base, err = plan.Make(ctx, in(plan.Params{}, nil)); err != nil {
		return nil, err
	}
	fl := fleetSize
	if w.fleet, err = plan.Make(ctx, in(plan.Params{Vehicles: &fl}, nil)); err != nil {
		return nil, err
	}
	if w.big, err = plan.Make(ctx, in(plan.Params{MaxGroupSize: 24}, nil)); err != nil {
		return nil, err
	}
	if w.closed, err = plan.Make(ctx, in(plan.Params{}, allClosed(w.places))); err != nil {
		return nil, err
	}
	w.busiest = planfixture.BusiestGate(w.base, nil)
	// The re-plan comes when the median group bound for the busiest gate
	// has just left.
	var bound []time.Time
	for _, g := range w.base.Groups {
		if g.Gate == w.busiest {
			bound = append(bound, g.Departure)
		}
	}
	slices.SortFunc(bound, time.Time.Compare)
	w.replanAt = bound[len(bound)/2].Add(time.Second)
	if w.replan, err = plan.Replan(ctx, w.base, plan.Input{Car: w.car, Foot: w.foot, Places: &w.places, Households: w.hs,
		GateStatus: map[string]string{w.busiest: muster.GateClosed}}, plan.State{At: w.replanAt}); err != nil {
		return nil, err
	}
	w.fieldState = stateOf(w.base, w.replanAt)
	if w.field, err = plan.Replan(ctx, w.base, plan.Input{Car: w.car, Foot: w.foot, Places: &w.places, Households: w.hs,
		GateStatus: map[string]string{w.busiest: muster.GateClosed}}, w.fieldState); err != nil {
		return nil, err
	}
	return w, nil
}

func allClosed(ps muster.Places) map[string]string {
	m := map[string]string{}
	for _, pl := range ps.Places {
		if pl.Kind == muster.PlaceGate {
			m[pl.ID] = muster.GateClosed
		}
	}
	return m
}

func nearPlace(ps muster.Places, p orb.Point, m float64) bool {
	for _, pl := range ps.Places {
		if pl.Kind != muster.PlaceGate && pl.Kind != muster.PlaceRally {
			continue
		}
		if q, ok := pl.Point(); ok && distM(p, q) < m {
			return true
		}
	}
	return false
}

func distM(a, b orb.Point) float64 { return muster.DistanceM(a[0], a[1], b[0], b[1]) }

// inputs are what each plan of the world was made from, with the graphs
// and the limits it was made with, and a places file of its own to change.
func (w *world) inputs(base string) plancheck.Inputs {
	places := w.places
	places.Places = slices.Clone(w.places.Places)
	in := plancheck.Inputs{Places: &places, Households: w.hs, Zones: []muster.Zone{w.zone}, Car: w.carG, Foot: w.footG}
	switch base {
	case "fleet":
		fl := fleetSize
		in.Limits.Fleet = &fl
	case "big":
		in.Limits.MaxGroupSize = 24
	case "closed":
		in.GateStatus = allClosed(w.places)
	case "replan", "field":
		in.GateStatus = map[string]string{w.busiest: muster.GateClosed}
		in.At = w.replanAt
		in.Previous = w.base
		if base == "field" {
			st := w.fieldState
			in.State = &st
		}
	}
	return in
}

func (w *world) plan(base string) *plan.Plan {
	return map[string]*plan.Plan{"base": w.base, "fleet": w.fleet, "big": w.big, "closed": w.closed, "replan": w.replan, "field": w.field}[base]
}

func clone(t *testing.T, p *plan.Plan) *plan.Plan {
	t.Helper()
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var q plan.Plan
	if err := json.Unmarshal(data, &q); err != nil {
		t.Fatal(err)
	}
	return &q
}

func check(t *testing.T, p *plan.Plan, in plancheck.Inputs) *plancheck.Report {
	t.Helper()
	r, err := plancheck.CheckContext(context.Background(), p, in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func rulesOf(vs []plancheck.Violation) []string {
	var out []string
	for _, v := range vs {
		if !slices.Contains(out, v.Rule) {
			out = append(out, v.Rule)
		}
	}
	sort.Strings(out)
	return out
}

func show(vs []plancheck.Violation) string {
	var b strings.Builder
	for i, v := range vs {
		if i == 8 {
			fmt.Fprintf(&b, "\n  ... and %d more", len(vs)-8)
			break
		}
		fmt.Fprintf(&b, "\n  %s", v)
	}
	return b.String()
}

// TestPlansPass: every plan the planner made for the world passes, with
// every rule checked; the plans hold what the mutations need (escapes,
// unserved households, groups re-routed on the move).
func TestPlansPass(t *testing.T) {
	w := theWorld(t)
	for _, base := range []string{"base", "fleet", "big", "replan", "field"} {
		r := check(t, w.plan(base), w.inputs(base))
		if len(r.Violations) > 0 || len(r.Unchecked) > 0 {
			t.Errorf("%s plan: %d violations, %d rules unchecked:%s %v", base, len(r.Violations), len(r.Unchecked), show(r.Violations), r.Unchecked)
		}
	}
	escapes, rerouted := 0, 0
	for _, h := range w.base.Households {
		if h.Walk.Escape {
			escapes++
		}
	}
	for _, g := range w.replan.Groups {
		if !g.RouteFrom.IsZero() {
			rerouted++
		}
	}
	t.Logf("base: %d groups, %d households (%d escape walks), %d unserved; re-plan at %s closing %s: %d groups re-routed on the move",
		len(w.base.Groups), len(w.base.Households), escapes, len(w.base.Unassigned), w.replanAt.Format(time.TimeOnly), w.busiest, rerouted)
	if escapes == 0 || len(w.base.Unassigned) < 2 || rerouted == 0 {
		t.Errorf("the world lacks what the mutations need: %d escape walks, %d unserved, %d groups re-routed on the move", escapes, len(w.base.Unassigned), rerouted)
	}
}

// mutation breaks one rule of a valid plan (or of its inputs) on purpose.
type mutation struct {
	name   string
	base   string   // which plan of the world it starts from
	want   []string // the rules the checker must report: exactly these
	mutate func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs)
}

// TestMutations breaks each rule on purpose and asserts the checker
// reports exactly that rule; then that silencing that rule lets the
// mutation through (no other rule catches it); and that every rule the
// checker knows has such a mutation.
func TestMutations(t *testing.T) {
	w := theWorld(t)
	only := map[string]bool{} // rules with a mutation only they catch
	for _, m := range slices.Concat(mutations(), fieldMutations(), suggestionMutations(), rateMutations(), unservedMutations()) {
		t.Run(m.name, func(t *testing.T) {
			p, in := clone(t, w.plan(m.base)), w.inputs(m.base)
			if m.mutate != nil {
				m.mutate(t, w, p, &in)
			}
			r := check(t, p, in)
			if got := rulesOf(r.Violations); !slices.Equal(got, m.want) {
				t.Fatalf("reported %v, want exactly %v:%s", got, m.want, show(r.Violations))
			}
			t.Logf("caught:%s", show(r.Violations))
			for _, v := range r.Violations {
				if v.Subject == "" || v.Message == "" || !strings.Contains(v.String(), v.Message) {
					t.Errorf("a violation without subject or message: %+v", v)
				}
			}
			if len(m.want) != 1 {
				return
			}
			if r := check(t, p, plancheck.Without(in, m.want[0])); len(r.Violations) > 0 {
				t.Fatalf("with %s silenced, still caught by:%s", m.want[0], show(r.Violations))
			}
			only[m.want[0]] = true
		})
	}
	for _, r := range plancheck.Rules {
		if !only[r.Code] {
			t.Errorf("rule %s has no mutation that only it catches", r.Code)
		}
	}
}

func mutations() []mutation {
	return []mutation{
		{"a walk listed as running along roads closed to pedestrians where the graph has none", "base", []string{plancheck.RuleEmergencyWalk}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			p.Reach = &plan.Reach{FootEmergency: true, EmergencyWalks: []plan.EmergencyWalk{{Household: p.Households[0].ID, DistanceM: 120}}, Suggestions: p.Reach.Suggested()}
		}},
		{"an unserved household not on the list", "base", []string{plancheck.RuleHouseholdUnknown}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			p.Unassigned = append(p.Unassigned, plan.Unassigned{Household: "H-STRANGER", Code: plan.UnservedNoGate, Reason: "no gate"})
		}},
		{"a group dropped with its instructions: its households lost", "base", []string{plancheck.RuleHouseholdLost}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			g := p.Groups[len(p.Groups)/2]
			p.Groups = slices.DeleteFunc(p.Groups, func(x plan.Group) bool { return x.ID == g.ID })
			p.Households = slices.DeleteFunc(p.Households, func(h plan.Household) bool { return h.Group == g.ID })
		}},
		{"a household in a group and unserved", "base", []string{plancheck.RuleHouseholdTwice}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			p.Unassigned = append(p.Unassigned, plan.Unassigned{Household: p.Groups[0].Households[0], Code: plan.UnservedNoGate, Reason: "no gate"})
		}},
		{"a household in two groups", "base", []string{plancheck.RuleHouseholdTwice}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			// The smallest household joins the last group through a gate,
			// which grows by its people (the limit given allows them) and
			// passes later by their time at the gate.
			sizes := map[string]int{}
			for _, h := range w.hs {
				sizes[h.ID] = h.PartySize
			}
			h := ""
			for _, g := range p.Groups {
				for _, id := range g.Households {
					if h == "" || sizes[id] < sizes[h] {
						h = id
					}
				}
			}
			b := lastAtGate(p)
			if slices.Contains(b.Households, h) {
				t.Fatalf("household %s is in group %s already", h, b.ID)
			}
			in.Limits.MaxGroupSize = max(plancheck.DefaultMaxGroupSize, b.People+sizes[h])
			b.Households = append(b.Households, h)
			b.People += sizes[h]
			b.Through = b.Through.Add(time.Duration(float64(sizes[h])/float64(gatePlace(w, b.Gate).ThroughputPerHour)*3600+2) * time.Second)
		}},
		{"a household left with no instruction", "base", []string{plancheck.RuleInstructionMissing}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			p.Households = slices.Delete(p.Households, 3, 4)
		}},
		{"a duplicated instruction", "base", []string{plancheck.RuleInstructionDup}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			p.Households = append(p.Households, p.Households[5])
		}},
		{"an instruction naming another rally point", "base", []string{plancheck.RuleInstructionMismatch}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			h := &p.Households[7]
			for _, g := range p.Groups {
				if g.RallyPoint != h.RallyPoint {
					h.RallyPoint = g.RallyPoint
					return
				}
			}
			t.Fatal("one rally point only")
		}},
		{"a household with the wrong people count", "base", []string{plancheck.RuleHouseholdPeople}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			p.Households[2].People++
		}},
		{"an unserved household without a reason", "base", []string{plancheck.RuleUnassignedReason}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			p.Unassigned[0].Reason = " "
		}},
		{"a duplicated group id", "base", []string{plancheck.RuleGroupIDDuplicate}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			old, id := p.Groups[1].ID, p.Groups[0].ID
			p.Groups[1].ID = id
			for i := range p.Households {
				if p.Households[i].Group == old {
					p.Households[i].Group = id
				}
			}
		}},
		{"a group saying more people than its households hold", "base", []string{plancheck.RuleGroupPeople}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			p.Groups[4].People++
		}},
		{"groups of 24, checked at the default limit (the plan says 24)", "big", []string{plancheck.RuleGroupSize}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			in.Limits.MaxGroupSize = 0
			if p.Summary.MaxGroupSize <= plancheck.DefaultMaxGroupSize || p.Params.MaxGroupSize != 24 {
				t.Fatalf("the big plan's largest group is %d (its params say %d)", p.Summary.MaxGroupSize, p.Params.MaxGroupSize)
			}
		}},
		{"a group gathering after it leaves", "base", []string{plancheck.RuleGroupTimes}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			p.Groups[3].ReportBy = p.Groups[3].Departure.Add(time.Minute)
		}},
		{"a group sent to a gate the places file lacks", "base", []string{plancheck.RulePlaceUnknown}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			p.Groups[3].Gate = "gate-nowhere"
		}},
		{"a route that is a point", "base", []string{plancheck.RuleGeometry}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			p.Groups[3].Route.Geometry = geojson.NewGeometry(orb.Point{1, 1})
		}},
		{"a walk starting 3 km from home", "base", []string{plancheck.RuleWalkStart}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			h := farWalk(t, w, p)
			line := h.Walk.Geometry.Coordinates.(orb.LineString)
			line[0] = away(line[1], w.zone.Center, 3000)
		}},
		{"a walk ending 3 km from its rally point", "base", []string{plancheck.RuleWalkEnd}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			h := farWalk(t, w, p)
			line := h.Walk.Geometry.Coordinates.(orb.LineString)
			line[len(line)-1] = away(line[len(line)-2], w.zone.Center, 3000)
		}},
		{"a walk claiming 1 s", "base", []string{plancheck.RuleWalkDuration}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			farWalk(t, w, p).Walk.DurationS = 1
		}},
		{"walks longer than the limit given (the plan claims a longer one)", "base", []string{plancheck.RuleMaxWalk}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			longest := 0.0
			for _, h := range p.Households {
				longest = math.Max(longest, h.Walk.DurationS)
			}
			in.Limits.MaxWalkS = longest - 60
			p.Params.MaxWalkS = 10 * longest
		}},
		{"a household asked to report before it can walk there", "base", []string{plancheck.RuleHouseholdTimes}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			h := farWalk(t, w, p)
			h.ReportBy = p.Params.Start
		}},
		{"a walk crossing a forbidden zone", "base", []string{plancheck.RuleWalkZone}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			h := farWalk(t, w, p)
			h.Walk.Geometry.Coordinates = detour(h.Walk.Geometry.Coordinates.(orb.LineString), in)
		}},
		{"an escape leg that starts in no zone", "base", []string{plancheck.RuleEscapeStart}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			farWalk(t, w, p).Walk.Escape = true
		}},
		{"a route starting 5 km from its rally point", "base", []string{plancheck.RuleRouteStart}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			line := p.Groups[6].Route.Geometry.Coordinates.(orb.LineString)
			line[0] = away(line[1], w.zone.Center, 5000)
		}},
		{"a route ending 5 km from its gate", "base", []string{plancheck.RuleRouteEnd}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			line := p.Groups[6].Route.Geometry.Coordinates.(orb.LineString)
			line[len(line)-1] = away(line[len(line)-2], w.zone.Center, 5000)
		}},
		{"a route claiming 60 s", "base", []string{plancheck.RuleRouteDuration}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			g := longestRoute(p)
			if g.Route.DurationS < 300 {
				t.Fatalf("the longest route takes %.0f s", g.Route.DurationS)
			}
			g.Route.DurationS = 60
		}},
		{"a group re-routed on the move claiming it was far along a second after it left", "replan", []string{plancheck.RuleMovingStart}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			var g *plan.Group
			for i := range p.Groups {
				x := &p.Groups[i]
				if !x.RouteFrom.IsZero() && (g == nil || x.RouteFrom.Sub(x.Departure) > g.RouteFrom.Sub(g.Departure)) {
					g = x
				}
			}
			if g == nil {
				t.Fatal("no group re-routed on the move")
			}
			g.RouteFrom = g.Departure.Add(time.Second)
		}},
		{"a group on the move sent to another gate without being re-routed", "replan", []string{plancheck.RuleMovingKept}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			// In the plan revised, it was heading elsewhere.
			prev := clone(t, in.Previous)
			in.Previous = prev
			for _, g := range p.Groups {
				if g.RouteFrom.IsZero() && g.Departure.Before(in.At) && g.Through.After(in.At) {
					for i := range prev.Groups {
						if prev.Groups[i].ID == g.ID {
							prev.Groups[i].Gate = w.busiest
							return
						}
					}
				}
			}
			t.Fatal("no group kept on the move")
		}},
		{"a group the field saw leave late keeps its turn at the gate", "field", []string{plancheck.RuleMovingKept}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			// It left just before the re-plan, more than plan.LateDeparture
			// after its planned departure.
			st := *in.State
			st.Moving = maps.Clone(st.Moving)
			in.State = &st
			for _, g := range p.Groups {
				left := in.At.Add(-30 * time.Second)
				if g.RouteFrom.IsZero() && left.Sub(g.Departure) > plan.LateDeparture && g.Through.After(in.At) {
					mv := st.Moving[g.ID]
					mv.Departed = left
					st.Moving[g.ID] = mv
					return
				}
			}
			t.Fatal("no group kept on the move that was due to leave more than plan.LateDeparture before the re-plan")
		}},
		{"a group at its gate sooner than it can drive there", "base", []string{plancheck.RuleArrival}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			// The first at its gate, so that no queue changes.
			g := &p.Groups[0]
			for i := range p.Groups {
				if p.Groups[i].Arrival.Before(g.Arrival) {
					g = &p.Groups[i]
				}
			}
			g.Arrival = g.Departure.Add(10 * time.Second)
		}},
		{"a route crossing a forbidden zone", "base", []string{plancheck.RuleRouteZone}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			g := &p.Groups[8]
			g.Route.Geometry.Coordinates = detour(g.Route.Geometry.Coordinates.(orb.LineString), in)
		}},
		{"a closed gate used", "base", []string{plancheck.RuleGateClosed}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			in.GateStatus = map[string]string{p.Groups[0].Gate: muster.GateClosed}
		}},
		{"a group on the move sent to a gate closed after it left", "base", []string{plancheck.RuleMovingGateClosed}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			// The gate closes a second after the last group bound for it
			// leaves: nobody leaves for it after, someone is on the way.
			g := p.Groups[0].Gate
			var last plan.Group
			for _, x := range p.Groups {
				if x.Gate == g && x.Departure.After(last.Departure) {
					last = x
				}
			}
			in.At = last.Departure.Add(time.Second)
			in.GateStatus = map[string]string{g: muster.GateClosed}
		}},
		{"a gate in a forbidden zone", "base", []string{plancheck.RuleGateForbidden}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			in.Zones = append(in.Zones, quietZone(t, p, in, muster.PlaceGate))
		}},
		{"a group through sooner than the gate's throughput allows", "base", []string{plancheck.RuleGateThroughput}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			g := &p.Groups[10]
			g.Through = g.Arrival
		}},
		{"a gate over its crowd limit", "base", []string{plancheck.RuleGateCrowd}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			place(in, p.Groups[0].Gate).CrowdLimit = 1
		}},
		{"a passage before a gate opens", "base", []string{plancheck.RuleGateHours}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			gate := p.Groups[0].Gate
			first := p.Groups[0].Through
			for _, g := range p.Groups {
				if g.Gate == gate && g.Through.Before(first) {
					first = g.Through
				}
			}
			loc, err := time.LoadLocation(in.Places.Timezone)
			if err != nil {
				t.Fatal(err)
			}
			pl := place(in, gate)
			pl.Opens, pl.Closes = first.In(loc).Add(30*time.Minute).Format("15:04"), "24:00"
		}},
		{"all gates closed", "closed", []string{plancheck.RuleNoOpenGate}, nil},
		{"nobody moved", "base", []string{plancheck.RuleNobodyAssigned}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			for _, g := range p.Groups {
				for _, h := range g.Households {
					p.Unassigned = append(p.Unassigned, plan.Unassigned{Household: h, Code: plan.UnservedNoGate, Reason: "no gate can take it"})
				}
			}
			p.Groups, p.Households = nil, nil
		}},
		{"a rally point in a forbidden zone", "base", []string{plancheck.RuleRallyForbidden}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			in.Zones = append(in.Zones, quietZone(t, p, in, muster.PlaceRally))
		}},
		{"a group over a rally point's capacity", "base", []string{plancheck.RuleRallyCapacity}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			place(in, p.Groups[0].RallyPoint).Capacity = p.Groups[0].People - 1
		}},
		{"a rally point closed while groups wait", "base", []string{plancheck.RuleRallyHours}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			pl := place(in, p.Groups[0].RallyPoint)
			pl.Opens, pl.Closes = "02:00", "03:00"
		}},
		{"a group without vehicles", "fleet", []string{plancheck.RuleVehicles}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			p.Groups[2].Vehicles = 0
		}},
		{"vehicles over the fleet", "fleet", []string{plancheck.RuleFleet}, func(t *testing.T, w *world, p *plan.Plan, in *plancheck.Inputs) {
			p.Groups[2].Vehicles += in.Limits.Fleet.Count
		}},
	}
}

// place returns the inputs' place id, to change.
func place(in *plancheck.Inputs, id string) *muster.Place {
	for i := range in.Places.Places {
		if in.Places.Places[i].ID == id {
			return &in.Places.Places[i]
		}
	}
	panic("no place " + id)
}

func gatePlace(w *world, id string) *muster.Place {
	for i := range w.places.Places {
		if w.places.Places[i].ID == id {
			return &w.places.Places[i]
		}
	}
	panic("no gate " + id)
}

// farWalk returns the longest walk of a household living more than a
// kilometre from the test's forbidden zone.
func farWalk(t *testing.T, w *world, p *plan.Plan) *plan.Household {
	t.Helper()
	var best *plan.Household
	for i := range p.Households {
		h := &p.Households[i]
		line := h.Walk.Geometry.Coordinates.(orb.LineString)
		if distM(line[0], w.zone.Center) > 1000 && distM(line[len(line)-1], w.zone.Center) > 1000 && (best == nil || h.Walk.DurationS > best.Walk.DurationS) {
			best = h
		}
	}
	if best == nil || best.Walk.DurationS < 60 {
		t.Fatal("no long walk far from the zone")
	}
	return best
}

func longestRoute(p *plan.Plan) *plan.Group {
	g := &p.Groups[0]
	for i := range p.Groups {
		if p.Groups[i].Route.DurationS > g.Route.DurationS {
			g = &p.Groups[i]
		}
	}
	return g
}

// lastAtGate returns a group that is the last through its gate.
func lastAtGate(p *plan.Plan) *plan.Group {
	last := map[string]*plan.Group{}
	for i := range p.Groups {
		if g := &p.Groups[i]; last[g.Gate] == nil || g.Through.After(last[g.Gate].Through) {
			last[g.Gate] = g
		}
	}
	var out *plan.Group
	for _, g := range last {
		if out == nil || g.ID < out.ID {
			out = g
		}
	}
	return out
}

// away returns the point m metres from p, on the side away from q.
func away(p, q orb.Point, m float64) orb.Point {
	dx, dy := (p[0]-q[0])*math.Cos(p[1]*math.Pi/180), p[1]-q[1]
	l := math.Hypot(dx, dy)
	deg := m / 111_320
	return orb.Point{p[0] + dx/l*deg/math.Cos(p[1]*math.Pi/180), p[1] + dy/l*deg}
}

// detour bends a line's middle 20 km north, where nothing else goes, and
// puts a forbidden zone there.
func detour(line orb.LineString, in *plancheck.Inputs) orb.LineString {
	mid := len(line) / 2
	far := orb.Point{line[mid][0], line[mid][1] + 0.18}
	in.Zones = append(in.Zones, muster.Zone{ID: "far", Center: far, RadiusM: 50, Forbidden: true, Risk: 1})
	return slices.Concat(line[:mid], orb.LineString{far}, line[mid:])
}

// quietZone returns a small forbidden zone on a place of the kind given
// that some group uses and whose zone no walk or route touches but those
// that start or end there.
func quietZone(t *testing.T, p *plan.Plan, in *plancheck.Inputs, kind string) muster.Zone {
	t.Helper()
	used := map[string]bool{}
	for _, g := range p.Groups {
		used[g.Gate], used[g.RallyPoint] = true, true
	}
	for _, pl := range in.Places.Places {
		pt, ok := pl.Point()
		if pl.Kind != kind || !used[pl.ID] || !ok {
			continue
		}
		z := []muster.Zone{{ID: "on-" + pl.ID, Center: pt, RadiusM: 5, Forbidden: true, Risk: 1}}
		quiet := true
		for _, g := range p.Groups {
			if g.Gate != pl.ID && g.RallyPoint != pl.ID && len(zonecost.CheckForbidden(g.Route.Geometry.Coordinates.(orb.LineString), z)) > 0 {
				quiet = false
			}
		}
		for _, h := range p.Households {
			if h.RallyPoint != pl.ID && len(zonecost.CheckForbidden(h.Walk.Geometry.Coordinates.(orb.LineString), z)) > 0 {
				quiet = false
			}
		}
		if quiet {
			return z[0]
		}
	}
	t.Fatalf("every %s is passed by another group's way", kind)
	return muster.Zone{}
}

// TestSharedRouteTampered: plan.json keeps a route from a rally point to a
// gate once, and the groups that take it name it; a route tampered with in
// the file is caught for every group that names it, and for no other.
func TestSharedRouteTampered(t *testing.T) {
	w := theWorld(t)
	data, err := plan.Encode(w.base)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	// The route the most groups name.
	named := map[int][]string{}
	for _, g := range doc["groups"].([]any) {
		g := g.(map[string]any)
		ref := int(g["route"].(float64))
		named[ref] = append(named[ref], g["id"].(string))
	}
	ref := -1
	for k, ids := range named {
		if ref < 0 || len(ids) > len(named[ref]) || (len(ids) == len(named[ref]) && k < ref) {
			ref = k
		}
	}
	sharing := named[ref]
	sort.Strings(sharing)
	if len(sharing) < 2 {
		t.Fatalf("no route is shared: %d routes for %d groups", len(named), len(doc["groups"].([]any)))
	}
	t.Logf("route %d is named by %d of %d groups", ref, len(sharing), len(w.base.Groups))
	for _, m := range []struct {
		name, want string
		mutate     func(r map[string]any, in *plancheck.Inputs)
	}{
		{"claiming 60 s", plancheck.RuleRouteDuration, func(r map[string]any, in *plancheck.Inputs) { r["duration_s"] = 60 }},
		{"ending 5 km from the gate", plancheck.RuleRouteEnd, func(r map[string]any, in *plancheck.Inputs) {
			line := mustLine(t, r)
			line[len(line)-1] = away(line[len(line)-2], w.zone.Center, 5000)
			r["polyline"] = mustPolyline(t, line)
		}},
		{"starting 5 km from the rally point", plancheck.RuleRouteStart, func(r map[string]any, in *plancheck.Inputs) {
			line := mustLine(t, r)
			line[0] = away(line[1], w.zone.Center, 5000)
			r["polyline"] = mustPolyline(t, line)
		}},
		{"crossing a forbidden zone", plancheck.RuleRouteZone, func(r map[string]any, in *plancheck.Inputs) {
			r["polyline"] = mustPolyline(t, detour(mustLine(t, r), in))
		}},
	} {
		t.Run(m.name, func(t *testing.T) {
			var d map[string]any
			if err := json.Unmarshal(data, &d); err != nil {
				t.Fatal(err)
			}
			in := w.inputs("base")
			m.mutate(d["routes"].([]any)[ref].(map[string]any), &in)
			tampered, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			p, err := plan.Decode(tampered)
			if err != nil {
				t.Fatal(err)
			}
			r := check(t, p, in)
			if got := rulesOf(r.Violations); !slices.Equal(got, []string{m.want}) {
				t.Fatalf("reported %v, want %s alone:%s", got, m.want, show(r.Violations))
			}
			var subjects []string
			for _, v := range r.Violations {
				subjects = append(subjects, v.Subject)
			}
			sort.Strings(subjects)
			if !slices.Equal(subjects, sharing) {
				t.Fatalf("%s reported for %v, want every group naming the route: %v", m.want, subjects, sharing)
			}
		})
	}
}

func mustLine(t *testing.T, r map[string]any) orb.LineString {
	t.Helper()
	line, err := plan.DecodePolyline(r["polyline"].(string))
	if err != nil || len(line) < 2 {
		t.Fatalf("route %v: %v", r, err)
	}
	return line
}

func mustPolyline(t *testing.T, line orb.LineString) string {
	t.Helper()
	s, err := plan.EncodePolyline(line)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
