package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"sync"
)

// checkpointer copies the write-ahead log into the database file after
// the writer's commits, on a connection of its own, so that no write
// waits for it. SQLite's own (wal_autocheckpoint) runs inside the commit
// that fills the log past 1,000 pages: the caller of that write waited
// for hundreds of megabytes to be copied and the file synced (an
// issuance of 100,000 households: the checkpoint was a tenth of its
// writer's CPU and more of its wall time). The writer connection's
// autocheckpoint is off; a checkpoint here is PASSIVE (it never blocks
// the writer nor the readers, and leaves what a reader still uses), and
// runs when the log is past walCheckpointBytes.
type checkpointer struct {
	db      *sql.DB
	walPath string
	mu      sync.Mutex // held by a checkpoint, and by AfterWipe's
	kick    chan struct{}
	quit    chan struct{}
	done    chan struct{}
	stopped sync.Once
}

// walCheckpointBytes is SQLite's own threshold: 1,000 pages of 4 KiB.
const walCheckpointBytes = 1000 * 4096

func startCheckpointer(db *sql.DB, path string) *checkpointer {
	cp := &checkpointer{db: db, walPath: path + "-wal", kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go cp.run()
	return cp
}

// afterCommit asks for a checkpoint, without waiting (Dialect.AfterCommit).
func (cp *checkpointer) afterCommit() {
	select {
	case cp.kick <- struct{}{}:
	default: // one is asked for already
	}
}

func (cp *checkpointer) run() {
	defer close(cp.done)
	for {
		select {
		case <-cp.quit:
			return
		case <-cp.kick:
		}
		if fi, err := os.Stat(cp.walPath); err != nil || fi.Size() < walCheckpointBytes {
			continue
		}
		cp.mu.Lock()
		var busy, logFrames, done int
		err := cp.db.QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &done)
		cp.mu.Unlock()
		if err != nil {
			slog.Warn("sqlite checkpoint", "path", cp.walPath, "err", err)
		}
	}
}

// stop ends the checkpointer (the checkpoint under way, if any, first)
// and closes its connection.
func (cp *checkpointer) stop() error {
	var err error
	cp.stopped.Do(func() {
		close(cp.quit)
		<-cp.done
		err = cp.db.Close()
	})
	return err
}
