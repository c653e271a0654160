package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/deliver"
	"github.com/muster-evac/muster/httpapi"
)

// deliveryFlags configure the delivery worker `muster serve` runs when a
// channel is given. Secrets come from files or the environment, never from
// the command line, where ps and shell history would show them.
type deliveryFlags struct {
	smtpURL, smtpFrom, smtpPasswordFile       string
	smsURL, smsAccount, smsFrom, smsTokenFile string
	webhookURL, webhookSecretFile             string
	ackSecretFile, smsInboundURL              string
	concurrency, batch, maxAttempts           int
	timeout, lease, poll                      time.Duration
}

// Environment variables holding delivery secrets (a file flag wins).
const (
	envSMTPPassword  = "MUSTER_SMTP_PASSWORD"
	envSMSToken      = "MUSTER_SMS_TOKEN"
	envWebhookSecret = "MUSTER_WEBHOOK_SECRET"
	envAckSecret     = "MUSTER_ACK_SECRET"
)

func (f *deliveryFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.smtpURL, "smtp", "", "send e-mail through this SMTP server: smtp://[user@]host:port (STARTTLS when offered; ?starttls=required), or smtps://")
	fl.StringVar(&f.smtpFrom, "smtp-from", "", "the sender of e-mails, \"Name <address>\" (required with --smtp)")
	fl.StringVar(&f.smtpPasswordFile, "smtp-password-file", "", "file holding the SMTP password (default: $"+envSMTPPassword+")")
	fl.StringVar(&f.smsURL, "sms-url", "", "send SMS through this Twilio-compatible gateway: https://api.twilio.com or another")
	fl.StringVar(&f.smsAccount, "sms-account", "", "the gateway's account sid (required with --sms-url)")
	fl.StringVar(&f.smsFrom, "sms-from", "", "the sending number or sender id (required with --sms-url)")
	fl.StringVar(&f.smsTokenFile, "sms-token-file", "", "file holding the gateway's auth token (default: $"+envSMSToken+")")
	fl.StringVar(&f.webhookURL, "webhook-url", "", "post webhook messages (Standard Webhooks, signed) to this URL when a message names none")
	fl.StringVar(&f.webhookSecretFile, "webhook-secret-file", "", "file holding the webhook secret, whsec_<base64> (default: $"+envWebhookSecret+")")
	fl.StringVar(&f.ackSecretFile, "ack-secret-file", "", "file holding the secret (whsec_<base64>) that signs the SMS gateway's inbound replies to POST /api/ack/code (default: $"+envAckSecret+"; none: that endpoint is off)")
	fl.StringVar(&f.smsInboundURL, "sms-inbound-url", "", "the public URL set at a Twilio-style gateway for inbound SMS, ending in /api/ack/twilio: replies signed with X-Twilio-Signature under the --sms-token-file token acknowledge there (none: that endpoint is off)")
	fl.IntVar(&f.concurrency, "deliver-concurrency", deliver.DefaultConcurrency, "messages sent at once")
	fl.IntVar(&f.batch, "deliver-batch", deliver.DefaultBatch, "messages leased at once")
	fl.IntVar(&f.maxAttempts, "deliver-max-attempts", deliver.DefaultMaxAttempts, "attempts before a message is a dead letter")
	fl.DurationVar(&f.timeout, "deliver-timeout", deliver.DefaultSendTimeout, "how long one attempt may take, connection included")
	fl.DurationVar(&f.lease, "deliver-lease", 0, "how long a lease lasts: a message leased by a killed server is sent by another after this (default: enough for a batch)")
	fl.DurationVar(&f.poll, "deliver-poll", deliver.DefaultPollInterval, "how often an idle worker looks for due messages")
}

// secret reads a secret from file, or else from the environment variable.
func secret(file, env string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", muster.Errorf(muster.EINVALID, "secret file: %v", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return os.Getenv(env), nil
}

