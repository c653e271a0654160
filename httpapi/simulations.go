package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/simulate"
)

// Exercises run on the server (docs/exercise.md): a planner asks for one on
// the current plan, the households on record and the threat picture of the
// reports on record, with injects of their choosing; the latest one's
// numbers and curves are kept for the operations map.
//
// Against an adversary (or a planner in a hurry): a simulation takes
// seconds to minutes of CPU, so one instance runs one at a time (another
// asked meanwhile is answered 429), under a time limit (SimulationTimeout),
// over at most simulationMaxHorizonH simulated hours; the injects are
// parsed strictly (simulate.ParseInjects: bounded counts, gates that exist,
// times within a year). The report holds no personal data: counts per gate
// and per minute, never a household.

// SimulationTimeout bounds one simulation's wall time (a client waits a
// little longer for the answer).
const SimulationTimeout = 10 * time.Minute

// simulationMaxHorizonH is the longest operation a simulation may run.
const simulationMaxHorizonH = 72

// simulations is this instance's exercises: whether one runs, and the
// latest report.
type simulations struct {
	running chan struct{} // holds a token while one runs
	mu      sync.Mutex
	latest  *simulationOut
}

func newSimulations() *simulations {
	return &simulations{running: make(chan struct{}, 1)}
}

// simulationRequest is what a planner asks for.
type simulationRequest struct {
	Seed uint64 `json:"seed"`
	// Injects are those of an inject file ({"injects": [...]}'s list):
	// at, kind, gate, ... (docs/exercise.md).
	Injects json.RawMessage `json:"injects,omitempty"`
	// Baselines runs the nearest-gate and CCRP baselines too.
	Baselines bool `json:"baselines"`
	// HorizonH is how many hours the simulated operation may run (default
	// and most: 72).
	HorizonH float64 `json:"horizon_h,omitempty"`
}

// simulationOut is an exercise's report as the map shows it: the
// comparison, and per run the curves (people in safety, people waiting at
// each gate, minute by minute).
type simulationOut struct {
	ID         string                  `json:"id"` // the time it was run, RFC 3339
	By         string                  `json:"by"`
	Plan       string                  `json:"plan"` // the plan simulated
	Seed       uint64                  `json:"seed"`
	Start      time.Time               `json:"start"`
	Households int                     `json:"households"`
	People     int                     `json:"people"`
	Injects    []simulate.InjectRecord `json:"injects"`
	Comparison []simulate.Comparison   `json:"comparison"`
	Runs       []simulationRun         `json:"runs"`
	TookS      float64                 `json:"took_s"`
}

// simulationRun is one run's curves and numbers.
type simulationRun struct {
	Name             string                  `json:"name"`
	SafeShare        float64                 `json:"safe_share"`
	T50S             float64                 `json:"t50_s"`
	T90S             float64                 `json:"t90_s"`
	T100S            float64                 `json:"t100_s"`
	Reissued         int                     `json:"instructions_reissued"`
	DangerousMinutes int                     `json:"dangerous_minutes"`
	OverLimitGates   int                     `json:"gates_over_crowd_limit"`
	Replans          []simulate.ReplanRecord `json:"replans,omitempty"`
	Minutes          []float64               `json:"minutes"`
	Safe             []int                   `json:"safe"`
	Gates            []simulationGate        `json:"gates"`
}

// simulationGate is one gate's queue, minute by minute.
type simulationGate struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	CrowdLimit int     `json:"crowd_limit"`
	AreaM2     float64 `json:"queue_area_m2"`
	MaxWaiting int     `json:"max_waiting"`
	MaxDensity float64 `json:"max_density"`
	WorstLevel string  `json:"worst_level"`
	Waiting    []int   `json:"waiting_per_minute"`
}

