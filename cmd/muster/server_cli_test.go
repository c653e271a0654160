package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster/internal/testshared"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/seal"
)

// runIn executes the muster command line in-process with stdin.
func runIn(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

func TestUserAddAuditVerifyAndTamper(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	const pw = "tangerine zeppelin quartz 42\n"
	if _, _, err := runIn(t, pw, "user", "list", "--data", data); err == nil {
		t.Errorf("user list without a database succeeded")
	}
	_, stderr, err := runIn(t, pw, "user", "add", "alice", "--role", "admin", "--password-stdin", "--data", data)
	if err != nil {
		t.Fatalf("user add: %v %s", err, stderr)
	}
	if !strings.Contains(stderr, "KEEP IT SAFE") {
		t.Errorf("first start does not tell the operator about the new key: %q", stderr)
	}
	for path, want := range map[string]os.FileMode{data: 0o700, filepath.Join(data, masterKeyFile): 0o600} {
		st, err := os.Stat(path)
		if err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %04o", path, st.Mode().Perm(), err, want)
		}
	}
	for _, bad := range [][]string{
		{"user", "add", "bob", "--role", "king", "--password-stdin"},
		{"user", "add", "bob", "--role", "field"}, // stdin is not a terminal
		{"user", "add", "b b", "--role", "field", "--password-stdin"},
		{"user", "add", "alice", "--role", "field", "--password-stdin"}, // taken
	} {
		if _, _, err := runIn(t, pw, append(bad, "--data", data)...); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
	if _, _, err := runIn(t, "short\n", "user", "add", "bob", "--role", "field", "--password-stdin", "--data", data); err == nil ||
		!strings.Contains(err.Error(), "shorter than 12 characters") {
		t.Errorf("short password: %v", err)
	}
	if _, _, err := runIn(t, pw, "user", "add", "bob", "--role", "field", "--password-stdin", "--data", data); err != nil {
		t.Fatal(err)
	}
	out, _, err := runIn(t, "", "user", "list", "--data", data)
	if err != nil || !strings.Contains(out, "alice") || !strings.Contains(out, "field") {
		t.Errorf("user list: %v\n%s", err, out)
	}
	if _, _, err := runIn(t, "walnut lantern mosaic 1931\n", "user", "passwd", "bob", "--password-stdin", "--data", data); err != nil {
		t.Errorf("user passwd: %v", err)
	}
	tok, _, err := runIn(t, "", "user", "token", "bob", "--ttl", "1h", "--data", data)
	if err != nil || len(strings.TrimSpace(tok)) < 40 {
		t.Errorf("user token: %v %q", err, tok)
	}
	if _, _, err := runIn(t, "", "user", "token", "nobody", "--data", data); err == nil {
		t.Errorf("a token for no user")
	}
	{
		st, err := (&storeFlags{data: data}).openStore(context.Background(), io.Discard, false)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := st.GetUser(context.Background(), "bob")
		if ok, _ := muster.CheckPassword(u.PasswordHash, "walnut lantern mosaic 1931"); !ok {
			t.Errorf("user passwd did not set the password")
		}
		tk, tu, err := st.LookupToken(context.Background(), muster.TokenHash(strings.TrimSpace(tok)), time.Now())
		if err != nil || tu.Name != "bob" || tk.Kind != muster.TokenAPI || time.Until(tk.ExpiresAt) > time.Hour {
			t.Errorf("API token: %+v %+v %v", tk, tu, err)
		}
		st.Close()
	}
	out, _, err = runIn(t, "", "audit", "verify", "--data", data)
	if err != nil || !strings.HasPrefix(out, "OK: ") {
		t.Fatalf("audit verify: %v %s", err, out)
	}
	// Edit one entry behind muster's back: verify names it and fails.
	db, err := sql.Open("sqlite", filepath.Join(data, sqliteFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit SET actor = 'mallory' WHERE seq = 1`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out, _, err = runIn(t, "", "audit", "verify", "--data", data)
	if err == nil || !strings.HasPrefix(out, "BAD: audit entry 1") {
		t.Errorf("a tampered log verified: %v %s", err, out)
	}
	// A database without its key is refused, not given a new key.
	if err := os.Rename(filepath.Join(data, masterKeyFile), filepath.Join(data, "elsewhere.key")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runIn(t, pw, "user", "add", "carol", "--role", "viewer", "--password-stdin", "--data", data); err == nil ||
		!strings.Contains(err.Error(), "master key") {
		t.Errorf("no key beside an existing database: %v", err)
	}
	if _, _, err := runIn(t, "", "user", "list", "--data", data, "--key", filepath.Join(data, "elsewhere.key")); err != nil {
		t.Errorf("--key: %v", err)
	}
}

func TestHouseholdsImportExportAndWipe(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if _, _, err := runIn(t, "tangerine zeppelin quartz 42\n", "user", "add", "alice", "--role", "admin", "--password-stdin", "--data", data); err != nil {
		t.Fatal(err)
	}
	csv := "household_id,name,members,phone,lat,lon,notes\nK1,Ahmad Zia,3,+93700000001,34.53,69.18,\nK2,Bad Row,0,+93700000002,34.53,69.18,\nK3,Laila,2,+93700000003,34.54,69.17,has papers\n"
	path := filepath.Join(t.TempDir(), "list.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := runIn(t, "", "households", "import", path, "--dry-run", "--data", data)
	var rep struct {
		Created, Rejected int
		Rows              []struct {
			Line    int
			Action  string
			Reasons []string
		}
	}
	if json.Unmarshal([]byte(out), &rep) != nil || rep.Created != 2 || rep.Rejected != 1 || rep.Rows[1].Action != "rejected" || len(rep.Rows[1].Reasons) == 0 {
		t.Errorf("dry run report: %s", out)
	}
	if err == nil || muster.ErrorCode(err) != muster.EINVALID {
		t.Errorf("a rejected row should make the command fail (exit 2): %v", err)
	}
	if _, _, err := runIn(t, "", "households", "import", path, "--data", data); err == nil {
		t.Errorf("import with a bad row: no error")
	}
	out, _, err = runIn(t, "", "households", "export", "--data", data)
	if err != nil || !strings.Contains(out, "Ahmad Zia") || !strings.Contains(out, "has papers") || strings.Contains(out, "Bad Row") {
		t.Errorf("export: %v\n%s", err, out)
	}
	// Wipe: refused without confirmation, done with it.
	if _, _, err := runIn(t, "no\n", "wipe", "--data", data); err == nil {
		t.Errorf("wipe went ahead without confirmation")
	}
	if _, _, err := runIn(t, "", "households", "export", "--data", data); err != nil {
		t.Errorf("after an unconfirmed wipe: %v", err)
	}
	out, _, err = runIn(t, "wipe\n", "wipe", "--data", data)
	if err != nil || !strings.Contains(out, "wiped") {
		t.Fatalf("wipe: %v %s", err, out)
	}
	_, _, err = runIn(t, "", "households", "export", "--data", data)
	if err == nil {
		t.Errorf("export after wipe succeeded")
	}
	raw, _ := os.ReadFile(filepath.Join(data, sqliteFile))
	if bytes.Contains(raw, []byte("Ahmad Zia")) || bytes.Contains(raw, []byte("has papers")) {
		t.Errorf("personal data in clear in the database file")
	}
}

// TestServeGracefulShutdown starts `muster serve` in-process on a free
// port, serves a request and an event stream, then cancels (as SIGTERM
// does): the command returns cleanly and the stream ends.
func TestServeGracefulShutdown(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	const pw = "tangerine zeppelin quartz 42"
	if _, _, err := runIn(t, pw+"\n", "user", "add", "alice", "--role", "planner", "--password-stdin", "--data", data); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pipeW := io.Pipe()
	cmd := newRootCmd()
	cmd.SetOut(io.Discard)
	cmd.SetErr(pipeW)
	cmd.SetArgs([]string{"serve", "--addr", "127.0.0.1:0", "--data", data})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx); pipeW.Close() }()
	sc := bufio.NewScanner(pr)
	var base string
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if _, after, ok := strings.Cut(sc.Text(), "serving "); ok {
			base = strings.Fields(after)[0]
			break
		}
	}
	if base == "" {
		t.Fatalf("serve did not say where it listens: %v (%v)", lines, <-done)
	}
	go func() {
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
	}()
	for _, p := range []string{"/healthz", "/readyz", "/api/hello", "/openapi.json"} {
		resp, err := http.Get(base + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", p, err, resp)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(metrics, []byte(`muster_http_requests_total{method="GET",route="GET /healthz",status="200"} 1`)) ||
		!bytes.Contains(metrics, []byte(`muster_http_request_duration_seconds_bucket{method="GET",route="GET /api/hello"`)) {
		t.Errorf("metrics lack request counts or latencies:\n%s", metrics)
	}
	// An event stream open at shutdown must not hold it up until the
	// deadline (30 s).
	resp, err = http.Post(base+"/api/login", "application/json", strings.NewReader(`{"name":"alice","password":"`+pw+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var login struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&login); err != nil || login.Token == "" {
		t.Fatalf("login: %v %v", err, resp.Status)
	}
	resp.Body.Close()
	req, _ := http.NewRequest("GET", base+"/api/events", nil)
	req.Header.Set("Authorization", "Bearer "+login.Token)
	stream, err := http.DefaultClient.Do(req)
	if err != nil || stream.StatusCode != 200 {
		t.Fatalf("events: %v %v", err, stream)
	}
	streamEnded := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, stream.Body); close(streamEnded) }()

	// An import still uploading when SIGTERM comes is finished and
	// answered, not cut.
	var csv strings.Builder
	csv.WriteString("household_id,name,members,phone,lat,lon\n")
	for i := range 300 {
		fmt.Fprintf(&csv, "G%04d,Name %d,2,+9370030%04d,34.5,69.2\n", i, i, i)
	}
	upload, uploadW := io.Pipe()
	req, _ = http.NewRequest("POST", base+"/api/households/import", upload)
	req.Header.Set("Authorization", "Bearer "+login.Token)
	req.Header.Set("Content-Type", "text/csv")
	imported := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("import in flight: %v", err)
		}
		imported <- resp
	}()
	half := csv.Len() / 2
	if _, err := io.WriteString(uploadW, csv.String()[:half]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)

	start := time.Now()
	cancel()
	time.Sleep(200 * time.Millisecond)
	if _, err := io.WriteString(uploadW, csv.String()[half:]); err != nil {
		t.Fatal(err)
	}
	uploadW.Close()
	if resp := <-imported; resp == nil || resp.StatusCode != 200 {
		t.Errorf("import in flight at shutdown: %v", resp)
	} else {
		var rep struct{ Created int }
		if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil || rep.Created != 300 {
			t.Errorf("import in flight at shutdown: created %d (%v), want 300", rep.Created, err)
		}
		resp.Body.Close()
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop within 20 s")
	}
	select {
	case <-streamEnded:
	case <-time.After(5 * time.Second):
		t.Errorf("the event stream outlived the server")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Errorf("still serving after shutdown")
	}
}

