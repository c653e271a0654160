package muster

import "time"

// Household priorities: who goes first.
const (
	PriorityNone               = "none"
	PriorityMedical            = "medical"
	PriorityMobility           = "mobility"
	PriorityUnaccompaniedMinor = "unaccompanied_minor"
	PriorityElderly            = "elderly"
	PriorityAtRisk             = "at_risk"
)

// Priorities lists the accepted priorities.
var Priorities = []string{PriorityNone, PriorityMedical, PriorityMobility, PriorityUnaccompaniedMinor, PriorityElderly, PriorityAtRisk}

// Languages muster writes instructions in: English, Dari, Pashto.
const (
	LangEnglish = "en"
	LangDari    = "fa"
	LangPashto  = "ps"
)

// Languages lists the accepted language codes.
var Languages = []string{LangEnglish, LangDari, LangPashto}

// Eligibility categories.
var Eligibilities = []string{"citizen", "lpr", "siv", "partner", "other"}

// Household lifecycle, in order.
const (
	StatusRegistered   = "registered"
	StatusVerified     = "verified"
	StatusAssigned     = "assigned"
	StatusInstructed   = "instructed"
	StatusAcknowledged = "acknowledged"
	StatusAtRally      = "checked_in_rally"
	StatusMoving       = "moving"
	StatusAtGate       = "at_gate"
	StatusEvacuated    = "evacuated"
	StatusNoShow       = "no_show"
	StatusWithdrawn    = "withdrawn"
)

// HouseholdStatuses lists the lifecycle statuses.
var HouseholdStatuses = []string{StatusRegistered, StatusVerified, StatusAssigned, StatusInstructed, StatusAcknowledged,
	StatusAtRally, StatusMoving, StatusAtGate, StatusEvacuated, StatusNoShow, StatusWithdrawn}

// Member is one person of a household.
type Member struct {
	Name    string
	Age     int    // 0 when unknown
	AgeBand string // "child", "adult", "elderly" when the age is not known
}

// Household is the unit muster moves: people who travel together and are
// never split. Name, NameLocal, Members' names, Phone, Email, Address,
// Notes and the exact location are personal data: encrypted at rest, and
// every read of them is audited.
type Household struct {
	ID          string
	Name        string // as written in Latin script
	NameLocal   string // as written in the household's own script
	Members     []Member
	PartySize   int // people in all
	Adults      int
	Children    int
	Priority    string // PriorityNone, ...
	Language    string // LangEnglish, LangDari, LangPashto
	Phone       string // E.164 where it could be normalised
	Email       string
	Lat, Lon    float64 // where they are; valid only if HasLocation
	HasLocation bool
	Address     string // when there are no coordinates, or to help find them
	Eligibility string
	Documents   string
	Notes       string

	Status    string
	UpdatedAt time.Time
	History   []StatusChange
}

// StatusChange records one step of a household's lifecycle.
type StatusChange struct {
	Status string
	At     time.Time
	By     string // operator or "system"
	Note   string
}

// IsPriority reports whether the household goes before others.
func (h *Household) IsPriority() bool { return h.Priority != "" && h.Priority != PriorityNone }
