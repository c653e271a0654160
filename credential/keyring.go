package credential

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Prefix starts every token: the format (muster, version 1) and a
// separator, in QR alphanumeric characters like the rest.
const Prefix = "MU1:"

// ClockSkew is how far apart the clocks of the signer and of a verifier
// may be: a token issued up to this long after its key's retirement (or
// before its creation) is still accepted as signed in the key's time.
const ClockSkew = 5 * time.Minute

// DefaultMaxLifetime is a keyring's default longest token lifetime.
const DefaultMaxLifetime = 14 * 24 * time.Hour

const maxMaxLifetime = 366 * 24 * time.Hour

// KeyID names a key in a token's protected header: the first 8 bytes of
// SHA-256 of its public key. It finds the key; the signature, checked
// against the whole key, is what proves anything.
type KeyID [8]byte

func (k KeyID) String() string { return hex.EncodeToString(k[:]) }

// Fingerprint is SHA-256 of a public key: what a verifier pins to trust a
// deployment (the fingerprint of any of its keys, normally its first).
type Fingerprint [sha256.Size]byte

func (f Fingerprint) String() string { return hex.EncodeToString(f[:]) }

// ParseFingerprint reads a fingerprint as 64 hex digits (spaces and colons
// between them allowed).
func ParseFingerprint(s string) (Fingerprint, error) {
	var f Fingerprint
	clean := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != ' ' && c != ':' {
			clean = append(clean, c)
		}
	}
	if len(clean) != 2*len(f) {
		return f, fmt.Errorf("fingerprint %q: want %d hex digits, got %d", s, 2*len(f), len(clean))
	}
	if _, err := hex.Decode(f[:], clean); err != nil {
		return f, fmt.Errorf("fingerprint %q: %w", s, err)
	}
	return f, nil
}

// PublicKey is a deployment's verification key with its validity.
type PublicKey struct {
	Key       ed25519.PublicKey
	CreatedAt time.Time
	// RetiredAt is when the key stopped signing (zero while it signs).
	RetiredAt time.Time
	// VerifyUntil is zero while the key signs; once retired, it is the
	// retirement plus the keyring's longest token lifetime: no token the
	// key signed is valid after it, and neither is the key.
	VerifyUntil time.Time
	// Endorsement is the previous key's signature of this one, made at
	// rotation; nil for a deployment's first key. It lets a verifier that
	// trusts an older key trust the newer one.
	Endorsement []byte
	// Revoked marks a key reported compromised (`muster keys revoke`):
	// every token it signed is "signed by a revoked key", whatever it
	// says, and bundles carry its id so that offline verifiers say so too.
	Revoked bool
	// RevokedAt and RevokedReason say when and why (in the keyring file
	// only: a bundle carries the ids).
	RevokedAt     time.Time
	RevokedReason string
}

// ID returns the key's id.
func (k PublicKey) ID() KeyID {
	sum := sha256.Sum256(k.Key)
	var id KeyID
	copy(id[:], sum[:])
	return id
}

// Fingerprint returns SHA-256 of the key.
func (k PublicKey) Fingerprint() Fingerprint { return sha256.Sum256(k.Key) }

// endorsementMessage is what a key signs to endorse its successor: a
// domain separator, the deployment, the new key and its creation time.
func endorsementMessage(deployment string, k *PublicKey) []byte {
	m := make([]byte, 0, 64+len(deployment))
	m = append(m, "muster key endorsement v1\x00"...)
	m = append(m, deployment...)
	m = append(m, 0)
	m = append(m, k.Key...)
	return binary.BigEndian.AppendUint64(m, uint64(k.CreatedAt.Unix()))
}

// Keyring holds a deployment's signing keys, oldest first: the last one
// signs, the earlier ones are retired and kept (public part only) while
// tokens they signed may still be valid. It is safe for concurrent use.
type Keyring struct {
	mu          sync.RWMutex
	deployment  string
	maxLifetime time.Duration
	keys        []keyEntry
}

type keyEntry struct {
	pub  PublicKey
	priv ed25519.PrivateKey // nil once retired, or in a keyring read without the master key
}

