package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/threat"
)

type rejectedReport struct {
	Line  int    `json:"line"`
	ID    string `json:"id,omitempty"`
	Error string `json:"error"`
}

type addReportsResponse struct {
	Accepted []string         `json:"accepted"`
	Rejected []rejectedReport `json:"rejected"`
}

// addReports takes one report (a JSON object, over any number of lines) or
// JSON Lines, one report a line, parsed and validated by threat.ParseReports
// and stored as received. Each bad line is rejected on its own with its
// reason; the good ones are stored. 201 if any was stored, 400 if none.
func (s *Server) addReports(w http.ResponseWriter, r *http.Request, _ *caller) error {
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, mediaNDJSON) &&
		!strings.HasPrefix(ct, "application/jsonl") && !strings.HasPrefix(ct, "text/plain") {
		return errorf(muster.EINVALID, "Content-Type %q: send application/json (one report) or application/x-ndjson (JSON Lines)", ct)
	}
	if r.ContentLength < 0 || r.ContentLength > s.cfg.MaxJSONBytes { // a file of reports, not one
		release, err := s.takeBulk()
		if err != nil {
			return err
		}
		defer release()
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxCSVBytes))
	if err != nil {
		return bodyError(err)
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return errorf(muster.EINVALID, "request body: empty, want a report (JSON) or reports (JSON Lines)")
	}
	// One object written over several lines is one report: put it on one
	// line for the JSON Lines reader.
	if json.Valid(trimmed) && bytes.ContainsAny(trimmed, "\n\r") {
		var one bytes.Buffer
		if err := json.Compact(&one, trimmed); err == nil {
			trimmed = one.Bytes()
		}
	}
	_, ix, err := s.currentPlaces(r.Context())
	if err != nil {
		return err
	}
	res, err := threat.ParseReports(bytes.NewReader(trimmed), nil, threat.ParseOptions{Places: ix, Now: s.now()})
	if err != nil {
		return errorf(muster.EINVALID, "request body: %v", err)
	}
	out := addReportsResponse{Accepted: []string{}, Rejected: []rejectedReport{}}
	for _, rj := range res.Rejected {
		out.Rejected = append(out.Rejected, rejectedReport{Line: rj.Line, ID: rj.ID, Error: threat.Safe(rj.Err.Error())})
	}
	for _, a := range res.Accepted {
		if err := s.store.AddReport(r.Context(), a.Report); err != nil {
			if code := muster.ErrorCode(err); code == muster.ECONFLICT || code == muster.EINVALID {
				out.Rejected = append(out.Rejected, rejectedReport{Line: a.Line, ID: a.Report.ID, Error: err.Error()})
				continue
			}
			return fmt.Errorf("report %s: %w", a.Report.ID, err)
		}
		out.Accepted = append(out.Accepted, a.Report.ID)
	}
	if len(out.Accepted) == 0 {
		msg := "no report accepted"
		if len(out.Rejected) > 0 {
			msg = fmt.Sprintf("no report accepted: line %d: %s", out.Rejected[0].Line, out.Rejected[0].Error)
		}
		return &apiError{code: muster.EINVALID, message: msg, details: out}
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

type reportsResponse struct {
	// Reports are in the import format (see threat.ParseReport).
	Reports []json.RawMessage `json:"reports"`
}

// listReports returns the record, each report in the import format.
func (s *Server) listReports(w http.ResponseWriter, r *http.Request, _ *caller) error {
	q := r.URL.Query()
	var since time.Time
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return errorf(muster.EINVALID, "since: %q, want an RFC 3339 time such as 2021-08-21T18:00:00Z", v)
		}
		since = t
	}
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			return errorf(muster.EINVALID, "limit: %q not a whole number in 1..100000", v)
		}
		limit = n
	}
	reps, err := s.store.ListReports(r.Context(), since, limit)
	if err != nil {
		return err
	}
	out := reportsResponse{Reports: make([]json.RawMessage, 0, len(reps))}
	for i := range reps {
		b, err := threat.MarshalReport(&reps[i])
		if err != nil {
			return fmt.Errorf("report %s: %w", reps[i].ID, err)
		}
		out.Reports = append(out.Reports, b)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// atParam reads ?at=, an RFC 3339 time; now if absent or "now".
func (s *Server) atParam(r *http.Request) (time.Time, error) {
	v := r.URL.Query().Get("at")
	if v == "" || v == "now" {
		return s.now().UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, errorf(muster.EINVALID, "at: %q, want an RFC 3339 time such as 2021-08-21T18:00:00Z", v)
	}
	return t.UTC(), nil
}

// threats builds the threat picture at ?at= (default now) from the stored
// reports, as `muster threats` does from a file, and writes its GeoJSON.
func (s *Server) threats(w http.ResponseWriter, r *http.Request, _ *caller) error {
	at, err := s.atParam(r)
	if err != nil {
		return err
	}
	reps, err := s.store.ListReports(r.Context(), time.Time{}, 0)
	if err != nil {
		return err
	}
	pl, _, err := s.currentPlaces(r.Context())
	if err != nil {
		return err
	}
	opts, err := s.pictureOptions(r.Context())
	if err != nil {
		return err
	}
	p, err := threat.Build(reps, pl, at, s.policy, opts...)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := threat.WriteGeoJSON(&buf, p); err != nil {
		return err
	}
	w.Header().Set("Content-Type", mediaGeo)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	return nil
}
