package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/instruct"
	pwcheck "github.com/muster-evac/muster/password"
	"github.com/muster-evac/muster/qrcode"
)

// limiters is a token bucket per key (a client address, an account),
// forgotten after a while idle so that the map stays small.
type limiters struct {
	every rate.Limit
	burst int
	off   bool

	mu        sync.Mutex
	m         map[string]*limiterEntry
	lastSweep time.Time
}

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiters(perSecond float64, burst int) *limiters {
	if burst < 1 {
		burst = 1
	}
	return &limiters{every: rate.Limit(perSecond), burst: burst, off: perSecond < 0, m: map[string]*limiterEntry{}}
}

const (
	limiterIdle = 10 * time.Minute
	// maxLimiterKeys bounds the memory a flood from many addresses can
	// take: past it, buckets idle for a minute are dropped at once, and if
	// that is not enough, all of them (every client starts afresh: limits
	// lapse for a moment rather than memory running out).
	maxLimiterKeys = 100_000
)

func (l *limiters) allow(key string) bool {
	if l.off {
		return true
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > limiterIdle || len(l.m) >= maxLimiterKeys {
		idle := limiterIdle
		if len(l.m) >= maxLimiterKeys {
			idle = time.Minute
		}
		for k, e := range l.m {
			if now.Sub(e.seen) > idle {
				delete(l.m, k)
			}
		}
		if len(l.m) >= maxLimiterKeys {
			clear(l.m)
		}
		l.lastSweep = now
	}
	e := l.m[key]
	if e == nil {
		e = &limiterEntry{lim: rate.NewLimiter(l.every, l.burst)}
		l.m[key] = e
	}
	e.seen = now
	return e.lim.AllowN(now, 1)
}

// clientIP is the address the connection comes from. X-Forwarded-For is
// believed only from a trusted proxy (a load balancer in front of several
// instances): then the client is the last address in it that is not
// itself a trusted proxy. Anyone else can write the header.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(s.cfg.TrustedProxies) == 0 || !s.trusted(host) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		addr, err := netip.ParseAddr(hop)
		if err != nil {
			break // a forged or broken entry: stop at the last good hop
		}
		host = addr.Unmap().String()
		if !s.trusted(host) {
			return host
		}
	}
	return host
}

func (s *Server) trusted(host string) bool {
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// bearer returns the token of an Authorization: Bearer header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != "" && len(tok) <= 256
}

// authenticate finds the operator behind the request's bearer token.
func (s *Server) authenticate(r *http.Request) (*caller, error) {
	secret, ok := bearer(r)
	if !ok {
		return nil, errorf(muster.EUNAUTHORIZED, "no credentials: send Authorization: Bearer <token> (POST /api/login gives one)")
	}
	tok, user, err := s.store.LookupToken(r.Context(), muster.TokenHash(secret), s.now())
	if err != nil {
		if muster.ErrorCode(err) == muster.ENOTFOUND {
			return nil, errorf(muster.EUNAUTHORIZED, "token unknown, expired or revoked: log in again")
		}
		return nil, err
	}
	return &caller{user: user, token: tok}, nil
}

// newID returns a random identifier with a prefix, for tokens and links
// (their ids are not secrets: the secret is in the link).
func newID(prefix string) string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

type loginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

type loginResponse struct {
	Token     string    `json:"token"`
	TokenID   string    `json:"token_id"`
	User      string    `json:"user"`
	Role      string    `json:"role"`
	ExpiresAt time.Time `json:"expires_at"`
}

// dummyHash is checked against when the user does not exist, so that a
// login for an unknown name takes as long as one with a wrong password.
var dummyHash = sync.OnceValue(func() string {
	h, _ := muster.HashPassword("not a password anyone has")
	return h
})

// initLogin sets up what logins need: the throttle of failures, the key
// of device cookies, the bound on password hashing.
func (s *Server) initLogin() {
	s.throttle = newThrottle()
	s.deviceKey = s.cfg.DeviceKey
	if len(s.deviceKey) == 0 {
		s.deviceKey = make([]byte, 32)
		_, _ = rand.Read(s.deviceKey)
	}
	// Each check takes 64 MiB and tens of milliseconds of a core: a flood
	// of logins from many addresses queues here instead of exhausting
	// memory, and the requests of operators already logged in (which hash
	// nothing) go on. Strangers (sources with no earlier success for the
	// account) share all turns but one, which stays free for a known
	// device or address: a flood cannot keep the owner waiting.
	n := max(2, runtime.NumCPU())
	s.hashing = make(chan struct{}, n)
	s.hashingStrangers = make(chan struct{}, n-1)
	s.watchThrottleClears()
}

// errBusy answers a login that waited too long for a turn to hash.
var errBusy = &apiError{code: codeRateLimited, message: "the server is busy checking passwords: try again in a few seconds", retryAfter: 2 * time.Second}

