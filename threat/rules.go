package threat

import (
	"math"
	"strings"
	"time"

	"github.com/muster-evac/muster"
)

// ReliabilityWeight is how much a source of each Admiralty reliability
// grade is trusted. F (cannot be judged) is low but not zero, and above E:
// an unknown source is not a known-bad one.
var ReliabilityWeight = map[string]float64{
	"A": 1.00, "B": 0.80, "C": 0.60, "D": 0.40, "E": 0.15, "F": 0.30,
}

// CredibilityWeight is how much information of each Admiralty credibility
// grade is trusted. 6 (cannot be judged) is low but not zero, and above 5
// (improbable).
var CredibilityWeight = map[int]float64{
	1: 1.00, 2: 0.85, 3: 0.65, 4: 0.40, 5: 0.15, 6: 0.30,
}

// GradeWeight is the trust in a report: the product of its source and
// information weights (A1 = 1, B2 = 0.68, C3 = 0.39, F6 = 0.09).
func GradeWeight(reliability string, credibility int) float64 {
	return ReliabilityWeight[reliability] * CredibilityWeight[credibility]
}

// HalfLife is how fast a report of each kind stops being news: its weight
// halves every HalfLife after the fact it reports (observed_at, else
// received_at). Events (gunfire, explosions, crowds) fade in hours,
// threat assessments in days, presence and capability in weeks.
var HalfLife = map[string]time.Duration{
	muster.KindGunfire:          2 * time.Hour,
	muster.KindExplosion:        6 * time.Hour,
	muster.KindCrowd:            3 * time.Hour,
	muster.KindCheckpoint:       12 * time.Hour,
	muster.KindRoadblock:        12 * time.Hour,
	muster.KindGateStatus:       12 * time.Hour,
	muster.KindAllClear:         24 * time.Hour,
	muster.KindAttackThreat:     3 * 24 * time.Hour,
	muster.KindAttackCapability: 14 * 24 * time.Hour,
	muster.KindPrisonerRelease:  14 * 24 * time.Hour,
	muster.KindPresence:         21 * 24 * time.Hour,
}

// FadeHalfLives is how many half-lives a report counts for: past it
// (weight below 1/256) it stops counting, like an expired one, and stays
// in the record.
const FadeHalfLives = 8

// Decay returns the weight factor, in 0..1, of a report of the given kind
// whose fact dates from start, seen at time at. It never rises with at.
func Decay(kind string, start, at time.Time) float64 {
	age := at.Sub(start)
	if age <= 0 {
		return 1
	}
	hl := HalfLife[kind]
	if hl <= 0 {
		hl = 24 * time.Hour
	}
	n := float64(age) / float64(hl)
	if n >= FadeHalfLives {
		return 0
	}
	return math.Exp2(-n)
}

// ImmediacyFactor scales a threat's likelihood by how soon it may strike:
// a threat said to be "not immediate" counts for 80% within the
// evacuation's horizon; the others count fully.
var ImmediacyFactor = map[string]float64{
	muster.ImmediacyImminent: 1, muster.ImmediacyNearTerm: 1,
	muster.ImmediacyUnknown: 1, muster.ImmediacyNotImmediate: 0.8,
}

// Threat families: reports of one family can describe the same danger and
// so fuse into one zone. An all-clear fuses with any family; gate-status
// reports make gate statuses, not zones.
var kindFamily = map[string]string{
	muster.KindAttackThreat:     "violence",
	muster.KindAttackCapability: "violence",
	muster.KindPresence:         "violence",
	muster.KindExplosion:        "violence",
	muster.KindGunfire:          "violence",
	muster.KindCrowd:            "crowd",
	muster.KindCheckpoint:       "movement",
	muster.KindRoadblock:        "movement",
	muster.KindPrisonerRelease:  "prisoner-release",
	muster.KindAllClear:         "any",
}

// MaxScaleRatio is how different in size two areas may be and still be one
// danger: a zone round an airport and a city-wide warning are two zones
// (areas within a factor 25, radii within a factor 5).
const MaxScaleRatio = 25

