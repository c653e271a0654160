package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/httpapi"
	"github.com/spf13/cobra"
)

// keysInit makes a deployment's keys in a new data folder and returns the
// folder and the fingerprint printed for verifiers.
func keysInit(t *testing.T, deployment string) (data, fingerprint string) {
	t.Helper()
	data = filepath.Join(t.TempDir(), "data")
	out, stderr, err := run(t, "keys", "init", "--deployment", deployment, "--data", data)
	if err != nil {
		t.Fatalf("keys init: %v\n%s", err, stderr)
	}
	fingerprint = regexp.MustCompile(`(?m)^[0-9a-f]{64}$`).FindString(out)
	if fingerprint == "" {
		t.Fatalf("keys init printed no fingerprint:\n%s", out)
	}
	return data, fingerprint
}

// signClaims signs claims (JSON) with the keys in data, with the tool.
func signClaims(t *testing.T, data, claims string) string {
	t.Helper()
	out, stderr, err := runIn(t, claims, "keys", "sign", "--claims", "-", "--data", data)
	if err != nil {
		t.Fatalf("keys sign: %v\n%s", err, stderr)
	}
	tok := strings.TrimRight(out, "\n")
	if !strings.HasPrefix(tok, "MU1:") || strings.Contains(tok, "\n") {
		t.Fatalf("keys sign printed %q", out)
	}
	return tok
}

func claims(version int, rallyPoint string) string {
	from := time.Now().Add(6 * time.Hour).UTC().Truncate(time.Minute)
	c := map[string]any{
		"instruction": "I-H000001", "version": version, "household": "H000001",
		"content": "Go to " + rallyPoint, "rally_point": rallyPoint, "group": "G0421", "people": 6,
		"report_from": from, "report_by": from.Add(30 * time.Minute),
	}
	if version > 1 {
		c["supersedes"] = version - 1
	}
	b, _ := json.Marshal(c)
	return string(b)
}

func writeTestFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// verify runs muster verify and returns what it printed; err is
// errNotCurrent for any verdict but genuine and current.
func verify(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, stderr, err := run(t, append([]string{"verify"}, args...)...)
	if err != nil && !errors.Is(err, errNotCurrent) {
		t.Fatalf("verify %v: %v\n%s", args, err, stderr)
	}
	return out, err
}

func TestKeysInitSignVerify(t *testing.T) {
	data, _ := keysInit(t, "kabul-2021")
	st, err := os.Stat(filepath.Join(data, signingKeysFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("keyring file: %v, mode %v", err, st.Mode())
	}
	if _, _, err := run(t, "keys", "init", "--deployment", "kabul-2021", "--data", data); err == nil || !strings.Contains(err.Error(), "exist") {
		t.Errorf("a second keys init: %v", err)
	}
	tok := signClaims(t, data, claims(1, "RP-031"))
	out, err := verify(t, tok, "--data", data)
	if err != nil || !strings.HasPrefix(out, "GENUINE AND CURRENT\n") || !strings.Contains(out, "rally point RP-031") || !strings.Contains(out, "old)") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	// On standard input too.
	if out, _, err := runIn(t, tok+"\n", "verify", "--data", data); err != nil || !strings.HasPrefix(out, "GENUINE AND CURRENT") {
		t.Errorf("token on stdin: %v\n%s", err, out)
	}
	// Unquoted, the shell splits it.
	if parts := strings.Fields(tok); len(parts) > 1 {
		if _, _, err := run(t, append([]string{"verify", "--data", data}, parts...)...); err == nil || !strings.Contains(err.Error(), "quote it") {
			t.Errorf("an unquoted token: %v", err)
		}
	}
	// A missing keyring is named.
	if _, _, err := run(t, "verify", tok, "--data", filepath.Join(t.TempDir(), "none")); err == nil || !strings.Contains(err.Error(), "keys init") {
		t.Errorf("no keyring: %v", err)
	}
}

func TestVerifySaysWhatIsWrong(t *testing.T) {
	data, _ := keysInit(t, "kabul-2021")
	other, _ := keysInit(t, "herat-2021")
	dir := t.TempDir()
	v1 := signClaims(t, data, claims(1, "RP-031"))
	v2 := signClaims(t, data, claims(2, "RP-044"))

	i := len(v1) / 2
	c := byte('A')
	if v1[i] == c {
		c = 'B'
	}
	changed := v1[:i] + string(c) + v1[i+1:]
	superseded := writeTestFile(t, dir, "superseded.json", `{"I-H000001": {"latest": 2}}`)
	revoked := writeTestFile(t, dir, "revoked.json", `{"I-H000001": {"latest": 2, "revoked": [2]}}`)
	later := time.Now().Add(73 * time.Hour).UTC().Format(time.RFC3339)

	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"a changed character", []string{changed, "--data", data}, []string{"FORGED: "}},
		{"another deployment's token", []string{signClaims(t, other, claims(1, "RP-031")), "--data", data}, []string{"SIGNED BY AN UNKNOWN KEY: ", "herat-2021"}},
		{"a replayed old version", []string{v1, "--data", data, "--status", superseded, "--newer", v2}, []string{"GENUINE BUT SUPERSEDED by version 2", "changed: rally point from RP-031 to RP-044"}},
		{"a revoked version", []string{v2, "--data", data, "--status", revoked}, []string{"REVOKED: "}},
		{"an expired token", []string{v2, "--data", data, "--at", later}, []string{"EXPIRED: "}},
	} {
		out, err := verify(t, c.args...)
		if !errors.Is(err, errNotCurrent) {
			t.Errorf("%s: exit without error:\n%s", c.name, out)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", c.name, w, out)
			}
		}
		if !strings.Contains(out, "old)") {
			t.Errorf("%s: the revocation list's age is not shown:\n%s", c.name, out)
		}
	}
	// The newest version is current with the same statuses.
	if out, err := verify(t, v2, "--data", data, "--status", superseded); err != nil {
		t.Errorf("version 2: %v\n%s", err, out)
	}
}

