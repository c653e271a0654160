package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/credential"
	"github.com/muster-evac/muster/issue"
)

// Verification and check-in: anyone may ask whether a token is genuine
// and current (the token says nothing its holder cannot read from it);
// field officers check tokens in, once; offline devices sync their
// check-ins; anyone may fetch the signed bundle offline verifiers load.

// maxTokenBody bounds a verification request: a token is at most about
// 500 characters.
const maxTokenBody = 4 << 10

// verdictOut is a verdict in plain words and in fields.
type verdictOut struct {
	// Status is the verdict's code: current, superseded, revoked,
	// expired, unknown_key or forged; Verdict is it in words, as muster
	// verify prints it, with the age of the statuses it was checked against.
	Status  string   `json:"status"`
	Says    string   `json:"says"`
	Verdict string   `json:"verdict"`
	Reason  string   `json:"reason,omitempty"`
	Genuine bool     `json:"genuine"`
	Issued  bool     `json:"issued"` // the server issued this version
	TokenID string   `json:"token_id,omitempty"`
	Claims  *claims  `json:"claims,omitempty"`
	Latest  int      `json:"latest_version,omitempty"`
	Newer   string   `json:"newer,omitempty"`   // superseded: the version in force
	Changed []string `json:"changed,omitempty"` // superseded: what changed since (which parts, not their new values)
	// ClaimedIssuer is the deployment an unknown key's token says it is
	// from (unverified).
	ClaimedIssuer string    `json:"claimed_issuer,omitempty"`
	Warnings      []string  `json:"warnings,omitempty"`
	Deployment    string    `json:"deployment"`
	AsOf          time.Time `json:"statuses_as_of"`
	AgeS          int64     `json:"statuses_age_s"`
}

