// Package sqlstore is the one implementation of muster.Store over
// database/sql that both backends share: package sqlite gives it a writer
// connection and a pool of readers on an embedded file, package postgres a
// pgx pool through pgx's database/sql adapter. What differs between the two
// (placeholders, row locks, notifications, how a wipe reaches the disk) is a
// Dialect; everything else (sealing personal fields, validation, import
// matching, the audit chain, the claim primitive) is written once here, so
// the conformance suite in package storetest tests one body of logic against
// two engines rather than two copies that drift.
//
// Speed: statements are prepared once (per pool, or per transaction; pgx
// caches its own); an import reads the households it may match a hundred
// keys a statement and appends audit entries fifty a statement; on SQLite,
// concurrent writes share one transaction and one fsync (group.go).
//
// Times are stored as UTC Unix microseconds in BIGINT columns on both
// engines: the precision PostgreSQL keeps, exact on both, and the encoding
// the audit chain hashes.
package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/muster-evac/muster"
)

// Dialect is what one engine does differently.
type Dialect struct {
	Name string
	// Rebind turns the '?' placeholders this package writes into the
	// engine's own; nil keeps them.
	Rebind func(string) string
	// IsUniqueViolation reports a primary key or unique constraint error.
	IsUniqueViolation func(error) bool
	// GroupCommit runs concurrent writes in one transaction, each in a
	// savepoint, committed once (see group.go): for an engine with one
	// writer and an fsync per commit.
	GroupCommit bool
	// DriverCachesStatements: the driver prepares and caches statements
	// itself (pgx does, per connection), so preparing them here would only
	// add round trips.
	DriverCachesStatements bool
	// BeforeBulkRead, if set, runs in an import's transaction before it
	// reads the households the batch may match, keys by the hundred.
	BeforeBulkRead string
	// IsRetryable reports an error after which the whole transaction may
	// simply be run again (deadlock, serialization failure).
	IsRetryable func(error) bool
	// ForUpdate is appended to a SELECT that must lock the rows it reads
	// until the transaction ends ("" where one writer excludes all others).
	ForUpdate string
	// SkipLocked is appended to the job claim SELECT: a row another
	// instance is claiming right now is skipped, not waited for.
	SkipLocked string
	// MigrationLock, if set, is run first in the migration transaction so
	// instances starting together migrate one at a time.
	MigrationLock string
	// Notify, if set, sends ev to every instance from inside tx (delivered
	// on commit); the backend's listener then calls Core.Deliver. When nil,
	// events are delivered in process after commit.
	Notify func(ctx context.Context, tx *sql.Tx, ev muster.Event) error
	// DataVersionQuery, if set, returns a number on the writer connection
	// that changes whenever another connection (process) has committed:
	// a watcher then announces their changes here (see external.go).
	DataVersionQuery string
	// EmptyBytes, if set, is the engine's literal for an empty byte
	// string: a new message's four columns of the format before
	// content_enc are written with it rather than bound.
	EmptyBytes string
	// InterleaveIssue: an issuance's versions and messages are written
	// interleaved, a group of versions at a time (instructions.go), so
	// that the writer in this process, SQLite's, writes the messages
	// while the versions after them are signed. On PostgreSQL, whose
	// server writes, interleaving the two tables cost the server and the
	// driver more than the overlap saved (measured: 10.4-12.3 against
	// 8.8-9.2 server CPU-seconds an issuance of 100,000 households).
	InterleaveIssue bool
	// CopyRows, if set, inserts rows (each a value for each of columns,
	// of the driver's types: string, int64, []byte) into table through the
	// engine's bulk-load path (PostgreSQL's COPY) on the driver connection
	// dc, and returns how many it inserted. An issuance's new versions
	// take it instead of INSERT statements of fifty rows: no statement to
	// build and parse, no parameters to grow a buffer for (pgx starts
	// each statement's from 256 bytes again), the rows streamed.
	CopyRows func(ctx context.Context, dc any, table string, columns []string, rows [][]any) (int64, error)
	// AfterCommit, if set, is called after each group commit (GroupCommit)
	// that succeeded, by the group writer: it must not block.
	AfterCommit func()
	// AfterWipe makes the destroyed key leave the disk (checkpoint,
	// vacuum) and says what it could not guarantee.
	AfterWipe func(ctx context.Context) (string, error)
	// AuthVersion, if set, returns a number that changes whenever any
	// process changes a token or a user in this database; BumpAuth changes
	// it, and is called after such a commit and before the writer returns.
	// With both, LookupToken answers live tokens from memory while the
	// number stands (see tokencache.go).
	AuthVersion func() (int64, error)
	BumpAuth    func() error
	// BulkInsert is the verb of the multi-row inserts of an issuance and
	// of queued messages ("INSERT" when empty). On SQLite it is "INSERT OR
	// FAIL": a statement of many rows whose constraints may ABORT (the
	// default, NOT NULL included) keeps a statement journal, a copy of
	// every page it changes that the transaction had changed before, so
	// that it can undo itself alone; FAIL stops at the bad row without
	// undoing the rows before it, and needs none. Every caller returns
	// the error, and the write is then rolled back whole (or to its
	// savepoint), so the rows before it go too.
	BulkInsert string
	// BulkForeignKeysOff and BulkForeignKeysOn, if set, are run on the
	// writer's connection before and after a bulk write that runs alone
	// (writeAlone: an issuance). An immediate foreign key makes SQLite
	// keep a statement journal as an ABORT does (it counts violations to
	// the statement's end), whatever its verb: 0.5 to 0.7 CPU-seconds of
	// the writer's 3.8 at 100,000 instructions. Such a write checks its
	// parents itself, in its transaction (checkIssueHouseholds,
	// checkMessageHouseholds), and runs with nobody else's writes in its
	// transaction, whose own keys stay checked.
	BulkForeignKeysOff, BulkForeignKeysOn string
	// DuringBulkWrite, if set, is called as a bulk write that runs alone
	// begins, and what it returns once it has committed or failed: SQLite
	// has the disk write its log meanwhile (package sqlite, writeback).
	DuringBulkWrite func() (ended func())
}

