package sqlite

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestWriteback: during a bulk write the log is handed to the disk in the
// background, one writeback at a time, until the write ends; a store with
// no log yet has nothing to hand over. (What it saves, the commit's wait
// for the disk, is measured by the issuance benchmark, not here.)
func TestWriteback(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	wb := newWriteback(path)
	ended := wb.during() // no log yet
	if wb.stop != nil {
		t.Fatal("a writeback started with no log to write")
	}
	ended()
	if err := os.WriteFile(path+"-wal", make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	ended = wb.during()
	done := wb.done
	if done == nil {
		t.Fatal("no writeback during a bulk write")
	}
	if again := wb.during(); wb.done != done {
		t.Fatal("a second writeback started beside the first")
	} else {
		again()
	}
	time.Sleep(2 * writebackEvery) // (it runs a pass or two; none is observable)
	ended()
	select {
	case <-done:
	default:
		t.Fatal("the writeback goes on after the bulk write ended")
	}
	if wb.stop != nil {
		t.Fatal("the ended writeback is still registered")
	}
	// And a next bulk write gets its own.
	wb.during()()
}
