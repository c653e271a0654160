package plan

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 14, 6, 0, 0, 0, time.UTC)

func sec(s float64) clock { return clock(s * float64(time.Second)) }

func testGate(perHour, crowd int, h hours) *gateState {
	if h.loc == nil {
		h.loc = time.UTC
	}
	return newGateState(Gate{ID: "g", CrowdLimit: crowd, ThroughputPerHour: perHour, Usable: true}, [2]float64{}, float64(perHour)/3600, h, t0)
}

// TestGateFillsGap: a group booked first that can only come late leaves
// the gate idle before it; a group booked after it that can come early
// passes in that gap, ahead of it, instead of after it.
func TestGateFillsGap(t *testing.T) {
	g := testGate(3600, 100, hours{always: true}) // one person a second
	o := clockOf(t0)
	early := sec(300)
	late, ok := g.slot(o+sec(3600), 10, early, never)
	if !ok || late.start != o+sec(3600) || late.arrive != o+sec(3600) {
		t.Fatalf("first turn %+v", late)
	}
	g.take(late)
	// A group that can come at once passes at once, in the gap before.
	first, ok := g.slot(o+sec(60), 20, early, never)
	if !ok || first.arrive != o+sec(60) || first.start != o+sec(60) || first.end != o+sec(80) {
		t.Fatalf("the gap was not used: %+v", first)
	}
	if first.at != 0 {
		t.Fatalf("a group passing first is queued at %d", first.at)
	}
	g.take(first)
	// A group too long for what is left of the gap before the late one
	// goes after it, not over it.
	big, ok := g.slot(o+sec(3550), 60, early, never)
	if !ok || big.start != o+sec(3610) || big.at != 2 {
		t.Fatalf("a group that does not fit the gap: %+v", big)
	}
	g.take(big)
	// One that fits the rest of the gap exactly takes it.
	fit, ok := g.slot(o+sec(100), 30, early, never)
	if !ok || fit.start != o+sec(100) || fit.at != 1 {
		t.Fatalf("a group that fits the gap: %+v", fit)
	}
	g.take(fit)
	checkGate(t, g)
}

// TestGateCrowdEventDriven: a group kept out by the crowd limit arrives
// the moment enough of those ahead are through (the stated time: the one
// ahead passed from its arrival, so no re-simulation sees it through
// later), not at some later step; behind a group that had to wait, a
// second later.
func TestGateCrowdEventDriven(t *testing.T) {
	g := testGate(1000, 20, hours{always: true})
	o := clockOf(t0)
	a, _ := g.slot(o, 12, sec(300), never)
	g.take(a)
	b, ok := g.slot(o, 12, sec(300), never)
	if !ok {
		t.Fatal("no turn for the second group")
	}
	want := a.end.ceilSec()
	if b.arrive != want {
		t.Fatalf("the second group arrives at +%v, want +%v: when the first is through", time.Duration(b.arrive-o), time.Duration(want-o))
	}
	if b.start != b.arrive {
		t.Fatalf("the gate is free when it arrives: it starts at once, not at +%v", time.Duration(b.start-o))
	}
	// A queue of small groups filling the gate: each waits for the one
	// before, so a re-simulation may see them through up to a second late,
	// and a group as large as the limit arrives a second after the last is
	// stated through.
	g = testGate(1000, 12, hours{always: true})
	for i := 0; i < 3; i++ {
		tn, _ := g.slot(o, 4, sec(300), never)
		g.take(tn)
	}
	last := g.books[len(g.books)-1]
	c, _ := g.slot(o, 12, sec(300), never)
	if c.arrive != last.end.ceilSec()+crowdMargin {
		t.Fatalf("behind a queue: arrives at +%v, the last is through at +%v", time.Duration(c.arrive-o), time.Duration(last.end.ceilSec()-o))
	}
}

// TestGateHours: a passage lies within the gate's hours, and a gap that
// spans the night is used on both sides of it.
func TestGateHours(t *testing.T) {
	h, err := newHours("07:00", "19:00", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	g := testGate(600, 50, h)
	o := clockOf(t0) // 06:00
	tn, ok := g.slot(o, 10, sec(300), never)
	if !ok || tn.start != o+sec(3600) {
		t.Fatalf("before opening: %+v", tn)
	}
	g.take(tn)
	// Ten people take a minute at 600 an hour: one starting at 18:59:30
	// would end after closing, so it goes the next morning.
	ev := o + sec(13*3600-30)
	tn, ok = g.slot(ev, 10, sec(300), never)
	if !ok || tn.start != o+sec(25*3600) {
		t.Fatalf("at closing: %v", time.Duration(tn.start-o))
	}
}

// TestGateRandomFIFO books random groups in random order and re-simulates
// the gate as the checker does, from the stated whole-second times: first
// in, first out by arrival, at the throughput (2 s of tolerance), never
// more than the crowd limit waiting.
func TestGateRandomFIFO(t *testing.T) {
	for seed := uint64(1); seed <= 30; seed++ {
		rng := rand.New(rand.NewPCG(seed, 5))
		g := testGate(300+rng.IntN(1500), 12+rng.IntN(100), hours{always: true})
		o := clockOf(t0)
		for i := 0; i < 300; i++ {
			n := 1 + rng.IntN(12)
			tn, ok := g.slot(o+sec(float64(rng.IntN(6*3600))), n, sec(float64(rng.IntN(600))), never)
			if !ok {
				if n <= g.CrowdLimit {
					t.Fatalf("seed %d: no turn for %d", seed, n)
				}
				continue
			}
			g.take(tn)
		}
		checkGate(t, g)
	}
}

// checkGate re-simulates the gate from the stated times.
func checkGate(t *testing.T, g *gateState) {
	t.Helper()
	type v struct {
		arrive, through time.Time
		people          int
	}
	var vs []v
	for _, b := range g.books {
		vs = append(vs, v{b.arrive.time(), b.end.ceilSec().time(), b.people})
		if b.arrive.time().Truncate(time.Second) != b.arrive.time() {
			t.Fatalf("arrival %v is not a whole second", b.arrive.time())
		}
	}
	slices.SortStableFunc(vs, func(a, b v) int {
		if c := a.arrive.Compare(b.arrive); c != 0 {
			return c
		}
		return a.through.Compare(b.through)
	})
	var free time.Time
	for i, x := range vs {
		begin := x.arrive
		if free.After(begin) {
			begin = free
		}
		earliest := begin.Add(time.Duration(float64(x.people) / g.perSecond * float64(time.Second)))
		if x.through.Add(2 * time.Second).Before(earliest) {
			t.Fatalf("turn %d: through at %v, earliest %v", i, x.through, earliest)
		}
		free = x.through
		if earliest.After(free) {
			free = earliest
		}
		n := 0
		for _, y := range vs {
			if !y.arrive.After(x.arrive) && y.through.After(x.arrive) {
				n += y.people
			}
		}
		if n > g.CrowdLimit {
			t.Fatalf("%d waiting at %v, limit %d", n, x.arrive, g.CrowdLimit)
		}
	}
}
