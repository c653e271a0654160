package httpapi

import (
	"fmt"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestClientIP(t *testing.T) {
	lb := &Server{cfg: Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}}}
	none := &Server{}
	cases := []struct {
		s          *Server
		remote     string
		xff        []string
		want, name string
	}{
		{none, "203.0.113.5:4000", []string{"1.2.3.4"}, "203.0.113.5", "no proxy trusted: the header is ignored"},
		{lb, "203.0.113.5:4000", []string{"1.2.3.4"}, "203.0.113.5", "an untrusted peer cannot name another client"},
		{lb, "10.0.0.2:4000", []string{"1.2.3.4"}, "1.2.3.4", "the load balancer names the client"},
		{lb, "10.0.0.2:4000", []string{"6.6.6.6, 1.2.3.4, 10.0.0.9"}, "1.2.3.4", "a client's own forged hops are skipped"},
		{lb, "10.0.0.2:4000", []string{"6.6.6.6", "1.2.3.4"}, "1.2.3.4", "several header lines"},
		{lb, "10.0.0.2:4000", []string{"garbage"}, "10.0.0.2", "a broken header: the proxy itself"},
		{lb, "10.0.0.2:4000", []string{"1.2.3.4, garbage"}, "10.0.0.2", "a broken last hop stops the walk"},
		{lb, "10.0.0.2:4000", nil, "10.0.0.2", "no header"},
		{lb, "[fd00::1]:4000", []string{"2001:db8::7"}, "2001:db8::7", "IPv6"},
		{lb, "10.0.0.2:4000", []string{"10.0.0.3, 10.0.0.4"}, "10.0.0.3", "only proxies: the first"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/api/hello", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := c.s.clientIP(r); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// TestMetricsStayBounded: made-up methods and paths do not make new
// metric series.
func TestMetricsStayBounded(t *testing.T) {
	e := newEnv(t, openSQLite(t), nil)
	for i := range 20 {
		e.request("", fmt.Sprintf("BREW%d", i), fmt.Sprintf("/nothing/%d", i), nil, "")
	}
	_, body := e.request("", "GET", "/metrics", nil, "")
	if n := strings.Count(string(body), "muster_http_requests_total{"); n > 10 {
		t.Errorf("%d request series after 20 odd requests:\n%s", n, body)
	}
	if !strings.Contains(string(body), `muster_http_requests_total{method="OTHER",route="unmatched",status="404"} 20`) {
		t.Errorf("odd requests not counted as OTHER/unmatched:\n%s", body)
	}
}

func TestLimiterMemoryBounded(t *testing.T) {
	l := newLimiters(1, 1)
	for i := range maxLimiterKeys + 10 {
		l.allow(fmt.Sprintf("k%d", i))
	}
	if len(l.m) > maxLimiterKeys {
		t.Errorf("%d buckets, more than %d", len(l.m), maxLimiterKeys)
	}
}
