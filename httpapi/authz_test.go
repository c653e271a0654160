package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/simulate"
	"github.com/paulmach/orb"
)

// wantAccess is the authorisation policy written out by hand, apart from
// the route table it checks: route -> roles allowed. "public" and
// "capability" routes are open to anyone (the capability is in the path).
var wantAccess = map[string]string{
	"GET /healthz":                             "public",
	"GET /readyz":                              "public",
	"GET /metrics":                             "public",
	"GET /openapi.json":                        "public",
	"GET /api/hello":                           "public",
	"POST /api/login":                          "public",
	"POST /api/logout":                         "admin planner field viewer",
	"GET /api/whoami":                          "admin planner field viewer",
	"POST /api/households":                     "admin planner field",
	"GET /api/households":                      "admin planner field",
	"GET /api/households/count":                "admin planner field viewer",
	"GET /api/households/search":               "admin planner field",
	"GET /api/households/{id}":                 "admin planner field",
	"PUT /api/households/{id}":                 "admin planner field",
	"POST /api/households/{id}/status":         "admin planner field",
	"POST /api/households/{id}/links":          "admin planner field",
	"DELETE /api/links/{id}":                   "admin planner field",
	"POST /api/households/import":              "admin planner",
	"GET /api/households/export":               "admin planner",
	"GET /api/me/{token}":                      "capability",
	"POST /api/ack/{token}":                    "capability",
	"POST /api/ack/code":                       "public",
	"POST /api/ack/twilio":                     "public",
	"GET /api/unacknowledged":                  "admin planner field viewer",
	"GET /api/outbox":                          "admin planner field",
	"POST /api/outbox/{id}/retry":              "admin planner",
	"POST /api/reports":                        "admin planner field",
	"GET /api/reports":                         "admin planner field viewer",
	"GET /api/threats":                         "admin planner field viewer",
	"GET /api/rally-points":                    "admin planner field viewer",
	"GET /api/gates":                           "admin planner field viewer",
	"GET /api/places":                          "admin planner field viewer",
	"PUT /api/places/{id}":                     "admin planner",
	"DELETE /api/places/{id}":                  "admin planner",
	"PUT /api/timezone":                        "admin planner",
	"GET /api/sources":                         "admin planner viewer",
	"PUT /api/sources/{id}":                    "admin planner",
	"DELETE /api/sources/{id}":                 "admin planner",
	"GET /api/events":                          "admin planner field viewer",
	"POST /api/plans":                          "admin planner",
	"POST /api/plans/proposals":                "admin planner",
	"GET /api/plans":                           "admin planner field viewer",
	"POST /api/simulations":                    "admin planner",
	"GET /api/simulations/latest":              "admin planner field viewer",
	"GET /api/plans/current":                   "admin planner field",
	"GET /api/plans/{id}":                      "admin planner field",
	"POST /api/plans/{id}/approve":             "admin planner",
	"POST /api/instructions/issue":             "admin planner",
	"GET /api/instructions":                    "admin planner field",
	"GET /api/instructions/{series}/{version}": "admin planner field",
	"GET /i/{token}":                           "capability",
	"POST /api/verify":                         "public",
	"GET /api/bundle":                          "public",
	"POST /api/checkin":                        "admin planner field",
	"POST /api/checkin/sync":                   "admin planner field",
	"GET /api/checkins":                        "admin planner field",
	"POST /api/field-events":                   "admin planner field",
	"GET /api/field-events":                    "admin planner field",
	"GET /api/operation":                       "admin planner field viewer",
	"GET /api/operation/series":                "admin planner field viewer",
	"POST /api/advisories":                     "admin planner",
	"GET /api/advisories":                      "admin planner field viewer",
	"GET /api/advisories/{id}":                 "public",
	"POST /api/advisories/import":              "admin planner",
	"POST /api/advisories/{id}/update":         "admin planner",
	"POST /api/advisories/{id}/cancel":         "admin planner",
	"POST /api/keys/reload":                    "admin",
	"GET /api/audit":                           "admin",
	"GET /api/audit/verify":                    "admin",
	"POST /api/wipe":                           "admin",

	// Accounts and login throttles (issue 12).
	"POST /api/password":                      "admin planner field viewer",
	"GET /api/tokens":                         "admin planner field viewer",
	"DELETE /api/tokens/{id}":                 "admin planner field viewer",
	"GET /api/throttles":                      "admin",
	"DELETE /api/throttles/{account}":         "admin",
	"DELETE /api/throttles/address/{address}": "admin",

	// Browser pages and the road map (issue 14).
	"GET /{$}":               "public",
	"GET /field":             "public",
	"GET /field/sw.js":       "public",
	"GET /me/sw.js":          "public",
	"GET /me/{token}":        "public",
	"GET /assets/{file...}":  "public",
	"GET /tiles/roads.json":  "public",
	"GET /tiles/{z}/{x}/{y}": "public",
}

