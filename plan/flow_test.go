package plan

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/muster-evac/muster"
)

// TestMinCostFlow: on random transportation problems, the flow keeps to
// each gate's capacity and each source's people, sends as much as Gale's
// condition allows, and no person could be moved to a cheaper gate with
// room, nor swapped with another at a saving.
func TestMinCostFlow(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 9))
		nG := 1 + rng.IntN(5)
		var srcs []source
		for i := 0; i < 1+rng.IntN(12); i++ {
			set := uint64(rng.IntN(1<<nG-1) + 1)
			srcs = append(srcs, source{rally: i, people: rng.IntN(100), gates: set})
		}
		caps := make([]float64, nG)
		for g := range caps {
			caps[g] = float64(rng.IntN(300))
		}
		costs := make([][]float64, len(srcs))
		for i := range costs {
			costs[i] = make([]float64, nG)
			for g := range costs[i] {
				costs[i][g] = float64(rng.IntN(50))
			}
		}
		f := minCostFlow(srcs, caps, func(si, gi int) float64 { return costs[si][gi] })
		sent := 0.0
		into := make([]float64, nG)
		for si, row := range f {
			out := 0.0
			for g, x := range row {
				if x < -1e-9 || (x > 1e-9 && srcs[si].gates&(1<<g) == 0) {
					t.Fatalf("seed %d: flow %v from source %d to gate %d (allowed %b)", seed, x, si, g, srcs[si].gates)
				}
				out += x
				into[g] += x
			}
			if out > float64(srcs[si].people)+1e-6 {
				t.Fatalf("seed %d: source %d sends %v of %d", seed, si, out, srcs[si].people)
			}
			sent += out
		}
		for g := range into {
			if into[g] > caps[g]+1e-6 {
				t.Fatalf("seed %d: gate %d takes %v of %v", seed, g, into[g], caps[g])
			}
		}
		// The most that can be sent, by Gale: the least over gate sets A of
		// cap(A) plus the people of sources not confined to A.
		most := math.Inf(1)
		for A := 0; A < 1<<nG; A++ {
			v := 0.0
			for g := 0; g < nG; g++ {
				if A&(1<<g) != 0 {
					v += caps[g]
				}
			}
			for _, s := range srcs {
				if s.gates&^uint64(A) != 0 {
					v += float64(s.people)
				}
			}
			most = math.Min(most, v)
		}
		if math.Abs(sent-most) > 1e-6 {
			t.Fatalf("seed %d: sent %v, the most is %v", seed, sent, most)
		}
		// No cheaper gate with room; no saving swap between two sources.
		for si, row := range f {
			for g, x := range row {
				if x <= 1e-9 {
					continue
				}
				for h := 0; h < nG; h++ {
					if srcs[si].gates&(1<<h) != 0 && caps[h]-into[h] > 1e-6 && costs[si][h] < costs[si][g]-1e-9 {
						t.Fatalf("seed %d: source %d could go to gate %d for less", seed, si, h)
					}
					for sj := range f {
						if sj != si && f[sj][h] > 1e-9 && srcs[si].gates&(1<<h) != 0 && srcs[sj].gates&(1<<g) != 0 &&
							costs[si][h]+costs[sj][g] < costs[si][g]+costs[sj][h]-1e-9 {
							t.Fatalf("seed %d: swapping sources %d and %d between gates %d and %d saves", seed, si, sj, g, h)
						}
					}
				}
			}
		}
	}
}

// TestRelaxSizesForSmallGate: a gate that holds 6 people at once gets its
// share of the people (by its throughput), all from households of 6 or
// fewer, and groups are formed for it from them.
func TestRelaxSizesForSmallGate(t *testing.T) {
	w := newToy(Params{Start: t0})
	w.gate("big", 1200, 200, "", "")
	w.gate("small", 1200, 6, "", "")
	r1 := w.rally("r1", 0, "", "", 300, 300)
	r2 := w.rally("r2", 0, "", "", 300, 600)
	var ms []*member
	for i := 0; i < 200; i++ {
		size := 1 + i%8 // 58% of the people in households of 6 or fewer
		ri := r1
		if i%2 == 1 {
			ri = r2
		}
		h := &muster.Household{ID: "h", PartySize: size, Priority: muster.PriorityNone}
		ms = append(ms, &member{h: h, walkS: float64(60 + i), rally: ri})
	}
	fits := []rallyFit{{maxGroup: 12, budget: math.Inf(1)}, {maxGroup: 12, budget: math.Inf(1)}}
	la := relax(w.p, w.gates, w.rallies, fits, ms, false)
	if la == nil {
		t.Fatal("no look-ahead")
	}
	people := 0
	for _, m := range ms {
		people += m.h.PartySize
	}
	toSmall := la.flow[r1][1] + la.flow[r2][1]
	if math.Abs(toSmall-float64(people)/2) > float64(people)/10 {
		t.Errorf("%.0f of %d people to the small gate, want about half", toSmall, people)
	}
	// 6 min to reach a gate, then 2,400 people an hour (a little less at
	// the small one).
	if T := time.Duration(la.T * float64(time.Second)); T < 6*time.Minute+time.Duration(people)*1500*time.Millisecond || T > 6*time.Minute+time.Duration(people)*1600*time.Millisecond {
		t.Errorf("the fluid makespan is %v", T)
	}
	drafts := formGroups(w.p, ms, fits, la)
	bound := 0
	for _, d := range drafts {
		if d.bound == 6 {
			bound += d.people
			if d.people > 6 {
				t.Errorf("a group of %d sized for the small gate", d.people)
			}
		}
	}
	if math.Abs(float64(bound)-toSmall) > 12 {
		t.Errorf("%d people in groups for the small gate, the look-ahead sends %.0f", bound, toSmall)
	}
}