// NewKeyring makes a deployment's keyring with its first signing key.
// Tokens it signs live at most maxLifetime (DefaultMaxLifetime if 0).
func NewKeyring(deployment string, maxLifetime time.Duration, now time.Time) (*Keyring, error) {
	if err := checkID("deployment", deployment); err != nil {
		return nil, err
	}
	if maxLifetime == 0 {
		maxLifetime = DefaultMaxLifetime
	}
	if maxLifetime < time.Minute || maxLifetime > maxMaxLifetime {
		return nil, fmt.Errorf("longest token lifetime %s: between a minute and a year", maxLifetime)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("making a signing key: %w", err)
	}
	k := keyEntry{pub: PublicKey{Key: pub, CreatedAt: now.UTC().Truncate(time.Second)}, priv: priv}
	return &Keyring{deployment: deployment, maxLifetime: maxLifetime, keys: []keyEntry{k}}, nil
}

// Deployment returns the id of the deployment the keyring signs for.
func (kr *Keyring) Deployment() string { return kr.deployment }

// MaxLifetime returns the longest lifetime of a token the keyring signs.
func (kr *Keyring) MaxLifetime() time.Duration { return kr.maxLifetime }

// Keys returns the keyring's public keys, oldest first.
func (kr *Keyring) Keys() []PublicKey {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	out := make([]PublicKey, len(kr.keys))
	for i, k := range kr.keys {
		out[i] = k.pub
	}
	return out
}

// Active returns the key that signs.
func (kr *Keyring) Active() PublicKey {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return kr.keys[len(kr.keys)-1].pub
}

// CanSign reports whether the keyring holds the active private key (it
// does not when read without the master key).
func (kr *Keyring) CanSign() bool {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return kr.keys[len(kr.keys)-1].priv != nil
}

// ErrNoPrivateKey is returned when signing with a keyring read without
// its private keys.
var ErrNoPrivateKey = errors.New("the keyring holds no private key: it was read without the master key")

// Rotate makes a new signing key, endorsed by the current one, and retires
// the current one: it signs no more, and its private key is forgotten, but
// it verifies the tokens it signed until they have all expired, that is
// until now plus the longest token lifetime. Save the keyring afterwards.
func (kr *Keyring) Rotate(now time.Time) (PublicKey, error) {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	now = now.UTC().Truncate(time.Second)
	old := &kr.keys[len(kr.keys)-1]
	if old.priv == nil {
		return PublicKey{}, ErrNoPrivateKey
	}
	if now.Before(old.pub.CreatedAt) {
		return PublicKey{}, fmt.Errorf("rotating at %s, before the current key was made (%s)", now.Format(time.RFC3339), old.pub.CreatedAt.Format(time.RFC3339))
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return PublicKey{}, fmt.Errorf("making a signing key: %w", err)
	}
	k := keyEntry{pub: PublicKey{Key: pub, CreatedAt: now}, priv: priv}
	k.pub.Endorsement = ed25519.Sign(old.priv, endorsementMessage(kr.deployment, &k.pub))
	old.pub.RetiredAt = now
	old.pub.VerifyUntil = now.Add(kr.maxLifetime)
	old.priv = nil
	kr.keys = append(kr.keys, k)
	return k.pub, nil
}

// Sign signs claims with the active key and returns the token: Prefix and
// the base45 of the COSE_Sign1 message. An empty Issuer is the keyring's
// deployment, and a zero IssuedAt is now. The token must expire within the
// keyring's longest lifetime of now, so that a key retired now verifies
// every token it signed.
func (kr *Keyring) Sign(c Claims, now time.Time) (string, error) {
	b, err := kr.SignBytes(c, now)
	if err != nil {
		return "", err
	}
	return encodeBase45After(Prefix, b), nil
}

