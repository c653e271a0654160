package citygen

import (
	"maps"
	"math"
	"slices"
)

// linePositions returns the positions of parallel street lines from -half
// to half: mostly short blocks, some long ones, as in an old city.
func (l *layout) linePositions(half float64) []float64 {
	var out []float64
	for x := -half; x <= half; {
		out = append(out, x)
		r := l.rng.Float64()
		x += 62 + 110*r*r*r + 25*l.rng.Float64()
	}
	return out
}

// buildGrid lays the irregular street grid: a jittered, gently warped
// lattice, denser toward the centre, turned by a random angle, with streets
// missing here and there, one-way lanes in the old town and a pedestrian
// bazaar at the centre.
func (l *layout) buildGrid() {
	rot := (l.rng.Float64() - 0.5) * 0.5
	cr, sr := math.Cos(rot), math.Sin(rot)
	half := 1.3 * l.A
	us, vs := l.linePositions(half), l.linePositions(half)
	nu, nv := len(us), len(vs)
	var wp [4]float64
	for i := range wp {
		wp[i] = l.rng.Float64() * 2 * math.Pi
	}
	ids := make([]int32, nu*nv)
	for j := 0; j < nv; j++ {
		if l.ctx.Err() != nil {
			return
		}
		for i := 0; i < nu; i++ {
			w := vec{us[i], vs[j]}
			w = vec{w.X*cr - w.Y*sr, w.X*sr + w.Y*cr}
			g := 0.72 + 0.28*math.Min(1, w.len()/l.R)
			q := w.mul(g)
			q.X += 35*math.Sin(q.Y/700+wp[0]) + 20*math.Sin((q.X+q.Y)/400+wp[1])
			q.Y += 35*math.Sin(q.X/800+wp[2]) + 20*math.Sin((q.X-q.Y)/450+wp[3])
			q.X += (l.rng.Float64() - 0.5) * 20
			q.Y += (l.rng.Float64() - 0.5) * 20
			ids[j*nu+i] = -1
			if l.rng.Float64() < 0.02 || !l.inCity(q, 1) || !l.riverClear(q, riverClearance) || l.airportGrd.contains(q) {
				continue
			}
			ids[j*nu+i] = l.net.addNode(q)
		}
	}
	l.gridH = make([]int32, nv*(nu-1))
	l.gridV = make([]int32, nu*(nv-1))
	l.gridNU, l.gridNV = nu, nv
	line := make([]int32, 0, max(nu, nv))
	for j := 0; j < nv; j++ {
		line = line[:0]
		for i := 0; i < nu; i++ {
			line = append(line, ids[j*nu+i])
		}
		copy(l.gridH[j*(nu-1):], l.gridLine(line, j))
	}
	for i := 0; i < nu; i++ {
		line = line[:0]
		for j := 0; j < nv; j++ {
			line = append(line, ids[j*nu+i])
		}
		copy(l.gridV[i*(nv-1):], l.gridLine(line, i+1))
	}
	l.gridIDs = ids
}

// gridLine joins one lattice line's nodes into streets and returns the edge
// for each gap between consecutive lattice points (-1 where none).
func (l *layout) gridLine(ids []int32, parity int) []int32 {
	out := make([]int32, len(ids)-1)
	st, left := int32(-1), 0
	for k := 0; k+1 < len(ids); k++ {
		out[k] = -1
		a, b := ids[k], ids[k+1]
		if a < 0 || b < 0 || l.rng.Float64() < 0.06 {
			st = -1
			continue
		}
		pa, pb := l.net.pts[a], l.net.pts[b]
		if l.crossesRiver(pa, pb) || l.airportGrd.segmentTouches(pa, pb, 0) {
			st = -1
			continue
		}
		if st < 0 || left == 0 {
			st, left = l.gridStreet(pa.lerp(pb, 0.5), parity), 5+l.rng.IntN(10)
		}
		left--
		if l.net.streets[st].Oneway && parity%2 == 1 {
			a, b = b, a
		}
		out[k] = l.net.addEdge(a, b, st, false)
	}
	return out
}

