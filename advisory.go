package muster

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"
)

// An advisory is a public broadcast to everyone registered inside an area
// ("Avoid the airport gates unless you receive individual instructions"),
// in the three languages, exchanged with other systems as a CAP 1.2 alert
// (package advisory reads and writes it). Unlike an instruction it is
// neither personal nor secret: it names no household, and anyone may read
// it. Field names follow CAP's elements; docs/advisories.md maps them.

// Advisory statuses (CAP <status>).
const (
	AdvisoryActual   = "Actual"   // acted upon
	AdvisoryExercise = "Exercise" // for an exercise's participants only
	AdvisorySystem   = "System"   // network messages, not shown to the public
	AdvisoryTest     = "Test"     // a technical test, to be discarded
	AdvisoryDraft    = "Draft"    // not for use
)

// Advisory message types (CAP <msgType>): muster issues, updates and
// cancels advisories; CAP's Ack and Error are not advisories.
const (
	AdvisoryAlert  = "Alert"
	AdvisoryUpdate = "Update" // replaces the advisories it references
	AdvisoryCancel = "Cancel" // withdraws the advisories it references
)

// AdvisoryPublic is the only scope of an advisory (CAP <scope>): an
// advisory is for everyone in its area, so it holds nothing restricted.
const AdvisoryPublic = "Public"

// CAP 1.2's enumerations, in the order the standard lists them.
var (
	AdvisoryStatuses      = []string{AdvisoryActual, AdvisoryExercise, AdvisorySystem, AdvisoryTest, AdvisoryDraft}
	AdvisoryMsgTypes      = []string{AdvisoryAlert, AdvisoryUpdate, AdvisoryCancel}
	AdvisoryCategories    = []string{"Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE", "Other"}
	AdvisoryResponseTypes = []string{"Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"}
	AdvisoryUrgencies     = []string{"Immediate", "Expected", "Future", "Past", "Unknown"}
	AdvisorySeverities    = []string{"Extreme", "Severe", "Moderate", "Minor", "Unknown"}
	AdvisoryCertainties   = []string{"Observed", "Likely", "Possible", "Unlikely", "Unknown"}
)

// Limits on one advisory. CAP sets none; these keep an advisory readable on
// a phone, its XML small, and checking it cheap on hostile input (the ring
// self-crossing check is quadratic in a ring's size).
const (
	MaxAdvisoryIDBytes          = 200   // identifier, sender, a zone id
	MaxAdvisoryHeadlineRunes    = 160   // CAP's advice, for SMS and small screens
	MaxAdvisoryEventBytes       = 200   // event
	MaxAdvisoryAreaDescBytes    = 1000  // areaDesc
	MaxAdvisoryTextBytes        = 8000  // description, instruction, note
	MaxAdvisoryReferences       = 100   // advisories one update or cancel refers to
	MaxAdvisoryShapes           = 100   // polygons plus circles
	MaxAdvisoryRingPoints       = 2_000 // positions in one ring, the closing one included
	MaxAdvisoryPoints           = 10_000
	MaxAdvisoryRadiusM          = 2_000_000 // a circle larger than a large country is a typo
	MaxAdvisoryLongitudeSpanDeg = 180       // a wider ring crosses the antimeridian, which muster does not handle
)

// Advisory is one public advisory. Times are whole seconds (CAP's format
// has no fractions); zero times are absent.
type Advisory struct {
	ID         string    // CAP identifier: unique for the sender, never reused or changed
	Sender     string    // CAP sender: the deployment, such as "muster@kabul.example.org"
	Sent       time.Time // when it was issued
	Status     string    // AdvisoryActual, ...
	MsgType    string    // AdvisoryAlert, AdvisoryUpdate or AdvisoryCancel
	References []AdvisoryRef
	Scope      string // AdvisoryPublic
	Note       string // why it was updated or cancelled; optional

	// The rest is CAP's <info>, written once per language. A cancellation
	// may leave all of it empty: it then only withdraws its references.
	Categories    []string // one or more of AdvisoryCategories
	ResponseTypes []string // what people should do, from AdvisoryResponseTypes; optional
	Urgency       string   // AdvisoryUrgencies
	Severity      string   // AdvisorySeverities
	Certainty     string   // AdvisoryCertainties
	Effective     time.Time
	Onset         time.Time
	Expires       time.Time
	Texts         []AdvisoryText // one per language, English among them
	Area          AdvisoryArea
}

