//go:build !unix

package operation

import "time"

func cpuTime() time.Duration { return 0 }
