package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/credential"
	"github.com/muster-evac/muster/issue"
)

// issuedScenario approves a plan of n scenario households and returns
// their current instructions by household, with each one's link secret.
func issuedScenario(t *testing.T, e *testEnv) (planOut, map[string]instructionOut, map[string]string) {
	t.Helper()
	var p planOut
	e.do("planner", "POST", "/api/plans", []byte(`{"at":"2021-08-26T06:00:00Z"}`), 201, &p)
	e.do("planner", "POST", "/api/plans/"+p.ID+"/approve", nil, 200, &p)
	byHH := map[string]instructionOut{}
	var ids []string
	for _, in := range allInstructions(e, "&audience=household") {
		byHH[in.Instruction.Household] = in
		ids = append(ids, in.Instruction.Household)
	}
	links, err := e.store.InstructionLinks(context.Background(), ids, e.api.now()) // the scenario's clock: links end 30 days after it
	if err != nil || len(links) != len(ids) || len(ids) < 6 {
		t.Fatalf("%d instructions, %d links: %v", len(ids), len(links), err)
	}
	return p, byHH, links
}

func verifyToken(e *testEnv, token string) verdictOut {
	e.t.Helper()
	resp, body := e.request("", "POST", "/api/verify", []byte(token), "text/plain")
	if resp.StatusCode != 200 {
		e.t.Fatalf("verify: %d %s", resp.StatusCode, body)
	}
	var v verdictOut
	if err := json.Unmarshal(body, &v); err != nil {
		e.t.Fatal(err)
	}
	return v
}

