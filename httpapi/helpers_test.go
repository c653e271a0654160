package httpapi

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muster-evac/muster/deliver"
	"github.com/muster-evac/muster/internal/testshared"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/credential"
	"github.com/muster-evac/muster/issue"
	"github.com/muster-evac/muster/sqlite"
	"github.com/muster-evac/muster/storetest"
)

// testEnv is a server over a real store with one operator per role, each
// logged in, and one registered household with a live capability link.
type testEnv struct {
	t           testing.TB
	store       muster.Store
	api         *Server
	srv         *httptest.Server
	tokens      map[string]string // role -> bearer token
	hh          string            // an existing household id
	link        string            // a live capability link's secret for hh
	escortInstr string            // a group escort's instruction (issuedEscortInstruction)
}

// freshIssued registers a household and issues it an instruction under a
// new current plan, straight in the store, and returns its id.
func (e *testEnv) freshIssued() string {
	e.t.Helper()
	ctx := muster.WithActor(context.Background(), "fixture")
	h, err := e.store.CreateHousehold(ctx, muster.Household{ID: uniq("HF"), Name: "Fresh", PartySize: 1, Adults: 1, Language: muster.LangEnglish})
	if err != nil {
		e.t.Fatal(err)
	}
	p := savedPlan(e, true)
	in := storetest.IssuedFixture(1, 1, 0, p, time.Now())
	in.Series = muster.InstructionSeries(muster.AudienceHousehold, h.ID)
	in.ID, in.Household = muster.InstructionID(in.Series, 1), h.ID
	if _, err := e.store.IssueInstructions(ctx, muster.IssueBatch{Plan: p, Issue: []muster.IssuedInstruction{in}}); err != nil {
		e.t.Fatal(err)
	}
	return h.ID
}

// issuedEscortInstruction issues a group escort's instruction (once) and
// returns its id: the instructions a field officer may read.
func (e *testEnv) issuedEscortInstruction() string {
	e.t.Helper()
	if e.escortInstr != "" {
		return e.escortInstr
	}
	p := savedPlan(e, true)
	in := storetest.IssuedFixture(1, 1, 0, p, time.Now())
	in.Audience, in.Household, in.Name = muster.AudienceEscort, "", ""
	in.Series = muster.InstructionSeries(muster.AudienceEscort, in.Group)
	in.ID = muster.InstructionID(in.Series, 1)
	in.Escort = &muster.EscortBrief{Gate: muster.InstructionPlace{ID: "gate-1", Name: "North Gate", Lat: 34.56, Lon: 69.21},
		Departure: in.ReportBy, Arrival: in.ReportBy.Add(20 * time.Minute), Through: in.ReportBy.Add(30 * time.Minute), Households: 1}
	if _, err := e.store.IssueInstructions(muster.WithActor(context.Background(), "fixture"), muster.IssueBatch{Plan: p, Issue: []muster.IssuedInstruction{in}}); err != nil {
		e.t.Fatal(err)
	}
	e.escortInstr = in.ID
	return e.escortInstr
}

func password(role string) string { return "correct horse battery " + role }

// openStores returns the stores the tests run against: SQLite always, and
// PostgreSQL when MUSTER_TEST_POSTGRES names a database (see postgres_test.go).
func openStores(t *testing.T) map[string]func(t testing.TB) muster.Store {
	m := map[string]func(t testing.TB) muster.Store{"sqlite": openSQLite}
	switch {
	case openPostgres != nil && os.Getenv("MUSTER_TEST_POSTGRES") != "":
		m["postgres"] = openPostgres
	case testshared.InCI():
		m["postgres"] = func(t testing.TB) muster.Store {
			t.Fatal("CI=true but MUSTER_TEST_POSTGRES is unset: every API test must also run on PostgreSQL")
			return nil
		}
	}
	return m
}

// openPostgres is set by postgres_test.go when that backend is built.
var openPostgres func(t testing.TB) muster.Store

