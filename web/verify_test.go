package web

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster/credential"
	"github.com/muster-evac/muster/internal/testshared"
)

// The browser's verifier (src/lib/verify.js) must say of every token what
// credential.Verify says. This test makes real tokens and bundles with
// credential/ (genuine, changed, another deployment's, expired, superseded,
// revoked, from a retired key, ...), verifies each in Go, and has node run
// src/lib/verify.test.mjs on them, which asserts that the JavaScript
// verdict (status, superseding version, token id) is Go's, through
// WebCrypto and through the @noble/ed25519 fallback, that bundles Go
// refuses are refused, and that random bytes never make it throw.

type fixtureBundle struct {
	Data    string   `json:"data"`    // base64 of the signed bundle
	Trusted []string `json:"trusted"` // fingerprints pinned
	Opens   bool     `json:"opens"`   // whether credential.OpenBundle accepts it
	Refuse  string   `json:"refuse,omitempty"`
}

type fixtureCase struct {
	Name    string `json:"name"`
	Token   string `json:"token"`
	Bundle  string `json:"bundle"`
	Now     int64  `json:"now"` // Unix seconds
	Status  string `json:"status"`
	Latest  uint32 `json:"latest,omitempty"`
	TokenID string `json:"token_id,omitempty"`
	Claimed string `json:"claimed_issuer,omitempty"`
}

type fixtures struct {
	Bundles map[string]fixtureBundle `json:"bundles"`
	Cases   []fixtureCase            `json:"cases"`
	// Sweep is a genuine token whose every one-character change the
	// JavaScript test must call forged against bundle SweepBundle.
	Sweep       string `json:"sweep"`
	SweepBundle string `json:"sweep_bundle"`
	SweepNow    int64  `json:"sweep_now"`
}

var statusCode = map[credential.Status]string{
	credential.Current: "current", credential.Superseded: "superseded", credential.Revoked: "revoked",
	credential.Expired: "expired", credential.UnknownKey: "unknown_key", credential.Forged: "forged",
}

