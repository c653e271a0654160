package simulate

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/muster-evac/muster"
)

// Report is report.json: what happened in each run, and the comparison.
type Report struct {
	Seed       uint64         `json:"seed"`
	Start      time.Time      `json:"start"`
	Households int            `json:"households"`
	People     int            `json:"people"`
	Injects    []InjectRecord `json:"injects"`
	Runs       []RunReport    `json:"runs"`
	Comparison []Comparison   `json:"comparison"`
}

// InjectRecord is an inject and the picture it led to.
type InjectRecord struct {
	AtS     float64       `json:"at_s"`
	Kind    string        `json:"kind"`
	Gate    string        `json:"gate,omitempty"`
	Note    string        `json:"note,omitempty"`
	Picture PictureRecord `json:"picture"`
}

// PictureRecord is the threat picture after an inject.
type PictureRecord struct {
	Reports    int               `json:"reports"`
	Zones      int               `json:"zones"`
	Forbidden  int               `json:"forbidden"`
	ToVerify   int               `json:"to_verify"` // flagged for an analyst (coordinated reporting, ...)
	GateStatus map[string]string `json:"gate_status"`
}

// ReplanRecord is one re-plan.
type ReplanRecord struct {
	Inject        int     `json:"inject"`
	AtS           float64 `json:"at_s"`
	Changes       int     `json:"changes"` // households whose instruction the re-plan changes
	Groups        int     `json:"groups"`
	Unassigned    int     `json:"unassigned"`
	Approved      bool    `json:"approved"`
	Reissued      int     `json:"reissued"`
	GroupsRevised int     `json:"groups_revised"`
	Error         string  `json:"error,omitempty"`
	// Proposals are the ways to re-plan the operator chose from
	// (plan.Proposals), and Chosen the one approved.
	Proposals []ProposalRecord `json:"proposals,omitempty"`
	Chosen    string           `json:"chosen,omitempty"`
}

// ProposalRecord is one re-plan proposal's numbers.
type ProposalRecord struct {
	ID        string  `json:"id"`
	Changed   int     `json:"instructions_changed"`
	Unserved  int     `json:"unserved"`
	MakespanS float64 `json:"makespan_s"`
	Ratio     float64 `json:"ratio"`
	Exposure  float64 `json:"exposure"`
}

// RunReport is one run: muster's plan or a baseline.
type RunReport struct {
	Name   string         `json:"name"`
	People int            `json:"people"`
	Final  map[string]int `json:"final"` // people by where they are at the end
	// SafeShare is the share of all people through a gate at the end.
	SafeShare float64 `json:"safe_share"`
	// T50S, T90S and T100S: seconds from the start until 50, 90 and 100%
	// of those who reached safety were through; EgressS the same as T100S.
	T50S     float64 `json:"t50_s"`
	T90S     float64 `json:"t90_s"`
	T100S    float64 `json:"t100_s"`
	EndS     float64 `json:"end_s"`
	Exposure struct {
		PersonRiskS float64 `json:"person_risk_s"` // Σ people × risk × seconds (walks, roads, gate queues)
		AtGatesS    float64 `json:"at_gates_s"`    // of which waiting at gates
	} `json:"exposure"`
	Acknowledged     int            `json:"acknowledged"`
	Reissued         int            `json:"instructions_reissued"`
	NoShows          int            `json:"no_shows"`    // people
	NotReached       int            `json:"not_reached"` // people
	Replans          []ReplanRecord `json:"replans,omitempty"`
	Gates            []GateReport   `json:"gates"`
	DangerousMinutes []DangerMinute `json:"dangerous_minutes"`
	MaxWaiting       int            `json:"max_waiting"`
	MaxDensity       float64        `json:"max_density"`
	OverLimitGates   int            `json:"gates_over_crowd_limit"`
	Log              []string       `json:"log"`
	Series           SeriesReport   `json:"series"`
}

// SeriesReport is the minute by minute record.
type SeriesReport struct {
	Minutes []float64 `json:"minutes"`
	Safe    []int     `json:"safe"`
}

// GateReport is one gate over the run.
type GateReport struct {
	ID                string       `json:"id"`
	Name              string       `json:"name"`
	ThroughputPerHour float64      `json:"throughput_per_hour"`
	CrowdLimit        int          `json:"crowd_limit"`
	QueueAreaM2       float64      `json:"queue_area_m2"`
	Through           int          `json:"through"`
	MaxWaiting        int          `json:"max_waiting"`
	MaxDensity        float64      `json:"max_density"`
	WorstLevel        string       `json:"worst_level"`
	MinutesOverLimit  int          `json:"minutes_over_crowd_limit"`
	MinutesE          int          `json:"minutes_level_e"` // at level E or worse
	MinutesF          int          `json:"minutes_level_f"`
	WaitMeanS         float64      `json:"wait_mean_s"`
	WaitP50S          float64      `json:"wait_p50_s"`
	WaitP90S          float64      `json:"wait_p90_s"`
	WaitMaxS          float64      `json:"wait_max_s"`
	PeakFlowPerHour   float64      `json:"peak_flow_per_hour"` // the busiest minute, per hour
	Status            []statusJSON `json:"status"`
	Waiting           []int        `json:"waiting_per_minute"` // most people waiting in each minute
	Through1m         []int        `json:"through_per_minute"` // people through in each minute
}

