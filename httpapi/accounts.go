package httpapi

import (
	"net/http"
	"net/netip"
	"time"

	"github.com/muster-evac/muster"
	pwcheck "github.com/muster-evac/muster/password"
)

type passwordRequest struct {
	// Password is the current password: a stolen session alone cannot
	// take the account over.
	Password    string `json:"password"`
	NewPassword string `json:"new_password"`
}

type passwordResponse struct {
	User string `json:"user"`
	// Revoked counts the sessions and API tokens the change ended: all of
	// the user's but Kept, the one this request came with.
	Revoked int    `json:"revoked"`
	Kept    string `json:"kept"`
}

// changePassword sets the caller's own password, checked as `muster user
// passwd` checks it, and ends every other session and token of theirs in
// the same transaction. A wrong current password counts as a failed
// login.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, c *caller) error {
	var req passwordRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.Password) > pwcheck.MaxBytes {
		return errorf(muster.EINVALID, "password: too long")
	}
	src := loginSource{addr: throttleAddr(s.clientIP(r))}
	now := s.now()
	if wait, why := s.throttle.wait(now, src, c.user.Name); wait > 0 {
		return throttled(wait, why)
	}
	ok, err := s.checkPassword(r.Context(), true, c.user.PasswordHash, req.Password)
	if err != nil {
		return err
	}
	if !ok {
		s.throttle.fail(now, src, c.user.Name)
		s.audit(r.Context(), "user.password_failed", "user:"+c.user.Name, "")
		return errorf(muster.EFORBIDDEN, "password: the current password is wrong")
	}
	if req.NewPassword == req.Password {
		return errorf(muster.EINVALID, "new_password: it is the current password")
	}
	if err := pwcheck.Check(req.NewPassword, c.user.Name, "muster"); err != nil {
		return errorf(muster.EINVALID, "new_%s", err.Error())
	}
	var hash string
	if berr := s.argon(r.Context(), true, func() { hash, err = muster.HashPassword(req.NewPassword) }); berr != nil {
		return berr
	}
	if err != nil {
		return err
	}
	n, err := s.store.SetUserPassword(r.Context(), c.user.Name, hash, c.token.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, passwordResponse{User: c.user.Name, Revoked: n, Kept: c.token.ID})
	return nil
}

// tokenJSON is a session or API token as listed: never its secret, which
// is not stored, nor its hash.
type tokenJSON struct {
	ID        string     `json:"id"`
	User      string     `json:"user"`
	Kind      string     `json:"kind"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// State is live, expired or revoked.
	State string `json:"state"`
	// Current marks the token of this request.
	Current bool `json:"current,omitempty"`
}

type tokensResponse struct {
	Tokens []tokenJSON `json:"tokens"`
}

// listTokens lists the caller's sessions and tokens (live ones; all=true:
// ended ones too); an admin lists anyone's (user=NAME) or everyone's.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, c *caller) error {
	q := r.URL.Query()
	f := muster.TokenFilter{User: q.Get("user"), Limit: 1000}
	if f.User == "" && c.user.Role != muster.RoleAdmin {
		f.User = c.user.Name
	}
	if f.User != c.user.Name && c.user.Role != muster.RoleAdmin {
		return errorf(muster.EFORBIDDEN, "%s: only an admin lists another user's tokens", c.user.Name)
	}
	now := s.now()
	switch q.Get("all") {
	case "", "false":
		f.LiveAt = now
	case "true":
	default:
		return errorf(muster.EINVALID, "all=%q: want true or false", q.Get("all"))
	}
	toks, err := s.store.ListTokens(r.Context(), f)
	if err != nil {
		return err
	}
	out := tokensResponse{Tokens: []tokenJSON{}}
	for _, t := range toks {
		j := tokenJSON{ID: t.ID, User: t.User, Kind: t.Kind, CreatedAt: t.CreatedAt, State: "live", Current: t.ID == c.token.ID}
		if !t.ExpiresAt.IsZero() {
			j.ExpiresAt = &t.ExpiresAt
			if !now.Before(t.ExpiresAt) {
				j.State = "expired"
			}
		}
		if !t.RevokedAt.IsZero() {
			j.RevokedAt, j.State = &t.RevokedAt, "revoked"
		}
		out.Tokens = append(out.Tokens, j)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// revokeToken ends one of the caller's sessions or tokens; an admin ends
// anyone's. Someone else's is "not found", as a token that does not exist.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, c *caller) error {
	id := r.PathValue("id")
	toks, err := s.store.ListTokens(r.Context(), muster.TokenFilter{ID: id})
	if err != nil {
		return err
	}
	if len(toks) == 0 || (toks[0].User != c.user.Name && c.user.Role != muster.RoleAdmin) {
		return errorf(muster.ENOTFOUND, "token %s not found", shorten(id))
	}
	if err := s.store.RevokeToken(r.Context(), id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, revokedResponse{Revoked: id})
	return nil
}

// shorten keeps an echoed identifier short.
func shorten(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

type throttleCleared struct {
	Cleared string `json:"cleared"`
	// Entries counts what this instance forgot; every other instance
	// sharing the database forgets its own as it hears of the change.
	Entries int `json:"entries"`
}

func (s *Server) listThrottles(w http.ResponseWriter, r *http.Request, _ *caller) error {
	out := throttlesResponse{Throttles: s.throttle.list(s.now())}
	if out.Throttles == nil {
		out.Throttles = []throttleJSON{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// clearAccountThrottle forgets every failure held against an account,
// from every address and device, on every instance; audited.
func (s *Server) clearAccountThrottle(w http.ResponseWriter, r *http.Request, _ *caller) error {
	return s.clearThrottle(w, r, "account:"+r.PathValue("account"))
}

// clearAddressThrottle forgets the failures of a client address (its /64
// for IPv6), against every account, on every instance; audited.
func (s *Server) clearAddressThrottle(w http.ResponseWriter, r *http.Request, _ *caller) error {
	a, err := netip.ParseAddr(r.PathValue("address"))
	if err != nil {
		return errorf(muster.EINVALID, "address %q: not an IP address", shorten(r.PathValue("address")))
	}
	return s.clearThrottle(w, r, "address:"+throttleAddr(a.String()))
}

func (s *Server) clearThrottle(w http.ResponseWriter, r *http.Request, target string) error {
	// Counted before the store announces the clearing: this instance's
	// own watcher may forget the entries before the line below does.
	n := s.throttle.held(target)
	if err := s.store.ClearThrottle(r.Context(), target); err != nil {
		return err
	}
	n = max(n, s.throttle.clear(target))
	writeJSON(w, http.StatusOK, throttleCleared{Cleared: target, Entries: n})
	return nil
}
