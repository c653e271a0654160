package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/places"
)

func TestLoginLogout(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		e := newEnv(t, open(t), nil)
		for _, bad := range []loginRequest{{Name: "admin-user", Password: "wrong password!"}, {Name: "nobody", Password: password("admin")}} {
			resp, b := e.request("", "POST", "/api/login", mustJSON(bad), "")
			if resp.StatusCode != 401 || errorOf(t, b).Code != muster.EUNAUTHORIZED {
				t.Errorf("login %s with a wrong password: %d %s", bad.Name, resp.StatusCode, b)
			}
		}
		tok := e.login("field-user", password("field"))
		e.tokens["session"] = tok
		var who map[string]any
		e.do("session", "GET", "/api/whoami", nil, 200, &who)
		if who["user"] != "field-user" || who["role"] != "field" {
			t.Errorf("whoami: %v", who)
		}
		e.do("session", "POST", "/api/logout", nil, 200, nil)
		resp, b := e.request("session", "GET", "/api/whoami", nil, "")
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("a logged out token still works: %d %s", resp.StatusCode, b)
		}
		for _, h := range []string{"Bearer", "Basic abc", "Bearer " + muster.NewSecret()} {
			req, _ := http.NewRequest("GET", e.srv.URL+"/api/whoami", nil)
			req.Header.Set("Authorization", h)
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 {
				t.Errorf("Authorization %q: status %d, want 401", h, resp.StatusCode)
			}
		}
		// A disabled account's tokens stop at once.
		if err := e.store.DisableUser(context.Background(), "viewer-user"); err != nil {
			t.Fatal(err)
		}
		if resp, _ := e.request("viewer", "GET", "/api/whoami", nil, ""); resp.StatusCode != 401 {
			t.Errorf("disabled user's token: status %d, want 401", resp.StatusCode)
		}
		if resp, _ := e.request("", "POST", "/api/login", mustJSON(loginRequest{Name: "viewer-user", Password: password("viewer")}), ""); resp.StatusCode != 401 {
			t.Errorf("disabled user logs in: status %d", resp.StatusCode)
		}
	})
}

func TestHouseholdLifecycle(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		e := newEnv(t, open(t), nil)
		id := e.createHousehold("field", "HH-B", "+93700000002")
		var got householdOut
		e.do("planner", "GET", "/api/households/"+id, nil, 200, &got)
		want := newHousehold("HH-B", "+93700000002")
		if got.Name != want.Name || got.NameLocal != want.NameLocal || got.Phone != want.Phone || got.Notes != want.Notes ||
			got.Location == nil || got.Location.Lat != 34.53 || got.Status != muster.StatusRegistered || got.Version < 1 || len(got.History) != 1 {
			t.Fatalf("read back %+v", got)
		}
		// Update from the current version, then again from the stale one.
		upd := want
		upd.Version = got.Version
		upd.Notes = "second visit"
		var after householdOut
		e.do("field", "PUT", "/api/households/"+id, mustJSON(upd), 200, &after)
		if after.Notes != "second visit" || after.Version <= got.Version {
			t.Errorf("update: %+v", after)
		}
		resp, b := e.request("field", "PUT", "/api/households/"+id, mustJSON(upd), "")
		if resp.StatusCode != 409 || errorOf(t, b).Code != muster.ECONFLICT {
			t.Errorf("stale update: %d %s, want 409 conflict", resp.StatusCode, b)
		}
		// Status, with and without the version check.
		var moved householdOut
		e.do("field", "POST", "/api/households/"+id+"/status", mustJSON(statusRequest{Status: muster.StatusVerified, Version: after.Version}), 200, &moved)
		if moved.Status != muster.StatusVerified || len(moved.History) != 2 || moved.History[1].By != "field-user" {
			t.Errorf("status: %+v", moved)
		}
		if resp, b := e.request("field", "POST", "/api/households/"+id+"/status", mustJSON(statusRequest{Status: muster.StatusAssigned, Version: after.Version}), ""); resp.StatusCode != 409 {
			t.Errorf("stale status change: %d %s", resp.StatusCode, b)
		}
		if resp, b := e.request("field", "POST", "/api/households/"+id+"/status", []byte(`{"status":"teleported"}`), ""); resp.StatusCode != 400 ||
			!strings.Contains(errorOf(t, b).Message, "teleported") {
			t.Errorf("unknown status: %d %s", resp.StatusCode, b)
		}
		// Creating the same id twice is a conflict; a missing one is 404.
		if resp, b := e.request("field", "POST", "/api/households", mustJSON(newHousehold("HH-B", "+93700000003")), ""); resp.StatusCode != 409 {
			t.Errorf("duplicate id: %d %s", resp.StatusCode, b)
		}
		if resp, b := e.request("field", "GET", "/api/households/NOPE", nil, ""); resp.StatusCode != 404 || errorOf(t, b).Code != muster.ENOTFOUND {
			t.Errorf("missing household: %d %s", resp.StatusCode, b)
		}
		// Paging through everything, two at a time, and a filter.
		for i := range 5 {
			e.createHousehold("planner", fmt.Sprintf("HP-%d", i), fmt.Sprintf("+9370010000%d", i))
		}
		var ids []string
		after2 := ""
		for pages := 0; ; pages++ {
			var page householdPage
			e.do("admin", "GET", "/api/households?limit=2&after="+after2, nil, 200, &page)
			for _, h := range page.Households {
				ids = append(ids, h.ID)
			}
			if page.Next == "" || pages > 10 {
				break
			}
			after2 = page.Next
		}
		if len(ids) != 7 {
			t.Errorf("paged through %d households %v, want 7", len(ids), ids)
		}
		var verified householdPage
		e.do("admin", "GET", "/api/households?status=verified", nil, 200, &verified)
		if len(verified.Households) != 1 || verified.Households[0].ID != id {
			t.Errorf("status filter: %+v", verified)
		}
		var count map[string]int
		e.do("viewer", "GET", "/api/households/count?status=registered", nil, 200, &count)
		if count["count"] != 6 {
			t.Errorf("count registered: %v, want 6", count)
		}
		for _, q := range []string{"limit=0", "limit=5000", "limit=x", "status=lost", "priority=vip"} {
			if resp, b := e.request("admin", "GET", "/api/households?"+q, nil, ""); resp.StatusCode != 400 {
				t.Errorf("?%s: %d %s, want 400", q, resp.StatusCode, b)
			}
		}
	})
}

