package credential

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"time"
)

// Status is a verdict on a token. The zero value is Forged: a verdict that
// was never reached says the token is not to be believed.
type Status int

const (
	// Forged: not a token this deployment signed as it stands: a bad
	// signature, a changed or missing character, a wrong prefix, a
	// malformed envelope, or a key the deployment never had.
	Forged Status = iota
	// UnknownKey: well formed, but signed by a key the bundle does not
	// know: another deployment's token (or one signed after the bundle
	// was made: refresh it). It proves nothing here.
	UnknownKey
	// Expired: genuine, but past its expiry (or its key's verification
	// window).
	Expired
	// Revoked: genuine, but withdrawn by the issuer.
	Revoked
	// Superseded: genuine, but a newer version of the instruction exists.
	Superseded
	// Current: genuine and current. The only status to act on.
	Current
	// RevokedKey: signed by a key the deployment reported compromised
	// (`muster keys revoke`): whoever stole it could have made it, so it
	// proves nothing, whatever it says.
	RevokedKey
)

func (s Status) String() string {
	switch s {
	case Current:
		return "genuine and current"
	case Superseded:
		return "genuine but superseded"
	case Revoked:
		return "revoked"
	case Expired:
		return "expired"
	case UnknownKey:
		return "signed by an unknown key"
	case RevokedKey:
		return "signed by a revoked key"
	default:
		return "forged"
	}
}

// Verdict is what Verify found.
type Verdict struct {
	Status Status
	// Reason says why, in words, for every status but Current.
	Reason string
	// Claims are the signed claims, set only when the signature is good
	// (Current, Superseded, Revoked, Expired).
	Claims *Claims
	// KeyID is the key the token names (set when its envelope could be read).
	KeyID KeyID
	// ClaimedIssuer is the deployment an UnknownKey token says issued it:
	// unverified, for the message only.
	ClaimedIssuer string
	// Latest is, for Superseded, the newest version of the instruction.
	Latest uint32
	// Changes are, for Superseded after CompareWith, what changed.
	Changes []Change
	// Deployment, AsOf and Age describe the bundle verified against: the
	// statuses are only as fresh as AsOf, Age before the verification.
	Deployment string
	AsOf       time.Time
	Age        time.Duration
	// Warnings are things to know that do not change the status.
	Warnings []string
}

// Genuine reports whether the token was signed by a key of the bundle's
// deployment, whatever its status now.
func (v *Verdict) Genuine() bool { return v.Claims != nil }

// CompareWith records, for a superseded token, what the newer version
// changed; newer must be the claims of that instruction's newer version
// (from the server, or from the newer token verified). It reports whether
// it did.
func (v *Verdict) CompareWith(newer *Claims) bool {
	if v.Status != Superseded || v.Claims == nil || newer == nil || newer.Instruction != v.Claims.Instruction || newer.Version <= v.Claims.Version {
		return false
	}
	v.Changes = Compare(v.Claims, newer)
	return true
}

// StaleAfter is the age past which a verdict warns that its bundle is old.
const StaleAfter = 24 * time.Hour

