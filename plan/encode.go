package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// plan.json, version 2 (PLAN_FORMAT.md): what version 1 wrote, less what
// it repeated. A route from a rally point to a gate is written once, in
// routes[], and groups name it by its index; walks and routes are encoded
// polylines (polyline.go); a group's times are seconds after
// params.start; a household names its rally point and report time only
// where they are not its group's. Read accepts versions 1 and 2; Write
// writes version 2. Everything else in the plan is written as version 1
// wrote it, from the Plan's own fields (planAlias), so a field added to
// Plan is carried without a change here.

// planAlias is Plan without its methods.
type planAlias Plan

// routeJSON is a route object: a group's route in routes[], or a walk.
// Geometry is version 1's (a GeoJSON LineString), Polyline version 2's.
type routeJSON struct {
	Geometry  *geojson.Geometry `json:"geometry,omitempty"`
	Polyline  *string           `json:"polyline,omitempty"`
	DurationS float64           `json:"duration_s"`
	DistanceM float64           `json:"distance_m"`
	Exposure  float64           `json:"exposure"`
	Escape    bool              `json:"escape,omitempty"`
}

// stamp is a time in version 2: seconds after params.start, whole or with
// up to 9 decimals. Unset is left out; null is the zero time, written only
// where leaving it out would mean something else (a household's
// report_by_s, which left out is its group's).
type stamp struct {
	set, null bool
	num       string
}

func (s stamp) IsZero() bool { return !s.set }

func (s stamp) MarshalJSON() ([]byte, error) {
	if s.null {
		return []byte("null"), nil
	}
	return []byte(s.num), nil
}

func (s *stamp) UnmarshalJSON(b []byte) error {
	*s = stamp{set: true}
	if string(b) == "null" {
		s.null = true
		return nil
	}
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return fmt.Errorf("a time is seconds after params.start, a number, not %.20s", b)
	}
	s.num = string(b) // read with its context (readStamp)
	return nil
}

// maxStampS bounds a time to 31 years either side of params.start.
const maxStampS = 1_000_000_000

func makeStamp(t, start time.Time) (stamp, error) {
	if t.IsZero() {
		return stamp{set: true, null: true}, nil
	}
	d := t.Sub(start)
	if d > maxStampS*time.Second || d < -maxStampS*time.Second {
		return stamp{}, fmt.Errorf("%s is more than %d s from params.start %s", t.Format(time.RFC3339), maxStampS, start.Format(time.RFC3339))
	}
	b := make([]byte, 0, 24)
	if d < 0 {
		b = append(b, '-')
		d = -d
	}
	b = strconv.AppendInt(b, int64(d/time.Second), 10)
	if ns := int64(d % time.Second); ns != 0 {
		frac := strings.TrimRight(fmt.Sprintf("%09d", ns), "0")
		b = append(append(b, '.'), frac...)
	}
	return stamp{set: true, num: string(b)}, nil
}

