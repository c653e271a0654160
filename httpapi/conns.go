package httpapi

import (
	"container/list"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of NetLimits fields left at zero.
const (
	DefaultReadHeaderTimeout  = 5 * time.Second
	DefaultBodyStallTimeout   = 5 * time.Second
	DefaultMinBodyRate        = 1024 // bytes a second, on average, once a body is past its first stall timeout
	DefaultIdleTimeout        = 30 * time.Second
	DefaultWriteTimeout       = 5 * time.Minute // a large export over a slow link
	DefaultMaxHeaderBytes     = 64 << 10
	DefaultMaxConnsPerAddress = 128
	DefaultConnWait           = time.Second
)

// NetLimits bounds what clients can hold of the server: how long a
// request's headers may take, how long an idle keep-alive is kept, and
// how many connections are open at once, from one client address and in
// all. (How long a request body may stall is Config.BodyStallTimeout: the
// handler enforces it.)
type NetLimits struct {
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	WriteTimeout      time.Duration
	MaxHeaderBytes    int

	// MaxConnsPerAddress: a client address (an IPv4 address, an IPv6 /64)
	// holding this many connections has its next ones closed at once.
	MaxConnsPerAddress int
	// MaxConns: with this many open, a new connection makes room by
	// closing the oldest idle one, else the oldest that has not sent a
	// request yet, else the oldest of the address holding the most (when
	// it holds more than the newcomer's); failing all three it waits up to
	// ConnWait for one to close, then is closed itself. Zero: a default
	// under the process's limit of open files.
	MaxConns int
	ConnWait time.Duration
	// Exempt addresses (the load balancers of Config.TrustedProxies) have
	// no cap of their own: they carry many clients.
	Exempt []netip.Prefix
}

func (n *NetLimits) defaults() {
	if n.ReadHeaderTimeout <= 0 {
		n.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if n.IdleTimeout <= 0 {
		n.IdleTimeout = DefaultIdleTimeout
	}
	if n.WriteTimeout <= 0 {
		n.WriteTimeout = DefaultWriteTimeout
	}
	if n.MaxHeaderBytes <= 0 {
		n.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if n.MaxConnsPerAddress == 0 {
		n.MaxConnsPerAddress = DefaultMaxConnsPerAddress
	}
	if n.MaxConns == 0 {
		n.MaxConns = defaultMaxConns()
	}
	if n.ConnWait <= 0 {
		n.ConnWait = DefaultConnWait
	}
}

// HTTPServer returns the http.Server to serve s with, and ln wrapped in
// the connection limits: srv.Serve(l). muster serve and the tests that
// attack it use this one wiring.
func (s *Server) HTTPServer(ln net.Listener, lim NetLimits) (*http.Server, net.Listener) {
	lim.defaults()
	cl := newConnLimiter(ln, lim, s.log)
	cl.register(s.registry)
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		// No ReadTimeout: it would cut a large upload going well and, once
		// a body is read, cancel a slow handler's context. Bodies are
		// bounded by progress instead (Config.BodyStallTimeout).
		WriteTimeout:   lim.WriteTimeout,
		IdleTimeout:    lim.IdleTimeout,
		MaxHeaderBytes: lim.MaxHeaderBytes,
		ConnState:      cl.connState,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(s.Close)
	return srv, cl
}

// connLimiter is a listener that caps connections per client address and
// in all (see NetLimits).
type connLimiter struct {
	net.Listener
	lim NetLimits
	log *slog.Logger

	mu     sync.Mutex
	conns  *list.List // of *limitedConn, oldest first
	byAddr map[netip.Prefix]int
	room   chan struct{} // a connection closed

	refusedAddr, refusedTotal, evicted atomic.Int64
	lastLog                            atomic.Int64 // unix nanoseconds of the last warning
}

type limitedConn struct {
	net.Conn
	l     *connLimiter
	key   netip.Prefix
	elem  *list.Element
	state http.ConnState // under l.mu
	once  sync.Once
}

func newConnLimiter(ln net.Listener, lim NetLimits, log *slog.Logger) *connLimiter {
	return &connLimiter{Listener: ln, lim: lim, log: log, conns: list.New(), byAddr: map[netip.Prefix]int{}, room: make(chan struct{}, 1)}
}

// Accept returns the next connection the limits admit, closing the
// others.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if lc := l.admit(c); lc != nil {
			return lc, nil
		}
	}
}

// clientKey is what the per-address cap counts by: an IPv4 address, or
// an IPv6 /64 (one subscriber's share, which an attacker gets whole).
func clientKey(a net.Addr) netip.Prefix {
	var ip netip.Addr
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ = netip.AddrFromSlice(ta.IP)
	} else if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		ip = ap.Addr()
	}
	ip = ip.Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}

