package deliver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/muster-evac/muster"
)

// SMSConfig configures the SMS channel: a gateway speaking Twilio's
// Messages API (POST /2010-04-01/Accounts/{sid}/Messages.json, form
// To, From, Body, HTTP basic auth with the account sid and token).
type SMSConfig struct {
	// BaseURL is the gateway, https://api.twilio.com or a compatible one.
	BaseURL    string
	AccountSID string
	AuthToken  string
	// From is the sending number or sender id.
	From string
	// Timeout bounds a request (default DefaultSendTimeout).
	Timeout time.Duration
	// MaxResponse bounds what is read of an answer (DefaultMaxResponse).
	MaxResponse int64
	// Client, if set, replaces the default client (tests).
	Client *http.Client
}

// IdempotencyHeader carries the message's idempotency key to the gateway,
// which answers a request it has already taken with the message it made
// then, instead of sending a second SMS.
const IdempotencyHeader = "I-Twilio-Idempotency-Token"

// SMS sends text messages through an HTTP gateway.
type SMS struct {
	cfg      SMSConfig
	endpoint string
	client   *http.Client
}

// NewSMS checks cfg and returns the channel.
func NewSMS(cfg SMSConfig) (*SMS, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("sms: gateway URL %q: want https://host", cfg.BaseURL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("sms: the gateway URL holds credentials: give the token with --sms-token-file or $MUSTER_SMS_TOKEN")
	}
	if cfg.AccountSID == "" || strings.ContainsAny(cfg.AccountSID, "/?#% ") || cfg.AuthToken == "" || cfg.From == "" {
		return nil, fmt.Errorf("sms: an account sid (no / ? # %% or space), a token and a sender are required")
	}
	if cfg.MaxResponse <= 0 {
		cfg.MaxResponse = DefaultMaxResponse
	}
	s := &SMS{cfg: cfg, client: cfg.Client}
	if s.client == nil {
		s.client = newHTTPClient(cfg.Timeout)
	}
	s.endpoint = strings.TrimSuffix(u.String(), "/") + "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID) + "/Messages.json"
	return s, nil
}

// Channel implements Sender.
func (s *SMS) Channel() string { return muster.ChannelSMS }

// Close implements Sender.
func (s *SMS) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

// twilioAnswer is what is read of the gateway's answer: the message's
// sid, or an error code. The error's text is not kept: gateways echo the
// number in it.
type twilioAnswer struct {
	SID  string          `json:"sid"`
	Code json.RawMessage `json:"code"`
}

// Send implements Sender.
func (s *SMS) Send(ctx context.Context, m muster.OutboxMessage) (string, error) {
	if err := check(&m, muster.ChannelSMS); err != nil {
		return "", err
	}
	if len(m.Recipient) < 8 || m.Recipient[0] != '+' || strings.Trim(m.Recipient[1:], "0123456789") != "" {
		return "", Permanent("sms: the recipient is not an international phone number")
	}
	body := m.Body
	if body == "" {
		body = m.Subject
	}
	form := url.Values{"To": {m.Recipient}, "From": {s.cfg.From}, "Body": {body}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", Permanent("sms: request: %v", err)
	}
	req.SetBasicAuth(s.cfg.AccountSID, s.cfg.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set(IdempotencyHeader, m.IdempotencyKey)
	resp, err := s.client.Do(req)
	if err != nil {
		return "", transportError(ctx, "sms gateway", err)
	}
	defer resp.Body.Close()
	b, tooLong, rerr := readBounded(resp.Body, s.cfg.MaxResponse)
	var ans twilioAnswer
	if !tooLong && rerr == nil {
		_ = json.Unmarshal(b, &ans)
	}
	code := strings.Trim(string(ans.Code), `"`)
	if _, err := strconv.Atoi(code); err != nil {
		code = ""
	}
	if err := classifyHTTP("sms gateway", resp, code); err != nil {
		return "", err
	}
	// Accepted: the message is sent even if its answer was cut short or
	// unreadable (sending it again would only be dropped, or duplicated).
	return oneLine(ans.SID, 64), nil
}
