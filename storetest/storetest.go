// Package storetest is the one conformance suite every muster.Store runs:
// package sqlite and package postgres each call Run from their tests, so
// both engines are held to the same behaviour, method by method.
//
// A backend gives the suite more than a Store: tamper-evidence and
// encryption at rest can only be tested by going under the store (editing
// rows with SQL, reading the raw bytes it wrote, reopening the same
// database with another key), so the suite takes a DB, a fresh empty
// database that can be opened, poked and dumped.
package storetest

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/evacuees"
)

// DB is one fresh, empty database of a backend.
type DB interface {
	// Open opens a store on this database (again, if already opened: the
	// suite opens two stores at once to play two server instances).
	Open(ctx context.Context, keys muster.DataKeys) (muster.Store, error)
	// Exec runs raw SQL on the database, under the store.
	Exec(t testing.TB, sql string)
	// Raw returns every byte the database holds for this test (the file
	// and its WAL; or every column of every row as text), to search for
	// plaintext.
	Raw(t testing.TB) []byte
}

// FilesDB is a DB that can also give the bytes of the files the database
// server keeps the schema's tables, TOAST and indexes in (PostgreSQL's
// relation files, when the server runs on this machine): the sealed-field
// tests search them too, since rows read back say nothing of dead tuples
// or pages a rewrite left behind.
type FilesDB interface {
	DB
	// Files returns the bytes of the schema's relation files, after the
	// server has written out every page it holds in memory; ok is false
	// when they cannot be read here (said in the log; in CI it fails t).
	Files(t testing.TB) (files []byte, ok bool)
}

// Fresh makes a new empty database and removes it when tb ends.
type Fresh func(tb testing.TB) DB

// clock is implemented by stores whose clock a test may set.
type clock interface{ SetNow(func() time.Time) }

type env struct {
	t     *testing.T
	db    DB
	keys  *Keys
	store muster.Store
	ctx   context.Context
}

func setup(t *testing.T, fresh Fresh) *env {
	t.Helper()
	e := &env{t: t, db: fresh(t), keys: NewKeys(), ctx: muster.WithActor(context.Background(), "tester")}
	e.store = e.open(e.keys)
	return e
}

func (e *env) open(k *Keys) muster.Store {
	e.t.Helper()
	s, err := e.db.Open(e.ctx, k.DataKeys())
	if err != nil {
		e.t.Fatalf("open: %v", err)
	}
	e.t.Cleanup(func() { s.Close() })
	return s
}

func wantCode(t testing.TB, err error, code string, what string) {
	t.Helper()
	if got := muster.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

// must(f())(t) returns f's value, failing t on f's error.
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// household returns a realistic household i with a phone and Dari name.
func household(i int) muster.Household {
	return muster.Household{
		ID:        fmt.Sprintf("H%06d", i),
		Name:      fmt.Sprintf("Zarghuna Karimi-%d", i),
		NameLocal: fmt.Sprintf("زرغونه کریمی %d", i),
		Members: []muster.Member{{Name: fmt.Sprintf("Zarghuna Karimi-%d", i), Age: 34},
			{Name: fmt.Sprintf("Farid Karimi-%d", i), AgeBand: "child"}},
		PartySize: 2, Adults: 1, Children: 1,
		Priority: muster.PriorityMedical, Language: muster.LangDari,
		Phone: fmt.Sprintf("+9370555%04d", i), Email: fmt.Sprintf("zarghuna%d@example.org", i),
		Lat: 34.5553 + float64(i)*1e-5, Lon: 69.2075, HasLocation: true,
		Eligibility: "siv", Documents: "passport", Notes: "insulin in cold storage",
	}
}

// Run runs the whole suite against a backend.
func Run(t *testing.T, fresh Fresh) {
	tests := []struct {
		name string
		fn   func(t *testing.T, fresh Fresh)
	}{
		{"HouseholdCreateGet", testHouseholdCreateGet},
		{"HouseholdUpdateVersion", testHouseholdUpdateVersion},
		{"HouseholdStatusHistory", testHouseholdStatusHistory},
		{"HouseholdFindListCount", testHouseholdFindListCount},
		{"HouseholdContacts", testHouseholdContacts},
		{"Import", testImport},
		{"ImportBadRowStoresNothing", testImportBadRowStoresNothing},
		{"ImportSharedPhone", testImportSharedPhone},
		{"ImportKeepsWhatTheFileLacks", testImportKeepsUncarried},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Reports", testReports},
		{"Users", testUsers},
		{"Tokens", testTokens},
		{"UserNamesFoldCase", testUserNamesFoldCase},
		{"PasswordChangeEndsSessions", testPasswordChangeEndsSessions},
		{"UserEnableRole", testUserEnableRole},
		{"ClearThrottle", testClearThrottle},
		{"Capabilities", testCapabilities},
		{"AuditChain", testAuditChain},
		{"AuditTamperEdited", func(t *testing.T, f Fresh) { testAuditTamper(t, f, "edited") }},
		{"AuditTamperDeleted", func(t *testing.T, f Fresh) { testAuditTamper(t, f, "deleted") }},
		{"AuditTamperSwapped", func(t *testing.T, f Fresh) { testAuditTamper(t, f, "swapped") }},
		{"AuditTamperTruncated", func(t *testing.T, f Fresh) { testAuditTamper(t, f, "truncated") }},
		{"AuditConcurrentInstances", testAuditConcurrentInstances},
		{"AuditTamperField", testAuditTamperField},
		{"AuditRechained", testAuditRechained},
		{"AuditOtherKey", testAuditOtherKey},
		{"AuditCheckpoints", testAuditCheckpoints},
		{"AuditWriterSeesChange", testAuditWriterSeesChange},
		{"AuditAfterWipe", testAuditAfterWipe},
		{"NoPlaintextAtRest", testNoPlaintextAtRest},
		{"WrongKeyFailsToOpen", testWrongKey},
		{"Wipe", testWipe},
		{"ClaimJob", testClaimJob},
		{"Subscribe", testSubscribe},
		{"Migrations", testMigrations},
		{"ConcurrentOpen", testConcurrentOpen},
		{"HostileStrings", testHostileStrings},
		{"ScenarioImport", testScenarioImport},
		{"DrillImport", testDrillImport},
		{"Plans", testPlans},
		{"Places", testPlaces},
		{"Sources", testSources},
		{"Outbox", testOutbox},
		{"OutboxRenderedWhenSent", testOutboxRenderedWhenSent},
		{"Migration11", testMigration11},
		{"OutboxConcurrentLease", testOutboxConcurrentLease},
		{"Acknowledge", testAcknowledge},
		{"IssueInstructions", testIssueInstructions},
		{"IssueSigned", testIssueSigned},
		{"CheckIn", testCheckIn},
		{"CheckInConcurrentInstances", testCheckInConcurrentInstances},
		{"SyncCheckIns", testSyncCheckIns},
		{"Advisories", testAdvisories},
		{"FieldEvents", testFieldEvents},
		{"FieldCheckIns", testFieldCheckIns},
		{"FieldCheckInsOtherRally", testFieldCheckInsOtherRally},
		{"CheckInEvents", testCheckInEvents},
		{"CloseTwice", testCloseTwice},
		{"OutboxIdentity", testOutboxIdentity},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, fresh) })
	}
}

