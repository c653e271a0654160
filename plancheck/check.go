// Package plancheck verifies a plan against its inputs, rule by rule, and
// names every violation. It trusts nothing the plan says about itself: the
// households come from the evacuee list, the places and their limits from
// the places file, the threat picture and gate statuses from the inputs,
// the limits (group size, walk, restricted throughput, fleet) from the
// caller, never from the plan's own params. With the road graphs it
// recomputes, on its own plain Dijkstra, the shortest walk and drive each
// leg could take and holds the plan's durations and times to them; it
// re-simulates every gate's queue and every rally point's crowd, and tests
// every route and walk against the forbidden zones with zonecost's
// independent checker. It shares no code with the planner.
//
// The rules, and what each is recomputed from, are listed in Rules and in
// plan/PLAN_FORMAT.md. Tests run it on every plan they make.
package plancheck

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/roadgraph"
)

// Violation is one broken rule.
type Violation struct {
	Rule    string `json:"rule"`    // a code of Rules, e.g. "walk_start"
	Subject string `json:"subject"` // the group, household, gate or rally point
	Message string `json:"message"`
}

func (v Violation) String() string { return fmt.Sprintf("%s: %s: %s", v.Rule, v.Subject, v.Message) }

// Unchecked is a rule that could not be checked, and why (its inputs were
// not given).
type Unchecked struct {
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

// Report is what a check found.
type Report struct {
	Violations []Violation // sorted by rule, then subject
	Unchecked  []Unchecked // rules not checked, in the order of Rules
}

// The planner's defaults, which the checker's limits default to (a test
// keeps them equal to plan.Params{}.WithDefaults()).
const (
	DefaultMaxGroupSize     = 12
	DefaultMaxWalkS         = 2700
	DefaultRestrictedFactor = 0.5
	DefaultMaxWalkMobilityS = 1800
	DefaultHorizonS         = 72 * 3600
)

// Tolerances.
const (
	// TimeTolerance absorbs the rounding of times and durations to whole
	// seconds (and tenths) in plan.json.
	TimeTolerance = 2 * time.Second
	// SnapMarginM is how much farther than where a place meets the road
	// (its snap on the graph) a leg may start or end.
	SnapMarginM = 30
	// DefaultEndpointToleranceM is how far from its home, rally point or
	// gate a leg may start or end when no graph says where they meet the
	// road.
	DefaultEndpointToleranceM = 150
	// MovingSlack bounds where a group re-routed on the move may be: no
	// farther from its rally point, in free-flow driving time, than
	// MovingSlack times the time since it left, plus MovingSlackS. Generous,
	// because the planner places a group along its route by distance, not
	// by time.
	MovingSlack  = 3
	MovingSlackS = 120
)

// Limits are the hard limits a plan is held to. They come from the caller
// (the command line), never from the plan checked; zero values take the
// planner's defaults.
type Limits struct {
	MaxGroupSize     int     // most people in a group; default 12
	MaxWalkS         float64 // longest walk to a rally point; default 2,700 s
	RestrictedFactor float64 // share of its throughput a restricted gate keeps; default 0.5
	// MaxWalkMobilityS is the longest walk for a household with mobility
	// needs; default DefaultMaxWalkMobilityS, never more than MaxWalkS.
	MaxWalkMobilityS float64
	// HorizonS is how long after the start the last group may be through;
	// default DefaultHorizonS.
	HorizonS float64
	// Fleet is the fleet that carries the groups; nil: every group has its
	// own transport. A plan made for a fleet is not checked against one it
	// was not given (Report.Unchecked says so).
	Fleet *plan.Vehicles
	// EndpointToleranceM is how far a leg may start or end from its place
	// when there is no graph; default DefaultEndpointToleranceM. With a
	// graph, the place's snap distance plus SnapMarginM is used.
	EndpointToleranceM float64
}

func (l Limits) withDefaults() Limits {
	if l.MaxGroupSize <= 0 {
		l.MaxGroupSize = DefaultMaxGroupSize
	}
	if l.MaxWalkS <= 0 {
		l.MaxWalkS = DefaultMaxWalkS
	}
	if l.MaxWalkMobilityS <= 0 {
		l.MaxWalkMobilityS = DefaultMaxWalkMobilityS
	}
	l.MaxWalkMobilityS = min(l.MaxWalkMobilityS, l.MaxWalkS)
	if l.HorizonS <= 0 {
		l.HorizonS = DefaultHorizonS
	}
	if l.RestrictedFactor <= 0 || l.RestrictedFactor > 1 {
		l.RestrictedFactor = DefaultRestrictedFactor
	}
	if l.EndpointToleranceM <= 0 {
		l.EndpointToleranceM = DefaultEndpointToleranceM
	}
	return l
}

// Inputs are what the plan was made from.
type Inputs struct {
	Places     *muster.Places
	Households []muster.Household
	Zones      []muster.Zone // the threat picture, as routing saw it
	// GateStatus overrides the places file's statuses, as the picture did.
	GateStatus map[string]string
	// GateSince says when a gate's status (from GateStatus or the places
	// file) took effect; a gate not in it has had its status since At (for
	// a re-plan) or always (for a fresh plan). Before it the gate passed
	// people at its full throughput.
	GateSince map[string]time.Time
	// At, for a re-plan, is when the picture changed (the plan's as_of):
	// groups through their gate before it are not held to this picture;
	// groups on the move at At are held to it from where they are: their
	// gate must still be open and their way ahead clear, or they must have
	// been re-routed.
	At time.Time
	// CheckedIn holds the households already at their rally point at At:
	// their walks are behind them.
	CheckedIn map[string]bool
	// Previous, for a re-plan, is the plan it revises: the groups on the
	// move at At are held to it (Rules: moving_kept).
	Previous *plan.Plan
	// State, for a re-plan made mid-operation, is the state of the field
	// it was made from (`--state`): who is through, on the move, waiting,
	// missing. Its households waiting count as CheckedIn. Rules
	// state_through, moving_sent_back, executed_changed, missing_dropped.
	State *plan.State
	// Car and Foot are the road graphs the plan was made on. With them,
	// every walk's and route's duration is held to the shortest the graph
	// allows and every leg's ends to where its places meet the road.
	// Without them, those rules are not checked (Report.Unchecked).
	Car, Foot *roadgraph.Graph
	// Limits are the hard limits, from the command line.
	Limits Limits

	// disabled silences rules: the mutation tests use it to show that
	// each rule is the only one to catch its mutation.
	disabled map[string]bool
}

// Check is CheckContext without cancellation, for callers that only want
// the violations. Rules whose inputs are missing (the graphs, a fleet) are
// skipped silently: CheckContext's Report says which. An error (only an
// invalid road graph causes one) comes back as one violation of rule
// "inputs".
func Check(p *plan.Plan, in Inputs) []Violation {
	r, err := CheckContext(context.Background(), p, in)
	if err != nil {
		return []Violation{{Rule: "inputs", Subject: "plan", Message: err.Error()}}
	}
	return r.Violations
}

// CheckContext verifies every hard rule of the plan against the inputs.
// The error is for what keeps the check from running (a cancelled context,
// a plan or graph that cannot be read), never for a broken rule.
func CheckContext(ctx context.Context, p *plan.Plan, in Inputs) (*Report, error) {
	if p == nil {
		return nil, muster.Errorf(muster.EINVALID, "plancheck: no plan")
	}
	c, err := newChecker(p, in)
	if err != nil {
		return nil, err
	}
	c.serving()
	c.groupFacts()
	if err := c.recompute(ctx); err != nil {
		return nil, err
	}
	c.groupTimes()
	c.walks()
	c.emergencyWalks()
	if err := c.suggestions(ctx); err != nil {
		return nil, err
	}
	if err := c.unservedCodes(ctx); err != nil {
		return nil, err
	}
	c.routes()
	c.gates()
	c.moving()
	c.fieldState()
	c.limits()
	c.rallies()
	c.fleet()
	c.overall()
	sort.SliceStable(c.vs, func(i, j int) bool {
		if c.vs[i].Rule != c.vs[j].Rule {
			return c.vs[i].Rule < c.vs[j].Rule
		}
		return c.vs[i].Subject < c.vs[j].Subject
	})
	return &Report{Violations: c.vs, Unchecked: c.unchecked}, nil
}

// checker holds one check's inputs, what it derived from them, and what it
// found.
type checker struct {
	p   *plan.Plan
	in  Inputs
	lim Limits
	loc *time.Location

	places     map[string]*muster.Place
	households map[string]*muster.Household
	car, foot  *network

	inGroups    map[string][]int // household -> the groups holding it
	instruction map[string]int   // household -> its first instruction
	groups      []*groupFact     // per plan group
	walkLegs    map[string]*leg  // household -> the shortest walk from home to its rally point
	gateInfo    map[string]*gateFact
	pieces      []int32 // the foot graph's walkable pieces, when needed

	vs        []Violation
	unchecked []Unchecked
}

func newChecker(p *plan.Plan, in Inputs) (*checker, error) {
	c := &checker{p: p, in: in, lim: in.Limits.withDefaults(), loc: time.UTC,
		places: map[string]*muster.Place{}, households: map[string]*muster.Household{}, walkLegs: map[string]*leg{}}
	if in.Places != nil {
		if in.Places.Timezone != "" {
			l, err := time.LoadLocation(in.Places.Timezone)
			if err != nil {
				return nil, muster.Errorf(muster.EINVALID, "plancheck: places time zone %q: %v", in.Places.Timezone, err)
			}
			c.loc = l
		}
		for i := range in.Places.Places {
			c.places[in.Places.Places[i].ID] = &in.Places.Places[i]
		}
	}
	for i := range in.Households {
		c.households[in.Households[i].ID] = &in.Households[i]
	}
	if st := in.State; st != nil {
		// Households waiting at a rally point have walked.
		c.in.CheckedIn = map[string]bool{}
		for id, ok := range in.CheckedIn {
			c.in.CheckedIn[id] = ok
		}
		for id, ok := range st.CheckedIn {
			c.in.CheckedIn[id] = c.in.CheckedIn[id] || ok
		}
		for id := range st.WaitingAt {
			c.in.CheckedIn[id] = true
		}
	}
	var err error
	if in.Car != nil {
		if c.car, err = newNetwork(in.Car); err != nil {
			return nil, muster.Errorf(muster.EINVALID, "plancheck: %v", err)
		}
	}
	if in.Foot != nil {
		if c.foot, err = newNetwork(in.Foot); err != nil {
			return nil, muster.Errorf(muster.EINVALID, "plancheck: %v", err)
		}
	}
	if c.foot != nil && c.car == nil {
		c.unchecked = append(c.unchecked, Unchecked{RuleUnservedCode, "no car graph given: which rally points can send groups is not recomputed, so no_rally, cut_off, max_walk, unreachable and no_road are not held to the walks a household could make"})
	}
	for _, r := range Rules {
		switch {
		case r.Needs == needsCar && c.car == nil:
			c.unchecked = append(c.unchecked, Unchecked{r.Code, "no car graph given: " + r.Doc})
		case r.Needs == needsFoot && c.foot == nil:
			c.unchecked = append(c.unchecked, Unchecked{r.Code, "no foot graph given: " + r.Doc})
		case r.Needs == needsPrevious && in.Previous == nil && !in.At.IsZero():
			c.unchecked = append(c.unchecked, Unchecked{r.Code, "a re-plan, and no previous plan was given to hold its groups on the move to"})
		case r.Needs == needsFleet && c.lim.Fleet == nil && p.Params.Vehicles != nil:
			c.unchecked = append(c.unchecked, Unchecked{r.Code, fmt.Sprintf("the plan was made for a fleet of %d vehicles of %d seats; no fleet was given to check it against",
				p.Params.Vehicles.Count, p.Params.Vehicles.Seats)})
		}
	}
	return c, nil
}

// add records a violation, unless its rule is silenced.
func (c *checker) add(rule, subject, format string, args ...any) {
	if c.in.disabled[rule] {
		return
	}
	c.vs = append(c.vs, Violation{rule, subject, fmt.Sprintf(format, args...)})
}

// placeOf returns the place id names if it is of the kind wanted.
func (c *checker) placeOf(id, kind string) (*muster.Place, orb.Point, bool) {
	pl, ok := c.places[id]
	if !ok || pl.Kind != kind {
		return nil, orb.Point{}, false
	}
	pt, ok := pl.Point()
	return pl, pt, ok
}

// replan reports whether the plan is checked as a re-plan, at a time.
func (c *checker) replan() bool { return !c.in.At.IsZero() }

func distM(a, b orb.Point) float64 { return muster.DistanceM(a[0], a[1], b[0], b[1]) }

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func fmtT(t time.Time) string { return t.UTC().Format(time.RFC3339) }
