package sqlstore

import (
	"log/slog"
	"sync"
	"time"

	"github.com/muster-evac/muster"
)

// Token cache. Every authenticated request looks its token up, and on
// SQLite that query (a join of tokens and users in a fresh read
// transaction) was a sixth of the cost of reading a household. So where the
// dialect offers an auth version (Dialect.AuthVersion: a number that every
// process changes, after commit and before answering, whenever it changes a
// token or a user), live tokens are kept in memory and a lookup only checks
// that the version still stands. A revocation or a disabled account
// therefore still takes effect at once, in this process and in any other
// process on the same database (the CLI beside a running server).
//
// Negative answers are never cached: an unknown, revoked or expired token
// always reaches the database. An entry also lives at most tokenCacheTTL,
// which bounds the one staleness left: a process that dies between its
// commit and its version bump, or a change made with a plain SQL shell.
const (
	tokenCacheTTL  = 10 * time.Second
	tokenCacheSize = 10_000
)

type tokenCache struct {
	mu      sync.Mutex
	version int64 // the auth version the entries were read under
	m       map[string]cachedToken
	off     bool // set for good if a bump ever fails
}

type cachedToken struct {
	tok  muster.Token
	user muster.User
	read time.Time
}

// get returns the live entry for hash read under version v.
func (tc *tokenCache) get(hash []byte, v int64, now time.Time) (muster.Token, muster.User, bool) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.off {
		return muster.Token{}, muster.User{}, false
	}
	if v != tc.version {
		clear(tc.m)
		tc.version = v
		return muster.Token{}, muster.User{}, false
	}
	e, ok := tc.m[string(hash)]
	if !ok || now.Sub(e.read) >= tokenCacheTTL || now.Before(e.read) {
		return muster.Token{}, muster.User{}, false
	}
	return e.tok, e.user, true
}

// put keeps a token found live by a query that started under version v.
// If the version has moved since, the answer may predate a revocation and
// is dropped.
func (tc *tokenCache) put(hash []byte, v int64, tok muster.Token, u muster.User, read time.Time) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.off || v != tc.version {
		return
	}
	if len(tc.m) >= tokenCacheSize {
		clear(tc.m)
	}
	tc.m[string(hash)] = cachedToken{tok: tok, user: u, read: read}
}

// disable empties the cache and keeps it off: called when the version
// could not be moved, after which other processes could not see this one's
// changes.
func (tc *tokenCache) disable() {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.off = true
	clear(tc.m)
}

// authChanged reports whether events change who may do what.
func authChanged(evs []muster.Event) bool {
	for _, ev := range evs {
		switch ev.Kind {
		case "token", "user", "wipe":
			return true
		}
	}
	return false
}

// afterAuthChange moves the auth version after a commit that changed
// tokens or users, before the writer hears "done".
func (c *Core) afterAuthChange() {
	if c.d.BumpAuth == nil {
		return
	}
	if err := c.d.BumpAuth(); err != nil {
		slog.Error("the auth version could not be moved: other processes may keep accepting a revoked token for a few seconds; token caching is off in this process until it restarts",
			"backend", c.d.Name, "err", err)
		if c.tokens != nil {
			c.tokens.disable()
		}
	}
}
