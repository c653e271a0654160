package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/issue"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/threat"
)

// planRequest asks for a plan of every household on record, under the
// threat picture of the reports on record at At.
type planRequest struct {
	At           string  `json:"at,omitempty"`    // the threat picture's time (RFC 3339); default now
	Start        string  `json:"start,omitempty"` // the operation's start; default At
	MaxGroupSize int     `json:"max_group_size,omitempty"`
	MaxWalkS     float64 `json:"max_walk_s,omitempty"`
	// Revise, the id of a plan, asks for a re-plan of it instead: what is
	// still safe is kept, and the result says whose instructions change.
	Revise string `json:"revise,omitempty"`
}

// planOut is a stored plan without its body (which names households).
type planOut struct {
	ID         string       `json:"id"`
	Status     string       `json:"status"`
	CreatedAt  time.Time    `json:"created_at"`
	CreatedBy  string       `json:"created_by"`
	Basis      string       `json:"basis,omitempty"`
	ApprovedAt *time.Time   `json:"approved_at,omitempty"`
	ApprovedBy string       `json:"approved_by,omitempty"`
	Summary    plan.Summary `json:"summary"`
	Unassigned int          `json:"unassigned"`
	Changes    int          `json:"changes,omitempty"` // a re-plan: households whose instruction changes
	Kept       int          `json:"kept,omitempty"`
	// Issuance is what approving the plan issued.
	Issuance *issuanceOut `json:"issuance,omitempty"`
}

type plansResponse struct {
	Plans []planOut `json:"plans"`
}

// planDigest is what is stored beside a plan for listing it.
type planDigest struct {
	Summary    plan.Summary `json:"summary"`
	Unassigned int          `json:"unassigned"`
	Changes    int          `json:"changes,omitempty"`
	Kept       int          `json:"kept,omitempty"`
}

func toPlanOut(p muster.PlanRecord) planOut {
	out := planOut{ID: p.ID, Status: p.Status, CreatedAt: p.CreatedAt, CreatedBy: p.CreatedBy, Basis: p.Basis, ApprovedBy: p.ApprovedBy}
	if !p.ApprovedAt.IsZero() {
		at := p.ApprovedAt
		out.ApprovedAt = &at
	}
	var d planDigest
	if json.Unmarshal(p.Summary, &d) == nil {
		out.Summary, out.Unassigned, out.Changes, out.Kept = d.Summary, d.Unassigned, d.Changes, d.Kept
	}
	return out
}

// makePlan plans (or re-plans) every household on record. The routers
// are shared and carry one threat picture at a time, so plans are made
// one after another.
func (s *Server) makePlan(w http.ResponseWriter, r *http.Request, _ *caller) error {
	pl, err := s.planningPlaces(r.Context())
	if err != nil {
		return err
	}
	var req planRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	at, err := s.planTime(req.At)
	if err != nil {
		return err
	}
	params := plan.Params{Start: at, MaxGroupSize: req.MaxGroupSize, MaxWalkS: req.MaxWalkS}
	if req.Start != "" {
		t, err := time.Parse(time.RFC3339, req.Start)
		if err != nil {
			return errorf(muster.EINVALID, "start: %q, want an RFC 3339 time", req.Start)
		}
		params.Start = t.UTC()
	}
	if req.MaxGroupSize < 0 || req.MaxGroupSize > 100 || req.MaxWalkS < 0 || req.MaxWalkS > 6*3600 {
		return errorf(muster.EINVALID, "max_group_size must be within 0..100 and max_walk_s within 0..21600 (0: the default)")
	}
	var prev *plan.Plan
	if req.Revise != "" {
		rec, err := s.store.GetPlan(ctx, req.Revise)
		if err != nil {
			return err
		}
		if prev, err = plan.Decode(rec.Body); err != nil {
			return fmt.Errorf("plan %s: %w", rec.ID, err)
		}
	}
	in, zones, checkedIn, err := s.planInput(ctx, pl, at)
	if err != nil {
		return err
	}
	in.Params = params
	var st plan.State
	if prev != nil {
		if st, err = s.replanState(ctx, at, checkedIn); err != nil {
			return err
		}
	}
	s.planning.Lock()
	var p *plan.Plan
	if err = s.setZones(ctx, zones); err == nil {
		if prev != nil {
			p, err = plan.Replan(ctx, prev, in, st)
		} else {
			p, err = plan.Make(ctx, in)
		}
	}
	s.planning.Unlock()
	if err != nil {
		return err
	}
	rec, err := s.savePlan(ctx, p, req.Revise)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toPlanOut(rec))
	return nil
}

