package storetest

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/muster-evac/muster"
)

// Bench runs the store benchmarks against a backend: an import batch of
// 1,000 new households in one transaction, and a household read by id
// (decrypting its personal fields and loading its history).
func Bench(b *testing.B, fresh Fresh) {
	b.Run("Import1000", func(b *testing.B) {
		s := benchStore(b, fresh)
		ctx := muster.WithActor(context.Background(), "bench")
		for i := 0; b.Loop(); i++ {
			res, err := s.ImportHouseholds(ctx, batch(1+i*1000, 1000), muster.ImportOptions{})
			if err != nil || res.Created != 1000 {
				b.Fatalf("import: %+v %v", res.Created, err)
			}
		}
		b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "households/s")
	})
	b.Run("CreateHousehold", func(b *testing.B) {
		s := benchStore(b, fresh)
		ctx := muster.WithActor(context.Background(), "bench")
		var next atomic.Int64
		b.SetParallelism(8) // registrations arrive from many clients at once
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.CreateHousehold(ctx, household(int(next.Add(1)))); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "households/s")
	})
	b.Run("GetHousehold", func(b *testing.B) {
		s := benchStore(b, fresh)
		ctx := muster.WithActor(context.Background(), "bench")
		const n = 2000
		if _, err := s.ImportHouseholds(ctx, batch(1, n), muster.ImportOptions{}); err != nil {
			b.Fatal(err)
		}
		b.SetParallelism(8) // a server reads for many clients at once
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				if _, err := s.GetHousehold(ctx, household(1+i%n).ID); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
	})
}

func benchStore(b *testing.B, fresh Fresh) muster.Store {
	db := fresh(b)
	s, err := db.Open(context.Background(), NewKeys().DataKeys())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}
