package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
)

// State is the state of the field at a moment: what has really happened
// since a plan was made, as the field reported it (issue 13: live
// operations) or as an exercise replays it. A re-plan starts from it
// rather than from the plan's own forecast. The zero State says only that
// nothing is known: everyone is where the plan says they should be at At.
//
// It is also the state file `muster plan replan --state` and `muster plan
// check --state` read (ReadState; JSON, the tags below). Every map is keyed
// by the plan's ids (household, group, place); ids the plan does not know
// are ignored by the planner and reported by the checker. Nothing here is
// trusted beyond what it says: a household both through and waiting is
// taken as through, a group both through and moving as through.
//
// Stable: the live-state code of the server fills it; fields are only ever
// added.
type State struct {
	// At is now: nothing new is scheduled before it.
	At time.Time `json:"at"`

	// Through holds the groups already through their gate (all of them:
	// a group only partly through is still Moving). Who went with it is
	// not recorded: a household of it in Missing missed it, and goes to a
	// later group.
	Through map[string]bool `json:"groups_through,omitempty"`
	// HouseholdsThrough holds households through a gate on their own or
	// with a group (a gate count or arrival that named them): they are
	// never planned again.
	HouseholdsThrough map[string]bool `json:"households_through,omitempty"`

	// Moving holds the groups that left their rally point and are not yet
	// through, by group id: who is really in each, and where it was last
	// seen. A group the plan has leaving before At that is in neither
	// Moving nor Through is taken as on the move as planned (placed along
	// its route by the time elapsed).
	Moving map[string]MovingGroup `json:"moving,omitempty"`
	// Positions holds where groups on the move are now (lon, lat). Kept
	// for callers that predate Moving; Moving's last position wins.
	Positions map[string]orb.Point `json:"positions,omitempty"`

	// CheckedIn holds the households already at their rally point: they
	// do not walk again (at the rally point WaitingAt names, else the one
	// the plan gave them).
	CheckedIn map[string]bool `json:"checked_in,omitempty"`
	// WaitingAt holds, for households checked in, the rally point where
	// they wait (household id -> place id). A household in WaitingAt is
	// checked in whether or not CheckedIn names it.
	WaitingAt map[string]string `json:"waiting_at,omitempty"`

	// Missing holds households that did not come by their report-by time:
	// overdue, then no-show after the grace period. At each re-plan they
	// are taken out of the group they missed and re-assigned to a later
	// group (from home: where they are is unknown), with the reason in the
	// plan's diff; never silently dropped.
	Missing map[string]Missing `json:"missing,omitempty"`

	// GateRates holds each gate's measured rate, people per hour, while
	// people were waiting at it (what the gate really passes, not the
	// demand). A rate lower than the planned throughput replaces it from
	// At on; a higher one is ignored (the plan stays on the safe side).
	GateRates map[string]float64 `json:"gate_rates,omitempty"`
	// GateStatus holds gates' states as seen in the field (open,
	// restricted, closed). The stricter of it and the threat picture's
	// applies.
	GateStatus map[string]string `json:"gate_status,omitempty"`
	// GateQueues holds people seen waiting at a gate at At: the gate
	// passes them before anyone new.
	GateQueues map[string]int `json:"gate_queues,omitempty"`
}

// MovingGroup is a group on its way from its rally point to its gate.
type MovingGroup struct {
	// Households are those really in it as it left (may be fewer than
	// planned: the others are Missing or left behind). Empty: as planned.
	Households []string `json:"households,omitempty"`
	// People in it as counted when it left; 0: the sum of its households.
	People int `json:"people,omitempty"`
	// Departed is when it left its rally point.
	Departed time.Time `json:"departed"`
	// SeenAt and Lat, Lon: where it was last seen, and when. Zero SeenAt:
	// never seen since it left (placed along its route by the time
	// elapsed since Departed).
	SeenAt time.Time `json:"seen_at,omitzero"`
	Lat    float64   `json:"lat,omitempty"`
	Lon    float64   `json:"lon,omitempty"`
}

// Missing is a household that did not come to its rally point.
type Missing struct {
	// Kind is MissingOverdue or MissingNoShow.
	Kind string `json:"kind"`
	// Since is when it was found missing (its report-by time, or the end
	// of the grace period).
	Since time.Time `json:"since"`
	// RallyPoint is where it was expected.
	RallyPoint string `json:"rally_point,omitempty"`
}

// The kinds of Missing.
const (
	MissingOverdue = "overdue"
	MissingNoShow  = "no_show"
)

// Seen reports whether the group was seen since it left, and where.
func (m MovingGroup) Seen() (orb.Point, bool) {
	if m.SeenAt.IsZero() || !muster.ValidLatLon(m.Lat, m.Lon) || (m.Lat == 0 && m.Lon == 0) {
		return orb.Point{}, false
	}
	return orb.Point{m.Lon, m.Lat}, true
}

