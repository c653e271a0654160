package threat

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/places"
)

// Record statuses: what a received report does in the picture at time T.
const (
	StatusCounting = "counting" // weighs in a zone or a gate status
	StatusExpired  = "expired"  // past its valid_until: kept, not counted
	StatusFaded    = "faded"    // more than FadeHalfLives old: kept, not counted
	StatusUnused   = "unused"   // a denial or all-clear of nothing in the picture
)

// ReportRef is a report as a zone or gate shows it: who said what, graded
// how, and how much it weighs now.
type ReportRef struct {
	ID         string    `json:"id"`
	Source     string    `json:"source"`
	SourceID   string    `json:"source_id"`
	Via        string    `json:"via,omitempty"`
	Grade      string    `json:"grade"`
	Kind       string    `json:"kind"`
	Claim      string    `json:"claim"`
	Likelihood string    `json:"likelihood"`
	P          float64   `json:"p"`
	Weight     float64   `json:"weight"`  // grade weight × decay
	Counted    bool      `json:"counted"` // false: its source is already counted through a stronger report
	Note       string    `json:"note,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
	Text       string    `json:"text"`
}

// RecordEntry is one received report and what it does at the picture's
// time.
type RecordEntry struct {
	ID     string  `json:"id"`
	Grade  string  `json:"grade"`
	Kind   string  `json:"kind"`
	Status string  `json:"status"`
	Weight float64 `json:"weight"`
	ZoneID string  `json:"zone_id,omitempty"`
	Note   string  `json:"note,omitempty"`
}

// Zone is one danger as the picture shows it.
type Zone struct {
	ID   string
	Name string
	// Geometry: one circle (Center, RadiusM) or a MultiPolygon of the
	// distinct areas its reports gave (circles as 32-gons); the members
	// may overlap, a point is in the zone if it is in any member.
	Polygon orb.MultiPolygon
	Center  orb.Point
	RadiusM float64
	AreaKm2 float64

	Kinds    []string
	Actors   []string
	Severity int

	Risk       float64 // 0..1
	Level      string
	Confidence float64 // 0..1
	// SupportFor and SupportAgainst are the graded, decayed, noisy-OR
	// combined likelihoods of each side.
	SupportFor, SupportAgainst float64
	Disputed                   bool
	Prevailing                 string // ClaimPresent or ClaimAbsent

	Forbidden     bool
	PolicyVerdict string  // why forbidden or not
	Penalty       float64 // routing cost factor when not forbidden

	For, Against []ReportRef

	shapes      []shape
	pro, con    side
	at          time.Time
	explanation string
	explainOnce sync.Once
}

// Contains reports whether the lon/lat point lies in the zone.
func (z *Zone) Contains(p orb.Point) bool {
	for _, s := range z.shapes {
		if shapeContains(s, p) {
			return true
		}
	}
	return false
}

// RoutingZone returns the zone as routing sees it, with the policy's
// penalty factor.
func (z *Zone) RoutingZone() muster.Zone {
	return muster.Zone{ID: z.ID, Name: z.Name, Polygon: z.Polygon, Center: z.Center, RadiusM: z.RadiusM,
		Risk: z.Risk, Forbidden: z.Forbidden, Penalty: z.Penalty, Level: z.Level}
}

// RoutesAffected reports whether routing needs the zone: forbidden, or
// dearer to cross. Context-only zones (a whole country) are neither.
func (z *Zone) RoutesAffected() bool { return z.Forbidden || z.Penalty > 1 }

// GateStatus is a gate's status at the picture's time, with its reasons.
type GateStatus struct {
	PlaceID  string      `json:"place_id"`
	Name     string      `json:"name"`
	Status   string      `json:"status"` // open, restricted, closed
	Disputed bool        `json:"disputed"`
	Reasons  []string    `json:"reasons"`
	Reports  []ReportRef `json:"reports,omitempty"`
}

// Picture is the threat picture at one time.
type Picture struct {
	At       time.Time
	Policy   Policy
	Zones    []*Zone
	Gates    []GateStatus
	Record   []RecordEntry // every report received by At, by id
	Rejected []Rejection   // reports whose area could not be resolved
}

// RoutingZones returns the zones as routing and planning consume them:
// those that forbid or penalise, with the policy's penalty. Context-only
// zones are left out: they would add nothing but work to every arc.
func (p *Picture) RoutingZones() []muster.Zone {
	out := make([]muster.Zone, 0, len(p.Zones))
	for _, z := range p.Zones {
		if z.RoutesAffected() {
			out = append(out, z.RoutingZone())
		}
	}
	return out
}

// Zone returns the zone with the given id, or nil.
func (p *Picture) Zone(id string) *Zone {
	for _, z := range p.Zones {
		if z.ID == id {
			return z
		}
	}
	return nil
}

// ZoneOf returns the zone a report counts in, or nil.
func (p *Picture) ZoneOf(reportID string) *Zone {
	for _, e := range p.Record {
		if e.ID == reportID && e.ZoneID != "" {
			return p.Zone(e.ZoneID)
		}
	}
	return nil
}

// Build fuses reports into the picture at time at: reports received
// after at are left out (nothing is known before it is received). A report
// that cannot be used (an area that does not resolve, a second report
// under one id) goes to the picture's Rejected list; the others are fused.
func Build(reports []muster.Report, pl *muster.Places, at time.Time, policy Policy, opts ...Option) (*Picture, error) {
	f, err := NewFuser(pl, at, policy, opts...)
	if err != nil {
		return nil, err
	}
	// Zones are fused once at the end rather than after every report.
	f.lazy = true
	for i := range reports {
		if _, err := f.Add(reports[i]); err != nil {
			f.rejected = append(f.rejected, Rejection{ID: reports[i].ID, Err: err})
		}
	}
	f.lazy = false
	return f.Picture(), nil
}

// evidence is a counting report with everything fusion needs.
type evidence struct {
	rep    muster.Report
	reg    region
	family string
	actors []string
	side   int     // +1 present, -1 absent
	decay  float64 // 0..1
	weight float64 // grade weight × decay
	eff    float64 // weight × likelihood × immediacy factor
}

// Fuser holds the picture at one time and applies new reports to it one by
// one, recomputing only the zone a report joins. Build uses it; feeding it
// reports in any order gives the same picture. A Fuser is not safe for
// concurrent use; the Pictures it returns may be read concurrently.
type Fuser struct {
	at     time.Time
	policy Policy
	opt    options
	places *places.Index

	ids    map[string]bool
	record map[string]*RecordEntry

	ev       []*evidence // zone evidence, by index
	parent   []int
	members  map[int][]int // union-find root -> evidence indexes
	grid     spatialIndex
	byID     map[string]int   // report id -> zone evidence index
	relating map[string][]int // report id -> evidence that relates to it

	clears    []*evidence // all-clears: they weigh against every zone they touch
	clearGrid spatialIndex
	clearsFor map[string][]int // report id -> all-clears that name it in relates_to
	gateEv    []*evidence

	zones       map[int]*Zone  // root -> zone (nil if the cluster has no present side)
	byZoneID    []*Zone        // the zones, sorted by id
	recordOrder []*RecordEntry // the record, sorted by id
	changes     int            // reports added so far; the cached picture is of cachedAt
	cached      *Picture
	cachedAt    int
	dirty       map[int]bool // roots whose zone must be fused again
	lazy        bool         // defer fusing to Picture (a batch build)
	stamp       []int
	stampNow    int
	rejected    []Rejection
}

// NewFuser returns an empty picture at time at. pl may be nil if no
// report names a place.
func NewFuser(pl *muster.Places, at time.Time, policy Policy, opts ...Option) (*Fuser, error) {
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	f := &Fuser{at: at.UTC(), policy: policy, ids: map[string]bool{}, record: map[string]*RecordEntry{},
		members: map[int][]int{}, grid: newSpatialIndex(), byID: map[string]int{}, relating: map[string][]int{},
		clearGrid: newSpatialIndex(), clearsFor: map[string][]int{}, zones: map[int]*Zone{}, dirty: map[int]bool{}}
	for _, o := range opts {
		o(&f.opt)
	}
	if pl != nil {
		ix, err := places.NewIndex(pl)
		if err != nil {
			return nil, err
		}
		f.places = ix
	}
	return f, nil
}

// At returns the time of the picture.
func (f *Fuser) At() time.Time { return f.at }

// Add applies one report. A report received after the picture's time is
// ignored (it is not known yet); a second report under an existing id is
// an ECONFLICT error; an area that does not resolve is an EINVALID error.
// It returns the zone the report now counts in, if any.
func (f *Fuser) Add(r muster.Report) (*Zone, error) {
	if f.ids[r.ID] {
		return nil, muster.Errorf(muster.ECONFLICT, "report %q: a report with this id is already in the record", r.ID)
	}
	if r.ReceivedAt.After(f.at) {
		return nil, nil
	}
	if _, ok := ReliabilityWeight[r.Reliability]; !ok {
		return nil, muster.Errorf(muster.EINVALID, "report %q: reliability %q is not A-F", r.ID, r.Reliability)
	}
	if _, ok := CredibilityWeight[r.Credibility]; !ok {
		return nil, muster.Errorf(muster.EINVALID, "report %q: credibility %d is not 1-6", r.ID, r.Credibility)
	}
	reg, err := resolveArea(r.Area, f.places)
	if err != nil {
		return nil, muster.Errorf(muster.EINVALID, "report %q: %v", r.ID, err)
	}
	f.ids[r.ID] = true
	f.changes++
	entry := &RecordEntry{ID: r.ID, Grade: r.Grade(), Kind: r.Kind}
	f.record[r.ID] = entry
	k, _ := slices.BinarySearchFunc(f.recordOrder, r.ID, func(e *RecordEntry, id string) int { return strings.Compare(e.ID, id) })
	f.recordOrder = slices.Insert(f.recordOrder, k, entry)
	if !r.ValidUntil.IsZero() && f.at.After(r.ValidUntil) {
		entry.Status = StatusExpired
		entry.Note = "valid until " + r.ValidUntil.Format(time.RFC3339)
		return nil, nil
	}
	decay := Decay(r.Kind, r.Start(), f.at)
	if decay == 0 {
		entry.Status = StatusFaded
		entry.Note = fmt.Sprintf("older than %d half-lives of %s", FadeHalfLives, HalfLife[r.Kind])
		return nil, nil
	}
	e := &evidence{rep: r, reg: reg, family: kindFamily[r.Kind], actors: actorTokens(r.Actor), side: 1, decay: decay}
	if r.Claim == muster.ClaimAbsent {
		e.side = -1
	}
	e.weight = GradeWeight(r.Reliability, r.Credibility) * decay
	imm, ok := ImmediacyFactor[r.Immediacy]
	if !ok {
		imm = 1
	}
	e.eff = e.weight * r.Likelihood * imm
	entry.Status, entry.Weight = StatusCounting, round4(e.weight)

	switch {
	case r.Kind == muster.KindGateStatus:
		f.gateEv = append(f.gateEv, e)
		return nil, nil
	case r.Kind == muster.KindAllClear:
		i := len(f.clears)
		f.clears = append(f.clears, e)
		f.clearGrid.insert(i, reg.bound)
		for _, id := range r.RelatesTo {
			f.clearsFor[id] = append(f.clearsFor[id], i)
		}
		// Every zone it weighs against is recomputed.
		roots := map[int]bool{}
		f.grid.query(reg.bound, func(j int) {
			if f.clearApplies(e, f.ev[j]) {
				roots[f.find(j)] = true
			}
		})
		for _, id := range r.RelatesTo {
			if j, ok := f.byID[id]; ok && f.clearApplies(e, f.ev[j]) {
				roots[f.find(j)] = true
			}
		}
		var last *Zone
		for _, root := range sortedKeys(roots) {
			last = f.recompute(root)
		}
		return last, nil
	}

	i := len(f.ev)
	f.ev = append(f.ev, e)
	f.parent = append(f.parent, i)
	f.stamp = append(f.stamp, 0)
	f.members[i] = []int{i}
	f.byID[r.ID] = i
	f.stampNow++
	f.stamp[i] = f.stampNow
	try := func(j int) {
		if f.stamp[j] == f.stampNow {
			return
		}
		f.stamp[j] = f.stampNow
		if f.compatible(e, f.ev[j]) {
			f.union(i, j)
		}
	}
	f.grid.query(reg.bound, try)
	for _, id := range r.RelatesTo {
		if j, ok := f.byID[id]; ok && sameDanger(e, f.ev[j]) {
			f.stamp[j] = f.stampNow
			f.union(i, j)
		}
	}
	for _, j := range f.relating[r.ID] {
		if f.stamp[j] != f.stampNow && sameDanger(e, f.ev[j]) {
			f.stamp[j] = f.stampNow
			f.union(i, j)
		}
	}
	for _, id := range r.RelatesTo {
		f.relating[id] = append(f.relating[id], i)
	}
	f.grid.insert(i, reg.bound)
	return f.recompute(f.find(i)), nil
}

// sameDanger: kinds of one family and compatible actors.
func sameDanger(a, b *evidence) bool {
	return a.family == b.family && actorsCompatible(a.actors, b.actors)
}

// sizesComparable: areas within MaxScaleRatio of each other.
func sizesComparable(a, b *evidence) bool {
	lo, hi := math.Min(a.reg.areaM2, b.reg.areaM2), math.Max(a.reg.areaM2, b.reg.areaM2)
	return lo > 0 && hi/lo <= MaxScaleRatio
}

// compatible says whether two reports describe the same danger: same
// family, compatible actors, comparable sizes and overlapping areas. Their
// times overlap by construction: both count at the picture's time.
func (f *Fuser) compatible(a, b *evidence) bool {
	return sameDanger(a, b) && sizesComparable(a, b) && regionsOverlap(&a.reg, &b.reg)
}

// clearApplies says whether an all-clear weighs against a zone member: it
// names it in relates_to, or covers a comparable overlapping area, and the
// actors are compatible.
func (f *Fuser) clearApplies(c, m *evidence) bool {
	if !actorsCompatible(c.actors, m.actors) {
		return false
	}
	for _, id := range c.rep.RelatesTo {
		if id == m.rep.ID {
			return true
		}
	}
	return sizesComparable(c, m) && regionsOverlap(&c.reg, &m.reg)
}

func (f *Fuser) find(i int) int {
	for f.parent[i] != i {
		f.parent[i] = f.parent[f.parent[i]]
		i = f.parent[i]
	}
	return i
}

func (f *Fuser) union(a, b int) {
	ra, rb := f.find(a), f.find(b)
	if ra == rb {
		return
	}
	if len(f.members[ra]) < len(f.members[rb]) {
		ra, rb = rb, ra
	}
	f.parent[rb] = ra
	f.members[ra] = append(f.members[ra], f.members[rb]...)
	delete(f.members, rb)
	f.setZone(rb, nil)
	delete(f.dirty, rb)
}

func sortedKeys(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// Picture returns the picture with every report added so far. It is not
// to be modified: the Fuser returns the same Picture until a report is
// added.
func (f *Fuser) Picture() *Picture {
	if f.cached != nil && f.cachedAt == f.changes {
		return f.cached
	}
	for _, root := range sortedKeys(f.dirty) {
		if f.find(root) == root {
			f.fuse(root)
		}
	}
	clear(f.dirty)
	p := &Picture{At: f.at, Policy: f.policy, Rejected: append([]Rejection(nil), f.rejected...)}
	p.Zones = slices.Clone(f.byZoneID)
	// All-clears count in every zone they weigh against; the record names
	// the first by id, read off the zones so that it does not depend on
	// the order the reports came in.
	clearZone := map[string]string{}
	for _, z := range p.Zones {
		for _, r := range z.Against {
			if _, ok := clearZone[r.ID]; !ok {
				clearZone[r.ID] = z.ID
			}
		}
	}
	p.Record = make([]RecordEntry, 0, len(f.recordOrder))
	for _, e := range f.recordOrder {
		entry := *e
		if entry.Kind == muster.KindAllClear && entry.Status == StatusCounting {
			entry.ZoneID = clearZone[e.ID]
		}
		if entry.Status == StatusCounting && entry.ZoneID == "" && entry.Kind != muster.KindGateStatus {
			entry.Status = StatusUnused
			entry.Note = "denies nothing in the picture"
		}
		p.Record = append(p.Record, entry)
	}
	p.Gates = f.gateStatuses(p.Zones)
	f.cached, f.cachedAt = p, f.changes
	return p
}

// recompute marks the cluster rooted at root for fusing, and fuses it now
// unless the Fuser is building a batch.
func (f *Fuser) recompute(root int) *Zone {
	if f.lazy {
		f.dirty[root] = true
		return nil
	}
	delete(f.dirty, root)
	return f.fuse(root)
}

// fuse fuses the cluster rooted at root into its zone.
func (f *Fuser) fuse(root int) *Zone {
	idx := f.members[root]
	mem := make([]*evidence, len(idx))
	for k, i := range idx {
		mem[k] = f.ev[i]
	}
	sort.Slice(mem, func(a, b int) bool { return mem[a].rep.ID < mem[b].rep.ID })
	// All-clears that weigh against any member.
	var clears []*evidence
	seen := map[int]bool{}
	for _, m := range mem {
		f.clearGrid.query(m.reg.bound, func(c int) {
			if !seen[c] && f.clearApplies(f.clears[c], m) {
				seen[c] = true
				clears = append(clears, f.clears[c])
			}
		})
		for _, c := range f.clearsFor[m.rep.ID] {
			if !seen[c] && f.clearApplies(f.clears[c], m) {
				seen[c] = true
				clears = append(clears, f.clears[c])
			}
		}
	}
	sort.Slice(clears, func(a, b int) bool { return clears[a].rep.ID < clears[b].rep.ID })
	z := fuseZone(mem, clears, f.policy, f.at)
	f.setZone(root, z)
	for _, m := range mem {
		if e := f.record[m.rep.ID]; e != nil {
			e.ZoneID = ""
			if z != nil {
				e.ZoneID = z.ID
			}
		}
	}
	return z
}

// setZone makes z the zone of the cluster rooted at root (nil: none),
// keeping byZoneID sorted so that a picture needs no sorting.
func (f *Fuser) setZone(root int, z *Zone) {
	cmp := func(a *Zone, id string) int { return strings.Compare(a.ID, id) }
	if old := f.zones[root]; old != nil {
		if k, ok := slices.BinarySearchFunc(f.byZoneID, old.ID, cmp); ok {
			f.byZoneID = slices.Delete(f.byZoneID, k, k+1)
		}
	}
	if z == nil {
		delete(f.zones, root)
		return
	}
	f.zones[root] = z
	k, ok := slices.BinarySearchFunc(f.byZoneID, z.ID, cmp)
	if ok {
		f.byZoneID[k] = z // cannot happen: a zone's id is its own report's
		return
	}
	f.byZoneID = slices.Insert(f.byZoneID, k, z)
}
