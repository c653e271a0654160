package issue_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/muster-evac/muster"
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

// savePlan stores plan.json body as a proposed plan and returns its id.
func savePlan(t *testing.T, ctx context.Context, st muster.Store, body []byte) string {
	t.Helper()
	rec, err := st.SavePlan(ctx, muster.PlanRecord{Body: body, Summary: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	return rec.ID
}