// TestCapabilityLinkIsolation: a link shows its own household and nothing
// else, not the operators' notes; an unknown or revoked link is 404.
func TestCapabilityLinkIsolation(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		e := newEnv(t, open(t), nil)
		b := newHousehold("HH-OTHER", "+93700000077")
		b.Name, b.NameLocal = "Other Family", "خانواده دیگر"
		var bOut householdOut
		e.do("field", "POST", "/api/households", mustJSON(b), 201, &bOut)
		linkB := e.createLink("field", bOut.ID)

		var a evacueeView
		raw := e.do("", "GET", "/api/me/"+e.link, nil, 200, &a)
		if a.ID != e.hh || a.Name != "Test Household HH-A" || a.PartySize != 3 || a.Status != muster.StatusRegistered {
			t.Errorf("own household through the link: %+v", a)
		}
		for _, leak := range []string{"HH-OTHER", "Other Family", "+93700000077", "needs wheelchair", "+93700000001", "admin-user"} {
			if bytes.Contains(raw, []byte(leak)) {
				t.Errorf("household A's link shows %q: %s", leak, raw)
			}
		}
		var bv evacueeView
		e.do("", "GET", "/api/me/"+linkB, nil, 200, &bv)
		if bv.ID != "HH-OTHER" {
			t.Errorf("B's link shows %q", bv.ID)
		}
		// Guessed and mangled links.
		last := "A"
		if strings.HasSuffix(e.link, "A") {
			last = "B"
		}
		for _, tok := range []string{muster.NewSecret(), e.link[:len(e.link)-1] + last, "x", strings.Repeat("a", 300)} {
			resp, body := e.request("", "GET", "/api/me/"+tok, nil, "")
			if resp.StatusCode != 404 || bytes.Contains(body, []byte("HH-")) {
				t.Errorf("link %q: %d %s, want 404 revealing nothing", tok, resp.StatusCode, body)
			}
		}
		// An operator's token is not a capability, nor the reverse.
		if resp, _ := e.request("", "GET", "/api/me/"+e.tokens["admin"], nil, ""); resp.StatusCode != 404 {
			t.Errorf("an operator token used as a link: %d", resp.StatusCode)
		}
		e.tokens["link"] = e.link
		if resp, _ := e.request("link", "GET", "/api/households/"+e.hh, nil, ""); resp.StatusCode != 401 {
			t.Errorf("a link used as a bearer token: %d", resp.StatusCode)
		}
		// Revoke B's link: B is shut out, A is not.
		var made linkResponse
		e.do("planner", "POST", "/api/households/HH-OTHER/links", []byte(`{}`), 201, &made)
		e.do("planner", "DELETE", "/api/links/"+made.ID, nil, 200, nil)
		if resp, _ := e.request("", "GET", made.Path, nil, ""); resp.StatusCode != 404 {
			t.Errorf("revoked link: %d, want 404", resp.StatusCode)
		}
		if resp, _ := e.request("", "GET", "/api/me/"+linkB, nil, ""); resp.StatusCode != 200 {
			t.Errorf("revoking one link closed another: %d", resp.StatusCode)
		}
		if resp, _ := e.request("planner", "DELETE", "/api/links/cap_nosuch", nil, ""); resp.StatusCode != 404 {
			t.Errorf("revoking an unknown link: %d, want 404", resp.StatusCode)
		}
		if resp, _ := e.request("planner", "POST", "/api/households/NOPE/links", []byte(`{}`), ""); resp.StatusCode != 404 {
			t.Errorf("a link to no household: %d, want 404", resp.StatusCode)
		}
		// An expired link.
		e.api.now = func() time.Time { return time.Now().Add(3 * time.Hour) }
		var short linkResponse
		e.do("planner", "POST", "/api/households/HH-OTHER/links", []byte(`{"expires_in_hours":1}`), 201, &short)
		e.api.now = func() time.Time { return time.Now().Add(5 * time.Hour) }
		if resp, _ := e.request("", "GET", short.Path, nil, ""); resp.StatusCode != 404 {
			t.Errorf("expired link: %d, want 404", resp.StatusCode)
		}
		e.api.now = time.Now
		// With no expiry asked for, a link still expires: DefaultLinkTTL on.
		var dflt linkResponse
		e.do("planner", "POST", "/api/households/HH-OTHER/links", []byte(`{}`), 201, &dflt)
		if dflt.ExpiresAt == nil || dflt.ExpiresAt.Sub(time.Now().Add(DefaultLinkTTL)).Abs() > time.Minute {
			t.Fatalf("a link with no expiry asked for expires at %v, want in %v", dflt.ExpiresAt, DefaultLinkTTL)
		}
		e.api.now = func() time.Time { return time.Now().Add(DefaultLinkTTL + time.Hour) }
		if resp, _ := e.request("", "GET", dflt.Path, nil, ""); resp.StatusCode != 404 {
			t.Errorf("a link past the default expiry: %d, want 404", resp.StatusCode)
		}
		e.api.now = time.Now
	})
}

