package scenario

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
)

// Synthetic names: no real person is in a generated list.
var (
	givenNames  = []string{"Ahmad", "Farid", "Habib", "Jawad", "Karim", "Latif", "Mahmood", "Nasir", "Omid", "Rahim", "Sami", "Wahid", "Zaher", "Aziza", "Fatima", "Hamida", "Laila", "Mariam", "Nadia", "Parwana", "Roya", "Shabnam", "Zahra", "Soraya"}
	familyNames = []string{"Ahmadi", "Barakzai", "Durrani", "Hakimi", "Hotak", "Jalali", "Karimi", "Mohammadi", "Nazari", "Popal", "Qaderi", "Rahimi", "Sadat", "Stanikzai", "Wardak", "Yousufzai", "Zazai", "Noori", "Safi", "Amiri"}
)

// Languages and eligibilities with their shares, in per mille.
var (
	languageShares    = []share{{muster.LangDari, 500}, {muster.LangPashto, 350}, {muster.LangEnglish, 150}}
	eligibilityShares = []share{{"siv", 300}, {"partner", 250}, {"lpr", 150}, {"citizen", 100}, {"other", 200}}
)

type share struct {
	value    string
	perMille int
}

func pick(rng *rand.Rand, shares []share) string {
	r := rng.IntN(1000)
	for _, s := range shares {
		if r < s.perMille {
			return s.value
		}
		r -= s.perMille
	}
	return shares[len(shares)-1].value
}

// PriorityShare is the share of households with a priority, spread evenly
// over the priority kinds.
const PriorityShare = 0.10

// placeHouseholds puts households along residential streets, uniformly by
// street length, a few metres off the centre line.
func placeHouseholds(car *roadgraph.Graph, o Options, rng *rand.Rand) ([]muster.Household, error) {
	tails := car.Tails()
	var arcs []int
	var cum []float64 // cumulative length
	total := 0.0
	collect := func(keep func(a int) bool) {
		arcs, cum, total = arcs[:0], cum[:0], 0
		for a := 0; a < car.NumArcs(); a++ {
			if car.LengthM[a] > 0 && keep(a) && oneWayOrFirst(car, tails, a) {
				total += float64(car.LengthM[a])
				arcs = append(arcs, a)
				cum = append(cum, total)
			}
		}
	}
	collect(func(a int) bool { return residentialArc(car, a) })
	if total < 1000 {
		// A graph without residential-speed streets (a synthetic one, say):
		// any street will do.
		collect(func(int) bool { return true })
	}
	if total == 0 {
		return nil, muster.Errorf(muster.EINVALID, "scenario: the car graph has no street of any length to put households on")
	}

	hs := make([]muster.Household, o.Households)
	mean := float64(o.TargetPeople) / float64(o.Households)
	people := 0
	for i := range hs {
		h := &hs[i]
		x := rng.Float64() * total
		k := sort.SearchFloat64s(cum, x)
		k = min(k, len(arcs)-1)
		p := alongArc(car, tails, arcs[k], rng.Float64())
		// Houses stand beside the street, not on it.
		l := newLocal(p)
		ang := rng.Float64() * 2 * math.Pi
		off := 5 + rng.Float64()*15
		p = round6(l.point(off*math.Cos(ang), off*math.Sin(ang)))

		size := 1 + poisson(rng, mean-1)
		size = min(size, MaxHouseholdSize)
		people += size
		family := familyNames[rng.IntN(len(familyNames))]
		*h = muster.Household{
			ID:          fmt.Sprintf("H%06d", i+1),
			Name:        givenNames[rng.IntN(len(givenNames))] + " " + family,
			PartySize:   size,
			Priority:    muster.PriorityNone,
			Language:    pick(rng, languageShares),
			Phone:       fmt.Sprintf("+9370%07d", rng.IntN(10_000_000)),
			Lat:         p[1],
			Lon:         p[0],
			HasLocation: true,
			Eligibility: pick(rng, eligibilityShares),
			Status:      muster.StatusRegistered,
		}
		if rng.Float64() < PriorityShare {
			h.Priority = muster.Priorities[1+rng.IntN(len(muster.Priorities)-1)]
		}
	}
	// Nudge sizes until they add up to the target exactly.
	for people != o.TargetPeople {
		h := &hs[rng.IntN(len(hs))]
		switch {
		case people < o.TargetPeople && h.PartySize < MaxHouseholdSize:
			h.PartySize++
			people++
		case people > o.TargetPeople && h.PartySize > 1:
			h.PartySize--
			people--
		}
	}
	for i := range hs {
		h := &hs[i]
		switch {
		case h.Priority == muster.PriorityUnaccompaniedMinor:
			h.Adults, h.Children = 0, h.PartySize
		case h.PartySize == 1:
			h.Adults = 1
		default:
			h.Adults = min(h.PartySize, 1+rng.IntN(3))
			h.Children = h.PartySize - h.Adults
		}
	}
	return hs, nil
}

// poisson draws from a Poisson distribution (Knuth's method: the means
// used here are small).
func poisson(rng *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	l := math.Exp(-mean)
	k, p := 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