func testHouseholdCreateGet(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	h := household(1)
	rec := must(e.store.CreateHousehold(e.ctx, h))(t)
	if rec.Version != 1 || rec.Status != muster.StatusRegistered || len(rec.History) != 1 || rec.History[0].By != "tester" {
		t.Fatalf("created: version %d status %q history %+v", rec.Version, rec.Status, rec.History)
	}
	got := must(e.store.GetHousehold(e.ctx, h.ID))(t)
	want := h
	want.Status, want.UpdatedAt, want.History = muster.StatusRegistered, got.UpdatedAt, got.History
	if !reflect.DeepEqual(got.Household, want) {
		t.Fatalf("read back:\n got %+v\nwant %+v", got.Household, want)
	}
	if got.UpdatedAt.IsZero() || got.CreatedAt.IsZero() {
		t.Fatalf("times not set: %+v", got)
	}

	_, err := e.store.CreateHousehold(e.ctx, h)
	wantCode(t, err, muster.ECONFLICT, "second create with the same id")
	_, err = e.store.GetHousehold(e.ctx, "H999999")
	wantCode(t, err, muster.ENOTFOUND, "get a missing household")

	noID := household(2)
	noID.ID, noID.HasLocation, noID.Lat, noID.Lon, noID.Address = "", false, 0, 0, "Street 3, Wazir Akbar Khan"
	rec = must(e.store.CreateHousehold(e.ctx, noID))(t)
	if rec.ID == "" || rec.HasLocation || rec.Address != noID.Address {
		t.Fatalf("assigned id / address: %+v", rec.Household)
	}
	for _, bad := range []func(h *muster.Household){
		func(h *muster.Household) { h.Priority = "vip" },
		func(h *muster.Household) { h.Language = "de" },
		func(h *muster.Household) { h.Lat = 91 },
		func(h *muster.Household) { h.ID = "has space" },
		func(h *muster.Household) { h.PartySize = -1 },
		func(h *muster.Household) { h.Name = "\xff\xfe" },
	} {
		b := household(3)
		bad(&b)
		_, err := e.store.CreateHousehold(e.ctx, b)
		wantCode(t, err, muster.EINVALID, fmt.Sprintf("create invalid %+v", b))
	}
}

func testHouseholdUpdateVersion(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	rec := must(e.store.CreateHousehold(e.ctx, household(1)))(t)
	h := rec.Household
	h.Notes, h.PartySize, h.Adults = "wheelchair", 3, 2
	up := must(e.store.UpdateHousehold(e.ctx, h, rec.Version))(t)
	if up.Version != rec.Version+1 || up.Notes != "wheelchair" || up.PartySize != 3 || up.Status != muster.StatusRegistered {
		t.Fatalf("update: %+v", up)
	}
	h.Notes = "stale"
	_, err := e.store.UpdateHousehold(e.ctx, h, rec.Version)
	wantCode(t, err, muster.ECONFLICT, "update with a stale version")
	if got := must(e.store.GetHousehold(e.ctx, h.ID))(t); got.Notes != "wheelchair" {
		t.Fatalf("stale update changed notes to %q", got.Notes)
	}
	h.ID = "H404"
	_, err = e.store.UpdateHousehold(e.ctx, h, 1)
	wantCode(t, err, muster.ENOTFOUND, "update a missing household")
}

func testHouseholdStatusHistory(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	rec := must(e.store.CreateHousehold(e.ctx, household(1)))(t)
	steps := []string{muster.StatusVerified, muster.StatusAssigned, muster.StatusInstructed, muster.StatusAtRally}
	for i, s := range steps {
		ctx := muster.WithActor(e.ctx, fmt.Sprintf("officer%d", i))
		rec = must(e.store.SetHouseholdStatus(ctx, rec.ID, s, rec.Version, "step "+s))(t)
	}
	got := must(e.store.GetHousehold(e.ctx, rec.ID))(t)
	if got.Status != muster.StatusAtRally || len(got.History) != len(steps)+1 {
		t.Fatalf("status %q, %d history entries", got.Status, len(got.History))
	}
	for i, s := range steps {
		ch := got.History[i+1]
		if ch.Status != s || ch.By != fmt.Sprintf("officer%d", i) || ch.Note != "step "+s || ch.At.Before(got.History[i].At) {
			t.Fatalf("history %d: %+v (previous %+v)", i+1, ch, got.History[i])
		}
	}
	_, err := e.store.SetHouseholdStatus(e.ctx, rec.ID, muster.StatusMoving, rec.Version-1, "")
	wantCode(t, err, muster.ECONFLICT, "status change with a stale version")
	_, err = e.store.SetHouseholdStatus(e.ctx, rec.ID, "teleported", 0, "")
	wantCode(t, err, muster.EINVALID, "unknown status")
	_, err = e.store.SetHouseholdStatus(e.ctx, "H404", muster.StatusMoving, 0, "")
	wantCode(t, err, muster.ENOTFOUND, "status of a missing household")
	n := must(e.store.CountHouseholds(e.ctx, muster.HouseholdFilter{Status: muster.StatusAtRally}))(t)
	if n != 1 {
		t.Fatalf("count at rally: %d", n)
	}
}