// changeChar changes one character of a token's base45 for another.
func changeChar(token string, i int) string {
	b := []byte(token)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// otherDeploymentToken signs claims like tok's with another deployment's key.
func otherDeploymentToken(t *testing.T, c *claims, now time.Time) string {
	t.Helper()
	kr, err := credential.NewKeyring("other-deploy", 0, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := kr.Sign(credential.Claims{Instruction: c.Instruction, Version: c.Version, Household: c.Household, Digest: [16]byte{1},
		RallyPoint: c.RallyPoint, NotAfter: c.ExpiresAt, IssuedAt: now}, now)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestVerifyAndCheckIn: an evacuee's link shows its own instruction and
// token (and no other household's); POST /api/verify tells a genuine
// current token, a forged one, another deployment's, a superseded one
// (by which version, and which parts changed) and a revoked one; a token
// checks in once, and a copy is refused with where and when the first
// check-in happened; forged and foreign tokens never check in; offline
// check-ins from two devices are reconciled; the signed bundle verifies
// offline what the server says.
func TestVerifyAndCheckIn(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		var now time.Time
		e := scenarioEnv(t, open(t), 24, &now)
		p1, byHH, links := issuedScenario(t, e)
		hs := scenarioHouseholdIDs(byHH)
		a, b, c, d := hs[0], hs[1], hs[2], hs[3]

		// The evacuee's page: its own instruction, token and QR code.
		var view evacueeView
		e.do("", "GET", "/i/"+links[a], nil, 200, &view)
		in := view.Instruction
		if view.ID != a || in == nil || in.ID != byHH[a].ID || in.Token != byHH[a].Token || !strings.HasPrefix(in.QRSVG, "<svg") ||
			!strings.Contains(in.Text, in.Token) || !strings.Contains(in.Text, byHH[a].Instruction.RallyPoint.Name) {
			t.Fatalf("the page of %s: %+v\n%s\n%q", a, view, view.Instruction.Text, byHH[a].Instruction.RallyPoint.Name)
		}
		var viewB evacueeView
		e.do("", "GET", "/api/me/"+links[b], nil, 200, &viewB)
		// B's link shows B's own instruction, and nothing that identifies A's
		// (a name is no test: two households may share a first name).
		if viewB.Instruction == nil || viewB.Instruction.ID != byHH[b].ID || viewB.Instruction.Token != byHH[b].Token ||
			strings.Contains(viewB.Instruction.Text, in.Token) || strings.Contains(viewB.Instruction.Text, byHH[a].ID) {
			t.Fatal("one household's link shows another's instruction")
		}
		tokA := in.Token

		// Genuine and current; a changed character; another deployment.
		v := verifyToken(e, tokA)
		if v.Status != "current" || !v.Genuine || !v.Issued || v.TokenID != byHH[a].ID || v.Claims.Household != a || !strings.HasPrefix(v.Verdict, "GENUINE AND CURRENT") ||
			v.Deployment != "test-deploy" || v.AsOf.IsZero() {
			t.Fatalf("a genuine token: %+v", v)
		}
		forged := changeChar(tokA, len(tokA)/2)
		if v := verifyToken(e, forged); v.Status != "forged" || v.Genuine || !strings.HasPrefix(v.Verdict, "FORGED") {
			t.Fatalf("a changed character: %+v", v)
		}
		foreign := otherDeploymentToken(t, v.Claims, now)
		if v := verifyToken(e, foreign); v.Status != "unknown_key" || v.ClaimedIssuer != "other-deploy" {
			t.Fatalf("another deployment's token: %+v", v)
		}

		// Check-in: once; the copy refused with the first's place and time.
		var ci checkinResponse
		e.do("field", "POST", "/api/checkin", mustJSON(checkinRequest{Token: tokA, RallyPoint: byHH[a].Instruction.RallyPoint.ID}), 201, &ci)
		if ci.CheckIn.TokenID != byHH[a].ID || ci.CheckIn.Household != a || ci.CheckIn.By != "field-user" || ci.People != byHH[a].Instruction.People {
			t.Fatalf("check-in: %+v", ci)
		}
		now = now.Add(20 * time.Minute)
		body := e.do("field", "POST", "/api/checkin", mustJSON(checkinRequest{Token: tokA, RallyPoint: "RP-WEST"}), 409, nil)
		msg := errorOf(t, body).Message
		if !strings.Contains(msg, byHH[a].Instruction.RallyPoint.ID) || !strings.Contains(msg, "field-user") || !strings.Contains(msg, ci.CheckIn.At.UTC().Format(time.RFC3339)) {
			t.Fatalf("the second check-in's refusal does not say where and when the first was: %s", msg)
		}
		var flagged checkinsPage
		e.do("field", "GET", "/api/checkins?duplicates=true", nil, 200, &flagged)
		if len(flagged.CheckIns) != 1 || flagged.CheckIns[0].RallyPoint != "RP-WEST" || flagged.CheckIns[0].DuplicateOf != ci.CheckIn.ID {
			t.Fatalf("flagged: %+v", flagged)
		}
		if h, _ := e.store.GetHousehold(context.Background(), a); h.Status != muster.StatusAtRally {
			t.Fatalf("a checked-in household is %s", h.Status)
		}
		e.do("field", "POST", "/api/checkin", mustJSON(checkinRequest{Token: forged, RallyPoint: "RP-EAST"}), 400, nil)
		e.do("field", "POST", "/api/checkin", mustJSON(checkinRequest{Token: foreign, RallyPoint: "RP-EAST"}), 400, nil)
		e.do("viewer", "POST", "/api/checkin", mustJSON(checkinRequest{Household: b, RallyPoint: "RP-EAST"}), 403, nil)
		e.do("field", "POST", "/api/checkin", mustJSON(checkinRequest{Household: b, RallyPoint: byHH[b].Instruction.RallyPoint.ID}), 201, nil)
		e.do("field", "POST", "/api/checkin", mustJSON(checkinRequest{Token: byHH[b].Token, RallyPoint: "RP-EAST"}), 409, nil)

		// Offline: two devices checked d's token in; the earlier is first,
		// whichever syncs first; a forged token is refused.
		t0 := scenarioStart.Add(70 * time.Minute)
		var s1, s2 syncResponse
		e.do("field", "POST", "/api/checkin/sync", mustJSON(syncRequest{Device: "tablet-1", CheckIns: []syncCheckIn{
			{ID: "t1-0001", Token: byHH[d].Token, RallyPoint: "RP-NORTH", At: t0.Add(5 * time.Minute).Format(time.RFC3339)}}}), 200, &s1)
		e.do("field", "POST", "/api/checkin/sync", mustJSON(syncRequest{Device: "tablet-2", CheckIns: []syncCheckIn{
			{ID: "t2-0001", Token: byHH[d].Token, RallyPoint: "RP-SOUTH", By: "officer-9", At: t0.Format(time.RFC3339)},
			{ID: "t2-0002", Token: forged, RallyPoint: "RP-SOUTH", At: t0.Format(time.RFC3339)}}}), 200, &s2)
		if s1.Recorded != 1 || s2.Recorded != 1 || s2.Refused != 1 || s2.Outcomes[0].Displaced == nil || s2.Outcomes[0].Displaced.RallyPoint != "RP-NORTH" ||
			s2.Outcomes[0].CheckIn.By != "tablet-2/officer-9" {
			t.Fatalf("syncs: %+v / %+v", s1, s2)
		}
		var again syncResponse
		e.do("field", "POST", "/api/checkin/sync", mustJSON(syncRequest{Device: "tablet-1", CheckIns: []syncCheckIn{
			{ID: "t1-0001", Token: byHH[d].Token, RallyPoint: "RP-NORTH", At: t0.Add(5 * time.Minute).Format(time.RFC3339)}}}), 200, &again)
		if !again.Outcomes[0].Duplicate || again.Outcomes[0].First == nil || again.Outcomes[0].First.RallyPoint != "RP-SOUTH" {
			t.Fatalf("the first device syncing again: %+v", again.Outcomes[0])
		}
		body = e.do("field", "POST", "/api/checkin", mustJSON(checkinRequest{Token: byHH[d].Token, RallyPoint: "RP-EAST"}), 409, nil)
		if !strings.Contains(errorOf(t, body).Message, "RP-SOUTH") {
			t.Fatalf("online after the syncs: %s", body)
		}

		// c changes language: a new version; the old token is superseded,
		// and says by which version and what changed, never where to.
		rec, err := e.store.GetHousehold(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		hin := newHousehold(c, rec.Phone)
		lang := muster.LangPashto
		if rec.Language == lang {
			lang = muster.LangEnglish
		}
		hin.Language, hin.Version, hin.Location = lang, rec.Version, &locationJSON{Lat: rec.Lat, Lon: rec.Lon}
		hin.Name, hin.NameLocal, hin.PartySize, hin.Adults, hin.Children, hin.Email = rec.Name, rec.NameLocal, rec.PartySize, rec.Adults, rec.Children, rec.Email
		e.do("field", "PUT", "/api/households/"+c, mustJSON(hin), 200, nil)
		var iss issuanceOut
		e.do("planner", "POST", "/api/instructions/issue", []byte(`{}`), 200, &iss)
		if iss.Issued != 1 || iss.Superseded != 1 || iss.Queued == 0 {
			t.Fatalf("re-issue after a language change: %+v", iss)
		}
		old := byHH[c].Token
		v = verifyToken(e, old)
		if v.Status != "superseded" || v.Latest != 2 || v.Newer != muster.InstructionID(byHH[c].Instruction.Series, 2) || !strings.Contains(strings.Join(v.Changed, ","), muster.ChangedLanguage) ||
			!strings.HasPrefix(v.Verdict, "GENUINE BUT SUPERSEDED by version 2") {
			t.Fatalf("the replaced version: %+v", v)
		}
		body = e.do("field", "POST", "/api/checkin", mustJSON(checkinRequest{Token: old, RallyPoint: "RP-EAST"}), 409, nil)
		if !strings.Contains(errorOf(t, body).Message, "superseded") {
			t.Fatalf("checking in a superseded version: %s", body)
		}
		var pageC evacueeView
		e.do("", "GET", "/i/"+links[c], nil, 200, &pageC)
		if pageC.Instruction == nil || pageC.Instruction.Version != 2 || pageC.Instruction.Language != lang {
			t.Fatalf("c's page after the new version: %+v", pageC.Instruction)
		}
		// The evacuee acknowledges the version in force through its link.
		var ack ackResponse
		e.do("", "POST", "/api/ack/"+links[c], []byte(`{}`), 200, &ack)
		if ack.InstructionID != pageC.Instruction.ID || ack.Via != muster.AckLink {
			t.Fatalf("acknowledged %+v, want %s", ack, pageC.Instruction.ID)
		}

		// A withdrawn household, re-planned and approved: revoked.
		w := hs[4]
		e.do("field", "POST", "/api/households/"+w+"/status", []byte(`{"status":"withdrawn"}`), 200, nil)
		var p2 planOut
		e.do("planner", "POST", "/api/plans", []byte(fmt.Sprintf(`{"at":"2021-08-26T05:20:00Z","start":"2021-08-26T06:00:00Z","revise":%q}`, p1.ID)), 201, &p2)
		e.do("planner", "POST", "/api/plans/"+p2.ID+"/approve", nil, 200, nil)
		if v := verifyToken(e, byHH[w].Token); v.Status != "revoked" {
			t.Fatalf("a withdrawn household's token: %+v", v)
		}
		e.do("field", "POST", "/api/checkin", mustJSON(checkinRequest{Token: byHH[w].Token, RallyPoint: "RP-EAST"}), 409, nil)

		// Offline: the bundle, pinned by the first key's fingerprint, says
		// the same.
		resp, raw := e.request("", "GET", "/api/bundle", nil, "")
		if resp.StatusCode != 200 || resp.Header.Get("Muster-Bundle-As-Of") == "" {
			t.Fatalf("bundle: %d %v", resp.StatusCode, resp.Header)
		}
		bundle, err := credential.OpenBundle(raw, testKeyring(t).Keys()[0].Fingerprint())
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{old, byHH[w].Token, tokA, byHH[b].Token, forged, foreign} {
			if got, want := credential.Verify(tok, bundle, now), verifyToken(e, tok); statusCodes[got.Status] != want.Status {
				t.Fatalf("offline: %s, the server says %s", got.String(), want.Verdict)
			}
		}
		if got := credential.Verify(old, bundle, now); got.Status != credential.Superseded {
			t.Fatalf("offline, the replaced version: %s", got.String())
		}
	})
}

// scenarioHouseholdIDs are the scenario's households issued an
// instruction, sorted: the same households every run.
func scenarioHouseholdIDs(byHH map[string]instructionOut) []string {
	var hs []string
	for h := range byHH {
		if strings.HasPrefix(h, "S") {
			hs = append(hs, h)
		}
	}
	sort.Strings(hs)
	return hs
}

// TestCheckInAtAnotherRallyPoint: a current token shown at a rally point
// other than its instruction's is refused (a copy shown there first would
// otherwise spend it, and the household it was issued to be turned away at
// its own), the attempt audited and the token left unspent; the officer
// may admit it with a reason, which is audited with the check-in; a token
// spent already is refused as the copy it is, wherever it is shown.
func TestCheckInAtAnotherRallyPoint(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		var now time.Time
		e := scenarioEnv(t, open(t), 24, &now)
		_, byHH, _ := issuedScenario(t, e)
		hs := scenarioHouseholdIDs(byHH)
		x, y := byHH[hs[0]], byHH[hs[1]]
		own, other := x.Instruction.RallyPoint.ID, "RP-ELSEWHERE"
		if own == "" || own == other {
			t.Fatalf("household %s's instruction names rally point %q", hs[0], own)
		}
		body := e.do("field", "POST", "/api/checkin", mustJSON(checkinRequest{Token: x.Token, RallyPoint: other}), 409, nil)
		if msg := errorOf(t, body).Message; !strings.Contains(msg, "NOT CHECKED IN") || !strings.Contains(msg, own) || !strings.Contains(msg, other) {
			t.Fatalf("a check-in at another rally point: %s", msg)
		}
		// By household id too.
		e.do("field", "POST", "/api/checkin", mustJSON(checkinRequest{Household: hs[1], RallyPoint: other}), 409, nil)
		var none checkinsPage
		e.do("field", "GET", "/api/checkins?token="+url.QueryEscape(x.ID), nil, 200, &none)
		if len(none.CheckIns) != 0 {
			t.Fatalf("a refused check-in spent the token: %+v", none.CheckIns)
		}
		// Admitted with a reason: recorded, and the reason audited.
		var ci checkinResponse
		e.do("field", "POST", "/api/checkin", mustJSON(checkinRequest{Token: x.Token, RallyPoint: other, OtherRally: "its rally point is overrun"}), 201, &ci)
		if ci.CheckIn.TokenID != x.ID || ci.CheckIn.RallyPoint != other || ci.Instructed != own {
			t.Fatalf("admitted at another rally point: %+v", ci)
		}
		// The household's own rally point now refuses the genuine copy
		// as spent (where and when), not as misplaced.
		body = e.do("field", "POST", "/api/checkin", mustJSON(checkinRequest{Token: x.Token, RallyPoint: own}), 409, nil)
		if msg := errorOf(t, body).Message; !strings.Contains(msg, "checked in already") || !strings.Contains(msg, other) {
			t.Fatalf("a spent token at its own rally point: %s", msg)
		}
		e.do("field", "POST", "/api/checkin", mustJSON(checkinRequest{Token: y.Token, RallyPoint: y.Instruction.RallyPoint.ID}), 201, nil)
		e.do("field", "POST", "/api/checkin", mustJSON(checkinRequest{Token: x.Token, RallyPoint: own, OtherRally: strings.Repeat("x", issue.MaxOtherRallyReason+1)}), 400, nil)

		entries, err := e.store.ListAudit(context.Background(), 0, 100000)
		if err != nil {
			t.Fatal(err)
		}
		refused, admitted := 0, 0
		for _, en := range entries {
			switch {
			case en.Action == "checkin.other_rally_refused" && (en.Target == "instruction:"+x.ID || en.Target == "instruction:"+y.ID):
				refused++
			case en.Action == "checkin.other_rally" && en.Target == "instruction:"+x.ID && strings.Contains(en.Detail, "its rally point is overrun") &&
				strings.Contains(en.Detail, ci.CheckIn.ID) && strings.Contains(en.Detail, own):
				admitted++
			case en.Action == "checkin.other_rally" || en.Action == "checkin.other_rally_refused":
				t.Errorf("an audit entry of another check-in: %+v", en)
			}
		}
		if refused != 2 || admitted != 1 {
			t.Fatalf("audited: %d refusals (want 2), %d admissions (want 1)", refused, admitted)
		}
	})
}