// readStamp is the time s says, after start.
func readStamp(s stamp, start time.Time) (time.Time, error) {
	if !s.set || s.null {
		return time.Time{}, nil
	}
	num, neg := s.num, false
	if strings.HasPrefix(num, "-") {
		num, neg = num[1:], true
	}
	whole, frac, dot := strings.Cut(num, ".")
	if whole == "" || len(whole) > 10 || (dot && (frac == "" || len(frac) > 9)) || !digits(whole) || !digits(frac) {
		return time.Time{}, fmt.Errorf("%s is not seconds (a whole number, or up to 9 decimals)", s.num)
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	if w > maxStampS {
		return time.Time{}, fmt.Errorf("%s s is more than %d s from params.start", s.num, maxStampS)
	}
	var ns int64
	if dot {
		ns, _ = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	d := time.Duration(w)*time.Second + time.Duration(ns)
	if neg {
		d = -d
	}
	return start.Add(d), nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// groupJSON is a group in either version: version 1 has its times as
// RFC 3339 and its route inline, version 2 its times as stamps and its
// route as an index into routes[].
type groupJSON struct {
	ID         string     `json:"id"`
	RallyPoint string     `json:"rally_point"`
	Gate       string     `json:"gate"`
	ReportBy   *time.Time `json:"report_by,omitempty"`
	Departure  *time.Time `json:"departure,omitempty"`
	RouteFrom  *time.Time `json:"route_from,omitempty"`
	Arrival    *time.Time `json:"arrival,omitempty"`
	Through    *time.Time `json:"through,omitempty"`
	ReportByS  stamp      `json:"report_by_s,omitzero"`
	DepartureS stamp      `json:"departure_s,omitzero"`
	RouteFromS stamp      `json:"route_from_s,omitzero"`
	ArrivalS   stamp      `json:"arrival_s,omitzero"`
	ThroughS   stamp      `json:"through_s,omitzero"`
	People     int        `json:"people"`
	Households []string   `json:"households"`
	Priority   bool       `json:"priority"`
	Weight     int        `json:"weight,omitempty"`
	Vehicles   int        `json:"vehicles,omitempty"`
	Route      groupRoute `json:"route"`
}

// groupRoute is a group's route: an index into routes[] (version 2) or
// the route itself (version 1).
type groupRoute struct {
	set    bool
	ref    int
	inline *routeJSON
}

func (r groupRoute) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(r.ref), 10), nil
}

func (r *groupRoute) UnmarshalJSON(b []byte) error {
	*r = groupRoute{set: true}
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		r.inline = new(routeJSON)
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(r.inline); err != nil {
			return fmt.Errorf("route: %w", err)
		}
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("route: %.20s is neither an index into routes (version 2) nor a route (version 1)", b)
	}
	if n < 0 || n > 1<<31 {
		n = -1 // out of range, said with its context
	}
	r.ref = int(n)
	return nil
}

// householdJSON is a household in either version.
type householdJSON struct {
	ID         string     `json:"id"`
	RallyPoint *string    `json:"rally_point,omitempty"` // version 2: only when not its group's
	Group      string     `json:"group"`
	ReportBy   *time.Time `json:"report_by,omitempty"`
	ReportByS  stamp      `json:"report_by_s,omitzero"` // version 2: only when not its group's
	People     int        `json:"people"`
	Priority   string     `json:"priority,omitempty"`
	Walk       *routeJSON `json:"walk"`
}

// planJSON is plan.json in either version.
type planJSON struct {
	planAlias
	Routes     []routeJSON     `json:"routes,omitempty"`
	Groups     []groupJSON     `json:"groups"`
	Households []householdJSON `json:"households"`
}

// Write writes p as plan.json, format version FormatVersion, whatever
// version p was read from.
func Write(w io.Writer, p *Plan) error {
	doc, err := p.document()
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(doc)
}

