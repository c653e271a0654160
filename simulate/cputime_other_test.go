//go:build !unix

package simulate

import "time"

// cpuTime is not measured here.
func cpuTime() time.Duration { return 0 }
