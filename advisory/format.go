package advisory

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/instruct"
)

// Namespace is CAP 1.2's XML namespace.
const Namespace = "urn:oasis:names:tc:emergency:cap:1.2"

// muster's own geocodes: CAP has no holes in polygons and no threat-picture
// zones, so an area carries them as <geocode> pairs that other systems
// ignore (docs/advisories.md says what that means for them).
const (
	geocodeZone = "muster-zone" // value: the zone id
	geocodeHole = "muster-hole" // value: "N lat,lon lat,lon ...", a hole of the area's polygon N (0-based)
)

// capLanguage is the <language> muster writes for each of its languages:
// the BCP 47 tag its instructions use too (instruct.LanguageTag: en,
// fa-AF, ps-AF), one table for both.
func capLanguage(lang string) string {
	tag, _, _ := instruct.LanguageTag(lang)
	return tag
}

// musterLanguage maps a CAP <language> (an RFC 3066 tag) to muster's
// language, by its primary subtag: English, Persian (Dari is "prs", Afghan
// Persian "fa-AF"), Pashto ("ps", or the ISO 639-3 codes of its varieties).
// It returns "" for any other language.
func musterLanguage(tag string) string {
	primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
	switch primary {
	case "en":
		return muster.LangEnglish
	case "fa", "prs":
		return muster.LangDari
	case "ps", "pus", "pbt", "pbu", "pst":
		return muster.LangPashto
	}
	return ""
}

// capTimeLayout is CAP's dateTime without the offset; formatTime adds
// "-00:00", CAP 1.2's way of writing UTC (§3.3.2: never "Z").
const capTimeLayout = "2006-01-02T15:04:05"

func formatTime(t time.Time) string {
	return t.UTC().Format(capTimeLayout) + "-00:00"
}

// parseTime reads a CAP dateTime: the schema's pattern
// dddd-dd-ddTdd:dd:dd and a numeric offset, nothing more (no "Z", no
// fractions). The time is returned in UTC.
func parseTime(s string) (time.Time, error) {
	const want = "want a CAP time such as 2021-08-26T14:00:00-00:00 (a numeric offset, never Z)"
	if len(s) != 25 {
		return time.Time{}, fmt.Errorf("%q: %s", clip(s), want)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		var ok bool
		switch i {
		case 4, 7:
			ok = c == '-'
		case 10:
			ok = c == 'T'
		case 13, 16, 22:
			ok = c == ':'
		case 19:
			ok = c == '+' || c == '-'
		default:
			ok = c >= '0' && c <= '9'
		}
		if !ok {
			return time.Time{}, fmt.Errorf("%q: %s", s, want)
		}
	}
	t, err := time.Parse(capTimeLayout+"-07:00", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: not a valid date and time", s)
	}
	return t.UTC(), nil
}

// formatCoord writes a coordinate with the fewest digits that read back
// exactly.
func formatCoord(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// parseDecimal reads a plain decimal number ("-12.5", "3"): no exponent,
// no hexadecimal, no Inf or NaN, which strconv would take.
func parseDecimal(s string) (float64, error) {
	if !isDecimal(s) {
		return 0, fmt.Errorf("%q is not a decimal number", clip(s))
	}
	return strconv.ParseFloat(s, 64)
}

func isDecimal(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && (!hasDot || frac == "") {
		return false
	}
	if hasDot && frac == "" {
		return false
	}
	for _, part := range []string{intPart, frac} {
		if len(part) > 40 {
			return false
		}
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return false
			}
		}
	}
	return true
}

// formatPair writes a lon/lat point as CAP's "lat,lon".
func formatPair(p orb.Point) string { return formatCoord(p[1]) + "," + formatCoord(p[0]) }

// parsePair reads CAP's "lat,lon" into a lon/lat point.
func parsePair(s string) (orb.Point, error) {
	latS, lonS, ok := strings.Cut(s, ",")
	if !ok {
		return orb.Point{}, fmt.Errorf("%q is not a \"lat,lon\" pair", clip(s))
	}
	lat, err := parseDecimal(latS)
	if err != nil {
		return orb.Point{}, fmt.Errorf("latitude %w", err)
	}
	lon, err := parseDecimal(lonS)
	if err != nil {
		return orb.Point{}, fmt.Errorf("longitude %w", err)
	}
	if !muster.ValidLatLon(lat, lon) {
		return orb.Point{}, fmt.Errorf("%q is out of range (latitude -90..90, then longitude -180..180)", clip(s))
	}
	return orb.Point{lon, lat}, nil
}

