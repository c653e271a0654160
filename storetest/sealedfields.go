package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/muster-evac/muster"
)

// UndoMigration10 puts a database back as schema 9 had it: priority,
// eligibility and documents in plaintext columns (as 'none', ” and ”),
// no sealed columns, and migration 10 forgotten. The same SQL runs on
// both backends; tests of older migrations run it first.
const UndoMigration10 = `ALTER TABLE households ADD COLUMN priority TEXT NOT NULL DEFAULT 'none';
	ALTER TABLE households ADD COLUMN eligibility TEXT NOT NULL DEFAULT '';
	ALTER TABLE households ADD COLUMN documents TEXT NOT NULL DEFAULT '';
	ALTER TABLE households DROP COLUMN priority_enc;
	ALTER TABLE households DROP COLUMN eligibility_enc;
	ALTER TABLE households DROP COLUMN documents_enc;
	CREATE INDEX households_priority ON households (priority, id);
	DELETE FROM schema_migrations WHERE version >= 10;`

// Values distinctive enough that finding their bytes in the database
// means they are stored in clear (a short one such as "siv" could turn up
// in ciphertext by chance).
const (
	sensitivePriority    = muster.PriorityUnaccompaniedMinor
	sensitiveEligibility = "partner"
	sensitiveDocuments   = "Tazkira 1399-0101-23456, SIV approval letter"
)

// RunSealedFields tests that a household's priority, eligibility and
// documents are sealed at rest, read back, filtered and counted through
// the store, unreadable after a wipe, and sealed by migration 10 in a
// database that held them in clear.
func RunSealedFields(t *testing.T, fresh Fresh) {
	t.Run("SealedRegistryFields", func(t *testing.T) { testSealedRegistryFields(t, fresh) })
	t.Run("Migration10SealsFields", func(t *testing.T) { testMigration10Seals(t, fresh, false) })
	t.Run("Migration10AfterWipeDrops", func(t *testing.T) { testMigration10Seals(t, fresh, true) })
}

// sensitive returns n households, every third a priority one with the
// sensitive values.
func sensitive(n int) []muster.Household {
	hs := batch(1, n)
	for i := range hs {
		hs[i].Priority, hs[i].Eligibility, hs[i].Documents = muster.PriorityNone, "citizen", ""
		if i%3 == 0 {
			hs[i].Priority, hs[i].Eligibility, hs[i].Documents = sensitivePriority, sensitiveEligibility, sensitiveDocuments
		}
	}
	return hs
}

func noSensitiveBytes(t *testing.T, db DB, when string) {
	t.Helper()
	raw := db.Raw(t)
	if !bytes.Contains(raw, []byte("H000001")) {
		t.Fatalf("%s: Raw does not hold the household ids: the check would prove nothing", when)
	}
	for field, v := range map[string]string{"priority": sensitivePriority, "eligibility": sensitiveEligibility, "documents": sensitiveDocuments} {
		if bytes.Contains(raw, []byte(v)) {
			t.Fatalf("%s: the %s %q is stored in clear", when, field, v)
		}
	}
	fdb, ok := db.(FilesDB)
	if !ok {
		return
	}
	files, ok := fdb.Files(t)
	if !ok {
		return
	}
	if !bytes.Contains(files, []byte("H000001")) {
		t.Fatalf("%s: the relation files do not hold the household ids: the check would prove nothing", when)
	}
	for field, v := range map[string]string{"priority": sensitivePriority, "eligibility": sensitiveEligibility, "documents": sensitiveDocuments} {
		if i := bytes.Index(files, []byte(v)); i >= 0 {
			t.Fatalf("%s: the %s %q is in the relation files in clear (a dead tuple, a page or an index entry left behind), at byte %d of %d",
				when, field, v, i, len(files))
		}
	}
}

// checkSensitive reads the households back through s and checks each
// field and the priority filter, count and paging.
func checkSensitive(t *testing.T, e *env, s muster.Store, hs []muster.Household) {
	t.Helper()
	want := 0
	for _, h := range hs {
		got := must(s.GetHousehold(e.ctx, h.ID))(t)
		if got.Priority != h.Priority || got.Eligibility != h.Eligibility || got.Documents != h.Documents || got.Name != h.Name {
			t.Fatalf("household %s read back as %q/%q/%q/%q, want %q/%q/%q/%q", h.ID, got.Priority, got.Eligibility, got.Documents, got.Name,
				h.Priority, h.Eligibility, h.Documents, h.Name)
		}
		if h.Priority == sensitivePriority {
			want++
		}
	}
	if n := must(s.CountHouseholds(e.ctx, muster.HouseholdFilter{Priority: sensitivePriority}))(t); n != want {
		t.Fatalf("count by priority: %d, want %d", n, want)
	}
	if n := must(s.CountHouseholds(e.ctx, muster.HouseholdFilter{Priority: sensitivePriority, Status: muster.StatusVerified}))(t); n != 0 {
		t.Fatalf("count by priority and an unused status: %d, want 0", n)
	}
	// Pages of 2 through the priority households: each in id order, none
	// of another priority, all of them once.
	var seen []string
	after := ""
	for range 100 {
		page, next := must2(t)(s.ListHouseholds(e.ctx, muster.HouseholdFilter{Priority: sensitivePriority, Limit: 2, AfterID: after}))
		for _, r := range page {
			if r.Priority != sensitivePriority {
				t.Fatalf("list by priority gave %s of priority %q", r.ID, r.Priority)
			}
			seen = append(seen, r.ID)
		}
		if next == "" {
			break
		}
		after = next
	}
	if len(seen) != want {
		t.Fatalf("list by priority in pages of 2: %v, want %d households", seen, want)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("list by priority out of order or repeated: %v", seen)
		}
	}
}

