package simulate

import (
	"math"
	"slices"
)

// Fruin's levels of service for queuing areas, as the brief for exercises
// gives them: level E from 3.3 people per square metre (uncomfortable,
// no movement within the queue), level F from 5 (crowds crush).
const (
	FruinE = 3.3
	FruinF = 5.0
	// DefaultDensityAtLimit is the density a gate's crowd limit is taken
	// to mean when its queuing area is not given: the area is the crowd
	// limit over 2 people per square metre (Fruin's level D), the density
	// at which a queue still moves safely. docs/exercise.md says why.
	DefaultDensityAtLimit = 2.0
	// minQueueAreaM2 is the least queuing area a gate is given.
	minQueueAreaM2 = 20.0
)

// LevelOfService is Fruin's level for a queue's density, A to F.
func LevelOfService(density float64) string {
	switch {
	case density >= FruinF:
		return "F"
	case density >= FruinE:
		return "E"
	case density >= 1.5:
		return "D"
	case density >= 1.1:
		return "C"
	case density >= 0.8:
		return "B"
	default:
		return "A"
	}
}

// exposure accumulates person-risk-seconds and who was ever exposed.
type exposure struct {
	riskSeconds float64
	gateSeconds float64 // of which waiting at gates
}

func (e *exposure) add(people int, risk, seconds float64) {
	if risk > 0 && seconds > 0 && people > 0 {
		e.riskSeconds += float64(people) * risk * seconds
	}
}

// series holds the minute by minute measurements.
type series struct {
	minutes   []float64 // minutes from the start
	safe      []int
	states    [][numStates]int
	gateQueue [][]int // [gate][minute]: most people waiting during the minute
	gateFlow  [][]int // [gate][minute]: people through during the minute
}

func (w *world) sample() {
	s := &w.series
	if s.gateQueue == nil {
		s.gateQueue = make([][]int, len(w.gates))
		s.gateFlow = make([][]int, len(w.gates))
	}
	s.minutes = append(s.minutes, w.now/60)
	s.safe = append(s.safe, w.states[stSafe])
	s.states = append(s.states, w.states)
	for gi, g := range w.gates {
		s.gateQueue[gi] = append(s.gateQueue[gi], max(g.minuteMax, g.waiting))
		s.gateFlow[gi] = append(s.gateFlow[gi], g.minuteThru)
		g.minuteMax, g.minuteThru = g.waiting, 0
		if g.waiting > 0 {
			r := riskAt(g.pt, w.rd.zones)
			w.expo.add(g.waiting, r, sampleS)
			if r > 0 {
				w.expo.gateSeconds += float64(g.waiting) * r * sampleS
			}
		}
		if g.countPending == 0 {
			g.sinceCount = w.now
		}
		if w.plan != nil && (g.countPending > 0 || (g.waiting > 0 && len(s.minutes)%5 == 0)) {
			w.gateEvents(g)
		}
	}
}

func (w *world) finishSeries() {
	w.sample()
}

// percentileTime is when the safe count first reached share of n, in
// seconds; -1 if never.
func (s *series) percentileTime(n int, share float64) float64 {
	if n == 0 {
		return -1
	}
	want := int(math.Ceil(share * float64(n)))
	i, found := slices.BinarySearchFunc(s.safe, want, func(a, b int) int { return a - b })
	if !found && i >= len(s.safe) {
		return -1
	}
	for i > 0 && s.safe[i-1] >= want {
		i--
	}
	return s.minutes[i] * 60
}

func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	ys := slices.Clone(xs)
	slices.Sort(ys)
	i := int(math.Ceil(q*float64(len(ys)))) - 1
	return ys[max(0, min(i, len(ys)-1))]
}