// TestImportDirtyScenario imports the Kabul scenario's dirty list: the dry
// run says row by row what would happen and stores nothing; the import
// stores the good rows; importing again changes nothing.
func TestImportDirtyScenario(t *testing.T) {
	path := sharedFile(t, "scenarios/kabul-2021/evacuees-dirty.csv")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The file's own "expected" column says which rows are valid.
	// The file's own "expected" column says which rows are valid.
	expected := csvLastFields(t, data)
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		e := newEnv(t, open(t), nil)
		post := func(q string) (ImportReport, int, []byte) {
			resp, b := e.request("planner", "POST", "/api/households/import"+q, data, "text/csv; charset=utf-8")
			var rep ImportReport
			if resp.StatusCode == 200 {
				if err := json.Unmarshal(b, &rep); err != nil {
					t.Fatal(err)
				}
			}
			return rep, resp.StatusCode, b
		}
		before, _ := e.store.CountHouseholds(context.Background(), muster.HouseholdFilter{})
		dry, status, b := post("?dry_run=true")
		if status != 200 {
			t.Fatalf("dry run: %d %s", status, b)
		}
		if !dry.DryRun || dry.Committed {
			t.Errorf("dry run report: dry_run %v committed %v", dry.DryRun, dry.Committed)
		}
		valid := 0
		for _, row := range dry.Rows {
			exp, ok := expected[row.Line]
			if !ok {
				t.Errorf("report row at line %d, which the file has no row at", row.Line)
				continue
			}
			wantValid := strings.HasPrefix(exp, "valid")
			if wantValid {
				valid++
			}
			switch {
			case wantValid && row.Action != muster.ImportCreated:
				t.Errorf("line %d (%s) %s: %s %v, want created", row.Line, row.ID, exp, row.Action, row.Reasons)
			case !wantValid && (row.Action != muster.ImportRejected || len(row.Reasons) == 0):
				t.Errorf("line %d (%s) %s: %s, want rejected with a reason", row.Line, row.ID, exp, row.Action)
			}
		}
		if len(dry.Rows) < 20 || dry.Created != valid || dry.Created+dry.Rejected != len(dry.Rows) {
			t.Errorf("dry run: %d rows, %d created, %d rejected; %d valid expected", len(dry.Rows), dry.Created, dry.Rejected, valid)
		}
		if n, _ := e.store.CountHouseholds(context.Background(), muster.HouseholdFilter{}); n != before {
			t.Errorf("a dry run stored %d households", n-before)
		}
		real, status, b := post("")
		if status != 200 || !real.Committed || real.Created != valid {
			t.Fatalf("import: %d committed %v created %d, want %d: %s", status, real.Committed, real.Created, valid, b)
		}
		if n, _ := e.store.CountHouseholds(context.Background(), muster.HouseholdFilter{}); n != before+valid {
			t.Errorf("after import %d households, want %d", n, before+valid)
		}
		again, status, _ := post("")
		if status != 200 || again.Created != 0 || again.Updated != 0 || again.Unchanged != valid {
			t.Errorf("re-import: created %d updated %d unchanged %d, want 0, 0, %d", again.Created, again.Updated, again.Unchanged, valid)
		}
		// The formula in D0011's notes is neutralised in the export.
		resp, csv := e.request("planner", "GET", "/api/households/export", nil, "")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("export: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if !bytes.Contains(csv, []byte(`'=HYPERLINK`)) || bytes.Contains(csv, []byte(`,=HYPERLINK`)) || !bytes.Contains(csv, []byte("D0019")) {
			t.Errorf("export lacks a neutralised formula or a household:\n%s", csv)
		}
		// Bad query parameters, a file that is not CSV.
		for q, want := range map[string]int{"?dry_run=perhaps": 400, "?country_code=93": 400} {
			if _, status, b := post(q); status != want {
				t.Errorf("import%s: %d %s", q, status, b)
			}
		}
		resp, b = e.request("planner", "POST", "/api/households/import", []byte("just some words\n"), "text/csv")
		if resp.StatusCode != 400 || errorOf(t, b).Code != muster.EINVALID {
			t.Errorf("not an evacuee list: %d %s", resp.StatusCode, b)
		}
	})
}

