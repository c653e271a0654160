package issue

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/credential"
)

// Statuses are the store's statuses as a verifier's bundle carries them:
// only the instructions that were superseded or withdrawn (an absent one
// has one version, never revoked).
func Statuses(m map[string]muster.InstructionStatus) credential.Statuses {
	out := credential.Statuses{}
	for series, st := range m {
		if st.Latest <= 1 && len(st.Revoked) == 0 {
			continue
		}
		s := credential.InstructionStatus{Latest: uint32(st.Latest)}
		for _, v := range st.Revoked {
			s.Revoked = append(s.Revoked, uint32(v))
		}
		slices.Sort(s.Revoked)
		out[series] = s
	}
	return out
}

// Bundle returns the verifier's bundle: the keyring's public keys and the
// store's statuses as of now.
func Bundle(ctx context.Context, st muster.Store, kr *credential.Keyring) (*credential.Bundle, error) {
	m, asOf, err := st.InstructionStatuses(ctx)
	if err != nil {
		return nil, err
	}
	return kr.Bundle(Statuses(m), asOf), nil
}

// Verdict is a token's verdict against the store.
type Verdict struct {
	credential.Verdict
	// Issued: the store holds this version (a genuine token it does not
	// hold was signed with the keys but never issued by the server).
	Issued bool
	// Newer is, for a superseded token, the id of the version in force;
	// Changed says which parts of the instruction changed since, in
	// muster.Changed's words: which, never what they are now (the holder
	// of an old copy is not told where the household goes now).
	Newer   string
	Changed []string
}

// Verify checks a token against the keyring and the store's statuses as
// of now. It reads no personal data: what changed comes from the versions'
// change lists, which are in clear.
func Verify(ctx context.Context, st muster.Store, kr *credential.Keyring, token string, now time.Time) (Verdict, error) {
	b, err := Bundle(ctx, st, kr)
	if err != nil {
		return Verdict{}, err
	}
	return VerifyWith(ctx, st, b, token, now)
}

// VerifyWith is Verify against a bundle made by Bundle a moment ago (a
// server keeps one for a second or two, rather than read every status
// for every request); the versions of the token's instruction are read
// from the store now.
func VerifyWith(ctx context.Context, st muster.Store, b *credential.Bundle, token string, now time.Time) (Verdict, error) {
	v := Verdict{Verdict: credential.Verify(token, b, now)}
	c := v.Claims
	if c == nil {
		return v, nil
	}
	versions, _, err := st.ListInstructions(ctx, muster.InstructionFilter{Series: c.Instruction, Limit: 10_000}, false)
	if err != nil {
		return Verdict{}, err
	}
	// The bundle may be a moment old (a server keeps one for a second or
	// two, and hears of another process's issuance only when it polls):
	// the versions just read say whether this one was replaced or
	// withdrawn since, and they win.
	if v.Status == credential.Current {
		latest := c.Version
		for _, in := range versions {
			if uint32(in.Version) > latest {
				latest = uint32(in.Version)
			}
		}
		for _, in := range versions {
			if in.Version == int(c.Version) && in.Status == muster.InstructionRevoked {
				v.Status, v.Reason = credential.Revoked, fmt.Sprintf("version %d of instruction %s was withdrawn by the issuer", c.Version, c.Instruction)
			}
		}
		if v.Status == credential.Current && latest > c.Version {
			v.Status, v.Latest = credential.Superseded, latest
			v.Reason = fmt.Sprintf("version %d of instruction %s was replaced by version %d: only the newest counts", c.Version, c.Instruction, latest)
		}
	}
	seen := map[string]bool{}
	for _, in := range versions {
		switch {
		case in.Version == int(c.Version):
			v.Issued = true
		case in.Version > int(c.Version) && v.Status == credential.Superseded:
			if in.Status == muster.InstructionCurrent {
				v.Newer = in.ID
			}
			for _, ch := range in.Changes {
				if !seen[ch] {
					seen[ch] = true
					v.Changed = append(v.Changed, ch)
				}
			}
		}
	}
	if !v.Issued {
		v.Warnings = append(v.Warnings, "signed with this deployment's keys, but the server never issued this version")
	}
	return v, nil
}
