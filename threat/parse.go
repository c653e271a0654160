package threat

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/places"
)

// Limits on one report, so hostile input cannot exhaust memory or time.
const (
	MaxLineBytes = 1 << 20
	MaxTextBytes = 64 << 10
	MaxIDBytes   = muster.MaxIDBytes
	MaxRadiusM   = 2_000_000 // a circle bigger than a large country is a typo
	// MaxRingPoints bounds a report polygon's ring: an area drawn by an
	// operator needs far fewer, and checking a ring for self-crossing is
	// quadratic in its size.
	MaxRingPoints = 1_000
)

// DefaultMaxFuture is how far past the importer's clock a received_at may
// lie (clock skew between operators), beyond it the report is rejected.
const DefaultMaxFuture = 24 * time.Hour

// FieldError says which field of a report is wrong and why.
type FieldError struct {
	Field  string // JSON path such as "area.place"; "" for the whole line
	Reason string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// ParseOptions configures report parsing.
type ParseOptions struct {
	// Places resolves area.place and area.place_id; nil makes every place
	// area an error.
	Places *places.Index
	// Now is the importer's clock; zero means time.Now().
	Now time.Time
	// MaxFuture is how far past Now a received_at may lie; zero means
	// DefaultMaxFuture.
	MaxFuture time.Duration
}

func (o ParseOptions) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

type sourceJSON struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Kind string `json:"kind"`
	Via  string `json:"via,omitempty"`
}

type areaJSON struct {
	Place   *string       `json:"place,omitempty"`
	PlaceID *string       `json:"place_id,omitempty"`
	Point   []float64     `json:"point,omitempty"`
	RadiusM *float64      `json:"radius_m,omitempty"`
	Polygon [][][]float64 `json:"polygon,omitempty"`
}

type reportJSON struct {
	ID          string          `json:"id"`
	ReceivedAt  string          `json:"received_at"`
	ObservedAt  string          `json:"observed_at,omitempty"`
	Source      *sourceJSON     `json:"source"`
	Reliability string          `json:"reliability"`
	Credibility *int            `json:"credibility"`
	Actor       string          `json:"actor,omitempty"`
	Kind        string          `json:"kind"`
	Claim       string          `json:"claim"`
	Likelihood  json.RawMessage `json:"likelihood"`
	Immediacy   string          `json:"immediacy,omitempty"`
	Severity    *int            `json:"severity"`
	Area        *areaJSON       `json:"area"`
	ValidUntil  string          `json:"valid_until,omitempty"`
	RelatesTo   []string        `json:"relates_to,omitempty"`
	Text        string          `json:"text"`
}

// ParseReport parses and validates one report, a JSON object. The error is
// a *FieldError naming the first wrong field.
func ParseReport(data []byte, opt ParseOptions) (muster.Report, error) {
	var rj reportJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rj); err != nil {
		return muster.Report{}, decodeError(data, err)
	}
	if dec.More() {
		return muster.Report{}, fieldErr("", "more than one JSON value on the line")
	}
	return validate(&rj, opt)
}

// decodeError turns a JSON decoding error into a FieldError naming the
// field where the document went wrong.
func decodeError(data []byte, err error) *FieldError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "(document)"
		}
		return fieldErr(field, "is a JSON %s, want %s", te.Value, jsonTypeName(te.Type.String()))
	}
	if s := err.Error(); strings.HasPrefix(s, "json: unknown field ") {
		return fieldErr(strings.Trim(strings.TrimPrefix(s, "json: unknown field "), `"`), "is not a report field")
	}
	last := lastKey(data)
	if last == "" {
		return fieldErr("", "not a JSON object: %v", err)
	}
	return fieldErr(last, "the JSON breaks off at or after this field (%v)", err)
}

func jsonTypeName(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int") || goType == "*int":
		return "an integer"
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "float"), goType == "*float64":
		return "a number"
	}
	return "another type"
}

