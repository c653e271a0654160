package storetest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
)

// FieldEventsFixture is a small operation's worth of field events: check-ins
// by household id, a departure, a sighting, an arrival, a gate count and a
// gate state, from t0 on.
func FieldEventsFixture(t0 time.Time) []muster.FieldEvent {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	return []muster.FieldEvent{
		{ID: "ev-1", Kind: muster.FieldCheckIn, At: at(1), Household: "H000001", RallyPoint: "RP-011", Note: "Arrived with a wheelchair, FIELDNOTE-SECRET"},
		{ID: "ev-2", Kind: muster.FieldCheckIn, At: at(2), Household: "H000002", RallyPoint: "RP-011"},
		{ID: "ev-3", Kind: muster.FieldDeparted, At: at(10), Group: "G0001", RallyPoint: "RP-011", Households: []string{"H000001", "H000002"}, People: 4},
		{ID: "ev-4", Kind: muster.FieldSeen, At: at(20), Group: "G0001", Lat: 34.55, Lon: 69.2},
		{ID: "ev-5", Kind: muster.FieldArrived, At: at(30), Group: "G0001", Gate: "gate-abbey"},
		{ID: "ev-6", Kind: muster.FieldGateCount, Since: at(30), At: at(40), Gate: "gate-abbey", People: 4},
		{ID: "ev-7", Kind: muster.FieldGateState, At: at(41), Gate: "gate-abbey", GateStatus: "restricted", Queue: 120},
	}
}

