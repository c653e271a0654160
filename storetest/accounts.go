package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/muster-evac/muster"
)

// clashReporter is implemented by the stores that can list the user names
// made, before such names were refused, that differ only by case.
type clashReporter interface {
	UserNameClashes(ctx context.Context) ([][]string, error)
}

// testUserNamesFoldCase: "Amina" is refused beside "amina", also when two
// instances add the two at once; names that clash already (made before the
// check) are reported.
func testUserNamesFoldCase(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	hash := must(muster.HashPassword("x"))(t)
	if err := e.store.CreateUser(e.ctx, muster.User{Name: "amina", Role: muster.RoleAdmin, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"Amina", "AMINA", "aMiNa"} {
		wantCode(t, e.store.CreateUser(e.ctx, muster.User{Name: n, Role: muster.RoleViewer, PasswordHash: hash}), muster.ECONFLICT, "user "+n+" beside amina")
	}
	if err := e.store.CreateUser(e.ctx, muster.User{Name: "amina2", Role: muster.RoleViewer, PasswordHash: hash}); err != nil {
		t.Fatalf("a different name is refused: %v", err)
	}

	// Two instances add "bobN" and "BOBN" at the same moment: exactly one
	// of each pair is stored.
	other := e.open(e.keys)
	const pairs = 8
	var wg sync.WaitGroup
	errs := make([][2]error, pairs)
	for i := range pairs {
		for j, st := range []muster.Store{e.store, other} {
			name := fmt.Sprintf("bob%d", i)
			if j == 1 {
				name = fmt.Sprintf("BOB%d", i)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i][j] = st.CreateUser(e.ctx, muster.User{Name: name, Role: muster.RoleField, PasswordHash: hash})
			}()
		}
	}
	wg.Wait()
	for i, pair := range errs {
		ok := 0
		for _, err := range pair {
			switch {
			case err == nil:
				ok++
			case muster.ErrorCode(err) != muster.ECONFLICT:
				t.Errorf("pair %d: %v, want ECONFLICT", i, err)
			}
		}
		if ok != 1 {
			t.Errorf("bob%d and BOB%d added at once: %d stored, want 1 (%v)", i, i, ok, pair)
		}
	}

	// Accounts made before the check: reported, not changed.
	cr, ok := e.store.(clashReporter)
	if !ok {
		t.Fatalf("%T does not report user names that differ only by case", e.store)
	}
	if got := must(cr.UserNameClashes(e.ctx))(t); len(got) != 0 {
		t.Fatalf("clashes before any: %v", got)
	}
	// The database itself refuses them (migration 0008), whoever writes.
	tx, ok := e.db.(tryExecer)
	if !ok {
		t.Fatalf("%T cannot run raw SQL that may fail", e.db)
	}
	if err := tx.TryExec(`INSERT INTO users (name, role, password_hash, disabled, created_at) VALUES ('AMINA', 'viewer', '$argon2id$old', 0, 1)`); err == nil {
		t.Fatal("the database took AMINA beside amina")
	}
	// A clash from before the rule, as migration 0008 marks it.
	e.db.Exec(t, `INSERT INTO users (name, role, password_hash, disabled, created_at, case_clash) VALUES ('AMINA', 'viewer', '$argon2id$old', 0, 1, 1)`)
	want := [][]string{{"AMINA", "amina"}}
	if got := must(cr.UserNameClashes(e.ctx))(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("clashes: %v, want %v", got, want)
	}
}

