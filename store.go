package muster

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// Store is muster's system of record: households, threat reports, operator
// accounts, tokens, evacuees' capability links, the audit log, the wrapped
// data key and a claim primitive for work that must happen once across
// server instances. Two implementations exist: package sqlite (embedded,
// the default) and package postgres (shared by many `muster serve`
// instances); package storetest holds the one conformance suite both run.
//
// Every mutation appends its audit entries in the same transaction as the
// change itself, so a change without its audit record (or the reverse) can
// never be committed. The actor recorded is the one WithActor put in the
// context ("system" when none). Errors carry the codes ENOTFOUND, ECONFLICT
// and EINVALID where the caller can act on them; anything else is internal.
type Store interface {
	// CreateHousehold stores a new household with status registered (or
	// h.Status if set) and its first history entry. An empty ID is
	// assigned. ECONFLICT if the ID exists, EINVALID if a field is bad.
	CreateHousehold(ctx context.Context, h Household) (HouseholdRecord, error)
	// UpdateHousehold replaces the registry fields of household h.ID (not
	// its status: see SetHouseholdStatus) if its version is still version.
	// ECONFLICT if it changed since, ENOTFOUND if it does not exist.
	UpdateHousehold(ctx context.Context, h Household, version int64) (HouseholdRecord, error)
	// ImportHouseholds creates or updates a batch in ONE transaction: all
	// rows are stored or none is. A row with an ID is that household; a
	// row without one matches the one household with its phone (households
	// may share a phone: the row's reason then says so); a matched row whose fields are all equal is left
	// alone (re-importing a file changes nothing); an update sets only the
	// fields in opts.Carries and keeps the others. With opts.DryRun
	// nothing is stored but the result says what would be. If any row is
	// rejected the error is EINVALID and the result says which and why.
	ImportHouseholds(ctx context.Context, hs []Household, opts ImportOptions) (ImportResult, error)
	// GetHousehold returns the household with its status history.
	GetHousehold(ctx context.Context, id string) (HouseholdRecord, error)
	// FindHouseholdsByPhone returns the households registered with this
	// exact phone string (a keyed hash is looked up: phones are never
	// stored in clear). None is not an error.
	FindHouseholdsByPhone(ctx context.Context, phone string) ([]HouseholdRecord, error)
	// ListHouseholds returns households in ID order after f.AfterID, at
	// most f.Limit (default 100, at most 1000), without their history; next
	// is the AfterID of the following page, "" after the last.
	ListHouseholds(ctx context.Context, f HouseholdFilter) (hs []HouseholdRecord, next string, err error)
	// CountHouseholds counts the households f matches (paging ignored).
	CountHouseholds(ctx context.Context, f HouseholdFilter) (int, error)
	// ListHouseholdContacts returns households in ID order after afterID,
	// at most limit (default 1000, at most MaxContactsPage), with ONLY
	// what an issuance addresses them by: ID, Language, Name, NameLocal,
	// Phone and Email. Every other field is left zero (no status,
	// members, party size, priority, location, address, notes,
	// eligibility, documents, history): the result is not a household
	// record and must not be shown, compared or written back as one. The
	// other sealed columns are neither read nor decrypted: a caller that
	// needs only these fields opens no more personal data than it uses
	// (data minimisation), four sealed fields rather than eleven, at
	// about a third of ListHouseholds' cost. next is the
	// afterID of the following page, "" after the last. Not audited by
	// the store: the caller records the read, as for ListHouseholds.
	ListHouseholdContacts(ctx context.Context, afterID string, limit int) (hs []Household, next string, err error)
	// SetHouseholdStatus moves a household to status, appending a
	// timestamped history entry. version 0 skips the concurrency check.
	SetHouseholdStatus(ctx context.Context, id, status string, version int64, note string) (HouseholdRecord, error)

	// Places returns the operation's places (gates, rally points, ...) in
	// id order, with their time zone; none is not an error.
	Places(ctx context.Context) (Places, error)
	// PutPlace creates or replaces the place with p.ID. EINVALID if the
	// place is not valid (see package places).
	PutPlace(ctx context.Context, p Place) error
	// DeletePlace removes a place. ENOTFOUND if there is none.
	DeletePlace(ctx context.Context, id string) error
	// SetTimezone sets the IANA time zone of the places' opening hours.
	SetTimezone(ctx context.Context, tz string) error

	// Sources returns the source registry in id (byte) order; none is not
	// an error.
	Sources(ctx context.Context) ([]SourceGrade, error)
	// PutSource creates or replaces the grade of source g.ID and returns it
	// as stored: UpdatedAt is the store's clock and UpdatedBy the context's
	// actor, whatever g says. EINVALID if g is not valid (Validate).
	PutSource(ctx context.Context, g SourceGrade) (SourceGrade, error)
	// DeleteSource removes a source's grade. ENOTFOUND if there is none.
	DeleteSource(ctx context.Context, id string) error

	// SavePlan stores a plan as proposed and returns it with its id.
	// p.Body (plan.json) is sealed; p.Summary (no personal data) is not.
	SavePlan(ctx context.Context, p PlanRecord) (PlanRecord, error)
	// GetPlan returns a plan with its body. ENOTFOUND if there is none.
	GetPlan(ctx context.Context, id string) (PlanRecord, error)
	// ListPlans returns the newest plans first, without their bodies.
	ListPlans(ctx context.Context, limit int) ([]PlanRecord, error)
	// ApprovePlan makes a proposed plan current, by the context's actor;
	// the plan that was current becomes superseded, in the same
	// transaction. ECONFLICT if the plan is not proposed.
	ApprovePlan(ctx context.Context, id string) (PlanRecord, error)
	// CurrentPlan returns the current plan with its body, ENOTFOUND if none.
	CurrentPlan(ctx context.Context) (PlanRecord, error)

	// AddReport stores a threat report. Reports are append only: a second
	// report with an existing ID is ECONFLICT.
	AddReport(ctx context.Context, r Report) error
	// ListReports returns reports received at or after since (all if
	// zero), oldest first, at most limit (0: all).
	ListReports(ctx context.Context, since time.Time, limit int) ([]Report, error)

	// CreateUser stores an operator account; u.PasswordHash is made by
	// HashPassword. ECONFLICT if the name is taken, or differs from a
	// taken one only by case ("Alice" beside "alice").
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, name string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	// SetUserPassword replaces a user's password hash and, in the same
	// transaction, revokes every live token and session of the user
	// except keepToken (the session that made the change; "" keeps none).
	// It returns how many it revoked.
	SetUserPassword(ctx context.Context, name, passwordHash, keepToken string) (revoked int, err error)
	// DisableUser disables an account: its tokens stop working at once.
	DisableUser(ctx context.Context, name string) error
	// EnableUser enables a disabled account (its old tokens stay revoked).
	EnableUser(ctx context.Context, name string) error
	// SetUserRole changes an account's role; its tokens carry the new role
	// from the next request on.
	SetUserRole(ctx context.Context, name, role string) error

	// CreateToken stores an API token or session; only t.Hash (TokenHash
	// of the secret) is kept.
	CreateToken(ctx context.Context, t Token) error
	// LookupToken returns the live token with this hash and its user.
	// ENOTFOUND if unknown, revoked, expired at now, or its user disabled.
	LookupToken(ctx context.Context, hash []byte, now time.Time) (Token, User, error)
	RevokeToken(ctx context.Context, id string) error
	// ListTokens returns the tokens f selects (never their hashes), newest
	// first.
	ListTokens(ctx context.Context, f TokenFilter) ([]Token, error)

	// ClearThrottle tells every instance sharing the database to forget
	// the login failures it holds against target ("account:NAME" or
	// "address:IP"): an audited change, announced as an Event of kind
	// "throttle" with ID target. The failures themselves live in each
	// server's memory, not in the store.
	ClearThrottle(ctx context.Context, target string) error

	// CreateCapability stores an evacuee's capability link (only its
	// hash). ENOTFOUND if the household does not exist.
	CreateCapability(ctx context.Context, c CapabilityLink) error
	// LookupCapability returns the live link with this hash: ENOTFOUND if
	// unknown, revoked or expired at now.
	LookupCapability(ctx context.Context, hash []byte, now time.Time) (CapabilityLink, error)
	RevokeCapability(ctx context.Context, id string) error

	// AppendAudit appends an entry (reads of personal data, logins...) to
	// the hash chain and returns it with Seq, PrevHash and Hash set.
	AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error)
	// ListAudit returns entries with Seq > afterSeq, in order, at most
	// limit (0: all).
	ListAudit(ctx context.Context, afterSeq int64, limit int) ([]AuditEntry, error)
	// VerifyAudit re-computes the whole chain.
	VerifyAudit(ctx context.Context) (AuditVerification, error)

	// Wipe destroys the wrapped data key, so that the personal fields in
	// this database can never be decrypted again, and says what it did.
	// The store refuses personal data from then on, and so does every
	// later Open of this database.
	Wipe(ctx context.Context) (WipeResult, error)

	// ClaimJob claims (kind, key) for ttl (ttl <= 0: for ever) and reports
	// whether this caller got it: of all the instances that claim the same
	// job at once exactly one gets true, and no one else until the claim
	// expires. It is how "send this message once" is made to happen once.
	ClaimJob(ctx context.Context, kind, key string, ttl time.Duration) (bool, error)

	// EnqueueMessages stores messages in the outbox, queued, in ONE
	// transaction: all or none. A message whose IdempotencyKey (derived by
	// MessageKey when empty) is already in the outbox is a duplicate: not
	// stored, not an error. ID, Status, Attempts, times and lease are the
	// store's, whatever the messages say. EINVALID names the message and
	// field at fault (and nothing is stored).
	EnqueueMessages(ctx context.Context, ms []OutboxMessage) (enqueued, duplicates int, err error)
	// LeaseMessages claims at most n messages over the given channels (all
	// if none) that are due at now (queued or failed-retrying with
	// NextAttemptAt <= now, or sending with an expired lease) for owner
	// until now+leaseFor, oldest first: they become sending, their
	// Attempts grows by one, and they are returned with their sealed
	// fields opened. Of several instances leasing at once, each due
	// message goes to exactly one. A zero now is the store's clock. A
	// worker leases only the channels it can send.
	LeaseMessages(ctx context.Context, owner string, channels []string, n int, leaseFor time.Duration, now time.Time) ([]OutboxMessage, error)
	// CompleteMessage records the outcome of an attempt by the lease's
	// owner: sent, retry at r.RetryAt, or dead. ECONFLICT if the message
	// is not sending under owner's lease (it expired and another worker
	// took the message over, or an operator changed it): the outcome is
	// then not recorded. ENOTFOUND if there is no such message.
	CompleteMessage(ctx context.Context, id, owner string, r MessageResult) (OutboxMessage, error)
	// RetryMessage queues a dead letter again, now, with its attempts
	// counted afresh (an operator's decision, audited). ECONFLICT if the
	// message is not dead.
	RetryMessage(ctx context.Context, id string) (OutboxMessage, error)
	// ListMessages returns messages in id (creation) order after
	// f.AfterID, without their sealed fields (Recipient, Subject, Body,
	// BodyHTML empty); next is the AfterID of the following page.
	ListMessages(ctx context.Context, f MessageFilter) (ms []OutboxMessage, next string, err error)
	// CountMessages counts the messages f matches by status (paging
	// ignored); every status is in the map.
	CountMessages(ctx context.Context, f MessageFilter) (map[string]int, error)
	// DeadLetters returns the dead messages, oldest first, at most limit
	// (0: 100), without their sealed fields.
	DeadLetters(ctx context.Context, limit int) ([]OutboxMessage, error)
	// Acknowledge records that the household confirmed the instruction,
	// via AckLink, AckCode or AckOperator, at at (zero: the store's clock),
	// by the context's actor. Only the first acknowledgement is kept: a
	// later one returns it unchanged. ENOTFOUND if the outbox never held
	// a message of that instruction for that household.
	Acknowledge(ctx context.Context, householdID, instructionID, via string, at time.Time) (Acknowledgement, error)
	// Acknowledgements returns the acknowledgements recorded at or after
	// since (zero: all), by time then household: when people confirmed
	// their instructions, for the operation's plots.
	Acknowledgements(ctx context.Context, since time.Time) ([]Acknowledgement, error)
	// Unacknowledged lists, oldest first, the households whose newest
	// instruction in the outbox was first queued at least olderThan ago
	// and is not acknowledged (advisories, AdvisoryMessageID, are not
	// instructions and are left out), with their names and phones (personal data:
	// the caller audits the read).
	Unacknowledged(ctx context.Context, olderThan time.Duration) ([]Unacknowledged, error)

	// IssueInstructions stores an issuance in ONE transaction: the plan
	// approved (b.ApprovePlan), the new versions (sealed: they name the
	// household), the versions they supersede and those revoked marked so,
	// the capability links made, and the messages queued in the outbox
	// (as EnqueueMessages would, duplicates skipped); audited. ECONFLICT,
	// with nothing stored, when the batch was built on what changed since:
	// another plan current than b.Basis, a superseded or revoked version
	// no longer current, a first version of a series that has a current
	// one, a version id issued before. EINVALID names the bad element.
	IssueInstructions(ctx context.Context, b IssueBatch) (IssueResult, error)
	// GetInstruction returns an instruction version with its content and
	// token (personal data: the caller audits the read). ENOTFOUND if none.
	GetInstruction(ctx context.Context, id string) (IssuedInstruction, error)
	// CurrentInstruction returns the household's current instruction
	// (personal data: the caller audits the read). ENOTFOUND if none.
	CurrentInstruction(ctx context.Context, householdID string) (IssuedInstruction, error)
	// ListInstructions returns instruction versions in id order after
	// f.AfterID; next is the AfterID of the following page, "" after the
	// last. With content, the instructions and tokens are opened
	// (personal data: the caller audits the read); without, only what is
	// in clear is filled.
	ListInstructions(ctx context.Context, f InstructionFilter, content bool) (is []IssuedInstruction, next string, err error)
	// InstructionStatuses returns the status of every series ever issued,
	// as of the returned time: what a verifier's bundle says.
	InstructionStatuses(ctx context.Context) (map[string]InstructionStatus, time.Time, error)
	// InstructionLinks returns, of the given households, the secret of
	// each one's instruction link that is still live (not revoked nor
	// expired at now); none is not an error.
	InstructionLinks(ctx context.Context, householdIDs []string, now time.Time) (map[string]string, error)
	// CheckIn spends the token of instruction version tokenID at
	// rallyPoint, by (an operator or a device), at at (zero: the store's
	// clock); the household's status becomes checked_in_rally. The first
	// check-in of a token is recorded and returned with first nil; any
	// later one is refused: recorded flagged (DuplicateOf), and returned
	// with the first, saying where and when the token was spent. Of
	// several instances checking in one token at once exactly one gets
	// first nil. ENOTFOUND if no such version was issued; ECONFLICT if it
	// is not current (superseded or revoked) and was never checked in.
	CheckIn(ctx context.Context, tokenID, rallyPoint, by string, at time.Time) (c CheckIn, first *CheckIn, err error)
	// SyncCheckIns records check-ins made offline, in one transaction:
	// each token's first check-in is its earliest (by At, then ID), so a
	// check-in earlier than the one recorded first displaces it, which is
	// flagged; the others are flagged duplicates of the first. A check-in
	// whose ID is recorded already is not recorded again. One naming no
	// issued version is refused (Refused says why), not an error.
	SyncCheckIns(ctx context.Context, cs []CheckIn) ([]CheckInOutcome, error)
	// ListCheckIns returns check-ins in id order after f.AfterID.
	ListCheckIns(ctx context.Context, f CheckInFilter) (cs []CheckIn, next string, err error)

	// AddFieldEvents records what the field reports, in ONE transaction,
	// each event attributed to the context's actor (By) with the time the
	// store learned of it; the batch is audited. An event whose id is
	// stored already is a FieldDuplicate if it says the same (a batch sent
	// twice is recorded once) and FieldRefused if it says something else.
	// A check-in spends its household's instruction the way CheckIn and
	// SyncCheckIns do (earliest first, in the same table); one whose token
	// was superseded or revoked before it, spent already, or never issued
	// is stored with a Flag and does not check anyone in. An invalid event
	// is refused, not an error; EINVALID for more than 10,000 at once.
	AddFieldEvents(ctx context.Context, es []FieldEvent) ([]FieldEventOutcome, error)
	// ListFieldEvents returns the events f selects, by arrival (Seq) or,
	// with f.ByTime, by when they happened.
	ListFieldEvents(ctx context.Context, f FieldEventFilter) ([]FieldEvent, error)

	// SaveAdvisory stores an advisory and queues its messages (each one's
	// InstructionID AdvisoryMessageID(a.ID)) in ONE transaction; audited.
	// ECONFLICT if its id is stored already.
	SaveAdvisory(ctx context.Context, a AdvisoryRecord, ms []OutboxMessage) (AdvisoryRecord, error)
	// GetAdvisory returns an advisory with its CAP. ENOTFOUND if none.
	GetAdvisory(ctx context.Context, id string) (AdvisoryRecord, error)
	// ListAdvisories returns the newest advisories first, without CAP.
	ListAdvisories(ctx context.Context, limit int) ([]AdvisoryRecord, error)

	// Subscribe delivers an Event after each committed change, from any
	// instance sharing the database, until ctx ends. An Event is a hint to
	// re-read, not a log: a subscriber that falls behind misses events.
	Subscribe(ctx context.Context) (<-chan Event, error)

	Close() error
}

