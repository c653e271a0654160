package deliver_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/deliver"
	"github.com/muster-evac/muster/deliver/deliverytest"
	"github.com/muster-evac/muster/sqlite"
	"github.com/muster-evac/muster/storetest"
)

var ctx = muster.WithActor(context.Background(), "tester")

// newStore opens a SQLite store holding households 1..n.
func newStore(tb testing.TB, n int) muster.Store {
	tb.Helper()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "muster.db"), storetest.NewKeys().DataKeys())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	hs := make([]muster.Household, n)
	for i := range hs {
		hs[i] = muster.Household{ID: fmt.Sprintf("H%06d", i+1), Name: fmt.Sprintf("Zarghuna Karimi-%d", i+1), PartySize: 2, Adults: 2,
			Language: muster.LangDari, Phone: fmt.Sprintf("+9370555%04d", i+1), Email: fmt.Sprintf("zarghuna%d@example.org", i+1)}
	}
	if _, err := st.ImportHouseholds(ctx, hs, muster.ImportOptions{}); err != nil {
		tb.Fatal(err)
	}
	return st
}

func enqueue(tb testing.TB, st muster.Store, from, to int, channel string) []muster.OutboxMessage {
	tb.Helper()
	var ms []muster.OutboxMessage
	for i := from; i <= to; i++ {
		ms = append(ms, storetest.OutboxMessage(i, 1, channel))
	}
	if n, dup, err := st.EnqueueMessages(ctx, ms); err != nil || n != len(ms) || dup != 0 {
		tb.Fatalf("enqueue: %d %d %v", n, dup, err)
	}
	return ms
}

