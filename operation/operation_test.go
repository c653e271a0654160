package operation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
)

var t0 = time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)

func at(m float64) time.Time { return t0.Add(time.Duration(m * float64(time.Minute))) }

// testPlan: two gates (north 600/h, south 300/h), two rally points, three
// groups of two households of 3 people: G1 and G2 from RP-A to the north
// gate, G3 from RP-B to the south gate.
func testPlan() *plan.Plan {
	p := &plan.Plan{Params: plan.Params{Start: t0},
		Gates:       []plan.Gate{{ID: "gate-n", Name: "North", Status: "open", ThroughputPerHour: 600}, {ID: "gate-s", Name: "South", Status: "open", ThroughputPerHour: 300}},
		RallyPoints: []plan.RallyPoint{{ID: "RP-A"}, {ID: "RP-B"}}}
	for g := 1; g <= 3; g++ {
		rp, gate := "RP-A", "gate-n"
		if g == 3 {
			rp, gate = "RP-B", "gate-s"
		}
		dep := at(float64(30 * g))
		grp := plan.Group{ID: fmt.Sprintf("G%d", g), RallyPoint: rp, Gate: gate, Departure: dep, Arrival: dep.Add(20 * time.Minute),
			Through: dep.Add(25 * time.Minute), ReportBy: dep.Add(-10 * time.Minute), People: 6}
		for k := 1; k <= 2; k++ {
			h := plan.Household{ID: fmt.Sprintf("H%d%d", g, k), RallyPoint: rp, Group: grp.ID, ReportBy: grp.ReportBy, People: 3}
			p.Households = append(p.Households, h)
			grp.Households = append(grp.Households, h.ID)
		}
		p.Groups = append(p.Groups, grp)
	}
	return p
}

// drill is an operation's events: G1 leaves whole, is seen, arrives and
// passes; G2 leaves short (H22 never came); G3's households are checked
// in; the south gate is slow and queues.
func drill() []muster.FieldEvent {
	return []muster.FieldEvent{
		{ID: "c11", Kind: muster.FieldCheckIn, At: at(10), Household: "H11", RallyPoint: "RP-A"},
		{ID: "c12", Kind: muster.FieldCheckIn, At: at(12), Household: "H12", RallyPoint: "RP-A"},
		{ID: "d1", Kind: muster.FieldDeparted, At: at(33), Group: "G1", Households: []string{"H11", "H12"}, People: 6},
		{ID: "s1", Kind: muster.FieldSeen, At: at(40), Group: "G1", Lat: -30.0, Lon: -51.2},
		{ID: "a1", Kind: muster.FieldArrived, At: at(55), Group: "G1", Gate: "gate-n"},
		{ID: "n1", Kind: muster.FieldGateCount, Since: at(55), At: at(60), Gate: "gate-n", People: 6},
		{ID: "c21", Kind: muster.FieldCheckIn, At: at(45), Household: "H21", RallyPoint: "RP-A"},
		{ID: "d2", Kind: muster.FieldDeparted, At: at(65), Group: "G2", Households: []string{"H21"}, People: 3},
		{ID: "s2", Kind: muster.FieldSeen, At: at(70), Group: "G2", Lat: -30.01, Lon: -51.19},
		{ID: "c31", Kind: muster.FieldCheckIn, At: at(70), Household: "H31", RallyPoint: "RP-B"},
		{ID: "c32", Kind: muster.FieldCheckIn, At: at(72), Household: "H32", RallyPoint: "RP-B", Note: "one on crutches"},
		{ID: "q1", Kind: muster.FieldGateState, At: at(74), Gate: "gate-s", GateStatus: "restricted", Queue: 40},
		{ID: "n2", Kind: muster.FieldGateCount, Since: at(60), At: at(75), Gate: "gate-s", People: 25},
	}
}

