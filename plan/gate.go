package plan

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/paulmach/orb"
)

// clock is a moment as the schedule keeps it: nanoseconds since the Unix
// epoch. Gate passages run on it exactly; the times a plan states are
// whole seconds.
type clock int64

// never is later than any moment a plan schedules.
const never = clock(math.MaxInt64 / 2)

func clockOf(t time.Time) clock { return clock(t.UnixNano()) }

func (c clock) time() time.Time { return time.Unix(0, int64(c)).UTC() }

// ceilSec rounds c up to a whole second.
func (c clock) ceilSec() clock {
	const s = clock(time.Second)
	if r := c % s; r != 0 {
		if c > 0 {
			return c - r + s
		}
		return c - r
	}
	return c
}

// crowdMargin is how much longer than its stated through time a group may
// be counted at its gate: the plan states times rounded up to the second,
// and a re-simulation from those (plancheck's: first in, first out from
// the stated arrivals, each passage from the later of its arrival and the
// end of the one before) may see a group through up to a second after the
// time stated, when it had to wait for the one before.
const crowdMargin = clock(time.Second)

// goneAfter is when a booking is surely gone from the gate, in any
// re-simulation from the stated times, given when the one before it in the
// queue is: at its stated through time when it arrives after that one is
// gone (it passes from its arrival, as stated), else up to crowdMargin
// later; never before the one before it.
func goneAfter(prevGone clock, b booking) clock {
	t := b.end.ceilSec()
	if b.arrive < prevGone {
		t += crowdMargin
	}
	return max(t, prevGone)
}

// gateState is a gate's timeline as the schedule is built. Passages are
// kept in the order of arrival, which is the order the gate takes them
// (first in, first out); each starts no sooner than the one before it
// ends, at the gate's exact throughput. Between passages the gate may
// stand idle, and a later group can be put into such a gap if it arrives
// between its neighbours, passes within the gap and the gate's hours, and
// keeps the people waiting at the gate (arrived, not yet through) within
// the crowd limit all the while: a group takes the earliest feasible
// turn, not the end of the queue.
type gateState struct {
	Gate
	point     orb.Point
	perSecond float64 // people per second
	hours     hours
	origin    clock // nothing passes before it: the plan's start

	books []booking // in arrival order, which is the order of passage
	// gaps are the stretches between passages (and the open end after
	// the last) long enough for one person, in time order; stale says
	// they must be recomputed from books.
	gaps  []gap
	stale bool
}

// booking is one group's turn at a gate.
type booking struct {
	arrive     clock // when it reaches the gate: a whole second
	start, end clock // its passage, exactly
	gone       clock // counted at the gate until then (goneAfter)
	people     int
}

type gap struct{ from, to clock }

// turn is a turn found at a gate: the booking and where it goes.
type turn struct {
	booking
	at  int // its index among the bookings
	gap int // the gap it takes, or -1 when the gaps must be recomputed
}

func newGateState(g Gate, pt orb.Point, perSecond float64, h hours, origin time.Time) *gateState {
	o := clockOf(origin)
	return &gateState{Gate: g, point: pt, perSecond: perSecond, hours: h, origin: o, gaps: []gap{{o, never}}}
}

// pass is how long people take to go through the gate, exactly.
func (g *gateState) pass(people int) clock {
	return clock(float64(people) / g.perSecond * float64(time.Second))
}

// fit is the earliest start from t of a passage of length d inside the
// gate's hours.
func (g *gateState) fit(t clock, d clock) clock {
	if g.hours.always {
		return t
	}
	return clockOf(g.hours.fit(t.time(), time.Duration(d)))
}

