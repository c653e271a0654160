package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/credential"
	"github.com/muster-evac/muster/plan"
)

// scenarioStart is when the tests' operation runs: the plans start at
// 06:00, instructions are issued an hour before.
var scenarioStart = time.Date(2021, 8, 26, 5, 0, 0, 0, time.UTC)

// registerScenario registers n households spread over the test city, in
// English, Dari and Pashto, each with a phone and two in three with an
// e-mail address.
func registerScenario(e *testEnv, n int) {
	e.t.Helper()
	k := testCity(e.t)
	rng := rand.New(rand.NewPCG(7, 7))
	langs := []string{muster.LangEnglish, muster.LangDari, muster.LangPashto}
	for i := 0; i < n; i++ {
		p := k.footGraph.NodePoint(uint32(rng.IntN(k.footGraph.NumNodes())))
		email := ""
		if i%3 != 2 {
			email = fmt.Sprintf(`"email":"family%d@example.org",`, i)
		}
		body := fmt.Sprintf(`{"id":"S%03d","name":"Family %d","name_local":"خانواده %d","party_size":%d,"adults":1,"children":%d,"priority":"none","language":%q,"phone":"+9370333%04d",%s"location":{"lat":%f,"lon":%f}}`,
			i, i, i, 2+i%3, 1+i%3, langs[i%3], i, email, p[1], p[0])
		e.do("field", "POST", "/api/households", []byte(body), 201, nil)
	}
}

// scenarioEnv is a server whose clock is the scenario's, with n households.
func scenarioEnv(t *testing.T, st muster.Store, n int, now *time.Time) *testEnv {
	*now = scenarioStart
	e := newEnv(t, st, func(c *Config) { c.Now = func() time.Time { return *now } })
	registerScenario(e, n)
	return e
}

func allInstructions(e *testEnv, query string) []instructionOut {
	e.t.Helper()
	var out []instructionOut
	after := ""
	for {
		var page instructionsPage
		e.do("planner", "GET", "/api/instructions?limit=1000&after="+after+query, nil, 200, &page)
		out = append(out, page.Instructions...)
		if page.Next == "" {
			return out
		}
		after = page.Next
	}
}

func outboxCount(e *testEnv, query string) int {
	e.t.Helper()
	var page outboxPage
	e.do("planner", "GET", "/api/outbox?limit=1"+query, nil, 200, &page)
	n := 0
	for _, c := range page.Counts {
		n += c
	}
	return n
}