// planInput gathers what a plan is made from: every household on record
// (the read audited), and the threat picture of the reports on record at
// at, as zones for the routers and gate statuses. It also says which
// households are at their rally point.
func (s *Server) planInput(ctx context.Context, pl *muster.Places, at time.Time) (plan.Input, []muster.Zone, map[string]bool, error) {
	households, checkedIn, err := s.allHouseholds(ctx)
	if err != nil {
		return plan.Input{}, nil, nil, err
	}
	if err := s.auditRead(ctx, "plan.make", "households", fmt.Sprintf("%d households planned", len(households))); err != nil {
		return plan.Input{}, nil, nil, err
	}
	reps, err := s.store.ListReports(ctx, time.Time{}, 0)
	if err != nil {
		return plan.Input{}, nil, nil, err
	}
	opts, err := s.pictureOptions(ctx)
	if err != nil {
		return plan.Input{}, nil, nil, err
	}
	pic, err := threat.Build(reps, pl, at, s.policy, opts...)
	if err != nil {
		return plan.Input{}, nil, nil, err
	}
	status, reasons := map[string]string{}, map[string][]string{}
	for _, g := range pic.Gates {
		status[g.PlaceID], reasons[g.PlaceID] = g.Status, g.Reasons
	}
	in := plan.Input{Car: s.cfg.Car, Foot: s.cfg.Foot, Places: pl, Households: households, GateStatus: status, GateReasons: reasons}
	return in, pic.RoutingZones(), checkedIn, nil
}

// setZones puts the threat picture on the shared routers; the caller holds
// s.planning.
func (s *Server) setZones(ctx context.Context, zones []muster.Zone) error {
	if _, err := s.cfg.Car.SetZones(ctx, zones); err != nil {
		return err
	}
	_, err := s.cfg.Foot.SetZones(ctx, zones)
	return err
}

// replanState is the state of the field a re-plan starts from: the live
// state when the server keeps one (Config.LiveState), else only who is at
// a rally point by the households' status; at is its time either way.
func (s *Server) replanState(ctx context.Context, at time.Time, checkedIn map[string]bool) (plan.State, error) {
	st := plan.State{At: at, CheckedIn: checkedIn}
	if s.cfg.LiveState != nil {
		live, err := s.cfg.LiveState(ctx)
		if err != nil {
			return plan.State{}, fmt.Errorf("live state: %w", err)
		}
		live.At = at
		if live.CheckedIn == nil {
			live.CheckedIn = map[string]bool{}
		}
		for id, ok := range checkedIn {
			live.CheckedIn[id] = live.CheckedIn[id] || ok
		}
		st = live
	}
	return st, nil
}

// savePlan stores a plan, proposed, with the digest its listing shows.
func (s *Server) savePlan(ctx context.Context, p *plan.Plan, basis string) (muster.PlanRecord, error) {
	body, err := plan.Encode(p)
	if err != nil {
		return muster.PlanRecord{}, fmt.Errorf("plan: %w", err)
	}
	d := planDigest{Summary: p.Summary, Unassigned: len(p.Unassigned)}
	if p.Diff != nil {
		d.Changes, d.Kept = len(p.Diff.Changes), p.Diff.Kept
	}
	digest, _ := json.Marshal(d)
	return s.store.SavePlan(ctx, muster.PlanRecord{Body: body, Summary: digest, Basis: basis})
}