// AdvisoryRef names an earlier advisory, as CAP's <references> does.
type AdvisoryRef struct {
	Sender string
	ID     string
	Sent   time.Time
}

// AdvisoryText is an advisory's words in one language.
type AdvisoryText struct {
	Language    string // LangEnglish, LangDari or LangPashto
	Event       string // what it is about, in a few words: "Danger at the airport gates"
	Headline    string // at most MaxAdvisoryHeadlineRunes characters
	Description string // what is happening
	Instruction string // what to do
	AreaDesc    string // the area in words: "Hamid Karzai International Airport and its gates"
}

// AdvisoryArea is where an advisory applies: inside any of its polygons or
// circles. ZoneID names the threat-picture zone its geometry was taken
// from, if any (the geometry is copied: the zone may change later, the
// advisory does not).
type AdvisoryArea struct {
	ZoneID   string
	Polygons []orb.Polygon // lon/lat rings, closed (first position repeated last); the first ring is the outline, the others holes
	Circles  []AdvisoryCircle
}

// AdvisoryCircle is a circle on the ground: a lon/lat centre and a radius
// in metres, measured along great circles.
type AdvisoryCircle struct {
	Center  orb.Point
	RadiusM float64
}

// Text returns the advisory's text in lang, or nil.
func (a *Advisory) Text(lang string) *AdvisoryText {
	for i := range a.Texts {
		if a.Texts[i].Language == lang {
			return &a.Texts[i]
		}
	}
	return nil
}

// Languages returns the languages the advisory is written in, in order.
func (a *Advisory) Languages() []string {
	out := make([]string, len(a.Texts))
	for i, t := range a.Texts {
		out[i] = t.Language
	}
	return out
}

// HasInfo reports whether the advisory carries CAP <info>: only a
// cancellation may not.
func (a *Advisory) HasInfo() bool { return len(a.Texts) > 0 }

// String identifies the advisory as CAP's references do: sender,identifier,sent.
func (r AdvisoryRef) String() string {
	return r.Sender + "," + r.ID + "," + r.Sent.UTC().Format(time.RFC3339)
}

// Ref returns the reference an update or cancellation of a uses.
func (a *Advisory) Ref() AdvisoryRef { return AdvisoryRef{Sender: a.Sender, ID: a.ID, Sent: a.Sent} }

// Validate checks every field and returns a *Error with code EINVALID
// naming the first one out of range, by its CAP element
// ("info[fa]/headline: ..."). An advisory that passes is one package
// advisory writes as valid CAP 1.2 and reads back unchanged.
func (a *Advisory) Validate() error {
	if err := a.validate(); err != nil {
		return &Error{Code: EINVALID, Message: "advisory: " + err.Error()}
	}
	return nil
}

func (a *Advisory) validate() error {
	if err := advCheckToken("identifier", a.ID); err != nil {
		return err
	}
	if err := advCheckToken("sender", a.Sender); err != nil {
		return err
	}
	if err := advCheckTime("sent", a.Sent, true); err != nil {
		return err
	}
	if err := advCheckEnum("status", a.Status, AdvisoryStatuses); err != nil {
		return err
	}
	if a.MsgType == "Ack" || a.MsgType == "Error" {
		return fmt.Errorf("msgType: %q is not an advisory (want Alert, Update or Cancel)", a.MsgType)
	}
	if err := advCheckEnum("msgType", a.MsgType, AdvisoryMsgTypes); err != nil {
		return err
	}
	if a.Scope != AdvisoryPublic {
		if a.Scope == "" {
			return fmt.Errorf("scope: missing (want Public)")
		}
		return fmt.Errorf("scope: %q: an advisory is public (want Public)", a.Scope)
	}
	if err := a.validateReferences(); err != nil {
		return err
	}
	if err := advCheckText("note", a.Note, MaxAdvisoryTextBytes, true); err != nil {
		return err
	}
	if !a.HasInfo() {
		return a.validateNoInfo()
	}
	return a.validateInfo()
}

