package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/muster-evac/muster"
)

// AddReport implements muster.Store. A report is kept whole as JSON (the
// threat picture re-reads all of them); id, received_at and kind are
// columns to order and filter on.
func (c *Core) AddReport(ctx context.Context, r muster.Report) error {
	if r.ID == "" || len(r.ID) > maxIDLen || !validText(r.ID) {
		return muster.Errorf(muster.EINVALID, "report: id %q must be 1 to %d bytes of UTF-8", r.ID, maxIDLen)
	}
	if len(r.Kind) > maxIDLen || !validText(r.Kind) {
		return muster.Errorf(muster.EINVALID, "report %s: kind %q", r.ID, r.Kind)
	}
	if r.ReceivedAt.IsZero() {
		return muster.Errorf(muster.EINVALID, "report %s: no received_at", r.ID)
	}
	r.ReceivedAt, r.ObservedAt, r.ValidUntil = r.ReceivedAt.UTC(), r.ObservedAt.UTC(), r.ValidUntil.UTC()
	body, err := json.Marshal(r)
	if err != nil {
		return muster.Errorf(muster.EINVALID, "report %s: %v", r.ID, err)
	}
	return c.write(ctx, func(w *wtx) error {
		if _, err := w.exec(`INSERT INTO reports (id, received_at, kind, body) VALUES (?, ?, ?, ?)`,
			r.ID, r.ReceivedAt.UnixMicro(), r.Kind, string(body)); err != nil {
			return c.conflict(err, "report %s exists already: reports are never overwritten, send a new one that relates to it", r.ID)
		}
		w.record("report.add", "report:"+r.ID, r.Kind)
		w.announce("report", r.ID)
		return nil
	})
}

// ListReports implements muster.Store.
func (c *Core) ListReports(ctx context.Context, since time.Time, limit int) ([]muster.Report, error) {
	rows, err := c.reader().QueryContext(ctx, `SELECT body FROM reports WHERE received_at >= ? ORDER BY received_at, id LIMIT ?`,
		micros(since), sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list reports: %w", err)
	}
	defer rows.Close()
	var out []muster.Report
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("list reports: %w", err)
		}
		var r muster.Report
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			return nil, fmt.Errorf("list reports: stored report unreadable: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func checkName(kind, name string) error {
	if name == "" || len(name) > maxIDLen || !validText(name) || strings.TrimSpace(name) != name {
		return muster.Errorf(muster.EINVALID, "%s name %q: 1 to %d bytes, no surrounding spaces", kind, name, maxIDLen)
	}
	return nil
}

// CreateUser implements muster.Store.
func (c *Core) CreateUser(ctx context.Context, u muster.User) error {
	if err := checkName("user", u.Name); err != nil {
		return err
	}
	if !slices.Contains(muster.Roles, u.Role) {
		return muster.Errorf(muster.EINVALID, "user %s: role %q is not one of %s", u.Name, u.Role, strings.Join(muster.Roles, ", "))
	}
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		return muster.Errorf(muster.EINVALID, "user %s: the password hash is not from HashPassword", u.Name)
	}
	return c.write(ctx, func(w *wtx) error {
		// Names that differ only by case are refused: "Admin" beside
		// "admin" is a trap for whoever reads the audit log or grants a
		// role. The chain head's lock (which every writer takes anyway
		// before it commits) is taken first, so that of two instances
		// adding "Bob" and "bob" at once the second sees the first.
		var seq int64
		if err := w.queryRow(`SELECT seq FROM audit_head WHERE id = 1` + c.d.ForUpdate).Scan(&seq); err != nil {
			return fmt.Errorf("user %s: lock: %w", u.Name, err)
		}
		names, err := w.userNames()
		if err != nil {
			return fmt.Errorf("user %s: %w", u.Name, err)
		}
		for _, n := range names {
			if n != u.Name && strings.EqualFold(n, u.Name) {
				return muster.Errorf(muster.ECONFLICT, "user %s: the name differs from the existing user %s only by case", u.Name, n)
			}
		}
		if _, err := w.exec(`INSERT INTO users (name, role, password_hash, disabled, created_at) VALUES (?, ?, ?, ?, ?)`,
			u.Name, u.Role, u.PasswordHash, boolInt(u.Disabled), micros(w.now)); err != nil {
			return c.conflict(err, "user %s exists already", u.Name)
		}
		w.record("user.create", "user:"+u.Name, "role="+u.Role)
		w.announce("user", u.Name)
		return nil
	})
}

