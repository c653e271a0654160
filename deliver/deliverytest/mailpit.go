// Package deliverytest runs the real and fake providers delivery is
// tested against: mailpit, a real SMTP server with an HTTP API (started
// from its binary on free ports), a gateway speaking Twilio's Messages API,
// and a Standard Webhooks receiver. The fakes behave as real providers do
// where it matters: they deduplicate by the idempotency key.
package deliverytest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster/internal/testshared"
)

// MailpitVersion is the mailpit the tests are written against:
// go install github.com/axllent/mailpit@v1.33.1 (.ci/run does).
const MailpitVersion = "v1.33.1"

// Mailpit is a running mailpit: SMTP at SMTPAddr, its API at API.
type Mailpit struct {
	SMTPAddr string
	API      string
	cmd      *exec.Cmd
	client   *http.Client
}

// MailpitBinary finds mailpit on PATH or in $(go env GOPATH)/bin, or "".
func MailpitBinary() string {
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	var dirs []string
	if gp := os.Getenv("GOPATH"); gp != "" {
		dirs = append(dirs, filepath.SplitList(gp)...)
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		dirs = append(dirs, filepath.SplitList(strings.TrimSpace(string(out)))...)
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "bin", "mailpit")
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// StartMailpit starts mailpit on free loopback ports, keeping every
// message (--max 0) and never calling home (--disable-version-check),
// with chaos enabled for tests that inject errors, and with extra flags
// (--smtp-tls-cert ...); it is stopped when tb ends. Without the binary tb
// is skipped (failed in CI).
func StartMailpit(tb testing.TB, extra ...string) *Mailpit {
	tb.Helper()
	bin := MailpitBinary()
	if bin == "" {
		testshared.Unavailable(tb, "mailpit is not installed: go install github.com/axllent/mailpit@%s (.ci/run does)", MailpitVersion)
		return nil
	}
	for try := 0; ; try++ {
		smtpPort, apiPort := freePort(tb), freePort(tb)
		m := &Mailpit{SMTPAddr: fmt.Sprintf("127.0.0.1:%d", smtpPort), API: fmt.Sprintf("http://127.0.0.1:%d", apiPort),
			client: &http.Client{Timeout: 30 * time.Second}}
		args := append([]string{"--disable-version-check", "--smtp", m.SMTPAddr, "--listen", fmt.Sprintf("127.0.0.1:%d", apiPort),
			"--max", "0", "--smtp-disable-rdns", "--enable-chaos", "--quiet", "--database", filepath.Join(tb.TempDir(), "mailpit.db")}, extra...)
		cmd := exec.Command(bin, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			tb.Fatalf("start mailpit: %v", err)
		}
		m.cmd = cmd
		if m.waitReady(10 * time.Second) {
			tb.Cleanup(m.stop)
			return m
		}
		m.stop()
		if try == 2 {
			tb.Fatalf("mailpit did not start: %s", out.String())
		}
	}
}

func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (m *Mailpit) waitReady(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if m.cmd.ProcessState != nil {
			return false
		}
		c, err := net.DialTimeout("tcp", m.SMTPAddr, 200*time.Millisecond)
		if err == nil {
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "220") {
				if resp, err := m.client.Get(m.API + "/api/v1/info"); err == nil {
					resp.Body.Close()
					if resp.StatusCode == 200 {
						return true
					}
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func (m *Mailpit) stop() {
	if m.cmd.Process != nil {
		_ = m.cmd.Process.Kill()
		_ = m.cmd.Wait()
	}
}

// MailpitMessage is what the tests read of a stored message.
type MailpitMessage struct {
	ID        string
	MessageID string
	Subject   string
	To        []struct{ Address string }
	Snippet   string
}

// Messages returns every stored message, newest first.
func (m *Mailpit) Messages(tb testing.TB) []MailpitMessage {
	tb.Helper()
	var all []MailpitMessage
	for start := 0; ; {
		var page struct {
			Total    int              `json:"total"`
			Messages []MailpitMessage `json:"messages"`
		}
		m.get(tb, fmt.Sprintf("/api/v1/messages?start=%d&limit=1000", start), &page)
		all = append(all, page.Messages...)
		start += len(page.Messages)
		if len(page.Messages) == 0 || start >= page.Total {
			return all
		}
	}
}

// Count returns how many messages mailpit holds.
func (m *Mailpit) Count(tb testing.TB) int {
	tb.Helper()
	var page struct {
		Total int `json:"total"`
	}
	m.get(tb, "/api/v1/messages?limit=1", &page)
	return page.Total
}

// Raw returns a message's source.
func (m *Mailpit) Raw(tb testing.TB, id string) string {
	tb.Helper()
	resp, err := m.client.Get(m.API + "/api/v1/message/" + id + "/raw")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		tb.Fatalf("mailpit raw %s: %d %v", id, resp.StatusCode, err)
	}
	return string(b)
}

// MailpitBody is a stored message as mailpit decodes it.
type MailpitBody struct {
	Subject string
	To      []struct{ Address string }
	Text    string // the text/plain part, decoded
	HTML    string // the text/html part, decoded
}

// Body returns a message's decoded parts.
func (m *Mailpit) Body(tb testing.TB, id string) MailpitBody {
	tb.Helper()
	var b MailpitBody
	m.get(tb, "/api/v1/message/"+id, &b)
	return b
}

// ChaosTrigger makes mailpit answer a stage of the SMTP dialogue with an
// error code, with a probability in percent.
type ChaosTrigger struct {
	ErrorCode   int
	Probability int
}

// SetChaos sets mailpit's chaos triggers for the recipient stage (RCPT)
// and the sender stage (MAIL); a zero trigger is off.
func (m *Mailpit) SetChaos(tb testing.TB, sender, recipient ChaosTrigger) {
	tb.Helper()
	body, _ := json.Marshal(map[string]ChaosTrigger{"Sender": sender, "Recipient": recipient})
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPut, m.API+"/api/v1/chaos", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := m.client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 {
		tb.Fatalf("mailpit chaos: %d %s", resp.StatusCode, b)
	}
}

func (m *Mailpit) get(tb testing.TB, path string, out any) {
	tb.Helper()
	resp, err := m.client.Get(m.API + path)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		tb.Fatalf("mailpit %s: %d %v %s", path, resp.StatusCode, err, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		tb.Fatalf("mailpit %s: %v", path, err)
	}
}
