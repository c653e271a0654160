package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/operation"
	"github.com/muster-evac/muster/plan"
)

// The live state of the operation (docs/operations.md): computed by
// package operation from the current plan and the field events, kept in
// memory and brought up to date from the store at each read (the events
// that arrived since, by arrival number: each instance on one PostgreSQL
// reads the same events, so they answer the same state). Overdue and
// no-show events are made by the server, as "system", every
// Config.OverdueSweep.

// DefaultOverdueSweep is how often the server marks households overdue
// and no-show when Config.OverdueSweep is zero.
const DefaultOverdueSweep = 30 * time.Second

// liveReuse is how long a computed state is answered again when nothing
// new arrived: the clock alone moves households to overdue, to the second.
const liveReuse = time.Second

type liveOps struct {
	mu     sync.Mutex
	planID string
	plan   *plan.Plan
	events []muster.FieldEvent
	index  map[string]int // event id -> position in events
	// checkIns counts the check-in events read of each household that
	// spent their version (pullEvents).
	checkIns map[string]int
	lastSeq  int64
	state    *operation.State
	body     []byte // state as JSON, made once per state
	swept    time.Time
	changed  atomic.Bool // events were added here since the state was made
	// version counts the changes of plan or events read from the store,
	// for what is computed from them (series.go).
	version int64
}

func (l *liveOps) dirty() { l.changed.Store(true) }

