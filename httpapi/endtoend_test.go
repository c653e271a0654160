package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/credential"
	"github.com/muster-evac/muster/deliver"
	"github.com/muster-evac/muster/deliver/deliverytest"
	"github.com/muster-evac/muster/issue"
)

// waitFor polls until cond holds, or fails after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); ; time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("after %s: %s", d, what)
		}
	}
}

var (
	linkRE  = regexp.MustCompile(`https://evac\.example\.org/i/[a-z2-7]{20}`)
	tokenRE = regexp.MustCompile(`MU1:[0-9A-Z $%*+\-./:]+`)
	codeRE  = regexp.MustCompile(`Reply (\d{6}) to confirm`)
)

// TestEvacuationEndToEnd is issue 10's "done when", on each backend: an
// operator issues the scenario's instructions and an advisory; a real SMTP
// server (mailpit) and an SMS gateway receive them; a household verifies
// the instruction its e-mail carries and acknowledges it through its link,
// another by replying to its SMS with the code; a forged token, a
// superseded one and one checked in twice are shown as such; an approved
// re-plan re-issues only what changed, revoking the old versions in the
// same transaction, and only the new versions are sent.
func TestEvacuationEndToEnd(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		mp := deliverytest.StartMailpit(t)
		gw := deliverytest.StartSMSGateway(t)
		var now time.Time
		st := open(t)
		e := scenarioEnv(t, st, 30, &now)
		smtpCfg, err := deliver.ParseSMTPURL("smtp://" + mp.SMTPAddr)
		if err != nil {
			t.Fatal(err)
		}
		smtpCfg.From = "Evacuation <noreply@evac.example.org>"
		mail, err := deliver.NewSMTP(smtpCfg)
		if err != nil {
			t.Fatal(err)
		}
		sms, err := deliver.NewSMS(deliver.SMSConfig{BaseURL: gw.URL, AccountSID: gw.AccountSID, AuthToken: gw.Token, From: "+15005550006"})
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			w := &deliver.Worker{Store: st, Senders: []deliver.Sender{mail, sms}, PollInterval: 100 * time.Millisecond,
				Render: func(ctx context.Context, m muster.OutboxMessage) (muster.OutboxMessage, error) {
					return issue.Render(ctx, st, m)
				}}
			_ = w.Run(ctx)
		}()
		t.Cleanup(func() { stop(); <-done; mail.Close(); sms.Close() })

		// The operator issues the scenario's instructions, and an advisory.
		var p1 planOut
		e.do("planner", "POST", "/api/plans", []byte(`{"at":"2021-08-26T06:00:00Z"}`), 201, &p1)
		var a planOut
		e.do("planner", "POST", "/api/plans/"+p1.ID+"/approve", nil, 200, &a)
		is := a.Issuance
		var adv advisoryOut
		e.do("planner", "POST", "/api/advisories", []byte(fmt.Sprintf(`{"canned":"avoid-gates","area_name":"the western districts","polygon":%s}`, cityBox(t))), 201, &adv)
		advMails := adv.Queued - adv.Recipients // each recipient has a phone; those with an e-mail get one too
		wantMails := is.ByChannel[muster.ChannelEmail] + advMails
		wantSMS := is.ByChannel[muster.ChannelSMS] + adv.Recipients
		waitFor(t, 60*time.Second, "every e-mail and SMS delivered", func() bool { return mp.Count(t) >= wantMails && len(gw.Sent()) >= wantSMS })
		if n := mp.Count(t); n != wantMails {
			t.Fatalf("mailpit holds %d e-mails, want %d", n, wantMails)
		}

		// A household reads its e-mail: its link and its token.
		var mine deliverytest.MailpitBody
		var instrMails, advisoryMails int
		for _, m := range mp.Messages(t) {
			switch {
			case strings.Contains(m.Subject, "(I-"):
				instrMails++
				if mine.Text == "" {
					mine = mp.Body(t, m.ID)
				}
			default:
				advisoryMails++
			}
		}
		if instrMails != is.ByChannel[muster.ChannelEmail] || advisoryMails != advMails {
			t.Fatalf("e-mails: %d instructions, %d advisories; want %d and %d", instrMails, advisoryMails, is.ByChannel[muster.ChannelEmail], advMails)
		}
		link := linkRE.FindString(mine.Text)
		if link == "" || !tokenRE.MatchString(mine.Text) {
			t.Fatalf("the e-mail carries no link or token:\n%s", mine.Text)
		}
		secret := strings.TrimPrefix(link, "https://evac.example.org/i/")
		var page evacueeView
		e.do("", "GET", "/i/"+secret, nil, 200, &page)
		var n int
		fmt.Sscanf(page.ID, "S%d", &n)
		if page.Instruction == nil || len(mine.To) != 1 || mine.To[0].Address != fmt.Sprintf("family%d@example.org", n) {
			t.Fatalf("the link in the e-mail to %v shows household %s's %+v", mine.To, page.ID, page.Instruction)
		}
		// The e-mail carries the token character for character.
		token := page.Instruction.Token
		if !strings.Contains(mine.Text, token) || !strings.Contains(mine.HTML, token) {
			t.Fatalf("the e-mail's token is not the page's %q:\n%s", token, mine.Text)
		}
		if v := verifyToken(e, token); v.Status != "current" || v.Claims.Household != page.ID {
			t.Fatalf("the household's own token: %+v", v)
		}
		var ack ackResponse
		e.do("", "POST", "/api/ack/"+secret, []byte(`{}`), 200, &ack)
		if ack.HouseholdID != page.ID || ack.InstructionID != page.Instruction.ID {
			t.Fatalf("acknowledged %+v", ack)
		}
		// Another, in English, replies to its SMS with the code.
		var replied string
		for _, s := range gw.Sent() {
			if m := codeRE.FindStringSubmatch(s.Body); m != nil {
				// The gateway signs the reply at the server's (scenario) time.
				reply := e.signedReply(s.To, m[1]+" thanks")
				req, _ := http.NewRequest("POST", e.srv.URL+"/api/ack/code", bytes.NewReader(reply))
				req.Header.Set("Content-Type", "application/json")
				for k, v := range signHeaders(testAckKey, reply, uniq("msg_"), now) {
					req.Header.Set(k, v)
				}
				resp, err := e.srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var out ackCodeResponse
				err = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if resp.StatusCode != 200 || err != nil {
					t.Fatalf("ack by code: %d %v", resp.StatusCode, err)
				}
				if len(out.Acknowledged) != 1 || !strings.HasPrefix(out.Acknowledged[0].InstructionID, "I-") {
					t.Fatalf("ack by code: %+v", out)
				}
				replied = out.Acknowledged[0].HouseholdID
				break
			}
		}
		if replied == "" {
			t.Fatal("no SMS carried a reply code")
		}

		// A forged token; one checked in twice.
		if v := verifyToken(e, changeChar(token, len(token)-3)); v.Status != "forged" {
			t.Fatalf("a forged token: %+v", v)
		}
		rally := page.Instruction.RallyPoint.ID
		e.do("field", "POST", "/api/checkin", mustJSON(checkinRequest{Token: token, RallyPoint: rally}), 201, nil)
		body := e.do("field", "POST", "/api/checkin", mustJSON(checkinRequest{Token: token, RallyPoint: "RP-2"}), 409, nil)
		if !strings.Contains(errorOf(t, body).Message, "checked in already, at "+rally) {
			t.Fatalf("twice used: %s", body)
		}

		// A re-plan, approved: one household withdrawn, another's language
		// changed. Only what changed is issued and sent.
		ins := allInstructions(e, "&audience=household")
		var gone, changed instructionOut
		for _, in := range ins {
			h := in.Instruction.Household
			switch {
			case h == page.ID || h == replied || !strings.HasPrefix(h, "S"):
			case gone.ID == "":
				gone = in
			case changed.ID == "" && in.Instruction.Language != muster.LangEnglish:
				changed = in
			}
		}
		e.do("field", "POST", "/api/households/"+gone.Instruction.Household+"/status", []byte(`{"status":"withdrawn"}`), 200, nil)
		rec, err := st.GetHousehold(context.Background(), changed.Instruction.Household)
		if err != nil {
			t.Fatal(err)
		}
		hin := householdIn{ID: rec.ID, Name: rec.Name, NameLocal: rec.NameLocal, PartySize: rec.PartySize, Adults: rec.Adults, Children: rec.Children,
			Priority: rec.Priority, Language: muster.LangEnglish, Phone: rec.Phone, Email: rec.Email, Location: &locationJSON{Lat: rec.Lat, Lon: rec.Lon}, Version: rec.Version}
		e.do("field", "PUT", "/api/households/"+rec.ID, mustJSON(hin), 200, nil)
		now = scenarioStart.Add(10 * time.Minute)
		var p2 planOut
		e.do("planner", "POST", "/api/plans", []byte(fmt.Sprintf(`{"at":"2021-08-26T05:10:00Z","start":"2021-08-26T06:00:00Z","revise":%q}`, p1.ID)), 201, &p2)
		mailsBefore, smsBefore := mp.Count(t), len(gw.Sent())
		// The statuses as a verifier kept them just before the re-plan:
		// what is read from the store at verification must beat them.
		stale, err := issue.Bundle(context.Background(), e.store, e.api.cfg.Issuer.Keyring())
		if err != nil {
			t.Fatal(err)
		}
		var a2 planOut
		e.do("planner", "POST", "/api/plans/"+p2.ID+"/approve", nil, 200, &a2)
		is2 := a2.Issuance
		if is2.Revoked < 1 || is2.Superseded < 1 || is2.Unchanged == 0 || is2.Households >= is.Households {
			t.Fatalf("the re-plan's issuance: %+v", is2)
		}
		waitFor(t, 60*time.Second, "the new versions delivered", func() bool {
			return mp.Count(t) >= mailsBefore+is2.ByChannel[muster.ChannelEmail] && len(gw.Sent()) >= smsBefore+is2.ByChannel[muster.ChannelSMS]
		})
		time.Sleep(300 * time.Millisecond) // nothing more comes
		if n := mp.Count(t); n != mailsBefore+is2.ByChannel[muster.ChannelEmail] {
			t.Fatalf("after the re-plan mailpit holds %d e-mails, want %d + %d", n, mailsBefore, is2.ByChannel[muster.ChannelEmail])
		}
		if v := verifyToken(e, changed.Token); v.Status != "superseded" || !strings.Contains(strings.Join(v.Changed, " "), muster.ChangedLanguage) {
			t.Fatalf("the replaced version: %+v", v)
		}
		if v := verifyToken(e, gone.Token); v.Status != "revoked" {
			t.Fatalf("the withdrawn household's: %+v", v)
		}
		if v, err := issue.VerifyWith(context.Background(), e.store, stale, changed.Token, now); err != nil || v.Status != credential.Superseded || !slices.Contains(v.Changed, muster.ChangedLanguage) {
			t.Fatalf("the replaced version against statuses kept from before the re-plan: %+v %v", v, err)
		}
		if v, err := issue.VerifyWith(context.Background(), e.store, stale, gone.Token, now); err != nil || v.Status != credential.Revoked {
			t.Fatalf("the withdrawn household's against statuses kept from before the re-plan: %+v %v", v, err)
		}
		if v := verifyToken(e, token); v.Status != "current" && v.Status != "superseded" {
			t.Fatalf("the checked-in household's: %+v", v)
		}
	})
}
