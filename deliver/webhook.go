package deliver

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/muster-evac/muster"
)

// Webhooks in the Standard Webhooks style (standardwebhooks.com): each
// request carries
//
//	webhook-id:        the message's idempotency key (the same on every attempt)
//	webhook-timestamp: Unix seconds
//	webhook-signature: v1,<base64 HMAC-SHA256 over "id.timestamp.body">
//
// under a secret shared with the receiver, "whsec_" and the key in base64.
// A receiver checks the signature and the timestamp (Verify), and drops a
// webhook-id it has seen.

// Webhook header names.
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// ParseWebhookSecret reads a secret "whsec_<base64>" (or bare base64) of
// at least 16 bytes.
func ParseWebhookSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "whsec_"))
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("webhook secret: not base64 (want whsec_<base64>): %w", err)
	}
	if len(key) < 16 {
		return nil, fmt.Errorf("webhook secret: %d bytes, want at least 16", len(key))
	}
	return key, nil
}

// Sign returns the webhook-signature value for id, timestamp and body.
func Sign(key []byte, id string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte("."))
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// DefaultWebhookTolerance is how far a webhook's timestamp may be from the
// receiver's clock: a replay later than this is refused.
const DefaultWebhookTolerance = 5 * time.Minute

// Verify checks a webhook's headers and body as a receiver must: the
// timestamp within tolerance of now, and one of the signatures (the header
// may carry several, space separated, while a secret is rotated) made with
// key. It returns the webhook id, by which the receiver drops repeats.
func Verify(key []byte, h http.Header, body []byte, tolerance time.Duration, now time.Time) (string, error) {
	id, tsText, sigs := h.Get(HeaderWebhookID), h.Get(HeaderWebhookTimestamp), h.Get(HeaderWebhookSignature)
	if id == "" || tsText == "" || sigs == "" {
		return "", fmt.Errorf("webhook: missing %s, %s or %s", HeaderWebhookID, HeaderWebhookTimestamp, HeaderWebhookSignature)
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return "", fmt.Errorf("webhook: timestamp %q: not Unix seconds", tsText)
	}
	if tolerance <= 0 {
		tolerance = DefaultWebhookTolerance
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return "", fmt.Errorf("webhook: timestamp %d is %s from now: too old or too new (a replay?)", ts, d.Round(time.Second))
	}
	want := Sign(key, id, ts, body)
	for _, sig := range strings.Fields(sigs) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return id, nil
		}
	}
	return "", fmt.Errorf("webhook: no valid signature")
}

// WebhookConfig configures the webhook channel.
type WebhookConfig struct {
	// URL receives the messages whose recipient is empty.
	URL string
	// Secret is the HMAC key (ParseWebhookSecret).
	Secret []byte
	// Timeout bounds a request (DefaultSendTimeout); MaxResponse bounds
	// what is read of an answer (DefaultMaxResponse).
	Timeout     time.Duration
	MaxResponse int64
	Client      *http.Client
}

// Webhook posts messages as signed JSON.
type Webhook struct {
	cfg    WebhookConfig
	client *http.Client
	now    func() time.Time
}

// NewWebhook checks cfg and returns the channel.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	if cfg.URL != "" {
		if u, err := url.Parse(cfg.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			return nil, fmt.Errorf("webhook: URL %q: want http(s)://host/path without credentials", cfg.URL)
		}
	}
	if len(cfg.Secret) < 16 {
		return nil, fmt.Errorf("webhook: a secret of at least 16 bytes is required")
	}
	if cfg.MaxResponse <= 0 {
		cfg.MaxResponse = DefaultMaxResponse
	}
	w := &Webhook{cfg: cfg, client: cfg.Client, now: time.Now}
	if w.client == nil {
		w.client = newHTTPClient(cfg.Timeout)
	}
	return w, nil
}

// Channel implements Sender.
func (w *Webhook) Channel() string { return muster.ChannelWebhook }

// Close implements Sender.
func (w *Webhook) Close() error {
	w.client.CloseIdleConnections()
	return nil
}

// WebhookPayload is the JSON body of a webhook.
type WebhookPayload struct {
	Type               string    `json:"type"` // "instruction.message"
	Timestamp          time.Time `json:"timestamp"`
	MessageID          string    `json:"message_id"`
	HouseholdID        string    `json:"household_id"`
	InstructionID      string    `json:"instruction_id"`
	InstructionVersion int       `json:"instruction_version"`
	Subject            string    `json:"subject,omitempty"`
	Body               string    `json:"body"`
	AckCode            string    `json:"ack_code,omitempty"`
}

// Send implements Sender.
func (w *Webhook) Send(ctx context.Context, m muster.OutboxMessage) (string, error) {
	if err := check(&m, muster.ChannelWebhook); err != nil {
		return "", err
	}
	target := m.Recipient
	if target == "" {
		target = w.cfg.URL
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", Permanent("webhook: no endpoint: the message has no URL and none is configured")
	}
	now := w.now()
	body, err := json.Marshal(WebhookPayload{Type: "instruction.message", Timestamp: now.UTC(), MessageID: m.ID, HouseholdID: m.HouseholdID,
		InstructionID: m.InstructionID, InstructionVersion: m.InstructionVersion, Subject: m.Subject, Body: m.Body, AckCode: m.AckCode})
	if err != nil {
		return "", Permanent("webhook: encode: %v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return "", Permanent("webhook: request: %v", err)
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderWebhookID, m.IdempotencyKey)
	req.Header.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderWebhookSignature, Sign(w.cfg.Secret, m.IdempotencyKey, ts, body))
	resp, err := w.client.Do(req)
	if err != nil {
		return "", transportError(ctx, "webhook", err)
	}
	defer resp.Body.Close()
	if _, _, err := readBounded(resp.Body, w.cfg.MaxResponse); err != nil && resp.StatusCode/100 != 2 {
		return "", transportError(ctx, "webhook", err)
	}
	if resp.StatusCode == http.StatusGone {
		return "", Permanent("webhook: HTTP 410: the endpoint is gone")
	}
	if err := classifyHTTP("webhook", resp, ""); err != nil {
		return "", err
	}
	return m.IdempotencyKey, nil
}
