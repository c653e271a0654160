package httpapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/deliver"
)

// The outbox and acknowledgements (docs/delivery.md). Operators see each
// message's delivery status, never its recipient or text; planners send a
// dead letter again. Evacuees acknowledge through their capability link,
// or by replying to an SMS with the short code, which the SMS gateway
// posts here signed; operators list whom to call.

// messageJSON is a message without its personal fields.
type messageJSON struct {
	ID                 string     `json:"id"`
	IdempotencyKey     string     `json:"idempotency_key"`
	HouseholdID        string     `json:"household_id"`
	InstructionID      string     `json:"instruction_id"`
	InstructionVersion int        `json:"instruction_version"`
	Channel            string     `json:"channel"`
	Status             string     `json:"status"`
	Attempts           int        `json:"attempts"`
	NextAttemptAt      *time.Time `json:"next_attempt_at,omitempty"`
	LeaseOwner         string     `json:"lease_owner,omitempty"`
	LeaseExpiresAt     *time.Time `json:"lease_expires_at,omitempty"`
	LastError          string     `json:"last_error,omitempty"`
	ProviderMessageID  string     `json:"provider_message_id,omitempty"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
	SentAt             *time.Time `json:"sent_at,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func messageOut(m muster.OutboxMessage) messageJSON {
	out := messageJSON{ID: m.ID, IdempotencyKey: m.IdempotencyKey, HouseholdID: m.HouseholdID, InstructionID: m.InstructionID,
		InstructionVersion: m.InstructionVersion, Channel: m.Channel, Status: m.Status, Attempts: m.Attempts, LeaseOwner: m.LeaseOwner,
		LastError: m.LastError, ProviderMessageID: m.ProviderMessageID, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt,
		LeaseExpiresAt: timePtr(m.LeaseExpiresAt), SentAt: timePtr(m.SentAt)}
	if m.Status == muster.MessageQueued || m.Status == muster.MessageRetrying {
		out.NextAttemptAt = timePtr(m.NextAttemptAt)
	}
	return out
}

type outboxPage struct {
	// Counts are the messages the filter matches, by status (every status).
	Counts   map[string]int `json:"counts"`
	Messages []messageJSON  `json:"messages"`
	Next     string         `json:"next,omitempty"`
}

