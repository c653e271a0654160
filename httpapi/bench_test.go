package httpapi

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
)

// benchEnv is a server on loopback with a token for planner.
func benchEnv(b *testing.B) (*testEnv, *http.Client) {
	e := newEnv(b, openSQLite(b), nil)
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	b.Cleanup(tr.CloseIdleConnections)
	return e, &http.Client{Transport: tr}
}

func benchGet(b *testing.B, c *http.Client, url, token string) {
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
}

// BenchmarkHello is the ceiling: the cheapest endpoint through the whole
// middleware (metrics, rate limit check) over loopback.
func BenchmarkHello(b *testing.B) {
	e, c := benchEnv(b)
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			benchGet(b, c, e.srv.URL+"/api/hello", "")
		}
	})
}

// BenchmarkReadHousehold: token lookup, decrypting a household and
// appending its audit entry (a write) per read.
func BenchmarkReadHousehold(b *testing.B) {
	e, c := benchEnv(b)
	tok := e.tokens["planner"]
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			benchGet(b, c, e.srv.URL+"/api/households/"+e.hh, tok)
		}
	})
}

// BenchmarkRegisterHousehold: one POST /api/households a household.
func BenchmarkRegisterHousehold(b *testing.B) {
	e, c := benchEnv(b)
	tok := e.tokens["field"]
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			body := mustJSON(newHousehold(fmt.Sprintf("B%09d", i), fmt.Sprintf("+937%08d", i)))
			req, _ := http.NewRequest("POST", e.srv.URL+"/api/households", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			resp, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 201 {
				b.Fatalf("POST: %d", resp.StatusCode)
			}
		}
	})
}
