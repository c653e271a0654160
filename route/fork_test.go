package route

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestForkHasItsOwnPicture: a fork shares its parent's hierarchy, not its
// threat picture. Zones set on the fork leave the parent's weights and
// routes as they were (and the parent's leave the fork's); the fork's
// routes are exact under its own zones (against Dijkstra, as a router
// built anew), and both go on answering side by side.
func TestForkHasItsOwnPicture(t *testing.T) {
	g := gridGraph(5, 50, 40)
	parent, err := New(context.Background(), g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := graphBound(g)
	rng := rand.New(rand.NewPCG(7, 8))
	parentZones := randomZones(rng, b, 2)
	if _, err := parent.SetZones(context.Background(), parentZones); err != nil {
		t.Fatal(err)
	}
	before := slices.Clone(parent.Weights())
	fork := parent.Fork()
	if fork.Hierarchy() != parent.Hierarchy() {
		t.Fatal("the fork built a hierarchy of its own")
	}
	if len(fork.Zones()) != 0 || !slices.Equal(fork.Weights(), g.TimeMS) {
		t.Fatal("a fork starts with no threat picture")
	}
	for round := range 4 {
		forkZones := randomZones(rng, b, 1+rng.IntN(5))
		if _, err := fork.SetZones(context.Background(), forkZones); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(parent.Weights(), before) || len(parent.Zones()) != len(parentZones) {
			t.Fatalf("round %d: the fork's zones changed the parent's picture", round)
		}
		for range 60 {
			from, to := randomPoint(rng, b), randomPoint(rng, b)
			checkRoutes(t, fork, from, to, forkZones, 1+rng.IntN(3))
			checkRoutes(t, parent, from, to, parentZones, 1)
		}
	}
	// The parent's next picture leaves the fork's alone.
	forkWeights := slices.Clone(fork.Weights())
	if _, err := parent.SetZones(context.Background(), randomZones(rng, b, 3)); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fork.Weights(), forkWeights) {
		t.Fatal("the parent's zones changed the fork's picture")
	}
}
