package osmimport

import (
	"math"
	"strconv"
	"strings"

	"github.com/muster-evac/muster/roadgraph"
	"github.com/paulmach/osm"
)

// highwayClass is what a highway=* value means to each profile.
type highwayClass struct {
	car, foot bool // usable by default (an explicit tag can still forbid it)
	// carLimitKmh is the speed limit assumed when the way has no usable
	// maxspeed: the usual urban/rural limit for that class of road.
	carLimitKmh float64
	// carFactor turns a speed limit into a free-flow travel speed: nobody
	// drives a city street at its limit from junction to junction, while
	// on motorways and trunk roads traffic runs close to it.
	carFactor float64
	footKmh   float64
}

const (
	walkKmh      = 5.0 // average adult walking speed on the flat
	stepsKmh     = 2.5 // horizontal progress on stairs: about half walking pace
	fastFactor   = 0.9 // motorway and trunk: few junctions, traffic near the limit
	urbanFactor  = 0.8 // everything else: junctions, crossings, parking
	walkLimitKmh = 7.0 // maxspeed=walk: walking pace for a vehicle
)

// highwayClasses is the profile table documented in the package comment
// and in PROFILES.md; keep the three in step.
var highwayClasses = map[string]highwayClass{
	"motorway":       {car: true, carLimitKmh: 120, carFactor: fastFactor},
	"motorway_link":  {car: true, carLimitKmh: 60, carFactor: fastFactor},
	"trunk":          {car: true, foot: true, carLimitKmh: 100, carFactor: fastFactor, footKmh: walkKmh},
	"trunk_link":     {car: true, foot: true, carLimitKmh: 50, carFactor: fastFactor, footKmh: walkKmh},
	"primary":        {car: true, foot: true, carLimitKmh: 60, carFactor: urbanFactor, footKmh: walkKmh},
	"primary_link":   {car: true, foot: true, carLimitKmh: 40, carFactor: urbanFactor, footKmh: walkKmh},
	"secondary":      {car: true, foot: true, carLimitKmh: 50, carFactor: urbanFactor, footKmh: walkKmh},
	"secondary_link": {car: true, foot: true, carLimitKmh: 40, carFactor: urbanFactor, footKmh: walkKmh},
	"tertiary":       {car: true, foot: true, carLimitKmh: 50, carFactor: urbanFactor, footKmh: walkKmh},
	"tertiary_link":  {car: true, foot: true, carLimitKmh: 40, carFactor: urbanFactor, footKmh: walkKmh},
	"unclassified":   {car: true, foot: true, carLimitKmh: 40, carFactor: urbanFactor, footKmh: walkKmh},
	"residential":    {car: true, foot: true, carLimitKmh: 30, carFactor: urbanFactor, footKmh: walkKmh},
	"living_street":  {car: true, foot: true, carLimitKmh: 10, carFactor: urbanFactor, footKmh: walkKmh},
	"service":        {car: true, foot: true, carLimitKmh: 20, carFactor: urbanFactor, footKmh: walkKmh},
	"road":           {car: true, foot: true, carLimitKmh: 30, carFactor: urbanFactor, footKmh: walkKmh},
	// Cars only on paved tracks (tracktype=grade1), see allowed.
	"track":      {car: true, foot: true, carLimitKmh: 20, carFactor: urbanFactor, footKmh: walkKmh},
	"pedestrian": {foot: true, footKmh: walkKmh},
	"footway":    {foot: true, footKmh: walkKmh},
	"path":       {foot: true, footKmh: walkKmh},
	"cycleway":   {foot: true, footKmh: walkKmh},
	"bridleway":  {foot: true, footKmh: walkKmh},
	"corridor":   {foot: true, footKmh: walkKmh},
	"steps":      {foot: true, footKmh: stepsKmh},
}

// accessKeys lists, most specific first, the tags that say whether a
// profile may use a way: the first one present decides.
var accessKeys = [...][]string{
	roadgraph.Car:  {"motorcar", "motor_vehicle", "vehicle", "access"},
	roadgraph.Foot: {"foot", "access"},
}

// deniedAccess are the access values that keep a profile off a way.
// private, destination, permit, customers and delivery are deliberately
// absent: an evacuation's operator authorises them (the Porto Alegre
// airport gates are on access=private service ways).
var deniedAccess = map[string]bool{
	"no": true, "none": true, "agricultural": true, "forestry": true,
	"agricultural;forestry": true, "emergency": true, "military": true,
	"use_sidepath": true, "disused": true,
}

// grantedAccess are the values of a profile's own key (foot=yes) that open
// a class the profile does not use by default (a motorway with foot=yes).
var grantedAccess = map[string]bool{
	"yes": true, "designated": true, "permissive": true, "private": true,
	"destination": true, "permit": true, "customers": true, "delivery": true,
	"official": true,
}

