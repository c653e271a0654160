package muster

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The outbox: every message muster sends (an instruction by e-mail, SMS or
// webhook) is first stored here, in the same database as everything else,
// and a delivery worker (package deliver) leases it, sends it and records
// the outcome. Delivery is at least once: a worker killed after the
// provider accepted a message but before the outcome was recorded sends it
// again once its lease expires, with the same IdempotencyKey, which every
// channel hands to the provider (the e-mail's Message-ID, the SMS
// gateway's idempotency header, the webhook's id) so that it can drop the
// second copy. docs/delivery.md says what a crash can and cannot cause.

// Delivery channels.
const (
	ChannelEmail   = "email"
	ChannelSMS     = "sms"
	ChannelWebhook = "webhook"
)

// Channels lists the delivery channels.
var Channels = []string{ChannelEmail, ChannelSMS, ChannelWebhook}

// Outbox message statuses. A message is queued, then sending while a
// worker holds its lease, then sent, or failed-retrying (to be sent again
// at NextAttemptAt), or dead (a permanent failure or too many attempts:
// a dead letter, sent again only when an operator retries it).
const (
	MessageQueued   = "queued"
	MessageSending  = "sending"
	MessageSent     = "sent"
	MessageRetrying = "failed-retrying"
	MessageDead     = "dead"
)

// MessageStatuses lists the outbox statuses, in their usual order.
var MessageStatuses = []string{MessageQueued, MessageSending, MessageRetrying, MessageSent, MessageDead}

// Acknowledgement ways.
const (
	AckLink     = "link"     // the evacuee opened their capability link and confirmed
	AckCode     = "code"     // the evacuee replied to an SMS with the short code
	AckOperator = "operator" // an operator reached them (by phone) and recorded it
)

// AckVias lists the ways an instruction can be acknowledged.
var AckVias = []string{AckLink, AckCode, AckOperator}

// Limits of an outbox message.
const (
	MaxMessageBody    = 64 << 10 // bytes of Body, and of BodyHTML
	MaxMessageSubject = 998      // bytes: one RFC 5322 header line
	MaxRecipient      = 2048     // bytes: an address, a phone, a webhook URL
	MaxLastError      = 500      // bytes of LastError kept
	MaxMessageLink    = 512      // bytes of Link
)

// OutboxMessage is one message to one recipient over one channel.
//
// Recipient, Body and BodyHTML are personal data (an address, a phone
// number, words written for one family): sealed at rest, and returned only
// to the worker that leases the message, never by ListMessages. Subject
// and Link are sealed too (an instruction's subject may name a place or a
// person; a link opens a household's page).
// Everything else is in clear and holds no personal data: LastError in
// particular is written by the worker from the provider's status, never
// from what the provider echoes of the message.
type OutboxMessage struct {
	ID string
	// IdempotencyKey is MessageKey(HouseholdID, InstructionID,
	// InstructionVersion, Channel): empty at enqueue, or that (the store
	// refuses another). A message is unique in the outbox by those four,
	// so by its key: a second one is not stored.
	IdempotencyKey string
	HouseholdID    string
	// InstructionID and InstructionVersion say which instruction the
	// message carries (package instruct makes them; the outbox only keeps
	// them, to key, list and acknowledge).
	InstructionID      string
	InstructionVersion int
	Channel            string // ChannelEmail, ...
	Recipient          string // e-mail address, phone (E.164) or webhook URL ("" for the worker's configured URL)
	Subject            string
	Body               string // plain text
	BodyHTML           string // optional, e-mail only: sent as multipart/alternative with Body
	// Link, on an instruction's e-mail or webhook message, is the
	// household's link (PUBLIC-URL/i/SECRET), and the message is queued
	// without Subject, Body and BodyHTML: the delivery worker renders them
	// when it sends it (deliver.Worker.Render), from the instruction
	// version it names (stored sealed, with its token), this link and
	// AckCode. An issuance of 100,000 households then stores a line, not
	// a rendered e-mail, per message (docs/issuing.md).
	Link string
	// AckCode is the short code an evacuee may reply with to acknowledge
	// (NewAckCode makes one; every channel's message of one household's
	// instruction carries the same). Empty: no reply code.
	AckCode string

	Status            string
	Attempts          int // attempts begun (a lease is an attempt, even if the worker then died)
	NextAttemptAt     time.Time
	LeaseOwner        string
	LeaseExpiresAt    time.Time
	LastError         string // why the last attempt failed: status codes and reasons, no personal data
	ProviderMessageID string // the provider's id of the sent message
	CreatedAt         time.Time
	UpdatedAt         time.Time
	SentAt            time.Time
}

// MessageKey is the idempotency key of the message carrying version
// version of instruction instructionID to household householdID over
// channel: the same four always give the same key, on every instance, and
// the key reveals none of them. It is 32 lowercase hex digits, so it fits
// a Message-ID, an HTTP header and a webhook id as it is.
func MessageKey(householdID, instructionID string, version int, channel string) string {
	// The hashed bytes are each part as "<length>:<part>;", the length in
	// decimal, so that no two lists of parts hash the same bytes. Written
	// on the stack: an approval makes a key a message, 120,000 of them.
	var buf [256]byte
	b := appendKeyPart(buf[:0], "muster-message-v1")
	b = appendKeyPart(b, householdID)
	b = appendKeyPart(b, instructionID)
	var v [20]byte
	b = appendKeyPart(b, string(strconv.AppendInt(v[:0], int64(version), 10)))
	b = appendKeyPart(b, channel)
	sum := sha256.Sum256(b)
	var out [32]byte
	hex.Encode(out[:], sum[:16])
	return string(out[:])
}

func appendKeyPart(b []byte, part string) []byte {
	b = strconv.AppendInt(b, int64(len(part)), 10)
	b = append(b, ':')
	b = append(b, part...)
	return append(b, ';')
}

// NewAckCode returns a random 6-digit code for an evacuee to reply with,
// every code equally likely.
func NewAckCode() string {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:]) // never fails (crypto/rand crashes the program instead)
		if code, ok := ackCodeFrom(binary.LittleEndian.Uint64(b[:])); ok {
			return code
		}
	}
}