func (a *Advisory) validateReferences() error {
	switch {
	case a.MsgType == AdvisoryAlert && len(a.References) > 0:
		return fmt.Errorf("references: an Alert refers to no earlier advisory (an Update or Cancel does)")
	case a.MsgType != AdvisoryAlert && len(a.References) == 0:
		return fmt.Errorf("references: an %s must name the advisories it %s", a.MsgType,
			map[string]string{AdvisoryUpdate: "updates", AdvisoryCancel: "cancels"}[a.MsgType])
	case len(a.References) > MaxAdvisoryReferences:
		return fmt.Errorf("references: %d, more than %d", len(a.References), MaxAdvisoryReferences)
	}
	seen := make(map[AdvisoryRef]bool, len(a.References))
	for i, r := range a.References {
		f := fmt.Sprintf("references[%d]", i)
		if err := advCheckToken(f+".sender", r.Sender); err != nil {
			return err
		}
		if err := advCheckToken(f+".identifier", r.ID); err != nil {
			return err
		}
		if err := advCheckTime(f+".sent", r.Sent, true); err != nil {
			return err
		}
		if r.Sender == a.Sender && r.ID == a.ID {
			return fmt.Errorf("%s: the advisory refers to itself", f)
		}
		if r.Sent.After(a.Sent) {
			return fmt.Errorf("%s: sent %s, after this advisory (%s): it can only refer to earlier ones",
				f, r.Sent.UTC().Format(time.RFC3339), a.Sent.UTC().Format(time.RFC3339))
		}
		key := AdvisoryRef{Sender: r.Sender, ID: r.ID, Sent: r.Sent.UTC()}
		if seen[key] {
			return fmt.Errorf("%s: %s is listed twice", f, r)
		}
		seen[key] = true
	}
	return nil
}

// validateNoInfo checks a cancellation without <info>: nothing of <info>
// may be set, since CAP would have nowhere to carry it.
func (a *Advisory) validateNoInfo() error {
	if a.MsgType != AdvisoryCancel {
		return fmt.Errorf("info: missing: give the advisory's text in English at least (only a Cancel may go without)")
	}
	switch {
	case len(a.Categories) > 0, len(a.ResponseTypes) > 0, a.Urgency != "", a.Severity != "", a.Certainty != "",
		!a.Effective.IsZero(), !a.Onset.IsZero(), !a.Expires.IsZero(),
		a.Area.ZoneID != "", len(a.Area.Polygons) > 0, len(a.Area.Circles) > 0:
		return fmt.Errorf("info: a Cancel without texts cannot carry categories, urgency, severity, certainty, times or an area: give its texts or leave them out")
	}
	return nil
}

func (a *Advisory) validateInfo() error {
	if len(a.Categories) == 0 {
		return fmt.Errorf("category: missing (one or more of %s)", strings.Join(AdvisoryCategories, ", "))
	}
	if err := advCheckEnums("category", a.Categories, AdvisoryCategories); err != nil {
		return err
	}
	if err := advCheckEnums("responseType", a.ResponseTypes, AdvisoryResponseTypes); err != nil {
		return err
	}
	if err := advCheckEnum("urgency", a.Urgency, AdvisoryUrgencies); err != nil {
		return err
	}
	if err := advCheckEnum("severity", a.Severity, AdvisorySeverities); err != nil {
		return err
	}
	if err := advCheckEnum("certainty", a.Certainty, AdvisoryCertainties); err != nil {
		return err
	}
	for _, t := range []struct {
		field string
		t     time.Time
	}{{"effective", a.Effective}, {"onset", a.Onset}, {"expires", a.Expires}} {
		if err := advCheckTime(t.field, t.t, false); err != nil {
			return err
		}
	}
	if !a.Expires.IsZero() {
		for _, t := range []struct {
			field string
			t     time.Time
		}{{"sent", a.Sent}, {"effective", a.Effective}, {"onset", a.Onset}} {
			if !t.t.IsZero() && !a.Expires.After(t.t) {
				return fmt.Errorf("expires: %s is not after %s (%s)", a.Expires.UTC().Format(time.RFC3339), t.field, t.t.UTC().Format(time.RFC3339))
			}
		}
	}
	if err := a.validateTexts(); err != nil {
		return err
	}
	return a.Area.validate()
}