// slot finds the earliest turn for a group of people that can reach the
// gate from earliest on (a whole second) and that may arrive up to early
// before its passage starts. It moves only from event to event: the end
// of a gap, or the moment someone waiting goes through. ok is false when
// no turn ends by limit.
func (g *gateState) slot(earliest clock, people int, early, limit clock) (turn, bool) {
	if people > g.CrowdLimit || g.perSecond <= 0 {
		return turn{}, false
	}
	g.refreshGaps()
	pass := g.pass(people)
	lower := earliest
	gi := sort.Search(len(g.gaps), func(i int) bool { return g.gaps[i].to > lower })
	for gi < len(g.gaps) && lower <= limit {
		gp := g.gaps[gi]
		from := max(gp.from, lower)
		if gp.to-from < pass {
			gi++
			continue
		}
		s := g.fit(from, pass)
		if s+pass > limit {
			return turn{}, false // through only after the horizon
		}
		if s+pass > gp.to {
			gi++
			continue
		}
		// Its place in the queue: after those ending by the gap's start,
		// before those starting at its end. It must arrive between them.
		k := sort.Search(len(g.books), func(i int) bool { return g.books[i].start >= gp.to })
		aLo, aHi := lower, never
		if k > 0 {
			aLo = max(aLo, g.books[k-1].arrive)
		}
		if k < len(g.books) {
			aHi = g.books[k].arrive
		}
		if aLo > aHi {
			gi++
			continue
		}
		a := max(aLo, (s - early).ceilSec())
		if a > aHi {
			a = aHi
		}
		if a > s {
			if s = g.fit(a, pass); s+pass > gp.to {
				gi++
				continue
			}
		}
		end := s + pass
		b := booking{arrive: a, start: s, end: end, people: people}
		b.gone = goneAfter(g.goneBefore(k), b)
		if k < len(g.books) && g.books[k].arrive < b.gone && g.books[k].gone < g.books[k].end.ceilSec()+crowdMargin {
			// The one after would wait for it, and be gone later than
			// counted so far: not here.
			gi++
			continue
		}
		next, ok := g.crowdAllows(b)
		if ok {
			return turn{booking: b, at: k, gap: gi}, true
		}
		lower = next.ceilSec() // arrive no sooner than the crowd can shrink
	}
	return turn{}, false
}

// crowdAllows reports whether b's people can wait at the gate from its
// arrival until it is gone without the crowd ever exceeding the limit;
// if not, next is the earliest moment after the first excess at which the
// crowd shrinks. Arrivals and departures are both in booking order, so
// those present at any moment are a run of consecutive bookings.
func (g *gateState) crowdAllows(b booking) (next clock, ok bool) {
	bs := g.books
	lo := sort.Search(len(bs), func(i int) bool { return bs[i].gone > b.arrive })
	occ := b.people
	i := lo
	for ; i < len(bs) && bs[i].arrive <= b.arrive; i++ {
		occ += bs[i].people
	}
	j := lo // bookings [j, i) are present
	if occ > g.CrowdLimit {
		return bs[j].gone, false
	}
	for ; i < len(bs) && bs[i].arrive < b.gone; i++ {
		t := bs[i].arrive
		for ; j < i && bs[j].gone <= t; j++ {
			occ -= bs[j].people
		}
		occ += bs[i].people
		if i+1 < len(bs) && bs[i+1].arrive == t {
			continue // all arriving at t count at once
		}
		if occ > g.CrowdLimit {
			return bs[j].gone, false
		}
	}
	return 0, true
}

// goneBefore is when the booking before position k is gone (the origin
// when there is none).
func (g *gateState) goneBefore(k int) clock {
	if k == 0 {
		return g.origin
	}
	return g.books[k-1].gone
}

// take books a turn slot found.
func (g *gateState) take(t turn) {
	g.books = slices.Insert(g.books, t.at, t.booking)
	for i := t.at + 1; i < len(g.books); i++ { // those after it, if it delays them
		b := &g.books[i]
		gone := max(b.gone, goneAfter(g.books[i-1].gone, *b))
		if gone == b.gone {
			break
		}
		b.gone = gone
	}
	if t.gap >= 0 && !g.stale {
		gp := g.gaps[t.gap]
		var repl []gap
		minLen := g.pass(1)
		if t.start-gp.from >= minLen {
			repl = append(repl, gap{gp.from, t.start})
		}
		if gp.to-t.end >= minLen {
			repl = append(repl, gap{t.end, gp.to})
		}
		g.gaps = slices.Replace(g.gaps, t.gap, t.gap+1, repl...)
	} else {
		g.stale = true
	}
	g.People += t.people
	g.Groups++
	if tt := t.end.ceilSec().time(); tt.After(g.LastThrough) {
		g.LastThrough = tt
	}
}

