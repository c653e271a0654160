// Package simulate runs an exercise: a deterministic discrete-event
// simulation of an evacuation, household by household, under muster's
// approved plan, with the same threat picture (package threat), re-planning
// (plan.Proposals) and field events (muster.FieldEvent) a real operation uses,
// and, in the same run and with the same injects, the baselines muster is
// measured against (nearest gate without groups, and CCRP).
//
// Households receive their instruction over their channels (delays,
// failures), acknowledge or not, leave home late or never, walk to their
// rally point, wait, and leave with their group at its departure with
// whoever is there; groups drive their route, slowed where many share a
// road (roads.go), queue at their gate and pass at its throughput. Injects
// (a threat report, a flood of fake ones, a gate closing or slowing, a road
// blocked, an explosion at a gate) change the field at once, go through the
// threat picture and re-plan proposals, one of which a simulated operator
// approves after a delay; households act on a new instruction only once it reaches them.
//
// The same seed gives the same report, byte for byte: one event queue
// ordered by time and then by scheduling order, and every household draws
// from its own random stream (PCG, seeded by the run's seed and its id).
// docs/exercise.md describes the model and its assumptions.
package simulate

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/baseline"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/route"
	"github.com/muster-evac/muster/threat"
)

// Input is what an exercise runs on. The routers' zones are set by the
// simulation as the picture changes, and set back to the initial picture
// before each run.
type Input struct {
	Car, Foot  *route.Router
	Places     *muster.Places
	Households []muster.Household
	// Reports make the threat picture at the start (and, with the
	// injects' reports, after each inject).
	Reports []muster.Report
	// Plan is the approved plan to follow; nil: one is made (plan.Make)
	// under the initial picture with Params.
	Plan   *plan.Plan
	Params plan.Params
}

// Config says how to run it.
type Config struct {
	Seed      uint64
	Behaviour Behaviour
	Injects   []Inject
	// HorizonS is how long the simulation may run; default 72 h.
	HorizonS float64
	// QueueAreaM2 gives gates' queuing areas by place id; missing ones
	// are the crowd limit over DefaultDensityAtLimit.
	QueueAreaM2 map[string]float64
	// Baselines runs the nearest-gate and CCRP baselines too.
	Baselines bool
	// OperatorPicks is which re-plan proposal the simulated operator
	// approves: PickAuto (default), PickMinimal, PickHybrid or PickFresh.
	OperatorPicks string
	// Progress, if set, is told how far each run is.
	Progress func(stage string, done, total float64)
}

// Result is an exercise's outcome.
type Result struct {
	Report Report
	// Events are the field events of muster's plan, in the order they
	// happened.
	Events []FieldEventJSON
	// checks holds, per run, what the accounting tests re-check.
	checks map[string]*runCheck
}

type runCheck struct {
	gates   []*gateSim
	hh      []*hhSim
	states  [numStates]int
	total   int
	parties []*party
	// replans are muster's re-plans with what they were made from, for
	// plancheck.
	replans []replanCheck
}

// replanCheck is one proposal made and what it was made from.
type replanCheck struct {
	prev, plan *plan.Plan
	state      plan.State
	zones      []muster.Zone
	status     map[string]string
}

// picture is the threat picture at a moment, as the simulation uses it.
type picture struct {
	zones   []muster.Zone
	truth   []muster.Zone // what exposure is measured against: the verified zones
	key     string        // what the operator re-plans for: verified zones and gate statuses
	status  map[string]string
	reasons map[string][]string
	pic     *threat.Picture
}