// formatRing writes a closed lon/lat ring as CAP's polygon text.
func formatRing(r orb.Ring) string {
	var b strings.Builder
	for i, p := range r {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(formatPair(p))
	}
	return b.String()
}

// parseRing reads CAP's polygon text: "lat,lon" pairs separated by white
// space, at least four, the first repeated last.
func parseRing(s string) (orb.Ring, error) {
	fields := strings.Fields(s)
	if len(fields) > muster.MaxAdvisoryRingPoints {
		return nil, fmt.Errorf("has %d points, more than %d", len(fields), muster.MaxAdvisoryRingPoints)
	}
	if len(fields) < 4 {
		return nil, fmt.Errorf("has %d points: CAP wants at least 4, the first repeated last", len(fields))
	}
	r := make(orb.Ring, len(fields))
	for i, f := range fields {
		p, err := parsePair(f)
		if err != nil {
			return nil, fmt.Errorf("point %d: %w", i+1, err)
		}
		r[i] = p
	}
	if r[0] != r[len(r)-1] {
		return nil, fmt.Errorf("is open: its first point %s is not repeated last (%s)", fields[0], fields[len(fields)-1])
	}
	return r, nil
}

// formatCircle writes CAP's "lat,lon radius" with the radius in km. The
// radius is the shortest decimal of the metres with the point moved three
// places, so that parseCircle gives back exactly the same metres.
func formatCircle(c muster.AdvisoryCircle) string {
	return formatPair(c.Center) + " " + shiftDecimal(formatCoord(c.RadiusM), -3)
}

func parseCircle(s string) (muster.AdvisoryCircle, error) {
	fields := strings.Fields(s)
	if len(fields) != 2 {
		return muster.AdvisoryCircle{}, fmt.Errorf("%q: want \"lat,lon radius_km\"", clip(s))
	}
	p, err := parsePair(fields[0])
	if err != nil {
		return muster.AdvisoryCircle{}, fmt.Errorf("centre: %w", err)
	}
	if !isDecimal(fields[1]) {
		return muster.AdvisoryCircle{}, fmt.Errorf("radius %q is not a decimal number of kilometres", clip(fields[1]))
	}
	m, err := strconv.ParseFloat(shiftDecimal(fields[1], 3), 64)
	if err != nil {
		return muster.AdvisoryCircle{}, fmt.Errorf("radius %q: %w", clip(fields[1]), err)
	}
	return muster.AdvisoryCircle{Center: p, RadiusM: m}, nil
}

// shiftDecimal moves the decimal point of a plain decimal number by n
// places (right for n > 0), exactly, as text.
func shiftDecimal(s string, n int) string {
	sign := ""
	if s != "" && (s[0] == '-' || s[0] == '+') {
		sign, s = s[:1], s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	digits := intPart + frac
	point := len(intPart) + n
	for point < 0 {
		digits = "0" + digits
		point++
	}
	for point > len(digits) {
		digits += "0"
	}
	intPart, frac = digits[:point], digits[point:]
	intPart = strings.TrimLeft(intPart, "0")
	frac = strings.TrimRight(frac, "0")
	if intPart == "" {
		intPart = "0"
	}
	if sign == "+" {
		sign = ""
	}
	if frac == "" {
		return sign + intPart
	}
	return sign + intPart + "." + frac
}

func formatRef(r muster.AdvisoryRef) string {
	return r.Sender + "," + r.ID + "," + formatTime(r.Sent)
}

// parseRefs reads CAP's references: "sender,identifier,sent" entries
// separated by white space.
func parseRefs(s string) ([]muster.AdvisoryRef, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return nil, fmt.Errorf("empty: give sender,identifier,sent for each advisory referred to")
	}
	if len(fields) > muster.MaxAdvisoryReferences {
		return nil, fmt.Errorf("%d entries, more than %d", len(fields), muster.MaxAdvisoryReferences)
	}
	out := make([]muster.AdvisoryRef, 0, len(fields))
	for i, f := range fields {
		parts := strings.Split(f, ",")
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
			return nil, fmt.Errorf("entry %d %q: want sender,identifier,sent", i+1, clip(f))
		}
		t, err := parseTime(parts[2])
		if err != nil {
			return nil, fmt.Errorf("entry %d: sent %w", i+1, err)
		}
		out = append(out, muster.AdvisoryRef{Sender: parts[0], ID: parts[1], Sent: t})
	}
	return out, nil
}

func clip(s string) string {
	if len(s) <= 60 {
		return s
	}
	i := 60
	for i > 0 && s[i]&0xc0 == 0x80 {
		i--
	}
	return s[:i] + "…"
}