func TestDrillState(t *testing.T) {
	p := testPlan()
	st := Compute(p, drill(), at(75), Options{PlanID: "P1"})
	for h, want := range map[string]string{"H11": HouseholdThrough, "H12": HouseholdThrough, "H21": HouseholdMoving, "H22": HouseholdOverdue,
		"H31": HouseholdAtRally, "H32": HouseholdAtRally} {
		if got := st.Household(h); got != want {
			t.Errorf("%s is %s, want %s", h, got, want)
		}
	}
	tt := st.Totals
	if tt.Planned != 18 || tt.Through != 6 || tt.OnTheWay != 3 || tt.AtRally != 6 || tt.NoShows != 0 || tt.Overdue != 3 || tt.NotMoved != 0 {
		t.Fatalf("totals %+v", tt)
	}
	// The plan had G1 through at 06:55 and G2 at 07:25: at 07:15 six
	// through is 20 minutes behind.
	if tt.PlannedBy != 6 || st.BehindMin != 20 {
		t.Fatalf("planned by now %d, behind %g min", tt.PlannedBy, st.BehindMin)
	}
	n, s := st.Gates[0], st.Gates[1]
	if n.Through != 6 || n.Arrived != 6 || n.Waiting != 0 || n.MeasuredPerHour != 72 || n.Expected != 12 {
		t.Fatalf("north gate %+v", n)
	}
	if s.MeasuredPerHour != 100 || !s.Slow || s.Status != "restricted" || s.Queue != 40 || s.Expected != 6 {
		t.Fatalf("south gate %+v", s)
	}
	g2 := st.Groups[1]
	if g2.Status != GroupMoving || g2.People != 3 || g2.LateMin != 5 || g2.Lat != -30.01 || !slices.Equal(g2.Households, []string{"H21"}) {
		t.Fatalf("G2 %+v", g2)
	}
	if g3 := st.Groups[2]; g3.Status != GroupForming || g3.LateMin != 0 {
		t.Fatalf("G3 %+v", g3)
	}
	rpA := st.RallyPoints[0]
	if rpA.ID != "RP-A" || rpA.Expected != 12 || rpA.Present != 0 || !slices.Equal(rpA.Overdue, []string{"H22"}) {
		t.Fatalf("RP-A %+v", rpA)
	}
	if rpB := st.RallyPoints[1]; rpB.Present != 6 || len(rpB.Here) != 2 {
		t.Fatalf("RP-B %+v", rpB)
	}
	if len(st.Flagged) != 0 {
		t.Fatalf("flagged: %+v", st.Flagged)
	}
	ps := st.PlanState()
	if err := ps.Validate(); err != nil {
		t.Fatal(err)
	}
	if !ps.Through["G1"] || ps.Moving["G2"].SeenAt.IsZero() || ps.WaitingAt["H31"] != "RP-B" || ps.Missing["H22"].Kind != plan.MissingOverdue ||
		ps.GateRates["gate-s"] != 100 || ps.GateStatus["gate-s"] != "restricted" || ps.GateQueues["gate-s"] != 40 || !ps.HouseholdsThrough["H12"] {
		t.Fatalf("plan state %+v", ps)
	}
}

// TestContradictions: late events that contradict others are kept,
// flagged, and not applied; the store's flagged check-ins are not
// applied either.
func TestContradictions(t *testing.T) {
	p := testPlan()
	evs := append(drill(),
		muster.FieldEvent{ID: "late-c12", Kind: muster.FieldCheckIn, At: at(40), Household: "H12", RallyPoint: "RP-A"}, // after G1 left with it
		muster.FieldEvent{ID: "early-a2", Kind: muster.FieldArrived, At: at(60), Group: "G2", Gate: "gate-n"},          // before G2 left
		muster.FieldEvent{ID: "late-s1", Kind: muster.FieldSeen, At: at(58), Group: "G1", Lat: -30.1, Lon: -51.1},      // after G1 arrived
		muster.FieldEvent{ID: "od-31", Kind: muster.FieldOverdue, At: at(71), Household: "H31", RallyPoint: "RP-B"},    // H31 was in at 70
		muster.FieldEvent{ID: "spent", Kind: muster.FieldCheckIn, At: at(20), Household: "H22", Flags: []string{muster.FlagTokenSpent}},
		muster.FieldEvent{ID: "d1-again", Kind: muster.FieldDeparted, At: at(34), Group: "G1"},
		muster.FieldEvent{ID: "ghost", Kind: muster.FieldSeen, At: at(50), Group: "G99", Lat: 1, Lon: 1},
	)
	st := Compute(p, evs, at(75), Options{})
	want := map[string]string{"late-c12": FlagAfterDeparture, "early-a2": FlagArrivedFirst, "late-s1": FlagSeenAfterArrival,
		"od-31": FlagContradictsCheckIn, "spent": muster.FlagTokenSpent, "d1-again": FlagRepeated, "ghost": FlagUnknown}
	got := map[string]string{}
	for _, f := range st.Flagged {
		got[f.ID] = strings.Join(f.Flags, ",")
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("flagged %v\n want %v", got, want)
	}
	base := Compute(p, drill(), at(75), Options{})
	base.Flagged, st.Flagged = nil, nil
	base.Events, st.Events = 0, 0
	if a, b := mustJSON(t, base), mustJSON(t, st); a != b {
		t.Fatalf("flagged events changed the state:\n%s\n%s", a, b)
	}
}