// lastKey returns the dotted path of the last object key the decoder read
// before the document broke, such as "received_at".
func lastKey(data []byte) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		object bool
		key    bool // next string token is a key
		name   string
	}
	var stack []frame
	last := ""
	path := func() string {
		var parts []string
		for _, f := range stack {
			if f.object && f.name != "" {
				parts = append(parts, f.name)
			}
		}
		return strings.Join(parts, ".")
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return last
		}
		top := len(stack) - 1
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				stack = append(stack, frame{object: t == '{', key: t == '{'})
				continue
			default:
				stack = stack[:len(stack)-1]
				if top = len(stack) - 1; top >= 0 && stack[top].object {
					stack[top].key = true
				}
				continue
			}
		case string:
			if top >= 0 && stack[top].object && stack[top].key {
				stack[top].name = t
				stack[top].key = false
				last = path()
				continue
			}
		}
		if top >= 0 && stack[top].object {
			stack[top].key = true
		}
	}
}

func parseTime(field, s string, required bool) (time.Time, *FieldError) {
	if s == "" {
		if required {
			return time.Time{}, fieldErr(field, "missing: give an RFC 3339 time such as 2021-08-21T15:00:00Z")
		}
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fieldErr(field, "%q is not an RFC 3339 time such as 2021-08-21T15:00:00Z", s)
	}
	if t.Year() < 1900 {
		return time.Time{}, fieldErr(field, "%q is before 1900", s)
	}
	return t.UTC(), nil
}

// checkText applies muster.CheckText, the rule reports and source grades
// share, to a field.
func checkText(field, s string, maxBytes int) *FieldError {
	if err := muster.CheckText(s, maxBytes); err != nil {
		return fieldErr(field, "%v", err)
	}
	return nil
}

func oneOf(field, v string, accepted []string) *FieldError {
	for _, a := range accepted {
		if v == a {
			return nil
		}
	}
	if v == "" {
		return fieldErr(field, "missing: give one of %s", strings.Join(accepted, ", "))
	}
	return fieldErr(field, "%q is not one of %s", v, strings.Join(accepted, ", "))
}

