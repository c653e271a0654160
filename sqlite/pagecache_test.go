package sqlite

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"testing"

	"modernc.org/sqlite"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/internal/testshared"
	"github.com/muster-evac/muster/storetest"
)

// writerCacheBytes is how much page cache the writer's connection holds.
func writerCacheBytes(t *testing.T, st *Store) int {
	t.Helper()
	ctx := context.Background()
	c, err := st.w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var used int
	if err := c.Raw(func(dc any) error {
		var err error
		used, _, err = dc.(sqlite.DBStatus).Status(sqlite.DBStatusCacheUsed, false)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return used
}

// TestReadersLeaveTheWriterItsCache: after the readers have read much (as
// an approval reads the plan and the households), a large write keeps
// the writer's page cache through its commit instead of freeing it page
// by page. SQLite's page caches share one bound here (the sum of the
// connections' cache sizes, see Open): with the readers' caches at
// SQLite's default 2 MB, 60 MB read left no room in it, and the commit
// of the 60 MB written after freed all but a few megabytes of the
// writer's 64 MiB (6 MB left: 37 MB with the readers' caches at 32 MiB),
// on the approval's last core.
func TestReadersLeaveTheWriterItsCache(t *testing.T) {
	testshared.Long(t) // 120 MB sealed and written
	ctx := muster.WithActor(context.Background(), "test")
	st, err := Open(ctx, filepath.Join(t.TempDir(), "muster.db"), storetest.NewKeys().DataKeys())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	body := func() []byte { // a JSON document of 60 MB
		b := make([]byte, 30<<20)
		_, _ = rand.Read(b)
		return []byte(`{"version":2,"pad":"` + hex.EncodeToString(b) + `"}`)
	}
	first, err := st.SavePlan(ctx, muster.PlanRecord{Body: body(), Summary: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetPlan(ctx, first.ID); err != nil { // a reader reads 60 MB
		t.Fatal(err)
	}
	if _, err := st.SavePlan(ctx, muster.PlanRecord{Body: body(), Summary: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	used := writerCacheBytes(t, st)
	if used < 24<<20 {
		t.Fatalf("the writer holds %d MB of page cache after its commit, want more than a third of its 64 MiB", used>>20)
	}
	t.Logf("the writer holds %d MB of page cache after its commit", used>>20)
}
