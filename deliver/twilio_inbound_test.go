package deliver

import (
	"errors"
	"net/url"
	"testing"
)

// TestTwilioSignatureVectors: the gateway's published example (auth token
// "12345"), and a form with a name given three times, two alike.
func TestTwilioSignatureVectors(t *testing.T) {
	const token, webhook = "12345", "https://mycompany.com/myapp.php?foo=1&bar=2"
	form := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"}, "From": {"+14158675309"}, "To": {"+18005551212"}}
	if got := TwilioSignature(token, webhook, form); got != "RSOYDt4T1cUTdK1PDd93/VVr8B8=" {
		t.Fatalf("published vector: %s", got)
	}
	repeated := url.Values{"Sid": {"CA123"}, "SidAccount": {"AC123"}, "Digits": {"5678", "1234", "1234"}}
	if got := TwilioSignature(token, webhook, repeated); got != "IK+Dwps556ElfBT0I3Rgjkr1wJU=" {
		t.Fatalf("repeated names: %s", got)
	}
}

// TestVerifyTwilio: a changed value, an added parameter, another URL or
// another token fail; no header is told apart from a wrong one.
func TestVerifyTwilio(t *testing.T) {
	const token, webhook = "s3cret-token", "https://muster.example.org/api/ack/twilio"
	form := url.Values{"From": {"+93700000001"}, "Body": {"482913 ok"}, "AccountSid": {"AC1"}}
	sig := TwilioSignature(token, webhook, form)
	if err := VerifyTwilio(token, webhook, form, sig); err != nil {
		t.Fatalf("genuine: %v", err)
	}
	if err := VerifyTwilio(token, webhook, form, ""); !errors.Is(err, ErrTwilioUnsigned) {
		t.Fatalf("unsigned: %v", err)
	}
	changed := url.Values{"From": {"+93700000002"}, "Body": {"482913 ok"}, "AccountSid": {"AC1"}}
	added := url.Values{"From": {"+93700000001"}, "Body": {"482913 ok"}, "AccountSid": {"AC1"}, "X": {""}}
	for name, c := range map[string]struct {
		token, url string
		form       url.Values
	}{
		"another sender":        {token, webhook, changed},
		"a parameter added":     {token, webhook, added},
		"posted to another URL": {token, webhook + "?x=1", form},
		"another account's key": {"other-token", webhook, form},
	} {
		if err := VerifyTwilio(c.token, c.url, c.form, sig); !errors.Is(err, ErrTwilioForged) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