func TestKeysRotateAndVerifyOfflineWithABundle(t *testing.T) {
	data, fp := keysInit(t, "kabul-2021")
	dir := t.TempDir()
	old := signClaims(t, data, claims(1, "RP-031"))
	out, stderr, err := run(t, "keys", "rotate", "--data", data)
	if err != nil || !strings.Contains(out, "retired") {
		t.Fatalf("keys rotate: %v\n%s%s", err, out, stderr)
	}
	v2 := signClaims(t, data, claims(2, "RP-044"))
	if out, _, err := run(t, "keys", "list", "--data", data); err != nil || strings.Count(out, "retired ") != 1 || strings.Count(out, "signs") != 1 {
		t.Errorf("keys list: %v\n%s", err, out)
	}

	status := writeTestFile(t, dir, "status.json", `{"I-H000001": {"latest": 2}}`)
	bundle := filepath.Join(dir, "kabul.bundle")
	out, stderr, err = run(t, "keys", "export-public", "--data", data, "--bundle", bundle, "--status", status)
	if err != nil {
		t.Fatalf("export-public: %v\n%s", err, stderr)
	}
	var pub publicKeysJSON
	if err := json.Unmarshal([]byte(out), &pub); err != nil || len(pub.Keys) != 2 || pub.Keys[0].Fingerprint != fp || pub.Keys[1].Endorsement == nil || pub.Keys[0].RetiredAt == nil {
		t.Fatalf("public keys: %v\n%s", err, out)
	}

	// Offline, trusting the first key's fingerprint only: the new key is
	// trusted through its endorsement, the old key's token verifies, and
	// the bundle's statuses apply.
	if out, err := verify(t, v2, "--bundle", bundle, "--trust", fp); err != nil || !strings.Contains(out, "GENUINE AND CURRENT") {
		t.Errorf("new key's token offline: %v\n%s", err, out)
	}
	if out, _ := verify(t, old, "--bundle", bundle, "--trust", fp); !strings.Contains(out, "SUPERSEDED by version 2") {
		t.Errorf("old key's token offline:\n%s", out)
	}

	// A tampered bundle, another deployment's fingerprint, no fingerprint:
	// refused.
	raw, _ := os.ReadFile(bundle)
	raw[len(raw)/2] ^= 1
	tampered := filepath.Join(dir, "tampered.bundle")
	os.WriteFile(tampered, raw, 0o644)
	_, otherFP := keysInit(t, "herat-2021")
	for name, args := range map[string][]string{
		"tampered":           {v2, "--bundle", tampered, "--trust", fp},
		"another deployment": {v2, "--bundle", bundle, "--trust", otherFP},
		"no fingerprint":     {v2, "--bundle", bundle},
	} {
		_, _, err := run(t, append([]string{"verify"}, args...)...)
		if err == nil || errors.Is(err, errNotCurrent) {
			t.Errorf("%s bundle: want it refused, got %v", name, err)
		}
	}
}

func TestVerifyReadsTheQRCode(t *testing.T) {
	data, _ := keysInit(t, "kabul-2021")
	tok := signClaims(t, data, claims(1, "RP-031"))
	dir := t.TempDir()
	png, svg := filepath.Join(dir, "t.png"), filepath.Join(dir, "t.svg")
	if _, stderr, err := run(t, "qr", tok, "--png", png, "--svg", svg); err != nil || !strings.Contains(stderr, "version") {
		t.Fatalf("qr: %v\n%s", err, stderr)
	}
	if b, err := os.ReadFile(svg); err != nil || !strings.HasPrefix(string(b), "<svg") {
		t.Errorf("svg: %v", err)
	}
	if out, err := verify(t, "--qr", png, "--data", data); err != nil || !strings.Contains(out, "GENUINE AND CURRENT") {
		t.Errorf("verify --qr: %v\n%s", err, out)
	}
	if _, _, err := run(t, "verify", "--qr", svg, "--data", data); err == nil || errors.Is(err, errNotCurrent) {
		t.Errorf("an SVG is not an image verify reads: %v", err)
	}
}

