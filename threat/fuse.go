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
	// StatusDiscounted: from a source the registry marks hostile: kept in
	// the record, never counted.
	StatusDiscounted = "discounted"
)

// ReportRef is a report as a zone or gate shows it: who said what, graded
// how, and how much it weighs now.
type ReportRef struct {
	ID         string  `json:"id"`
	Source     string  `json:"source"`
	SourceID   string  `json:"source_id"`
	Via        string  `json:"via,omitempty"`
	Grade      string  `json:"grade"`
	Kind       string  `json:"kind"`
	Claim      string  `json:"claim"`
	Likelihood string  `json:"likelihood"`
	P          float64 `json:"p"`
	Weight     float64 `json:"weight"`  // grade weight × decay
	Counted    bool    `json:"counted"` // false: its source is already counted through a stronger report, or it is not weighed (Note says why)
	Unverified bool    `json:"unverified,omitempty"`
	// ReportedGrade is the grade typed on the report when the source
	// registry changed it.
	ReportedGrade string    `json:"reported_grade,omitempty"`
	Note          string    `json:"note,omitempty"`
	ReceivedAt    time.Time `json:"received_at"`
	Text          string    `json:"text"`
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

	// VerifiedRisk and VerifiedLevel are read off the verified reports
	// alone: they decide whether the zone is forbidden and what it does to
	// gates. Unverified is true for a zone with no verified report for it.
	VerifiedRisk  float64
	VerifiedLevel string
	Unverified    bool
	// Coordination flags possible coordinated reporting on either side.
	Coordination []Coordination

	Forbidden     bool
	PolicyVerdict string  // why forbidden or not
	Penalty       float64 // routing cost factor when not forbidden

	For, Against []ReportRef

	shapes      []shape
	refIDs      []string // leads and all-clears weighing in it
	verify      []ToVerify
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
	// Coordination flags possible coordinated reporting on its status.
	Coordination []Coordination `json:"coordination,omitempty"`
}

// Picture is the threat picture at one time.
type Picture struct {
	At       time.Time
	Policy   Policy
	Zones    []*Zone
	Gates    []GateStatus
	Record   []RecordEntry // every report received by At, by id
	Rejected []Rejection   // reports whose area could not be resolved
	// ToVerify lists what an analyst should verify: possible coordinated
	// reporting, zones resting only on unverified reports, confirmed
	// reports disputed by weaker ones.
	ToVerify []ToVerify
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

	rel        string          // reliability after the source registry
	key        string          // who it counts as for independence: source id, or its registry cluster
	unverified bool            // graded E/F or 5/6: a lead, pooled as one weak source
	confirmed  bool            // graded A/B and 1/2
	regraded   string          // the registry's note when it changed the grade or identity
	idx        int             // index in Fuser.ev (zone evidence only)
	words      map[string]bool // the text's words, for the flood check; made on first use
	textSig    string
}

// Fuser holds the picture at one time and applies new reports to it one by
// one, recomputing only the zones a report bears on. Build uses it; feeding
// it reports in any order gives the same picture. A Fuser is not safe for
// concurrent use; the Pictures it returns may be read concurrently.
//
// Zone evidence lives in two tiers. Verified reports cluster among
// themselves into zones, as §4 of docs/threat-picture.md says. Unverified
// reports never join, split or reshape a verified zone: one that relates
// to a verified zone is a lead on it (it weighs in the zone's unverified
// pool); the others cluster among themselves into unverified zones, leads
// for an analyst that never forbid and never bear on a gate.
type Fuser struct {
	at     time.Time
	policy Policy
	opt    options
	places *places.Index

	ids    map[string]bool
	record map[string]*RecordEntry

	ev       []*evidence // zone evidence, by index
	parent   []int       // union-find, within a tier only
	members  map[int][]int
	present  map[int]bool     // root -> the cluster has a report claiming present
	vgrid    spatialIndex     // verified zone evidence
	ugrid    spatialIndex     // unverified zone evidence
	cross    [][]int          // zone evidence -> the other tier's evidence about the same danger
	byID     map[string]int   // report id -> zone evidence index
	relating map[string][]int // report id -> evidence that relates to it

	clears    []*evidence // all-clears: they weigh against every zone they touch
	clearGrid spatialIndex
	clearsFor map[string][]int // report id -> all-clears that name it in relates_to
	gateEv    []*evidence

	// sourceFirst is when each source (by key) was first heard from: a
	// flood of reports from sources never heard from before is a signal.
	sourceFirst map[string]time.Time
	sourceEv    map[string][]*evidence

	zones       map[int]*Zone       // root -> zone (nil if the cluster has no present side)
	byZoneID    []*Zone             // the zones, sorted by id
	refZones    map[string][]string // report id -> ids of the zones it weighs in as a lead or all-clear, sorted
	recordOrder []*RecordEntry      // the record, sorted by id
	changes     int                 // reports added so far; the cached picture is of cachedAt
	cached      *Picture
	cachedAt    int
	dirty       map[int]bool // roots whose zone must be fused again
	lazy        bool         // defer fusing to Picture (a batch build)
	stamp       []int
	stampNow    int
	pending     []int // verified roots that just became zones
	rejected    []Rejection
}