// ackCodeRest is 2^64 mod 10^6: the values of the last, partial million
// below 2^64.
const ackCodeRest = (math.MaxUint64%1_000_000 + 1) % 1_000_000

// ackCodeFrom makes a code of a uniform 64-bit value, or says to draw
// again for a value in the last partial million (one draw in 10^13), so
// that no code is likelier than another.
func ackCodeFrom(v uint64) (string, bool) {
	if v > math.MaxUint64-ackCodeRest {
		return "", false
	}
	n := v % 1_000_000
	var code [6]byte
	for i := len(code) - 1; i >= 0; i-- {
		code[i] = byte('0' + n%10)
		n /= 10
	}
	return string(code[:]), true
}

// Outcomes of a delivery attempt (MessageResult.Outcome).
const (
	OutcomeSent  = "sent"
	OutcomeRetry = "retry"
	OutcomeDead  = "dead"
)

// MessageResult is what a worker reports of an attempt.
type MessageResult struct {
	Outcome           string    // OutcomeSent, OutcomeRetry or OutcomeDead
	RetryAt           time.Time // OutcomeRetry: when to try again
	Error             string    // OutcomeRetry, OutcomeDead: why (no personal data; cut to MaxLastError)
	ProviderMessageID string    // OutcomeSent: the provider's id, if it gave one
}

// MessageFilter selects outbox messages; empty fields select all.
type MessageFilter struct {
	Status        string
	Channel       string
	HouseholdID   string
	InstructionID string
	AckCode       string // with HouseholdID: the messages that carried this code
	AfterID       string // paging: messages with a greater id (ids grow with time)
	Limit         int    // default 100, at most 1000
}

