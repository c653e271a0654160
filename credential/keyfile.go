package credential

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/muster-evac/muster/seal"
)

// The keyring file: JSON, mode 0600, beside the master key in the data
// folder. Its private keys (Ed25519 seeds) are sealed with AES-256-GCM
// under a data key that is itself wrapped under the master key (package
// seal), so the file alone, copied off a disk or out of a backup, signs
// nothing; each seal is bound to the deployment and key id. Public keys
// and validity are in clear, so the keyring can be read to verify without
// the master key.
const keyringFormat = "muster signing keys 1"

type keyringFile struct {
	Format      string       `json:"format"`
	Deployment  string       `json:"deployment"`
	MaxLifetime int64        `json:"max_lifetime_s"`
	WrappedKey  []byte       `json:"wrapped_key"`
	Keys        []keyFileKey `json:"keys"`
}

type keyFileKey struct {
	ID          string     `json:"id"`
	Public      []byte     `json:"public"`
	Private     []byte     `json:"private_sealed,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	RetiredAt   *time.Time `json:"retired_at,omitempty"`
	VerifyUntil *time.Time `json:"verify_until,omitempty"`
	Endorsement []byte     `json:"endorsement,omitempty"`
	// A compromised key (`muster keys revoke`): when and why.
	RevokedAt     *time.Time `json:"revoked_at,omitempty"`
	RevokedReason string     `json:"revoked_reason,omitempty"`
}

const maxKeyringFile = 1 << 20

func sealAAD(deployment string, id KeyID) string {
	return seal.AAD("signing-key", deployment+"/"+id.String(), "seed")
}

// WriteKeyringFile writes kr to path (mode 0600) with its private keys
// sealed under master, replacing the file atomically. wrapped is the data
// key wrapped under master that the file already has (from
// ReadKeyringFile), or nil for a new one.
func WriteKeyringFile(path string, kr *Keyring, master, wrapped []byte) error {
	return writeKeyringFile(path, kr, master, wrapped, true)
}

func writeKeyringFile(path string, kr *Keyring, master, wrapped []byte, replace bool) error {
	if wrapped == nil {
		var err error
		if wrapped, err = seal.NewDataKey(master); err != nil {
			return fmt.Errorf("keyring %s: %w", path, err)
		}
	}
	ring, err := seal.Open(master, wrapped)
	if err != nil {
		return fmt.Errorf("keyring %s: %w", path, err)
	}
	kr.mu.RLock()
	f := keyringFile{Format: keyringFormat, Deployment: kr.deployment, MaxLifetime: int64(kr.maxLifetime / time.Second), WrappedKey: wrapped}
	for _, k := range kr.keys {
		fk := keyFileKey{ID: k.pub.ID().String(), Public: k.pub.Key, CreatedAt: k.pub.CreatedAt, Endorsement: k.pub.Endorsement}
		if !k.pub.RetiredAt.IsZero() {
			r, u := k.pub.RetiredAt, k.pub.VerifyUntil
			fk.RetiredAt, fk.VerifyUntil = &r, &u
		}
		if k.pub.Revoked {
			r := k.pub.RevokedAt
			fk.RevokedAt, fk.RevokedReason = &r, k.pub.RevokedReason
		}
		if k.priv != nil {
			fk.Private = ring.Seal(k.priv.Seed(), sealAAD(kr.deployment, k.pub.ID()))
		}
		f.Keys = append(f.Keys, fk)
	}
	kr.mu.RUnlock()
	data, err := json.MarshalIndent(&f, "", "  ")
	if err != nil {
		return fmt.Errorf("keyring %s: %w", path, err)
	}
	return writeFileAtomic(path, append(data, '\n'), replace)
}

// ReadKeyringFile reads the keyring at path. With master, the private
// keys are unsealed (and each checked against its public key) and the
// keyring signs; with master nil it only verifies. It returns the wrapped
// data key for WriteKeyringFile.
func ReadKeyringFile(path string, master []byte) (kr *Keyring, wrapped []byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("keyring: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("keyring: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("keyring %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, nil, fmt.Errorf("keyring %s may be read or changed by other users (mode %04o); refusing to use it: run chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyringFile+1))
	if err != nil {
		return nil, nil, fmt.Errorf("keyring %s: %w", path, err)
	}
	if len(data) > maxKeyringFile {
		return nil, nil, fmt.Errorf("keyring %s is larger than %d bytes: not a keyring", path, maxKeyringFile)
	}
	kr, wrapped, err = parseKeyringFile(data, master)
	if err != nil {
		return nil, nil, fmt.Errorf("keyring %s: %w", path, err)
	}
	return kr, wrapped, nil
}

func parseKeyringFile(data []byte, master []byte) (*Keyring, []byte, error) {
	var f keyringFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, nil, err
	}
	if f.Format != keyringFormat {
		return nil, nil, fmt.Errorf("format %q, want %q", f.Format, keyringFormat)
	}
	if err := checkID("deployment", f.Deployment); err != nil {
		return nil, nil, err
	}
	if len(f.Keys) == 0 {
		return nil, nil, errors.New("no keys")
	}
	if lt := time.Duration(f.MaxLifetime) * time.Second; lt < time.Minute || lt > maxMaxLifetime {
		return nil, nil, fmt.Errorf("longest token lifetime %ds: between a minute and a year", f.MaxLifetime)
	}
	var ring *seal.Keyring
	if master != nil {
		var err error
		if ring, err = seal.Open(master, f.WrappedKey); err != nil {
			return nil, nil, err
		}
	}
	kr := &Keyring{deployment: f.Deployment, maxLifetime: time.Duration(f.MaxLifetime) * time.Second}
	for i, fk := range f.Keys {
		if len(fk.Public) != ed25519.PublicKeySize {
			return nil, nil, fmt.Errorf("key %d: not an Ed25519 public key", i+1)
		}
		k := keyEntry{pub: PublicKey{Key: ed25519.PublicKey(fk.Public), CreatedAt: fk.CreatedAt.UTC(), Endorsement: fk.Endorsement}}
		if fk.RetiredAt != nil && fk.VerifyUntil != nil {
			k.pub.RetiredAt, k.pub.VerifyUntil = fk.RetiredAt.UTC(), fk.VerifyUntil.UTC()
		}
		if fk.RevokedAt != nil {
			k.pub.Revoked, k.pub.RevokedAt, k.pub.RevokedReason = true, fk.RevokedAt.UTC(), fk.RevokedReason
		}
		if id := k.pub.ID().String(); id != fk.ID {
			return nil, nil, fmt.Errorf("key %d: id %s does not match its public key (%s)", i+1, fk.ID, id)
		}
		if ring != nil && fk.Private != nil {
			seed, err := ring.Open(fk.Private, sealAAD(f.Deployment, k.pub.ID()))
			if err != nil {
				return nil, nil, fmt.Errorf("key %s: %w", fk.ID, err)
			}
			if len(seed) != ed25519.SeedSize {
				return nil, nil, fmt.Errorf("key %s: a sealed seed of %d bytes", fk.ID, len(seed))
			}
			priv := ed25519.NewKeyFromSeed(seed)
			if !priv.Public().(ed25519.PublicKey).Equal(k.pub.Key) {
				return nil, nil, fmt.Errorf("key %s: its private key does not match its public key", fk.ID)
			}
			k.priv = priv
		}
		kr.keys = append(kr.keys, k)
	}
	b := kr.Bundle(nil, time.Now())
	if err := b.check(); err != nil {
		return nil, nil, err
	}
	if ring != nil && kr.keys[len(kr.keys)-1].priv == nil {
		return nil, nil, errors.New("the active key has no private key")
	}
	return kr, f.WrappedKey, nil
}

// writeFileAtomic writes data to a temporary file beside path (mode 0600),
// syncs it and renames it over path; without replace, it links it to path
// instead, which fails if path exists.
func writeFileAtomic(path string, data []byte, replace bool) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	name := tmp.Name()
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && replace {
		err = os.Rename(name, path)
	} else if err == nil {
		err = os.Link(name, path)
		_ = os.Remove(name)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("keyring %s exists already; refusing to replace it (use rotate for a new key)", path)
		}
	}
	if err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// CreateKeyringFile writes a new keyring to path, refusing to replace an
// existing file: losing a keyring makes every token it signed
// unverifiable.
func CreateKeyringFile(path string, kr *Keyring, master []byte) error {
	return writeKeyringFile(path, kr, master, nil, false)
}
