package plan_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
	"github.com/muster-evac/muster/plancheck"
)

// withPlaces returns a copy of the city's places with change applied to
// the place of the given id.
func withPlaces(c *city, change map[string]func(*muster.Place)) *muster.Places {
	pl := &muster.Places{Timezone: c.places.Timezone, Places: append([]muster.Place(nil), c.places.Places...)}
	for i := range pl.Places {
		if f := change[pl.Places[i].ID]; f != nil {
			f(&pl.Places[i])
		}
	}
	return pl
}

func peopleAt(p *plan.Plan) map[string]int {
	m := map[string]int{}
	for _, g := range p.Groups {
		m[g.RallyPoint] += g.People
	}
	return m
}

func busiest(m map[string]int) string {
	best := ""
	for id, n := range m {
		if best == "" || n > m[best] || (n == m[best] && id < best) {
			best = id
		}
	}
	return best
}

func codes(p *plan.Plan) map[string]int {
	m := map[string]int{}
	for _, u := range p.Unassigned {
		m[u.Code]++
	}
	return m
}

// TestRallyCapacityOverTimeAndHours: the busiest rally point is cut to a
// capacity of 10 and opens for half an hour only: it can pass about 20
// people in that time (10 at once, each group gathering for 15 minutes).
// Its households fall back to the next rally points within their walk
// instead of waiting for the next day, and nobody is left without a gate.
func TestRallyCapacityOverTimeAndHours(t *testing.T) {
	c := generatedCity(t, 3, 0.5)
	hs := households(c.foot0, 600, 1)
	start := time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)
	ctx := context.Background()
	p0, err := plan.Make(ctx, plan.Input{Car: c.car, Foot: c.foot, Places: c.places, Households: hs, Params: plan.Params{Start: start}})
	if err != nil {
		t.Fatal(err)
	}
	before := peopleAt(p0)
	r := busiest(before)
	loc, err := time.LoadLocation(c.places.Timezone)
	if err != nil {
		t.Fatal(err)
	}
	opens, closes := start.In(loc).Format("15:04"), start.Add(30*time.Minute).In(loc).Format("15:04")
	places := withPlaces(c, map[string]func(*muster.Place){r: func(p *muster.Place) { p.Capacity, p.Opens, p.Closes = 10, opens, closes }})
	p, err := plan.Make(ctx, plan.Input{Car: c.car, Foot: c.foot, Places: places, Households: hs, Params: plan.Params{Start: start}})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, c, p, plancheck.Inputs{Places: places, Households: hs})
	// Those who can walk to another rally point go there, but for what
	// it can pass; the others wait for it to open again, or are unserved
	// when it cannot take them within the horizon.
	alt := elsewhere(t, c, places, hs, r, 2700)
	could, stayed, size := 0, 0, map[string]int{}
	for _, h := range hs {
		size[h.ID] = h.PartySize
	}
	for _, h := range p.Households {
		if h.RallyPoint == r {
			stayed += h.People
			if alt[h.ID] {
				could += h.People
			}
		}
	}
	t.Logf("%s: %d people before, %d after (%d of them could walk elsewhere); assigned %d -> %d; unassigned %v", r, before[r], stayed, could,
		p0.Summary.AssignedPeople, p.Summary.AssignedPeople, codes(p))
	if could > 20+12 {
		t.Errorf("%d people sent to %s who could walk elsewhere; it can pass about 20 in its half hour", could, r)
	}
	if stayed >= before[r]/2 {
		t.Errorf("%d of %d people still at %s", stayed, before[r], r)
	}
	for _, u := range p.Unassigned {
		if u.Code == plan.UnservedNoGate && alt[u.Household] {
			t.Errorf("%s could walk to another rally point: %s", u.Household, u.Reason)
		}
		if u.Code == plan.UnservedNoGate && !strings.Contains(u.Reason, r+" is not open, or has no room, before the horizon") {
			t.Errorf("%s: %s", u.Household, u.Reason)
		}
	}
}

// elsewhere says, per household, whether it can walk to a rally point
// other than not within limitS (on the foot graph, no zones).
func elsewhere(t *testing.T, c *city, places *muster.Places, hs []muster.Household, not string, limitS float64) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, pl := range places.Places {
		if pl.Kind != muster.PlaceRally || pl.ID == not {
			continue
		}
		pt, _ := pl.Point()
		s, err := c.foot.Snap(pt)
		if err != nil {
			continue
		}
		costs := c.foot.CostsTo(s)
		for _, h := range hs {
			hsnap, err := c.foot.Snap(orb.Point{h.Lon, h.Lat})
			if err == nil && float64(c.foot.CostAt(costs, hsnap))/1000 <= limitS {
				out[h.ID] = true
			}
		}
	}
	return out
}

