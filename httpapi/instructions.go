package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/instruct"
	"github.com/muster-evac/muster/issue"
)

// Issued instructions: what approving a plan (or POST
// /api/instructions/issue) issued, the instructions in force for planners
// and the field (escorts' among them: they have no channel, operators hand
// them over), and one version.

// issuanceOut says what an issuance did.
type issuanceOut struct {
	Plan       string         `json:"plan"`
	Approved   bool           `json:"approved"`
	Issued     int            `json:"issued"`
	Households int            `json:"households"`
	Escorts    int            `json:"escorts"`
	Superseded int            `json:"superseded"`
	Revoked    int            `json:"revoked"`
	Unchanged  int            `json:"unchanged"`
	Expired    int            `json:"expired,omitempty"`
	Links      int            `json:"links_made"`
	Queued     int            `json:"messages_queued"`
	ByChannel  map[string]int `json:"messages_by_channel"`
	NoChannel  int            `json:"households_without_channel"`
	IssuedAt   time.Time      `json:"issued_at"`
}

func toIssuanceOut(r issue.Report) *issuanceOut {
	return &issuanceOut{Plan: r.Plan, Approved: r.Approved, Issued: r.Issued, Households: r.Households, Escorts: r.Escorts,
		Superseded: r.Superseded, Revoked: r.Revoked, Unchanged: r.Unchanged, Expired: r.Expired, Links: r.Links,
		Queued: r.Enqueued, ByChannel: r.Messages, NoChannel: r.NoChannel, IssuedAt: r.IssuedAt}
}

type issueRequest struct {
	// Plan must be the current plan; empty: the current plan.
	Plan string `json:"plan,omitempty"`
}

// issueInstructions issues what changed of the current plan's
// instructions: nothing when nothing did (idempotent).
func (s *Server) issueInstructions(w http.ResponseWriter, r *http.Request, _ *caller) error {
	if s.cfg.Issuer == nil {
		return errorf(muster.EINVALID, "this server cannot issue instructions: %v", issue.ErrNoKeys)
	}
	var req issueRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Plan == "" {
		cur, err := s.store.CurrentPlan(r.Context())
		if err != nil {
			return err
		}
		req.Plan = cur.ID
	}
	rep, err := s.cfg.Issuer.Issue(r.Context(), req.Plan)
	if err != nil {
		return err
	}
	s.bundles.invalidate()
	writeJSON(w, http.StatusOK, toIssuanceOut(rep))
	return nil
}

// instructionOut is one instruction version as operators read it.
type instructionOut struct {
	ID           string     `json:"id"`
	Status       string     `json:"status"`
	Token        string     `json:"token,omitempty"`
	Changes      []string   `json:"changes,omitempty"`
	SupersededBy string     `json:"superseded_by,omitempty"`
	ChangedAt    *time.Time `json:"changed_at,omitempty"`
	// Text is the long form, for an escort's instruction (handed over on
	// paper or by phone: escorts have no channel of their own).
	Text        string             `json:"text,omitempty"`
	Instruction muster.Instruction `json:"instruction"`
}

func toInstructionOut(in muster.IssuedInstruction) (instructionOut, error) {
	out := instructionOut{ID: in.ID, Instruction: in.Instruction, Status: in.Status, Token: in.Token, Changes: in.Changes, SupersededBy: in.SupersededBy}
	if !in.ChangedAt.IsZero() {
		out.ChangedAt = &in.ChangedAt
	}
	if in.Audience == muster.AudienceEscort && in.Escort != nil {
		t, err := instruct.TextMessage(&in.Instruction, instruct.Message{Token: in.Token})
		if err != nil {
			return out, err
		}
		out.Text = t
	}
	return out, nil
}

type instructionsPage struct {
	Instructions []instructionOut `json:"instructions"`
	Next         string           `json:"next,omitempty"`
}

// listInstructions lists instruction versions with their content:
// households' name them, so the read is audited.
func (s *Server) listInstructions(w http.ResponseWriter, r *http.Request, c *caller) error {
	q := r.URL.Query()
	f := muster.InstructionFilter{Status: q.Get("status"), Audience: q.Get("audience"), HouseholdID: q.Get("household"), Plan: q.Get("plan"), AfterID: q.Get("after")}
	if err := escortsOnly(c, f.Audience == muster.AudienceEscort); err != nil {
		return err
	}
	if f.Status == "" {
		f.Status = muster.InstructionCurrent
	}
	if f.Status == "all" {
		f.Status = ""
	}
	f.Limit = 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return errorf(muster.EINVALID, "limit: %q, want 1 to 1000", v)
		}
		f.Limit = n
	}
	is, next, err := s.store.ListInstructions(r.Context(), f, true)
	if err != nil {
		return err
	}
	hh := 0
	for _, in := range is {
		if in.Audience == muster.AudienceHousehold {
			hh++
		}
	}
	if err := s.auditRead(r.Context(), "instruction.read", "instructions", fmt.Sprintf("%d instructions (%d of households) after %q", len(is), hh, f.AfterID)); err != nil {
		return err
	}
	out := instructionsPage{Instructions: []instructionOut{}, Next: next}
	for _, in := range is {
		o, err := toInstructionOut(in)
		if err != nil {
			return err
		}
		out.Instructions = append(out.Instructions, o)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getInstruction returns one version, audited.
// escortsOnly refuses a field officer any instruction but the escorts'
// (which officers hand over at the rally point). A household's instruction
// holds its name, its walk from home and a token that checks it in once:
// a field account (a phone lost or taken, an officer bought) must not be
// able to list them all, to sell the tokens or to find the people; the
// officer checks a household in by its token or its id, which never needs
// its instruction read. Planners and admins read any, audited.
func escortsOnly(c *caller, escort bool) error {
	if c.user.Role == muster.RoleField && !escort {
		return errorf(muster.EFORBIDDEN, "a field officer reads the escorts' instructions only (audience=escort, E-...): households' are for planners")
	}
	return nil
}

func (s *Server) getInstruction(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("series") + "/" + r.PathValue("version")
	if err := escortsOnly(c, strings.HasPrefix(r.PathValue("series"), muster.InstructionSeries(muster.AudienceEscort, ""))); err != nil {
		return err
	}
	in, err := s.store.GetInstruction(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.auditRead(r.Context(), "instruction.read", "instruction:"+in.ID, in.Status); err != nil {
		return err
	}
	o, err := toInstructionOut(in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}
