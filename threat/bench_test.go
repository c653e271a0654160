package threat

import (
	"fmt"
	"math/rand"
	"syscall"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
)

// benchReports makes n reports spread over a 300 × 300 km region (a
// country's worth of reporting over ten days): circles of 100 m to 1.5 km,
// 2,000 sources, 12 actors, 2% all-clears, a few province-wide
// assessments.
func benchReports(n int, seed int64) []muster.Report {
	rng := rand.New(rand.NewSource(seed))
	out := make([]muster.Report, n)
	for i := range out {
		pt := orb.Point{67 + rng.Float64()*3.3, 33 + rng.Float64()*2.7}
		radius := 100 + rng.Float64()*1400
		if rng.Intn(2000) == 0 {
			radius = 30_000 + rng.Float64()*50_000
		}
		w := Likelihoods[rng.Intn(len(Likelihoods))]
		r := muster.Report{
			ID:             fmt.Sprintf("b%07d", i),
			ReceivedAt:     propT0.Add(-time.Duration(rng.Intn(10*24*60)) * time.Minute),
			Source:         muster.Source{ID: fmt.Sprintf("s%d", rng.Intn(2000)), Kind: muster.SourceField},
			Reliability:    string(muster.ReliabilityGrades[rng.Intn(6)]),
			Credibility:    1 + rng.Intn(6),
			Actor:          fmt.Sprintf("actor%d", rng.Intn(12)),
			Kind:           zoneKinds[rng.Intn(len(zoneKinds))],
			Claim:          muster.ClaimPresent,
			Likelihood:     w.P,
			LikelihoodText: w.Phrase,
			Immediacy:      muster.ImmediacyUnknown,
			Severity:       1 + rng.Intn(5),
			Area:           muster.Area{Point: &pt, RadiusM: radius},
		}
		if rng.Intn(50) == 0 {
			r.Kind, r.Claim, r.Actor = muster.KindAllClear, muster.ClaimAbsent, ""
		}
		out[i] = r
	}
	return out
}

// cpuTime returns the CPU time the process has used: on a machine shared
// with other work the wall-clock ns/op overstates the cost, so the
// benchmarks also report cpu-ns/op.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func BenchmarkFuse100k(b *testing.B) {
	rs := benchReports(100_000, 1)
	b.ResetTimer()
	start := cpuTime()
	defer reportCPU(b, start)
	for i := 0; i < b.N; i++ {
		p, err := Build(rs, nil, propT0, DefaultPolicy())
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			b.ReportMetric(float64(len(p.Zones)), "zones")
		}
	}
}

func BenchmarkAddOneTo100k(b *testing.B) {
	rs := benchReports(100_000, 1)
	f, err := NewFuser(nil, propT0, DefaultPolicy())
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range rs {
		if _, err := f.Add(r); err != nil {
			b.Fatal(err)
		}
	}
	extra := benchReports(b.N, 2)
	for i := range extra {
		extra[i].ID = fmt.Sprintf("new%07d", i)
		extra[i].ReceivedAt = propT0
	}
	b.ResetTimer()
	start := cpuTime()
	defer reportCPU(b, start)
	for i := 0; i < b.N; i++ {
		if _, err := f.Add(extra[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddOneAndPicture100k is a server's cycle: a new report comes in
// and the whole picture (zones, gates, record) is published again.
func BenchmarkAddOneAndPicture100k(b *testing.B) {
	rs := benchReports(100_000, 1)
	f, err := NewFuser(nil, propT0, DefaultPolicy())
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range rs {
		if _, err := f.Add(r); err != nil {
			b.Fatal(err)
		}
	}
	_ = f.Picture()
	extra := benchReports(b.N, 3)
	for i := range extra {
		extra[i].ID = fmt.Sprintf("new%07d", i)
		extra[i].ReceivedAt = propT0
	}
	b.ResetTimer()
	start := cpuTime()
	defer reportCPU(b, start)
	for i := 0; i < b.N; i++ {
		if _, err := f.Add(extra[i]); err != nil {
			b.Fatal(err)
		}
		_ = f.Picture()
	}
}

// BenchmarkAddOneToFlood100k adds one more F6 report to a zone already
// holding a flood of 1,000, in a picture of 100,000 reports: the worst
// case of the flood check, which reads the whole zone again.
func BenchmarkAddOneToFlood100k(b *testing.B) {
	rs := benchReports(100_000, 1)
	center := orb.Point{68.5, 34.2}
	for i := 0; i < 1000; i++ {
		rs = append(rs, muster.Report{ID: fmt.Sprintf("flood%05d", i), ReceivedAt: propT0.Add(-time.Duration(i) * time.Second),
			Source: muster.Source{ID: fmt.Sprintf("acct%d", i), Kind: muster.SourceSocial}, Reliability: "F", Credibility: 6,
			Kind: muster.KindExplosion, Claim: muster.ClaimPresent, Likelihood: 0.97, Immediacy: muster.ImmediacyImminent,
			Severity: 5, Area: muster.Area{Point: &center, RadiusM: 300}, Text: "Bomb at the north gate, go to the south gate"})
	}
	f, err := NewFuser(nil, propT0, DefaultPolicy())
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range rs {
		if _, err := f.Add(r); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := cpuTime()
	defer reportCPU(b, start)
	for i := 0; i < b.N; i++ {
		r := rs[len(rs)-1]
		r.ID, r.Source.ID = fmt.Sprintf("more%07d", i), fmt.Sprintf("more%d", i)
		z, err := f.Add(r)
		if err != nil {
			b.Fatal(err)
		}
		if z == nil || len(z.Coordination) != 1 {
			b.Fatalf("the flood is not flagged: %s %d for, %+v", z.ID, len(z.For), z.Coordination)
		}
	}
}