func validate(rj *reportJSON, opt ParseOptions) (muster.Report, error) {
	var r muster.Report
	if strings.TrimSpace(rj.ID) == "" {
		return r, fieldErr("id", "missing")
	}
	if err := checkText("id", rj.ID, MaxIDBytes); err != nil {
		return r, err
	}
	r.ID = rj.ID
	var ferr *FieldError
	if r.ReceivedAt, ferr = parseTime("received_at", rj.ReceivedAt, true); ferr != nil {
		return r, ferr
	}
	maxFuture := opt.MaxFuture
	if maxFuture == 0 {
		maxFuture = DefaultMaxFuture
	}
	if limit := opt.now().Add(maxFuture); r.ReceivedAt.After(limit) {
		return r, fieldErr("received_at", "%s is in the future (after %s)", rj.ReceivedAt, limit.UTC().Format(time.RFC3339))
	}
	if r.ObservedAt, ferr = parseTime("observed_at", rj.ObservedAt, false); ferr != nil {
		return r, ferr
	}
	if !r.ObservedAt.IsZero() && r.ObservedAt.After(r.ReceivedAt.Add(time.Hour)) {
		return r, fieldErr("observed_at", "%s is after received_at %s: nothing is observed after it is reported", rj.ObservedAt, rj.ReceivedAt)
	}
	if rj.Source == nil {
		return r, fieldErr("source", "missing: give {\"id\", \"name\", \"kind\"} of the original source")
	}
	if strings.TrimSpace(rj.Source.ID) == "" {
		return r, fieldErr("source.id", "missing: the original source's id decides which reports are independent")
	}
	for _, f := range []struct{ name, v string }{{"source.id", rj.Source.ID}, {"source.name", rj.Source.Name}, {"source.via", rj.Source.Via}} {
		if err := checkText(f.name, f.v, MaxIDBytes); err != nil {
			return r, err
		}
	}
	if err := oneOf("source.kind", rj.Source.Kind, muster.SourceKinds); err != nil {
		return r, err
	}
	r.Source = muster.Source{ID: rj.Source.ID, Name: rj.Source.Name, Kind: rj.Source.Kind, Via: rj.Source.Via}
	if len(rj.Reliability) != 1 || !strings.Contains(muster.ReliabilityGrades, rj.Reliability) {
		if rj.Reliability == "" {
			return r, fieldErr("reliability", "missing: give an Admiralty source grade A (reliable) to F (cannot be judged)")
		}
		return r, fieldErr("reliability", "%q is not an Admiralty source grade A (reliable) to F (cannot be judged)", rj.Reliability)
	}
	r.Reliability = rj.Reliability
	if rj.Credibility == nil {
		return r, fieldErr("credibility", "missing: give an Admiralty information grade 1 (confirmed) to 6 (cannot be judged)")
	}
	if c := *rj.Credibility; c < muster.MinCredibility || c > muster.MaxCredibility {
		return r, fieldErr("credibility", "%d is not an Admiralty information grade 1 (confirmed) to 6 (cannot be judged)", c)
	}
	r.Credibility = *rj.Credibility
	if err := checkText("actor", rj.Actor, MaxIDBytes); err != nil {
		return r, err
	}
	r.Actor = rj.Actor
	if err := oneOf("kind", rj.Kind, muster.ReportKinds); err != nil {
		return r, err
	}
	r.Kind = rj.Kind
	claim := rj.Claim
	switch r.Kind {
	case muster.KindGateStatus:
		if err := oneOf("claim", claim, []string{muster.GateOpen, muster.GateRestricted, muster.GateClosed}); err != nil {
			return r, err
		}
	case muster.KindAllClear:
		if claim == "" {
			claim = muster.ClaimAbsent
		}
		if claim != muster.ClaimAbsent {
			return r, fieldErr("claim", "%q: an all-clear claims absent", claim)
		}
	default:
		if err := oneOf("claim", claim, []string{muster.ClaimPresent, muster.ClaimAbsent}); err != nil {
			return r, err
		}
	}
	r.Claim = claim
	p, text, ferr := parseLikelihoodJSON(rj.Likelihood)
	if ferr != nil {
		return r, ferr
	}
	r.Likelihood, r.LikelihoodText = p, text
	imm := rj.Immediacy
	if imm == "" {
		imm = muster.ImmediacyUnknown
	}
	if err := oneOf("immediacy", imm, muster.Immediacies); err != nil {
		return r, err
	}
	r.Immediacy = imm
	if rj.Severity == nil {
		return r, fieldErr("severity", "missing: give 1 (nuisance) to 5 (mass casualties)")
	}
	if s := *rj.Severity; s < 1 || s > 5 {
		return r, fieldErr("severity", "%d is not 1 (nuisance) to 5 (mass casualties)", s)
	}
	r.Severity = *rj.Severity
	area, ferr := parseArea(rj.Area, opt)
	if ferr != nil {
		return r, ferr
	}
	r.Area = area
	if r.Kind == muster.KindGateStatus {
		if ferr := checkGateArea(area, opt); ferr != nil {
			return r, ferr
		}
	}
	if r.ValidUntil, ferr = parseTime("valid_until", rj.ValidUntil, false); ferr != nil {
		return r, ferr
	}
	if !r.ValidUntil.IsZero() && r.ValidUntil.Before(r.Start()) {
		return r, fieldErr("valid_until", "%s is before the report's own time %s", rj.ValidUntil, r.Start().Format(time.RFC3339))
	}
	for i, id := range rj.RelatesTo {
		if strings.TrimSpace(id) == "" {
			return r, fieldErr(fmt.Sprintf("relates_to[%d]", i), "is empty")
		}
		if err := checkText(fmt.Sprintf("relates_to[%d]", i), id, MaxIDBytes); err != nil {
			return r, err
		}
		if id == r.ID {
			return r, fieldErr(fmt.Sprintf("relates_to[%d]", i), "a report cannot relate to itself")
		}
	}
	r.RelatesTo = rj.RelatesTo
	if err := checkText("text", rj.Text, MaxTextBytes); err != nil {
		return r, err
	}
	r.Text = rj.Text
	return r, nil
}

