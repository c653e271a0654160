package seal

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func newMaster(t testing.TB) []byte {
	t.Helper()
	m := make([]byte, KeySize)
	for i := range m {
		m[i] = byte(i*7 + len(t.Name()))
	}
	return m
}

func newKeyring(t testing.TB) (*Keyring, []byte, []byte) {
	t.Helper()
	master := newMaster(t)
	wrapped, err := NewDataKey(master)
	if err != nil {
		t.Fatal(err)
	}
	k, err := Open(master, wrapped)
	if err != nil {
		t.Fatal(err)
	}
	return k, master, wrapped
}

func TestRoundTrip(t *testing.T) {
	k, master, wrapped := newKeyring(t)
	// A second keyring from the same wrapped key (the server restarted)
	// opens what the first sealed.
	k2, err := Open(master, wrapped)
	if err != nil {
		t.Fatal(err)
	}
	for _, pt := range [][]byte{{}, []byte("+93701234567"), []byte("سیما پوپل"), bytes.Repeat([]byte{0xff, 0}, 40000)} {
		aad := AAD("household", "H0001", "name")
		sealed := k.Seal(pt, aad)
		if len(sealed) != len(pt)+Overhead || sealed[0] != 1 {
			t.Fatalf("sealed %d bytes into %d, version %d", len(pt), len(sealed), sealed[0])
		}
		if len(pt) > 8 && bytes.Contains(sealed, pt[:8]) {
			t.Fatal("plaintext visible in the sealed value")
		}
		got, err := k2.Open(sealed, aad)
		if err != nil || !bytes.Equal(got, pt) || got == nil {
			t.Fatalf("Open: %v, %d bytes back of %d", err, len(got), len(pt))
		}
	}
	s, err := k.OpenString(k.SealString("Parwana Stanikzai", "household:H2:name"), "household:H2:name")
	if err != nil || s != "Parwana Stanikzai" {
		t.Errorf("OpenString: %q, %v", s, err)
	}
}

func TestTamperingFails(t *testing.T) {
	k, _, _ := newKeyring(t)
	aad := "household:H0001:phone"
	sealed := k.Seal([]byte("+93701234567"), aad)
	for i := range sealed {
		for _, flip := range []byte{0x01, 0x80, 0xff} {
			bad := bytes.Clone(sealed)
			bad[i] ^= flip
			if _, err := k.Open(bad, aad); !errors.Is(err, ErrCannotOpen) {
				t.Fatalf("byte %d ^ %#x: error %v, want ErrCannotOpen", i, flip, err)
			}
		}
	}
	for _, bad := range [][]byte{nil, sealed[:Overhead-1], sealed[:len(sealed)-1], append(bytes.Clone(sealed), 0)} {
		if _, err := k.Open(bad, aad); !errors.Is(err, ErrCannotOpen) {
			t.Fatalf("%d bytes: error %v", len(bad), err)
		}
	}
}

func TestAADBindsRowAndColumn(t *testing.T) {
	k, _, _ := newKeyring(t)
	phone1 := k.SealString("+93701234567", AAD("household", "H1", "phone"))
	for _, other := range []string{AAD("household", "H2", "phone"), AAD("household", "H1", "email"), AAD("member", "H1", "phone"), ""} {
		if _, err := k.Open(phone1, other); !errors.Is(err, ErrCannotOpen) || !strings.Contains(err.Error(), "another row or column") {
			t.Errorf("opened under %q: %v", other, err)
		}
	}
	// The escaping keeps parts apart: no id can impersonate another column.
	if AAD("household", "H1:phone", "x") == AAD("household", "H1", "phone:x") {
		t.Error("AAD is ambiguous")
	}
	if got := AAD("household", "H0001", "phone"); got != "household:H0001:phone" {
		t.Errorf("AAD = %q", got)
	}
}

