package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"math"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// The login throttle slows whoever fails, not the account they fail
// against: failures are counted per (client address, account), per
// client address over all accounts, per account over all addresses, and
// per (device, account) for a browser holding a device cookie from an
// earlier successful login. A source waits, twice as long after each
// failure past a few, before its next attempt is even checked (429 with
// Retry-After); one that has not failed, or a known device, goes through
// whatever others do to the account. When an account draws many failures
// from many addresses, each failing address waits from its first failure
// on. Failures live in memory, per server instance: several instances
// behind a load balancer each hold their own (an attacker spread over
// them gets as many tries as there are instances).
const (
	throttlePairFree   = 3                // failures of one address against one account before it waits
	throttleAddrFree   = 10               // failures of one address over all accounts before it waits
	throttleDeviceFree = 3                // failures of one known device before it waits
	throttleAttacked   = 10               // failures against an account within throttleWindow: it is under attack
	throttleWindow     = 15 * time.Minute // an account's failures count this long
	throttleBase       = time.Second      // the first wait; it doubles with every failure
	throttleAttackBase = 5 * time.Second  // the first wait of an address failing against an account under attack
	throttleMax        = 15 * time.Minute // the longest wait
	throttleForget     = time.Hour        // failures quiet this long are forgotten
	maxThrottleKeys    = 100_000          // as maxLimiterKeys
	deviceCookieTTL    = 180 * 24 * time.Hour
)

// Kinds of throttle entries.
const (
	throttlePair    = "address+account"
	throttleAddress = "address"
	throttleAccount = "account"
	throttleDevice  = "device+account"
	// throttleKnown records a success from an address for an account (not
	// a throttle: it is not listed): such an address keeps a turn to
	// check passwords that strangers cannot take (Server.argon).
	throttleKnown = "known"
	knownFor      = 30 * 24 * time.Hour
)

type throttleKey struct {
	kind    string
	source  string // the client address (an IPv6 /64) or the device id; "" for an account
	account string // "" for an address
}

type throttleEntry struct {
	failures int
	last     time.Time
}

type throttle struct {
	mu        sync.Mutex
	m         map[throttleKey]*throttleEntry
	lastSweep time.Time
	// checking holds the sources (address, or device and account) whose
	// password is being checked: one check at a time per source, so that
	// guesses sent side by side are not all checked before the first
	// failure is counted (the check takes a while, longer under load).
	checking map[string]bool
}

func newThrottle() *throttle {
	return &throttle{m: map[throttleKey]*throttleEntry{}, checking: map[string]bool{}}
}

// checkingWait is what a source waits while its previous attempt is being
// checked.
const checkingWait = time.Second

