package scenario

import (
	"bufio"
	"fmt"
	"io"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/threat"
)

// ReportsFile is the name WriteDir gives the threat inject as reports.
const ReportsFile = "threat-reports.jsonl"

// Reports returns the threat inject as the graded reports an operator
// would receive at time at: an imminent attack threat at the closed gate
// and the gate's closure, road blocks seen by field teams, and the crowd.
// Fused by the threat package they give the inject's picture, so a plan
// can be made from reports (muster plan --reports) as well as from zones.
func (s *Scenario) Reports(at time.Time) []muster.Report {
	at = at.UTC().Truncate(time.Second)
	var out []muster.Report
	gateName := s.Threat.ClosedGate
	for _, g := range s.Gates() {
		if g.ID == s.Threat.ClosedGate {
			gateName = g.Name
		}
	}
	for _, z := range s.Threat.Zones {
		centre := z.Center
		r := muster.Report{ID: "r-" + z.ID, ReceivedAt: at, Reliability: "A", Credibility: 2, Claim: muster.ClaimPresent,
			Likelihood: 0.95, LikelihoodText: "almost certain", Immediacy: muster.ImmediacyImminent,
			Area: muster.Area{Point: &centre, RadiusM: z.RadiusM}, Text: z.Name}
		switch {
		case z.ID == "threat-"+s.Threat.ClosedGate:
			r.Source = muster.Source{ID: "intel", Name: "Intelligence service", Kind: muster.SourceIntelligence}
			r.Kind, r.Severity, r.Actor = muster.KindAttackThreat, 5, "armed group"
			r.Text = fmt.Sprintf("An armed group is about to attack the crowd at %s", gateName)
		case z.Forbidden:
			r.Source = muster.Source{ID: "field-" + z.ID, Name: "Field team", Kind: muster.SourceField}
			r.Kind, r.Severity, r.Credibility = muster.KindRoadblock, 4, 1
			r.Text = fmt.Sprintf("Armed road block on the road at %.5f, %.5f", centre[1], centre[0])
		default:
			r.Source = muster.Source{ID: "public-" + z.ID, Name: "Residents", Kind: muster.SourcePublic}
			r.Kind, r.Severity, r.Reliability, r.Credibility = muster.KindCrowd, 2, "C", 3
			r.Likelihood, r.LikelihoodText = 0.7, "likely"
			r.Text = "A large crowd is gathering here"
		}
		out = append(out, r)
	}
	if s.Threat.ClosedGate != "" {
		out = append(out, muster.Report{ID: "r-status-" + s.Threat.ClosedGate, ReceivedAt: at,
			Source:      muster.Source{ID: "airport-ops", Name: "Airport operations", Kind: muster.SourceOfficial},
			Reliability: "A", Credibility: 1, Kind: muster.KindGateStatus, Claim: muster.GateClosed,
			Likelihood: 1, LikelihoodText: "1", Immediacy: muster.ImmediacyImminent, Severity: 3,
			Area: muster.Area{Place: gateName}, Text: gateName + " is closed"})
	}
	return out
}

// WriteReports writes Reports(at) as JSON Lines, the threat reports format.
func (s *Scenario) WriteReports(w io.Writer, at time.Time) error {
	bw := bufio.NewWriter(w)
	for _, r := range s.Reports(at) {
		line, err := threat.MarshalReport(&r)
		if err != nil {
			return fmt.Errorf("writing report %s: %w", r.ID, err)
		}
		bw.Write(line)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing reports: %w", err)
	}
	return nil
}