// TestCLIOnPostgres: user add, list and audit verify with --db, in a
// schema of its own of the database MUSTER_TEST_POSTGRES names.
func TestCLIOnPostgres(t *testing.T) {
	base := os.Getenv("MUSTER_TEST_POSTGRES")
	if base == "" {
		testshared.Unavailable(t, "MUSTER_TEST_POSTGRES is unset: skipping the PostgreSQL command line test")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	schema := fmt.Sprintf("clitest_%d", time.Now().UnixNano())
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatal(err)
	}
	defer admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	dir := t.TempDir()
	key := filepath.Join(dir, "master.key")
	if err := seal.GenerateMasterKey(key); err != nil {
		t.Fatal(err)
	}
	args := []string{"--db", u.String(), "--key", key, "--data", filepath.Join(dir, "unused")}
	if _, stderr, err := runIn(t, "tangerine zeppelin quartz 42\n", append([]string{"user", "add", "alice", "--role", "admin", "--password-stdin"}, args...)...); err != nil {
		t.Fatalf("user add: %v %s", err, stderr)
	}
	out, _, err := runIn(t, "", append([]string{"user", "list"}, args...)...)
	if err != nil || !strings.Contains(out, "alice") {
		t.Errorf("user list: %v %s", err, out)
	}
	out, _, err = runIn(t, "", append([]string{"audit", "verify"}, args...)...)
	if err != nil || !strings.HasPrefix(out, "OK: ") {
		t.Errorf("audit verify: %v %s", err, out)
	}
	if _, _, err := runIn(t, "", "user", "list", "--db", "mysql://x", "--key", key); err == nil || !strings.Contains(err.Error(), "postgres://") {
		t.Errorf("a non-PostgreSQL URL: %v", err)
	}
}
