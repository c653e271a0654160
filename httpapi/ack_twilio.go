package httpapi

import (
	"io"
	"net/http"
	"net/url"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/deliver"
)

// TwilioInbound configures POST /api/ack/twilio, where a Twilio-style
// gateway posts the SMS replies it receives as a form signed with
// X-Twilio-Signature, so no adapter has to stand in front of muster.
type TwilioInbound struct {
	// AuthToken is the gateway account's auth token (the key of the
	// signature; the same token muster sends SMS with).
	AuthToken string
	// URL is this endpoint's public URL exactly as it is set at the
	// gateway: the signature covers it, and behind a proxy the server
	// cannot rebuild it from the request.
	URL string
	// AccountSID, when set, must be the form's AccountSid: a reply
	// signed for another account of the same gateway is refused.
	AccountSID string
}

// maxTwilioForm bounds the gateway's form: a reply and the twenty-odd
// parameters the gateway adds to it.
const maxTwilioForm = 16 << 10

const mediaForm = "application/x-www-form-urlencoded"

// emptyTwiML answers the gateway with nothing to send back: an evacuee
// is not told by SMS whether a code matched (that would let anyone probe
// codes at the operation's expense), operators see it in the API.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// ackTwilio records acknowledgements by reply code from a Twilio-style
// gateway's inbound-SMS webhook. The signature is checked before any
// database work; it holds no time, so a replayed post verifies again, but
// an acknowledgement is kept once and a replay changes nothing.
func (s *Server) ackTwilio(w http.ResponseWriter, r *http.Request, _ *caller) error {
	tw := s.cfg.Twilio
	if tw.AuthToken == "" || tw.URL == "" {
		return errorf(muster.EFORBIDDEN, "acknowledgement by a Twilio-style gateway is off: start the server with --sms-token-file and --sms-inbound-url")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTwilioForm))
	if err != nil {
		return errorf(codeTooLarge, "request body: more than %d bytes", maxTwilioForm)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return errorf(muster.EINVALID, "request body: not a form (%s): %v", mediaForm, err)
	}
	if err := deliver.VerifyTwilio(tw.AuthToken, tw.URL, form, r.Header.Get(deliver.TwilioSignatureHeader)); err != nil {
		return errorf(muster.EUNAUTHORIZED, "%v", err)
	}
	for _, name := range []string{"From", "Body"} {
		if len(form[name]) != 1 {
			return errorf(muster.EINVALID, "form: %s given %d times, want once", name, len(form[name]))
		}
	}
	if tw.AccountSID != "" && form.Get("AccountSid") != tw.AccountSID {
		return errorf(muster.EUNAUTHORIZED, "form: AccountSid is not this deployment's account")
	}
	if _, err := s.ackReply(r.Context(), form.Get("From"), form.Get("Body")); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, emptyTwiML)
	return nil
}
