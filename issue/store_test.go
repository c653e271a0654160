package issue_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/credential"
	"github.com/muster-evac/muster/sqlite"
	"github.com/muster-evac/muster/storetest"
)

// issuanceStore is a fresh SQLite store holding households and the
// plan's timezone, closed when the test ends.
func issuanceStore(t *testing.T, ctx context.Context, bp *bigPlan, households []muster.Household) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "muster.db"), storetest.NewKeys().DataKeys())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.ImportHouseholds(ctx, households, muster.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetTimezone(ctx, bp.timezone); err != nil {
		t.Fatal(err)
	}
	return st
}

// smallIssuance makes what an issue test starts from: a plan of n
// households on the generated city (makeBigPlan, one copy), a fresh
// store holding them, the issue time (two hours before the plan starts)
// and a keyring named keyName valid from an hour before it.
func smallIssuance(t *testing.T, n int, keyName string) (*bigPlan, context.Context, time.Time, *sqlite.Store, *credential.Keyring) {
	t.Helper()
	bp, err := makeBigPlan(context.Background(), n, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx := muster.WithActor(context.Background(), "planner")
	now := benchStart.Add(-2 * time.Hour)
	st := issuanceStore(t, ctx, bp, bp.households)
	kr, err := credential.NewKeyring(keyName, 0, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return bp, ctx, now, st, kr
}

// savePlan stores plan.json body as a proposed plan and returns its id.
func savePlan(t *testing.T, ctx context.Context, st muster.Store, body []byte) string {
	t.Helper()
	rec, err := st.SavePlan(ctx, muster.PlanRecord{Body: body, Summary: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	return rec.ID
}
