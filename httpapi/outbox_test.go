package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/deliver"
)

// TestOutboxAndAcknowledgements: operators see delivery status without
// recipients or text, and planners queue a dead letter again; an evacuee
// acknowledges by link, or by an SMS reply the gateway posts signed
// (unsigned, forged, replayed late and oversized posts are refused);
// whom to call is listed with names and phones only for the roles that
// read personal data, and that read is audited. On both backends.
func TestOutboxAndAcknowledgements(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		e := newEnv(t, open(t), nil)
		other := e.createHousehold("admin", "HH-B", "+93700000002")
		e.queueInstruction(e.hh, "I-1")
		e.queueInstruction(other, "I-2")

		// The outbox, without personal fields.
		var page outboxPage
		body := e.do("field", "GET", "/api/outbox?limit=3", nil, 200, &page)
		if page.Counts[muster.MessageQueued] != 4 || len(page.Messages) != 3 || page.Next == "" {
			t.Fatalf("outbox page: %s", body)
		}
		for _, leak := range []string{"+93700000001", "family@example.org", "rally point 7"} {
			if bytes.Contains(body, []byte(leak)) {
				t.Fatalf("GET /api/outbox shows %q: %s", leak, body)
			}
		}
		e.do("viewer", "GET", "/api/outbox", nil, 403, nil)
		e.do("admin", "GET", "/api/outbox?status=lost", nil, 400, nil)

		// Dead letters: retried by a planner, not twice.
		dead := e.deadLetter("I-dead")
		var m messageJSON
		e.do("field", "POST", "/api/outbox/"+dead+"/retry", nil, 403, nil)
		e.do("planner", "POST", "/api/outbox/"+dead+"/retry", nil, 200, &m)
		if m.Status != muster.MessageQueued || m.Attempts != 0 {
			t.Fatalf("retried: %+v", m)
		}
		e.do("planner", "POST", "/api/outbox/"+dead+"/retry", nil, 409, nil)
		e.do("planner", "POST", "/api/outbox/M-none/retry", nil, 404, nil)

		// Acknowledgement by link: the newest instruction, once.
		var ack ackResponse
		e.do("", "POST", "/api/ack/"+e.link, []byte(`{}`), 200, &ack)
		if ack.HouseholdID != e.hh || ack.InstructionID != "I-dead" || ack.Via != muster.AckLink {
			t.Fatalf("ack by link: %+v", ack)
		}
		var again ackResponse
		e.do("", "POST", "/api/ack/"+e.link, []byte(`{"instruction_id":"I-1"}`), 200, &again)
		if again.InstructionID != "I-1" {
			t.Fatalf("ack of a named instruction: %+v", again)
		}
		e.do("", "POST", "/api/ack/"+e.link, []byte(`{"instruction_id":"I-2"}`), 404, nil) // another household's
		e.do("", "POST", "/api/ack/"+strings.Repeat("x", 43), []byte(`{}`), 404, nil)

		// Acknowledgement by reply code: signed, matched by phone and code.
		reply := func(from, text string, sign func(h http.Header, b []byte)) (int, string) {
			b := mustJSON(ackCodeRequest{From: from, Body: text})
			req, _ := http.NewRequest("POST", e.srv.URL+"/api/ack/code", bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/json")
			if sign != nil {
				sign(req.Header, b)
			}
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out bytes.Buffer
			_, _ = out.ReadFrom(resp.Body)
			return resp.StatusCode, out.String()
		}
		signed := func(key []byte, at time.Time) func(h http.Header, b []byte) {
			return func(h http.Header, b []byte) {
				for k, v := range signHeaders(key, b, uniq("msg_"), at) {
					h.Set(k, v)
				}
			}
		}
		code := ackCodeOf(other)
		if st, b := reply("+93700000002", code, nil); st != 401 {
			t.Fatalf("an unsigned reply: %d %s", st, b)
		}
		if st, b := reply("+93700000002", code, signed([]byte("a forger's guess at the key!!"), time.Now())); st != 401 {
			t.Fatalf("a forged reply: %d %s", st, b)
		}
		if st, b := reply("+93700000002", code, signed(testAckKey, time.Now().Add(-time.Hour))); st != 401 {
			t.Fatalf("a reply replayed an hour late: %d %s", st, b)
		}
		if st, b := reply("+93700000002", "000000", signed(testAckKey, time.Now())); st != 404 {
			t.Fatalf("a wrong code: %d %s", st, b)
		}
		if st, b := reply("+93700000001", code, signed(testAckKey, time.Now())); st != 404 {
			t.Fatalf("the right code from another household's phone: %d %s", st, b)
		}
		if st, b := reply("+93 700 000 002", strings.Repeat("x", 5000), signed(testAckKey, time.Now())); st != 413 {
			t.Fatalf("an oversized reply: %d %s", st, b)
		}
		st, b := reply("+93 700-000-002", strings.ToLower(code)+" thanks, we will be there", signed(testAckKey, time.Now()))
		if st != 200 || !strings.Contains(b, `"instruction_id":"I-2"`) || !strings.Contains(b, `"via":"code"`) {
			t.Fatalf("a good reply: %d %s", st, b)
		}

		// Whom to call: nobody now, since both acknowledged their newest.
		var un unackedResponse
		e.do("planner", "GET", "/api/unacknowledged?older_than=0s", nil, 200, &un)
		if len(un.Households) != 0 {
			t.Fatalf("unacknowledged after both acknowledged: %+v", un)
		}
		third := e.createHousehold("admin", "HH-C", "+93700000003")
		e.queueInstruction(third, "I-3")
		e.do("planner", "GET", "/api/unacknowledged?older_than=0s", nil, 200, &un)
		if len(un.Households) != 1 || un.Households[0].HouseholdID != third || un.Households[0].Name != "Test Household HH-C" ||
			un.Households[0].Phone != "+93700000003" || un.Households[0].Pending != 2 {
			t.Fatalf("unacknowledged for a planner: %+v", un)
		}
		body = e.do("viewer", "GET", "/api/unacknowledged?older_than=0s", nil, 200, &un)
		if len(un.Households) != 1 || bytes.Contains(body, []byte("Test Household")) || bytes.Contains(body, []byte("+9370")) {
			t.Fatalf("unacknowledged for a viewer shows personal data: %s", body)
		}
		e.do("viewer", "GET", "/api/unacknowledged?older_than=1h", nil, 200, &un)
		if len(un.Households) != 0 {
			t.Fatalf("older_than=1h lists a household queued just now: %+v", un)
		}
		e.do("viewer", "GET", "/api/unacknowledged?older_than=soon", nil, 400, nil)

		audit, err := e.store.ListAudit(context.Background(), 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var reads, acks []string
		for _, en := range audit {
			switch en.Action {
			case "household.list":
				if strings.Contains(en.Detail, "unacknowledged") {
					reads = append(reads, en.Actor+" "+en.Detail)
				}
			case "household.ack":
				acks = append(acks, en.Actor+" "+en.Target+" "+en.Detail)
			}
		}
		if len(reads) != 1 || !strings.HasPrefix(reads[0], "planner-user 1 unacknowledged households") {
			t.Fatalf("reads of the list audited: %q", reads)
		}
		wantAcks := []string{"evacuee:" + e.hh + " household:" + e.hh + " instruction I-dead acknowledged via link",
			"evacuee:" + e.hh + " household:" + e.hh + " instruction I-1 acknowledged via link",
			"sms-reply household:" + other + " instruction I-2 acknowledged via code"}
		if strings.Join(acks, "\n") != strings.Join(wantAcks, "\n") {
			t.Fatalf("acknowledgements audited:\n%s\nwant\n%s", strings.Join(acks, "\n"), strings.Join(wantAcks, "\n"))
		}
	})
}

