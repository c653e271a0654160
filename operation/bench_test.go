package operation

import (
	"encoding/json"
	"io"
	"testing"
	"time"
)

// BenchmarkLiveState computes the live state of a plan of Porto's size
// (100,000 people, BenchPlan) from its events and encodes it as GET
// /api/operation does. budget is the wall time over the 50 ms
// (below 1 is within it), cpu-budget the CPU time over it: on a machine
// shared with other work the wall time measures the machine's load too.
func BenchmarkLiveState(b *testing.B) {
	p, evs, now := BenchPlan(time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC))
	people := 0
	for _, h := range p.Households {
		people += h.People
	}
	cpu0 := cpuTime()
	for b.Loop() {
		st := Compute(p, evs, now, Options{})
		if err := json.NewEncoder(io.Discard).Encode(st); err != nil {
			b.Fatal(err)
		}
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(people), "people")
	b.ReportMetric(float64(len(evs)), "events")
	b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N)/50, "budget")
	b.ReportMetric(cpu.Seconds()*1000/float64(b.N)/50, "cpu-budget")
}
