package testshared

import (
	"runtime"
	"sync/atomic"
	"time"
)

// PeakHeap samples the heap every 20 ms while fn runs and returns its peak
// in bytes: the memory benchmarks' figure (a -benchmem total counts
// everything allocated, not what was held at once).
func PeakHeap(fn func()) uint64 {
	runtime.GC()
	var peak atomic.Uint64
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc > peak.Load() {
			peak.Store(ms.HeapAlloc)
		}
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				sample()
			}
		}
	}()
	fn()
	sample()
	close(stop)
	<-done
	return peak.Load()
}