// TestSmallRallyPointsTakeWhatFits: two busy rally points hold 8 people at
// once. A household of more than 8 cannot gather there: it goes to the next
// rally point, not unserved with a wrong reason.
func TestSmallRallyPointsTakeWhatFits(t *testing.T) {
	c := generatedCity(t, 3, 0.5)
	hs := households(c.foot0, 600, 4)
	for i := range hs {
		if i%5 == 0 {
			hs[i].PartySize, hs[i].Children = 9+i%3, 8+i%3 // 9 to 11
		}
	}
	start := time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)
	ctx := context.Background()
	p0, err := plan.Make(ctx, plan.Input{Car: c.car, Foot: c.foot, Places: c.places, Households: hs, Params: plan.Params{Start: start}})
	if err != nil {
		t.Fatal(err)
	}
	before := peopleAt(p0)
	a := busiest(before)
	delete(before, a)
	b := busiest(before)
	small := func(p *muster.Place) { p.Capacity = 8 }
	places := withPlaces(c, map[string]func(*muster.Place){a: small, b: small})
	p, err := plan.Make(ctx, plan.Input{Car: c.car, Foot: c.foot, Places: places, Households: hs, Params: plan.Params{Start: start}})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, c, p, plancheck.Inputs{Places: places, Households: hs})
	size := map[string]int{}
	for _, h := range hs {
		size[h.ID] = h.PartySize
	}
	for _, h := range p.Households {
		if (h.RallyPoint == a || h.RallyPoint == b) && size[h.ID] > 8 {
			t.Errorf("household %s of %d sent to %s, which holds 8", h.ID, size[h.ID], h.RallyPoint)
		}
	}
	// A household too large for them that can walk to another goes there;
	// one that cannot is too large, and told why.
	altA, altB := elsewhere(t, c, places, hs, a, 2700), elsewhere(t, c, places, hs, b, 2700)
	for _, u := range p.Unassigned {
		switch {
		case u.Code == plan.UnservedNoGate:
			t.Errorf("%s: %s: %s", u.Household, u.Code, u.Reason)
		case u.Code == plan.UnservedTooLarge && altA[u.Household] && altB[u.Household]:
			t.Errorf("%s could walk to another rally point: %s", u.Household, u.Reason)
		case u.Code == plan.UnservedTooLarge && !strings.Contains(u.Reason, "8, its capacity"):
			t.Errorf("%s: %s", u.Household, u.Reason)
		}
	}
	t.Logf("unassigned %v (with every rally point as it was: %v)", codes(p), codes(p0))
}

// TestMobilityWalkLimit: households with mobility needs are asked to walk
// no more than their own limit; those farther are unserved with a reason
// that names that limit and what would serve them, while others at the
// same distance walk.
func TestMobilityWalkLimit(t *testing.T) {
	c := generatedCity(t, 3, 0.5)
	hs := households(c.foot0, 600, 6)
	for i := range hs {
		if i%4 == 0 {
			hs[i].Priority = muster.PriorityMobility
		}
	}
	start := time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)
	params := plan.Params{Start: start, MobilityMaxWalkS: 300}
	p, err := plan.Make(context.Background(), plan.Input{Car: c.car, Foot: c.foot, Places: c.places, Households: hs, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, c, p, plancheck.Inputs{Places: c.places, Households: hs, Limits: plancheck.Limits{MaxWalkMobilityS: params.MobilityMaxWalkS}})
	if p.Params.MobilityMaxWalkS != 300 {
		t.Errorf("params say %v s for mobility", p.Params.MobilityMaxWalkS)
	}
	prio := map[string]string{}
	for _, h := range hs {
		prio[h.ID] = h.Priority
	}
	longOrdinary := 0
	for _, h := range p.Households {
		switch {
		case prio[h.ID] == muster.PriorityMobility && h.Walk.DurationS > 300:
			t.Errorf("household %s with mobility needs walks %.0f s", h.ID, h.Walk.DurationS)
		case prio[h.ID] != muster.PriorityMobility && h.Walk.DurationS > 300:
			longOrdinary++
		}
	}
	far := 0
	for _, u := range p.Unassigned {
		if prio[u.Household] != muster.PriorityMobility {
			continue
		}
		if u.Code != plan.UnservedMaxWalk || !strings.Contains(u.Reason, "mobility") || !strings.Contains(u.Reason, "--max-walk-mobility") {
			t.Errorf("%s: %s: %s", u.Household, u.Code, u.Reason)
		}
		far++
	}
	if far == 0 || longOrdinary == 0 {
		t.Errorf("%d mobility households too far, %d others walking more than 5 min: the test shows nothing", far, longOrdinary)
	}
}

