package storetest

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/muster-evac/muster"
)

// testPlans: plans are stored sealed, proposed until approved, and one at
// most is current.
func testPlans(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	wantCode(t, func() error { _, err := e.store.CurrentPlan(e.ctx); return err }(), muster.ENOTFOUND, "current plan of a new database")
	body := []byte(`{"version":1,"households":[{"id":"H000001","walk":{"geometry":{"type":"LineString","coordinates":[[69.20751234,34.55531234],[69.2,34.56]]}}}]}`)
	summary := []byte(`{"people":5,"groups":1}`)
	p1 := must(e.store.SavePlan(e.ctx, muster.PlanRecord{Body: body, Summary: summary}))(t)
	if p1.ID == "" || p1.Status != muster.PlanProposed || p1.CreatedBy != "tester" || p1.CreatedAt.IsZero() {
		t.Fatalf("saved plan: %+v", p1)
	}
	got := must(e.store.GetPlan(e.ctx, p1.ID))(t)
	if !bytes.Equal(got.Body, body) || !json.Valid(got.Summary) || got.Status != muster.PlanProposed {
		t.Fatalf("read back: %+v", got)
	}
	if raw := e.db.Raw(t); bytes.Contains(raw, []byte("69.20751234")) || !bytes.Contains(raw, []byte(p1.ID)) {
		t.Fatal("a plan's body (households' walks from home) is stored in clear, or Raw does not hold the plans")
	}
	wantCode(t, func() error {
		_, err := e.store.SavePlan(e.ctx, muster.PlanRecord{Body: []byte("{not json"), Summary: summary})
		return err
	}(),
		muster.EINVALID, "a plan that is not JSON")

	a := must(e.store.ApprovePlan(e.ctx, p1.ID))(t)
	if a.Status != muster.PlanCurrent || a.ApprovedBy != "tester" || a.ApprovedAt.IsZero() {
		t.Fatalf("approved: %+v", a)
	}
	wantCode(t, func() error { _, err := e.store.ApprovePlan(e.ctx, p1.ID); return err }(), muster.ECONFLICT, "approving a current plan")
	wantCode(t, func() error { _, err := e.store.ApprovePlan(e.ctx, "nope"); return err }(), muster.ENOTFOUND, "approving a plan that does not exist")

	p2 := must(e.store.SavePlan(e.ctx, muster.PlanRecord{Body: body, Summary: summary, Basis: p1.ID}))(t)
	if cur := must(e.store.CurrentPlan(e.ctx))(t); cur.ID != p1.ID {
		t.Fatalf("a proposed re-plan must not be current before approval: current is %s", cur.ID)
	}
	must(e.store.ApprovePlan(e.ctx, p2.ID))(t)
	if cur := must(e.store.CurrentPlan(e.ctx))(t); cur.ID != p2.ID || cur.Basis != p1.ID {
		t.Fatalf("current after approving the re-plan: %+v", cur)
	}
	list := must(e.store.ListPlans(e.ctx, 10))(t)
	status := map[string]string{}
	for _, p := range list {
		status[p.ID] = p.Status
		if p.Body != nil {
			t.Fatal("ListPlans returns bodies")
		}
	}
	if len(list) != 2 || status[p1.ID] != muster.PlanSuperseded || status[p2.ID] != muster.PlanCurrent {
		t.Fatalf("plans: %v", status)
	}
	// Saving and approving are audited.
	v := must(e.store.VerifyAudit(e.ctx))(t)
	if !v.OK {
		t.Fatalf("audit chain: %+v", v)
	}
	entries := must(e.store.ListAudit(e.ctx, 0, 100))(t)
	approvals := 0
	for _, en := range entries {
		if en.Action == "plan.approve" {
			approvals++
		}
	}
	if approvals != 2 {
		t.Fatalf("%d plan approvals in the audit log, want 2", approvals)
	}
}
