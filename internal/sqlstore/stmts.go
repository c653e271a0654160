package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"sync"
)

// Statements are prepared once per pool and reused: parsing SQL was half
// the cost of an import on SQLite. Every query this package runs is a
// constant string (limits and values are bound), so the cache is bounded by
// the number of queries in the source.
type stmtCache struct {
	mu sync.Mutex
	m  map[stmtKey]*sql.Stmt
}

type stmtKey struct {
	db    *sql.DB
	query string
}

func (sc *stmtCache) get(ctx context.Context, db *sql.DB, query string) *sql.Stmt {
	k := stmtKey{db, query}
	sc.mu.Lock()
	st := sc.m[k]
	sc.mu.Unlock()
	if st != nil {
		return st
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil // the caller runs the query unprepared and reports its error
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.m == nil {
		sc.m = map[stmtKey]*sql.Stmt{}
	}
	if old := sc.m[k]; old != nil {
		st.Close()
		return old
	}
	sc.m[k] = st
	return st
}

// lookup returns a statement already prepared on db, or nil.
func (sc *stmtCache) lookup(db *sql.DB, query string) *sql.Stmt {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.m[stmtKey{db, query}]
}

func (sc *stmtCache) close() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for k, st := range sc.m {
		st.Close()
		delete(sc.m, k)
	}
}

// conn runs queries on a transaction (tx set) or a pool, with prepared
// statements, and rebinds placeholders. A transaction prepares its own
// statements (kept in txStmts until it ends): preparing on the pool while
// holding one of its connections could wait for ever for another (SQLite's
// writer pool has exactly one).
//
// A query first prepared inside a transaction is noted in unpooled and
// prepared on the pool once the transaction has ended (promote), so that
// the next transaction binds it without parsing the SQL again: otherwise
// every statement that only ever runs in write transactions (the audit
// append, the savepoints of a group commit) would be parsed at every
// commit.
type conn struct {
	c        *Core
	db       *sql.DB
	tx       *sql.Tx
	txStmts  map[string]*sql.Stmt
	unpooled *[]string
	// raw is the connection tx runs on, where the group writer has one
	// (SQLite's): execBulk runs on its driver connection.
	raw *sql.Conn
	// copier is the connection tx runs on where the dialect copies rows
	// (Dialect.CopyRows: PostgreSQL's).
	copier *sql.Conn
}

// copies reports whether the transaction copies bulk rows in
// (Dialect.CopyRows: copyRows) rather than inserting them by statements.
func (k conn) copies() bool { return k.c.d.CopyRows != nil && k.copier != nil && k.tx != nil }

// copyRows inserts rows into table's columns by the dialect's CopyRows,
// in the transaction (where copies says it does).
func (k conn) copyRows(ctx context.Context, table string, columns []string, rows [][]any) (n int64, err error) {
	err = k.copier.Raw(func(dc any) error {
		n, err = k.c.d.CopyRows(ctx, dc, table, columns, rows)
		return err
	})
	return n, err
}

// columnNames lists the names of a list of columns as SQL writes it
// (across lines, with tabs, as the column constants are).
func columnNames(list string) []string {
	return strings.Split(strings.Join(strings.Fields(list), ""), ",")
}

func newTxConn(c *Core, db *sql.DB, tx *sql.Tx) conn {
	return conn{c: c, db: db, tx: tx, txStmts: map[string]*sql.Stmt{}, unpooled: new([]string)}
}

// promote prepares on the pool the queries this transaction had to
// prepare for itself; call it after the transaction has ended, when its
// connection is back in the pool.
func (k conn) promote(ctx context.Context) {
	if k.unpooled == nil {
		return
	}
	for _, q := range *k.unpooled {
		k.c.stmts.get(ctx, k.db, q)
	}
	*k.unpooled = nil
}

func (k conn) stmt(ctx context.Context, query string) *sql.Stmt {
	if k.c.d.DriverCachesStatements {
		return nil
	}
	if k.tx == nil {
		return k.c.stmts.get(ctx, k.db, query)
	}
	if st := k.txStmts[query]; st != nil {
		return st
	}
	// A statement the pool has prepared already is bound to this
	// transaction's connection without waiting for another.
	if st := k.c.stmts.lookup(k.db, query); st != nil {
		st = k.tx.StmtContext(ctx, st)
		k.txStmts[query] = st
		return st
	}
	st, err := k.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	k.txStmts[query] = st
	*k.unpooled = append(*k.unpooled, query)
	return st
}