// wayProfile is how one profile may use one way: which directions and at
// what speed (km/h of travel, not of limit).
type wayProfile struct {
	fwd, bwd       bool
	fwdKmh, bwdKmh float32
	// emergency marks a way closed to pedestrians that an emergency
	// import opens (emergencyFoot).
	emergency bool
}

func (wp wayProfile) routable() bool { return wp.fwd || wp.bwd }

// evaluateWay decides how profile p may use a way with these tags.
func evaluateWay(tags osm.Tags, p roadgraph.Profile) wayProfile {
	hw := tags.Find("highway")
	class, ok := highwayClasses[hw]
	if !ok || isYes(tags.Find("area")) {
		return wayProfile{}
	}
	if !allowed(tags, p, hw, class) {
		return wayProfile{}
	}
	switch p {
	case roadgraph.Car:
		fwd, bwd, ok := carDirections(tags, hw)
		if !ok {
			return wayProfile{}
		}
		limit := class.carLimitKmh
		if v, ok := parseMaxspeed(tags.Find("maxspeed")); ok {
			limit = v
		}
		fl, bl := limit, limit
		if v, ok := parseMaxspeed(tags.Find("maxspeed:forward")); ok {
			fl = v
		}
		if v, ok := parseMaxspeed(tags.Find("maxspeed:backward")); ok {
			bl = v
		}
		return wayProfile{fwd: fwd, bwd: bwd,
			fwdKmh: float32(fl * class.carFactor), bwdKmh: float32(bl * class.carFactor)}
	case roadgraph.Foot:
		fwd, bwd := true, true
		switch onewayValue(tags.Find("oneway:foot")) {
		case onewayForward:
			bwd = false
		case onewayBackward:
			fwd = false
		}
		return wayProfile{fwd: fwd, bwd: bwd, fwdKmh: float32(class.footKmh), bwdKmh: float32(class.footKmh)}
	}
	return wayProfile{}
}

// footClosedValues are the foot=* values that close a road pedestrians
// would otherwise use, and that an emergency import may open: the road is
// there and walkable, only forbidden to walk on (or its sidewalk is drawn
// as a way of its own). access=no, which closes a way to everyone, stays
// closed.
var footClosedValues = map[string]bool{"no": true, "use_sidepath": true}

// emergencyFoot is how pedestrians may use, in an emergency, a way that
// the foot profile does not allow: a road of a class pedestrians use by
// default that foot=no (or use_sidepath) or motorroad=yes closes to them.
// Any other way, or one that another tag keeps closed, is not opened.
func emergencyFoot(tags osm.Tags) wayProfile {
	hw := tags.Find("highway")
	class, ok := highwayClasses[hw]
	if !ok || !class.foot || isYes(tags.Find("area")) {
		return wayProfile{}
	}
	foot := strings.ToLower(strings.TrimSpace(tags.Find("foot")))
	if deniedAccess[strings.ToLower(strings.TrimSpace(tags.Find("access")))] {
		return wayProfile{} // closed to everyone
	}
	if !footClosedValues[foot] && (foot != "" || !isYes(tags.Find("motorroad"))) {
		return wayProfile{}
	}
	return wayProfile{fwd: true, bwd: true, fwdKmh: float32(class.footKmh), bwdKmh: float32(class.footKmh), emergency: true}
}

// allowed applies the access tags: on a class the profile uses by default
// the most specific access tag present may forbid it; on any other class
// only the profile's own key (foot=yes on a motorway) may open it.
func allowed(tags osm.Tags, p roadgraph.Profile, hw string, class highwayClass) bool {
	byDefault := class.car
	if p == roadgraph.Foot {
		byDefault = class.foot
		// A motorroad (expressway) is closed to pedestrians like a motorway.
		if isYes(tags.Find("motorroad")) {
			byDefault = false
		}
	}
	if p == roadgraph.Car && hw == "track" && tags.Find("tracktype") != "grade1" {
		// Farm and forest tracks: most are unpaved and many impassable
		// to an ordinary car; only the paved ones count as roads.
		byDefault = false
	}
	keys := accessKeys[p]
	if !byDefault {
		if p == roadgraph.Car {
			return false // cars stay on roads built for them
		}
		return grantedAccess[strings.ToLower(strings.TrimSpace(tags.Find(keys[0])))]
	}
	for _, k := range keys {
		if v := tags.Find(k); v != "" {
			return !deniedAccess[strings.ToLower(strings.TrimSpace(v))]
		}
	}
	return true
}

type oneway uint8

const (
	onewayUnset oneway = iota
	onewayForward
	onewayBackward
	onewayBoth
	onewayReversible
)

