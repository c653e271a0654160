// Package deliver drains the outbox (muster.Store's EnqueueMessages,
// LeaseMessages, CompleteMessage): a Worker leases due messages, hands
// each to the Sender of its channel, and records the outcome under its
// lease. Channels: e-mail over SMTP (smtp.go), SMS through a
// Twilio-compatible HTTP gateway (sms.go), and signed webhooks in the
// Standard Webhooks style (webhook.go).
//
// Delivery is at least once with a stable key: every channel hands the
// provider the message's idempotency key (the e-mail's Message-ID, the SMS
// gateway's idempotency header, the webhook's id), so that a message sent
// again after a crash (its send completed, its completion not recorded)
// can be dropped by the provider or the receiver. docs/delivery.md says
// what a crash can and cannot cause, and what the worker does against a
// stalling provider.
package deliver

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unicode"

	"github.com/muster-evac/muster"
)

// Error is a failed attempt, classified: permanent (the message is dead:
// an address refused, a request the provider will never take) or
// temporary (try again, not before RetryAfter if the provider said so).
// Its text goes to the outbox's LastError: status codes and reasons, never
// what a provider echoes of the message (an address, a phone number).
type Error struct {
	Permanent  bool
	RetryAfter time.Duration
	Msg        string
}

func (e *Error) Error() string { return e.Msg }

// Permanent returns a permanent failure.
func Permanent(format string, args ...any) error {
	return &Error{Permanent: true, Msg: fmt.Sprintf(format, args...)}
}

// Temporary returns a temporary failure; retryAfter 0 leaves the delay
// to the worker's backoff.
func Temporary(retryAfter time.Duration, format string, args ...any) error {
	return &Error{RetryAfter: retryAfter, Msg: fmt.Sprintf(format, args...)}
}

// IsPermanent reports whether err is a permanent failure. Any error that
// is not an *Error (a connection refused, a timeout) is temporary.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

// retryAfter is the delay a temporary failure asked for, or 0.
func retryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// Backoff is exponential backoff with jitter: attempt n (1, 2, ...) waits
// between half and all of Base·2^(n-1), at most Max, so that workers that
// failed together do not all come back together.
type Backoff struct {
	Base, Max time.Duration
}

// DefaultBackoff: 10 s, 20 s, 40 s, ... up to 30 min.
var DefaultBackoff = Backoff{Base: 10 * time.Second, Max: 30 * time.Minute}

// Delay returns the wait before the attempt after attempt n.
func (b Backoff) Delay(n int) time.Duration {
	if b.Base <= 0 {
		b = DefaultBackoff
	}
	if b.Max < b.Base {
		b.Max = b.Base
	}
	d := b.Max
	if n < 1 {
		n = 1
	}
	if n <= 40 {
		if e := b.Base << (n - 1); e > 0 && e < b.Max {
			d = e
		}
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// oneLine makes a provider's text safe for the record: one line, printable,
// at most n bytes.
func oneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		for n > 0 && s[n]&0xC0 == 0x80 {
			n--
		}
		s = s[:n]
	}
	return s
}

// check reports why m cannot be sent by a channel's sender, as a
// permanent failure, or nil.
func check(m *muster.OutboxMessage, channel string) error {
	if m.Channel != channel {
		return Permanent("%s sender given a %s message", channel, m.Channel)
	}
	return nil
}