// TestIssueOnApproval: approving a plan issues its instructions in the
// same transaction (each household's signed, with its messages queued on
// its channels; escorts' stored for operators); a re-plan, approved,
// issues new versions only to what changed and revokes the instructions
// of households it no longer serves; issuing again issues nothing; a
// server without signing keys approves nothing.
func TestIssueOnApproval(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		var now time.Time
		e := scenarioEnv(t, open(t), 45, &now)
		var p1 planOut
		e.do("planner", "POST", "/api/plans", []byte(`{"at":"2021-08-26T06:00:00Z"}`), 201, &p1)
		var whole plan.Plan
		e.do("planner", "GET", "/api/plans/"+p1.ID, nil, 200, &whole)
		var a planOut
		e.do("planner", "POST", "/api/plans/"+p1.ID+"/approve", nil, 200, &a)
		is := a.Issuance
		if a.Status != muster.PlanCurrent || is == nil || !is.Approved || is.Households != len(whole.Households) || is.Escorts != len(whole.Groups) ||
			is.Issued != is.Households+is.Escorts || is.Superseded != 0 || is.Revoked != 0 || is.Expired != 0 {
			t.Fatalf("approval: %+v; issuance %+v; the plan has %d households in %d groups", a, is, len(whole.Households), len(whole.Groups))
		}
		withEmail := 0
		for _, h := range whole.Households {
			var n int
			if _, err := fmt.Sscanf(h.ID, "S%d", &n); err == nil && n%3 != 2 {
				withEmail++
			}
		}
		// HH-A, the environment's own household, has a phone and no e-mail.
		if is.ByChannel[muster.ChannelSMS] != is.Households || is.ByChannel[muster.ChannelEmail] != withEmail || is.Queued != is.Households+withEmail || is.NoChannel != 0 {
			t.Fatalf("messages: %+v, want %d SMS and %d e-mails", is, is.Households, withEmail)
		}
		if n := outboxCount(e, ""); n != is.Queued {
			t.Fatalf("%d messages in the outbox, %d said queued", n, is.Queued)
		}
		// Every household's token is genuine and current; escorts' are
		// listed for operators with the gate, and only theirs name it.
		b := testKeyring(t).Bundle(nil, now)
		ins := allInstructions(e, "")
		if len(ins) != is.Issued {
			t.Fatalf("%d instructions in force, %d issued", len(ins), is.Issued)
		}
		for _, in := range ins {
			v := credential.Verify(in.Token, b, now)
			if v.Status != credential.Current || v.Claims.TokenID() != in.ID {
				t.Fatalf("%s: %s", in.ID, v.String())
			}
			if (in.Instruction.Audience == muster.AudienceEscort) != (in.Instruction.Escort != nil) || (in.Instruction.Audience == muster.AudienceEscort) != (in.Text != "") {
				t.Fatalf("%s (%s): escort part %v, text %d bytes", in.ID, in.Instruction.Audience, in.Instruction.Escort != nil, len(in.Text))
			}
		}
		escorts := allInstructions(e, "&audience=escort")
		if len(escorts) != is.Escorts || !strings.Contains(escorts[0].Text, escorts[0].Instruction.Escort.Gate.Name) {
			t.Fatalf("escorts: %d, want %d", len(escorts), is.Escorts)
		}
		e.do("viewer", "GET", "/api/instructions", nil, 403, nil)
		e.do("field", "GET", "/api/instructions/"+escorts[0].ID, nil, 200, nil)
		// Issuing again issues nothing: nothing changed.
		var again issuanceOut
		e.do("planner", "POST", "/api/instructions/issue", []byte(`{}`), 200, &again)
		if again.Issued != 0 || again.Queued != 0 || again.Unchanged != is.Issued {
			t.Fatalf("issuing again: %+v", again)
		}

		// A re-plan: one household withdrawn, a threat on a route.
		gone := whole.Households[0].ID
		e.do("field", "POST", "/api/households/"+gone+"/status", []byte(`{"status":"withdrawn"}`), 200, nil)
		g := whole.Groups[len(whole.Groups)-1]
		coords, _ := json.Marshal(g.Route.Geometry.Coordinates)
		var pts [][2]float64
		json.Unmarshal(coords, &pts)
		mid := pts[len(pts)/2]
		rep := fmt.Sprintf(`{"id":"bomb-1","received_at":"2021-08-26T05:10:00Z","source":{"id":"field-team","kind":"field"},"reliability":"A","credibility":1,"kind":"explosion","claim":"present","likelihood":"almost certain","immediacy":"imminent","severity":5,"area":{"point":[%f,%f],"radius_m":300},"text":"explosion"}`, mid[0], mid[1])
		e.do("field", "POST", "/api/reports", []byte(rep), 201, nil)
		now = scenarioStart.Add(15 * time.Minute)
		var p2 planOut
		e.do("planner", "POST", "/api/plans", []byte(fmt.Sprintf(`{"at":"2021-08-26T05:15:00Z","start":"2021-08-26T06:00:00Z","revise":%q}`, p1.ID)), 201, &p2)
		queuedBefore := outboxCount(e, "")
		var a2 planOut
		e.do("planner", "POST", "/api/plans/"+p2.ID+"/approve", nil, 200, &a2)
		is2 := a2.Issuance
		if is2 == nil || is2.Revoked < 1 || is2.Unchanged == 0 || is2.Superseded == 0 || is2.Issued != is2.Households+is2.Escorts || is2.Issued < is2.Superseded ||
			is2.Unchanged+is2.Superseded+is2.Revoked != is.Issued {
			t.Fatalf("re-issue: %+v (first issuance %+v)", is2, is)
		}
		if n := outboxCount(e, ""); n != queuedBefore+is2.Queued {
			t.Fatalf("outbox after the re-issue: %d, want %d + %d", n, queuedBefore, is2.Queued)
		}
		// The withdrawn household's instruction is revoked; every version
		// superseded names its successor, which says what changed.
		old := allInstructions(e, "&status=all")
		statuses := map[string]int{}
		for _, in := range old {
			statuses[in.Status]++
			switch {
			case in.Instruction.Household == gone && in.Status != muster.InstructionRevoked:
				t.Fatalf("the withdrawn household's %s is %s", in.ID, in.Status)
			case in.Status == muster.InstructionSuperseded && in.SupersededBy == "":
				t.Fatalf("%s superseded by nothing", in.ID)
			case in.Instruction.Version > 1 && (in.Instruction.Supersedes == "" || len(in.Changes) == 0):
				t.Fatalf("%s: a new version that says nothing of what it replaces: %+v", in.ID, in)
			}
		}
		if statuses[muster.InstructionSuperseded] != is2.Superseded || statuses[muster.InstructionRevoked] != is2.Revoked {
			t.Fatalf("statuses %v after %+v", statuses, is2)
		}
		// Only new versions got messages.
		for _, in := range old {
			n := outboxCount(e, "&instruction="+in.ID)
			if in.Instruction.Audience == muster.AudienceHousehold && n == 0 || in.Instruction.Audience == muster.AudienceEscort && n != 0 {
				t.Fatalf("%s (%s): %d messages", in.ID, in.Instruction.Audience, n)
			}
		}
		// Every step is in the audit log, and the chain holds.
		var av auditVerifyResponse
		e.do("admin", "GET", "/api/audit/verify", nil, 200, &av)
		if !av.OK {
			t.Fatalf("audit chain: %+v", av)
		}
	})
}

// TestApprovalNeedsKeys: a server without signing keys approves no plan,
// and says why.
func TestApprovalNeedsKeys(t *testing.T) {
	st := openSQLite(t)
	e := newEnv(t, st, func(c *Config) { c.Issuer = nil })
	id := savedPlan(e, false)
	body := e.do("planner", "POST", "/api/plans/"+id+"/approve", nil, 400, nil)
	if !strings.Contains(errorOf(t, body).Message, "muster keys init") {
		t.Fatalf("refusal: %s", body)
	}
	if p, _ := st.GetPlan(context.Background(), id); p.Status != muster.PlanProposed {
		t.Fatalf("the plan was approved without keys: %s", p.Status)
	}
	e.do("planner", "POST", "/api/instructions/issue", []byte(`{}`), 400, nil)
}