// NewFuser returns an empty picture at time at. pl may be nil if no
// report names a place.
func NewFuser(pl *muster.Places, at time.Time, policy Policy, opts ...Option) (*Fuser, error) {
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	f := &Fuser{at: at.UTC(), policy: policy, ids: map[string]bool{}, record: map[string]*RecordEntry{},
		members: map[int][]int{}, present: map[int]bool{}, vgrid: newSpatialIndex(), ugrid: newSpatialIndex(),
		byID: map[string]int{}, relating: map[string][]int{}, clearGrid: newSpatialIndex(), clearsFor: map[string][]int{},
		sourceFirst: map[string]time.Time{}, sourceEv: map[string][]*evidence{},
		zones: map[int]*Zone{}, refZones: map[string][]string{}, dirty: map[int]bool{}}
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
	entry := &RecordEntry{ID: r.ID, Grade: gradeName(r.Reliability, r.Credibility), Kind: r.Kind}
	f.record[r.ID] = entry
	k, _ := slices.BinarySearchFunc(f.recordOrder, r.ID, func(e *RecordEntry, id string) int { return strings.Compare(e.ID, id) })
	f.recordOrder = slices.Insert(f.recordOrder, k, entry)
	// Every report received counts as a sighting of its source, whether
	// or not it still counts: a source heard from last week is not new.
	key, grade := r.Source.ID, f.opt.sources[r.Source.ID]
	registered := grade.ID != ""
	if registered && grade.Cluster != "" {
		key = grade.CountsAs()
	}
	roots := map[int]bool{}
	f.heardFrom(key, r.ReceivedAt, roots)
	var e *evidence
	defer func() {
		if e != nil {
			f.sourceEv[key] = append(f.sourceEv[key], e)
		}
	}()
	if !r.ValidUntil.IsZero() && f.at.After(r.ValidUntil) {
		entry.Status = StatusExpired
		entry.Note = "valid until " + r.ValidUntil.Format(time.RFC3339)
		return f.recomputeAll(roots, nil), nil
	}
	decay := Decay(r.Kind, r.Start(), f.at)
	if decay == 0 {
		entry.Status = StatusFaded
		entry.Note = fmt.Sprintf("older than %d half-lives of %s", FadeHalfLives, HalfLife[r.Kind])
		return f.recomputeAll(roots, nil), nil
	}
	if registered && grade.Hostile {
		entry.Status = StatusDiscounted
		entry.Note = "source " + r.Source.ID + " is marked hostile in the source registry: kept, not counted"
		if grade.Note != "" {
			entry.Note += " (" + grade.Note + ")"
		}
		return f.recomputeAll(roots, nil), nil
	}
	e = &evidence{rep: r, reg: reg, family: kindFamily[r.Kind], actors: actorTokens(r.Actor), side: 1, decay: decay,
		rel: r.Reliability, key: key, idx: -1}
	if registered {
		var notes []string
		if grade.Reliability != "" && grade.Reliability != r.Reliability {
			e.rel = grade.Reliability
			notes = append(notes, fmt.Sprintf("reliability %s from the source registry (the report said %s)", grade.Reliability, r.Reliability))
		}
		if grade.Cluster != "" {
			notes = append(notes, fmt.Sprintf("counted as one source with the registry's cluster %q", grade.Cluster))
		}
		e.regraded = strings.Join(notes, "; ")
	}
	if r.Claim == muster.ClaimAbsent {
		e.side = -1
	}
	e.unverified, e.confirmed = Unverified(e.rel, r.Credibility), Confirmed(e.rel, r.Credibility)
	e.weight = GradeWeight(e.rel, r.Credibility) * decay
	imm, ok := ImmediacyFactor[r.Immediacy]
	if !ok {
		imm = 1
	}
	e.eff = e.weight * r.Likelihood * imm
	entry.Status, entry.Weight = StatusCounting, round4(e.weight)
	entry.Grade = gradeName(e.rel, r.Credibility)
	entry.Note = e.regraded

	switch {
	case r.Kind == muster.KindGateStatus:
		f.gateEv = append(f.gateEv, e)
	case r.Kind == muster.KindAllClear:
		i := len(f.clears)
		f.clears = append(f.clears, e)
		f.clearGrid.insert(i, reg.bound)
		for _, id := range r.RelatesTo {
			f.clearsFor[id] = append(f.clearsFor[id], i)
		}
		if !f.lazy {
			f.clearTargets(e, roots)
		}
	default:
		i := f.addZoneEvidence(e)
		roots[f.find(i)] = true
		if !f.lazy {
			f.crossTargets(e, roots)
		}
	}
	last := f.recomputeAll(roots, e)
	if e.idx >= 0 {
		if f.lazy {
			return nil, nil
		}
		// A member of its zone, or a lead on another tier's zone.
		if id := f.record[r.ID].ZoneID; id != "" {
			return f.zoneByID(id), nil
		}
		return f.leadZone(e), nil
	}
	return last, nil
}