func buildPicture(reports []muster.Report, pl *muster.Places, at time.Time) (picture, error) {
	pic, err := threat.Build(reports, pl, at, threat.DefaultPolicy())
	if err != nil {
		return picture{}, fmt.Errorf("simulate: threat picture at %s: %w", at.Format(time.RFC3339), err)
	}
	p := picture{zones: pic.RoutingZones(), status: map[string]string{}, reasons: map[string][]string{}, pic: pic}
	// What the operator re-plans for: the verified zones and the gates'
	// statuses. Leads (zones resting on unverified reports alone) are
	// flagged to verify, not acted upon: a flood of them moves nobody.
	var key strings.Builder
	for _, z := range pic.Zones {
		if !z.Unverified && z.RoutesAffected() {
			fmt.Fprintf(&key, "%s %t %.3f %.3f;", z.ID, z.Forbidden, z.Penalty, z.VerifiedRisk)
		}
	}
	for _, g := range pic.Gates {
		p.status[g.PlaceID] = g.Status
		p.reasons[g.PlaceID] = g.Reasons
		fmt.Fprintf(&key, "%s=%s;", g.PlaceID, g.Status)
	}
	p.key = key.String()
	for _, z := range pic.Zones {
		if !z.Unverified && (z.Forbidden || z.VerifiedRisk > 0) {
			rz := z.RoutingZone()
			rz.Risk = z.VerifiedRisk
			p.truth = append(p.truth, rz)
		}
	}
	return p, nil
}

// Run simulates the operation under muster's plan and, with cfg.Baselines,
// under the baselines, with the same injects.
func Run(ctx context.Context, in Input, cfg Config) (*Result, error) {
	if in.Car == nil || in.Foot == nil || in.Places == nil {
		return nil, muster.Errorf(muster.EINVALID, "simulate: a car router, a foot router and places are needed")
	}
	if cfg.HorizonS <= 0 || math.IsNaN(cfg.HorizonS) {
		cfg.HorizonS = 72 * 3600
	}
	beh := cfg.Behaviour.withDefaults()
	if cfg.Behaviour == (Behaviour{}) {
		beh = DefaultBehaviour
	}
	start := in.Params.Start
	if in.Plan != nil {
		start = in.Plan.Params.Start
	}
	if start.IsZero() {
		return nil, muster.Errorf(muster.EINVALID, "simulate: the operation's start is needed (plan params start)")
	}
	start = start.UTC().Truncate(time.Second)
	// Reports received after the start arrive during the exercise: each
	// receipt time is an inject of its reports.
	var later []muster.Report
	in.Reports, later = splitReports(in.Reports, start)
	cfg.Injects = append(reportInjects(later, start), cfg.Injects...)
	slices.SortStableFunc(cfg.Injects, func(a, b Inject) int { return cmpFloat(a.atS, b.atS) })
	initial, err := buildPicture(in.Reports, in.Places, start)
	if err != nil {
		return nil, err
	}
	setZones := func(zones []muster.Zone) error {
		for _, r := range []*route.Router{in.Car, in.Foot} {
			if _, err := r.SetZones(ctx, zones); err != nil {
				return fmt.Errorf("simulate: applying the threat picture: %w", err)
			}
		}
		return nil
	}
	if err := setZones(initial.zones); err != nil {
		return nil, err
	}
	pl := in.Plan
	if pl == nil {
		p := in.Params
		p.Start = start
		if pl, err = plan.Make(ctx, plan.Input{Car: in.Car, Foot: in.Foot, Places: in.Places, Households: in.Households,
			GateStatus: initial.status, GateReasons: initial.reasons, Params: p}); err != nil {
			return nil, fmt.Errorf("simulate: making the plan: %w", err)
		}
		if err := plan.Approve(pl); err != nil {
			return nil, err
		}
	}
	res := &Result{checks: map[string]*runCheck{}}
	rep := &res.Report
	rep.Seed, rep.Start, rep.Households = cfg.Seed, start, len(in.Households)
	for i := range in.Households {
		rep.People += max(in.Households[i].PartySize, 0)
	}
	for _, inj := range cfg.Injects {
		rep.Injects = append(rep.Injects, InjectRecord{AtS: inj.atS, Kind: inj.Kind, Gate: inj.Gate, Note: inj.Note})
	}
	progress := func(stage string) func(done, total float64) {
		if cfg.Progress == nil {
			return nil
		}
		return func(d, t float64) { cfg.Progress(stage, d, t) }
	}

	runID := exerciseID(cfg, start, pl, len(in.Households))
	kinds := []string{NameMuster}
	if cfg.Baselines {
		kinds = append(kinds, NameNearest, NameCCRP)
	}
	for _, kind := range kinds {
		if err := setZones(initial.zones); err != nil {
			return nil, err
		}
		w := newWorld(ctx, kind, cfg, beh, start, in, initial)
		w.progress = progress(kind)
		w.runID = runID
		w.operatorPicks = cfg.OperatorPicks
		switch kind {
		case NameMuster:
			w.emit = true
			w.maxGroup = pl.Params.WithDefaults().MaxGroupSize
			err = w.loadPlan(pl, in.Households)
		case NameNearest:
			err = w.loadNearest(in, initial)
		case NameCCRP:
			err = w.loadCCRP(in, initial)
		}
		if err != nil {
			return nil, err
		}
		w.in = in
		w.reports = slices.Clone(in.Reports)
		w.setZones = setZones
		for i, inj := range cfg.Injects {
			w.schedule(inj.atS, evInject, int32(i), 0, 0)
		}
		if err := w.run(); err != nil {
			return nil, err
		}
		w.finish()
		rr := w.runReport()
		rep.Runs = append(rep.Runs, rr)
		ck := &runCheck{gates: w.gates, hh: w.hh, states: w.states, total: w.total, parties: w.parties}
		if w.plan != nil {
			ck.replans = w.plan.checks
		}
		res.checks[kind] = ck
		if kind == NameMuster {
			res.Events = w.events
			for i, r := range w.injectPics {
				if i < len(rep.Injects) {
					rep.Injects[i].Picture = r
				}
			}
		}
		if cfg.Progress != nil {
			cfg.Progress(kind, 1, 1)
		}
	}
	if err := setZones(initial.zones); err != nil {
		return nil, err
	}
	rep.compare()
	return res, nil
}