// checkedIn reports whether household h is at a rally point, and which
// ("" when the state does not say: the one the plan gave it).
func (s *State) checkedIn(h string) (bool, string) {
	if r, ok := s.WaitingAt[h]; ok {
		return true, r
	}
	return s.CheckedIn[h], ""
}

// householdThrough reports whether household h is out.
func (s *State) householdThrough(h string) bool { return s.HouseholdsThrough[h] }

// position is where a moving group was last seen, if known.
func (s *State) position(group string) (orb.Point, time.Time, bool) {
	if m, ok := s.Moving[group]; ok {
		if pt, ok := m.Seen(); ok {
			return pt, m.SeenAt, true
		}
	}
	if pt, ok := s.Positions[group]; ok {
		return pt, s.At, true
	}
	return orb.Point{}, time.Time{}, false
}

// gateRate is the throughput per hour a gate is planned at from At: the
// measured rate when it is lower than the nominal one.
func (s *State) gateRate(gate string, nominal float64) float64 {
	if r, ok := s.GateRates[gate]; ok && r >= 0 && r < nominal {
		return r
	}
	return nominal
}

// MaxStateEntries bounds each map of a state file: a city of millions has
// fewer households than this.
const MaxStateEntries = 5_000_000

// Validate checks the state says nothing out of range; the error names the
// entry and why.
func (s *State) Validate() error {
	bad := func(format string, args ...any) error {
		return muster.Errorf(muster.EINVALID, "state: "+format, args...)
	}
	if s.At.IsZero() {
		return bad("at (now) is required")
	}
	if s.At.Year() < 2000 || s.At.Year() > 2200 {
		return bad("at %s is out of range", s.At.Format(time.RFC3339))
	}
	for name, n := range map[string]int{"groups_through": len(s.Through), "households_through": len(s.HouseholdsThrough),
		"moving": len(s.Moving), "positions": len(s.Positions), "checked_in": len(s.CheckedIn), "waiting_at": len(s.WaitingAt),
		"missing": len(s.Missing), "gate_rates": len(s.GateRates), "gate_status": len(s.GateStatus), "gate_queues": len(s.GateQueues)} {
		if n > MaxStateEntries {
			return bad("%s has %d entries, more than %d", name, n, MaxStateEntries)
		}
	}
	for _, id := range sortedKeys(s.Moving) {
		m := s.Moving[id]
		if m.People < 0 || m.People > 1_000_000 {
			return bad("moving group %q: people %d out of range", id, m.People)
		}
		if !m.Departed.IsZero() && m.Departed.After(s.At) {
			return bad("moving group %q departed at %s, after at %s", id, m.Departed.Format(time.RFC3339), s.At.Format(time.RFC3339))
		}
		if !m.SeenAt.IsZero() {
			if _, ok := m.Seen(); !ok {
				return bad("moving group %q: lat,lon %g,%g is not a place on Earth", id, m.Lat, m.Lon)
			}
			if m.SeenAt.After(s.At) {
				return bad("moving group %q seen at %s, after at %s", id, m.SeenAt.Format(time.RFC3339), s.At.Format(time.RFC3339))
			}
		}
	}
	for _, id := range sortedKeys(s.Positions) {
		p := s.Positions[id]
		if !muster.ValidLatLon(p[1], p[0]) {
			return bad("position of group %q: %g,%g is not a place on Earth", id, p[1], p[0])
		}
	}
	for _, id := range sortedKeys(s.Missing) {
		if k := s.Missing[id].Kind; k != MissingOverdue && k != MissingNoShow {
			return bad("missing household %q: kind %q is not %s or %s", id, k, MissingOverdue, MissingNoShow)
		}
	}
	for _, id := range sortedKeys(s.GateRates) {
		if r := s.GateRates[id]; math.IsNaN(r) || r < 0 || r > 1e7 {
			return bad("gate %q: rate %g people per hour is out of range", id, r)
		}
	}
	for _, id := range sortedKeys(s.GateStatus) {
		switch s.GateStatus[id] {
		case muster.GateOpen, muster.GateRestricted, muster.GateClosed:
		default:
			return bad("gate %q: status %q is not open, restricted or closed", id, s.GateStatus[id])
		}
	}
	for _, id := range sortedKeys(s.GateQueues) {
		if q := s.GateQueues[id]; q < 0 || q > 10_000_000 {
			return bad("gate %q: queue %d out of range", id, q)
		}
	}
	return nil
}

// ReadState reads a state file (JSON, at most 1 GB) and validates it.
func ReadState(r io.Reader) (State, error) {
	var s State
	dec := json.NewDecoder(io.LimitReader(r, 1<<30))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return State{}, muster.Errorf(muster.EINVALID, "state: %s", jsonWhere(err))
	}
	if err := s.Validate(); err != nil {
		return State{}, err
	}
	return s, nil
}

func jsonWhere(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("bad JSON at byte %d: %v", se.Offset, err)
	case errors.As(err, &te):
		return fmt.Sprintf("field %s: %s where %s is expected (byte %d)", te.Field, te.Value, te.Type, te.Offset)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
