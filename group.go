package muster

import "time"

// Group is a few households that meet at one rally point and travel
// together to one gate: never a split household, never more people than
// the plan's maximum group size.
type Group struct {
	ID         string
	RallyPoint string // place id
	Gate       string // place id
	Households []string
	People     int
	Priority   bool // holds a priority household: goes first
	Departure  time.Time
	Arrival    time.Time // at the gate
	Through    time.Time // the last of the group is through the gate
}
