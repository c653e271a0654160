package threat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/muster-evac/muster"
)

// Policy turns the picture's levels into routing verdicts: which zones a
// route may never enter and what cost factor the others add. It is
// configuration; DefaultPolicy is the safe default.
type Policy struct {
	// Forbid lists the levels whose zones routes never enter.
	Forbid []string `json:"forbid"`
	// Penalty is the travel-cost factor (>= 1) for crossing a zone of each
	// level that is not forbidden.
	Penalty map[string]float64 `json:"penalty"`
	// LargeAreaKm2: a zone larger than this (a city district) is forbidden
	// only if at least one report for it is graded WellGraded or better,
	// so a vague city-wide warning never shuts a whole city.
	LargeAreaKm2 float64 `json:"large_area_km2"`
	// WellGraded is the weakest Admiralty grade that may forbid a large
	// zone, such as "B2": reliability at most B and credibility at most 2.
	WellGraded string `json:"well_graded"`
	// MaxForbiddenAreaKm2: a zone larger than this (a province, a country)
	// is neither forbidden nor penalised: it lies over every route of the
	// operation alike, so forbidding it would forbid the whole operation
	// and a penalty would change no route. Such zones are context for the
	// operator.
	MaxForbiddenAreaKm2 float64 `json:"max_forbidden_area_km2"`
}

// DefaultPolicy forbids high and critical zones up to province size,
// large ones only on well-graded (B2 or better) reporting, and makes
// moderate zones cost double and low ones 20% more.
func DefaultPolicy() Policy {
	return Policy{
		Forbid:              []string{LevelHigh, LevelCritical},
		Penalty:             map[string]float64{LevelLow: 1.2, LevelModerate: 2, LevelHigh: 5, LevelCritical: 20},
		LargeAreaKm2:        25,
		WellGraded:          "B2",
		MaxForbiddenAreaKm2: 2000,
	}
}

// Validate checks every field and names the wrong one.
func (p *Policy) Validate() error {
	for _, l := range p.Forbid {
		if levelRank(l) < 0 {
			return muster.Errorf(muster.EINVALID, "policy: forbid: %q is not a level (low, moderate, high, critical)", l)
		}
	}
	for l, v := range p.Penalty {
		if levelRank(l) < 0 {
			return muster.Errorf(muster.EINVALID, "policy: penalty: %q is not a level (low, moderate, high, critical)", l)
		}
		if !(v >= 1 && v <= 1e6) {
			return muster.Errorf(muster.EINVALID, "policy: penalty.%s: %v is not a cost factor in 1..1e6", l, v)
		}
	}
	if !(p.LargeAreaKm2 > 0) {
		return muster.Errorf(muster.EINVALID, "policy: large_area_km2: %v must be > 0", p.LargeAreaKm2)
	}
	if !(p.MaxForbiddenAreaKm2 >= p.LargeAreaKm2) {
		return muster.Errorf(muster.EINVALID, "policy: max_forbidden_area_km2: %v must be >= large_area_km2 %v", p.MaxForbiddenAreaKm2, p.LargeAreaKm2)
	}
	if _, _, err := parseGrade(p.WellGraded); err != nil {
		return muster.Errorf(muster.EINVALID, "policy: well_graded: %v", err)
	}
	return nil
}

func parseGrade(g string) (string, int, error) {
	if len(g) != 2 || g[0] < 'A' || g[0] > 'F' || g[1] < '1' || g[1] > '6' {
		return "", 0, fmt.Errorf("%q is not an Admiralty grade such as B2", g)
	}
	return g[:1], int(g[1] - '0'), nil
}

// atLeast reports whether a report graded rel/cred is at least as good as
// the grade g on both scales. F and 6 (cannot be judged) are never good.
func atLeast(rel string, cred int, g string) bool {
	gr, gc, err := parseGrade(g)
	if err != nil {
		return false
	}
	return rel != "F" && cred != 6 && rel <= gr && cred <= gc
}

// LoadPolicy reads a policy from a JSON file; fields it leaves out keep
// their DefaultPolicy values.
func LoadPolicy(path string) (Policy, error) {
	p := DefaultPolicy()
	data, err := os.ReadFile(path)
	if err != nil {
		return p, muster.Errorf(muster.EINVALID, "policy file: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, muster.Errorf(muster.EINVALID, "policy file %s: %v", path, err)
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("policy file %s: %w", path, err)
	}
	return p, nil
}

func (p *Policy) forbids(level string) bool {
	for _, l := range p.Forbid {
		if l == level {
			return true
		}
	}
	return false
}