// gridStreet starts a new street of the grid at mid.
func (l *layout) gridStreet(mid vec, parity int) int32 {
	r := l.rng.Float64()
	d := mid.len() / l.R
	s := street{Highway: "residential"}
	switch {
	case d < 0.12 && r < 0.35:
		s.Highway = "pedestrian"
	case r < 0.05:
		s.Highway = "living_street"
	case r < 0.11 && d > 0.5:
		s.Highway = "unclassified"
	case d < 0.45 && parity%3 != 2:
		s.Oneway = true
	}
	if s.Highway == "residential" && l.rng.Float64() < 0.15 {
		s.MaxSpeed = "30"
	}
	if s.Highway == "living_street" || l.rng.Float64() < 0.85 {
		s.Name = l.nm.street(s.Highway)
	}
	return l.net.addStreet(s)
}

// midpoint returns a node halfway along a grid edge, splitting it the first
// time.
func (l *layout) midpoint(e int32) int32 {
	if n, ok := l.mids[e]; ok {
		return n
	}
	ed := l.net.edges[e]
	if ed.dead {
		return -1
	}
	n := l.net.addNode(l.net.pts[ed.a].lerp(l.net.pts[ed.b], 0.5))
	l.net.splitEdge(e, []int32{n})
	l.mids[e] = n
	return n
}

// buildBlocks adds what runs through blocks: footways, paths and steps
// (so that walkers have more network than cars) and dead-end service lanes.
func (l *layout) buildBlocks() {
	l.mids = map[int32]int32{}
	nu, nv := l.gridNU, l.gridNV
	foot := l.net.addStreet(street{Highway: "footway"})
	path := l.net.addStreet(street{Highway: "path"})
	steps := l.net.addStreet(street{Highway: "steps"})
	service := l.net.addStreet(street{Highway: "service"})
	for j := 0; j+1 < nv; j++ {
		if l.ctx.Err() != nil {
			return
		}
		for i := 0; i+1 < nu; i++ {
			bottom, top := l.gridH[j*(nu-1)+i], l.gridH[(j+1)*(nu-1)+i]
			left, right := l.gridV[i*(nv-1)+j], l.gridV[(i+1)*(nv-1)+j]
			if bottom < 0 || top < 0 || left < 0 || right < 0 {
				continue
			}
			r := l.rng.Float64()
			switch {
			case r < 0.13:
				e1, e2 := bottom, top
				if l.rng.IntN(2) == 0 {
					e1, e2 = left, right
				}
				a, b := l.midpoint(e1), l.midpoint(e2)
				if a < 0 || b < 0 || l.crossesRiver(l.net.pts[a], l.net.pts[b]) {
					continue
				}
				st := foot
				switch q := l.rng.Float64(); {
				case q < 0.06:
					st = steps
				case q < 0.25 && l.net.pts[a].len() > 0.6*l.R:
					st = path
				}
				l.net.addEdge(a, b, st, false)
			case r < 0.20:
				sides := [4]int32{bottom, top, left, right}
				e := sides[l.rng.IntN(4)]
				a := l.midpoint(e)
				if a < 0 {
					continue
				}
				c := l.net.pts[l.gridIDs[j*nu+i]].lerp(l.net.pts[l.gridIDs[(j+1)*nu+i+1]], 0.5)
				end := l.net.pts[a].lerp(c, 0.8)
				if l.crossesRiver(l.net.pts[a], end) {
					continue
				}
				l.net.addEdge(a, l.net.addNode(end), service, false)
			}
		}
	}
}

// run is a stretch of a road to lay: its shape and its bridge decks.
type run struct {
	pl     polyline
	spans  []span
	closed bool
}

type runOpts struct {
	closed      bool
	bridges     bool    // may cross the river on bridges
	foot        bool    // a footbridge: needs no bridge budget
	clipCity    float64 // if > 0, keep only what lies within the city grown by this factor
	exemptStart float64 // this much of the road's start may lie near the airport fence
}