// argon runs fn (a password hash or check) when a turn is free: a
// stranger waits at most 2 s for one of the turns strangers share, a
// known source (or an operator already logged in) at most 10 s for any.
func (s *Server) argon(ctx context.Context, known bool, fn func()) error {
	wait := 10 * time.Second
	if !known {
		wait = 2 * time.Second
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	if !known {
		select {
		case s.hashingStrangers <- struct{}{}:
			defer func() { <-s.hashingStrangers }()
		case <-ctx.Done():
			return errBusy
		case <-t.C:
			return errBusy
		}
	}
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return errBusy
	case <-t.C:
		return errBusy
	}
	defer func() { <-s.hashing }()
	fn()
	return nil
}

func (s *Server) checkPassword(ctx context.Context, known bool, hash, pw string) (ok bool, err error) {
	if berr := s.argon(ctx, known, func() { ok, err = muster.CheckPassword(hash, pw) }); berr != nil {
		return false, berr
	}
	return ok, err
}

// throttled is the 429 of a source that must wait.
func throttled(wait time.Duration, why string) error {
	return &apiError{code: codeRateLimited, message: fmt.Sprintf("%s: try again in %d s", why, retrySeconds(wait)), retryAfter: wait}
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, _ *caller) error {
	ip := s.clientIP(r)
	if !s.loginLimits.allow("ip:" + ip) {
		return errorf(codeRateLimited, "too many login attempts from %s: wait a minute", ip)
	}
	var req loginRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Name == "" || req.Password == "" {
		return errorf(muster.EINVALID, "login: name and password are required")
	}
	if len(req.Name) > 200 || len(req.Password) > pwcheck.MaxBytes {
		return errorf(muster.EINVALID, "login: name or password too long")
	}
	// Failures slow down whoever fails (this address, or this browser if
	// it holds the account's device cookie), not the account: its owner
	// logging in from elsewhere goes through.
	src := loginSource{addr: throttleAddr(ip), device: s.device(r, req.Name)}
	now := s.now()
	wait, why, done := s.throttle.begin(now, src, req.Name)
	defer done()
	if wait > 0 {
		return throttled(wait, why)
	}
	denied := errorf(muster.EUNAUTHORIZED, "login: wrong name or password")
	ctx := muster.WithActor(r.Context(), req.Name)
	user, err := s.store.GetUser(ctx, req.Name)
	switch {
	case muster.ErrorCode(err) == muster.ENOTFOUND:
		if _, err := s.checkPassword(ctx, false, dummyHash(), req.Password); err == errBusy {
			return err
		}
		s.throttle.fail(now, src, req.Name)
		return denied
	case err != nil:
		return err
	}
	ok, err := s.checkPassword(ctx, s.throttle.known(now, src, user.Name), user.PasswordHash, req.Password)
	if err == errBusy {
		return err
	}
	if err != nil || !ok || user.Disabled {
		if err == nil && !ok {
			s.throttle.fail(now, src, req.Name)
		}
		s.audit(ctx, "user.login_failed", "user:"+user.Name, "")
		return denied
	}
	s.throttle.succeed(now, src, user.Name)
	if src.device == "" {
		s.setDevice(w, r, user.Name)
	}
	secret := muster.NewSecret()
	now = now.UTC()
	tok := muster.Token{ID: newID("tok_"), User: user.Name, Kind: muster.TokenSession, Hash: muster.TokenHash(secret),
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL)}
	if err := s.store.CreateToken(ctx, tok); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, loginResponse{Token: secret, TokenID: tok.ID, User: user.Name, Role: user.Role, ExpiresAt: tok.ExpiresAt})
	return nil
}

type revokedResponse struct {
	Revoked string `json:"revoked"`
}

type whoamiResponse struct {
	User      string     `json:"user"`
	Role      string     `json:"role"`
	TokenID   string     `json:"token_id"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.store.RevokeToken(r.Context(), c.token.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, revokedResponse{Revoked: c.token.ID})
	return nil
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request, c *caller) error {
	resp := whoamiResponse{User: c.user.Name, Role: c.user.Role, TokenID: c.token.ID}
	if !c.token.ExpiresAt.IsZero() {
		resp.ExpiresAt = &c.token.ExpiresAt
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// DefaultLinkTTL is how long a capability link made through the API
// opens its household's page when no expiry is asked for: an evacuation
// is days, not months.
const DefaultLinkTTL = 30 * 24 * time.Hour

type linkRequest struct {
	// ExpiresInHours bounds the link's life; 0: DefaultLinkTTL. A link
	// forwarded, or left on a phone that is lost, must not open the
	// household's record for ever.
	ExpiresInHours int `json:"expires_in_hours"`
}

type linkResponse struct {
	ID          string     `json:"id"`
	HouseholdID string     `json:"household_id"`
	Token       string     `json:"token"`
	Path        string     `json:"path"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
}

func (s *Server) createLink(w http.ResponseWriter, r *http.Request, _ *caller) error {
	var req linkRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.ExpiresInHours < 0 || req.ExpiresInHours > 24*365 {
		return errorf(muster.EINVALID, "expires_in_hours: %d not in 0..%d", req.ExpiresInHours, 24*365)
	}
	secret := muster.NewSecret()
	now := s.now().UTC()
	link := muster.CapabilityLink{ID: newID("cap_"), HouseholdID: r.PathValue("id"), Hash: muster.TokenHash(secret), CreatedAt: now}
	resp := linkResponse{ID: link.ID, HouseholdID: link.HouseholdID, Token: secret, Path: "/api/me/" + secret}
	ttl := DefaultLinkTTL
	if req.ExpiresInHours > 0 {
		ttl = time.Duration(req.ExpiresInHours) * time.Hour
	}
	link.ExpiresAt = now.Add(ttl)
	resp.ExpiresAt = &link.ExpiresAt
	if err := s.store.CreateCapability(r.Context(), link); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, resp)
	return nil
}