// TestImportMemberNames: a list's member names (Dari included) are read
// back through the API; a list without them leaves alone the members
// entered through the API.
func TestImportMemberNames(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		e := newEnv(t, open(t), nil)
		importCSV := func(q, csv string, want int) ImportReport {
			t.Helper()
			resp, b := e.request("planner", "POST", "/api/households/import"+q, []byte(csv), "text/csv")
			var rep ImportReport
			if err := json.Unmarshal(b, &rep); resp.StatusCode != want || err != nil {
				t.Fatalf("import: %d %s (%v)", resp.StatusCode, b, err)
			}
			return rep
		}
		var hh householdOut
		e.do("field", "GET", "/api/households/"+e.hh, nil, 200, &hh)
		in := newHousehold(e.hh, "+93700000001")
		in.Version = hh.Version
		in.Members = []memberJSON{{Name: "Karim", Age: 40}, {Name: "Laila", AgeBand: "adult"}, {Name: "Omid", AgeBand: "child"}}
		e.do("field", "PUT", "/api/households/"+e.hh, mustJSON(in), 200, &hh)

		rep := importCSV("", "household_id,name,members,phone,lat,lon,notes,Family members\n"+
			"HH-M,Karimi,,+93700000777,34.5,69.2,,\"کریم کریمی (۴۲); لیلا (adult)\nOmid (7)\"\n", 200)
		if rep.Created != 1 || !rep.Committed {
			t.Fatalf("import: %+v", rep)
		}
		var got householdOut
		e.do("field", "GET", "/api/households/HH-M", nil, 200, &got)
		want := []memberJSON{{Name: "کریم کریمی", Age: 42}, {Name: "لیلا", AgeBand: "adult"}, {Name: "Omid", Age: 7}}
		if !reflect.DeepEqual(got.Members, want) || got.PartySize != 3 || got.Adults != 2 || got.Children != 1 {
			t.Fatalf("imported household %+v, want members %+v", got, want)
		}

		// The same household in a list without member names: unchanged,
		// and the members entered through the API are still there.
		rep = importCSV("", "household_id,name,members,phone,lat,lon,notes\n"+
			e.hh+",Test Household "+e.hh+",3,+93700000001,34.53,69.18,needs wheelchair\n", 200)
		if rep.Unchanged != 1 || rep.Updated != 0 {
			t.Fatalf("re-import without member names: %+v", rep)
		}
		var after householdOut
		e.do("field", "GET", "/api/households/"+e.hh, nil, 200, &after)
		if !reflect.DeepEqual(after.Members, hh.Members) || len(after.Members) != 3 || after.Version != hh.Version {
			t.Fatalf("members after an import without them: %+v (version %d), want %+v (version %d)", after.Members, after.Version, hh.Members, hh.Version)
		}

		rep = importCSV("?dry_run=true", "household_id,name,phone,address,member_names\nHH-N,N,+93700000778,Kabul,Ali (teen)\n", 200)
		if len(rep.Rows) != 1 || rep.Rows[0].Action != muster.ImportRejected || len(rep.Rows[0].Reasons) != 1 ||
			!strings.Contains(rep.Rows[0].Reasons[0], `line 2, column "member_names": "Ali (teen)" has member 1`) {
			t.Fatalf("bad member list: %+v", rep)
		}
	})
}

