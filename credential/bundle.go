package credential

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// InstructionStatus is what the issuer knows of an instruction's versions.
type InstructionStatus struct {
	// Latest is the newest version issued: older versions are superseded.
	Latest uint32 `json:"latest"`
	// Revoked lists withdrawn versions, ascending. When Latest is among
	// them the whole instruction is withdrawn, every version revoked.
	Revoked []uint32 `json:"revoked,omitempty"`
}

// Statuses maps instruction ids to their status. An instruction that is
// absent has had one version, never revoked: only instructions that
// changed or were withdrawn need an entry.
type Statuses map[string]InstructionStatus

// Validate says what is wrong with st, if anything.
func (st Statuses) Validate() error {
	for id, s := range st {
		if err := checkText("instruction", id); err != nil || id == "" {
			return fmt.Errorf("statuses: instruction %q: not an id", id)
		}
		if s.Latest == 0 {
			return fmt.Errorf("statuses: instruction %s: latest version 0", id)
		}
		for i, v := range s.Revoked {
			if v == 0 || v > s.Latest || (i > 0 && v <= s.Revoked[i-1]) {
				return fmt.Errorf("statuses: instruction %s: revoked versions %v: want ascending versions from 1 to the latest (%d)", id, s.Revoked, s.Latest)
			}
		}
	}
	return nil
}

// revoked reports whether version v of an instruction with status s is
// revoked: itself, or the whole instruction.
func (s InstructionStatus) revoked(v uint32) bool {
	_, self := slices.BinarySearch(s.Revoked, v)
	_, all := slices.BinarySearch(s.Revoked, s.Latest)
	return self || all
}

// Bundle is what a verifier needs: a deployment's public keys and the
// statuses of its instructions as of a time. A server makes one from its
// keyring and its store (Keyring.Bundle) and verifies against it at once;
// an offline verifier gets one signed (Keyring.SignBundle, OpenBundle) and
// refreshes it when it has a connection (Refresh).
type Bundle struct {
	Deployment  string
	AsOf        time.Time     // when the statuses were read
	MaxLifetime time.Duration // the longest token lifetime of the deployment
	Keys        []PublicKey   // oldest first; each endorsed by the one before
	Statuses    Statuses
	// SignedBy is the key that signed the bundle (OpenBundle sets it).
	SignedBy KeyID
}

// Bundle returns the keyring's public keys with st as of asOf, unsigned:
// for verifying where the keyring is, or for SignBundle. st is not copied.
func (kr *Keyring) Bundle(st Statuses, asOf time.Time) *Bundle {
	return &Bundle{Deployment: kr.deployment, AsOf: asOf.UTC().Truncate(time.Second), MaxLifetime: kr.maxLifetime, Keys: kr.Keys(), Statuses: st}
}

// The bundle's wire form: deterministic CBOR, statuses sorted by
// instruction id, each entry [id, latest, revoked versions or null].
type wireBundle struct {
	Deployment  string       `cbor:"1,keyasint"`
	AsOf        uint64       `cbor:"2,keyasint"`
	MaxLifetime uint64       `cbor:"3,keyasint"`
	Keys        []wireKey    `cbor:"4,keyasint"`
	Statuses    []wireStatus `cbor:"5,keyasint"`
	// RevokedKeys are the ids of the keys reported compromised: tokens
	// they signed are "signed by a revoked key".
	RevokedKeys [][]byte `cbor:"6,keyasint,omitempty"`
}

type wireKey struct {
	_           struct{} `cbor:",toarray"`
	Key         []byte
	CreatedAt   uint64
	RetiredAt   uint64
	VerifyUntil uint64
	Endorsement []byte
}

type wireStatus struct {
	_           struct{} `cbor:",toarray"`
	Instruction string
	Latest      uint32
	Revoked     []uint32
}

// MaxBundleBytes bounds a bundle: 100,000 households that all changed
// make about 1.5 MB.
const MaxBundleBytes = 64 << 20

var bundleDecMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   5,
		MaxArrayElements:  4 << 20,
		MaxMapPairs:       16,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err) // fixed options: only a library change can get here
	}
	return dm
}()

