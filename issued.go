package muster

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Issued instructions: the versions of every instruction the server has
// issued from an approved plan, each with its signed token, kept in the
// store so that a re-plan re-issues only what changed, a verifier knows
// which versions are superseded or revoked, and a check-in spends one
// version once. docs/issuing.md says how they are issued.

// Statuses of an issued instruction version.
const (
	// InstructionCurrent: the version in force; one per series at most.
	InstructionCurrent = "current"
	// InstructionSuperseded: replaced by a newer version (SupersededBy).
	InstructionSuperseded = "superseded"
	// InstructionRevoked: withdrawn, its household (or group) no longer in
	// the plan, or withdrawn by hand.
	InstructionRevoked = "revoked"
)

// IssuedInstruction is one stored version of an instruction. The
// instruction itself (it names the household) and its token are sealed at
// rest; the rest is in clear and names no one.
type IssuedInstruction struct {
	Instruction
	Status string // InstructionCurrent, ...
	// Token is the signed token (package credential, "MU1:..."): what the
	// household shows at the rally point and anyone can verify offline.
	Token string
	// Digest is the hex SHA-256 of the instruction's canonical encoding,
	// as stored: a read checks the opened instruction against it.
	Digest string
	// Changes name what changed from the version it supersedes
	// (Changed's words); empty for a first version.
	Changes      []string
	SupersededBy string    // the version that replaced it
	ChangedAt    time.Time // when it was superseded or revoked
}

// InstructionDigest is the hex digest IssuedInstruction.Digest holds.
func InstructionDigest(in *Instruction) string {
	d := in.Digest()
	// Encoded on the stack, then made a string: one allocation, not
	// EncodeToString's two (the store digests every instruction it is
	// handed).
	var h [2 * sha256.Size]byte
	hex.Encode(h[:], d[:])
	return string(h[:])
}

// InstructionLink is the capability link an instruction's messages carry
// for a household: the link is made once and put in every version sent to
// it. The store keeps the secret sealed (the messages that carry it are
// sealed too) beside the capability, which keeps only its hash.
type InstructionLink struct {
	HouseholdID  string
	CapabilityID string
	Secret       string
	// ExpiresAt ends the link (zero: never). The issuer gives each link
	// InstructionLinkTTL: a link forwarded, or left on a lost phone, must
	// not open the household's instruction for ever.
	ExpiresAt time.Time
}

// InstructionLinkTTL is how long a link made at issuance opens its
// household's page; InstructionLinkRenew before it ends, the next
// issuance for the household makes a new one, so that no message goes
// out with a link about to die.
const (
	InstructionLinkTTL   = 30 * 24 * time.Hour
	InstructionLinkRenew = 7 * 24 * time.Hour
)

// IssueBatch is what one issuance stores, in ONE transaction: the plan
// approved (optionally), the new versions, the versions they supersede
// and those revoked, the capability links made for households that had
// none, and the messages that deliver the new versions.
type IssueBatch struct {
	// ApprovePlan, if set, is a proposed plan to make current in the same
	// transaction (the current one is superseded): approval and issuance
	// commit together or not at all.
	ApprovePlan string
	// Plan is the plan the instructions come from: ApprovePlan, or else
	// the current plan.
	Plan string
	// Basis is the plan that was current when the batch was built ("" for
	// none): if another is current at commit, the batch was built on
	// stale instructions and is refused (ECONFLICT).
	Basis string
	// Issue are the new versions, with their tokens. A version that
	// supersedes another names it (Supersedes), and that one must be the
	// current version of its series; a first version (or one after a
	// revocation) needs a series with no current version.
	Issue []IssuedInstruction
	// Revoke are current versions to revoke.
	Revoke   []string
	Links    []InstructionLink
	Messages []OutboxMessage
	// Sign, if set, finishes Issue[i] (its Token and Digest) and the
	// messages that carry it (an SMS's Body) before the store reads them:
	// the store calls it once for each i, on any goroutine, while it
	// writes the versions before it, and reads a message only after the
	// call for the version it names (InstructionID) returned, and every
	// call for the versions before that one. So signing and rendering run
	// on the other cores while the store's one writer writes. An error
	// fails the issuance (nothing is stored).
	Sign func(i int) error
}

// IssueResult says what an issuance stored.
type IssueResult struct {
	Plan                        string
	Approved                    bool // the batch approved its plan
	Issued, Superseded, Revoked int
	Links                       int // capability links made
	Enqueued, Duplicates        int // outbox messages queued, and already there
	IssuedAt                    time.Time
}