func (s *Server) revokeLink(w http.ResponseWriter, r *http.Request, _ *caller) error {
	id := r.PathValue("id")
	if err := s.store.RevokeCapability(r.Context(), id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, revokedResponse{Revoked: id})
	return nil
}

// evacueeView is what an evacuee sees of their own household: who is
// registered, in what state, not the operators' notes nor who moved it.
type evacueeView struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	NameLocal string          `json:"name_local,omitempty"`
	PartySize int             `json:"party_size"`
	Language  string          `json:"language,omitempty"`
	Status    string          `json:"status"`
	UpdatedAt time.Time       `json:"updated_at"`
	History   []evacueeStatus `json:"history"`
	// Instruction is the household's current instruction, if it has one:
	// its own, never another's.
	Instruction *evacueeInstruction `json:"instruction,omitempty"`
}

// evacueeInstruction is an evacuee's instruction as their page shows it:
// the long form in their language, the token to show at the rally point,
// and the token as a QR code.
type evacueeInstruction struct {
	ID         string    `json:"id"`
	Version    int       `json:"version"`
	Supersedes string    `json:"supersedes,omitempty"`
	Changes    []string  `json:"changes,omitempty"`
	IssuedAt   time.Time `json:"issued_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Language   string    `json:"language"`
	Text       string    `json:"text"`
	Token      string    `json:"token"`
	QRSVG      string    `json:"qr_svg"`
	// The parts of it the evacuee's page draws and lays out (me_page.go).
	evacueePageData
}

type evacueeStatus struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
}

// me serves an evacuee's own household through their capability link. A
// link unknown, revoked or expired is 404: the answer does not tell which,
// nor whether the household exists.
func (s *Server) me(w http.ResponseWriter, r *http.Request, _ *caller) error {
	notFound := errorf(muster.ENOTFOUND, "this link is not valid (unknown, expired or revoked)")
	secret := r.PathValue("token")
	if !plausibleLink(secret) {
		return notFound
	}
	link, err := s.store.LookupCapability(r.Context(), muster.TokenHash(secret), s.now())
	if err != nil {
		if muster.ErrorCode(err) == muster.ENOTFOUND {
			return notFound
		}
		return err
	}
	ctx := muster.WithActor(r.Context(), "evacuee:"+link.HouseholdID)
	rec, err := s.store.GetHousehold(ctx, link.HouseholdID)
	if err != nil {
		if muster.ErrorCode(err) == muster.ENOTFOUND {
			return notFound
		}
		return err
	}
	if err := s.auditRead(ctx, "household.read", "household:"+rec.ID, "capability "+link.ID); err != nil {
		return err
	}
	v := evacueeView{ID: rec.ID, Name: rec.Name, NameLocal: rec.NameLocal, PartySize: rec.PartySize, Language: rec.Language,
		Status: rec.Status, UpdatedAt: rec.UpdatedAt, History: []evacueeStatus{}}
	for _, h := range rec.History {
		v.History = append(v.History, evacueeStatus{Status: h.Status, At: h.At})
	}
	// The household's own current instruction: looked up by the link's
	// household, never by anything the request says.
	in, err := s.store.CurrentInstruction(ctx, link.HouseholdID)
	switch {
	case err == nil:
		if v.Instruction, err = evacueeInstructionOf(in); err != nil {
			return err
		}
		if err := s.auditRead(ctx, "instruction.read", "instruction:"+in.ID, "capability "+link.ID); err != nil {
			return err
		}
	case muster.ErrorCode(err) != muster.ENOTFOUND:
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// plausibleLink reports whether a capability link's secret has a length
// one can have: 43 characters for links made by operators, 20 for those
// instructions carry (docs/issuing.md). Others are refused unread.
func plausibleLink(secret string) bool { return len(secret) >= 20 && len(secret) <= 128 }

func evacueeInstructionOf(in muster.IssuedInstruction) (*evacueeInstruction, error) {
	text, err := instruct.TextMessage(&in.Instruction, instruct.Message{Token: in.Token})
	if err != nil {
		return nil, err
	}
	qr, err := qrcode.Encode(in.Token)
	if err != nil {
		return nil, fmt.Errorf("instruction %s: QR code: %w", in.ID, err)
	}
	return &evacueeInstruction{ID: in.ID, Version: in.Version, Supersedes: in.Supersedes, Changes: in.Changes, IssuedAt: in.IssuedAt,
		ExpiresAt: in.ExpiresAt, Language: in.Language, Text: text, Token: in.Token, QRSVG: string(qr.SVG()),
		evacueePageData: evacueePageDataOf(&in.Instruction)}, nil
}
