package muster

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"time"
)

// FieldEvent is one thing the field reports, or the server concludes, about
// the operation as it really happens: a household at its rally point, a
// group leaving, seen on its way or at its gate, people counted through a
// gate, a gate's real state. The live state of the operation is computed
// from the plan and these events alone, ordered by when they happened (At),
// not when they arrived: phones that were offline send late and out of order.
//
// The simulator of an exercise sends the same events a real field would, so
// that the live state, the map and re-planning are exercised end to end.
type FieldEvent struct {
	// ID is chosen by the client that made the event (a phone, the
	// simulator): sending the same event twice records it once.
	ID   string    `json:"id"`
	Kind string    `json:"kind"` // one of the FieldEvent* kinds
	At   time.Time `json:"at"`   // when it happened in the field
	// Since starts the interval a gate count covers (At ends it).
	Since time.Time `json:"since,omitzero"`

	Household  string   `json:"household,omitempty"`   // checkin, overdue, no_show: the household's id
	TokenID    string   `json:"token_id,omitempty"`    // checkin: the instruction version it shows ("I-H000042/v2"), when checked in by token
	Group      string   `json:"group,omitempty"`       // departed, seen, arrived: the group's id
	Households []string `json:"households,omitempty"`  // departed: who is in the group as it leaves (may be fewer than planned)
	RallyPoint string   `json:"rally_point,omitempty"` // checkin, overdue, no_show, departed: the rally point's place id
	Gate       string   `json:"gate,omitempty"`        // arrived, gate_count, gate_state: the gate's place id
	Lat        float64  `json:"lat,omitempty"`         // seen: where the group was seen
	Lon        float64  `json:"lon,omitempty"`
	People     int      `json:"people,omitempty"`      // departed: people in the group; gate_count: people through in [Since, At]
	Queue      int      `json:"queue"`                 // gate_state: people seen waiting at the gate (-1 when not counted, the default in JSON)
	GateStatus string   `json:"gate_status,omitempty"` // gate_state: "open", "restricted" or "closed"; "" when only the queue was seen
	Note       string   `json:"note,omitempty"`        // free text from the field, shown to operators (never parsed); sealed at rest

	// Token is the signed token a household showed ("MU1:..."), when the
	// client has it rather than its TokenID: the server verifies it (a
	// forged one is flagged) and keeps only the TokenID it names.
	Token string `json:"token,omitempty"`

	// Set by the store, not the client.
	By         string    `json:"by,omitempty"`         // the actor that recorded it (a field officer, a device, "system" for overdue and no-show)
	RecordedAt time.Time `json:"recorded_at,omitzero"` // when the server learned of it
	Seq        int64     `json:"seq,omitempty"`        // arrival order at the server
	// Flags say why the event was kept but not applied blindly: it
	// contradicts a later event (a check-in after the group's departure
	// was seen), its token was superseded, revoked, spent or forged, ...
	// All but FlagOtherRallyPoint keep it out of the live state
	// (Withheld); that one is applied and shown to the operators.
	Flags []string `json:"flags,omitempty"`
}

// UnmarshalJSON reads an event as a client sends it: a queue not given is
// -1 (not counted), not 0 (counted empty); a field this version does not
// know is an error (a client must not be half understood).
func (e *FieldEvent) UnmarshalJSON(b []byte) error {
	type plain FieldEvent
	v := plain{Queue: -1}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	*e = FieldEvent(v)
	return nil
}

// Normalize puts what the client said in the form the store keeps: times in
// UTC to the microsecond (what both backends hold), the queue -1 for every
// kind but gate_state. Two sends of one event normalize alike.
func (e *FieldEvent) Normalize() {
	e.At = e.At.UTC().Truncate(time.Microsecond)
	if !e.Since.IsZero() {
		e.Since = e.Since.UTC().Truncate(time.Microsecond)
	}
	if e.Kind != FieldGateState {
		e.Queue = -1
	}
	if len(e.Households) == 0 {
		e.Households = nil
	}
}

// Content is the canonical encoding of what the client said (not what the
// store added): two events with one id and the same Content are one event
// sent twice; with different Content, the second is refused.
func (e *FieldEvent) Content() string {
	c := *e
	c.Normalize()
	c.Token, c.By, c.RecordedAt, c.Seq, c.Flags = "", "", time.Time{}, 0, nil
	b, _ := json.Marshal(&c)
	return string(b)
}