func TestWrongMasterKey(t *testing.T) {
	_, master, wrapped := newKeyring(t)
	other := bytes.Clone(master)
	other[0] ^= 1
	_, err := Open(other, wrapped)
	if !errors.Is(err, ErrWrongMasterKey) || err.Error() != "the master key does not open this database's data key" {
		t.Errorf("wrong master: %v", err)
	}
	bad := bytes.Clone(wrapped)
	bad[20] ^= 1
	if _, err := Open(master, bad); !errors.Is(err, ErrWrongMasterKey) {
		t.Errorf("altered wrapped key: %v", err)
	}
	if _, err := Open(master[:16], wrapped); err == nil || !strings.Contains(err.Error(), "16 bytes, want 32") {
		t.Errorf("short master: %v", err)
	}
	if _, err := Open(master, wrapped[:10]); err == nil || !strings.Contains(err.Error(), "not a muster data key") {
		t.Errorf("short wrapped key: %v", err)
	}
	if _, err := NewDataKey(nil); err == nil {
		t.Error("NewDataKey accepted an empty master key")
	}
}

func TestRewrap(t *testing.T) {
	k, master, wrapped := newKeyring(t)
	sealed := k.SealString("secret", "a:b:c")
	newMaster := bytes.Repeat([]byte{9}, KeySize)
	rewrapped, err := Rewrap(master, newMaster, wrapped)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(master, rewrapped); !errors.Is(err, ErrWrongMasterKey) {
		t.Errorf("old master still opens the rewrapped key: %v", err)
	}
	k2, err := Open(newMaster, rewrapped)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := k2.OpenString(sealed, "a:b:c"); err != nil || s != "secret" {
		t.Errorf("after rewrap: %q %v", s, err)
	}
	if !bytes.Equal(k.Hash("phone", "+93701234567"), k2.Hash("phone", "+93701234567")) {
		t.Error("rewrap changed the hashes")
	}
	if _, err := Rewrap(newMaster, master, wrapped); !errors.Is(err, ErrWrongMasterKey) {
		t.Errorf("Rewrap with the wrong old key: %v", err)
	}
}

func TestNoncesDiffer(t *testing.T) {
	k, _, _ := newKeyring(t)
	seen := map[string]bool{}
	for range 2000 {
		s := k.SealString("same value", "household:H1:name")
		nonce := string(s[1 : 1+nonceSize])
		if seen[nonce] {
			t.Fatal("a nonce repeated")
		}
		seen[nonce] = true
	}
	_, master, _ := newKeyring(t)
	w1, _ := NewDataKey(master)
	w2, _ := NewDataKey(master)
	if bytes.Equal(w1, w2) {
		t.Error("two data keys wrapped identically")
	}
}

// TestNoncesDifferOnEveryCore seals from several goroutines at once, for
// many times the nonces one read of crypto/rand makes: no nonce is handed
// out twice, and every value opens.
func TestNoncesDifferOnEveryCore(t *testing.T) {
	k, _, _ := newKeyring(t)
	const workers, each = 4, 3 * nonceBatch
	sealed := make([][][]byte, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				sealed[w] = append(sealed[w], k.Seal([]byte(strconv.Itoa(i)), "household:H1:name"))
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for w := range workers {
		for i, s := range sealed[w] {
			nonce := string(s[1 : 1+nonceSize])
			if seen[nonce] {
				t.Fatalf("worker %d, seal %d: a nonce repeated", w, i)
			}
			seen[nonce] = true
			pt, err := k.Open(s, "household:H1:name")
			if err != nil || string(pt) != strconv.Itoa(i) {
				t.Fatalf("worker %d, seal %d: opened %q, %v", w, i, pt, err)
			}
		}
	}
	if len(seen) != workers*each {
		t.Fatalf("%d nonces, want %d", len(seen), workers*each)
	}
}

func TestHash(t *testing.T) {
	k, master, wrapped := newKeyring(t)
	h := k.Hash("phone", "+93701234567")
	if len(h) != 32 {
		t.Fatalf("hash of %d bytes", len(h))
	}
	k2, _ := Open(master, wrapped)
	if !bytes.Equal(h, k2.Hash("phone", "+93701234567")) {
		t.Error("hash not stable across keyrings of one data key")
	}
	if bytes.Equal(h, k.Hash("phone", "+93701234568")) {
		t.Error("two phones hash equal")
	}
	if bytes.Equal(h, k.Hash("email", "+93701234567")) {
		t.Error("kind does not separate hashes")
	}
	if bytes.Equal(k.Hash("ab", "c"), k.Hash("a", "bc")) {
		t.Error("kind and value run together")
	}
	w3, _ := NewDataKey(master)
	k3, _ := Open(master, w3)
	if bytes.Equal(h, k3.Hash("phone", "+93701234567")) {
		t.Error("hash not keyed: another data key gives the same hash")
	}
}

// fuzzWrapped and fuzzGood are fixed so that the fuzzing workers, each its
// own process, share them: a data key wrapped under 32 bytes of 7, and
// "+93701234567" sealed under it for "household:H1:phone".
const (
	fuzzWrapped = "01f91fe0fd860ed86630826d4e9cd891b89092e67fb926df8d585b9ddfd3649b414079e53c4adb0b64fb43ac977496274fbf2cea62e8d7f44269ffef30"
	fuzzGood    = "01511e2e16ee00eaa90cb2f248cacf1485d269079074aad021497da728f98610474cf9cc9a10baeab5"
)

func FuzzOpen(f *testing.F) {
	master := bytes.Repeat([]byte{7}, KeySize)
	wrapped, _ := hex.DecodeString(fuzzWrapped)
	good, _ := hex.DecodeString(fuzzGood)
	k, err := Open(master, wrapped)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, "household:H1:phone")
	f.Add(good[:Overhead], "household:H1:phone")
	f.Add([]byte{1}, "")
	f.Add(wrapped, "")
	f.Fuzz(func(t *testing.T, sealed []byte, aad string) {
		pt, err := k.Open(sealed, aad)
		if err == nil {
			// Only a value this keyring sealed can open: the seed, under
			// its own aad.
			if !bytes.Equal(sealed, good) || aad != "household:H1:phone" || string(pt) != "+93701234567" {
				t.Fatalf("forged value opened: %x under %q gave %q", sealed, aad, pt)
			}
		} else if !errors.Is(err, ErrCannotOpen) {
			t.Fatalf("error %v does not wrap ErrCannotOpen", err)
		}
		// The wrapped-key parser gets the same bytes.
		if _, err := Open(master, sealed); err == nil && !bytes.Equal(sealed, wrapped) {
			t.Fatal("forged wrapped key opened")
		}
	})
}

func BenchmarkSeal100(b *testing.B) {
	k, _, _ := newKeyring(b)
	pt := bytes.Repeat([]byte("x"), 100)
	b.SetBytes(100)
	b.ReportAllocs()
	for b.Loop() {
		k.Seal(pt, "household:H000001:notes")
	}
}

// BenchmarkSeal100Parallel seals on every core at once, as an issuance
// does: the nonces must not make the cores wait for each other.
func BenchmarkSeal100Parallel(b *testing.B) {
	k, _, _ := newKeyring(b)
	pt := bytes.Repeat([]byte("x"), 100)
	b.SetBytes(100)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k.Seal(pt, "household:H000001:notes")
		}
	})
}

func BenchmarkOpen100(b *testing.B) {
	k, _, _ := newKeyring(b)
	sealed := k.Seal(bytes.Repeat([]byte("x"), 100), "household:H000001:notes")
	b.SetBytes(100)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Open(sealed, "household:H000001:notes"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHash(b *testing.B) {
	k, _, _ := newKeyring(b)
	b.ReportAllocs()
	for b.Loop() {
		k.Hash("phone", "+93701234567")
	}
}

func BenchmarkOpenKeyring(b *testing.B) {
	master := newMaster(b)
	wrapped, _ := NewDataKey(master)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Open(master, wrapped); err != nil {
			b.Fatal(err)
		}
	}
}