// TestSmallGateTakesSmallGroups: one gate holds only 6 people at once.
// Groups bound for it are no larger; groups elsewhere are not shrunk, and
// no household of up to 12 is too large.
func TestSmallGateTakesSmallGroups(t *testing.T) {
	c := generatedCity(t, 3, 0.5)
	hs := households(c.foot0, 600, 7)
	places := withPlaces(c, map[string]func(*muster.Place){"gate-abbey": func(p *muster.Place) { p.CrowdLimit = 6 }})
	start := time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)
	p, err := plan.Make(context.Background(), plan.Input{Car: c.car, Foot: c.foot, Places: places, Households: hs, Params: plan.Params{Start: start}})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, c, p, plancheck.Inputs{Places: places, Households: hs})
	atSmall, largest := 0, 0
	var smallLast, last time.Time
	for _, g := range p.Groups {
		if g.Gate == "gate-abbey" {
			atSmall++
			if g.People > 6 {
				t.Errorf("group %s of %d at the gate that holds 6", g.ID, g.People)
			}
			if g.Through.After(smallLast) {
				smallLast = g.Through
			}
		}
		if g.Through.After(last) {
			last = g.Through
		}
		largest = max(largest, g.People)
	}
	// Groups sized for it keep it busy to the end, not only while small
	// households happen to come.
	if smallLast.Sub(start) < last.Sub(start)*9/10 {
		t.Errorf("the small gate's last group is through at +%v, the plan ends at +%v", smallLast.Sub(start), last.Sub(start))
	}
	if atSmall == 0 {
		t.Errorf("the small gate is not used")
	}
	if largest <= 6 {
		t.Errorf("the largest group is %d: every group was shrunk to the small gate's limit", largest)
	}
	if n := codes(p)[plan.UnservedTooLarge]; n > 0 {
		t.Errorf("%d households too large", n)
	}
	t.Logf("%d groups at the small gate; largest group %d; makespan/bound %.3f; unassigned %v", atSmall, largest, p.Summary.Ratio, codes(p))
}

// TestPriorityNeverBehind: no group passes a gate ahead of a group of
// heavier priority weight that could have taken its turn: one that could
// be at that gate by the lighter group's arrival (its last household's
// walk, then the drive) and is no larger. Rally points hold everyone, so
// that only the gates decide.
func TestPriorityNeverBehind(t *testing.T) {
	c := generatedCity(t, 5, 0.5)
	hs := households(c.foot0, 900, 9)
	for i := range hs {
		if i%4 == 0 {
			hs[i].Priority = muster.Priorities[1+i%(len(muster.Priorities)-1)]
		}
	}
	places := withPlaces(c, nil)
	for i := range places.Places {
		places.Places[i].Capacity, places.Places[i].Opens, places.Places[i].Closes = 0, "", ""
	}
	start := time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)
	p, err := plan.Make(context.Background(), plan.Input{Car: c.car, Foot: c.foot, Places: places, Households: hs, Params: plan.Params{Start: start}})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, c, p, plancheck.Inputs{Places: places, Households: hs})
	walk := map[string]float64{}
	for _, h := range p.Households {
		walk[h.ID] = h.Walk.DurationS
	}
	byGate := map[string][]plan.Group{}
	for _, g := range p.Groups {
		byGate[g.Gate] = append(byGate[g.Gate], g)
	}
	compared := 0
	for _, gs := range byGate {
		for _, heavy := range gs {
			if heavy.Weight == 0 {
				continue
			}
			ready := 0.0
			for _, id := range heavy.Households {
				ready = max(ready, walk[id])
			}
			earliest := start.Add(time.Duration((ready + heavy.Route.DurationS) * float64(time.Second)))
			for _, light := range gs {
				if light.Weight >= heavy.Weight || light.People < heavy.People || light.Arrival.Before(earliest) {
					continue
				}
				compared++
				if light.Through.Before(heavy.Through) {
					t.Errorf("group %s (weight %d, %d people) through at %s, behind group %s (weight %d, %d people, arrived %s) it could have preceded",
						heavy.ID, heavy.Weight, heavy.People, heavy.Through.Format(time.TimeOnly), light.ID, light.Weight, light.People, light.Arrival.Format(time.TimeOnly))
				}
			}
		}
	}
	if compared == 0 {
		t.Fatal("no pair of groups to compare: the test shows nothing")
	}
	t.Logf("%d pairs compared", compared)
}
