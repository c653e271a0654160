package operation

import (
	"fmt"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
)

// BenchPlan is a plan of the size of Porto's default scenario (100,000
// people: 28,000 households of 3 or 4 in 2,334 groups of 12 households,
// from 80 rally points to 6 gates) without its geometry, and the events of
// its first eight hours: half the households checked in, the groups due gone,
// seen and arrived, the gates counted each quarter hour. The live state's
// cost depends on these counts, not on the roads: the benchmarks of the
// live state (here and in httpapi) use it instead of planning Porto.
func BenchPlan(start time.Time) (p *plan.Plan, evs []muster.FieldEvent, now time.Time) {
	p = &plan.Plan{Version: plan.FormatVersion, Status: "current", Params: plan.Params{Start: start}}
	for g := range 6 {
		p.Gates = append(p.Gates, plan.Gate{ID: fmt.Sprintf("gate-%d", g), Status: "open", ThroughputPerHour: 2500})
	}
	for r := range 80 {
		p.RallyPoints = append(p.RallyPoints, plan.RallyPoint{ID: fmt.Sprintf("rp-%02d", r)})
	}
	const households, perGroup = 28_000, 12
	now = start.Add(8 * time.Hour)
	for g := 0; g*perGroup < households; g++ {
		dep := start.Add(time.Duration(g) * 4 * time.Second * 10) // 2,334 groups over ~26 hours
		grp := plan.Group{ID: fmt.Sprintf("G%05d", g), RallyPoint: fmt.Sprintf("rp-%02d", g%80), Gate: fmt.Sprintf("gate-%d", g%6),
			Departure: dep, Arrival: dep.Add(25 * time.Minute), Through: dep.Add(35 * time.Minute), ReportBy: dep.Add(-15 * time.Minute)}
		for k := range perGroup {
			i := g*perGroup + k
			if i >= households {
				break
			}
			h := plan.Household{ID: fmt.Sprintf("H%06d", i), RallyPoint: grp.RallyPoint, Group: grp.ID, ReportBy: grp.ReportBy, People: 3 + i%2*2}
			grp.Households = append(grp.Households, h.ID)
			grp.People += h.People
			p.Households = append(p.Households, h)
			if !h.ReportBy.After(now.Add(30*time.Minute)) && i%9 != 0 {
				evs = append(evs, muster.FieldEvent{ID: "ci-" + h.ID, Kind: muster.FieldCheckIn, At: h.ReportBy.Add(-3 * time.Minute), Household: h.ID, RallyPoint: h.RallyPoint})
			}
		}
		if dep.Before(now) {
			evs = append(evs, muster.FieldEvent{ID: "dep-" + grp.ID, Kind: muster.FieldDeparted, At: dep.Add(time.Minute), Group: grp.ID, Households: grp.Households[1:], People: grp.People - 3},
				muster.FieldEvent{ID: "seen-" + grp.ID, Kind: muster.FieldSeen, At: dep.Add(10 * time.Minute), Group: grp.ID, Lat: 41.2, Lon: -8.6})
			if grp.Arrival.Before(now) {
				evs = append(evs, muster.FieldEvent{ID: "arr-" + grp.ID, Kind: muster.FieldArrived, At: grp.Arrival, Group: grp.ID, Gate: grp.Gate})
			}
		}
		p.Groups = append(p.Groups, grp)
	}
	for g := range p.Gates {
		for t := start; t.Before(now); t = t.Add(15 * time.Minute) {
			evs = append(evs, muster.FieldEvent{ID: fmt.Sprintf("count-%d-%d", g, t.Unix()), Kind: muster.FieldGateCount, Since: t, At: t.Add(15 * time.Minute), Gate: p.Gates[g].ID, People: 500})
		}
	}
	for i := range evs {
		evs[i].Queue = -1
	}
	return p, evs, now
}