// begin reserves src's one password check against account, or says how
// long to wait: the backoff of its failures (wait), or, for a source that
// has failed before, a second while another of its attempts is being
// checked. done releases the
// reservation; call it after the attempt's failure or success is counted.
func (t *throttle) begin(now time.Time, src loginSource, account string) (wait time.Duration, why string, done func()) {
	if w, why := t.wait(now, src, account); w > 0 {
		return w, why, func() {}
	}
	key := "addr " + src.addr
	if src.device != "" {
		key = "device " + src.device + " " + account
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	// Only a source that has failed before is held to one check at a
	// time: the owner's own logins, even side by side, never wait.
	failed := t.m[throttleKey{throttleAddress, src.addr, ""}] != nil
	if src.device != "" {
		failed = t.m[throttleKey{throttleDevice, src.device, account}] != nil
	}
	if !failed {
		return 0, "", func() {}
	}
	if t.checking[key] {
		return checkingWait, "a login from here is being checked: one at a time", func() {}
	}
	t.checking[key] = true
	return 0, "", func() {
		t.mu.Lock()
		delete(t.checking, key)
		t.mu.Unlock()
	}
}

// loginSource is who is trying: a client address, and a device the
// account's owner logged in from before (its id from a valid cookie).
type loginSource struct {
	addr   string
	device string
}

// backoff is the wait after failures, free ones first.
func backoff(failures, free int, base time.Duration) time.Duration {
	if failures < free {
		return 0
	}
	n := failures - free
	if n > 20 {
		return throttleMax
	}
	return min(base*time.Duration(math.Pow(2, float64(n))), throttleMax)
}

// wait says how long src must wait before trying account, and why.
func (t *throttle) wait(now time.Time, src loginSource, account string) (time.Duration, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	left := func(e *throttleEntry, d time.Duration) time.Duration {
		if e == nil || d == 0 {
			return 0
		}
		return e.last.Add(d).Sub(now)
	}
	if src.device != "" {
		e := t.m[throttleKey{throttleDevice, src.device, account}]
		if e != nil {
			if w := left(e, backoff(e.failures, throttleDeviceFree, throttleBase)); w > 0 {
				return w, "too many failed logins from this device for this account"
			}
		}
		return 0, ""
	}
	if e := t.m[throttleKey{throttleAddress, src.addr, ""}]; e != nil {
		if w := left(e, backoff(e.failures, throttleAddrFree, throttleBase)); w > 0 {
			return w, "too many failed logins from " + src.addr
		}
	}
	e := t.m[throttleKey{throttlePair, src.addr, account}]
	if e == nil {
		return 0, ""
	}
	d := backoff(e.failures, throttlePairFree, throttleBase)
	if t.attackedLocked(now, account) {
		d = max(d, backoff(e.failures, 1, throttleAttackBase))
	}
	if w := left(e, d); w > 0 {
		return w, "too many failed logins for this account from " + src.addr
	}
	return 0, ""
}

func (t *throttle) attackedLocked(now time.Time, account string) bool {
	e := t.m[throttleKey{throttleAccount, "", account}]
	return e != nil && e.failures >= throttleAttacked && now.Sub(e.last) < throttleWindow
}

// fail counts a failed login by src against account (a name that may not
// exist: unknown names are throttled alike, so that a 429 tells nothing).
func (t *throttle) fail(now time.Time, src loginSource, account string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweepLocked(now)
	bump := func(k throttleKey, forget time.Duration) {
		e := t.m[k]
		if e == nil {
			e = &throttleEntry{}
			t.m[k] = e
		}
		if now.Sub(e.last) > forget {
			e.failures = 0
		}
		e.failures++
		e.last = now
	}
	if src.device != "" {
		bump(throttleKey{throttleDevice, src.device, account}, throttleForget)
	} else {
		bump(throttleKey{throttlePair, src.addr, account}, throttleForget)
	}
	bump(throttleKey{throttleAddress, src.addr, ""}, throttleForget)
	bump(throttleKey{throttleAccount, "", account}, throttleWindow)
}

// succeed forgets src's failures against account: the device's, if it
// came with one (its address may be an attacker's too), else the
// address's, which is known for the account from now on. What others did
// to the account stays.
func (t *throttle) succeed(now time.Time, src loginSource, account string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if src.device != "" {
		delete(t.m, throttleKey{throttleDevice, src.device, account})
		return
	}
	delete(t.m, throttleKey{throttlePair, src.addr, account})
	t.m[throttleKey{throttleKnown, src.addr, account}] = &throttleEntry{last: now}
}

// known reports a source that has logged in to account before: a device
// cookie, or an address with a success in the last knownFor and no
// failure since.
func (t *throttle) known(now time.Time, src loginSource, account string) bool {
	if src.device != "" {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.m[throttleKey{throttleKnown, src.addr, account}]
	return e != nil && now.Sub(e.last) < knownFor && t.m[throttleKey{throttlePair, src.addr, account}] == nil
}

// sweepLocked forgets quiet entries now and then, and bounds the memory a
// flood from many addresses can take (past the bound, everything is
// forgotten: throttles lapse for a moment rather than memory running out).
func (t *throttle) sweepLocked(now time.Time) {
	if now.Sub(t.lastSweep) < time.Minute && len(t.m) < maxThrottleKeys {
		return
	}
	quiet := throttleForget
	if len(t.m) >= maxThrottleKeys {
		quiet = time.Minute
	}
	for k, e := range t.m {
		if now.Sub(e.last) > quiet && (k.kind != throttleKnown || now.Sub(e.last) > knownFor || len(t.m) >= maxThrottleKeys) {
			delete(t.m, k)
		}
	}
	if len(t.m) >= maxThrottleKeys {
		clear(t.m)
	}
	t.lastSweep = now
}

// clear forgets every entry of target: "account:NAME" or "address:IP".
// It returns how many it forgot.
func (t *throttle) clear(target string) int { return t.match(target, true) }

// held counts the entries of target, as clear would forget them.
func (t *throttle) held(target string) int { return t.match(target, false) }

func (t *throttle) match(target string, forget bool) int {
	kind, what, _ := strings.Cut(target, ":")
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for k := range t.m {
		if k.kind == throttleKnown {
			continue
		}
		if (kind == "account" && k.account == what) || (kind == "address" && k.kind != throttleDevice && k.source == what) {
			if forget {
				delete(t.m, k)
			}
			n++
		}
	}
	return n
}

// throttleJSON is one entry as GET /api/throttles shows it.
type throttleJSON struct {
	Kind        string    `json:"kind"`
	Address     string    `json:"address,omitempty"`
	Device      string    `json:"device,omitempty"`
	Account     string    `json:"account,omitempty"`
	Failures    int       `json:"failures"`
	LastFailure time.Time `json:"last_failure"`
	// RetryAfter is how long the source must wait, in seconds (0: it may
	// try now).
	RetryAfter  int  `json:"retry_after_s"`
	UnderAttack bool `json:"under_attack,omitempty"`
}

type throttlesResponse struct {
	Throttles []throttleJSON `json:"throttles"`
}

// list returns the entries, most recent failure first.
func (t *throttle) list(now time.Time) []throttleJSON {
	t.mu.Lock()
	var out []throttleJSON
	for k, e := range t.m {
		if now.Sub(e.last) > throttleForget || k.kind == throttleKnown {
			continue
		}
		j := throttleJSON{Kind: k.kind, Account: k.account, Failures: e.failures, LastFailure: e.last.UTC()}
		var d time.Duration
		switch k.kind {
		case throttlePair:
			j.Address = k.source
			d = backoff(e.failures, throttlePairFree, throttleBase)
			if t.attackedLocked(now, k.account) {
				d = max(d, backoff(e.failures, 1, throttleAttackBase))
			}
		case throttleAddress:
			j.Address = k.source
			d = backoff(e.failures, throttleAddrFree, throttleBase)
		case throttleDevice:
			j.Device = k.source
			d = backoff(e.failures, throttleDeviceFree, throttleBase)
		case throttleAccount:
			j.UnderAttack = t.attackedLocked(now, k.account)
		}
		if w := e.last.Add(d).Sub(now); d > 0 && w > 0 {
			j.RetryAfter = retrySeconds(w)
		}
		out = append(out, j)
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b throttleJSON) int {
		if c := b.LastFailure.Compare(a.LastFailure); c != 0 {
			return c
		}
		return strings.Compare(a.Kind+a.Address+a.Device+a.Account, b.Kind+b.Address+b.Device+b.Account)
	})
	return out
}

func retrySeconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

// throttleAddr is the address failures are counted under: the client
// address, or for IPv6 its /64, which one subscriber gets whole.
func throttleAddr(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.String()
		}
	}
	return a.String()
}

