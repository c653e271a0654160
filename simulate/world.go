package simulate

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/route"
)

// Where a person is. Every person of the evacuee list is in exactly one of
// these at every moment; the counts are kept as people move and checked
// against a recount from the households themselves.
const (
	stUnserved   = iota // the plan (or baseline) does not move them
	stNotReached        // no instruction ever reached them
	stNoShow            // reached, never left home
	stHome              // at home, not yet left
	stWalking           // on foot to the rally point
	stAtRally           // waiting at the rally point
	stOnRoad            // in a party on the road
	stAtGate            // waiting at the gate
	stSafe              // through a gate
	stStranded          // late at a rally point no group leaves any more
	numStates
)

var stateNames = [numStates]string{"unserved", "not_reached", "no_show", "home", "walking", "at_rally", "on_road", "at_gate", "safe", "stranded"}

// Party states.
const (
	pWaiting = iota // at its rally point (or home), not left
	pMoving
	pStuck // stopped before a blocked road, or turned away by a closed gate, until told where to go
	pQueued
	pDone
	pCancelled
)

// party is what moves on the roads: a group with its escort, a household
// in its car, a CCRP flow.
type party struct {
	id       string
	people   int // aboard now, not yet through
	vehicles int32
	gate     int
	path     path
	pos      int
	entered  float64
	state    int
	ver      uint32
	departS  float64 // when it is to leave
	rally    string
	members  []int32 // households aboard, in passing order
	left     []int32 // households aboard when it left (members shrinks as they pass)
	arrivedS float64 // at its gate
	planned  []int32 // households the plan puts in it (plan mode)
	seenSent bool
	pending  *groupRevision
	flows    bool // a CCRP flow: no households
	idx      int32
	seats    int // people it can take: as planned
	sweep    bool
	// held: its gate closed before it left; it waits for its revision.
	held bool
	// rerouting guards against a new route that is itself blocked.
	rerouting bool
}

// gateSim is one gate as the simulation runs it.
type gateSim struct {
	id         string
	name       string
	pt         orb.Point
	perHour    float64 // nominal throughput
	factor     float64 // 1 open, restricted factor, 0 closed
	status     string
	crowdLimit int
	areaM2     float64
	queue      []int32 // parties waiting, first come first served
	waiting    int     // people arrived and not through
	lastPass   float64
	passing    bool
	ver        uint32
	// measurements
	through      int
	minuteMax    int
	minuteThru   int
	waits        []float64
	passLog      []float64 // when each person passed (kept for the checks)
	statusLog    []statusChange
	maxWaiting   int
	sinceCount   float64
	countPending int
	sweeping     int // people in sweeps on their way to it
}

type statusChange struct {
	T      float64
	Status string
	Factor float64
}

func (g *gateSim) rate() float64 { return g.perHour * g.factor / 3600 }

// world is one simulation run.
type world struct {
	ctx     context.Context
	name    string
	seed    uint64
	beh     Behaviour
	start   time.Time
	endS    float64
	q       eventQueue
	now     float64
	rd      *roads
	gates   []*gateSim
	gateIx  map[string]int
	parties []*party
	hh      []*hhSim
	rallies map[string][]int32 // households waiting at each rally point
	late    map[string][]int32 // of them, those whose group has left
	states  [numStates]int
	total   int

	// reroute is what a stuck party does by itself (baselines: drive to
	// the nearest open gate); nil: it waits to be told (plan).
	reroute  func(w *world, p *party)
	plan     *planRun
	injects  []Inject
	log      []string
	events   []fieldEvent
	emit     bool
	series   series
	expo     exposure
	reissued int
	acks     int
	progress func(done, total float64)

	in            Input
	reports       []muster.Report
	setZones      func([]muster.Zone) error
	injectPics    []PictureRecord
	restricted    float64
	rallyPt       map[string]orb.Point
	car           *route.Router
	rerouteCache  map[rerouteKey]reroute
	maxGroup      int
	pictureKey    string
	operatorPicks string
	// runID names the exercise in its field events' ids: a hash of what
	// it was run on and with, so two exercises posted to one live store
	// never share an id, and the same one posted twice is recorded once.
	runID string
}

// hhSim is one household.
type hhSim struct {
	h       *muster.Household
	people  int
	state   int
	rng     randStream
	ver     uint32 // bumps when a scheduled move is superseded
	instr   instr  // what its instruction says, as it knows it
	pending instr  // the latest instruction sent, not yet received
	party   int32
	through int
	leftS   float64
	willGo  bool // decided once: not a no-show
	decided bool
	reached bool
}

// instr is a household's instruction.
type instr struct {
	version   int
	group     int32 // party index; -1 unserved
	rally     string
	reportByS float64
	walkS     float64
	walkExpo  float64
}