func parseLikelihoodJSON(raw json.RawMessage) (float64, string, *FieldError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, "", fieldErr("likelihood", "missing: give an estimative word such as \"likely\" or a number 0..1")
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, "", fieldErr("likelihood", "bad string: %v", err)
		}
		p, err := ParseLikelihood(s)
		if err != nil {
			return 0, "", fieldErr("likelihood", "%v", err)
		}
		return p, s, nil
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, "", fieldErr("likelihood", "%s is neither a word nor a number", raw)
	}
	p, err := CheckProbability(v)
	if err != nil {
		return 0, "", fieldErr("likelihood", "%v", err)
	}
	return p, strconv.FormatFloat(v, 'g', -1, 64), nil
}

func parseArea(a *areaJSON, opt ParseOptions) (muster.Area, *FieldError) {
	var out muster.Area
	if a == nil {
		return out, fieldErr("area", "missing: give {\"place\": NAME}, {\"place_id\": ID}, {\"point\": [lon, lat], \"radius_m\": R} or {\"polygon\": [[[lon, lat], ...]]}")
	}
	forms := 0
	if a.Place != nil {
		forms++
	}
	if a.PlaceID != nil {
		forms++
	}
	if a.Point != nil {
		forms++
	}
	if a.Polygon != nil {
		forms++
	}
	if forms != 1 {
		return out, fieldErr("area", "give exactly one of place, place_id, point (with radius_m) or polygon, not %d", forms)
	}
	switch {
	case a.PlaceID != nil:
		if a.RadiusM != nil {
			return out, fieldErr("area.radius_m", "goes with point, not with place_id (the places file gives a place's size)")
		}
		id := *a.PlaceID
		if err := checkText("area.place_id", id, MaxIDBytes); err != nil {
			return out, err
		}
		if id == "" {
			return out, fieldErr("area.place_id", "is empty: give the id of a place in the places file")
		}
		if opt.Places == nil {
			return out, fieldErr("area.place_id", "%q cannot be resolved: no places file given", id)
		}
		if _, err := opt.Places.ResolveID(id); err != nil {
			return out, fieldErr("area.place_id", "%v", err)
		}
		out.PlaceID = id
	case a.Place != nil:
		if a.RadiusM != nil {
			return out, fieldErr("area.radius_m", "goes with point, not with place (the places file gives a place's size)")
		}
		name := *a.Place
		if err := checkText("area.place", name, MaxIDBytes); err != nil {
			return out, err
		}
		if opt.Places == nil {
			return out, fieldErr("area.place", "%q cannot be resolved: no places file given", name)
		}
		if _, err := opt.Places.Resolve(name); err != nil {
			return out, fieldErr("area.place", "%v", err)
		}
		out.Place = name
	case a.Point != nil:
		if len(a.Point) != 2 {
			return out, fieldErr("area.point", "has %d numbers, want [lon, lat]", len(a.Point))
		}
		lon, lat := a.Point[0], a.Point[1]
		if math.IsNaN(lon) || lon < -180 || lon > 180 {
			return out, fieldErr("area.point", "longitude %v is out of range -180..180", lon)
		}
		if math.IsNaN(lat) || lat < -90 || lat > 90 {
			return out, fieldErr("area.point", "latitude %v is out of range -90..90", lat)
		}
		if a.RadiusM == nil {
			return out, fieldErr("area.radius_m", "missing: a point area needs a radius in metres")
		}
		if r := *a.RadiusM; math.IsNaN(r) || r <= 0 || r > MaxRadiusM {
			return out, fieldErr("area.radius_m", "%v is not in (0, %d] metres", r, MaxRadiusM)
		}
		pt := orb.Point{lon, lat}
		out.Point, out.RadiusM = &pt, *a.RadiusM
	default:
		if a.RadiusM != nil {
			return out, fieldErr("area.radius_m", "goes with point, not with polygon")
		}
		if len(a.Polygon) == 0 {
			return out, fieldErr("area.polygon", "has no ring")
		}
		poly := make(orb.Polygon, 0, len(a.Polygon))
		for i, rc := range a.Polygon {
			if len(rc) > MaxRingPoints {
				return out, fieldErr(fmt.Sprintf("area.polygon[%d]", i), "has %d positions, more than %d", len(rc), MaxRingPoints)
			}
			ring := make(orb.Ring, 0, len(rc))
			for j, pc := range rc {
				if len(pc) != 2 {
					return out, fieldErr(fmt.Sprintf("area.polygon[%d][%d]", i, j), "has %d numbers, want [lon, lat]", len(pc))
				}
				if !muster.ValidLatLon(pc[1], pc[0]) {
					return out, fieldErr(fmt.Sprintf("area.polygon[%d][%d]", i, j), "[%v, %v] is out of range (lon -180..180, lat -90..90)", pc[0], pc[1])
				}
				ring = append(ring, orb.Point{pc[0], pc[1]})
			}
			if err := places.ValidateRing(ring); err != nil {
				return out, fieldErr(fmt.Sprintf("area.polygon[%d]", i), "%v", err)
			}
			poly = append(poly, ring)
		}
		out.Polygon = poly
	}
	return out, nil
}

