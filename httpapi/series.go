package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/operation"
	"github.com/muster-evac/muster/plan"
)

// The operation over time, for the operations map's plots: per gate, the
// people through and waiting as the field reported them (the live state
// as it was at each time, from the events known by then) against the
// plan's own curve, and the households that acknowledged their
// instruction. Counts only: no household is named.

// seriesPoints is how many times a series has when the caller does not
// say; maxSeriesPoints bounds the work of one request (one live state per
// time).
const (
	seriesPoints    = 60
	maxSeriesPoints = 240
	maxSeriesSpan   = 31 * 24 * time.Hour
)

type gateSeries struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// PlannedThrough and PlannedWaiting are the plan's curve at each of
	// times: each group's people pass evenly over its arrival window
	// (arrival to through), and wait at the gate from its arrival.
	PlannedThrough []int `json:"planned_through"`
	PlannedWaiting []int `json:"planned_waiting"`
	// Through and Waiting are as the field reported them, at each time
	// up to now (Measured of them).
	Through []int `json:"through"`
	Waiting []int `json:"waiting"`
}

type seriesResponse struct {
	Plan  string      `json:"plan"`
	Start time.Time   `json:"start"` // the plan's start: the first time
	At    time.Time   `json:"at"`    // now
	StepS int64       `json:"step_s"`
	Times []time.Time `json:"times"`
	// Measured is how many of times are now or earlier: the length of
	// the measured series.
	Measured int          `json:"measured"`
	Gates    []gateSeries `json:"gates"`
	// Acknowledged is, at each time up to now, how many households had
	// acknowledged an instruction since the plan's start; Households is
	// how many the plan moves.
	Acknowledged []int `json:"acknowledged"`
	Households   int   `json:"households"`
}

// operationSeries answers GET /api/operation/series?points=N.
func (s *Server) operationSeries(w http.ResponseWriter, r *http.Request, _ *caller) error {
	points := seriesPoints
	if v := r.URL.Query().Get("points"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 3 || n > maxSeriesPoints {
			return errorf(muster.EINVALID, "points %q: want 3 to %d", v, maxSeriesPoints)
		}
		points = n
	}
	ctx := r.Context()
	// The live state brings the plan and the events up to date.
	if _, err := s.liveState(ctx); err != nil {
		return err
	}
	l := &s.live
	l.mu.Lock()
	p, planID, version := l.plan, l.planID, l.version
	l.mu.Unlock()
	acks, err := s.store.Acknowledgements(ctx, p.Params.Start)
	if err != nil {
		return err
	}
	key := fmt.Sprintf("%s/%d/%d/%d", planID, version, len(acks), points)
	body, err := s.series.get(key, s.now(), func() ([]byte, error) {
		l.mu.Lock()
		events := slices.Clone(l.events)
		l.mu.Unlock()
		return json.Marshal(series(p, planID, events, acks, s.now().UTC(), points))
	})
	if err != nil {
		return fmt.Errorf("series: %w", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(body, '\n'))
	return nil
}

// seriesReuse is how long a series is answered again when nothing it is
// made of changed: its "now" is then up to that old. A series costs one
// live state per point measured (BenchmarkOperationSeries: about 0.3
// CPU-s for 15 on a city of 100,000 people), and every open map asks for
// it after a change: they share one computation.
const seriesReuse = 15 * time.Second

// seriesCache holds the last series answered, by what it was made of;
// callers asking for the same one meanwhile wait for it rather than
// computing it again.
type seriesCache struct {
	mu   sync.Mutex
	key  string
	at   time.Time
	body []byte
}

func (c *seriesCache) get(key string, now time.Time, make func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.body != nil && c.key == key && !now.Before(c.at) && now.Sub(c.at) < seriesReuse {
		return c.body, nil
	}
	body, err := make()
	if err != nil {
		return nil, err
	}
	c.key, c.at, c.body = key, now, body
	return body, nil
}

// series computes the plots of plan p at points times from its start to
// the later of now and its last group through, the measured parts from
// the events and acknowledgements known, up to now.
func series(p *plan.Plan, planID string, events []muster.FieldEvent, acks []muster.Acknowledgement, now time.Time, points int) seriesResponse {
	start := p.Params.Start
	if start.IsZero() { // a plan that does not say: its first group's time
		start = now
		for _, g := range p.Groups {
			if !g.ReportBy.IsZero() && g.ReportBy.Before(start) {
				start = g.ReportBy
			}
		}
	}
	end := now
	for _, g := range p.Groups {
		if g.Through.After(end) {
			end = g.Through
		}
	}
	if !end.After(start) {
		end = start.Add(time.Hour)
	}
	// A plan from long ago, or one that runs for ever: a month at most.
	if end.Sub(start) > maxSeriesSpan {
		end = start.Add(maxSeriesSpan)
	}
	// A regular grid that covers start to end and has a point at now
	// exactly (when now is within), so that the measured part ends at
	// what is known now: its first time is at most one step before start.
	step := (end.Sub(start) + time.Duration(points-3)) / time.Duration(points-2)
	step = (step + time.Minute - 1).Truncate(time.Minute)
	t0 := start
	if !now.Before(start) && !now.After(end) {
		m := (now.Sub(start) + step - 1) / step
		t0 = now.Add(-m * step)
	}
	out := seriesResponse{Plan: planID, Start: start, At: now, StepS: int64(step / time.Second), Acknowledged: []int{}, Gates: []gateSeries{}}
	for i := range points {
		t := t0.Add(time.Duration(i) * step)
		out.Times = append(out.Times, t)
		if !t.After(now) {
			out.Measured++
		}
	}
	index := map[string]int{}
	for _, g := range p.Gates {
		index[g.ID] = len(out.Gates)
		out.Gates = append(out.Gates, gateSeries{ID: g.ID, Name: g.Name, PlannedThrough: make([]int, points), PlannedWaiting: make([]int, points),
			Through: []int{}, Waiting: []int{}})
	}
	for _, g := range p.Groups {
		gi, ok := index[g.Gate]
		if !ok {
			continue
		}
		gs := &out.Gates[gi]
		for i, t := range out.Times {
			if t.Before(g.Arrival) {
				continue
			}
			through := g.People
			if window := g.Through.Sub(g.Arrival); t.Before(g.Through) && window > 0 {
				through = int(float64(g.People) * float64(t.Sub(g.Arrival)) / float64(window))
			}
			gs.PlannedThrough[i] += through
			gs.PlannedWaiting[i] += g.People - through
		}
	}
	for _, h := range p.Households {
		if h.Group != "" {
			out.Households++
		}
	}

	// The measured part: the live state as it was at each time, from the
	// events that had happened by then.
	slices.SortStableFunc(events, func(a, b muster.FieldEvent) int { return a.At.Compare(b.At) })
	acked := map[string]bool{}
	ai, ei := 0, 0
	for i := range out.Measured {
		t := out.Times[i]
		for ei < len(events) && !events[ei].At.After(t) {
			ei++
		}
		st := operation.Compute(p, events[:ei], t, operation.Options{PlanID: planID})
		for _, g := range st.Gates {
			if gi, ok := index[g.ID]; ok {
				out.Gates[gi].Through = append(out.Gates[gi].Through, g.Through)
				out.Gates[gi].Waiting = append(out.Gates[gi].Waiting, g.Waiting)
			}
		}
		for ai < len(acks) && !acks[ai].At.After(t) {
			acked[acks[ai].HouseholdID] = true
			ai++
		}
		out.Acknowledged = append(out.Acknowledged, len(acked))
	}
	return out
}
