package simulate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/places"
	"github.com/muster-evac/muster/threat"
)

// Inject kinds.
const (
	InjectReports     = "reports"      // threat reports arrive (given in full)
	InjectFakeReports = "fake_reports" // a flood of fake reports about a place
	InjectGateClose   = "gate_close"   // a gate closes (and airport operations report it)
	InjectGateSlow    = "gate_slow"    // a gate passes only Factor of its throughput
	InjectGateOpen    = "gate_open"    // a gate opens again
	InjectRoadBlock   = "road_block"   // the roads within RadiusM of Lat, Lon are blocked
	InjectExplosion   = "explosion"    // an explosion at a gate: it closes, its area is forbidden
)

var injectKinds = []string{InjectReports, InjectFakeReports, InjectGateClose, InjectGateSlow, InjectGateOpen, InjectRoadBlock, InjectExplosion}

// Inject is one event of an exercise scenario. The file (docs/exercise.md)
// is a JSON object {"injects": [...]}, each with "at": a duration from the
// operation's start ("+1h30m", "90m") or an RFC 3339 time.
type Inject struct {
	At      string            `json:"at"`
	Kind    string            `json:"kind"`
	Gate    string            `json:"gate,omitempty"`     // a place id
	Factor  float64           `json:"factor,omitempty"`   // gate_slow: share of throughput kept, 0 < f < 1
	Lat     float64           `json:"lat,omitempty"`      // road_block
	Lon     float64           `json:"lon,omitempty"`      // road_block
	RadiusM float64           `json:"radius_m,omitempty"` // road_block, explosion (default 300)
	Count   int               `json:"count,omitempty"`    // fake_reports: how many (default 200)
	Reports []json.RawMessage `json:"reports,omitempty"`  // reports: threat reports, as in reports.jsonl
	Note    string            `json:"note,omitempty"`

	atS     float64
	reports []muster.Report
}

// InjectFile is the injects file.
type InjectFile struct {
	Injects []Inject `json:"injects"`
}

// MaxInjects bounds an injects file; MaxFakeReports one flood.
const (
	MaxInjects     = 1000
	MaxFakeReports = 10_000
)

// ParseInjects reads an injects file for an operation starting at start.
// Every inject is checked: its time, kind, gate (a gate of pl), numbers in
// range, and its reports parsed as the threat package parses reports
// (received when the inject happens, unless they say otherwise). The error
// names the inject and what is wrong.
func ParseInjects(data []byte, pl *muster.Places, start time.Time) ([]Inject, error) {
	var f InjectFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, muster.Errorf(muster.EINVALID, "injects: %v", err)
	}
	if len(f.Injects) > MaxInjects {
		return nil, muster.Errorf(muster.EINVALID, "injects: %d injects, at most %d", len(f.Injects), MaxInjects)
	}
	var ix *places.Index
	if pl != nil {
		var err error
		if ix, err = places.NewIndex(pl); err != nil {
			return nil, err
		}
	}
	gates := map[string]bool{}
	if pl != nil {
		for _, p := range pl.Places {
			if p.Kind == muster.PlaceGate {
				gates[p.ID] = true
			}
		}
	}
	out := make([]Inject, 0, len(f.Injects))
	for i, in := range f.Injects {
		bad := func(format string, args ...any) error {
			return muster.Errorf(muster.EINVALID, "inject %d (%s at %q): "+format, append([]any{i + 1, in.Kind, in.At}, args...)...)
		}
		at, err := parseAt(in.At, start)
		if err != nil {
			return nil, bad("%v", err)
		}
		in.atS = at
		when := start.Add(time.Duration(at * float64(time.Second)))
		switch in.Kind {
		case InjectGateClose, InjectGateSlow, InjectGateOpen, InjectExplosion, InjectFakeReports:
			if !gates[in.Gate] {
				return nil, bad("gate %q is not a gate of the places file", in.Gate)
			}
		case InjectRoadBlock:
			if !muster.ValidLatLon(in.Lat, in.Lon) || (in.Lat == 0 && in.Lon == 0) {
				return nil, bad("lat, lon %g, %g is not a place on Earth", in.Lat, in.Lon)
			}
		case InjectReports:
			if len(in.Reports) == 0 {
				return nil, bad("no reports")
			}
		default:
			return nil, bad("kind %q is not one of %s", in.Kind, strings.Join(injectKinds, ", "))
		}
		if in.Kind == InjectGateSlow && !(in.Factor > 0 && in.Factor < 1) {
			return nil, bad("factor %g: give the share of throughput kept, between 0 and 1", in.Factor)
		}
		if in.RadiusM == 0 {
			in.RadiusM = 300
		}
		if !(in.RadiusM > 0 && in.RadiusM <= 20_000) {
			return nil, bad("radius_m %g: give 1 to 20,000 m", in.RadiusM)
		}
		if in.Kind == InjectFakeReports {
			if in.Count == 0 {
				in.Count = 200
			}
			if in.Count < 0 || in.Count > MaxFakeReports {
				return nil, bad("count %d: give 1 to %d", in.Count, MaxFakeReports)
			}
		}
		if len(in.Note) > 2000 {
			return nil, bad("note is longer than 2000 bytes")
		}
		for j, raw := range in.Reports {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(raw, &m); err != nil {
				return nil, bad("report %d: %v", j+1, err)
			}
			if _, ok := m["received_at"]; !ok {
				m["received_at"], _ = json.Marshal(when.UTC().Format(time.RFC3339))
			}
			b, _ := json.Marshal(m)
			r, err := threat.ParseReport(b, threat.ParseOptions{Places: ix, Now: when})
			if err != nil {
				return nil, bad("report %d: %v", j+1, err)
			}
			in.reports = append(in.reports, r)
		}
		out = append(out, in)
	}
	return out, nil
}

