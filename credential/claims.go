package credential

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// DigestSize is the size of Claims.Digest: the first 16 bytes of SHA-256.
const DigestSize = 16

// Claims are what an instruction token states and its signature vouches
// for. The instruction's full text is not carried: Digest binds it, and the
// few fields a checker at a rally point needs offline are carried as they
// are. Times have a resolution of one second.
type Claims struct {
	Issuer      string    // the deployment that issued it (CWT iss)
	IssuedAt    time.Time // CWT iat
	NotAfter    time.Time // expiry (CWT exp): not valid after it
	Instruction string    // the instruction's id: one per household, kept across versions
	Version     uint32    // 1, 2, ...: a re-plan that changes the instruction issues the next
	Supersedes  uint32    // the version this one replaces; 0 for the first
	Household   string    // the household's id
	// Digest is ContentDigest of the instruction's full content as
	// delivered (all languages, directions, what to bring): a text that
	// does not hash to it is not the instruction this token vouches for.
	Digest     [DigestSize]byte
	RallyPoint string    // the rally point's id
	ReportFrom time.Time // report at the rally point no earlier than this
	ReportBy   time.Time // ... and no later than this
	Group      string    // the group code
	People     uint16    // how many people it admits
}

// ContentDigest returns the first 16 bytes of SHA-256 of an instruction's
// full content, for Claims.Digest.
func ContentDigest(content []byte) [DigestSize]byte {
	sum := sha256.Sum256(content)
	var d [DigestSize]byte
	copy(d[:], sum[:])
	return d
}

// TokenID names one version of one instruction: what a check-in spends and
// what a revocation names. Two tokens with the same id vouch for the same
// content (a version is never re-issued with other content), so a check-in
// spends every copy of it: a screenshot, a forwarded message, a sold copy.
func (c *Claims) TokenID() string { return fmt.Sprintf("%s/v%d", c.Instruction, c.Version) }

// The claims' wire form: a CWT claims set (RFC 8392) with the registered
// claims iss (1), exp (4) and iat (6), and muster's claims in one map under
// a private-use claim key (below -65536, as RFC 8392's IANA registry
// reserves), the way HCERT carries its certificate under one claim.
type wireClaims struct {
	Issuer   string     `cbor:"1,keyasint"`
	Expires  uint64     `cbor:"4,keyasint"`
	IssuedAt uint64     `cbor:"6,keyasint"`
	Muster   wireMuster `cbor:"-65537,keyasint"`
}

type wireMuster struct {
	Instruction string `cbor:"1,keyasint"`
	Household   string `cbor:"2,keyasint"`
	Version     uint32 `cbor:"3,keyasint"`
	Supersedes  uint32 `cbor:"4,keyasint,omitempty"`
	Digest      []byte `cbor:"5,keyasint"`
	RallyPoint  string `cbor:"6,keyasint,omitempty"`
	ReportFrom  uint64 `cbor:"7,keyasint,omitempty"`
	ReportBy    uint64 `cbor:"8,keyasint,omitempty"`
	Group       string `cbor:"9,keyasint,omitempty"`
	People      uint16 `cbor:"10,keyasint,omitempty"`
}

// Limits of what a token carries: they keep it small enough for a QR code
// a phone reads at arm's length, and bound what a decoder will accept.
const (
	maxIDLen = 32 // bytes of an id: deployment, instruction, household, rally point, group
	// MaxTokenBytes bounds a token's envelope. Realistic claims make about
	// 185 bytes; the rest is room for long ids.
	MaxTokenBytes = 320
	// maxUnix is 9999-12-31T23:59:59Z: a later time is a mistake.
	maxUnix = 253402300799
)

var (
	encMode cbor.EncMode
	// claimsDecMode reads claims strictly: no duplicate keys, no unknown
	// keys, no indefinite lengths, no tags, valid UTF-8, small limits, and
	// nothing after the map. A new field is a new token format (MU2:).
	claimsDecMode cbor.DecMode
)

func init() {
	var err error
	if encMode, err = cbor.CoreDetEncOptions().EncMode(); err != nil {
		panic(err) // fixed options: only a library change can get here
	}
	claimsDecMode, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   4,
		MaxArrayElements:  16,
		MaxMapPairs:       16,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

func unixOrZero(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.Unix())
}

func timeOrZero(s uint64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(int64(s), 0).UTC()
}

// Validate says what is wrong with claims, if anything.
func (c *Claims) Validate() error {
	for _, f := range []struct{ name, v string }{{"issuer", c.Issuer}, {"instruction", c.Instruction}, {"household", c.Household}} {
		if f.v == "" {
			return fmt.Errorf("no %s", f.name)
		}
	}
	if err := checkID("issuer", c.Issuer); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"instruction", c.Instruction}, {"household", c.Household}, {"rally point", c.RallyPoint}, {"group", c.Group}} {
		if err := checkText(f.name, f.v); err != nil {
			return err
		}
	}
	if c.Version == 0 {
		return errors.New("version 0: versions start at 1")
	}
	if c.Supersedes >= c.Version {
		return fmt.Errorf("version %d cannot supersede version %d", c.Version, c.Supersedes)
	}
	if c.Digest == [DigestSize]byte{} {
		return errors.New("no content digest")
	}
	for _, f := range []struct {
		name string
		t    time.Time
	}{{"issued-at", c.IssuedAt}, {"not-after", c.NotAfter}, {"report-from", c.ReportFrom}, {"report-by", c.ReportBy}} {
		if !f.t.IsZero() && (f.t.Unix() <= 0 || f.t.Unix() > maxUnix) {
			return fmt.Errorf("%s %s is out of range", f.name, f.t.Format(time.RFC3339))
		}
	}
	if c.IssuedAt.IsZero() || c.NotAfter.IsZero() {
		return errors.New("no issue time or no expiry")
	}
	if !c.NotAfter.After(c.IssuedAt) {
		return fmt.Errorf("expires (%s) before it is issued (%s)", c.NotAfter.UTC().Format(time.RFC3339), c.IssuedAt.UTC().Format(time.RFC3339))
	}
	if c.ReportFrom.IsZero() != c.ReportBy.IsZero() {
		return errors.New("a report-by window needs both its start and its end")
	}
	if c.ReportBy.Before(c.ReportFrom) {
		return errors.New("the report-by window ends before it starts")
	}
	return nil
}

