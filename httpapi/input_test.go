package httpapi

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestInputRefusedWithReasons: what an import refuses, the API refuses
// too, naming the field and why; error bodies name JSON kinds, never Go
// types, quote at most a little of what was sent, and a body with a key
// twice is refused before anything reads it.
func TestInputRefusedWithReasons(t *testing.T) {
	e := newEnvCity(t, openSQLite(t), false, nil)
	create := func(mod func(map[string]any)) (int, errorDetail, []byte) {
		t.Helper()
		var h map[string]any
		if err := json.Unmarshal(mustJSON(newHousehold("IN-1", "+93700000101")), &h); err != nil {
			t.Fatal(err)
		}
		mod(h)
		resp, body := e.request("admin", "POST", "/api/households", mustJSON(h), "")
		if resp.StatusCode == 201 {
			return 201, errorDetail{}, body
		}
		return resp.StatusCode, errorOf(t, body), body
	}
	long := strings.Repeat("7", 500)
	for name, tc := range map[string]struct {
		mod  func(map[string]any)
		want []string
	}{
		"e-mail without a domain": {func(h map[string]any) { h["email"] = "a@b" }, []string{"email:", `"a@b"`, "not an e-mail address"}},
		"markup as an e-mail":     {func(h map[string]any) { h["email"] = "<script>" }, []string{"email:", "not an e-mail address"}},
		"a 500-digit phone":       {func(h map[string]any) { h["phone"] = "+" + long }, []string{"phone:", "8 to 15 digits", "(501 bytes)"}},
		"letters as a phone":      {func(h map[string]any) { h["phone"] = "call me" }, []string{"phone:", "not a phone number"}},
		"a blank name":            {func(h map[string]any) { h["name"], h["name_local"] = "   ", "" }, []string{"name:", "required"}},
		"a line break in a name":  {func(h map[string]any) { h["name"] = "Ahmad\nZia" }, []string{"name:", "line break"}},
		"a number as text":        {func(h map[string]any) { h["party_size"] = "three" }, []string{"party_size", "string where a whole number is wanted"}},
		"a string as location":    {func(h map[string]any) { h["location"] = "here" }, []string{"location", "where an object is wanted"}},
		"an object as members":    {func(h map[string]any) { h["members"] = map[string]any{} }, []string{"members", "where an array is wanted"}},
		"a fraction of a person":  {func(h map[string]any) { h["adults"] = 1.5 }, []string{"adults", "a whole number"}},
	} {
		t.Run(name, func(t *testing.T) {
			status, er, body := create(tc.mod)
			if status != 400 || er.Code != "invalid" {
				t.Fatalf("status %d: %s", status, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(er.Message, w) {
					t.Errorf("message %q lacks %q", er.Message, w)
				}
			}
			for _, goName := range []string{"Go ", "struct", "httpapi.", " int ", "int64", "float64", "json:", "map["} {
				if strings.Contains(er.Message, goName) {
					t.Errorf("message %q names Go's %q", er.Message, goName)
				}
			}
			if len(er.Message) > 300 {
				t.Errorf("a %d-byte message: %q", len(er.Message), er.Message)
			}
			t.Log(er.Message)
		})
	}

	// What the API takes, it keeps as an import would read it back: the
	// phone in E.164, coordinates at 1e-7 degrees.
	status, _, body := create(func(h map[string]any) {
		h["phone"] = "+93 70 000-0102"
		h["location"] = map[string]any{"lat": 1e-320, "lon": 69.123456789}
	})
	var out householdOut
	if status != 201 || json.Unmarshal(body, &out) != nil {
		t.Fatalf("create: %d %s", status, body)
	}
	if out.Phone != "+93700000102" || out.Location == nil || out.Location.Lat != 0 || out.Location.Lon != 69.1234568 {
		t.Errorf("stored phone %q, location %+v", out.Phone, out.Location)
	}

	// Keys twice, or twice but for case: refused, wherever they are.
	for name, tc := range map[string]struct{ path, body, want string }{
		"top level": {"/api/households", `{"id":"IN-2","name":"A","name":"B"}`, `the body has the key "name" twice`},
		"by case":   {"/api/households", `{"id":"IN-2","name":"A","Name":"B"}`, `"name" and "Name", which differ only by case`},
		"nested":    {"/api/households", `{"id":"IN-2","location":{"lat":1,"lat":2}}`, `location has the key "lat" twice`},
		"in arrays": {"/api/households", `{"members":[{"name":"a"},{"age":1,"age":2}]}`, `members[1] has the key "age" twice`},
		"login":     {"/api/login", `{"name":"admin-user","password":"x","password":"` + password("admin") + `"}`, `"password" twice`},
	} {
		t.Run("duplicate keys "+name, func(t *testing.T) {
			resp, body := e.request("admin", "POST", tc.path, []byte(tc.body), "")
			if resp.StatusCode != 400 || !strings.Contains(errorOf(t, body).Message, tc.want) {
				t.Fatalf("%d %s, want 400 with %q", resp.StatusCode, body, tc.want)
			}
		})
	}

	// Place ids are plain names.
	feature := func(id string) []byte {
		return []byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[69.18,34.53]},"properties":{"id":` +
			strings.TrimSpace(string(mustJSON(id))) + `,"kind":"rally","name":"Rally","capacity":100}}`)
	}
	for _, id := range []string{"../../x", "<b>x</b>", ".hidden", "a/b", strings.Repeat("p", 65)} {
		resp, body := e.request("admin", "PUT", "/api/places/"+url.PathEscape(id), feature(id), "")
		if resp.StatusCode != 400 || !strings.Contains(errorOf(t, body).Message, "place id") {
			t.Errorf("place id %q: %d %s", id, resp.StatusCode, body)
		}
	}
	if resp, body := e.request("admin", "PUT", "/api/places/rally-9", feature("rally-9"), ""); resp.StatusCode != 200 {
		t.Errorf("a plain place id: %d %s", resp.StatusCode, body)
	}

	// A 200 KB id is not echoed whole.
	huge := strings.Repeat("H", 200<<10)
	resp, body := e.request("admin", "GET", "/api/households/"+huge, nil, "")
	if resp.StatusCode < 400 || len(body) > 2048 {
		t.Errorf("a 200 KB id: %d, a %d-byte answer", resp.StatusCode, len(body))
	}
}