// parseAt reads a time as seconds from start.
func parseAt(s string, start time.Time) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("at is required: a duration from the start such as +1h30m, or an RFC 3339 time")
	}
	var at float64
	if d, err := time.ParseDuration(strings.TrimPrefix(s, "+")); err == nil {
		at = d.Seconds()
	} else if t, err := time.Parse(time.RFC3339, s); err == nil {
		at = t.Sub(start).Seconds()
	} else {
		return 0, fmt.Errorf("at %q is neither a duration (+1h30m) nor an RFC 3339 time", s)
	}
	if at < 0 || at > 366*24*3600 || math.IsNaN(at) {
		return 0, fmt.Errorf("at %q is before the operation's start or more than a year after it", s)
	}
	return at, nil
}

// reportsOf is what the picture learns from an inject: the reports it
// carries, or those the field and the adversary send.
func (in *Inject) reportsOf(i int, pl *muster.Places, when time.Time) []muster.Report {
	when = when.UTC().Truncate(time.Second)
	out := append([]muster.Report(nil), in.reports...)
	gate, gpt := "", orb.Point{}
	for _, p := range pl.Places {
		if p.ID == in.Gate {
			gate = p.Name
			gpt, _ = p.Point()
		}
	}
	id := func(s string) string { return fmt.Sprintf("inject-%d-%s", i+1, s) }
	official := func(claim string) muster.Report {
		return muster.Report{ID: id("status"), ReceivedAt: when, Source: muster.Source{ID: "airport-ops", Name: "Airport operations", Kind: muster.SourceOfficial},
			Reliability: "A", Credibility: 1, Kind: muster.KindGateStatus, Claim: claim, Likelihood: 1, LikelihoodText: "1",
			Immediacy: muster.ImmediacyImminent, Severity: 3, Area: muster.Area{PlaceID: in.Gate}, Text: fmt.Sprintf("%s is %s", gate, claim)}
	}
	switch in.Kind {
	case InjectGateClose:
		out = append(out, official(muster.GateClosed))
	case InjectGateSlow:
		out = append(out, official(muster.GateRestricted))
	case InjectGateOpen:
		out = append(out, official(muster.GateOpen))
	case InjectExplosion:
		c := gpt
		out = append(out, official(muster.GateClosed), muster.Report{ID: id("explosion"), ReceivedAt: when,
			Source: muster.Source{ID: "field-" + in.Gate, Name: "Field team at the gate", Kind: muster.SourceField}, Reliability: "A", Credibility: 1,
			Kind: muster.KindExplosion, Claim: muster.ClaimPresent, Likelihood: 1, LikelihoodText: "1", Immediacy: muster.ImmediacyImminent,
			Severity: 5, Area: muster.Area{Point: &c, RadiusM: in.RadiusM}, Text: "Explosion at " + gate})
	case InjectRoadBlock:
		c := orb.Point{in.Lon, in.Lat}
		out = append(out, muster.Report{ID: id("roadblock"), ReceivedAt: when,
			Source: muster.Source{ID: fmt.Sprintf("field-block-%d", i+1), Name: "Field team", Kind: muster.SourceField}, Reliability: "A", Credibility: 1,
			Kind: muster.KindRoadblock, Claim: muster.ClaimPresent, Likelihood: 0.95, LikelihoodText: "almost certain", Immediacy: muster.ImmediacyImminent,
			Severity: 4, Area: muster.Area{Point: &c, RadiusM: in.RadiusM}, Text: fmt.Sprintf("Road blocked at %.5f, %.5f", in.Lat, in.Lon)})
	case InjectFakeReports:
		// A flood: as many new accounts, ungraded, one text, all within
		// minutes, claiming an imminent attack at the gate and its closure.
		for k := 0; k < in.Count; k++ {
			t := when.Add(time.Duration(k%600) * time.Second)
			kind, claim := muster.KindAttackThreat, muster.ClaimPresent
			if k%2 == 1 {
				kind, claim = muster.KindGateStatus, muster.GateClosed
			}
			out = append(out, muster.Report{ID: id(fmt.Sprintf("fake-%05d", k)), ReceivedAt: t,
				Source:      muster.Source{ID: fmt.Sprintf("acct-%d-%05d", i+1, k), Name: "new account", Kind: muster.SourceSocial},
				Reliability: "F", Credibility: 6, Kind: kind, Claim: claim, Likelihood: 0.95, LikelihoodText: "almost certain",
				Immediacy: muster.ImmediacyImminent, Severity: 5, Area: muster.Area{PlaceID: in.Gate},
				Text: "URGENT attack at " + gate + " now, gate closed, go elsewhere"})
		}
	}
	return out
}
