package httpapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// errBodyStalled is a request body that stopped coming: the client sent
// nothing for Config.BodyStallTimeout, or less than MinBodyRate.
var errBodyStalled = fmt.Errorf("request body: the client stopped sending it: %w", os.ErrDeadlineExceeded)

// limitBody bounds how long a request body may stall: the connection's
// read deadline is BodyStallTimeout ahead when the handler starts and
// moves with every read, but never past what MinBodyRate allows since the
// start. A client that sends headers, then one byte of a hundred, has its
// connection closed within that time, whether or not the handler reads
// the body (the server reads what is left before reusing a connection).
// Once the body is read the deadline is the server's again.
func (s *Server) limitBody(w http.ResponseWriter, r *http.Request) *http.Request {
	if s.cfg.BodyStallTimeout < 0 || r.Body == nil || r.Body == http.NoBody {
		return r
	}
	rc := http.NewResponseController(w)
	now := time.Now()
	if err := rc.SetReadDeadline(now.Add(s.cfg.BodyStallTimeout)); err != nil {
		return r // not a network connection (a test recorder)
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.Body = &stallBody{ReadCloser: r.Body, rc: rc, stall: s.cfg.BodyStallTimeout, minRate: s.cfg.MinBodyRate, start: now}
	return r2
}

type stallBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	stall   time.Duration
	minRate int64
	start   time.Time
	n       int64
	done    bool // EOF or an error: the deadline is no longer ours to move
}

func (b *stallBody) Read(p []byte) (int, error) {
	if b.done {
		return b.ReadCloser.Read(p)
	}
	d := time.Now().Add(b.stall)
	if b.minRate > 0 {
		allowed := b.stall + time.Duration(float64(b.n)/float64(b.minRate)*float64(time.Second))
		d = minTime(d, b.start.Add(allowed))
	}
	_ = b.rc.SetReadDeadline(d)
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if err != nil {
		// At EOF the server reads on in the background to notice a client
		// leaving, with no deadline: this one must not be set again.
		b.done = true
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = errBodyStalled
		}
	}
	return n, err
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