// bookFixed books a group whose times are already given (a re-plan's
// kept groups), at its place in the arrival order. Its passage is taken
// to end when it is stated through; it starts no sooner than the one
// before it ends.
func (g *gateState) bookFixed(arrive, through time.Time, people int) {
	a, end := clockOf(arrive), clockOf(through)
	k := sort.Search(len(g.books), func(i int) bool { return g.books[i].arrive > a })
	prevEnd := g.origin
	if k > 0 {
		prevEnd = g.books[k-1].end
	}
	end = max(end, prevEnd)
	start := min(max(end-g.pass(people), prevEnd), end)
	b := booking{arrive: a, start: start, end: end, people: people}
	b.gone = goneAfter(g.goneBefore(k), b) + crowdMargin // kept from an earlier plan: its stated times may be rounded
	g.take(turn{booking: b, at: k, gap: -1})
	// Those after it in the queue keep their order and ends.
	for i := k + 1; i < len(g.books); i++ {
		b := &g.books[i]
		if b.start >= g.books[i-1].end {
			break
		}
		b.start = g.books[i-1].end
		b.end = max(b.end, b.start)
		b.gone = max(b.gone, b.end.ceilSec()+crowdMargin)
	}
}

// fitsFixed reports whether a group can keep the turn it was given
// (arriving at arrive, through by through) among the turns booked so far,
// and books it if so.
func (g *gateState) fitsFixed(arrive, through time.Time, people int) bool {
	if people > g.CrowdLimit || g.perSecond <= 0 {
		return false
	}
	g.refreshGaps()
	a, end := clockOf(arrive), clockOf(through)
	start := end - g.pass(people)
	if start < a || start < g.origin || g.fit(start, end-start) != start {
		return false
	}
	// The gap it passes in: its stated through is its exact end rounded
	// up to the second, and so are those of its neighbours, which it may
	// have followed or been followed by without a gap; so its passage,
	// taken back from its stated through, may overlap theirs by under a
	// second. It is then taken to start when the one before ends, or end
	// when the one after starts, as bookFixed takes it: kept as stated,
	// its times are those of the plan revised, which passed as they are.
	gi := sort.Search(len(g.gaps), func(i int) bool { return g.gaps[i].to > start })
	if gi < len(g.gaps) {
		gp := g.gaps[gi]
		if gp.from > start && gp.from-start < crowdMargin {
			start = gp.from
		}
		if gp.to < end && end-gp.to < crowdMargin {
			end = gp.to
		}
	}
	if gi == len(g.gaps) || g.gaps[gi].from > start || g.gaps[gi].to < end || start >= end {
		return false
	}
	k := sort.Search(len(g.books), func(i int) bool { return g.books[i].start >= g.gaps[gi].to })
	if (k > 0 && g.books[k-1].arrive > a) || (k < len(g.books) && g.books[k].arrive < a) {
		return false
	}
	b := booking{arrive: a, start: start, end: end, people: people}
	b.gone = goneAfter(g.goneBefore(k), b) + crowdMargin
	if k < len(g.books) && g.books[k].arrive < b.gone && g.books[k].gone < g.books[k].end.ceilSec()+crowdMargin {
		// The one after would wait for it, and be gone later than
		// counted so far: not here (as in slot).
		return false
	}
	if _, ok := g.crowdAllows(b); !ok {
		return false
	}
	g.take(turn{booking: b, at: k, gap: gi})
	return true
}

// refreshGaps recomputes the gaps from the bookings after a fixed booking.
func (g *gateState) refreshGaps() {
	if !g.stale {
		return
	}
	g.stale = false
	g.gaps = g.gaps[:0]
	minLen := g.pass(1)
	prev := g.origin
	for _, b := range g.books {
		if b.start-prev >= minLen {
			g.gaps = append(g.gaps, gap{prev, b.start})
		}
		prev = max(prev, b.end)
	}
	g.gaps = append(g.gaps, gap{prev, never})
}

// finish fills in the most people waiting at the gate at once, by the
// times the plan states (arrival to through).
func (g *gateState) finish() {
	occ, j := 0, 0
	for i, b := range g.books {
		for ; j < i && g.books[j].end.ceilSec() <= b.arrive; j++ {
			occ -= g.books[j].people
		}
		occ += b.people
		g.MaxWaiting = max(g.MaxWaiting, occ)
	}
}
