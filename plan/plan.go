// Package plan decides who goes where, with whom, when, by which route and
// through which gate: households to rally points, small groups that never
// split a household, departures and gate arrival windows within each gate's
// throughput, crowd limit and hours, so that everyone is out as early as the
// gates allow while no gate ever holds more people waiting than it safely
// can. A crowd at a gate is itself a target.
//
// The plan is written as plan.json (documented in PLAN_FORMAT.md beside this
// file); `muster plan check` (package plancheck) verifies it against its
// inputs without any of this package's code.
package plan

import (
	"bytes"
	"encoding/json"
	"math"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/zonecost"
)

// FormatVersion is the version of plan.json this package writes (Write);
// it reads version 1 too (Read).
const FormatVersion = 2

// Params are the planner's parameters; zero values take the defaults.
type Params struct {
	// Start is when the operation starts: nobody is asked to leave home
	// before it.
	Start time.Time `json:"start"`
	// MaxGroupSize bounds the people in one group. Default 12.
	MaxGroupSize int `json:"max_group_size"`
	// MaxWalkS bounds a household's walk to its rally point. Default 2,700 s.
	MaxWalkS float64 `json:"max_walk_s"`
	// MobilityMaxWalkS bounds the walk of a household with mobility needs
	// (priority "mobility"): never more than MaxWalkS. Default 1,800 s.
	MobilityMaxWalkS float64 `json:"max_walk_mobility_s,omitempty"`
	// AssemblyLeadS is how long before its departure a group gathers at its
	// rally point. Default 900 s.
	AssemblyLeadS float64 `json:"assembly_lead_s"`
	// GateEarlyS is how early a group may reach its gate before its turn.
	// Default 300 s.
	GateEarlyS float64 `json:"gate_early_s"`
	// RestrictedFactor is the share of its throughput a restricted gate
	// keeps. Default 0.5.
	RestrictedFactor float64 `json:"restricted_factor"`
	// PriorityWeights rank the priorities: households of a higher weight
	// go first, and households of different weights never share a group.
	// Missing priorities weigh 0. Default DefaultPriorityWeights.
	PriorityWeights map[string]int `json:"priority_weights,omitempty"`
	// HorizonS is how far ahead of Start the plan schedules: a group that
	// cannot be through a gate by then is unserved, with the reason.
	// Default 72 h.
	HorizonS float64 `json:"horizon_s,omitempty"`
	// Vehicles, when given, carry the groups: a group needs enough of them
	// for its people, and holds them from its departure until they are
	// back (a return trip as long as the way out). None: every group has
	// its own transport.
	Vehicles *Vehicles `json:"vehicles,omitempty"`
}

// Vehicles is the fleet that carries groups.
type Vehicles struct {
	Seats int `json:"seats"` // people per vehicle
	Count int `json:"count"` // vehicles in all
}

// DefaultPriorityWeights: medical cases and unaccompanied minors first,
// then people who cannot walk far, the elderly and those at risk.
var DefaultPriorityWeights = map[string]int{
	"medical": 5, "unaccompanied_minor": 5, "mobility": 4, "elderly": 3, "at_risk": 3,
}

// WithDefaults fills in the defaults.
func (p Params) WithDefaults() Params {
	if p.MaxGroupSize <= 0 {
		p.MaxGroupSize = 12
	}
	if p.MaxWalkS <= 0 {
		p.MaxWalkS = 2700
	}
	if p.MobilityMaxWalkS <= 0 || math.IsNaN(p.MobilityMaxWalkS) {
		p.MobilityMaxWalkS = 1800
	}
	p.MobilityMaxWalkS = math.Min(p.MobilityMaxWalkS, p.MaxWalkS)
	if p.HorizonS <= 0 || math.IsNaN(p.HorizonS) {
		p.HorizonS = 72 * 3600
	}
	p.HorizonS = math.Min(p.HorizonS, 366*24*3600) // a year: times stay far from overflowing
	if p.AssemblyLeadS <= 0 {
		p.AssemblyLeadS = 900
	}
	if p.GateEarlyS <= 0 {
		p.GateEarlyS = 300
	}
	if p.RestrictedFactor <= 0 || p.RestrictedFactor > 1 {
		p.RestrictedFactor = 0.5
	}
	if p.PriorityWeights == nil {
		p.PriorityWeights = DefaultPriorityWeights
	}
	if p.Start.IsZero() {
		p.Start = time.Now().UTC().Truncate(time.Minute)
	}
	p.Start = p.Start.Truncate(time.Second)
	return p
}

// Plan is plan.json.
type Plan struct {
	Version     int             `json:"version"`
	Status      string          `json:"status"` // "proposed" until an operator approves it, then "current"
	CreatedAt   time.Time       `json:"created_at"`
	Params      Params          `json:"params"`
	AsOf        time.Time       `json:"as_of,omitzero"` // a re-plan: when the picture changed; nothing new is scheduled before it
	Summary     Summary         `json:"summary"`
	Gates       []Gate          `json:"gates"`
	RallyPoints []RallyPoint    `json:"rally_points"`
	Groups      []Group         `json:"groups"`
	Households  []Household     `json:"households"`
	Unassigned  []Unassigned    `json:"unassigned"`
	Diff        *Diff           `json:"diff,omitempty"`
	Zones       json.RawMessage `json:"zones,omitempty"` // the threat picture planned against, as GeoJSON
}