// testFieldEvents: a batch is stored once, attributed and audited; the
// same batch again, shuffled, records nothing new; an id reused for other
// content is refused; an invalid event is refused, not stored; listings
// filter and order by arrival or by time; the note is sealed at rest.
func testFieldEvents(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	t0 := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
	officer := muster.WithActor(e.ctx, "officer-7")
	evs := FieldEventsFixture(t0)
	out := must(e.store.AddFieldEvents(officer, evs))(t)
	for i, o := range out {
		if o.Outcome != muster.FieldRecorded || o.Event.Flagged() || o.Event.By != "officer-7" || o.Event.Seq == 0 || o.Event.RecordedAt.IsZero() || o.Event.ID != evs[i].ID {
			t.Fatalf("event %d: %+v", i, o)
		}
	}
	if out[6].Event.Queue != 120 || out[0].Event.Queue != -1 {
		t.Fatalf("queues as stored: %d, %d", out[6].Event.Queue, out[0].Event.Queue)
	}
	// A household checked in by id, without instructions, is at its
	// rally point: not in this store, so nothing to move; no error.
	again := slices.Clone(evs)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(again), func(i, j int) { again[i], again[j] = again[j], again[i] })
	// Sent by a phone whose clock zone differs: the same instant.
	again[0].At = again[0].At.In(time.FixedZone("BRT", -3*3600))
	for i, o := range must(e.store.AddFieldEvents(muster.WithActor(e.ctx, "officer-9"), again))(t) {
		if o.Outcome != muster.FieldDuplicate || o.Event.By != "officer-7" {
			t.Fatalf("the batch again, event %s: %+v", again[i].ID, o)
		}
	}
	forged := evs[4]
	forged.Gate = "gate-north"
	bad := muster.FieldEvent{ID: "ev-bad", Kind: muster.FieldSeen, At: t0, Group: "G0001", Lat: 95, Lon: 0}
	res := must(e.store.AddFieldEvents(officer, []muster.FieldEvent{forged, bad}))(t)
	if res[0].Outcome != muster.FieldRefused || !strings.Contains(res[0].Reason, "another event") {
		t.Fatalf("an id reused for another arrival: %+v", res[0])
	}
	if res[1].Outcome != muster.FieldRefused || !strings.Contains(res[1].Reason, "lat,lon") {
		t.Fatalf("a sighting off the Earth: %+v", res[1])
	}
	all := must(e.store.ListFieldEvents(e.ctx, muster.FieldEventFilter{}))(t)
	if len(all) != len(evs) {
		t.Fatalf("%d events stored, want %d", len(all), len(evs))
	}
	for i, ev := range all {
		if i > 0 && ev.Seq <= all[i-1].Seq {
			t.Fatalf("listing not in arrival order: %d after %d", ev.Seq, all[i-1].Seq)
		}
		want := evs[slices.IndexFunc(evs, func(x muster.FieldEvent) bool { return x.ID == ev.ID })]
		if ev.Content() != want.Content() {
			t.Fatalf("stored %s\n  as %s", want.Content(), ev.Content())
		}
	}
	if g := must(e.store.ListFieldEvents(e.ctx, muster.FieldEventFilter{Group: "G0001", Kind: muster.FieldSeen}))(t); len(g) != 1 || g[0].ID != "ev-4" || g[0].Lat != 34.55 {
		t.Fatalf("G0001's sightings: %+v", g)
	}
	if g := must(e.store.ListFieldEvents(e.ctx, muster.FieldEventFilter{Gate: "gate-abbey"}))(t); len(g) != 3 {
		t.Fatalf("gate-abbey's events: %+v", g)
	}
	page := must(e.store.ListFieldEvents(e.ctx, muster.FieldEventFilter{AfterSeq: all[4].Seq, Limit: 1}))(t)
	if len(page) != 1 || page[0].ID != all[5].ID {
		t.Fatalf("a page after seq %d: %+v", all[4].Seq, page)
	}
	// Sent late: an event that happened first arrives last; by time it
	// comes first.
	late := muster.FieldEvent{ID: "ev-0", Kind: muster.FieldCheckIn, At: t0, Household: "H000003", RallyPoint: "RP-011"}
	must(e.store.AddFieldEvents(officer, []muster.FieldEvent{late}))(t)
	byTime := must(e.store.ListFieldEvents(e.ctx, muster.FieldEventFilter{ByTime: true}))(t)
	if byTime[0].ID != "ev-0" || byTime[len(byTime)-1].ID != "ev-7" {
		t.Fatalf("by time: first %s, last %s", byTime[0].ID, byTime[len(byTime)-1].ID)
	}
	if bytes.Contains(e.db.Raw(t), []byte("FIELDNOTE-SECRET")) {
		t.Fatal("a field note is stored in clear")
	}
	adds := 0
	for _, en := range must(e.store.ListAudit(e.ctx, 0, 0))(t) {
		if en.Action == "fieldevent.add" {
			adds++
			if en.Actor != "officer-7" {
				t.Fatalf("field events audited as %s's", en.Actor)
			}
		}
	}
	if adds != 3 { // the first batch, the refused one, the late one; not the repeat
		t.Fatalf("%d field-event batches audited, want 3", adds)
	}
	_, err := e.store.AddFieldEvents(e.ctx, make([]muster.FieldEvent, 10_001))
	wantCode(t, err, muster.EINVALID, "a batch of 10,001")
}