func (k conn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	query = k.c.q(query)
	if st := k.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	if k.tx != nil {
		return k.tx.QueryRowContext(ctx, query, args...)
	}
	return k.db.QueryRowContext(ctx, query, args...)
}

func (k conn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query = k.c.q(query)
	if st := k.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	if k.tx != nil {
		return k.tx.QueryContext(ctx, query, args...)
	}
	return k.db.QueryContext(ctx, query, args...)
}

func (k conn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	query = k.c.q(query)
	if st := k.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	if k.tx != nil {
		return k.tx.ExecContext(ctx, query, args...)
	}
	return k.db.ExecContext(ctx, query, args...)
}

// reader runs queries on the read pool.
func (c *Core) reader() conn { return conn{c: c, db: c.r} }

// execBulk runs a bulk write's statement (query, not rebound: SQLite's
// only) with args already of the driver's types (string, []byte, int64),
// their Ordinal set, and returns the rows it changed. On the group
// writer's connection it runs on the driver's connection directly, its
// statement prepared once per connection: database/sql would convert and
// copy every argument again (0.13 to 0.24 of the writer's CPU-seconds at
// 100,000 instructions, and 140 MB of garbage), on the one core the
// approval waits for at its end. Elsewhere (PostgreSQL) it runs as
// ExecContext would.
func (k conn) execBulk(ctx context.Context, query string, args []driver.NamedValue) (int64, error) {
	if k.raw == nil || k.tx == nil {
		vals := make([]any, len(args))
		for i := range args {
			vals[i] = args[i].Value
		}
		res, err := k.ExecContext(ctx, query, vals...)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
	var n int64
	err := k.raw.Raw(func(dc any) error {
		st, err := k.c.bulkStmts.get(ctx, dc, k.c.q(query))
		if err != nil {
			return err
		}
		res, err := st.ExecContext(ctx, args)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// bulkStmtCache holds the statements execBulk prepared on the writer's
// driver connection; a new connection (the pool replaced a broken one)
// starts a new cache.
type bulkStmtCache struct {
	mu sync.Mutex
	dc any
	m  map[string]driver.StmtExecContext
}

// close finalizes the statements, on the connection of db they were
// prepared on, before the store closes it: SQLite keeps a connection
// closed with statements unfinalized open until they are.
func (bc *bulkStmtCache) close(db *sql.DB) {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	if len(bc.m) == 0 {
		return
	}
	sc, err := db.Conn(context.Background())
	if err == nil {
		_ = sc.Raw(func(dc any) error {
			if dc == bc.dc {
				for _, st := range bc.m {
					st.(driver.Stmt).Close()
				}
			}
			return nil
		})
		sc.Close()
	}
	bc.dc, bc.m = nil, nil
}

func (bc *bulkStmtCache) get(ctx context.Context, dc any, query string) (driver.StmtExecContext, error) {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	if bc.dc != dc {
		// The pool replaced the connection: its statements are
		// finalized (a connection closed with statements open lingers
		// until they are).
		for _, st := range bc.m {
			st.(driver.Stmt).Close()
		}
		bc.dc, bc.m = dc, map[string]driver.StmtExecContext{}
	}
	if st := bc.m[query]; st != nil {
		return st, nil
	}
	pc, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return nil, fmt.Errorf("bulk write: the driver's connection (%T) cannot prepare with a context", dc)
	}
	st, err := pc.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	sc, ok := st.(driver.StmtExecContext)
	if !ok {
		st.Close()
		return nil, fmt.Errorf("bulk write: the driver's statement (%T) cannot execute with a context", st)
	}
	bc.m[query] = sc
	return sc, nil
}

// bulkArgs are a statement's arguments for execBulk.
type bulkArgs []driver.NamedValue

// add appends vs, numbered on from the arguments before.
func (a bulkArgs) add(vs ...driver.Value) bulkArgs {
	for _, v := range vs {
		a = append(a, driver.NamedValue{Ordinal: len(a) + 1, Value: v})
	}
	return a
}

// statementRows is how many of left rows a bulk statement of chunk rows
// inserts next: chunk while there are that many; then, only when all are
// to go now, one at a time (the rows of an incomplete last statement
// wait for the rows after them otherwise: 0).
func statementRows(left, chunk int, all bool) int {
	switch {
	case left >= chunk:
		return chunk
	case all && left > 0:
		return 1
	}
	return 0
}
