package plan

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
)

// assignRallies sends each household to the rally point it can walk to
// soonest under the threat picture (one many-to-one sweep of the foot graph
// per rally point), then finds its walking route.
func assignRallies(ctx context.Context, in Input, p Params, rallies []*rallyState, maxGroup int, progress func(string, int, int)) ([]*member, []Unassigned) {
	var unassigned []Unassigned
	type home struct {
		h    *muster.Household
		snap roadgraph.Snap
		best uint32
		r    int
	}
	var homes []*home
	for i := range in.Households {
		h := &in.Households[i]
		switch {
		case h.PartySize <= 0:
			unassigned = append(unassigned, Unassigned{h.ID, UnservedEmpty, "no people in the household"})
			continue
		case h.PartySize > maxGroup:
			unassigned = append(unassigned, Unassigned{h.ID, UnservedTooLarge, fmt.Sprintf("a household of %d is larger than the largest group allowed (%d): plan it by hand or raise the maximum group size", h.PartySize, maxGroup)})
			continue
		case !h.HasLocation:
			unassigned = append(unassigned, Unassigned{h.ID, UnservedNoLocation, "no coordinates: locate the household first"})
			continue
		}
		s, err := in.Foot.Snap(orb.Point{h.Lon, h.Lat})
		if err != nil {
			unassigned = append(unassigned, Unassigned{h.ID, UnservedNoRoad, "cannot walk from the household's location: " + err.Error()})
			continue
		}
		homes = append(homes, &home{h: h, snap: s, best: route.Inf, r: -1})
	}

	// One sweep per usable rally point, spread over the cores.
	var usable []int
	for ri, r := range rallies {
		if r.Usable {
			usable = append(usable, ri)
		}
	}
	if len(usable) == 0 {
		// Say why for everyone at once, in the operator's terms.
		why := "no rally point is usable: " + rallyReasons(rallies)
		for _, hm := range homes {
			unassigned = append(unassigned, Unassigned{hm.h.ID, UnservedNoRally, why})
		}
		return nil, unassigned
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := 0
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next >= len(usable) || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				ri := usable[next]
				next++
				if next%16 == 0 {
					progress("walking distances to rally points", next, len(usable))
				}
				mu.Unlock()
				rs, err := in.Foot.Snap(rallies[ri].point)
				if err != nil {
					continue
				}
				costs := in.Foot.CostsTo(rs)
				for _, hm := range homes {
					c := in.Foot.CostAt(costs, hm.snap)
					if c == route.Inf {
						continue
					}
					mu.Lock()
					if c < hm.best || (c == hm.best && ri < hm.r) {
						hm.best, hm.r = c, ri
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()

	// Walking routes, in parallel; the sweep's cost includes the risk
	// penalty, the route's duration is what the schedule needs.
	members := make([]*member, len(homes))
	reasons := make([]Unassigned, len(homes))
	var done int
	jobs := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				hm := homes[i]
				m, why := walkTo(ctx, in, p, rallies, hm.h, hm.r)
				members[i], reasons[i] = m, why
				mu.Lock()
				done++
				if done%512 == 0 {
					progress("walking routes", done, len(homes))
				}
				mu.Unlock()
			}
		}()
	}
	for i := range homes {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	var out []*member
	for i, m := range members {
		if m != nil {
			out = append(out, m)
		} else if reasons[i].Reason != "" {
			unassigned = append(unassigned, reasons[i])
		}
	}
	return out, unassigned
}

// walkTo routes a household to rally point ri, or, when no sweep reached it
// (its home lies in a forbidden zone, or the zones cut it off), to the
// nearest rally points by the router's way out of the zone.
func walkTo(ctx context.Context, in Input, p Params, rallies []*rallyState, h *muster.Household, ri int) (*member, Unassigned) {
	home := orb.Point{h.Lon, h.Lat}
	candidates := []int{ri}
	if ri < 0 {
		candidates = nearestRallies(rallies, home, 3)
	}
	var lastErr error
	for _, c := range candidates {
		res, err := in.Foot.Route(ctx, route.Request{From: home, To: rallies[c].point})
		if err != nil {
			lastErr = err
			continue
		}
		if res.Approach != nil {
			continue // the rally point itself is in a forbidden zone
		}
		walkS := res.Routes[0].DurationS
		if res.Escape != nil {
			walkS += res.Escape.DurationS
		}
		if walkS > p.MaxWalkS {
			return nil, Unassigned{h.ID, UnservedMaxWalk, fmt.Sprintf("the nearest rally point (%s) is a %.0f min walk away, more than the %.0f min allowed", rallies[c].ID, walkS/60, p.MaxWalkS/60)}
		}
		return &member{h: h, route: walkRoute(res), walkS: walkS, rally: c}, Unassigned{}
	}
	if lastErr != nil && muster.ErrorCode(lastErr) != muster.EUNREACHABLE {
		return nil, Unassigned{h.ID, UnservedNoRoad, "cannot walk to a rally point: " + lastErr.Error()}
	}
	return nil, Unassigned{h.ID, UnservedUnreachable, "no rally point can be reached on foot without crossing a forbidden zone"}
}

func nearestRallies(rallies []*rallyState, p orb.Point, k int) []int {
	type cand struct {
		i int
		d float64
	}
	var cs []cand
	for i, r := range rallies {
		if r.Usable {
			cs = append(cs, cand{i, muster.DistanceM(p[0], p[1], r.point[0], r.point[1])})
		}
	}
	slices.SortFunc(cs, func(a, b cand) int { return int(math.Copysign(1, a.d-b.d)) })
	var out []int
	for i := 0; i < len(cs) && i < k; i++ {
		out = append(out, cs[i].i)
	}
	return out
}

// rallyReasons summarises why rally points are unusable, most common first.
func rallyReasons(rallies []*rallyState) string {
	if len(rallies) == 0 {
		return "the places file has no rally point"
	}
	count := map[string]int{}
	for _, r := range rallies {
		for _, why := range r.Reasons {
			count[why]++
		}
	}
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if count[a] != count[b] {
			return count[b] - count[a]
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for i, k := range keys {
		if i == 3 {
			break
		}
		parts = append(parts, fmt.Sprintf("%d of %d: %s", count[k], len(rallies), k))
	}
	return strings.Join(parts, "; ")
}
