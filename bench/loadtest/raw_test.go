package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRawConn drives a real net/http server: fixed-length and chunked
// bodies, a request body, keep-alive over many requests, and a server that
// closes the connection.
func TestRawConn(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/fixed":
			w.Header().Set("Content-Length", "5")
			w.Write([]byte("hello"))
		case "/chunked":
			for range 3 {
				w.Write([]byte(strings.Repeat("x", 5000)))
				w.(http.Flusher).Flush()
			}
		case "/echo":
			if r.Header.Get("Authorization") != "Bearer t" || r.ContentLength != 4 {
				w.WriteHeader(400)
				return
			}
			w.WriteHeader(201)
		case "/close":
			w.Header().Set("Connection", "close")
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()
	rc := &rawConn{addr: strings.TrimPrefix(srv.URL, "http://")}
	defer rc.close()
	for i, c := range []struct {
		req  request
		want int
	}{
		{request{method: "GET", path: "/fixed"}, 200},
		{request{method: "GET", path: "/chunked"}, 200},
		{request{method: "POST", path: "/echo", headers: "Authorization: Bearer t\r\n", body: []byte("abcd")}, 201},
		{request{method: "GET", path: "/fixed"}, 200},
		{request{method: "GET", path: "/close"}, 404},
		{request{method: "GET", path: "/fixed"}, 200}, // on a new connection
	} {
		got, err := rc.do(c.req, 5*time.Second)
		if err != nil || got != c.want {
			t.Fatalf("request %d %s: %d, %v; want %d", i, c.req.path, got, err, c.want)
		}
	}
	if n := hits.Load(); n != 6 {
		t.Fatalf("server saw %d requests, want 6", n)
	}
}