// roadRuns cuts a planned road into the runs that may be built: away from
// the airport, off the river except on bridges, and optionally within the
// city.
func (l *layout) roadRuns(pl polyline, ro runOpts) []run {
	if ro.closed {
		pl = append(slices.Clone(pl), pl[0])
	}
	pl = pl.densify(sampleStep)
	cum := make([]float64, len(pl))
	for i := 1; i < len(pl); i++ {
		cum[i] = cum[i-1] + pl[i-1].dist(pl[i])
	}
	var crossings []float64
	firstBridge := len(l.bridgePts)
	for i := 0; i+1 < len(pl); i++ {
		s0, s1 := l.riverSide(pl[i]), l.riverSide(pl[i+1])
		if (s0 < 0) == (s1 < 0) {
			continue
		}
		fr := s0 / (s0 - s1)
		tc := cum[i] + fr*(cum[i+1]-cum[i])
		at := pl[i].lerp(pl[i+1], fr)
		dir := pl[i+1].sub(pl[i]).unit()
		k := int((at.X - l.riverX0) / riverStep)
		k = max(0, min(len(l.river)-2, k))
		tan := l.river[k+1].sub(l.river[k]).unit()
		ok := ro.bridges && (ro.foot || l.bridgeBudget > 0) && math.Abs(dir.cross(tan)) > 0.6 &&
			l.inCity(at, 1.02) && tc > 2*bridgeHalf && tc < cum[len(cum)-1]-2*bridgeHalf
		for _, b := range l.bridgePts {
			if b.dist(at) < l.bridgeSpacing() {
				ok = false
			}
		}
		if !ok {
			continue
		}
		if !ro.foot {
			l.bridgeBudget--
		}
		l.bridgePts = append(l.bridgePts, at)
		crossings = append(crossings, tc)
	}
	keep := make([]bool, len(pl))
	allKept := true
	for i, v := range pl {
		nearBridge := false
		for _, tc := range crossings {
			if math.Abs(cum[i]-tc) <= 2.5*bridgeHalf {
				nearBridge = true
			}
		}
		keep[i] = (nearBridge || l.riverClear(v, embankment-10)) &&
			(cum[i] < ro.exemptStart || !l.airportArt.contains(v)) &&
			(ro.clipCity <= 0 || l.inCity(v, ro.clipCity))
		allKept = allKept && keep[i]
	}
	used := make([]bool, len(crossings))
	spansIn := func(t0, t1 float64) []span {
		var out []span
		for k, tc := range crossings {
			if tc-bridgeHalf > t0 && tc+bridgeHalf < t1 {
				out = append(out, span{tc - bridgeHalf - t0, tc + bridgeHalf - t0})
				used[k] = true
			}
		}
		return out
	}
	// Bridges planned on stretches that are not built are not bridges.
	defer func() {
		kept := l.bridgePts[:firstBridge]
		for k, at := range l.bridgePts[firstBridge:] {
			if used[k] {
				kept = append(kept, at)
			} else if !ro.foot {
				l.bridgeBudget++
			}
		}
		l.bridgePts = kept
	}()
	if ro.closed && allKept {
		return []run{{pl: pl[:len(pl)-1], spans: spansIn(0, cum[len(cum)-1]), closed: true}}
	}
	var out []run
	for i := 0; i < len(pl); {
		if !keep[i] {
			i++
			continue
		}
		j := i
		for j < len(pl) && keep[j] {
			j++
		}
		if j-i >= 2 && cum[j-1]-cum[i] >= 50 {
			out = append(out, run{pl: pl[i:j], spans: spansIn(cum[i], cum[j-1])})
		}
		i = j
	}
	// A closed road cut somewhere: its first and last runs are one.
	if ro.closed && len(out) >= 2 && keep[0] && keep[len(pl)-1] {
		first, last := out[0], out[len(out)-1]
		off := cum[len(cum)-1] - cum[len(cum)-len(last.pl)]
		merged := run{pl: append(slices.Clone(last.pl), first.pl[1:]...), spans: last.spans}
		for _, s := range first.spans {
			merged.spans = append(merged.spans, span{s.from + off, s.to + off})
		}
		out = append([]run{merged}, out[1:len(out)-1]...)
	}
	return out
}