func openSQLite(t testing.TB) muster.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "muster.db"), storetest.NewKeys().DataKeys())
	if err != nil {
		t.Fatalf("open sqlite store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// forEachStore runs fn as a subtest against every backend.
func forEachStore(t *testing.T, fn func(t *testing.T, open func(t testing.TB) muster.Store)) {
	for name, open := range openStores(t) {
		t.Run(name, func(t *testing.T) { fn(t, open) })
	}
}

func newEnv(t testing.TB, st muster.Store, mod func(*Config)) *testEnv {
	t.Helper()
	return newEnvCity(t, st, true, mod)
}

// newEnvCity is newEnv, with the test city (every test server can plan)
// or without it (a server that cannot plan starts in no time).
func newEnvCity(t testing.TB, st muster.Store, city bool, mod func(*Config)) *testEnv {
	t.Helper()
	cfg := Config{Store: st, IPRate: -1, AccountRate: -1, LoginRate: 1000, LoginBurst: 1000, AckKey: testAckKey, Twilio: testTwilio}
	clock := time.Now
	if city {
		k := testCity(t) // every test server can plan, on a small generated city
		cfg.Car, cfg.Foot, cfg.Places = k.car, k.foot, k.places
		// Every test server that can plan has signing keys and issues on
		// approval, on the server's clock (a test's mod may move it, or drop
		// the issuer).
		iss, err := issue.New(issue.Config{Store: st, Keyring: testKeyring(t), Secret: []byte("test deployment secret, 32 bytes"),
			Streets: k.streets, PublicURL: "https://evac.example.org", Contact: muster.Contact{Phone: "+93 20 210 0000"},
			Now: func() time.Time { return clock() }, ReadKeyring: func() (*credential.Keyring, error) { return testKeyring(t), nil }})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Issuer = iss
	}
	if mod != nil {
		mod(&cfg)
	}
	if cfg.Now != nil {
		clock = cfg.Now
	}
	api, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	t.Cleanup(api.Close)
	e := &testEnv{t: t, store: st, api: api, srv: srv, tokens: map[string]string{}}
	ctx := context.Background()
	for _, role := range muster.Roles {
		hash, err := muster.HashPasswordCost(password(role), muster.PasswordCost{MemoryKiB: 64, Passes: 1}) // cheap: these users log in in every test
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CreateUser(ctx, muster.User{Name: role + "-user", Role: role, PasswordHash: hash}); err != nil {
			t.Fatalf("create user: %v", err)
		}
		e.tokens[role] = e.login(role+"-user", password(role))
	}
	e.hh = e.createHousehold("admin", "HH-A", "+93700000001")
	e.link = e.createLink("admin", e.hh)
	return e
}

func (e *testEnv) login(name, pw string) string {
	e.t.Helper()
	var resp loginResponse
	e.do("", "POST", "/api/login", mustJSON(loginRequest{Name: name, Password: pw}), 200, &resp)
	if resp.Token == "" {
		e.t.Fatal("login gave no token")
	}
	return resp.Token
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// request sends a request as role ("" anonymous) and returns the response
// with its body read.
func (e *testEnv) request(role, method, path string, body []byte, contentType string) (*http.Response, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	} else if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method == "POST" && path == "/api/ack/twilio" {
		// So does a Twilio-style gateway, its own way (see
		// outbox_test.go).
		form, err := url.ParseQuery(string(body))
		if err != nil {
			e.t.Fatal(err)
		}
		req.Header.Set(deliver.TwilioSignatureHeader, deliver.TwilioSignature(testTwilio.AuthToken, testTwilio.URL, form))
	}
	if method == "POST" && path == "/api/ack/code" {
		// The SMS gateway signs its posts (see outbox_test.go for unsigned
		// and forged ones).
		for k, v := range signHeaders(testAckKey, body, uniq("msg_"), time.Now()) {
			req.Header.Set(k, v)
		}
	}
	if role != "" {
		tok, ok := e.tokens[role]
		if !ok {
			tok = role // a raw token
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

// do sends a JSON request and checks the status; out, if not nil, gets
// the decoded response.
func (e *testEnv) do(role, method, path string, body []byte, want int, out any) []byte {
	e.t.Helper()
	resp, b := e.request(role, method, path, body, "")
	if resp.StatusCode != want {
		e.t.Fatalf("%s %s as %q: status %d, want %d; body %s", method, path, role, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
	return b
}

func newHousehold(id, phone string) householdIn {
	return householdIn{ID: id, Name: "Test Household " + id, NameLocal: "خانواده آزمایشی", PartySize: 3, Adults: 2, Children: 1,
		Priority: muster.PriorityMedical, Language: muster.LangDari, Phone: phone,
		Location: &locationJSON{Lat: 34.53, Lon: 69.18}, Eligibility: "siv", Documents: "passport", Notes: "needs wheelchair"}
}

func (e *testEnv) createHousehold(role, id, phone string) string {
	e.t.Helper()
	var out householdOut
	e.do(role, "POST", "/api/households", mustJSON(newHousehold(id, phone)), 201, &out)
	return out.ID
}

func (e *testEnv) createLink(role, id string) string {
	e.t.Helper()
	var out linkResponse
	e.do(role, "POST", "/api/households/"+id+"/links", []byte(`{}`), 201, &out)
	if !strings.HasPrefix(out.Path, "/api/me/") || len(out.Token) < 40 {
		e.t.Fatalf("link %+v: want /api/me/<256-bit secret>", out)
	}
	return out.Token
}

// errorOf decodes an error body, failing the test if it is not one.
func errorOf(t testing.TB, body []byte) errorDetail {
	t.Helper()
	var eb errorBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
		t.Fatalf("not a JSON error body: %s (%v)", body, err)
	}
	return eb.Error
}

var (
	keyringOnce sync.Once
	keyring     *credential.Keyring
	keyringErr  error
)

// testKeyring is the test deployment's keyring, made before any scenario
// time the tests use.
func testKeyring(t testing.TB) *credential.Keyring {
	t.Helper()
	keyringOnce.Do(func() {
		keyring, keyringErr = credential.NewKeyring("test-deploy", 0, time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC))
	})
	if keyringErr != nil {
		t.Fatal(keyringErr)
	}
	return keyring
}

// repoRoot walks up from the package to go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

func sharedFile(t *testing.T, rel string) string {
	t.Helper()
	return testshared.Path(t, rel)
}

// csvLastFields maps each data record's first line to its last field.
func csvLastFields(t *testing.T, data []byte) map[int]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	out := map[int]string{}
	for first := true; ; first = false {
		rec, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil && rec == nil {
			t.Fatalf("reading the expected column: %v", err)
		}
		if line, _ := r.FieldPos(0); !first {
			out[line] = rec[len(rec)-1]
		}
	}
}