// TestStrictJSON: every malformed body is a 400 saying what is wrong.
func TestStrictJSON(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		e := newEnv(t, open(t), func(c *Config) { c.MaxJSONBytes = 4096; c.MaxCSVBytes = 8192 })
		good := string(mustJSON(newHousehold("HH-J", "+93700000555")))
		cases := []struct{ name, body, ct, wantIn string }{
			{"unknown field", `{"id":"X1","nmae":"typo"}`, "", `"nmae"`},
			{"trailing data", good + `x`, "", "after the JSON value"},
			{"two objects", good + good, "", "after the JSON value"},
			{"wrong type", `{"party_size":"three"}`, "", "party_size"},
			{"syntax", `{"id":`, "", "ends too early"},
			{"bad syntax", `{"id" "x"}`, "", "invalid JSON"},
			{"empty", ``, "", "empty"},
			{"array", `[1,2]`, "", "want"},
			{"latitude", strings.Replace(good, `"lat":34.53`, `"lat":95.2`, 1), "", "location.lat"},
			{"longitude", strings.Replace(good, `"lon":69.18`, `"lon":-181`, 1), "", "location.lon"},
			{"null island", strings.Replace(strings.Replace(good, `"lat":34.53`, `"lat":0`, 1), `"lon":69.18`, `"lon":0`, 1), "", "0,0"},
			{"priority", strings.Replace(good, `"medical"`, `"vip"`, 1), "", "priority"},
			{"language", strings.Replace(good, `"fa"`, `"de"`, 1), "", "language"},
			{"party size", strings.Replace(good, `"party_size":3`, `"party_size":0`, 1), "", "party_size"},
			{"adults", strings.Replace(good, `"adults":2`, `"adults":7`, 1), "", "adults"},
			{"version on create", strings.Replace(good, `"version":0`, `"version":3`, 1), "", "version"},
			{"content type", good, "text/plain", "Content-Type"},
			{"huge number", strings.Replace(good, `"party_size":3`, `"party_size":1e400`, 1), "", "party_size"},
		}
		for _, c := range cases {
			resp, b := e.request("field", "POST", "/api/households", []byte(c.body), c.ct)
			if resp.StatusCode != 400 {
				t.Errorf("%s: status %d, want 400: %s", c.name, resp.StatusCode, b)
				continue
			}
			eb := errorOf(t, b)
			if eb.Code != muster.EINVALID || !strings.Contains(eb.Message, c.wantIn) {
				t.Errorf("%s: %s %q, want invalid mentioning %q", c.name, eb.Code, eb.Message, c.wantIn)
			}
		}
		// Over the limit: 413 with a JSON error, for JSON and for CSV.
		big := `{"id":"X","notes":"` + strings.Repeat("a", 5000) + `"}`
		resp, b := e.request("field", "POST", "/api/households", []byte(big), "")
		if resp.StatusCode != 413 || errorOf(t, b).Code != codeTooLarge {
			t.Errorf("JSON over the limit: %d %s, want 413", resp.StatusCode, b)
		}
		csv := "household_id,name,members,phone,lat,lon\n" + strings.Repeat("H1,Name,2,+93700000001,34.5,69.2\n", 400)
		resp, b = e.request("planner", "POST", "/api/households/import?dry_run=true", []byte(csv), "text/csv")
		if resp.StatusCode != 413 || errorOf(t, b).Code != codeTooLarge {
			t.Errorf("CSV over the limit: %d %s, want 413", resp.StatusCode, b)
		}
		// Not found and wrong method are JSON errors too.
		resp, b = e.request("", "GET", "/api/nothing-here", nil, "")
		if resp.StatusCode != 404 || errorOf(t, b).Code != muster.ENOTFOUND {
			t.Errorf("unknown path: %d %s", resp.StatusCode, b)
		}
		resp, b = e.request("admin", "PATCH", "/api/households/"+e.hh, []byte(`{}`), "")
		if resp.StatusCode != 405 || errorOf(t, b).Code != codeMethod || !strings.Contains(resp.Header.Get("Allow"), "PUT") {
			t.Errorf("wrong method: %d %s allow %q", resp.StatusCode, b, resp.Header.Get("Allow"))
		}
	})
}

