package scenario_test

import (
	"context"
	"testing"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/scenario"
)

// Any options either give a scenario that is what they asked for, or a
// clear error; never a panic.
func FuzzGenerate(f *testing.F) {
	f.Add(int64(1), 50, 160, 8, 4, 0.0, 0.0, 1000.0, 2000.0, 0.0)
	f.Add(int64(2), 10, 10, 1, 2, 0.01, -0.01, 500.0, 800.0, -1.0)
	f.Add(int64(3), 10, 100, 3, 7, 0.0, 0.0, 2000.0, 1000.0, 0.5)
	f.Add(int64(-4), 0, 0, 0, 0, 1e9, 0.0, 0.0, 0.0, 2.0)
	f.Fuzz(func(t *testing.T, seed int64, households, people, rallies, gates int, dLon, dLat, inner, outer, share float64) {
		c := generatedCity(t)
		// Keep each run small: the sizes that matter are the edge cases.
		if households > 200 || people > 2000 || rallies > 30 || gates > 12 {
			t.Skip()
		}
		o := scenario.Options{Seed: seed, Households: households, TargetPeople: people, RallyPoints: rallies, Gates: gates,
			AirportCenter: orb.Point{c.airport[0] + dLon, c.airport[1] + dLat}, GateRingM: [2]float64{inner, outer}, RallyHoursShare: share}
		s, err := scenario.Generate(context.Background(), c.car, c.foot, o)
		if err != nil {
			if muster.ErrorCode(err) != muster.EINVALID {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		want := s.Options
		if len(s.Households) != want.Households || s.People() != want.TargetPeople ||
			len(s.Gates()) != want.Gates || len(s.RallyPoints()) != want.RallyPoints {
			t.Fatalf("asked %+v, got %d households of %d people, %d gates, %d rally points",
				want, len(s.Households), s.People(), len(s.Gates()), len(s.RallyPoints()))
		}
		for _, g := range s.Gates() {
			p := g.Geometry.(orb.Point)
			d := muster.DistanceM(p[0], p[1], want.AirportCenter[0], want.AirportCenter[1])
			if d < want.GateRingM[0]-50 || d > want.GateRingM[1]+50 {
				t.Fatalf("gate %s %.0f m from the airport, ring %v", g.ID, d, want.GateRingM)
			}
		}
		if s.Threat.GateStatus[s.Threat.ClosedGate] != muster.GateClosed {
			t.Fatalf("threat closes no gate: %+v", s.Threat)
		}
	})
}
