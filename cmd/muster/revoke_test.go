package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
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
	backends := map[string]func(t *testing.T) []string{
		"sqlite": func(t *testing.T) []string { return []string{"--data", filepath.Join(t.TempDir(), "data")} },
	}
	if base := os.Getenv("MUSTER_TEST_POSTGRES"); base != "" {
		backends["postgres"] = func(t *testing.T) []string { return postgresArgs(t, base) }
	}
	for name, args := range backends {
		t.Run(name, func(t *testing.T) {
			store := args(t)
			const pw = "correct horse battery staple"
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