var seq atomic.Int64

func uniq(prefix string) string { return fmt.Sprintf("%s%d", prefix, seq.Add(1)) }

func reportJSON(id string) []byte {
	return []byte(fmt.Sprintf(`{"id": %q, "received_at": "2021-08-21T15:00:00Z", "source": {"id": "src-%s", "kind": "official"}, "reliability": "B", "credibility": 3, "kind": "attack-threat", "claim": "present", "likelihood": "strong possibility", "severity": 5, "area": {"point": [69.2, 34.56], "radius_m": 500}, "text": "threat near the gate"}`, id, id))
}

// fixture makes, for a caller (role, or "" for anonymous), a request the
// route would answer with success if the caller is allowed.
type fixture func(e *testEnv, role string) (method, path string, body []byte, contentType string)

func fixtures() map[string]fixture {
	get := func(path string) fixture {
		return func(*testEnv, string) (string, string, []byte, string) { return "GET", path, nil, "" }
	}
	return map[string]fixture{
		"GET /healthz":      get("/healthz"),
		"GET /readyz":       get("/readyz"),
		"GET /metrics":      get("/metrics"),
		"GET /openapi.json": get("/openapi.json"),
		"GET /api/hello":    get("/api/hello"),
		"POST /api/login": func(*testEnv, string) (string, string, []byte, string) {
			return "POST", "/api/login", mustJSON(loginRequest{Name: "viewer-user", Password: password("viewer")}), ""
		},
		"POST /api/logout": func(e *testEnv, role string) (string, string, []byte, string) {
			// A fresh session, so the role's shared token survives.
			if role != "" {
				e.tokens["fresh"] = e.login(role+"-user", password(role))
			}
			return "POST", "/api/logout", nil, ""
		},
		"GET /api/whoami": get("/api/whoami"),
		"POST /api/households": func(e *testEnv, role string) (string, string, []byte, string) {
			return "POST", "/api/households", mustJSON(newHousehold(uniq("HC"), fmt.Sprintf("+9370%07d", seq.Add(1)))), ""
		},
		"GET /api/households":        get("/api/households?limit=5"),
		"GET /api/households/count":  get("/api/households/count?status=registered"),
		"GET /api/households/search": get("/api/households/search?q=test"),
		"GET /api/households/{id}": func(e *testEnv, role string) (string, string, []byte, string) {
			return "GET", "/api/households/" + e.hh, nil, ""
		},
		"PUT /api/households/{id}": func(e *testEnv, role string) (string, string, []byte, string) {
			rec, err := e.store.GetHousehold(context.Background(), e.hh)
			if err != nil {
				e.t.Fatal(err)
			}
			in := newHousehold(e.hh, rec.Phone)
			in.Notes = "updated by " + role
			in.Version = rec.Version
			return "PUT", "/api/households/" + e.hh, mustJSON(in), ""
		},
		"POST /api/households/{id}/status": func(e *testEnv, role string) (string, string, []byte, string) {
			return "POST", "/api/households/" + e.hh + "/status", []byte(`{"status":"verified","note":"papers seen"}`), ""
		},
		"POST /api/households/{id}/links": func(e *testEnv, role string) (string, string, []byte, string) {
			return "POST", "/api/households/" + e.hh + "/links", []byte(`{"expires_in_hours": 48}`), ""
		},
		"DELETE /api/links/{id}": func(e *testEnv, role string) (string, string, []byte, string) {
			id := uniq("cap-test-")
			err := e.store.CreateCapability(context.Background(), muster.CapabilityLink{ID: id, HouseholdID: e.hh,
				Hash: muster.TokenHash(muster.NewSecret()), CreatedAt: time.Now()})
			if err != nil {
				e.t.Fatal(err)
			}
			return "DELETE", "/api/links/" + id, nil, ""
		},
		"POST /api/households/import": func(e *testEnv, role string) (string, string, []byte, string) {
			csv := "household_id,name,members,phone,lat,lon\nIMP1,Import Test,2,+93700000999,34.5,69.2\n"
			return "POST", "/api/households/import?dry_run=true", []byte(csv), "text/csv"
		},
		"GET /api/households/export": get("/api/households/export"),
		"GET /api/me/{token}": func(e *testEnv, role string) (string, string, []byte, string) {
			return "GET", "/api/me/" + e.link, nil, ""
		},
		"POST /api/ack/{token}": func(e *testEnv, role string) (string, string, []byte, string) {
			e.queueInstruction(e.hh, "I-ack-link-"+role)
			return "POST", "/api/ack/" + e.link, []byte(`{}`), ""
		},
		"POST /api/ack/code": func(e *testEnv, role string) (string, string, []byte, string) {
			e.queueInstruction(e.hh, "I-ack-code-"+role)
			return "POST", "/api/ack/code", e.signedReply("+93700000001", ackCodeOf(e.hh)+" thank you"), "application/json"
		},
		"POST /api/ack/twilio": func(e *testEnv, role string) (string, string, []byte, string) {
			e.queueInstruction(e.hh, "I-ack-twilio-"+role)
			form := url.Values{"From": {"+93700000001"}, "Body": {ackCodeOf(e.hh) + " thank you"}, "AccountSid": {testTwilio.AccountSID}, "MessageSid": {uniq("SM")}}
			return "POST", "/api/ack/twilio", []byte(form.Encode()), mediaForm
		},
		"GET /api/unacknowledged": func(e *testEnv, role string) (string, string, []byte, string) {
			e.queueInstruction(e.hh, "I-unacked-"+role)
			return "GET", "/api/unacknowledged?older_than=0s", nil, ""
		},
		"GET /api/outbox": get("/api/outbox?status=queued&limit=10"),
		"POST /api/outbox/{id}/retry": func(e *testEnv, role string) (string, string, []byte, string) {
			return "POST", "/api/outbox/" + e.deadLetter(uniq("I-dead-")) + "/retry", nil, ""
		},
		"POST /api/reports": func(e *testEnv, role string) (string, string, []byte, string) {
			return "POST", "/api/reports", reportJSON(uniq("rep-")), "application/json"
		},
		"GET /api/reports": get("/api/reports"),
		"GET /api/threats": get("/api/threats?at=2021-08-21T18:00:00Z"),
		"GET /api/events":  get("/api/events"),
		"GET /api/places":  get("/api/places"),
		"PUT /api/places/{id}": func(*testEnv, string) (string, string, []byte, string) {
			return "PUT", "/api/places/extra-rally", []byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[69.16,34.52]},"properties":{"id":"extra-rally","name":"Extra rally point","kind":"rally","capacity":120}}`), "application/json"
		},
		"PUT /api/timezone": func(*testEnv, string) (string, string, []byte, string) {
			return "PUT", "/api/timezone", []byte(`{"timezone":"Asia/Kabul"}`), "application/json"
		},
		"DELETE /api/places/{id}": func(e *testEnv, _ string) (string, string, []byte, string) {
			id := uniq("gone-")
			if err := e.store.PutPlace(muster.WithActor(context.Background(), "fixture"), muster.Place{ID: id, Name: id, Kind: muster.PlaceLandmark, Geometry: orb.Point{69.1, 34.5}}); err != nil {
				e.t.Fatal(err)
			}
			return "DELETE", "/api/places/" + id, nil, ""
		},
		"GET /api/sources": get("/api/sources"),
		"PUT /api/sources/{id}": func(_ *testEnv, role string) (string, string, []byte, string) {
			return "PUT", "/api/sources/tg-" + role, []byte(`{"reliability":"E","hostile":true,"cluster":"flood-1","note":"graded by ` + role + `"}`), "application/json"
		},
		"DELETE /api/sources/{id}": func(e *testEnv, _ string) (string, string, []byte, string) {
			id := uniq("src-gone-")
			if _, err := e.store.PutSource(muster.WithActor(context.Background(), "fixture"), muster.SourceGrade{ID: id, Reliability: "C"}); err != nil {
				e.t.Fatal(err)
			}
			return "DELETE", "/api/sources/" + id, nil, ""
		},
		"GET /api/rally-points": get("/api/rally-points"),
		"GET /api/gates":        get("/api/gates?at=2021-08-21T18:00:00Z"),
		"POST /api/plans": func(*testEnv, string) (string, string, []byte, string) {
			return "POST", "/api/plans", []byte(`{"at":"2021-08-26T06:00:00Z"}`), "application/json"
		},
		"POST /api/plans/proposals": func(e *testEnv, _ string) (string, string, []byte, string) {
			return "POST", "/api/plans/proposals", []byte(`{"revise":"` + savedPlan(e, false) + `","at":"2021-08-26T06:00:00Z"}`), "application/json"
		},
		"GET /api/plans": get("/api/plans"),
		"POST /api/simulations": func(e *testEnv, _ string) (string, string, []byte, string) {
			// A current plan with a start and nobody in it: simulated in no time.
			ctx := muster.WithActor(context.Background(), "fixture")
			rec, err := e.store.SavePlan(ctx, muster.PlanRecord{Body: []byte(`{"version":1,"status":"proposed","params":{"start":"2021-08-26T06:00:00Z"},"households":[]}`), Summary: []byte(`{}`)})
			if err != nil {
				e.t.Fatal(err)
			}
			if _, err := e.store.ApprovePlan(ctx, rec.ID); err != nil {
				e.t.Fatal(err)
			}
			return "POST", "/api/simulations", []byte(`{"seed":1,"horizon_h":1}`), "application/json"
		},
		"GET /api/simulations/latest": func(e *testEnv, _ string) (string, string, []byte, string) {
			e.api.sims.mu.Lock()
			e.api.sims.latest = &simulationOut{ID: "fixture", Runs: []simulationRun{}, Comparison: []simulate.Comparison{}, Injects: []simulate.InjectRecord{}}
			e.api.sims.mu.Unlock()
			return "GET", "/api/simulations/latest", nil, ""
		},
		"GET /api/plans/current": func(e *testEnv, _ string) (string, string, []byte, string) {
			savedPlan(e, true)
			return "GET", "/api/plans/current", nil, ""
		},
		"GET /api/plans/{id}": func(e *testEnv, _ string) (string, string, []byte, string) {
			return "GET", "/api/plans/" + savedPlan(e, false), nil, ""
		},
		"POST /api/plans/{id}/approve": func(e *testEnv, _ string) (string, string, []byte, string) {
			return "POST", "/api/plans/" + savedPlan(e, false) + "/approve", nil, ""
		},
		"POST /api/instructions/issue": func(e *testEnv, _ string) (string, string, []byte, string) {
			return "POST", "/api/instructions/issue", []byte(`{"plan":"` + savedPlan(e, true) + `"}`), ""
		},
		// The escorts' (a field officer reads no household's: TestFieldReadsEscortsOnly).
		"GET /api/instructions": get("/api/instructions?status=all&audience=escort&limit=10"),
		"GET /api/instructions/{series}/{version}": func(e *testEnv, _ string) (string, string, []byte, string) {
			return "GET", "/api/instructions/" + e.issuedEscortInstruction(), nil, ""
		},
		"GET /i/{token}": func(e *testEnv, _ string) (string, string, []byte, string) {
			return "GET", "/i/" + e.link, nil, ""
		},
		"POST /api/verify": func(*testEnv, string) (string, string, []byte, string) {
			return "POST", "/api/verify", []byte("MU1:NOT A TOKEN"), "text/plain"
		},
		"GET /api/bundle": get("/api/bundle"),
		"POST /api/checkin": func(e *testEnv, role string) (string, string, []byte, string) {
			return "POST", "/api/checkin", mustJSON(checkinRequest{Household: e.freshIssued(), RallyPoint: "RP-" + role, OtherRally: "authorisation test"}), ""
		},
		"POST /api/checkin/sync": func(*testEnv, string) (string, string, []byte, string) {
			return "POST", "/api/checkin/sync", []byte(`{"device":"tablet-3","checkins":[]}`), ""
		},
		"GET /api/checkins": get("/api/checkins?duplicates=true"),
		"POST /api/field-events": func(_ *testEnv, role string) (string, string, []byte, string) {
			return "POST", "/api/field-events", []byte(`{"events":[{"id":"gate-seen-by-` + role + `","kind":"gate_state","at":"2026-03-01T06:00:00Z","gate":"gate-abbey","queue":12}]}`), ""
		},
		"GET /api/field-events": get("/api/field-events?limit=10"),
		"GET /api/operation": func(e *testEnv, _ string) (string, string, []byte, string) {
			savedPlan(e, true)
			return "GET", "/api/operation", nil, ""
		},
		"GET /api/operation/series": func(e *testEnv, _ string) (string, string, []byte, string) {
			savedPlan(e, true)
			return "GET", "/api/operation/series?points=5", nil, ""
		},
		"POST /api/advisories": func(*testEnv, string) (string, string, []byte, string) {
			return "POST", "/api/advisories", []byte(`{"canned":"avoid-gates","area_name":"the airport","polygon":{"type":"Feature","geometry":{"type":"Point","coordinates":[69.2,34.56]},"properties":{"radius_m":500}}}`), ""
		},
		"GET /api/advisories": get("/api/advisories"),
		"GET /api/advisories/{id}": func(e *testEnv, _ string) (string, string, []byte, string) {
			return "GET", "/api/advisories/" + e.advisory() + ".xml", nil, ""
		},
		"POST /api/advisories/import": func(e *testEnv, _ string) (string, string, []byte, string) {
			return "POST", "/api/advisories/import", foreignCAP(e.t), mediaCAP
		},
		"POST /api/advisories/{id}/update": func(e *testEnv, _ string) (string, string, []byte, string) {
			return "POST", "/api/advisories/" + e.ownAdvisory() + "/update", []byte(`{"canned":"shelter-in-place","area_name":"the airport"}`), ""
		},
		"POST /api/keys/reload": func(*testEnv, string) (string, string, []byte, string) {
			return "POST", "/api/keys/reload", nil, ""
		},
		"POST /api/advisories/{id}/cancel": func(e *testEnv, _ string) (string, string, []byte, string) {
			return "POST", "/api/advisories/" + e.ownAdvisory() + "/cancel", []byte(`{"note":"the gates are open again"}`), ""
		},
		"GET /api/audit":        get("/api/audit?limit=10"),
		"GET /api/audit/verify": get("/api/audit/verify"),
		"POST /api/wipe": func(*testEnv, string) (string, string, []byte, string) {
			return "POST", "/api/wipe", []byte(`{"confirm":"wipe"}`), ""
		},

		// Accounts and login throttles (issue 12).
		"POST /api/password": func(e *testEnv, role string) (string, string, []byte, string) {
			// No fixture after this one logs in with password(role).
			body := passwordRequest{Password: password(role), NewPassword: "tangerine zeppelin quartz 42 " + role}
			return "POST", "/api/password", mustJSON(body), ""
		},
		"GET /api/tokens": get("/api/tokens?all=true"),
		"DELETE /api/tokens/{id}": func(e *testEnv, role string) (string, string, []byte, string) {
			id := uniq("tok_fx")
			if role != "" {
				if err := e.store.CreateToken(context.Background(), muster.Token{ID: id, User: role + "-user", Kind: muster.TokenAPI, Hash: muster.TokenHash(id)}); err != nil {
					e.t.Fatal(err)
				}
			}
			return "DELETE", "/api/tokens/" + id, nil, ""
		},
		"GET /api/throttles": get("/api/throttles"),
		"DELETE /api/throttles/{account}": func(*testEnv, string) (string, string, []byte, string) {
			return "DELETE", "/api/throttles/viewer-user", nil, ""
		},
		"DELETE /api/throttles/address/{address}": func(*testEnv, string) (string, string, []byte, string) {
			return "DELETE", "/api/throttles/address/127.0.0.9", nil, ""
		},

		// Browser pages and the road map (issue 14).
		"GET /{$}":         get("/"),
		"GET /field":       get("/field"),
		"GET /field/sw.js": get("/field/sw.js"),
		"GET /me/sw.js":    get("/me/sw.js"),
		"GET /me/{token}": func(e *testEnv, _ string) (string, string, []byte, string) {
			return "GET", "/me/" + e.link, nil, ""
		},
		"GET /assets/{file...}": func(e *testEnv, _ string) (string, string, []byte, string) {
			return "GET", someAsset(e.t), nil, ""
		},
		"GET /tiles/roads.json": get("/tiles/roads.json"),
		"GET /tiles/{z}/{x}/{y}": func(e *testEnv, _ string) (string, string, []byte, string) {
			return "GET", roadTile(e), nil, ""
		},
	}
}

// TestAuthorizationTable walks every route for every role and for an
// anonymous caller: allowed callers get the route's success status,
// anonymous callers of operator routes 401, other roles 403.
func TestAuthorizationTable(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		e := newEnv(t, open(t), nil)
		fx := fixtures()
		seen := map[string]bool{}
		for _, rt := range e.api.Routes() {
			name := rt.Name()
			seen[name] = true
			want, ok := wantAccess[name]
			if !ok {
				t.Errorf("route %s is not in the test's policy table", name)
				continue
			}
			f, ok := fx[name]
			if !ok {
				t.Errorf("route %s has no fixture", name)
				continue
			}
			switch want {
			case "public":
				if rt.Access != Public {
					t.Errorf("%s: access %d, want public", name, rt.Access)
				}
			case "capability":
				if rt.Access != Capability {
					t.Errorf("%s: access %d, want capability", name, rt.Access)
				}
			default:
				if rt.Access != Operator || strings.Join(rt.Roles, " ") != want {
					t.Errorf("%s: roles %v, want %s", name, rt.Roles, want)
				}
			}
			for _, role := range append([]string{""}, muster.Roles...) {
				method, path, body, ct := f(e, role)
				if method+" "+strings.SplitN(path, "?", 2)[0] == "" {
					t.Fatal("empty fixture")
				}
				caller := role
				if name == "POST /api/logout" && role != "" {
					caller = "fresh"
				}
				status, respBody := e.statusOf(caller, method, path, body, ct)
				expect := rt.OK
				switch {
				case want == "public" || want == "capability":
				case role == "":
					expect = http.StatusUnauthorized
				case !slices.Contains(strings.Fields(want), role):
					expect = http.StatusForbidden
				}
				if status != expect {
					t.Errorf("%s as %q: status %d, want %d (%s)", name, role, status, expect, respBody)
				}
				if status >= 400 {
					errorOf(t, []byte(respBody))
				}
			}
		}
		for name := range wantAccess {
			if !seen[name] {
				t.Errorf("policy table names %s, which the server does not route", name)
			}
		}
	})
}

// statusOf sends the request and returns the status and (for errors) the
// body; event streams are cut after their headers.
func (e *testEnv) statusOf(role, method, path string, body []byte, ct string) (int, string) {
	if !strings.HasPrefix(path, "/api/events") {
		resp, b := e.request(role, method, path, body, ct)
		return resp.StatusCode, string(b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, e.srv.URL+path, nil)
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		var b strings.Builder
		buf := make([]byte, 4096)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return resp.StatusCode, b.String()
	}
	return resp.StatusCode, ""
}
