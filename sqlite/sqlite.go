// Package sqlite is muster's embedded store, the default: one file in the
// data folder, nothing to install or run beside muster.
//
// Choices, and why:
//   - modernc.org/sqlite, a pure Go translation of SQLite: no cgo, so muster
//     stays one static binary and CI needs no C toolchain.
//   - WAL journal with synchronous=FULL: a write is acknowledged only once
//     its commit is in the WAL on disk, so killing the process (or the
//     machine) loses no acknowledged write, while readers never block the
//     writer nor the writer the readers.
//   - One writer connection (transactions begin IMMEDIATE, so a write never
//     fails half-way on a lock upgrade) and a pool of read-only readers:
//     SQLite allows one writer at a time anyway; queueing writers in Go
//     instead of in SQLite's busy loop is faster and fair. busy_timeout
//     covers another process holding the file (muster user add beside a
//     running server).
//   - Group commit: the writes waiting when the writer is free share one
//     transaction (each in a savepoint of its own, so one failing write
//     takes no other with it) and one fsync. A commit costs an fsync
//     whatever it holds, so under load this multiplies the writes per
//     second; a lone write is not delayed.
//   - Events (Subscribe) reach every store opened on the file in this
//     process; a change made by another process (muster user add) is not
//     announced: the embedded database serves one muster serve.
//   - The writer keeps its statement journals in memory (temp_store=MEMORY):
//     a bulk insert of fifty rows a statement (an issuance) then copies a
//     few pages a statement in memory instead of spilling them to a
//     temporary file (internal/sqlstore, insertOutboxQueries).
//   - The write-ahead log is copied into the file after the writer's commits
//     by a connection of its own (checkpoint.go), not inside the commit
//     that fills it: no write waits for the copy.
//   - secure_delete, so that freed pages (an old household row, the wiped
//     key) are zeroed rather than left in the file.
//   - The Store itself is internal/sqlstore, shared with package postgres;
//     this package only opens the file and says how SQLite differs.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/internal/sqlstore"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// readerMapBytes is how much of the database file the readers map: the
// most this build of SQLite maps (SQLITE_MAX_MMAP_SIZE; more is capped
// to it).
const readerMapBytes = 0x7fff0000

// Store is the SQLite muster.Store.
type Store struct {
	*sqlstore.Core
	path         string
	checkpointer *checkpointer
	w            *sql.DB // the writer's pool (one connection), for tests
	r            *sql.DB // the readers' pool, for tests
	bulk         *sql.DB // the readers of whole tables, for tests
}

