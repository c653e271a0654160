package baseline

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/muster-evac/muster/plan"
)

// Outcome is how an evacuation went, the same for a plan and for the
// baselines.
type Outcome struct {
	Name string
	// MakespanS is from the start until the last person is through a gate.
	MakespanS float64
	// LowerBoundS is the people served over the usable gates' total
	// throughput, plus the shortest trip anyone makes (the planner's
	// definition).
	LowerBoundS float64
	// MaxQueue is, per gate id, the most people waiting at the gate at
	// once: arrived and not yet through.
	MaxQueue map[string]int
	// Exposure is Σ people × risk-weighted seconds of their trips.
	Exposure float64
	// People is the people in all households; Unserved those of them who
	// are not brought to a gate.
	People, Unserved int
}

// Ratio is the makespan over the lower bound (0 without a lower bound).
func (o Outcome) Ratio() float64 {
	if o.LowerBoundS <= 0 {
		return 0
	}
	return o.MakespanS / o.LowerBoundS
}

// WorstQueue is the largest MaxQueue over the gates, and that gate's id.
func (o Outcome) WorstQueue() (int, string) {
	best, id := 0, ""
	for _, g := range slices.Sorted(maps.Keys(o.MaxQueue)) {
		if q := o.MaxQueue[g]; q > best || id == "" {
			best, id = q, g
		}
	}
	return best, id
}

// FromPlan measures a plan as the baselines are measured: the gates'
// queues are counted again from the groups' arrivals and passages, not
// taken from the planner's own summary.
func FromPlan(name string, p *plan.Plan) Outcome {
	o := Outcome{Name: name, LowerBoundS: p.Summary.LowerBoundS, Exposure: p.Summary.TotalExposure,
		People: p.Summary.People, Unserved: p.Summary.People - p.Summary.AssignedPeople, MaxQueue: map[string]int{}}
	start := p.Params.Start
	byGate := map[string][]visit{}
	for _, g := range p.Groups {
		v := visit{arrive: g.Arrival.Sub(start).Seconds(), through: g.Through.Sub(start).Seconds(), people: g.People}
		byGate[g.Gate] = append(byGate[g.Gate], v)
		o.MakespanS = math.Max(o.MakespanS, v.through)
	}
	for _, g := range p.Gates {
		o.MaxQueue[g.ID] = maxWaiting(byGate[g.ID])
	}
	for id, vs := range byGate {
		o.MaxQueue[id] = maxWaiting(vs)
	}
	return o
}

// WriteTable prints outcomes side by side: makespan, lower bound, ratio,
// the worst gate queue, exposure and who is not served. crowdLimit, when
// not nil, gives each gate's crowd limit, and the queues are shown
// against it.
func WriteTable(w io.Writer, outs []Outcome, crowdLimit map[string]int) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tmakespan\tlower bound\tratio\tmax gate queue\tqueue per gate\texposure\tpeople\tunserved\t")
	for _, o := range outs {
		worst, at := o.WorstQueue()
		var per []string
		for _, g := range slices.Sorted(maps.Keys(o.MaxQueue)) {
			s := fmt.Sprintf("%s %d", g, o.MaxQueue[g])
			if lim, ok := crowdLimit[g]; ok {
				s += fmt.Sprintf("/%d", lim)
			}
			per = append(per, s)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%d (%s)\t%s\t%.0f\t%d\t%d\t\n", o.Name, hours(o.MakespanS), hours(o.LowerBoundS),
			o.Ratio(), worst, at, strings.Join(per, ", "), o.Exposure, o.People, o.Unserved)
	}
	return tw.Flush()
}

func hours(s float64) string {
	return fmt.Sprintf("%dh%02dm", int(s)/3600, int(s)%3600/60)
}
