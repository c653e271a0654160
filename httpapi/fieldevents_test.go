package httpapi

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/operation"
	"github.com/muster-evac/muster/plan"
)

// TestFieldEventsAtAnotherRallyPoint: check-ins a device made (field
// events with signed tokens or household ids, as the field page syncs
// them, and POST /api/checkin/sync) at another rally point than the
// household's instruction names are recorded as the device made them and
// flagged other_rally_point for the operators: in the batch's answer, in
// GET /api/field-events?flagged=true with the officer's reason (the note),
// in the live state (applied, where it was made), and in the audit log
// (checkin.other_rally). One at the household's own rally point, by token
// or by id, is not. A batch checking one token in at two rally points
// spends it at the earlier and flags each where it stands; one at no
// rally point said is flagged; one at a rally point the plan does not have
// is flagged by the store and withheld by the live state.
func TestFieldEventsAtAnotherRallyPoint(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		var now time.Time
		e := scenarioEnv(t, open(t), 24, &now)
		_, byHH, _ := issuedScenario(t, e)
		var cur plan.Plan
		e.do("planner", "GET", "/api/plans/current", nil, 200, &cur)
		hs := scenarioHouseholdIDs(byHH)
		if len(hs) < 9 || len(cur.RallyPoints) < 2 {
			t.Fatalf("the scenario has %d households, %d rally points", len(hs), len(cur.RallyPoints))
		}
		own := func(h string) string { return byHH[h].Instruction.RallyPoint.ID }
		// elsewhere is a rally point of the plan that is not h's.
		elsewhere := func(h string) string {
			for _, r := range cur.RallyPoints {
				if r.ID != own(h) {
					return r.ID
				}
			}
			return ""
		}
		for _, h := range hs[:9] {
			if own(h) == "" || !slices.ContainsFunc(cur.RallyPoints, func(r plan.RallyPoint) bool { return r.ID == own(h) }) {
				t.Fatalf("%s's instruction names rally point %q, not one of the plan's", h, own(h))
			}
		}
		x, y, z, w, v, u, q := hs[0], hs[1], hs[2], hs[3], hs[4], hs[5], hs[6]
		at := cur.Groups[0].ReportBy.Add(-10 * time.Minute)
		now = at.Add(30 * time.Minute)
		tok := func(h string) string { return byHH[h].Token }
		min := func(m int) time.Time { return at.Add(time.Duration(m) * time.Minute) }
		reason := fmt.Sprintf("admitted at %s, its instruction naming %s: %s is overrun", elsewhere(y), own(y), own(y))
		evs := []muster.FieldEvent{
			{ID: "own", Kind: muster.FieldCheckIn, At: min(1), Token: tok(x), RallyPoint: own(x)},
			{ID: "elsewhere", Kind: muster.FieldCheckIn, At: min(2), Token: tok(y), RallyPoint: elsewhere(y), Note: reason},
			{ID: "by-id", Kind: muster.FieldCheckIn, At: min(3), Household: z, RallyPoint: own(z)},
			{ID: "by-id-elsewhere", Kind: muster.FieldCheckIn, At: min(4), Household: w, RallyPoint: elsewhere(w)},
			// One token twice: the later at its own (sent first), the
			// earlier elsewhere, which spends it.
			{ID: "twice-own", Kind: muster.FieldCheckIn, At: min(6), Token: tok(v), RallyPoint: own(v)},
			{ID: "twice-elsewhere", Kind: muster.FieldCheckIn, At: min(5), Token: tok(v), RallyPoint: elsewhere(v)},
			{ID: "nowhere", Kind: muster.FieldCheckIn, At: min(7), Token: tok(u)},
			{ID: "made-up", Kind: muster.FieldCheckIn, At: min(8), Token: tok(q), RallyPoint: "RP-MADE-UP"},
		}
		other, spent := muster.FlagOtherRallyPoint, muster.FlagTokenSpent
		want := map[string]string{"own": "", "elsewhere": other, "by-id": "", "by-id-elsewhere": other,
			"twice-own": spent, "twice-elsewhere": other, "nowhere": other, "made-up": other}
		res := fieldBatch(e, "field", evs)
		got := map[string]string{}
		for _, o := range res.Outcomes {
			got[o.ID] = strings.Join(o.Flags, ",")
		}
		if res.Recorded != len(evs) || res.Flagged != 6 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("recorded %d, flagged %d: %v\n want %v", res.Recorded, res.Flagged, got, want)
		}

		// Listed for the operators, with the officer's reason.
		var page fieldEventsPage
		e.do("planner", "GET", "/api/field-events?flagged=true", nil, 200, &page)
		var listed []string
		for _, ev := range page.Events {
			listed = append(listed, ev.ID)
			if ev.ID == "elsewhere" && (ev.Note != reason || ev.RallyPoint != elsewhere(y) || ev.Household != y) {
				t.Fatalf("the check-in elsewhere listed as %+v", ev)
			}
		}
		slices.Sort(listed)
		if w := []string{"by-id-elsewhere", "elsewhere", "made-up", "nowhere", "twice-elsewhere", "twice-own"}; !slices.Equal(listed, w) {
			t.Fatalf("flagged events listed %v, want %v", listed, w)
		}

		// The live state: applied where they were made, listed flagged;
		// the made-up rally point withheld, nobody counted there.
		var st operation.State
		e.do("viewer", "GET", "/api/operation", nil, 200, &st)
		where := map[string]string{}
		for _, r := range st.RallyPoints {
			if r.ID == "RP-MADE-UP" {
				t.Fatalf("a rally point the plan does not have is in the live state: %+v", r)
			}
			for _, h := range r.Here {
				where[h] = r.ID
			}
		}
		for h, rp := range map[string]string{x: own(x), y: elsewhere(y), z: own(z), w: elsewhere(w), v: elsewhere(v), u: own(u)} {
			if where[h] != rp {
				t.Errorf("%s is at %q in the live state, want %s", h, where[h], rp)
			}
		}
		if where[q] != "" || st.Household(q) == operation.HouseholdAtRally {
			t.Errorf("%s, checked in at a made-up rally point, is at %q", q, where[q])
		}
		flagged := map[string]operation.FlaggedEvent{}
		for _, f := range st.Flagged {
			flagged[f.ID] = f
		}
		if f := flagged["elsewhere"]; !f.Applied || !f.Noted || f.RallyPoint != elsewhere(y) || f.What != y || !slices.Equal(f.Flags, []string{other}) {
			t.Fatalf("the check-in elsewhere in the live state: %+v", f)
		}
		if f := flagged["made-up"]; f.Applied || !slices.Equal(f.Flags, []string{other, operation.FlagUnknown}) {
			t.Fatalf("the check-in at a made-up rally point in the live state: %+v", f)
		}
		if f := flagged["twice-own"]; f.Applied || !slices.Equal(f.Flags, []string{spent}) {
			t.Fatalf("the copy in the live state: %+v", f)
		}
		if _, ok := flagged["own"]; ok || len(st.Flagged) != 6 {
			t.Fatalf("flagged in the live state: %+v", st.Flagged)
		}

		// A device's offline sync: the same check, said in the answer.
		var sync syncResponse
		e.do("field", "POST", "/api/checkin/sync", mustJSON(syncRequest{Device: "tablet-3", CheckIns: []syncCheckIn{
			{Token: tok(hs[7]), RallyPoint: elsewhere(hs[7]), At: min(9).Format(time.RFC3339)},
			{Token: tok(hs[8]), RallyPoint: own(hs[8]), At: min(9).Format(time.RFC3339)},
		}}), 200, &sync)
		if sync.Recorded != 2 || sync.Outcomes[0].Instructed != own(hs[7]) || sync.Outcomes[1].Instructed != "" {
			t.Fatalf("synced: %+v", sync)
		}

		// Audited where a token was spent elsewhere, once each.
		entries, err := e.store.ListAudit(context.Background(), 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var audited []string
		for _, en := range entries {
			if en.Action == "checkin.other_rally" {
				audited = append(audited, en.Target)
			}
		}
		slices.Sort(audited)
		var wantAudit []string
		for _, h := range []string{y, w, v, u, q, hs[7]} {
			wantAudit = append(wantAudit, "instruction:"+byHH[h].ID)
		}
		slices.Sort(wantAudit)
		if !slices.Equal(audited, wantAudit) {
			t.Fatalf("audited %v, want %v", audited, wantAudit)
		}
	})
}