func (a *Advisory) validateTexts() error {
	seen := map[string]bool{}
	for i, t := range a.Texts {
		if !slices.Contains(Languages, t.Language) {
			return fmt.Errorf("info[%d]/language: %q: want one of %s", i, t.Language, strings.Join(Languages, ", "))
		}
		if seen[t.Language] {
			return fmt.Errorf("info[%s]/language: given twice", t.Language)
		}
		seen[t.Language] = true
		f := "info[" + t.Language + "]/"
		if t.Event == "" {
			return fmt.Errorf("%sevent: missing", f)
		}
		if err := advCheckText(f+"event", t.Event, MaxAdvisoryEventBytes, false); err != nil {
			return err
		}
		if err := advCheckText(f+"headline", t.Headline, 4*MaxAdvisoryHeadlineRunes, false); err != nil {
			return err
		}
		if n := utf8.RuneCountInString(t.Headline); n > MaxAdvisoryHeadlineRunes {
			return fmt.Errorf("%sheadline: %d characters, more than %d", f, n, MaxAdvisoryHeadlineRunes)
		}
		if err := advCheckText(f+"description", t.Description, MaxAdvisoryTextBytes, true); err != nil {
			return err
		}
		if err := advCheckText(f+"instruction", t.Instruction, MaxAdvisoryTextBytes, true); err != nil {
			return err
		}
		if t.Headline == "" && t.Description == "" && t.Instruction == "" {
			return fmt.Errorf("%sheadline: missing, and so are description and instruction: say something", f)
		}
		if t.AreaDesc == "" {
			return fmt.Errorf("%sarea/areaDesc: missing: say where in words", f)
		}
		if err := advCheckText(f+"area/areaDesc", t.AreaDesc, MaxAdvisoryAreaDescBytes, false); err != nil {
			return err
		}
	}
	if !seen[LangEnglish] {
		return fmt.Errorf("info: no English text: English is what a household gets when its own language is missing")
	}
	return nil
}

// Validate checks the area alone, as Advisory.Validate does: a *Error with
// code EINVALID naming the polygon or circle at fault.
func (ar *AdvisoryArea) Validate() error {
	if err := ar.validate(); err != nil {
		return &Error{Code: EINVALID, Message: "advisory: " + err.Error()}
	}
	return nil
}

func (ar *AdvisoryArea) validate() error {
	if ar.ZoneID != "" {
		if err := advCheckToken("area/zone", ar.ZoneID); err != nil {
			return err
		}
	}
	if len(ar.Polygons) == 0 && len(ar.Circles) == 0 {
		return fmt.Errorf("area: no polygon and no circle: an advisory reaches the households inside its area")
	}
	if n := len(ar.Polygons) + len(ar.Circles); n > MaxAdvisoryShapes {
		return fmt.Errorf("area: %d polygons and circles, more than %d", n, MaxAdvisoryShapes)
	}
	points := 0
	for i, p := range ar.Polygons {
		f := fmt.Sprintf("area/polygon[%d]", i)
		if len(p) == 0 {
			return fmt.Errorf("%s: has no ring", f)
		}
		for j, r := range p {
			rf := f
			if j > 0 {
				rf = fmt.Sprintf("%s/hole[%d]", f, j-1)
			}
			points += len(r)
			if points > MaxAdvisoryPoints {
				return fmt.Errorf("%s: the area has more than %d positions in all", rf, MaxAdvisoryPoints)
			}
			if err := advCheckRing(r); err != nil {
				return fmt.Errorf("%s: %w", rf, err)
			}
			if j > 0 {
				if err := advCheckHole(p[0], r); err != nil {
					return fmt.Errorf("%s: %w", rf, err)
				}
			}
		}
	}
	for i, c := range ar.Circles {
		f := fmt.Sprintf("area/circle[%d]", i)
		if !ValidLatLon(c.Center[1], c.Center[0]) || math.IsInf(c.Center[0], 0) || math.IsInf(c.Center[1], 0) {
			return fmt.Errorf("%s: centre [%v, %v] is out of range (lon -180..180, lat -90..90)", f, c.Center[0], c.Center[1])
		}
		if !(c.RadiusM > 0) || c.RadiusM > MaxAdvisoryRadiusM {
			return fmt.Errorf("%s: radius %v m: want more than 0 and at most %d km", f, c.RadiusM, MaxAdvisoryRadiusM/1000)
		}
	}
	return nil
}