// bulkInsert is BulkInsert, or INSERT.
func (d *Dialect) bulkInsert() string {
	if d.BulkInsert == "" {
		return "INSERT"
	}
	return d.BulkInsert
}

// Core implements muster.Store.
type Core struct {
	// closed makes Close once: a second Close (a deferred one after an
	// explicit one) returns the first's error, where it closed the group
	// writer's channel again and panicked.
	closed   sync.Once
	closeErr error
	w, r     *sql.DB // writes and reads: the same pool, or SQLite's one writer and its readers
	// bulk reads whole tables (an approval's households and plan): r,
	// or readers of their own (UseBulkReaders).
	bulk *sql.DB
	d    Dialect
	now  func() time.Time

	mu     sync.RWMutex
	sealer muster.Sealer // nil once wiped
	wiped  time.Time

	auditKey  []byte // keys the audit chain's MACs; never stored (audit.go)
	sealedOld bool   // this open's migration 0010 sealed plaintext fields (sealfields.go)

	bus       *broadcaster
	stmts     stmtCache
	bulkStmts bulkStmtCache // execBulk's, on the writer's driver connection

	outboxInsert map[int]string // insertOutboxQueries for this dialect
	issueInsert  issueQueries   // newIssueQueries for this dialect
	// foreignKeysOff: a bulk write turned the writer's foreign keys off
	// and turning them on again failed; the next group tries first.
	foreignKeysOff bool
	tokens         *tokenCache // nil unless the dialect has an auth version

	// group commit (Dialect.GroupCommit)
	writes     chan writeReq
	quit       chan struct{}
	writerDone chan struct{}

	// the watcher of other processes' changes (Dialect.DataVersionQuery)
	stopWatch context.CancelFunc
	watchDone chan struct{}
}

var _ muster.Store = (*Core)(nil)

