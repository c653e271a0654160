package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-evac/muster"
)

// IssuedFixture returns version v of household i's instruction, as
// issued from plan, with a stand-in token (the store does not read
// tokens: package credential makes and checks them). supersedes is the
// version it replaces, 0 for none.
func IssuedFixture(i, v, supersedes int, plan string, at time.Time) muster.IssuedInstruction {
	h := household(i)
	series := muster.InstructionSeries(muster.AudienceHousehold, h.ID)
	in := muster.Instruction{
		ID: muster.InstructionID(series, v), Series: series, Version: v,
		IssuedAt: at.UTC().Truncate(time.Second), ExpiresAt: at.UTC().Truncate(time.Hour).Add(36 * time.Hour),
		Plan: plan, PlanCreatedAt: at.UTC().Truncate(time.Second), Catalog: "test",
		Audience: muster.AudienceHousehold, Household: h.ID, Language: muster.LangDari, Name: h.NameLocal, TimeZone: "Asia/Kabul",
		RallyPoint: muster.InstructionPlace{ID: fmt.Sprintf("RP-%03d", 10+v), Name: "Wazir Akbar Khan 7", Lat: 34.53, Lon: 69.19},
		ReportFrom: at.Add(time.Hour).UTC().Truncate(time.Second), ReportBy: at.Add(80 * time.Minute).UTC().Truncate(time.Second),
		Group: fmt.Sprintf("G%04d", i), GroupCode: "K7F-42", People: 2, CodeWord: "pomegranate",
		Bring: []string{"bring.documents"}, DoNotBring: []string{"no.weapons"},
	}
	if supersedes > 0 {
		in.Supersedes = muster.InstructionID(series, supersedes)
	}
	return muster.IssuedInstruction{Instruction: in, Token: fmt.Sprintf("MU1:TOKEN OF %s SECRETLY %d", in.ID, i)}
}

func escortFixture(group, plan string, at time.Time) muster.IssuedInstruction {
	in := IssuedFixture(1, 1, 0, plan, at)
	series := muster.InstructionSeries(muster.AudienceEscort, group)
	in.ID, in.Series, in.Audience, in.Household, in.Name, in.Group = muster.InstructionID(series, 1), series, muster.AudienceEscort, "", "", group
	in.Escort = &muster.EscortBrief{Gate: muster.InstructionPlace{ID: "gate-abbey", Name: "Abbey Gate", Lat: 34.56, Lon: 69.21}, Departure: at, Arrival: at, Through: at, Households: 3}
	in.Token = "MU1:ESCORT TOKEN " + group
	return in
}

// instructionMessages are the e-mail and SMS of an issued version.
func instructionMessages(in muster.IssuedInstruction, i int) []muster.OutboxMessage {
	var out []muster.OutboxMessage
	for _, ch := range []string{muster.ChannelEmail, muster.ChannelSMS} {
		m := OutboxMessage(i, in.Version, ch)
		m.InstructionID = in.ID
		out = append(out, m)
	}
	return out
}

func savePlan(t *testing.T, e *env) string {
	t.Helper()
	return must(e.store.SavePlan(e.ctx, muster.PlanRecord{Body: []byte(`{"version":1}`), Summary: []byte(`{}`)}))(t).ID
}

func statusOf(t *testing.T, e *env, id string) string {
	t.Helper()
	return must(e.store.GetInstruction(e.ctx, id))(t).Status
}

func countInstructions(t *testing.T, e *env) int {
	t.Helper()
	is, _, err := e.store.ListInstructions(e.ctx, muster.InstructionFilter{}, false)
	if err != nil {
		t.Fatal(err)
	}
	return len(is)
}

