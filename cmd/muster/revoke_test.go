package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// get returns the status of GET path with token (0 when no answer).
func (s *serverProc) get(token, path string) int {
	req, _ := http.NewRequest("GET", s.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.c.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestCLIDisableReachesARunningServer: an operator disabled with the CLI,
// in another process than the running server, is refused by the server at
// the very next request, although the server keeps live tokens in memory
// (the SQLite store's token cache) after many requests with the token.
func TestCLIDisableReachesARunningServer(t *testing.T) {
	for name, args := range storeBackends() {
		t.Run(name, func(t *testing.T) {
			store := args(t)
			const pw = "tangerine zeppelin quartz 42"
			for _, u := range []string{"ops", "other"} {
				if _, stderr, err := runIn(t, pw+"\n", append([]string{"user", "add", u, "--role", "planner", "--password-stdin"}, store...)...); err != nil {
					t.Fatalf("user add %s: %v %s", u, err, stderr)
				}
			}
			srv := startServer(t, store)
			defer srv.kill(t)
			ops, other := srv.login(t, "ops", pw), srv.login(t, "other", pw)
			for range 20 {
				if got := srv.get(ops, "/api/households"); got != 200 {
					t.Fatalf("before disable: %d", got)
				}
			}
			if _, stderr, err := runIn(t, "", append([]string{"user", "disable", "ops"}, store...)...); err != nil {
				t.Fatalf("user disable: %v %s", err, stderr)
			}
			if got := srv.get(ops, "/api/households"); got != 401 {
				t.Fatalf("the disabled operator's token still works on the running server: %d", got)
			}
			if got := srv.get(other, "/api/households"); got != 200 {
				t.Fatalf("another operator's token stopped working: %d", got)
			}
		})
	}
}

// TestCLIChangesReachARunningServer: changes made with the CLI in another
// process than a running SQLite server reach the server's event stream,
// and `muster wipe` run beside it makes the server drop its key at once.
func TestCLIChangesReachARunningServer(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	store := []string{"--data", data}
	const pw = "tangerine zeppelin quartz 42"
	if _, stderr, err := runIn(t, pw+"\n", append([]string{"user", "add", "ops", "--role", "admin", "--password-stdin"}, store...)...); err != nil {
		t.Fatalf("user add: %v %s", err, stderr)
	}
	srv := startServer(t, store)
	defer srv.kill(t)
	tok := srv.login(t, "ops", pw)
	req, _ := http.NewRequest("GET", srv.base+"/api/events", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := (&http.Client{}).Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("event stream: %v %v", err, resp)
	}
	defer resp.Body.Close()
	events := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data: ") {
				events <- strings.TrimPrefix(sc.Text(), "data: ")
			}
		}
		close(events)
	}()
	want := func(ev string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case got, ok := <-events:
				if !ok {
					t.Fatalf("event stream ended before %s", ev)
				}
				if got == ev {
					return
				}
			case <-timeout:
				t.Fatalf("no event %s from the CLI's change", ev)
			}
		}
	}

	csv := "household_id,name,members,phone,lat,lon,notes\nK1,Ahmad Zia,3,+93700000001,34.53,69.18,\n"
	list := filepath.Join(t.TempDir(), "list.csv")
	if err := os.WriteFile(list, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := runIn(t, "", append([]string{"households", "import", list}, store...)...); err != nil {
		t.Fatalf("import: %v %s", err, stderr)
	}
	want(`{"id":"","kind":"household"}`)
	if got := srv.get(tok, "/api/households/K1"); got != 200 {
		t.Fatalf("household imported by the CLI: %d", got)
	}

	if _, stderr, err := runIn(t, "", append([]string{"wipe", "--yes"}, store...)...); err != nil {
		t.Fatalf("wipe: %v %s", err, stderr)
	}
	want(`{"id":"data_key","kind":"wipe"}`)
	if got := srv.get(tok, "/api/households/K1"); got != 403 {
		t.Fatalf("after a wipe beside it, the server still reads personal data: %d", got)
	}
}
