package plancheck

// Rule is one hard rule: its code (Violation.Rule), what it verifies, and
// which input beyond the plan, places, evacuee list and picture it needs.
type Rule struct {
	Code  string `json:"code"`
	Doc   string `json:"doc"`
	Needs string `json:"needs,omitempty"` // "car graph", "foot graph", "fleet", or ""
}

const (
	needsCar      = "car graph"
	needsFoot     = "foot graph"
	needsFleet    = "fleet"
	needsPrevious = "previous plan"
)

// Rule codes.
const (
	RuleHouseholdUnknown    = "household_unknown"
	RuleHouseholdLost       = "household_lost"
	RuleHouseholdTwice      = "household_twice"
	RuleInstructionMissing  = "instruction_missing"
	RuleInstructionDup      = "instruction_duplicate"
	RuleInstructionMismatch = "instruction_mismatch"
	RuleHouseholdPeople     = "household_people"
	RuleUnassignedReason    = "unassigned_reason"
	RuleUnservedCode        = "unserved_code"
	RuleGroupIDDuplicate    = "group_id_duplicate"
	RuleGroupPeople         = "group_people"
	RuleGroupSize           = "group_size"
	RuleGroupTimes          = "group_times"
	RulePlaceUnknown        = "place_unknown"
	RuleGeometry            = "geometry"
	RuleWalkStart           = "walk_start"
	RuleWalkEnd             = "walk_end"
	RuleWalkDuration        = "walk_duration"
	RuleMaxWalk             = "max_walk"
	RuleHouseholdTimes      = "household_times"
	RuleWalkZone            = "walk_zone"
	RuleEscapeStart         = "escape_start"
	RuleRouteStart          = "route_start"
	RuleRouteEnd            = "route_end"
	RuleRouteDuration       = "route_duration"
	RuleMovingStart         = "moving_start"
	RuleArrival             = "arrival"
	RuleRouteZone           = "route_zone"
	RuleGateClosed          = "gate_closed"
	RuleMovingGateClosed    = "moving_gate_closed"
	RuleMovingKept          = "moving_kept"
	RuleGateForbidden       = "gate_forbidden"
	RuleGateThroughput      = "gate_throughput"
	RuleGateCrowd           = "gate_crowd"
	RuleGateHours           = "gate_hours"
	RuleNoOpenGate          = "no_open_gate"
	RuleNobodyAssigned      = "nobody_assigned"
	RuleRallyForbidden      = "rally_forbidden"
	RuleRallyCapacity       = "rally_capacity"
	RuleRallyHours          = "rally_hours"
	RuleVehicles            = "vehicles"
	RuleFleet               = "fleet"
	RuleMaxWalkMobility     = "max_walk_mobility"
	RuleHorizon             = "horizon"
	RuleStateThrough        = "state_through"
	RuleMovingSentBack      = "moving_sent_back"
	RuleExecutedChanged     = "executed_changed"
	RuleMissingDropped      = "missing_dropped"
	RuleEmergencyWalk       = "emergency_walk"
	RuleSuggestionMissing   = "suggestion_missing"
	RuleSuggestionTwice     = "suggestion_twice"
	RuleSuggestionServed    = "suggestion_served"
	RuleSuggestionWalk      = "suggestion_walk"
	RuleSuggestionCapacity  = "suggestion_capacity"
)