func (w *world) schedule(t float64, kind uint8, a, b int32, ver uint32) {
	w.q.push(event{t: t, kind: kind, a: a, b: b, ver: ver})
}

func (w *world) move(people, from, to int) {
	w.states[from] -= people
	w.states[to] += people
}

// run processes events until none is left or the end is reached.
func (w *world) run() error {
	w.schedule(0, evSample, 0, 0, 0)
	n := 0
	for w.q.len() > 0 {
		e := w.q.pop()
		if e.t > w.endS {
			break
		}
		w.now = math.Max(w.now, e.t)
		if n++; n&0xffff == 0 {
			if err := w.ctx.Err(); err != nil {
				return fmt.Errorf("simulate: %w", err)
			}
			if w.progress != nil {
				w.progress(w.now, w.endS)
			}
		}
		switch e.kind {
		case evSample:
			w.sample()
			if w.plan != nil && int(w.now)%int(w.beh.SweepEveryS) == 0 {
				w.sweep()
			}
			if w.q.len() > 0 {
				w.schedule(w.now+sampleS, evSample, 0, 0, 0)
			}
		case evAdvance:
			p := w.parties[e.a]
			if p.ver == e.ver && p.state == pMoving {
				w.advance(e.a, p)
			}
		case evPass:
			g := w.gates[e.a]
			if g.ver == e.ver {
				w.pass(int(e.a), g)
			}
		case evDepart:
			p := w.parties[e.a]
			if p.ver == e.ver && p.state == pWaiting {
				w.depart(e.a, p)
			}
		case evInject:
			if err := w.inject(int(e.a)); err != nil {
				return err
			}
		default:
			if w.plan != nil {
				if err := w.planEvent(e); err != nil {
					return err
				}
			}
		}
	}
	w.finishSeries()
	return nil
}

// sampleS is the measurement step: a minute.
const sampleS = 60.0

// depart puts a party on the road, with whoever is aboard.
func (w *world) depart(pi int32, p *party) {
	if w.plan != nil {
		if w.closedKnown(p.gate) {
			// Its escort knows the gate is closed: the group waits at its
			// rally point for its revision (or, with none, the radio's
			// answer: approve).
			p.held = true
			return
		}
		w.boardGroup(pi, p)
		if p.people == 0 {
			p.state = pCancelled
			return
		}
	} else {
		w.move(p.people, stHome, stOnRoad)
	}
	p.state = pMoving
	p.pos = -1
	w.enterNext(pi, p)
}

// enterNext moves a party onto its next piece of road, or into its gate's
// queue at the end of its path.
func (w *world) enterNext(pi int32, p *party) {
	p.pos++
	if p.pos >= len(p.path.pieces) {
		w.arrive(pi, p)
		return
	}
	id := p.path.pieces[p.pos]
	if w.rd.pieces[id].blocked {
		w.stuck(pi, p)
		return
	}
	w.rd.pieces[id].vehicles += p.vehicles
	p.entered = w.now
	w.schedule(w.now+w.rd.travelS(id, p.path.ff[p.pos]), evAdvance, pi, 0, p.ver)
	if !p.seenSent && p.pos == len(p.path.pieces)/2 && w.plan != nil {
		p.seenSent = true
		pt := p.path.from[p.pos]
		w.emitEvent(fieldEvent{Kind: muster.FieldSeen, Group: p.id, Lat: round6(pt[1]), Lon: round6(pt[0])})
	}
}

// advance: a party reaches the end of its piece.
func (w *world) advance(pi int32, p *party) {
	w.leavePiece(p)
	w.enterNext(pi, p)
}

func (w *world) leavePiece(p *party) {
	if p.pos < 0 || p.pos >= len(p.path.pieces) {
		return
	}
	id := p.path.pieces[p.pos]
	w.rd.pieces[id].vehicles -= p.vehicles
	w.expo.add(p.people, w.rd.riskOf(id), w.now-p.entered)
}

// stuck: the road ahead is blocked (or the gate closed on it).
func (w *world) stuck(pi int32, p *party) {
	p.state = pStuck
	p.ver++
	if w.reroute != nil {
		w.reroute(w, p)
		return
	}
	w.askOpsRoom(p)
}

// askOpsRoom: a group stopped before a block or at a closed gate, with no
// revision on its way, radios the operations room; the answer (the open
// gate it reaches soonest by open roads) comes when a re-plan would have.
func (w *world) askOpsRoom(p *party) {
	if w.plan == nil || p.pending != nil {
		return
	}
	p.pending = &groupRevision{nearest: true}
	w.schedule(w.now+w.beh.OperatorDelayS+w.beh.EscortDelayS, evEscort, p.idx, 0, 0)
}

