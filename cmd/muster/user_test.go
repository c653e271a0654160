package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
)

// TestUserPasswordRefused: the passwords issue 12 found accepted are
// refused by `user add` and `user passwd`, with the reason.
func TestUserPasswordRefused(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if _, stderr, err := runIn(t, "tangerine zeppelin quartz 42\n", "user", "add", "alice", "--role", "admin", "--password-stdin", "--data", data); err != nil {
		t.Fatalf("user add: %v %s", err, stderr)
	}
	for pw, reason := range map[string]string{
		"            ":         "repeats one character",
		"aaaaaaaaaaaa":         "on the list of common passwords",
		"password1234":         "on the list of common passwords",
		"bob-bob-bob-2024":     `the repeated "bob-", a year`,
		"Summer2024!!!":        "too easy to guess",
		"qwertyuiopasdfghjkl;": "the keyboard walk",
	} {
		for _, args := range [][]string{
			{"user", "add", "bob", "--role", "field"},
			{"user", "passwd", "alice"},
		} {
			_, _, err := runIn(t, pw+"\n", append(args, "--password-stdin", "--data", data)...)
			if err == nil || muster.ErrorCode(err) != muster.EINVALID || !strings.Contains(err.Error(), reason) {
				t.Errorf("%s with %q: %v, want a refusal saying %q", args[1], pw, err, reason)
			}
		}
	}
	if _, _, err := runIn(t, "tangerine zeppelin quartz 42\n", "user", "add", "Alice", "--role", "field", "--password-stdin", "--data", data); err == nil ||
		!strings.Contains(err.Error(), "only by case") {
		t.Errorf("Alice beside alice: %v", err)
	}
}

// TestUserAccountCommands: tokens listed and revoked one by one, a new
// password ending every token, role changed, account disabled and
// enabled, a throttle cleared; each audited.
func TestUserAccountCommands(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	run := func(stdin string, args ...string) string {
		t.Helper()
		out, stderr, err := runIn(t, stdin, append(args, "--data", data)...)
		if err != nil {
			t.Fatalf("%v: %v %s", args, err, stderr)
		}
		return out
	}
	run("tangerine zeppelin quartz 42\n", "user", "add", "alice", "--role", "planner", "--password-stdin")
	secrets := []string{strings.TrimSpace(run("", "user", "token", "alice")), strings.TrimSpace(run("", "user", "token", "alice", "--ttl", "1h"))}
	out := run("", "user", "tokens", "alice")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.Contains(out, "live") || strings.Contains(out, secrets[0]) {
		t.Fatalf("user tokens:\n%s", out)
	}
	id := strings.Fields(strings.Split(out, "\n")[1])[0] // the newest
	if got := run("", "user", "revoke-token", id); !strings.Contains(got, "revoked "+id) {
		t.Errorf("revoke-token: %s", got)
	}
	if out := run("", "user", "tokens", "alice"); strings.Contains(out, id) || strings.Count(out, "\n") != 2 {
		t.Errorf("a revoked token is still listed as live:\n%s", out)
	}
	if out := run("", "user", "tokens", "alice", "--all"); !strings.Contains(out, id) || !strings.Contains(out, "revoked") {
		t.Errorf("--all does not show the revoked token:\n%s", out)
	}
	if out := run("walnut lantern mosaic 1931\n", "user", "passwd", "alice", "--password-stdin"); !strings.Contains(out, "1 sessions and tokens ended") {
		t.Errorf("user passwd: %s", out)
	}
	if out := run("", "user", "tokens"); strings.Contains(out, "alice") {
		t.Errorf("tokens live after a new password:\n%s", out)
	}
	run("", "user", "role", "alice", "viewer")
	run("", "user", "disable", "alice")
	run("", "user", "enable", "alice")
	if out := run("", "user", "list"); !strings.Contains(out, "viewer") || !strings.Contains(out, "active") {
		t.Errorf("user list after role and enable:\n%s", out)
	}
	if out := run("", "user", "unthrottle", "alice"); !strings.Contains(out, "account:alice") {
		t.Errorf("unthrottle: %s", out)
	}
	run("", "user", "unthrottle", "--address", "::ffff:127.0.0.2")
	for _, bad := range [][]string{{"user", "role", "alice", "king"}, {"user", "enable", "nobody"}, {"user", "unthrottle"},
		{"user", "unthrottle", "nobody"}, {"user", "unthrottle", "--address", "x"}, {"user", "revoke-token", "tok_none"}} {
		if _, _, err := runIn(t, "", append(bad, "--data", data)...); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}

	st, err := (&storeFlags{data: data}).openStore(context.Background(), io.Discard, false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, s := range secrets {
		if _, _, err := st.LookupToken(context.Background(), muster.TokenHash(s), time.Now()); muster.ErrorCode(err) != muster.ENOTFOUND {
			t.Errorf("a token made before the new password: %v", err)
		}
	}
	entries, err := st.ListAudit(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		switch e.Action {
		case "token.revoke", "user.password", "user.role", "user.disable", "user.enable", "throttle.clear":
			actions = append(actions, e.Action+" "+e.Target)
		}
	}
	want := "token.revoke token:" + id + ",user.password user:alice,user.role user:alice,user.disable user:alice,user.enable user:alice," +
		"throttle.clear throttle:account:alice,throttle.clear throttle:address:127.0.0.2"
	if got := strings.Join(actions, ","); got != want {
		t.Errorf("audited:\n%s\nwant\n%s", got, want)
	}
}
