package muster

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// MaxSourceNoteBytes bounds a source grade's note.
const MaxSourceNoteBytes = 2000

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

// Validate checks what an analyst sets (see Problem). The error is
// EINVALID and names the field.
func (s *SourceGrade) Validate() error {
	field, reason := s.Problem()
	switch {
	case field == "":
		return nil
	case field == "id":
		return Errorf(EINVALID, "source: id: %s", reason)
	}
	return Errorf(EINVALID, "source %q: %s: %s", s.ID, field, reason)
}

// Problem returns the first field of what an analyst sets that is not
// valid, and why; "", "" if all are. The id is a report's source.id
// (required, text of at most MaxIDBytes), the reliability empty or one of
// A-F, the kind empty or one of SourceKinds, the cluster empty or an id
// like a source's, the name as a report's source.name, the note text of at
// most MaxSourceNoteBytes. UpdatedAt and UpdatedBy are the recorder's, not
// checked here.
func (s *SourceGrade) Problem() (field, reason string) {
	switch {
	case strings.TrimSpace(s.ID) == "":
		return "id", "missing: give the source.id its reports carry"
	case CheckText(s.ID, MaxIDBytes) != nil:
		return "id", CheckText(s.ID, MaxIDBytes).Error()
	case CheckText(s.Name, MaxIDBytes) != nil:
		return "name", CheckText(s.Name, MaxIDBytes).Error()
	case s.Kind != "" && !slices.Contains(SourceKinds, s.Kind):
		return "kind", fmt.Sprintf("%q is not one of %s (or empty)", s.Kind, strings.Join(SourceKinds, ", "))
	case s.Reliability != "" && (len(s.Reliability) != 1 || !strings.Contains(ReliabilityGrades, s.Reliability)):
		return "reliability", fmt.Sprintf("%q is not an Admiralty source grade A (reliable) to F (cannot be judged), or empty (each report keeps its own)", s.Reliability)
	case s.Cluster != "" && strings.TrimSpace(s.Cluster) == "":
		return "cluster", "is blank: give the cluster's id, or leave it empty for none"
	case CheckText(s.Cluster, MaxIDBytes) != nil:
		return "cluster", CheckText(s.Cluster, MaxIDBytes).Error()
	case CheckText(s.Note, MaxSourceNoteBytes) != nil:
		return "note", CheckText(s.Note, MaxSourceNoteBytes).Error()
	}
	return "", ""
}
