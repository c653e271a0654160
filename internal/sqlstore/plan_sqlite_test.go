package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/storetest"
	_ "modernc.org/sqlite"
)

// TestBulkStatementsOnSQLite: on the schema package sqlite migrates to,
// the statements an issuance runs by the thousand build no temporary
// table (an IN list of three values in outbox_pending's predicate made
// every insert of messages build one and free its pages), and the lease
// still finds the due messages through outbox_pending, in its order.
func TestBulkStatementsOnSQLite(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "plan.db")+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	migrations := os.DirFS("../../sqlite/migrations")
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("migrations: %v %v", names, err)
	}
	slices.Sort(names)
	for _, n := range names {
		q, err := fs.ReadFile(migrations, n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(q)); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
	}
	d := Dialect{Name: "sqlite", BulkInsert: "INSERT OR FAIL", EmptyBytes: "X''"}
	c := &Core{d: d, outboxInsert: insertOutboxQueries(d.bulkInsert(), d.EmptyBytes), issueInsert: newIssueQueries(d.bulkInsert())}
	opcodes := func(q string) []string {
		t.Helper()
		rows, err := db.Query("EXPLAIN "+q, make([]any, strings.Count(q, "?"))...)
		if err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var ops []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			ops = append(ops, vals[1].(string))
		}
		return ops
	}
	for what, q := range map[string]string{
		"queue messages":      c.outboxInsert[enqueueChunk],
		"insert versions":     c.issueInsert.instructions[issueChunk],
		"insert capabilities": c.issueInsert.capabilities[linkChunk],
		"insert links":        c.issueInsert.links[linkChunk],
	} {
		if ops := opcodes(q); slices.Contains(ops, "OpenEphemeral") {
			t.Errorf("%s: the statement builds a temporary table", what)
		} else if !slices.Contains(ops, "Insert") && !slices.Contains(ops, "IdxInsert") {
			t.Errorf("%s: no insert in its program: %v", what, ops)
		}
	}
	rows, err := db.Query("EXPLAIN QUERY PLAN "+c.leaseQuery(), make([]any, strings.Count(c.leaseQuery(), "?"))...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if !slices.ContainsFunc(plan, func(d string) bool { return strings.Contains(d, "USING INDEX outbox_pending") }) ||
		slices.ContainsFunc(plan, func(d string) bool { return strings.Contains(d, "TEMP B-TREE FOR ORDER BY") }) {
		t.Fatalf("the lease does not scan outbox_pending in its order:\n%s", strings.Join(plan, "\n"))
	}
}

// TestExistingHouseholdsBothWays: which of a batch's households exist is
// the same whether they are looked up a hundred at a time or by reading
// every household's id (missingHouseholds, from scanHouseholdsFrom of them),
// whatever their order, repeats and missing ones.
func TestExistingHouseholdsBothWays(t *testing.T) {
	ctx := muster.WithActor(context.Background(), "test")
	path := filepath.Join(t.TempDir(), "h.db")
	w, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.SetMaxOpenConns(1)
	c, err := Open(ctx, w, w, Dialect{Name: "sqlite", GroupCommit: true}, os.DirFS("../../sqlite/migrations"), storetest.NewKeys().DataKeys())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var hs []muster.Household
	for i := range 300 {
		hs = append(hs, muster.Household{ID: fmt.Sprintf("H%06d", 2*i), Name: "N", PartySize: 1, Adults: 1, Language: muster.LangDari})
	}
	if _, err := c.ImportHouseholds(ctx, hs, muster.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := 599; i >= 0; i-- {
		ids = append(ids, fmt.Sprintf("H%06d", i), fmt.Sprintf("H%06d", i/3)) // all of them, the odd ones missing, repeats
	}
	ids = append(ids, "", "H", "zzz")
	defer func(old int) { scanHouseholdsFrom = old }(scanHouseholdsFrom)
	found := map[int]map[string]bool{}
	missing := map[int][]string{}
	for _, from := range []int{1 << 30, 1} {
		scanHouseholdsFrom = from
		if err := c.write(ctx, func(w *wtx) error {
			var err error
			if found[from], err = w.existingHouseholds(ids); err != nil {
				return err
			}
			missing[from], err = w.missingHouseholds(ids)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	var wantMissing []string
	for _, id := range ids {
		if !found[1<<30][id] {
			wantMissing = append(wantMissing, id)
		}
	}
	slices.Sort(wantMissing)
	wantMissing = slices.Compact(wantMissing)
	if !slices.Equal(missing[1], wantMissing) || !slices.Equal(missing[1<<30], wantMissing) || len(wantMissing) != 300+3 {
		t.Fatalf("missing: read whole %d, a hundred at a time %d, want %d", len(missing[1]), len(missing[1<<30]), len(wantMissing))
	}
	if !reflect.DeepEqual(found[1], found[1<<30]) || len(found[1]) != 300 {
		t.Fatalf("read whole, %d found; a hundred at a time, %d", len(found[1]), len(found[1<<30]))
	}
	for id := range found[1] {
		var n int
		if _, err := fmt.Sscanf(id, "H%06d", &n); err != nil || n%2 != 0 {
			t.Fatalf("%q found", id)
		}
	}
}
