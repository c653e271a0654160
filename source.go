package muster

import "time"

// SourceGrade is an analyst's standing judgement of a report source,
// kept in the source registry. Sources are graded once, by analysts:
// reports from a registered source take its Reliability instead of the
// grade typed on each report, reports from a Hostile source are kept in
// the record but do not count, and sources an analyst has found to be one
// operator behind many names (a sock-puppet cluster) share a Cluster and
// count as one source.
type SourceGrade struct {
	ID          string // the source.id reports give
	Name        string
	Kind        string // SourceOfficial, ...; empty if not given
	Reliability string // Admiralty A-F; empty: each report keeps its own
	Hostile     bool
	Cluster     string // sources with one Cluster count as one; empty: none
	Note        string // the analyst's reason, shown with every report from it
	UpdatedAt   time.Time
	UpdatedBy   string
}

// CountsAs returns the identity under which the source's reports are
// counted for independence: its cluster if it has one, else its id.
func (s *SourceGrade) CountsAs() string {
	if s.Cluster != "" {
		return "cluster:" + s.Cluster
	}
	return s.ID
}
