package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muster-evac/muster/internal/testshared"
)

// lockedBuffer is a buffer the command writes while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestDemoServeRunsTheOperation runs `demo --serve` as a new user would,
// and uses what it prints: the URL, the login, the evacuee's link.
func TestDemoServeRunsTheOperation(t *testing.T) {
	demoServeOnce(t, filepath.Join(t.TempDir(), "demo"), "")
}

// TestDemoServeTwiceStartsAnew: a second run in the same folder makes its
// data folder anew: a new password, and the first one no longer logs in.
func TestDemoServeTwiceStartsAnew(t *testing.T) {
	testshared.Long(t) // two demos and servers: about 10 s
	dir := filepath.Join(t.TempDir(), "demo")
	first := demoServeOnce(t, dir, "")
	if second := demoServeOnce(t, dir, first); second == first {
		t.Errorf("the second run printed the first run's password again")
	}
}

var (
	demoURLRe   = regexp.MustCompile(`(?m)^  (http://127\.0\.0\.1:\d+)/$`)
	demoLoginRe = regexp.MustCompile(`Log in as (\S+) with password (\S+)`)
	demoLinkRe  = regexp.MustCompile(`own page, as its link opens it: (http://\S+)/me/(\S+)`)
)

// demoServeOnce runs demo --serve in dir, checks the operation through the
// printed URL, login and link, stops it and checks it stopped cleanly. It
// returns the password it printed; oldPassword, a previous run's, must not
// log in.
func demoServeOnce(t *testing.T, dir, oldPassword string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb lockedBuffer
	cmd := newRootCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs([]string{"demo", "--scale", "0.2", "--out", dir, "--serve", "--addr", "127.0.0.1:0"})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	var link []string
	deadline := time.After(3 * time.Minute)
	for link == nil {
		select {
		case err := <-done:
			t.Fatalf("demo --serve ended before serving: %v\n%s\n%s", err, out.String(), errb.String())
		case <-deadline:
			cancel()
			<-done
			t.Fatalf("demo --serve printed no evacuee link in 3 minutes:\n%s\n%s", out.String(), errb.String())
		case <-time.After(100 * time.Millisecond):
		}
		link = demoLinkRe.FindStringSubmatch(out.String())
	}
	printed := out.String()
	url := demoURLRe.FindStringSubmatch(printed)
	login := demoLoginRe.FindStringSubmatch(printed)
	if url == nil || login == nil {
		t.Fatalf("demo --serve printed no URL or login:\n%s", printed)
	}
	base, name, pw, linkToken := url[1], login[1], login[2], link[2]
	if link[1] != base {
		t.Errorf("the evacuee link's server %s is not the printed URL %s", link[1], base)
	}

	do := func(method, path, token string, body any, into any) int {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		if into != nil && resp.StatusCode == 200 {
			if s, ok := into.(*string); ok {
				*s = string(b)
			} else if err := json.Unmarshal(b, into); err != nil {
				t.Fatalf("%s %s: %v: %s", method, path, err, b)
			}
		}
		return resp.StatusCode
	}

	// The printed login works.
	var session struct {
		Token string `json:"token"`
	}
	if code := do("POST", "/api/login", "", map[string]string{"name": name, "password": pw}, &session); code != 200 || session.Token == "" {
		t.Fatalf("login with the printed password: status %d", code)
	}
	if code := do("POST", "/api/login", "", map[string]string{"name": name, "password": pw + "x"}, nil); code == 200 {
		t.Errorf("login with a wrong password: status %d", code)
	}
	if oldPassword != "" {
		if code := do("POST", "/api/login", "", map[string]string{"name": name, "password": oldPassword}, nil); code == 200 {
			t.Errorf("login with the previous run's password: status %d", code)
		}
	}
	// A current, approved plan that moves people under the threat.
	var plans struct {
		Plans []struct {
			ID         string `json:"id"`
			Status     string `json:"status"`
			ApprovedBy string `json:"approved_by"`
			Summary    struct {
				Households     int `json:"households"`
				AssignedPeople int `json:"assigned_people"`
				Groups         int `json:"groups"`
			} `json:"summary"`
		} `json:"plans"`
	}
	if code := do("GET", "/api/plans", session.Token, nil, &plans); code != 200 {
		t.Fatalf("GET /api/plans: status %d", code)
	}
	if len(plans.Plans) != 1 || plans.Plans[0].Status != "current" || plans.Plans[0].ApprovedBy != name {
		t.Fatalf("plans: want one current plan approved by %s, got %+v", name, plans.Plans)
	}
	csv, err := os.ReadFile(filepath.Join(dir, "evacuees.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Count(strings.TrimSpace(string(csv)), "\n"); plans.Plans[0].Summary.Households != want || plans.Plans[0].Summary.Groups == 0 || plans.Plans[0].Summary.AssignedPeople == 0 {
		t.Errorf("the plan's summary %+v: want the %d households of evacuees.csv, moved in groups", plans.Plans[0].Summary, want)
	}
	var current struct {
		Status string          `json:"status"`
		Zones  json.RawMessage `json:"zones"`
	}
	if code := do("GET", "/api/plans/current", session.Token, nil, &current); code != 200 {
		t.Fatalf("GET /api/plans/current: status %d", code)
	}
	var zones struct {
		Features []struct {
			Properties map[string]any `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(current.Zones, &zones); err != nil || len(zones.Features) == 0 {
		t.Errorf("the current plan was made against no threat (zones %s): %v", current.Zones, err)
	}
	// The operations map.
	var page string
	if code := do("GET", "/", "", nil, &page); code != 200 || !strings.Contains(page, "<html") {
		t.Errorf("GET /: status %d, page %.200q", code, page)
	}
	// The evacuee's own page, through the printed link: its instruction.
	var me struct {
		ID          string `json:"id"`
		Instruction *struct {
			ID   string `json:"id"`
			Text string `json:"text"`
		} `json:"instruction"`
	}
	if code := do("GET", "/api/me/"+linkToken, "", nil, &me); code != 200 {
		t.Fatalf("GET /api/me/{printed link}: status %d", code)
	}
	if me.Instruction == nil || me.Instruction.Text == "" || !strings.HasPrefix(me.Instruction.ID, "I-"+me.ID+"/") {
		t.Errorf("the printed link's household %s has no instruction of its own: %+v", me.ID, me.Instruction)
	}
	if code := do("GET", "/me/"+linkToken, "", nil, &page); code != 200 || !strings.Contains(page, "<html") {
		t.Errorf("GET /me/{printed link}: status %d", code)
	}

	// Ctrl-C: a clean stop.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo --serve after cancel: %v\n%s", err, errb.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("demo --serve did not stop within a minute of cancel")
	}
	if !strings.Contains(errb.String(), "muster: stopped") {
		t.Errorf("no clean stop in stderr:\n%s", errb.String())
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Errorf("the server still answers after the stop")
	}
	return pw
}

// TestDemoServeKeepsAFolderItDidNotMake: --out pointed at a folder with a
// data/ of its own must not lose it.
func TestDemoServeKeepsAFolderItDidNotMake(t *testing.T) {
	dir := t.TempDir()
	own := filepath.Join(dir, "data", "muster.db")
	if err := os.MkdirAll(filepath.Dir(own), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(own, []byte("someone's database"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := run(t, "demo", "--scale", "0.2", "--out", dir, "--serve", "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "not made by demo --serve") {
		t.Fatalf("demo --serve over a data folder it did not make: %v", err)
	}
	if b, err := os.ReadFile(own); err != nil || string(b) != "someone's database" {
		t.Fatalf("the folder's own file was changed: %q %v", b, err)
	}
	if _, _, err := run(t, "demo", "--osm", "x.osm", "--serve"); err == nil || !strings.Contains(err.Error(), "leave --osm out") {
		t.Errorf("demo --serve --osm: %v", err)
	}
	if _, _, err := run(t, "demo", "--addr", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "--addr goes with --serve") {
		t.Errorf("demo --addr without --serve: %v", err)
	}
}