// userNames reads every user name: operators are few, and comparing them
// in Go folds case the same way on both engines (SQLite's lower() folds
// ASCII only, PostgreSQL's follows the database's locale).
func (w *wtx) userNames() ([]string, error) {
	rows, err := w.query(`SELECT name FROM users`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// UserNameClashes returns the groups of existing user names that differ
// only by case, each sorted, the groups in order: accounts made before
// such names were refused. Open reports them; nothing is changed (one of
// each group should be disabled by an administrator who knows which).
func (c *Core) UserNameClashes(ctx context.Context) ([][]string, error) {
	users, err := c.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	groups := map[string][]string{}
	var keys []string
	for _, u := range users {
		k := strings.ToLower(u.Name)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], u.Name)
	}
	slices.Sort(keys)
	var out [][]string
	for _, k := range keys {
		if g := groups[k]; len(g) > 1 {
			slices.Sort(g)
			out = append(out, g)
		}
	}
	return out, nil
}

// reportNameClashes logs the user names that differ only by case.
func (c *Core) reportNameClashes(ctx context.Context) {
	clashes, err := c.UserNameClashes(ctx)
	if err != nil {
		slog.Warn("checking user names for case clashes", "backend", c.d.Name, "err", err)
		return
	}
	for _, g := range clashes {
		slog.Warn("operator accounts whose names differ only by case: new ones are refused; disable all but one (muster user disable NAME)",
			"backend", c.d.Name, "names", strings.Join(g, ", "))
	}
}

const userColumns = `name, role, password_hash, disabled, created_at`

func scanUser(sc interface{ Scan(...any) error }) (muster.User, error) {
	var u muster.User
	var disabled int
	var created int64
	err := sc.Scan(&u.Name, &u.Role, &u.PasswordHash, &disabled, &created)
	u.Disabled, u.CreatedAt = disabled != 0, fromMicros(created)
	return u, err
}

