package baseline

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
)

// NearestGate is what happens without muster: every household drives as
// soon as the operation starts, by the fastest path to the gate it can
// reach soonest, and queues there; each gate lets people through first
// come, first served at its throughput, however many wait.
//
// Simplified in the baseline's favour: the roads never jam (free-flow
// times however many drive), and people know which roads are blocked
// (forbidden arcs are closed), though not where the risk is (they do not
// detour round risky zones; their exposure counts it). A household whose
// start lies in a forbidden zone, or that no open road links to a usable
// gate, is unserved.
func NearestGate(ctx context.Context, in Input) (Outcome, error) {
	out := Outcome{Name: "nearest gate", MaxQueue: map[string]int{}}
	n, err := newNetwork(ctx, in)
	if err != nil {
		return out, err
	}
	out.People, out.Unserved = n.people, n.unserved
	type arrival struct {
		src     int
		timeMS  int64
		expo    float64
		people  int
		gateIdx int
	}
	best := make([]arrival, len(n.sources))
	for i := range best {
		best[i] = arrival{src: i, timeMS: math.MaxInt64, gateIdx: -1, people: n.sources[i].people}
	}
	for gi, g := range n.gates {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("nearest gate: %w", err)
		}
		tm, ex := n.towards(g.node)
		for i, s := range n.sources {
			if tm[s.node] < best[i].timeMS {
				best[i].timeMS, best[i].expo, best[i].gateIdx = tm[s.node], ex[s.node], gi
			}
		}
	}
	byGate := make([][]arrival, len(n.gates))
	served := 0
	shortest := math.Inf(1)
	for _, a := range best {
		if a.gateIdx < 0 {
			out.Unserved += a.people
			continue
		}
		byGate[a.gateIdx] = append(byGate[a.gateIdx], a)
		served += a.people
		out.Exposure += float64(a.people) * a.expo
		shortest = math.Min(shortest, float64(a.timeMS)/1000)
	}
	tp := 0.0
	for gi, g := range n.gates {
		tp += g.perSecond
		as := byGate[gi]
		// First come, first served; a tie goes to the lower source.
		slices.SortFunc(as, func(a, b arrival) int {
			if c := cmp.Compare(a.timeMS, b.timeMS); c != 0 {
				return c
			}
			return cmp.Compare(a.src, b.src)
		})
		free := 0.0
		vs := make([]visit, 0, len(as))
		for _, a := range as {
			arrive := float64(a.timeMS) / 1000
			through := math.Max(arrive, free) + float64(a.people)/g.perSecond
			free = through
			vs = append(vs, visit{arrive, through, a.people})
			out.MakespanS = math.Max(out.MakespanS, through)
		}
		out.MaxQueue[g.id] = maxWaiting(vs)
	}
	if served > 0 {
		out.LowerBoundS = float64(served)/tp + shortest
	}
	return out, nil
}
