package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPIMatchesHandlers fetches /openapi.json, validates it as an
// OpenAPI 3 document, and checks it against the real router both ways:
// every route served is documented with its method, and every documented
// path and method reaches a handler of its own (not the 404/405 fallback).
func TestOpenAPIMatchesHandlers(t *testing.T) {
	e := newEnv(t, openSQLite(t), nil)
	resp, body := e.request("", "GET", "/openapi.json", nil, "")
	if resp.StatusCode != 200 {
		t.Fatalf("/openapi.json: %d", resp.StatusCode)
	}
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("loading the document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("not a valid OpenAPI 3 document: %v", err)
	}

	documented := map[string]bool{}
	param := regexp.MustCompile(`\{[^}]+\}`)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented[method+" "+path] = true
			// The router must send this method and path to its own route.
			concrete := param.ReplaceAllString(path, "p1")
			req := httptest.NewRequest(method, concrete, nil)
			_, pattern := e.api.mux.Handler(req)
			if pattern != method+" "+path {
				t.Errorf("documented %s %s: the router sends it to %q", method, path, pattern)
			}
			if op.Responses == nil || op.Responses.Len() == 0 {
				t.Errorf("%s %s: no responses documented", method, path)
			}
		}
	}
	// Every route registered in the mux is documented: probe the router
	// with each route's method and path and check the document has it.
	for _, rt := range e.api.Routes() {
		if !documented[rt.Name()] {
			t.Errorf("route %s is served but not documented", rt.Name())
		}
		concrete := param.ReplaceAllString(rt.Path, "p1")
		if _, pattern := e.api.mux.Handler(httptest.NewRequest(rt.Method, concrete, nil)); pattern != rt.Name() {
			t.Errorf("route %s is not what the router serves (%q)", rt.Name(), pattern)
		}
	}
	if len(documented) != len(e.api.Routes()) {
		t.Errorf("%d operations documented, %d routes", len(documented), len(e.api.Routes()))
	}
	// Operator routes say which roles, and that they need a bearer token.
	op := doc.Paths.Find("/api/households/import").Post
	if op == nil || op.Security == nil || len(*op.Security) == 0 {
		t.Fatalf("import: no security requirement")
	}
	roles, _ := op.Extensions["x-muster-roles"].([]any)
	var got []string
	for _, r := range roles {
		got = append(got, r.(string))
	}
	if !slices.Equal(got, []string{"admin", "planner"}) {
		t.Errorf("import roles %v", got)
	}
	if op.Responses.Status(http.StatusRequestEntityTooLarge) == nil || op.Responses.Status(http.StatusForbidden) == nil {
		t.Errorf("import: 413 and 403 not documented")
	}
	if !strings.Contains(string(body), `"/api/me/{token}"`) {
		t.Errorf("capability route missing from the document")
	}
}