type statusJSON struct {
	AtS    float64 `json:"at_s"`
	Status string  `json:"status"`
	Factor float64 `json:"factor"`
}

// DangerMinute is a minute a gate's queue reached Fruin level E or F.
type DangerMinute struct {
	Gate    string  `json:"gate"`
	Minute  int     `json:"minute"`
	Waiting int     `json:"waiting"`
	Density float64 `json:"density"`
	Level   string  `json:"level"`
}

// Comparison is one run's row of the comparison.
type Comparison struct {
	Name           string  `json:"name"`
	EgressS        float64 `json:"egress_s"` // until the last person who got out was through
	T90S           float64 `json:"t90_s"`
	SafeShare      float64 `json:"safe_share"`
	MaxWaiting     int     `json:"max_waiting"`
	MaxDensity     float64 `json:"max_density"`
	WorstLevel     string  `json:"worst_level"`
	OverLimitGates int     `json:"gates_over_crowd_limit"`
	DangerMinutes  int     `json:"dangerous_minutes"`
	Exposure       float64 `json:"exposure_person_risk_s"`
	MaxWaitS       float64 `json:"max_wait_s"`
}

func r1(x float64) float64 { return math.Round(x*10) / 10 }
func r3(x float64) float64 { return math.Round(x*1000) / 1000 }

func (w *world) runReport() RunReport {
	rr := RunReport{Name: w.name, People: w.total, Final: map[string]int{}, Acknowledged: w.acks, Reissued: w.reissued,
		NoShows: w.states[stNoShow], NotReached: w.states[stNotReached], Log: w.log, DangerousMinutes: []DangerMinute{}}
	for s, n := range w.states {
		rr.Final[stateNames[s]] = n
	}
	if w.total > 0 {
		rr.SafeShare = r3(float64(w.states[stSafe]) / float64(w.total))
	}
	safe := w.states[stSafe]
	rr.T50S = w.series.percentileTime(safe, 0.5)
	rr.T90S = w.series.percentileTime(safe, 0.9)
	rr.T100S = w.series.percentileTime(safe, 1)
	rr.EndS = r1(w.now)
	rr.Exposure.PersonRiskS = r1(w.expo.riskSeconds)
	rr.Exposure.AtGatesS = r1(w.expo.gateSeconds)
	if w.plan != nil {
		rr.Replans = w.plan.replans
	}
	rr.Series.Minutes = w.series.minutes
	rr.Series.Safe = w.series.safe
	for gi, g := range w.gates {
		gr := GateReport{ID: g.id, Name: g.name, ThroughputPerHour: g.perHour, CrowdLimit: g.crowdLimit, QueueAreaM2: r1(g.areaM2),
			Through: g.through, MaxWaiting: g.maxWaiting, Waiting: w.series.gateQueue[gi], Through1m: w.series.gateFlow[gi]}
		for _, s := range g.statusLog {
			gr.Status = append(gr.Status, statusJSON{r1(s.T), s.Status, s.Factor})
		}
		gr.MaxDensity = r3(float64(g.maxWaiting) / g.areaM2)
		gr.WorstLevel = LevelOfService(gr.MaxDensity)
		for m, q := range gr.Waiting {
			d := float64(q) / g.areaM2
			if g.crowdLimit > 0 && q > g.crowdLimit {
				gr.MinutesOverLimit++
			}
			if d >= FruinE {
				gr.MinutesE++
				rr.DangerousMinutes = append(rr.DangerousMinutes, DangerMinute{g.id, int(w.series.minutes[m]), q, r3(d), LevelOfService(d)})
			}
			if d >= FruinF {
				gr.MinutesF++
			}
		}
		for _, f := range gr.Through1m {
			gr.PeakFlowPerHour = math.Max(gr.PeakFlowPerHour, float64(f)*60)
		}
		if len(g.waits) > 0 {
			sum := 0.0
			for _, x := range g.waits {
				sum += x
			}
			gr.WaitMeanS = r1(sum / float64(len(g.waits)))
			gr.WaitP50S = r1(quantile(g.waits, 0.5))
			gr.WaitP90S = r1(quantile(g.waits, 0.9))
			gr.WaitMaxS = r1(quantile(g.waits, 1))
		}
		if gr.MaxWaiting > g.crowdLimit && g.crowdLimit > 0 {
			rr.OverLimitGates++
		}
		rr.MaxWaiting = max(rr.MaxWaiting, gr.MaxWaiting)
		rr.MaxDensity = math.Max(rr.MaxDensity, gr.MaxDensity)
		rr.Gates = append(rr.Gates, gr)
	}
	return rr
}

