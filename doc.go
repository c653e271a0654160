// Package muster holds the domain of an evacuation: the households to move,
// the threat reports and zones they must avoid, the gates and rally points
// they pass through, the groups they travel in and the instructions they
// receive. It imports nothing of this module, so every other package can
// depend on it without depending on each other.
package muster