// Flagged reports whether the event carries a flag (for the operators to
// see; Withheld says whether it is applied).
func (e *FieldEvent) Flagged() bool { return len(e.Flags) > 0 }

// Withheld reports whether a flag keeps the event out of the live state:
// any flag but FlagOtherRallyPoint.
func (e *FieldEvent) Withheld() bool {
	for _, f := range e.Flags {
		if f != FlagOtherRallyPoint {
			return true
		}
	}
	return false
}

// Why a field event is kept but not applied: the flags the store sets.
const (
	FlagTokenForged     = "token_forged"     // the token does not verify, or names a version never issued here
	FlagTokenSuperseded = "token_superseded" // a version superseded before the check-in, never checked in
	FlagTokenRevoked    = "token_revoked"    // a version revoked before the check-in
	FlagTokenSpent      = "token_spent"      // the token was checked in already (this is a copy, or came second)
	FlagTokenMismatch   = "token_mismatch"   // the token is another household's than the one the event names
)

// FlagOtherRallyPoint is a check-in at another rally point than the one
// its household was sent to, or at none said: the store sets it when the
// check-in spends an instruction that names another (the version the
// token shows; by household id, its current one), the live state when no
// token was shown and the current plan assigns the household another
// (package operation). Unlike the token flags it does not withhold the
// event: the device checked the household in there and the token is
// spent, so the household is counted where it was seen. It is flagged
// because that is how a sold or forwarded copy of a token is used first
// (the household it was issued to is then turned away at its own rally
// point as the copy), and how a client that admits a household elsewhere
// without asking the officer why would go unnoticed; POST /api/checkin
// refuses it without a reason (docs/issuing.md). The event's note (the
// field page sends the officer's reason in it) is shown with it.
const FlagOtherRallyPoint = "other_rally_point"

// Outcomes of one field event in a batch.
const (
	FieldRecorded  = "recorded"  // stored (possibly flagged: see Flags)
	FieldDuplicate = "duplicate" // the same event was stored before: nothing new
	FieldRefused   = "refused"   // not stored: its id is another event's, or it is not valid
)

// FieldEventOutcome says what a batch did with one event.
type FieldEventOutcome struct {
	Event   FieldEvent `json:"event"`            // as stored (or as sent, when refused)
	Outcome string     `json:"outcome"`          // FieldRecorded, ...
	Reason  string     `json:"reason,omitempty"` // why it was refused
}

// The kinds of field event.
const (
	FieldCheckIn   = "checkin"    // a household is at its rally point
	FieldOverdue   = "overdue"    // a household did not come by its report-by time (made by the server)
	FieldNoShow    = "no_show"    // still not there after the grace period (made by the server)
	FieldDeparted  = "departed"   // a group left its rally point, with who is in it
	FieldSeen      = "seen"       // a group seen at a point on its way
	FieldArrived   = "arrived"    // a group reached its gate
	FieldGateCount = "gate_count" // people through a gate in an interval
	FieldGateState = "gate_state" // a gate's real state: queue seen, closed, restricted, open
)

// FieldEventKinds lists the kinds in the order an operation goes through them.
var FieldEventKinds = []string{FieldCheckIn, FieldOverdue, FieldNoShow, FieldDeparted, FieldSeen, FieldArrived, FieldGateCount, FieldGateState}

// MaxFieldEventIDLen bounds a client's event id.
const MaxFieldEventIDLen = 128

// CheckInEventPrefix starts the id of the event the store records for a
// check-in made through POST /api/checkin, muster checkin or a device's
// sync (CheckInEventID), so that the live state, which is computed from
// field events alone, counts a household checked in whichever way it
// was. Clients may not use it (Validate): an event sent ahead under such
// an id would otherwise stand in the way of the check-in it names.
const CheckInEventPrefix = "checkin:"

// CheckInEventID is the id of the event recorded for check-in id.
func CheckInEventID(checkinID string) string { return CheckInEventPrefix + checkinID }