// TestAuditOfReads: reading personal data leaves an audit entry naming who
// read which household, and the chain stays intact.
func TestAuditOfReads(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		e := newEnv(t, open(t), nil)
		ctx := context.Background()
		last := func() int64 {
			es, err := e.store.ListAudit(ctx, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			return es[len(es)-1].Seq
		}
		find := func(after int64, actor, action, target string) bool {
			es, err := e.store.ListAudit(ctx, after, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, en := range es {
				if en.Actor == actor && en.Action == action && en.Target == target {
					return true
				}
			}
			t.Logf("entries after %d: %+v", after, es)
			return false
		}
		mark := last()
		e.do("planner", "GET", "/api/households/"+e.hh, nil, 200, nil)
		if !find(mark, "planner-user", "household.read", "household:"+e.hh) {
			t.Errorf("no audit entry for planner-user reading %s", e.hh)
		}
		mark = last()
		e.do("", "GET", "/api/me/"+e.link, nil, 200, nil)
		if !find(mark, "evacuee:"+e.hh, "household.read", "household:"+e.hh) {
			t.Errorf("no audit entry for the evacuee reading their household")
		}
		mark = last()
		e.do("field", "GET", "/api/households", nil, 200, nil)
		if !find(mark, "field-user", "household.list", "households") {
			t.Errorf("no audit entry for a list")
		}
		mark = last()
		e.request("admin", "GET", "/api/households/export", nil, "")
		if !find(mark, "admin-user", "household.export", "households") {
			t.Errorf("no audit entry for an export")
		}
		// A count reveals no one: no entry.
		mark = last()
		e.do("viewer", "GET", "/api/households/count", nil, 200, nil)
		if got := last(); got != mark {
			t.Errorf("a count wrote %d audit entries", got-mark)
		}
		// Changes are audited by the store, attributed to the operator.
		mark = last()
		e.do("field", "POST", "/api/households/"+e.hh+"/status", []byte(`{"status":"verified"}`), 200, nil)
		if !find(mark, "field-user", "household.status", "household:"+e.hh) {
			t.Errorf("no audit entry for a status change by field-user")
		}
		var v map[string]any
		e.do("admin", "GET", "/api/audit/verify", nil, 200, &v)
		if v["ok"] != true {
			t.Errorf("audit chain: %v", v)
		}
		var page struct {
			Entries []auditJSON `json:"entries"`
		}
		e.do("admin", "GET", "/api/audit?after=0&limit=3", nil, 200, &page)
		if len(page.Entries) != 3 || page.Entries[0].Seq != 1 || page.Entries[1].PrevHash != page.Entries[0].Hash || len(page.Entries[2].MAC) != 64 {
			t.Errorf("audit page: %+v", page.Entries)
		}
		if mac, _ := v["head_mac"].(string); len(mac) != 64 {
			t.Errorf("audit verify: head_mac %v", v["head_mac"])
		}
	})
}

func TestReportsAndThreats(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		e := newEnv(t, open(t), nil)
		// One report written over several lines.
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, reportJSON("r-one"), "", "  "); err != nil {
			t.Fatal(err)
		}
		var out addReportsResponse
		e.do("field", "POST", "/api/reports", pretty.Bytes(), 201, &out)
		if len(out.Accepted) != 1 || out.Accepted[0] != "r-one" {
			t.Errorf("one report: %+v", out)
		}
		// JSON Lines with one bad line and one duplicate.
		lines := string(reportJSON("r-two")) + "\n" + `{"id":"r-bad","kind":"dragons"}` + "\n" + string(reportJSON("r-one")) + "\n"
		resp, b := e.request("field", "POST", "/api/reports", []byte(lines), mediaNDJSON)
		if resp.StatusCode != 201 {
			t.Fatalf("JSON Lines: %d %s", resp.StatusCode, b)
		}
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Accepted) != 1 || len(out.Rejected) != 2 || out.Rejected[0].Line != 2 || out.Rejected[1].ID != "r-one" {
			t.Errorf("JSON Lines: %s", b)
		}
		resp, b = e.request("field", "POST", "/api/reports", []byte(`{"id":"r-bad","kind":"dragons"}`), "")
		if resp.StatusCode != 400 || !strings.Contains(errorOf(t, b).Message, "line 1") {
			t.Errorf("only bad reports: %d %s", resp.StatusCode, b)
		}
		var list struct {
			Reports []json.RawMessage `json:"reports"`
		}
		e.do("viewer", "GET", "/api/reports", nil, 200, &list)
		if len(list.Reports) != 2 || !bytes.Contains(list.Reports[0], []byte(`"r-one"`)) {
			t.Errorf("reports: %s", list.Reports)
		}
		var fc struct {
			Type     string            `json:"type"`
			Features []json.RawMessage `json:"features"`
		}
		resp, b = e.request("viewer", "GET", "/api/threats?at=2021-08-21T18:00:00Z", nil, "")
		if resp.StatusCode != 200 || json.Unmarshal(b, &fc) != nil || fc.Type != "FeatureCollection" || len(fc.Features) == 0 {
			t.Errorf("threats: %d %s", resp.StatusCode, b)
		}
		if resp, b := e.request("viewer", "GET", "/api/threats?at=yesterday", nil, ""); resp.StatusCode != 400 {
			t.Errorf("bad at: %d %s", resp.StatusCode, b)
		}
	})
}