// TestOtherRallyPoint: a check-in at another rally point than its
// household was sent to is applied where it was made and listed, flagged,
// for the operators: the store's flag (a token whose instruction names
// another), or, no token shown, the plan's rally point against the
// event's. A check-in by token the store did not flag is not judged
// against the current plan (a re-plan since may have sent the household
// elsewhere); one that says no rally point is taken at the planned one; one
// at a rally point the plan does not have is withheld, and so is one the
// store also flagged as a copy.
func TestOtherRallyPoint(t *testing.T) {
	p := testPlan()
	evs := drill()
	for i := range evs {
		switch evs[i].ID {
		case "c31": // by id, at RP-A instead of RP-B, the officer's reason noted
			evs[i].RallyPoint, evs[i].Note = "RP-A", "admitted at RP-A, its instruction naming RP-B: RP-B flooded"
		case "c32": // by a token whose instruction named RP-A (the store did not flag it)
			evs[i].RallyPoint, evs[i].TokenID = "RP-A", "I-H32/v1"
		}
	}
	evs = append(evs, muster.FieldEvent{ID: "h22", Kind: muster.FieldCheckIn, At: at(60), Household: "H22", TokenID: "I-H22/v1", RallyPoint: "RP-B",
		Flags: []string{muster.FlagOtherRallyPoint}})
	st := Compute(p, evs, at(75), Options{})
	got := map[string]FlaggedEvent{}
	for _, f := range st.Flagged {
		got[f.ID] = f
	}
	want := map[string]FlaggedEvent{
		"c31": {ID: "c31", Kind: muster.FieldCheckIn, At: at(70), Flags: []string{muster.FlagOtherRallyPoint}, What: "H31", RallyPoint: "RP-A", Applied: true, Noted: true},
		"h22": {ID: "h22", Kind: muster.FieldCheckIn, At: at(60), Flags: []string{muster.FlagOtherRallyPoint}, What: "H22", RallyPoint: "RP-B", Applied: true},
	}
	if mustJSON(t, got) != mustJSON(t, want) {
		t.Fatalf("flagged %s\n want %s", mustJSON(t, got), mustJSON(t, want))
	}
	for h, rp := range map[string]string{"H31": "RP-A", "H32": "RP-A", "H22": "RP-B"} {
		if st.Household(h) != HouseholdAtRally || st.PlanState().WaitingAt[h] != rp {
			t.Errorf("%s is %s at %q, want at_rally at %s", h, st.Household(h), st.PlanState().WaitingAt[h], rp)
		}
	}
	if a, b := st.RallyPoints[0], st.RallyPoints[1]; a.Present != 6 || b.Present != 3 || st.Totals.AtRally != 9 || st.Totals.Overdue != 0 {
		t.Fatalf("rally points %+v %+v, totals %+v", a, b, st.Totals)
	}
	if due := Due(p, evs, at(75), Options{}); len(due) != 0 {
		t.Fatalf("overdue events made for households checked in elsewhere: %+v", due)
	}

	// At no rally point said, by id: at its own.
	evs = drill()
	evs[slices.IndexFunc(evs, func(e muster.FieldEvent) bool { return e.ID == "c31" })].RallyPoint = ""
	if st := Compute(p, evs, at(75), Options{}); len(st.Flagged) != 0 || st.PlanState().WaitingAt["H31"] != "RP-B" {
		t.Fatalf("a check-in at no rally point said: flagged %+v, waiting at %q", st.Flagged, st.PlanState().WaitingAt["H31"])
	}

	// A rally point the plan does not have, and a copy elsewhere.
	base := Compute(p, drill(), at(75), Options{})
	evs = append(drill(),
		muster.FieldEvent{ID: "nowhere", Kind: muster.FieldCheckIn, At: at(60), Household: "H22", RallyPoint: "RP-Z"},
		muster.FieldEvent{ID: "copy", Kind: muster.FieldCheckIn, At: at(61), Household: "H22", TokenID: "I-H22/v1", RallyPoint: "RP-B",
			Flags: []string{muster.FlagTokenSpent, muster.FlagOtherRallyPoint}})
	st = Compute(p, evs, at(75), Options{})
	flags := map[string]string{}
	for _, f := range st.Flagged {
		flags[f.ID] = strings.Join(f.Flags, ",")
		if f.Applied {
			t.Fatalf("%s withheld but said applied", f.ID)
		}
	}
	if want := map[string]string{"nowhere": muster.FlagOtherRallyPoint + "," + FlagUnknown, "copy": muster.FlagTokenSpent + "," + muster.FlagOtherRallyPoint}; fmt.Sprint(flags) != fmt.Sprint(want) {
		t.Fatalf("flagged %v, want %v", flags, want)
	}
	st.Flagged, base.Flagged, st.Events, base.Events = nil, nil, 0, 0
	if a, b := mustJSON(t, base), mustJSON(t, st); a != b {
		t.Fatalf("withheld check-ins changed the state:\n%s\n%s", a, b)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestOrderAndRepeats: a property: any subset of an operation's events,
// sent in any order, any of them several times, gives the state the same
// set sent once in order does.
func TestOrderAndRepeats(t *testing.T) {
	p := testPlan()
	all := append(drill(),
		muster.FieldEvent{ID: "late-c12", Kind: muster.FieldCheckIn, At: at(40), Household: "H12", RallyPoint: "RP-A"},
		muster.FieldEvent{ID: "early-a2", Kind: muster.FieldArrived, At: at(60), Group: "G2", Gate: "gate-n"},
		muster.FieldEvent{ID: "od-31", Kind: muster.FieldOverdue, At: at(71), Household: "H31"},
		muster.FieldEvent{ID: "a2", Kind: muster.FieldArrived, At: at(85), Group: "G2", Gate: "gate-n"},
		muster.FieldEvent{ID: "n3", Kind: muster.FieldGateCount, Since: at(85), At: at(88), Gate: "gate-n", People: 3},
	)
	r := rand.New(rand.NewPCG(13, 13))
	for trial := range 300 {
		var subset []muster.FieldEvent
		for _, e := range all {
			if r.IntN(4) > 0 {
				subset = append(subset, e)
			}
		}
		now := at(float64(r.IntN(120)))
		want := mustJSON(t, Compute(p, subset, now, Options{}))
		sent := slices.Clone(subset)
		for range r.IntN(len(subset) + 1) {
			sent = append(sent, subset[r.IntN(len(subset))])
		}
		sent = append(sent, sent...) // the same batch twice
		r.Shuffle(len(sent), func(i, j int) { sent[i], sent[j] = sent[j], sent[i] })
		if got := mustJSON(t, Compute(p, sent, now, Options{})); got != want {
			t.Fatalf("trial %d: shuffled and repeated events give another state:\n%s\nwant\n%s", trial, got, want)
		}
	}
}

// TestDue: overdue at report-by, no-show after the grace, made once (by
// id), none for a household checked in or gone.
func TestDue(t *testing.T) {
	p := testPlan()
	evs := drill()[:2] // H11, H12 checked in
	due := Due(p, evs, at(25), Options{PlanID: "P1", Grace: 10 * time.Minute})
	// G1 reports by 06:20: H11, H12 are in; nobody else is due yet.
	if len(due) != 0 {
		t.Fatalf("due at 06:25: %+v", due)
	}
	due = Due(p, evs, at(55), Options{PlanID: "P1", Grace: 10 * time.Minute})
	var ids []string
	for _, e := range due {
		if err := e.Validate(); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID+"@"+e.At.Format("15:04"))
	}
	if want := "[sys-overdue-P1-H21@06:50 sys-overdue-P1-H22@06:50]"; fmt.Sprint(ids) != want {
		t.Fatalf("due at 06:55: %v, want %s", ids, want)
	}
	evs = append(evs, due...)
	if again := Due(p, evs, at(55), Options{PlanID: "P1", Grace: 10 * time.Minute}); len(again) != 0 {
		t.Fatalf("made twice: %+v", again)
	}
	due = Due(p, evs, at(61), Options{PlanID: "P1", Grace: 10 * time.Minute})
	if len(due) != 2 || due[0].Kind != muster.FieldNoShow || !due[0].At.Equal(at(60)) {
		t.Fatalf("no-shows at 07:01: %+v", due)
	}
	// The state from the clock alone and with the server's events agree.
	a := Compute(p, drill()[:2], at(61), Options{Grace: 10 * time.Minute})
	b := Compute(p, append(evs, due...), at(61), Options{Grace: 10 * time.Minute})
	a.Events, b.Events = 0, 0
	if mustJSON(t, a) != mustJSON(t, b) {
		t.Fatalf("the server's overdue events change the state")
	}
}

func TestReadEvents(t *testing.T) {
	var b bytes.Buffer
	for _, e := range drill() {
		line, _ := json.Marshal(e)
		b.Write(line)
		b.WriteByte('\n')
	}
	b.WriteString("# a comment\n\n")
	got, err := ReadEvents(&b)
	if err != nil || len(got) != len(drill()) {
		t.Fatalf("%d events, %v", len(got), err)
	}
	for i, e := range drill() {
		if got[i].Content() != e.Content() {
			t.Fatalf("line %d read as %s, want %s", i+1, got[i].Content(), e.Content())
		}
	}
	q, err := ReadEvents(strings.NewReader(`{"id":"q","kind":"gate_state","at":"2026-03-01T06:00:00Z","gate":"gate-n","gate_status":"closed"}`))
	if err != nil || q[0].Queue != -1 {
		t.Fatalf("a gate state without a queue: %+v, %v", q, err)
	}
	for _, bad := range []string{`{"id":"x","kind":"seen","at":"2026-03-01T06:00:00Z","group":"G1","lat":91,"lon":0}`,
		`{"id":"x","kind":"teleported","at":"2026-03-01T06:00:00Z"}`, `{"id":"x"`, `{"id":"x","kind":"checkin","at":"2026-03-01T06:00:00Z","household":"H1","by":"admin"}`} {
		_, err := ReadEvents(strings.NewReader("\n" + bad + "\n"))
		if muster.ErrorCode(err) != muster.EINVALID || !strings.Contains(err.Error(), "line 2") {
			t.Fatalf("%s: %v", bad, err)
		}
	}
}

// FuzzReadEvents: no input panics the reader or the live state.
func FuzzReadEvents(f *testing.F) {
	var b bytes.Buffer
	for _, e := range drill() {
		line, _ := json.Marshal(e)
		b.Write(line)
		b.WriteByte('\n')
	}
	f.Add(b.String())
	f.Add(`{"id":"a","kind":"gate_count","at":"2026-03-01T06:00:00Z","since":"2026-03-01T05:00:00Z","gate":"gate-n","people":5}`)
	f.Add(`{"id":"a","kind":"departed","at":"2026-03-01T06:00:00Z","group":"G1","households":["H11","H99"],"queue":null}`)
	p := testPlan()
	f.Fuzz(func(t *testing.T, s string) {
		evs, err := ReadEvents(strings.NewReader(s))
		if err != nil {
			if muster.ErrorCode(err) != muster.EINVALID {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		st := Compute(p, evs, at(60), Options{})
		_ = st.PlanState()
		_ = Due(p, evs, at(90), Options{})
	})
}

func TestReadEventsUnknownField(t *testing.T) {
	_, err := ReadEvents(strings.NewReader(`{"id":"a","kind":"seen","at":"2026-03-01T06:00:00Z","group":"G1","lat":1,"lon":1,"latitude":2}`))
	if err == nil || !strings.Contains(err.Error(), "latitude") {
		t.Fatalf("an unknown field: %v", err)
	}
}

// TestHouseholdInTwoDepartures: a household two departures name goes with
// the earlier, whatever order they come in.
func TestHouseholdInTwoDepartures(t *testing.T) {
	p := testPlan()
	evs := []muster.FieldEvent{
		{ID: "d2", Kind: muster.FieldDeparted, At: at(65), Group: "G2", Households: []string{"H21", "H11"}},
		{ID: "d1", Kind: muster.FieldDeparted, At: at(33), Group: "G1", Households: []string{"H11", "H12"}},
		{ID: "a1", Kind: muster.FieldArrived, At: at(55), Group: "G1", Gate: "gate-n"},
		{ID: "n1", Kind: muster.FieldGateCount, Since: at(55), At: at(60), Gate: "gate-n", People: 6},
	}
	r := rand.New(rand.NewPCG(5, 5))
	for range 20 {
		st := Compute(p, evs, at(70), Options{})
		if st.Household("H11") != HouseholdThrough || st.Household("H21") != HouseholdMoving {
			t.Fatalf("H11 %s, H21 %s", st.Household("H11"), st.Household("H21"))
		}
		r.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	}
}