// checkAdvisoryRing checks one lon/lat ring: in range, closed, at least
// three distinct corners, not crossing itself, not across the antimeridian.
func advCheckRing(r orb.Ring) error {
	if len(r) > MaxAdvisoryRingPoints {
		return fmt.Errorf("has %d positions, more than %d: simplify it", len(r), MaxAdvisoryRingPoints)
	}
	if len(r) < 4 {
		return fmt.Errorf("has %d positions, a closed ring needs at least 4 (3 corners and the first repeated)", len(r))
	}
	minLon, maxLon := math.Inf(1), math.Inf(-1)
	for k, p := range r {
		if !ValidLatLon(p[1], p[0]) || math.IsInf(p[0], 0) || math.IsInf(p[1], 0) {
			return fmt.Errorf("position %d: [%v, %v] is out of range (lon -180..180, lat -90..90)", k, p[0], p[1])
		}
		minLon, maxLon = min(minLon, p[0]), max(maxLon, p[0])
	}
	if r[0] != r[len(r)-1] {
		return fmt.Errorf("is open: the first position %v is not repeated last (%v)", r[0], r[len(r)-1])
	}
	if maxLon-minLon > MaxAdvisoryLongitudeSpanDeg {
		return fmt.Errorf("spans %.1f° of longitude: it would cross the antimeridian, which muster does not handle", maxLon-minLon)
	}
	n := len(r) - 1
	for i := 0; i < n; i++ {
		if r[i] == r[i+1] {
			return fmt.Errorf("position %d repeats position %d", i+1, i)
		}
	}
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if j == i+1 || (i == 0 && j == n-1) {
				continue // neighbours share a corner
			}
			if advSegmentsMeet(r[i], r[i+1], r[j], r[j+1]) {
				return fmt.Errorf("crosses itself: segment %d (%v to %v) meets segment %d (%v to %v)", i, r[i], r[i+1], j, r[j], r[j+1])
			}
		}
	}
	var area float64
	for i := 0; i < n; i++ {
		area += r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
	}
	if math.Abs(area) < 1e-14 {
		return fmt.Errorf("has no area")
	}
	return nil
}

// checkHole checks that a hole lies strictly inside its outline.
func advCheckHole(outer, hole orb.Ring) error {
	for k, p := range hole[:len(hole)-1] {
		if !advRingContains(outer, p) || advOnRing(outer, p) {
			return fmt.Errorf("position %d %v is not inside the polygon's outline", k, p)
		}
	}
	for i := 0; i+1 < len(hole); i++ {
		for j := 0; j+1 < len(outer); j++ {
			if advSegmentsMeet(hole[i], hole[i+1], outer[j], outer[j+1]) {
				return fmt.Errorf("segment %d meets the outline's segment %d", i, j)
			}
		}
	}
	return nil
}

func advOrient(a, b, c orb.Point) float64 {
	return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
}

func advWithin(a, b, p orb.Point) bool {
	return min(a[0], b[0]) <= p[0] && p[0] <= max(a[0], b[0]) &&
		min(a[1], b[1]) <= p[1] && p[1] <= max(a[1], b[1])
}

// segmentsMeet reports whether segments ab and cd share any point.
func advSegmentsMeet(a, b, c, d orb.Point) bool {
	d1, d2 := advOrient(c, d, a), advOrient(c, d, b)
	d3, d4 := advOrient(a, b, c), advOrient(a, b, d)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	return (d1 == 0 && advWithin(c, d, a)) || (d2 == 0 && advWithin(c, d, b)) ||
		(d3 == 0 && advWithin(a, b, c)) || (d4 == 0 && advWithin(a, b, d))
}

// onRing reports whether p lies on one of the ring's segments.
func advOnRing(r orb.Ring, p orb.Point) bool {
	for i := 0; i+1 < len(r); i++ {
		if advOrient(r[i], r[i+1], p) == 0 && advWithin(r[i], r[i+1], p) {
			return true
		}
	}
	return false
}

// advRingContains reports whether the lon/lat point p lies inside the closed
// ring r or on its boundary, treating lon/lat as a plane (right for areas of
// a city or a country that do not cross the antimeridian).
func advRingContains(r orb.Ring, p orb.Point) bool {
	if advOnRing(r, p) {
		return true
	}
	in := false
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		a, b := r[i], r[j]
		if (a[1] > p[1]) != (b[1] > p[1]) &&
			p[0] < (b[0]-a[0])*(p[1]-a[1])/(b[1]-a[1])+a[0] {
			in = !in
		}
	}
	return in
}

