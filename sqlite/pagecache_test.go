package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
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

// TestReadersReadThroughTheMap: the readers' connections read the
// database file through a memory map as large as SQLite allows (Open
// says why); the writer's reads and writes go through read and write
// calls, as before. Whatever reader a read lands on, it sees what was
// written, before and after a checkpoint moves the log into the file.
func TestReadersReadThroughTheMap(t *testing.T) {
	ctx := muster.WithActor(context.Background(), "test")
	st, err := Open(ctx, filepath.Join(t.TempDir(), "muster.db"), storetest.NewKeys().DataKeys())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mapSize := func(db *sql.DB) int64 {
		t.Helper()
		var n int64
		if err := db.QueryRowContext(ctx, `PRAGMA mmap_size`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Two readers at once: each connection of the pool is opened so.
	c1, err := st.r.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	var n int64
	if err := c1.QueryRowContext(ctx, `PRAGMA mmap_size`).Scan(&n); err != nil || n != readerMapBytes {
		t.Fatalf("a reader maps %d bytes (%v), want %d", n, err, readerMapBytes)
	}
	if n := mapSize(st.r); n != readerMapBytes {
		t.Fatalf("a second reader maps %d bytes, want %d", n, readerMapBytes)
	}
	if n := mapSize(st.w); n != 0 {
		t.Fatalf("the writer maps %d bytes, want none", n)
	}
	hs := make([]muster.Household, 300)
	for i := range hs {
		hs[i] = muster.Household{ID: fmt.Sprintf("H%06d", i+1), Name: fmt.Sprintf("Zarghuna Karimi-%d", i), PartySize: 2, Adults: 2,
			Language: muster.LangDari, Phone: fmt.Sprintf("+9370555%04d", i)}
	}
	if _, err := st.ImportHouseholds(ctx, hs, muster.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, when := range []string{"in the log", "checkpointed"} {
		if when == "checkpointed" {
			if _, err := st.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
				t.Fatal(err)
			}
		}
		got, _, err := st.ListHouseholds(ctx, muster.HouseholdFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(hs) || got[0].Name != hs[0].Name || got[len(got)-1].Phone != hs[len(hs)-1].Phone {
			t.Fatalf("%s: read %d households, want %d as imported", when, len(got), len(hs))
		}
	}
}