// TestEvents: a change reaches a subscriber as a server-sent event.
func TestEvents(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		e := newEnv(t, open(t), nil)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/events", nil)
		req.Header.Set("Authorization", "Bearer "+e.tokens["viewer"])
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != mediaSSE {
			t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Scan()                                    // the opening comment: subscribed
		e.login("planner-user", password("planner")) // a token event, not relayed
		id := e.createHousehold("field", "HH-EV", "+93700000888")
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "event: ") && line != "event: household" {
				t.Errorf("relayed %q: logins and links are not for every viewer", line)
			}
			if strings.HasPrefix(line, "data: ") && strings.Contains(line, id) {
				if !strings.Contains(line, `"kind":"household"`) {
					t.Errorf("event %s", line)
				}
				return
			}
		}
		t.Fatalf("no event for household %s: %v", id, sc.Err())
	})
}

func TestRateLimits(t *testing.T) {
	now := time.Now() // the login throttle's clock stands still: its waits do not run out
	e := newEnv(t, openSQLite(t), func(c *Config) {
		c.AccountRate = 2
		c.LoginRate = 0.01
		c.LoginBurst = 5
		c.Now = func() time.Time { return now }
	})
	// newEnv logged in 4 times from this address: one more, then refused.
	statuses := map[int]int{}
	for range 3 {
		resp, b := e.request("", "POST", "/api/login", mustJSON(loginRequest{Name: "admin-user", Password: "wrong password"}), "")
		statuses[resp.StatusCode]++
		if resp.StatusCode == 429 && errorOf(t, b).Code != codeRateLimited {
			t.Errorf("429 body %s", b)
		}
	}
	if statuses[401] != 1 || statuses[429] != 2 {
		t.Errorf("logins past the burst: %v, want one 401 then 429s", statuses)
	}
	// Guessing one account's password from many addresses slows those
	// addresses (throttle.go), not the account's owner.
	login := func(addr, pw string) int {
		req := httptest.NewRequest("POST", "/api/login", bytes.NewReader(mustJSON(loginRequest{Name: "planner-user", Password: pw})))
		req.RemoteAddr = addr + ":4000"
		rec := httptest.NewRecorder()
		e.api.ServeHTTP(rec, req)
		return rec.Code
	}
	for round, want := range []map[int]int{{401: 8}, {401: 2, 429: 6}} {
		statuses = map[int]int{}
		for i := range 8 {
			statuses[login(fmt.Sprintf("192.0.2.%d", i+1), "guess")]++
		}
		if !maps.Equal(statuses, want) {
			t.Errorf("round %d of guesses at one account from 8 addresses: %v, want %v (the tenth failure puts the account under attack: each failing address then waits)", round+1, statuses, want)
		}
	}
	if status := login("192.0.2.100", password("planner")); status != 200 {
		t.Errorf("the owner, from an address that has not failed, during the attack: %d", status)
	}
	statuses = map[int]int{}
	for range 10 {
		resp, _ := e.request("viewer", "GET", "/api/households/count", nil, "")
		statuses[resp.StatusCode]++
	}
	if statuses[429] == 0 || statuses[200] == 0 {
		t.Errorf("10 requests at once from an account limited to 2/s (burst 4): %v", statuses)
	}
	// Another account is not slowed by the first.
	if resp, _ := e.request("planner", "GET", "/api/households/count", nil, ""); resp.StatusCode != 200 {
		t.Errorf("planner limited by viewer's use: %d", resp.StatusCode)
	}
}