// exerciseID is a short hash of what an exercise runs on and with: its
// seed, start, plan, households and injects.
func exerciseID(cfg Config, start time.Time, pl *plan.Plan, households int) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%d %s %d %d;", cfg.Seed, start.Format(time.RFC3339), households, len(pl.Households))
	for _, g := range pl.Groups { // the plan by its content (not when it was made: the demo makes it anew)
		fmt.Fprintf(h, "%s %s %d %d;", g.ID, g.Gate, g.Departure.Unix(), g.People)
	}
	for _, in := range cfg.Injects {
		fmt.Fprintf(h, "%g %s %s %g %g %g %d %g;", in.atS, in.Kind, in.Gate, in.Lat, in.Lon, in.RadiusM, in.Count, in.Factor)
	}
	return fmt.Sprintf("%08x", h.Sum32())
}

// The runs' names.
const (
	NameMuster  = "muster plan"
	NameNearest = "nearest gate"
	NameCCRP    = "CCRP"
)

func newWorld(ctx context.Context, name string, cfg Config, beh Behaviour, start time.Time, in Input, initial picture) *world {
	w := &world{ctx: ctx, name: name, seed: cfg.Seed, beh: beh, start: start, endS: cfg.HorizonS, rd: newRoads(), gateIx: map[string]int{},
		injects: cfg.Injects, rallyPt: map[string]orb.Point{}}
	w.rd.setZones(initial.truth)
	w.pictureKey = initial.key
	rf := in.Params.RestrictedFactor
	if in.Plan != nil {
		rf = in.Plan.Params.RestrictedFactor
	}
	if rf <= 0 || rf > 1 {
		rf = 0.5
	}
	w.restricted = rf
	for _, p := range in.Places.Places {
		pt, _ := p.Point()
		switch p.Kind {
		case muster.PlaceRally:
			w.rallyPt[p.ID] = pt
		case muster.PlaceGate:
			g := &gateSim{id: p.ID, name: p.Name, pt: pt, perHour: float64(p.ThroughputPerHour), crowdLimit: p.CrowdLimit, status: muster.GateOpen, factor: 1}
			if p.Status != "" {
				g.status = p.Status
			}
			if s, ok := initial.status[p.ID]; ok {
				g.status = s
			}
			switch g.status {
			case muster.GateClosed:
				g.factor = 0
			case muster.GateRestricted:
				g.factor = rf
			}
			g.areaM2 = math.Max(minQueueAreaM2, float64(p.CrowdLimit)/DefaultDensityAtLimit)
			if a, ok := cfg.QueueAreaM2[p.ID]; ok && a > 0 {
				g.areaM2 = a
			}
			g.statusLog = []statusChange{{0, g.status, g.factor}}
			w.gateIx[p.ID] = len(w.gates)
			w.gates = append(w.gates, g)
		}
	}
	return w
}