func makeFixtures(t *testing.T) fixtures {
	t.Helper()
	t0 := time.Date(2021, 8, 20, 6, 0, 0, 0, time.UTC)
	kr, err := credential.NewKeyring("kabul-2021", 14*24*time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	other, err := credential.NewKeyring("herat-2021", 14*24*time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	// A deployment that picked the same name: its tokens name this
	// deployment with a key it never had.
	twin, err := credential.NewKeyring("kabul-2021", 14*24*time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	first := kr.Active().Fingerprint().String()
	claims := func(household string, version uint32, issued time.Time, life time.Duration) credential.Claims {
		c := credential.Claims{
			IssuedAt: issued, NotAfter: issued.Add(life), Instruction: "I-" + household, Version: version, Household: household,
			Digest:     credential.ContentDigest([]byte("Go to rally point RP-031 " + household + strconv.Itoa(int(version)))),
			RallyPoint: "RP-031", ReportFrom: issued.Add(10 * time.Hour), ReportBy: issued.Add(10*time.Hour + 30*time.Minute),
			Group: "G0421", People: 6,
		}
		if version > 1 {
			c.Supersedes = version - 1
		}
		return c
	}
	sign := func(k *credential.Keyring, c credential.Claims) string {
		t.Helper()
		tok, err := k.Sign(c, c.IssuedAt)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	now := t0.Add(2 * time.Hour)
	tokens := map[string]string{
		"genuine":           sign(kr, claims("H004217", 1, t0.Add(time.Hour), 72*time.Hour)),
		"dari names":        sign(kr, credential.Claims{IssuedAt: t0.Add(time.Hour), NotAfter: t0.Add(50 * time.Hour), Instruction: "I-H000009", Version: 1, Household: "H000009", Digest: credential.ContentDigest([]byte("x")), RallyPoint: "نقطه ۳", Group: "گروه-۷"}),
		"no window":         sign(kr, credential.Claims{IssuedAt: t0.Add(time.Hour), NotAfter: t0.Add(50 * time.Hour), Instruction: "I-H000010", Version: 1, Household: "H000010", Digest: credential.ContentDigest([]byte("y"))}),
		"superseded v1":     sign(kr, claims("H000001", 1, t0.Add(time.Hour), 72*time.Hour)),
		"superseding v2":    sign(kr, claims("H000001", 2, t0.Add(90*time.Minute), 72*time.Hour)),
		"revoked v1":        sign(kr, claims("H000002", 1, t0.Add(time.Hour), 72*time.Hour)),
		"revoked v2 of 3":   sign(kr, claims("H000003", 2, t0.Add(time.Hour), 72*time.Hour)),
		"withdrawn v1 of 2": sign(kr, claims("H000004", 1, t0.Add(time.Hour), 72*time.Hour)),
		"newer than bundle": sign(kr, claims("H000005", 3, t0.Add(time.Hour), 72*time.Hour)),
		"short-lived":       sign(kr, claims("H000006", 1, t0.Add(time.Hour), 30*time.Minute)),
		"other deployment":  sign(other, claims("H004217", 1, t0.Add(time.Hour), 72*time.Hour)),
		"twin deployment":   sign(twin, claims("H004217", 1, t0.Add(time.Hour), 72*time.Hour)),
		"twin after bundle": sign(twin, claims("H004217", 1, t0.Add(3*time.Hour), 72*time.Hour)),
	}
	statuses := credential.Statuses{
		"I-H000001": {Latest: 2},
		"I-H000002": {Latest: 1, Revoked: []uint32{1}},
		"I-H000003": {Latest: 3, Revoked: []uint32{2}},
		"I-H000004": {Latest: 2, Revoked: []uint32{1, 2}},
		"I-H000005": {Latest: 2},
	}
	signBundle := func(k *credential.Keyring, st credential.Statuses, asOf time.Time) []byte {
		t.Helper()
		data, err := k.SignBundle(k.Bundle(st, asOf))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	bundles := map[string][]byte{}
	trusted := map[string][]string{}
	bundles["main"], trusted["main"] = signBundle(kr, statuses, now), []string{first}
	bundles["other"], trusted["other"] = signBundle(other, nil, now), []string{other.Active().Fingerprint().String()}
	bundles["other pinned as ours"], trusted["other pinned as ours"] = bundles["other"], []string{first}
	bundles["unpinned"], trusted["unpinned"] = bundles["main"], nil
	tampered := bytes.Clone(bundles["main"])
	tampered[len(tampered)-70] ^= 1 // a byte of the payload: a status
	bundles["tampered"], trusted["tampered"] = tampered, []string{first}
	bundles["truncated"], trusted["truncated"] = bundles["main"][:len(bundles["main"])-1], []string{first}

	// Rotate: the retired key's tokens verify until they expire and never
	// after its window; a bundle signed by the new key opens on the pin of
	// the first key, through its endorsement.
	rotated := t0.Add(4 * time.Hour)
	tokens["before rotation"] = sign(kr, claims("H000007", 1, t0.Add(3*time.Hour), 13*24*time.Hour))
	if _, err := kr.Rotate(rotated); err != nil {
		t.Fatal(err)
	}
	tokens["after rotation"] = sign(kr, claims("H000008", 1, rotated.Add(time.Hour), 72*time.Hour))
	bundles["rotated"], trusted["rotated"] = signBundle(kr, statuses, rotated.Add(2*time.Hour)), []string{first}
	bundles["rotated, new key pinned"], trusted["rotated, new key pinned"] = bundles["rotated"], []string{kr.Active().Fingerprint().String()}

	f := fixtures{Bundles: map[string]fixtureBundle{}}
	opened := map[string]*credential.Bundle{}
	for name, data := range bundles {
		var fps []credential.Fingerprint
		for _, s := range trusted[name] {
			fp, err := credential.ParseFingerprint(s)
			if err != nil {
				t.Fatal(err)
			}
			fps = append(fps, fp)
		}
		b, err := credential.OpenBundle(data, fps...)
		fb := fixtureBundle{Data: base64.StdEncoding.EncodeToString(data), Trusted: trusted[name], Opens: err == nil}
		if trusted[name] == nil {
			fb.Trusted = []string{}
		}
		if err != nil {
			fb.Refuse = err.Error()
		} else {
			opened[name] = b
		}
		f.Bundles[name] = fb
	}
	for _, want := range []string{"main", "other", "rotated", "rotated, new key pinned"} {
		if opened[want] == nil {
			t.Fatalf("Go refuses bundle %q: %s", want, f.Bundles[want].Refuse)
		}
	}
	for _, refused := range []string{"other pinned as ours", "unpinned", "tampered", "truncated"} {
		if opened[refused] != nil {
			t.Fatalf("Go opens bundle %q", refused)
		}
	}

	add := func(name, token, bundle string, at time.Time) {
		b := opened[bundle]
		v := credential.Verify(token, b, at)
		c := fixtureCase{Name: name, Token: token, Bundle: bundle, Now: at.Unix(), Status: statusCode[v.Status], Latest: v.Latest, Claimed: v.ClaimedIssuer}
		if v.Claims != nil {
			c.TokenID = v.Claims.TokenID()
		}
		f.Cases = append(f.Cases, c)
	}
	for name, tok := range tokens {
		add(name, tok, "main", now)
		add(name+", a day later", tok, "main", now.Add(24*time.Hour))
		add(name+", against the rotated bundle", tok, "rotated", rotated.Add(3*time.Hour))
		add(name+", against another deployment's bundle", tok, "other", now)
		add(name+", lower case", strings.ToLower(tok), "main", now)
		add(name+", with a line break", tok+"\r\n", "main", now)
	}
	add("before rotation, after the key's window", tokens["before rotation"], "rotated", rotated.Add(14*24*time.Hour+time.Minute))
	add("before rotation, at the end of its life", tokens["before rotation"], "rotated", t0.Add(3*time.Hour+13*24*time.Hour))
	add("empty", "", "main", now)
	add("prefix only", credential.Prefix, "main", now)
	add("not a token", "hello, world", "main", now)
	add("far too long", credential.Prefix+strings.Repeat("0", 700), "main", now)

	// Changed characters, truncations, insertions, at random places.
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	g := tokens["genuine"]
	for range 150 {
		i := rng.IntN(len(g))
		c := alphabet[rng.IntN(len(alphabet))]
		if c == g[i] {
			continue
		}
		add(fmt.Sprintf("character %d changed to %q", i, c), g[:i]+string(c)+g[i+1:], "main", now)
	}
	for range 30 {
		i := rng.IntN(len(g))
		add(fmt.Sprintf("truncated at %d", i), g[:i], "main", now)
		add(fmt.Sprintf("character %d dropped", i), g[:i]+g[i+1:], "main", now)
	}
	f.Sweep, f.SweepBundle, f.SweepNow = g, "main", now.Unix()

	// The fixtures must cover every verdict, or the comparison proves little.
	seen := map[string]bool{}
	for _, c := range f.Cases {
		seen[c.Status] = true
	}
	for _, s := range statusCode {
		if !seen[s] {
			t.Fatalf("no fixture is %s", s)
		}
	}
	return f
}

func TestBrowserVerifierAgreesWithGo(t *testing.T) {
	testshared.Long(t) // about 10 s: 12,000 changed tokens verified twice
	node, err := exec.LookPath("node")
	if err != nil {
		testshared.Unavailable(t, "node is not installed: the browser verifier cannot be checked against Go's")
	}
	f := makeFixtures(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "fixtures.json")
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "--test-reporter=tap", filepath.Join("src", "lib", "verify.test.mjs"), path)
	cmd.Env = append(os.Environ(), "NODE_NO_WARNINGS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node src/lib/verify.test.mjs: %v\n%s", err, out)
	}
	// The script must have compared every case, not passed for want of any.
	m := regexp.MustCompile(`(?m)^# compared (\d+) cases`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("node did not say how many cases it compared:\n%s", out)
	}
	if n, _ := strconv.Atoi(string(m[1])); n != 2*len(f.Cases) {
		t.Fatalf("node compared %d verdicts, want %d (%d cases, WebCrypto and noble)\n%s", n, 2*len(f.Cases), len(f.Cases), out)
	}
	if !bytes.Contains(out, []byte("# fail 0")) {
		t.Fatalf("node reports failures:\n%s", out)
	}
	t.Logf("%d cases, each verified in Go and in JavaScript (WebCrypto and @noble/ed25519): the same verdicts", len(f.Cases))
}
