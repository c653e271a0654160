package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
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

// Files is the bytes of the schema's relation files on disk: its tables,
// their TOAST tables, and the indexes of both (every segment of each main
// fork), read after a CHECKPOINT has written out every page the server
// held in memory. It needs the server on this machine with its files
// readable by the test (in CI the cluster runs as user postgres and the
// tests as root), and a role that may CHECKPOINT and read data_directory
// (pg_checkpoint and pg_read_all_settings, which .ci/run grants);
// otherwise ok is false and the check is left out, said in the log; in CI
// the test fails.
func (d *db) Files(tb testing.TB) (files []byte, ok bool) {
	tb.Helper()
	unavailable := func(format string, args ...any) ([]byte, bool) {
		tb.Helper()
		if testshared.InCI() {
			testshared.Unavailable(tb, format, args...)
		}
		tb.Logf("the relation files are not checked: "+format, args...)
		return nil, false
	}
	var dataDir string
	if err := d.admin.QueryRow(`SHOW data_directory`).Scan(&dataDir); err != nil {
		return unavailable("reading PostgreSQL's relation files needs data_directory (GRANT pg_read_all_settings TO the test's role): %v", err)
	}
	if _, err := d.admin.Exec(`CHECKPOINT`); err != nil {
		return unavailable("reading PostgreSQL's relation files needs a CHECKPOINT first (GRANT pg_checkpoint TO the test's role): %v", err)
	}
	rows, err := d.admin.Query(`
		WITH rels AS (
			SELECT c.oid, c.reltoastrelid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1
		), toast AS (
			SELECT reltoastrelid AS oid FROM rels WHERE reltoastrelid <> 0
		)
		SELECT pg_relation_filepath(oid) FROM (
			SELECT oid FROM rels UNION SELECT oid FROM toast
			UNION SELECT indexrelid FROM pg_index WHERE indrelid IN (SELECT oid FROM toast)
		) r WHERE pg_relation_filepath(oid) IS NOT NULL`, d.schema)
	if err != nil {
		tb.Fatal(err)
	}
	var paths []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			tb.Fatal(err)
		}
		paths = append(paths, p)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	rows.Close()
	if len(paths) < 10 {
		tb.Fatalf("only %d relation files for schema %s: is the query wrong?", len(paths), d.schema)
	}
	var all []byte
	for _, rel := range paths {
		if !filepath.IsAbs(rel) {
			rel = filepath.Join(dataDir, rel)
		}
		for seg := 0; ; seg++ {
			p := rel
			if seg > 0 {
				p = fmt.Sprintf("%s.%d", rel, seg)
			}
			b, err := os.ReadFile(p)
			if seg > 0 && errors.Is(err, fs.ErrNotExist) {
				break
			}
			if err != nil {
				return unavailable("PostgreSQL's relation files must be on this machine and readable by the test (the cluster in CI runs as postgres, the tests as root): %v", err)
			}
			all = append(all, b...)
		}
	}
	return all, true
}
