package httpapi

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/muster-evac/muster"
)

// TestHouseholdSearch: a planner finds households by id and by a part of
// a name in either script, ignoring case; each search that shows someone
// is audited with the ids shown and not the words searched; a viewer may
// not search; a query too short is refused, saying why.
func TestHouseholdSearch(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		e := newEnv(t, open(t), nil)
		for i, name := range []string{"Zarghuna Ahmadi", "Nasrin AHMADI", "Farid Karimi"} {
			h := newHousehold([]string{"H-S1", "H-S2", "H-S3"}[i], fmt.Sprintf("+9370123456%d", i))
			h.Name = name
			if i == 2 {
				h.NameLocal = "فرید کریمی"
			}
			e.do("planner", "POST", "/api/households", mustJSON(h), 201, nil)
		}
		search := func(q string) []string {
			var out householdSearchResponse
			e.do("planner", "GET", "/api/households/search?q="+q, nil, 200, &out)
			var ids []string
			for _, h := range out.Households {
				ids = append(ids, h.ID)
			}
			return ids
		}
		if got := search("ahmadi"); !slices.Equal(got, []string{"H-S1", "H-S2"}) {
			t.Errorf("ahmadi: %v", got)
		}
		if got := search("H-S3"); !slices.Equal(got, []string{"H-S3"}) {
			t.Errorf("by id: %v", got)
		}
		if got := search(url.QueryEscape("کریمی")); !slices.Equal(got, []string{"H-S3"}) { // in the own script
			t.Errorf("in Dari script: %v", got)
		}
		if got := search("nobody"); len(got) != 0 {
			t.Errorf("nobody: %v", got)
		}
		var limited householdSearchResponse
		e.do("planner", "GET", "/api/households/search?q=a&limit=1", nil, 400, nil)
		e.do("planner", "GET", "/api/households/search?q=ah&limit=1", nil, 200, &limited)
		if len(limited.Households) != 1 || !limited.More {
			t.Errorf("limit 1: %+v", limited)
		}
		e.do("viewer", "GET", "/api/households/search?q=ahmadi", nil, 403, nil)
		if msg := errorOf(t, e.do("planner", "GET", "/api/households/search?q=x", nil, 400, nil)).Message; !strings.Contains(msg, "at least 2") {
			t.Errorf("a short query: %q", msg)
		}

		es, err := e.store.ListAudit(context.Background(), 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var searches []string
		for _, en := range es {
			if en.Action == "household.search" {
				searches = append(searches, en.Actor+" "+en.Detail)
				if strings.Contains(strings.ToLower(en.Detail), "ahmadi") {
					t.Errorf("the audit keeps the words searched: %q", en.Detail)
				}
			}
		}
		all := strings.Join(searches, "\n")
		for _, want := range []string{"H-S1,H-S2", "1 households: H-S3"} {
			if !strings.Contains(all, want) {
				t.Errorf("no search audited showing %s:\n%s", want, all)
			}
		}
		if len(searches) != 4 { // ahmadi, the id, the Dari name, the limit; not "nobody"
			t.Errorf("%d searches audited, want 4:\n%s", len(searches), all)
		}
	})
}