// inject: an inject happens. Its effect on the field is immediate; the
// picture changes with its reports, and muster re-plans (the baselines do
// not: their people find another way only when they meet the problem).
func (w *world) inject(i int) error {
	in := &w.injects[i]
	when := w.start.Add(time.Duration(w.now * float64(time.Second)))
	switch in.Kind {
	case InjectGateClose, InjectExplosion:
		if gi, ok := w.gateIx[in.Gate]; ok {
			w.setGate(gi, muster.GateClosed, 0)
			if w.plan != nil {
				w.holdFor(gi)
			}
		}
	case InjectGateSlow:
		if gi, ok := w.gateIx[in.Gate]; ok {
			w.setGate(gi, muster.GateRestricted, in.Factor)
		}
	case InjectGateOpen:
		if gi, ok := w.gateIx[in.Gate]; ok {
			w.setGate(gi, muster.GateOpen, 1)
		}
	case InjectRoadBlock:
		n := w.rd.addBlock(block{center: orb.Point{in.Lon, in.Lat}, radiusM: in.RadiusM})
		w.logf("inject %d: road block at %.5f, %.5f (%d road pieces closed)", i+1, in.Lat, in.Lon, n)
	}
	w.reports = append(w.reports, in.reportsOf(i, w.in.Places, when)...)
	pic, err := buildPicture(w.reports, w.in.Places, when.Add(10*time.Minute))
	if err != nil {
		return err
	}
	w.rd.setZones(pic.truth)
	if err := w.setZones(pic.zones); err != nil {
		return err
	}
	ps := PictureRecord{Zones: len(pic.zones), Reports: len(w.reports), ToVerify: len(pic.pic.ToVerify), GateStatus: pic.status}
	for _, z := range pic.zones {
		if z.Forbidden {
			ps.Forbidden++
		}
	}
	w.injectPics = append(w.injectPics, ps)
	w.logf("inject %d (%s%s) at %s: picture has %d zones (%d forbidden), %d flagged to verify", i+1, in.Kind, ifGate(in.Gate), hhmm(w.now), ps.Zones, ps.Forbidden, ps.ToVerify)
	// Gates as the picture now has them: a gate the picture closes is
	// closed in the field too (the authorities act on it).
	if w.plan == nil {
		w.stuckRecheck()
		return nil
	}
	if pic.key == w.pictureKey {
		// Nothing verified has changed (a flood of leads only flags itself
		// to verify): no re-plan, no new instruction.
		w.logf("inject %d: no verified change to the picture: no re-plan (leads are flagged to verify)", i+1)
		return nil
	}
	w.pictureKey = pic.key
	prev := w.plan.current
	if n := len(w.plan.pendingOrder); n > 0 {
		prev = w.plan.proposals[w.plan.pendingOrder[n-1]]
	}
	at := when.Truncate(time.Second)
	st := w.state(at)
	props, err := plan.Proposals(w.ctx, prev, plan.Input{Car: w.in.Car, Foot: w.in.Foot, Places: w.in.Places, Households: w.in.Households,
		GateStatus: pic.status, GateReasons: pic.reasons, RevisionLead: time.Duration((w.beh.OperatorDelayS + w.beh.EscortDelayS) * float64(time.Second))}, st)
	rec := ReplanRecord{Inject: i + 1, AtS: w.now}
	if err != nil {
		rec.Error = err.Error()
		w.plan.replans = append(w.plan.replans, rec)
		w.logf("re-plan for inject %d failed: %v", i+1, err)
		slog.Warn("simulate: re-plan failed", "inject", i+1, "err", err)
		return nil
	}
	k := pickProposal(props, w.operatorPicks)
	for _, pr := range props {
		rec.Proposals = append(rec.Proposals, ProposalRecord{ID: pr.ID, Changed: pr.Numbers.Changed, Unserved: pr.Numbers.Unserved,
			MakespanS: r1(pr.Numbers.MakespanS), Ratio: r3(pr.Numbers.Ratio), Exposure: r1(pr.Numbers.Exposure)})
	}
	np := props[k].Plan
	rec.Chosen = props[k].ID
	if np.Diff != nil {
		rec.Changes = len(np.Diff.Changes)
	}
	rec.Groups = len(np.Groups)
	rec.Unassigned = len(np.Unassigned)
	w.plan.replans = append(w.plan.replans, rec)
	w.plan.proposals[i] = np
	w.plan.checks = append(w.plan.checks, replanCheck{prev: prev, plan: np, state: st, zones: pic.zones, status: pic.status})
	w.plan.pendingOrder = append(w.plan.pendingOrder, i)
	w.schedule(w.now+w.beh.OperatorDelayS, evApprove, int32(i), 0, 0)
	return nil
}

