//go:build !unix

package credential

import "time"

func cpuTime() (time.Duration, bool) { return 0, false }
