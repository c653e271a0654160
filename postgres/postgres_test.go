package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"

	"github.com/muster-evac/muster/internal/testshared"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/postgres"
	"github.com/muster-evac/muster/storetest"
)

// serverURL returns MUSTER_TEST_POSTGRES; without it the tests skip, except
// in CI, where a missing database must fail rather than pass unseen.
func serverURL(tb testing.TB) string {
	u := os.Getenv("MUSTER_TEST_POSTGRES")
	if u != "" {
		return u
	}
	testshared.Unavailable(tb, "%s", "MUSTER_TEST_POSTGRES is unset: set it to a database this test may create schemas in, such as "+
		"postgres://muster@127.0.0.1:5433/muster_test?sslmode=disable, to run the PostgreSQL store tests (.ci/run does)")
	return ""
}

// db is one schema of its own in the test database: a fresh, empty
// database as far as the store can tell.
type db struct {
	url    string // with search_path set to the schema
	schema string
	admin  *sql.DB
}

func fresh(tb testing.TB) storetest.DB {
	base := serverURL(tb)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "storetest_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		tb.Fatalf("create schema in %s: %v", base, err)
	}
	tb.Cleanup(func() {
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return &db{url: u.String(), schema: schema, admin: admin}
}

func (d *db) Open(ctx context.Context, keys muster.DataKeys) (muster.Store, error) {
	return postgres.Open(ctx, d.url, keys)
}

func (d *db) Exec(tb testing.TB, query string) {
	tb.Helper()
	conn, err := sql.Open("pgx", d.url)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Exec(query); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
}

// TryExec runs raw SQL as an intruder would and returns the database's
// answer (tests of what the schema itself refuses).
func (d *db) TryExec(query string) error {
	conn, err := sql.Open("pgx", d.url)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Exec(query)
	return err
}

// Raw is every column of every row of every table in the schema, bytea
// as its raw bytes and everything else as text.
func (d *db) Raw(tb testing.TB) []byte {
	tb.Helper()
	rows, err := d.admin.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, d.schema)
	if err != nil {
		tb.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			tb.Fatal(err)
		}
		tables = append(tables, t)
	}
	rows.Close()
	var all []byte
	for _, t := range tables {
		// The simple protocol: a plan cached before a migration changed
		// the table's columns would fail.
		rows, err := d.admin.Query(fmt.Sprintf(`SELECT * FROM %s.%s`, d.schema, t), pgx.QueryExecModeSimpleProtocol)
		if err != nil {
			tb.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				tb.Fatal(err)
			}
			for _, v := range vals {
				switch v := v.(type) {
				case []byte:
					all = append(all, v...)
				default:
					all = fmt.Append(all, v)
				}
				all = append(all, 0)
			}
		}
		if err := rows.Err(); err != nil {
			tb.Fatal(err)
		}
		rows.Close()
	}
	return all
}

func (d *db) Locator() string { return d.url }

// TestCrash kills a writing process with SIGKILL again and again: no
// acknowledged write may be lost, no import stored in part.
func TestCrash(t *testing.T) {
	serverURL(t)
	storetest.RunCrash(t, fresh, "TestCrashChild", 6)
}

func TestCrashChild(t *testing.T) {
	storetest.CrashChild(t, func(ctx context.Context, url string, keys muster.DataKeys) (muster.Store, error) {
		return postgres.Open(ctx, url, keys)
	})
}

func TestConformance(t *testing.T) {
	serverURL(t)
	storetest.Run(t, fresh)
}

func TestSealedFields(t *testing.T) {
	serverURL(t)
	storetest.RunSealedFields(t, fresh)
}

func BenchmarkStore(b *testing.B) {
	serverURL(b)
	storetest.Bench(b, fresh)
}
