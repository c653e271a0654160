package plan

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/route"
)

// Suggestion is what would serve a cluster of households the plan cannot:
// a rally point where they could all walk to (and from where a gate can be
// reached by car), or a vehicle pickup where walking cannot work. It is
// advice for the operator, not an instruction: the households stay in
// Unassigned until a plan made with the rally point added, or the pickup
// arranged, serves them.
type Suggestion struct {
	ID   string `json:"id"`   // S1, S2, ... the most people first
	Kind string `json:"kind"` // SuggestRally, SuggestPickup or SuggestByHand
	// Where: the graph node proposed as a rally point, or the point on the
	// car network a vehicle would stop at.
	Lat        float64  `json:"lat"`
	Lon        float64  `json:"lon"`
	Households []string `json:"households"`
	People     int      `json:"people"`
	// LongestWalkS is the longest walk to it of the households it would
	// serve, threat picture counted (a rally point only).
	LongestWalkS float64 `json:"longest_walk_s,omitempty"`
	// Gate is the gate reached soonest by car from it, DriveS the drive.
	Gate   string  `json:"gate,omitempty"`
	DriveS float64 `json:"drive_s,omitempty"`
	// Capacity is the most people a suggested rally point may cover: the
	// largest capacity the places file gives a rally point (0: none gives
	// one, no limit). Households beyond it within walking distance go to
	// other suggestions.
	Capacity int    `json:"capacity,omitempty"`
	Why      string `json:"why"`
}

// Suggestion kinds.
const (
	SuggestRally  = "rally_point"    // a new rally point the households can walk to
	SuggestPickup = "vehicle_pickup" // no place in their walk reaches a gate: fetch them by vehicle
	SuggestByHand = "by_hand"        // not even a vehicle can reach them by road: plan by hand
)

// suggestedCodes are the reasons a new rally point or a vehicle could
// answer: the household is where no rally point is within its walk.
var suggestedCodes = map[string]bool{
	UnservedNoRoad: true, UnservedMaxWalk: true, UnservedCutOff: true, UnservedNoRally: true,
}

const (
	// suggestCarReachM is how near a car road a proposed rally point must
	// be: its groups board there.
	suggestCarReachM = 200
	// pickupClusterM groups households for one vehicle pickup: those
	// within this distance of the first.
	pickupClusterM = 500
	// suggestBudget bounds the nodes the walking searches may reach in
	// all (each is 8 bytes in the coverage lists): some 40 MB, a
	// thousand households' walks of 45 min in a dense city. The
	// households past it are not searched; a plan that leaves so many
	// without a rally point has a first thing to fix.
	suggestBudget = 5_000_000
)

// carAccess is how a point reaches a gate by car.
type carAccess struct {
	ok    bool
	at    orb.Point // where it meets the car network
	gate  int       // index into gates
	drive uint32    // ms
}

// suggester answers, for points, the drive to the nearest usable gate.
type suggester struct {
	in    Input
	gates []*gateState
	costs [][]uint32 // per usable gate: every car node's cost to it
	gi    []int      // the gate each costs array is for
}

func newSuggester(in Input, gates []*gateState) *suggester {
	s := &suggester{in: in, gates: gates}
	for i, g := range gates {
		if !g.Usable {
			continue
		}
		snap, err := in.Car.Snap(g.point)
		if err != nil {
			continue
		}
		s.costs = append(s.costs, in.Car.CostsTo(snap))
		s.gi = append(s.gi, i)
	}
	return s
}

// access is how point p reaches a gate by car, from within reachM of it.
func (s *suggester) access(p orb.Point, reachM float64) carAccess {
	snap, err := s.in.Car.Snap(p)
	if err != nil || snap.DistanceM > reachM {
		return carAccess{}
	}
	best := carAccess{}
	for k, costs := range s.costs {
		if c := s.in.Car.CostAt(costs, snap); c != route.Inf && (!best.ok || c < best.drive) {
			best = carAccess{ok: true, at: snap.Point, gate: s.gi[k], drive: c}
		}
	}
	return best
}

// SuggestedCapacity is the most people a suggested rally point may cover:
// the largest capacity the places file gives a rally point, as a new one
// could be no larger than the largest the operation has; 0 when none
// gives one (rally points without a limit).
func SuggestedCapacity(ps *muster.Places) int {
	c := 0
	if ps == nil {
		return 0
	}
	for _, pl := range ps.Places {
		if pl.Kind == muster.PlaceRally {
			c = max(c, pl.Capacity)
		}
	}
	return c
}