// testIssueInstructions: an issuance approves its plan, stores the new
// versions sealed, supersedes and revokes the old ones, makes the
// capability links and queues the messages, all in one transaction; a
// batch built on what changed since is refused whole.
func testIssueInstructions(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	must(e.store.ImportHouseholds(e.ctx, batch(1, 6), muster.ImportOptions{}))(t)
	at := time.Date(2021, 8, 26, 5, 0, 0, 0, time.UTC)
	p1 := savePlan(t, e)

	// First issuance: households 1-5 and one escort, approved with the plan.
	b := muster.IssueBatch{ApprovePlan: p1, Plan: p1}
	for i := 1; i <= 5; i++ {
		in := IssuedFixture(i, 1, 0, p1, at)
		b.Issue = append(b.Issue, in)
		b.Messages = append(b.Messages, instructionMessages(in, i)...)
		b.Links = append(b.Links, muster.InstructionLink{HouseholdID: in.Household, CapabilityID: fmt.Sprintf("cap-i%d", i), Secret: fmt.Sprintf("LINKSECRET%dXYZ1234567", i)})
	}
	// One link ends, as the issuer makes them, InstructionLinkTTL on.
	linkEnds := time.Now().Add(muster.InstructionLinkTTL)
	b.Links[4].ExpiresAt = linkEnds
	b.Issue = append(b.Issue, escortFixture("G0001", p1, at))

	// A batch with one bad message stores nothing, not even the approval.
	bad := b
	bad.Messages = append(slices.Clone(b.Messages), muster.OutboxMessage{HouseholdID: "H000001", InstructionID: "x", Channel: "pigeon", Body: "x"})
	_, err := e.store.IssueInstructions(e.ctx, bad)
	wantCode(t, err, muster.EINVALID, "an issuance with a bad message")
	bad = b
	bad.Links = append(slices.Clone(b.Links), muster.InstructionLink{HouseholdID: "H404", CapabilityID: "cap-404", Secret: "LINKSECRET404XYZ1234567"})
	_, err = e.store.IssueInstructions(e.ctx, bad)
	wantCode(t, err, muster.EINVALID, "an issuance with a link for a household that does not exist")
	// Nor an instruction or a message for one: on SQLite an issuance runs
	// with the writer's foreign keys off (Dialect.BulkForeignKeysOff), so
	// these checks are all that stands between it and an orphan.
	bad = b
	bad.Issue = append(slices.Clone(b.Issue), IssuedFixture(404, 1, 0, p1, at))
	_, err = e.store.IssueInstructions(e.ctx, bad)
	wantCode(t, err, muster.EINVALID, "an issuance with an instruction for a household that does not exist")
	bad = b
	bad.Messages = append(slices.Clone(b.Messages), muster.OutboxMessage{HouseholdID: "H000404", InstructionID: b.Issue[0].ID,
		InstructionVersion: 1, Channel: muster.ChannelSMS, Recipient: "+93700000404", Body: "x"})
	_, err = e.store.IssueInstructions(e.ctx, bad)
	wantCode(t, err, muster.EINVALID, "an issuance with a message for a household that does not exist")
	if _, err := e.store.CurrentPlan(e.ctx); muster.ErrorCode(err) != muster.ENOTFOUND || countInstructions(t, e) != 0 {
		t.Fatal("a refused issuance approved its plan or stored instructions")
	}
	bad = b
	bad.Issue = slices.Clone(b.Issue)
	bad.Issue[0].ID = "I-H000001/v7"
	_, err = e.store.IssueInstructions(e.ctx, bad)
	wantCode(t, err, muster.EINVALID, "an id that is not its series and version")

	res := must(e.store.IssueInstructions(e.ctx, b))(t)
	if !res.Approved || res.Issued != 6 || res.Superseded != 0 || res.Revoked != 0 || res.Links != 5 || res.Enqueued != 10 {
		t.Fatalf("first issuance: %+v", res)
	}
	if cur := must(e.store.CurrentPlan(e.ctx))(t); cur.ID != p1 || cur.ApprovedBy != "tester" {
		t.Fatalf("the issuance did not approve its plan: %+v", cur)
	}
	got := must(e.store.GetInstruction(e.ctx, "I-H000001/v1"))(t)
	want := b.Issue[0]
	if got.Status != muster.InstructionCurrent || got.Token != want.Token || got.Name != want.Name || got.Digest != muster.InstructionDigest(&want.Instruction) ||
		got.Instruction.Digest() != want.Instruction.Digest() || got.Household != "H000001" {
		t.Fatalf("read back:\n got %+v\nwant %+v", got, want)
	}
	cur := must(e.store.CurrentInstruction(e.ctx, "H000002"))(t)
	if cur.ID != "I-H000002/v1" || cur.Token == "" {
		t.Fatalf("current instruction of H000002: %+v", cur)
	}
	_, err = e.store.CurrentInstruction(e.ctx, "H000006")
	wantCode(t, err, muster.ENOTFOUND, "a household with no instruction")
	escorts, _, err := e.store.ListInstructions(e.ctx, muster.InstructionFilter{Audience: muster.AudienceEscort, Status: muster.InstructionCurrent}, true)
	if err != nil || len(escorts) != 1 || escorts[0].Escort == nil || escorts[0].Escort.Gate.ID != "gate-abbey" || escorts[0].Group != "G0001" {
		t.Fatalf("escorts: %+v, %v", escorts, err)
	}
	clear, _, err := e.store.ListInstructions(e.ctx, muster.InstructionFilter{Limit: 2}, false)
	if err != nil || len(clear) != 2 || clear[1].Token != "" || clear[1].Name != "" || clear[1].Household != "H000001" || clear[0].Group != "G0001" {
		t.Fatalf("a list without content: %+v, %v", clear, err)
	}
	links := must(e.store.InstructionLinks(e.ctx, []string{"H000001", "H000002", "H000006"}, time.Time{}))(t)
	if len(links) != 2 || links["H000001"] != "LINKSECRET1XYZ1234567" {
		t.Fatalf("instruction links: %v", links)
	}
	if l := must(e.store.LookupCapability(e.ctx, muster.TokenHash("LINKSECRET1XYZ1234567"), time.Now()))(t); l.HouseholdID != "H000001" {
		t.Fatalf("the instruction link is not a capability of its household: %+v", l)
	}
	// The link that ends: handed out until InstructionLinkRenew before its
	// end (a new issuance then makes a new one), closed after it.
	if got := must(e.store.InstructionLinks(e.ctx, []string{"H000005"}, time.Now()))(t); got["H000005"] != "LINKSECRET5XYZ1234567" {
		t.Fatalf("a link with 30 days to run is not handed out: %v", got)
	}
	if got := must(e.store.InstructionLinks(e.ctx, []string{"H000005"}, linkEnds.Add(-muster.InstructionLinkRenew+time.Hour)))(t); len(got) != 0 {
		t.Fatalf("a link ending within %v is handed out again: %v", muster.InstructionLinkRenew, got)
	}
	if l, err := e.store.LookupCapability(e.ctx, muster.TokenHash("LINKSECRET5XYZ1234567"), linkEnds.Add(-time.Hour)); err != nil || l.HouseholdID != "H000005" {
		t.Fatalf("the link an hour before its end: %+v, %v", l, err)
	}
	_, err = e.store.LookupCapability(e.ctx, muster.TokenHash("LINKSECRET5XYZ1234567"), linkEnds.Add(time.Minute))
	wantCode(t, err, muster.ENOTFOUND, "an instruction link past its end")
	if err := e.store.RevokeCapability(e.ctx, "cap-i2"); err != nil {
		t.Fatal(err)
	}
	if links := must(e.store.InstructionLinks(e.ctx, []string{"H000002"}, time.Time{}))(t); len(links) != 0 {
		t.Fatalf("a revoked link is still given out: %v", links)
	}
	ms := must2l(t)(e.store.ListMessages(e.ctx, muster.MessageFilter{InstructionID: "I-H000003/v1"}))
	if len(ms) != 2 {
		t.Fatalf("messages of I-H000003/v1: %d, want 2", len(ms))
	}

	// A re-plan: H1 changes (v2 supersedes v1), H2 leaves (revoked), H6
	// is new; H3-H5 keep theirs.
	p2 := savePlan(t, e)
	v2 := IssuedFixture(1, 2, 1, p2, at.Add(time.Hour))
	v2.Changes = []string{muster.ChangedRallyPoint, muster.ChangedTime}
	n6 := IssuedFixture(6, 1, 0, p2, at.Add(time.Hour))
	b2 := muster.IssueBatch{ApprovePlan: p2, Plan: p2, Basis: p1, Issue: []muster.IssuedInstruction{v2, n6}, Revoke: []string{"I-H000002/v1"},
		Messages: append(instructionMessages(v2, 1), instructionMessages(n6, 6)...)}

	// Built on no plan while p1 is current: refused, nothing changes.
	stale := b2
	stale.Basis = ""
	_, err = e.store.IssueInstructions(e.ctx, stale)
	wantCode(t, err, muster.ECONFLICT, "an issuance built before another plan became current")
	if statusOf(t, e, "I-H000001/v1") != muster.InstructionCurrent || must(e.store.GetPlan(e.ctx, p2))(t).Status != muster.PlanProposed {
		t.Fatal("a refused issuance changed something")
	}
	// A first version of a series that has a current one: refused whole.
	dup := b2
	dup.Issue = []muster.IssuedInstruction{IssuedFixture(3, 2, 0, p2, at)}
	dup.Messages = nil
	_, err = e.store.IssueInstructions(e.ctx, dup)
	wantCode(t, err, muster.ECONFLICT, "a new version that does not supersede the current one")
	if must(e.store.GetPlan(e.ctx, p2))(t).Status != muster.PlanProposed || countInstructions(t, e) != 6 {
		t.Fatal("a refused issuance changed something")
	}

	res = must(e.store.IssueInstructions(e.ctx, b2))(t)
	if !res.Approved || res.Issued != 2 || res.Superseded != 1 || res.Revoked != 1 || res.Enqueued != 4 {
		t.Fatalf("re-issue: %+v", res)
	}
	old := must(e.store.GetInstruction(e.ctx, "I-H000001/v1"))(t)
	if old.Status != muster.InstructionSuperseded || old.SupersededBy != "I-H000001/v2" || old.ChangedAt.IsZero() {
		t.Fatalf("the superseded version: %+v", old)
	}
	if got := must(e.store.CurrentInstruction(e.ctx, "H000001"))(t); got.ID != "I-H000001/v2" || !slices.Equal(got.Changes, v2.Changes) {
		t.Fatalf("H000001's current instruction: %+v", got)
	}
	if statusOf(t, e, "I-H000002/v1") != muster.InstructionRevoked || statusOf(t, e, "I-H000003/v1") != muster.InstructionCurrent {
		t.Fatal("statuses after the re-issue")
	}
	// Superseding a version no longer current: refused.
	p3 := savePlan(t, e)
	again := muster.IssueBatch{ApprovePlan: p3, Plan: p3, Basis: p2, Issue: []muster.IssuedInstruction{IssuedFixture(1, 3, 1, p3, at)}}
	_, err = e.store.IssueInstructions(e.ctx, again)
	wantCode(t, err, muster.ECONFLICT, "superseding a superseded version")
	// Issuing for a plan that is not current, without approving it.
	_, err = e.store.IssueInstructions(e.ctx, muster.IssueBatch{Plan: p1, Issue: []muster.IssuedInstruction{IssuedFixture(5, 2, 1, p1, at)}})
	wantCode(t, err, muster.ECONFLICT, "issuing from a plan that is not current")

	st, asOf := func() (map[string]muster.InstructionStatus, time.Time) {
		m, at, err := e.store.InstructionStatuses(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return m, at
	}()
	if asOf.IsZero() || st["I-H000001"].Latest != 2 || st["I-H000001"].Current != 2 || st["I-H000002"].Current != 0 ||
		!slices.Equal(st["I-H000002"].Revoked, []int{1}) || st["I-H000006"].Latest != 1 || st["E-G0001"].Current != 1 {
		t.Fatalf("statuses: %+v", st)
	}

	// Sealed at rest: names, tokens and link secrets.
	raw := e.db.Raw(t)
	if !bytes.Contains(raw, []byte("I-H000001/v2")) {
		t.Fatal("Raw does not hold the instruction ids: the check below would prove nothing")
	}
	for _, secret := range []string{"SECRETLY", "ESCORT TOKEN", "LINKSECRET", household(1).NameLocal, "Wazir Akbar Khan"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Fatalf("%q is stored in clear", secret)
		}
	}
	// Audited, in the chain.
	issues := 0
	for _, en := range must(e.store.ListAudit(e.ctx, 0, 0))(t) {
		if en.Action == "instruction.issue" {
			issues++
			if strings.Contains(en.Detail, "Zarghuna") || strings.Contains(en.Detail, "TOKEN") {
				t.Fatalf("personal data in the audit log: %s", en.Detail)
			}
		}
	}
	if v := must(e.store.VerifyAudit(e.ctx))(t); !v.OK || issues != 2 {
		t.Fatalf("audit: %+v, %d issuances recorded (want 2)", v, issues)
	}
	// A row edited under the store is caught on reading.
	e.db.Exec(t, `UPDATE instructions SET digest = '00' WHERE id = 'I-H000003/v1'`)
	if _, err := e.store.GetInstruction(e.ctx, "I-H000003/v1"); err == nil || !strings.Contains(err.Error(), "digest") {
		t.Fatalf("an edited instruction row was read without complaint: %v", err)
	}
}

