package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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

// TryExec runs raw SQL as an intruder would and returns the database's
// answer (tests of what the schema itself refuses).
func (d *db) TryExec(query string) error {
	conn, err := sql.Open("sqlite", "file:"+d.path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Exec(query)
	return err
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

func TestSealedFields(t *testing.T) { storetest.RunSealedFields(t, fresh) }

// TestCrash kills a writing process with SIGKILL again and again: no
// acknowledged write may be lost, no import stored in part.
func TestCrash(t *testing.T) { storetest.RunCrash(t, fresh, "TestCrashChild", 6) }

func TestCrashChild(t *testing.T) {
	storetest.CrashChild(t, func(ctx context.Context, path string, keys muster.DataKeys) (muster.Store, error) {
		return sqlite.Open(ctx, path, keys)
	})
}

func BenchmarkStore(b *testing.B) { storetest.Bench(b, fresh) }

func BenchmarkFieldCheckIns(b *testing.B) { storetest.BenchFieldCheckIns(b, fresh) }

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
	d.Exec(t, storetest.UndoMigration10)
	d.Exec(t, `CREATE TABLE hs3 (household_id TEXT NOT NULL REFERENCES households (id), seq INTEGER NOT NULL,
		status TEXT NOT NULL, at INTEGER NOT NULL, by_actor TEXT NOT NULL, note_enc BLOB NOT NULL, PRIMARY KEY (household_id, seq));
		INSERT INTO hs3 SELECT * FROM household_status; DROP TABLE household_status; ALTER TABLE hs3 RENAME TO household_status;
		DROP TABLE sources; DROP TABLE acknowledgements; DROP TABLE outbox;
		DROP TABLE instructions; DROP TABLE instruction_links; DROP TABLE checkins; DROP TABLE advisories; DROP TABLE field_events;
		DROP INDEX users_name_fold; ALTER TABLE users DROP COLUMN case_clash;
		ALTER TABLE audit DROP COLUMN mac; ALTER TABLE audit_head DROP COLUMN mac;
		INSERT INTO users (name, role, password_hash, disabled, created_at) VALUES ('ops', 'viewer', '$argon2id$x', 0, 1), ('OPS', 'viewer', '$argon2id$x', 0, 2);
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
	// Migration 0008 keyed the audit entries made before it, and kept the
	// accounts whose names clash while the database refuses a new one.
	if v, err := s.VerifyAudit(ctx); err != nil || !v.OK || v.Entries < 9 {
		t.Fatalf("audit log keyed by migration 0008: %+v, %v", v, err)
	}
	if err := d.TryExec(`INSERT INTO users (name, role, password_hash, disabled, created_at) VALUES ('Ops', 'viewer', '$argon2id$x', 0, 3)`); err == nil {
		t.Fatal("after migration 0008 the database took Ops beside ops and OPS")
	}
	if u, err := s.GetUser(ctx, "OPS"); err != nil || u.Name != "OPS" {
		t.Fatalf("an account whose name clashed before migration 0008: %+v, %v", u, err)
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

// TestMigration8DoesNotLaunder: migration 0008 keys the audit entries made
// before it only as far as their unkeyed chain holds: an entry edited
// before the upgrade stays unkeyed, and verify still names it.
func TestMigration8DoesNotLaunder(t *testing.T) {
	ctx := muster.WithActor(context.Background(), "tester")
	d := &db{path: filepath.Join(t.TempDir(), "muster.db")}
	keys := storetest.NewKeys()
	s, err := d.Open(ctx, keys.DataKeys())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := s.AppendAudit(ctx, muster.AuditEntry{Action: "household.read", Target: "household:H" + string(rune('1'+i))}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	// Back to schema 7, and entry 3 edited while the log had no MACs.
	d.Exec(t, storetest.UndoMigration10)
	d.Exec(t, `DROP TABLE field_events; DROP INDEX users_name_fold; ALTER TABLE users DROP COLUMN case_clash;
		ALTER TABLE audit DROP COLUMN mac; ALTER TABLE audit_head DROP COLUMN mac;
		UPDATE audit SET target = 'household:H9' WHERE seq = 3;
		DELETE FROM schema_migrations WHERE version >= 8`)
	if s, err = d.Open(ctx, keys.DataKeys()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v, err := s.VerifyAudit(ctx)
	if err != nil || v.OK || v.FirstBad != 3 {
		t.Fatalf("an entry edited before the log was keyed: %+v, %v", v, err)
	}
	es, err := s.ListAudit(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if keyed := e.MAC != nil; keyed != (e.Seq < 3) {
			t.Fatalf("entry %d keyed %v by migration 0008", e.Seq, keyed)
		}
	}
}

// TestCheckpointAfterCommit: the write-ahead log is copied into the
// database file after a commit that fills it, by the store's own
// checkpointer (the writer's autocheckpoint is off, so that no write
// waits for the copy): the file holds the write a while later, and a
// store opened again reads it.
func TestCheckpointAfterCommit(t *testing.T) {
	ctx := muster.WithActor(context.Background(), "test")
	d := fresh(t).(*db)
	keys := storetest.NewKeys().DataKeys()
	st, err := sqlite.Open(ctx, d.path, keys)
	if err != nil {
		t.Fatal(err)
	}
	closeFirst := sync.OnceValue(st.Close)
	defer closeFirst()
	fi, err := os.Stat(d.path)
	if err != nil {
		t.Fatal(err)
	}
	before := fi.Size()
	// 8 MB of plan, sealed: past the 4 MB of log that asks for a checkpoint.
	body := []byte(`{"notes":"` + strings.Repeat("x", 8<<20) + `"}`)
	rec, err := st.SavePlan(ctx, muster.PlanRecord{Body: body, Summary: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		fi, err := os.Stat(d.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() >= before+8<<20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the database file is %d bytes 30 s after an 8 MB commit (%d before): the log was not checkpointed", fi.Size(), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := closeFirst(); err != nil {
		t.Fatal(err)
	}
	st2, err := sqlite.Open(ctx, d.path, keys)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	got, err := st2.GetPlan(ctx, rec.ID)
	if err != nil || !bytes.Equal(got.Body, body) {
		t.Fatalf("the plan read again: %d bytes, %v", len(got.Body), err)
	}
}

// TestPageSize: a database the store creates has pages of 8 KiB and is in
// WAL mode; a database made before with 4 KiB pages keeps them, opens and
// takes writes.
func TestPageSize(t *testing.T) {
	ctx := muster.WithActor(context.Background(), "test")
	keys := storetest.NewKeys().DataKeys()
	pragma := func(path, name string) string {
		t.Helper()
		conn, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var v string
		if err := conn.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	newDB := fresh(t).(*db)
	old := fresh(t).(*db)
	// A database as an earlier version made it: SQLite's default pages.
	old.Exec(t, "PRAGMA journal_mode = WAL")
	if got := pragma(old.path, "page_size"); got != "4096" {
		t.Fatalf("the old database's pages: %s bytes", got)
	}
	for _, tc := range []struct {
		d    *db
		want string
	}{{newDB, "8192"}, {old, "4096"}} {
		st, err := sqlite.Open(ctx, tc.d.path, keys)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateHousehold(ctx, muster.Household{Name: "A household", Language: "en"}); err != nil {
			t.Fatal(err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		if got, mode := pragma(tc.d.path, "page_size"), pragma(tc.d.path, "journal_mode"); got != tc.want || mode != "wal" {
			t.Fatalf("%s: pages of %s bytes, journal %s; want %s, wal", tc.d.path, got, mode, tc.want)
		}
	}
}

// TestClosedAfterAnIssuance: a store that issued instructions (whose
// writer ran statements on its driver connection directly) closes its
// connections for good: the last connection's close copies the
// write-ahead log into the file and removes it. A statement left
// unfinalized would keep the writer's connection open (SQLite closes
// such a connection only once they are), and its log with it.
func TestClosedAfterAnIssuance(t *testing.T) {
	ctx := muster.WithActor(context.Background(), "test")
	d := fresh(t).(*db)
	keys := storetest.NewKeys().DataKeys()
	st, err := sqlite.Open(ctx, d.path, keys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportHouseholds(ctx, []muster.Household{{ID: "H000001", Name: "N", PartySize: 1, Adults: 1, Language: muster.LangDari}}, muster.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	rec, err := st.SavePlan(ctx, muster.PlanRecord{Body: []byte(`{"version":2}`), Summary: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2021, 8, 26, 5, 0, 0, 0, time.UTC)
	in := storetest.IssuedFixture(1, 1, 0, rec.ID, at)
	if _, err := st.IssueInstructions(ctx, muster.IssueBatch{ApprovePlan: rec.ID, Plan: rec.ID, Issue: []muster.IssuedInstruction{in},
		Links: []muster.InstructionLink{{HouseholdID: "H000001", CapabilityID: "cap-i1", Secret: "LINKSECRET1XYZ1234567", ExpiresAt: time.Now().Add(time.Hour)}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d.path + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the write-ahead log is still there after the store closed (a connection left open): %v", err)
	}
}