// lay builds a planned road: cuts it into runs, lays each over the network
// and joins loose ends to the nearest road within reach.
func (l *layout) lay(pl polyline, st int32, ro runOpts, snap float64) [][]int32 {
	var out [][]int32
	for _, r := range l.roadRuns(pl, ro) {
		nodes := l.net.overlay(r.pl, st, overlayOpts{snap: snap, closed: r.closed, bridges: r.spans})
		if len(nodes) == 0 {
			continue
		}
		if !r.closed {
			l.connectEnd(nodes[0], st, 45)
			l.connectEnd(nodes[len(nodes)-1], st, 45)
		}
		out = append(out, nodes)
	}
	return out
}

// connectEnd joins dead end n to the nearest other road within reach, as a
// surveyor would finish a road that stops just short of another.
func (l *layout) connectEnd(n, st int32, reach float64) {
	p := l.net
	if len(p.liveEdges(n)) != 1 {
		return
	}
	nb := p.other(p.adj[n][0], n)
	at := p.pts[n]
	best, bestE, bestS, bestQ := reach, int32(-1), 0.0, vec{}
	p.edgesNear(at, at, reach, func(e int32) {
		ed := p.edges[e]
		if ed.a == n || ed.b == n || ed.a == nb || ed.b == nb || ed.bridge {
			return
		}
		s, q := projectOnSegment(at, p.pts[ed.a], p.pts[ed.b])
		if d := q.dist(at); d < best {
			best, bestE, bestS, bestQ = d, e, s, q
		}
	})
	if bestE < 0 || l.crossesRiver(at, bestQ) || l.touchesAirport(at, bestQ) {
		return
	}
	ed := p.edges[bestE]
	el := p.pts[ed.a].dist(p.pts[ed.b])
	var target int32
	switch {
	case bestS*el < 8:
		target = ed.a
	case (1-bestS)*el < 8:
		target = ed.b
	default:
		target = p.addNode(bestQ)
		p.splitEdge(bestE, []int32{target})
	}
	if target != n && p.edgeBetween(n, target) < 0 {
		p.addEdge(n, target, st, false)
	}
}

// buildEmbankments lays a road along each bank of the river.
func (l *layout) buildEmbankments() {
	for _, side := range []float64{1, -1} {
		var pl polyline
		for i := 1; i+1 < len(l.river); i++ {
			t := l.river[i+1].sub(l.river[i-1]).unit()
			pl = append(pl, l.river[i].add(t.perp().mul(side*embankment)))
		}
		hw := "tertiary"
		if side < 0 {
			hw = "unclassified"
		}
		st := l.net.addStreet(street{Highway: hw, Name: l.nm.street(hw)})
		l.lay(pl, st, runOpts{clipCity: 1}, streetSnap)
	}
}

