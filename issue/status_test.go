package issue_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/credential"
	"github.com/muster-evac/muster/issue"
	"github.com/muster-evac/muster/sqlite"
	"github.com/muster-evac/muster/storetest"
)

// TestApproveChecksThePlansStatus: a plan is approved only if proposed and
// issued from only if current (the status is checked once the plan and
// the households are read side by side): a refusal issues nothing and
// approves nothing, and says why.
func TestApproveChecksThePlansStatus(t *testing.T) {
	bp, err := makeBigPlan(context.Background(), 30, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx := muster.WithActor(context.Background(), "planner")
	now := benchStart.Add(-2 * time.Hour)
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "muster.db"), storetest.NewKeys().DataKeys())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.ImportHouseholds(ctx, bp.households, muster.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetTimezone(ctx, bp.timezone); err != nil {
		t.Fatal(err)
	}
	rec, err := st.SavePlan(ctx, muster.PlanRecord{Body: bp.body, Summary: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	kr, err := credential.NewKeyring("status-test", 0, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	is, err := issue.New(issue.Config{Store: st, Keyring: kr, Secret: []byte("a test secret of 32 bytes or more"), Streets: bp.streets,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	refused := func(what string, err error, want string) {
		t.Helper()
		if muster.ErrorCode(err) != muster.ECONFLICT || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: %v, want a conflict saying %q", what, err, want)
		}
		if n := len(current(t, st)); n != 0 && what != "approving it again" {
			t.Fatalf("%s: %d instructions in force", what, n)
		}
	}
	_, err = is.Issue(ctx, rec.ID)
	refused("issuing from a proposed plan", err, "is proposed: instructions are issued from the current plan only")
	if _, err := st.CurrentPlan(ctx); muster.ErrorCode(err) != muster.ENOTFOUND {
		t.Fatalf("a refused issuance made a plan current: %v", err)
	}
	if _, err := is.Issue(ctx, "P-none"); muster.ErrorCode(err) != muster.ENOTFOUND {
		t.Fatalf("issuing from a plan that does not exist: %v", err)
	}
	rep, err := is.Approve(ctx, rec.ID)
	if err != nil || !rep.Approved || rep.Issued == 0 {
		t.Fatalf("approving the proposed plan: %+v, %v", rep, err)
	}
	_, err = is.Approve(ctx, rec.ID)
	refused("approving it again", err, "is current: only a proposed plan can be approved")
}
