package credential

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster/internal/testshared"
)

func signBundle(t testing.TB, kr *Keyring, st Statuses, asOf time.Time) []byte {
	t.Helper()
	data, err := kr.SignBundle(kr.Bundle(st, asOf))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestBundleRoundTrip(t *testing.T) {
	kr := newKeyring(t, "kabul-2021")
	root := kr.Active().Fingerprint()
	if _, err := kr.Rotate(t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	asOf := t0.Add(2 * time.Hour)
	st := Statuses{"I-H000001": {Latest: 3}, "I-H000002": {Latest: 2, Revoked: []uint32{1}}, "I-H000003": {Latest: 1, Revoked: []uint32{1}}}
	data := signBundle(t, kr, st, asOf)
	b, err := OpenBundle(data, root)
	if err != nil {
		t.Fatal(err)
	}
	if b.Deployment != "kabul-2021" || !b.AsOf.Equal(asOf) || b.MaxLifetime != kr.MaxLifetime() || b.SignedBy != kr.Active().ID() {
		t.Errorf("bundle: %+v", b)
	}
	if !reflect.DeepEqual(b.Statuses, st) {
		t.Errorf("statuses: got %v, want %v", b.Statuses, st)
	}
	if !reflect.DeepEqual(b.Keys, kr.Keys()) {
		t.Errorf("keys: got %+v\nwant %+v", b.Keys, kr.Keys())
	}
	// Verifying against the opened bundle says what verifying against the
	// keyring says.
	now := asOf.Add(90 * time.Minute)
	c := realistic(asOf)
	c.Instruction, c.Version, c.Supersedes = "I-H000001", 2, 1
	v := Verify(sign(t, kr, c, asOf), b, now)
	if v.Status != Superseded || v.Latest != 3 || v.Age != 90*time.Minute {
		t.Errorf("verdict: %v by %d, age %s", v.Status, v.Latest, v.Age)
	}
	// The same input makes the same bundle.
	if again := signBundle(t, kr, st, asOf); string(again) != string(data) {
		t.Error("signing the same bundle twice gave two encodings")
	}
}

// Pinning a deployment's first key trusts every later key through the
// endorsements, and a verifier moves from bundle to bundle across
// rotations; an older bundle is never taken for news.
func TestBundleRefreshAcrossRotations(t *testing.T) {
	kr := newKeyring(t, "kabul-2021")
	root := kr.Active().Fingerprint()
	firstData := signBundle(t, kr, nil, t0.Add(time.Minute))
	first, err := OpenBundle(firstData, root)
	if err != nil {
		t.Fatal(err)
	}
	cur := first
	for i := 1; i <= 3; i++ {
		at := t0.Add(time.Duration(i) * time.Hour)
		if _, err := kr.Rotate(at); err != nil {
			t.Fatal(err)
		}
		data := signBundle(t, kr, Statuses{"I1": {Latest: uint32(i + 1)}}, at.Add(time.Minute))
		next, err := cur.Refresh(data)
		if err != nil {
			t.Fatalf("refresh after rotation %d: %v", i, err)
		}
		if next.Statuses["I1"].Latest != uint32(i+1) || len(next.Keys) != i+1 {
			t.Fatalf("refresh %d: %+v", i, next)
		}
		// The root fingerprint alone opens it too.
		if _, err := OpenBundle(data, root); err != nil {
			t.Fatalf("open with the root fingerprint after rotation %d: %v", i, err)
		}
		cur = next
	}
	// Going back to the first bundle (no revocations) is refused.
	if _, err := cur.Refresh(firstData); err == nil || !strings.Contains(err.Error(), "older") {
		t.Errorf("refreshing to an older bundle: %v", err)
	}
}

func TestOlderBundleIsNotNews(t *testing.T) {
	kr := newKeyring(t, "kabul-2021")
	root := kr.Active().Fingerprint()
	older := signBundle(t, kr, nil, t0.Add(time.Hour))
	newer := signBundle(t, kr, Statuses{"I1": {Latest: 1, Revoked: []uint32{1}}}, t0.Add(2*time.Hour))
	cur, err := OpenBundle(newer, root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cur.Refresh(older); err == nil || !strings.Contains(err.Error(), "older") {
		t.Errorf("refreshing to an older bundle: %v", err)
	}
	if same, err := cur.Refresh(newer); err != nil || !same.AsOf.Equal(cur.AsOf) {
		t.Errorf("refreshing to the same bundle: %v", err)
	}
}

func TestBundleFromAnotherDeploymentIsRefused(t *testing.T) {
	ours, theirs := newKeyring(t, "kabul-2021"), newKeyring(t, "herat-2021")
	data := signBundle(t, theirs, nil, t0.Add(time.Hour))
	_, err := OpenBundle(data, ours.Active().Fingerprint())
	if !errors.Is(err, ErrUntrustedBundle) {
		t.Fatalf("another deployment's bundle: %v", err)
	}
	if _, err := OpenBundle(data); !errors.Is(err, ErrUntrustedBundle) {
		t.Fatalf("a bundle with no trusted fingerprint: %v", err)
	}
	// A bundle made of our keys but signed by theirs: the signer is not one
	// of the trusted chain.
	b := ours.Bundle(nil, t0.Add(time.Hour))
	b.Deployment = "herat-2021"
	forged, err := theirs.SignBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenBundle(forged, ours.Active().Fingerprint()); !errors.Is(err, ErrUntrustedBundle) {
		t.Fatalf("our keys signed by another key: %v", err)
	}
}

// Any changed byte of a signed bundle is refused, whatever it touched.
func TestTamperedBundleIsRefused(t *testing.T) {
	kr := newKeyring(t, "kabul-2021")
	root := kr.Active().Fingerprint()
	if _, err := kr.Rotate(t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	data := signBundle(t, kr, Statuses{"I-H000001": {Latest: 2}, "I-H000002": {Latest: 1, Revoked: []uint32{1}}}, t0.Add(2*time.Hour))
	for i := range data {
		for _, x := range []byte{0x01, 0x80, 0xff} {
			bad := append([]byte(nil), data...)
			bad[i] ^= x
			if _, err := OpenBundle(bad, root); err == nil {
				t.Fatalf("byte %d ^ %#x: accepted", i, x)
			}
		}
		if _, err := OpenBundle(data[:i], root); err == nil {
			t.Fatalf("truncated to %d bytes: accepted", i)
		}
	}
	if _, err := OpenBundle(append(data, 0), root); err == nil {
		t.Fatal("a byte appended: accepted")
	}
}

func TestBrokenKeyChainIsRefused(t *testing.T) {
	kr := newKeyring(t, "kabul-2021")
	root := kr.Active().Fingerprint()
	if _, err := kr.Rotate(t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// An attacker who has the second key but not the first cannot add a
	// key of their own to the chain.
	evil := newKeyring(t, "kabul-2021")
	kr.mu.Lock()
	kr.keys[1].pub.Endorsement = nil
	kr.keys = append(kr.keys[:1], evil.keys[0])
	kr.keys[0].pub.RetiredAt = t0.Add(time.Hour)
	kr.keys[0].pub.VerifyUntil = t0.Add(time.Hour + kr.maxLifetime)
	kr.mu.Unlock()
	data := signBundle(t, kr, nil, t0.Add(2*time.Hour))
	if _, err := OpenBundle(data, root); err == nil || !strings.Contains(err.Error(), "endorsed") {
		t.Fatalf("a key without endorsement: %v", err)
	}
}

func TestTokenIsNotABundle(t *testing.T) {
	kr := newKeyring(t, "kabul-2021")
	b, err := kr.SignBytes(realistic(t0.Add(time.Hour)), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenBundle(b, kr.Active().Fingerprint()); err == nil {
		t.Fatal("a token opened as a bundle")
	}
}

func TestStatusesValidate(t *testing.T) {
	for name, st := range map[string]Statuses{
		"latest 0":           {"I1": {Latest: 0}},
		"revoked above":      {"I1": {Latest: 2, Revoked: []uint32{3}}},
		"revoked unordered":  {"I1": {Latest: 3, Revoked: []uint32{2, 1}}},
		"revoked twice":      {"I1": {Latest: 3, Revoked: []uint32{2, 2}}},
		"empty id":           {"": {Latest: 1}},
		"control char in id": {"I\x001": {Latest: 1}},
	} {
		if err := st.Validate(); err == nil {
			t.Errorf("%s: valid", name)
		}
	}
	kr := newKeyring(t, "kabul-2021")
	if _, err := kr.SignBundle(kr.Bundle(Statuses{"I1": {Latest: 0}}, t0)); err == nil {
		t.Error("signed a bundle with a bad status")
	}
}

// How the bundle scales: 100,000 households, every one re-planned once and
// one in ten withdrawn.
func TestBundleOf100000Households(t *testing.T) {
	testshared.Long(t)
	kr := newKeyring(t, "kabul-2021")
	st := make(Statuses, 100000)
	for i := range 100000 {
		s := InstructionStatus{Latest: 2}
		if i%10 == 0 {
			s.Revoked = []uint32{2}
		}
		st[fmt.Sprintf("I-H%06d", i)] = s
	}
	start := time.Now()
	data := signBundle(t, kr, st, t0.Add(time.Hour))
	signed := time.Since(start)
	start = time.Now()
	b, err := OpenBundle(data, kr.Active().Fingerprint())
	if err != nil {
		t.Fatal(err)
	}
	opened := time.Since(start)
	t.Logf("100,000 statuses: %d bytes (%.1f per instruction), signed in %s, opened in %s", len(data), float64(len(data))/100000, signed, opened)
	if len(data) > 2<<20 {
		t.Errorf("bundle of 100,000 statuses is %d bytes, want under 2 MiB", len(data))
	}
	if len(b.Statuses) != 100000 || b.Statuses["I-H000010"].Revoked[0] != 2 {
		t.Error("statuses lost")
	}
}