// runSimulation runs an exercise on the current plan; one at a time.
func (s *Server) runSimulation(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req simulationRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.HorizonH < 0 || req.HorizonH > simulationMaxHorizonH {
		return errorf(muster.EINVALID, "horizon_h %g: from 0 (the default, %d) to %d hours", req.HorizonH, simulationMaxHorizonH, simulationMaxHorizonH)
	}
	pl, err := s.planningPlaces(r.Context())
	if err != nil {
		return err
	}
	select {
	case s.sims.running <- struct{}{}:
		defer func() { <-s.sims.running }()
	default:
		return &apiError{code: codeRateLimited, message: "a simulation is running on this instance: one at a time", retryAfter: 30 * time.Second}
	}
	ctx, cancel := context.WithTimeout(r.Context(), SimulationTimeout)
	defer cancel()
	rec, err := s.store.CurrentPlan(ctx)
	if err != nil {
		return err
	}
	cur, err := plan.Decode(rec.Body)
	if err != nil {
		return fmt.Errorf("plan %s: %w", rec.ID, err)
	}
	start := cur.Params.Start
	if start.IsZero() {
		return errorf(muster.EINVALID, "plan %s has no start to simulate from", rec.ID)
	}
	var injects []simulate.Inject
	if len(req.Injects) > 0 {
		file, _ := json.Marshal(map[string]json.RawMessage{"injects": req.Injects})
		if injects, err = simulate.ParseInjects(file, pl, start); err != nil {
			return err
		}
	}
	households, _, err := s.allHouseholds(ctx)
	if err != nil {
		return err
	}
	if err := s.auditRead(ctx, "simulation.run", "households", fmt.Sprintf("%d households simulated", len(households))); err != nil {
		return err
	}
	reports, err := s.store.ListReports(ctx, time.Time{}, 0)
	if err != nil {
		return err
	}
	// Routers of its own: a simulation moves the threat picture as its
	// injects arrive, which the server's routers (planning's) must not see.
	// Forks share the server's hierarchies; only their metrics are new.
	car, foot := s.cfg.Car.Fork(), s.cfg.Foot.Fork()
	t0 := time.Now()
	res, err := simulate.Run(ctx, simulate.Input{Car: car, Foot: foot, Places: pl, Households: households, Reports: reports, Plan: cur},
		simulate.Config{Seed: req.Seed, Injects: injects, Baselines: req.Baselines, HorizonS: req.HorizonH * 3600})
	if err != nil {
		if ctx.Err() != nil {
			return errorf(codeUnavailable, "the simulation took longer than %s: fewer injects, a shorter horizon_h or no baselines", SimulationTimeout)
		}
		return err
	}
	out := toSimulationOut(&res.Report)
	out.ID, out.By, out.Plan, out.TookS = s.now().UTC().Format(time.RFC3339Nano), c.user.Name, rec.ID, round2(time.Since(t0).Seconds())
	s.sims.mu.Lock()
	s.sims.latest = out
	s.sims.mu.Unlock()
	s.log.Info("simulation", "plan", rec.ID, "by", c.user.Name, "seed", req.Seed, "injects", len(injects), "took_s", out.TookS)
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// latestSimulation is the latest exercise run on this instance.
func (s *Server) latestSimulation(w http.ResponseWriter, _ *http.Request, _ *caller) error {
	s.sims.mu.Lock()
	out := s.sims.latest
	s.sims.mu.Unlock()
	if out == nil {
		return errorf(muster.ENOTFOUND, "no simulation has run on this instance since it started: POST /api/simulations")
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func toSimulationOut(rep *simulate.Report) *simulationOut {
	out := &simulationOut{Seed: rep.Seed, Start: rep.Start, Households: rep.Households, People: rep.People, Injects: nonNil(rep.Injects),
		Comparison: nonNil(rep.Comparison), Runs: []simulationRun{}}
	for _, rr := range rep.Runs {
		run := simulationRun{Name: rr.Name, SafeShare: rr.SafeShare, T50S: rr.T50S, T90S: rr.T90S, T100S: rr.T100S, Reissued: rr.Reissued,
			DangerousMinutes: len(rr.DangerousMinutes), OverLimitGates: rr.OverLimitGates, Replans: rr.Replans,
			Minutes: nonNil(rr.Series.Minutes), Safe: nonNil(rr.Series.Safe), Gates: []simulationGate{}}
		for _, g := range rr.Gates {
			run.Gates = append(run.Gates, simulationGate{ID: g.ID, Name: g.Name, CrowdLimit: g.CrowdLimit, AreaM2: g.QueueAreaM2,
				MaxWaiting: g.MaxWaiting, MaxDensity: g.MaxDensity, WorstLevel: g.WorstLevel, Waiting: nonNil(g.Waiting)})
		}
		out.Runs = append(out.Runs, run)
	}
	return out
}

// nonNil is s, or an empty slice: the API answers [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func round2(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }
