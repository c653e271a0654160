package muster

import (
	"strings"
	"testing"
)

func TestHashPassword(t *testing.T) {
	h1, err := HashPassword("رمز عبور محکم")
	if err != nil {
		t.Fatal(err)
	}
	h2, err := HashPassword("رمز عبور محکم")
	if err != nil {
		t.Fatal(err)
	}
	if h1 == h2 || !strings.HasPrefix(h1, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("hashes %q and %q: want distinct salts and argon2id parameters", h1, h2)
	}
	for _, c := range []struct {
		pw   string
		want bool
	}{{"رمز عبور محکم", true}, {"رمز عبور محکم ", false}, {"", false}} {
		ok, err := CheckPassword(h1, c.pw)
		if err != nil || ok != c.want {
			t.Errorf("CheckPassword(%q) = %v, %v; want %v", c.pw, ok, err, c.want)
		}
	}
	if _, err := HashPassword(""); ErrorCode(err) != EINVALID {
		t.Errorf("empty password: %v", err)
	}
	for _, bad := range []string{"", "plain", "$2a$10$abcdefghijklmnopqrstuv", "$argon2id$v=19$m=9999999999,t=3,p=2$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=65536,t=3,p=2$!!$a2V5", "$argon2id$v=18$m=65536,t=3,p=2$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		strings.Replace(h1, "m=65536", "m=1048576", 1)} {
		if ok, err := CheckPassword(bad, "x"); ok || ErrorCode(err) != EINVALID {
			t.Errorf("CheckPassword(%q) = %v, %v; want an EINVALID error", bad, ok, err)
		}
	}
}

func TestNewSecret(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if a == b || len(a) != 43 || strings.ContainsAny(a, "+/=") {
		t.Fatalf("secrets %q %q: want distinct, 43 URL-safe characters", a, b)
	}
	if len(TokenHash(a)) != 32 || string(TokenHash(a)) == string(TokenHash(b)) {
		t.Fatal("TokenHash: want 32 distinct bytes")
	}
}

// FuzzCheckPassword: no stored hash, however mangled, panics CheckPassword
// or matches a password it was not made from.
func FuzzCheckPassword(f *testing.F) {
	f.Add("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$tUXNrt3s+MCZWhgNoGfZmrXLMDR4oMM4X6+5rUTzuaM", "pw")
	f.Add("$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHQ$a2V5", "")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$$", "x")
	f.Add("$$$$$", "x")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		ok, err := CheckPassword(hash, pw)
		if ok && err != nil {
			t.Fatalf("match with an error: %v", err)
		}
		if ok && !strings.Contains(hash, "$argon2id$") {
			t.Fatalf("%q matched", hash)
		}
	})
}

// A hash made at another cost carries it, and checks at that cost.
func TestHashPasswordCost(t *testing.T) {
	h, err := HashPasswordCost("pw", PasswordCost{MemoryKiB: 64, Passes: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=2$") {
		t.Fatalf("hash %q does not carry its cost", h)
	}
	if ok, err := CheckPassword(h, "pw"); !ok || err != nil {
		t.Fatalf("CheckPassword = %v, %v", ok, err)
	}
	if ok, _ := CheckPassword(h, "pW"); ok {
		t.Fatal("a wrong password matched")
	}
	for _, c := range []PasswordCost{{}, {MemoryKiB: 4, Passes: 1}, {MemoryKiB: 64}, {MemoryKiB: 1 << 20, Passes: 1}, {MemoryKiB: 64, Passes: 21}} {
		if _, err := HashPasswordCost("pw", c); ErrorCode(err) != EINVALID {
			t.Errorf("cost %+v: %v, want EINVALID", c, err)
		}
	}
}
