package credential

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// t0 is when the tests' deployment made its first key.
var t0 = time.Date(2021, 8, 20, 6, 0, 0, 0, time.UTC)

func newKeyring(t testing.TB, deployment string) *Keyring {
	t.Helper()
	kr, err := NewKeyring(deployment, 14*24*time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// realistic returns the claims of an instruction as the planner makes
// them: ids as the registry and the plan write them, a half-hour window.
func realistic(issued time.Time) Claims {
	return Claims{
		IssuedAt:    issued,
		NotAfter:    issued.Add(72 * time.Hour),
		Instruction: "I-H004217",
		Version:     2,
		Supersedes:  1,
		Household:   "H004217",
		Digest:      ContentDigest([]byte("Go to rally point RP-031 (Darulaman Rd / 3rd St) between 06:00 and 06:30...")),
		RallyPoint:  "RP-031",
		ReportFrom:  issued.Add(10 * time.Hour),
		ReportBy:    issued.Add(10*time.Hour + 30*time.Minute),
		Group:       "G0421",
		People:      6,
	}
}

func sign(t testing.TB, kr *Keyring, c Claims, now time.Time) string {
	t.Helper()
	tok, err := kr.Sign(c, now)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestTokenIsUnder200Bytes(t *testing.T) {
	kr := newKeyring(t, "kabul-2021")
	now := t0.Add(time.Hour)
	b, err := kr.SignBytes(realistic(now), now)
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, kr, realistic(now), now)
	t.Logf("token: %d bytes, %d characters: %s", len(b), len(tok), tok)
	if len(b) >= 200 {
		t.Errorf("a realistic token is %d bytes, want under 200", len(b))
	}
	if want := len(Prefix) + len(b)/2*3 + len(b)%2*2; len(tok) != want {
		t.Errorf("token of %d bytes is %d characters, want %d", len(b), len(tok), want)
	}
	// Every character is one a QR code's alphanumeric mode carries.
	for i := 0; i < len(tok); i++ {
		if !strings.ContainsRune(base45Alphabet, rune(tok[i])) {
			t.Fatalf("character %q at %d is not QR alphanumeric", tok[i], i)
		}
	}
}

func TestSignedClaimsComeBackAsTheyWent(t *testing.T) {
	kr := newKeyring(t, "kabul-2021")
	now := t0.Add(time.Hour)
	in := realistic(now)
	v := Verify(sign(t, kr, in, now), kr.Bundle(nil, now), now)
	if v.Status != Current {
		t.Fatalf("verdict %v: %s", v.Status, v.Reason)
	}
	in.Issuer = "kabul-2021"
	if *v.Claims != in {
		t.Errorf("claims changed on the way:\n got %+v\nwant %+v", *v.Claims, in)
	}
	if v.KeyID != kr.Active().ID() || v.Claims.TokenID() != "I-H004217/v2" {
		t.Errorf("key id %s, token id %s", v.KeyID, v.Claims.TokenID())
	}
	// Optional fields may be left out.
	min := Claims{IssuedAt: now, NotAfter: now.Add(time.Hour), Instruction: "I1", Version: 1, Household: "H1", Digest: ContentDigest([]byte("x"))}
	v = Verify(sign(t, kr, min, now), kr.Bundle(nil, now), now)
	min.Issuer = "kabul-2021"
	if v.Status != Current || *v.Claims != min {
		t.Errorf("minimal claims: %v %s %+v", v.Status, v.Reason, v.Claims)
	}
}

// The payload is deterministic CBOR (RFC 8949 core deterministic
// encoding): what a generic decoder reads, re-encoded deterministically,
// is the very same bytes, and signing the same claims twice gives the same
// payload.
func TestPayloadIsDeterministicCBOR(t *testing.T) {
	kr := newKeyring(t, "kabul-2021")
	now := t0.Add(time.Hour)
	a, _ := kr.SignBytes(realistic(now), now)
	b, _ := kr.SignBytes(realistic(now), now)
	pa, err := parseSign1(a)
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := parseSign1(b)
	if !bytes.Equal(pa.payload, pb.payload) {
		t.Error("the same claims made two payloads")
	}
	var generic any
	if err := cbor.Unmarshal(pa.payload, &generic); err != nil {
		t.Fatal(err)
	}
	again, err := encMode.Marshal(generic)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, pa.payload) {
		t.Errorf("payload is not in deterministic order:\n got % x\nwant % x", pa.payload, again)
	}
	m := generic.(map[any]any)
	if m[uint64(1)] != "kabul-2021" || m[int64(-65537)] == nil {
		t.Errorf("want iss under 1 and muster's claims under -65537: %v", m)
	}
}

// Every character of a real token, changed to every other character of
// the alphabet, gives Forged; so does every truncation, and a character
// dropped or added anywhere.
func TestEveryChangedCharacterIsForged(t *testing.T) {
	kr := newKeyring(t, "kabul-2021")
	now := t0.Add(time.Hour)
	tok := sign(t, kr, realistic(now), now)
	b := kr.Bundle(nil, now)
	if v := Verify(tok, b, now); v.Status != Current {
		t.Fatalf("the token itself: %v %s", v.Status, v.Reason)
	}
	tried := 0
	check := func(what, s string) {
		t.Helper()
		tried++
		if v := Verify(s, b, now); v.Status != Forged || v.Claims != nil || v.Reason == "" {
			t.Fatalf("%s: verdict %v (%s), want forged", what, v.Status, v.Reason)
		}
	}
	for i := 0; i < len(tok); i++ {
		for _, c := range []byte(base45Alphabet + "a0\x00") {
			if c == tok[i] {
				continue
			}
			check("character "+string(rune('0'+i%10))+" changed", tok[:i]+string(c)+tok[i+1:])
		}
		check("truncated", tok[:i])
		check("character dropped", tok[:i]+tok[i+1:])
		check("character added", tok[:i]+"0"+tok[i:])
	}
	t.Logf("%d altered tokens, every one forged", tried)
}

func TestAnotherDeploymentsTokenIsUnknownKey(t *testing.T) {
	ours, theirs := newKeyring(t, "kabul-2021"), newKeyring(t, "herat-2021")
	now := t0.Add(time.Hour)
	v := Verify(sign(t, theirs, realistic(now), now), ours.Bundle(nil, now), now)
	if v.Status != UnknownKey || v.ClaimedIssuer != "herat-2021" || v.Claims != nil {
		t.Fatalf("verdict %v, claimed issuer %q, claims %v", v.Status, v.ClaimedIssuer, v.Claims)
	}
	if !strings.Contains(v.Reason, "herat-2021") {
		t.Errorf("the reason should name the other deployment: %s", v.Reason)
	}
	// A deployment that picked the same name is told apart by its key, and
	// its token cannot pass for ours: it names a key we never had.
	namesake := newKeyring(t, "kabul-2021")
	v = Verify(sign(t, namesake, realistic(now), now), ours.Bundle(nil, now), now)
	if v.Status != Forged {
		t.Fatalf("a namesake deployment's token: %v (%s)", v.Status, v.Reason)
	}
}

// A token signed by a key newer than the bundle says so: refresh.
func TestTokenNewerThanTheBundleAsksForARefresh(t *testing.T) {
	kr := newKeyring(t, "kabul-2021")
	old := kr.Bundle(nil, t0.Add(time.Hour))
	if _, err := kr.Rotate(t0.Add(2 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(3 * time.Hour)
	v := Verify(sign(t, kr, realistic(now), now), old, now)
	if v.Status != UnknownKey || !strings.Contains(v.Reason, "refresh") {
		t.Fatalf("verdict %v (%s)", v.Status, v.Reason)
	}
	if v := Verify(sign(t, kr, realistic(now), now), kr.Bundle(nil, now), now); v.Status != Current {
		t.Fatalf("with the new bundle: %v (%s)", v.Status, v.Reason)
	}
}

func TestReplayedOldVersionIsSuperseded(t *testing.T) {
	kr := newKeyring(t, "kabul-2021")
	now := t0.Add(time.Hour)
	v1 := realistic(now)
	v1.Version, v1.Supersedes = 1, 0
	old := sign(t, kr, v1, now)
	later := now.Add(2 * time.Hour)
	v2 := realistic(later)
	v2.RallyPoint, v2.Group = "RP-044", "G0502"
	v2.Digest = ContentDigest([]byte("Go to rally point RP-044 instead"))
	newer := sign(t, kr, v2, later)
	st := Statuses{"I-H004217": {Latest: 2}}
	b := kr.Bundle(st, later)

	v := Verify(old, b, later.Add(time.Minute))
	if v.Status != Superseded || v.Latest != 2 || v.Claims.Version != 1 {
		t.Fatalf("the old version: %v by %d (%s)", v.Status, v.Latest, v.Reason)
	}
	nv := Verify(newer, b, later.Add(time.Minute))
	if nv.Status != Current {
		t.Fatalf("the new version: %v (%s)", nv.Status, nv.Reason)
	}
	if !v.CompareWith(nv.Claims) {
		t.Fatal("CompareWith refused the newer version")
	}
	got := map[string]string{}
	for _, c := range v.Changes {
		got[c.What] = c.Old + " -> " + c.New
	}
	if got["rally point"] != "RP-031 -> RP-044" || got["group"] != "G0421 -> G0502" || got["content"] == "" || got["report window"] == "" || len(got) != 4 {
		t.Errorf("changes: %v", got)
	}
	if s := v.String(); !strings.Contains(s, "SUPERSEDED by version 2") || !strings.Contains(s, "changed: rally point from RP-031 to RP-044") {
		t.Errorf("verdict text:\n%s", s)
	}
	// The bundle as it was before version 2 cannot know.
	if v := Verify(old, kr.Bundle(nil, now), later); v.Status != Current {
		t.Errorf("with a bundle older than version 2: %v", v.Status)
	}
	// Comparing with something that is not the newer version does nothing.
	if v.CompareWith(v.Claims) {
		t.Error("CompareWith accepted the same version")
	}
}

func TestExpiredTokenIsExpired(t *testing.T) {
	kr := newKeyring(t, "kabul-2021")
	now := t0.Add(time.Hour)
	c := realistic(now)
	tok := sign(t, kr, c, now)
	if v := Verify(tok, kr.Bundle(nil, now), c.NotAfter.Add(-time.Second)); v.Status != Current {
		t.Fatalf("a second before expiry: %v (%s)", v.Status, v.Reason)
	}
	v := Verify(tok, kr.Bundle(nil, now), c.NotAfter)
	if v.Status != Expired || v.Claims == nil || !v.Genuine() {
		t.Fatalf("at expiry: %v (%s)", v.Status, v.Reason)
	}
}

func TestRevokedTokenIsRevoked(t *testing.T) {
	kr := newKeyring(t, "kabul-2021")
	now := t0.Add(time.Hour)
	c := realistic(now)
	tok := sign(t, kr, c, now)
	for name, st := range map[string]InstructionStatus{
		"this version":                       {Latest: 2, Revoked: []uint32{2}},
		"the instruction (latest withdrawn)": {Latest: 3, Revoked: []uint32{3}},
	} {
		v := Verify(tok, kr.Bundle(Statuses{"I-H004217": st}, now), now)
		if v.Status != Revoked || v.Claims == nil {
			t.Errorf("%s revoked: %v (%s)", name, v.Status, v.Reason)
		}
	}
	// An earlier version revoked (a sold copy) leaves the current one alone.
	if v := Verify(tok, kr.Bundle(Statuses{"I-H004217": {Latest: 2, Revoked: []uint32{1}}}, now), now); v.Status != Current {
		t.Errorf("version 1 revoked, version 2: %v (%s)", v.Status, v.Reason)
	}
	// Revoked wins over expired.
	if v := Verify(tok, kr.Bundle(Statuses{"I-H004217": {Latest: 2, Revoked: []uint32{2}}}, now), c.NotAfter.Add(time.Hour)); v.Status != Revoked {
		t.Errorf("revoked and expired: %v", v.Status)
	}
}

func TestRetiredKeyVerifiesUntilItsTokensExpire(t *testing.T) {
	kr := newKeyring(t, "kabul-2021")
	signed := t0.Add(time.Hour)
	c := realistic(signed)
	c.NotAfter = signed.Add(kr.MaxLifetime()) // as long as allowed
	tok := sign(t, kr, c, signed)
	old := kr.Active()
	retired := signed.Add(time.Hour)
	if _, err := kr.Rotate(retired); err != nil {
		t.Fatal(err)
	}
	keys := kr.Keys()
	if len(keys) != 2 || !keys[0].RetiredAt.Equal(retired) || !keys[0].VerifyUntil.Equal(retired.Add(kr.MaxLifetime())) || keys[0].ID() != old.ID() {
		t.Fatalf("after rotation: %+v", keys)
	}
	if kr.Active().ID() == old.ID() {
		t.Fatal("rotation kept the old key active")
	}
	// New tokens are signed by the new key.
	if v := Verify(sign(t, kr, realistic(retired), retired), kr.Bundle(nil, retired), retired); v.Status != Current || v.KeyID != kr.Active().ID() {
		t.Fatalf("new token: %v, key %s", v.Status, v.KeyID)
	}
	// The old token verifies until it expires ...
	at := c.NotAfter.Add(-time.Minute)
	if v := Verify(tok, kr.Bundle(nil, at), at); v.Status != Current || v.KeyID != old.ID() {
		t.Fatalf("old token before its expiry: %v (%s)", v.Status, v.Reason)
	}
	if v := Verify(tok, kr.Bundle(nil, at), c.NotAfter); v.Status != Expired {
		t.Fatalf("old token at its expiry: %v (%s)", v.Status, v.Reason)
	}

	// ... and no token of a retired key verifies after the key's window,
	// even one whose own expiry is later (Sign never makes one; a signer
	// with other rules, or a bug, could).
	kr2 := newKeyring(t, "kabul-2021")
	long := realistic(signed)
	long.Issuer = "kabul-2021"
	long.NotAfter = signed.Add(3 * kr2.MaxLifetime())
	payload, err := long.marshal()
	if err != nil {
		t.Fatal(err)
	}
	tok2 := Prefix + encodeBase45(sign1(kr2.keys[0].priv, protectedHeader(kr2.Active().ID(), ""), payload))
	if _, err := kr2.Rotate(signed.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	k := kr2.Keys()[0]
	b := kr2.Bundle(nil, signed.Add(time.Minute))
	if v := Verify(tok2, b, k.VerifyUntil); v.Status != Current {
		t.Fatalf("at the end of the key's window: %v (%s)", v.Status, v.Reason)
	}
	v := Verify(tok2, b, k.VerifyUntil.Add(time.Second))
	if v.Status != Expired || !strings.Contains(v.Reason, "retired") {
		t.Fatalf("after the key's window: %v (%s)", v.Status, v.Reason)
	}
}

// A copy of a retired key, kept by whoever stole it, signs nothing that
// verifies: a token issued after the key's retirement is forged.
func TestRetiredKeyCopySignsNothing(t *testing.T) {
	kr := newKeyring(t, "kabul-2021")
	stolen := kr.keys[0].priv
	retired := t0.Add(time.Hour)
	if _, err := kr.Rotate(retired); err != nil {
		t.Fatal(err)
	}
	if kr.keys[0].priv != nil {
		t.Fatal("rotation kept the retired private key")
	}
	now := retired.Add(time.Hour)
	c := realistic(now)
	c.Issuer = "kabul-2021"
	payload, err := c.marshal()
	if err != nil {
		t.Fatal(err)
	}
	tok := Prefix + encodeBase45(sign1(stolen, protectedHeader(kr.Keys()[0].ID(), ""), payload))
	v := Verify(tok, kr.Bundle(nil, now), now)
	if v.Status != Forged || !strings.Contains(v.Reason, "retired") {
		t.Fatalf("verdict %v (%s)", v.Status, v.Reason)
	}
}

func TestVerifyRefusesWhatIsNotAToken(t *testing.T) {
	kr := newKeyring(t, "kabul-2021")
	now := t0.Add(time.Hour)
	b := kr.Bundle(nil, now)
	tok := sign(t, kr, realistic(now), now)
	bundle, err := kr.SignBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{
		"empty":               "",
		"HCERT":               "HC1:" + tok[4:],
		"lower case":          strings.ToLower(tok),
		"a bundle as a token": Prefix + encodeBase45(bundle),
		"huge":                Prefix + strings.Repeat("0", 10000),
		"prefix only":         Prefix,
	} {
		if v := Verify(s, b, now); v.Status != Forged || v.Reason == "" {
			t.Errorf("%s: %v (%s)", name, v.Status, v.Reason)
		}
	}
	// A line break around a pasted token is fine; a space is not (base45
	// has spaces: a token may end with one).
	if v := Verify("\t"+tok+"\r\n", b, now); v.Status != Current {
		t.Errorf("with a line break around: %v (%s)", v.Status, v.Reason)
	}
	if v := Verify(tok+" ", b, now); v.Status != Forged {
		t.Errorf("with a space added: %v (%s)", v.Status, v.Reason)
	}
	var zero Verdict
	if zero.Status != Forged {
		t.Error("the zero verdict must be forged")
	}
}

func TestSignRefusesBadClaims(t *testing.T) {
	kr := newKeyring(t, "kabul-2021")
	now := t0.Add(time.Hour)
	for name, edit := range map[string]func(*Claims){
		"another issuer":           func(c *Claims) { c.Issuer = "herat-2021" },
		"version 0":                func(c *Claims) { c.Version = 0 },
		"supersedes itself":        func(c *Claims) { c.Supersedes = c.Version },
		"no digest":                func(c *Claims) { c.Digest = [DigestSize]byte{} },
		"no household":             func(c *Claims) { c.Household = "" },
		"expires before issued":    func(c *Claims) { c.NotAfter = c.IssuedAt.Add(-time.Second) },
		"longer than max lifetime": func(c *Claims) { c.NotAfter = now.Add(kr.MaxLifetime() + time.Second) },
		"issued in the future":     func(c *Claims) { c.IssuedAt = now.Add(time.Hour); c.NotAfter = now.Add(2 * time.Hour) },
		"issued before the key":    func(c *Claims) { c.IssuedAt = t0.Add(-time.Hour) },
		"window backwards":         func(c *Claims) { c.ReportBy = c.ReportFrom.Add(-time.Minute) },
		"half a window":            func(c *Claims) { c.ReportBy = time.Time{} },
		"long id":                  func(c *Claims) { c.RallyPoint = strings.Repeat("R", 33) },
		"control character":        func(c *Claims) { c.Group = "G\n1" },
	} {
		c := realistic(now)
		edit(&c)
		if _, err := kr.Sign(c, now); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
	if _, err := NewKeyring("kabul 2021", 0, now); err == nil {
		t.Error("a deployment id with a space was accepted")
	}
}

func TestCompareSaysWhatChanged(t *testing.T) {
	now := t0
	a := realistic(now)
	b := a
	if ch := Compare(&a, &b); len(ch) != 0 {
		t.Errorf("no change, got %v", ch)
	}
	b.ReportFrom, b.ReportBy = a.ReportFrom.Add(time.Hour), a.ReportBy.Add(time.Hour)
	b.People = 5
	ch := Compare(&a, &b)
	if len(ch) != 2 || ch[0].What != "report window" || ch[0].Old != "2021-08-20 16:00-16:30 UTC" || ch[0].New != "2021-08-20 17:00-17:30 UTC" || ch[1].What != "people" || ch[1].New != "5" {
		t.Errorf("changes: %+v", ch)
	}
}

func TestVerdictAlwaysShowsTheBundlesAge(t *testing.T) {
	kr := newKeyring(t, "kabul-2021")
	now := t0.Add(time.Hour)
	tok := sign(t, kr, realistic(now), now)
	b := kr.Bundle(nil, now)
	for _, s := range []string{tok, "garbage"} {
		v := Verify(s, b, now.Add(26*time.Hour))
		if v.Age != 26*time.Hour || !v.AsOf.Equal(now) {
			t.Errorf("age %s, as of %s", v.Age, v.AsOf)
		}
		text := v.String()
		if !strings.Contains(text, "as of 2021-08-20T07:00:00Z (26h00m old)") {
			t.Errorf("verdict text lacks the bundle's age:\n%s", text)
		}
		if !strings.Contains(text, "refresh it") {
			t.Errorf("a bundle a day old should be called stale:\n%s", text)
		}
	}
}

func TestPublicOnlyKeyringCannotSign(t *testing.T) {
	kr := newKeyring(t, "kabul-2021")
	kr.keys[0].priv = nil
	if _, err := kr.Sign(realistic(t0), t0); !errors.Is(err, ErrNoPrivateKey) {
		t.Errorf("want ErrNoPrivateKey, got %v", err)
	}
	if _, err := kr.Rotate(t0.Add(time.Hour)); !errors.Is(err, ErrNoPrivateKey) {
		t.Errorf("rotate: want ErrNoPrivateKey, got %v", err)
	}
	if kr.CanSign() {
		t.Error("CanSign")
	}
}

func TestFingerprint(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	k := PublicKey{Key: pub}
	fp := k.Fingerprint()
	for _, s := range []string{fp.String(), strings.ToUpper(fp.String())} {
		got, err := ParseFingerprint(s)
		if err != nil || got != fp {
			t.Errorf("ParseFingerprint(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseFingerprint(fp.String()[:32]); err == nil {
		t.Error("half a fingerprint was accepted")
	}
	if k.ID().String() != fp.String()[:16] {
		t.Errorf("key id %s is not the fingerprint's first 8 bytes %s", k.ID(), fp)
	}
}

// A version newer than the bundle knows is not judged by what the bundle
// says of older versions, even when it says the instruction was withdrawn.
func TestVersionNewerThanTheBundle(t *testing.T) {
	kr := newKeyring(t, "kabul-2021")
	now := t0.Add(time.Hour)
	c := realistic(now)
	c.Version, c.Supersedes = 4, 3
	tok := sign(t, kr, c, now)
	v := Verify(tok, kr.Bundle(Statuses{"I-H004217": {Latest: 3, Revoked: []uint32{3}}}, now), now)
	if v.Status != Current || len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "refresh") {
		t.Errorf("verdict %v, warnings %v", v.Status, v.Warnings)
	}
	if v := Verify(tok, nil, now); v.Status != Forged {
		t.Errorf("no bundle: %v", v.Status)
	}
}

// TestRevokedKey: a key revoked as compromised makes every token it
// signed "signed by a revoked key" (not genuine, whatever it says), in the
// keyring's bundle and in the signed bundle offline verifiers read, which
// carries its id; the keyring file keeps it; the active key cannot be
// revoked, an unknown one neither, nor one twice.
func TestRevokedKey(t *testing.T) {
	t0 := time.Date(2021, 8, 26, 5, 0, 0, 0, time.UTC)
	kr, err := NewKeyring("kabul-2021", 0, t0)
	if err != nil {
		t.Fatal(err)
	}
	c := Claims{Instruction: "I-H000042", Version: 1, Household: "H000042", IssuedAt: t0, NotAfter: t0.Add(20 * time.Hour), RallyPoint: "rally-031",
		ReportFrom: t0.Add(time.Hour), ReportBy: t0.Add(2 * time.Hour), Group: "K7F-42", People: 3, Digest: ContentDigest([]byte("x"))}
	old, err := kr.Sign(c, t0)
	if err != nil {
		t.Fatal(err)
	}
	oldID := kr.Active().ID()
	if _, err := kr.Revoke(oldID, "stolen laptop", t0); err == nil {
		t.Fatal("the active key was revoked")
	}
	t1 := t0.Add(time.Hour)
	if _, err := kr.Rotate(t1); err != nil {
		t.Fatal(err)
	}
	c2 := c
	c2.Instruction, c2.Household, c2.IssuedAt = "I-H000043", "H000043", t1
	fresh, err := kr.Sign(c2, t1)
	if err != nil {
		t.Fatal(err)
	}
	if v := Verify(old, kr.Bundle(nil, t1), t1); v.Status != Current {
		t.Fatalf("before the revocation: %s", v.String())
	}
	if _, err := kr.Revoke(KeyID{1, 2, 3}, "x", t1); err == nil {
		t.Fatal("an unknown key was revoked")
	}
	if _, err := kr.Revoke(oldID, "", t1); err == nil {
		t.Fatal("revoked without a reason")
	}
	if _, err := kr.Revoke(oldID, "stolen laptop", t1); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Revoke(oldID, "again", t1); err == nil {
		t.Fatal("revoked twice")
	}
	check := func(where string, b *Bundle) {
		t.Helper()
		v := Verify(old, b, t1)
		if v.Status != RevokedKey || v.Genuine() || !strings.Contains(v.String(), "SIGNED BY A REVOKED KEY") || v.KeyID != oldID {
			t.Fatalf("%s: the revoked key's token: %s", where, v.String())
		}
		if v := Verify(fresh, b, t1); v.Status != Current {
			t.Fatalf("%s: the new key's token: %s", where, v.String())
		}
	}
	check("keyring", kr.Bundle(nil, t1))
	signed, err := kr.SignBundle(kr.Bundle(nil, t1))
	if err != nil {
		t.Fatal(err)
	}
	ob, err := OpenBundle(signed, kr.Keys()[0].Fingerprint())
	if err != nil {
		t.Fatal(err)
	}
	if !ob.Keys[0].Revoked || ob.Keys[1].Revoked {
		t.Fatalf("the signed bundle's keys: %+v", ob.Keys)
	}
	check("signed bundle", ob)
	// The keyring file keeps the revocation.
	master := make([]byte, 32)
	path := filepath.Join(t.TempDir(), "keys.json")
	if err := WriteKeyringFile(path, kr, master, nil); err != nil {
		t.Fatal(err)
	}
	back, _, err := ReadKeyringFile(path, master)
	if err != nil {
		t.Fatal(err)
	}
	if k := back.Keys()[0]; !k.Revoked || k.RevokedReason != "stolen laptop" || !k.RevokedAt.Equal(t1) {
		t.Fatalf("read back: %+v", k)
	}
	check("keyring file", back.Bundle(nil, t1))
}