// TestAckCodeOff: without a key, replies are refused, signed or not.
func TestAckCodeOff(t *testing.T) {
	e := newEnv(t, openSQLite(t), func(c *Config) { c.AckKey = nil })
	resp, b := e.request("", "POST", "/api/ack/code", mustJSON(ackCodeRequest{From: "+93700000001", Body: "123456"}), "")
	if resp.StatusCode != 403 {
		t.Fatalf("reply code with no key configured: %d %s", resp.StatusCode, b)
	}
}

// TestAckTwilio: a Twilio-style gateway posts a reply as a form signed
// with X-Twilio-Signature over the URL set at the gateway. Unsigned,
// forged, altered, other-URL, other-account, doubled and oversized posts
// are refused before anything is acknowledged; a genuine one acknowledges
// the household's instruction once, answered with empty TwiML (no SMS
// back), and a replay of it changes nothing. Off without a token. On both
// backends.
func TestAckTwilio(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		e := newEnv(t, open(t), nil)
		other := e.createHousehold("admin", "HH-TW", "+93700000002")
		e.queueInstruction(other, "I-TW")
		code := ackCodeOf(other)
		post := func(form url.Values, sig string) (int, string) {
			req, _ := http.NewRequest("POST", e.srv.URL+"/api/ack/twilio", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", mediaForm)
			if sig != "" {
				req.Header.Set(deliver.TwilioSignatureHeader, sig)
			}
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		reply := func(from, body string) url.Values {
			return url.Values{"From": {from}, "Body": {body}, "AccountSid": {testTwilio.AccountSID}, "MessageSid": {uniq("SM")}, "To": {"+15005550006"}}
		}
		sign := func(f url.Values) string { return deliver.TwilioSignature(testTwilio.AuthToken, testTwilio.URL, f) }
		acked := func() int {
			n := 0
			audit, err := e.store.ListAudit(context.Background(), 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, en := range audit {
				if en.Action == "household.ack" && en.Target == "household:"+other {
					n++
				}
			}
			return n
		}

		good := reply("+93700000002", code+" we are coming")
		altered := reply("+93700000002", code+" we are coming")
		altered.Set("MessageSid", good.Get("MessageSid"))
		altered.Set("From", "+93700000009")
		otherAccount := reply("+93700000002", code)
		otherAccount.Set("AccountSid", "ACsomeoneelse")
		doubled := reply("+93700000002", code)
		doubled.Add("From", "+93700000003")
		wrong := reply("+93700000002", "000000")
		for name, c := range map[string]struct {
			form url.Values
			sig  string
			want int
		}{
			"unsigned":                       {good, "", 401},
			"signed with another token":      {good, deliver.TwilioSignature("a forger's guess", testTwilio.URL, good), 401},
			"signed for another URL":         {good, deliver.TwilioSignature(testTwilio.AuthToken, "https://evil.test/hook", good), 401},
			"another sender, same signature": {altered, sign(good), 401},
			"another account":                {otherAccount, sign(otherAccount), 401},
			"From twice":                     {doubled, sign(doubled), 400},
			"a wrong code":                   {wrong, sign(wrong), 404},
		} {
			if st, b := post(c.form, c.sig); st != c.want {
				t.Errorf("%s: %d %s, want %d", name, st, b, c.want)
			}
		}
		big := reply("+93700000002", code+" "+strings.Repeat("x", maxTwilioForm))
		if st, b := post(big, sign(big)); st != 413 {
			t.Errorf("oversized: %d %s", st, b)
		}
		if n := acked(); n != 0 {
			t.Fatalf("%d acknowledgements after refused posts", n)
		}

		st, b := post(good, sign(good))
		if st != 200 || !strings.Contains(b, "<Response></Response>") {
			t.Fatalf("genuine reply: %d %s", st, b)
		}
		if st, b := post(good, sign(good)); st != 200 {
			t.Fatalf("the same reply again (the gateway retrying, or a replay): %d %s", st, b)
		}
		if n := acked(); n != 1 {
			t.Fatalf("acknowledgements audited: %d, want 1 (the first is kept)", n)
		}

		off := newEnv(t, open(t), func(c *Config) { c.Twilio = TwilioInbound{} })
		resp, body := off.request("", "POST", "/api/ack/twilio", []byte(good.Encode()), mediaForm)
		if resp.StatusCode != 403 {
			t.Fatalf("with no token configured: %d %s", resp.StatusCode, body)
		}
	})
}
