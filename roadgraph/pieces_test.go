package roadgraph

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
)

// Two grids side by side with no arc between them are two pieces; an arc
// each way between them makes one.
func TestPieces(t *testing.T) {
	c := gridCity(t, 3, 3, 4)
	g := c.Graphs[Car]
	label, sizes := g.Pieces()
	if len(sizes) != 1 || sizes[0] != g.NumNodes() {
		t.Fatalf("a grid is %v pieces", sizes)
	}
	for u, l := range label {
		if l != 0 {
			t.Fatalf("node %d is in piece %d", u, l)
		}
	}
	// Drop every arc leaving or entering node 0 of the grid: it becomes a
	// piece of its own, the others one piece.
	cut := &Graph{Profile: g.Profile, Lat: g.Lat, Lon: g.Lon, OSMNodeID: g.OSMNodeID, Names: g.Names}
	cut.FirstOut = make([]uint32, g.NumNodes()+1)
	for u := 0; u < g.NumNodes(); u++ {
		for a := g.FirstOut[u]; a < g.FirstOut[u+1]; a++ {
			if u != 0 && g.Head[a] != 0 {
				cut.Head = append(cut.Head, g.Head[a])
			}
		}
		cut.FirstOut[u+1] = uint32(len(cut.Head))
	}
	label, sizes = cut.Pieces()
	if len(sizes) < 2 || label[0] != 0 || sizes[0] != 1 {
		t.Errorf("the grid without node 0's arcs: pieces %v, labels %v", sizes, label)
	}
	// Against the definition: two nodes share a piece exactly when a path
	// of arcs, in either direction, joins them.
	adj := make([][]int, cut.NumNodes())
	for u := 0; u < cut.NumNodes(); u++ {
		for a := cut.FirstOut[u]; a < cut.FirstOut[u+1]; a++ {
			v := int(cut.Head[a])
			adj[u], adj[v] = append(adj[u], v), append(adj[v], u)
		}
	}
	for s := range adj {
		seen := map[int]bool{s: true}
		stack := []int{s}
		for len(stack) > 0 {
			u := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, v := range adj[u] {
				if !seen[v] {
					seen[v] = true
					stack = append(stack, v)
				}
			}
		}
		for v := range adj {
			if seen[v] != (label[s] == label[v]) {
				t.Fatalf("nodes %d and %d: joined %v, same piece %v", s, v, seen[v], label[s] == label[v])
			}
		}
		if sizes[label[s]] != len(seen) {
			t.Fatalf("node %d's piece has %d nodes, %d are joined to it", s, sizes[label[s]], len(seen))
		}
	}
}

// A city with emergency arcs is written as version 2 and read back with
// them; one without is version 1, as before; a version 1 file that claims
// emergency arcs, and arcs out of order, are refused.
func TestEmergencyArcsFile(t *testing.T) {
	c := gridCity(t, 3, 3, 4)
	plain := encodeCity(t, c)
	if v := binary.LittleEndian.Uint32(plain[8:]); v != 1 {
		t.Fatalf("a city without emergency arcs is written as version %d", v)
	}
	c.Graphs[Foot].EmergencyArcs = []uint32{1, 5}
	data := encodeCity(t, c)
	if v := binary.LittleEndian.Uint32(data[8:]); v != 2 {
		t.Fatalf("a city with emergency arcs is written as version %d", v)
	}
	back, err := ReadCity(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	f := back.Graphs[Foot]
	if !slices.Equal(f.EmergencyArcs, []uint32{1, 5}) || !f.IsEmergency(5) || f.IsEmergency(4) || len(back.Graphs[Car].EmergencyArcs) != 0 {
		t.Errorf("read back emergency arcs %v (car %v)", f.EmergencyArcs, back.Graphs[Car].EmergencyArcs)
	}
	asV1 := slices.Clone(data)
	binary.LittleEndian.PutUint32(asV1[8:], 1)
	if _, err := ReadCity(bytes.NewReader(reseal(asV1))); err == nil || !strings.Contains(err.Error(), "reserved field is 2") {
		t.Errorf("a version 1 file with emergency arcs: %v", err)
	}
	c.Graphs[Foot].EmergencyArcs = []uint32{5, 1}
	var buf bytes.Buffer
	if err := WriteCity(&buf, c); err == nil || !strings.Contains(err.Error(), "emergency arcs are not increasing") {
		t.Errorf("writing emergency arcs out of order: %v", err)
	}
}
