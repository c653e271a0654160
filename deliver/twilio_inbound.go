package deliver

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"sort"
)

// TwilioSignatureHeader carries a Twilio-style gateway's signature of a
// webhook it posts (an inbound SMS).
const TwilioSignatureHeader = "X-Twilio-Signature"

// TwilioSignature is the signature a Twilio-style gateway sends with a
// form it posts to webhookURL: base64 of HMAC-SHA1, keyed by the account's
// auth token, over the URL followed by every parameter's name and value,
// names in byte order (a name given more than once: its distinct values in
// byte order, as the gateway's own validators compute it).
// SHA-1 is what the gateway uses; as an HMAC it is not broken.
func TwilioSignature(authToken, webhookURL string, form url.Values) string {
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(webhookURL))
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		vs := append([]string(nil), form[k]...)
		sort.Strings(vs)
		for i, v := range vs {
			if i > 0 && v == vs[i-1] {
				continue
			}
			mac.Write([]byte(k))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Errors of VerifyTwilio.
var (
	ErrTwilioUnsigned = errors.New("no " + TwilioSignatureHeader + " header")
	ErrTwilioForged   = errors.New(TwilioSignatureHeader + " does not match the form and the webhook URL: forged, altered, or posted to another URL than the one the gateway was given")
)

// VerifyTwilio checks a form a Twilio-style gateway posted to webhookURL
// (the URL exactly as configured at the gateway: behind a proxy the server
// cannot tell it from the request). The signature holds no time, so a
// captured post verifies again: what it triggers must be idempotent (an
// acknowledgement is: the first one is kept).
func VerifyTwilio(authToken, webhookURL string, form url.Values, signature string) error {
	if signature == "" {
		return ErrTwilioUnsigned
	}
	want := TwilioSignature(authToken, webhookURL, form)
	if subtle.ConstantTimeCompare([]byte(want), []byte(signature)) != 1 {
		return ErrTwilioForged
	}
	return nil
}