// testFieldCheckIns: a check-in event spends the instruction as CheckIn
// does, in the same table: the first is recorded, a copy is flagged
// spent, a version never issued forged, one superseded or revoked before
// the check-in flagged so; a check-in by household id spends its current
// version; an earlier check-in sent late takes the first place, and the
// event that had it is flagged.
func testFieldCheckIns(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	p := issueSimple(t, e, 4)
	t0 := time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)
	officer := muster.WithActor(e.ctx, "officer-7")
	ev := func(id, token, household string, at time.Time) muster.FieldEvent {
		return muster.FieldEvent{ID: id, Kind: muster.FieldCheckIn, At: at, TokenID: token, Household: household, RallyPoint: "RP-011"}
	}
	out := must(e.store.AddFieldEvents(officer, []muster.FieldEvent{
		ev("c1", "I-H000001/v1", "", t0.Add(5*time.Minute)),
		ev("c2", "I-H000001/v1", "", t0.Add(9*time.Minute)),        // a copy, later
		ev("c3", "I-H000404/v1", "", t0.Add(6*time.Minute)),        // never issued
		ev("c4", "I-H000002/v1", "H000003", t0.Add(7*time.Minute)), // another household's token
	}))(t)
	flags := func(o muster.FieldEventOutcome) string { return strings.Join(o.Event.Flags, ",") }
	if flags(out[0]) != "" || out[0].Event.Household != "H000001" || flags(out[1]) != muster.FlagTokenSpent || flags(out[2]) != muster.FlagTokenForged ||
		!strings.Contains(flags(out[3]), muster.FlagTokenMismatch) {
		t.Fatalf("flags: %q %q %q %q", flags(out[0]), flags(out[1]), flags(out[2]), flags(out[3]))
	}
	if h := must(e.store.GetHousehold(e.ctx, "H000001"))(t); h.Status != muster.StatusAtRally {
		t.Fatalf("H000001 checked in by a field event is %s", h.Status)
	}
	cs, _, _ := e.store.ListCheckIns(e.ctx, muster.CheckInFilter{TokenID: "I-H000001/v1"})
	if len(cs) != 2 || cs[0].Duplicate() == cs[1].Duplicate() {
		t.Fatalf("the field check-ins of H1 in the check-in table: %+v", cs)
	}
	// An online check-in of the spent token is refused with the event's
	// (and flagged as a copy, on an event of its own).
	copyH1, first, err := e.store.CheckIn(e.ctx, "I-H000001/v1", "RP-012", "officer-2", time.Time{})
	if err != nil || first == nil || !first.At.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("an online check-in after the field's: first %+v, %v", first, err)
	}
	// A phone offline since 06:02 sends its check-in of H1: it was first.
	late := must(e.store.AddFieldEvents(officer, []muster.FieldEvent{ev("c0", "I-H000001/v1", "", t0.Add(2*time.Minute))}))(t)
	if late[0].Event.Flagged() {
		t.Fatalf("the earliest check-in is flagged: %+v", late[0])
	}
	c1 := must(e.store.ListFieldEvents(e.ctx, muster.FieldEventFilter{Household: "H000001", Kind: muster.FieldCheckIn}))(t)
	if i := slices.IndexFunc(c1, func(x muster.FieldEvent) bool { return x.ID == "c1" }); i < 0 || !slices.Contains(c1[i].Flags, muster.FlagTokenSpent) {
		t.Fatalf("the check-in displaced by an earlier one is not flagged: %+v", c1)
	}
	// H2 re-issued (v2), H4 revoked: a check-in after that with v1 is
	// refused and flagged; by household id, H2's v2 is spent.
	p2 := savePlan(t, e)
	must(e.store.IssueInstructions(e.ctx, muster.IssueBatch{ApprovePlan: p2, Plan: p2, Basis: p,
		Issue: []muster.IssuedInstruction{IssuedFixture(2, 2, 1, p2, time.Now())}, Revoke: []string{"I-H000004/v1"}}))(t)
	after := time.Now().Add(time.Minute)
	out = must(e.store.AddFieldEvents(officer, []muster.FieldEvent{
		ev("c5", "I-H000002/v1", "", after),
		ev("c6", "I-H000004/v1", "", after),
		ev("c7", "", "H000002", after),
		ev("c8", "I-H000003/v1", "", t0.Add(90*time.Minute)),
	}))(t)
	// c7 is at RP-011, where v1 sent H2; v2 sends it to RP-012.
	if flags(out[0]) != muster.FlagTokenSuperseded || flags(out[1]) != muster.FlagTokenRevoked || flags(out[2]) != muster.FlagOtherRallyPoint || flags(out[3]) != "" {
		t.Fatalf("after re-issue: %q %q %q %q", flags(out[0]), flags(out[1]), flags(out[2]), flags(out[3]))
	}
	if cs, _, _ := e.store.ListCheckIns(e.ctx, muster.CheckInFilter{TokenID: "I-H000002/v2"}); len(cs) != 1 || cs[0].Duplicate() {
		t.Fatalf("H2 checked in by id: v2's check-ins %+v", cs)
	}
	flagged := must(e.store.ListFieldEvents(e.ctx, muster.FieldEventFilter{Flagged: true}))(t)
	var ids []string
	for _, f := range flagged {
		ids = append(ids, f.ID)
	}
	slices.Sort(ids)
	if want := []string{"c1", "c2", "c3", "c4", "c5", "c6", "c7", muster.CheckInEventID(copyH1.ID)}; fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("flagged events %v, want %v", ids, want)
	}
}

