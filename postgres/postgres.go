// Package postgres is muster's shared store: several `muster serve`
// instances behind a load balancer use one PostgreSQL database.
//
// Choices, and why:
//   - github.com/jackc/pgx/v5 with pgxpool, the maintained native driver,
//     used through pgx's database/sql adapter so that the Store itself is
//     the one in internal/sqlstore that package sqlite also runs: one body of
//     logic, one conformance suite, two engines.
//   - Read committed isolation with explicit row locks where order matters:
//     the audit chain's head row is locked (SELECT ... FOR UPDATE) by every
//     append, so all instances extend one chain; a household is locked
//     before its status changes; a job claim reads its row FOR UPDATE SKIP
//     LOCKED so an instance never waits behind another's claim.
//   - Migrations run in one transaction under an advisory lock, so instances
//     that start together migrate once.
//   - Changes are announced with NOTIFY inside the writing transaction
//     (PostgreSQL delivers them only on commit) and every instance LISTENs on
//     a dedicated connection, so a client connected to any instance hears
//     about changes made through any other. The channel is named after the
//     schema, so databases sharing a server (tests) do not hear each other.
//   - A transaction that PostgreSQL aborts for a deadlock or a serialization
//     failure is retried (internal/sqlstore).
package postgres

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"database/sql"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Store is the PostgreSQL muster.Store.
type Store struct {
	*sqlstore.Core
	pool    *pgxpool.Pool
	channel string
	cancel  context.CancelFunc
	done    sync.WaitGroup
}

// Open connects to the database at url (postgres://user:pass@host:port/db,
// with any libpq parameters such as sslmode or search_path), migrates it,
// unlocks its data key with keys and starts listening for other instances'
// changes.
func Open(ctx context.Context, url string, keys muster.DataKeys) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: bad URL: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		// pgx's default (the number of CPUs, at least 4) starves a server
		// whose requests mostly wait on the network, not the CPU.
		cfg.MaxConns = int32(max(10, 4*runtime.GOMAXPROCS(0)))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	var schema string
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres store %s@%s:%d/%s: %w", cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	channel := "muster_events_" + schema
	if len(channel) > 63 { // PostgreSQL's longest identifier
		sum := sha256.Sum256([]byte(schema))
		channel = "muster_events_" + hex.EncodeToString(sum[:12])
	}
	s := &Store{pool: pool, channel: channel}
	db := stdlib.OpenDBFromPool(pool)
	d := sqlstore.Dialect{
		Name:              "postgres",
		Rebind:            rebind,
		IsUniqueViolation: func(err error) bool { return pgCode(err) == "23505" },
		EmptyBytes:        "''::bytea",
		IsRetryable:       func(err error) bool { c := pgCode(err); return c == "40P01" || c == "40001" },
		ForUpdate:         " FOR UPDATE",
		// A cached statement's generic plan, made when the table was small,
		// scans it whole for a list of keys: plan the import's lookups
		// for the table as it is.
		BeforeBulkRead: "SET LOCAL plan_cache_mode = force_custom_plan",
		// pgx prepares and caches each statement on its connection.
		DriverCachesStatements: true,
		SkipLocked:             " SKIP LOCKED",
		MigrationLock:          "SELECT pg_advisory_xact_lock(7263019981)",
		CopyRows: func(ctx context.Context, dc any, table string, columns []string, rows [][]any) (int64, error) {
			c, ok := dc.(*stdlib.Conn)
			if !ok {
				return 0, fmt.Errorf("copy into %s: the driver connection is a %T, not pgx's", table, dc)
			}
			return c.Conn().CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
		},
		Notify: func(ctx context.Context, tx *sql.Tx, ev muster.Event) error {
			payload, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, s.channel, string(payload))
			return err
		},
		AfterWipe: func(ctx context.Context) (string, error) {
			// Rewrite the table so the dead row version holding the key is
			// gone from the table's files.
			if _, err := pool.Exec(ctx, `VACUUM (FULL) data_key`); err != nil {
				return "", fmt.Errorf("vacuum: %w", err)
			}
			return "the table that held it is rewritten; PostgreSQL's write-ahead log, replicas and backups made before now may still hold the old key until they are recycled: destroy those backups", nil
		},
	}
	mig, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		pool.Close()
		return nil, err
	}
	core, err := sqlstore.Open(ctx, db, db, d, mig, keys)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	s.Core = core

	// LISTEN before returning, so that no change committed after Open is
	// missed by this instance's subscribers.
	conn, err := s.listen(ctx)
	if err != nil {
		core.Close()
		return nil, err
	}
	lctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.done.Add(1)
	go s.listenLoop(lctx, conn)
	return s, nil
}

func (s *Store) listen(ctx context.Context) (*pgx.Conn, error) {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	conn := pc.Hijack() // a connection of its own, outside the pool
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("listen on %s: %w", s.channel, err)
	}
	return conn, nil
}

// listenLoop delivers notifications until ctx ends, reconnecting when the
// connection is lost (events in between are missed: they are hints).
func (s *Store) listenLoop(ctx context.Context, conn *pgx.Conn) {
	defer s.done.Done()
	backoff := 100 * time.Millisecond
	for {
		if conn == nil {
			var err error
			if conn, err = s.listen(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				slog.Warn("postgres store: LISTEN failed, retrying", "err", err, "in", backoff)
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, 10*time.Second)
				continue
			}
			backoff = 100 * time.Millisecond
		}
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			conn.Close(context.Background())
			conn = nil
			if ctx.Err() != nil {
				return
			}
			slog.Warn("postgres store: notification connection lost", "err", err)
			continue
		}
		var ev muster.Event
		if err := json.Unmarshal([]byte(n.Payload), &ev); err != nil {
			slog.Warn("postgres store: bad notification", "payload", n.Payload, "err", err)
			continue
		}
		s.Deliver(ev)
	}
}

// Close stops listening and closes the pool.
func (s *Store) Close() error {
	s.cancel()
	s.done.Wait()
	err := s.Core.Close()
	s.pool.Close()
	return err
}

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// rebind turns '?' placeholders into $1, $2... (the queries of
// internal/sqlstore hold no '?' in string literals).
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}
