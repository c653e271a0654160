package httpapi

import (
	"net/http"
	"strconv"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/credential"
)

// Field events (docs/operations.md): what the field reports, in batches,
// each event with the client's id, recorded once.

const maxFieldEvents = 10_000

type fieldEventsRequest struct {
	Events []muster.FieldEvent `json:"events"`
}

type fieldEventOutcome struct {
	ID      string   `json:"id"`
	Outcome string   `json:"outcome"` // recorded, duplicate, refused
	Reason  string   `json:"reason,omitempty"`
	Flags   []string `json:"flags,omitempty"`
	Seq     int64    `json:"seq,omitempty"`
}

type fieldEventsResponse struct {
	Recorded   int                 `json:"recorded"`
	Flagged    int                 `json:"flagged"` // recorded, but flagged (not applied; or, at another rally point, applied and shown to the operators)
	Duplicates int                 `json:"duplicates"`
	Refused    int                 `json:"refused"`
	Outcomes   []fieldEventOutcome `json:"outcomes"`
}

// forgedTokenID is what a check-in whose signed token does not verify
// keeps as its token id: no instruction version has it, so the store
// flags the event forged, and the token itself is not kept.
const forgedTokenID = "forged"

// addFieldEvents records a batch of field events; each gets its outcome.
// A check-in that shows a signed token has it verified first, as of when
// it was made (a token superseded since was current at the rally point
// then): a forged one, or another deployment's, is kept flagged.
func (s *Server) addFieldEvents(w http.ResponseWriter, r *http.Request, _ *caller) error {
	var req fieldEventsRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.Events) == 0 || len(req.Events) > maxFieldEvents {
		return errorf(muster.EINVALID, "events: send 1 to %d field events", maxFieldEvents)
	}
	var bundle *credential.Bundle
	for i := range req.Events {
		e := &req.Events[i]
		if e.Token == "" {
			continue
		}
		if s.cfg.Issuer == nil {
			return s.noKeys("verify the tokens of check-ins")
		}
		if bundle == nil {
			b, _, err := s.verifierBundle(r.Context(), false)
			if err != nil {
				return err
			}
			bundle = b
		}
		v := credential.Verify(e.Token, bundle, e.At)
		if v.Genuine() {
			e.TokenID = v.Claims.TokenID()
		} else {
			e.TokenID = forgedTokenID
		}
		e.Token = ""
	}
	res, err := s.store.AddFieldEvents(r.Context(), req.Events)
	if err != nil {
		return err
	}
	out := fieldEventsResponse{Outcomes: make([]fieldEventOutcome, len(res))}
	for i, o := range res {
		out.Outcomes[i] = fieldEventOutcome{ID: req.Events[i].ID, Outcome: o.Outcome, Reason: o.Reason, Flags: o.Event.Flags, Seq: o.Event.Seq}
		switch o.Outcome {
		case muster.FieldRecorded:
			out.Recorded++
			if o.Event.Flagged() {
				out.Flagged++
			}
		case muster.FieldDuplicate:
			out.Duplicates++
		default:
			out.Refused++
		}
	}
	if out.Recorded > 0 {
		s.live.dirty()
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type fieldEventsPage struct {
	Events []muster.FieldEvent `json:"events"`
	// Next is the after= of the following page (by arrival); 0 after the
	// last.
	Next int64 `json:"next,omitempty"`
}

// listFieldEvents lists field events, by arrival or (by_time=true) by when
// they happened; flagged=true the flagged ones (kept but not applied, or
// checked in at another rally point), with their notes.
func (s *Server) listFieldEvents(w http.ResponseWriter, r *http.Request, _ *caller) error {
	q := r.URL.Query()
	f := muster.FieldEventFilter{Kind: q.Get("kind"), Household: q.Get("household"), Group: q.Get("group"), Gate: q.Get("gate"),
		Flagged: q.Get("flagged") == "true", ByTime: q.Get("by_time") == "true", Limit: 1000}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return errorf(muster.EINVALID, "after: %q, want an event's seq", v)
		}
		f.AfterSeq = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10_000 {
			return errorf(muster.EINVALID, "limit: %q, want 1 to 10000", v)
		}
		f.Limit = n
	}
	es, err := s.store.ListFieldEvents(r.Context(), f)
	if err != nil {
		return err
	}
	out := fieldEventsPage{Events: es}
	if out.Events == nil {
		out.Events = []muster.FieldEvent{}
	}
	if len(es) == f.Limit && !f.ByTime {
		out.Next = es[len(es)-1].Seq
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