// TestKeysReloadWithoutRestart: a running server reads its keyring again
// on SIGHUP: a token signed by a key rotated in its data folder after it
// started is not genuine to it before, and is after, without a restart;
// a keyring of another deployment put in its place is refused and the
// server keeps its own.
func TestKeysReloadWithoutRestart(t *testing.T) {
	data, _ := keysInit(t, "reload-deploy")
	ctx, cancel := context.WithCancel(muster.WithActor(context.Background(), "tester"))
	defer cancel()
	sf := storeFlags{data: data}
	st, err := sf.openStore(ctx, io.Discard, true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	serve := &cobra.Command{Use: "serve"} // the server's command: it listens for SIGHUP
	serve.SetContext(ctx)
	serve.SetErr(io.Discard)
	inf := issuingFlags{langDefault: muster.LangEnglish}
	iss, err := inf.issuer(serve, &sf, st, nil, false)
	if err != nil || iss == nil {
		t.Fatalf("issuer: %v", err)
	}
	api, err := httpapi.New(httpapi.Config{Store: st, Issuer: iss, IPRate: -1, AccountRate: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	srv := httptest.NewServer(api)
	defer srv.Close()
	verify := func(token string) (genuine bool, status string) {
		t.Helper()
		resp, err := http.Post(srv.URL+"/api/verify", "text/plain", strings.NewReader(token))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v struct {
			Status  string `json:"status"`
			Genuine bool   `json:"genuine"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != 200 {
			t.Fatalf("verify: %d %v", resp.StatusCode, err)
		}
		return v.Genuine, v.Status
	}
	before := iss.Keyring().Active().ID()
	if _, stderr, err := run(t, "keys", "rotate", "--data", data); err != nil {
		t.Fatalf("keys rotate: %v\n%s", err, stderr)
	}
	token := signClaims(t, data, claims(1, "RP-011"))
	if genuine, status := verify(token); genuine {
		t.Fatalf("a token of a key the server has not read is %s, genuine", status)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for iss.Keyring().Active().ID() == before {
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not reload the keyring")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// At once: the server's verifier bundle is made anew with the
	// keyring read again, not when it ages out.
	if genuine, status := verify(token); !genuine {
		t.Fatalf("right after SIGHUP the newly rotated key's token is %s", status)
	}
	// Another deployment's keyring in its place: refused, the old one kept.
	rotated := iss.Keyring().Active().ID()
	other, _ := keysInit(t, "another-deploy")
	b, err := os.ReadFile(filepath.Join(other, signingKeysFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, signingKeysFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := iss.ReloadKeys(); err == nil || iss.Keyring().Active().ID() != rotated {
		t.Fatalf("another deployment's keyring: %v; active key %s, want %s", err, iss.Keyring().Active().ID(), rotated)
	}
	if genuine, status := verify(token); !genuine {
		t.Fatalf("after a refused reload the token is %s", status)
	}
}

// TestKeysRevoke: `muster keys revoke KID --reason` marks a retired key
// compromised: `muster verify` says a token it signed is signed by a
// revoked key, `keys list` shows it, and the key that signs now cannot be
// revoked.
func TestKeysRevoke(t *testing.T) {
	data, _ := keysInit(t, "revoke-deploy")
	tok := signClaims(t, data, claims(1, "RP-011"))
	list, _, err := run(t, "keys", "list", "--data", data)
	if err != nil {
		t.Fatal(err)
	}
	first := regexp.MustCompile(`(?m)^([0-9a-f]{16}) `).FindStringSubmatch(list)
	if first == nil {
		t.Fatalf("keys list:\n%s", list)
	}
	if _, _, err := run(t, "keys", "revoke", first[1], "--reason", "laptop stolen", "--data", data); err == nil || !strings.Contains(err.Error(), "rotate first") {
		t.Fatalf("revoking the active key: %v", err)
	}
	if _, _, err := run(t, "keys", "rotate", "--data", data); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, "keys", "revoke", first[1], "--data", data); err == nil {
		t.Fatal("revoked without a reason")
	}
	out, _, err := run(t, "keys", "revoke", first[1], "--reason", "laptop stolen", "--data", data)
	if err != nil || !strings.Contains(out, "revoked") {
		t.Fatalf("keys revoke: %v\n%s", err, out)
	}
	out, _, _ = run(t, "verify", tok, "--data", data)
	if !strings.HasPrefix(out, "SIGNED BY A REVOKED KEY") {
		t.Fatalf("verify of the revoked key's token:\n%s", out)
	}
	if list, _, _ := run(t, "keys", "list", "--data", data); !strings.Contains(list, "REVOKED") || !strings.Contains(list, "laptop stolen") {
		t.Fatalf("keys list:\n%s", list)
	}
	if fresh := signClaims(t, data, claims(2, "RP-012")); !strings.HasPrefix(func() string { o, _, _ := run(t, "verify", fresh, "--data", data); return o }(), "GENUINE") {
		t.Fatal("the new key's token is not genuine")
	}
}
