// Package seal encrypts personal fields at rest and hashes them for lookup.
//
// # Keys
//
// Two keys, so that the key that must be kept off the database server can
// be small, rare and easy to destroy:
//
//   - The master key: 32 random bytes in a file (GenerateMasterKey,
//     LoadMasterKey) or in the MUSTER_MASTER_KEY environment variable. It
//     never touches the database.
//   - The data key: 32 random bytes made once per database (NewDataKey) and
//     stored in the database only wrapped, that is encrypted with
//     AES-256-GCM under the master key. Open unwraps it into a Keyring.
//     Destroying the master key (or the wrapped data key) makes every
//     sealed field unreadable: that is what "muster wipe" relies on.
//     Rewrap moves the data key to a new master key without touching the
//     sealed fields.
//
// From the data key, HKDF-SHA-256 derives two independent keys: one for
// AES-256-GCM field encryption, one for HMAC-SHA-256 lookup hashes.
//
// # Key file
//
// One line with the key as 64 hex digits or as base64 (standard or URL
// alphabet, padded or not); blank lines and lines starting with '#' are
// ignored. LoadMasterKey refuses a file that the group or others may read
// or write (mode & 0o077 != 0) and says which chmod fixes it: a master key
// others can read protects nothing. When no file is named it reads
// MUSTER_MASTER_KEY in the same format; a named file wins over the
// environment.
//
// # Sealed values
//
// Seal returns version(1 byte, 0x01) || nonce(12 random bytes) ||
// AES-256-GCM ciphertext and 16-byte tag. The additional data is the
// version byte followed by the caller's aad string, which names the row and
// column the value belongs to (use AAD: "household:H0001:phone"), so a
// sealed phone cannot be moved to another household or column and still
// open. Random 96-bit nonces are safe for about 2^32 seals under one data
// key; a registry seals a few fields per household, far below that.
//
// Hash gives a keyed HMAC-SHA-256 of a normalised value (the E.164 phone,
// the lower-cased e-mail) for equality lookups: the same value always
// gives the same hash under one data key, and nothing can be learnt from
// it without the key.
//
// A Keyring is safe for concurrent use.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size in bytes of master and data keys.
const KeySize = 32

const (
	version   = 0x01
	nonceSize = 12
	tagSize   = 16
	// Overhead is how many bytes Seal adds to a plaintext.
	Overhead = 1 + nonceSize + tagSize
)

// ErrWrongMasterKey is returned by Open and Rewrap when the master key is
// not the one the data key was wrapped under (or the wrapped key was
// altered).
var ErrWrongMasterKey = errors.New("the master key does not open this database's data key")

// ErrCannotOpen is wrapped by every error Keyring.Open returns for a
// sealed value that does not open.
var ErrCannotOpen = errors.New("sealed value cannot be opened")

// wrapAAD binds a wrapped data key to its purpose, so no other sealed
// value can be passed off as one.
var wrapAAD = []byte{version, 'm', 'u', 's', 't', 'e', 'r', ' ', 'd', 'a', 't', 'a', ' ', 'k', 'e', 'y'}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func checkMaster(master []byte) error {
	if len(master) != KeySize {
		return fmt.Errorf("master key is %d bytes, want %d", len(master), KeySize)
	}
	return nil
}

// NewDataKey makes a random data key and returns it wrapped under master,
// ready to be stored in the database.
func NewDataKey(master []byte) (wrapped []byte, err error) {
	dataKey := make([]byte, KeySize)
	_, _ = rand.Read(dataKey) // never fails (crypto/rand crashes the program instead)
	return wrap(master, dataKey)
}

func wrap(master, dataKey []byte) ([]byte, error) {
	if err := checkMaster(master); err != nil {
		return nil, fmt.Errorf("wrapping the data key: %w", err)
	}
	aead, err := newGCM(master)
	if err != nil {
		return nil, fmt.Errorf("wrapping the data key: %w", err)
	}
	out := make([]byte, 1+nonceSize, Overhead+KeySize)
	out[0] = version
	_, _ = rand.Read(out[1:])
	return aead.Seal(out, out[1:1+nonceSize], dataKey, wrapAAD), nil
}

