package httpapi

import (
	"context"
	"strings"
	"testing"

	"github.com/muster-evac/muster"
)

// TestPasswordChangeEndsOtherSessions: an operator's new password ends
// every other session and API token of theirs, and none of anyone
// else's; the session that made the change goes on. Weak passwords are
// refused with the reason.
func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		e := newEnvCity(t, open(t), false, nil)
		here := e.tokens["admin"]
		other := e.login("admin-user", password("admin"))
		api := muster.NewSecret()
		if err := e.store.CreateToken(context.Background(), muster.Token{ID: "tok_script", User: "admin-user", Kind: muster.TokenAPI, Hash: muster.TokenHash(api)}); err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{here, other, api} {
			e.do(tok, "GET", "/api/whoami", nil, 200, nil)
		}

		change := func(current, next string, want int, out ...any) []byte {
			t.Helper()
			var o any
			if len(out) > 0 {
				o = out[0]
			}
			return e.do(here, "POST", "/api/password", mustJSON(passwordRequest{Password: current, NewPassword: next}), want, o)
		}
		if msg := errorOf(t, change("not my password", "tangerine zeppelin quartz 42", 403)).Message; !strings.Contains(msg, "current password is wrong") {
			t.Errorf("wrong current password: %s", msg)
		}
		for weak, reason := range map[string]string{
			"            ":               "repeats one character",
			"aaaaaaaaaaaa":               "on the list of common passwords",
			"password1234":               "on the list of common passwords",
			"admin-user-2024-admin-user": "user's name",
		} {
			if msg := errorOf(t, change(password("admin"), weak, 400)).Message; !strings.HasPrefix(msg, "new_password: it ") || !strings.Contains(msg, reason) {
				t.Errorf("new password %q: %s, want a reason with %q", weak, msg, reason)
			}
		}
		var resp passwordResponse
		change(password("admin"), "tangerine zeppelin quartz 42", 200, &resp)
		if resp.Revoked != 2 || resp.User != "admin-user" || resp.Kept == "" {
			t.Errorf("change: %+v, want 2 revoked (the other session and the API token)", resp)
		}
		e.do(here, "GET", "/api/whoami", nil, 200, nil)
		e.do(other, "GET", "/api/whoami", nil, 401, nil)
		e.do(api, "GET", "/api/whoami", nil, 401, nil)
		e.do("planner", "GET", "/api/whoami", nil, 200, nil)
		e.do("", "POST", "/api/login", mustJSON(loginRequest{Name: "admin-user", Password: password("admin")}), 401, nil)
		e.login("admin-user", "tangerine zeppelin quartz 42")
	})
}

// TestTokensListedAndRevoked: an operator lists and revokes their own
// sessions and tokens, an admin anyone's; another's is not found.
func TestTokensListedAndRevoked(t *testing.T) {
	e := newEnvCity(t, openSQLite(t), false, nil)
	second := e.login("planner-user", password("planner"))
	var list tokensResponse
	e.do("planner", "GET", "/api/tokens", nil, 200, &list)
	if len(list.Tokens) != 2 {
		t.Fatalf("planner's tokens: %+v", list.Tokens)
	}
	current, secondID := 0, ""
	for _, tok := range list.Tokens {
		if tok.User != "planner-user" || tok.Kind != muster.TokenSession || tok.State != "live" || tok.ExpiresAt == nil {
			t.Errorf("listed %+v", tok)
		}
		if tok.Current {
			current++
		} else {
			secondID = tok.ID
		}
	}
	if current != 1 {
		t.Errorf("%d tokens marked current, want 1", current)
	}
	e.do("planner", "GET", "/api/tokens?user=admin-user", nil, 403, nil)
	var adminTokens tokensResponse
	e.do("admin", "GET", "/api/tokens?user=admin-user", nil, 200, &adminTokens)
	e.do("planner", "DELETE", "/api/tokens/"+adminTokens.Tokens[0].ID, nil, 404, nil)
	e.do("planner", "DELETE", "/api/tokens/"+secondID, nil, 200, nil)
	e.do(second, "GET", "/api/whoami", nil, 401, nil)
	e.do("planner", "GET", "/api/tokens", nil, 200, &list)
	if len(list.Tokens) != 1 {
		t.Errorf("live tokens after one is revoked: %+v", list.Tokens)
	}
	e.do("planner", "GET", "/api/tokens?all=true", nil, 200, &list)
	if len(list.Tokens) != 2 || list.Tokens[0].State != "revoked" && list.Tokens[1].State != "revoked" {
		t.Errorf("all tokens: %+v", list.Tokens)
	}
	e.do("planner", "GET", "/api/tokens?all=maybe", nil, 400, nil)
	var all tokensResponse
	e.do("admin", "GET", "/api/tokens", nil, 200, &all)
	if len(all.Tokens) != 4 {
		t.Errorf("an admin lists %d tokens of everyone, want one live session per role", len(all.Tokens))
	}
	e.do("admin", "DELETE", "/api/tokens/"+list.Tokens[0].ID, nil, 200, nil)
	e.do("viewer", "DELETE", "/api/tokens/tok_nothing", nil, 404, nil)
}
