package plan

import "time"

// SetGuide sets how the look-ahead guides the greedy (for the
// measurements of SCHEDULER.md), and returns a function that restores it.
func SetGuide(sizing, quota bool, slack time.Duration) func() {
	old := guide
	guide.sizing, guide.quota, guide.slack = sizing, quota, clock(slack)
	return func() { guide = old }
}
