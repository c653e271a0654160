package httpapi

import (
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/muster-evac/muster/operation"
)

// BenchmarkOperationSeries computes the plots' series of a plan of Porto's
// size (100,000 people, operation.BenchPlan, with its field events) at the
// page's 48 points and encodes it: one live state per point measured.
// cpu-s/op is the CPU time of one request; live-states is how many it
// computed, to set against BenchmarkLiveState in package operation.
func BenchmarkOperationSeries(b *testing.B) {
	p, evs, now := operation.BenchPlan(time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC))
	var measured int
	cpu0 := cpuTime()
	for b.Loop() {
		s := series(p, "bench", evs, nil, now, 48)
		measured = s.Measured
		if err := json.NewEncoder(io.Discard).Encode(s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(measured), "live-states")
}