// Acknowledgement records that a household confirmed an instruction.
// The first acknowledgement of an instruction is kept; later ones change
// nothing.
type Acknowledgement struct {
	HouseholdID   string
	InstructionID string
	Via           string // AckLink, AckCode, AckOperator
	At            time.Time
	By            string // the actor: "evacuee:<id>", an operator, "sms:<gateway>"
}

// Unacknowledged is a household whose newest instruction in the outbox
// was queued before the cut-off and is not acknowledged: someone should
// call them.
type Unacknowledged struct {
	HouseholdID        string
	InstructionID      string
	InstructionVersion int
	FirstQueuedAt      time.Time
	LastSentAt         time.Time // zero if no message of it was sent
	Sent, Pending      int       // its messages sent, and still queued, sending or retrying
	Dead               int       // its messages that could not be delivered
	// Name and Phone are personal data, filled by the store; an API
	// serving roles that may not read personal data drops them.
	Name, Phone string
}

// CheckRecipient checks the shape of a recipient for a channel, as the
// outbox does before it queues a message: an e-mail address, an
// international phone number (+ and 7 to 15 digits), or an http(s) URL
// (empty for the worker's configured webhook). The channel's sender
// checks it again, and a provider may still refuse it (a dead letter).
func CheckRecipient(channel, r string) error {
	if len(r) > MaxRecipient {
		return fmt.Errorf("longer than %d bytes", MaxRecipient)
	}
	for _, c := range r {
		if c < 0x21 || c == 0x7f || unicode.IsSpace(c) || unicode.IsControl(c) {
			return fmt.Errorf("holds a space or a control character")
		}
	}
	switch channel {
	case ChannelEmail:
		local, domain, ok := strings.Cut(r, "@")
		if !ok || local == "" || domain == "" || strings.ContainsAny(r, "<>()[],;:\"\\") || strings.Contains(domain, "@") {
			return fmt.Errorf("not an e-mail address (want local@domain)")
		}
	case ChannelSMS:
		if len(r) < 8 || len(r) > 16 || r[0] != '+' || strings.Trim(r[1:], "0123456789") != "" {
			return fmt.Errorf("not an international phone number (want +93701234567)")
		}
	case ChannelWebhook:
		if r == "" {
			return nil // the worker's configured endpoint
		}
		u, err := url.Parse(r)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("not an http(s) URL")
		}
	}
	if r == "" {
		return fmt.Errorf("empty")
	}
	return nil
}

// IDRange makes the ids of one batch of rows (an issuance's messages,
// its links' capabilities): a prefix, the creation time (13 hex digits of
// Unix microseconds) and 64 bits that start at a random value (below
// 2^63) and count up through the batch. Ids sort by creation time across
// instances, and within a batch in its order, so a table keyed by them is
// filled at its right edge, not at random places (where SQLite splits
// pages among their neighbours). Two batches of the same microsecond
// collide only if their random starts are less than a batch apart: about
// 2^-45 for batches of 200,000. ID(i) is the i-th, made on any goroutine.
type IDRange struct {
	prefix string
	start  uint64
}

// NewIDRange starts the ids of a batch made at now.
func NewIDRange(prefix string, now time.Time) IDRange {
	var b [8]byte
	_, _ = rand.Read(b[:]) // (crypto/rand does not fail)
	return IDRange{prefix: fmt.Sprintf("%s%013x", prefix, now.UnixMicro()), start: binary.BigEndian.Uint64(b[:]) >> 1}
}

// ID is the batch's i-th id.
func (r IDRange) ID(i int) string {
	b := make([]byte, len(r.prefix), len(r.prefix)+16)
	copy(b, r.prefix)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], r.start+uint64(i))
	return string(hex.AppendEncode(b, n[:]))
}

// Seq returns the batch's ids one after another, from the first: for one
// goroutine.
func (r IDRange) Seq() func() string {
	next := 0
	return func() string {
		next++
		return r.ID(next - 1)
	}
}