// suggest proposes, for the households the plan could not serve because no
// rally point is within their walk, where rally points would serve them
// (greedy maximum coverage: the graph node that the most of their people
// can walk to within their limit, and that reaches a gate by car, then
// the next for those left, ...), and a vehicle pickup for those no such
// place serves. Every such household ends up in exactly one suggestion.
// A suggested rally point covers no more people than a rally point may
// hold (SuggestedCapacity): the nearest of those who can walk to it first;
// the others go to the next nodes, so a cluster too large for one rally
// point is split among several.
func suggest(ctx context.Context, in Input, p Params, pl *Plan, gates []*gateState) []Suggestion {
	byID := make(map[string]*muster.Household, len(in.Households))
	for i := range in.Households {
		byID[in.Households[i].ID] = &in.Households[i]
	}
	var todo []*muster.Household
	for _, u := range pl.Unassigned {
		if h := byID[u.Household]; h != nil && suggestedCodes[u.Code] && h.HasLocation && h.PartySize > 0 {
			todo = append(todo, h)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	s := newSuggester(in, gates)
	foot, w := in.Foot.Graph(), in.Foot.Weights()
	capacity := SuggestedCapacity(in.Places)
	fits := func(h *muster.Household) bool { return capacity <= 0 || h.PartySize <= capacity }

	// Every node each household can walk to within its limit.
	type reach struct {
		h     int
		costs uint32
	}
	covers := map[uint32][]reach{} // node -> households that can walk to it
	fp := piecesOf(foot)
	piece := make([]int32, len(todo))
	searched, reached := 0, 0
	for i, h := range todo {
		piece[i] = -1
		if reached > suggestBudget {
			continue // too many to search: a vehicle, below
		}
		snap, err := in.Foot.Snap(orb.Point{h.Lon, h.Lat})
		if err != nil {
			continue
		}
		piece[i] = fp.label[snap.Tail]
		limit := uint32(math.Min(walkLimit(p, h)*1000, route.Inf-1))
		for node, c := range walkable(foot, w, snap, limit) {
			covers[node] = append(covers[node], reach{i, c})
			reached++
		}
		searched++
		if ctx.Err() != nil {
			return nil
		}
	}
	unsearched := len(todo) - searched
	access := map[uint32]carAccess{}
	zones := in.Foot.Zones()
	accessOf := func(node uint32) carAccess {
		a, ok := access[node]
		if !ok {
			// Never a rally point inside a forbidden zone.
			if pt := foot.NodePoint(node); inForbidden(pt, zones) == "" {
				a = s.access(pt, suggestCarReachM)
			}
			access[node] = a
		}
		return a
	}

	// Greedy maximum coverage, lazily: a node's gain only shrinks as
	// households are covered, so a stale gain is an upper bound.
	main := int32(0) // the largest piece: the others are cut off from it
	for pc, n := range fp.sizes {
		if n > fp.sizes[main] {
			main = int32(pc)
		}
	}
	covered := make([]bool, len(todo))
	// A node's gain is the people it could cover, no more than a rally
	// point holds: an upper bound on what it takes, which only shrinks as
	// households are covered (the lazy greedy's premise).
	gain := func(node uint32) (people int, walk uint64) {
		for _, r := range covers[node] {
			if !covered[r.h] && fits(todo[r.h]) {
				people += todo[r.h].PartySize
				walk += uint64(r.costs)
			}
		}
		if capacity > 0 {
			people = min(people, capacity)
		}
		return people, walk
	}
	q := &gainHeap{}
	for node := range covers {
		if people, walk := gain(node); people > 0 {
			q.items = append(q.items, gainItem{node, people, walk})
		}
	}
	heap.Init(q)
	var out []Suggestion
	for q.Len() > 0 && ctx.Err() == nil {
		top := heap.Pop(q).(gainItem)
		people, walk := gain(top.node)
		if people == 0 {
			continue
		}
		if people != top.people || walk != top.walk {
			heap.Push(q, gainItem{top.node, people, walk})
			continue
		}
		a := accessOf(top.node)
		if !a.ok {
			continue // no gate by car from here: not a rally point
		}
		pt := foot.NodePoint(top.node)
		sg := Suggestion{Kind: SuggestRally, Lat: round6(pt[1]), Lon: round6(pt[0]), Gate: gates[a.gate].ID, DriveS: round1(float64(a.drive) / 1000), Capacity: capacity}
		// The nearest first, as long as they fit; a node is suggested
		// once, so those left walk to another.
		near := slices.Clone(covers[top.node])
		delete(covers, top.node)
		slices.SortFunc(near, func(a, b reach) int {
			return cmp.Or(cmp.Compare(a.costs, b.costs), cmp.Compare(todo[a.h].ID, todo[b.h].ID))
		})
		cut, left := 0, 0
		for _, r := range near {
			h := todo[r.h]
			if covered[r.h] || !fits(h) {
				continue
			}
			if capacity > 0 && sg.People+h.PartySize > capacity {
				left += h.PartySize
				continue
			}
			covered[r.h] = true
			sg.Households = append(sg.Households, h.ID)
			sg.People += h.PartySize
			sg.LongestWalkS = math.Max(sg.LongestWalkS, round1(float64(r.costs)/1000))
			if piece[r.h] >= 0 && piece[r.h] != main {
				cut++
			}
		}
		sg.Why = fmt.Sprintf("a rally point here would serve %s (%d people) within their walk (the longest %.0f min); %s is a %.0f min drive from it",
			householdsN(len(sg.Households)), sg.People, math.Ceil(sg.LongestWalkS/60), sg.Gate, math.Ceil(sg.DriveS/60))
		if capacity > 0 {
			sg.Why += fmt.Sprintf("; it would hold up to %d people at once (the largest capacity of a rally point in the places file)", capacity)
			if left > 0 {
				sg.Why += fmt.Sprintf(": %d more people within walking distance of it are left to other suggestions", left)
			}
		}
		if cut > 0 {
			sg.Why += fmt.Sprintf("; %d of them live on a walkable piece that no footpath joins to the rest", cut)
		}
		out = append(out, sg)
	}

	// The rest: a vehicle from their door, clustered.
	var rest []int
	for i := range todo {
		if !covered[i] {
			rest = append(rest, i)
		}
	}
	done := make([]bool, len(todo))
	for _, i := range rest {
		if done[i] {
			continue
		}
		seed := orb.Point{todo[i].Lon, todo[i].Lat}
		var members []int
		for _, j := range rest {
			if !done[j] && muster.DistanceM(seed[0], seed[1], todo[j].Lon, todo[j].Lat) <= pickupClusterM {
				done[j] = true
				members = append(members, j)
			}
		}
		sg := pickup(s, todo, members, gates)
		if large := len(slices.DeleteFunc(slices.Clone(members), func(j int) bool { return fits(todo[j]) })); large > 0 {
			sg.Why += fmt.Sprintf("; %d of these households are larger than a rally point may hold (%d people)", large, capacity)
		}
		if unsearched > 0 {
			sg.Why += fmt.Sprintf(" (%d households were too many to search for a rally point within their walk: add the rally points suggested and plan again)", unsearched)
		}
		out = append(out, sg)
	}
	slices.SortStableFunc(out, func(a, b Suggestion) int { return cmp.Compare(b.People, a.People) })
	for i := range out {
		out[i].ID = fmt.Sprintf("S%d", i+1)
	}
	return out
}

// pickup proposes a vehicle for households near each other: from the point
// of the car network nearest their middle that reaches a gate.
func pickup(s *suggester, todo []*muster.Household, members []int, gates []*gateState) Suggestion {
	var mid orb.Point
	sg := Suggestion{}
	for _, j := range members {
		h := todo[j]
		sg.Households = append(sg.Households, h.ID)
		sg.People += h.PartySize
		mid[0] += h.Lon / float64(len(members))
		mid[1] += h.Lat / float64(len(members))
	}
	a := s.access(mid, math.Inf(1))
	for _, j := range members {
		if a.ok {
			break
		}
		a = s.access(orb.Point{todo[j].Lon, todo[j].Lat}, math.Inf(1))
	}
	if !a.ok {
		sg.Kind, sg.Lat, sg.Lon = SuggestByHand, round6(mid[1]), round6(mid[0])
		sg.Why = fmt.Sprintf("%s (%d people): no place within their walk reaches a gate by car, and no car road near them does either: plan them by hand", householdsN(len(members)), sg.People)
		return sg
	}
	sg.Kind, sg.Lat, sg.Lon = SuggestPickup, round6(a.at[1]), round6(a.at[0])
	sg.Gate, sg.DriveS = gates[a.gate].ID, round1(float64(a.drive)/1000)
	far := 0.0
	for _, j := range members {
		far = math.Max(far, muster.DistanceM(a.at[0], a.at[1], todo[j].Lon, todo[j].Lat))
	}
	sg.Why = fmt.Sprintf("%s (%d people): no place within their walk reaches a gate by car; a vehicle waiting at this point of the car network, at most %.0f m from their homes, reaches %s in %.0f min",
		householdsN(len(members)), sg.People, math.Ceil(far), sg.Gate, math.Ceil(sg.DriveS/60))
	return sg
}

// walkable returns every node that can be reached from the snapped point
// within limit ms under the weights w, and the cost to it.
func walkable(g *roadgraph.Graph, w []uint32, s roadgraph.Snap, limit uint32) map[uint32]uint32 {
	dist := map[uint32]uint32{}
	q := &distHeap{}
	push := func(node, c uint32) {
		if c > limit {
			return
		}
		if old, ok := dist[node]; ok && old <= c {
			return
		}
		dist[node] = c
		heap.Push(q, distItem{node, c})
	}
	switch {
	case s.Arc == route.Inf || s.Fraction <= 0:
		push(s.Tail, 0)
	case s.Fraction >= 1:
		push(g.Head[s.Arc], 0)
	default:
		if c := w[s.Arc]; c != route.Inf {
			push(g.Head[s.Arc], uint32(math.Round(float64(c)*(1-s.Fraction))))
		}
		if s.Reverse >= 0 {
			if c := w[s.Reverse]; c != route.Inf {
				push(s.Tail, uint32(math.Round(float64(c)*s.Fraction)))
			}
		}
	}
	for q.Len() > 0 {
		it := heap.Pop(q).(distItem)
		if it.cost != dist[it.node] {
			continue
		}
		for a := g.FirstOut[it.node]; a < g.FirstOut[it.node+1]; a++ {
			if c := w[a]; c != route.Inf {
				push(g.Head[a], it.cost+c)
			}
		}
	}
	return dist
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

type distItem struct{ node, cost uint32 }
type distHeap []distItem

func (h distHeap) Len() int           { return len(h) }
func (h distHeap) Less(i, j int) bool { return h[i].cost < h[j].cost }
func (h distHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *distHeap) Push(x any)        { *h = append(*h, x.(distItem)) }
func (h *distHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

type gainItem struct {
	node   uint32
	people int
	walk   uint64
}
type gainHeap struct{ items []gainItem }

func (h *gainHeap) Len() int { return len(h.items) }
func (h *gainHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	if a.people != b.people {
		return a.people > b.people
	}
	if a.walk != b.walk {
		return a.walk < b.walk
	}
	return a.node < b.node
}
func (h *gainHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *gainHeap) Push(x any)    { h.items = append(h.items, x.(gainItem)) }
func (h *gainHeap) Pop() any {
	it := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return it
}

// SuggestionsLine says in one line what the suggestions would serve: how
// many rally points, pickups and households to plan by hand, and their
// people.
func SuggestionsLine(ss []Suggestion) string {
	if len(ss) == 0 {
		return ""
	}
	count, people := map[string]int{}, map[string]int{}
	for _, s := range ss {
		count[s.Kind]++
		people[s.Kind] += s.People
	}
	var parts []string
	for _, k := range []struct{ kind, one, many string }{
		{SuggestRally, "new rally point", "new rally points"},
		{SuggestPickup, "vehicle pickup", "vehicle pickups"},
		{SuggestByHand, "cluster to plan by hand", "clusters to plan by hand"},
	} {
		if n := count[k.kind]; n > 0 {
			name := k.many
			if n == 1 {
				name = k.one
			}
			parts = append(parts, fmt.Sprintf("%d %s for %d people", n, name, people[k.kind]))
		}
	}
	return "suggested: " + strings.Join(parts, ", ") + " (the plan's suggestions say where)"
}

func householdsN(n int) string {
	if n == 1 {
		return "1 household"
	}
	return fmt.Sprintf("%d households", n)
}