// issueSimple approves a plan with versions 1 of households 1..n.
func issueSimple(t *testing.T, e *env, n int) string {
	t.Helper()
	must(e.store.ImportHouseholds(e.ctx, batch(1, n), muster.ImportOptions{}))(t)
	p := savePlan(t, e)
	b := muster.IssueBatch{ApprovePlan: p, Plan: p}
	for i := 1; i <= n; i++ {
		b.Issue = append(b.Issue, IssuedFixture(i, 1, 0, p, time.Now()))
	}
	must(e.store.IssueInstructions(e.ctx, b))(t)
	return p
}

// testCheckIn: the first check-in spends a token and moves its household
// to the rally point; a second is refused and flagged with where and when
// the first happened; a version never issued, superseded or revoked is
// not checked in.
func testCheckIn(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	p := issueSimple(t, e, 3)
	at := time.Date(2021, 8, 26, 6, 5, 0, 0, time.UTC)
	officer := muster.WithActor(e.ctx, "officer-7")
	c, first, err := e.store.CheckIn(officer, "I-H000001/v1", "RP-011", "officer-7", at)
	if err != nil || first != nil || c.Duplicate() || c.HouseholdID != "H000001" || !c.At.Equal(at) || c.RecordedBy != "officer-7" {
		t.Fatalf("first check-in: %+v, first %+v, %v", c, first, err)
	}
	if h := must(e.store.GetHousehold(e.ctx, "H000001"))(t); h.Status != muster.StatusAtRally {
		t.Fatalf("a checked-in household is %s", h.Status)
	}
	// The screenshot, at another rally point, later.
	dupC, first, err := e.store.CheckIn(e.ctx, "I-H000001/v1", "RP-040", "officer-9", at.Add(40*time.Minute))
	if err != nil || first == nil || !dupC.Duplicate() || dupC.DuplicateOf != c.ID || first.ID != c.ID || first.RallyPoint != "RP-011" || !first.At.Equal(at) || first.By != "officer-7" {
		t.Fatalf("second check-in: %+v, first %+v, %v", dupC, first, err)
	}
	flagged, _, err := e.store.ListCheckIns(e.ctx, muster.CheckInFilter{Duplicates: true})
	if err != nil || len(flagged) != 1 || flagged[0].ID != dupC.ID || flagged[0].RallyPoint != "RP-040" {
		t.Fatalf("flagged check-ins: %+v, %v", flagged, err)
	}
	_, _, err = e.store.CheckIn(e.ctx, "I-H000404/v1", "RP-011", "officer-7", time.Time{})
	wantCode(t, err, muster.ENOTFOUND, "a token never issued")
	_, _, err = e.store.CheckIn(e.ctx, "not a token", "RP-011", "officer-7", time.Time{})
	wantCode(t, err, muster.EINVALID, "a token id that names no version")

	// H2 is re-issued: its v1 is superseded and cannot be checked in; the
	// spent v1 of H1, superseded too, is still refused as spent.
	p2 := savePlan(t, e)
	must(e.store.IssueInstructions(e.ctx, muster.IssueBatch{ApprovePlan: p2, Plan: p2, Basis: p,
		Issue:  []muster.IssuedInstruction{IssuedFixture(2, 2, 1, p2, time.Now()), IssuedFixture(1, 2, 1, p2, time.Now())},
		Revoke: []string{"I-H000003/v1"}}))(t)
	_, _, err = e.store.CheckIn(e.ctx, "I-H000002/v1", "RP-011", "officer-7", time.Time{})
	if wantCode(t, err, muster.ECONFLICT, "a superseded version"); !strings.Contains(err.Error(), "I-H000002/v2") {
		t.Fatalf("the refusal does not name the newer version: %v", err)
	}
	_, _, err = e.store.CheckIn(e.ctx, "I-H000003/v1", "RP-011", "officer-7", time.Time{})
	wantCode(t, err, muster.ECONFLICT, "a revoked version")
	if _, first, err := e.store.CheckIn(e.ctx, "I-H000001/v1", "RP-011", "officer-7", time.Time{}); err != nil || first == nil {
		t.Fatalf("a spent version, superseded since: first %+v, %v", first, err)
	}
	if _, first, err := e.store.CheckIn(e.ctx, "I-H000002/v2", "RP-012", "officer-7", time.Time{}); err != nil || first != nil {
		t.Fatalf("the current version: first %+v, %v", first, err)
	}
	var actions []string
	for _, en := range must(e.store.ListAudit(e.ctx, 0, 0))(t) {
		if strings.HasPrefix(en.Action, "checkin") {
			actions = append(actions, en.Action)
		}
	}
	if want := []string{"checkin", "checkin.duplicate", "checkin.duplicate", "checkin"}; !slices.Equal(actions, want) {
		t.Fatalf("audited check-ins: %q, want %q", actions, want)
	}
}

