package testshared

import (
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// PeakHeap samples the heap every 20 ms while fn runs and returns its peak
// in bytes: the memory benchmarks' figure (a -benchmem total counts
// everything allocated, not what was held at once).
func PeakHeap(fn func()) uint64 {
	runtime.GC()
	return Peak(fn, func() uint64 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}, 20*time.Millisecond)
}

// Peak calls fn and returns the largest value sample gave while it ran,
// sampled every period and once more as it returns.
func Peak(fn func(), sample func() uint64, period time.Duration) uint64 {
	var peak atomic.Uint64
	take := func() {
		if v := sample(); v > peak.Load() {
			peak.Store(v)
		}
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				take()
			}
		}
	}()
	fn()
	take()
	close(stop)
	<-done
	return peak.Load()
}

// HeldFromSystem is the memory the Go runtime holds from the system and
// has not given back: what the process has touched, or may touch without
// asking again. Memory touched for the first time is paid for a page at
// a time (a page fault each 4 kB), so its peak over a piece of work is
// what the work costs in memory. It stops nothing (runtime/metrics, not
// ReadMemStats), so it can be sampled often.
func HeldFromSystem() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() - s[1].Value.Uint64()
}
