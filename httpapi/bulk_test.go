package httpapi

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// Large uploads are read at most Config.MaxBulk at a time: one more is
// answered 429 with Retry-After at once (not a 500 after minutes with the
// memory gone), a single report still goes through, and when the first
// upload ends the next is taken.
func TestBulkUploadsBounded(t *testing.T) {
	e := newEnv(t, openSQLite(t), func(c *Config) { c.MaxBulk = 1 })
	data, err := os.ReadFile(sharedFile(t, "scenarios/kabul-2021/evacuees.csv"))
	if err != nil {
		t.Fatal(err)
	}
	header, rest, _ := strings.Cut(string(data), "\n")

	// The first import sends its header, then holds its body open.
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", e.srv.URL+"/api/households/import?dry_run=true", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Authorization", "Bearer "+e.tokens["planner"])
	first := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			first <- 0
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	if _, err := pw.Write([]byte(header + "\n")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); len(e.api.bulk) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the first import never took its place")
		}
		time.Sleep(5 * time.Millisecond)
	}

	resp, b := e.request("planner", "POST", "/api/households/import?dry_run=true", data, "text/csv")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "10" || !strings.Contains(string(b), "large uploads are being read") {
		t.Fatalf("a second import while the first is read: %d, Retry-After %q, %s", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
	// One report is small: it never waits for a place.
	resp, b = e.request("planner", "POST", "/api/reports", []byte(`{"id":"r-bulk-1"}`), "application/json")
	if resp.StatusCode == http.StatusTooManyRequests {
		t.Errorf("one report while an import is read: %d %s", resp.StatusCode, b)
	}

	if _, err := pw.Write([]byte(rest)); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if got := <-first; got != http.StatusOK {
		t.Fatalf("the first import: %d", got)
	}
	// The place is given back as the handler returns, just after its answer.
	released := func() bool {
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if len(e.api.bulk) == 0 {
				return true
			}
		}
		return false
	}
	if !released() {
		t.Fatal("the first import's place was never given back")
	}
	if resp, b := e.request("planner", "POST", "/api/households/import?dry_run=true", data, "text/csv"); resp.StatusCode != http.StatusOK {
		t.Fatalf("an import after the first ended: %d %s", resp.StatusCode, b)
	}
	if !released() {
		t.Errorf("%d places still held after every upload ended", len(e.api.bulk))
	}
}
