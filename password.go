package muster

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: RFC 9106's second recommended option (64 MiB, 3
// passes) with 2 lanes for a 2-core server; about 50-100 ms a login here,
// slow enough to make a stolen hash expensive to guess.
const (
	argonTime    = 3
	argonMemory  = 64 * 1024
	argonThreads = 2
	argonKeyLen  = 32

	// maxArgonMemory bounds what a stored hash may make CheckPassword
	// allocate (KiB): a tampered hash must not exhaust the server.
	maxArgonMemory = 256 * 1024
)

// HashPassword returns an argon2id hash of password in the PHC string
// format ($argon2id$v=19$m=...,t=...,p=...$salt$hash), so that parameters
// can change later without invalidating stored hashes.
func HashPassword(password string) (string, error) {
	return HashPasswordCost(password, DefaultPasswordCost)
}

// PasswordCost is the work an argon2id hash takes: memory in KiB and
// passes over it.
type PasswordCost struct {
	MemoryKiB uint32
	Passes    uint32
}

// DefaultPasswordCost is what HashPassword uses.
var DefaultPasswordCost = PasswordCost{MemoryKiB: argonMemory, Passes: argonTime}

// HashPasswordCost is HashPassword at another cost. The cost is written
// into the hash and CheckPassword reads it from there, so a hash made
// cheaply (the test suites' users, which log in thousands of times) checks
// cheaply while every hash the server and the CLI make costs the default.
func HashPasswordCost(password string, c PasswordCost) (string, error) {
	if c.MemoryKiB < 8 || c.MemoryKiB > maxArgonMemory || c.Passes == 0 || c.Passes > 20 {
		return "", Errorf(EINVALID, "password cost: memory %d KiB, %d passes out of range", c.MemoryKiB, c.Passes)
	}
	if password == "" {
		return "", Errorf(EINVALID, "password: empty")
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, c.Passes, c.MemoryKiB, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, c.MemoryKiB, c.Passes, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches hash (from HashPassword).
// A malformed hash is an error, never a match.
func CheckPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, Errorf(EINVALID, "password hash: not an argon2id PHC string")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, Errorf(EINVALID, "password hash: unsupported version %q", parts[2])
	}
	var mem, iters uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iters, &threads); err != nil ||
		mem < 8 || mem > maxArgonMemory || iters == 0 || iters > 20 || threads == 0 || threads > 16 {
		return false, Errorf(EINVALID, "password hash: bad parameters %q", parts[3])
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return false, Errorf(EINVALID, "password hash: bad salt")
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 64 {
		return false, Errorf(EINVALID, "password hash: bad key")
	}
	got := argon2.IDKey([]byte(password), salt, iters, mem, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// NewSecret returns 256 random bits, URL-safe, for a token or a capability
// link; store only TokenHash of it.
func NewSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand does not fail on Linux; if it ever did, no secret is
		// better than a guessable one.
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