// Sealer encrypts personal fields (AES-256-GCM with aad binding each
// ciphertext to its household and field) and makes keyed hashes for
// lookups. seal.Keyring implements it; the store depends only on this.
type Sealer interface {
	Seal(plaintext []byte, aad string) []byte
	Open(ciphertext []byte, aad string) ([]byte, error)
	Hash(kind, value string) []byte
}

// DataKeys gives a store its Sealer. A new database gets a new data key,
// wrapped by the master key, stored in the database's key table; an
// existing one has its wrapped key unwrapped. The server builds it from
// package seal:
//
//	muster.DataKeys{
//		New:    func() ([]byte, error) { return seal.NewDataKey(master) },
//		Unwrap: func(w []byte) (muster.Sealer, error) { return seal.Open(master, w) },
//	}
type DataKeys struct {
	New    func() (wrapped []byte, err error)
	Unwrap func(wrapped []byte) (Sealer, error)
	// AuditKey keys the audit chain's MACs (AuditEntry.ChainMAC). It must
	// not be stored in the database and must be the same for every
	// instance and every later open: the server derives it from the
	// master key (seal.AuditKey). Required.
	AuditKey []byte
	// OpenWiped opens a database whose data key was wiped instead of
	// refusing it: the store then refuses personal data, as after Wipe,
	// but its audit log can still be read and verified.
	OpenWiped bool
}

