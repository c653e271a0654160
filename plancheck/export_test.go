package plancheck

import (
	"context"
	"fmt"
	"math"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster/roadgraph"
)

// Without returns in with the given rules silenced, so that a test can
// show a mutation is caught by that rule and by no other.
func Without(in Inputs, rules ...string) Inputs {
	in.disabled = map[string]bool{}
	for _, r := range rules {
		in.disabled[r] = true
	}
	return in
}

// Shortest is the checker's own least free-flow time from one point to
// another over g, in seconds.
func Shortest(ctx context.Context, g *roadgraph.Graph, from, to orb.Point) (float64, error) {
	n, err := newNetwork(g)
	if err != nil {
		return 0, err
	}
	f, ok1 := n.snap(from)
	t, ok2 := n.snap(to)
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("no road near %v or %v", from, to)
	}
	l := &leg{from: f, limit: math.MaxFloat64 / 2000}
	if err := n.solve(ctx, []*target{{to: t, legs: []*leg{l}}}); err != nil {
		return 0, err
	}
	return l.best, nil
}
