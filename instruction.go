package muster

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Who an instruction is for.
const (
	// AudienceHousehold: one household, told where and when to be, how to
	// walk there, its group code and how many it admits; never the gate.
	AudienceHousehold = "household"
	// AudienceEscort: the escort of one group, also told the gate and the
	// group's departure and arrival.
	AudienceEscort = "escort"
)

// Walking maneuvers: how each step of the walking directions begins.
const (
	ManeuverDepart      = "depart"
	ManeuverContinue    = "continue" // straight on, onto another street
	ManeuverSlightLeft  = "slight_left"
	ManeuverSlightRight = "slight_right"
	ManeuverLeft        = "left"
	ManeuverRight       = "right"
	ManeuverSharpLeft   = "sharp_left"
	ManeuverSharpRight  = "sharp_right"
	ManeuverUTurn       = "uturn"
	ManeuverArrive      = "arrive"
)

// Maneuvers lists every maneuver.
var Maneuvers = []string{ManeuverDepart, ManeuverContinue, ManeuverSlightLeft, ManeuverSlightRight, ManeuverLeft,
	ManeuverRight, ManeuverSharpLeft, ManeuverSharpRight, ManeuverUTurn, ManeuverArrive}

// Instruction is what one household (or one group's escort) is told to do
// under the current plan: where to be and when, how to walk there, the
// group code, how many people it admits, the rally point's code word, what
// to bring and not to bring, and whom to ask. It holds content, not text:
// every language renders it from its message catalog, and the code word
// and the lists are catalog keys.
//
// An instruction has versions: a re-plan that changes what a household is
// told issues the next version, which supersedes the one before; a
// household that leaves the plan has its last version revoked. Series is
// the instruction's id across its versions (a token's instruction id); ID
// names one version and is what a check-in spends.
//
// Digest binds every field; the signing of tokens binds the token to it.
type Instruction struct {
	ID         string    `json:"id"`     // Series + "/v" + Version: "I-H000042/v2"
	Series     string    `json:"series"` // "I-H000042" (a household) or "E-G0012" (a group's escort)
	Version    int       `json:"version"`
	Supersedes string    `json:"supersedes,omitempty"` // the ID of the version it replaces; "" for the first
	IssuedAt   time.Time `json:"issued_at"`
	ExpiresAt  time.Time `json:"expires_at"`

	Plan          string    `json:"plan"`            // the plan it was built from
	PlanCreatedAt time.Time `json:"plan_created_at"` // that plan's created_at
	Catalog       string    `json:"catalog"`         // the message catalogs it is worded from (a fingerprint)

	Audience  string `json:"audience"`            // AudienceHousehold or AudienceEscort
	Household string `json:"household,omitempty"` // the household's id (households only)
	Language  string `json:"language"`            // LangEnglish, LangDari, LangPashto
	Name      string `json:"name,omitempty"`      // how the household is addressed
	TimeZone  string `json:"time_zone"`           // IANA zone its times are told in

	RallyPoint InstructionPlace `json:"rally_point"`
	Walk       Walk             `json:"walk,omitzero"` // households only
	ReportFrom time.Time        `json:"report_from"`   // be at the rally point no earlier ...
	ReportBy   time.Time        `json:"report_by"`     // ... and no later

	Group      string   `json:"group"`      // the plan's group id
	GroupCode  string   `json:"group_code"` // what people show and say: "K7F-42"
	People     int      `json:"people"`     // how many people it admits
	CodeWord   string   `json:"code_word"`  // a word-list key, the same for everyone at the rally point
	Bring      []string `json:"bring"`      // catalog keys of what to bring
	DoNotBring []string `json:"do_not_bring"`
	Contact    Contact  `json:"contact,omitzero"`

	Escort *EscortBrief `json:"escort,omitempty"` // escorts only
}

// InstructionPlace is a rally point or gate as an instruction names it.
type InstructionPlace struct {
	ID   string  `json:"id"`
	Name string  `json:"name"`
	Lat  float64 `json:"lat"`
	Lon  float64 `json:"lon"`
}

// Walk is a household's walk from home to its rally point.
type Walk struct {
	DurationS int  `json:"duration_s"`
	DistanceM int  `json:"distance_m"`
	Escape    bool `json:"escape,omitempty"` // home is inside a forbidden zone: the walk leaves it first
	// Steps are the directions, in order: a depart, turns, an arrive.
	Steps []WalkStep `json:"steps,omitempty"`
}

