package osmimport

import (
	"math/rand/v2"
	"testing"
)

// reach returns which nodes can be reached from s.
func reach(n int, tail, head []uint32, s int) []bool {
	seen := make([]bool, n)
	seen[s] = true
	stack := []int{s}
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for a := range tail {
			if int(tail[a]) == u && !seen[head[a]] {
				seen[head[a]] = true
				stack = append(stack, int(head[a]))
			}
		}
	}
	return seen
}

// Tarjan's labels agree with the definition: u and v share a component
// exactly when each reaches the other.
func TestStrongComponentsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.IntN(12)
		m := rng.IntN(3 * n)
		tail, head := make([]uint32, m), make([]uint32, m)
		for a := range tail {
			tail[a], head[a] = uint32(rng.IntN(n)), uint32(rng.IntN(n))
		}
		firstOut, arcAt := forwardStar(n, tail)
		comp, count, largest := strongComponents(n, firstOut, arcAt, head)
		reaches := make([][]bool, n)
		for u := range reaches {
			reaches[u] = reach(n, tail, head, u)
		}
		sizes := map[int32]int{}
		for u := 0; u < n; u++ {
			sizes[comp[u]]++
			for v := 0; v < n; v++ {
				if same := reaches[u][v] && reaches[v][u]; same != (comp[u] == comp[v]) {
					t.Fatalf("trial %d: nodes %d and %d mutually reachable %v, same component %v", trial, u, v, same, comp[u] == comp[v])
				}
			}
		}
		if len(sizes) != count {
			t.Fatalf("trial %d: %d labels used, %d components reported", trial, len(sizes), count)
		}
		for c, s := range sizes {
			if s > sizes[largest] {
				t.Fatalf("trial %d: component %d has %d nodes, more than the 'largest' %d with %d", trial, c, s, largest, sizes[largest])
			}
		}
	}
}

// A path of 400,000 nodes (deeper than any recursion could go on a small
// stack) is one component when two-way, 400,000 when one-way.
func TestStrongComponentsLongPath(t *testing.T) {
	const n = 400_000
	var tail, head []uint32
	for u := 0; u+1 < n; u++ {
		tail, head = append(tail, uint32(u)), append(head, uint32(u+1))
	}
	firstOut, arcAt := forwardStar(n, tail)
	if _, count, _ := strongComponents(n, firstOut, arcAt, head); count != n {
		t.Errorf("one-way path: %d components, want %d", count, n)
	}
	for u := 0; u+1 < n; u++ {
		tail, head = append(tail, uint32(u+1)), append(head, uint32(u))
	}
	firstOut, arcAt = forwardStar(n, tail)
	if _, count, _ := strongComponents(n, firstOut, arcAt, head); count != 1 {
		t.Errorf("two-way path: %d components, want 1", count)
	}
}

// Successive points of the Hilbert curve are neighbouring grid cells.
func TestHilbertKeyIsACurve(t *testing.T) {
	const side = 64 // check the top-left corner of the 2^16 grid
	byKey := map[uint64][2]uint32{}
	for x := uint32(0); x < side; x++ {
		for y := uint32(0); y < side; y++ {
			byKey[hilbertKey(x<<10, y<<10)] = [2]uint32{x, y}
		}
	}
	if len(byKey) != side*side {
		t.Fatalf("%d distinct keys for %d cells", len(byKey), side*side)
	}
	for x := uint32(0); x < 4; x++ {
		for y := uint32(0); y < 4; y++ {
			k := hilbertKey(x, y)
			if k >= 16 {
				t.Errorf("cell (%d,%d) of the first 4x4 block has key %d", x, y, k)
			}
		}
	}
	for k := uint64(0); k+1 < 16; k++ {
		var a, b [2]uint32
		for x := uint32(0); x < 4; x++ {
			for y := uint32(0); y < 4; y++ {
				switch hilbertKey(x, y) {
				case k:
					a = [2]uint32{x, y}
				case k + 1:
					b = [2]uint32{x, y}
				}
			}
		}
		if d := absDiff(a[0], b[0]) + absDiff(a[1], b[1]); d != 1 {
			t.Errorf("keys %d and %d are cells %v and %v, not neighbours", k, k+1, a, b)
		}
	}
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}