// testCheckInConcurrentInstances: two instances checking in the same
// tokens at once: of every token's check-ins exactly one is first, and
// every other is flagged a duplicate of it.
func testCheckInConcurrentInstances(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	second := e.open(e.keys)
	const tokens, per = 5, 8
	issueSimple(t, e, tokens)
	firsts := make([]atomic.Int32, tokens)
	firstIDs := make([]atomic.Value, tokens)
	var wg sync.WaitGroup
	errs := make(chan error, tokens*per)
	start := make(chan struct{})
	for i := range tokens {
		for w := range per {
			s := []muster.Store{e.store, second}[w%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				c, first, err := s.CheckIn(e.ctx, fmt.Sprintf("I-H%06d/v1", i+1), fmt.Sprintf("RP-%d", w), fmt.Sprintf("officer-%d", w), time.Time{})
				if err != nil {
					errs <- err
					return
				}
				if first == nil {
					firsts[i].Add(1)
					firstIDs[i].Store(c.ID)
				} else if c.DuplicateOf != first.ID {
					errs <- fmt.Errorf("duplicate %s of %s names %s", c.ID, first.ID, c.DuplicateOf)
				}
			}()
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := range tokens {
		if n := firsts[i].Load(); n != 1 {
			t.Fatalf("token %d: %d check-ins were first, want exactly 1", i+1, n)
		}
		cs, _, err := second.ListCheckIns(e.ctx, muster.CheckInFilter{TokenID: fmt.Sprintf("I-H%06d/v1", i+1)})
		if err != nil || len(cs) != per {
			t.Fatalf("token %d: %d check-ins recorded (%v), want %d", i+1, len(cs), err, per)
		}
		for _, c := range cs {
			if c.ID != firstIDs[i].Load() && c.DuplicateOf != firstIDs[i].Load() {
				t.Fatalf("token %d: %s is neither first nor flagged against the first", i+1, c.ID)
			}
		}
	}
}

// testSyncCheckIns: offline check-ins from two devices are reconciled by
// token and earliest time; the later is flagged; a repeated sync records
// nothing twice; a token never issued is refused.
func testSyncCheckIns(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	issueSimple(t, e, 3)
	t0 := time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)
	// Device A synced first: H1 at 06:05, H2 at 06:10.
	a := []muster.CheckIn{
		{TokenID: "I-H000001/v1", RallyPoint: "RP-011", By: "device-A", At: t0.Add(5 * time.Minute)},
		{TokenID: "I-H000002/v1", RallyPoint: "RP-011", By: "device-A", At: t0.Add(10 * time.Minute)},
	}
	out := must(e.store.SyncCheckIns(e.ctx, a))(t)
	if len(out) != 2 || out[0].CheckIn.Duplicate() || out[0].First != nil || out[1].CheckIn.Duplicate() || out[0].CheckIn.HouseholdID != "H000001" {
		t.Fatalf("device A: %+v", out)
	}
	// Device B, offline at another rally point: H1 at 06:02 (earlier: it
	// was first), H2 at 06:30 (later: flagged), a token never issued, and
	// H3 twice in the batch (the second flagged).
	b := []muster.CheckIn{
		{TokenID: "I-H000001/v1", RallyPoint: "RP-040", By: "device-B", At: t0.Add(2 * time.Minute)},
		{TokenID: "I-H000002/v1", RallyPoint: "RP-040", By: "device-B", At: t0.Add(30 * time.Minute)},
		{TokenID: "I-H000999/v1", RallyPoint: "RP-040", By: "device-B", At: t0},
		{TokenID: "I-H000003/v1", RallyPoint: "RP-040", By: "device-B", At: t0.Add(20 * time.Minute)},
		{TokenID: "I-H000003/v1", RallyPoint: "RP-041", By: "device-B", At: t0.Add(15 * time.Minute)},
	}
	out = must(e.store.SyncCheckIns(e.ctx, b))(t)
	if o := out[0]; o.CheckIn.Duplicate() || o.Displaced == nil || o.Displaced.By != "device-A" || o.Displaced.DuplicateOf != o.CheckIn.ID {
		t.Fatalf("the earlier check-in of H1: %+v", o)
	}
	if o := out[1]; !o.CheckIn.Duplicate() || o.First == nil || o.First.By != "device-A" || !o.First.At.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("the later check-in of H2: %+v", o)
	}
	if o := out[2]; o.Refused == "" {
		t.Fatalf("a token never issued was recorded: %+v", o)
	}
	if out[3].CheckIn.DuplicateOf != out[4].CheckIn.ID || out[4].CheckIn.Duplicate() {
		t.Fatalf("H3 twice in one batch, the earlier second: %+v / %+v", out[3], out[4])
	}
	// The same batch again (the device did not hear the answer): nothing
	// new is recorded.
	before, _, _ := e.store.ListCheckIns(e.ctx, muster.CheckInFilter{Limit: 1000})
	again := must(e.store.SyncCheckIns(e.ctx, b))(t)
	after, _, _ := e.store.ListCheckIns(e.ctx, muster.CheckInFilter{Limit: 1000})
	if len(after) != len(before) || again[0].CheckIn.ID != out[0].CheckIn.ID || again[1].First == nil {
		t.Fatalf("a repeated sync: %d check-ins before, %d after; %+v", len(before), len(after), again)
	}
	// H1's first is device B's; device A's is flagged against it.
	cs, _, _ := e.store.ListCheckIns(e.ctx, muster.CheckInFilter{TokenID: "I-H000001/v1"})
	firsts := 0
	for _, c := range cs {
		if !c.Duplicate() {
			firsts++
			if c.By != "device-B" {
				t.Fatalf("H1's first check-in is %+v, want device B's", c)
			}
		}
	}
	if firsts != 1 || len(cs) != 2 {
		t.Fatalf("H1's check-ins: %+v", cs)
	}
	// An online check-in after the sync is refused with the first's place.
	_, first, err := e.store.CheckIn(e.ctx, "I-H000001/v1", "RP-011", "officer-1", time.Time{})
	if err != nil || first == nil || first.RallyPoint != "RP-040" || !first.At.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("online after sync: first %+v, %v", first, err)
	}
	_, err = e.store.SyncCheckIns(e.ctx, []muster.CheckIn{{TokenID: "I-H000001/v1", RallyPoint: "RP-011", By: "device-A"}})
	wantCode(t, err, muster.EINVALID, "an offline check-in without its time")
}