func checkGateArea(a muster.Area, opt ParseOptions) *FieldError {
	if a.Place == "" && a.PlaceID == "" {
		return fieldErr("area", "a gate-status report must name its gate with {\"place\": NAME} or {\"place_id\": ID}")
	}
	if opt.Places == nil {
		return nil
	}
	if a.PlaceID != "" {
		if p, _ := opt.Places.ResolveID(a.PlaceID); p != nil && p.Kind != muster.PlaceGate {
			return fieldErr("area.place_id", "%q (%s) is a %s, not a gate: a gate-status report must name gates", p.ID, p.Name, p.Kind)
		}
		return nil
	}
	pls, _ := opt.Places.Resolve(a.Place)
	for _, p := range pls {
		if p.Kind != muster.PlaceGate {
			return fieldErr("area.place", "%q is a %s, not a gate: a gate-status report must name gates", p.Name, p.Kind)
		}
	}
	return nil
}

// Rejection is one report line that did not parse or validate.
type Rejection struct {
	Line  int    // 1-based line number in the input
	ID    string // the report's id, if it could be read
	Err   error  // a *FieldError
	Input string // the line as received, for the operator to fix
}

func (r Rejection) Error() string {
	if r.ID != "" {
		return fmt.Sprintf("line %d (id %q): %v", r.Line, r.ID, r.Err)
	}
	return fmt.Sprintf("line %d: %v", r.Line, r.Err)
}

// Accepted is one report that parsed and validated, with the line it came
// from kept exactly as received.
type Accepted struct {
	Line   int
	Report muster.Report
	Raw    []byte
}

// ParseResult is what ParseReports found in a JSON Lines input.
type ParseResult struct {
	Accepted []Accepted
	Rejected []Rejection
}

// Reports returns the accepted reports.
func (pr *ParseResult) Reports() []muster.Report {
	out := make([]muster.Report, len(pr.Accepted))
	for i, a := range pr.Accepted {
		out[i] = a.Report
	}
	return out
}

// ParseReports reads JSON Lines, one report a line. Each bad line is
// rejected on its own with its reason; the good ones are kept. A report
// whose id is already in existing, or earlier in the input, is rejected as
// a duplicate. The error is for the input itself failing to read.
func ParseReports(r io.Reader, existing map[string]bool, opt ParseOptions) (*ParseResult, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	seen := map[string]int{}
	res := &ParseResult{}
	for line := 1; ; line++ {
		data, tooLong, err := readLine(br)
		if err != nil && err != io.EOF {
			return res, fmt.Errorf("line %d: %w", line, err)
		}
		if tooLong {
			res.Rejected = append(res.Rejected, Rejection{Line: line, Err: fieldErr("", "line longer than %d bytes", MaxLineBytes)})
		} else if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 {
			rep, perr := ParseReport(trimmed, opt)
			id := rep.ID
			if id == "" {
				id = peekID(trimmed)
			}
			switch {
			case perr != nil:
				res.Rejected = append(res.Rejected, Rejection{Line: line, ID: id, Err: perr, Input: string(trimmed)})
			case existing[rep.ID]:
				res.Rejected = append(res.Rejected, Rejection{Line: line, ID: id, Input: string(trimmed),
					Err: fieldErr("id", "%q is already the id of a report in the record: a report is never overwritten, give the new one its own id", rep.ID)})
			case seen[rep.ID] != 0:
				res.Rejected = append(res.Rejected, Rejection{Line: line, ID: id, Input: string(trimmed),
					Err: fieldErr("id", "%q is already the id of the report on line %d", rep.ID, seen[rep.ID])})
			default:
				seen[rep.ID] = line
				res.Accepted = append(res.Accepted, Accepted{Line: line, Report: rep, Raw: append([]byte(nil), trimmed...)})
			}
		}
		if err == io.EOF {
			return res, nil
		}
	}
}