// Verify checks a token against a bundle at time now. It never panics and
// reads no more than about 2·MaxTokenBytes of token; a verdict is always
// returned. Line breaks and tabs around the token are ignored.
// The order of the checks decides which of several things is said: a token
// is forged or unknown before anything else; a genuine one is revoked,
// else superseded, else expired, else current.
func Verify(token string, b *Bundle, now time.Time) Verdict {
	if b == nil {
		return Verdict{Status: Forged, Reason: "no keys to check it against"}
	}
	v := Verdict{Deployment: b.Deployment, AsOf: b.AsOf, Age: now.Sub(b.AsOf)}
	if v.Age > StaleAfter {
		v.Warnings = append(v.Warnings, fmt.Sprintf("the bundle is %s old: revocations since then are not known; refresh it when you can", age(v.Age)))
	}
	if v.Age < 0 {
		v.Warnings = append(v.Warnings, fmt.Sprintf("the bundle is dated %s, after this device's clock: check the clock", b.AsOf.UTC().Format(time.RFC3339)))
	}
	forged := func(format string, args ...any) Verdict {
		v.Status, v.Reason = Forged, fmt.Sprintf(format, args...)
		return v
	}
	// A pasted token may carry a line break; not a space, which base45
	// uses (a token can end with one).
	token = strings.Trim(token, "\r\n\t")
	if len(token) > 2*MaxTokenBytes {
		return forged("%d characters: far longer than any muster token", len(token))
	}
	if !strings.HasPrefix(token, Prefix) {
		if strings.HasPrefix(strings.ToUpper(token), Prefix) {
			return forged("its letters are lower case: a muster token is upper case")
		}
		return forged("not a muster instruction token (it does not start with %s)", Prefix)
	}
	msg, err := decodeBase45(token[len(Prefix):])
	if err != nil {
		return forged("a character is changed or missing (%v)", err)
	}
	p, err := parseSign1(msg)
	if err != nil {
		return forged("changed or truncated: %v", err)
	}
	kid, err := parseProtected(p.protected, "")
	if err != nil {
		return forged("changed or not a token: %v", err)
	}
	v.KeyID = kid
	key := b.key(kid)
	if key == nil {
		return unknownKey(v, p.payload, b)
	}
	if !ed25519.Verify(key.Key, sigStructure(p.protected, p.payload), p.signature) {
		return forged("the signature does not match: the token was changed, or made by someone without the key")
	}
	if key.Revoked {
		// Before its claims: whatever they say was possibly said by a thief.
		v.Status, v.Reason = RevokedKey, fmt.Sprintf("signed by key %s, which deployment %s reported compromised: it proves nothing; ask for the current instruction", kid, b.Deployment)
		return v
	}
	c, err := unmarshalClaims(p.payload)
	if err != nil {
		// Only a holder of the key can get here: a newer muster, or a bug.
		return forged("signed by key %s but its claims cannot be read (%v): made by another version of muster?", kid, err)
	}
	if c.Issuer != b.Deployment {
		return forged("signed by key %s of deployment %s but claims to be from %s", kid, b.Deployment, c.Issuer)
	}
	if c.IssuedAt.Before(key.CreatedAt.Add(-ClockSkew)) || (!key.RetiredAt.IsZero() && c.IssuedAt.After(key.RetiredAt.Add(ClockSkew))) {
		return forged("signed by key %s at %s, outside the key's life (%s): a copy of a retired key was used",
			kid, c.IssuedAt.UTC().Format(time.RFC3339), life(key))
	}
	v.Claims = c
	if st, ok := b.Statuses[c.Instruction]; ok {
		switch {
		case st.Latest < c.Version:
			// Issued after the bundle: what it says of older versions
			// says nothing of this one.
			v.Warnings = append(v.Warnings, fmt.Sprintf("version %d is newer than the bundle knows (%d): refresh the bundle", c.Version, st.Latest))
		case st.revoked(c.Version):
			v.Status = Revoked
			if c.Version == st.Latest || !st.revoked(st.Latest) {
				v.Reason = fmt.Sprintf("version %d of instruction %s was withdrawn by the issuer", c.Version, c.Instruction)
			} else {
				v.Reason = fmt.Sprintf("instruction %s was withdrawn by the issuer (its latest version, %d, and every earlier one)", c.Instruction, st.Latest)
			}
			return v
		case st.Latest > c.Version:
			v.Status, v.Latest = Superseded, st.Latest
			v.Reason = fmt.Sprintf("version %d of instruction %s was replaced by version %d: only the newest counts", c.Version, c.Instruction, st.Latest)
			return v
		}
	}
	if !now.Before(c.NotAfter) {
		v.Status = Expired
		v.Reason = fmt.Sprintf("it expired at %s", c.NotAfter.UTC().Format(time.RFC3339))
		return v
	}
	if !key.VerifyUntil.IsZero() && now.After(key.VerifyUntil) {
		v.Status = Expired
		v.Reason = fmt.Sprintf("its key %s was retired at %s and verifies nothing after %s", kid, key.RetiredAt.UTC().Format(time.RFC3339), key.VerifyUntil.UTC().Format(time.RFC3339))
		return v
	}
	if c.IssuedAt.After(now.Add(ClockSkew)) {
		v.Warnings = append(v.Warnings, fmt.Sprintf("issued at %s, after this device's clock: check the clock", c.IssuedAt.UTC().Format(time.RFC3339)))
	}
	v.Status = Current
	return v
}