// where is a party's position now (at the start of its path while it
// holds back before driving it).
func (p *party) where() orb.Point {
	if p.pos < 0 && len(p.path.from) > 0 {
		return p.path.from[0]
	}
	if p.pos >= 0 && p.pos < len(p.path.from) {
		return p.path.from[p.pos]
	}
	return p.path.end
}

// takePath sends a stopped or moving party along a new path to a gate.
func (w *world) takePath(pi int32, p *party, np path, gate int) {
	switch p.state {
	case pMoving:
		w.leavePiece(p)
	case pQueued:
		w.leaveQueue(pi, p)
	}
	p.ver++
	p.path, p.gate, p.pos = np, gate, -1
	p.state = pMoving
	w.enterNext(pi, p)
}

// takePathAt is takePath for a party that drives its new path only from
// at: until then it waits where it is, out of any gate's queue.
func (w *world) takePathAt(pi int32, p *party, np path, gate int, at float64) {
	if at <= w.now {
		w.takePath(pi, p, np, gate)
		return
	}
	switch p.state {
	case pMoving:
		w.leavePiece(p)
	case pQueued:
		w.leaveQueue(pi, p)
	}
	p.ver++
	p.path, p.gate, p.pos = np, gate, -1
	p.state = pMoving
	w.schedule(at, evAdvance, pi, 0, p.ver) // advance from pos -1: onto its first piece
}

// arrive: a party joins its gate's queue.
func (w *world) arrive(pi int32, p *party) {
	g := w.gates[p.gate]
	p.state = pQueued
	p.arrivedS = w.now
	if p.sweep {
		p.sweep = false
		g.sweeping -= p.people
	}
	g.queue = append(g.queue, pi)
	g.waiting += p.people
	w.move(p.people, stOnRoad, stAtGate)
	g.minuteMax = max(g.minuteMax, g.waiting)
	g.maxWaiting = max(g.maxWaiting, g.waiting)
	if w.plan != nil {
		w.emitEvent(fieldEvent{Kind: muster.FieldArrived, Group: p.id, Gate: g.id})
	}
	if g.factor == 0 {
		// A closed gate: with a plan, the group waits in the crowd until
		// its escort is told where to go; without, it looks for another.
		if w.reroute != nil {
			w.reroute(w, p)
		} else {
			w.askOpsRoom(p)
		}
		return
	}
	w.startPassing(p.gate, g)
}

func (w *world) leaveQueue(pi int32, p *party) {
	g := w.gates[p.gate]
	if i := slices.Index(g.queue, pi); i >= 0 {
		g.queue = slices.Delete(g.queue, i, i+1)
	}
	g.waiting -= p.people
	w.move(p.people, stAtGate, stOnRoad)
}

// startPassing schedules the next passage at an open gate with a queue.
func (w *world) startPassing(gi int, g *gateSim) {
	if g.passing || len(g.queue) == 0 || g.rate() <= 0 {
		return // a gate without throughput passes nobody: its queue stays
	}
	g.passing = true
	g.ver++
	next := math.Max(w.now, g.lastPass+1/g.rate())
	w.schedule(next, evPass, int32(gi), 0, g.ver)
}

// pass lets the next person through.
func (w *world) pass(gi int, g *gateSim) {
	g.passing = false
	if g.rate() <= 0 || len(g.queue) == 0 {
		return
	}
	pi := g.queue[0]
	p := w.parties[pi]
	g.lastPass = w.now
	g.waiting--
	g.through++
	g.minuteThru++
	g.countPending++
	g.waits = append(g.waits, w.now-p.arrivedS)
	g.passLog = append(g.passLog, w.now)
	p.people--
	w.move(1, stAtGate, stSafe)
	if len(p.members) > 0 {
		h := w.hh[p.members[0]]
		h.through++
		if h.through == h.people {
			h.state = stSafe
			p.members = p.members[1:]
		}
	}
	if p.people == 0 {
		p.state = pDone
		g.queue = g.queue[1:]
	}
	w.startPassing(gi, g)
}

// setGate changes a gate's state: open (factor 1), restricted, closed (0).
func (w *world) setGate(gi int, status string, factor float64) {
	g := w.gates[gi]
	g.status, g.factor = status, factor
	g.statusLog = append(g.statusLog, statusChange{w.now, status, factor})
	g.ver++
	g.passing = false
	if w.plan != nil {
		w.emitEvent(fieldEvent{Kind: muster.FieldGateState, Gate: g.id, GateStatus: status, Queue: g.waiting})
	}
	if factor > 0 {
		w.startPassing(gi, g)
		return
	}
	// The parties waiting at a closed gate are stuck there until told
	// (or, without a plan, find another gate by themselves).
	if w.reroute != nil {
		for _, pi := range slices.Clone(g.queue) {
			w.reroute(w, w.parties[pi])
		}
	}
}
