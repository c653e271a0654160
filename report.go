package muster

import (
	"fmt"
	"time"

	"github.com/paulmach/orb"
)

// Source kinds: who a report's original source is.
const (
	SourceOfficial     = "official"
	SourceIntelligence = "intelligence"
	SourceMedia        = "media"
	SourceSocial       = "social"
	SourceField        = "field"
	SourcePublic       = "public"
)

// SourceKinds lists the accepted source kinds.
var SourceKinds = []string{SourceOfficial, SourceIntelligence, SourceMedia, SourceSocial, SourceField, SourcePublic}

// Report kinds: what a report is about.
const (
	KindAttackThreat     = "attack-threat"
	KindAttackCapability = "attack-capability"
	KindPresence         = "presence"
	KindExplosion        = "explosion"
	KindGunfire          = "gunfire"
	KindCrowd            = "crowd"
	KindCheckpoint       = "checkpoint"
	KindRoadblock        = "roadblock"
	KindPrisonerRelease  = "prisoner-release"
	KindGateStatus       = "gate-status"
	KindAllClear         = "all-clear"
)

// ReportKinds lists the accepted report kinds.
var ReportKinds = []string{KindAttackThreat, KindAttackCapability, KindPresence, KindExplosion, KindGunfire,
	KindCrowd, KindCheckpoint, KindRoadblock, KindPrisonerRelease, KindGateStatus, KindAllClear}

// Claims. A gate-status report claims GateOpen, GateRestricted or
// GateClosed; every other kind claims present or absent.
const (
	ClaimPresent = "present"
	ClaimAbsent  = "absent"
)

// Immediacy: how soon the reported danger may strike.
const (
	ImmediacyImminent     = "imminent"
	ImmediacyNearTerm     = "near-term"
	ImmediacyNotImmediate = "not-immediate"
	ImmediacyUnknown      = "unknown"
)

// Immediacies lists the accepted immediacy values.
var Immediacies = []string{ImmediacyImminent, ImmediacyNearTerm, ImmediacyNotImmediate, ImmediacyUnknown}

// Admiralty grading. Reliability grades the source, A (completely reliable)
// to E (unreliable), F when it cannot be judged; credibility grades the
// information, 1 (confirmed) to 5 (improbable), 6 when it cannot be judged.
const (
	ReliabilityGrades = "ABCDEF"
	MinCredibility    = 1
	MaxCredibility    = 6
)

// Source is a report's original source: two reports with one source ID are
// not independent, whatever outlet (Via) relayed them.
type Source struct {
	ID   string
	Name string
	Kind string // SourceOfficial, ...
	Via  string // the outlet that relayed it, if any
}

// Area is where a report applies, as the report gave it: exactly one of a
// place name, a place id, a circle (Point with RadiusM) or a polygon.
type Area struct {
	Place   string      // a place's name, alias or group
	PlaceID string      // a place's id, for a place whose name others share
	Point   *orb.Point  // lon, lat of a circle's centre
	RadiusM float64     // the circle's radius
	Polygon orb.Polygon // lon/lat rings, outer first
}

// Report is one threat report as received. Nothing in it is overwritten:
// a correction is a new report that relates to this one.
type Report struct {
	ID         string
	ReceivedAt time.Time // when muster's operators learnt it
	ObservedAt time.Time // when it happened; zero if not given

	Source      Source
	Reliability string // Admiralty A-F
	Credibility int    // Admiralty 1-6

	Actor string // who; empty if not given
	Kind  string // KindAttackThreat, ...
	Claim string // ClaimPresent, ClaimAbsent or a gate status

	// Likelihood is the probability 0..1 the report gives its claim;
	// LikelihoodText is how the report said it ("strong possibility",
	// "0.7").
	Likelihood     float64
	LikelihoodText string

	Immediacy string // ImmediacyImminent, ...
	Severity  int    // 1 (nuisance) to 5 (mass casualties)
	Area      Area

	ValidUntil time.Time // zero if not given
	RelatesTo  []string
	Text       string // the original wording, kept as data, never as markup
}

// Grade returns the Admiralty grade as written, such as "B3".
func (r *Report) Grade() string { return fmt.Sprintf("%s%d", r.Reliability, r.Credibility) }

// Start returns when the reported fact began to hold: the observation time
// if given, else the reception time.
func (r *Report) Start() time.Time {
	if !r.ObservedAt.IsZero() && r.ObservedAt.Before(r.ReceivedAt) {
		return r.ObservedAt
	}
	return r.ReceivedAt
}