func (s *Server) listOutbox(w http.ResponseWriter, r *http.Request, _ *caller) error {
	q := r.URL.Query()
	f := muster.MessageFilter{Status: q.Get("status"), Channel: q.Get("channel"), HouseholdID: q.Get("household"),
		InstructionID: q.Get("instruction"), AfterID: q.Get("after")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return errorf(muster.EINVALID, "limit %q: want 1 to 1000", v)
		}
		f.Limit = n
	}
	counts, err := s.store.CountMessages(r.Context(), f)
	if err != nil {
		return err
	}
	ms, next, err := s.store.ListMessages(r.Context(), f)
	if err != nil {
		return err
	}
	out := outboxPage{Counts: counts, Messages: make([]messageJSON, 0, len(ms)), Next: next}
	for _, m := range ms {
		out.Messages = append(out.Messages, messageOut(m))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// retryMessage queues a dead letter again (the store audits who did).
func (s *Server) retryMessage(w http.ResponseWriter, r *http.Request, _ *caller) error {
	m, err := s.store.RetryMessage(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, messageOut(m))
	return nil
}

type ackRequest struct {
	// InstructionID is the instruction acknowledged; empty: the newest
	// one the outbox holds for the household.
	InstructionID string `json:"instruction_id,omitempty"`
}

type ackResponse struct {
	HouseholdID    string    `json:"household_id"`
	InstructionID  string    `json:"instruction_id"`
	Via            string    `json:"via"`
	AcknowledgedAt time.Time `json:"acknowledged_at"`
}

// ackLink records an evacuee's acknowledgement through their capability
// link. An unknown, revoked or expired link is 404, as for /api/me.
func (s *Server) ackLink(w http.ResponseWriter, r *http.Request, _ *caller) error {
	notFound := errorf(muster.ENOTFOUND, "this link is not valid (unknown, expired or revoked)")
	secret := r.PathValue("token")
	if !plausibleLink(secret) {
		return notFound
	}
	var req ackRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	link, err := s.store.LookupCapability(r.Context(), muster.TokenHash(secret), s.now())
	if err != nil {
		if muster.ErrorCode(err) == muster.ENOTFOUND {
			return notFound
		}
		return err
	}
	ctx := muster.WithActor(r.Context(), "evacuee:"+link.HouseholdID)
	instr := req.InstructionID
	if instr == "" {
		// The household's current instruction, or else the newest the
		// outbox holds for it (advisories are not acknowledged).
		if in, err := s.store.CurrentInstruction(ctx, link.HouseholdID); err == nil {
			instr = in.ID
		} else if muster.ErrorCode(err) != muster.ENOTFOUND {
			return err
		}
	}
	if instr == "" {
		ms, _, err := s.store.ListMessages(ctx, muster.MessageFilter{HouseholdID: link.HouseholdID, Limit: 1000})
		if err != nil {
			return err
		}
		for i := len(ms) - 1; i >= 0 && instr == ""; i-- { // ids grow with time: the newest first
			if !strings.HasPrefix(ms[i].InstructionID, muster.AdvisoryMessagePrefix) {
				instr = ms[i].InstructionID
			}
		}
		if instr == "" {
			return errorf(muster.ENOTFOUND, "no instruction has been sent to this household yet")
		}
	}
	ack, err := s.store.Acknowledge(ctx, link.HouseholdID, instr, muster.AckLink, time.Time{})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ackResponse{HouseholdID: ack.HouseholdID, InstructionID: ack.InstructionID, Via: ack.Via, AcknowledgedAt: ack.At})
	return nil
}

// ackCodeRequest is what the SMS gateway's adapter posts for a reply: the
// sender's number and the text (the code is its first word of 4 to 12
// letters and digits: "123456", "ok 123456" is not matched).
type ackCodeRequest struct {
	From string `json:"from"`
	Body string `json:"body"`
}

type ackCodeResponse struct {
	Acknowledged []ackResponse `json:"acknowledged"`
}

// maxAckBody bounds an inbound reply: a few SMS at most.
const maxAckBody = 4 << 10

