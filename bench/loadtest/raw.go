package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// rawConn is one keep-alive HTTP/1.1 connection driven by hand, the way
// wrk does it: the request is written from a reused buffer and the answer
// is parsed just enough to find its status and the end of its body. Go's
// net/http client costs about as much CPU per request as the server's own
// HTTP stack, and on a 2-core machine the load generator shares the cores
// with the server, so a heavy client lowers every figure it measures.
type rawConn struct {
	addr string
	c    net.Conn
	r    *bufio.Reader
	buf  []byte
}

// request is what a load sends: method, path, headers already formatted
// as "Name: value\r\n" lines, and a body.
type request struct {
	method, path string
	headers      string
	body         []byte
	want         int
}

func (rc *rawConn) do(req request, timeout time.Duration) (int, error) {
	if rc.c == nil {
		c, err := net.DialTimeout("tcp", rc.addr, timeout)
		if err != nil {
			return 0, err
		}
		rc.c, rc.r = c, bufio.NewReaderSize(c, 16<<10)
	}
	b := rc.buf[:0]
	b = append(b, req.method...)
	b = append(b, ' ')
	b = append(b, req.path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, rc.addr...)
	b = append(b, "\r\n"...)
	b = append(b, req.headers...)
	if req.body != nil {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(req.body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, req.body...)
	rc.buf = b
	_ = rc.c.SetDeadline(time.Now().Add(timeout))
	if _, err := rc.c.Write(b); err != nil {
		rc.close()
		return 0, err
	}
	status, err := rc.readResponse()
	if err != nil {
		rc.close()
		return 0, err
	}
	return status, nil
}

func (rc *rawConn) close() {
	if rc.c != nil {
		rc.c.Close()
		rc.c, rc.r = nil, nil
	}
}

var errMalformed = errors.New("malformed response")

// readResponse reads one response and returns its status. It understands
// Content-Length and chunked bodies, and closes after "Connection: close".
func (rc *rawConn) readResponse() (int, error) {
	line, err := rc.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	length, chunked, closing := -1, false, false
	for {
		h, err := rc.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, fmt.Errorf("%w: header %q", errMalformed, h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, fmt.Errorf("%w: Content-Length %q", errMalformed, value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		err = rc.skipChunks()
	case length >= 0:
		_, err = rc.r.Discard(length)
	default:
		return 0, fmt.Errorf("%w: no Content-Length and not chunked", errMalformed)
	}
	if err != nil {
		return 0, err
	}
	if closing {
		rc.close()
	}
	return status, nil
}

func (rc *rawConn) skipChunks() error {
	for {
		line, err := rc.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(size), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: chunk size %q", errMalformed, line)
		}
		if n == 0 {
			for { // trailers, up to the blank line
				t, err := rc.r.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(t, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if _, err := rc.r.Discard(int(n)); err != nil {
			return err
		}
		if _, err := io.ReadFull(rc.r, make([]byte, 2)); err != nil {
			return err
		}
	}
}
