package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTwilioInboundFlags: the inbound endpoint is on only with an absolute
// URL ending in the endpoint's path and a token to check signatures with.
func TestTwilioInboundFlags(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "sms.token")
	if err := os.WriteFile(tokenFile, []byte("tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(envSMSToken, "")
	for _, c := range []struct {
		url, tokenFile, wantErr string
	}{
		{"", "", ""},
		{"/api/ack/twilio", tokenFile, "absolute URL"},
		{"ftp://muster.example.org/api/ack/twilio", tokenFile, "absolute URL"},
		{"https://muster.example.org/api/ack/code", tokenFile, "/api/ack/twilio"},
		{"https://muster.example.org/api/ack/twilio", "", "auth token"},
	} {
		f := deliveryFlags{smsInboundURL: c.url, smsTokenFile: c.tokenFile, smsAccount: "AC1"}
		_, err := f.twilioInbound()
		if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("--sms-inbound-url %q: %v, want an error with %q", c.url, err, c.wantErr)
		}
	}
	f := deliveryFlags{smsInboundURL: "https://muster.example.org/api/ack/twilio", smsTokenFile: tokenFile, smsAccount: "AC1"}
	tw, err := f.twilioInbound()
	if err != nil || tw.AuthToken != "tok" || tw.URL != f.smsInboundURL || tw.AccountSID != "AC1" {
		t.Fatalf("configured: %+v %v", tw, err)
	}
}
