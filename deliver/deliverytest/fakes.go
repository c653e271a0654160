package deliverytest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muster-evac/muster/deliver"
)

// SMSGateway is a local server speaking Twilio's Messages API: POST
// /2010-04-01/Accounts/{sid}/Messages.json with basic auth and a form To,
// From, Body. Like a real gateway it takes a request whose idempotency
// token it has already seen as the same message: it answers with that
// message again and sends nothing new.
type SMSGateway struct {
	URL        string
	AccountSID string
	Token      string

	mu        sync.Mutex
	sent      []SMS
	byToken   map[string]string // idempotency token -> sid
	requests  int
	failNext  []int         // statuses to answer the next requests with
	stall     time.Duration // answer only after this long
	hugeReply bool          // answer 201 with an endless body
	srv       *httptest.Server
}

// SMS is a text message the gateway sent.
type SMS struct {
	SID, To, From, Body, Token string
}

// StartSMSGateway starts a gateway, closed when tb ends.
func StartSMSGateway(tb testing.TB) *SMSGateway {
	g := &SMSGateway{AccountSID: "AC" + randHex(16), Token: randHex(16), byToken: map[string]string{}}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	g.URL = g.srv.URL
	tb.Cleanup(g.srv.Close)
	return g
}

// FailNext makes the next requests answer with these statuses (429 with
// Retry-After: 1), in order.
func (g *SMSGateway) FailNext(statuses ...int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failNext = append(g.failNext, statuses...)
}

// Stall makes every answer wait d (0: none), as a gateway in trouble does.
func (g *SMSGateway) Stall(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stall = d
}

// HugeReply makes every accepted message's answer endless.
func (g *SMSGateway) HugeReply(on bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hugeReply = on
}

// Sent returns the messages sent, in order.
func (g *SMSGateway) Sent() []SMS {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]SMS(nil), g.sent...)
}

// Requests returns how many requests reached the gateway.
func (g *SMSGateway) Requests() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.requests
}

func (g *SMSGateway) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.requests++
	stall, huge := g.stall, g.hugeReply
	var fail int
	if len(g.failNext) > 0 {
		fail, g.failNext = g.failNext[0], g.failNext[1:]
	}
	g.mu.Unlock()
	if stall > 0 {
		select {
		case <-time.After(stall):
		case <-r.Context().Done():
			return
		}
	}
	jsonErr := func(status, code int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"code": %d, "message": %q, "status": %d}`, code, msg, status)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+g.AccountSID+"/Messages.json" {
		jsonErr(404, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != g.AccountSID || pass != g.Token {
		jsonErr(401, 20003, "Authenticate")
		return
	}
	if fail != 0 {
		if fail == 429 {
			w.Header().Set("Retry-After", "1")
		}
		jsonErr(fail, 20429, "Too Many Requests")
		return
	}
	if err := r.ParseForm(); err != nil {
		jsonErr(400, 21602, "bad form")
		return
	}
	to, from, body := r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("Body")
	if !strings.HasPrefix(to, "+") || strings.HasPrefix(to, "+999") {
		jsonErr(400, 21211, "The 'To' number "+to+" is not a valid phone number.")
		return
	}
	if body == "" || from == "" {
		jsonErr(400, 21602, "Message body is required.")
		return
	}
	token := r.Header.Get(deliver.IdempotencyHeader)
	g.mu.Lock()
	sid, seen := g.byToken[token]
	if !seen || token == "" {
		sid = "SM" + randHex(16)
		g.sent = append(g.sent, SMS{SID: sid, To: to, From: from, Body: body, Token: token})
		if token != "" {
			g.byToken[token] = sid
		}
	}
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"sid": %q, "status": "queued", "to": %q, "account_sid": %q}`, sid, to, g.AccountSID)
	if huge {
		chunk := []byte(strings.Repeat(" ", 32<<10))
		for i := 0; i < 1<<15; i++ { // up to 1 GiB, until the client goes
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
}

// WebhookReceiver is an integration's endpoint: it verifies each
// webhook's signature and timestamp, refuses forgeries with 401, and
// keeps one delivery per webhook-id, as Standard Webhooks asks.
type WebhookReceiver struct {
	URL    string
	Secret string // whsec_...
	key    []byte

	mu         sync.Mutex
	received   []deliver.WebhookPayload
	ids        map[string]bool
	duplicates int
	refused    int
	status     int // answer with this status instead (0: 204)
	srv        *httptest.Server
}

// StartWebhookReceiver starts a receiver, closed when tb ends.
func StartWebhookReceiver(tb testing.TB) *WebhookReceiver {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	wr := &WebhookReceiver{key: key, ids: map[string]bool{}}
	wr.Secret = "whsec_" + encodeStd(key)
	wr.srv = httptest.NewServer(http.HandlerFunc(wr.serve))
	wr.URL = wr.srv.URL + "/hooks/muster"
	tb.Cleanup(wr.srv.Close)
	return wr
}

// AnswerWith makes the receiver answer every webhook with status (0: 204).
func (wr *WebhookReceiver) AnswerWith(status int) {
	wr.mu.Lock()
	defer wr.mu.Unlock()
	wr.status = status
}

// Received returns the webhooks taken (one per id), how many repeats were
// dropped, and how many were refused as forged.
func (wr *WebhookReceiver) Received() (taken []deliver.WebhookPayload, duplicates, refused int) {
	wr.mu.Lock()
	defer wr.mu.Unlock()
	return append([]deliver.WebhookPayload(nil), wr.received...), wr.duplicates, wr.refused
}

func (wr *WebhookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		w.WriteHeader(400)
		return
	}
	id, err := deliver.Verify(wr.key, r.Header, body, 0, time.Now())
	wr.mu.Lock()
	defer wr.mu.Unlock()
	if err != nil {
		wr.refused++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if wr.status != 0 {
		w.WriteHeader(wr.status)
		return
	}
	if wr.ids[id] {
		wr.duplicates++
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var p deliver.WebhookPayload
	if err := json.Unmarshal(body, &p); err != nil {
		w.WriteHeader(400)
		return
	}
	wr.ids[id] = true
	wr.received = append(wr.received, p)
	w.WriteHeader(http.StatusNoContent)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func encodeStd(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