// operationState answers the live state.
func (s *Server) operationState(w http.ResponseWriter, r *http.Request, _ *caller) error {
	_, body, err := s.liveStateJSON(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}

// liveStateJSON is liveState with its JSON encoding, made once per state.
func (s *Server) liveStateJSON(ctx context.Context) (*operation.State, []byte, error) {
	st, err := s.liveState(ctx)
	if err != nil {
		return nil, nil, err
	}
	l := &s.live
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state == st && l.body != nil {
		return st, l.body, nil
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(st); err != nil {
		return nil, nil, fmt.Errorf("live state: %w", err)
	}
	if l.state == st {
		l.body = buf.Bytes()
	}
	return st, buf.Bytes(), nil
}

// liveState returns the live state now, from the current plan.
func (s *Server) liveState(ctx context.Context) (*operation.State, error) {
	l := &s.live
	l.mu.Lock()
	defer l.mu.Unlock()
	now := s.now().UTC()
	planChanged, err := s.loadCurrentPlan(ctx)
	if err != nil {
		return nil, err
	}
	n, err := s.pullEvents(ctx)
	if err != nil {
		return nil, err
	}
	opt := operation.Options{Grace: s.cfg.NoShowGrace, PlanID: l.planID}
	if sweep := s.overdueSweep(); sweep > 0 && now.Sub(l.swept) >= sweep {
		l.swept = now
		if due := operation.Due(l.plan, l.events, now, opt); len(due) > 0 {
			// A failure to record them is logged, not the reader's: the
			// state counts them from the clock all the same.
			if _, err := s.store.AddFieldEvents(muster.WithActor(ctx, "system"), due); err != nil {
				s.log.Warn("live state: marking households overdue or no-show", slog.Int("households", len(due)), slog.Any("err", err))
			} else {
				m, err := s.pullEvents(ctx)
				if err != nil {
					return nil, err
				}
				n += m
			}
		}
	}
	if planChanged || n > 0 {
		l.version++
	}
	if l.state != nil && !planChanged && n == 0 && !l.changed.Load() && now.Sub(l.state.At) < liveReuse && !now.Before(l.state.At) {
		return l.state, nil
	}
	l.changed.Store(false)
	l.state, l.body = operation.Compute(l.plan, l.events, now, opt), nil
	return l.state, nil
}

func (s *Server) overdueSweep() time.Duration {
	if s.cfg.OverdueSweep == 0 {
		return DefaultOverdueSweep
	}
	return s.cfg.OverdueSweep
}

// loadCurrentPlan reads the current plan when it is not the one held.
func (s *Server) loadCurrentPlan(ctx context.Context) (changed bool, err error) {
	l := &s.live
	id := ""
	plans, err := s.store.ListPlans(ctx, 100)
	if err != nil {
		return false, err
	}
	for _, p := range plans {
		if p.Status == muster.PlanCurrent {
			id = p.ID
		}
	}
	if id != "" && id == l.planID {
		return false, nil
	}
	rec, err := s.store.CurrentPlan(ctx)
	if err != nil {
		if muster.ErrorCode(err) == muster.ENOTFOUND {
			return false, errorf(muster.ENOTFOUND, "no current plan: the live state is measured against an approved plan")
		}
		return false, err
	}
	if rec.ID == l.planID {
		return false, nil
	}
	p, err := plan.Decode(rec.Body)
	if err != nil {
		return false, fmt.Errorf("live state: plan %s: %w", rec.ID, err)
	}
	l.planID, l.plan, l.state = rec.ID, p, nil
	return true, nil
}

// pullEvents reads the events that arrived since the last read, and
// again the check-ins an arrival may have flagged. It returns how many
// changed.
//
// A check-in that arrives after another of the same instruction version
// but was made before it takes the first place, and the store flags the
// other (token_spent) in the transaction that records the new one. A
// version is one household's, so only the check-ins of a household with
// a check-in new in this read and another before are read again (by
// household), where every flagged check-in (up to 10,000) was read again
// at every read that found something new: a flood of flagged events made
// each read of the live state after any new event that much dearer. More
// than maxRereadHouseholds such households, or a new check-in of no
// household, and the flagged check-ins are read again as before.
func (s *Server) pullEvents(ctx context.Context) (int, error) {
	l := &s.live
	if l.index == nil {
		l.index = map[string]int{}
		l.checkIns = map[string]int{}
	}
	n := 0
	var arrived []string // households of the check-ins new in this read that spent their version
	unknown := false     // such a check-in names no household
	put := func(e muster.FieldEvent) {
		if i, ok := l.index[e.ID]; ok {
			if len(l.events[i].Flags) != len(e.Flags) {
				l.events[i] = e
				n++
			}
			return
		}
		l.index[e.ID] = len(l.events)
		l.events = append(l.events, e)
		// A check-in withheld (a forged, spent, superseded or revoked
		// token) spent nothing, so took no other's place: a flood of
		// forged tokens reads nothing again.
		if e.Kind == muster.FieldCheckIn && !e.Withheld() {
			if e.Household == "" {
				unknown = true
			} else {
				l.checkIns[e.Household]++
				arrived = append(arrived, e.Household)
			}
		}
		n++
	}
	for {
		es, err := s.store.ListFieldEvents(ctx, muster.FieldEventFilter{AfterSeq: l.lastSeq, Limit: 10_000})
		if err != nil {
			return n, err
		}
		for _, e := range es {
			put(e)
			l.lastSeq = max(l.lastSeq, e.Seq)
		}
		if len(es) < 10_000 {
			break
		}
	}
	again := map[string]bool{}
	for _, h := range arrived {
		if l.checkIns[h] > 1 {
			again[h] = true
		}
	}
	if unknown || len(again) > maxRereadHouseholds {
		flagged, err := s.store.ListFieldEvents(ctx, muster.FieldEventFilter{Flagged: true, Kind: muster.FieldCheckIn, Limit: 10_000})
		if err != nil {
			return n, err
		}
		for _, e := range flagged {
			put(e)
		}
		return n, nil
	}
	for h := range again {
		es, err := s.store.ListFieldEvents(ctx, muster.FieldEventFilter{Kind: muster.FieldCheckIn, Household: h, Limit: 10_000})
		if err != nil {
			return n, err
		}
		for _, e := range es {
			put(e)
		}
	}
	return n, nil
}

// maxRereadHouseholds households are read again one by one at most
// (pullEvents); more, and the flagged check-ins are read instead.
const maxRereadHouseholds = 64

// sweepOverdue marks households overdue and no-show every OverdueSweep
// until the server closes, so that the record says when each was found
// missing even when nobody reads the live state.
func (s *Server) sweepOverdue() {
	every := s.overdueSweep()
	if every <= 0 {
		return
	}
	go func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-s.closing:
				return
			case <-tick.C:
				ctx, cancel := context.WithTimeout(context.Background(), every)
				if _, err := s.liveState(ctx); err != nil && muster.ErrorCode(err) != muster.ENOTFOUND {
					s.log.Warn("live state: overdue sweep", slog.Any("err", err))
				}
				cancel()
			}
		}
	}()
}

// planLiveState is the default Config.LiveState: the live state as a
// re-plan takes it.
func (s *Server) planLiveState(ctx context.Context) (plan.State, error) {
	st, err := s.liveState(ctx)
	if muster.ErrorCode(err) == muster.ENOTFOUND {
		return plan.State{At: s.now().UTC()}, nil // no current plan: nothing is known of the field
	}
	if err != nil {
		return plan.State{}, err
	}
	return st.PlanState(), nil
}