// stuckRecheck: after a picture change the baselines' stuck parties try
// again (a road block their router now knows of).
func (w *world) stuckRecheck() {
	if w.reroute == nil {
		return
	}
	for _, p := range w.parties {
		if p.state == pStuck {
			w.reroute(w, p)
		}
	}
}

func ifGate(g string) string {
	if g == "" {
		return ""
	}
	return " " + g
}

func hhmm(s float64) string {
	m := int(s / 60)
	return fmt.Sprintf("+%dh%02d", m/60, m%60)
}

func (w *world) logf(format string, args ...any) {
	w.log = append(w.log, fmt.Sprintf(format, args...))
}

// finish: what is left where it is at the end. Households still at a rally
// point that no group will leave from any more are stranded.
func (w *world) finish() {
	// A party stopped before its very first road, a block round where it
	// starts that no route out avoids, never left: stranded there.
	for _, p := range w.parties {
		if p.state == pStuck && p.pos <= 0 {
			w.move(p.people, stOnRoad, stStranded)
			for _, hi := range p.members {
				w.hh[hi].state = stStranded
			}
			p.state = pCancelled
		}
	}
	for _, h := range w.hh {
		if h.state == stAtRally {
			w.move(h.people, stAtRally, stStranded)
			h.state = stStranded
		}
	}
	if n := len(w.series.safe); n > 0 {
		w.series.safe[n-1] = w.states[stSafe]
		w.series.states[n-1] = w.states
	}
}

// ---- baselines ----

