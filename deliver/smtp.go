package deliver

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/muster-evac/muster"
)

// SMTPConfig configures the e-mail channel.
type SMTPConfig struct {
	// Addr is the server's host:port.
	Addr string
	// From is the sender, "muster <noreply@example.org>" or an address.
	From string
	// Username and Password, if set, authenticate (PLAIN; net/smtp sends
	// them only over TLS, or to localhost).
	Username, Password string
	// ImplicitTLS connects with TLS from the start (smtps, port 465);
	// otherwise STARTTLS is used whenever the server offers it, and
	// RequireTLS refuses a server that does not.
	ImplicitTLS, RequireTLS bool
	TLSConfig               *tls.Config // nil: verify against the system roots, ServerName from Addr
	// HeloName is this host's name in EHLO (default "localhost").
	HeloName string
	// MessageIDDomain is the right side of each Message-ID (default: the
	// domain of From).
	MessageIDDomain string
	// MaxIdle connections are kept open for reuse (default 8).
	MaxIdle int
}

// ParseSMTPURL reads smtp://[user@]host:port (STARTTLS when offered),
// smtp://host:port?starttls=required, or smtps://[user@]host:port. A
// password in the URL is refused: it would show in ps and in shell
// history; give it from a file or the environment.
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return SMTPConfig{}, fmt.Errorf("smtp URL: %w", err)
	}
	var c SMTPConfig
	switch u.Scheme {
	case "smtp":
	case "smtps":
		c.ImplicitTLS = true
	default:
		return c, fmt.Errorf("smtp URL: scheme %q: want smtp:// or smtps://", u.Scheme)
	}
	if u.Host == "" || u.Port() == "" {
		return c, fmt.Errorf("smtp URL: want host:port")
	}
	c.Addr = u.Host
	if u.User != nil {
		if _, has := u.User.Password(); has {
			return c, fmt.Errorf("smtp URL: holds a password: give it with --smtp-password-file or $MUSTER_SMTP_PASSWORD instead")
		}
		c.Username = u.User.Username()
	}
	for k, v := range u.Query() {
		switch {
		case k == "starttls" && len(v) == 1 && v[0] == "required":
			c.RequireTLS = true
		case k == "from" && len(v) == 1:
			c.From = v[0]
		default:
			return c, fmt.Errorf("smtp URL: unknown parameter %s=%s (known: starttls=required, from=ADDRESS)", k, strings.Join(v, ","))
		}
	}
	return c, nil
}

// SMTP sends e-mail over SMTP, reusing connections: one connection
// carries many messages (MAIL, RCPT, DATA, and RSET after a refusal), so
// the cost of a message is a few round trips, not a handshake.
type SMTP struct {
	cfg      SMTPConfig
	from     string // the envelope sender
	fromHdr  string // the From header
	domain   string
	host     string
	mu       sync.Mutex
	idle     []*smtpConn
	closed   bool
	dialer   net.Dialer
	maxIdle  int
	helo     string
	tlsConf  *tls.Config
	authConf smtp.Auth
}

type smtpConn struct {
	conn     net.Conn
	c        *smtp.Client
	lastUsed time.Time
}

// NewSMTP checks cfg and returns the channel; it connects on first use.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("smtp: address %q: %w", cfg.Addr, err)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: from %q: %w", cfg.From, err)
	}
	s := &SMTP{cfg: cfg, from: from.Address, fromHdr: from.String(), host: host, maxIdle: cfg.MaxIdle, helo: cfg.HeloName}
	s.domain = cfg.MessageIDDomain
	if s.domain == "" {
		s.domain = from.Address[strings.LastIndex(from.Address, "@")+1:]
	}
	if s.maxIdle <= 0 {
		s.maxIdle = 8
	}
	if s.helo == "" {
		s.helo = "localhost"
	}
	s.tlsConf = cfg.TLSConfig
	if s.tlsConf == nil {
		s.tlsConf = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	if cfg.Username != "" {
		s.authConf = smtp.PlainAuth("", cfg.Username, cfg.Password, host)
	}
	return s, nil
}