// SignBytes is Sign returning the COSE_Sign1 message itself, before base45.
func (kr *Keyring) SignBytes(c Claims, now time.Time) ([]byte, error) {
	if c.Issuer == "" {
		c.Issuer = kr.deployment
	}
	if c.Issuer != kr.deployment {
		return nil, fmt.Errorf("signing instruction %s: issuer %q is not this deployment (%s)", c.Instruction, c.Issuer, kr.deployment)
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = now
	}
	kr.mu.RLock()
	k := kr.keys[len(kr.keys)-1]
	kr.mu.RUnlock()
	if k.priv == nil {
		return nil, ErrNoPrivateKey
	}
	if c.IssuedAt.After(now.Add(ClockSkew)) || c.IssuedAt.Before(k.pub.CreatedAt.Add(-ClockSkew)) {
		return nil, fmt.Errorf("signing instruction %s: issued at %s, not within the signing key's life (made %s) and now (%s)",
			c.Instruction, c.IssuedAt.UTC().Format(time.RFC3339), k.pub.CreatedAt.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if c.NotAfter.Sub(now) > kr.maxLifetime || c.NotAfter.Sub(c.IssuedAt) > kr.maxLifetime {
		return nil, fmt.Errorf("signing instruction %s: it would be valid until %s, longer than the keyring's longest token lifetime (%s)",
			c.Instruction, c.NotAfter.UTC().Format(time.RFC3339), kr.maxLifetime)
	}
	payload, err := c.marshal()
	if err != nil {
		return nil, fmt.Errorf("signing instruction %s: %w", c.Instruction, err)
	}
	msg := sign1(k.priv, protectedHeader(k.pub.ID(), ""), payload)
	if len(msg) > MaxTokenBytes {
		return nil, fmt.Errorf("signing instruction %s: the token would be %d bytes, more than %d: shorten its ids", c.Instruction, len(msg), MaxTokenBytes)
	}
	return msg, nil
}

// Revoke marks the key id as compromised, at now, for reason: tokens it
// signed no longer verify as genuine (Verify says RevokedKey) and bundles
// name it. The active key cannot be revoked: rotate first (its successor
// must not be endorsed by a key already known to be compromised after
// the fact; rotating at once is what limits the damage). Save the
// keyring afterwards.
func (kr *Keyring) Revoke(id KeyID, reason string, now time.Time) (PublicKey, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 200 || strings.ContainsAny(reason, "\r\n") {
		return PublicKey{}, errors.New("revoking a key: say why in one line of at most 200 bytes (--reason)")
	}
	kr.mu.Lock()
	defer kr.mu.Unlock()
	for i := range kr.keys {
		k := &kr.keys[i]
		if k.pub.ID() != id {
			continue
		}
		if i == len(kr.keys)-1 {
			return PublicKey{}, fmt.Errorf("key %s signs now: rotate first (muster keys rotate), then revoke it", id)
		}
		if k.pub.Revoked {
			return k.pub, fmt.Errorf("key %s was revoked already, at %s: %s", id, k.pub.RevokedAt.Format(time.RFC3339), k.pub.RevokedReason)
		}
		k.pub.Revoked, k.pub.RevokedAt, k.pub.RevokedReason = true, now.UTC().Truncate(time.Second), reason
		return k.pub, nil
	}
	return PublicKey{}, fmt.Errorf("key %s is not in the keyring of %s", id, kr.deployment)
}

// ParseKeyID reads a key id: 16 hex digits.
func ParseKeyID(s string) (KeyID, error) {
	var id KeyID
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("key id %q: want %d hex digits", s, 2*len(id))
	}
	copy(id[:], b)
	return id, nil
}

// TokenKeyID reads which key signed token, without checking the
// signature: the issuer's own records say which tokens a revoked key
// signed (they must be issued again), not what a stranger presents.
func TokenKeyID(token string) (KeyID, error) {
	token = strings.Trim(token, "\r\n\t")
	if len(token) > 2*MaxTokenBytes || !strings.HasPrefix(token, Prefix) {
		return KeyID{}, errors.New("not a muster instruction token")
	}
	msg, err := decodeBase45(token[len(Prefix):])
	if err != nil {
		return KeyID{}, fmt.Errorf("token: %w", err)
	}
	p, err := parseSign1(msg)
	if err != nil {
		return KeyID{}, fmt.Errorf("token: %w", err)
	}
	return parseProtected(p.protected, "")
}

// Usable reports whether key id is in the keyring and not revoked: a
// token it signed still verifies as genuine.
func (kr *Keyring) Usable(id KeyID) bool {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	for i := range kr.keys {
		if kr.keys[i].pub.ID() == id {
			return !kr.keys[i].pub.Revoked
		}
	}
	return false
}
