package httpapi

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/muster-evac/muster"
)

// auditRead appends an audit entry for a read of personal data. It must
// succeed before the data leaves: a read that cannot be recorded is not
// served.
func (s *Server) auditRead(ctx context.Context, action, target, detail string) error {
	_, err := s.store.AppendAudit(ctx, muster.AuditEntry{Actor: muster.ActorFrom(ctx), Action: action, Target: target, Detail: detail})
	if err != nil {
		return fmt.Errorf("audit %s %s: %w", action, target, err)
	}
	return nil
}

// audit appends an entry that does not guard data (logins); a failure is
// logged.
func (s *Server) audit(ctx context.Context, action, target, detail string) {
	if err := s.auditRead(ctx, action, target, detail); err != nil {
		s.log.Error("audit", "err", err)
	}
}

type auditJSON struct {
	Seq      int64     `json:"seq"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"`
	Target   string    `json:"target"`
	Detail   string    `json:"detail,omitempty"`
	PrevHash string    `json:"prev_hash"`
	Hash     string    `json:"hash"`
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, _ *caller) error {
	q := r.URL.Query()
	var after int64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return errorf(muster.EINVALID, "after: %q, want a sequence number", v)
		}
		after = n
	}
	limit := 1000
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return errorf(muster.EINVALID, "limit: %q not a whole number in 1..10000", v)
		}
		limit = n
	}
	es, err := s.store.ListAudit(r.Context(), after, limit)
	if err != nil {
		return err
	}
	out := struct {
		Entries []auditJSON `json:"entries"`
	}{Entries: make([]auditJSON, 0, len(es))}
	for _, e := range es {
		out.Entries = append(out.Entries, auditJSON{Seq: e.Seq, At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target,
			Detail: e.Detail, PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request, _ *caller) error {
	v, err := s.store.VerifyAudit(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": v.OK, "entries": v.Entries, "first_bad": v.FirstBad, "reason": v.Reason})
	return nil
}