// InstructionFilter selects issued instructions; empty fields select all.
type InstructionFilter struct {
	Status      string // InstructionCurrent, ...
	Series      string // one instruction's versions
	Audience    string // AudienceHousehold or AudienceEscort
	HouseholdID string
	Plan        string
	AfterID     string // paging, by id
	Limit       int    // default 1000, at most 100,000
}

// InstructionStatus is what the store knows of one series' versions:
// the latest version issued, the current one (0 when none is), and the
// revoked ones, ascending.
type InstructionStatus struct {
	Latest  int
	Current int
	Revoked []int
}

// VersionOf returns the version an instruction id names ("I-H000042/v2"
// is 2) and its series, or ok false.
func VersionOf(id string) (series string, version int, ok bool) {
	i := strings.LastIndex(id, "/v")
	if i <= 0 {
		return "", 0, false
	}
	v, err := strconv.Atoi(id[i+2:])
	if err != nil || v <= 0 || strconv.Itoa(v) != id[i+2:] {
		return "", 0, false
	}
	return id[:i], v, true
}

// CheckIn records that a token was checked in at a rally point: the
// instruction version it names (TokenID) is spent by the first check-in.
// A later check-in of the same token (a forwarded screenshot, a sold
// copy) is refused and kept, flagged: DuplicateOf names the first.
type CheckIn struct {
	// ID is unique. A device syncing offline check-ins may give its own
	// (so that sending the same batch twice records it once); empty, the
	// store makes one (for a sync, derived from what the check-in says,
	// so that a repeated sync is still recorded once).
	ID          string
	TokenID     string // the instruction version: "I-H000042/v2"
	HouseholdID string // the instruction's household (the group id for an escort's): the store's
	RallyPoint  string // where: the rally point's id
	By          string // who: the field officer, or the device id
	At          time.Time
	RecordedAt  time.Time // when the store learned of it
	RecordedBy  string    // the actor that recorded it
	DuplicateOf string    // the first check-in's ID when this one came second
}

// Duplicate reports whether the check-in came after the token was spent.
func (c *CheckIn) Duplicate() bool { return c.DuplicateOf != "" }

// CheckInID derives the id of a check-in a device made offline without
// an id of its own: the same token, place, person and instant always give
// the same id.
func CheckInID(tokenID, rallyPoint, by string, at time.Time) string {
	h := sha256.New()
	for _, s := range []string{"muster-checkin-v1", tokenID, rallyPoint, by, strconv.FormatInt(at.UnixMicro(), 10)} {
		h.Write([]byte(strconv.Itoa(len(s)) + ":" + s + ";"))
	}
	return "C" + hex.EncodeToString(h.Sum(nil)[:12])
}

// CheckInOutcome is what a sync did with one offline check-in.
type CheckInOutcome struct {
	CheckIn CheckIn  // as stored (DuplicateOf set when it is not the first)
	First   *CheckIn // the token's first check-in, when this one is a duplicate
	// Displaced is the check-in that was first until this earlier one
	// arrived: it is flagged now, a duplicate of this one.
	Displaced *CheckIn
	// Refused says why the check-in was not recorded ("" when it was): no
	// such instruction.
	Refused string
	// Instructed is the rally point the instruction names when the
	// check-in was at another, or said none ("" when it was at the
	// instruction's, or the instruction names none): a device's record
	// of what it did is kept, and this is flagged for the operators
	// (FlagOtherRallyPoint) and audited (checkin.other_rally).
	Instructed string
}

// CheckInFilter selects check-ins; empty fields select all.
type CheckInFilter struct {
	TokenID     string
	HouseholdID string
	Duplicates  bool   // only the flagged ones
	AfterID     string // paging, by id
	Limit       int    // default 100, at most 1000
}

// AdvisoryMessageID is the outbox's instruction id for messages that carry
// an advisory: they are not instructions, so acknowledgement and the
// unacknowledged list leave them out.
func AdvisoryMessageID(advisoryID string) string { return AdvisoryMessagePrefix + advisoryID }

// AdvisoryMessagePrefix starts the outbox instruction id of an
// advisory's messages.
const AdvisoryMessagePrefix = "advisory:"

// Where an advisory record came from.
const (
	AdvisoryIssued   = "issued"   // written here, by a planner
	AdvisoryImported = "imported" // another system's CAP, imported by an operator
)

// AdvisoryRecord is a stored advisory: its CAP 1.2 XML (public: an
// advisory names no one), who made it, and how many it reached.
type AdvisoryRecord struct {
	ID         string
	Sender     string
	Sent       time.Time
	Status     string // CAP status
	MsgType    string // CAP msgType
	Origin     string // AdvisoryIssued or AdvisoryImported
	CreatedAt  time.Time
	CreatedBy  string
	Recipients int // households it was queued to
	NoLocation int // households with no location, which it could not place
	CAP        []byte
}
