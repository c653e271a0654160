package plan

import (
	"slices"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster/route"
)

// rallyState is a rally point as the schedule is built: who waits there
// when.
type rallyState struct {
	RallyPoint
	point  orb.Point
	hours  hours
	toGate []*route.Route // per gate; nil when unreachable
	// footPiece is the piece of the foot network it lies on (footPieces),
	// -1 when no foot road is near it.
	footPiece int32
	stays     []stay // [report by, departure) of each group, by report-by time
}

// stay is a group's time at its rally point, and its people.
type stay struct {
	from, to clock
	people   int
}

// atOnce counts the people at the rally point at t.
func (r *rallyState) atOnce(t clock) int {
	n := 0
	for _, s := range r.stays {
		if s.from > t {
			break
		}
		if s.to > t {
			n += s.people
		}
	}
	return n
}

// capacityAllows reports whether people more can wait over [from, to)
// within the rally point's capacity; if not, next is the earliest moment
// after the first excess at which the crowd there shrinks.
func (r *rallyState) capacityAllows(from, to clock, people int) (next clock, ok bool) {
	if r.Capacity <= 0 {
		return 0, true
	}
	check := func(t clock) (clock, bool) {
		if r.atOnce(t)+people <= r.Capacity {
			return 0, true
		}
		next := never
		for _, s := range r.stays {
			if s.from <= t && s.to > t {
				next = min(next, s.to)
			}
		}
		return next, false
	}
	if next, ok := check(from); !ok {
		return next, false
	}
	for _, s := range r.stays {
		if s.from > from && s.from < to {
			if next, ok := check(s.from); !ok {
				return next, false
			}
		}
	}
	return 0, true
}

// departure returns the earliest departure from d on for a group of
// people that can all be at the rally point at ready and gathers there
// for lead before it leaves (or from ready, when that is later): the wait
// lies within the rally point's hours and keeps it within its capacity.
// It moves from event to event: the next opening, or the moment a group
// there leaves.
func (r *rallyState) departure(d, ready, lead clock, people int, limit clock) clock {
	if r.Capacity > 0 && people > r.Capacity {
		return never
	}
	for d <= limit {
		rb := max(d-lead, ready)
		if !r.hours.always {
			if f := clockOf(r.hours.fit(rb.time(), time.Duration(d-rb))); f != rb {
				d = max(d+clock(time.Second), f+lead)
				continue
			}
		}
		if next, ok := r.capacityAllows(rb, d, people); !ok {
			d = max(d+clock(time.Second), next+lead)
			continue
		}
		return d
	}
	return never
}

// book records a group waiting over [from, to).
func (r *rallyState) book(from, to clock, people int) {
	i, _ := slices.BinarySearchFunc(r.stays, from, func(s stay, t clock) int {
		switch {
		case s.from < t:
			return -1
		case s.from > t:
			return 1
		}
		return 0
	})
	r.stays = slices.Insert(r.stays, i, stay{from, to, people})
	r.People += people
	r.Groups++
}

// finish fills in the most people at the rally point at once.
func (r *rallyState) finish() {
	for _, s := range r.stays {
		r.MaxAtOnce = max(r.MaxAtOnce, r.atOnce(s.from))
	}
}