// senders builds the channels the flags configure (none: no worker).
func (f *deliveryFlags) senders() ([]deliver.Sender, error) {
	var out []deliver.Sender
	if f.smtpURL != "" {
		cfg, err := deliver.ParseSMTPURL(f.smtpURL)
		if err != nil {
			return nil, muster.Errorf(muster.EINVALID, "--smtp: %v", err)
		}
		if cfg.From == "" {
			cfg.From = f.smtpFrom
		}
		if cfg.From == "" {
			return nil, muster.Errorf(muster.EINVALID, "--smtp needs --smtp-from \"Name <address>\"")
		}
		if cfg.Password, err = secret(f.smtpPasswordFile, envSMTPPassword); err != nil {
			return nil, err
		}
		if cfg.Password != "" && cfg.Username == "" {
			return nil, muster.Errorf(muster.EINVALID, "--smtp: a password is given but no user: smtp://USER@host:port")
		}
		s, err := deliver.NewSMTP(cfg)
		if err != nil {
			return nil, muster.Errorf(muster.EINVALID, "--smtp: %v", err)
		}
		out = append(out, s)
	}
	if f.smsURL != "" {
		token, err := secret(f.smsTokenFile, envSMSToken)
		if err != nil {
			return nil, err
		}
		s, err := deliver.NewSMS(deliver.SMSConfig{BaseURL: f.smsURL, AccountSID: f.smsAccount, AuthToken: token, From: f.smsFrom, Timeout: f.timeout})
		if err != nil {
			return nil, muster.Errorf(muster.EINVALID, "--sms-url: %v (--sms-account, --sms-from and --sms-token-file or $%s are required)", err, envSMSToken)
		}
		out = append(out, s)
	}
	if f.webhookURL != "" || f.webhookSecretFile != "" {
		sec, err := secret(f.webhookSecretFile, envWebhookSecret)
		if err != nil {
			return nil, err
		}
		key, err := deliver.ParseWebhookSecret(sec)
		if err != nil {
			return nil, muster.Errorf(muster.EINVALID, "--webhook-secret-file or $%s: %v", envWebhookSecret, err)
		}
		s, err := deliver.NewWebhook(deliver.WebhookConfig{URL: f.webhookURL, Secret: key, Timeout: f.timeout})
		if err != nil {
			return nil, muster.Errorf(muster.EINVALID, "--webhook-url: %v", err)
		}
		out = append(out, s)
	}
	return out, nil
}

// ackKey is the key inbound replies are signed with, or nil.
func (f *deliveryFlags) ackKey() ([]byte, error) {
	sec, err := secret(f.ackSecretFile, envAckSecret)
	if err != nil || sec == "" {
		return nil, err
	}
	key, err := deliver.ParseWebhookSecret(sec)
	if err != nil {
		return nil, muster.Errorf(muster.EINVALID, "--ack-secret-file or $%s: %v", envAckSecret, err)
	}
	return key, nil
}

// twilioInbound configures POST /api/ack/twilio, or leaves it off.
func (f *deliveryFlags) twilioInbound() (httpapi.TwilioInbound, error) {
	if f.smsInboundURL == "" {
		return httpapi.TwilioInbound{}, nil
	}
	u, err := url.Parse(f.smsInboundURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return httpapi.TwilioInbound{}, muster.Errorf(muster.EINVALID, "--sms-inbound-url %q: want the absolute URL set at the gateway, https://host/api/ack/twilio", f.smsInboundURL)
	}
	if !strings.HasSuffix(u.Path, "/api/ack/twilio") {
		return httpapi.TwilioInbound{}, muster.Errorf(muster.EINVALID, "--sms-inbound-url %q: the gateway must post to this server's /api/ack/twilio", f.smsInboundURL)
	}
	token, err := secret(f.smsTokenFile, envSMSToken)
	if err != nil {
		return httpapi.TwilioInbound{}, err
	}
	if token == "" {
		return httpapi.TwilioInbound{}, muster.Errorf(muster.EINVALID, "--sms-inbound-url needs the gateway's auth token: --sms-token-file or $%s", envSMSToken)
	}
	return httpapi.TwilioInbound{AuthToken: token, URL: f.smsInboundURL, AccountSID: f.smsAccount}, nil
}

// startWorker runs a delivery worker until ctx ends when channels are
// configured; wait returns once it has stopped (and released its leases).
func (f *deliveryFlags) startWorker(ctx context.Context, st muster.Store, reg prometheus.Registerer) (wait func(), err error) {
	senders, err := f.senders()
	if err != nil || len(senders) == 0 {
		return func() {}, err
	}
	metrics, err := deliver.NewMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("delivery metrics: %w", err)
	}
	w := &deliver.Worker{Store: st, Senders: senders, Concurrency: f.concurrency, Batch: f.batch, MaxAttempts: f.maxAttempts,
		SendTimeout: f.timeout, LeaseFor: f.lease, PollInterval: f.poll, Logger: slog.Default(), Metrics: metrics}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx); err != nil && ctx.Err() == nil {
			slog.Error("delivery worker stopped", "err", err)
		}
		for _, s := range senders {
			_ = s.Close()
		}
	}()
	return func() { <-done }, nil
}
