package issue_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/issue"
	"github.com/muster-evac/muster/plan"
)

// TestReplanKeepsTheLinks: a household's link is made with its first
// instruction and kept by every later version: a re-plan that changes
// some households' instructions makes no new link, and the new
// messages carry the link the household already has (the one in its
// first SMS keeps working). A household new to the plan gets a link of
// its own.
func TestReplanKeepsTheLinks(t *testing.T) {
	bp, ctx, now, st, kr := smallIssuance(t, 30, "links-test")
	var p plan.Plan
	if err := json.Unmarshal(bp.body, &p); err != nil {
		t.Fatal(err)
	}
	// The first plan leaves out the last household the plan groups.
	last := -1
	for i := range p.Households {
		if p.Households[i].Group != "" {
			last = i
		}
	}
	if last < 1 {
		t.Fatal("the plan groups too few households")
	}
	latecomer := p.Households[last].ID
	first := p
	first.Households = append(append([]plan.Household{}, p.Households[:last]...), p.Households[last+1:]...)
	save := func(q *plan.Plan) string {
		t.Helper()
		body, err := plan.Encode(q)
		if err != nil {
			t.Fatal(err)
		}
		return savePlan(t, ctx, st, body)
	}
	is, err := issue.New(issue.Config{Store: st, Keyring: kr, Secret: []byte("a test secret of 32 bytes or more"), Streets: bp.streets,
		PublicURL: "https://evac.example.org", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	rep1, err := is.Approve(ctx, save(&first))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range p.Households {
		ids = append(ids, h.ID)
	}
	before, err := st.InstructionLinks(ctx, ids, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != rep1.Links || rep1.Links == 0 || before[latecomer] != "" {
		t.Fatalf("first issuance: %d links made, %d found, the latecomer's %q", rep1.Links, len(before), before[latecomer])
	}

	// The re-plan moves every group's report-by time on by ten minutes
	// (every household's instruction changes) and takes the latecomer in.
	second := p
	second.Groups = append([]plan.Group{}, p.Groups...)
	for i := range second.Groups {
		second.Groups[i].ReportBy = second.Groups[i].ReportBy.Add(10 * time.Minute)
	}
	second.Households = append([]plan.Household{}, p.Households...)
	for i := range second.Households {
		second.Households[i].ReportBy = second.Households[i].ReportBy.Add(10 * time.Minute)
	}
	later := now.Add(time.Minute)
	is2, err := issue.New(issue.Config{Store: st, Keyring: kr, Secret: []byte("a test secret of 32 bytes or more"), Streets: bp.streets,
		PublicURL: "https://evac.example.org", Now: func() time.Time { return later }})
	if err != nil {
		t.Fatal(err)
	}
	rep2, err := is2.Approve(ctx, save(&second))
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Households != rep1.Households+1 || rep2.Links != 1 {
		t.Fatalf("re-plan: %d households' new versions (want %d), %d links made (want 1, the latecomer's)", rep2.Households, rep1.Households+1, rep2.Links)
	}
	after, err := st.InstructionLinks(ctx, ids, later)
	if err != nil {
		t.Fatal(err)
	}
	for h, secret := range before {
		if after[h] != secret {
			t.Fatalf("%s: its link changed with the re-plan", h)
		}
	}
	if after[latecomer] == "" {
		t.Fatal("the latecomer has no link")
	}
	// The re-plan's messages carry the links the households have.
	var leased []muster.OutboxMessage
	for {
		batch, err := st.LeaseMessages(ctx, "test", nil, 500, time.Minute, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		leased = append(leased, batch...)
	}
	cur := current(t, st)
	checked := 0
	for _, m := range leased {
		in := cur["I-"+m.HouseholdID]
		if m.InstructionID != in.ID || in.Version < 2 {
			continue // the first issuance's
		}
		link := m.Link + m.Body // an e-mail's link is kept to render it; an SMS holds it
		if !strings.Contains(link, issue.LinkPath(after[m.HouseholdID])) {
			t.Fatalf("%s: the re-plan's %s does not carry the household's link", m.HouseholdID, m.Channel)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no message of the re-plan checked")
	}
}