// SignBundle signs b with the active key. b must be this deployment's and
// as of a time the active key exists.
func (kr *Keyring) SignBundle(b *Bundle) ([]byte, error) {
	if b.Deployment != kr.deployment {
		return nil, fmt.Errorf("signing a bundle of deployment %q with the keys of %q", b.Deployment, kr.deployment)
	}
	if err := b.check(); err != nil {
		return nil, err
	}
	kr.mu.RLock()
	k := kr.keys[len(kr.keys)-1]
	kr.mu.RUnlock()
	if k.priv == nil {
		return nil, ErrNoPrivateKey
	}
	if b.AsOf.Before(k.pub.CreatedAt.Add(-ClockSkew)) {
		return nil, fmt.Errorf("a bundle as of %s is older than the signing key (%s)", b.AsOf.Format(time.RFC3339), k.pub.CreatedAt.Format(time.RFC3339))
	}
	w := wireBundle{Deployment: b.Deployment, AsOf: unixOrZero(b.AsOf), MaxLifetime: uint64(b.MaxLifetime / time.Second)}
	for _, pk := range b.Keys {
		w.Keys = append(w.Keys, wireKey{Key: pk.Key, CreatedAt: unixOrZero(pk.CreatedAt), RetiredAt: unixOrZero(pk.RetiredAt), VerifyUntil: unixOrZero(pk.VerifyUntil), Endorsement: pk.Endorsement})
		if pk.Revoked {
			id := pk.ID()
			w.RevokedKeys = append(w.RevokedKeys, id[:])
		}
	}
	ids := make([]string, 0, len(b.Statuses))
	for id := range b.Statuses {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	w.Statuses = make([]wireStatus, 0, len(ids))
	for _, id := range ids {
		s := b.Statuses[id]
		w.Statuses = append(w.Statuses, wireStatus{Instruction: id, Latest: s.Latest, Revoked: s.Revoked})
	}
	payload, err := encMode.Marshal(&w)
	if err != nil {
		return nil, fmt.Errorf("encoding the bundle: %w", err)
	}
	return sign1(k.priv, protectedHeader(k.pub.ID(), bundleContentType), payload), nil
}

// check says what is wrong with a bundle's contents, if anything.
func (b *Bundle) check() error {
	if err := checkID("deployment", b.Deployment); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	if b.AsOf.IsZero() {
		return errors.New("bundle: no as-of time")
	}
	if len(b.Keys) == 0 {
		return errors.New("bundle: no keys")
	}
	for i, k := range b.Keys {
		if len(k.Key) != ed25519.PublicKeySize {
			return fmt.Errorf("bundle: key %d is %d bytes, an Ed25519 public key is %d", i+1, len(k.Key), ed25519.PublicKeySize)
		}
		if k.CreatedAt.IsZero() || k.RetiredAt.IsZero() != k.VerifyUntil.IsZero() || (!k.RetiredAt.IsZero() && (k.RetiredAt.Before(k.CreatedAt) || k.VerifyUntil.Before(k.RetiredAt))) {
			return fmt.Errorf("bundle: key %s: its creation, retirement and verification times do not hold together", k.ID())
		}
		if i < len(b.Keys)-1 && k.RetiredAt.IsZero() {
			return fmt.Errorf("bundle: key %s is not retired but a newer key follows it", k.ID())
		}
	}
	return b.Statuses.Validate()
}

// ErrUntrustedBundle is wrapped by OpenBundle's error for a bundle that is
// not signed by a trusted key of its deployment.
var ErrUntrustedBundle = errors.New("the bundle is not signed by a key you trust")

// OpenBundle reads a signed bundle and checks it: a bundle is trusted when
// its signing key is one of the trusted fingerprints, or is endorsed
// through the bundle's chain of keys by one of them (each key is endorsed
// by the one before at rotation, so pinning the deployment's first key
// trusts every later one). A tampered, truncated or untrusted bundle is an
// error; so is one signed by a key outside the key's life.
func OpenBundle(data []byte, trusted ...Fingerprint) (*Bundle, error) {
	if len(trusted) == 0 {
		return nil, fmt.Errorf("%w: no trusted fingerprint given (a bundle can only vouch for itself)", ErrUntrustedBundle)
	}
	if len(data) > MaxBundleBytes {
		return nil, fmt.Errorf("bundle: %d bytes, more than %d", len(data), MaxBundleBytes)
	}
	p, err := parseSign1(data)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	kid, err := parseProtected(p.protected, bundleContentType)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	var w wireBundle
	if err := bundleDecMode.Unmarshal(p.payload, &w); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	b, err := fromWire(&w)
	if err != nil {
		return nil, err
	}
	// Walk the chain: every endorsement must hold, and trust flows from a
	// pinned key to the keys after it.
	trustedFrom := -1
	for i := range b.Keys {
		k := &b.Keys[i]
		if i > 0 && !ed25519.Verify(b.Keys[i-1].Key, endorsementMessage(b.Deployment, k), k.Endorsement) {
			return nil, fmt.Errorf("bundle: key %s is not endorsed by the key before it", k.ID())
		}
		if i == 0 && len(k.Endorsement) != 0 {
			return nil, errors.New("bundle: the first key carries an endorsement")
		}
		if trustedFrom < 0 && slices.Contains(trusted, k.Fingerprint()) {
			trustedFrom = i
		}
	}
	if trustedFrom < 0 {
		return nil, fmt.Errorf("%w: none of its %d keys is one you trust (another deployment's bundle?)", ErrUntrustedBundle, len(b.Keys))
	}
	signer := -1
	for i := trustedFrom; i < len(b.Keys); i++ {
		if b.Keys[i].ID() == kid {
			signer = i
		}
	}
	if signer < 0 {
		return nil, fmt.Errorf("%w: it is signed by key %s, not one of its trusted keys", ErrUntrustedBundle, kid)
	}
	sk := &b.Keys[signer]
	if !ed25519.Verify(sk.Key, sigStructure(p.protected, p.payload), p.signature) {
		return nil, fmt.Errorf("%w: its signature does not match (it was changed after signing)", ErrUntrustedBundle)
	}
	if b.AsOf.Before(sk.CreatedAt.Add(-ClockSkew)) || (!sk.RetiredAt.IsZero() && b.AsOf.After(sk.RetiredAt.Add(ClockSkew))) {
		return nil, fmt.Errorf("%w: it is as of %s, outside the life of key %s that signed it", ErrUntrustedBundle, b.AsOf.Format(time.RFC3339), kid)
	}
	b.SignedBy = kid
	return b, nil
}

func fromWire(w *wireBundle) (*Bundle, error) {
	if w.AsOf > maxUnix || w.MaxLifetime > 10*366*24*3600 {
		return nil, errors.New("bundle: a time out of range")
	}
	b := &Bundle{Deployment: w.Deployment, AsOf: timeOrZero(w.AsOf), MaxLifetime: time.Duration(w.MaxLifetime) * time.Second, Statuses: make(Statuses, len(w.Statuses))}
	for _, k := range w.Keys {
		if k.CreatedAt > maxUnix || k.RetiredAt > maxUnix || k.VerifyUntil > maxUnix {
			return nil, errors.New("bundle: a key's time is out of range")
		}
		b.Keys = append(b.Keys, PublicKey{Key: ed25519.PublicKey(k.Key), CreatedAt: timeOrZero(k.CreatedAt), RetiredAt: timeOrZero(k.RetiredAt), VerifyUntil: timeOrZero(k.VerifyUntil), Endorsement: k.Endorsement})
	}
	for _, r := range w.RevokedKeys {
		found := false
		for i := range b.Keys {
			if id := b.Keys[i].ID(); len(r) == len(id) && string(id[:]) == string(r) && !b.Keys[i].Revoked {
				b.Keys[i].Revoked, found = true, true
			}
		}
		if !found {
			return nil, errors.New("bundle: a revoked key id that is none of its keys, or twice")
		}
	}
	for i, s := range w.Statuses {
		if i > 0 && strings.Compare(w.Statuses[i-1].Instruction, s.Instruction) >= 0 {
			return nil, fmt.Errorf("bundle: statuses not in strictly ascending order at %q", s.Instruction)
		}
		b.Statuses[s.Instruction] = InstructionStatus{Latest: s.Latest, Revoked: s.Revoked}
	}
	if err := b.check(); err != nil {
		return nil, err
	}
	return b, nil
}

// Refresh opens a newer bundle of the same deployment, trusting the keys
// of b: the way a verifier moves from the bundle it has to the next, across
// key rotations. A bundle older than b is refused, so that an old bundle
// (without the latest revocations) cannot be passed off as news.
func (b *Bundle) Refresh(data []byte) (*Bundle, error) {
	fps := make([]Fingerprint, len(b.Keys))
	for i := range b.Keys {
		fps[i] = b.Keys[i].Fingerprint()
	}
	nb, err := OpenBundle(data, fps...)
	if err != nil {
		return nil, err
	}
	if nb.Deployment != b.Deployment {
		return nil, fmt.Errorf("%w: it is deployment %s's, not %s's", ErrUntrustedBundle, nb.Deployment, b.Deployment)
	}
	if nb.AsOf.Before(b.AsOf) {
		return nil, fmt.Errorf("bundle as of %s is older than the one you have (%s): kept yours", nb.AsOf.Format(time.RFC3339), b.AsOf.Format(time.RFC3339))
	}
	return nb, nil
}

// key returns the bundle's key with id kid.
func (b *Bundle) key(kid KeyID) *PublicKey {
	for i := range b.Keys {
		if b.Keys[i].ID() == kid {
			return &b.Keys[i]
		}
	}
	return nil
}

// keyIDs returns the ids of b's keys (for messages).
func (b *Bundle) keyIDs() string {
	var s bytes.Buffer
	for i := range b.Keys {
		if i > 0 {
			s.WriteString(", ")
		}
		s.WriteString(b.Keys[i].ID().String())
	}
	return s.String()
}
