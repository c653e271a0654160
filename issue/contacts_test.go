package issue_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/credential"
	"github.com/muster-evac/muster/issue"
	"github.com/muster-evac/muster/plan"
)

// TestIssuanceUsesEveryContactField: the issuance reads of each household
// only its id, language, names, phone and e-mail (ListHouseholdContacts),
// and uses each: a Dari household with a local name only and a phone only
// is greeted by that name in Dari and sent an SMS in Dari script, no
// e-mail; an English household with an e-mail only is greeted by its
// Latin name and sent an e-mail, no SMS; a household of no known language
// gets the default (Pashto) and its local name; one with both channels
// gets both; one with neither gets none. A field the read dropped would
// change one of these.
func TestIssuanceUsesEveryContactField(t *testing.T) {
	bp, err := makeBigPlan(context.Background(), 40, 1)
	if err != nil {
		t.Fatal(err)
	}
	var p plan.Plan
	if err := json.Unmarshal(bp.body, &p); err != nil {
		t.Fatal(err)
	}
	var grouped []int // indexes in bp.households of those the plan puts in a group
	for i, h := range bp.households {
		if j := slices.IndexFunc(p.Households, func(ph plan.Household) bool { return ph.ID == h.ID }); j >= 0 && p.Households[j].Group != "" {
			grouped = append(grouped, i)
		}
	}
	if len(grouped) < 5 {
		t.Fatalf("the plan groups %d households, the test needs 5", len(grouped))
	}
	hs := slices.Clone(bp.households)
	type want struct {
		language, name string
		sms, email     string // recipients, "" for none
	}
	wants := map[string]want{}
	set := func(k int, lang, name, nameLocal, phone, email string, w want) {
		h := &hs[grouped[k]]
		h.Language, h.Name, h.NameLocal, h.Phone, h.Email = lang, name, nameLocal, phone, email
		wants[h.ID] = w
	}
	set(0, muster.LangDari, "", "زرغونه کریمی", "+93700000001", "",
		want{language: muster.LangDari, name: "زرغونه کریمی", sms: "+93700000001"})
	set(1, muster.LangEnglish, "Farid Karimi", "فرید کریمی", "", "farid@example.org",
		want{language: muster.LangEnglish, name: "Farid Karimi", email: "farid@example.org"})
	set(2, "", "Gul Ahmad Zadran", "ګل احمد ځدراڼ", "+93700000003", "",
		want{language: muster.LangPashto, name: "ګل احمد ځدراڼ", sms: "+93700000003"})
	set(3, muster.LangPashto, "Mina Stanikzai", "مینه ستانکزۍ", "+93700000004", "mina@example.org",
		want{language: muster.LangPashto, name: "مینه ستانکزۍ", sms: "+93700000004", email: "mina@example.org"})
	set(4, muster.LangDari, "Omid Noori", "امید نوری", "", "",
		want{language: muster.LangDari, name: "امید نوری"})

	ctx := muster.WithActor(context.Background(), "planner")
	now := benchStart.Add(-2 * time.Hour)
	st := issuanceStore(t, ctx, bp, hs)
	planID := savePlan(t, ctx, st, bp.body)
	kr, err := credential.NewKeyring("contacts-test", 0, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	is, err := issue.New(issue.Config{Store: st, Keyring: kr, Secret: []byte("a test secret of 32 bytes or more"), Streets: bp.streets,
		PublicURL: "https://evac.example.org", DefaultLanguage: muster.LangPashto, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := is.Approve(ctx, planID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.NoChannel != 1 {
		t.Fatalf("%d households without a channel, want 1 (%+v)", rep.NoChannel, rep)
	}
	// Every queued message, opened (a listing leaves recipients out).
	leased, err := st.LeaseMessages(ctx, "test", nil, 500, time.Minute, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(leased) != rep.Enqueued {
		t.Fatalf("leased %d messages, %d queued", len(leased), rep.Enqueued)
	}
	cur := current(t, st)
	for id, w := range wants {
		in, ok := cur["I-"+id]
		if !ok {
			t.Fatalf("%s: no current instruction", id)
		}
		if in.Language != w.language || in.Name != w.name {
			t.Fatalf("%s: instruction in %q to %q, want in %q to %q", id, in.Language, in.Name, w.language, w.name)
		}
		var sms, email string
		for _, m := range leased {
			if m.HouseholdID != id {
				continue
			}
			if m.InstructionID != in.ID {
				t.Fatalf("%s: a message of %s, its instruction is %s", id, m.InstructionID, in.ID)
			}
			switch m.Channel {
			case muster.ChannelSMS:
				sms = m.Recipient
				// Written in the household's language: Dari and Pashto in
				// Arabic script.
				if !strings.ContainsFunc(m.Body, func(r rune) bool { return unicode.Is(unicode.Arabic, r) }) {
					t.Fatalf("%s: the SMS is not in Arabic script: %q", id, m.Body)
				}
			case muster.ChannelEmail:
				email = m.Recipient
			}
		}
		if sms != w.sms || email != w.email {
			t.Fatalf("%s: SMS to %q and e-mail to %q, want %q and %q", id, sms, email, w.sms, w.email)
		}
	}
	// The read is on the record, as every read of the registry.
	audit, err := st.ListAudit(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(audit, func(a muster.AuditEntry) bool {
		return a.Action == "household.read" && a.Actor == "planner" && strings.HasPrefix(a.Detail, "40 households read to issue instructions")
	}) {
		t.Fatal("the issuance's read of the households is not in the audit log")
	}
}
