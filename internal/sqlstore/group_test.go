package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// TestWriteAloneForeignKeys: a bulk write (writeAlone) runs in a
// transaction of its own with the writer's foreign keys off, which SQLite
// needs to keep no statement journal for its inserts; every other write,
// before and after it, succeeded or failed, and one queued while it
// runs, has them on, and none is grouped into its transaction.
func TestWriteAloneForeignKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fk.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // the writer: one connection, as package sqlite opens it
	for _, q := range []string{`CREATE TABLE parents (id TEXT PRIMARY KEY)`,
		`CREATE TABLE children (id TEXT PRIMARY KEY, parent TEXT NOT NULL REFERENCES parents (id))`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	// DuringBulkWrite is called as each bulk write begins and what it
	// returns after the commit; never for another write.
	var bulkWrites, inBulkWrite atomic.Int32
	during := func() func() {
		bulkWrites.Add(1)
		if inBulkWrite.Add(1) != 1 {
			t.Error("two bulk writes at once")
		}
		return func() { inBulkWrite.Add(-1) }
	}
	c := &Core{w: db, r: db, now: time.Now, bus: newBroadcaster(), d: Dialect{Name: "sqlite", GroupCommit: true,
		BulkInsert: "INSERT OR FAIL", BulkForeignKeysOff: "PRAGMA foreign_keys = OFF", BulkForeignKeysOn: "PRAGMA foreign_keys = ON",
		DuringBulkWrite: during}}
	c.startGroupCommit()
	defer c.stopGroupCommit()
	ctx := context.Background()
	inBulk := func(want bool) {
		if got := inBulkWrite.Load() == 1; got != want {
			t.Errorf("a write with DuringBulkWrite's writeback running: %v, want %v", got, want)
		}
	}
	foreignKeys := func(w *wtx) int {
		inBulk(w.c.foreignKeysOff)
		var on int
		if err := w.queryRow(`PRAGMA foreign_keys`).Scan(&on); err != nil {
			t.Error(err)
		}
		return on
	}
	orphan := func(w *wtx, id string) error {
		_, err := w.exec(`INSERT INTO children (id, parent) VALUES (?, 'none')`, id)
		return err
	}
	if err := c.write(ctx, func(w *wtx) error { return orphan(w, "c1") }); err == nil {
		t.Fatal("a write inserted a child without its parent: the writer's foreign keys are off")
	}
	// A bulk write that fails, then one that succeeds: each sees its keys
	// off; a write queued while the second runs waits for it and sees them on.
	failed := errors.New("the bulk write failed")
	if err := c.writeAlone(ctx, func(w *wtx) error {
		if on := foreignKeys(w); on != 0 {
			t.Errorf("in a bulk write, foreign_keys = %d", on)
		}
		return failed
	}); !errors.Is(err, failed) {
		t.Fatalf("the failed bulk write: %v", err)
	}
	if err := c.write(ctx, func(w *wtx) error { return orphan(w, "c2") }); err == nil {
		t.Fatal("after a bulk write that failed, a write inserted a child without its parent")
	}
	// While a write holds the writer, a bulk write and then another write
	// are queued: the writer takes them together, and must run the bulk
	// write alone with its keys off and the other after it, with them on.
	hold, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := c.write(ctx, func(w *wtx) error {
			close(hold)
			<-release
			return nil
		}); err != nil {
			t.Error(err)
		}
	})
	<-hold
	var bulkKeys, queuedKeys int
	var bulkErr, queuedErr error
	wg.Go(func() {
		bulkErr = c.writeAlone(ctx, func(w *wtx) error {
			bulkKeys = foreignKeys(w)
			_, err := w.exec(`INSERT INTO parents (id) VALUES ('p1')`)
			return err
		})
	})
	time.Sleep(50 * time.Millisecond) // (only so that the two are queued in this order)
	wg.Go(func() {
		queuedErr = c.write(ctx, func(w *wtx) error {
			queuedKeys = foreignKeys(w)
			return orphan(w, "c3")
		})
	})
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if bulkErr != nil || bulkKeys != 0 {
		t.Fatalf("the bulk write queued behind another: foreign_keys = %d, %v", bulkKeys, bulkErr)
	}
	if queuedKeys != 1 || queuedErr == nil {
		t.Fatalf("the write queued after a bulk write: foreign_keys = %d, an orphan inserted with error %v", queuedKeys, queuedErr)
	}
	if n, on := bulkWrites.Load(), inBulkWrite.Load(); n != 2 || on != 0 {
		t.Fatalf("DuringBulkWrite: called for %d writes (want the 2 bulk ones), %d not ended", n, on)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM children`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d orphans stored (%v)", n, err)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM parents`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the bulk write's row: %d (%v)", n, err)
	}
}
