package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestRemoteCallWaits: a call gives up after the wait its command sets
// (simulate --server waits for the server's own time limit, not 2 min).
func TestRemoteCallWaits(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // a server still working
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	rf := remoteFlags{server: srv.URL, token: "t", wait: 200 * time.Millisecond}
	err := rf.call(context.Background(), "POST", "/api/simulations", map[string]any{}, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a call past its wait: %v, want the deadline", err)
	}
}