func unwrap(master, wrapped []byte) ([]byte, error) {
	if err := checkMaster(master); err != nil {
		return nil, fmt.Errorf("opening the data key: %w", err)
	}
	if len(wrapped) != Overhead+KeySize {
		return nil, fmt.Errorf("opening the data key: the wrapped key is %d bytes, want %d: not a muster data key", len(wrapped), Overhead+KeySize)
	}
	if wrapped[0] != version {
		return nil, fmt.Errorf("opening the data key: unknown format version %d", wrapped[0])
	}
	aead, err := newGCM(master)
	if err != nil {
		return nil, fmt.Errorf("opening the data key: %w", err)
	}
	dataKey, err := aead.Open(nil, wrapped[1:1+nonceSize], wrapped[1+nonceSize:], wrapAAD)
	if err != nil {
		return nil, ErrWrongMasterKey
	}
	return dataKey, nil
}

// Rewrap returns the data key wrapped under newMaster, for rotating the
// master key; the sealed fields stay as they are.
func Rewrap(oldMaster, newMaster, wrapped []byte) ([]byte, error) {
	dataKey, err := unwrap(oldMaster, wrapped)
	if err != nil {
		return nil, err
	}
	return wrap(newMaster, dataKey)
}

// Keyring seals, opens and hashes personal fields with one database's
// data key.
type Keyring struct {
	aead    cipher.AEAD
	hashKey []byte
}

// Open unwraps the data key with master. A wrong master key gives
// ErrWrongMasterKey.
func Open(master, wrapped []byte) (*Keyring, error) {
	dataKey, err := unwrap(master, wrapped)
	if err != nil {
		return nil, err
	}
	encKey, err := hkdf.Key(sha256.New, dataKey, nil, "muster seal v1: AES-256-GCM field encryption", KeySize)
	if err != nil {
		return nil, fmt.Errorf("deriving the field key: %w", err)
	}
	hashKey, err := hkdf.Key(sha256.New, dataKey, nil, "muster seal v1: HMAC-SHA-256 lookup hashes", KeySize)
	if err != nil {
		return nil, fmt.Errorf("deriving the hash key: %w", err)
	}
	aead, err := newGCM(encKey)
	if err != nil {
		return nil, fmt.Errorf("field cipher: %w", err)
	}
	return &Keyring{aead: aead, hashKey: hashKey}, nil
}

func additionalData(aad string) []byte {
	b := make([]byte, 1+len(aad))
	b[0] = version
	copy(b[1:], aad)
	return b
}

// Seal encrypts plaintext for the row and column aad names (see AAD). Each
// call uses a fresh random nonce: sealing one value twice gives two
// different results.
func (k *Keyring) Seal(plaintext []byte, aad string) []byte {
	out := make([]byte, 1+nonceSize, Overhead+len(plaintext))
	out[0] = version
	fillNonce(out[1:])
	return k.aead.Seal(out, out[1:1+nonceSize], plaintext, additionalData(aad))
}

// Open decrypts a value sealed by Seal with the same aad. Any change to the
// sealed bytes, another aad or another data key gives an error wrapping
// ErrCannotOpen.
func (k *Keyring) Open(sealed []byte, aad string) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("%w (%s): %d bytes is shorter than any sealed value", ErrCannotOpen, aad, len(sealed))
	}
	if sealed[0] != version {
		return nil, fmt.Errorf("%w (%s): unknown format version %d", ErrCannotOpen, aad, sealed[0])
	}
	pt, err := k.aead.Open(nil, sealed[1:1+nonceSize], sealed[1+nonceSize:], additionalData(aad))
	if err != nil {
		return nil, fmt.Errorf("%w (%s): altered, sealed for another row or column, or under another data key", ErrCannotOpen, aad)
	}
	if pt == nil {
		pt = []byte{}
	}
	return pt, nil
}

// SealString is Seal for a string.
func (k *Keyring) SealString(s, aad string) []byte { return k.Seal([]byte(s), aad) }

// OpenString is Open returning a string.
func (k *Keyring) OpenString(sealed []byte, aad string) (string, error) {
	pt, err := k.Open(sealed, aad)
	return string(pt), err
}

// Hash returns HMAC-SHA-256 of value under the keyring's hash key, in the
// domain kind ("phone", "email"): equal values of one kind hash equal, the
// same value under two kinds does not. Normalise value first.
func (k *Keyring) Hash(kind, value string) []byte {
	m := hmac.New(sha256.New, k.hashKey)
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(kind)))
	m.Write(n[:])
	m.Write([]byte(kind))
	m.Write([]byte(value))
	return m.Sum(nil)
}

// AAD names a field for Seal and Open: AAD("household", "H0001", "phone")
// is "household:H0001:phone". Backslashes and colons inside the parts are
// escaped, so distinct parts always give distinct names.
func AAD(table, id, column string) string {
	esc := strings.NewReplacer(`\`, `\\`, `:`, `\:`)
	return esc.Replace(table) + ":" + esc.Replace(id) + ":" + esc.Replace(column)
}