// ackCode records acknowledgements by reply code. The request must be
// signed (Standard Webhooks headers, Config.AckKey): anyone could post a
// number and a code otherwise. The household is found by its phone's
// keyed hash; the code must be one the outbox sent it.
func (s *Server) ackCode(w http.ResponseWriter, r *http.Request, _ *caller) error {
	if len(s.cfg.AckKey) == 0 {
		return errorf(muster.EFORBIDDEN, "acknowledgement by reply code is off: start the server with --ack-secret-file")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAckBody))
	if err != nil {
		return errorf(codeTooLarge, "request body: more than %d bytes", maxAckBody)
	}
	if _, err := deliver.Verify(s.cfg.AckKey, r.Header, body, 0, s.now()); err != nil {
		return errorf(muster.EUNAUTHORIZED, "%v", err)
	}
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	r.ContentLength = int64(len(body))
	var req ackCodeRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	out, err := s.ackReply(r.Context(), req.From, req.Body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ackReply acknowledges, for every household registered with the phone
// from, the instructions the outbox sent it with the reply code that text
// starts with. The caller has checked that the gateway signed the reply.
func (s *Server) ackReply(ctx context.Context, from, text string) (ackCodeResponse, error) {
	phone := strings.Map(func(c rune) rune {
		if c == ' ' || c == '-' || c == '(' || c == ')' || c == '.' {
			return -1
		}
		return c
	}, from)
	code := ""
	if f := strings.Fields(text); len(f) > 0 {
		code = strings.ToUpper(f[0])
	}
	if len(phone) < 8 || len(phone) > 16 || phone[0] != '+' || strings.Trim(phone[1:], "0123456789") != "" {
		return ackCodeResponse{}, errorf(muster.EINVALID, "from: not an international phone number")
	}
	if len(code) < 4 || len(code) > 12 || strings.Trim(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
		return ackCodeResponse{}, errorf(muster.EINVALID, "body: no reply code (4 to 12 letters and digits) at its start")
	}
	ctx = muster.WithActor(ctx, "sms-reply")
	hs, err := s.store.FindHouseholdsByPhone(ctx, phone)
	if err != nil {
		return ackCodeResponse{}, err
	}
	out := ackCodeResponse{Acknowledged: []ackResponse{}}
	for _, h := range hs {
		ms, _, err := s.store.ListMessages(ctx, muster.MessageFilter{HouseholdID: h.ID, AckCode: code, Limit: 1000})
		if err != nil {
			return ackCodeResponse{}, err
		}
		seen := map[string]bool{}
		for _, m := range ms {
			if seen[m.InstructionID] {
				continue
			}
			seen[m.InstructionID] = true
			ack, err := s.store.Acknowledge(ctx, h.ID, m.InstructionID, muster.AckCode, time.Time{})
			if err != nil {
				return ackCodeResponse{}, err
			}
			out.Acknowledged = append(out.Acknowledged, ackResponse{HouseholdID: ack.HouseholdID, InstructionID: ack.InstructionID, Via: ack.Via, AcknowledgedAt: ack.At})
		}
	}
	if len(out.Acknowledged) == 0 {
		return ackCodeResponse{}, errorf(muster.ENOTFOUND, "no instruction sent to this number carries this code")
	}
	return out, nil
}

type unackedJSON struct {
	HouseholdID        string     `json:"household_id"`
	Name               string     `json:"name,omitempty"`
	Phone              string     `json:"phone,omitempty"`
	InstructionID      string     `json:"instruction_id"`
	InstructionVersion int        `json:"instruction_version"`
	FirstQueuedAt      time.Time  `json:"first_queued_at"`
	LastSentAt         *time.Time `json:"last_sent_at,omitempty"`
	Sent               int        `json:"sent"`
	Pending            int        `json:"pending"`
	Dead               int        `json:"dead"`
}

type unackedResponse struct {
	OlderThan  string        `json:"older_than"`
	Households []unackedJSON `json:"households"`
}

// unacknowledged lists the households to call. Names and phones go only
// to the roles that read personal data, and that read is audited.
func (s *Server) unacknowledged(w http.ResponseWriter, r *http.Request, c *caller) error {
	older := 2 * time.Hour
	if v := r.URL.Query().Get("older_than"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > 90*24*time.Hour {
			return errorf(muster.EINVALID, "older_than %q: want a duration such as 2h or 90m", v)
		}
		older = d
	}
	us, err := s.store.Unacknowledged(r.Context(), older)
	if err != nil {
		return err
	}
	personal := c.user.Role != muster.RoleViewer
	out := unackedResponse{OlderThan: older.String(), Households: make([]unackedJSON, 0, len(us))}
	ids := make([]string, 0, len(us))
	for _, u := range us {
		j := unackedJSON{HouseholdID: u.HouseholdID, InstructionID: u.InstructionID, InstructionVersion: u.InstructionVersion,
			FirstQueuedAt: u.FirstQueuedAt, LastSentAt: timePtr(u.LastSentAt), Sent: u.Sent, Pending: u.Pending, Dead: u.Dead}
		if personal {
			j.Name, j.Phone = u.Name, u.Phone
		}
		out.Households = append(out.Households, j)
		ids = append(ids, u.HouseholdID)
	}
	if personal && len(ids) > 0 {
		detail := fmt.Sprintf("%d unacknowledged households (name, phone)", len(ids))
		if all := strings.Join(ids, ","); len(detail)+len(all) < 3500 {
			detail += ": " + all
		} else {
			detail += ": ids " + ids[0] + " ... " + ids[len(ids)-1]
		}
		if err := s.auditRead(r.Context(), "household.list", "households", detail); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