// flaggedReadsStore counts the reads of every flagged check-in.
type flaggedReadsStore struct {
	muster.Store
	flaggedReads *atomic.Int32
}

func (s flaggedReadsStore) ListFieldEvents(ctx context.Context, f muster.FieldEventFilter) ([]muster.FieldEvent, error) {
	if f.Flagged {
		s.flaggedReads.Add(1)
	}
	return s.Store.ListFieldEvents(ctx, f)
}

// liveState reads the live state as a viewer, with where each household
// counted at a rally point is, and the flagged events by id.
func liveState(e *testEnv) (st operation.State, where map[string]string, flagged map[string]operation.FlaggedEvent) {
	e.t.Helper()
	e.do("viewer", "GET", "/api/operation", nil, 200, &st)
	where, flagged = map[string]string{}, map[string]operation.FlaggedEvent{}
	for _, r := range st.RallyPoints {
		for _, h := range r.Here {
			where[h] = r.ID
		}
	}
	for _, f := range st.Flagged {
		flagged[f.ID] = f
	}
	return st, where, flagged
}

// TestLiveStateSeesACheckInDisplaced: a check-in that arrives after the
// live state was read, of a token checked in already but made earlier,
// takes the first place; the live state then shows the one it displaced
// flagged token_spent and not counted, and the household where the
// earlier one was made. It does so by reading that household's check-ins
// again, not every flagged one; a check-in of another household, alone,
// reads nothing again.
func TestLiveStateSeesACheckInDisplaced(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		var now time.Time
		var flaggedReads atomic.Int32
		e := scenarioEnv(t, flaggedReadsStore{open(t), &flaggedReads}, 24, &now)
		_, byHH, _ := issuedScenario(t, e)
		var cur plan.Plan
		e.do("planner", "GET", "/api/plans/current", nil, 200, &cur)
		hs := scenarioHouseholdIDs(byHH)
		v, other := hs[0], hs[1]
		own := byHH[v].Instruction.RallyPoint.ID
		elsewhere := ""
		for _, r := range cur.RallyPoints {
			if r.ID != own {
				elsewhere = r.ID
				break
			}
		}
		at := cur.Groups[0].ReportBy.Add(-10 * time.Minute)
		now = at.Add(30 * time.Minute)
		min := func(m int) time.Time { return at.Add(time.Duration(m) * time.Minute) }
		state := func() (operation.State, map[string]string) {
			st, where, _ := liveState(e)
			return st, where
		}
		if res := fieldBatch(e, "field", []muster.FieldEvent{{ID: "second", Kind: muster.FieldCheckIn, At: min(6), Token: byHH[v].Token, RallyPoint: own}}); res.Recorded != 1 || res.Flagged != 0 {
			t.Fatalf("the first to arrive: %+v", res)
		}
		st, where := state()
		if where[v] != own || len(st.Flagged) != 0 {
			t.Fatalf("after the first: %s at %q, flagged %+v", v, where[v], st.Flagged)
		}
		if res := fieldBatch(e, "field", []muster.FieldEvent{{ID: "first", Kind: muster.FieldCheckIn, At: min(5), Token: byHH[v].Token, RallyPoint: elsewhere,
			Note: "admitted here: its rally point is overrun"}}); res.Recorded != 1 {
			t.Fatalf("the earlier, arriving second: %+v", res)
		}
		st, where = state()
		flagged := map[string]operation.FlaggedEvent{}
		for _, f := range st.Flagged {
			flagged[f.ID] = f
		}
		if f := flagged["second"]; f.Applied || !slices.Contains(f.Flags, muster.FlagTokenSpent) {
			t.Fatalf("the check-in displaced in the live state: %+v (flagged %+v)", f, st.Flagged)
		}
		if where[v] != elsewhere {
			t.Fatalf("%s at %q in the live state, want %s, where the earlier check-in was made", v, where[v], elsewhere)
		}
		if n := flaggedReads.Load(); n != 0 {
			t.Fatalf("the live state read every flagged check-in %d times", n)
		}
		if res := fieldBatch(e, "field", []muster.FieldEvent{{ID: "another", Kind: muster.FieldCheckIn, At: min(7), Token: byHH[other].Token,
			RallyPoint: byHH[other].Instruction.RallyPoint.ID}}); res.Recorded != 1 {
			t.Fatalf("another household: %+v", res)
		}
		if _, where = state(); where[other] == "" || flaggedReads.Load() != 0 {
			t.Fatalf("another household's check-in: at %q, %d reads of every flagged one", where[other], flaggedReads.Load())
		}
		// A flood of forged tokens: each kept flagged, none read again.
		var forged []muster.FieldEvent
		for i := range 20 {
			forged = append(forged, muster.FieldEvent{ID: fmt.Sprintf("forged-%d", i), Kind: muster.FieldCheckIn, At: min(8),
				Token: changeChar(byHH[hs[2+i%5]].Token, 20+i), RallyPoint: own})
		}
		if res := fieldBatch(e, "field", forged); res.Recorded != len(forged) || res.Flagged != len(forged) {
			t.Fatalf("forged tokens: %+v", res)
		}
		st, _ = state()
		n := 0
		for _, f := range st.Flagged {
			if strings.HasPrefix(f.ID, "forged-") && !f.Applied {
				n++
			}
		}
		if n != len(forged) || flaggedReads.Load() != 0 {
			t.Fatalf("forged tokens: %d of %d listed flagged and withheld, %d reads of every flagged check-in", n, len(forged), flaggedReads.Load())
		}
	})
}