func (r *Report) compare() {
	for _, rr := range r.Runs {
		c := Comparison{Name: rr.Name, EgressS: rr.T100S, T90S: rr.T90S, SafeShare: rr.SafeShare, MaxWaiting: rr.MaxWaiting,
			MaxDensity: rr.MaxDensity, WorstLevel: LevelOfService(rr.MaxDensity), OverLimitGates: rr.OverLimitGates,
			DangerMinutes: len(rr.DangerousMinutes), Exposure: rr.Exposure.PersonRiskS}
		for _, g := range rr.Gates {
			c.MaxWaitS = math.Max(c.MaxWaitS, g.WaitMaxS)
		}
		r.Comparison = append(r.Comparison, c)
	}
}

// Run returns the run of that name, or nil.
func (r *Report) Run(name string) *RunReport {
	for i := range r.Runs {
		if r.Runs[i].Name == name {
			return &r.Runs[i]
		}
	}
	return nil
}

// WriteJSON writes report.json.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("writing report.json: %w", err)
	}
	return nil
}

// FieldEventJSON is a muster.FieldEvent as events.jsonl writes it, with
// the snake_case names the field events API uses.
type FieldEventJSON struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	At         time.Time `json:"at"`
	Since      time.Time `json:"since,omitzero"`
	Household  string    `json:"household,omitempty"`
	TokenID    string    `json:"token_id,omitempty"`
	Group      string    `json:"group,omitempty"`
	Households []string  `json:"households,omitempty"`
	RallyPoint string    `json:"rally_point,omitempty"`
	Gate       string    `json:"gate,omitempty"`
	Lat        float64   `json:"lat,omitempty"`
	Lon        float64   `json:"lon,omitempty"`
	People     int       `json:"people,omitempty"`
	Queue      int       `json:"queue"`
	GateStatus string    `json:"gate_status,omitempty"`
	Note       string    `json:"note,omitempty"`
}

// FieldEvent returns the event as the domain type.
func (e FieldEventJSON) FieldEvent() muster.FieldEvent {
	return muster.FieldEvent{ID: e.ID, Kind: e.Kind, At: e.At, Since: e.Since, Household: e.Household, TokenID: e.TokenID, Group: e.Group,
		Households: e.Households, RallyPoint: e.RallyPoint, Gate: e.Gate, Lat: e.Lat, Lon: e.Lon, People: e.People, Queue: e.Queue,
		GateStatus: e.GateStatus, Note: e.Note}
}

type fieldEvent = FieldEventJSON

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

func (w *world) emitEvent(e fieldEvent) {
	if !w.emit {
		return
	}
	e.ID = fmt.Sprintf("sim-%s-%08d", w.runID, len(w.events)+1)
	e.At = w.start.Add(time.Duration(w.now * float64(time.Second))).Truncate(time.Second)
	if e.Kind != muster.FieldGateState {
		e.Queue = 0
	}
	w.events = append(w.events, e)
}

// gateEvents: what a field officer at the gate reports every minute people
// pass (the count since the last one) and every five minutes a queue is
// there (its length).
func (w *world) gateEvents(g *gateSim) {
	at := w.start.Add(time.Duration(w.now * float64(time.Second))).Truncate(time.Second)
	since := w.start.Add(time.Duration(g.sinceCount * float64(time.Second))).Truncate(time.Second)
	if g.countPending > 0 && since.Before(at) {
		w.emitEvent(fieldEvent{Kind: muster.FieldGateCount, Gate: g.id, Since: since, People: g.countPending})
		g.countPending = 0
		g.sinceCount = w.now
	}
	if g.waiting > 0 && len(w.series.minutes)%5 == 0 {
		w.emitEvent(fieldEvent{Kind: muster.FieldGateState, Gate: g.id, Queue: g.waiting})
	}
}

// WriteEvents writes the field events as JSON Lines.
func WriteEvents(w io.Writer, evs []FieldEventJSON) error {
	enc := json.NewEncoder(w)
	for i := range evs {
		if err := enc.Encode(&evs[i]); err != nil {
			return fmt.Errorf("writing events: %w", err)
		}
	}
	return nil
}