// Open migrates the database (in one transaction, refusing a database newer
// than this binary), loads or creates the wrapped data key and unwraps it.
func Open(ctx context.Context, w, r *sql.DB, d Dialect, migrations fs.FS, keys muster.DataKeys) (*Core, error) {
	if keys.New == nil || keys.Unwrap == nil {
		return nil, fmt.Errorf("open %s store: no data keys given", d.Name)
	}
	if len(keys.AuditKey) < 16 {
		return nil, fmt.Errorf("open %s store: no audit key given (DataKeys.AuditKey, at least 16 bytes)", d.Name)
	}
	c := &Core{w: w, r: r, d: d, now: time.Now, bus: newBroadcaster(), auditKey: bytes.Clone(keys.AuditKey),
		outboxInsert: insertOutboxQueries(d.bulkInsert(), d.EmptyBytes), issueInsert: newIssueQueries(d.bulkInsert())}
	wrapped, wipedAt, err := c.migrate(ctx, migrations, keys)
	if err != nil {
		return nil, err
	}
	c.scrubAfterSealing(ctx)
	if wipedAt.IsZero() {
		s, err := keys.Unwrap(wrapped)
		if err != nil {
			return nil, fmt.Errorf("open %s store: unwrap the data key (is this the master key this database was made with?): %w", d.Name, err)
		}
		c.sealer = s
	} else {
		c.wiped = wipedAt // DataKeys.OpenWiped: no personal data, the audit log only
	}
	if d.AuthVersion != nil && d.BumpAuth != nil {
		c.tokens = &tokenCache{m: map[string]cachedToken{}, version: -1}
	}
	if d.GroupCommit {
		c.startGroupCommit()
	}
	c.reportNameClashes(ctx)
	if d.DataVersionQuery != "" {
		if err := c.startWatcher(ctx); err != nil {
			c.stopGroupCommit()
			return nil, fmt.Errorf("open %s store: %w", d.Name, err)
		}
	}
	return c, nil
}

func (c *Core) q(query string) string {
	if c.d.Rebind != nil {
		return c.d.Rebind(query)
	}
	return query
}

// migration is one embedded NNNN_name.sql file.
type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_what.sql", e.Name())
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{v, e.Name(), string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d (no gaps, no duplicates)", m.name, i+1)
		}
	}
	return ms, nil
}