// Encode is p as plan.json (Write).
func Encode(p *Plan) ([]byte, error) {
	var b bytes.Buffer
	if err := Write(&b, p); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// MarshalJSON writes the plan as plan.json (Write): a plan is never put in
// JSON any other way.
func (p Plan) MarshalJSON() ([]byte, error) { return Encode(&p) }

// UnmarshalJSON reads plan.json of any version this package reads, as
// Read does but for fields it does not know, which it passes over as
// json.Unmarshal does (the API serves a plan with its store id).
func (p *Plan) UnmarshalJSON(b []byte) error {
	// From the bytes as they are: a Decoder would copy tens of megabytes
	// into its buffer and scan them once more (0.3 CPU-s of an issuance's
	// 31 MB plan).
	doc, ok := unmarshalSplit(b) // (decode_split.go)
	if !ok {
		doc = &planJSON{}
		if err := json.Unmarshal(b, doc); err != nil {
			return jsonError(err, -1)
		}
	}
	q, err := doc.plan()
	if err != nil {
		return err
	}
	*p = *q
	return nil
}

// document is p in the layout of version 2.
func (p *Plan) document() (*planJSON, error) {
	doc := &planJSON{planAlias: planAlias(*p), Routes: []routeJSON{}, Groups: make([]groupJSON, len(p.Groups)), Households: make([]householdJSON, len(p.Households))}
	doc.Version = FormatVersion
	doc.planAlias.Groups, doc.planAlias.Households = nil, nil
	start := p.Params.Start
	// Routes are shared by content. Groups of one rally point and gate
	// usually hold the same line (the planner's, or the decoder's), so its
	// polyline is encoded once per line and looked up by its first point's
	// address.
	type lineKey struct {
		first *orb.Point
		n     int
	}
	type routeKey struct {
		poly              string
		geom              bool
		dur, dist, expose float64
		escape            bool
	}
	lines := map[lineKey]string{}
	routes := map[routeKey]int{}
	var buf []byte
	for i := range p.Groups {
		g := &p.Groups[i]
		key := routeKey{dur: g.Route.DurationS, dist: g.Route.DistanceM, expose: g.Route.Exposure, escape: g.Route.Escape}
		if g.Route.Geometry != nil {
			line, ok := g.Route.Geometry.Coordinates.(orb.LineString)
			if !ok {
				return nil, fmt.Errorf("plan: group %q: its route is a %s, and plan.json holds LineStrings only", g.ID, g.Route.Geometry.Type)
			}
			key.geom = true
			lk := lineKey{n: len(line)}
			if len(line) > 0 {
				lk.first = &line[0]
			}
			poly, ok := lines[lk]
			if !ok || lk.first == nil {
				var err error
				if buf, err = appendPolyline(buf[:0], line); err != nil {
					return nil, fmt.Errorf("plan: group %q: route: %w", g.ID, err)
				}
				poly = string(buf)
				lines[lk] = poly
			}
			key.poly = poly
		}
		ref, ok := routes[key]
		if !ok {
			ref = len(doc.Routes)
			routes[key] = ref
			r := routeJSON{DurationS: key.dur, DistanceM: key.dist, Exposure: key.expose, Escape: key.escape}
			if key.geom {
				poly := key.poly
				r.Polyline = &poly
			}
			doc.Routes = append(doc.Routes, r)
		}
		out := groupJSON{ID: g.ID, RallyPoint: g.RallyPoint, Gate: g.Gate, People: g.People, Households: g.Households,
			Priority: g.Priority, Weight: g.Weight, Vehicles: g.Vehicles, Route: groupRoute{ref: ref}}
		for _, f := range []struct {
			to *stamp
			t  time.Time
		}{{&out.ReportByS, g.ReportBy}, {&out.DepartureS, g.Departure}, {&out.RouteFromS, g.RouteFrom}, {&out.ArrivalS, g.Arrival}, {&out.ThroughS, g.Through}} {
			if f.t.IsZero() {
				continue
			}
			s, err := makeStamp(f.t, start)
			if err != nil {
				return nil, fmt.Errorf("plan: group %q: %w", g.ID, err)
			}
			*f.to = s
		}
		doc.Groups[i] = out
	}
	// A household's rally point and report time are its group's, unless
	// they are not (or its group is not one group).
	groupOf := make(map[string]int, len(p.Groups))
	for i, g := range p.Groups {
		if _, dup := groupOf[g.ID]; dup {
			groupOf[g.ID] = -1
		} else {
			groupOf[g.ID] = i
		}
	}
	for i := range p.Households {
		h := &p.Households[i]
		out := householdJSON{ID: h.ID, Group: h.Group, People: h.People, Priority: h.Priority}
		gi, ok := groupOf[h.Group]
		if !ok || gi < 0 || p.Groups[gi].RallyPoint != h.RallyPoint {
			out.RallyPoint = &h.RallyPoint
		}
		if !ok || gi < 0 || !p.Groups[gi].ReportBy.Equal(h.ReportBy) {
			s, err := makeStamp(h.ReportBy, start)
			if err != nil {
				return nil, fmt.Errorf("plan: household %q: %w", h.ID, err)
			}
			out.ReportByS = s
		}
		walk := routeJSON{DurationS: h.Walk.DurationS, DistanceM: h.Walk.DistanceM, Exposure: h.Walk.Exposure, Escape: h.Walk.Escape}
		if h.Walk.Geometry != nil {
			line, ok := h.Walk.Geometry.Coordinates.(orb.LineString)
			if !ok {
				return nil, fmt.Errorf("plan: household %q: its walk is a %s, and plan.json holds LineStrings only", h.ID, h.Walk.Geometry.Type)
			}
			var err error
			if buf, err = appendPolyline(buf[:0], line); err != nil {
				return nil, fmt.Errorf("plan: household %q: walk: %w", h.ID, err)
			}
			poly := string(buf)
			walk.Polyline = &poly
		}
		out.Walk = &walk
		doc.Households[i] = out
	}
	return doc, nil
}

// Read reads plan.json, version 1 or 2, strictly: an unknown field, a
// field of the other version, a route index out of range, a polyline
// that is not one, a time out of range are errors that say where. A
// version 1 plan's coordinates are rounded to the precision version 2
// keeps (PolylinePrecision), so that a plan read is the same whichever
// version it was read from.
func Read(r io.Reader) (*Plan, error) { return read(r, true) }

func read(r io.Reader, strict bool) (*Plan, error) {
	dec := json.NewDecoder(r)
	if strict {
		dec.DisallowUnknownFields()
	}
	var doc planJSON
	if err := dec.Decode(&doc); err != nil {
		return nil, jsonError(err, dec.InputOffset())
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("not a plan: more after the plan's closing brace")
	}
	return doc.plan()
}

// Decode reads plan.json from data (Read).
func Decode(data []byte) (*Plan, error) { return Read(bytes.NewReader(data)) }

func jsonError(err error, at int64) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("not a plan: at byte %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.As(err, &typ):
		return fmt.Errorf("not a plan: at byte %d: %s cannot be a JSON %s", typ.Offset, typ.Field, typ.Value)
	case errors.Is(err, io.EOF):
		return errors.New("not a plan: empty")
	}
	if at < 0 { // where is not known
		return fmt.Errorf("not a plan: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return fmt.Errorf("not a plan: near byte %d: %s", at, strings.TrimPrefix(err.Error(), "json: "))
}

// plan is the document as a Plan, checked for its version's layout.
func (doc *planJSON) plan() (*Plan, error) {
	p := Plan(doc.planAlias)
	v := p.Version
	switch {
	case v == 0:
		return nil, errors.New("not a plan: no format version (version 1 or 2)")
	case v < 0 || v > FormatVersion:
		return nil, fmt.Errorf("plan format version %d: this muster reads versions 1 to %d", v, FormatVersion)
	case v == 1 && doc.Routes != nil:
		return nil, errors.New("plan format version 1 with routes[], which only version 2 has")
	}
	start := p.Params.Start
	// Version 2: the routes, each decoded once.
	routes := make([]Route, len(doc.Routes))
	for i, r := range doc.Routes {
		rt, err := readRoute(&r, v)
		if err != nil {
			return nil, fmt.Errorf("routes[%d]: %w", i, err)
		}
		routes[i] = rt
	}
	p.Groups = make([]Group, len(doc.Groups))
	for i := range doc.Groups {
		gj := &doc.Groups[i]
		where := func(err error) error { return fmt.Errorf("groups[%d] (%q): %w", i, gj.ID, err) }
		g := Group{ID: gj.ID, RallyPoint: gj.RallyPoint, Gate: gj.Gate, People: gj.People, Households: gj.Households,
			Priority: gj.Priority, Weight: gj.Weight, Vehicles: gj.Vehicles}
		v1 := []struct {
			name string
			t    *time.Time
			to   *time.Time
		}{{"report_by", gj.ReportBy, &g.ReportBy}, {"departure", gj.Departure, &g.Departure}, {"route_from", gj.RouteFrom, &g.RouteFrom}, {"arrival", gj.Arrival, &g.Arrival}, {"through", gj.Through, &g.Through}}
		v2 := []struct {
			s  stamp
			to *time.Time
		}{{gj.ReportByS, &g.ReportBy}, {gj.DepartureS, &g.Departure}, {gj.RouteFromS, &g.RouteFrom}, {gj.ArrivalS, &g.Arrival}, {gj.ThroughS, &g.Through}}
		if v == 1 {
			for k, f := range v1 {
				if v2[k].s.set {
					return nil, where(fmt.Errorf("%s_s is version 2's; version 1 has %s", f.name, f.name))
				}
				if f.t != nil {
					*f.to = *f.t
				}
			}
			if !gj.Route.set {
				// As version 1 was read before: a group without a route
				// has none (the checker says so).
			} else if gj.Route.inline == nil {
				return nil, where(errors.New("route: an index into routes, which version 1 does not have"))
			} else {
				rt, err := readRoute(gj.Route.inline, 1)
				if err != nil {
					return nil, where(fmt.Errorf("route: %w", err))
				}
				g.Route = rt
			}
		} else {
			for k, f := range v2 {
				if v1[k].t != nil {
					return nil, where(fmt.Errorf("%s is version 1's; version 2 has %s_s", v1[k].name, v1[k].name))
				}
				t, err := readStamp(f.s, start)
				if err != nil {
					return nil, where(fmt.Errorf("%s_s: %w", v1[k].name, err))
				}
				*f.to = t
			}
			switch {
			case !gj.Route.set:
				return nil, where(errors.New("no route (an index into routes)"))
			case gj.Route.inline != nil:
				return nil, where(errors.New("route: a route object is version 1's; version 2 has an index into routes"))
			case gj.Route.ref < 0 || gj.Route.ref >= len(routes):
				return nil, where(fmt.Errorf("route: no route %d (routes has %d)", gj.Route.ref, len(routes)))
			}
			g.Route = routes[gj.Route.ref]
			if g.Route.Geometry != nil {
				// Its own geometry object, sharing the line: as the
				// planner makes them.
				g.Route.Geometry = geojson.NewGeometry(g.Route.Geometry.Coordinates)
			}
		}
		p.Groups[i] = g
	}
	groupOf := make(map[string]int, len(p.Groups))
	for i, g := range p.Groups {
		if _, dup := groupOf[g.ID]; dup {
			groupOf[g.ID] = -1
		} else {
			groupOf[g.ID] = i
		}
	}
	p.Households = make([]Household, len(doc.Households))
	// On every core: a household's walk is a polyline to decode.
	err := inParts(len(doc.Households), 10_000, func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			hj := &doc.Households[i]
			where := func(err error) error { return fmt.Errorf("households[%d] (%q): %w", i, hj.ID, err) }
			h := Household{ID: hj.ID, Group: hj.Group, People: hj.People, Priority: hj.Priority}
			gi, known := groupOf[hj.Group]
			known = known && gi >= 0
			if hj.RallyPoint != nil {
				h.RallyPoint = *hj.RallyPoint
			} else if v == 2 && known {
				h.RallyPoint = p.Groups[gi].RallyPoint
			}
			if v == 1 {
				if hj.ReportByS.set {
					return where(errors.New("report_by_s is version 2's; version 1 has report_by"))
				}
				if hj.ReportBy != nil {
					h.ReportBy = *hj.ReportBy
				}
			} else {
				if hj.ReportBy != nil {
					return where(errors.New("report_by is version 1's; version 2 has report_by_s"))
				}
				if hj.ReportByS.set {
					t, err := readStamp(hj.ReportByS, start)
					if err != nil {
						return where(fmt.Errorf("report_by_s: %w", err))
					}
					h.ReportBy = t
				} else if known {
					h.ReportBy = p.Groups[gi].ReportBy
				}
			}
			if hj.Walk != nil {
				rt, err := readRoute(hj.Walk, v)
				if err != nil {
					return where(fmt.Errorf("walk: %w", err))
				}
				h.Walk = rt
			}
			p.Households[i] = h
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// readRoute is a route object of version v; a LineString's coordinates
// are on the grid of PolylinePrecision.
func readRoute(r *routeJSON, v int) (Route, error) {
	rt := Route{DurationS: r.DurationS, DistanceM: r.DistanceM, Exposure: r.Exposure, Escape: r.Escape}
	switch {
	case v == 1 && r.Polyline != nil:
		return rt, errors.New("polyline is version 2's; version 1 has geometry")
	case v == 2 && r.Geometry != nil:
		return rt, errors.New("geometry is version 1's; version 2 has polyline")
	case r.Polyline != nil:
		line, err := DecodePolyline(*r.Polyline)
		if err != nil {
			return rt, err
		}
		rt.Geometry = geojson.NewGeometry(line)
	case r.Geometry != nil:
		rt.Geometry = r.Geometry
		if line, ok := r.Geometry.Coordinates.(orb.LineString); ok {
			toGrid(line)
		}
	}
	return rt, nil
}
