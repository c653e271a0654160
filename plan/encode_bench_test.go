package plan_test

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"testing"

	"github.com/muster-evac/muster/internal/testshared"
	"github.com/muster-evac/muster/plan"
)

type countingWriter int64

func (n *countingWriter) Write(b []byte) (int, error) {
	*n += countingWriter(len(b))
	return len(b), nil
}

// BenchmarkPlanFilePorto writes plan.json for Porto's 100,000 and 300,000
// people in format version 1 (as muster wrote it before version 2) and in
// version 2, side by side in one process, and reads each back: its size,
// the CPU and the heap beyond the plan's own that writing takes, and the
// CPU of reading it. Long (the Porto import); run with
// MUSTER_LONG=1 go test -run '^$' -bench PlanFilePorto -benchtime 1x ./plan.
func BenchmarkPlanFilePorto(b *testing.B) {
	c := loadPorto(b)
	ctx := context.Background()
	for _, v := range []portoVariant{portoVariants[0], portoVariants[3]} {
		s := v.scenario(b, c)
		p, err := plan.Make(ctx, plan.Input{Car: c.car, Foot: c.foot, Places: &s.Places, Households: s.Households, Params: plan.Params{Start: portoStart}})
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range []struct {
			name  string
			write func(io.Writer, *plan.Plan) error
		}{
			{"v1", func(w io.Writer, p *plan.Plan) error {
				data, err := plan.EncodeV1(p)
				if err == nil {
					_, err = w.Write(data)
				}
				return err
			}},
			{"v2", plan.Write},
		} {
			b.Run(v.name+"/"+f.name, func(b *testing.B) {
				var n countingWriter
				var ms runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&ms)
				cpu0 := cpuSeconds()
				peak := testshared.PeakHeap(func() {
					for i := 0; i < b.N; i++ {
						n = 0
						if err := f.write(&n, p); err != nil {
							b.Fatal(err)
						}
					}
				})
				writeCPU := (cpuSeconds() - cpu0) / float64(b.N)
				var data bytes.Buffer
				if err := f.write(&data, p); err != nil {
					b.Fatal(err)
				}
				cpu0 = cpuSeconds()
				q, err := plan.Decode(data.Bytes())
				if err != nil {
					b.Fatal(err)
				}
				readCPU := cpuSeconds() - cpu0
				if len(q.Groups) != len(p.Groups) || len(q.Households) != len(p.Households) {
					b.Fatalf("read back %d groups and %d households of %d and %d", len(q.Groups), len(q.Households), len(p.Groups), len(p.Households))
				}
				b.ReportMetric(float64(n)/1e6, "MB")
				b.ReportMetric(writeCPU, "write-cpu-s/op")
				b.ReportMetric(float64(peak-min(peak, ms.HeapAlloc))/(1<<20), "write-heap-MB")
				b.ReportMetric(readCPU, "read-cpu-s")
				b.Logf("%s %s: %d groups, %d households, %.1f MB", v.name, f.name, len(p.Groups), len(p.Households), float64(n)/1e6)
			})
		}
	}
}