// Rules lists every rule the checker verifies.
var Rules = []Rule{
	{RuleHouseholdUnknown, "every household a group, instruction, unserved entry or suggestion names is on the evacuee list", ""},
	{RuleHouseholdLost, "every household on the evacuee list is in a group or unserved", ""},
	{RuleHouseholdTwice, "no household is in two groups, or in a group and unserved, or unserved twice", ""},
	{RuleInstructionMissing, "every household in a group has an instruction", ""},
	{RuleInstructionDup, "no household has two instructions", ""},
	{RuleInstructionMismatch, "an instruction names the group that holds its household and that group's rally point; an unserved household has none", ""},
	{RuleHouseholdPeople, "an instruction's people are its household's, from the evacuee list", ""},
	{RuleUnassignedReason, "an unserved household has a known code and a reason", ""},
	{RuleUnservedCode, "an unserved household's code is justified, recomputed from the inputs: empty (no people), too_large (more than the maximum group size, or than any rally point within its walk can send), no_location (no coordinates), no_road (beyond the router's reach of every foot road); with the foot and car graphs, no_rally, cut_off, max_walk, unreachable and no_road for a household that cannot walk within its limit, on foot roads clear of every zone, to a rally point that surely can send groups (none at all, none on its walkable piece), no_gate and too_large for one that has a rally point within its walk (free-flow); out and stranded only in a re-plan, stranded only for a household on the move at as_of", needsFoot},
	{RuleGroupIDDuplicate, "group ids are unique", ""},
	{RuleGroupPeople, "a group's people are the sum of its households' people, from the evacuee list", ""},
	{RuleGroupSize, "no group holds more people than the maximum group size (from the command line)", ""},
	{RuleGroupTimes, "no departure before the start; gathered by departure; re-routed on the move only in a re-plan, after departure and by as_of", ""},
	{RulePlaceUnknown, "a group's rally point and gate are those of the places file", ""},
	{RuleGeometry, "every walk and route is a LineString", ""},
	{RuleWalkStart, "a walk starts where its household's home meets the foot network", ""},
	{RuleWalkEnd, "a walk ends where its rally point meets the foot network", ""},
	{RuleWalkDuration, "a walk's duration is no shorter than the shortest walk the foot graph allows to its rally point from where it starts (when that is where the home meets the network: walk_start), else from the home", needsFoot},
	{RuleMaxWalk, "no walk is longer than the maximum walk (from the command line)", ""},
	{RuleHouseholdTimes, "a household is asked to report after the start plus its walk, and no later than its group leaves", ""},
	{RuleWalkZone, "no walk still to be made touches a forbidden zone, but for an escape leaving the zone it starts in", ""},
	{RuleEscapeStart, "a leg marked escape starts inside a forbidden zone, or on a road that touches one", ""},
	{RuleRouteStart, "a route starts where its rally point meets the car network (unless re-routed on the move)", ""},
	{RuleRouteEnd, "a route ends where its gate meets the car network", ""},
	{RuleRouteDuration, "a route's duration is no shorter than the shortest drive the car graph allows from its start to its gate", needsCar},
	{RuleMovingStart, "a group re-routed on the move starts no farther from its rally point than it could have driven since it left", needsCar},
	{RuleArrival, "a group reaches its gate no sooner than its route allows from when the route starts", ""},
	{RuleRouteZone, "no route still to be driven touches a forbidden zone (for a group on the move: its way ahead)", ""},
	{RuleGateClosed, "no group that had not left when its gate closed (or lost its throughput: none in the places file, or measured passing nobody in a re-plan) passes it after", ""},
	{RuleMovingGateClosed, "a group on the move when its gate closed or fell in a forbidden zone is re-routed, not sent into it", ""},
	{RuleMovingKept, "a re-plan keeps every group on the move as the plan it revises had it (gate, times, route, households), unless it re-routes it from where it is because its gate closed, fell in a forbidden zone or became restricted, its route crosses a forbidden zone, or it left its rally point more than plan.LateDeparture (5 minutes) after its planned departure (then leaving when the field says it did)", needsPrevious},
	{RuleGateForbidden, "no group that had not left when its gate fell in a forbidden zone passes it after", ""},
	{RuleGateThroughput, "at each gate, first in first out at its throughput (the restricted share only from when it became restricted; in a re-plan with the state, the rate the field measured from the re-plan on, when lower), no group is through sooner than the gate allows", ""},
	{RuleGateCrowd, "the people at a gate at once (arrived, not through) never exceed its crowd limit", ""},
	{RuleGateHours, "every passage lies within the gate's opening hours", ""},
	{RuleNoOpenGate, "a plan with households to move has a gate open", ""},
	{RuleNobodyAssigned, "a plan with households to move and a gate open moves somebody", ""},
	{RuleRallyForbidden, "no group gathers at a rally point in a forbidden zone", ""},
	{RuleRallyCapacity, "the people at a rally point at once (from report_by to departure) never exceed its capacity", ""},
	{RuleRallyHours, "a group waits at its rally point within the rally point's opening hours", ""},
	{RuleVehicles, "with a fleet, every group holds enough vehicles for its people", needsFleet},
	{RuleFleet, "with a fleet, never more vehicles are out at once (each from departure for twice its route's time) than the fleet has", needsFleet},
	{RuleMaxWalkMobility, "no household with mobility needs walks longer than the mobility walk limit (from the command line)", ""},
	{RuleHorizon, "no group is through later than the horizon (from the command line) after the start", ""},
	{RuleStateThrough, "a re-plan made mid-operation never plans again a household already through a gate (by the state of the field, or its group through before the re-plan); only those are listed out", needsPrevious},
	{RuleMovingSentBack, "a household on the move at the re-plan (by the state, else the previous plan's times) stays on the move: never in a group leaving later, unserved only as stranded", needsPrevious},
	{RuleExecutedChanged, "what a group that left did stays: its rally point and departure; a group through, all of it", needsPrevious},
	{RuleEmergencyWalk, "every walk along roads closed to pedestrians (the foot graph's emergency arcs, from --foot-emergency) is listed in reach.emergency_walks with about its length on them, and no other walk is", needsFoot},
	{RuleSuggestionMissing, "every household unserved as no_road, max_walk, cut_off or no_rally is in a suggestion of the plan's reach", ""},
	{RuleSuggestionTwice, "no household is in more than one suggestion", ""},
	{RuleSuggestionServed, "no household in a group, or unserved for another reason, is in a suggestion", ""},
	{RuleSuggestionWalk, "a suggested rally point and the homes of its households lie within 1,000 m of the foot graph, on one walkable piece, and every household can walk to it within its walk limit (from the command line), recomputed", needsFoot},
	{RuleSuggestionCapacity, "a suggestion's people are its households' on the evacuee list, and a suggested rally point's no more than the largest capacity the places file gives a rally point", ""},
	{RuleMissingDropped, "a household the field reports overdue or no-show is in no group that left without it, and is moved to a later group or unserved with its change in the diff", needsPrevious},
}