// watchThrottleClears forgets the throttles an operator cleared on any
// instance (Store.ClearThrottle announces them), until Close.
func (s *Server) watchThrottleClears() {
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := s.store.Subscribe(ctx)
	if err != nil {
		cancel()
		s.log.Warn("login throttles cleared elsewhere will not be heard here", "err", err)
		return
	}
	go func() {
		defer cancel()
		for {
			select {
			case <-s.closing:
				return
			case ev, ok := <-ch:
				if !ok {
					return
				}
				if ev.Kind == "throttle" {
					s.throttle.clear(ev.ID)
				}
			}
		}
	}()
}

// Device cookies: a browser that logged in to an account once carries a
// signed cookie naming a device id; a login from it is throttled by what
// that device did, not by what its address did.

// deviceCookieName is per account (a browser may serve several), and says
// nothing of the account.
func (s *Server) deviceCookieName(account string) string {
	m := hmac.New(sha256.New, s.deviceKey)
	m.Write([]byte("muster-device-name\x00" + account))
	return "muster_dev_" + hex.EncodeToString(m.Sum(nil)[:6])
}

func (s *Server) deviceMAC(account string, payload []byte) []byte {
	m := hmac.New(sha256.New, s.deviceKey)
	m.Write([]byte("muster-device-v1\x00" + account + "\x00"))
	m.Write(payload)
	return m.Sum(nil)[:16]
}

// device returns the device id of a valid cookie for account, or "".
func (s *Server) device(r *http.Request, account string) string {
	c, err := r.Cookie(s.deviceCookieName(account))
	if err != nil || len(c.Value) > 200 {
		return ""
	}
	enc, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return ""
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(enc)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || len(payload) != 24 || !hmac.Equal(mac, s.deviceMAC(account, payload)) {
		return ""
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(payload[16:])), 0)
	if age := s.now().Sub(issued); age < -time.Hour || age > deviceCookieTTL {
		return ""
	}
	return hex.EncodeToString(payload[:16])
}

// setDevice gives the browser a device cookie for account: HttpOnly, sent
// only to the login endpoint, Secure when the connection (or the trusted
// proxy in front) is TLS.
func (s *Server) setDevice(w http.ResponseWriter, r *http.Request, account string) {
	payload := make([]byte, 24)
	_, _ = rand.Read(payload[:16])
	binary.BigEndian.PutUint64(payload[16:], uint64(s.now().Unix()))
	value := base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(s.deviceMAC(account, payload))
	secure := r.TLS != nil
	if !secure && len(s.cfg.TrustedProxies) > 0 {
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil && s.trusted(host) {
			secure = strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
		}
	}
	http.SetCookie(w, &http.Cookie{Name: s.deviceCookieName(account), Value: value, Path: "/api/login", MaxAge: int(deviceCookieTTL.Seconds()),
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode})
}
