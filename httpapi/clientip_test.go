package httpapi

import (
	"net/http/httptest"
	"net/netip"
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
