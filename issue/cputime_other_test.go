//go:build !unix

package issue_test

import "time"

// cpuTime is not measured here: benchmarks report wall time only.
func cpuTime() time.Duration { return 0 }

func systemTime() time.Duration { return 0 }

func pageFaults() int64 { return 0 }