func onewayValue(v string) oneway {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "":
		return onewayUnset
	case "yes", "true", "1":
		return onewayForward
	case "-1", "reverse":
		return onewayBackward
	case "no", "false", "0":
		return onewayBoth
	case "reversible", "alternating":
		return onewayReversible
	}
	return onewayUnset // unknown value: fall back to what the road implies
}

// carDirections returns the directions a car may drive a way in; ok is
// false for reversible ways, whose direction changes with the time of day
// and so cannot be planned on.
func carDirections(tags osm.Tags, hw string) (fwd, bwd, ok bool) {
	ow := onewayUnset
	for _, k := range [...]string{"oneway:motorcar", "oneway:motor_vehicle", "oneway"} {
		if ow = onewayValue(tags.Find(k)); ow != onewayUnset {
			break
		}
	}
	if ow == onewayUnset {
		ow = onewayBoth
		j := tags.Find("junction")
		if j == "roundabout" || j == "circular" || hw == "motorway" || hw == "motorway_link" {
			ow = onewayForward
		}
	}
	switch ow {
	case onewayForward:
		return true, false, true
	case onewayBackward:
		return false, true, true
	case onewayReversible:
		return false, false, false
	}
	return true, true, true
}

func isYes(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "yes", "true", "1":
		return true
	}
	return false
}

// Plausible speed limits in km/h; anything outside is a tagging mistake.
const (
	minLimitKmh = 1
	maxLimitKmh = 300
)

// parseMaxspeed reads an OSM maxspeed value as km/h. ok is false when the
// value gives no number to use (absent, "none", "signals", a country code
// such as "PT:urban", or garbage): the caller then uses the class default.
// Several values separated by ";" yield the lowest.
func parseMaxspeed(v string) (kmh float64, ok bool) {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" {
		return 0, false
	}
	if strings.Contains(v, ";") {
		best := math.Inf(1)
		for _, part := range strings.Split(v, ";") {
			if s, ok := parseMaxspeed(part); ok && s < best {
				best = s
			}
		}
		if math.IsInf(best, 1) {
			return 0, false
		}
		return best, true
	}
	if v == "walk" {
		return walkLimitKmh, true
	}
	// Country zone codes: "DE:zone30" and "DE:zone:30" carry a number;
	// "PT:urban", "BR:rural" and the like do not and fall to the default.
	if i := strings.IndexByte(v, ':'); i >= 0 {
		rest := v[i+1:]
		if !strings.HasPrefix(rest, "zone") {
			return 0, false
		}
		v = strings.TrimLeft(strings.TrimPrefix(rest, "zone"), ":")
	}
	num := v
	unit := ""
	if i := strings.IndexFunc(v, func(r rune) bool { return (r < '0' || r > '9') && r != '.' }); i >= 0 {
		num, unit = v[:i], strings.TrimSpace(v[i:])
	}
	if num == "" {
		return 0, false
	}
	s, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, false
	}
	switch unit {
	case "", "km/h", "kmh", "kph", "kmph":
	case "mph":
		s *= 1.609344
	case "knots", "kn":
		s *= 1.852
	default:
		return 0, false
	}
	if !(s >= minLimitKmh && s <= maxLimitKmh) {
		return 0, false
	}
	return s, true
}

// carBlockingBarriers are the barrier=* values on a node that a car cannot
// pass. Gates, lift gates, chains and the like are absent on purpose: an
// evacuation's operator can open them (the Porto Alegre airport gates are
// barrier=gate nodes with access=private).
var carBlockingBarriers = map[string]bool{
	"bollard": true, "block": true, "jersey_barrier": true, "cycle_barrier": true,
	"kissing_gate": true, "stile": true, "turnstile": true, "full-height_turnstile": true,
	"motorcycle_barrier": true, "bus_trap": true, "planter": true, "log": true,
	"debris": true, "fence": true, "wall": true, "ditch": true,
}

// nodeBlocksCar reports whether a node with these tags stops cars: an
// access tag decides when one is present (access=no on the node, or
// motor_vehicle=yes on a removable bollard), otherwise the barrier type.
func nodeBlocksCar(find func(key string) string) bool {
	for _, k := range accessKeys[roadgraph.Car] {
		if v := find(k); v != "" {
			return deniedAccess[strings.ToLower(strings.TrimSpace(v))]
		}
	}
	return carBlockingBarriers[strings.ToLower(strings.TrimSpace(find("barrier")))]
}

// nodeTagsMatter reports whether a tag key can change nodeBlocksCar, so
// decoders can skip all other node tags.
func nodeTagsMatter(key string) bool {
	switch key {
	case "barrier", "access", "vehicle", "motor_vehicle", "motorcar":
		return true
	}
	return false
}
