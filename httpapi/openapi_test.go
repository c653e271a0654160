package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
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
	// The mux pattern of each documented path ("/" is "/{$}").
	muxPath := map[string]string{}
	for _, rt := range e.api.Routes() {
		muxPath[openAPIPath(rt.Path)] = rt.Path
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented[method+" "+path] = true
			// The router must send this method and path to its own route.
			concrete := param.ReplaceAllString(path, "p1")
			req := httptest.NewRequest(method, concrete, nil)
			_, pattern := e.api.mux.Handler(req)
			if pattern != method+" "+muxPath[path] {
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
		if !documented[rt.Method+" "+openAPIPath(rt.Path)] {
			t.Errorf("route %s is served but not documented", rt.Name())
		}
		concrete := param.ReplaceAllString(openAPIPath(rt.Path), "p1")
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

// TestExchangesMatchOpenAPI sends each route's fixture request as a role
// allowed to call it and validates the request and the real response
// against the served document's schemas (types, required fields, no
// unknown request fields).
func TestExchangesMatchOpenAPI(t *testing.T) {
	e := newEnv(t, openSQLite(t), nil)
	_, body := e.request("", "GET", "/openapi.json", nil, "")
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatal(err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	fx := fixtures()
	checked := 0
	for _, rt := range e.api.Routes() {
		if rt.Produces != mediaJSON {
			continue // CSV, GeoJSON, metrics text, event streams
		}
		role := "admin"
		if rt.Access != Operator {
			role = ""
		}
		method, path, reqBody, ct := fx[rt.Name()](e, role)
		caller := role
		if rt.Name() == "POST /api/logout" {
			caller = "fresh"
		}
		resp, respBody := e.request(caller, method, path, reqBody, ct)
		if resp.StatusCode != rt.OK {
			t.Errorf("%s: status %d: %s", rt.Name(), resp.StatusCode, respBody)
			continue
		}
		req := httptest.NewRequest(method, path, bytes.NewReader(reqBody))
		if reqBody != nil {
			if ct == "" {
				ct = mediaJSON
			}
			req.Header.Set("Content-Type", ct)
		}
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Errorf("%s: not in the document: %v", rt.Name(), err)
			continue
		}
		opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
		if rt.Body != mediaJSON {
			opts.ExcludeRequestBody = true
		}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("%s: the request does not match the document: %v", rt.Name(), err)
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: opts}
		out.SetBodyBytes(respBody)
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("%s: the response does not match the document: %v\n%s", rt.Name(), err, respBody)
		}
		checked++
	}
	if checked < 15 {
		t.Errorf("only %d exchanges checked", checked)
	}
	// The strict request schema refuses what the strict decoder refuses.
	req := httptest.NewRequest("POST", "/api/households", strings.NewReader(`{"id":"X","nmae":"typo"}`))
	req.Header.Set("Content-Type", mediaJSON)
	route, params, _ := router.FindRoute(req)
	err = openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}})
	if err == nil {
		t.Errorf("the document accepts an unknown field the server refuses")
	}
}
