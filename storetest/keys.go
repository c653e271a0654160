package storetest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/muster-evac/muster"
)

// Keys is a muster.DataKeys built on the standard library alone (AES-256-
// GCM, HMAC-SHA-256), so that the stores are tested without depending on
// package seal; the server uses seal. It remembers the wrapped keys it made
// so tests can look for them in the raw database.
type Keys struct {
	master [32]byte
	mu     sync.Mutex
	made   [][]byte
}

// NewKeys returns Keys under a random master key.
func NewKeys() *Keys {
	k := &Keys{}
	_, _ = rand.Read(k.master[:])
	return k
}

// DataKeys returns the muster.DataKeys a store is opened with.
func (k *Keys) DataKeys() muster.DataKeys {
	m := hmac.New(sha256.New, k.master[:])
	m.Write([]byte("storetest audit key"))
	return muster.DataKeys{New: k.newDataKey, Unwrap: k.unwrap, AuditKey: m.Sum(nil)}
}

// Wrapped returns the wrapped data keys made so far.
func (k *Keys) Wrapped() [][]byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([][]byte(nil), k.made...)
}

func gcm(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // key length is fixed at 32 here
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

func sealAEAD(aead cipher.AEAD, plaintext []byte, aad string) []byte {
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	_, _ = rand.Read(nonce)
	return aead.Seal(nonce, nonce, plaintext, []byte(aad))
}

func openAEAD(aead cipher.AEAD, ciphertext []byte, aad string) ([]byte, error) {
	if len(ciphertext) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("ciphertext too short")
	}
	n := aead.NonceSize()
	return aead.Open(nil, ciphertext[:n], ciphertext[n:], []byte(aad))
}

func (k *Keys) newDataKey() ([]byte, error) {
	dk := make([]byte, 64) // 32 for AES, 32 for HMAC
	_, _ = rand.Read(dk)
	w := sealAEAD(gcm(k.master[:]), dk, "muster data key")
	k.mu.Lock()
	k.made = append(k.made, w)
	k.mu.Unlock()
	return w, nil
}

func (k *Keys) unwrap(wrapped []byte) (muster.Sealer, error) {
	dk, err := openAEAD(gcm(k.master[:]), wrapped, "muster data key")
	if err != nil {
		return nil, fmt.Errorf("unwrap data key: wrong master key or damaged key: %w", err)
	}
	return &sealer{aead: gcm(dk[:32]), mac: dk[32:]}, nil
}

type sealer struct {
	aead cipher.AEAD
	mac  []byte
}

func (s *sealer) Seal(plaintext []byte, aad string) []byte { return sealAEAD(s.aead, plaintext, aad) }
func (s *sealer) Open(ciphertext []byte, aad string) ([]byte, error) {
	return openAEAD(s.aead, ciphertext, aad)
}
func (s *sealer) Hash(kind, value string) []byte {
	m := hmac.New(sha256.New, s.mac)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return m.Sum(nil)
}
