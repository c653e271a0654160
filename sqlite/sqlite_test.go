package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
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

// TestMigration4KeepsHistory: migration 0004 rebuilds the status history
// as a clustered (WITHOUT ROWID) table; a database made before it keeps
// every household's history, in order.
func TestMigration4KeepsHistory(t *testing.T) {
	ctx := muster.WithActor(context.Background(), "tester")
	d := &db{path: filepath.Join(t.TempDir(), "muster.db")}
	keys := storetest.NewKeys()
	s, err := d.Open(ctx, keys.DataKeys())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	for i, id := range []string{"H1", "H2", "H3"} {
		rec, err := s.CreateHousehold(ctx, muster.Household{ID: id, Name: "Name " + id, PartySize: 1, Adults: 1, Language: "fa"})
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range []string{muster.StatusVerified, muster.StatusAssigned, muster.StatusInstructed}[:i+1] {
			if rec, err = s.SetHouseholdStatus(ctx, id, st, rec.Version, "note "+st); err != nil {
				t.Fatal(err)
			}
		}
		for _, h := range rec.History {
			want[id] = append(want[id], h.Status+"|"+h.Note)
		}
	}
	s.Close()
	// Put the database back as schema 3 had it (the status table as it
	// was, no source registry, no outbox, no instructions), and forget the
	// migrations since.
	d.Exec(t, `CREATE TABLE hs3 (household_id TEXT NOT NULL REFERENCES households (id), seq INTEGER NOT NULL,
		status TEXT NOT NULL, at INTEGER NOT NULL, by_actor TEXT NOT NULL, note_enc BLOB NOT NULL, PRIMARY KEY (household_id, seq));
		INSERT INTO hs3 SELECT * FROM household_status; DROP TABLE household_status; ALTER TABLE hs3 RENAME TO household_status;
		DROP TABLE sources; DROP TABLE acknowledgements; DROP TABLE outbox;
		DROP TABLE instructions; DROP TABLE instruction_links; DROP TABLE checkins; DROP TABLE advisories; DROP TABLE field_events;
		DELETE FROM schema_migrations WHERE version >= 4`)
	s, err = d.Open(ctx, keys.DataKeys())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for id, w := range want {
		rec, err := s.GetHousehold(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, h := range rec.History {
			got = append(got, h.Status+"|"+h.Note)
		}
		if strings.Join(got, ",") != strings.Join(w, ",") {
			t.Fatalf("%s: history after migration %q, want %q", id, got, w)
		}
	}
	conn, err := sql.Open("sqlite", "file:"+d.path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var ddl string
	if err := conn.QueryRow(`SELECT sql FROM sqlite_schema WHERE name = 'household_status'`).Scan(&ddl); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ddl, "WITHOUT ROWID") {
		t.Fatalf("household_status after migration: %s", ddl)
	}
}

// BenchmarkEnqueue100k: 100,000 messages queued in one transaction.
func BenchmarkEnqueue100k(b *testing.B) { storetest.BenchEnqueue100k(b, fresh) }