// zoneByID returns the zone with this id, or nil.
func (f *Fuser) zoneByID(id string) *Zone {
	if k, ok := slices.BinarySearchFunc(f.byZoneID, id, func(z *Zone, id string) int { return strings.Compare(z.ID, id) }); ok {
		return f.byZoneID[k]
	}
	return nil
}

// recomputeAll fuses again the clusters rooted at roots and returns the
// zone e counts in, if among them, else the last one fused.
func (f *Fuser) recomputeAll(roots map[int]bool, e *evidence) *Zone {
	var last *Zone
	for _, root := range sortedKeys(roots) {
		if f.find(root) != root {
			continue
		}
		if z := f.recompute(root); z != nil && (last == nil || (e != nil && e.idx >= 0 && f.find(e.idx) == root)) {
			last = z
		}
	}
	return last
}

// leadZone returns the first zone (by id) an unverified lead weighs in.
func (f *Fuser) leadZone(e *evidence) *Zone {
	if ids := f.refZones[e.rep.ID]; len(ids) > 0 {
		return f.zoneByID(ids[0])
	}
	return nil
}

// heardFrom notes that the source key was heard from at t. If that is
// earlier than it was first heard from so far, the zones its counting
// reports weigh in are fused again: whether a source is new to the record
// bears on the flood check.
func (f *Fuser) heardFrom(key string, t time.Time, roots map[int]bool) {
	if first, ok := f.sourceFirst[key]; ok && !t.Before(first) {
		return
	}
	f.sourceFirst[key] = t
	if !f.lazy {
		for _, o := range f.sourceEv[key] {
			f.targets(o, roots)
		}
	}
}

// targets adds the roots of every zone the counted evidence o may weigh in.
func (f *Fuser) targets(o *evidence, roots map[int]bool) {
	switch {
	case o.rep.Kind == muster.KindGateStatus:
	case o.rep.Kind == muster.KindAllClear:
		f.clearTargets(o, roots)
	case o.idx >= 0:
		roots[f.find(o.idx)] = true
		f.crossTargets(o, roots)
	}
}

// addZoneEvidence puts e in its tier's clusters and returns its index.
func (f *Fuser) addZoneEvidence(e *evidence) int {
	i := len(f.ev)
	e.idx = i
	f.ev = append(f.ev, e)
	f.parent = append(f.parent, i)
	f.stamp = append(f.stamp, 0)
	f.members[i] = []int{i}
	f.cross = append(f.cross, nil)
	f.present[i] = e.side > 0
	f.byID[e.rep.ID] = i
	// Link e to every report of its tier about the same danger. Once e
	// has joined a cluster, its other members need no geometry test: a
	// flood of a thousand reports on one spot costs a thousand finds per
	// report, not a thousand polygon overlaps.
	before, linkedAny := false, false
	f.stampNow++
	f.stamp[i] = f.stampNow
	link := func(j int, check func(a, b *evidence) bool) {
		if f.stamp[j] == f.stampNow {
			return
		}
		f.stamp[j] = f.stampNow
		o := f.ev[j]
		if o.unverified != e.unverified {
			return
		}
		rj := f.find(j)
		if rj == f.find(i) || !check(e, o) {
			return
		}
		before = before || f.present[rj]
		linkedAny = true
		f.union(i, j)
	}
	overlap := func(j int) { link(j, f.compatible) }
	if e.unverified {
		f.ugrid.query(e.reg.bound, overlap)
	} else {
		f.vgrid.query(e.reg.bound, overlap)
	}
	for _, id := range e.rep.RelatesTo {
		if j, ok := f.byID[id]; ok {
			link(j, sameDanger)
		}
	}
	for _, j := range f.relating[e.rep.ID] {
		link(j, sameDanger)
	}
	// The other tier's reports about the same danger, found once here
	// and kept both ways, so fusing a zone needs no spatial query.
	for _, j := range f.linked(e, !e.unverified) {
		f.cross[i] = append(f.cross[i], j)
		f.cross[j] = append(f.cross[j], i)
	}
	for _, id := range e.rep.RelatesTo {
		f.relating[id] = append(f.relating[id], i)
	}
	if e.unverified {
		f.ugrid.insert(i, e.reg.bound)
	} else {
		f.vgrid.insert(i, e.reg.bound)
	}
	// A verified cluster that now first has a report claiming present
	// becomes a zone: the unverified reports about any of its members turn
	// into leads on it, and leave their unverified zones.
	if !e.unverified && !f.lazy && e.side > 0 && !before && linkedAny {
		f.pending = append(f.pending, f.find(i))
	}
	return i
}

