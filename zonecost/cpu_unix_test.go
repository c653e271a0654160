//go:build unix

package zonecost

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used, user and system: the
// shared build machine is often loaded, so benchmarks report CPU time per
// operation beside the wall-clock ns/op.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
