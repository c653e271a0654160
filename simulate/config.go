package simulate

import (
	"math"
	"math/rand/v2"

	"github.com/muster-evac/muster"
)

// Channel is how an instruction reaches a household over one channel: a
// log-normal delay and a chance it never arrives.
type Channel struct {
	MedianS  float64 `json:"median_s"`
	Sigma    float64 `json:"sigma"`     // of the delay's logarithm
	FailRate float64 `json:"fail_rate"` // 0..1
}

// Behaviour is how people act on their instructions; zero values take the
// defaults (DefaultBehaviour). Every draw comes from the household's own
// random stream, seeded from the run's seed and its id, so one household's
// fate never depends on another's.
type Behaviour struct {
	// SMS, Email and InPerson are the channels: a household with a phone
	// is tried by SMS, then e-mail if it has one, then in person (a field
	// officer, a neighbour, a loudspeaker); one without either, in person.
	SMS, Email, InPerson Channel
	// AckShare is the share of reached households that acknowledge.
	AckShare float64
	// NoShowShare is the share of reached households that never leave home.
	NoShowShare float64
	// PrepareS bounds (uniformly) how long a household takes to get ready
	// after reading its instruction.
	PrepareMinS, PrepareMaxS float64
	// MarginMaxS bounds (uniformly) how early before its report-by time a
	// punctual household means to arrive.
	MarginMaxS float64
	// LateShare of the households leave late, by an exponential delay of
	// mean LateMeanS.
	LateShare, LateMeanS float64
	// WalkSpread is the spread of walking speeds: each household walks its
	// route's time times a factor drawn uniformly in [1-WalkSpread,
	// 1+WalkSpread] (times MobilityFactor for mobility needs).
	WalkSpread, MobilityFactor float64
	// EscortDelayS is how long a revised instruction takes to reach a
	// group's escort (staff on the radio).
	EscortDelayS float64
	// OperatorDelayS is how long the operator takes to approve a re-plan.
	OperatorDelayS float64
	// SweepEveryS is how often the operations room sends a group for the
	// people left at rally points by their group (late); whole minutes.
	SweepEveryS float64
	// IssueLeadS is how long before the operation's start the first
	// instructions are sent.
	IssueLeadS float64
}

// DefaultBehaviour is what the simulator assumes without better numbers:
// docs/exercise.md says where each comes from.
var DefaultBehaviour = Behaviour{
	SMS:         Channel{MedianS: 60, Sigma: 1, FailRate: 0.05},
	Email:       Channel{MedianS: 600, Sigma: 1, FailRate: 0.1},
	InPerson:    Channel{MedianS: 2700, Sigma: 0.6, FailRate: 0.1},
	AckShare:    0.7,
	NoShowShare: 0.05,
	PrepareMinS: 300, PrepareMaxS: 1200,
	MarginMaxS: 600,
	LateShare:  0.15, LateMeanS: 900,
	WalkSpread: 0.15, MobilityFactor: 1.3,
	EscortDelayS:   120,
	OperatorDelayS: 300,
	IssueLeadS:     1800,
	SweepEveryS:    900,
}

func (b Behaviour) withDefaults() Behaviour {
	d := DefaultBehaviour
	ch := func(c *Channel, def Channel) {
		if c.MedianS <= 0 {
			c.MedianS = def.MedianS
		}
		if c.Sigma <= 0 {
			c.Sigma = def.Sigma
		}
		if c.FailRate < 0 || c.FailRate > 1 || math.IsNaN(c.FailRate) {
			c.FailRate = def.FailRate
		}
	}
	ch(&b.SMS, d.SMS)
	ch(&b.Email, d.Email)
	ch(&b.InPerson, d.InPerson)
	share := func(v *float64, def float64) {
		if *v < 0 || *v > 1 || math.IsNaN(*v) {
			*v = def
		}
	}
	if b == (Behaviour{SMS: b.SMS, Email: b.Email, InPerson: b.InPerson}) {
		// Nothing else given: the defaults throughout.
		b.AckShare, b.NoShowShare, b.LateShare = d.AckShare, d.NoShowShare, d.LateShare
	}
	share(&b.AckShare, d.AckShare)
	share(&b.NoShowShare, d.NoShowShare)
	share(&b.LateShare, d.LateShare)
	pos := func(v *float64, def float64) {
		if *v <= 0 || math.IsNaN(*v) || math.IsInf(*v, 0) {
			*v = def
		}
	}
	pos(&b.PrepareMinS, d.PrepareMinS)
	pos(&b.PrepareMaxS, d.PrepareMaxS)
	b.PrepareMaxS = math.Max(b.PrepareMaxS, b.PrepareMinS)
	pos(&b.MarginMaxS, d.MarginMaxS)
	pos(&b.LateMeanS, d.LateMeanS)
	pos(&b.MobilityFactor, d.MobilityFactor)
	if b.WalkSpread <= 0 || b.WalkSpread >= 1 {
		b.WalkSpread = d.WalkSpread
	}
	pos(&b.EscortDelayS, d.EscortDelayS)
	pos(&b.OperatorDelayS, d.OperatorDelayS)
	pos(&b.IssueLeadS, d.IssueLeadS)
	pos(&b.SweepEveryS, d.SweepEveryS)
	b.SweepEveryS = math.Max(60, math.Round(b.SweepEveryS/60)*60)
	return b
}

// draw is one delivery attempt over a channel: the delay, and whether it
// arrives.
func (c Channel) draw(r *rand.Rand) (float64, bool) {
	if r.Float64() < c.FailRate {
		return 0, false
	}
	return c.MedianS * math.Exp(c.Sigma*r.NormFloat64()), true
}

// deliver tries a household's channels in turn; the delays add up (a
// failure is noticed when the next channel is tried).
func (b Behaviour) deliver(h *muster.Household, r *rand.Rand) (float64, string, bool) {
	var chans []Channel
	var names []string
	if h.Phone != "" {
		chans, names = append(chans, b.SMS), append(names, "sms")
	}
	if h.Email != "" {
		chans, names = append(chans, b.Email), append(names, "email")
	}
	chans, names = append(chans, b.InPerson), append(names, "in_person")
	total := 0.0
	for i, c := range chans {
		d, ok := c.draw(r)
		if ok {
			return total + d, names[i], true
		}
		total += c.MedianS
	}
	return 0, "", false
}