// Channel implements Sender.
func (s *SMTP) Channel() string { return muster.ChannelEmail }

// MessageID is the Message-ID header of a message: its idempotency key at
// the configured domain, the same on every attempt, so that a mail system
// or client that sees it twice can drop the second copy.
func (s *SMTP) MessageID(m muster.OutboxMessage) string {
	return "<" + m.IdempotencyKey + "@" + s.domain + ">"
}

// Close closes the idle connections (QUIT); later sends fail.
func (s *SMTP) Close() error {
	s.mu.Lock()
	idle := s.idle
	s.idle, s.closed = nil, true
	s.mu.Unlock()
	for _, c := range idle {
		c.quit()
	}
	return nil
}

func (c *smtpConn) quit() {
	_ = c.conn.SetDeadline(time.Now().Add(2 * time.Second))
	_ = c.c.Quit()
	_ = c.conn.Close()
}

// get returns an idle connection, or nil.
func (s *SMTP) get() *smtpConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.idle); n > 0 {
		c := s.idle[n-1]
		s.idle = s.idle[:n-1]
		return c
	}
	return nil
}

func (s *SMTP) put(c *smtpConn) {
	c.lastUsed = time.Now()
	s.mu.Lock()
	if !s.closed && len(s.idle) < s.maxIdle {
		s.idle = append(s.idle, c)
		c = nil
	}
	s.mu.Unlock()
	if c != nil {
		c.quit()
	}
}

// dial opens, greets, secures and authenticates a connection. Its
// failures are temporary whatever the code: they say nothing about the
// message.
func (s *SMTP) dial(ctx context.Context) (*smtpConn, error) {
	var conn net.Conn
	var err error
	if s.cfg.ImplicitTLS {
		d := tls.Dialer{NetDialer: &s.dialer, Config: s.tlsConf}
		conn, err = d.DialContext(ctx, "tcp", s.cfg.Addr)
	} else {
		conn, err = s.dialer.DialContext(ctx, "tcp", s.cfg.Addr)
	}
	if err != nil {
		return nil, Temporary(0, "smtp: connect: %v", err)
	}
	stop := abortOnDone(ctx, conn)
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return nil, Temporary(0, "smtp: greeting: %v", ctxErr(ctx, err))
	}
	fail := func(what string, err error) (*smtpConn, error) {
		c.Close()
		return nil, Temporary(0, "smtp: %s: %v", what, ctxErr(ctx, err))
	}
	if err := c.Hello(s.helo); err != nil {
		return fail("EHLO", err)
	}
	if !s.cfg.ImplicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConf); err != nil {
				return fail("STARTTLS", err)
			}
		} else if s.cfg.RequireTLS {
			return fail("STARTTLS", errors.New("the server does not offer STARTTLS, and TLS is required"))
		}
	}
	if s.authConf != nil {
		if err := c.Auth(s.authConf); err != nil {
			return fail("AUTH", err)
		}
	}
	return &smtpConn{conn: conn, c: c}, nil
}

