package plan

import (
	"encoding/json"
	"time"
)

// SetGuide sets how the look-ahead guides the greedy (for the
// measurements of SCHEDULER.md), and returns a function that restores it.
func SetGuide(sizing, quota bool, slack time.Duration) func() {
	old := guide
	guide.sizing, guide.quota, guide.slack = sizing, quota, clock(slack)
	return func() { guide = old }
}

// EncodeV1 is p as plan.json version 1 wrote it, for the tests of reading
// version 1.
func EncodeV1(p *Plan) ([]byte, error) {
	a := planAlias(*p)
	a.Version = 1
	return json.Marshal(a)
}

// SetSplitMinBytes sets the size of households[] from which
// Plan.UnmarshalJSON decodes it in parts, and returns a function that
// restores it.
func SetSplitMinBytes(n int) func() {
	old := splitMinBytes
	splitMinBytes = n
	return func() { splitMinBytes = old }
}