// TestConcurrentReadsAllAudited: reads group-committed under load are each
// recorded, attributed to their reader, and the chain stays intact.
func TestConcurrentReadsAllAudited(t *testing.T) {
	e := newEnv(t, openSQLite(t), nil)
	ids := []string{e.hh}
	for i := range 3 {
		ids = append(ids, e.createHousehold("admin", fmt.Sprintf("HR-%d", i), fmt.Sprintf("+9370020000%d", i)))
	}
	ctx := context.Background()
	es, err := e.store.ListAudit(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	mark := es[len(es)-1].Seq
	want := map[string]int{}
	var wg sync.WaitGroup
	for i := range 48 {
		role := []string{"planner", "field"}[i%2]
		id := ids[i%len(ids)]
		want[role+"-user "+"household:"+id]++
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", e.srv.URL+"/api/households/"+id, nil)
			req.Header.Set("Authorization", "Bearer "+e.tokens[role])
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("read %s as %s: %d", id, role, resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	es, err = e.store.ListAudit(ctx, mark, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, en := range es {
		if en.Action != "household.read" {
			continue
		}
		if en.Target == "households" {
			for _, tg := range strings.Fields(en.Detail) {
				got[en.Actor+" "+tg]++
			}
		} else {
			got[en.Actor+" "+en.Target]++
		}
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d reads audited, want %d", k, got[k], n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("audited reads %v, want %v", got, want)
	}
	t.Logf("%d reads in %d audit entries", 48, len(es))
	if v, err := e.store.VerifyAudit(ctx); err != nil || !v.OK {
		t.Errorf("chain: %+v %v", v, err)
	}
}

// TestWipeOverAPI: an admin wipes the running server's data key; from
// then on personal data is refused (403), not served.
func TestWipeOverAPI(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		e := newEnv(t, open(t), nil)
		if resp, b := e.request("admin", "POST", "/api/wipe", []byte(`{"confirm":"yes"}`), ""); resp.StatusCode != 400 {
			t.Errorf("wipe without the confirmation word: %d %s", resp.StatusCode, b)
		}
		e.do("admin", "GET", "/api/households/"+e.hh, nil, 200, nil)
		var res wipeResponse
		e.do("admin", "POST", "/api/wipe", []byte(`{"confirm":"wipe"}`), 200, &res)
		if res.Message == "" || res.WipedAt.IsZero() {
			t.Errorf("wipe says %+v", res)
		}
		for _, c := range []struct{ role, path string }{{"admin", "/api/households/" + e.hh}, {"planner", "/api/households"}, {"", "/api/me/" + e.link}} {
			resp, b := e.request(c.role, "GET", c.path, nil, "")
			if resp.StatusCode != 403 || errorOf(t, b).Code != muster.EFORBIDDEN || bytes.Contains(b, []byte("Test Household")) {
				t.Errorf("%s after wipe: %d %s, want 403", c.path, resp.StatusCode, b)
			}
		}
		if resp, b := e.request("admin", "POST", "/api/households", mustJSON(newHousehold("HH-W", "+93700000999")), ""); resp.StatusCode != 403 {
			t.Errorf("registering after wipe: %d %s", resp.StatusCode, b)
		}
		// What holds no personal data still works.
		e.do("viewer", "GET", "/api/households/count", nil, 200, nil)
		e.do("", "GET", "/readyz", nil, 200, nil)
	})
}

// TestGatesAndRallyPoints serves the Kabul places file: its rally points,
// and its gates with a status a report changed.
func TestGatesAndRallyPoints(t *testing.T) {
	pl, err := places.ReadFile(sharedFile(t, "scenarios/kabul-2021/places.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, openSQLite(t), func(c *Config) { c.Places = pl })
	var rp rallyPointsResponse
	e.do("viewer", "GET", "/api/rally-points", nil, 200, &rp)
	if len(rp.RallyPoints) != 11 || rp.RallyPoints[0].Capacity <= 0 || rp.RallyPoints[0].Location.Lat < 34 || rp.RallyPoints[0].Location.Lat > 35 {
		t.Errorf("rally points: %+v", rp)
	}
	closed := `{"id":"g1","received_at":"2021-08-21T15:00:00Z","source":{"id":"marines","kind":"official"},"reliability":"A","credibility":1,` +
		`"kind":"gate-status","claim":"closed","likelihood":"almost certain","severity":1,"area":{"place":"Abbey Gate"},"text":"Abbey Gate closed"}`
	e.do("field", "POST", "/api/reports", []byte(closed), 201, nil)
	status := func(at string) map[string]string {
		var gs gatesResponse
		e.do("viewer", "GET", "/api/gates?at="+at, nil, 200, &gs)
		m := map[string]string{}
		for _, g := range gs.Gates {
			m[g.ID] = g.Status
		}
		return m
	}
	before, after := status("2021-08-21T14:00:00Z"), status("2021-08-21T16:00:00Z")
	if len(before) != 4 || before["abbey"] != "open" || after["abbey"] != "closed" || after["east"] != "open" {
		t.Errorf("gates before the report %v, after %v", before, after)
	}
	// Without a places file: empty lists, not errors.
	bare := newEnv(t, openSQLite(t), func(c *Config) { c.Places = nil })
	bare.do("viewer", "GET", "/api/gates", nil, 200, nil)
	if resp, _ := bare.request("viewer", "GET", "/api/gates?at=soon", nil, ""); resp.StatusCode != 400 {
		t.Errorf("bad at: %d", resp.StatusCode)
	}
}
