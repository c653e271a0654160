package httpapi

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/muster-evac/muster"
)

// auditRead appends an audit entry for a read of personal data. It must
// succeed before the data leaves: a read that cannot be recorded is not
// served. Reads are group-committed (see readAuditor).
func (s *Server) auditRead(ctx context.Context, action, target, detail string) error {
	if err := s.reads.record(ctx, muster.ActorFrom(ctx), action, target, detail); err != nil {
		return fmt.Errorf("audit %s %s: %w", action, target, err)
	}
	return nil
}

// readAuditor group-commits the audit entries of reads. Appending an
// entry is a durable write, and one per read would make reads as slow as
// writes (a quarter of the throughput on SQLite). Requests arriving while
// a batch is being written wait for the next batch, and the reads of one
// actor in a batch share one entry whose detail lists every household
// read. Each request still answers only after its read is on disk.
type readAuditor struct {
	store muster.Store
	log   interface{ Error(string, ...any) }

	mu       sync.Mutex
	pending  []*auditRequest
	flushing bool
}

type auditRequest struct {
	actor, action, target, detail string
	done                          chan error // buffered: the flusher never blocks
}

// maxAuditDetail keeps a merged entry under the store's field limit.
const maxAuditDetail = 3500

func (a *readAuditor) record(ctx context.Context, actor, action, target, detail string) error {
	req := &auditRequest{actor: actor, action: action, target: target, detail: detail, done: make(chan error, 1)}
	a.mu.Lock()
	a.pending = append(a.pending, req)
	if !a.flushing {
		a.flushing = true
		go a.flush()
	}
	a.mu.Unlock()
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *readAuditor) flush() {
	a.mu.Lock()
	for len(a.pending) > 0 {
		batch := a.pending
		a.pending = nil
		a.mu.Unlock()
		a.write(batch)
		a.mu.Lock()
	}
	a.flushing = false
	a.mu.Unlock()
}

// write appends one entry per actor and action (more when the targets do
// not fit in one), then answers every request of the batch.
func (a *readAuditor) write(batch []*auditRequest) {
	type key struct{ actor, action string }
	groups := map[key][]*auditRequest{}
	var order []key
	for _, r := range batch {
		k := key{r.actor, r.action}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	// The entries must reach the disk even if a client hung up meanwhile.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, k := range order {
		rs := groups[k]
		for len(rs) > 0 {
			n, e := 1, muster.AuditEntry{Actor: k.actor, Action: k.action, Target: rs[0].target, Detail: rs[0].detail}
			if len(rs) > 1 && rs[0].detail == "" {
				// Merge reads without detail: "household:A household:B ...".
				var targets []string
				size := 0
				for n = 0; n < len(rs) && rs[n].detail == "" && size+len(rs[n].target)+1 <= maxAuditDetail; n++ {
					targets = append(targets, rs[n].target)
					size += len(rs[n].target) + 1
				}
				if n > 1 {
					e.Target, e.Detail = "households", strings.Join(targets, " ")
				} else {
					n = 1
				}
			}
			_, err := a.store.AppendAudit(muster.WithActor(ctx, k.actor), e)
			if err != nil {
				a.log.Error("audit of reads", "actor", k.actor, "action", k.action, "err", err)
			}
			for _, r := range rs[:n] {
				r.done <- err
			}
			rs = rs[n:]
		}
	}
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
	// MAC is the keyed chain's (docs/server.md, "Audit log"): what a
	// signed checkpoint of this entry records.
	MAC string `json:"mac,omitempty"`
}

type auditPage struct {
	Entries []auditJSON `json:"entries"`
}

type auditVerifyResponse struct {
	OK       bool   `json:"ok"`
	Entries  int64  `json:"entries"`
	FirstBad int64  `json:"first_bad"`
	Reason   string `json:"reason"`
	// HeadMAC is the last entry's MAC, to compare with the latest signed
	// checkpoint kept elsewhere.
	HeadMAC string `json:"head_mac,omitempty"`
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
	out := auditPage{Entries: make([]auditJSON, 0, len(es))}
	for _, e := range es {
		out.Entries = append(out.Entries, auditJSON{Seq: e.Seq, At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target,
			Detail: e.Detail, PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash), MAC: hex.EncodeToString(e.MAC)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request, _ *caller) error {
	v, err := s.store.VerifyAudit(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, auditVerifyResponse{OK: v.OK, Entries: v.Entries, FirstBad: v.FirstBad, Reason: v.Reason, HeadMAC: hex.EncodeToString(v.HeadMAC)})
	return nil
}

type wipeRequest struct {
	// Confirm must be "wipe": a wipe cannot be undone.
	Confirm string `json:"confirm"`
}

type wipeResponse struct {
	WipedAt time.Time `json:"wiped_at"`
	Message string    `json:"message"`
}

// wipe destroys the data key through the running server, whose store then
// refuses personal data at once (a wipe from the command line reaches a
// running server only through the store's events).
func (s *Server) wipe(w http.ResponseWriter, r *http.Request, _ *caller) error {
	var req wipeRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Confirm != "wipe" {
		return errorf(muster.EINVALID, `confirm: send {"confirm":"wipe"}: the personal data can never be read again after it`)
	}
	res, err := s.store.Wipe(r.Context())
	if err != nil {
		return err
	}
	s.log.Warn("data key wiped", "by", muster.ActorFrom(r.Context()))
	writeJSON(w, http.StatusOK, wipeResponse{WipedAt: res.WipedAt, Message: res.Message})
	return nil
}
