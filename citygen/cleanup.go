package citygen

// carHighways are the highway classes cars may use, as osmimport reads them.
var carHighways = map[string]bool{
	"motorway": true, "trunk": true, "primary": true, "secondary": true, "tertiary": true,
	"unclassified": true, "residential": true, "living_street": true, "service": true,
}

// cleanup enforces what the city promises, whatever the steps before left:
// no street crosses the river but on a bridge, nothing but a gate spur
// touches the airport, the network is one piece, and one-way lanes trap no
// car.
func (l *layout) cleanup() {
	p := l.net
	for e := range p.edges {
		ed := &p.edges[e]
		if ed.dead {
			continue
		}
		a, b := p.pts[ed.a], p.pts[ed.b]
		if !ed.bridge && l.crossesRiver(a, b) {
			ed.dead = true
			continue
		}
		if !l.gateStreet[ed.street] && l.touchesAirport(a, b) {
			ed.dead = true
		}
	}
	l.keepLargestComponent()
	for range 10 {
		if l.openOneWayTraps() == 0 {
			break
		}
	}
}

// keepLargestComponent removes every piece of network not joined to the
// largest one, walking and driving alike.
func (l *layout) keepLargestComponent() {
	p := l.net
	parent := make([]int32, len(p.pts))
	for i := range parent {
		parent[i] = int32(i)
	}
	find := func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for _, ed := range p.edges {
		if ed.dead {
			continue
		}
		ra, rb := find(ed.a), find(ed.b)
		if ra != rb {
			if ra < rb {
				ra, rb = rb, ra
			}
			parent[ra] = rb
		}
	}
	size := make([]int32, len(p.pts))
	for n := range p.pts {
		if len(p.liveEdges(int32(n))) > 0 {
			size[find(int32(n))]++
		}
	}
	best := int32(0)
	for n := range size {
		if size[n] > size[best] {
			best = int32(n)
		}
	}
	for e := range p.edges {
		if !p.edges[e].dead && find(p.edges[e].a) != best {
			p.edges[e].dead = true
		}
	}
	for n := range p.pts {
		if len(p.liveEdges(int32(n))) == 0 {
			p.nodeDead[n] = true
		}
	}
}

// carArcs returns the car network as a forward star over all nodes.
func (l *layout) carArcs() (first []int32, head []int32) {
	p := l.net
	first = make([]int32, len(p.pts)+1)
	type arc struct{ a, b int32 }
	var arcs []arc
	for _, ed := range p.edges {
		if ed.dead {
			continue
		}
		st := p.streets[ed.street]
		if !carHighways[st.Highway] {
			continue
		}
		arcs = append(arcs, arc{ed.a, ed.b})
		if !(st.Oneway && !ed.twoWay) && !st.Roundabout {
			arcs = append(arcs, arc{ed.b, ed.a})
		}
	}
	for _, a := range arcs {
		first[a.a+1]++
	}
	for i := 1; i < len(first); i++ {
		first[i] += first[i-1]
	}
	head = make([]int32, len(arcs))
	fill := append([]int32(nil), first[:len(first)-1]...)
	for _, a := range arcs {
		head[fill[a.a]] = a.b
		fill[a.a]++
	}
	return first, head
}

// openOneWayTraps finds the largest strongly connected part of the car
// network, makes two-way every one-way lane that touches a node outside it,
// and returns how many it changed. It leaves l.carStrong set.
func (l *layout) openOneWayTraps() int {
	p := l.net
	first, head := l.carArcs()
	comp := strongComponents(first, head)
	counts := map[int32]int{}
	for n, c := range comp {
		if first[n+1] > first[n] {
			counts[c]++
		}
	}
	best, bestN := int32(-1), -1
	for c, k := range counts {
		if k > bestN || (k == bestN && c < best) {
			best, bestN = c, k
		}
	}
	l.carStrong = make([]bool, len(p.pts))
	for n, c := range comp {
		l.carStrong[n] = c == best && !p.nodeDead[n] && first[n+1] > first[n]
	}
	changed := 0
	for e := range p.edges {
		ed := &p.edges[e]
		st := p.streets[ed.street]
		if ed.dead || !st.Oneway || ed.twoWay || !carHighways[st.Highway] {
			continue
		}
		if !l.carStrong[ed.a] || !l.carStrong[ed.b] {
			ed.twoWay = true
			changed++
		}
	}
	return changed
}

// strongComponents labels each node of a forward-star graph with its
// strongly connected component (Tarjan's algorithm, iterative so that a
// big city cannot overflow the stack).
func strongComponents(first, head []int32) []int32 {
	n := len(first) - 1
	const unvisited = -1
	index := make([]int32, n)
	low := make([]int32, n)
	comp := make([]int32, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = unvisited
		comp[i] = -1
	}
	var stack []int32
	type frame struct{ v, next int32 }
	var call []frame
	next := int32(0)
	ncomp := int32(0)
	for root := 0; root < n; root++ {
		if index[root] != unvisited {
			continue
		}
		call = append(call, frame{int32(root), first[root]})
		index[root], low[root] = next, next
		next++
		stack = append(stack, int32(root))
		onStack[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			v := f.v
			if f.next < first[v+1] {
				w := head[f.next]
				f.next++
				if index[w] == unvisited {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{w, first[w]})
				} else if onStack[w] && index[w] < low[v] {
					low[v] = index[w]
				}
				continue
			}
			if low[v] == index[v] {
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp[w] = ncomp
					if w == v {
						break
					}
				}
				ncomp++
			}
			call = call[:len(call)-1]
			if len(call) > 0 {
				u := call[len(call)-1].v
				if low[v] < low[u] {
					low[u] = low[v]
				}
			}
		}
	}
	return comp
}