// testAdvisories: an advisory is stored with its messages in one
// transaction; its messages are not instructions to acknowledge.
func testAdvisories(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	must(e.store.ImportHouseholds(e.ctx, batch(1, 3), muster.ImportOptions{}))(t)
	capXML := []byte(`<?xml version="1.0" encoding="UTF-8"?><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>adv-1</identifier></alert>`)
	a := muster.AdvisoryRecord{ID: "adv-1", Sender: "muster@kabul.example.org", Sent: time.Date(2021, 8, 26, 5, 0, 0, 0, time.UTC),
		Status: muster.AdvisoryActual, MsgType: muster.AdvisoryAlert, Origin: muster.AdvisoryIssued, Recipients: 2, NoLocation: 1, CAP: capXML}
	var ms []muster.OutboxMessage
	for i := 1; i <= 2; i++ {
		m := OutboxMessage(i, 0, muster.ChannelSMS)
		m.InstructionID, m.AckCode = muster.AdvisoryMessageID(a.ID), ""
		ms = append(ms, m)
	}
	bad := append(slices.Clone(ms), OutboxMessage(3, 1, muster.ChannelSMS))
	_, err := e.store.SaveAdvisory(e.ctx, a, bad)
	wantCode(t, err, muster.EINVALID, "an advisory with an instruction's message")
	saved := must(e.store.SaveAdvisory(e.ctx, a, ms))(t)
	if saved.CreatedBy != "tester" || saved.CreatedAt.IsZero() {
		t.Fatalf("saved: %+v", saved)
	}
	_, err = e.store.SaveAdvisory(e.ctx, a, nil)
	wantCode(t, err, muster.ECONFLICT, "an advisory id reused")
	got := must(e.store.GetAdvisory(e.ctx, "adv-1"))(t)
	if !bytes.Equal(got.CAP, capXML) || got.Recipients != 2 || !got.Sent.Equal(a.Sent) || got.Origin != muster.AdvisoryIssued {
		t.Fatalf("read back: %+v", got)
	}
	list := must(e.store.ListAdvisories(e.ctx, 10))(t)
	if len(list) != 1 || list[0].CAP != nil {
		t.Fatalf("list: %+v", list)
	}
	if n := len(must2l(t)(e.store.ListMessages(e.ctx, muster.MessageFilter{InstructionID: muster.AdvisoryMessageID("adv-1")}))); n != 2 {
		t.Fatalf("%d advisory messages queued, want 2", n)
	}
	if un := must(e.store.Unacknowledged(e.ctx, 0))(t); len(un) != 0 {
		t.Fatalf("an advisory is listed as an instruction to acknowledge: %+v", un)
	}
}

