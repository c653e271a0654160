package seal

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"

	"github.com/muster-evac/muster"
)

// The audit log's keys are derived from the master key, so that they are
// kept where it is kept (a file beside or away from the data folder, or
// MUSTER_MASTER_KEY), never in the database, and are the same for every
// instance that shares a database and its master key. A wipe destroys the
// data key, not the master key: the audit log still verifies after one.
// Anyone holding the master key can also forge the audit keys; the signed
// checkpoints already shipped elsewhere (a log collector, another host)
// are what that person cannot take back.

// AuditKey returns the key of the audit chain's MACs
// (muster.AuditEntry.ChainMAC): HKDF-SHA-256 of the master key with the
// label "muster audit chain v1".
func AuditKey(master []byte) []byte {
	return derive(master, "muster audit chain v1", KeySize)
}

// AuditSigningKey returns the Ed25519 key that signs audit checkpoints,
// from a seed derived like AuditKey under its own label. Its public half
// can be given to whoever checks checkpoints without the master key.
func AuditSigningKey(master []byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(derive(master, "muster audit checkpoint v1", ed25519.SeedSize))
}

func derive(master []byte, label string, n int) []byte {
	k, err := hkdf.Key(sha256.New, master, nil, label, n)
	if err != nil {
		panic("seal: hkdf: " + err.Error()) // only for n > 255*32
	}
	return k
}

// DataKeys returns what a store is opened with under master: new data
// keys wrapped by it, wrapped keys unwrapped into a Keyring, and the audit
// chain's key.
func DataKeys(master []byte) muster.DataKeys {
	return muster.DataKeys{
		New:      func() ([]byte, error) { return NewDataKey(master) },
		Unwrap:   func(w []byte) (muster.Sealer, error) { return Open(master, w) },
		AuditKey: AuditKey(master),
	}
}