// HouseholdRecord is a stored household: the household and the version
// optimistic concurrency checks (it grows by one with every change).
type HouseholdRecord struct {
	Household
	Version   int64
	CreatedAt time.Time
}

// MaxContactsPage is the most households one ListHouseholdContacts page
// holds: ten times a ListHouseholds page, as a contact is a fraction of
// a household (some 200 bytes), and a bound on what one call holds in
// memory.
const MaxContactsPage = 10_000

// HouseholdFilter selects households; empty fields select all.
type HouseholdFilter struct {
	Status   string
	Priority string
	AfterID  string
	Limit    int
}

// ImportOptions controls ImportHouseholds.
type ImportOptions struct {
	DryRun bool
	// Carries lists the registry fields (FieldName, ...) the batch
	// carries. A matched household keeps its stored value of every other
	// field, so a list without e-mails or member names does not erase those
	// entered since; Adults and Children not carried are the batch's when
	// it has them (derived from members' ages), else the stored ones while
	// they still add up to the party size, else unknown (0, 0). nil means
	// every field: the batch replaces the whole registry record.
	Carries []string
}

// Registry fields of a household, as ImportOptions.Carries names them.
const (
	FieldName           = "name"
	FieldNameLocal      = "name_local"
	FieldMembers        = "members"         // Members, the list of people
	FieldPartySize      = "party_size"      // PartySize
	FieldAdultsChildren = "adults_children" // Adults and Children
	FieldPriority       = "priority"
	FieldLanguage       = "language"
	FieldPhone          = "phone"
	FieldEmail          = "email"
	FieldLocation       = "location" // Lat, Lon and HasLocation
	FieldAddress        = "address"
	FieldEligibility    = "eligibility"
	FieldDocuments      = "documents"
	FieldNotes          = "notes"
)

