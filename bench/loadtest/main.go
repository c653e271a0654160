// Command loadtest drives a running muster server on loopback with many
// concurrent clients and reports requests per second, latency and errors
// for three loads: the server's own hello endpoint (the ceiling: routing,
// metrics and JSON with no database), household registrations, and
// household reads. bench/loadtest.sh starts the server on SQLite and on
// PostgreSQL and runs this against each.
//
// The loops are bounded in time and count, and it only ever sends to the
// address it is given, which must be on loopback.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "the muster server (loopback only)")
	user := flag.String("user", "loadtest", "operator to log in as (role planner or field)")
	pass := flag.String("password", "", "the operator's password (or LOADTEST_PASSWORD)")
	clients := flag.Int("clients", 200, "concurrent clients")
	dur := flag.Duration("duration", 10*time.Second, "how long each load runs")
	maxReq := flag.Int("max-requests", 2_000_000, "stop a load after this many requests")
	label := flag.String("label", "", "a name for this run in the table (e.g. sqlite)")
	flag.Parse()
	if *pass == "" {
		*pass = os.Getenv("LOADTEST_PASSWORD")
	}
	if err := run(*base, *user, *pass, *clients, *dur, *maxReq, *label); err != nil {
		slog.Error("loadtest", "err", err)
		os.Exit(1)
	}
}

type result struct {
	name      string
	requests  int64
	errors    int64
	elapsed   time.Duration
	latencies []time.Duration
}

func (r result) row(label string) string {
	slices.Sort(r.latencies)
	q := func(p float64) time.Duration {
		if len(r.latencies) == 0 {
			return 0
		}
		return r.latencies[int(p*float64(len(r.latencies)-1))]
	}
	return fmt.Sprintf("%-8s %-14s %10.0f/s %9d %7d %9s %9s", label, r.name, float64(r.requests)/r.elapsed.Seconds(), r.requests, r.errors,
		q(0.5).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond))
}

func run(base, user, pass string, clients int, dur time.Duration, maxReq int, label string) error {
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s is not a loopback address: this load test only runs against this machine", base)
	}
	c := &http.Client{Timeout: 30 * time.Second}
	token, err := login(c, base, user, pass)
	if err != nil {
		return err
	}
	auth := "Authorization: Bearer " + token + "\r\n"
	stamp := time.Now().UnixNano()
	var ids []string
	var idsMu sync.Mutex
	var seq atomic.Int64
	hello := load(u.Host, "hello", clients, dur, maxReq, func(int) request {
		return request{method: "GET", path: "/api/hello", want: 200}
	})
	register := load(u.Host, "registrations", clients, dur, maxReq, func(int) request {
		n := seq.Add(1)
		id := fmt.Sprintf("LT%d-%d", stamp, n)
		body := fmt.Sprintf(`{"id":%q,"name":"Load Test %d","party_size":3,"adults":2,"children":1,"language":"fa","phone":"+9379%08d","location":{"lat":34.53,"lon":69.17}}`, id, n, (stamp/1000+n)%100_000_000)
		idsMu.Lock()
		ids = append(ids, id)
		idsMu.Unlock()
		return request{method: "POST", path: "/api/households", headers: auth + "Content-Type: application/json\r\n", body: []byte(body), want: 201}
	})
	if len(ids) == 0 {
		return fmt.Errorf("no household registered: nothing to read")
	}
	reads := load(u.Host, "reads", clients, dur, maxReq, func(i int) request {
		return request{method: "GET", path: "/api/households/" + ids[i%len(ids)], headers: auth, want: 200}
	})
	fmt.Printf("%-8s %-14s %12s %9s %7s %9s %9s\n", "store", "load", "throughput", "requests", "errors", "p50", "p99")
	for _, r := range []result{hello, register, reads} {
		fmt.Println(r.row(label))
	}
	fmt.Printf("%-8s registrations at %.0f%% and reads at %.0f%% of the hello ceiling\n", label,
		100*float64(register.requests)/register.elapsed.Seconds()/(float64(hello.requests)/hello.elapsed.Seconds()),
		100*float64(reads.requests)/reads.elapsed.Seconds()/(float64(hello.requests)/hello.elapsed.Seconds()))
	return nil
}

func login(c *http.Client, base, user, pass string) (string, error) {
	resp, err := c.Post(base+"/api/login", "application/json", bytes.NewReader([]byte(fmt.Sprintf(`{"name":%q,"password":%q}`, user, pass))))
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		return "", fmt.Errorf("login as %s: %s", user, resp.Status)
	}
	return out.Token, nil
}

// load runs clients loops, each on its own connection to addr, for dur
// (or maxReq requests in all), each sending the request next gives and
// counting an answer other than its want as an error.
func load(addr, name string, clients int, dur time.Duration, maxReq int, next func(i int) request) result {
	var n, errs atomic.Int64
	lat := make([][]time.Duration, clients)
	start := time.Now()
	deadline := start.Add(dur)
	var wg sync.WaitGroup
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc := &rawConn{addr: addr}
			defer rc.close()
			for i := w; time.Now().Before(deadline); i += clients {
				if n.Add(1) > int64(maxReq) {
					n.Add(-1)
					return
				}
				req := next(i)
				t0 := time.Now()
				status, err := rc.do(req, 30*time.Second)
				if err != nil || status != req.want {
					errs.Add(1)
					if errs.Load() <= 5 {
						slog.Warn("request failed", "load", name, "path", req.path, "status", status, "err", err)
					}
					continue
				}
				if len(lat[w]) < 20000 {
					lat[w] = append(lat[w], time.Since(t0))
				}
			}
		}()
	}
	wg.Wait()
	r := result{name: name, requests: n.Load(), errors: errs.Load(), elapsed: time.Since(start)}
	for _, l := range lat {
		r.latencies = append(r.latencies, l...)
	}
	return r
}
