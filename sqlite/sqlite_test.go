package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/sqlite"
	"github.com/muster-evac/muster/storetest"
)

// db is one database file in a test's temp dir.
type db struct{ path string }

func fresh(tb testing.TB) storetest.DB {
	return &db{path: filepath.Join(tb.TempDir(), "muster.db")}
}

func (d *db) Open(ctx context.Context, keys muster.DataKeys) (muster.Store, error) {
	return sqlite.Open(ctx, d.path, keys)
}

// Exec tampers through a connection of its own, as an intruder would.
func (d *db) Exec(tb testing.TB, query string) {
	tb.Helper()
	conn, err := sql.Open("sqlite", "file:"+d.path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Exec(query); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
}

// Raw is the database file and its write-ahead log, byte for byte.
func (d *db) Raw(tb testing.TB) []byte {
	tb.Helper()
	var all []byte
	for _, p := range []string{d.path, d.path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			tb.Fatal(err)
		}
		all = append(all, b...)
	}
	return bytes.Clone(all)
}

func (d *db) Locator() string { return d.path }

func TestConformance(t *testing.T) { storetest.Run(t, fresh) }

// TestCrash kills a writing process with SIGKILL again and again: no
// acknowledged write may be lost, no import stored in part.
func TestCrash(t *testing.T) { storetest.RunCrash(t, fresh, "TestCrashChild", 6) }

func TestCrashChild(t *testing.T) {
	storetest.CrashChild(t, func(ctx context.Context, path string, keys muster.DataKeys) (muster.Store, error) {
		return sqlite.Open(ctx, path, keys)
	})
}

func BenchmarkStore(b *testing.B) { storetest.Bench(b, fresh) }