// Severity factors: the level reads risk × SeverityFactor[severity], so a
// likely nuisance stays below a possible massacre.
var SeverityFactor = map[int]float64{1: 0.4, 2: 0.6, 3: 0.8, 4: 0.9, 5: 1.0}

// Threat levels, lowest first.
const (
	LevelLow      = "low"
	LevelModerate = "moderate"
	LevelHigh     = "high"
	LevelCritical = "critical"
)

// Levels lists the levels, lowest first.
var Levels = []string{LevelLow, LevelModerate, LevelHigh, LevelCritical}

// Level thresholds on risk × SeverityFactor.
const (
	ModerateAt = 0.15
	HighAt     = 0.35
	CriticalAt = 0.60
)

// LevelOf returns the level of a zone of the given risk and severity.
func LevelOf(risk float64, severity int) string {
	f, ok := SeverityFactor[severity]
	if !ok {
		f = 1
	}
	switch s := risk * f; {
	case s >= CriticalAt:
		return LevelCritical
	case s >= HighAt:
		return LevelHigh
	case s >= ModerateAt:
		return LevelModerate
	}
	return LevelLow
}

func levelRank(l string) int {
	for i, x := range Levels {
		if x == l {
			return i
		}
	}
	return -1
}

// actorTokens splits an actor such as "Taliban; al-Qaeda" into normalized
// names: two reports' actors are compatible when either is unknown or
// they share a name.
func actorTokens(actor string) []string {
	var out []string
	for _, part := range strings.FieldsFunc(actor, func(r rune) bool { return r == ';' || r == ',' || r == '/' }) {
		var b strings.Builder
		for _, r := range strings.ToLower(part) {
			if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r > 127 {
				b.WriteRune(r)
			}
		}
		if b.Len() > 0 {
			out = append(out, b.String())
		}
	}
	return out
}

func actorsCompatible(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return true
	}
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// Unverified reports are those whose source cannot be judged or is judged
// unreliable (reliability E or F) or whose information cannot be judged or
// is improbable (credibility 5 or 6). They are leads to verify: on each
// side of a zone they count together as one weak source, however many
// there are, and on their own they never forbid a zone, never bear on a
// gate, never lift a forbidden zone and never give a zone more confidence
// than UnverifiedCeiling (§4a of docs/threat-picture.md).
func Unverified(reliability string, credibility int) bool {
	return reliability == "E" || reliability == "F" || credibility >= 5
}

// Confirmed reports are graded A or B with credibility 1 or 2. A zone for
// which a confirmed report speaks is answered only by confirmed evidence:
// weaker denials are shown, mark it disputed, and change nothing until
// confirmed evidence answers it.
func Confirmed(reliability string, credibility int) bool {
	return (reliability == "A" || reliability == "B") && credibility >= 1 && credibility <= 2
}

// UnverifiedCeiling is the most confidence a zone resting on unverified
// reports may show: what one C3 report gives.
var UnverifiedCeiling = GradeWeight("C", 3)

// Coordinated reporting: CoordinationMinSources or more sources on one
// side of one zone (or gate) within CoordinationWindow, all new to the
// record or all with near-identical text, are flagged as possible
// coordinated reporting for an analyst to verify.
const (
	CoordinationWindow     = time.Hour
	CoordinationMinSources = 5
	// NearIdenticalText is the Jaccard similarity of two texts' word sets
	// at or above which they count as one text.
	NearIdenticalText = 0.7
)

// gradeNames[reliability][credibility] is the grade as written, such as
// "B3", without formatting it for each of a hundred thousand reports.
var gradeNames = func() map[string]*[7]string {
	m := map[string]*[7]string{}
	for _, r := range muster.ReliabilityGrades {
		var row [7]string
		for c := 1; c <= 6; c++ {
			row[c] = string(r) + string(rune('0'+c))
		}
		m[string(r)] = &row
	}
	return m
}()

func gradeName(reliability string, credibility int) string {
	if row, ok := gradeNames[reliability]; ok && credibility >= 1 && credibility <= 6 {
		return row[credibility]
	}
	return reliability + "?"
}