// runWorker runs w until the test ends or stop is called.
func runWorker(tb testing.TB, w *deliver.Worker) (stop func()) {
	wctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := w.Run(wctx); err != nil && wctx.Err() == nil {
			tb.Errorf("worker: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	tb.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds or d passes.
func waitFor(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func counts(tb testing.TB, st muster.Store) map[string]int {
	tb.Helper()
	c, err := st.CountMessages(ctx, muster.MessageFilter{})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func fastBackoff() deliver.Backoff {
	return deliver.Backoff{Base: 50 * time.Millisecond, Max: 200 * time.Millisecond}
}

func newSMTP(tb testing.TB, addr string) *deliver.SMTP {
	tb.Helper()
	s, err := deliver.NewSMTP(deliver.SMTPConfig{Addr: addr, From: "Muster Kabul <noreply@muster.example.org>"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// TestSMTPToMailpit: messages queued for e-mail reach a real SMTP server
// once each, with the Message-ID made from their idempotency key, the
// subject and text intact, and text and HTML as alternatives.
func TestSMTPToMailpit(t *testing.T) {
	mp := deliverytest.StartMailpit(t)
	st := newStore(t, 40)
	ms := enqueue(t, st, 1, 40, muster.ChannelEmail)
	ms[0].BodyHTML = ""
	smtp := newSMTP(t, mp.SMTPAddr)
	runWorker(t, &deliver.Worker{Store: st, Senders: []deliver.Sender{smtp}, Backoff: fastBackoff()})
	waitFor(t, 20*time.Second, "every message sent", func() bool { return counts(t, st)[muster.MessageSent] == 40 })

	got := mp.Messages(t)
	if len(got) != 40 {
		t.Fatalf("mailpit holds %d messages, want 40", len(got))
	}
	byID := map[string]deliverytest.MailpitMessage{}
	for _, g := range got {
		if _, twice := byID[g.MessageID]; twice {
			t.Fatalf("Message-ID %s received twice", g.MessageID)
		}
		byID[g.MessageID] = g
	}
	for _, m := range ms {
		key := muster.MessageKey(m.HouseholdID, m.InstructionID, m.InstructionVersion, m.Channel)
		g, ok := byID[key+"@muster.example.org"]
		if !ok {
			t.Fatalf("no message with Message-ID <%s@muster.example.org> for %s", key, m.HouseholdID)
		}
		if g.Subject != m.Subject || len(g.To) != 1 || g.To[0].Address != m.Recipient || !strings.Contains(g.Snippet, "be at rally point") {
			t.Fatalf("received %+v for %+v", g, m)
		}
	}
	raw := mp.Raw(t, byID[muster.MessageKey(ms[1].HouseholdID, ms[1].InstructionID, 1, muster.ChannelEmail)+"@muster.example.org"].ID)
	for _, want := range []string{"multipart/alternative", "text/plain; charset=utf-8", "text/html; charset=utf-8", "Auto-Submitted: auto-generated"} {
		if !strings.Contains(raw, want) {
			t.Fatalf("the message source lacks %q:\n%s", want, raw)
		}
	}
	sent, _, err := st.ListMessages(ctx, muster.MessageFilter{Status: muster.MessageSent, Limit: 1})
	if err != nil || len(sent) != 1 || !strings.HasPrefix(sent[0].ProviderMessageID, "<") || sent[0].Attempts != 1 {
		t.Fatalf("sent message: %+v %v", sent, err)
	}
}

// TestSMTPChaosRetry: a 4xx from the server (mailpit's chaos mode) is
// retried with backoff until it is accepted; a 5xx makes a dead letter,
// which an operator's retry sends once the server accepts it.
func TestSMTPChaosRetry(t *testing.T) {
	mp := deliverytest.StartMailpit(t)
	st := newStore(t, 4)
	mp.SetChaos(t, deliverytest.ChaosTrigger{}, deliverytest.ChaosTrigger{ErrorCode: 451, Probability: 100})
	enqueue(t, st, 1, 3, muster.ChannelEmail)
	stop := runWorker(t, &deliver.Worker{Store: st, Senders: []deliver.Sender{newSMTP(t, mp.SMTPAddr)}, Backoff: fastBackoff(), MaxAttempts: 100})
	waitFor(t, 10*time.Second, "messages retried after a 451", func() bool {
		ms, _, _ := st.ListMessages(ctx, muster.MessageFilter{})
		for _, m := range ms {
			if m.Attempts < 2 || !strings.Contains(m.LastError, "451") {
				return false
			}
		}
		return true
	})
	if n := mp.Count(t); n != 0 {
		t.Fatalf("mailpit took %d messages while refusing them", n)
	}
	mp.SetChaos(t, deliverytest.ChaosTrigger{}, deliverytest.ChaosTrigger{})
	waitFor(t, 10*time.Second, "messages sent once the server accepts", func() bool { return counts(t, st)[muster.MessageSent] == 3 })
	if n := mp.Count(t); n != 3 {
		t.Fatalf("mailpit holds %d, want 3", n)
	}

	// 5xx: dead at once.
	mp.SetChaos(t, deliverytest.ChaosTrigger{}, deliverytest.ChaosTrigger{ErrorCode: 550, Probability: 100})
	enqueue(t, st, 4, 4, muster.ChannelEmail)
	waitFor(t, 10*time.Second, "a 550 makes a dead letter", func() bool { return counts(t, st)[muster.MessageDead] == 1 })
	dead, err := st.DeadLetters(ctx, 0)
	if err != nil || len(dead) != 1 || dead[0].Attempts != 1 || !strings.Contains(dead[0].LastError, "550") {
		t.Fatalf("dead letters: %+v %v", dead, err)
	}
	if strings.Contains(dead[0].LastError, "zarghuna") {
		t.Fatalf("the recorded error holds the address: %q", dead[0].LastError)
	}
	mp.SetChaos(t, deliverytest.ChaosTrigger{}, deliverytest.ChaosTrigger{})
	if _, err := st.RetryMessage(ctx, dead[0].ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the retried dead letter sent", func() bool { return counts(t, st)[muster.MessageSent] == 4 })
	stop()
	if n := mp.Count(t); n != 4 {
		t.Fatalf("mailpit holds %d, want 4", n)
	}
}

// TestSMTPStallingServer: a server that accepts connections and never
// answers, or answers and then stalls in the middle of a message, costs an
// attempt its timeout and no more; the messages wait for a retry.
func TestSMTPStallingServer(t *testing.T) {
	for _, mode := range []string{"silent", "stall after DATA"} {
		t.Run(mode, func(t *testing.T) {
			addr := stallingSMTP(t, mode)
			st := newStore(t, 2)
			enqueue(t, st, 1, 2, muster.ChannelEmail)
			start := time.Now()
			stop := runWorker(t, &deliver.Worker{Store: st, Senders: []deliver.Sender{newSMTP(t, addr)}, SendTimeout: 500 * time.Millisecond,
				Backoff: deliver.Backoff{Base: time.Hour, Max: time.Hour}})
			waitFor(t, 5*time.Second, "both attempts ended by the timeout", func() bool { return counts(t, st)[muster.MessageRetrying] == 2 })
			if took := time.Since(start); took > 3*time.Second {
				t.Fatalf("two attempts against a stalling server took %s", took)
			}
			stop()
			ms, _, _ := st.ListMessages(ctx, muster.MessageFilter{})
			for _, m := range ms {
				if !strings.Contains(m.LastError, "deadline") && !strings.Contains(m.LastError, "timeout") {
					t.Fatalf("last error %q does not say it timed out", m.LastError)
				}
			}
		})
	}
}

// stallingSMTP listens on a free port: "silent" never says a word;
// "stall after DATA" speaks SMTP until the message's data, then stalls.
func stallingSMTP(t *testing.T, mode string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if mode == "silent" {
					_, _ = c.Read(make([]byte, 1))
					time.Sleep(10 * time.Second)
					return
				}
				fmt.Fprintf(c, "220 stall.example ESMTP\r\n")
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					line := strings.ToUpper(string(buf[:n]))
					switch {
					case strings.HasPrefix(line, "EHLO"):
						fmt.Fprintf(c, "250-stall.example\r\n250 8BITMIME\r\n")
					case strings.HasPrefix(line, "DATA"):
						fmt.Fprintf(c, "354 go ahead\r\n")
						time.Sleep(10 * time.Second)
						return
					default:
						fmt.Fprintf(c, "250 ok\r\n")
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestSMSGateway: SMS go to a Twilio-compatible gateway with the
// idempotency token, which drops a repeat; 429 is retried after its
// Retry-After, an invalid number dies without the number in the record,
// and a stalling or endlessly answering gateway costs an attempt its
// timeout and a bounded read.
func TestSMSGateway(t *testing.T) {
	gw := deliverytest.StartSMSGateway(t)
	newSMS := func(timeout time.Duration) *deliver.SMS {
		s, err := deliver.NewSMS(deliver.SMSConfig{BaseURL: gw.URL, AccountSID: gw.AccountSID, AuthToken: gw.Token, From: "+15005550006", Timeout: timeout})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	sms := newSMS(time.Second)
	m := storetest.OutboxMessage(1, 1, muster.ChannelSMS)
	m.IdempotencyKey = muster.MessageKey(m.HouseholdID, m.InstructionID, 1, muster.ChannelSMS)
	sid1, err := sms.Send(ctx, m)
	if err != nil || !strings.HasPrefix(sid1, "SM") {
		t.Fatalf("send: %q %v", sid1, err)
	}
	sid2, err := sms.Send(ctx, m) // a crash between send and record: sent again
	if err != nil || sid2 != sid1 {
		t.Fatalf("the repeat: %q %v, want the first message's sid %q", sid2, err, sid1)
	}
	if sent := gw.Sent(); len(sent) != 1 || sent[0].To != m.Recipient || sent[0].Body != m.Body || sent[0].Token != m.IdempotencyKey {
		t.Fatalf("the gateway sent %+v", sent)
	}

	gw.FailNext(429)
	_, err = sms.Send(ctx, m)
	var de *deliver.Error
	if err == nil || deliver.IsPermanent(err) || !errorsAs(err, &de) || de.RetryAfter != time.Second {
		t.Fatalf("429: %v (%+v), want temporary after 1s", err, de)
	}
	gw.FailNext(503)
	if _, err = sms.Send(ctx, m); err == nil || deliver.IsPermanent(err) {
		t.Fatalf("503: %v, want temporary", err)
	}
	bad := m
	bad.Recipient, bad.IdempotencyKey = "+9990000000", "other-key"
	_, err = sms.Send(ctx, bad)
	if !deliver.IsPermanent(err) || !strings.Contains(err.Error(), "21211") || strings.Contains(err.Error(), "9990000000") {
		t.Fatalf("invalid number: %v, want permanent, with the code and without the number", err)
	}

	gw.Stall(5 * time.Second)
	fast := newSMS(300 * time.Millisecond)
	start := time.Now()
	_, err = fast.Send(ctx, m)
	if err == nil || deliver.IsPermanent(err) || time.Since(start) > 2*time.Second {
		t.Fatalf("a stalling gateway: %v after %s, want a temporary error after the timeout", err, time.Since(start))
	}
	gw.Stall(0)
	gw.HugeReply(true)
	start = time.Now()
	other := m
	other.IdempotencyKey = "huge-reply"
	if _, err := newSMS(5*time.Second).Send(ctx, other); err != nil || time.Since(start) > 2*time.Second {
		t.Fatalf("an endless answer: %v after %s, want sent at once (the answer read only so far)", err, time.Since(start))
	}
	gw.HugeReply(false)

	// Through the worker: the outbox drains into the gateway.
	st := newStore(t, 20)
	enqueue(t, st, 1, 20, muster.ChannelSMS)
	gw.FailNext(429, 500)
	runWorker(t, &deliver.Worker{Store: st, Senders: []deliver.Sender{newSMS(time.Second)}, Backoff: fastBackoff()})
	waitFor(t, 10*time.Second, "every SMS sent", func() bool { return counts(t, st)[muster.MessageSent] == 20 })
	// Household 1's message carries the key of the first sends above: the
	// gateway takes it as that message and sends nothing new.
	if n := len(gw.Sent()); n != 1+1+19 {
		t.Fatalf("the gateway sent %d SMS, want 21", n)
	}
}

func errorsAs(err error, de **deliver.Error) bool {
	e, ok := err.(*deliver.Error)
	if ok {
		*de = e
	}
	return ok
}

// TestWebhooks: webhooks are signed in the Standard Webhooks style and
// verified by the receiver, which drops a repeat by its id; a tampered
// body, another secret or an old timestamp is refused; 410 kills the
// message, 5xx is retried.
func TestWebhooks(t *testing.T) {
	rcv := deliverytest.StartWebhookReceiver(t)
	key, err := deliver.ParseWebhookSecret(rcv.Secret)
	if err != nil {
		t.Fatal(err)
	}
	wh, err := deliver.NewWebhook(deliver.WebhookConfig{URL: rcv.URL, Secret: key, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	m := storetest.OutboxMessage(1, 1, muster.ChannelWebhook)
	m.Recipient, m.IdempotencyKey, m.ID = "", "k1", "M1"
	for range 2 {
		if _, err := wh.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	got, dups, refused := rcv.Received()
	if len(got) != 1 || dups != 1 || refused != 0 || got[0].Body != m.Body || got[0].HouseholdID != "H000001" || got[0].AckCode != m.AckCode {
		t.Fatalf("received %+v, %d repeats, %d refused", got, dups, refused)
	}
	other, _ := deliver.NewWebhook(deliver.WebhookConfig{URL: rcv.URL, Secret: []byte("another deployment's secret")})
	if _, err := other.Send(ctx, m); !deliver.IsPermanent(err) && err == nil {
		t.Fatal("a webhook signed with another secret was taken")
	}
	if _, _, refused := rcv.Received(); refused != 1 {
		t.Fatalf("refused %d, want 1", refused)
	}

	// Verify, directly.
	body := []byte(`{"type":"instruction.message"}`)
	now := time.Now()
	h := map[string][]string{}
	hdr := func(id string, ts int64, sig string) {
		h["Webhook-Id"], h["Webhook-Timestamp"], h["Webhook-Signature"] = []string{id}, []string{fmt.Sprint(ts)}, []string{sig}
	}
	hdr("msg_1", now.Unix(), "v1,bm90IGl0 "+deliver.Sign(key, "msg_1", now.Unix(), body))
	if id, err := deliver.Verify(key, h, body, 0, now); err != nil || id != "msg_1" {
		t.Fatalf("a good webhook (second of two signatures): %q %v", id, err)
	}
	if _, err := deliver.Verify(key, h, append(body, ' '), 0, now); err == nil {
		t.Fatal("a tampered body verified")
	}
	hdr("msg_1", now.Add(-10*time.Minute).Unix(), deliver.Sign(key, "msg_1", now.Add(-10*time.Minute).Unix(), body))
	if _, err := deliver.Verify(key, h, body, 0, now); err == nil || !strings.Contains(err.Error(), "too old") {
		t.Fatalf("a replay 10 minutes late: %v", err)
	}
	hdr("msg_2", now.Unix(), deliver.Sign(key, "msg_1", now.Unix(), body))
	if _, err := deliver.Verify(key, h, body, 0, now); err == nil {
		t.Fatal("a signature for another id verified")
	}

	m.IdempotencyKey = "k2"
	rcv.AnswerWith(410)
	if _, err := wh.Send(ctx, m); !deliver.IsPermanent(err) {
		t.Fatalf("410: %v, want permanent", err)
	}
	rcv.AnswerWith(502)
	if _, err := wh.Send(ctx, m); err == nil || deliver.IsPermanent(err) {
		t.Fatalf("502: %v, want temporary", err)
	}
}

// TestBackoff: attempt n waits between half and all of base·2^(n-1),
// capped.
func TestBackoff(t *testing.T) {
	b := deliver.Backoff{Base: time.Second, Max: time.Minute}
	for n := 1; n <= 80; n++ {
		full := time.Minute
		if n <= 6 {
			full = time.Second << (n - 1)
		}
		for range 50 {
			if d := b.Delay(n); d < full/2 || d > full {
				t.Fatalf("attempt %d: %s not in [%s, %s]", n, d, full/2, full)
			}
		}
	}
}

// TestWorkerGivesUp: a message whose attempts ran out without an outcome
// (its workers died mid-send, again and again) is a dead letter, not sent
// again; one that fails with a temporary error on its last attempt too.
func TestWorkerGivesUp(t *testing.T) {
	gw := deliverytest.StartSMSGateway(t)
	sms, err := deliver.NewSMS(deliver.SMSConfig{BaseURL: gw.URL, AccountSID: gw.AccountSID, AuthToken: gw.Token, From: "+15005550006"})
	if err != nil {
		t.Fatal(err)
	}
	st := newStore(t, 2)
	enqueue(t, st, 1, 2, muster.ChannelSMS)
	// Three workers "die" holding message 1: its lease is taken three times.
	for range 3 {
		if _, err := st.LeaseMessages(ctx, "doomed", nil, 1, time.Millisecond, time.Time{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	gw.FailNext(500, 500, 500, 500)
	runWorker(t, &deliver.Worker{Store: st, Senders: []deliver.Sender{sms}, MaxAttempts: 2, Backoff: fastBackoff()})
	waitFor(t, 10*time.Second, "both dead", func() bool { return counts(t, st)[muster.MessageDead] == 2 })
	dead, _ := st.DeadLetters(ctx, 0)
	var reasons []string
	for _, d := range dead {
		reasons = append(reasons, d.LastError)
	}
	joined := strings.Join(reasons, " | ")
	if !strings.Contains(joined, "ended with no outcome") || !strings.Contains(joined, "gave up after 2 attempts: sms gateway: HTTP 500") {
		t.Fatalf("dead letters' reasons: %q", reasons)
	}
	if n := len(gw.Sent()); n != 0 {
		t.Fatalf("the gateway sent %d", n)
	}
}

func storetestMessage(i, v int) muster.OutboxMessage {
	return storetest.OutboxMessage(i, v, muster.ChannelEmail)
}

// TestSMTPStartTLS: a server that offers STARTTLS (and requires it) gets
// the message over TLS, its certificate verified; a client that requires
// TLS refuses a server that does not offer it, as a temporary failure.
func TestSMTPStartTLS(t *testing.T) {
	certFile, keyFile, pool := selfSignedCert(t)
	mp := deliverytest.StartMailpit(t, "--smtp-tls-cert", certFile, "--smtp-tls-key", keyFile, "--smtp-require-starttls")
	s, err := deliver.NewSMTP(deliver.SMTPConfig{Addr: mp.SMTPAddr, From: "noreply@muster.example.org", RequireTLS: true,
		TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := storetest.OutboxMessage(1, 1, muster.ChannelEmail)
	m.IdempotencyKey = "tls-1"
	if _, err := s.Send(ctx, m); err != nil {
		t.Fatalf("send over STARTTLS: %v", err)
	}
	if n := mp.Count(t); n != 1 {
		t.Fatalf("mailpit holds %d", n)
	}
	// An untrusted certificate is refused (temporary: the server, not the message).
	bad, _ := deliver.NewSMTP(deliver.SMTPConfig{Addr: mp.SMTPAddr, From: "noreply@muster.example.org"})
	defer bad.Close()
	m.IdempotencyKey = "tls-2"
	if _, err := bad.Send(ctx, m); err == nil || deliver.IsPermanent(err) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("a certificate no root vouches for: %v", err)
	}
	plain := deliverytest.StartMailpit(t)
	req, _ := deliver.NewSMTP(deliver.SMTPConfig{Addr: plain.SMTPAddr, From: "noreply@muster.example.org", RequireTLS: true})
	defer req.Close()
	if _, err := req.Send(ctx, m); err == nil || deliver.IsPermanent(err) || !strings.Contains(err.Error(), "does not offer STARTTLS") {
		t.Fatalf("TLS required of a server without it: %v", err)
	}
	if n := plain.Count(t); n != 0 {
		t.Fatalf("a message went in clear to a server without TLS: %d", n)
	}
}

// selfSignedCert writes a certificate for 127.0.0.1 and its key, and
// returns a pool that trusts it.
func selfSignedCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailpit test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