// unknownKey is the verdict on a well-formed token whose key the bundle
// lacks. What its unverified claims say tells another deployment's token
// (UnknownKey) from one that names this deployment with a key it never had
// (Forged), unless it says it was issued after the bundle was made.
func unknownKey(v Verdict, payload []byte, b *Bundle) Verdict {
	c, err := unmarshalClaims(payload)
	if err != nil {
		v.Status, v.Reason = Forged, fmt.Sprintf("changed or malformed: %v", err)
		return v
	}
	v.ClaimedIssuer = c.Issuer
	if c.Issuer != b.Deployment {
		v.Status = UnknownKey
		v.Reason = fmt.Sprintf("signed by key %s, which this deployment (%s) does not have; it says it is from deployment %s: check it with that deployment's bundle", v.KeyID, b.Deployment, c.Issuer)
		return v
	}
	if c.IssuedAt.After(b.AsOf) {
		v.Status = UnknownKey
		v.Reason = fmt.Sprintf("signed by key %s, which the bundle (as of %s) does not have, and says it was issued after it: refresh the bundle and check again", v.KeyID, b.AsOf.UTC().Format(time.RFC3339))
		return v
	}
	v.Status = Forged
	v.Reason = fmt.Sprintf("it claims to be from deployment %s but names key %s, which that deployment never had (its keys: %s)", b.Deployment, v.KeyID, b.keyIDs())
	return v
}

func life(k *PublicKey) string {
	if k.RetiredAt.IsZero() {
		return "made " + k.CreatedAt.UTC().Format(time.RFC3339)
	}
	return k.CreatedAt.UTC().Format(time.RFC3339) + " to " + k.RetiredAt.UTC().Format(time.RFC3339)
}

// String writes the verdict as a person reads it: the status in capitals
// on the first line, then what the token says, and always the bundle's age.
func (v *Verdict) String() string {
	var s strings.Builder
	s.WriteString(strings.ToUpper(v.Status.String()))
	if v.Status == Superseded {
		fmt.Fprintf(&s, " by version %d", v.Latest)
	}
	if v.Reason != "" {
		s.WriteString(": " + v.Reason)
	}
	s.WriteByte('\n')
	if c := v.Claims; c != nil {
		fmt.Fprintf(&s, "  instruction %s version %d for household %s", c.Instruction, c.Version, c.Household)
		if c.Supersedes != 0 {
			fmt.Fprintf(&s, " (replaces version %d)", c.Supersedes)
		}
		s.WriteByte('\n')
		var where []string
		if c.RallyPoint != "" {
			where = append(where, "rally point "+c.RallyPoint)
		}
		if !c.ReportFrom.IsZero() {
			where = append(where, "report "+window(c.ReportFrom, c.ReportBy))
		}
		if c.Group != "" {
			where = append(where, "group "+c.Group)
		}
		if c.People != 0 {
			where = append(where, fmt.Sprintf("admits %d", c.People))
		}
		if len(where) > 0 {
			fmt.Fprintf(&s, "  %s\n", strings.Join(where, ", "))
		}
		fmt.Fprintf(&s, "  token %s, issued %s by %s with key %s, expires %s\n", c.TokenID(), c.IssuedAt.UTC().Format(time.RFC3339), c.Issuer, v.KeyID, c.NotAfter.UTC().Format(time.RFC3339))
	}
	for _, ch := range v.Changes {
		fmt.Fprintf(&s, "  changed: %s from %s to %s\n", ch.What, ch.Old, ch.New)
	}
	for _, w := range v.Warnings {
		fmt.Fprintf(&s, "  warning: %s\n", w)
	}
	fmt.Fprintf(&s, "  checked against deployment %s's keys and revocations as of %s (%s old)\n", v.Deployment, v.AsOf.UTC().Format(time.RFC3339), age(v.Age))
	return s.String()
}

// age writes a duration the way a person says how old something is.
func age(d time.Duration) string {
	if d < 0 {
		return "-" + age(-d)
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	default:
		return fmt.Sprintf("%dd%02dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
	}
}
