package sqlite

import (
	"log/slog"
	"os"
	"sync"
	"time"
)

// writeback starts the disk writing the write-ahead log while a bulk
// write (an issuance) is still filling it. SQLite syncs the log once, at
// commit; the kernel keeps what was written before in its cache, so the
// commit of 100,000 instructions waited some 0.3 s for 240 MB to reach
// the disk, with both cores idle. Asked every writebackEvery to write
// what is dirty by then, the disk does it while the transaction runs,
// and the commit's sync finds little left. It changes nothing of what
// is durable when: only the commit's sync says "done", as before.
type writeback struct {
	walPath string
	mu      sync.Mutex
	stop    chan struct{}
	done    chan struct{}
}

// writebackEvery is how often a running bulk write's log is handed to
// the disk: about 20 MB of log at the pace of an issuance.
const writebackEvery = 100 * time.Millisecond

func newWriteback(path string) *writeback { return &writeback{walPath: path + "-wal"} }

// during is Dialect.DuringBulkWrite: it starts writing the log back
// until the returned func is called (which waits for the last pass).
func (wb *writeback) during() (ended func()) {
	wb.mu.Lock()
	defer wb.mu.Unlock()
	if wb.stop != nil { // (one bulk write at a time: the writer is one)
		return func() {}
	}
	f, err := os.Open(wb.walPath)
	if err != nil {
		// No log yet, or none to open: nothing to hand over early.
		return func() {}
	}
	stop, done := make(chan struct{}), make(chan struct{})
	wb.stop, wb.done = stop, done
	go func() {
		defer close(done)
		defer f.Close()
		t := time.NewTicker(writebackEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if err := startWriteback(f); err != nil {
					slog.Debug("sqlite write-ahead log writeback", "path", wb.walPath, "err", err)
					return
				}
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		wb.mu.Lock()
		wb.stop, wb.done = nil, nil
		wb.mu.Unlock()
	}
}