// TestLiveStateSeesCheckInsOfTheAPIAndSync: a check-in made through POST
// /api/checkin or a device's sync (POST /api/checkin/sync) is counted by
// the live state as a field event's is (the store records an event of
// each). A device's check-in made earlier than a field event's, synced
// late, takes its place: the field event is flagged token_spent and not
// counted, and the household is where the device checked it in. More
// than maxRereadHouseholds such households in one read, and the live
// state reads the flagged check-ins again, once, instead of each
// household's.
func TestLiveStateSeesCheckInsOfTheAPIAndSync(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		var now time.Time
		var flaggedReads atomic.Int32
		e := scenarioEnv(t, flaggedReadsStore{open(t), &flaggedReads}, maxRereadHouseholds+12, &now)
		_, byHH, _ := issuedScenario(t, e)
		var cur plan.Plan
		e.do("planner", "GET", "/api/plans/current", nil, 200, &cur)
		hs := scenarioHouseholdIDs(byHH)
		elsewhere := func(h string) string {
			for _, r := range cur.RallyPoints {
				if r.ID != byHH[h].Instruction.RallyPoint.ID {
					return r.ID
				}
			}
			t.Fatal("one rally point")
			return ""
		}
		at := cur.Groups[0].ReportBy.Add(-10 * time.Minute)
		now = at.Add(30 * time.Minute)
		min := func(m int) string { return at.Add(time.Duration(m) * time.Minute).Format(time.RFC3339) }
		state := func() (operation.State, map[string]string, map[string]operation.FlaggedEvent) { return liveState(e) }
		// Online, by the officer at the household's own rally point: one
		// of the first group, whose report-by time passes below.
		x := cur.Groups[0].Households[0]
		hs = slices.DeleteFunc(hs, func(h string) bool { return h == x })
		if !byHH[x].Instruction.ReportBy.Before(now) {
			t.Fatalf("%s reports by %s, not before %s", x, byHH[x].Instruction.ReportBy, now)
		}
		e.do("field", "POST", "/api/checkin", mustJSON(checkinRequest{Token: byHH[x].Token, RallyPoint: byHH[x].Instruction.RallyPoint.ID, At: min(1)}), 201, nil)
		st, where, _ := state()
		if where[x] != byHH[x].Instruction.RallyPoint.ID {
			t.Fatalf("checked in through /api/checkin, %s is at %q in the live state", x, where[x])
		}
		// Its report-by time has passed: checked in, it is not overdue
		// (the sweep marked it so when the live state did not see it).
		for _, r := range st.RallyPoints {
			if slices.Contains(r.Overdue, x) {
				t.Fatalf("%s, checked in through /api/checkin, is overdue at %s", x, r.ID)
			}
		}
		// The field page checks y in at 06:10 at its own rally point; a
		// device offline since checked it in at 06:04 at another, and
		// syncs late.
		y := hs[0]
		own := byHH[y].Instruction.RallyPoint.ID
		fieldBatch(e, "field", []muster.FieldEvent{{ID: "field-y", Kind: muster.FieldCheckIn, At: at.Add(10 * time.Minute), Token: byHH[y].Token, RallyPoint: own}})
		if _, where, _ := state(); where[y] != own {
			t.Fatalf("y checked in by the field page is at %q", where[y])
		}
		var sr syncResponse
		e.do("field", "POST", "/api/checkin/sync", mustJSON(syncRequest{Device: "tablet-3", CheckIns: []syncCheckIn{
			{ID: "tablet-3-y", Token: byHH[y].Token, RallyPoint: elsewhere(y), At: min(4)}}}), 200, &sr)
		if sr.Outcomes[0].Displaced == nil {
			t.Fatalf("the earlier check-in synced: %+v", sr)
		}
		_, where, flagged := state()
		if f, ok := flagged["field-y"]; !ok || f.Applied || !slices.Contains(f.Flags, muster.FlagTokenSpent) {
			t.Fatalf("the field page's check-in displaced by a synced one: %+v (listed %v)", f, ok)
		}
		if where[y] != elsewhere(y) {
			t.Fatalf("%s at %q, want %s, where the device checked it in first", y, where[y], elsewhere(y))
		}
		if f := flagged[muster.CheckInEventID(sr.Outcomes[0].CheckIn.ID)]; !f.Applied || !slices.Contains(f.Flags, muster.FlagOtherRallyPoint) {
			t.Fatalf("the synced check-in at another rally point: %+v", f)
		}
		if n := flaggedReads.Load(); n != 0 {
			t.Fatalf("%d reads of every flagged check-in", n)
		}
		// Many at once: the field page checks in the rest, a device
		// syncs earlier check-ins of them all.
		rest := hs[1:]
		var evs []muster.FieldEvent
		var sync []syncCheckIn
		for i, h := range rest {
			evs = append(evs, muster.FieldEvent{ID: fmt.Sprintf("field-%d", i), Kind: muster.FieldCheckIn, At: at.Add(20 * time.Minute), Token: byHH[h].Token,
				RallyPoint: byHH[h].Instruction.RallyPoint.ID})
			sync = append(sync, syncCheckIn{ID: fmt.Sprintf("tablet-4-%d", i), Token: byHH[h].Token, RallyPoint: byHH[h].Instruction.RallyPoint.ID, At: min(15)})
		}
		if res := fieldBatch(e, "field", evs); res.Recorded != len(rest) || res.Flagged != 0 {
			t.Fatalf("the field page's check-ins: %+v", res)
		}
		state()
		e.do("field", "POST", "/api/checkin/sync", mustJSON(syncRequest{Device: "tablet-4", CheckIns: sync}), 200, &sr)
		_, where, flagged = state()
		for i, h := range rest {
			if f := flagged[fmt.Sprintf("field-%d", i)]; f.Applied || !slices.Contains(f.Flags, muster.FlagTokenSpent) {
				t.Fatalf("field-%d, displaced: %+v", i, f)
			}
			if where[h] != byHH[h].Instruction.RallyPoint.ID {
				t.Fatalf("%s at %q after the sync", h, where[h])
			}
		}
		if len(rest) <= maxRereadHouseholds || flaggedReads.Load() != 1 {
			t.Fatalf("%d households displaced at once: %d reads of every flagged check-in, want 1", len(rest), flaggedReads.Load())
		}
	})
}