// RegistryFields lists the fields an import may carry.
var RegistryFields = []string{FieldName, FieldNameLocal, FieldMembers, FieldPartySize, FieldAdultsChildren, FieldPriority,
	FieldLanguage, FieldPhone, FieldEmail, FieldLocation, FieldAddress, FieldEligibility, FieldDocuments, FieldNotes}

// Import row actions.
const (
	ImportCreated   = "created"
	ImportUpdated   = "updated"
	ImportUnchanged = "unchanged"
	ImportRejected  = "rejected"
)

// ImportRow says what happened (or would happen) to one row of a batch.
type ImportRow struct {
	Index  int    // the row's index in the batch
	ID     string // the household's ID (assigned when the row had none)
	Action string // ImportCreated, ...
	Reason string // why it was rejected, or which household it matched
}

// ImportResult is what an import did, or, for a dry run or a rejected
// batch, what it would have done.
type ImportResult struct {
	Created, Updated, Unchanged, Rejected int
	Rows                                  []ImportRow
	DryRun                                bool
	Committed                             bool
}

// Operator roles, from most to least powerful.
const (
	RoleAdmin   = "admin"
	RolePlanner = "planner"
	RoleField   = "field"
	RoleViewer  = "viewer"
)

// Roles lists the operator roles.
var Roles = []string{RoleAdmin, RolePlanner, RoleField, RoleViewer}