// loadNearest sets up the nearest-gate baseline: every household that is
// reached drives from home, when ready, by the fastest road to the gate it
// reaches soonest, and queues there.
func (w *world) loadNearest(in Input, initial picture) error {
	w.car = in.Car
	w.reroute = rerouteNearest
	type dest struct {
		gi    int
		costs []uint32
	}
	var dests []dest
	for gi, g := range w.gates {
		if g.factor <= 0 || riskForbidden(g.pt, initial.zones) {
			continue
		}
		snap, err := in.Car.Snap(g.pt)
		if err != nil {
			continue
		}
		dests = append(dests, dest{gi, in.Car.CostsTo(snap)})
	}
	if len(dests) == 0 {
		return muster.Errorf(muster.EUNREACHABLE, "simulate: no usable gate for the nearest-gate baseline")
	}
	for i := range in.Households {
		h := &in.Households[i]
		people := max(h.PartySize, 0)
		hs := &hhSim{h: h, people: people, state: stUnserved, party: -1, rng: streamFor(w.seed, h.ID)}
		w.hh = append(w.hh, hs)
		w.total += people
		w.states[stUnserved] += people
		if people == 0 || !h.HasLocation {
			continue
		}
		home := orb.Point{h.Lon, h.Lat}
		snap, err := in.Car.Snap(home)
		if err != nil {
			continue
		}
		best, bestCost := -1, uint32(math.MaxUint32)
		for _, d := range dests {
			if c := in.Car.CostAt(d.costs, snap); c < bestCost {
				best, bestCost = d.gi, c
			}
		}
		if best < 0 || bestCost >= route.Inf {
			continue
		}
		res, err := in.Car.Route(w.ctx, route.Request{From: home, To: w.gates[best].pt})
		if err != nil || len(res.Routes) == 0 {
			continue
		}
		// Reached by the same channels as muster's instructions (an
		// advisory: "go to the airport"), ready as a household is.
		d, _, ok := w.beh.deliver(h, hs.rng)
		if !ok {
			w.move(people, stUnserved, stNotReached)
			hs.state = stNotReached
			continue
		}
		if hs.rng.Float64() < w.beh.AckShare {
			w.acks++
		}
		if hs.rng.Float64() < w.beh.NoShowShare {
			w.move(people, stUnserved, stNoShow)
			hs.state = stNoShow
			continue
		}
		leave := math.Max(0, -w.beh.IssueLeadS+d) + w.beh.PrepareMinS + hs.rng.Float64()*(w.beh.PrepareMaxS-w.beh.PrepareMinS)
		if hs.rng.Float64() < w.beh.LateShare {
			leave += hs.rng.ExpFloat64() * w.beh.LateMeanS
		}
		pi := int32(len(w.parties))
		p := &party{id: h.ID, people: people, vehicles: 1, gate: best, departS: leave, members: []int32{int32(len(w.hh) - 1)}, idx: pi}
		p.path = w.rd.pathOf(res.Routes[0].Geometry, res.Routes[0].DurationS)
		w.parties = append(w.parties, p)
		hs.party = pi
		w.move(people, stUnserved, stHome)
		hs.state = stOnRoad // the party's people are counted by the party from here on
		w.schedule(leave, evDepart, pi, 0, 0)
	}
	return nil
}