// Summary is the plan at a glance.
type Summary struct {
	Households     int     `json:"households"`
	People         int     `json:"people"`
	AssignedPeople int     `json:"assigned_people"`
	Groups         int     `json:"groups"`
	MaxGroupSize   int     `json:"max_group_size"`
	MakespanS      float64 `json:"makespan_s"`    // from Start until the last person is through a gate
	LowerBoundS    float64 `json:"lower_bound_s"` // people / total gate throughput + the shortest trip
	Ratio          float64 `json:"ratio"`         // makespan / lower bound
	// FluidBoundS is a tighter bound for this plan's assignment: the least
	// makespan the gates could reach, each from the first moment anyone
	// could reach it, within its hours, taking only the households that
	// fit it from the rally points that reach it (SCHEDULER.md).
	FluidBoundS   float64 `json:"fluid_bound_s,omitempty"`
	TotalExposure float64 `json:"total_exposure"` // person-risk-seconds: Σ people × exposure of their walk and drive
}

// Gate is a gate as planned for.
type Gate struct {
	ID                string    `json:"id"`
	Name              string    `json:"name"`
	Lat               float64   `json:"lat"`
	Lon               float64   `json:"lon"`
	Status            string    `json:"status"`
	Reasons           []string  `json:"reasons,omitempty"`
	ThroughputPerHour int       `json:"throughput_per_hour"`
	CrowdLimit        int       `json:"crowd_limit"`
	Opens             string    `json:"opens,omitempty"`
	Closes            string    `json:"closes,omitempty"`
	People            int       `json:"people"`
	Groups            int       `json:"groups"`
	MaxWaiting        int       `json:"max_waiting"`
	LastThrough       time.Time `json:"last_through,omitzero"`
	Usable            bool      `json:"usable"`
}

// RallyPoint is a rally point as planned for.
type RallyPoint struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Lat       float64  `json:"lat"`
	Lon       float64  `json:"lon"`
	Capacity  int      `json:"capacity"`
	Opens     string   `json:"opens,omitempty"`
	Closes    string   `json:"closes,omitempty"`
	People    int      `json:"people"`
	Groups    int      `json:"groups"`
	MaxAtOnce int      `json:"max_at_once"`
	Usable    bool     `json:"usable"`
	Reasons   []string `json:"reasons,omitempty"`
}

// Group is one group's trip.
type Group struct {
	ID         string    `json:"id"`
	RallyPoint string    `json:"rally_point"`
	Gate       string    `json:"gate"`
	Departure  time.Time `json:"departure"`
	// RouteFrom is set when the group was re-routed on the move: its route
	// then starts where the group was at that time, not at the rally point.
	RouteFrom  time.Time `json:"route_from,omitzero"`
	Arrival    time.Time `json:"arrival"`
	Through    time.Time `json:"through"` // the last of the group is through the gate
	ReportBy   time.Time `json:"report_by"`
	People     int       `json:"people"`
	Households []string  `json:"households"`
	Priority   bool      `json:"priority"`
	Weight     int       `json:"weight,omitempty"`   // the priority weight its households share
	Vehicles   int       `json:"vehicles,omitempty"` // held from departure until back, when the plan has a fleet
	Route      Route     `json:"route"`
}

// Route is a leg of a trip.
type Route struct {
	Geometry  *geojson.Geometry `json:"geometry"` // LineString
	DurationS float64           `json:"duration_s"`
	DistanceM float64           `json:"distance_m"`
	Exposure  float64           `json:"exposure"`
	// Escape is set when the leg starts inside a forbidden zone and its
	// first part is the shortest way out.
	Escape bool `json:"escape,omitempty"`
}

// Household is one household's part of the plan.
type Household struct {
	ID         string    `json:"id"`
	RallyPoint string    `json:"rally_point"`
	Group      string    `json:"group"`
	ReportBy   time.Time `json:"report_by"`
	People     int       `json:"people"`
	Priority   string    `json:"priority,omitempty"`
	Walk       Route     `json:"walk"`
}

// Unassigned is a household the plan cannot serve, and why: Code for
// counting and sorting, Reason in words for the operator.
type Unassigned struct {
	Household string `json:"household"`
	Code      string `json:"code"`
	Reason    string `json:"reason"`
}

// Why a household is unserved.
const (
	UnservedEmpty       = "empty"       // no people in it
	UnservedTooLarge    = "too_large"   // larger than the largest group allowed
	UnservedNoLocation  = "no_location" // no coordinates
	UnservedNoRoad      = "no_road"     // no walkable road near it
	UnservedNoRally     = "no_rally"    // no rally point is usable at all
	UnservedMaxWalk     = "max_walk"    // the nearest rally point is too far to walk
	UnservedUnreachable = "unreachable" // only through a forbidden zone
	UnservedNoGate      = "no_gate"     // no gate can take its group
	UnservedStranded    = "stranded"    // on the move, and no gate can be reached
	UnservedOut         = "out"         // a re-plan: already through a gate, as the field reported (not planned again)
)

// lineRoute is a leg along line. Its coordinates are kept at the
// precision plan.json keeps (gridLine), so that a plan read back from its
// file is the plan that was written: a re-plan compares routes, and the
// checker crossings, on the same points.
func lineRoute(line orb.LineString, dur, dist, exp float64) Route {
	line = gridLine(line)
	if len(line) == 1 {
		line = append(line, line[0])
	}
	return Route{Geometry: geojson.NewGeometry(line), DurationS: round1(dur), DistanceM: round1(dist), Exposure: round1(exp)}
}

func round1(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }

// zonesDoc keeps the threat picture a plan was made against inside the
// plan, as a zones GeoJSON document, so that it can be checked and drawn.
func zonesDoc(zones []muster.Zone) json.RawMessage {
	var b bytes.Buffer
	if err := zonecost.WriteGeoJSON(&b, zones); err != nil {
		return nil
	}
	return json.RawMessage(bytes.TrimSpace(b.Bytes()))
}