// testIssueSigned: a batch whose versions are signed while the store
// writes (IssueBatch.Sign) stores the tokens and messages Sign made, each
// version signed once and its messages read only after; a Sign that fails,
// or makes no token, stores nothing, not even the approval.
func testIssueSigned(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	const n = 700 // more than two chunks of the store's pipeline
	must(e.store.ImportHouseholds(e.ctx, batch(1, n), muster.ImportOptions{}))(t)
	at := time.Date(2021, 8, 26, 5, 0, 0, 0, time.UTC)
	p := savePlan(t, e)
	build := func(sign func(b *muster.IssueBatch, i int) error) *muster.IssueBatch {
		b := &muster.IssueBatch{ApprovePlan: p, Plan: p}
		for i := 1; i <= n; i++ {
			in := IssuedFixture(i, 1, 0, p, at)
			in.Token = ""
			b.Issue = append(b.Issue, in)
			m := OutboxMessage(i, 1, muster.ChannelSMS)
			m.InstructionID, m.Body = in.ID, "" // rendered by Sign
			b.Messages = append(b.Messages, m)
		}
		b.Sign = func(i int) error { return sign(b, i) }
		return b
	}
	// The batch's checks run while Sign signs (the store's pipeline starts
	// first): a batch that fails them late is refused whole, signed or not.
	twice := build(func(b *muster.IssueBatch, i int) error {
		b.Issue[i].Token, b.Messages[i].Body = "MU1:SIGNED", "signed"
		return nil
	})
	twice.Issue[n-1].Series, twice.Issue[n-1].ID = twice.Issue[0].Series, twice.Issue[0].ID
	twice.Messages[n-1].HouseholdID, twice.Messages[n-1].InstructionID = twice.Messages[0].HouseholdID, twice.Issue[0].ID
	_, err := e.store.IssueInstructions(e.ctx, *twice)
	wantCode(t, err, muster.EINVALID, "a signed batch with a series twice, last")
	if err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("a signed batch with a series twice: %v", err)
	}
	if _, err := e.store.CurrentPlan(e.ctx); muster.ErrorCode(err) != muster.ENOTFOUND || countInstructions(t, e) != 0 {
		t.Fatal("a signed batch with a series twice: the plan was approved or instructions stored")
	}
	for what, sign := range map[string]func(b *muster.IssueBatch, i int) error{
		"a Sign that fails": func(b *muster.IssueBatch, i int) error {
			if i == n-3 {
				return muster.Errorf(muster.EINVALID, "cannot sign %d", i)
			}
			b.Issue[i].Token = "MU1:SIGNED"
			b.Messages[i].Body = "signed"
			return nil
		},
		"a Sign that makes no token": func(b *muster.IssueBatch, i int) error {
			b.Messages[i].Body = "signed"
			return nil
		},
	} {
		_, err := e.store.IssueInstructions(e.ctx, *build(sign))
		wantCode(t, err, muster.EINVALID, what)
		if _, err := e.store.CurrentPlan(e.ctx); muster.ErrorCode(err) != muster.ENOTFOUND || countInstructions(t, e) != 0 {
			t.Fatalf("%s: the plan was approved or instructions stored", what)
		}
	}

	var calls [n]atomic.Int32
	b := build(func(b *muster.IssueBatch, i int) error {
		calls[i].Add(1)
		b.Issue[i].Token = fmt.Sprintf("MU1:SIGNED %d", i)
		b.Messages[i].Body = fmt.Sprintf("signed SMS %d", i)
		return nil
	})
	res := must(e.store.IssueInstructions(e.ctx, *b))(t)
	if !res.Approved || res.Issued != n || res.Enqueued != n {
		t.Fatalf("issued %+v", res)
	}
	for i := range calls {
		if c := calls[i].Load(); c != 1 {
			t.Fatalf("version %d signed %d times", i, c)
		}
	}
	for _, i := range []int{0, n / 2, n - 1} {
		got := must(e.store.GetInstruction(e.ctx, b.Issue[i].ID))(t)
		if got.Token != fmt.Sprintf("MU1:SIGNED %d", i) {
			t.Fatalf("version %d: token %q, not the one Sign made", i, got.Token)
		}
	}
	leased := must(e.store.LeaseMessages(e.ctx, "w", nil, 500, time.Minute, time.Now().Add(time.Minute)))(t)
	if len(leased) == 0 {
		t.Fatal("nothing to lease")
	}
	for _, m := range leased {
		var i int
		if _, err := fmt.Sscanf(m.HouseholdID, "H%06d", &i); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("signed SMS %d", i-1); m.Body != want {
			t.Fatalf("message of %s: %q, want %q (read before Sign rendered it?)", m.HouseholdID, m.Body, want)
		}
	}
}