// testPasswordChangeEndsSessions: a new password revokes, in its own
// transaction, every live session and API token of the user but the one
// that made the change, here and in every other instance at once.
func testPasswordChangeEndsSessions(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	hash := must(muster.HashPassword("x"))(t)
	for _, name := range []string{"amina", "bilal"} {
		if err := e.store.CreateUser(e.ctx, muster.User{Name: name, Role: muster.RolePlanner, PasswordHash: hash}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	toks := []muster.Token{
		{ID: "s-old", User: "amina", Kind: muster.TokenSession, ExpiresAt: now.Add(-time.Minute)},
		{ID: "s-here", User: "amina", Kind: muster.TokenSession, ExpiresAt: now.Add(time.Hour)},
		{ID: "s-thief", User: "amina", Kind: muster.TokenSession, ExpiresAt: now.Add(time.Hour)},
		{ID: "api", User: "amina", Kind: muster.TokenAPI},
		{ID: "bilal", User: "bilal", Kind: muster.TokenSession, ExpiresAt: now.Add(time.Hour)},
	}
	for _, tok := range toks {
		tok.Hash = muster.TokenHash("secret-" + tok.ID)
		if err := e.store.CreateToken(e.ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	live := func(st muster.Store, id string) bool {
		_, _, err := st.LookupToken(e.ctx, muster.TokenHash("secret-"+id), now)
		if err != nil && muster.ErrorCode(err) != muster.ENOTFOUND {
			t.Fatal(err)
		}
		return err == nil
	}
	// Another instance has just let the thief's session and the API token
	// in (and may remember them).
	other := e.open(e.keys)
	for range 2 {
		if !live(other, "s-thief") || !live(other, "api") {
			t.Fatal("tokens not live before the change")
		}
	}

	h2 := must(muster.HashPassword("y"))(t)
	n := must(e.store.SetUserPassword(e.ctx, "amina", h2, "s-here"))(t)
	if n != 2 {
		t.Errorf("revoked %d, want 2 (the thief's session and the API token; the expired one is not counted)", n)
	}
	for _, st := range []muster.Store{e.store, other} {
		for id, want := range map[string]bool{"s-here": true, "s-thief": false, "api": false, "bilal": true} {
			if got := live(st, id); got != want {
				t.Errorf("after the change, token %s live: %v, want %v", id, got, want)
			}
		}
	}
	entries := must(e.store.ListAudit(e.ctx, 0, 0))(t)
	last := entries[len(entries)-1]
	if last.Action != "user.password" || last.Target != "user:amina" || last.Detail != "revoked 2 tokens, kept s-here" {
		t.Errorf("audit: %+v", last)
	}

	// Listing: newest first, revoked ones with when, no hash; LiveAt
	// keeps the live ones; ID and User select.
	all := must(e.store.ListTokens(e.ctx, muster.TokenFilter{User: "amina"}))(t)
	var ids []string
	for _, tok := range all {
		ids = append(ids, tok.ID)
		if tok.Hash != nil || tok.User != "amina" || tok.CreatedAt.IsZero() {
			t.Errorf("listed %+v", tok)
		}
		if revoked := !tok.RevokedAt.IsZero(); revoked != (tok.ID == "s-thief" || tok.ID == "api") {
			t.Errorf("token %s revoked at %v", tok.ID, tok.RevokedAt)
		}
	}
	if want := []string{"api", "s-thief", "s-here", "s-old"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("tokens of amina: %v, want %v (newest first)", ids, want)
	}
	if got := must(e.store.ListTokens(e.ctx, muster.TokenFilter{User: "amina", LiveAt: now}))(t); len(got) != 1 || got[0].ID != "s-here" {
		t.Errorf("live tokens of amina: %+v", got)
	}
	if got := must(e.store.ListTokens(e.ctx, muster.TokenFilter{ID: "bilal"}))(t); len(got) != 1 || got[0].User != "bilal" {
		t.Errorf("token by id: %+v", got)
	}
	if got := must(e.store.ListTokens(e.ctx, muster.TokenFilter{Limit: 2}))(t); len(got) != 2 {
		t.Errorf("limit 2: %d tokens", len(got))
	}

	// From the command line no session makes the change: all of them end.
	if n := must(e.store.SetUserPassword(e.ctx, "amina", hash, ""))(t); n != 1 || live(e.store, "s-here") || live(other, "s-here") {
		t.Errorf("a change keeping nothing revoked %d and left s-here live: %v", n, live(e.store, "s-here"))
	}
	_, err := e.store.SetUserPassword(e.ctx, "nobody", hash, "")
	wantCode(t, err, muster.ENOTFOUND, "password of a missing user")
}

// testUserEnableRole: an account can be enabled again (its old tokens stay
// revoked) and its role changed, which its tokens carry at once.
func testUserEnableRole(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	hash := must(muster.HashPassword("x"))(t)
	if err := e.store.CreateUser(e.ctx, muster.User{Name: "amina", Role: muster.RoleViewer, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	mk := func(id string) {
		if err := e.store.CreateToken(e.ctx, muster.Token{ID: id, User: "amina", Kind: muster.TokenAPI, Hash: muster.TokenHash(id)}); err != nil {
			t.Fatal(err)
		}
	}
	mk("before")
	other := e.open(e.keys)
	if _, u := must3(t)(other.LookupToken(e.ctx, muster.TokenHash("before"), now)); u.Role != muster.RoleViewer {
		t.Fatalf("role %s", u.Role)
	}
	if err := e.store.SetUserRole(e.ctx, "amina", muster.RolePlanner); err != nil {
		t.Fatal(err)
	}
	if _, u := must3(t)(other.LookupToken(e.ctx, muster.TokenHash("before"), now)); u.Role != muster.RolePlanner {
		t.Errorf("another instance still sees role %s", u.Role)
	}
	wantCode(t, e.store.SetUserRole(e.ctx, "amina", "root"), muster.EINVALID, "unknown role")
	wantCode(t, e.store.SetUserRole(e.ctx, "nobody", muster.RoleAdmin), muster.ENOTFOUND, "role of a missing user")

	if err := e.store.DisableUser(e.ctx, "amina"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.EnableUser(e.ctx, "amina"); err != nil {
		t.Fatal(err)
	}
	if u := must(e.store.GetUser(e.ctx, "amina"))(t); u.Disabled || u.Role != muster.RolePlanner {
		t.Errorf("enabled user: %+v", u)
	}
	_, _, err := e.store.LookupToken(e.ctx, muster.TokenHash("before"), now)
	wantCode(t, err, muster.ENOTFOUND, "a token revoked by disabling, after enabling")
	mk("after")
	must3(t)(e.store.LookupToken(e.ctx, muster.TokenHash("after"), now))
	wantCode(t, e.store.EnableUser(e.ctx, "nobody"), muster.ENOTFOUND, "enable a missing user")
	entries := must(e.store.ListAudit(e.ctx, 0, 0))(t)
	var actions []string
	for _, en := range entries {
		if en.Target == "user:amina" && en.Action != "token.create" {
			actions = append(actions, en.Action+" "+en.Detail)
		}
	}
	if want := []string{"user.create role=viewer", "user.role role viewer -> planner", "user.disable ", "user.enable "}; !reflect.DeepEqual(actions, want) {
		t.Errorf("audited: %q, want %q", actions, want)
	}
}

// testClearThrottle: clearing a throttle is audited and heard by every
// instance.
func testClearThrottle(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	second := e.open(e.keys)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	local := must(e.store.Subscribe(ctx))(t)
	remote := must(second.Subscribe(ctx))(t)
	if err := e.store.ClearThrottle(e.ctx, "account:amina"); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]<-chan muster.Event{"same instance": local, "other instance": remote} {
		if !waitEvent(ch, muster.Event{Kind: "throttle", ID: "account:amina"}) {
			t.Errorf("%s: no throttle event", name)
		}
	}
	for _, bad := range []string{"", "amina", "account:", "user:amina", "address:\x00"} {
		wantCode(t, e.store.ClearThrottle(e.ctx, bad), muster.EINVALID, "throttle target "+bad)
	}
	entries := must(e.store.ListAudit(e.ctx, 0, 0))(t)
	if last := entries[len(entries)-1]; last.Action != "throttle.clear" || last.Target != "throttle:account:amina" || last.Actor != "tester" {
		t.Errorf("audit: %+v", last)
	}
}

// tryExecer runs raw SQL and returns the database's error, for tests of
// what the schema itself refuses.
type tryExecer interface{ TryExec(sql string) error }