// GetUser implements muster.Store.
func (c *Core) GetUser(ctx context.Context, name string) (muster.User, error) {
	if badKey(name) {
		return muster.User{}, muster.Errorf(muster.ENOTFOUND, "user %q not found", name)
	}
	u, err := scanUser(c.reader().QueryRowContext(ctx, (`SELECT ` + userColumns + ` FROM users WHERE name = ?`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return u, muster.Errorf(muster.ENOTFOUND, "user %s not found", name)
	}
	if err != nil {
		return u, fmt.Errorf("user %s: %w", name, err)
	}
	return u, nil
}

// ListUsers implements muster.Store.
func (c *Core) ListUsers(ctx context.Context) ([]muster.User, error) {
	rows, err := c.reader().QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []muster.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// updateOne runs an UPDATE that must touch exactly one row, else ENOTFOUND.
func (w *wtx) updateOne(what string, query string, args ...any) error {
	res, err := w.exec(query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return muster.Errorf(muster.ENOTFOUND, "%s not found", what)
	}
	return nil
}

// SetUserPassword implements muster.Store.
func (c *Core) SetUserPassword(ctx context.Context, name, passwordHash, keepToken string) (int, error) {
	if badKey(name) {
		return 0, muster.Errorf(muster.ENOTFOUND, "user %q not found", name)
	}
	if len(passwordHash) > 1000 || !validText(passwordHash) || !strings.HasPrefix(passwordHash, "$argon2id$") {
		return 0, muster.Errorf(muster.EINVALID, "user %s: the password hash is not from HashPassword", name)
	}
	if badKey(keepToken) {
		return 0, muster.Errorf(muster.EINVALID, "user %s: token to keep %q", name, keepToken)
	}
	revoked := 0
	err := c.write(ctx, func(w *wtx) error {
		if err := w.updateOne("user "+name, `UPDATE users SET password_hash = ? WHERE name = ?`, passwordHash, name); err != nil {
			return err
		}
		// Whoever knew the old password may hold a session or have made a
		// token with it: they all end with it, in this transaction.
		res, err := w.exec(`UPDATE tokens SET revoked_at = ? WHERE user_name = ? AND revoked_at = 0 AND (expires_at = 0 OR expires_at > ?) AND id <> ?`,
			micros(w.now), name, micros(w.now), keepToken)
		if err != nil {
			return fmt.Errorf("user %s: revoke tokens: %w", name, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("user %s: revoke tokens: %w", name, err)
		}
		revoked = int(n)
		detail := fmt.Sprintf("revoked %d tokens", n)
		if keepToken != "" {
			detail += ", kept " + keepToken
		}
		w.record("user.password", "user:"+name, detail)
		w.announce("user", name)
		return nil
	})
	return revoked, err
}

// EnableUser implements muster.Store.
func (c *Core) EnableUser(ctx context.Context, name string) error {
	if badKey(name) {
		return muster.Errorf(muster.ENOTFOUND, "user %q not found", name)
	}
	return c.write(ctx, func(w *wtx) error {
		if err := w.updateOne("user "+name, `UPDATE users SET disabled = 0 WHERE name = ?`, name); err != nil {
			return err
		}
		w.record("user.enable", "user:"+name, "")
		w.announce("user", name)
		return nil
	})
}

// SetUserRole implements muster.Store.
func (c *Core) SetUserRole(ctx context.Context, name, role string) error {
	if badKey(name) {
		return muster.Errorf(muster.ENOTFOUND, "user %q not found", name)
	}
	if !slices.Contains(muster.Roles, role) {
		return muster.Errorf(muster.EINVALID, "user %s: role %q is not one of %s", name, role, strings.Join(muster.Roles, ", "))
	}
	return c.write(ctx, func(w *wtx) error {
		var old string
		if err := w.queryRow(`SELECT role FROM users WHERE name = ?`+c.d.ForUpdate, name).Scan(&old); errors.Is(err, sql.ErrNoRows) {
			return muster.Errorf(muster.ENOTFOUND, "user %s not found", name)
		} else if err != nil {
			return fmt.Errorf("user %s: %w", name, err)
		}
		if err := w.updateOne("user "+name, `UPDATE users SET role = ? WHERE name = ?`, role, name); err != nil {
			return err
		}
		w.record("user.role", "user:"+name, "role "+old+" -> "+role)
		w.announce("user", name)
		return nil
	})
}

// DisableUser implements muster.Store.
func (c *Core) DisableUser(ctx context.Context, name string) error {
	if badKey(name) {
		return muster.Errorf(muster.ENOTFOUND, "user %q not found", name)
	}
	return c.write(ctx, func(w *wtx) error {
		if err := w.updateOne("user "+name, `UPDATE users SET disabled = 1 WHERE name = ?`, name); err != nil {
			return err
		}
		if _, err := w.exec(`UPDATE tokens SET revoked_at = ? WHERE user_name = ? AND revoked_at = 0`, micros(w.now), name); err != nil {
			return fmt.Errorf("user %s: revoke tokens: %w", name, err)
		}
		w.record("user.disable", "user:"+name, "")
		w.announce("user", name)
		return nil
	})
}

// CreateToken implements muster.Store.
func (c *Core) CreateToken(ctx context.Context, t muster.Token) error {
	if t.ID == "" {
		t.ID = newID("tok-")
	}
	if err := checkName("token", t.ID); err != nil {
		return err
	}
	if t.Kind != muster.TokenSession && t.Kind != muster.TokenAPI {
		return muster.Errorf(muster.EINVALID, "token %s: kind %q is not %s or %s", t.ID, t.Kind, muster.TokenSession, muster.TokenAPI)
	}
	if badKey(t.User) {
		return muster.Errorf(muster.ENOTFOUND, "token %s: user %q not found", t.ID, t.User)
	}
	if len(t.Hash) < 16 || len(t.Hash) > 64 {
		return muster.Errorf(muster.EINVALID, "token %s: hash of %d bytes: use TokenHash", t.ID, len(t.Hash))
	}
	return c.write(ctx, func(w *wtx) error {
		var exists int
		if err := w.queryRow(`SELECT COUNT(*) FROM users WHERE name = ? AND disabled = 0`, t.User).Scan(&exists); err != nil {
			return fmt.Errorf("token %s: %w", t.ID, err)
		}
		if exists == 0 {
			return muster.Errorf(muster.ENOTFOUND, "token %s: user %s not found or disabled", t.ID, t.User)
		}
		if _, err := w.exec(`INSERT INTO tokens (id, user_name, kind, hash, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, 0)`,
			t.ID, t.User, t.Kind, t.Hash, micros(w.now), micros(t.ExpiresAt)); err != nil {
			return c.conflict(err, "token %s exists already", t.ID)
		}
		w.record("token.create", "user:"+t.User, "token="+t.ID+" kind="+t.Kind)
		w.announce("token", t.ID)
		return nil
	})
}

// LookupToken implements muster.Store.
func (c *Core) LookupToken(ctx context.Context, hash []byte, now time.Time) (muster.Token, muster.User, error) {
	if c.tokens == nil {
		return c.lookupToken(ctx, hash, now)
	}
	v, err := c.d.AuthVersion()
	if err != nil {
		slog.Warn("auth version unreadable: token looked up in the database", "backend", c.d.Name, "err", err)
		return c.lookupToken(ctx, hash, now)
	}
	wall := time.Now()
	if t, u, ok := c.tokens.get(hash, v, wall); ok {
		return t, u, tokenLive(t, u, now) // it may have expired since
	}
	t, u, err := c.lookupToken(ctx, hash, now)
	if err == nil {
		c.tokens.put(hash, v, t, u, wall)
	}
	return t, u, err
}

func (c *Core) lookupToken(ctx context.Context, hash []byte, now time.Time) (muster.Token, muster.User, error) {
	var t muster.Token
	var created, expires, revoked int64
	var u muster.User
	var disabled int
	var ucreated int64
	err := c.reader().QueryRowContext(ctx, (`SELECT t.id, t.user_name, t.kind, t.hash, t.created_at, t.expires_at, t.revoked_at,
		u.name, u.role, u.password_hash, u.disabled, u.created_at
		FROM tokens t JOIN users u ON u.name = t.user_name WHERE t.hash = ?`), hash).
		Scan(&t.ID, &t.User, &t.Kind, &t.Hash, &created, &expires, &revoked, &u.Name, &u.Role, &u.PasswordHash, &disabled, &ucreated)
	if errors.Is(err, sql.ErrNoRows) {
		return t, u, muster.Errorf(muster.ENOTFOUND, "token not found")
	}
	if err != nil {
		return t, u, fmt.Errorf("look up token: %w", err)
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = fromMicros(created), fromMicros(expires), fromMicros(revoked)
	u.Disabled, u.CreatedAt = disabled != 0, fromMicros(ucreated)
	return t, u, tokenLive(t, u, now)
}

// tokenLive says why a token found may not be used at now, or nil.
func tokenLive(t muster.Token, u muster.User, now time.Time) error {
	switch {
	case !t.RevokedAt.IsZero():
		return muster.Errorf(muster.ENOTFOUND, "token %s was revoked", t.ID)
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return muster.Errorf(muster.ENOTFOUND, "token %s expired", t.ID)
	case u.Disabled:
		return muster.Errorf(muster.ENOTFOUND, "token %s: user %s is disabled", t.ID, u.Name)
	}
	return nil
}

// RevokeToken implements muster.Store.
func (c *Core) RevokeToken(ctx context.Context, id string) error {
	if badKey(id) {
		return muster.Errorf(muster.ENOTFOUND, "token %q not found", id)
	}
	return c.write(ctx, func(w *wtx) error {
		if err := w.updateOne("token "+id, `UPDATE tokens SET revoked_at = CASE WHEN revoked_at = 0 THEN ? ELSE revoked_at END WHERE id = ?`, micros(w.now), id); err != nil {
			return err
		}
		w.record("token.revoke", "token:"+id, "")
		w.announce("token", id)
		return nil
	})
}

// ListTokens implements muster.Store.
func (c *Core) ListTokens(ctx context.Context, f muster.TokenFilter) ([]muster.Token, error) {
	if badKey(f.User) || badKey(f.ID) {
		return nil, nil
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	var where []string
	var args []any
	if f.User != "" {
		where, args = append(where, `user_name = ?`), append(args, f.User)
	}
	if f.ID != "" {
		where, args = append(where, `id = ?`), append(args, f.ID)
	}
	if !f.LiveAt.IsZero() {
		where, args = append(where, `revoked_at = 0 AND (expires_at = 0 OR expires_at > ?)`), append(args, micros(f.LiveAt))
	}
	query := `SELECT id, user_name, kind, created_at, expires_at, revoked_at FROM tokens`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := c.reader().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []muster.Token
	for rows.Next() {
		var t muster.Token
		var created, expires, revoked int64
		if err := rows.Scan(&t.ID, &t.User, &t.Kind, &created, &expires, &revoked); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		t.CreatedAt, t.ExpiresAt, t.RevokedAt = fromMicros(created), fromMicros(expires), fromMicros(revoked)
		out = append(out, t)
	}
	return out, rows.Err()
}

// ClearThrottle implements muster.Store.
func (c *Core) ClearThrottle(ctx context.Context, target string) error {
	kind, what, _ := strings.Cut(target, ":")
	if (kind != "account" && kind != "address") || what == "" || len(what) > maxIDLen || !validText(what) {
		return muster.Errorf(muster.EINVALID, "throttle target %q: want account:NAME or address:IP", target)
	}
	return c.write(ctx, func(w *wtx) error {
		w.record("throttle.clear", "throttle:"+target, "")
		w.announce("throttle", target)
		return nil
	})
}

// CreateCapability implements muster.Store.
func (c *Core) CreateCapability(ctx context.Context, l muster.CapabilityLink) error {
	if l.ID == "" {
		l.ID = newID("cap-")
	}
	if err := checkName("capability", l.ID); err != nil {
		return err
	}
	if badKey(l.HouseholdID) {
		return muster.Errorf(muster.ENOTFOUND, "capability %s: household %q not found", l.ID, l.HouseholdID)
	}
	if len(l.Hash) < 16 || len(l.Hash) > 64 {
		return muster.Errorf(muster.EINVALID, "capability %s: hash of %d bytes: use TokenHash", l.ID, len(l.Hash))
	}
	return c.write(ctx, func(w *wtx) error {
		var n int
		if err := w.queryRow(`SELECT COUNT(*) FROM households WHERE id = ?`, l.HouseholdID).Scan(&n); err != nil {
			return fmt.Errorf("capability %s: %w", l.ID, err)
		}
		if n == 0 {
			return muster.Errorf(muster.ENOTFOUND, "capability %s: household %s not found", l.ID, l.HouseholdID)
		}
		if _, err := w.exec(`INSERT INTO capabilities (id, household_id, hash, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, 0)`,
			l.ID, l.HouseholdID, l.Hash, micros(w.now), micros(l.ExpiresAt)); err != nil {
			return c.conflict(err, "capability %s exists already", l.ID)
		}
		w.record("capability.create", "household:"+l.HouseholdID, "capability="+l.ID)
		w.announce("capability", l.ID)
		return nil
	})
}

// LookupCapability implements muster.Store.
func (c *Core) LookupCapability(ctx context.Context, hash []byte, now time.Time) (muster.CapabilityLink, error) {
	var l muster.CapabilityLink
	var created, expires, revoked int64
	err := c.reader().QueryRowContext(ctx, (`SELECT id, household_id, hash, created_at, expires_at, revoked_at FROM capabilities WHERE hash = ?`), hash).
		Scan(&l.ID, &l.HouseholdID, &l.Hash, &created, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return l, muster.Errorf(muster.ENOTFOUND, "capability link not found")
	}
	if err != nil {
		return l, fmt.Errorf("look up capability: %w", err)
	}
	l.CreatedAt, l.ExpiresAt, l.RevokedAt = fromMicros(created), fromMicros(expires), fromMicros(revoked)
	switch {
	case revoked != 0:
		return l, muster.Errorf(muster.ENOTFOUND, "capability link %s was revoked", l.ID)
	case expires != 0 && !now.Before(l.ExpiresAt):
		return l, muster.Errorf(muster.ENOTFOUND, "capability link %s expired", l.ID)
	}
	return l, nil
}

// RevokeCapability implements muster.Store.
func (c *Core) RevokeCapability(ctx context.Context, id string) error {
	if badKey(id) {
		return muster.Errorf(muster.ENOTFOUND, "capability %q not found", id)
	}
	return c.write(ctx, func(w *wtx) error {
		if err := w.updateOne("capability "+id, `UPDATE capabilities SET revoked_at = CASE WHEN revoked_at = 0 THEN ? ELSE revoked_at END WHERE id = ?`, micros(w.now), id); err != nil {
			return err
		}
		w.record("capability.revoke", "capability:"+id, "")
		w.announce("capability", id)
		return nil
	})
}

// ClaimJob implements muster.Store. One row per (kind, key) says who holds
// it until when (0: for ever). The claim is one short transaction: the row
// is read under SKIP LOCKED where the engine has it, so an instance that
// finds another mid-claim gives up at once instead of queueing behind it;
// a missing row is inserted with ON CONFLICT DO NOTHING, so of two
// instances inserting at once exactly one inserts.
func (c *Core) ClaimJob(ctx context.Context, kind, key string, ttl time.Duration) (bool, error) {
	if kind == "" || key == "" || len(kind) > 200 || len(key) > 1000 || !validText(kind) || !validText(key) {
		return false, muster.Errorf(muster.EINVALID, "claim job: kind and key must be 1..200 and 1..1000 bytes")
	}
	got := false
	err := c.write(ctx, func(w *wtx) error {
		now := micros(w.now)
		until := int64(0)
		if ttl > 0 {
			until = w.now.Add(ttl).UnixMicro()
		}
		var held int64
		err := w.queryRow(`SELECT claimed_until FROM jobs WHERE kind = ? AND job_key = ?`+c.d.ForUpdate+c.d.SkipLocked, kind, key).Scan(&held)
		var res sql.Result
		switch {
		case errors.Is(err, sql.ErrNoRows):
			res, err = w.exec(`INSERT INTO jobs (kind, job_key, claimed_until, claimed_at) VALUES (?, ?, ?, ?) ON CONFLICT (kind, job_key) DO NOTHING`,
				kind, key, until, now)
		case err != nil:
			return fmt.Errorf("claim job %s/%s: %w", kind, key, err)
		case held == 0 || held > now:
			return nil // held by someone, for ever or not yet expired
		default:
			res, err = w.exec(`UPDATE jobs SET claimed_until = ?, claimed_at = ? WHERE kind = ? AND job_key = ?`, until, now, kind, key)
		}
		if err != nil {
			return fmt.Errorf("claim job %s/%s: %w", kind, key, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("claim job %s/%s: %w", kind, key, err)
		}
		got = n == 1
		if got {
			w.announce("job", kind+"/"+key)
		}
		return nil
	})
	return got, err
}

// Wipe implements muster.Store.
func (c *Core) Wipe(ctx context.Context) (muster.WipeResult, error) {
	var res muster.WipeResult
	err := c.write(ctx, func(w *wtx) error {
		var wrapped []byte
		if err := w.queryRow(`SELECT wrapped FROM data_key WHERE id = 1` + c.d.ForUpdate).Scan(&wrapped); err != nil {
			return fmt.Errorf("wipe: read the key row: %w", err)
		}
		// Overwrite in place with zeros of the same length, so the page
		// that held the key is rewritten rather than merely freed.
		if _, err := w.exec(`UPDATE data_key SET wrapped = ?, wiped_at = ? WHERE id = 1`, make([]byte, len(wrapped)), micros(w.now)); err != nil {
			return fmt.Errorf("wipe: %w", err)
		}
		res.WipedAt = w.now
		w.record("key.wipe", "data_key", "")
		w.announce("wipe", "data_key")
		return nil
	})
	if err != nil {
		return res, err
	}
	c.dropKey(res.WipedAt)
	res.Message = "the data key is destroyed: names, phones, e-mails, addresses, notes, exact locations, priorities, eligibility and documents in this database can never be decrypted, by anyone, even with the master key"
	if c.d.AfterWipe != nil {
		note, err := c.d.AfterWipe(ctx)
		if err != nil {
			return res, fmt.Errorf("wipe: the key row is overwritten, but clearing old copies failed: %w", err)
		}
		if note != "" {
			res.Message += "; " + note
		}
	}
	return res, nil
}