// User is an operator account.
type User struct {
	Name         string
	Role         string // RoleAdmin, ...
	PasswordHash string // from HashPassword
	Disabled     bool
	CreatedAt    time.Time
}

// Token kinds.
const (
	TokenSession = "session" // made at login, short lived
	TokenAPI     = "api"     // made for a program, long lived
)

// Token is an API token or a login session. The secret goes to the client
// once; the store keeps only Hash = TokenHash(secret).
type Token struct {
	ID        string
	User      string
	Kind      string // TokenSession or TokenAPI
	Hash      []byte
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never
	RevokedAt time.Time // zero: live
}

// TokenFilter selects tokens; empty fields select all.
type TokenFilter struct {
	User string
	ID   string
	// LiveAt, if set, keeps only the tokens neither revoked nor expired
	// at that time.
	LiveAt time.Time
	Limit  int // default 100, at most 1000
}

// CapabilityLink lets an evacuee reach their own household, and nothing
// else, without an account. The secret is in the link; the store keeps
// only Hash = TokenHash(secret).
type CapabilityLink struct {
	ID          string
	HouseholdID string
	Hash        []byte
	CreatedAt   time.Time
	ExpiresAt   time.Time // zero: never
	RevokedAt   time.Time
}

// AuditEntry is one record of the audit log: who did what to what, when.
// Detail must hold no personal data (ids, statuses and counts only).
type AuditEntry struct {
	Seq      int64 // 1, 2, 3... with no gap
	At       time.Time
	Actor    string // operator name, "evacuee:<household id>" or "system"
	Action   string // "household.create", "household.read", ...
	Target   string // "household:H000001", "user:alice", ...
	Detail   string
	PrevHash []byte // Hash of entry Seq-1 (32 zero bytes for the first)
	Hash     []byte // ChainHash
	// MAC is ChainMAC under the audit key, which is kept out of the
	// database (docs/server.md, "Audit log"); nil for an entry the
	// database could not key (see VerifyAudit).
	MAC []byte
}

