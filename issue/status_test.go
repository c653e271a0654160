package issue_test

import (
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/issue"
)

// TestApproveChecksThePlansStatus: a plan is approved only if proposed and
// issued from only if current (the status is checked once the plan and
// the households are read side by side): a refusal issues nothing and
// approves nothing, and says why.
func TestApproveChecksThePlansStatus(t *testing.T) {
	bp, ctx, now, st, kr := smallIssuance(t, 30, "status-test")
	planID := savePlan(t, ctx, st, bp.body)
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
	_, err = is.Issue(ctx, planID)
	refused("issuing from a proposed plan", err, "is proposed: instructions are issued from the current plan only")
	if _, err := st.CurrentPlan(ctx); muster.ErrorCode(err) != muster.ENOTFOUND {
		t.Fatalf("a refused issuance made a plan current: %v", err)
	}
	if _, err := is.Issue(ctx, "P-none"); muster.ErrorCode(err) != muster.ENOTFOUND {
		t.Fatalf("issuing from a plan that does not exist: %v", err)
	}
	rep, err := is.Approve(ctx, planID)
	if err != nil || !rep.Approved || rep.Issued == 0 {
		t.Fatalf("approving the proposed plan: %+v, %v", rep, err)
	}
	_, err = is.Approve(ctx, planID)
	refused("approving it again", err, "is current: only a proposed plan can be approved")
}