// TestFieldReadsEscortsOnly: a field officer lists and reads the escorts'
// instructions (to hand them over) and no household's: a field account
// (a phone lost, an officer bought) cannot dump the households' tokens or
// walks from home; a planner reads both; the refusal names the way.
func TestFieldReadsEscortsOnly(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		var now time.Time
		e := scenarioEnv(t, open(t), 24, &now)
		_, byHH, _ := issuedScenario(t, e)
		hs := scenarioHouseholdIDs(byHH)
		var escorts instructionsPage
		e.do("field", "GET", "/api/instructions?audience=escort&limit=1000", nil, 200, &escorts)
		if len(escorts.Instructions) == 0 {
			t.Fatal("a field officer lists no escort instruction")
		}
		for _, in := range escorts.Instructions {
			if in.Instruction.Audience != muster.AudienceEscort {
				t.Fatalf("the escorts' listing holds %s (%s)", in.ID, in.Instruction.Audience)
			}
		}
		e.do("field", "GET", "/api/instructions/"+escorts.Instructions[0].ID, nil, 200, nil)
		for _, q := range []string{"", "?status=all", "?audience=household", "?household=" + hs[0]} {
			body := e.do("field", "GET", "/api/instructions"+q, nil, 403, nil)
			if msg := errorOf(t, body).Message; !strings.Contains(msg, "audience=escort") {
				t.Fatalf("GET /api/instructions%s as field: %s", q, msg)
			}
		}
		e.do("field", "GET", "/api/instructions/"+byHH[hs[0]].ID, nil, 403, nil)
		var all instructionsPage
		e.do("planner", "GET", "/api/instructions?limit=1000", nil, 200, &all)
		if len(all.Instructions) <= len(escorts.Instructions) {
			t.Fatalf("a planner lists %d instructions, the escorts' alone %d", len(all.Instructions), len(escorts.Instructions))
		}
		e.do("planner", "GET", "/api/instructions/"+byHH[hs[0]].ID, nil, 200, nil)
	})
}