// claims are what a genuine token says (anyone holding it can read them).
type claims struct {
	Instruction string     `json:"instruction"`
	Version     uint32     `json:"version"`
	Supersedes  uint32     `json:"supersedes,omitempty"`
	Household   string     `json:"household"`
	RallyPoint  string     `json:"rally_point,omitempty"`
	ReportFrom  *time.Time `json:"report_from,omitempty"`
	ReportBy    *time.Time `json:"report_by,omitempty"`
	Group       string     `json:"group_code,omitempty"`
	People      uint16     `json:"people,omitempty"`
	IssuedAt    time.Time  `json:"issued_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	Issuer      string     `json:"issuer"`
}

var statusCodes = map[credential.Status]string{
	credential.Current: "current", credential.Superseded: "superseded", credential.Revoked: "revoked",
	credential.Expired: "expired", credential.UnknownKey: "unknown_key", credential.Forged: "forged",
	credential.RevokedKey: "revoked_key",
}

func toVerdictOut(v issue.Verdict) verdictOut {
	out := verdictOut{Status: statusCodes[v.Status], Says: v.Status.String(), Verdict: v.String(), Reason: v.Reason, Genuine: v.Genuine(),
		Issued: v.Issued, Latest: int(v.Latest), Newer: v.Newer, Changed: v.Changed, ClaimedIssuer: v.ClaimedIssuer,
		Warnings: v.Warnings, Deployment: v.Deployment, AsOf: v.AsOf, AgeS: int64(v.Age / time.Second)}
	if c := v.Claims; c != nil {
		out.TokenID = c.TokenID()
		out.Claims = &claims{Instruction: c.Instruction, Version: c.Version, Supersedes: c.Supersedes, Household: c.Household, RallyPoint: c.RallyPoint,
			Group: c.Group, People: c.People, IssuedAt: c.IssuedAt, ExpiresAt: c.NotAfter, Issuer: c.Issuer}
		if !c.ReportFrom.IsZero() {
			from, by := c.ReportFrom, c.ReportBy
			out.Claims.ReportFrom, out.Claims.ReportBy = &from, &by
		}
	}
	if len(v.Changed) > 0 {
		out.Verdict = strings.TrimRight(out.Verdict, "\n") + "\n  changed since: " + strings.Join(v.Changed, ", ") + "\n"
	}
	return out
}

// readToken reads a token from a request body: the token as text, or
// {"token": "..."}.
func (s *Server) readToken(w http.ResponseWriter, r *http.Request) (string, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTokenBody))
	if err != nil {
		return "", errorf(codeTooLarge, "request body: more than %d bytes: not a token", maxTokenBody)
	}
	// Line breaks and tabs around the token go; spaces stay: base45 has
	// them, and a token may end with one.
	text := strings.Trim(string(body), "\r\n\t")
	if strings.HasPrefix(strings.TrimSpace(text), "{") {
		var req struct {
			Token string `json:"token"`
		}
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return "", errorf(muster.EINVALID, "request body: %v", err)
		}
		text = req.Token
	}
	if strings.TrimSpace(text) == "" {
		return "", errorf(muster.EINVALID, "request body: no token (send the token's text, MU1:...)")
	}
	return text, nil
}

// bundleTTL is how long the server answers verifications from one read
// of the statuses, unless they change before (an issuance here, or an
// "instruction" event from another instance): every verdict says how old
// they are, and a check-in is decided by the store whatever it said.
const bundleTTL = 2 * time.Second

// bundleCache keeps the verifier bundle (and, once asked, its signed
// form) for bundleTTL: reading every series' status costs a scan of the
// instructions, which an anonymous caller must not cause per request.
type bundleCache struct {
	mu     sync.Mutex
	b      *credential.Bundle
	signed []byte
	until  time.Time
	// kr is the keyring b was made with: a keyring read again (SIGHUP,
	// which reaches the issuer, not the server) makes the bundle anew at
	// once, not when it ages out.
	kr *credential.Keyring
}

// invalidate drops the kept bundle: statuses changed.
func (c *bundleCache) invalidate() {
	c.mu.Lock()
	c.b, c.signed = nil, nil
	c.mu.Unlock()
}

// watchStatuses drops the kept bundle whenever instructions are issued,
// superseded or revoked, by any instance, until the server closes.
func (s *Server) watchStatuses() error {
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := s.store.Subscribe(ctx)
	if err != nil {
		cancel()
		return err
	}
	go func() {
		defer cancel()
		for {
			select {
			case ev, ok := <-ch:
				if !ok {
					return
				}
				if ev.Kind == "instruction" {
					s.bundles.invalidate()
				}
			case <-s.closing:
				return
			}
		}
	}()
	return nil
}

// verifierBundle returns the bundle of the statuses as of at most
// bundleTTL ago, and its signed form when signed.
func (s *Server) verifierBundle(ctx context.Context, signed bool) (*credential.Bundle, []byte, error) {
	c := &s.bundles
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	kr := s.cfg.Issuer.Keyring()
	if c.b == nil || now.After(c.until) || c.kr != kr {
		b, err := issue.Bundle(ctx, s.store, kr)
		if err != nil {
			return nil, nil, err
		}
		c.b, c.signed, c.until, c.kr = b, nil, now.Add(bundleTTL), kr
	}
	if signed && c.signed == nil {
		data, err := kr.SignBundle(c.b)
		if err != nil {
			return nil, nil, fmt.Errorf("bundle: %w", err)
		}
		c.signed = data
	}
	return c.b, c.signed, nil
}

func (s *Server) noKeys(what string) error {
	return errorf(codeUnavailable, "this server cannot %s: %v", what, issue.ErrNoKeys)
}

// verify says whether a token is genuine and current, against the
// store's statuses as of now.
func (s *Server) verify(w http.ResponseWriter, r *http.Request, _ *caller) error {
	if s.cfg.Issuer == nil {
		return s.noKeys("verify tokens")
	}
	token, err := s.readToken(w, r)
	if err != nil {
		return err
	}
	b, _, err := s.verifierBundle(r.Context(), false)
	if err != nil {
		return err
	}
	v, err := issue.VerifyWith(r.Context(), s.store, b, token, s.now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toVerdictOut(v))
	return nil
}

// bundle serves the signed verifier bundle: the public keys and the
// statuses as of now (muster verify --bundle FILE --trust FINGERPRINT).
func (s *Server) bundle(w http.ResponseWriter, r *http.Request, _ *caller) error {
	if s.cfg.Issuer == nil {
		return s.noKeys("sign a verifier bundle")
	}
	kr := s.cfg.Issuer.Keyring()
	b, data, err := s.verifierBundle(r.Context(), true)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", mediaBundle)
	w.Header().Set("Content-Disposition", `attachment; filename="`+kr.Deployment()+`.bundle"`)
	w.Header().Set("Muster-Bundle-As-Of", b.AsOf.UTC().Format(time.RFC3339))
	w.Header().Set("Muster-Bundle-Signed-By", kr.Active().ID().String())
	w.Header().Set("Muster-Bundle-Statuses", strconv.Itoa(len(b.Statuses)))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(data)
	return nil
}

const mediaBundle = "application/vnd.muster.bundle+cbor"

// checkinRequest checks a token in at a rally point: the token's text,
// or (the household showing no token, its identity checked otherwise) the
// household's id, whose current instruction is checked in.
type checkinRequest struct {
	Token      string `json:"token,omitempty"`
	Household  string `json:"household,omitempty"`
	RallyPoint string `json:"rally_point"`
	At         string `json:"at,omitempty"` // RFC 3339; default now
	// OtherRally is the officer's reason to admit, at this rally point,
	// a household whose instruction names another: without one such a
	// check-in is refused.
	OtherRally string `json:"other_rally,omitempty"`
}

type checkinJSON struct {
	ID          string    `json:"id"`
	TokenID     string    `json:"token_id"`
	Household   string    `json:"household"`
	RallyPoint  string    `json:"rally_point"`
	By          string    `json:"by"`
	At          time.Time `json:"at"`
	RecordedAt  time.Time `json:"recorded_at"`
	RecordedBy  string    `json:"recorded_by"`
	DuplicateOf string    `json:"duplicate_of,omitempty"`
}

func toCheckinJSON(c muster.CheckIn) checkinJSON {
	return checkinJSON{ID: c.ID, TokenID: c.TokenID, Household: c.HouseholdID, RallyPoint: c.RallyPoint, By: c.By, At: c.At,
		RecordedAt: c.RecordedAt, RecordedBy: c.RecordedBy, DuplicateOf: c.DuplicateOf}
}

type checkinResponse struct {
	CheckIn checkinJSON `json:"checkin"`
	People  int         `json:"people,omitempty"` // how many the token admits
	Group   string      `json:"group_code,omitempty"`
	// Instructed is the rally point the instruction names (when it names
	// one): another than the check-in's only with the officer's reason.
	Instructed string `json:"instructed_rally_point,omitempty"`
}

// spendable verifies a token for a check-in: a token that is not genuine
// (forged, another deployment's) never checks in, nor an expired one.
func (s *Server) spendable(r *http.Request, token string) (*credential.Claims, credential.Status, error) {
	v, err := issue.Verify(r.Context(), s.store, s.cfg.Issuer.Keyring(), token, s.now())
	if err != nil {
		return nil, 0, err
	}
	switch v.Status {
	case credential.Forged, credential.UnknownKey, credential.RevokedKey:
		return nil, 0, errorf(muster.EINVALID, "NOT CHECKED IN: the token is %s: %s", v.Status, v.Reason)
	case credential.Expired:
		return nil, 0, errorf(muster.ECONFLICT, "NOT CHECKED IN: the token is expired: %s", v.Reason)
	}
	return v.Claims, v.Status, nil
}

// checkin spends a token: the first time it is checked in; a second time
// (a forwarded or sold copy) it is refused, 409, saying where and when the
// first check-in happened, and the attempt is kept, flagged.
func (s *Server) checkin(w http.ResponseWriter, r *http.Request, c *caller) error {
	if s.cfg.Issuer == nil {
		return s.noKeys("check tokens in")
	}
	var req checkinRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	at := time.Time{}
	if req.At != "" {
		t, err := time.Parse(time.RFC3339, req.At)
		if err != nil {
			return errorf(muster.EINVALID, "at: %q, want an RFC 3339 time", req.At)
		}
		at = t
	}
	if req.RallyPoint == "" {
		return errorf(muster.EINVALID, "rally_point: which rally point is this check-in at?")
	}
	resp := checkinResponse{}
	var tokenID, instructed string
	switch {
	case req.Token != "" && req.Household != "":
		return errorf(muster.EINVALID, "give a token or a household, not both")
	case req.Token != "":
		cl, status, err := s.spendable(r, req.Token)
		if err != nil {
			return err
		}
		tokenID, resp.People, resp.Group = cl.TokenID(), int(cl.People), cl.Group
		if status == credential.Current {
			// A superseded or revoked version goes on to the store,
			// which refuses it as such.
			instructed = cl.RallyPoint
		}
	case req.Household != "":
		in, err := s.store.CurrentInstruction(r.Context(), req.Household)
		if err != nil {
			return err
		}
		if err := s.auditRead(r.Context(), "instruction.read", "instruction:"+in.ID, "check-in by household id"); err != nil {
			return err
		}
		tokenID, resp.People, resp.Group, instructed = in.ID, in.People, in.GroupCode, in.RallyPoint.ID
	default:
		return errorf(muster.EINVALID, "give the token (token) or the household's id (household)")
	}
	if at.IsZero() {
		at = s.now()
	}
	if err := issue.CheckRallyPoint(r.Context(), s.store, tokenID, instructed, req.RallyPoint, req.OtherRally, c.user.Name); err != nil {
		return err
	}
	resp.Instructed = instructed
	ci, first, err := s.store.CheckIn(r.Context(), tokenID, req.RallyPoint, c.user.Name, at)
	if err != nil {
		return err
	}
	if first != nil {
		return errorf(muster.ECONFLICT, "REFUSED: token %s was checked in already, at %s by %s at %s (check-in %s): this is a copy; this attempt is recorded and flagged (%s)",
			tokenID, first.RallyPoint, first.By, first.At.UTC().Format(time.RFC3339), first.ID, ci.ID)
	}
	if err := issue.AuditOtherRally(r.Context(), s.store, ci, instructed, req.OtherRally); err != nil {
		return err
	}
	resp.CheckIn = toCheckinJSON(ci)
	writeJSON(w, http.StatusCreated, resp)
	return nil
}

// syncRequest is a device's offline check-ins.
type syncRequest struct {
	Device   string        `json:"device"`
	CheckIns []syncCheckIn `json:"checkins"`
}

type syncCheckIn struct {
	ID         string `json:"id,omitempty"` // the device's id for it, so that a repeated sync records it once
	Token      string `json:"token"`
	RallyPoint string `json:"rally_point"`
	By         string `json:"by,omitempty"` // the officer on the device; default the device
	At         string `json:"at"`
}

type syncOutcome struct {
	TokenID   string       `json:"token_id,omitempty"`
	CheckIn   *checkinJSON `json:"checkin,omitempty"`
	Duplicate bool         `json:"duplicate"`
	First     *checkinJSON `json:"first,omitempty"`     // the token's first check-in, when this one came second
	Displaced *checkinJSON `json:"displaced,omitempty"` // the check-in that was first until this earlier one came
	Refused   string       `json:"refused,omitempty"`
	// Instructed is the rally point the instruction names, when the
	// check-in was at another (kept as the device made it, audited:
	// checkin.other_rally).
	Instructed string `json:"instructed_rally_point,omitempty"`
}

type syncResponse struct {
	Recorded   int           `json:"recorded"`
	Duplicates int           `json:"duplicates"`
	Refused    int           `json:"refused"`
	Outcomes   []syncOutcome `json:"outcomes"`
}

const maxSyncCheckIns = 10_000

// syncCheckins records a device's offline check-ins: each token is
// verified (a forged one is refused), then the store reconciles them with
// what it holds by token and earliest time.
func (s *Server) syncCheckins(w http.ResponseWriter, r *http.Request, _ *caller) error {
	if s.cfg.Issuer == nil {
		return s.noKeys("check tokens in")
	}
	var req syncRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Device == "" || len(req.CheckIns) > maxSyncCheckIns {
		return errorf(muster.EINVALID, "device: say which device this is; checkins: at most %d", maxSyncCheckIns)
	}
	out := syncResponse{Outcomes: make([]syncOutcome, len(req.CheckIns))}
	var cs []muster.CheckIn
	var at []int // index in the request of each of cs
	b, err := issue.Bundle(r.Context(), s.store, s.cfg.Issuer.Keyring())
	if err != nil {
		return err
	}
	for i, sc := range req.CheckIns {
		t, err := time.Parse(time.RFC3339, sc.At)
		if err != nil {
			return errorf(muster.EINVALID, "checkins[%d].at: %q, want an RFC 3339 time", i, sc.At)
		}
		// Verified as of when it was made: a token superseded since was
		// current at the rally point then.
		v := credential.Verify(sc.Token, b, t)
		if !v.Genuine() {
			out.Outcomes[i] = syncOutcome{Refused: "the token is " + v.Status.String() + ": " + v.Reason}
			continue
		}
		by := sc.By
		if by == "" {
			by = req.Device
		} else {
			by = req.Device + "/" + by
		}
		out.Outcomes[i].TokenID = v.Claims.TokenID()
		cs = append(cs, muster.CheckIn{ID: sc.ID, TokenID: v.Claims.TokenID(), RallyPoint: sc.RallyPoint, By: by, At: t})
		at = append(at, i)
	}
	res, err := s.store.SyncCheckIns(r.Context(), cs)
	if err != nil {
		return err
	}
	for j, o := range res {
		so := &out.Outcomes[at[j]]
		if o.Refused != "" {
			so.Refused = o.Refused
			continue
		}
		ci := toCheckinJSON(o.CheckIn)
		so.CheckIn, so.Duplicate, so.Instructed = &ci, o.CheckIn.Duplicate(), o.Instructed
		if o.First != nil {
			f := toCheckinJSON(*o.First)
			so.First = &f
		}
		if o.Displaced != nil {
			d := toCheckinJSON(*o.Displaced)
			so.Displaced = &d
		}
	}
	for _, o := range out.Outcomes {
		switch {
		case o.Refused != "":
			out.Refused++
		case o.Duplicate:
			out.Duplicates++
		default:
			out.Recorded++
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type checkinsPage struct {
	CheckIns []checkinJSON `json:"checkins"`
	Next     string        `json:"next,omitempty"`
}

// listCheckins lists check-ins; duplicates=true the flagged ones.
func (s *Server) listCheckins(w http.ResponseWriter, r *http.Request, _ *caller) error {
	q := r.URL.Query()
	f := muster.CheckInFilter{TokenID: q.Get("token"), HouseholdID: q.Get("household"), AfterID: q.Get("after"), Duplicates: q.Get("duplicates") == "true"}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return errorf(muster.EINVALID, "limit: %q, want 1 to 1000", v)
		}
		f.Limit = n
	}
	cs, next, err := s.store.ListCheckIns(r.Context(), f)
	if err != nil {
		return err
	}
	out := checkinsPage{CheckIns: []checkinJSON{}, Next: next}
	for _, c := range cs {
		out.CheckIns = append(out.CheckIns, toCheckinJSON(c))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// keysReloadOut says which keyring the server now signs and verifies by.
type keysReloadOut struct {
	Deployment string   `json:"deployment"`
	Active     string   `json:"active_key"`
	Keys       []string `json:"keys"` // every key id, oldest first
}

// reloadKeys reads the keyring again from the data folder (after `muster
// keys rotate` there), as SIGHUP does: tokens signed by a newly rotated
// key verify, and new instructions are signed by it, without a restart.
// Audited; the verifier bundle is remade at once.
func (s *Server) reloadKeys(w http.ResponseWriter, r *http.Request, _ *caller) error {
	if s.cfg.Issuer == nil {
		return s.noKeys("reload its keys")
	}
	kr, err := s.cfg.Issuer.ReloadKeys()
	if err != nil {
		return err
	}
	s.bundles.invalidate()
	out := keysReloadOut{Deployment: kr.Deployment(), Active: kr.Active().ID().String()}
	for _, k := range kr.Keys() {
		out.Keys = append(out.Keys, k.ID().String())
	}
	if _, err := s.store.AppendAudit(r.Context(), muster.AuditEntry{Action: "keys.reload", Target: "keyring",
		Detail: fmt.Sprintf("keyring of %s reloaded: active key %s, %d keys", out.Deployment, out.Active, len(out.Keys))}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