// allHouseholds reads every household on record, and which are already
// at their rally point.
func (s *Server) allHouseholds(ctx context.Context) ([]muster.Household, map[string]bool, error) {
	var out []muster.Household
	checkedIn := map[string]bool{}
	after := ""
	for {
		page, next, err := s.store.ListHouseholds(ctx, muster.HouseholdFilter{AfterID: after, Limit: 1000})
		if err != nil {
			return nil, nil, err
		}
		for _, h := range page {
			switch h.Status {
			case muster.StatusWithdrawn, muster.StatusEvacuated:
				continue // nobody to move
			case muster.StatusAtRally:
				checkedIn[h.ID] = true
			}
			out = append(out, h.Household)
		}
		if next == "" {
			return out, checkedIn, nil
		}
		after = next
	}
}

func (s *Server) listPlans(w http.ResponseWriter, r *http.Request, _ *caller) error {
	recs, err := s.store.ListPlans(r.Context(), 100)
	if err != nil {
		return err
	}
	out := plansResponse{Plans: []planOut{}}
	for _, p := range recs {
		out.Plans = append(out.Plans, toPlanOut(p))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getPlan returns a whole plan.json: it names households and draws their
// walks from home, so the read is audited.
func (s *Server) getPlan(w http.ResponseWriter, r *http.Request, _ *caller) error {
	rec, err := s.store.GetPlan(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.writePlanBody(w, r, rec)
}

func (s *Server) currentPlan(w http.ResponseWriter, r *http.Request, _ *caller) error {
	rec, err := s.store.CurrentPlan(r.Context())
	if err != nil {
		return err
	}
	return s.writePlanBody(w, r, rec)
}

func (s *Server) writePlanBody(w http.ResponseWriter, r *http.Request, rec muster.PlanRecord) error {
	if err := s.auditRead(r.Context(), "plan.read", "plan:"+rec.ID, rec.Status); err != nil {
		return err
	}
	// plan.json as this server writes it (a plan stored in version 1 is
	// read and written again in version 2), with the store's id and status.
	p, err := plan.Decode(rec.Body)
	if err != nil {
		return fmt.Errorf("plan %s: %w", rec.ID, err)
	}
	p.Status = rec.Status
	body, err := plan.Encode(p)
	if err != nil {
		return fmt.Errorf("plan %s: %w", rec.ID, err)
	}
	id, _ := json.Marshal(rec.ID)
	out := make([]byte, 0, len(body)+len(id)+8)
	out = append(append(append(out, `{"id":`...), id...), ',')
	writeJSON(w, http.StatusOK, json.RawMessage(append(out, body[1:]...)))
	return nil
}

// approvePlan makes a proposed plan current and issues its instructions,
// in one transaction (docs/issuing.md): until then they go to nobody, and
// a plan is never current without them. A server without signing keys
// approves nothing.
func (s *Server) approvePlan(w http.ResponseWriter, r *http.Request, _ *caller) error {
	if s.cfg.Issuer == nil {
		return errorf(muster.EINVALID, "this server cannot approve plans: %v", issue.ErrNoKeys)
	}
	rep, err := s.cfg.Issuer.Approve(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	s.bundles.invalidate()
	rec, err := s.store.GetPlan(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	s.log.Info("plan approved", "plan", rec.ID, "by", muster.ActorFrom(r.Context()), "issued", rep.Issued, "revoked", rep.Revoked, "queued", rep.Enqueued)
	out := toPlanOut(rec)
	out.Issuance = toIssuanceOut(rep)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// proposalsRequest asks for the re-plan proposals of a plan.
type proposalsRequest struct {
	// Revise is the plan to revise; default the current plan.
	Revise string `json:"revise,omitempty"`
	// At is the re-plan's time and the threat picture's (RFC 3339);
	// default now.
	At string `json:"at,omitempty"`
	// State is the state of the field to start from (PLAN_FORMAT.md,
	// "state file"); its at is replaced by At. Absent: the server's live
	// state when it keeps one, else who is at a rally point by the
	// households' status.
	State *plan.State `json:"state,omitempty"`
}

// proposalOut is one proposal: saved as a proposed plan (approve it with
// POST /api/plans/{id}/approve), with its numbers.
type proposalOut struct {
	Kind    string       `json:"kind"` // minimal, hybrid, fresh
	Title   string       `json:"title"`
	Numbers plan.Numbers `json:"numbers"`
	Plan    planOut      `json:"plan"`
}

type proposalsResponse struct {
	Basis     string        `json:"basis"` // the plan revised
	At        time.Time     `json:"at"`
	Proposals []proposalOut `json:"proposals"`
}

// makeProposals makes the re-plan proposals of a plan side by side
// (minimal change, hybrid, fresh: plan.Proposals), from the state of the
// field, saves each as a proposed plan and returns their numbers; the
// operator approves one by its plan id. The state a caller sends is
// validated like a state file, and is only ever a starting point: the
// proposals are checked by nothing here, but no proposal is current
// until approved.
func (s *Server) makeProposals(w http.ResponseWriter, r *http.Request, _ *caller) error {
	pl, err := s.planningPlaces(r.Context())
	if err != nil {
		return err
	}
	var req proposalsRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	at, err := s.planTime(req.At)
	if err != nil {
		return err
	}
	var rec muster.PlanRecord
	if req.Revise != "" {
		rec, err = s.store.GetPlan(ctx, req.Revise)
	} else {
		rec, err = s.store.CurrentPlan(ctx)
	}
	if err != nil {
		return err
	}
	prev, err := plan.Decode(rec.Body)
	if err != nil {
		return fmt.Errorf("plan %s: %w", rec.ID, err)
	}
	in, zones, checkedIn, err := s.planInput(ctx, pl, at)
	if err != nil {
		return err
	}
	var st plan.State
	if req.State != nil {
		st = *req.State
		st.At = at
		if err := st.Validate(); err != nil {
			return err
		}
	} else if st, err = s.replanState(ctx, at, checkedIn); err != nil {
		return err
	}
	s.planning.Lock()
	var ps []plan.Proposal
	if err = s.setZones(ctx, zones); err == nil {
		ps, err = plan.Proposals(ctx, prev, in, st)
	}
	s.planning.Unlock()
	if err != nil {
		return err
	}
	out := proposalsResponse{Basis: rec.ID, At: at, Proposals: []proposalOut{}}
	for _, pr := range ps {
		saved, err := s.savePlan(ctx, pr.Plan, rec.ID)
		if err != nil {
			return err
		}
		out.Proposals = append(out.Proposals, proposalOut{Kind: pr.ID, Title: pr.Title, Numbers: pr.Numbers, Plan: toPlanOut(saved)})
	}
	s.log.Info("re-plan proposals", "basis", rec.ID, "by", muster.ActorFrom(ctx), "proposals", len(out.Proposals))
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// planningPlaces returns the places to plan with, or says why this server
// cannot plan.
func (s *Server) planningPlaces(ctx context.Context) (*muster.Places, error) {
	pl, _, err := s.currentPlaces(ctx)
	if err != nil {
		return nil, err
	}
	if s.cfg.Car == nil || s.cfg.Foot == nil || pl == nil {
		return nil, errorf(muster.EINVALID, "this server cannot plan: start it with --graph city.graph and --places places.geojson")
	}
	return pl, nil
}

// planTime reads a request's "at": now (to the second) when empty.
func (s *Server) planTime(raw string) (time.Time, error) {
	if raw == "" {
		return s.now().UTC().Truncate(time.Second), nil
	}
	t, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		return time.Time{}, errorf(muster.EINVALID, "at: %q, want an RFC 3339 time such as 2021-08-26T06:00:00Z", raw)
	}
	return t.UTC(), nil
}