// linked returns the evidence of the given tier (unverified or not) that
// describes the same danger as e: same family, compatible actors, and
// overlapping areas of comparable size or a relates_to link either way.
// Each index comes once; e itself is left out.
func (f *Fuser) linked(e *evidence, unverified bool) []int {
	f.stampNow++
	if e.idx >= 0 {
		f.stamp[e.idx] = f.stampNow
	}
	var out []int
	try := func(j int) {
		if f.stamp[j] == f.stampNow {
			return
		}
		if o := f.ev[j]; o.unverified == unverified && f.compatible(e, o) {
			f.stamp[j] = f.stampNow
			out = append(out, j)
		}
	}
	if unverified {
		f.ugrid.query(e.reg.bound, try)
	} else {
		f.vgrid.query(e.reg.bound, try)
	}
	rel := func(j int) {
		if f.stamp[j] == f.stampNow {
			return
		}
		if o := f.ev[j]; o.unverified == unverified && sameDanger(e, o) {
			f.stamp[j] = f.stampNow
			out = append(out, j)
		}
	}
	for _, id := range e.rep.RelatesTo {
		if j, ok := f.byID[id]; ok {
			rel(j)
		}
	}
	for _, j := range f.relating[e.rep.ID] {
		rel(j)
	}
	sort.Ints(out)
	return out
}

// crossTargets adds the roots of the other tier's clusters that e bears on:
// for a verified report, the unverified clusters whose members it may
// turn into leads (or deny); for an unverified one, the verified zones it
// is a lead on.
func (f *Fuser) crossTargets(e *evidence, roots map[int]bool) {
	for _, j := range f.cross[e.idx] {
		roots[f.find(j)] = true
	}
	for _, root := range f.pending {
		for _, m := range f.members[f.find(root)] {
			for _, j := range f.cross[m] {
				roots[f.find(j)] = true
			}
		}
	}
	f.pending = f.pending[:0]
}