// readLine returns the next line without its newline; a line longer than
// MaxLineBytes is skipped and reported as too long.
func readLine(br *bufio.Reader) ([]byte, bool, error) {
	var buf []byte
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			buf = append(buf, chunk...)
			if len(buf) > MaxLineBytes+1 {
				tooLong, buf = true, nil
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && err != io.EOF {
			return nil, false, err
		}
		if err == io.EOF && len(buf) == 0 && !tooLong {
			return nil, false, io.EOF
		}
		return bytes.TrimRight(buf, "\r\n"), tooLong, err
	}
}

// peekID reads the id of a report that failed to validate, for the
// rejection message.
func peekID(line []byte) string {
	var v struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(line, &v) == nil && checkText("id", v.ID, MaxIDBytes) == nil {
		return v.ID
	}
	if i := bytes.Index(line, []byte(`"id"`)); i >= 0 {
		rest := bytes.TrimLeft(line[i+4:], " :")
		var s string
		if json.NewDecoder(bytes.NewReader(rest)).Decode(&s) == nil && checkText("id", s, MaxIDBytes) == nil {
			return s
		}
	}
	return ""
}

// MarshalReport encodes a report as one JSON object in the import format,
// without a trailing newline.
func MarshalReport(r *muster.Report) ([]byte, error) {
	rj := reportJSON{
		ID: r.ID, ReceivedAt: r.ReceivedAt.UTC().Format(time.RFC3339),
		Source:      &sourceJSON{ID: r.Source.ID, Name: r.Source.Name, Kind: r.Source.Kind, Via: r.Source.Via},
		Reliability: r.Reliability, Credibility: &r.Credibility, Actor: r.Actor, Kind: r.Kind, Claim: r.Claim,
		Immediacy: r.Immediacy, Severity: &r.Severity, RelatesTo: r.RelatesTo, Text: r.Text,
	}
	if !r.ObservedAt.IsZero() {
		rj.ObservedAt = r.ObservedAt.UTC().Format(time.RFC3339)
	}
	if !r.ValidUntil.IsZero() {
		rj.ValidUntil = r.ValidUntil.UTC().Format(time.RFC3339)
	}
	var err error
	if w, ok := likelihoodByPhrase[normalizePhrase(r.LikelihoodText)]; ok && w.P == r.Likelihood {
		rj.Likelihood, err = json.Marshal(r.LikelihoodText)
	} else {
		rj.Likelihood, err = json.Marshal(r.Likelihood)
	}
	if err != nil {
		return nil, err
	}
	a := &areaJSON{}
	switch {
	case r.Area.PlaceID != "":
		a.PlaceID = &r.Area.PlaceID
		if r.Area.Place != "" { // not from the parser: kept, for the parser to refuse
			a.Place = &r.Area.Place
		}
	case r.Area.Place != "":
		a.Place = &r.Area.Place
	case r.Area.Point != nil:
		a.Point = []float64{r.Area.Point[0], r.Area.Point[1]}
		a.RadiusM = &r.Area.RadiusM
	default:
		for _, ring := range r.Area.Polygon {
			rc := make([][]float64, len(ring))
			for i, p := range ring {
				rc[i] = []float64{p[0], p[1]}
			}
			a.Polygon = append(a.Polygon, rc)
		}
	}
	rj.Area = a
	return json.Marshal(rj)
}