// migrate applies the migrations this database lacks and returns its
// wrapped data key, or when it was wiped (keys.OpenWiped only).
func (c *Core) migrate(ctx context.Context, fsys fs.FS, keys muster.DataKeys) ([]byte, time.Time, error) {
	var never time.Time
	ms, err := loadMigrations(fsys)
	if err != nil {
		return nil, never, err
	}
	tx, err := c.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, never, fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback()
	if c.d.MigrationLock != "" {
		if _, err := tx.ExecContext(ctx, c.d.MigrationLock); err != nil {
			return nil, never, fmt.Errorf("migrate: lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return nil, never, fmt.Errorf("migrate: schema_migrations: %w", err)
	}
	var have int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return nil, never, fmt.Errorf("migrate: read version: %w", err)
	}
	if have > len(ms) {
		return nil, never, fmt.Errorf("migrate: the database is at schema version %d but this muster knows only %d: run a newer muster", have, len(ms))
	}
	for _, m := range ms[have:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return nil, never, fmt.Errorf("migrate: %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, c.q(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
			m.version, m.name, c.now().UnixMicro()); err != nil {
			return nil, never, fmt.Errorf("migrate: record %s: %w", m.name, err)
		}
		if m.version == auditMACMigration {
			if err := c.keyAuditChain(ctx, tx); err != nil {
				return nil, never, fmt.Errorf("migrate: %s: %w", m.name, err)
			}
		}
		if m.version == sealFieldsMigration {
			if err := c.sealRegistryFields(ctx, tx, keys); err != nil {
				return nil, never, fmt.Errorf("migrate: %s: %w", m.name, err)
			}
		}
		slog.Debug("schema migration applied", "backend", c.d.Name, "migration", m.name)
	}

	// The data key is made in the same locked transaction, so that two
	// instances opening a new database together cannot make two keys.
	var wrapped []byte
	var wipedAt int64
	err = tx.QueryRowContext(ctx, `SELECT wrapped, wiped_at FROM data_key WHERE id = 1`).Scan(&wrapped, &wipedAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		wrapped, err = keys.New()
		if err != nil {
			return nil, never, fmt.Errorf("open: make a data key: %w", err)
		}
		if _, err := tx.ExecContext(ctx, c.q(`INSERT INTO data_key (id, wrapped, created_at, wiped_at) VALUES (1, ?, ?, 0)`),
			wrapped, c.now().UnixMicro()); err != nil {
			return nil, never, fmt.Errorf("open: store the data key: %w", err)
		}
	case err != nil:
		return nil, never, fmt.Errorf("open: read the data key: %w", err)
	case wipedAt != 0 && keys.OpenWiped:
		if err := tx.Commit(); err != nil {
			return nil, never, fmt.Errorf("migrate: commit: %w", err)
		}
		return nil, time.UnixMicro(wipedAt).UTC(), nil
	case wipedAt != 0:
		// The migrations are kept: migration 0010 on a wiped database
		// drops plaintext that nothing can read any more anyway.
		if err := tx.Commit(); err != nil {
			return nil, never, fmt.Errorf("migrate: commit: %w", err)
		}
		c.scrubAfterSealing(ctx)
		return nil, never, muster.Errorf(muster.EFORBIDDEN, "this database's data key was destroyed by muster wipe at %s: its personal data can never be read again",
			time.UnixMicro(wipedAt).UTC().Format(time.RFC3339))
	}
	if err := tx.Commit(); err != nil {
		return nil, never, fmt.Errorf("migrate: commit: %w", err)
	}
	return wrapped, never, nil
}

// Close closes the pools; again, it returns what it did the first time.
func (c *Core) Close() error {
	c.closed.Do(func() { c.closeErr = c.close() })
	return c.closeErr
}

func (c *Core) close() error {
	c.stopWatcher()
	c.stopGroupCommit()
	c.stmts.close()
	c.bulkStmts.close(c.w)
	err := c.w.Close()
	if c.r != c.w {
		err = errors.Join(err, c.r.Close())
	}
	if c.bulk != nil && c.bulk != c.r && c.bulk != c.w {
		err = errors.Join(err, c.bulk.Close())
	}
	return err
}

// UseBulkReaders makes db the pool of the reads of whole tables
// (bulkReader), which the store closes with the others; call it once,
// before the store is used.
func (c *Core) UseBulkReaders(db *sql.DB) { c.bulk = db }

// bulkReader runs a read of a whole table (an approval's households or
// plan) on the bulk readers, or the readers where there are none.
func (c *Core) bulkReader() conn {
	if c.bulk == nil {
		return c.reader()
	}
	return conn{c: c, db: c.bulk}
}

// wtx is a write transaction: the changes, the audit entries they owe and
// the events they announce commit together.
type wtx struct {
	conn
	c      *Core
	ctx    context.Context
	actor  string
	now    time.Time
	audit  []muster.AuditEntry
	events []muster.Event
}

func (w *wtx) exec(query string, args ...any) (sql.Result, error) {
	return w.ExecContext(w.ctx, query, args...)
}

func (w *wtx) queryRow(query string, args ...any) *sql.Row {
	return w.QueryRowContext(w.ctx, query, args...)
}

func (w *wtx) query(query string, args ...any) (*sql.Rows, error) {
	return w.QueryContext(w.ctx, query, args...)
}

// record owes an audit entry for a change made in this transaction.
func (w *wtx) record(action, target, detail string) {
	w.audit = append(w.audit, muster.AuditEntry{At: w.now, Actor: w.actor, Action: action, Target: target, Detail: detail})
}

func (w *wtx) announce(kind, id string) {
	w.events = append(w.events, muster.Event{Kind: kind, ID: id})
}

// write runs fn in a write transaction, then appends the audit entries it
// owes to the chain (last, so the chain head is locked for the shortest
// time), notifies, and commits. A transaction the engine aborted for a
// deadlock or a serialization failure runs again (fn must only set its
// results, not accumulate them across runs).
func (c *Core) write(ctx context.Context, fn func(w *wtx) error) error {
	return c.writeAs(ctx, fn, false)
}

// writeAlone is write for a bulk write (an issuance): with group commit
// it runs in a transaction of its own, no other write grouped with it,
// with the dialect's BulkForeignKeysOff: fn must check the parents of
// the rows it inserts itself.
func (c *Core) writeAlone(ctx context.Context, fn func(w *wtx) error) error {
	return c.writeAs(ctx, fn, true)
}

func (c *Core) writeAs(ctx context.Context, fn func(w *wtx) error, alone bool) error {
	if a := muster.ActorFrom(ctx); len(a) > maxTextLen || !validText(a) {
		return muster.Errorf(muster.EINVALID, "actor %q: longer than %d bytes, or not UTF-8 text", a, maxTextLen)
	}
	if c.d.GroupCommit {
		return c.groupWrite(ctx, fn, alone)
	}
	for attempt := 1; ; attempt++ {
		err := c.writeOnce(ctx, fn)
		if err == nil || attempt == 5 || c.d.IsRetryable == nil || !c.d.IsRetryable(err) {
			return err
		}
		slog.Debug("write transaction retried", "backend", c.d.Name, "attempt", attempt, "err", err)
		time.Sleep(time.Duration(attempt*attempt) * 5 * time.Millisecond)
	}
}

func (c *Core) writeOnce(ctx context.Context, fn func(w *wtx) error) error {
	var sc *sql.Conn // the transaction's connection, for CopyRows
	begin := c.w.BeginTx
	if c.d.CopyRows != nil {
		var err error
		if sc, err = c.w.Conn(ctx); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		defer sc.Close() // (after the rollback below: defers run last first)
		begin = sc.BeginTx
	}
	tx, err := begin(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	cn := newTxConn(c, c.w, tx)
	cn.copier = sc
	defer cn.promote(ctx) // after the rollback below: defers run last first
	defer tx.Rollback()
	w := &wtx{conn: cn, c: c, ctx: ctx, actor: muster.ActorFrom(ctx), now: c.now().UTC().Truncate(time.Microsecond)}
	if err := fn(w); err != nil {
		return err
	}
	// Notifications first: they are delivered only on commit anyway, and
	// the audit append that follows holds the chain head's lock, which
	// every writer of every instance waits for, until the commit.
	if c.d.Notify != nil {
		for _, ev := range w.events {
			if err := c.d.Notify(ctx, tx, ev); err != nil {
				return fmt.Errorf("notify: %w", err)
			}
		}
	}
	if _, err := c.appendAudit(w, w.audit); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if authChanged(w.events) {
		c.afterAuthChange()
	}
	if c.d.Notify == nil {
		for _, ev := range w.events {
			c.Deliver(ev)
		}
	}
	return nil
}

// Deliver hands an event to this instance's subscribers; the PostgreSQL
// listener calls it for every notification. A wipe seen from another
// instance drops this instance's key too.
func (c *Core) Deliver(ev muster.Event) {
	if ev.Kind == "wipe" {
		c.dropKey(c.now())
	}
	c.bus.publish(ev)
}

func (c *Core) dropKey(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sealer != nil {
		c.sealer = nil
		c.wiped = at
	}
}

func (c *Core) keyring() (muster.Sealer, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.sealer == nil {
		return nil, muster.Errorf(muster.EFORBIDDEN, "the data key was destroyed by muster wipe at %s: personal data can no longer be read or written",
			c.wiped.UTC().Format(time.RFC3339))
	}
	return c.sealer, nil
}

// Subscribe implements muster.Store.
func (c *Core) Subscribe(ctx context.Context) (<-chan muster.Event, error) {
	return c.bus.subscribe(ctx), nil
}

// SetNow replaces the clock (tests of expiry).
func (c *Core) SetNow(now func() time.Time) { c.now = now }

// conflict maps a unique violation to ECONFLICT.
func (c *Core) conflict(err error, format string, args ...any) error {
	if err != nil && c.d.IsUniqueViolation != nil && c.d.IsUniqueViolation(err) {
		return muster.Errorf(muster.ECONFLICT, format, args...)
	}
	return err
}

// validText reports whether s can be stored as text by both engines: UTF-8
// without NUL (PostgreSQL refuses both).
func validText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// badKey reports a key (an id, a name) that no row can have: looking it up
// is "not found" without asking the database, which would refuse it.
func badKey(s string) bool { return len(s) > 1000 || !validText(s) }

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sqlLimit binds a LIMIT: n, or no limit for n <= 0 (a number both engines
// accept, where SQLite's -1 and PostgreSQL's NULL differ).
func sqlLimit(n int) int64 {
	if n <= 0 {
		return 1 << 62
	}
	return int64(n)
}