func testHouseholdFindListCount(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	for i := 1; i <= 25; i++ {
		h := household(i)
		if i%3 == 0 {
			h.Priority = muster.PriorityNone
		}
		must(e.store.CreateHousehold(e.ctx, h))(t)
	}
	for i := 1; i <= 5; i++ {
		must(e.store.SetHouseholdStatus(e.ctx, household(i).ID, muster.StatusVerified, 0, ""))(t)
	}
	found := must(e.store.FindHouseholdsByPhone(e.ctx, household(7).Phone))(t)
	if len(found) != 1 || found[0].ID != household(7).ID || found[0].Name != household(7).Name {
		t.Fatalf("find by phone: %+v", found)
	}
	if found := must(e.store.FindHouseholdsByPhone(e.ctx, "+93700000000"))(t); len(found) != 0 {
		t.Fatalf("find by unknown phone: %+v", found)
	}

	var all []string
	after := ""
	for page := 0; ; page++ {
		hs, next, err := e.store.ListHouseholds(e.ctx, muster.HouseholdFilter{AfterID: after, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hs {
			all = append(all, h.ID)
		}
		if next == "" {
			break
		}
		if page > 5 {
			t.Fatal("paging does not end")
		}
		after = next
	}
	if len(all) != 25 || !slices.IsSorted(all) || all[0] != "H000001" {
		t.Fatalf("paged list: %v", all)
	}
	verified, _ := must2(t)(e.store.ListHouseholds(e.ctx, muster.HouseholdFilter{Status: muster.StatusVerified}))
	if len(verified) != 5 {
		t.Fatalf("verified: %d", len(verified))
	}
	none, _ := must2(t)(e.store.ListHouseholds(e.ctx, muster.HouseholdFilter{Priority: muster.PriorityNone, Status: muster.StatusRegistered}))
	for _, h := range none {
		if h.Priority != muster.PriorityNone || h.Status != muster.StatusRegistered {
			t.Fatalf("filter let through %+v", h.Household)
		}
	}
	if len(none) != 7 { // 3, 6, ... 24 but not 3, which is verified
		t.Fatalf("priority none & registered: %d, want 7", len(none))
	}
	if n := must(e.store.CountHouseholds(e.ctx, muster.HouseholdFilter{}))(t); n != 25 {
		t.Fatalf("count all: %d", n)
	}
	_, _, err := e.store.ListHouseholds(e.ctx, muster.HouseholdFilter{Status: "lost"})
	wantCode(t, err, muster.EINVALID, "list with an unknown status")
}

func must2(t testing.TB) func(hs []muster.HouseholdRecord, next string, err error) ([]muster.HouseholdRecord, string) {
	return func(hs []muster.HouseholdRecord, next string, err error) ([]muster.HouseholdRecord, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return hs, next
	}
}

func batch(from, n int) []muster.Household {
	hs := make([]muster.Household, n)
	for i := range hs {
		hs[i] = household(from + i)
	}
	return hs
}

func testImport(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	hs := batch(1, 50)
	dry := must(e.store.ImportHouseholds(e.ctx, hs, muster.ImportOptions{DryRun: true}))(t)
	if dry.Created != 50 || dry.Committed || !dry.DryRun || len(dry.Rows) != 50 {
		t.Fatalf("dry run: %+v", dry)
	}
	if n := must(e.store.CountHouseholds(e.ctx, muster.HouseholdFilter{}))(t); n != 0 {
		t.Fatalf("a dry run stored %d households", n)
	}
	res := must(e.store.ImportHouseholds(e.ctx, hs, muster.ImportOptions{}))(t)
	if res.Created != 50 || !res.Committed {
		t.Fatalf("import: %+v", res)
	}
	auditBefore := len(must(e.store.ListAudit(e.ctx, 0, 0))(t))

	again := must(e.store.ImportHouseholds(e.ctx, hs, muster.ImportOptions{}))(t)
	if again.Unchanged != 50 || again.Created+again.Updated+again.Rejected != 0 {
		t.Fatalf("re-import: %+v", again)
	}
	if rec := must(e.store.GetHousehold(e.ctx, hs[0].ID))(t); rec.Version != 1 {
		t.Fatalf("re-import changed version to %d", rec.Version)
	}
	if n := len(must(e.store.ListAudit(e.ctx, 0, 0))(t)); n != auditBefore {
		t.Fatalf("re-import that changed nothing wrote %d audit entries", n-auditBefore)
	}

	// One row changed; one matched by phone, without its id; one new.
	hs2 := []muster.Household{hs[3], hs[4], household(51)}
	hs2[0].Notes = "now at the hotel"
	hs2[1].ID = ""
	hs2[1].Email = "new@example.org"
	res2 := must(e.store.ImportHouseholds(e.ctx, hs2, muster.ImportOptions{}))(t)
	if res2.Updated != 2 || res2.Created != 1 || res2.Rows[1].ID != hs[4].ID || res2.Rows[1].Reason != "matched by phone" {
		t.Fatalf("update import: %+v", res2)
	}
	if rec := must(e.store.GetHousehold(e.ctx, hs[3].ID))(t); rec.Notes != "now at the hotel" || rec.Version != 2 {
		t.Fatalf("import update: %+v", rec)
	}
	if rec := must(e.store.GetHousehold(e.ctx, hs[4].ID))(t); rec.Email != "new@example.org" {
		t.Fatalf("phone-matched update: %+v", rec)
	}
	// Status survives a re-import.
	must(e.store.SetHouseholdStatus(e.ctx, hs[5].ID, muster.StatusVerified, 0, ""))(t)
	h5 := hs[5]
	h5.Notes = "changed"
	must(e.store.ImportHouseholds(e.ctx, []muster.Household{h5}, muster.ImportOptions{}))(t)
	if rec := must(e.store.GetHousehold(e.ctx, h5.ID))(t); rec.Status != muster.StatusVerified {
		t.Fatalf("import reset status to %q", rec.Status)
	}
}

// testImportSharedPhone: households with ids may share a phone (one
// handset for two families); the import stores them and says so row by
// row. A row without an id whose phone several households share cannot be
// placed and is rejected.
func testImportSharedPhone(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	a, b, c := household(1), household(2), household(3)
	b.Phone, c.Phone = a.Phone, a.Phone
	res := must(e.store.ImportHouseholds(e.ctx, []muster.Household{a, b}, muster.ImportOptions{}))(t)
	if res.Created != 2 || !strings.Contains(res.Rows[1].Reason, "also that of household H000001 in this list") {
		t.Fatalf("two households, one phone: %+v", res)
	}
	res = must(e.store.ImportHouseholds(e.ctx, []muster.Household{c}, muster.ImportOptions{}))(t)
	if res.Created != 1 || !strings.Contains(res.Rows[0].Reason, "also registered to household H000001, H000002") {
		t.Fatalf("a third household on the phone: %+v", res)
	}
	if hs := must(e.store.FindHouseholdsByPhone(e.ctx, a.Phone))(t); len(hs) != 3 {
		t.Fatalf("%d households found by the shared phone, want 3", len(hs))
	}
	again := must(e.store.ImportHouseholds(e.ctx, []muster.Household{a, b}, muster.ImportOptions{}))(t)
	if again.Unchanged != 2 {
		t.Fatalf("re-import: %+v", again)
	}
	anon := household(4)
	anon.ID, anon.Phone = "", a.Phone
	_, err := e.store.ImportHouseholds(e.ctx, []muster.Household{anon}, muster.ImportOptions{})
	wantCode(t, err, muster.EINVALID, "a row without an id on a shared phone")
	if !strings.Contains(err.Error(), "phone matches 3 households") {
		t.Fatalf("error %v does not say why", err)
	}
}

func testImportBadRowStoresNothing(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	must(e.store.ImportHouseholds(e.ctx, batch(1, 10), muster.ImportOptions{}))(t)
	hs := batch(5, 100) // 6 updates (5..10 changed below), 94 creates
	for i := range 6 {
		hs[i].Notes = "updated"
	}
	hs[57].Language = "klingon"
	dup := household(80)
	dup.ID = "" // no id, and the phone of row 75: which household is it?
	hs = append(hs, dup)
	res, err := e.store.ImportHouseholds(e.ctx, hs, muster.ImportOptions{})
	wantCode(t, err, muster.EINVALID, "import with bad rows")
	if res.Committed || res.Rejected != 2 {
		t.Fatalf("result: %+v", res)
	}
	var rejected []int
	for _, r := range res.Rows {
		if r.Action == muster.ImportRejected {
			rejected = append(rejected, r.Index)
			if r.Reason == "" {
				t.Fatalf("row %d rejected without a reason", r.Index)
			}
		}
	}
	if !slices.Equal(rejected, []int{57, 100}) || !strings.Contains(err.Error(), "row 57") || !strings.Contains(err.Error(), "klingon") {
		t.Fatalf("rejected rows %v, error %v", rejected, err)
	}
	if n := must(e.store.CountHouseholds(e.ctx, muster.HouseholdFilter{}))(t); n != 10 {
		t.Fatalf("%d households after a rejected import, want the 10 before it", n)
	}
	if rec := must(e.store.GetHousehold(e.ctx, household(5).ID))(t); rec.Notes == "updated" || rec.Version != 1 {
		t.Fatalf("a rejected import updated %+v", rec)
	}
	if v := must(e.store.VerifyAudit(e.ctx))(t); !v.OK {
		t.Fatalf("audit after rollback: %+v", v)
	}
}

// importCSV reads an evacuee list with package evacuees and imports it as
// the server does, carrying only the fields the file has columns for.
func importCSV(t *testing.T, e *env, file string) muster.ImportResult {
	t.Helper()
	read, err := evacuees.Read(strings.NewReader(file), "list.csv", evacuees.Options{})
	if err != nil || read.Bad != 0 {
		t.Fatalf("read: %v %+v", err, read.Rows)
	}
	return must(e.store.ImportHouseholds(e.ctx, read.Households(), muster.ImportOptions{Carries: read.Carries()}))(t)
}

// testImportKeepsUncarried: an import updates what its file carries and
// keeps the rest (members, e-mails... entered through the store).
func testImportKeepsUncarried(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	h1, h2 := household(1), household(2)
	h2.Address = "Street 3, Wazir Akbar Khan"
	for _, h := range []muster.Household{h1, h2} {
		must(e.store.CreateHousehold(e.ctx, h))(t)
	}
	// No member_names, e-mail, priority, language...: those stay.
	withCoords := "household_id,name,members,adults,children,phone,lat,lon,notes\n" +
		fmt.Sprintf("H000001,Zarghuna Karimi-1,2,1,1,+93705550001,%v,%v,moved to the hotel\n", h1.Lat, h1.Lon)
	res := importCSV(t, e, withCoords)
	if res.Updated != 1 || !res.Committed || res.Rows[0].Reason != "matched by id" {
		t.Fatalf("import: %+v", res)
	}
	got := must(e.store.GetHousehold(e.ctx, h1.ID))(t)
	want := h1
	want.Notes = "moved to the hotel"
	if !reflect.DeepEqual(got.Members, h1.Members) || got.Version != 2 {
		t.Fatalf("members after an import without member names: %+v (version %d), want %+v", got.Members, got.Version, h1.Members)
	}
	if got.Notes != want.Notes || got.Email != want.Email || got.NameLocal != want.NameLocal || got.Priority != want.Priority ||
		got.Language != want.Language || got.Eligibility != want.Eligibility || got.Documents != want.Documents || got.Lat != want.Lat {
		t.Fatalf("after import:\n%+v\nwant\n%+v", got.Household, want)
	}

	// A new party size: the stored split no longer adds up and is cleared,
	// the members are kept (the report says to check them), and so are the
	// coordinates, which an address-only list does not carry.
	addressOnly := "household_id,name,members,address,phone\n" +
		"H000002,Zarghuna Karimi-2,3,Street 5,+93705550002\n"
	res = importCSV(t, e, addressOnly)
	if reason := res.Rows[0].Reason; res.Updated != 1 || !strings.Contains(reason, "the 1 adults and 1 children on record do not make the party of 3: cleared") ||
		!strings.Contains(reason, "kept the 2 members on record, but the party is now 3") || !strings.Contains(reason, "address changed") {
		t.Fatalf("import: %+v", res)
	}
	got = must(e.store.GetHousehold(e.ctx, h2.ID))(t)
	if got.PartySize != 3 || got.Adults != 0 || got.Children != 0 || len(got.Members) != 2 || !got.HasLocation || got.Lat != h2.Lat ||
		got.Address != "Street 5" || got.Email != h2.Email {
		t.Fatalf("after an address-only import: %+v", got.Household)
	}

	// Re-importing either file changes nothing.
	auditBefore := len(must(e.store.ListAudit(e.ctx, 0, 0))(t))
	for _, file := range []string{withCoords, addressOnly} {
		if res := importCSV(t, e, file); res.Unchanged != 1 || res.Updated+res.Created != 0 {
			t.Fatalf("re-import: %+v", res)
		}
	}
	if n := len(must(e.store.ListAudit(e.ctx, 0, 0))(t)); n != auditBefore {
		t.Fatalf("re-imports that changed nothing wrote %d audit entries", n-auditBefore)
	}

	// A list with member names replaces them; members alone keep a split
	// that still adds up.
	h3 := household(3)
	must(e.store.CreateHousehold(e.ctx, h3))(t)
	res = importCSV(t, e, "household_id,name,members,address,phone,member_names\n"+
		"H000003,Zarghuna Karimi-3,2,Street 7,+93705550003,Zarghuna (35); Farid (child)\n")
	got = must(e.store.GetHousehold(e.ctx, h3.ID))(t)
	wantMembers := []muster.Member{{Name: "Zarghuna", Age: 35}, {Name: "Farid", AgeBand: "child"}}
	if res.Updated != 1 || !reflect.DeepEqual(got.Members, wantMembers) || got.Adults != 1 || got.Children != 1 {
		t.Fatalf("import with member names: %+v\n%+v", res, got.Household)
	}
	res = importCSV(t, e, "household_id,name,members,address,phone\nH000003,Zarghuna Karimi-3,2,Street 8,+93705550003\n")
	got = must(e.store.GetHousehold(e.ctx, h3.ID))(t)
	if res.Updated != 1 || !reflect.DeepEqual(got.Members, wantMembers) || got.Adults != 1 || got.Children != 1 || got.Address != "Street 8" {
		t.Fatalf("import with members alone: %+v\n%+v", res, got.Household)
	}

	_, err := e.store.ImportHouseholds(e.ctx, []muster.Household{h1}, muster.ImportOptions{Carries: []string{"name", "shoe size"}})
	wantCode(t, err, muster.EINVALID, "an unknown carried field")
}

func testConcurrentWriters(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	second := e.open(e.keys) // a second instance on the same database
	stores := []muster.Store{e.store, second}
	target := must(e.store.CreateHousehold(e.ctx, household(0)))(t)

	const writers, each = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*each*2)
	var wins atomic.Int32
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[w%2]
			for i := range each {
				if _, err := s.CreateHousehold(e.ctx, household(1000+w*each+i)); err != nil {
					errs <- fmt.Errorf("create: %w", err)
				}
				if _, err := s.SetHouseholdStatus(e.ctx, target.ID, muster.HouseholdStatuses[i%len(muster.HouseholdStatuses)], 0, ""); err != nil {
					errs <- fmt.Errorf("status: %w", err)
				}
				// Failing writes among them: a duplicate, and an import whose
				// good rows are written before its bad row rolls it back.
				// Neither may take anyone else's write with it.
				if _, err := s.CreateHousehold(e.ctx, target.Household); muster.ErrorCode(err) != muster.ECONFLICT {
					errs <- fmt.Errorf("duplicate create: %v, want a conflict", err)
				}
				if i%5 == 0 {
					bad := []muster.Household{household(50000 + w*each + i), household(60000 + w*each + i), {ID: "bad id"}}
					if _, err := s.ImportHouseholds(e.ctx, bad, muster.ImportOptions{}); muster.ErrorCode(err) != muster.EINVALID {
						errs <- fmt.Errorf("bad import: %v, want invalid", err)
					}
				}
			}
			// Everyone updates the same version: exactly one may win.
			h := target.Household
			h.Notes = fmt.Sprintf("writer %d", w)
			_, err := s.UpdateHousehold(e.ctx, h, target.Version+writers*each)
			switch muster.ErrorCode(err) {
			case "":
				wins.Add(1)
			case muster.ECONFLICT:
			default:
				errs <- fmt.Errorf("update: %w", err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := must(e.store.CountHouseholds(e.ctx, muster.HouseholdFilter{}))(t); n != writers*each+1 {
		t.Fatalf("%d households, want %d", n, writers*each+1)
	}
	got := must(e.store.GetHousehold(e.ctx, target.ID))(t)
	if len(got.History) != writers*each+1 {
		t.Fatalf("%d history entries, want %d", len(got.History), writers*each+1)
	}
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent updates of one version won, want exactly 1", wins.Load())
	}
	if v := must(e.store.VerifyAudit(e.ctx))(t); !v.OK {
		t.Fatalf("audit after concurrent writes: %+v", v)
	}
}

func report(id string, at time.Time) muster.Report {
	return muster.Report{
		ID: id, ReceivedAt: at, ObservedAt: at.Add(-10 * time.Minute),
		Source:      muster.Source{ID: "src-1", Name: "Embassy", Kind: muster.SourceOfficial, Via: "cable"},
		Reliability: "B", Credibility: 2, Kind: muster.KindAttackThreat, Claim: muster.ClaimPresent,
		Likelihood: 0.7, LikelihoodText: "likely", Immediacy: muster.ImmediacyImminent, Severity: 5,
		Area: muster.Area{Place: "Abbey Gate"}, RelatesTo: []string{"r0"}, Text: "<b>credible threat</b>",
	}
}

func testReports(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	t0 := time.Date(2021, 8, 26, 8, 0, 0, 0, time.UTC)
	for i, at := range []time.Time{t0.Add(2 * time.Hour), t0, t0.Add(time.Hour)} {
		if err := e.store.AddReport(e.ctx, report(fmt.Sprintf("r%d", i+1), at)); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, e.store.AddReport(e.ctx, report("r1", t0)), muster.ECONFLICT, "second report with id r1")
	wantCode(t, e.store.AddReport(e.ctx, report("", t0)), muster.EINVALID, "report without id")
	rs := must(e.store.ListReports(e.ctx, time.Time{}, 0))(t)
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, []string{"r2", "r3", "r1"}) {
		t.Fatalf("order by received: %v", ids)
	}
	want := report("r2", t0)
	if !reflect.DeepEqual(rs[0], want) {
		t.Fatalf("read back:\n got %+v\nwant %+v", rs[0], want)
	}
	if rs := must(e.store.ListReports(e.ctx, t0.Add(time.Hour), 1))(t); len(rs) != 1 || rs[0].ID != "r3" {
		t.Fatalf("since + limit: %+v", rs)
	}
}

func testUsers(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	hash := must(cheapHash("correct horse battery staple"))(t)
	if ok := must(muster.CheckPassword(hash, "correct horse battery staple"))(t); !ok {
		t.Fatal("CheckPassword refuses the right password")
	}
	if ok := must(muster.CheckPassword(hash, "Correct horse battery staple"))(t); ok {
		t.Fatal("CheckPassword accepts a wrong password")
	}
	if _, err := muster.CheckPassword("$2a$10$bcrypt", "x"); err == nil {
		t.Fatal("CheckPassword accepts a malformed hash")
	}
	for _, u := range []muster.User{{Name: "amina", Role: muster.RoleAdmin}, {Name: "bilal", Role: muster.RoleField}, {Name: "carla", Role: muster.RoleViewer}} {
		u.PasswordHash = hash
		if err := e.store.CreateUser(e.ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, e.store.CreateUser(e.ctx, muster.User{Name: "amina", Role: muster.RoleViewer, PasswordHash: hash}), muster.ECONFLICT, "duplicate user")
	wantCode(t, e.store.CreateUser(e.ctx, muster.User{Name: "dawood", Role: "root", PasswordHash: hash}), muster.EINVALID, "unknown role")
	wantCode(t, e.store.CreateUser(e.ctx, muster.User{Name: "dawood", Role: muster.RolePlanner, PasswordHash: "plain"}), muster.EINVALID, "password not hashed")
	u := must(e.store.GetUser(e.ctx, "bilal"))(t)
	if u.Role != muster.RoleField || u.Disabled || u.PasswordHash != hash || u.CreatedAt.IsZero() {
		t.Fatalf("get user: %+v", u)
	}
	_, err := e.store.GetUser(e.ctx, "nobody")
	wantCode(t, err, muster.ENOTFOUND, "missing user")
	users := must(e.store.ListUsers(e.ctx))(t)
	if len(users) != 3 || users[0].Name != "amina" || users[2].Name != "carla" {
		t.Fatalf("list users: %+v", users)
	}
	if err := e.store.DisableUser(e.ctx, "carla"); err != nil {
		t.Fatal(err)
	}
	if u := must(e.store.GetUser(e.ctx, "carla"))(t); !u.Disabled {
		t.Fatal("disabled user not disabled")
	}
	wantCode(t, e.store.DisableUser(e.ctx, "nobody"), muster.ENOTFOUND, "disable a missing user")
	h2 := must(cheapHash("new password"))(t)
	if _, err := e.store.SetUserPassword(e.ctx, "bilal", h2, ""); err != nil {
		t.Fatal(err)
	}
	if ok, _ := muster.CheckPassword(must(e.store.GetUser(e.ctx, "bilal"))(t).PasswordHash, "new password"); !ok {
		t.Fatal("password not changed")
	}
}

func testTokens(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	hash := must(cheapHash("pw"))(t)
	for _, name := range []string{"amina", "bilal"} {
		if err := e.store.CreateUser(e.ctx, muster.User{Name: name, Role: muster.RolePlanner, PasswordHash: hash}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	secrets := map[string]string{}
	for _, tok := range []muster.Token{
		{ID: "t-api", User: "amina", Kind: muster.TokenAPI},
		{ID: "t-session", User: "amina", Kind: muster.TokenSession, ExpiresAt: now.Add(time.Hour)},
		{ID: "t-bilal", User: "bilal", Kind: muster.TokenSession},
	} {
		secrets[tok.ID] = muster.NewSecret()
		tok.Hash = muster.TokenHash(secrets[tok.ID])
		if err := e.store.CreateToken(e.ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, e.store.CreateToken(e.ctx, muster.Token{ID: "t-x", User: "nobody", Kind: muster.TokenAPI, Hash: muster.TokenHash("x")}),
		muster.ENOTFOUND, "token for a missing user")
	wantCode(t, e.store.CreateToken(e.ctx, muster.Token{ID: "t-api", User: "amina", Kind: muster.TokenAPI, Hash: muster.TokenHash("y")}),
		muster.ECONFLICT, "duplicate token id")
	tok, u := must3(t)(e.store.LookupToken(e.ctx, muster.TokenHash(secrets["t-session"]), now))
	if tok.ID != "t-session" || u.Name != "amina" || u.Role != muster.RolePlanner {
		t.Fatalf("lookup: %+v %+v", tok, u)
	}
	_, _, err := e.store.LookupToken(e.ctx, muster.TokenHash(secrets["t-session"]), now.Add(2*time.Hour))
	wantCode(t, err, muster.ENOTFOUND, "expired session")
	_, _, err = e.store.LookupToken(e.ctx, muster.TokenHash("guess"), now)
	wantCode(t, err, muster.ENOTFOUND, "unknown token")
	if err := e.store.RevokeToken(e.ctx, "t-api"); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.store.LookupToken(e.ctx, muster.TokenHash(secrets["t-api"]), now)
	wantCode(t, err, muster.ENOTFOUND, "revoked token")
	wantCode(t, e.store.RevokeToken(e.ctx, "t-none"), muster.ENOTFOUND, "revoke a missing token")
	if err := e.store.DisableUser(e.ctx, "bilal"); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.store.LookupToken(e.ctx, muster.TokenHash(secrets["t-bilal"]), now)
	wantCode(t, err, muster.ENOTFOUND, "token of a disabled user")

	// Another instance on the same database (a second server, or the CLI
	// beside a running one) revokes a token and disables a user that this
	// instance has just found live: this instance refuses both at once,
	// whatever it keeps in memory.
	other := must(e.db.Open(e.ctx, e.keys.DataKeys()))(t)
	defer other.Close()
	if err := other.CreateUser(e.ctx, muster.User{Name: "carla", Role: muster.RoleViewer, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	if err := other.CreateToken(e.ctx, muster.Token{ID: "t-carla", User: "carla", Kind: muster.TokenAPI, Hash: muster.TokenHash("carla-secret")}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		must3(t)(e.store.LookupToken(e.ctx, muster.TokenHash(secrets["t-session"]), now))
		must3(t)(e.store.LookupToken(e.ctx, muster.TokenHash("carla-secret"), now))
	}
	if err := other.RevokeToken(e.ctx, "t-session"); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.store.LookupToken(e.ctx, muster.TokenHash(secrets["t-session"]), now)
	wantCode(t, err, muster.ENOTFOUND, "token revoked by another instance")
	if err := other.DisableUser(e.ctx, "carla"); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.store.LookupToken(e.ctx, muster.TokenHash("carla-secret"), now)
	wantCode(t, err, muster.ENOTFOUND, "token of a user disabled by another instance")
	if raw := e.db.Raw(t); bytes.Contains(raw, []byte(secrets["t-session"])) {
		t.Fatal("a token secret is stored in clear")
	}
}

func must3(t testing.TB) func(muster.Token, muster.User, error) (muster.Token, muster.User) {
	return func(tok muster.Token, u muster.User, err error) (muster.Token, muster.User) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return tok, u
	}
}

func testCapabilities(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	must(e.store.CreateHousehold(e.ctx, household(1)))(t)
	secret := muster.NewSecret()
	wantCode(t, e.store.CreateCapability(e.ctx, muster.CapabilityLink{HouseholdID: "H404", Hash: muster.TokenHash(secret)}),
		muster.ENOTFOUND, "capability for a missing household")
	now := time.Now()
	if err := e.store.CreateCapability(e.ctx, muster.CapabilityLink{ID: "cap1", HouseholdID: "H000001", Hash: muster.TokenHash(secret), ExpiresAt: now.Add(72 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	l := must(e.store.LookupCapability(e.ctx, muster.TokenHash(secret), now))(t)
	if l.HouseholdID != "H000001" || l.ID != "cap1" {
		t.Fatalf("lookup: %+v", l)
	}
	_, err := e.store.LookupCapability(e.ctx, muster.TokenHash(secret), now.Add(73*time.Hour))
	wantCode(t, err, muster.ENOTFOUND, "expired capability")
	_, err = e.store.LookupCapability(e.ctx, muster.TokenHash(muster.NewSecret()), now)
	wantCode(t, err, muster.ENOTFOUND, "guessed capability")
	if err := e.store.RevokeCapability(e.ctx, "cap1"); err != nil {
		t.Fatal(err)
	}
	_, err = e.store.LookupCapability(e.ctx, muster.TokenHash(secret), now)
	wantCode(t, err, muster.ENOTFOUND, "revoked capability")
	wantCode(t, e.store.RevokeCapability(e.ctx, "cap404"), muster.ENOTFOUND, "revoke a missing capability")
}

// fillAudit makes n audit entries by real changes and explicit appends.
func fillAudit(t *testing.T, e *env, n int) {
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			must(e.store.CreateHousehold(e.ctx, household(i)))(t)
		} else {
			must(e.store.AppendAudit(e.ctx, muster.AuditEntry{Action: "household.read", Target: fmt.Sprintf("household:H%06d", i-1)}))(t)
		}
	}
}

func testAuditChain(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	if v := must(e.store.VerifyAudit(e.ctx))(t); !v.OK || v.Entries != 0 {
		t.Fatalf("empty chain: %+v", v)
	}
	fillAudit(t, e, 6)
	ctx := muster.WithActor(e.ctx, "amina")
	read := must(e.store.AppendAudit(ctx, muster.AuditEntry{Action: "household.read", Target: "household:H000002", Detail: "via api"}))(t)
	if read.Seq != 7 || read.Actor != "amina" || len(read.Hash) != 32 {
		t.Fatalf("appended: %+v", read)
	}
	es := must(e.store.ListAudit(e.ctx, 0, 0))(t)
	if len(es) != 7 {
		t.Fatalf("%d entries, want 7", len(es))
	}
	prev, prevMAC := make([]byte, 32), make([]byte, 32)
	for i, en := range es {
		if en.Seq != int64(i+1) || !bytes.Equal(en.PrevHash, prev) || !bytes.Equal(en.Hash, en.ChainHash(prev)) ||
			!bytes.Equal(en.MAC, auditMAC(e.auditKey(), prevMAC, en)) {
			t.Fatalf("entry %d: %+v", i+1, en)
		}
		prev, prevMAC = en.Hash, en.MAC
	}
	if es[0].Action != "household.create" || es[0].Actor != "tester" || es[0].Target != "household:H000000" {
		t.Fatalf("a change's audit entry: %+v", es[0])
	}
	if !reflect.DeepEqual(es[6], read) {
		t.Fatalf("listed %+v, appended %+v", es[6], read)
	}
	if tail := must(e.store.ListAudit(e.ctx, 5, 1))(t); len(tail) != 1 || tail[0].Seq != 6 {
		t.Fatalf("after 5, limit 1: %+v", tail)
	}
	v := must(e.store.VerifyAudit(e.ctx))(t)
	if !v.OK || v.Entries != 7 || !bytes.Equal(v.Head, es[6].Hash) {
		t.Fatalf("verify: %+v", v)
	}
	_, err := e.store.AppendAudit(e.ctx, muster.AuditEntry{})
	wantCode(t, err, muster.EINVALID, "audit entry without action")
}

func testAuditTamper(t *testing.T, fresh Fresh, how string) {
	e := setup(t, fresh)
	fillAudit(t, e, 8)
	if v := must(e.store.VerifyAudit(e.ctx))(t); !v.OK {
		t.Fatalf("before tampering: %+v", v)
	}
	wantBad := int64(0)
	switch how {
	case "edited":
		e.db.Exec(t, `UPDATE audit SET actor = 'someone else' WHERE seq = 4`)
		wantBad = 4
	case "deleted":
		e.db.Exec(t, `DELETE FROM audit WHERE seq = 5`)
		wantBad = 5
	case "swapped":
		e.db.Exec(t, `UPDATE audit SET seq = -3 WHERE seq = 3`)
		e.db.Exec(t, `UPDATE audit SET seq = 3 WHERE seq = 6`)
		e.db.Exec(t, `UPDATE audit SET seq = 6 WHERE seq = -3`)
		wantBad = 3
	case "truncated":
		e.db.Exec(t, `DELETE FROM audit WHERE seq = 8`)
		wantBad = 8
	}
	v := must(e.store.VerifyAudit(e.ctx))(t)
	if v.OK || v.FirstBad != wantBad || v.Reason == "" {
		t.Fatalf("%s entry: verify says %+v, want first bad %d", how, v, wantBad)
	}
	t.Logf("%s: %s", how, v.Reason)
}

func testAuditConcurrentInstances(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	second := e.open(e.keys)
	const per = 40
	var wg sync.WaitGroup
	errs := make(chan error, 4*per)
	for w := range 4 {
		s := []muster.Store{e.store, second}[w%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				if _, err := s.AppendAudit(e.ctx, muster.AuditEntry{Action: "household.read", Target: fmt.Sprintf("household:%d-%d", w, i)}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	v := must(second.VerifyAudit(e.ctx))(t)
	if !v.OK || v.Entries != 4*per {
		t.Fatalf("after concurrent appends from two instances: %+v", v)
	}
}

func testNoPlaintextAtRest(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	hs := batch(1, 20)
	must(e.store.ImportHouseholds(e.ctx, hs, muster.ImportOptions{}))(t)
	must(e.store.SetHouseholdStatus(e.ctx, hs[0].ID, muster.StatusVerified, 0, "met Zarghuna at the hotel"))(t)
	raw := e.db.Raw(t)
	if !bytes.Contains(raw, []byte(hs[0].ID)) {
		t.Fatal("Raw does not hold the household ids: the check below would prove nothing")
	}
	for _, h := range hs {
		for field, v := range map[string]string{"name": h.Name, "name_local": h.NameLocal, "phone": h.Phone,
			"phone digits": strings.TrimPrefix(h.Phone, "+"), "email": h.Email, "member": h.Members[1].Name, "notes": h.Notes,
			"lat": fmt.Sprint(h.Lat), "priority": h.Priority, "documents": h.Documents} {
			if bytes.Contains(raw, []byte(v)) {
				t.Fatalf("household %s: %s %q is stored in clear", h.ID, field, v)
			}
		}
	}
	if bytes.Contains(raw, []byte("met Zarghuna")) {
		t.Fatal("a status note is stored in clear")
	}
}

func testWrongKey(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	must(e.store.CreateHousehold(e.ctx, household(1)))(t)
	if _, err := e.db.Open(e.ctx, NewKeys().DataKeys()); err == nil {
		t.Fatal("a store opened with another master key")
	}
	again := e.open(e.keys)
	if got := must(again.GetHousehold(e.ctx, "H000001"))(t); got.Name != household(1).Name {
		t.Fatalf("reopened with the right key: %+v", got)
	}
}

func testWipe(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	must(e.store.CreateHousehold(e.ctx, household(1)))(t)
	wrapped := e.keys.Wrapped()
	if len(wrapped) != 1 || !bytes.Contains(e.db.Raw(t), wrapped[0]) {
		t.Fatal("the wrapped key is not in the database: the check below would prove nothing")
	}
	res := must(e.store.Wipe(e.ctx))(t)
	if res.WipedAt.IsZero() || !strings.Contains(res.Message, "destroyed") {
		t.Fatalf("wipe says %+v", res)
	}
	t.Log(res.Message)
	_, err := e.store.GetHousehold(e.ctx, "H000001")
	wantCode(t, err, muster.EFORBIDDEN, "read after wipe")
	_, _, err = e.store.ListHouseholdContacts(e.ctx, "", 0)
	wantCode(t, err, muster.EFORBIDDEN, "contacts after wipe")
	_, err = e.db.Open(e.ctx, e.keys.DataKeys())
	wantCode(t, err, muster.EFORBIDDEN, "open after wipe")
	if bytes.Contains(e.db.Raw(t), wrapped[0]) {
		t.Fatal("the wrapped key is still in the database after wipe")
	}
	if n := len(e.keys.Wrapped()); n != 1 {
		t.Fatalf("open after wipe made a new key (%d keys)", n)
	}
	if v := must(e.store.VerifyAudit(e.ctx))(t); !v.OK {
		t.Fatalf("audit after wipe: %+v", v)
	}
}

func testClaimJob(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	second := e.open(e.keys)
	stores := []muster.Store{e.store, second}
	var wg sync.WaitGroup
	var got atomic.Int32
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := stores[i%2].ClaimJob(e.ctx, "send", "household:H1:instruction:3", 0)
			if err != nil {
				errs <- err
			}
			if ok {
				got.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got.Load() != 1 {
		t.Fatalf("%d of 20 concurrent claims won, want exactly 1", got.Load())
	}
	if ok := must(e.store.ClaimJob(e.ctx, "send", "household:H1:instruction:3", 0))(t); ok {
		t.Fatal("a claimed-for-ever job was claimed again")
	}
	if ok := must(e.store.ClaimJob(e.ctx, "send", "household:H1:instruction:4", 0))(t); !ok {
		t.Fatal("another key could not be claimed")
	}
	// A claim with a ttl can be taken again once it expires.
	c, ok := e.store.(clock)
	if !ok {
		t.Skip("store has no SetNow: ttl expiry not tested")
	}
	now := time.Now()
	c.SetNow(func() time.Time { return now })
	if ok := must(e.store.ClaimJob(e.ctx, "replan", "zone-7", time.Minute))(t); !ok {
		t.Fatal("first ttl claim lost")
	}
	now = now.Add(30 * time.Second)
	if ok := must(e.store.ClaimJob(e.ctx, "replan", "zone-7", time.Minute))(t); ok {
		t.Fatal("a live claim was taken")
	}
	now = now.Add(time.Minute)
	if ok := must(e.store.ClaimJob(e.ctx, "replan", "zone-7", time.Minute))(t); !ok {
		t.Fatal("an expired claim could not be taken")
	}
	_, err := e.store.ClaimJob(e.ctx, "", "x", 0)
	wantCode(t, err, muster.EINVALID, "claim without kind")
}

func testSubscribe(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	second := e.open(e.keys)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	local := must(e.store.Subscribe(ctx))(t)
	remote := must(second.Subscribe(ctx))(t)
	must(e.store.CreateHousehold(e.ctx, household(1)))(t)
	for name, ch := range map[string]<-chan muster.Event{"same instance": local, "other instance": remote} {
		if !waitEvent(ch, muster.Event{Kind: "household", ID: "H000001"}) {
			t.Errorf("%s: no event for the new household", name)
		}
	}
	// A rolled-back change announces nothing.
	_, err := e.store.ImportHouseholds(e.ctx, []muster.Household{household(2), {ID: "bad id"}}, muster.ImportOptions{})
	wantCode(t, err, muster.EINVALID, "bad import")
	if err := e.store.AddReport(e.ctx, report("r1", time.Now())); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for done := false; !done; {
		select {
		case ev, ok := <-local:
			done = !ok || ev.Kind == "report"
			if ev.ID == "H000002" {
				t.Fatal("a rolled-back import was announced")
			}
		case <-timeout:
			t.Fatal("no event for the new report")
		}
	}
	cancel()
	for range local { // closed when ctx ends
	}
}

func waitEvent(ch <-chan muster.Event, want muster.Event) bool {
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return false
			}
			if ev == want {
				return true
			}
		case <-timeout:
			return false
		}
	}
}

func testMigrations(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	must(e.store.CreateHousehold(e.ctx, household(1)))(t)
	again := e.open(e.keys) // a second open migrates nothing and keeps the data
	if got := must(again.GetHousehold(e.ctx, "H000001"))(t); got.Name != household(1).Name {
		t.Fatal("data lost on reopen")
	}
	e.db.Exec(t, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 0)`)
	_, err := e.db.Open(e.ctx, e.keys.DataKeys())
	if err == nil || !strings.Contains(err.Error(), "newer muster") {
		t.Fatalf("opening a database newer than the binary: %v", err)
	}
}

// testConcurrentOpen: instances starting together on a new database
// migrate it once and share one data key.
func testConcurrentOpen(t *testing.T, fresh Fresh) {
	db := fresh(t)
	keys := NewKeys()
	ctx := muster.WithActor(context.Background(), "tester")
	const n = 4
	stores := make([]muster.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = db.Open(ctx, keys.DataKeys())
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	if _, err := stores[0].CreateHousehold(ctx, household(1)); err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		if got, err := s.GetHousehold(ctx, "H000001"); err != nil || got.Name != household(1).Name {
			t.Fatalf("instance %d cannot read what instance 0 wrote (two data keys?): %v", i, err)
		}
	}
}

// testHostileStrings: NUL bytes, invalid UTF-8 and huge strings in every
// field a client controls get EINVALID or ENOTFOUND, never an internal
// error (PostgreSQL refuses NUL and invalid UTF-8 in text; the store must
// say so before it asks).
func testHostileStrings(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	must(e.store.CreateHousehold(e.ctx, household(1)))(t)
	hostile := []string{"a\x00b", "\xff\xfe", strings.Repeat("x", 5000), "H000001\x00"}
	notInternal := func(what string, err error) {
		t.Helper()
		if code := muster.ErrorCode(err); code == muster.EINTERNAL {
			t.Fatalf("%s: internal error %v, want a client error", what, err)
		}
	}
	pw := must(cheapHash("pw"))(t)
	now := time.Now()
	for _, v := range hostile {
		q := fmt.Sprintf("%q", v[:min(len(v), 12)])
		for name, set := range map[string]func(h *muster.Household){
			"id": func(h *muster.Household) { h.ID = v }, "name": func(h *muster.Household) { h.Name = v },
			"documents": func(h *muster.Household) { h.Documents = v }, "notes": func(h *muster.Household) { h.Notes = v },
			"member": func(h *muster.Household) { h.Members[0].Name = v }, "phone": func(h *muster.Household) { h.Phone = v },
		} {
			h := household(2)
			set(&h)
			_, err := e.store.CreateHousehold(e.ctx, h)
			notInternal("create with hostile "+name+" "+q, err)
			_, err = e.store.ImportHouseholds(e.ctx, []muster.Household{h}, muster.ImportOptions{})
			notInternal("import with hostile "+name+" "+q, err)
		}
		_, err := e.store.GetHousehold(e.ctx, v)
		notInternal("get "+q, err)
		_, err = e.store.FindHouseholdsByPhone(e.ctx, v)
		notInternal("find by phone "+q, err)
		_, _, err = e.store.ListHouseholds(e.ctx, muster.HouseholdFilter{AfterID: v})
		notInternal("list after "+q, err)
		_, err = e.store.SetHouseholdStatus(e.ctx, v, muster.StatusVerified, 0, "")
		notInternal("status of "+q, err)
		_, err = e.store.SetHouseholdStatus(e.ctx, "H000001", muster.StatusVerified, 0, v)
		notInternal("status note "+q, err)
		_, err = e.store.SetHouseholdStatus(muster.WithActor(e.ctx, v), "H000001", muster.StatusVerified, 0, "")
		notInternal("actor "+q, err)
		r := report("r-"+fmt.Sprint(len(v)), now)
		r.Kind = v
		notInternal("report kind "+q, e.store.AddReport(e.ctx, r))
		notInternal("report id "+q, e.store.AddReport(e.ctx, report(v, now)))
		notInternal("user "+q, e.store.CreateUser(e.ctx, muster.User{Name: v, Role: muster.RoleAdmin, PasswordHash: pw}))
		_, err = e.store.GetUser(e.ctx, v)
		notInternal("get user "+q, err)
		notInternal("disable user "+q, e.store.DisableUser(e.ctx, v))
		_, err = e.store.SetUserPassword(e.ctx, v, pw, "")
		notInternal("password of "+q, err)
		_, err = e.store.SetUserPassword(e.ctx, "nobody", pw, v)
		notInternal("password keeping "+q, err)
		notInternal("enable user "+q, e.store.EnableUser(e.ctx, v))
		notInternal("role of "+q, e.store.SetUserRole(e.ctx, v, muster.RoleViewer))
		notInternal("role "+q, e.store.SetUserRole(e.ctx, "nobody", v))
		_, err = e.store.ListTokens(e.ctx, muster.TokenFilter{User: v, ID: v})
		notInternal("tokens of "+q, err)
		notInternal("unthrottle "+q, e.store.ClearThrottle(e.ctx, "account:"+v))
		notInternal("token for "+q, e.store.CreateToken(e.ctx, muster.Token{User: v, Kind: muster.TokenAPI, Hash: muster.TokenHash(v)}))
		notInternal("token id "+q, e.store.CreateToken(e.ctx, muster.Token{ID: v, User: "nobody", Kind: muster.TokenAPI, Hash: muster.TokenHash(v)}))
		notInternal("revoke token "+q, e.store.RevokeToken(e.ctx, v))
		notInternal("capability for "+q, e.store.CreateCapability(e.ctx, muster.CapabilityLink{HouseholdID: v, Hash: muster.TokenHash(v)}))
		notInternal("revoke capability "+q, e.store.RevokeCapability(e.ctx, v))
		_, err = e.store.AppendAudit(e.ctx, muster.AuditEntry{Action: "x", Detail: v})
		notInternal("audit detail "+q, err)
		_, err = e.store.ClaimJob(e.ctx, "send", v, 0)
		notInternal("claim "+q, err)
		for name, set := range map[string]func(m *muster.OutboxMessage){
			"household": func(m *muster.OutboxMessage) { m.HouseholdID = v }, "instruction": func(m *muster.OutboxMessage) { m.InstructionID = v },
			"recipient": func(m *muster.OutboxMessage) { m.Recipient = v }, "body": func(m *muster.OutboxMessage) { m.Body = v },
			"key": func(m *muster.OutboxMessage) { m.IdempotencyKey = v }, "code": func(m *muster.OutboxMessage) { m.AckCode = v },
		} {
			m := OutboxMessage(1, 1, muster.ChannelSMS)
			set(&m)
			_, _, err = e.store.EnqueueMessages(e.ctx, []muster.OutboxMessage{m})
			notInternal("enqueue with hostile "+name+" "+q, err)
		}
		_, _, err = e.store.ListMessages(e.ctx, muster.MessageFilter{HouseholdID: v, InstructionID: v, AfterID: v, AckCode: v})
		notInternal("list messages "+q, err)
		_, err = e.store.CountMessages(e.ctx, muster.MessageFilter{HouseholdID: v})
		notInternal("count messages "+q, err)
		_, err = e.store.LeaseMessages(e.ctx, v, nil, 10, time.Minute, time.Time{})
		notInternal("lease by "+q, err)
		_, err = e.store.CompleteMessage(e.ctx, v, v, muster.MessageResult{Outcome: muster.OutcomeDead, Error: v, ProviderMessageID: v})
		notInternal("complete "+q, err)
		_, err = e.store.RetryMessage(e.ctx, v)
		notInternal("retry "+q, err)
		_, err = e.store.Acknowledge(e.ctx, v, v, muster.AckCode, time.Time{})
		notInternal("acknowledge "+q, err)
	}
	if v := must(e.store.VerifyAudit(e.ctx))(t); !v.OK {
		t.Fatalf("audit: %+v", v)
	}
}

// testCloseTwice: closing a store a second time (a deferred Close after
// an explicit one) returns, as the first did, and a store closed refuses
// its work with an error, not a panic.
func testCloseTwice(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	s := e.open(e.keys) // Cleanup closes it once more
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close again: %v", err)
	}
	if _, err := s.ImportHouseholds(e.ctx, batch(1, 1), muster.ImportOptions{}); err == nil {
		t.Fatal("a closed store took a write")
	}
	if _, err := s.ListPlans(e.ctx, 10); err == nil {
		t.Fatal("a closed store answered a read")
	}
}