func testSealedRegistryFields(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	hs := sensitive(10)
	must(e.store.ImportHouseholds(e.ctx, hs, muster.ImportOptions{}))(t)
	// An update seals the new values too.
	rec := must(e.store.GetHousehold(e.ctx, hs[1].ID))(t)
	hs[1].Priority, hs[1].Eligibility, hs[1].Documents = muster.PriorityAtRisk, sensitiveEligibility, sensitiveDocuments+" (copy)"
	must(e.store.UpdateHousehold(e.ctx, hs[1], rec.Version))(t)
	checkSensitive(t, e, e.store, hs)
	noSensitiveBytes(t, e.db, "after import and update")
	if n := must(e.store.CountHouseholds(e.ctx, muster.HouseholdFilter{Priority: muster.PriorityAtRisk}))(t); n != 1 {
		t.Fatalf("count of the updated priority: %d", n)
	}

	must(e.store.Wipe(e.ctx))(t)
	_, err := e.store.GetHousehold(e.ctx, hs[0].ID)
	wantCode(t, err, muster.EFORBIDDEN, "read after wipe")
	_, err = e.store.CountHouseholds(e.ctx, muster.HouseholdFilter{Priority: sensitivePriority})
	wantCode(t, err, muster.EFORBIDDEN, "count by priority after wipe")
	_, _, err = e.store.ListHouseholds(e.ctx, muster.HouseholdFilter{Priority: sensitivePriority})
	wantCode(t, err, muster.EFORBIDDEN, "list by priority after wipe")
	noSensitiveBytes(t, e.db, "after wipe")
}

// testMigration10Seals: a database at schema 9 with the values in clear
// ends, once opened, with them sealed (or, when its key was wiped
// before, with them gone).
func testMigration10Seals(t *testing.T, fresh Fresh, wiped bool) {
	e := &env{t: t, db: fresh(t), keys: NewKeys(), ctx: muster.WithActor(context.Background(), "tester")}
	first := must(e.db.Open(e.ctx, e.keys.DataKeys()))(t)
	hs := sensitive(7)
	must(first.ImportHouseholds(e.ctx, hs, muster.ImportOptions{}))(t)
	if wiped {
		must(first.Wipe(e.ctx))(t)
	}
	first.Close()
	e.db.Exec(t, UndoMigration10)
	for _, h := range hs {
		if h.Priority == sensitivePriority {
			e.db.Exec(t, fmt.Sprintf(`UPDATE households SET priority = '%s', eligibility = '%s', documents = '%s' WHERE id = '%s'`,
				h.Priority, h.Eligibility, h.Documents, h.ID))
		} else {
			e.db.Exec(t, fmt.Sprintf(`UPDATE households SET eligibility = 'citizen' WHERE id = '%s'`, h.ID))
		}
	}
	if !bytes.Contains(e.db.Raw(t), []byte(sensitiveDocuments)) {
		t.Fatal("the database at schema 9 does not hold the documents in clear: the test would prove nothing")
	}
	if fdb, ok := e.db.(FilesDB); ok {
		if files, ok := fdb.Files(t); ok {
			for _, v := range []string{sensitivePriority, sensitiveEligibility, sensitiveDocuments} {
				if !bytes.Contains(files, []byte(v)) {
					t.Fatalf("the relation files at schema 9 do not hold %q in clear: reading them would prove nothing", v)
				}
			}
		}
	}
	keys := e.keys.DataKeys()
	if wiped {
		// A server refuses a wiped database, but still drops what
		// migration 10 finds in clear.
		_, err := e.db.Open(e.ctx, keys)
		wantCode(t, err, muster.EFORBIDDEN, "open a wiped database at schema 9")
		noSensitiveBytes(t, e.db, "after migration 10 on a wiped database refused")
	}
	keys.OpenWiped = wiped
	s, err := e.db.Open(e.ctx, keys)
	if err != nil {
		t.Fatalf("open a database at schema 9: %v", err)
	}
	defer s.Close()
	noSensitiveBytes(t, e.db, "after migration 10")
	if wiped {
		_, err := s.GetHousehold(e.ctx, hs[0].ID)
		wantCode(t, err, muster.EFORBIDDEN, "read after wipe and migration 10")
		return
	}
	checkSensitive(t, e, s, hs)
	// New writes after the migration are sealed, and the old rows update.
	rec := must(s.GetHousehold(e.ctx, hs[1].ID))(t)
	hs[1].Priority = muster.PriorityMedical
	must(s.UpdateHousehold(e.ctx, hs[1], rec.Version))(t)
	checkSensitive(t, e, s, hs)
}