// Open opens (creating if needed) the database file at path, migrates it
// and unlocks its data key with keys. Wrong master key, a wiped database or
// a database newer than this binary are errors that say so.
func Open(ctx context.Context, path string, keys muster.DataKeys) (*Store, error) {
	if path == "" {
		return nil, fmt.Errorf("open sqlite store: no path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("open sqlite store: %w", err)
		}
	}
	common := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=secure_delete(1)"
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open sqlite store %q: a path with ? or # is not supported", path)
	}
	fileURL := "file:" + path
	if err := createWithPageSize(ctx, fileURL, path); err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	w, err := sql.Open("sqlite", fileURL+"?"+common+"&_txlock=immediate&_pragma=cache_size(-65536)&_pragma=temp_store(MEMORY)&_pragma=wal_autocheckpoint(0)")
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	// Make the file (and the WAL) before the readers open it read-only.
	if err := whileBusy(ctx, func() error { return w.PingContext(ctx) }); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	// The readers' page caches are 32 MiB each, not SQLite's 2 MB. This
	// build of SQLite keeps one page cache for all its connections
	// (SQLITE_ENABLE_MEMORY_MANAGEMENT: pcache1's unified mode), bounded by
	// the sum of the caches of the connections open, and a connection may
	// hold more than its own share while the others hold less. An
	// approval's readers read the plan and the households (60 MB at
	// 100,000 households) into their caches and keep them; at 2 MB each
	// the sum was then full, so every page the writer's 64 MiB cache
	// spilled was freed and allocated again rather than reused, and the
	// commit freed 7,000 of them on the approval's last core (0.12-0.17
	// CPU-s, and more under load: modernc's allocator hands them back to
	// the system, a madvise a region). Each reader's share must be large
	// itself: readers are opened as reads need them, often one or two, and
	// only those open count (the same 128 MiB split among 32 readers left
	// the writer 9 MB). The page cache is bounded by 32 MiB a reader open
	// and the writer's 64 MiB, taken only as pages are read.
	// TestReadersLeaveTheWriterItsCache.
	readers := max(4, 2*runtime.GOMAXPROCS(0))
	const readerCacheKiB = 32 << 10
	r, err := sql.Open("sqlite", fmt.Sprintf("%s?%s&_pragma=query_only(1)&_pragma=cache_size(-%d)", fileURL, common, readerCacheKiB))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	// Reads of whole tables (an approval's households and plan: 60 MB at
	// 100,000 households) have readers of their own, which read the
	// database file through a memory map (mmap_size, up to this build's
	// limit of 2 GB; beyond it, and the log always, by read calls): the
	// kernel's copy of the file is mapped, 64 kB at a fault, where a read
	// call copied each page into memory the process touched for the first
	// time (some 11 µs a 4 kB page on this machine's virtual machines).
	// An approval's system time fell from 1.4-1.8 CPU-s to 1.0-1.2, its
	// page faults by a third (BenchmarkInstructions100k).
	// The other readers do not map: a connection maps the file again
	// whenever it has grown since its last read, and under writes (each
	// audited read is one) the household reads of bench/loadtest.sh fell
	// to half, from 25% of the server's ceiling to 13%, with every reader
	// mapped. The map is read-only (SQLite writes through the writer's
	// connection, by write calls), so no stray write can reach the file.
	// The cost, as SQLite documents it: a read error of the disk under
	// the map stops the process instead of returning an error (a disk
	// that fails reads is the end of the server either way), as would a
	// file truncated by another program while mapped (nothing in muster
	// shrinks the database file: no VACUUM; the checkpoint truncates the
	// log). Two, for the plan and the households read side by side.
	// TestBulkReadersReadThroughTheMap.
	bulk, err := sql.Open("sqlite", fmt.Sprintf("%s?%s&_pragma=query_only(1)&_pragma=mmap_size(%d)&_pragma=cache_size(-%d)", fileURL, common, readerMapBytes, readerCacheKiB))
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	bulk.SetMaxOpenConns(2)
	bulk.SetMaxIdleConns(2)
	closeAll := func() {
		w.Close()
		r.Close()
		bulk.Close()
	}

	av, err := newAuthVersion(path)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	c, err := sql.Open("sqlite", fileURL+"?"+common)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	c.SetMaxOpenConns(1)
	cp := startCheckpointer(c, path)
	wb := newWriteback(path)
	d := sqlstore.Dialect{
		Name:               "sqlite",
		DataVersionQuery:   "PRAGMA data_version",
		GroupCommit:        true,
		InterleaveIssue:    true,
		EmptyBytes:         "X''",
		BulkInsert:         "INSERT OR FAIL",
		BulkForeignKeysOff: "PRAGMA foreign_keys = OFF",
		BulkForeignKeysOn:  "PRAGMA foreign_keys = ON",
		DuringBulkWrite:    wb.during,
		IsUniqueViolation:  isUniqueViolation,
		AuthVersion:        av.version,
		BumpAuth:           av.bump,
		AfterCommit:        cp.afterCommit,
		AfterWipe: func(ctx context.Context) (string, error) {
			cp.mu.Lock() // not while the checkpointer checkpoints: it would be "busy"
			defer cp.mu.Unlock()
			// Copy the WAL (holding the old key page) into the file, which
			// overwrites the page in place, then empty the WAL file.
			var busy, logFrames, done int
			if err := w.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil {
				return "", fmt.Errorf("checkpoint: %w", err)
			}
			if busy != 0 {
				return "the write-ahead log could not be emptied because readers were busy: restart muster, which empties it", nil
			}
			return "the old key is overwritten in " + path + " and its write-ahead log is emptied; destroy any backup or copy of the file made before now, which still holds it", nil
		},
	}
	mig, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		cp.stop()
		closeAll()
		return nil, err
	}
	core, err := sqlstore.Open(ctx, w, r, d, mig, keys)
	if err != nil {
		cp.stop()
		closeAll()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	core.UseBulkReaders(bulk)
	return &Store{Core: core, path: path, checkpointer: cp, w: w, r: r, bulk: bulk}, nil
}

// Close closes the store: the writes first, then the checkpointer.
func (s *Store) Close() error {
	err := s.Core.Close()
	return errors.Join(err, s.checkpointer.stop())
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// pageSize is the page size of a database this package creates. SQLite's
// default, 4 KiB, holds two of an issuance's instructions (1.9 kB each,
// sealed): 100,000 households' issuance split and wrote some 120,000
// pages, and spilled them from the writer's cache a write call each.
// Measured on an issuance of 100,000 households: 8 KiB cut the writer's
// CPU by a tenth; 16 KiB made it half as much again (a statement of many
// rows copies each page it changes to its statement journal first: the
// capabilities' random ids and hashes change a page a row).
// A database made before keeps its page size (it changes only by VACUUM,
// outside WAL mode).
const pageSize = 8192

// createWithPageSize makes the database file, if there is none, with
// pages of pageSize, in WAL mode: the page size must be set before the
// first table or the switch to WAL, which the pools' connections make
// first (their pragmas run in alphabetical order).
func createWithPageSize(ctx context.Context, fileURL, path string) error {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil // there (or unreadable: the open says why)
	}
	db, err := sql.Open("sqlite", fileURL+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, q := range []string{fmt.Sprintf("PRAGMA page_size = %d", pageSize), "PRAGMA journal_mode = WAL"} {
		if err := whileBusy(ctx, func() error { _, err := conn.ExecContext(ctx, q); return err }); err != nil {
			return fmt.Errorf("create: %s: %w", q, err)
		}
	}
	return nil
}

// whileBusy runs f, again while another connection holds the lock it
// needs, for up to 10 s. Instances starting together on a new database
// each make it and migrate it: the switch to WAL takes an exclusive lock,
// and SQLite answers busy at once, without waiting (busy_timeout), when
// waiting could deadlock (TestConformance/ConcurrentOpen failed so,
// rarely, before the page size and WAL switch were retried too).
func whileBusy(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		var e *sqlite3.Error
		if err == nil || !errors.As(err, &e) || e.Code()&0xff != sqlite3lib.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func isUniqueViolation(err error) bool {
	var e *sqlite3.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY || e.Code() == sqlite3lib.SQLITE_CONSTRAINT_UNIQUE
}