// buildAirport lays the perimeter road around the fence and a short spur
// from it to each gate. Nothing else reaches the fence.
func (l *layout) buildAirport() {
	// The fence with the gates as vertices, so that the perimeter road has
	// a point straight out from each gate.
	var fence ring
	gateAt := map[int]int{} // fence vertex -> gate
	for i, v := range l.airport {
		fence = append(fence, v)
		w := l.airport[(i+1)%len(l.airport)]
		type onEdge struct {
			g int
			s float64
		}
		var on []onEdge
		for gi, g := range l.gates {
			if g.at.dist(v) < 1 {
				gateAt[len(fence)-1] = gi
				continue
			}
			if s, q := projectOnSegment(g.at, v, w); q.dist(g.at) < 1 && s > 0 && s < 1 {
				on = append(on, onEdge{gi, s})
			}
		}
		slices.SortFunc(on, func(a, b onEdge) int { return cmpFloat(a.s, b.s) })
		for _, o := range on {
			fence = append(fence, l.gates[o.g].at)
			gateAt[len(fence)-1] = o.g
		}
	}
	perim := fence.offsetOutward(perimeterGap)
	gateVertices := slices.Sorted(maps.Keys(gateAt))
	for _, vi := range gateVertices {
		gi := gateAt[vi]
		l.gates[gi].out = perim[vi].sub(fence[vi]).unit()
	}
	st := l.net.addStreet(street{Highway: "tertiary", Name: "Airport Perimeter Road", MaxSpeed: "40"})
	l.perimStreet = st
	pl := append(polyline{}, perim...)
	pl = append(pl, perim[0]) // closed
	nodes := l.net.overlay(pl, st, overlayOpts{snap: 15, closed: true})
	// Later roads cross the perimeter road or end on it; none may drag its
	// nodes toward the fence or cut it.
	for _, n := range nodes {
		l.net.pinned[n] = true
	}
	for _, vi := range gateVertices {
		gi := gateAt[vi]
		best, bestD := int32(-1), math.Inf(1)
		for _, n := range nodes {
			if d := l.net.pts[n].dist(perim[vi]); d < bestD {
				best, bestD = n, d
			}
		}
		g := &l.gates[gi]
		g.perim = best
		l.net.pinned[best] = true
		g.node = l.net.addNode(g.at)
		l.net.pinned[g.node] = true
		spur := l.net.addStreet(street{Highway: "service", Name: g.name})
		l.gateStreet[spur] = true
		l.net.addEdge(best, g.node, spur, false)
	}
	// Streets that stop just short of the perimeter road join it.
	var ends []int32
	seen := map[int32]bool{}
	for i := 0; i+1 < len(pl); i++ {
		l.net.nodesNear(pl[i], pl[i+1], 70, func(n int32) {
			if !seen[n] && !l.net.pinned[n] && len(l.net.liveEdges(n)) == 1 {
				seen[n] = true
				ends = append(ends, n)
			}
		})
	}
	slices.Sort(ends)
	for _, n := range ends {
		if len(l.net.liveEdges(n)) == 1 {
			l.connectEnd(n, l.net.edges[l.net.adj[n][0]].street, 70)
		}
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ringRadius returns the ring road's distance from the centre in direction theta.
func (l *layout) ringRadius(theta float64) float64 {
	ex, ey := 0.52*l.A, 0.58*l.B
	c, s := math.Cos(theta), math.Sin(theta)
	r := 1 / math.Sqrt(c*c/(ex*ex)+s*s/(ey*ey))
	return r * (1 + 0.05*math.Sin(3*theta+l.phase[5]) + 0.03*math.Sin(7*theta+l.phase[0]))
}

// pushFromAirport moves v toward the centre until it is clear of the
// airport by margin: roads swing around the airport on the city side.
func (l *layout) pushFromAirport(v vec, keepOut ring) vec {
	if !keepOut.contains(v) {
		return v
	}
	lo, hi := 0.0, 1.0
	for t := 0.0; t <= 1; t += 0.02 {
		if keepOut.contains(v.mul(t)) {
			hi = t
			break
		}
		lo = t
	}
	for k := 0; k < 30; k++ {
		m := (lo + hi) / 2
		if keepOut.contains(v.mul(m)) {
			hi = m
		} else {
			lo = m
		}
	}
	return v.mul(lo)
}

// buildRing lays the ring road.
func (l *layout) buildRing() {
	keepOut := l.airport.offsetOutward(220)
	n := int(2*math.Pi*l.ringRadius(0)/sampleStep) + 16
	var pl polyline
	for k := 0; k < n; k++ {
		th := 2 * math.Pi * float64(k) / float64(n)
		pl = append(pl, l.pushFromAirport(polar(l.ringRadius(th), th), keepOut))
	}
	l.ringStreet = l.net.addStreet(street{Highway: "primary", Name: l.nm.street("primary"), MaxSpeed: "60"})
	l.lay(pl, l.ringStreet, runOpts{closed: true, bridges: true}, arterialSnap)
}

// buildRadials lays the arteries from the centre out through the ring and
// beyond the city's edge.
func (l *layout) buildRadials() {
	nr := 8
	switch {
	case l.s < 0.5:
		nr = 6
	case l.s >= 8:
		nr = 12
	case l.s >= 3:
		nr = 10
	}
	base := l.rng.Float64() * 2 * math.Pi / float64(nr)
	l.radialAngles = nil
	for k := 0; k < nr; k++ {
		th0 := base + 2*math.Pi*float64(k)/float64(nr) + (l.rng.Float64()-0.5)*0.3
		l.radialAngles = append(l.radialAngles, th0)
		pl := polyline{{}}
		th := th0
		for v := (vec{}); l.inCity(v, 1.08); {
			th += (l.rng.Float64() - 0.5) * 0.04
			th = math.Max(th0-0.2, math.Min(th0+0.2, th))
			v = v.add(polar(sampleStep, th))
			pl = append(pl, v)
		}
		hw, speed := "primary", "60"
		if k%2 == 1 {
			hw, speed = "secondary", "50"
		}
		inner := l.net.addStreet(street{Highway: hw, Name: l.nm.street(hw), MaxSpeed: speed})
		l.radialStreets[inner] = true
		if k != 0 {
			l.lay(pl, inner, runOpts{bridges: true}, arterialSnap)
			continue
		}
		// The first radial leaves town as a trunk road past the ring.
		cut := 0
		for cut < len(pl) && pl[cut].len() < l.ringRadius(th0) {
			cut++
		}
		outer := l.net.addStreet(street{Highway: "trunk", Name: l.nm.street("trunk"), MaxSpeed: "80"})
		l.radialStreets[outer] = true
		l.lay(pl[:min(cut+1, len(pl))], inner, runOpts{bridges: true}, arterialSnap)
		if cut < len(pl)-1 {
			l.lay(pl[cut:], outer, runOpts{bridges: true}, arterialSnap)
		}
	}
}

// buildConnectors lays tertiary roads along arcs between neighbouring
// radials, and short diagonal residential streets across the grid.
func (l *layout) buildConnectors() {
	nr := len(l.radialAngles)
	nc := max(3, int(math.Round(8*l.s)))
	for c := 0; c < nc; c++ {
		k := l.rng.IntN(nr)
		th0 := l.radialAngles[k]
		th1 := l.radialAngles[(k+1)%nr]
		if th1 < th0 {
			th1 += 2 * math.Pi
		}
		rho := 0.3 + 1.1*l.rng.Float64()
		n := int((th1-th0)*rho*l.ringRadius(th0)/sampleStep) + 2
		var pl polyline
		for i := 0; i <= n; i++ {
			th := th0 + (th1-th0)*float64(i)/float64(n)
			pl = append(pl, polar(rho*l.ringRadius(th), th))
		}
		st := street{Highway: "tertiary", Name: l.nm.street("tertiary")}
		if l.rng.IntN(2) == 0 {
			st.MaxSpeed = "40"
		}
		l.lay(pl, l.net.addStreet(st), runOpts{clipCity: 1}, arterialSnap)
	}
	nd := max(4, int(math.Round(14*l.s)))
	for d := 0; d < nd; d++ {
		var start vec
		for tries := 0; tries < 20; tries++ {
			start = vec{(l.rng.Float64()*2 - 1) * l.A, (l.rng.Float64()*2 - 1) * l.B}
			if l.inCity(start, 0.95) {
				break
			}
		}
		th := math.Pi/4 + float64(l.rng.IntN(4))*math.Pi/2 + (l.rng.Float64()-0.5)*0.4
		length := 300 + 700*l.rng.Float64()
		bend := (l.rng.Float64() - 0.5) * 0.004
		pl := polyline{start}
		for s := 0.0; s < length; s += sampleStep {
			th += bend * sampleStep
			pl = append(pl, pl[len(pl)-1].add(polar(sampleStep, th)))
		}
		st := l.net.addStreet(street{Highway: "residential", Name: l.nm.street("residential")})
		l.lay(pl, st, runOpts{clipCity: 1}, streetSnap)
	}
}

// buildAccessRoads lays a road from each gate's perimeter node out and
// toward the city, where the way in is not across the airport itself.
func (l *layout) buildAccessRoads() {
	for gi := range l.gates {
		g := &l.gates[gi]
		start := l.net.pts[g.perim]
		out := start.add(g.out.mul(150))
		pl := polyline{start, out}
		toCentre := out.mul(-1).unit()
		if g.out.dot(toCentre) > -0.2 {
			n := 0
			for v := out; n < 40; n++ {
				v = v.add(toCentre.mul(sampleStep))
				pl = append(pl, v)
			}
		} else {
			pl = append(pl, out.add(g.out.mul(250)))
		}
		st := l.net.addStreet(street{Highway: "secondary", Name: g.name + " Road", MaxSpeed: "50"})
		runs := l.roadRuns(pl, runOpts{exemptStart: 160})
		if len(runs) == 0 || runs[0].pl[0].dist(start) > 1 {
			continue
		}
		r := runs[0]
		// The road starts at the perimeter node itself.
		nodes := l.net.overlay(r.pl, st, overlayOpts{snap: arterialSnap})
		if len(nodes) > 0 && nodes[0] != g.perim {
			l.net.mergeNode(nodes[0], g.perim)
			nodes[0] = g.perim
		}
		if len(nodes) > 0 {
			l.connectEnd(nodes[len(nodes)-1], st, 45)
		}
	}
}

// bridgeSpacing is the least distance between two bridges: 600 m, less
// in a city too small to fit its bridges that far apart.
func (l *layout) bridgeSpacing() float64 { return math.Min(600, 0.2*l.A) }

// buildExtraBridges adds local bridges until the city has its share, then
// a footbridge or two.
func (l *layout) buildExtraBridges() {
	tryBridge := func(hw string, foot bool, half float64) bool {
		bestX, bestD := 0.0, -1.0
		for c := 0; c < 24; c++ {
			x := (l.rng.Float64()*2 - 1) * 0.8 * l.A
			v := vec{x, l.riverY(x)}
			if !l.inCity(v, 0.9) {
				continue
			}
			d := math.Inf(1)
			for _, b := range l.bridgePts {
				d = math.Min(d, b.dist(v))
			}
			if d > bestD {
				bestX, bestD = x, d
			}
		}
		if bestD < l.bridgeSpacing() {
			return false
		}
		y := l.riverY(bestX)
		pl := polyline{{bestX - 20, y - half}, {bestX + 20, y + half}}
		name := "Pul-e " + l.nm.word()
		st := l.net.addStreet(street{Highway: hw, Name: l.nm.unique(name)})
		before := len(l.bridgePts)
		l.lay(pl, st, runOpts{bridges: true, foot: foot}, streetSnap)
		return len(l.bridgePts) > before
	}
	for tries := 0; l.bridgeBudget > 0 && tries < 10; tries++ {
		tryBridge("tertiary", false, 400)
	}
	foot := 1
	if l.s >= 4 {
		foot = 2
	}
	for tries := 0; foot > 0 && tries < 10; tries++ {
		if tryBridge("footway", true, 150) {
			foot--
		}
	}
}

// buildRoundabouts turns some junctions of the ring road and the radials,
// and the central junction, into roundabouts.
func (l *layout) buildRoundabouts() {
	p := l.net
	var cands []int32
	bestC, bestD := int32(-1), math.Inf(1)
	for n := range p.pts {
		if p.nodeDead[n] {
			continue
		}
		ring, radial, radials := false, false, 0
		for _, e := range p.liveEdges(int32(n)) {
			st := p.edges[e].street
			ring = ring || st == l.ringStreet
			if l.radialStreets[st] {
				radial = true
				radials++
			}
		}
		if ring && radial {
			cands = append(cands, int32(n))
		}
		if radials >= 3 {
			if d := p.pts[n].len(); d < bestD {
				bestC, bestD = int32(n), d
			}
		}
	}
	if bestC >= 0 && bestD < 200 {
		l.centre = bestC
		l.roundabout(bestC, 30, "primary")
	}
	want := 3
	if l.s >= 2 {
		want = 5
	}
	// Spread them out: take the candidates farthest from those already taken.
	var taken []vec
	for len(taken) < want && len(cands) > 0 {
		bi, bd := -1, -1.0
		for i, c := range cands {
			d := math.Inf(1)
			for _, t := range taken {
				d = math.Min(d, t.dist(p.pts[c]))
			}
			if len(taken) == 0 {
				d = float64(-i) // the first in index order
			}
			if d > bd {
				bi, bd = i, d
			}
		}
		c := cands[bi]
		cands = slices.Delete(cands, bi, bi+1)
		if l.roundabout(c, 22, "primary") {
			taken = append(taken, p.pts[c])
		}
	}
}

// roundabout replaces junction j by a one-way circle of radius r, driven
// counter-clockwise, and reports whether it could.
func (l *layout) roundabout(j int32, r float64, hw string) bool {
	p := l.net
	if len(p.liveEdges(j)) < 3 || p.pinned[j] {
		return false
	}
	c := p.pts[j]
	type arm struct {
		e     int32
		theta float64
	}
	var arms []arm
	for attempt := 0; ; attempt++ {
		arms = arms[:0]
		restart := false
		for _, e := range slices.Clone(p.liveEdges(j)) {
			// Shape points of the arm inside the circle go: the arm then
			// starts at its next node.
			for {
				o := p.other(e, j)
				if p.pts[o].dist(c) >= r+12 || p.pinned[o] || len(p.liveEdges(o)) != 2 || p.edges[e].bridge {
					break
				}
				next := p.liveEdges(o)[0]
				if next == e {
					next = p.adj[o][1]
				}
				far := p.other(next, o)
				if far == j || p.edgeBetween(j, far) >= 0 || p.edges[next].bridge {
					break
				}
				ed := p.edges[e]
				p.killEdge(e)
				p.killEdge(next)
				p.removeNode(o)
				if ed.a == j {
					e = p.addEdge(j, far, ed.street, false)
				} else {
					e = p.addEdge(far, j, ed.street, false)
				}
			}
			o := p.other(e, j)
			if p.pts[o].dist(c) < r+12 {
				// A junction inside the circle joins the roundabout's centre.
				if attempt >= 3 || p.pinned[o] || p.edges[e].bridge {
					return false
				}
				p.mergeNode(o, j)
				restart = true
				break
			}
			arms = append(arms, arm{e, math.Atan2(p.pts[o].Y-c.Y, p.pts[o].X-c.X)})
		}
		if !restart {
			break
		}
	}
	if len(arms) < 3 {
		return false
	}
	slices.SortFunc(arms, func(a, b arm) int { return cmpFloat(a.theta, b.theta) })
	for i := range arms {
		gap := arms[(i+1)%len(arms)].theta - arms[i].theta
		if i == len(arms)-1 {
			gap += 2 * math.Pi
		}
		if gap < 25*math.Pi/180 {
			return false
		}
	}
	st := p.addStreet(street{Highway: hw, Name: l.nm.unique("Chowk-e " + l.nm.word()), Roundabout: true})
	attach := make([]int32, len(arms))
	for i, a := range arms {
		attach[i] = p.addNode(c.add(polar(r, a.theta)))
		p.pinned[attach[i]] = true
		ed := p.edges[a.e]
		p.killEdge(a.e)
		if ed.a == j {
			p.addEdge(attach[i], ed.b, ed.street, false)
		} else {
			p.addEdge(ed.a, attach[i], ed.street, false)
		}
	}
	p.removeNode(j)
	for i := range arms {
		th0, th1 := arms[i].theta, arms[(i+1)%len(arms)].theta
		if th1 <= th0 {
			th1 += 2 * math.Pi
		}
		prev := attach[i]
		steps := int((th1-th0)/(math.Pi/6)) + 1
		for k := 1; k < steps; k++ {
			n := p.addNode(c.add(polar(r, th0+(th1-th0)*float64(k)/float64(steps))))
			p.addEdge(prev, n, st, false)
			prev = n
		}
		p.addEdge(prev, attach[(i+1)%len(arms)], st, false)
	}
	l.roundabouts = append(l.roundabouts, c)
	return true
}