// ChainHash returns SHA-256(prev || canonical encoding of e): each field
// length-prefixed, so no two different entries encode alike, and the time
// as UTC Unix microseconds, the precision both backends keep. Because each
// hash covers the previous one, editing, removing or reordering any entry
// breaks every hash after it.
func (e *AuditEntry) ChainHash(prev []byte) []byte {
	var b bytes.Buffer
	b.WriteString("muster-audit-v1")
	field := func(p []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		b.Write(n[:])
		b.Write(p)
	}
	num := func(v int64) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(v))
		field(n[:])
	}
	field(prev)
	num(e.Seq)
	num(e.At.UnixMicro())
	field([]byte(e.Actor))
	field([]byte(e.Action))
	field([]byte(e.Target))
	field([]byte(e.Detail))
	sum := sha256.Sum256(b.Bytes())
	return sum[:]
}

// ChainMAC returns HMAC-SHA-256 under key of prevMAC (the MAC of entry
// Seq-1, 32 zero bytes for the first), Seq and hash, the entry's
// ChainHash: a keyed chain over the unkeyed one. Whoever can write the
// database can recompute every ChainHash after an edit, but not the MACs
// without the key, which is not in the database.
func (e *AuditEntry) ChainMAC(key, prevMAC, hash []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("muster-audit-mac-v1"))
	var n [8]byte
	for _, p := range [][]byte{prevMAC, hash} {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		m.Write(n[:])
		m.Write(p)
	}
	binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
	m.Write(n[:])
	return m.Sum(nil)
}