// testFieldCheckInsOtherRally: a check-in event that spends an instruction
// at another rally point than the one the instruction names (every v1 of
// issueSimple names RP-011), or at none said, is recorded as the device
// made it (the token spent, the household at a rally point) and flagged
// FlagOtherRallyPoint, its note kept, and audited once
// (checkin.other_rally); one at the instruction's is not, by token or by
// household id. A batch checking one token in at two rally points spends
// it at the earlier, and flags each where it stands. A device's offline
// sync (SyncCheckIns) says the same in Instructed and audits it.
func testFieldCheckInsOtherRally(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	p := issueSimple(t, e, 11)
	t0 := time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	device := muster.WithActor(e.ctx, "device-7")
	ev := func(id, token, household, rally string, m int) muster.FieldEvent {
		return muster.FieldEvent{ID: id, Kind: muster.FieldCheckIn, At: at(m), TokenID: token, Household: household, RallyPoint: rally}
	}
	reason := ev("a2", "I-H000002/v1", "", "RP-099", 2)
	reason.Note = "admitted at RP-099, its instruction naming RP-011: RP-011 overrun"
	batch := []muster.FieldEvent{
		ev("a1", "I-H000001/v1", "", "RP-011", 1), // its own
		reason,                                           // another, with the officer's reason
		ev("a3", "", "H000003", "RP-011", 3),             // by id, its own
		ev("a4", "", "H000004", "RP-012", 4),             // by id, another
		ev("a5", "I-H000005/v1", "", "", 5),              // none said
		ev("s-b", "I-H000006/v1", "", "RP-013", 10),      // one token twice, the later at another
		ev("s-a", "I-H000006/v1", "", "RP-011", 6),       // ... the earlier at its own
		ev("x-a", "I-H000007/v1", "", "RP-013", 7),       // one token twice, the earlier at another
		ev("x-b", "I-H000007/v1", "", "RP-011", 8),       // ... the later at its own: a copy now
		ev("m1", "I-H000008/v1", "H000009", "RP-013", 9), // another household's token: mismatch, not spent
	}
	out := must(e.store.AddFieldEvents(device, batch))(t)
	flags := func(o muster.FieldEventOutcome) string {
		fs := slices.Clone(o.Event.Flags)
		slices.Sort(fs)
		return strings.Join(fs, ",")
	}
	other, spent := muster.FlagOtherRallyPoint, muster.FlagTokenSpent
	want := map[string]string{"a1": "", "a2": other, "a3": "", "a4": other, "a5": other,
		"s-a": "", "s-b": other + "," + spent, "x-a": other, "x-b": spent, "m1": muster.FlagTokenMismatch}
	for i, o := range out {
		if o.Outcome != muster.FieldRecorded || flags(o) != want[batch[i].ID] {
			t.Fatalf("%s: %s flagged %q, want recorded, %q", batch[i].ID, o.Outcome, flags(o), want[batch[i].ID])
		}
		if w := want[batch[i].ID]; (w != "" && w != other) != o.Event.Withheld() {
			t.Fatalf("%s flagged %q: withheld %v", batch[i].ID, w, o.Event.Withheld())
		}
	}
	// Recorded as the device did it: the tokens are spent, the
	// households at a rally point.
	for tok, rally := range map[string]string{"I-H000002/v1": "RP-099", "I-H000004/v1": "RP-012", "I-H000005/v1": "-", "I-H000007/v1": "RP-013"} {
		cs, _, err := e.store.ListCheckIns(e.ctx, muster.CheckInFilter{TokenID: tok})
		if i := slices.IndexFunc(cs, func(c muster.CheckIn) bool { return !c.Duplicate() }); err != nil || i < 0 || cs[i].RallyPoint != rally {
			t.Fatalf("%s not spent at %s by the check-in at another rally point: %+v %v", tok, rally, cs, err)
		}
	}
	if h := must(e.store.GetHousehold(e.ctx, "H000002"))(t); h.Status != muster.StatusAtRally {
		t.Fatalf("H000002 checked in at another rally point is %s", h.Status)
	}
	// Listed for the operators, with the officer's reason.
	listed := must(e.store.ListFieldEvents(e.ctx, muster.FieldEventFilter{Flagged: true}))(t)
	var ids []string
	for _, f := range listed {
		ids = append(ids, f.ID)
		if f.ID == "a2" && f.Note != reason.Note {
			t.Fatalf("a2 listed with note %q", f.Note)
		}
	}
	slices.Sort(ids)
	if w := []string{"a2", "a4", "a5", "m1", "s-b", "x-a", "x-b"}; fmt.Sprint(ids) != fmt.Sprint(w) {
		t.Fatalf("flagged events %v, want %v", ids, w)
	}
	// Audited where the token was spent elsewhere (a copy's attempt has
	// its own entry, checkin.duplicate).
	audited := func() []string {
		var got []string
		for _, en := range must(e.store.ListAudit(e.ctx, 0, 0))(t) {
			if en.Action == "checkin.other_rally" {
				got = append(got, en.Target)
				if en.Actor != "device-7" && en.Actor != "officer-3" {
					t.Fatalf("audited as %s's: %+v", en.Actor, en)
				}
			}
		}
		slices.Sort(got)
		return got
	}
	wantAudit := []string{"instruction:I-H000002/v1", "instruction:I-H000004/v1", "instruction:I-H000005/v1", "instruction:I-H000007/v1"}
	if got := audited(); fmt.Sprint(got) != fmt.Sprint(wantAudit) {
		t.Fatalf("audited other rally points %v, want %v", got, wantAudit)
	}
	// The batch again: nothing new, the flags as stored, no new audit.
	for i, o := range must(e.store.AddFieldEvents(device, batch))(t) {
		if o.Outcome != muster.FieldDuplicate || flags(o) != want[batch[i].ID] {
			t.Fatalf("again, %s: %s %q", batch[i].ID, o.Outcome, flags(o))
		}
	}
	if got := audited(); fmt.Sprint(got) != fmt.Sprint(wantAudit) {
		t.Fatalf("the batch again audited: %v", got)
	}
	// A device's offline sync: the same check.
	sync := must(e.store.SyncCheckIns(muster.WithActor(e.ctx, "officer-3"), []muster.CheckIn{
		{TokenID: "I-H000008/v1", RallyPoint: "RP-014", By: "device-9", At: at(11)},
		{TokenID: "I-H000009/v1", RallyPoint: "RP-011", By: "device-9", At: at(12)},
	}))(t)
	if sync[0].Instructed != "RP-011" || sync[0].CheckIn.Duplicate() || sync[1].Instructed != "" {
		t.Fatalf("synced: instructed %q, %q", sync[0].Instructed, sync[1].Instructed)
	}
	wantAudit = append(wantAudit, "instruction:I-H000008/v1")
	slices.Sort(wantAudit)
	if got := audited(); fmt.Sprint(got) != fmt.Sprint(wantAudit) {
		t.Fatalf("audited after the sync %v, want %v", got, wantAudit)
	}
	// A re-plan sends H10 and H11 to RP-012 (v2), after phones checked
	// them in by v1 but before they synced: the version shown is the
	// truth, not the current one. H10 at RP-011, where v1 sent it, is
	// not flagged; H11 at RP-012, where v1 did not send it, is.
	p2 := savePlan(t, e)
	must(e.store.IssueInstructions(e.ctx, muster.IssueBatch{ApprovePlan: p2, Plan: p2, Basis: p,
		Issue: []muster.IssuedInstruction{IssuedFixture(10, 2, 1, p2, time.Now()), IssuedFixture(11, 2, 1, p2, time.Now())}}))(t)
	late := must(e.store.AddFieldEvents(device, []muster.FieldEvent{
		ev("v1-there", "I-H000010/v1", "", "RP-011", 12),
		ev("v1-elsewhere", "I-H000011/v1", "", "RP-012", 12),
	}))(t)
	if flags(late[0]) != "" || flags(late[1]) != other {
		t.Fatalf("check-ins by a version superseded since: %q, %q", flags(late[0]), flags(late[1]))
	}
}

