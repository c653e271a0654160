package plan

import (
	"fmt"
	"math"
	"slices"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
)

// Reach is what the plan says about where walking reaches: the walks on
// roads closed to pedestrians (a graph imported with --foot-emergency),
// and what would serve the households no rally point is within walking
// distance of.
type Reach struct {
	// FootEmergency is set when the foot graph opened roads closed to
	// pedestrians (roadgraph.Graph.EmergencyArcs).
	FootEmergency bool `json:"foot_emergency,omitempty"`
	// EmergencyWalks are the households whose walk runs along such roads.
	EmergencyWalks []EmergencyWalk `json:"emergency_walks,omitempty"`
	Suggestions    []Suggestion    `json:"suggestions,omitempty"`
}

// EmergencyWalk is a household's walk along roads closed to pedestrians.
type EmergencyWalk struct {
	Household string   `json:"household"`
	DistanceM float64  `json:"distance_m"` // along such roads
	Roads     []string `json:"roads,omitempty"`
}

// onRoadM is how near an emergency arc's line both ends of a stretch of a
// walk must be for the stretch to count as on it: the walk's geometry is
// the graph's, give or take the rounding of its encoding.
const onRoadM = 1.5

// emergencySegment is one straight piece of an emergency arc.
type emergencySegment struct {
	a, b orb.Point
	box  orb.Bound
	name string
}

// emergencySegments lists the straight pieces of g's emergency arcs.
func emergencySegments(g *roadgraph.Graph) []emergencySegment {
	if len(g.EmergencyArcs) == 0 {
		return nil
	}
	tails := g.Tails()
	var out []emergencySegment
	for _, a := range g.EmergencyArcs {
		line := g.ArcGeometry(nil, tails[a], a)
		for i := 1; i < len(line); i++ {
			box := orb.Bound{Min: line[i-1], Max: line[i-1]}.Extend(line[i])
			out = append(out, emergencySegment{line[i-1], line[i], box.Pad(onRoadM / 111000 * 2), g.Names[g.NameID[a]]})
		}
	}
	return out
}

// emergencyWalks finds, from their geometry, the walks that run along
// roads closed to pedestrians: the stretches of a walk whose both ends lie
// on one of the emergency arcs' lines.
func emergencyWalks(foot *roadgraph.Graph, hs []Household) []EmergencyWalk {
	segs := emergencySegments(foot)
	if len(segs) == 0 {
		return nil
	}
	all := segs[0].box
	for _, s := range segs[1:] {
		all = all.Union(s.box)
	}
	var out []EmergencyWalk
	for i := range hs {
		line, ok := walkLine(hs[i].Walk.Geometry)
		if !ok || !line.Bound().Intersects(all) {
			continue
		}
		ew := EmergencyWalk{Household: hs[i].ID}
		for k := 1; k < len(line); k++ {
			p, q := line[k-1], line[k]
			if p == q || !all.Contains(p) || !all.Contains(q) {
				continue
			}
			for _, s := range segs {
				if s.box.Contains(p) && s.box.Contains(q) && nearSegmentM(p, s.a, s.b) <= onRoadM && nearSegmentM(q, s.a, s.b) <= onRoadM {
					ew.DistanceM += muster.DistanceM(p[0], p[1], q[0], q[1])
					if s.name != "" && !slices.Contains(ew.Roads, s.name) {
						ew.Roads = append(ew.Roads, s.name)
					}
					break
				}
			}
		}
		if ew.DistanceM > 0 {
			ew.DistanceM = round1(ew.DistanceM)
			out = append(out, ew)
		}
	}
	return out
}

func walkLine(g *geojson.Geometry) (orb.LineString, bool) {
	if g == nil {
		return nil, false
	}
	line, ok := g.Coordinates.(orb.LineString)
	return line, ok && len(line) >= 2
}

// nearSegmentM is the distance in metres from p to the segment a-b, in a
// local flat projection (exact enough over a few metres).
func nearSegmentM(p, a, b orb.Point) float64 {
	kx := 111320 * math.Cos(p[1]*math.Pi/180)
	const ky = 110540
	ax, ay := (a[0]-p[0])*kx, (a[1]-p[1])*ky
	bx, by := (b[0]-p[0])*kx, (b[1]-p[1])*ky
	dx, dy := bx-ax, by-ay
	t := 0.0
	if l2 := dx*dx + dy*dy; l2 > 0 {
		t = math.Max(0, math.Min(1, -(ax*dx+ay*dy)/l2))
	}
	x, y := ax+t*dx, ay+t*dy
	return math.Hypot(x, y)
}

// reachOf fills in the plan's Reach: the walks on roads closed to
// pedestrians, and the suggestions.
func reachOf(foot *roadgraph.Graph, pl *Plan, suggestions []Suggestion) *Reach {
	r := &Reach{FootEmergency: len(foot.EmergencyArcs) > 0, Suggestions: suggestions}
	if r.FootEmergency {
		r.EmergencyWalks = emergencyWalks(foot, pl.Households)
	}
	if !r.FootEmergency && len(r.Suggestions) == 0 {
		return nil
	}
	return r
}

// Suggested returns r's suggestions (none for a nil Reach).
func (r *Reach) Suggested() []Suggestion {
	if r == nil {
		return nil
	}
	return r.Suggestions
}

// EmergencyLine says in one line how many walk on roads closed to
// pedestrians, and how far.
func EmergencyLine(r *Reach) string {
	if r == nil || !r.FootEmergency {
		return ""
	}
	if len(r.EmergencyWalks) == 0 {
		return "foot emergency: the graph opens roads closed to pedestrians, but no walk uses them"
	}
	far := 0.0
	for _, w := range r.EmergencyWalks {
		far = math.Max(far, w.DistanceM)
	}
	return fmt.Sprintf("foot emergency: %d households walk along roads closed to pedestrians (up to %.0f m; the plan's reach.emergency_walks says who, and where)", len(r.EmergencyWalks), far)
}