// checkID accepts a deployment id: 1 to 32 of A-Z a-z 0-9 . _ -
func checkID(name, s string) error {
	if len(s) == 0 || len(s) > maxIDLen {
		return fmt.Errorf("%s %q: 1 to %d characters", name, s, maxIDLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%s %q: only letters, digits, '.', '_' and '-'", name, s)
		}
	}
	return nil
}

// checkText accepts an id carried in a token: at most 32 bytes of UTF-8
// without control characters.
func checkText(name, s string) error {
	if len(s) > maxIDLen {
		return fmt.Errorf("%s %q is longer than %d bytes", name, s, maxIDLen)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not UTF-8", name)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (0x80 <= r && r < 0xa0) {
			return fmt.Errorf("%s %q has a control character", name, s)
		}
	}
	return nil
}

// marshal returns the claims' deterministic CBOR.
func (c *Claims) marshal() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	w := wireClaims{
		Issuer:   c.Issuer,
		Expires:  unixOrZero(c.NotAfter),
		IssuedAt: unixOrZero(c.IssuedAt),
		Muster: wireMuster{
			Instruction: c.Instruction,
			Household:   c.Household,
			Version:     c.Version,
			Supersedes:  c.Supersedes,
			Digest:      c.Digest[:],
			RallyPoint:  c.RallyPoint,
			ReportFrom:  unixOrZero(c.ReportFrom),
			ReportBy:    unixOrZero(c.ReportBy),
			Group:       c.Group,
			People:      c.People,
		},
	}
	return appendClaimsCBOR(make([]byte, 0, 128), &w), nil
}

// unmarshalClaims reads claims written by marshal, strictly, and validates
// them.
func unmarshalClaims(b []byte) (*Claims, error) {
	var w wireClaims
	if err := claimsDecMode.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	if len(w.Muster.Digest) != DigestSize {
		return nil, fmt.Errorf("claims: a digest of %d bytes, want %d", len(w.Muster.Digest), DigestSize)
	}
	for _, s := range []uint64{w.Expires, w.IssuedAt, w.Muster.ReportFrom, w.Muster.ReportBy} {
		if s > maxUnix {
			return nil, fmt.Errorf("claims: time %d is out of range", s)
		}
	}
	c := &Claims{
		Issuer:      w.Issuer,
		IssuedAt:    timeOrZero(w.IssuedAt),
		NotAfter:    timeOrZero(w.Expires),
		Instruction: w.Muster.Instruction,
		Version:     w.Muster.Version,
		Supersedes:  w.Muster.Supersedes,
		Household:   w.Muster.Household,
		RallyPoint:  w.Muster.RallyPoint,
		ReportFrom:  timeOrZero(w.Muster.ReportFrom),
		ReportBy:    timeOrZero(w.Muster.ReportBy),
		Group:       w.Muster.Group,
		People:      w.Muster.People,
	}
	copy(c.Digest[:], w.Muster.Digest)
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	return c, nil
}

// Change is one difference between two versions of an instruction that a
// person must act on.
type Change struct {
	What     string // "rally point", "report window", "group", "people", "household", "content"
	Old, New string
}

// Compare lists what changed from old to newer, in the fields a token
// carries; "content" means the instruction's text changed (its digest),
// whatever else did.
func Compare(old, newer *Claims) []Change {
	var ch []Change
	add := func(what, o, n string) {
		if o != n {
			ch = append(ch, Change{What: what, Old: o, New: n})
		}
	}
	add("household", old.Household, newer.Household)
	add("rally point", old.RallyPoint, newer.RallyPoint)
	add("report window", window(old.ReportFrom, old.ReportBy), window(newer.ReportFrom, newer.ReportBy))
	add("group", old.Group, newer.Group)
	add("people", fmt.Sprint(old.People), fmt.Sprint(newer.People))
	if old.Digest != newer.Digest {
		ch = append(ch, Change{What: "content", Old: fmt.Sprintf("%x", old.Digest[:4]), New: fmt.Sprintf("%x", newer.Digest[:4])})
	}
	return ch
}

func window(from, by time.Time) string {
	if from.IsZero() {
		return "none"
	}
	const f = "2006-01-02 15:04"
	from, by = from.UTC(), by.UTC()
	if from.YearDay() == by.YearDay() && from.Year() == by.Year() {
		return from.Format(f) + "-" + by.Format("15:04") + " UTC"
	}
	return from.Format(f) + " to " + by.Format(f) + " UTC"
}