// testCheckInEvents: a check-in made through CheckIn or SyncCheckIns
// records a field event (muster.CheckInEventID), so that the live state,
// computed from field events alone, counts the household where it was
// checked in: unflagged when it spent the token, FlagTokenSpent for a
// copy, FlagOtherRallyPoint where the instruction names another rally
// point. A device's sync that displaces a field event's check-in (made
// earlier, sent late) flags that event FlagTokenSpent, and its own event
// takes the place; one that displaces an online check-in flags that
// one's event. A sync sent again records no second event; an escort's
// check-in records none; no client may send an event under such an id.
// Migration 0013 records the events of check-ins made before it.
func testCheckInEvents(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	p := issueSimple(t, e, 5)
	t0 := time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	officer := muster.WithActor(e.ctx, "officer-7")
	// An escort's version, issued on the current plan.
	escort := escortFixture("G0009", p, time.Now())
	must(e.store.IssueInstructions(e.ctx, muster.IssueBatch{Plan: p, Basis: p, Issue: []muster.IssuedInstruction{escort}}))(t)
	events := func() map[string]muster.FieldEvent {
		t.Helper()
		m := map[string]muster.FieldEvent{}
		for _, ev := range must(e.store.ListFieldEvents(e.ctx, muster.FieldEventFilter{Kind: muster.FieldCheckIn}))(t) {
			m[ev.ID] = ev
		}
		return m
	}
	flags := func(ev muster.FieldEvent) string {
		fs := slices.Clone(ev.Flags)
		slices.Sort(fs)
		return strings.Join(fs, ",")
	}
	// Online: H1 at its rally point, a copy of H1's later, H2 at another
	// (the caller had the officer's reason), the escort's.
	c1, _, err := e.store.CheckIn(officer, "I-H000001/v1", "RP-011", "officer-7", at(5))
	if err != nil {
		t.Fatal(err)
	}
	copy1, first, err := e.store.CheckIn(officer, "I-H000001/v1", "RP-040", "officer-9", at(9))
	if err != nil || first == nil {
		t.Fatalf("a copy of H1's token: first %+v, %v", first, err)
	}
	c2 := spent(e.store.CheckIn(officer, "I-H000002/v1", "RP-099", "officer-7", at(6)))(t)
	spent(e.store.CheckIn(officer, escort.ID, "RP-011", "officer-7", at(7)))(t)
	evs := events()
	for id, want := range map[string]struct {
		household, rally, flags string
		at                      time.Time
	}{
		c1.ID:    {"H000001", "RP-011", "", at(5)},
		copy1.ID: {"H000001", "RP-040", muster.FlagTokenSpent, at(9)},
		c2.ID:    {"H000002", "RP-099", muster.FlagOtherRallyPoint, at(6)},
	} {
		ev, ok := evs[muster.CheckInEventID(id)]
		if !ok || ev.Household != want.household || ev.RallyPoint != want.rally || flags(ev) != want.flags || !ev.At.Equal(want.at) ||
			ev.By != "officer-7" || ev.Seq == 0 || ev.TokenID == "" {
			t.Fatalf("the event of check-in %s: %+v (found %v), want %+v", id, ev, ok, want)
		}
	}
	if len(evs) != 3 {
		t.Fatalf("%d check-in events after four check-ins, one an escort's: %+v", len(evs), evs)
	}
	// A field event checks H3 in at 06:20; a device offline since 06:12
	// syncs its check-in of H3, and one of H1 made at 06:03 (before the
	// online one), and a first of H4.
	must(e.store.AddFieldEvents(officer, []muster.FieldEvent{{ID: "f3", Kind: muster.FieldCheckIn, At: at(20), TokenID: "I-H000003/v1", RallyPoint: "RP-011"}}))(t)
	device := muster.WithActor(e.ctx, "device-4")
	batch := []muster.CheckIn{
		{TokenID: "I-H000003/v1", RallyPoint: "RP-012", By: "device-4", At: at(12)},
		{TokenID: "I-H000001/v1", RallyPoint: "RP-011", By: "device-4", At: at(3)},
		{TokenID: "I-H000004/v1", RallyPoint: "RP-011", By: "device-4", At: at(14)},
	}
	out := must(e.store.SyncCheckIns(device, batch))(t)
	evs = events()
	if f3 := evs["f3"]; flags(f3) != muster.FlagTokenSpent || !f3.Withheld() {
		t.Fatalf("the field event displaced by an earlier synced check-in: %+v", f3)
	}
	if ev := evs[muster.CheckInEventID(c1.ID)]; flags(ev) != muster.FlagTokenSpent {
		t.Fatalf("the online check-in displaced by an earlier synced one: %+v", ev)
	}
	for i, want := range []struct{ household, rally, flags string }{
		{"H000003", "RP-012", muster.FlagOtherRallyPoint}, // v1 names RP-011
		{"H000001", "RP-011", ""},
		{"H000004", "RP-011", ""},
	} {
		ev, ok := evs[muster.CheckInEventID(out[i].CheckIn.ID)]
		if !ok || ev.Household != want.household || ev.RallyPoint != want.rally || flags(ev) != want.flags || ev.By != "device-4" || ev.Withheld() {
			t.Fatalf("synced check-in %d's event: %+v (found %v), want %+v", i, ev, ok, want)
		}
	}
	// Sent again: nothing new.
	n := len(evs)
	must(e.store.SyncCheckIns(device, batch))(t)
	if got := len(events()); got != n {
		t.Fatalf("a sync sent again: %d check-in events, want %d", got, n)
	}
	// The server's ids are its own.
	res := must(e.store.AddFieldEvents(officer, []muster.FieldEvent{{ID: muster.CheckInEventID("C-ahead"), Kind: muster.FieldCheckIn, At: at(30), Household: "H000005", RallyPoint: "RP-011"}}))(t)
	if res[0].Outcome != muster.FieldRefused || !strings.Contains(res[0].Reason, "server's") {
		t.Fatalf("a client's event under a check-in event's id: %+v", res[0])
	}
	// Check-ins made before migration 0013: their events come back,
	// flagged as they were, and the field event's stays its own.
	want := map[string]string{}
	for id, ev := range events() {
		if strings.HasPrefix(id, muster.CheckInEventPrefix) {
			want[id] = ev.Household + "@" + ev.RallyPoint + " " + strings.TrimPrefix(strings.TrimPrefix(flags(ev), muster.FlagOtherRallyPoint), ",")
		}
	}
	e.store.Close()
	e.db.Exec(t, `DELETE FROM field_events WHERE id LIKE 'checkin:%'`)
	e.db.Exec(t, `DELETE FROM schema_migrations WHERE version >= 13`)
	e.store = e.open(e.keys)
	got := map[string]string{}
	var last int64
	for _, ev := range must(e.store.ListFieldEvents(e.ctx, muster.FieldEventFilter{Kind: muster.FieldCheckIn}))(t) {
		if strings.HasPrefix(ev.ID, muster.CheckInEventPrefix) {
			got[ev.ID] = ev.Household + "@" + ev.RallyPoint + " " + flags(ev)
			if ev.Seq <= last {
				t.Fatalf("backfilled events out of order: %d after %d", ev.Seq, last)
			}
			last = ev.Seq
		} else if ev.ID != "f3" {
			t.Fatalf("migration 0013 made event %+v", ev)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events after migration 0013:\n %v\nwant (other rally points unflagged)\n %v", got, want)
	}
}

// spent(CheckIn(...))(t) returns the check-in, failing t on an error or
// when the token was spent before (a first check-in returned).
func spent(c muster.CheckIn, first *muster.CheckIn, err error) func(testing.TB) muster.CheckIn {
	return func(t testing.TB) muster.CheckIn {
		t.Helper()
		if err != nil || first != nil {
			t.Fatalf("check-in of %s: %v (first %+v)", c.TokenID, err, first)
		}
		return c
	}
}