// loadCCRP sets up the CCRP baseline: each flow CCRP routed leaves when
// CCRP says, four people to a car, and drives its arcs. CCRP routes the
// people who go: the households the advisory does not reach, and those
// that do not come, are the nearest-gate baseline's (the same draws from
// each household's own stream, in the same order), where CCRP once moved
// everyone and its curves gained on the others by the no-shows alone.
// Those who go leave when CCRP says, ready or not: CCRP is the bound of
// what routing alone could do.
func (w *world) loadCCRP(in Input, initial picture) error {
	w.car = in.Car
	w.reroute = rerouteNearest
	going := make([]muster.Household, 0, len(in.Households))
	notReached, noShows := 0, 0
	for i := range in.Households {
		h := &in.Households[i]
		people := max(h.PartySize, 0)
		w.total += people
		if people == 0 || !h.HasLocation {
			going = append(going, *h) // (CCRP serves none of them either)
			continue
		}
		rng := streamFor(w.seed, h.ID)
		if _, _, ok := w.beh.deliver(h, rng); !ok {
			notReached += people
			continue
		}
		if rng.Float64() < w.beh.AckShare {
			w.acks++
		}
		if rng.Float64() < w.beh.NoShowShare {
			noShows += people
			continue
		}
		going = append(going, *h)
	}
	res, err := baseline.CCRPFlows(w.ctx, baseline.Input{Car: in.Car, Places: in.Places, Households: going,
		GateStatus: initial.status, RestrictedFactor: w.restricted}, baseline.CCRPOptions{})
	if err != nil {
		return fmt.Errorf("simulate: CCRP: %w", err)
	}
	g := in.Car.Graph()
	tails := g.Tails()
	routed := 0
	for k, f := range res.Flows {
		gi, ok := w.gateIx[f.Gate]
		if !ok || f.People <= 0 || len(f.Arcs) == 0 {
			continue
		}
		var line orb.LineString
		dur := 0.0
		for _, a := range f.Arcs {
			seg := g.ArcGeometry(nil, tails[a], a)
			if len(line) > 0 {
				seg = seg[1:]
			}
			line = append(line, seg...)
			dur += float64(g.TimeMS[a]) / 1000
		}
		pi := int32(len(w.parties))
		p := &party{id: fmt.Sprintf("ccrp-%06d", k), people: f.People, vehicles: int32((f.People + 3) / 4), gate: gi,
			departS: float64(f.EnterMS[0]) / 1000, flows: true, idx: pi}
		p.path = w.rd.pathOf(line, dur)
		w.parties = append(w.parties, p)
		routed += f.People
		w.schedule(p.departS, evDepart, pi, 0, 0)
	}
	w.states[stHome] = routed
	w.states[stNotReached], w.states[stNoShow] = notReached, noShows
	w.states[stUnserved] = w.total - routed - notReached - noShows
	return nil
}

func riskForbidden(p orb.Point, zones []muster.Zone) bool {
	for _, z := range zones {
		if z.Forbidden && riskAt(p, []muster.Zone{z}) > 0 {
			return true
		}
	}
	return false
}

// rerouteNearest is what people without a plan do when a road is blocked
// or their gate is closed: drive, from where they are, to the open gate
// they can reach soonest, by roads that are not blocked; before a block,
// they back up along the way they came until such a route exists. Parties
// at one spot find one route.
func rerouteNearest(w *world, p *party) {
	if p.rerouting {
		return
	}
	for back := 0; back <= 10; back++ {
		k := p.pos - back
		if k < 0 && back > 0 {
			return
		}
		from := p.where()
		if k >= 0 && k < len(p.path.from) {
			from = p.path.from[k]
		}
		rt := w.nearestOpenGate(from)
		if rt.gate < 0 {
			continue
		}
		np := w.rd.pathOf(rt.line, rt.durationS)
		clear := true
		for _, id := range np.pieces {
			clear = clear && !w.rd.pieces[id].blocked
		}
		if !clear {
			continue
		}
		if back > 0 {
			// Backing up: the way back is driven too (its pieces, at free flow).
			var bk path
			for m := min(p.pos, len(p.path.pieces)) - 1; m >= k; m-- {
				bk.pieces = append(bk.pieces, p.path.pieces[m])
				bk.ff = append(bk.ff, p.path.ff[m])
				bk.from = append(bk.from, p.path.from[min(m+1, len(p.path.from)-1)])
			}
			np.pieces, np.ff, np.from = append(bk.pieces, np.pieces...), append(bk.ff, np.ff...), append(bk.from, np.from...)
		}
		p.rerouting = true
		w.takePath(p.idx, p, np, rt.gate)
		p.rerouting = false
		return
	}
}