// WalkStep is one step of walking directions, in no language: a maneuver,
// the street it leads onto (as the road graph names it; "" when unnamed),
// how far to walk along it, and the compass bearing to start off in.
type WalkStep struct {
	Maneuver  string `json:"maneuver"`
	Street    string `json:"street,omitempty"`
	DistanceM int    `json:"distance_m"`
	Bearing   int    `json:"bearing"` // degrees clockwise from north, 0-359
}

// Contact is whom to ask: a phone number, a web page, or both.
type Contact struct {
	Phone string `json:"phone,omitempty"`
	URL   string `json:"url,omitempty"`
}

// EscortBrief is what only a group's escort is told.
type EscortBrief struct {
	Gate       InstructionPlace `json:"gate"`
	Departure  time.Time        `json:"departure"` // leaves the rally point
	Arrival    time.Time        `json:"arrival"`   // reaches the gate: its turn
	Through    time.Time        `json:"through"`   // the last of the group is through
	Households int              `json:"households"`
}

// InstructionSeries names the instructions of one household, or, with
// audience AudienceEscort, of one group's escort.
func InstructionSeries(audience, id string) string {
	if audience == AudienceEscort {
		return "E-" + id
	}
	return "I-" + id
}

// InstructionID names one version of an instruction.
func InstructionID(series string, version int) string {
	return series + "/v" + strconv.Itoa(version)
}

// canonicalMagic starts the canonical encoding; a change of the encoding
// changes it.
const canonicalMagic = "muster instruction 1\n"

// Canonical returns the canonical encoding of every field of the
// instruction: what Digest hashes. Equal instructions encode equally
// whatever their JSON looks like (a time in another zone, a nil or empty
// list); any change of any field changes the encoding.
func (in *Instruction) Canonical() []byte { return in.appendCanonical(make([]byte, 0, 1024)) }

// appendCanonical appends the canonical encoding to b.
func (in *Instruction) appendCanonical(b []byte) []byte {
	b = append(b, canonicalMagic...)
	b = canonStr(b, in.ID)
	b = canonStr(b, in.Series)
	b = canonInt(b, int64(in.Version))
	b = canonStr(b, in.Supersedes)
	b = canonTime(b, in.IssuedAt)
	b = canonTime(b, in.ExpiresAt)
	b = canonStr(b, in.Plan)
	b = canonTime(b, in.PlanCreatedAt)
	b = canonStr(b, in.Catalog)
	b = canonStr(b, in.Audience)
	b = canonStr(b, in.Household)
	b = canonStr(b, in.Language)
	b = canonStr(b, in.Name)
	b = canonStr(b, in.TimeZone)
	b = canonPlace(b, in.RallyPoint)
	b = canonInt(b, int64(in.Walk.DurationS))
	b = canonInt(b, int64(in.Walk.DistanceM))
	b = canonBool(b, in.Walk.Escape)
	b = canonInt(b, int64(len(in.Walk.Steps)))
	for _, s := range in.Walk.Steps {
		b = canonStr(b, s.Maneuver)
		b = canonStr(b, s.Street)
		b = canonInt(b, int64(s.DistanceM))
		b = canonInt(b, int64(s.Bearing))
	}
	b = canonTime(b, in.ReportFrom)
	b = canonTime(b, in.ReportBy)
	b = canonStr(b, in.Group)
	b = canonStr(b, in.GroupCode)
	b = canonInt(b, int64(in.People))
	b = canonStr(b, in.CodeWord)
	b = canonStrs(b, in.Bring)
	b = canonStrs(b, in.DoNotBring)
	b = canonStr(b, in.Contact.Phone)
	b = canonStr(b, in.Contact.URL)
	b = canonBool(b, in.Escort != nil)
	if esc := in.Escort; esc != nil {
		b = canonPlace(b, esc.Gate)
		b = canonTime(b, esc.Departure)
		b = canonTime(b, esc.Arrival)
		b = canonTime(b, esc.Through)
		b = canonInt(b, int64(esc.Households))
	}
	return b
}

// Digest is the SHA-256 of the instruction's canonical encoding.
func (in *Instruction) Digest() [32]byte {
	// Encoded on the stack (a household's is some 300 to 900 bytes): the
	// issuer and the store each hash 133,100 instructions an issuance.
	var buf [2048]byte
	return sha256.Sum256(in.appendCanonical(buf[:0]))
}

// The canonical encoding's parts, each appended to b. Functions of b, not
// methods of an encoder holding it, so that a buffer on the caller's stack
// stays there.

func canonStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func canonStrs(b []byte, ss []string) []byte {
	b = canonInt(b, int64(len(ss)))
	for _, s := range ss {
		b = canonStr(b, s)
	}
	return b
}

func canonInt(b []byte, v int64) []byte { return binary.AppendVarint(b, v) }

func canonBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func canonFloat(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(b, math.Float64bits(f))
}

// canonTime encodes an instant (not its zone): the zero time apart, then
// Unix seconds and nanoseconds.
func canonTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	b = canonInt(b, t.Unix())
	return canonInt(b, int64(t.Nanosecond()))
}

func canonPlace(b []byte, p InstructionPlace) []byte {
	b = canonStr(b, p.ID)
	b = canonStr(b, p.Name)
	b = canonFloat(b, p.Lat)
	return canonFloat(b, p.Lon)
}

// What can change between two versions of an instruction, as Changed
// names it.
const (
	ChangedAudience   = "audience"
	ChangedHousehold  = "household"
	ChangedLanguage   = "language"
	ChangedName       = "name"
	ChangedRallyPoint = "rally_point"
	ChangedWalk       = "walk"
	ChangedTime       = "time" // the report-by window or the zone it is told in
	ChangedGroup      = "group"
	ChangedPeople     = "people"
	ChangedCodeWord   = "code_word"
	ChangedBring      = "bring"
	ChangedDoNotBring = "do_not_bring"
	ChangedContact    = "contact"
	ChangedGate       = "gate"
	ChangedSchedule   = "schedule" // an escort's departure, arrival or through time
	ChangedExpiry     = "expiry"
	// ChangedSignature: nothing a household is told changed, but the key
	// that signed the version in force was revoked (reported compromised),
	// so its token proves nothing any more: the content is signed again.
	ChangedSignature = "signature"
)

// Changed names what a household (or escort) would be told differently
// in newer than in old, in the order of the constants above; nil when
// nothing is. The fields that every new version has anew (id, version,
// supersedes, issue time, the plan and catalogs it came from) are not
// compared: a re-plan that changes nothing for a household issues it
// nothing.
func Changed(old, newer *Instruction) []string {
	var out []string
	add := func(what string, differs bool) {
		if differs {
			out = append(out, what)
		}
	}
	add(ChangedAudience, old.Audience != newer.Audience)
	add(ChangedHousehold, old.Household != newer.Household)
	add(ChangedLanguage, old.Language != newer.Language)
	add(ChangedName, old.Name != newer.Name)
	add(ChangedRallyPoint, old.RallyPoint != newer.RallyPoint)
	add(ChangedWalk, old.Walk.DurationS != newer.Walk.DurationS || old.Walk.DistanceM != newer.Walk.DistanceM ||
		old.Walk.Escape != newer.Walk.Escape || !slices.Equal(old.Walk.Steps, newer.Walk.Steps))
	add(ChangedTime, !old.ReportFrom.Equal(newer.ReportFrom) || !old.ReportBy.Equal(newer.ReportBy) || old.TimeZone != newer.TimeZone)
	add(ChangedGroup, old.Group != newer.Group || old.GroupCode != newer.GroupCode)
	add(ChangedPeople, old.People != newer.People)
	add(ChangedCodeWord, old.CodeWord != newer.CodeWord)
	add(ChangedBring, !slices.Equal(old.Bring, newer.Bring))
	add(ChangedDoNotBring, !slices.Equal(old.DoNotBring, newer.DoNotBring))
	add(ChangedContact, old.Contact != newer.Contact)
	oe, ne := old.Escort, newer.Escort
	switch {
	case oe == nil && ne == nil:
	case oe == nil || ne == nil:
		add(ChangedGate, true)
		add(ChangedSchedule, true)
	default:
		add(ChangedGate, oe.Gate != ne.Gate)
		add(ChangedSchedule, !oe.Departure.Equal(ne.Departure) || !oe.Arrival.Equal(ne.Arrival) ||
			!oe.Through.Equal(ne.Through) || oe.Households != ne.Households)
	}
	add(ChangedExpiry, !old.ExpiresAt.Equal(newer.ExpiresAt))
	return out
}

// String is a one-line summary for logs: no personal data.
func (in *Instruction) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s, %s) at %s by %s", in.ID, in.Audience, in.Language, in.RallyPoint.ID, in.ReportBy.UTC().Format(time.RFC3339))
	if in.Supersedes != "" {
		fmt.Fprintf(&b, ", supersedes %s", in.Supersedes)
	}
	return b.String()
}
