package sqlite

import (
	"bytes"
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

// TestBulkReadersReadThroughTheMap: the readers of whole tables read
// the database file through a memory map as large as SQLite allows, the
// other readers and the writer through read and write calls (Open says
// why); the approval's reads (the households' contacts, a plan by id)
// run on the former and see what was written, in the log and after a
// checkpoint has moved it into the file (the map grown with it).
func TestBulkReadersReadThroughTheMap(t *testing.T) {
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
	// Two bulk readers at once: each connection of the pool is opened so.
	c1, err := st.bulk.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := c1.QueryRowContext(ctx, `PRAGMA mmap_size`).Scan(&n); err != nil || n != readerMapBytes {
		t.Fatalf("a bulk reader maps %d bytes (%v), want %d", n, err, readerMapBytes)
	}
	if n := mapSize(st.bulk); n != readerMapBytes {
		t.Fatalf("a second bulk reader maps %d bytes, want %d", n, readerMapBytes)
	}
	c1.Close()
	if n := mapSize(st.r); n != 0 {
		t.Fatalf("a reader maps %d bytes, want none", n)
	}
	if n := mapSize(st.w); n != 0 {
		t.Fatalf("the writer maps %d bytes, want none", n)
	}
	for round, when := range []string{"in the log", "checkpointed"} {
		hs := make([]muster.Household, 300)
		for i := range hs {
			k := round*len(hs) + i + 1
			hs[i] = muster.Household{ID: fmt.Sprintf("H%06d", k), Name: fmt.Sprintf("Zarghuna Karimi-%d", k), PartySize: 2, Adults: 2,
				Language: muster.LangDari, Phone: fmt.Sprintf("+9370555%04d", k)}
		}
		if _, err := st.ImportHouseholds(ctx, hs, muster.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		rec, err := st.SavePlan(ctx, muster.PlanRecord{Body: []byte(`{"version":2,"round":` + fmt.Sprint(round) + `}`), Summary: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		if when == "checkpointed" {
			if _, err := st.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
				t.Fatal(err)
			}
		}
		// Which pool a read ran on: with no idle connection kept, each
		// connection a read used is closed when the read ends.
		st.bulk.SetMaxIdleConns(0)
		onBulk := func(what string, closedBefore int64) {
			t.Helper()
			if st.bulk.Stats().MaxIdleClosed == closedBefore {
				t.Fatalf("%s: %s not read by the bulk readers", when, what)
			}
		}
		closed := st.bulk.Stats().MaxIdleClosed
		got, _, err := st.ListHouseholdContacts(ctx, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		onBulk("the households' contacts", closed)
		if want := (round + 1) * len(hs); len(got) != want || got[want-1].Name != hs[len(hs)-1].Name || got[want-1].Phone != hs[len(hs)-1].Phone {
			t.Fatalf("%s: read %d households' contacts, want %d as imported", when, len(got), want)
		}
		closed = st.bulk.Stats().MaxIdleClosed
		p, err := st.GetPlan(ctx, rec.ID)
		if err != nil || !bytes.Contains(p.Body, []byte(`"round":`+fmt.Sprint(round))) {
			t.Fatalf("%s: plan %s: %q, %v", when, rec.ID, p.Body, err)
		}
		onBulk("the plan", closed)
		st.bulk.SetMaxIdleConns(2)
	}
}
