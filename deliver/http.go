package deliver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// DefaultMaxResponse bounds what is read of a provider's answer: a
// provider answering with gigabytes must not exhaust the worker.
const DefaultMaxResponse = 64 << 10

// newHTTPClient is a client for providers: no redirects followed (a
// redirected webhook or gateway is misconfigured, and following it would
// send personal data elsewhere), bounded connection and header waits; the
// attempt's context bounds the rest.
func newHTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultSendTimeout
	}
	tr := &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  timeout,
		MaxIdleConnsPerHost:    16,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		ForceAttemptHTTP2:      true,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// readBounded reads at most limit bytes of the body and drains no more:
// it says whether the body was longer.
func readBounded(r io.Reader, limit int64) ([]byte, bool, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if int64(len(b)) > limit {
		return b[:limit], true, err
	}
	return b, false, err
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date;
// 0 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(min(s, 24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), 24*time.Hour)
	}
	return 0
}

// classifyHTTP turns a provider's HTTP status into an outcome: 2xx nil;
// 408, 429 and 5xx temporary (after Retry-After if given); 401 and 403
// temporary too (the gateway's credentials are wrong or expired: every
// message would die of it, and they should wait for the operator to fix
// it, until their attempts run out); any other 4xx, and 3xx, permanent.
func classifyHTTP(what string, resp *http.Response, code string) error {
	st := resp.StatusCode
	detail := ""
	if code != "" {
		detail = " (code " + code + ")"
	}
	switch {
	case st >= 200 && st < 300:
		return nil
	case st == http.StatusRequestTimeout || st == http.StatusTooManyRequests || st >= 500:
		return Temporary(parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), "%s: HTTP %d%s", what, st, detail)
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return Temporary(0, "%s: HTTP %d%s: check the credentials", what, st, detail)
	default:
		return Permanent("%s: HTTP %d%s", what, st, detail)
	}
}

// transportError describes a failed request without its URL (which may
// name a recipient) and says whether ctx ended it.
func transportError(ctx context.Context, what string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if ctx.Err() != nil {
		return Temporary(0, "%s: %v", what, ctx.Err())
	}
	return Temporary(0, "%s: %s", what, oneLine(fmt.Sprint(err), 200))
}