// Validate checks that the event says what its kind needs and nothing out of
// range; the error says which field and why. It does not check that the
// household, group or place exists: the live state (package operation)
// flags an event naming what the current plan does not have.
func (e *FieldEvent) Validate() error {
	bad := func(format string, args ...any) error {
		return Errorf(EINVALID, "field event %q: "+format, append([]any{e.ID}, args...)...)
	}
	if e.ID == "" || len(e.ID) > MaxFieldEventIDLen || strings.ContainsFunc(e.ID, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return bad("id must be 1-%d printable characters without spaces", MaxFieldEventIDLen)
	}
	if strings.HasPrefix(e.ID, CheckInEventPrefix) {
		return bad("ids starting %q are the server's (a check-in made through the check-in API or a device's sync)", CheckInEventPrefix)
	}
	if !slices.Contains(FieldEventKinds, e.Kind) {
		return bad("kind %q is not one of %s", e.Kind, strings.Join(FieldEventKinds, ", "))
	}
	if e.At.IsZero() {
		return bad("at (when it happened) is required")
	}
	if e.At.Year() < 2000 || e.At.Year() > 2200 {
		return bad("at %s is out of range", e.At.Format(time.RFC3339))
	}
	if e.People < 0 || e.People > 1_000_000 {
		return bad("people %d is out of range 0-1000000", e.People)
	}
	if e.Queue < -1 || e.Queue > 10_000_000 {
		return bad("queue %d is out of range", e.Queue)
	}
	if len(e.Note) > 2000 {
		return bad("note is longer than 2000 bytes")
	}
	if len(e.Token) > 4096 {
		return bad("token is longer than 4096 bytes")
	}
	for _, f := range []struct{ name, v string }{{"household", e.Household}, {"token_id", e.TokenID}, {"group", e.Group},
		{"rally_point", e.RallyPoint}, {"gate", e.Gate}} {
		if err := CheckText(f.v, 200); err != nil || strings.ContainsAny(f.v, "\n\t") {
			return bad("%s must be an id of at most 200 bytes on one line", f.name)
		}
	}
	for i, h := range e.Households {
		if h == "" || CheckText(h, 200) != nil || strings.ContainsAny(h, "\n\t") {
			return bad("households[%d] must be an id of 1-200 bytes on one line", i)
		}
	}
	if err := CheckText(e.Note, 2000); err != nil {
		return bad("note %v", err)
	}
	if math.IsNaN(e.Lat) || math.IsNaN(e.Lon) || math.IsInf(e.Lat, 0) || math.IsInf(e.Lon, 0) {
		return bad("lat,lon must be numbers")
	}
	if len(e.Households) > 10_000 {
		return bad("more than 10000 households")
	}
	need := func(name, v string) error {
		if v == "" {
			return bad("a %s event needs %s", e.Kind, name)
		}
		return nil
	}
	switch e.Kind {
	case FieldCheckIn:
		if e.Household == "" && e.TokenID == "" && e.Token == "" {
			return bad("a checkin needs household, token_id or token")
		}
	case FieldOverdue, FieldNoShow:
		return need("household", e.Household)
	case FieldDeparted:
		return need("group", e.Group)
	case FieldSeen:
		if err := need("group", e.Group); err != nil {
			return err
		}
		if !ValidLatLon(e.Lat, e.Lon) || (e.Lat == 0 && e.Lon == 0) {
			return bad("lat,lon %g,%g is not a place on Earth", e.Lat, e.Lon)
		}
	case FieldArrived:
		if err := need("group", e.Group); err != nil {
			return err
		}
	case FieldGateCount:
		if err := need("gate", e.Gate); err != nil {
			return err
		}
		if e.Since.IsZero() || !e.Since.Before(e.At) {
			return bad("a gate_count needs since before at")
		}
		if e.At.Sub(e.Since) > 24*time.Hour {
			return bad("a gate_count covers at most 24 hours")
		}
	case FieldGateState:
		if err := need("gate", e.Gate); err != nil {
			return err
		}
		switch e.GateStatus {
		case "", "open", "restricted", "closed":
		default:
			return bad("gate_status %q is not open, restricted or closed", e.GateStatus)
		}
		if e.GateStatus == "" && e.Queue < 0 {
			return bad("a gate_state needs gate_status or queue")
		}
	}
	return nil
}

// FieldEventFilter selects field events; empty fields select all.
type FieldEventFilter struct {
	Kind      string
	Household string
	Group     string
	Gate      string
	Flagged   bool  // only the flagged ones
	AfterSeq  int64 // paging, by arrival order
	Limit     int   // default 1000, at most 10000
	// ByTime orders the page by when the events happened (then id)
	// instead of by arrival.
	ByTime bool
}