func (l *connLimiter) exempt(key netip.Prefix) bool {
	for _, p := range l.lim.Exempt {
		if p.Overlaps(key) && p.Bits() <= key.Bits() {
			return true
		}
	}
	return false
}

func (l *connLimiter) admit(c net.Conn) net.Conn {
	key := clientKey(c.RemoteAddr())
	deadline := time.Now().Add(l.lim.ConnWait)
	for {
		l.mu.Lock()
		if l.lim.MaxConnsPerAddress > 0 && l.byAddr[key] >= l.lim.MaxConnsPerAddress && !l.exempt(key) {
			l.mu.Unlock()
			l.refuse(c, &l.refusedAddr, "a client address holds too many connections: new ones from it are closed", key)
			return nil
		}
		if l.lim.MaxConns < 0 || l.conns.Len() < l.lim.MaxConns {
			lc := &limitedConn{Conn: c, l: l, key: key, state: http.StateNew}
			lc.elem = l.conns.PushBack(lc)
			l.byAddr[key]++
			l.mu.Unlock()
			return lc
		}
		victim := l.victim(key)
		l.mu.Unlock()
		if victim != nil {
			l.evicted.Add(1)
			_ = victim.Close()
			continue
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			l.refuse(c, &l.refusedTotal, "the server holds as many connections as it may: new ones are closed", key)
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-l.room:
		case <-t.C:
		}
		t.Stop()
	}
}

// victim picks the connection to close for a newcomer from key when all
// are taken (under l.mu): the oldest idle, else the oldest that has sent
// nothing yet, else the oldest of the address holding the most, if it
// holds more than the newcomer's plus one.
func (l *connLimiter) victim(key netip.Prefix) *limitedConn {
	var fresh *limitedConn
	for e := l.conns.Front(); e != nil; e = e.Next() {
		lc := e.Value.(*limitedConn)
		switch lc.state {
		case http.StateIdle:
			return lc
		case http.StateNew:
			if fresh == nil {
				fresh = lc
			}
		}
	}
	if fresh != nil {
		return fresh
	}
	var top netip.Prefix
	most := 0
	for k, n := range l.byAddr {
		if n > most && !l.exempt(k) {
			top, most = k, n
		}
	}
	if most <= l.byAddr[key]+1 {
		return nil
	}
	for e := l.conns.Front(); e != nil; e = e.Next() {
		if lc := e.Value.(*limitedConn); lc.key == top {
			return lc
		}
	}
	return nil
}

// refuse closes a connection the limits do not admit, at once and
// without lingering, and warns now and then (never once per connection:
// an attack must not flood the log).
func (l *connLimiter) refuse(c net.Conn, n *atomic.Int64, why string, key netip.Prefix) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
	n.Add(1)
	now := time.Now().UnixNano()
	if last := l.lastLog.Load(); now-last > int64(10*time.Second) && l.lastLog.CompareAndSwap(last, now) {
		l.log.Warn(why, "client", key.String(), "refused_per_address", l.refusedAddr.Load(), "refused_total", l.refusedTotal.Load(),
			"evicted", l.evicted.Load(), "max_per_address", l.lim.MaxConnsPerAddress, "max", l.lim.MaxConns)
	}
}

func (c *limitedConn) Close() error {
	c.once.Do(func() {
		l := c.l
		l.mu.Lock()
		l.conns.Remove(c.elem)
		if l.byAddr[c.key]--; l.byAddr[c.key] <= 0 {
			delete(l.byAddr, c.key)
		}
		l.mu.Unlock()
		select {
		case l.room <- struct{}{}:
		default:
		}
	})
	return c.Conn.Close()
}

// connState follows each connection's state (http.Server.ConnState), so
// that idle ones can go first.
func (l *connLimiter) connState(c net.Conn, st http.ConnState) {
	if tc, ok := c.(*tls.Conn); ok { // serving HTTPS: the limited conn is under TLS
		c = tc.NetConn()
	}
	lc, ok := c.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	lc.state = st
	l.mu.Unlock()
}

// open is the number of connections held.
func (l *connLimiter) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conns.Len()
}

func (l *connLimiter) register(r *prometheus.Registry) {
	// A second listener on one Server (tests) keeps the first's metrics.
	_ = r.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "muster_http_connections_open", Help: "Client connections held open.",
	}, func() float64 { return float64(l.open()) }))
	_ = r.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "muster_http_connections_refused_per_address_total", Help: "Connections closed at once because their client address held too many.",
	}, func() float64 { return float64(l.refusedAddr.Load()) }))
	_ = r.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "muster_http_connections_refused_total", Help: "Connections closed because the server held as many as it may and none could make room.",
	}, func() float64 { return float64(l.refusedTotal.Load()) }))
	_ = r.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "muster_http_connections_evicted_total", Help: "Connections closed to make room for a new one (idle, silent, or of the address holding the most).",
	}, func() float64 { return float64(l.evicted.Load()) }))
}