// abortOnDone makes blocked reads and writes on conn return as soon as
// ctx ends; the returned func stops that.
func abortOnDone(ctx context.Context, conn net.Conn) func() {
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	return func() { stop() }
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// Send implements Sender.
func (s *SMTP) Send(ctx context.Context, m muster.OutboxMessage) (string, error) {
	if err := check(&m, muster.ChannelEmail); err != nil {
		return "", err
	}
	to, err := mail.ParseAddress(m.Recipient)
	if err != nil {
		return "", Permanent("smtp: the recipient is not an e-mail address")
	}
	msg, err := s.compose(m, to)
	if err != nil {
		return "", err
	}
	// A connection idle a while may have been closed by the server: if it
	// fails before the message was handed over, try once on a new one.
	for try := 0; ; try++ {
		c := s.get()
		reused := c != nil
		if c == nil {
			if c, err = s.dial(ctx); err != nil {
				return "", err
			}
		}
		handedOver, err := s.transact(ctx, c, to.Address, msg)
		if err == nil {
			s.put(c)
			return s.MessageID(m), nil
		}
		var tp *textproto.Error
		if errors.As(err, &tp) {
			// The server answered: the connection is good after RSET.
			if c.reset(ctx) == nil {
				s.put(c)
			} else {
				c.conn.Close()
			}
			if tp.Code >= 500 {
				return "", Permanent("smtp: %d %s", tp.Code, oneLine(tp.Msg, 200))
			}
			return "", Temporary(0, "smtp: %d %s", tp.Code, oneLine(tp.Msg, 200))
		}
		c.conn.Close()
		if reused && !handedOver && try == 0 && ctx.Err() == nil {
			continue
		}
		return "", Temporary(0, "smtp: %v", ctxErr(ctx, err))
	}
}

// transact runs MAIL, RCPT and DATA on c. handedOver is true once the
// message's bytes may have reached the server.
func (s *SMTP) transact(ctx context.Context, c *smtpConn, to string, msg []byte) (handedOver bool, err error) {
	stop := abortOnDone(ctx, c.conn)
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.conn.SetDeadline(dl)
	} else {
		_ = c.conn.SetDeadline(time.Now().Add(DefaultSendTimeout))
	}
	if err := c.c.Mail(s.from); err != nil {
		return false, err
	}
	if err := c.c.Rcpt(to); err != nil {
		return false, err
	}
	wc, err := c.c.Data()
	if err != nil {
		return false, err
	}
	if _, err := wc.Write(msg); err != nil {
		wc.Close()
		return true, err
	}
	return true, wc.Close()
}

func (c *smtpConn) reset(ctx context.Context) error {
	_ = c.conn.SetDeadline(time.Now().Add(5 * time.Second))
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return c.c.Reset()
}

// compose writes the message: headers (the subject encoded, the
// Message-ID from the idempotency key), then the text, or text and HTML
// as multipart/alternative, quoted-printable in UTF-8.
func (s *SMTP) compose(m muster.OutboxMessage, to *mail.Address) ([]byte, error) {
	var b bytes.Buffer
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", s.fromHdr)
	hdr("To", to.String())
	hdr("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	hdr("Date", time.Now().UTC().Format(time.RFC1123Z))
	hdr("Message-ID", s.MessageID(m))
	hdr("Auto-Submitted", "auto-generated")
	hdr("MIME-Version", "1.0")
	qp := func(w *bytes.Buffer, text string) error {
		q := quotedprintable.NewWriter(w)
		if _, err := q.Write([]byte(text)); err != nil {
			return err
		}
		return q.Close()
	}
	if m.BodyHTML == "" {
		hdr("Content-Type", "text/plain; charset=utf-8")
		hdr("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := qp(&b, m.Body); err != nil {
			return nil, Permanent("smtp: compose: %v", err)
		}
		return b.Bytes(), nil
	}
	var parts bytes.Buffer
	mw := multipart.NewWriter(&parts)
	hdr("Content-Type", "multipart/alternative; boundary="+mw.Boundary())
	b.WriteString("\r\n")
	for _, p := range []struct{ typ, text string }{{"text/plain", m.Body}, {"text/html", m.BodyHTML}} {
		if p.text == "" {
			continue
		}
		pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {p.typ + "; charset=utf-8"}, "Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, Permanent("smtp: compose: %v", err)
		}
		var body bytes.Buffer
		if err := qp(&body, p.text); err != nil {
			return nil, Permanent("smtp: compose: %v", err)
		}
		if _, err := pw.Write(body.Bytes()); err != nil {
			return nil, Permanent("smtp: compose: %v", err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, Permanent("smtp: compose: %v", err)
	}
	b.Write(parts.Bytes())
	return b.Bytes(), nil
}
