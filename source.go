package muster

import (
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

// Validate checks what an analyst sets: the id as a report's source.id
// (required, text of at most MaxIDBytes), the reliability empty or one of
// A-F, the kind empty or one of SourceKinds, the cluster empty or an id
// like a source's, the name as a report's source.name and the note text of
// at most MaxSourceNoteBytes. UpdatedAt and UpdatedBy are the recorder's.
// The error is EINVALID and names the field.
func (s *SourceGrade) Validate() error {
	bad := func(field, format string, args ...any) error {
		return Errorf(EINVALID, "source %q: %s: "+format, append([]any{s.ID, field}, args...)...)
	}
	if strings.TrimSpace(s.ID) == "" {
		return Errorf(EINVALID, "source: id: missing: give the source.id its reports carry")
	}
	if err := CheckText(s.ID, MaxIDBytes); err != nil {
		return Errorf(EINVALID, "source: id: %v", err)
	}
	if err := CheckText(s.Name, MaxIDBytes); err != nil {
		return bad("name", "%v", err)
	}
	if s.Kind != "" && !slices.Contains(SourceKinds, s.Kind) {
		return bad("kind", "%q is not one of %s (or empty)", s.Kind, strings.Join(SourceKinds, ", "))
	}
	if s.Reliability != "" && (len(s.Reliability) != 1 || !strings.Contains(ReliabilityGrades, s.Reliability)) {
		return bad("reliability", "%q is not an Admiralty source grade A (reliable) to F (cannot be judged), or empty (each report keeps its own)", s.Reliability)
	}
	if s.Cluster != "" && strings.TrimSpace(s.Cluster) == "" {
		return bad("cluster", "is blank: give the cluster's id, or leave it empty for none")
	}
	if err := CheckText(s.Cluster, MaxIDBytes); err != nil {
		return bad("cluster", "%v", err)
	}
	if err := CheckText(s.Note, MaxSourceNoteBytes); err != nil {
		return bad("note", "%v", err)
	}
	return nil
}