// AuditVerification is the verdict of VerifyAudit.
type AuditVerification struct {
	OK       bool
	Entries  int64  // entries checked
	FirstBad int64  // Seq (or position) of the first entry that fails; 0 if OK
	Reason   string // why it fails
	// Head is the hash of the last entry. A chain can be rewritten whole,
	// hashes and all, by someone with write access to the database: an
	// operator who keeps Head elsewhere (printed, in a ticket) and compares
	// it later catches that too.
	Head []byte
	// HeadMAC is the last entry's MAC: what a signed checkpoint records.
	HeadMAC []byte
}

// WipeResult says what Wipe destroyed.
type WipeResult struct {
	WipedAt time.Time
	Message string
}

// Event says that something changed: Kind is "household", "report",
// "place", "plan", "source", "user", "token", "capability", "job",
// "outbox" (messages were queued: there is something new to send),
// "message" (a message was leased or its delivery status changed),
// "throttle" (an operator cleared login throttles: ID is the target of
// ClearThrottle), "instruction" (instructions were issued, superseded or
// revoked), "checkin" (a token was checked in), "fieldevent" (field
// events were recorded) or "advisory"; ID is what
// changed ("" for many).
type Event struct {
	Kind string
	ID   string
}

type actorKey struct{}

// WithActor returns a context whose store mutations and audit entries are
// attributed to actor (an operator name, "evacuee:<id>", "system").
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the actor WithActor set, or "system".
func ActorFrom(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "system"
}

// TokenHash is the hash under which tokens and capability links are
// stored. Their secrets are 256 random bits, so a fast unsalted hash is
// enough: a database thief cannot invert it, nor guess a secret.
func TokenHash(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// Plan statuses.
const (
	PlanProposed   = "proposed"
	PlanCurrent    = "current"
	PlanSuperseded = "superseded"
)

// PlanRecord is a stored plan: its plan.json (Body) and what an operator
// needs to choose among plans without reading personal data (Summary, a
// small JSON document).
type PlanRecord struct {
	ID         string    `json:"id"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
	CreatedBy  string    `json:"created_by"`
	Basis      string    `json:"basis,omitempty"` // the plan it revises
	ApprovedAt time.Time `json:"approved_at,omitzero"`
	ApprovedBy string    `json:"approved_by,omitempty"`
	Summary    []byte    `json:"summary"`
	Body       []byte    `json:"-"`
}
