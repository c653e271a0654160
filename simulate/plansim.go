package simulate

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
)

// randStream is a household's own random numbers.
type randStream = *rand.Rand

func streamFor(seed uint64, id string) randStream {
	h := fnv.New64a()
	h.Write([]byte(id))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// planRun is the part of a run that follows muster's plan: the plan in
// force, the groups by id, the re-plans proposed and approved.
type planRun struct {
	current   *plan.Plan
	groupIx   map[string]int32
	hhIx      map[string]int32
	proposals map[int]*plan.Plan
	// pendingOrder lists the injects whose re-plan awaits approval, in
	// order: each revises the one before.
	pendingOrder []int
	replans      []ReplanRecord
	legs         map[string]leg // rally point and gate -> a planned route between them
	sweeps       int
	checks       []replanCheck
}

type leg struct {
	line      orb.LineString
	durationS float64
}

// groupRevision is a revised instruction on its way to a group's escort.
type groupRevision struct {
	cancel bool
	// nearest: no revision names the group, yet it stands at a closed
	// gate or a blocked road: the operations room sends it by radio to
	// the open gate it can reach soonest.
	nearest bool
	// hold: its gate closed; stop where it is until told where to go.
	hold    bool
	departS float64
	arriveS float64 // when it is to be at its gate
	gate    int
	path    path
	moving  bool // re-routed on the move
}

func (w *world) secs(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return t.Sub(w.start).Seconds()
}

// loadPlan sets up the households and the groups of the approved plan.
func (w *world) loadPlan(pl *plan.Plan, hs []muster.Household) error {
	pr := &planRun{current: pl, groupIx: map[string]int32{}, hhIx: map[string]int32{}, proposals: map[int]*plan.Plan{}, legs: map[string]leg{}}
	w.plan = pr
	w.rallies, w.late = map[string][]int32{}, map[string][]int32{}
	for i := range hs {
		h := &hs[i]
		if _, dup := pr.hhIx[h.ID]; dup {
			return muster.Errorf(muster.EINVALID, "simulate: household %s is twice in the evacuee list", h.ID)
		}
		people := max(h.PartySize, 0)
		pr.hhIx[h.ID] = int32(len(w.hh))
		w.hh = append(w.hh, &hhSim{h: h, people: people, state: stUnserved, party: -1, rng: streamFor(w.seed, h.ID), instr: instr{group: -1}})
		w.states[stUnserved] += people
		w.total += people
	}
	for _, g := range pl.Groups {
		if _, ok := w.gateIx[g.Gate]; !ok {
			return muster.Errorf(muster.EINVALID, "simulate: group %s goes to gate %q, not in the places file", g.ID, g.Gate)
		}
		w.addGroup(g)
	}
	for _, ph := range pl.Households {
		hi, ok := pr.hhIx[ph.ID]
		if !ok {
			return muster.Errorf(muster.EINVALID, "simulate: the plan names household %s, not in the evacuee list", ph.ID)
		}
		gi, ok := pr.groupIx[ph.Group]
		if !ok {
			return muster.Errorf(muster.EINVALID, "simulate: household %s is in group %q, not in the plan", ph.ID, ph.Group)
		}
		h := w.hh[hi]
		h.pending = instr{version: 1, group: gi, rally: ph.RallyPoint, reportByS: w.secs(ph.ReportBy), walkS: ph.Walk.DurationS, walkExpo: ph.Walk.Exposure}
		w.move(h.people, stUnserved, stNotReached)
		h.state = stNotReached
		if d, _, ok := w.beh.deliver(h.h, h.rng); ok {
			w.schedule(math.Max(0, -w.beh.IssueLeadS+d), evReceive, hi, 1, 0)
		}
	}
	for pi, p := range w.parties {
		w.schedule(p.departS, evDepart, int32(pi), 0, p.ver)
	}
	return nil
}

// addGroup makes a party for a group of the plan.
func (w *world) addGroup(g plan.Group) int32 {
	pi := int32(len(w.parties))
	p := &party{idx: pi, id: g.ID, gate: w.gateIx[g.Gate], rally: g.RallyPoint, departS: w.secs(g.Departure), vehicles: int32(max(1, g.Vehicles))}
	p.path = w.rd.pathOf(lineOf(g.Route), g.Route.DurationS)
	p.seats = g.People
	if g.RouteFrom.IsZero() {
		w.plan.legs[g.RallyPoint+"\x00"+g.Gate] = leg{lineOf(g.Route), g.Route.DurationS}
	}
	for _, id := range g.Households {
		if hi, ok := w.plan.hhIx[id]; ok {
			p.planned = append(p.planned, hi)
		}
	}
	w.parties = append(w.parties, p)
	w.plan.groupIx[g.ID] = pi
	return pi
}

func lineOf(r plan.Route) orb.LineString {
	if r.Geometry == nil {
		return nil
	}
	if ls, ok := r.Geometry.Coordinates.(orb.LineString); ok {
		return ls
	}
	return nil
}

func (w *world) planEvent(e event) error {
	switch e.kind {
	case evReceive:
		w.receive(e.a, int(e.b))
	case evLeave:
		h := w.hh[e.a]
		if h.ver == e.ver && h.state == stHome {
			w.move(h.people, stHome, stWalking)
			h.state = stWalking
			h.leftS = w.now
			w.schedule(w.now+w.walkTime(h, h.instr.walkS), evAtRally, e.a, 0, h.ver)
		}
	case evAtRally:
		h := w.hh[e.a]
		if h.ver == e.ver && h.state == stWalking {
			w.atRally(e.a, h)
		}
	case evEscort:
		w.escort(e.a)
	case evApprove:
		return w.approve(int(e.a))
	}
	return nil
}

func (w *world) walkTime(h *hhSim, s float64) float64 {
	f := 1 + w.beh.WalkSpread*(2*h.rng.Float64()-1)
	if h.h.Priority == muster.PriorityMobility {
		f *= w.beh.MobilityFactor
	}
	return s * f
}

// receive: an instruction reaches a household; it acts on it now.
func (w *world) receive(hi int32, version int) {
	h := w.hh[hi]
	if version != h.pending.version || version <= h.instr.version {
		return // superseded while on its way
	}
	prev := h.instr
	h.instr = h.pending
	if !h.reached {
		h.reached = true
		if h.rng.Float64() < w.beh.AckShare {
			w.acks++
		}
	}
	switch h.state {
	case stNotReached, stHome:
		from := h.state
		if !h.decided {
			h.decided = true
			h.willGo = h.rng.Float64() >= w.beh.NoShowShare
		}
		if h.instr.group < 0 {
			w.move(h.people, from, stUnserved)
			h.state = stUnserved
			return
		}
		if !h.willGo {
			w.move(h.people, from, stNoShow)
			h.state = stNoShow
			return
		}
		w.move(h.people, from, stHome)
		h.state = stHome
		h.ver++
		ready := w.now + w.beh.PrepareMinS + h.rng.Float64()*(w.beh.PrepareMaxS-w.beh.PrepareMinS)
		meant := h.instr.reportByS - h.instr.walkS - h.rng.Float64()*w.beh.MarginMaxS
		leave := math.Max(ready, meant)
		if h.rng.Float64() < w.beh.LateShare {
			leave += h.rng.ExpFloat64() * w.beh.LateMeanS
		}
		w.schedule(leave, evLeave, hi, 0, h.ver)
	case stWalking:
		if h.instr.group < 0 || h.instr.rally != prev.rally {
			// On the way: turn towards the new rally point (or home, and
			// wait there, when no longer served).
			h.ver++
			if h.instr.group < 0 {
				w.move(h.people, stWalking, stUnserved)
				h.state = stUnserved
				return
			}
			w.schedule(w.now+w.walkTime(h, h.instr.walkS), evAtRally, hi, 0, h.ver)
		}
	case stAtRally:
		if h.instr.rally != prev.rally {
			w.leaveRally(hi, prev.rally)
			if h.instr.group < 0 {
				w.move(h.people, stAtRally, stStranded)
				h.state = stStranded
				return
			}
			w.move(h.people, stAtRally, stWalking)
			h.state = stWalking
			h.ver++
			w.schedule(w.now+w.walkTime(h, rallyWalkS(w, prev.rally, h.instr.rally, h.instr.walkS)), evAtRally, hi, 0, h.ver)
			return
		}
		if p := w.partyOf(h); p == nil || p.state != pWaiting {
			w.addLate(h.instr.rally, hi)
		}
	}
}

// rallyWalkS is the walk from one rally point to another: the straight
// line at 1.2 m/s with a third more for the streets, but never longer
// than the walk from home the plan gives.
func rallyWalkS(w *world, from, to string, fromHomeS float64) float64 {
	a, okA := w.rallyPt[from]
	b, okB := w.rallyPt[to]
	if !okA || !okB {
		return fromHomeS
	}
	return math.Min(fromHomeS, muster.DistanceM(a[0], a[1], b[0], b[1])*1.33/1.2)
}

func (w *world) partyOf(h *hhSim) *party {
	if h.instr.group < 0 || int(h.instr.group) >= len(w.parties) {
		return nil
	}
	return w.parties[h.instr.group]
}

func (w *world) atRally(hi int32, h *hhSim) {
	w.move(h.people, stWalking, stAtRally)
	h.state = stAtRally
	w.expo.add(h.people, 1, h.instr.walkExpo)
	w.rallies[h.instr.rally] = append(w.rallies[h.instr.rally], hi)
	w.emitEvent(fieldEvent{Kind: muster.FieldCheckIn, Household: h.h.ID, RallyPoint: h.instr.rally})
	if p := w.partyOf(h); p == nil || p.state != pWaiting {
		w.addLate(h.instr.rally, hi)
	}
}

func (w *world) addLate(rally string, hi int32) {
	if !slices.Contains(w.late[rally], hi) {
		w.late[rally] = append(w.late[rally], hi)
	}
}

func (w *world) leaveRally(hi int32, rally string) {
	if i := slices.Index(w.rallies[rally], hi); i >= 0 {
		w.rallies[rally] = slices.Delete(w.rallies[rally], i, i+1)
	}
	if i := slices.Index(w.late[rally], hi); i >= 0 {
		w.late[rally] = slices.Delete(w.late[rally], i, i+1)
	}
}

// boardGroup: a group leaves its rally point with those of its households
// who are there, then, while it has seats left (the people it was planned
// for), whoever came too late for their own group, first come first.
func (w *world) boardGroup(pi int32, p *party) {
	late := w.late[p.rally]
	board := func(hi int32) {
		h := w.hh[hi]
		p.members = append(p.members, hi)
		p.people += h.people
		w.move(h.people, stAtRally, stOnRoad)
		h.state = stOnRoad
		h.party = pi
	}
	var keep []int32
	for _, hi := range w.rallies[p.rally] {
		if w.hh[hi].instr.group == pi && !slices.Contains(late, hi) {
			board(hi)
		} else {
			keep = append(keep, hi)
		}
	}
	var stillLate []int32
	for _, hi := range late {
		if p.people+w.hh[hi].people <= p.seats {
			board(hi)
			if i := slices.Index(keep, hi); i >= 0 {
				keep = slices.Delete(keep, i, i+1)
			}
		} else {
			stillLate = append(stillLate, hi)
		}
	}
	w.rallies[p.rally] = keep
	w.late[p.rally] = stillLate
	p.left = slices.Clone(p.members)
	if p.people > 0 {
		ids := make([]string, len(p.members))
		for i, hi := range p.members {
			ids[i] = w.hh[hi].h.ID
		}
		w.emitEvent(fieldEvent{Kind: muster.FieldDeparted, Group: p.id, Households: ids, RallyPoint: p.rally, People: p.people})
	}
}

// state is what the field knows when a re-plan is made: who is at a
// rally point (and which), who is through, which groups are on the move
// with whom and where, who did not come by their report-by time, the
// gates' states and queues.
func (w *world) state(at time.Time) plan.State {
	st := plan.State{At: at, CheckedIn: map[string]bool{}, WaitingAt: map[string]string{}, Through: map[string]bool{},
		HouseholdsThrough: map[string]bool{}, Moving: map[string]plan.MovingGroup{}, Missing: map[string]plan.Missing{},
		GateStatus: map[string]string{}, GateQueues: map[string]int{}, Positions: map[string]orb.Point{}}
	for _, h := range w.hh {
		switch h.state {
		case stAtRally:
			st.CheckedIn[h.h.ID] = true
			st.WaitingAt[h.h.ID] = h.instr.rally
		case stOnRoad, stAtGate:
			st.CheckedIn[h.h.ID] = true
		case stSafe:
			st.CheckedIn[h.h.ID] = true
			st.HouseholdsThrough[h.h.ID] = true
		case stHome, stWalking, stNoShow, stNotReached:
			// Not there by its report-by time: overdue; half an hour
			// later, a no-show.
			if h.instr.group >= 0 && h.instr.reportByS < w.now {
				kind := plan.MissingOverdue
				if w.now-h.instr.reportByS > 1800 {
					kind = plan.MissingNoShow
				}
				st.Missing[h.h.ID] = plan.Missing{Kind: kind, Since: w.start.Add(time.Duration(h.instr.reportByS * float64(time.Second))), RallyPoint: h.instr.rally}
			}
		}
	}
	for _, p := range w.parties {
		if p.sweep || strings.HasPrefix(p.id, "sweep-") {
			continue // not in the plan: the plan knows its people as checked in
		}
		switch p.state {
		case pMoving, pStuck, pQueued:
			mg := plan.MovingGroup{People: p.people, Departed: w.start.Add(time.Duration(p.departS * float64(time.Second))), SeenAt: at}
			for _, hi := range p.left { // who left with it: those through too
				mg.Households = append(mg.Households, w.hh[hi].h.ID)
			}
			pt := p.where()
			mg.Lat, mg.Lon = pt[1], pt[0]
			st.Moving[p.id] = mg
			st.Positions[p.id] = pt
		case pDone:
			st.Through[p.id] = true
		}
	}
	for _, g := range w.gates {
		st.GateStatus[g.id] = g.status
		if g.waiting > 0 {
			st.GateQueues[g.id] = g.waiting
		}
	}
	return st
}

// approve: the operator approves the re-plan proposed for an inject; the
// escorts and the households whose instruction changed are told.
func (w *world) approve(i int) error {
	np := w.plan.proposals[i]
	if np == nil {
		return nil
	}
	delete(w.plan.proposals, i)
	if k := slices.Index(w.plan.pendingOrder, i); k >= 0 {
		w.plan.pendingOrder = slices.Delete(w.plan.pendingOrder, k, k+1)
	}
	if err := plan.Approve(np); err != nil {
		return fmt.Errorf("simulate: approving the re-plan of inject %d: %w", i, err)
	}
	old := w.plan.current
	w.plan.current = np
	oldGroups := map[string]plan.Group{}
	for _, g := range old.Groups {
		oldGroups[g.ID] = g
	}
	newGroups := map[string]bool{}
	rev := 0
	for _, g := range np.Groups {
		newGroups[g.ID] = true
		gi, ok := w.gateIx[g.Gate]
		if !ok {
			continue
		}
		pi, exists := w.plan.groupIx[g.ID]
		if !exists {
			pi = w.addGroup(g)
			p := w.parties[pi]
			p.departS = math.Max(p.departS, w.now+w.beh.EscortDelayS)
			w.schedule(p.departS, evDepart, pi, 0, p.ver)
			continue
		}
		og := oldGroups[g.ID]
		if og.Gate == g.Gate && og.Departure.Equal(g.Departure) && og.RouteFrom.Equal(g.RouteFrom) && og.Route.DurationS == g.Route.DurationS {
			continue
		}
		p := w.parties[pi]
		p.pending = &groupRevision{departS: w.secs(g.Departure), arriveS: w.secs(g.Arrival), gate: gi, path: w.rd.pathOf(lineOf(g.Route), g.Route.DurationS), moving: !g.RouteFrom.IsZero()}
		p.seats = g.People
		p.planned = p.planned[:0]
		for _, id := range g.Households {
			p.planned = append(p.planned, w.plan.hhIx[id])
		}
		w.schedule(w.now+w.beh.EscortDelayS, evEscort, pi, 0, 0)
		rev++
	}
	for _, g := range old.Groups {
		if !newGroups[g.ID] {
			if pi, ok := w.plan.groupIx[g.ID]; ok {
				w.parties[pi].pending = &groupRevision{cancel: true}
				w.schedule(w.now+w.beh.EscortDelayS, evEscort, pi, 0, 0)
				rev++
			}
		}
	}
	byID, oldHH := map[string]plan.Household{}, map[string]plan.Household{}
	for _, h := range np.Households {
		byID[h.ID] = h
	}
	for _, h := range old.Households {
		oldHH[h.ID] = h
	}
	changed := 0
	if np.Diff != nil {
		for _, c := range np.Diff.Changes {
			hi, ok := w.plan.hhIx[c.Household]
			if !ok {
				continue
			}
			if oh, had := oldHH[c.Household]; had && !ownInstructionChanged(oh, byID[c.Household]) {
				// Only its group's gate, route or departure changed: what
				// the escort's instruction says, not the household's
				// (instruct.Build: the gate only in the escort's). Nothing
				// is sent to it, as the issuing re-issues only what changed.
				continue
			}
			h := w.hh[hi]
			ni := instr{version: h.pending.version + 1, group: -1}
			if ph, ok := byID[c.Household]; ok {
				if gi, ok := w.plan.groupIx[ph.Group]; ok {
					ni = instr{version: h.pending.version + 1, group: gi, rally: ph.RallyPoint, reportByS: w.secs(ph.ReportBy), walkS: ph.Walk.DurationS, walkExpo: ph.Walk.Exposure}
				}
			}
			if ni.version == 1 {
				ni.version = 2 // the first was never sent: still a re-issue
			}
			h.pending = ni
			changed++
			w.reissued++
			if d, _, ok := w.beh.deliver(h.h, h.rng); ok {
				w.schedule(w.now+d, evReceive, hi, int32(ni.version), 0)
			}
		}
	}
	for k := range w.plan.replans {
		if r := &w.plan.replans[k]; r.Inject == i+1 {
			r.Approved, r.Reissued, r.GroupsRevised = true, changed, rev
		}
	}
	// Groups the re-plan leaves where they cannot go on (at a closed gate
	// or before a block, with no revision): sent on by radio.
	for pi, p := range w.parties {
		stopped := p.state == pStuck || (p.state == pQueued && w.gates[p.gate].factor == 0) || (p.state == pWaiting && p.held)
		if stopped && p.pending == nil {
			p.pending = &groupRevision{nearest: true}
			w.schedule(w.now+w.beh.EscortDelayS, evEscort, int32(pi), 0, 0)
			rev++
		}
	}
	why := map[string]int{}
	if np.Diff != nil {
		for _, c := range np.Diff.Changes {
			why[c.Reason]++
		}
	}
	w.logf("operator approved the re-plan of inject %d: %d households re-instructed, %d groups revised (%v)", i+1, changed, rev, why)
	return nil
}

// holdFor: gate gi has just closed. The operations room radios the escorts
// of the groups driving to it to stop where they are until their revision
// comes (it reaches them in EscortDelayS); a group that has not left does
// not leave for it (depart). Without this, groups would keep arriving at a
// closed gate until the re-plan reaches them, and crowd it.
func (w *world) holdFor(gi int) {
	for _, p := range w.parties {
		if p.gate == gi && p.state == pMoving && p.pending == nil {
			p.pending = &groupRevision{hold: true}
			w.schedule(w.now+w.beh.EscortDelayS, evEscort, p.idx, 0, 0)
		}
	}
}

// closedKnown reports whether gate gi is closed and its closing has had
// time to reach the escorts.
func (w *world) closedKnown(gi int) bool {
	g := w.gates[gi]
	if g.factor > 0 {
		return false
	}
	last := g.statusLog[len(g.statusLog)-1]
	return w.now >= last.T+w.beh.EscortDelayS || last.T == 0
}

// ownInstructionChanged reports whether a household's own instruction
// differs between two plans: what instruct.Build puts in it (rally point,
// walk, report-by time, group, people) as opposed to its escort's (gate,
// route, departure). A household missing from the new plan (zero) has
// changed: it is no longer served.
func ownInstructionChanged(o, n plan.Household) bool {
	return n.ID == "" || o.RallyPoint != n.RallyPoint || o.Group != n.Group || !o.ReportBy.Equal(n.ReportBy) || o.People != n.People ||
		o.Walk.DurationS != n.Walk.DurationS || o.Walk.Escape != n.Walk.Escape || !slices.Equal(lineOf(o.Walk), lineOf(n.Walk))
}

// escort: a group's escort receives its revised instruction.
func (w *world) escort(pi int32) {
	p := w.parties[pi]
	r := p.pending
	if r == nil {
		return
	}
	p.pending = nil
	switch p.state {
	case pWaiting:
		if r.hold {
			return // not left: it will not leave for a closed gate (depart)
		}
		p.ver++
		p.held = false
		if r.cancel {
			p.state = pCancelled
			// Its households at the rally point go with the next group.
			for _, hi := range w.rallies[p.rally] {
				if w.hh[hi].instr.group == pi {
					w.addLate(p.rally, hi)
				}
			}
			return
		}
		if r.nearest {
			// Held at its rally point, and no revision names it: by radio,
			// the open gate it reaches soonest.
			rt := w.nearestOpenGate(w.rallyPt[p.rally])
			if rt.gate < 0 {
				return
			}
			p.departS, p.gate, p.path = w.now, rt.gate, w.rd.pathOf(rt.line, rt.durationS)
			w.schedule(p.departS, evDepart, pi, 0, p.ver)
			return
		}
		p.departS, p.gate, p.path = math.Max(r.departS, w.now), r.gate, r.path
		w.schedule(p.departS, evDepart, pi, 0, p.ver)
	case pMoving, pStuck, pQueued:
		if r.hold {
			if p.state == pMoving && w.gates[p.gate].factor == 0 {
				// Its gate closed: it pulls over where it is and waits for
				// its revision, out of the closed gate's crowd.
				w.leavePiece(p)
				p.ver++
				p.state = pStuck
			}
			return
		}
		if r.nearest {
			if p.state == pStuck || (p.state == pQueued && w.gates[p.gate].factor == 0) {
				w.car = w.in.Car
				rerouteNearest(w, p)
			}
			return
		}
		if r.cancel || len(r.path.pieces) == 0 {
			// A group the re-plan no longer lists (or gives no route)
			// goes on as it was; stopped at a closed gate or before a
			// block, its escort radios in for the nearest open gate, as
			// one the re-plan left alone does.
			if p.state == pStuck || (p.state == pQueued && w.gates[p.gate].factor == 0) {
				w.car = w.in.Car
				rerouteNearest(w, p)
			}
			return
		}
		// The escort turns towards the revised gate from where the group
		// is now: the re-plan placed it where it was when the re-plan was
		// made (or at its rally point, when it had not left yet), and it
		// has driven on since. It holds back where it is (off the road and
		// out of any gate's queuing area) when it would be at the gate
		// before its turn.
		rt, ok := w.routeTo(p.where(), r.gate)
		np := w.rd.pathOf(rt.line, rt.durationS)
		for _, id := range np.pieces {
			ok = ok && !w.rd.pieces[id].blocked
		}
		if !ok {
			// No way there (the revised route runs into a block the
			// picture does not hold): by radio, the nearest open gate by
			// open roads.
			w.car = w.in.Car
			rerouteNearest(w, p)
			return
		}
		w.takePathAt(pi, p, np, r.gate, r.arriveS-rt.durationS)
	}
}

// sweep: every SweepEveryS the operations room sends a group, as large as
// the plan's groups, from each rally point where people wait whose group
// has left without them, along a planned route from there to an open
// gate no planned group is still coming to, only while that gate's crowd
// (waiting, and sweeps on their way) stays within half its crowd limit:
// sweeps never make the crowd.
func (w *world) sweep() {
	// A gate takes sweeps only once no planned group is still to come to
	// it: the plan's schedule is what keeps its crowd in bounds.
	busy := make([]bool, len(w.gates))
	for _, p := range w.parties {
		if !p.sweep && (p.state == pWaiting || p.state == pMoving || p.state == pStuck) {
			busy[p.gate] = true
		}
	}
	for _, rally := range sortedKeys(w.late) {
		for len(w.late[rally]) > 0 {
			gi, lg := -1, leg{}
			for k, g := range w.gates {
				l, ok := w.plan.legs[rally+"\x00"+g.id]
				if ok && !busy[k] && g.factor > 0 && g.waiting+g.sweeping+w.maxGroup <= g.crowdLimit/2 && (gi < 0 || l.durationS < lg.durationS) {
					gi, lg = k, l
				}
			}
			if gi < 0 {
				break
			}
			w.plan.sweeps++
			pi := int32(len(w.parties))
			p := &party{idx: pi, id: fmt.Sprintf("sweep-%04d", w.plan.sweeps), gate: gi, rally: rally, departS: w.now, vehicles: 1, seats: w.maxGroup, sweep: true}
			p.path = w.rd.pathOf(lg.line, lg.durationS)
			w.parties = append(w.parties, p)
			before := len(w.late[rally])
			w.boardGroup(pi, p)
			if p.people == 0 || len(w.late[rally]) == before {
				p.state = pCancelled
				break
			}
			w.gates[gi].sweeping += p.people
			p.state = pMoving
			p.pos = -1
			w.enterNext(pi, p)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
