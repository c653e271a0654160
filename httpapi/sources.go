package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/threat"
)

// The source registry: analysts grade a report source once (reliability,
// hostile, sock-puppet cluster) and every picture the server builds reads
// the grades (pictureOptions). Bodies use the field names of the registry
// file (package threat, sourcefile.go), so that a file line and a request
// body read alike.

// sourceJSON is a stored grade.
type sourceJSON struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Kind        string    `json:"kind"`
	Reliability string    `json:"reliability"`
	Hostile     bool      `json:"hostile"`
	Cluster     string    `json:"cluster"`
	Note        string    `json:"note"`
	UpdatedAt   time.Time `json:"updated_at"`
	UpdatedBy   string    `json:"updated_by"`
}

func sourceOut(g muster.SourceGrade) sourceJSON {
	return sourceJSON{ID: g.ID, Name: g.Name, Kind: g.Kind, Reliability: g.Reliability, Hostile: g.Hostile,
		Cluster: g.Cluster, Note: g.Note, UpdatedAt: g.UpdatedAt, UpdatedBy: g.UpdatedBy}
}

type sourcesResponse struct {
	Sources []sourceJSON `json:"sources"`
}

// sourceIn is the body of PUT /api/sources/{id}: the whole grade (a field
// left out is empty: reliability "" lets each report keep its own). The
// server sets updated_at and updated_by.
type sourceIn struct {
	ID          string `json:"id,omitempty"` // if given, the path's
	Name        string `json:"name,omitempty"`
	Kind        string `json:"kind,omitempty"`
	Reliability string `json:"reliability,omitempty"`
	Hostile     bool   `json:"hostile,omitempty"`
	Cluster     string `json:"cluster,omitempty"`
	Note        string `json:"note,omitempty"`
}

// grade is the body as the grade of source id, checked.
func (in *sourceIn) grade(id string) (muster.SourceGrade, error) {
	if in.ID != "" && in.ID != id {
		return muster.SourceGrade{}, errorf(muster.EINVALID, "id: %q is not %q, the source of the path", in.ID, id)
	}
	g := muster.SourceGrade{ID: id, Name: in.Name, Kind: in.Kind, Reliability: in.Reliability, Hostile: in.Hostile, Cluster: in.Cluster, Note: in.Note}
	return g, g.Validate()
}

type sourceRemoved struct {
	ID      string `json:"id"`
	Removed bool   `json:"removed"`
}

func (s *Server) listSources(w http.ResponseWriter, r *http.Request, _ *caller) error {
	list, err := s.store.Sources(r.Context())
	if err != nil {
		return err
	}
	out := sourcesResponse{Sources: make([]sourceJSON, 0, len(list))}
	for _, g := range list {
		out.Sources = append(out.Sources, sourceOut(g))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// putSource creates or replaces a source's grade; the store validates it
// and audits the change.
func (s *Server) putSource(w http.ResponseWriter, r *http.Request, _ *caller) error {
	id := r.PathValue("id")
	var in sourceIn
	if err := s.decodeJSON(w, r, &in); err != nil {
		return err
	}
	g, err := in.grade(id)
	if err != nil {
		return err
	}
	if g, err = s.store.PutSource(r.Context(), g); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sourceOut(g))
	return nil
}

func (s *Server) deleteSource(w http.ResponseWriter, r *http.Request, _ *caller) error {
	id := r.PathValue("id")
	if err := s.store.DeleteSource(r.Context(), id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sourceRemoved{ID: id, Removed: true})
	return nil
}

// pictureOptions are the options of every threat picture the server
// builds: the stored source registry, so that a picture never counts a
// source the analysts have marked hostile.
func (s *Server) pictureOptions(ctx context.Context) ([]threat.Option, error) {
	list, err := s.store.Sources(ctx)
	if err != nil {
		return nil, fmt.Errorf("source registry: %w", err)
	}
	return []threat.Option{threat.WithSources(threat.NewSources(list))}, nil
}
