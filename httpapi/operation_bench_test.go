package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/operation"
)

// BenchmarkFieldIngest posts field events to a server on SQLite in batches
// of 1,000, as phones syncing would, and reads the live state (GET
// /api/operation, against a plan of Porto's size: operation.BenchPlan)
// after every batch: at the target rate the state is made again twice a
// second, with every event. events/s
// is the rate sustained; target is it over the 2,000 a second
// (above 1 meets it); cpu-target the same per second of CPU the process
// used (client and server both), which a machine shared with other work
// does not inflate.
func BenchmarkFieldIngest(b *testing.B) {
	start := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
	p, evs, now := operation.BenchPlan(start)
	e := newEnvCity(b, openSQLite(b), false, func(c *Config) {
		c.Now = func() time.Time { return now }
		c.OverdueSweep = -1
	})
	body, err := json.Marshal(p)
	if err != nil {
		b.Fatal(err)
	}
	ctx := muster.WithActor(context.Background(), "bench")
	rec, err := e.store.SavePlan(ctx, muster.PlanRecord{Body: body, Summary: []byte(`{}`)})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.store.ApprovePlan(ctx, rec.ID); err != nil {
		b.Fatal(err)
	}
	e.do("viewer", "GET", "/api/operation", nil, 200, nil)
	const batch = 1000
	next := 0
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := range b.N {
		evb := make([]muster.FieldEvent, batch)
		for k := range evb {
			evb[k] = evs[next%len(evs)]
			evb[k].ID = fmt.Sprintf("%s~%d", evb[k].ID, next/len(evs)) // a later lap is new events (repeats of the same)
			next++
		}
		var res fieldEventsResponse
		e.do("field", "POST", "/api/field-events", mustJSON(fieldEventsRequest{Events: evb}), 200, &res)
		if res.Recorded != batch {
			b.Fatalf("batch %d: %+v", i, res.Recorded)
		}
		var st struct {
			Events int `json:"events"`
		}
		e.do("viewer", "GET", "/api/operation", nil, 200, &st)
		if st.Events != next {
			b.Fatalf("the live state holds %d events, %d were sent", st.Events, next)
		}
	}
	cpu := cpuTime() - cpu0
	rate := float64(b.N*batch) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(rate/2000, "target")
	if cpu > 0 {
		b.ReportMetric(float64(b.N*batch)/cpu.Seconds()/2000, "cpu-target")
	}
}
