package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muster-evac/muster/internal/testshared"

	"github.com/muster-evac/muster/seal"
)

// TestMain lets the test binary play the muster binary: the crash test
// runs `muster serve` as a process of its own, to kill it.
func TestMain(m *testing.M) {
	if os.Getenv("MUSTER_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestServerSIGKILLLosesNothingAcknowledged kills `muster serve` with
// SIGKILL, many times, while operators register households one by one and
// import lists of 300, and checks after each kill that every registration
// the server acknowledged is stored, that each list is stored whole or
// not at all, and that the audit chain still verifies.
func TestServerSIGKILLLosesNothingAcknowledged(t *testing.T) {
	testshared.Long(t)
	for name, args := range storeBackends() {
		t.Run(name, func(t *testing.T) {
			store := args(t)
			const pw = "tangerine zeppelin quartz 42"
			if _, stderr, err := runIn(t, pw+"\n", append([]string{"user", "add", "ops", "--role", "planner", "--password-stdin"}, store...)...); err != nil {
				t.Fatalf("user add: %v %s", err, stderr)
			}
			rng := rand.New(rand.NewPCG(7, 7))
			acked := map[string]bool{}
			var lists []string // prefixes of the lists sent
			for round := 0; round < 5; round++ {
				srv := startServer(t, store)
				token := srv.login(t, "ops", pw)
				var mu sync.Mutex
				var wg sync.WaitGroup
				stop := make(chan struct{})
				for w := 0; w < 6; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := 0; ; i++ {
							select {
							case <-stop:
								return
							default:
							}
							id := fmt.Sprintf("R%d-W%d-%d", round, w, i)
							body := fmt.Sprintf(`{"id":%q,"name":"Crash Test","party_size":2,"adults":2,"language":"fa","phone":"+9370%07d","location":{"lat":34.53,"lon":69.17}}`, id, round*1_000_000+w*100_000+i)
							if status, _ := srv.post(token, "/api/households", "application/json", body); status == 201 {
								mu.Lock()
								acked[id] = true
								mu.Unlock()
							} else if status == 0 {
								return // the server is gone
							}
						}
					}()
				}
				for l := 0; l < 2; l++ {
					prefix := fmt.Sprintf("L%d-%d-", round, l)
					lists = append(lists, prefix)
					var b strings.Builder
					b.WriteString("household_id,name,members,phone,lat,lon\n")
					for i := 0; i < 300; i++ {
						fmt.Fprintf(&b, "%s%03d,List Person,3,+9371%02d%02d%04d,34.5,69.2\n", prefix, i, round, l, i)
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						srv.post(token, "/api/households/import", "text/csv", b.String())
					}()
				}
				time.Sleep(time.Duration(150+rng.IntN(400)) * time.Millisecond)
				srv.kill(t)
				close(stop)
				wg.Wait()
			}
			// Everything acknowledged is there; each list whole or absent.
			out, stderr, err := runIn(t, "", append([]string{"households", "export"}, store...)...)
			if err != nil {
				t.Fatalf("export after the kills: %v %s", err, stderr)
			}
			rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			stored := map[string]bool{}
			for _, r := range rows[1:] {
				stored[r[0]] = true
			}
			for id := range acked {
				if !stored[id] {
					t.Errorf("household %s was acknowledged (201) and is lost after SIGKILL", id)
				}
			}
			whole := 0
			for _, prefix := range lists {
				n := 0
				for id := range stored {
					if strings.HasPrefix(id, prefix) {
						n++
					}
				}
				if n != 0 && n != 300 {
					t.Errorf("list %s: %d of its 300 households stored: an import was stored in part", prefix, n)
				}
				if n == 300 {
					whole++
				}
			}
			if out, stderr, err := runIn(t, "", append([]string{"audit", "verify"}, store...)...); err != nil || !strings.HasPrefix(out, "OK") {
				t.Errorf("audit verify after the kills: %v %s %s", err, out, stderr)
			}
			if len(acked) == 0 {
				t.Fatal("no registration was acknowledged: the test proved nothing")
			}
			t.Logf("%d registrations acknowledged over 5 kills, all kept; of %d lists sent, %d stored whole, the others not at all", len(acked), len(lists), whole)
		})
	}
}

type serverProc struct {
	cmd  *exec.Cmd
	base string
	c    *http.Client
}

// startServer runs `muster serve` as a child process and waits until it
// listens.
func startServer(t *testing.T, store []string) *serverProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0", "--rate-ip", "-1", "--rate-account", "-1"}, store...)...)
	cmd.Env = append(os.Environ(), "MUSTER_TEST_RUN_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if _, after, ok := strings.Cut(sc.Text(), "serving "); ok {
			go func() { _, _ = io.Copy(io.Discard, stderr) }()
			return &serverProc{cmd: cmd, base: strings.Fields(after)[0], c: &http.Client{Timeout: 10 * time.Second}}
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	t.Fatalf("serve did not start: %s", strings.Join(lines, "\n"))
	return nil
}

func (s *serverProc) login(t *testing.T, name, pw string) string {
	t.Helper()
	status, body := s.post("", "/api/login", "application/json", fmt.Sprintf(`{"name":%q,"password":%q}`, name, pw))
	var resp struct{ Token string }
	if status != 200 || json.Unmarshal([]byte(body), &resp) != nil || resp.Token == "" {
		t.Fatalf("login: %d %s", status, body)
	}
	return resp.Token
}

// post returns the status (0 when the server did not answer) and body.
func (s *serverProc) post(token, path, ct, body string) (int, string) {
	req, _ := http.NewRequest("POST", s.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", ct)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err.Error() // cut off mid-answer: not acknowledged
	}
	return resp.StatusCode, string(bytes.TrimSpace(b))
}

func (s *serverProc) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = s.cmd.Wait()
}

// storeBackends gives, by name, the store flags of a fresh store on each
// backend the machine has: SQLite always, PostgreSQL when
// MUSTER_TEST_POSTGRES names a database.
func storeBackends() map[string]func(t *testing.T) []string {
	backends := map[string]func(t *testing.T) []string{
		"sqlite": func(t *testing.T) []string { return []string{"--data", filepath.Join(t.TempDir(), "data")} },
	}
	if base := os.Getenv("MUSTER_TEST_POSTGRES"); base != "" {
		backends["postgres"] = func(t *testing.T) []string { return postgresArgs(t, base) }
	} else if testshared.InCI() {
		backends["postgres"] = func(t *testing.T) []string {
			t.Fatal("CI=true but MUSTER_TEST_POSTGRES is unset: every command line test on a store must also run on PostgreSQL")
			return nil
		}
	}
	return backends
}

// postgresArgs gives the store flags of a schema of its own in the
// database MUSTER_TEST_POSTGRES names, dropped when t ends.
func postgresArgs(t *testing.T, base string) []string {
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("crashtest_%d", time.Now().UnixNano())
	if _, err := admin.ExecContext(context.Background(), `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); admin.Close() })
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
	return []string{"--db", u.String(), "--key", key, "--data", filepath.Join(dir, "unused")}
}