// Contains reports whether the lon/lat point p lies in the area: inside or
// on the boundary of a polygon's outline and not strictly inside one of its
// holes (a hole's edge belongs to the area), or within a circle's radius.
func (ar *AdvisoryArea) Contains(p orb.Point) bool {
	for _, c := range ar.Circles {
		if DistanceM(c.Center[0], c.Center[1], p[0], p[1]) <= c.RadiusM {
			return true
		}
	}
	for _, poly := range ar.Polygons {
		if len(poly) == 0 || !advRingContains(poly[0], p) {
			continue
		}
		inHole := false
		for _, h := range poly[1:] {
			if advRingContains(h, p) && !advOnRing(h, p) {
				inHole = true
				break
			}
		}
		if !inHole {
			return true
		}
	}
	return false
}

func advCheckEnum(field, v string, allowed []string) error {
	if v == "" {
		return fmt.Errorf("%s: missing (one of %s)", field, strings.Join(allowed, ", "))
	}
	if !slices.Contains(allowed, v) {
		return fmt.Errorf("%s: %q is not one of %s", field, advClip(v), strings.Join(allowed, ", "))
	}
	return nil
}

func advCheckEnums(field string, vs, allowed []string) error {
	for i, v := range vs {
		if err := advCheckEnum(field, v, allowed); err != nil {
			return err
		}
		if slices.Contains(vs[:i], v) {
			return fmt.Errorf("%s: %q is given twice", field, v)
		}
	}
	return nil
}

// checkCAPToken checks an identifier or sender: CAP forbids spaces, commas
// and the characters < and &.
func advCheckToken(field, v string) error {
	if v == "" {
		return fmt.Errorf("%s: missing", field)
	}
	if len(v) > MaxAdvisoryIDBytes {
		return fmt.Errorf("%s: %d bytes, more than %d", field, len(v), MaxAdvisoryIDBytes)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("%s: not valid UTF-8", field)
	}
	for _, c := range v {
		if c <= ' ' || c == ',' || c == '<' || c == '&' || c == 0x7f || (c >= 0x80 && c <= 0x9f) || c == 0xa0 {
			return fmt.Errorf("%s: %q holds %q: CAP forbids spaces, commas, < and & in it", field, advClip(v), c)
		}
	}
	return nil
}

func advCheckTime(field string, t time.Time, required bool) error {
	if t.IsZero() {
		if required {
			return fmt.Errorf("%s: missing", field)
		}
		return nil
	}
	if t.Nanosecond() != 0 {
		return fmt.Errorf("%s: %s has a fraction of a second: CAP times are whole seconds", field, t.Format(time.RFC3339Nano))
	}
	if y := t.UTC().Year(); y < 1970 || y > 9999 {
		return fmt.Errorf("%s: year %d is out of range", field, y)
	}
	return nil
}

// checkText checks free text: valid UTF-8 and XML characters, no control
// characters but tabs and (in multiLine text) line feeds, no bidirectional
// override (which reorders what a reader sees), and at most maxBytes.
func advCheckText(field, v string, maxBytes int, multiLine bool) error {
	if len(v) > maxBytes {
		return fmt.Errorf("%s: %d bytes, more than %d", field, len(v), maxBytes)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("%s: not valid UTF-8", field)
	}
	for i, c := range v {
		switch {
		case c == '\n' && multiLine, c == '\t':
		case c == '\r':
			return fmt.Errorf("%s: holds a carriage return at byte %d (end lines with \\n alone)", field, i)
		case c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f):
			return fmt.Errorf("%s: holds the control character %U at byte %d", field, c, i)
		case c == 0x202d || c == 0x202e:
			return fmt.Errorf("%s: holds the bidirectional override %U at byte %d (it reorders what readers see)", field, c, i)
		case (c >= 0xd800 && c <= 0xdfff) || c == 0xfffe || c == 0xffff:
			return fmt.Errorf("%s: holds %U, not a character XML can carry", field, c)
		}
	}
	if strings.TrimSpace(v) != v {
		return fmt.Errorf("%s: starts or ends with white space", field)
	}
	return nil
}

func advClip(s string) string {
	if len(s) <= 60 {
		return s
	}
	i := 60
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