// clearTargets adds the roots of every zone the all-clear c weighs against.
func (f *Fuser) clearTargets(c *evidence, roots map[int]bool) {
	try := func(j int) {
		if f.clearApplies(c, f.ev[j]) {
			roots[f.find(j)] = true
		}
	}
	f.vgrid.query(c.reg.bound, try)
	f.ugrid.query(c.reg.bound, try)
	for _, id := range c.rep.RelatesTo {
		if j, ok := f.byID[id]; ok {
			try(j)
		}
	}
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
	f.present[ra] = f.present[ra] || f.present[rb]
	delete(f.members, rb)
	delete(f.present, rb)
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
	// All-clears and unverified leads count in every zone they weigh
	// against or in; the record names the first by id, so that it does
	// not depend on the order the reports came in.
	p.Record = make([]RecordEntry, 0, len(f.recordOrder))
	for _, e := range f.recordOrder {
		entry := *e
		if entry.Status == StatusCounting && entry.ZoneID == "" {
			if ids := f.refZones[e.ID]; len(ids) > 0 {
				entry.ZoneID = ids[0]
			}
		}
		if entry.Status == StatusCounting && entry.ZoneID == "" && entry.Kind != muster.KindGateStatus {
			entry.Status = StatusUnused
			entry.Note = "denies nothing in the picture"
		}
		p.Record = append(p.Record, entry)
	}
	p.Gates = f.gateStatuses(p.Zones)
	p.ToVerify = toVerify(p.Zones, p.Gates)
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
	unverifiedTier := f.ev[root].unverified
	// Leads: for a verified zone, the unverified reports about any of its
	// members; for an unverified cluster, the members about which a
	// verified zone exists are leads there and leave this one, and
	// verified denials that are no zone of their own weigh against it.
	var leads []*evidence
	free := mem
	seen := map[int]bool{}
	if !unverifiedTier {
		if !f.present[root] {
			free = nil // denials of nothing make no zone
		} else {
			for _, m := range mem {
				for _, j := range f.cross[m.idx] {
					if !seen[j] {
						seen[j] = true
						leads = append(leads, f.ev[j])
					}
				}
			}
		}
	} else {
		free = nil
		for _, m := range mem {
			attached := false
			var denials []int
			for _, j := range f.cross[m.idx] {
				if f.present[f.find(j)] {
					attached = true
					break
				}
				if f.ev[j].side < 0 {
					denials = append(denials, j)
				}
			}
			if attached {
				continue
			}
			free = append(free, m)
			for _, j := range denials {
				if !seen[j] {
					seen[j] = true
					leads = append(leads, f.ev[j])
				}
			}
		}
	}
	sort.Slice(leads, func(a, b int) bool { return leads[a].rep.ID < leads[b].rep.ID })
	// All-clears that weigh against any member.
	var clears []*evidence
	seenClear := map[int]bool{}
	for _, m := range free {
		f.clearGrid.query(m.reg.bound, func(c int) {
			if !seenClear[c] && f.clearApplies(f.clears[c], m) {
				seenClear[c] = true
				clears = append(clears, f.clears[c])
			}
		})
		for _, c := range f.clearsFor[m.rep.ID] {
			if !seenClear[c] && f.clearApplies(f.clears[c], m) {
				seenClear[c] = true
				clears = append(clears, f.clears[c])
			}
		}
	}
	sort.Slice(clears, func(a, b int) bool { return clears[a].rep.ID < clears[b].rep.ID })
	var z *Zone
	if len(free) > 0 {
		z = fuseZone(free, leads, clears, unverifiedTier, f.fuseContext())
	}
	f.setZone(root, z)
	for _, m := range mem {
		if e := f.record[m.rep.ID]; e != nil {
			e.ZoneID = ""
		}
	}
	if z != nil {
		for _, m := range free {
			if e := f.record[m.rep.ID]; e != nil {
				e.ZoneID = z.ID
			}
		}
	}
	return z
}

func (f *Fuser) fuseContext() *fuseContext {
	return &fuseContext{policy: f.policy, at: f.at, sourceFirst: f.sourceFirst, sources: f.opt.sources}
}

// fuseContext is what fusing one zone reads beyond its reports.
type fuseContext struct {
	policy      Policy
	at          time.Time
	sourceFirst map[string]time.Time
	sources     Sources
}

// setZone makes z the zone of the cluster rooted at root (nil: none),
// keeping byZoneID sorted so that a picture needs no sorting.
func (f *Fuser) setZone(root int, z *Zone) {
	cmp := func(a *Zone, id string) int { return strings.Compare(a.ID, id) }
	// A zone fused again keeps most of its leads: only the difference is
	// written to refZones, so a zone with a thousand leads costs little.
	var keep map[string]bool
	if old := f.zones[root]; old != nil && z != nil && old.ID == z.ID {
		keep = make(map[string]bool, len(z.refIDs))
		for _, id := range z.refIDs {
			keep[id] = true
		}
	}
	if old := f.zones[root]; old != nil {
		if k, ok := slices.BinarySearchFunc(f.byZoneID, old.ID, cmp); ok {
			f.byZoneID = slices.Delete(f.byZoneID, k, k+1)
		}
		for _, id := range old.refIDs {
			if keep[id] {
				delete(keep, id) // already there: nothing to add
				continue
			}
			ids := f.refZones[id]
			if k, ok := slices.BinarySearch(ids, old.ID); ok {
				ids = slices.Delete(ids, k, k+1)
			}
			if len(ids) == 0 {
				delete(f.refZones, id)
			} else {
				f.refZones[id] = ids
			}
		}
	}
	if z == nil {
		delete(f.zones, root)
		return
	}
	f.zones[root] = z
	for _, id := range z.refIDs {
		if keep != nil && !keep[id] {
			continue // kept from the zone's previous fusing
		}
		ids := f.refZones[id]
		if k, ok := slices.BinarySearch(ids, z.ID); !ok {
			f.refZones[id] = slices.Insert(ids, k, z.ID)
		}
	}
	k, ok := slices.BinarySearchFunc(f.byZoneID, z.ID, cmp)
	if ok {
		f.byZoneID[k] = z // cannot happen: a zone's id is its own report's
		return
	}
	f.byZoneID = slices.Insert(f.byZoneID, k, z)
}