// nearestOpenGate routes from a point to the open gate reached soonest.
func (w *world) nearestOpenGate(from orb.Point) reroute {
	qx, qy := quantize(from)
	key := rerouteKey{qx, qy, w.gateVer()}
	if rt, ok := w.rerouteCache[key]; ok {
		return rt
	}
	rt := reroute{gate: -1}
	for gi, g := range w.gates {
		if g.factor <= 0 {
			continue
		}
		res, err := w.car.Route(w.ctx, route.Request{From: from, To: g.pt})
		if err != nil || len(res.Routes) == 0 {
			continue
		}
		r := res.Routes[0]
		line, dur := r.Geometry, r.DurationS
		if res.Escape != nil {
			line, dur = append(slices.Clone(res.Escape.Geometry), line...), dur+res.Escape.DurationS
		}
		if rt.gate < 0 || dur < rt.durationS {
			rt = reroute{gate: gi, line: line, durationS: dur}
		}
	}
	if w.rerouteCache == nil {
		w.rerouteCache = map[rerouteKey]reroute{}
	}
	w.rerouteCache[key] = rt
	return rt
}

// routeTo routes from a point to gate gi by the roads the picture leaves
// open (a way out of a zone first, when the point is in one).
func (w *world) routeTo(from orb.Point, gi int) (reroute, bool) {
	res, err := w.in.Car.Route(w.ctx, route.Request{From: from, To: w.gates[gi].pt})
	if err != nil || len(res.Routes) == 0 {
		return reroute{gate: -1}, false
	}
	r := res.Routes[0]
	line, dur := r.Geometry, r.DurationS
	if res.Escape != nil {
		line, dur = append(slices.Clone(res.Escape.Geometry), line...), dur+res.Escape.DurationS
	}
	return reroute{gate: gi, line: line, durationS: dur}, true
}

type rerouteKey struct {
	x, y int32
	ver  int
}

type reroute struct {
	gate      int
	line      orb.LineString
	durationS float64
}

// gateVer changes whenever a gate or the roads change.
func (w *world) gateVer() int {
	v := w.rd.ver*1000 + len(w.rd.blocks)
	for _, g := range w.gates {
		v += len(g.statusLog)
	}
	return v
}

func splitReports(rs []muster.Report, start time.Time) (before, after []muster.Report) {
	for _, r := range rs {
		if r.ReceivedAt.After(start) {
			after = append(after, r)
		} else {
			before = append(before, r)
		}
	}
	slices.SortStableFunc(after, func(a, b muster.Report) int { return a.ReceivedAt.Compare(b.ReceivedAt) })
	return before, after
}

// reportInjects makes one inject of each moment reports are received.
func reportInjects(rs []muster.Report, start time.Time) []Inject {
	var out []Inject
	for _, r := range rs {
		at := r.ReceivedAt.Sub(start).Seconds()
		if n := len(out); n > 0 && out[n-1].atS == at {
			out[n-1].reports = append(out[n-1].reports, r)
			continue
		}
		out = append(out, Inject{At: r.ReceivedAt.UTC().Format(time.RFC3339), Kind: InjectReports, atS: at, reports: []muster.Report{r},
			Note: "report " + r.ID + " received (" + r.Kind + ", " + r.Grade() + ")"})
	}
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// The operator's choices among re-plan proposals.
const (
	PickAuto    = "auto"    // the fewest unserved, then the fewest changed instructions, then the soonest out
	PickMinimal = "minimal" // plan.Proposals' ids
	PickHybrid  = "hybrid"
	PickFresh   = "fresh"
)

// pickProposal is the simulated operator's choice.
func pickProposal(ps []plan.Proposal, how string) int {
	for i, p := range ps {
		if p.ID == how {
			return i
		}
	}
	best := 0
	for i, p := range ps {
		b := ps[best].Numbers
		n := p.Numbers
		if n.Unserved < b.Unserved || (n.Unserved == b.Unserved && (n.Changed < b.Changed || (n.Changed == b.Changed && n.MakespanS < b.MakespanS))) {
			best = i
		}
	}
	return best
}
