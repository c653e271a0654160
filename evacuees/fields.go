package evacuees

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/muster-evac/muster"
)

// Limits on single values. A field longer than MaxFieldBytes is rejected
// whatever its column; names and ids have tighter limits of their own.
const (
	MaxFieldBytes = 4 << 10 // 4 KiB
	MaxNameRunes  = 200
	MaxIDBytes    = 64
	MaxPartySize  = 50 // a household larger than this is a typo or several households
)

// DocumentStatuses lists the accepted values of the documents column. The
// muster package has no such list yet; this one is what the scenarios use.
var DocumentStatuses = []string{"none", "passport", "tazkira", "visa-pending"}

// languageNames maps what people write in a language column (lower-cased)
// to muster's language code: codes, ISO 639-2/3 codes, English names and
// the names in the languages' own scripts.
var languageNames = map[string]string{
	"en": muster.LangEnglish, "eng": muster.LangEnglish, "english": muster.LangEnglish, "انگلیسی": muster.LangEnglish,
	"fa": muster.LangDari, "prs": muster.LangDari, "fas": muster.LangDari, "per": muster.LangDari,
	"dari": muster.LangDari, "farsi": muster.LangDari, "persian": muster.LangDari,
	"دری": muster.LangDari, "فارسی": muster.LangDari, "دري": muster.LangDari,
	"ps": muster.LangPashto, "pus": muster.LangPashto, "pbt": muster.LangPashto,
	"pashto": muster.LangPashto, "pashtu": muster.LangPashto, "pushto": muster.LangPashto,
	"پښتو": muster.LangPashto, "پشتو": muster.LangPashto,
}

// persianDigits maps Eastern Arabic (U+0660..) and Persian (U+06F0..)
// digits to ASCII, so numbers typed on an Afghan keyboard parse.
func asciiDigits(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return (r >= '٠' && r <= '٩') || (r >= '۰' && r <= '۹') }) {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '٠' && r <= '٩':
			return '0' + (r - '٠')
		case r >= '۰' && r <= '۹':
			return '0' + (r - '۰')
		case r == '٫': // Arabic decimal separator
			return '.'
		}
		return r
	}, s)
}

// parseCount parses a head count: a whole number >= 0.
func parseCount(v string) (int, string) {
	n, err := strconv.Atoi(asciiDigits(v))
	if err != nil {
		return 0, "is not a whole number"
	}
	if n < 0 {
		return 0, "is negative"
	}
	if n > 10*MaxPartySize {
		return 0, fmt.Sprintf("is too large (a household has at most %d people)", MaxPartySize)
	}
	return n, ""
}

// parseCoord parses a latitude or longitude. A decimal comma is accepted
// only when the file is not comma-separated: in a comma-separated file
// "34,53" was quoted on purpose by someone whose locale writes decimals so,
// or is two values run together; either way the import cannot know.
func parseCoord(v string, decimalComma bool, limit float64, what string) (float64, string) {
	v = asciiDigits(v)
	if strings.Contains(v, ",") {
		if !decimalComma {
			return 0, "has a decimal comma (write a decimal point, or export the file with semicolons)"
		}
		if strings.Count(v, ",") > 1 || strings.Contains(v, ".") {
			return 0, "is not a number"
		}
		v = strings.Replace(v, ",", ".", 1)
	}
	// ParseFloat accepts "NaN", "Inf", hex floats and underscores; a
	// coordinate is plain decimal digits.
	if !plainNumber.MatchString(v) {
		return 0, "is not a number"
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, "is not a number"
	}
	if f < -limit || f > limit {
		return 0, fmt.Sprintf("is out of range (%s must be within -%g..%g)", what, limit, limit)
	}
	return f, ""
}

var plainNumber = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)

// normalisePhone returns the number in E.164: "+" and 8 to 15 digits.
// Spaces, dashes, dots and parentheses are removed; "00" becomes "+"; a
// leading "0" is a national number and takes defaultCC.
func normalisePhone(v, defaultCC string) (string, string) {
	v = asciiDigits(v)
	v = strings.TrimPrefix(strings.TrimPrefix(v, "tel:"), "TEL:")
	var b strings.Builder
	for i, r := range v {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/' || r == '\u00a0':
		default:
			return "", "is not a phone number (only digits, spaces, dashes, dots, parentheses and a leading + are allowed)"
		}
	}
	d := b.String()
	switch {
	case strings.HasPrefix(d, "+"):
	case strings.HasPrefix(d, "00"):
		d = "+" + d[2:]
	case strings.HasPrefix(d, "0"):
		if defaultCC == "" {
			return "", "has no country code (write it as +<country code>..., or set a default country code)"
		}
		d = defaultCC + d[1:]
	case d == "":
		return "", "is not a phone number"
	default:
		return "", "has no country code (write it as +<country code>... or 00<country code>...)"
	}
	digits := d[1:]
	if len(digits) < 8 || len(digits) > 15 {
		return "", "is not a phone number (an international number has 8 to 15 digits)"
	}
	if digits[0] == '0' {
		return "", "is not a phone number (a country code never starts with 0)"
	}
	return d, ""
}

// emailPattern is deliberately loose: one "@", something before it, a dot
// in the domain, no spaces. Whether the mailbox exists only a message tells.
var emailPattern = regexp.MustCompile(`^[^@\s<>(),;:"\[\]]+@[^@\s<>(),;:"\[\]]+\.[^@\s<>(),;:"\[\].]{2,}$`)

func checkEmail(v string) string {
	if len(v) > 254 || !emailPattern.MatchString(v) {
		return "is not an e-mail address"
	}
	return ""
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func checkID(v string) string {
	if len(v) > MaxIDBytes {
		return fmt.Sprintf("is too long (a household id has at most %d characters)", MaxIDBytes)
	}
	if !idPattern.MatchString(v) {
		return "is not a valid household id (letters, digits, '.', '_' and '-', starting with a letter or digit)"
	}
	return ""
}

// checkText rejects control characters in a single-line field; multiLine
// fields (address, notes) may hold newlines and tabs.
func checkText(v string, multiLine bool) string {
	for _, r := range v {
		if r == '\n' || r == '\t' {
			if multiLine {
				continue
			}
			return "contains a line break or tab"
		}
		if unicode.IsControl(r) {
			return fmt.Sprintf("contains a control character (U+%04X)", r)
		}
	}
	return ""
}

func checkName(v string) string {
	if n := utf8.RuneCountInString(v); n > MaxNameRunes {
		return fmt.Sprintf("is too long (%d characters; a name has at most %d)", n, MaxNameRunes)
	}
	return checkText(v, false)
}

// wordKey reduces an enumerated word to the form of muster's lists:
// "Unaccompanied minor" and "unaccompanied-minor" become
// "unaccompanied_minor".
func wordKey(v string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return '_'
		}
		return unicode.ToLower(r)
	}, v)
}

// pickWord returns the entry of list that v means, comparing with wordKey.
func pickWord(v string, list []string) (string, bool) {
	k := wordKey(v)
	for _, w := range list {
		if wordKey(w) == k {
			return w, true
		}
	}
	return "", false
}

// formulaLike reports whether a spreadsheet would run v as a formula once
// the apostrophes that neutralise formulas are taken off.
func formulaLike(v string) bool {
	v = strings.TrimLeft(v, "'")
	return v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0]))
}

// neutralise prefixes an apostrophe to a value a spreadsheet would run as a
// formula (OWASP "CSV injection"). Numbers and E.164 phones ("+93...",
// "-30.1") are left alone: they are what they look like.
func neutralise(v string) string {
	if formulaLike(v) && !plainNumber.MatchString(v) {
		return "'" + v
	}
	return v
}

// unneutralise undoes neutralise, so Read(Write(x)) is x. An apostrophe is
// removed only before what a spreadsheet would run as a formula: it is
// there to stop that, not part of the value (spreadsheet users also type it
// before "+93..." to keep the plus).
func unneutralise(v string) string {
	if strings.HasPrefix(v, "'") && formulaLike(v[1:]) {
		return v[1:]
	}
	return v
}

// MaxMemberAge is the oldest age a member_names entry may give.
const MaxMemberAge = 130

// AgeBands lists the age bands a member may have instead of an age.
var AgeBands = []string{"child", "adult", "elderly"}

// isMemberSeparator reports whether r separates two people in a
// member_names cell: a semicolon (also the Arabic one, as typed on a Dari
// or Pashto keyboard) or a line break.
func isMemberSeparator(r rune) bool { return r == ';' || r == '؛' || r == '\n' || r == '\r' }

// parseMembers reads a member_names cell: people separated by
// isMemberSeparator, each "Name", "Name (42)" or "Name (child)". Empty
// entries (a trailing ";", a blank line) are skipped.
func parseMembers(v string) ([]muster.Member, string) {
	var items []string
	for _, item := range strings.FieldsFunc(v, isMemberSeparator) {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	if len(items) > MaxPartySize {
		return nil, fmt.Sprintf("lists %d people: a household has at most %d (split it, or check for a typo)", len(items), MaxPartySize)
	}
	ms := make([]muster.Member, 0, len(items))
	for i, item := range items {
		m, why := parseMember(item)
		if why != "" {
			return nil, fmt.Sprintf("has member %d (%q) %s", i+1, shorten(item), why)
		}
		ms = append(ms, m)
	}
	return ms, ""
}

// parseMember reads one entry of a member list. A trailing parenthesis is
// the age or age band; the name before it is kept byte for byte, as the
// household's name is. Age 0 (a baby) is stored as age band child, since
// Member.Age 0 means "unknown".
func parseMember(item string) (muster.Member, string) {
	name, paren := item, ""
	if strings.HasSuffix(item, ")") {
		open := strings.LastIndexByte(item, '(')
		if open < 0 {
			return muster.Member{}, "with a ')' but no '('"
		}
		name, paren = strings.TrimSpace(item[:open]), strings.TrimSpace(item[open+1:len(item)-1])
	}
	switch {
	case name == "":
		return muster.Member{}, "with no name"
	case allDigits(asciiDigits(name)):
		return muster.Member{}, "with a number for a name (the count of people goes in the members column)"
	}
	if why := checkName(name); why != "" {
		return muster.Member{}, "whose name " + why
	}
	m := muster.Member{Name: name}
	if first, second, ok := cutComma(paren); ok {
		// "70, elderly": an age and a band, as Write puts a member who has
		// both (the API allows it); the age first or the band first.
		age, band := first, second
		if !allDigits(asciiDigits(age)) {
			age, band = second, first
		}
		n, err := strconv.Atoi(asciiDigits(age))
		if err != nil || n > MaxMemberAge {
			return m, fmt.Sprintf("with %q: want an age (0 to %d) and an age band (%s)", paren, MaxMemberAge, strings.Join(AgeBands, ", "))
		}
		b, ok := pickWord(band, AgeBands)
		if !ok {
			return m, fmt.Sprintf("with %q: %q is not an age band (%s)", paren, band, strings.Join(AgeBands, ", "))
		}
		m.Age, m.AgeBand = n, b
		return m, ""
	}
	switch age := asciiDigits(paren); {
	case paren == "":
		if strings.HasSuffix(item, ")") {
			return m, fmt.Sprintf("with empty parentheses (write an age, 0 to %d, or an age band: %s)", MaxMemberAge, strings.Join(AgeBands, ", "))
		}
	case allDigits(age):
		n, err := strconv.Atoi(age)
		if err != nil || n > MaxMemberAge {
			return m, fmt.Sprintf("with age %s (an age is 0 to %d)", paren, MaxMemberAge)
		}
		m.Age = n
		if n == 0 {
			m.AgeBand = "child"
		}
	default:
		band, ok := pickWord(paren, AgeBands)
		if !ok {
			return m, fmt.Sprintf("with %q, neither an age (0 to %d) nor an age band (%s)", paren, MaxMemberAge, strings.Join(AgeBands, ", "))
		}
		m.AgeBand = band
	}
	return m, ""
}

// cutComma splits "70, elderly" (a Latin or an Arabic comma) in two.
func cutComma(s string) (before, after string, found bool) {
	for _, sep := range []string{",", "،"} {
		if b, a, ok := strings.Cut(s, sep); ok {
			return strings.TrimSpace(b), strings.TrimSpace(a), true
		}
	}
	return "", "", false
}

func allDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// formatMembers writes a member list as parseMembers reads it.
func formatMembers(ms []muster.Member) string {
	var b strings.Builder
	for i, m := range ms {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(m.Name)
		switch {
		case m.Age > 0 && m.AgeBand != "":
			b.WriteString(" (" + strconv.Itoa(m.Age) + ", " + m.AgeBand + ")")
		case m.Age > 0:
			b.WriteString(" (" + strconv.Itoa(m.Age) + ")")
		case m.AgeBand != "":
			b.WriteString(" (" + m.AgeBand + ")")
		}
	}
	return b.String()
}

// ageSplit counts the members known to be adults and children: a child is
// under 18 or in age band child; elderly are adults.
func ageSplit(ms []muster.Member) (adults, children, known int) {
	for _, m := range ms {
		switch {
		case m.Age > 0 && m.Age < 18, m.Age == 0 && m.AgeBand == "child":
			children++
		case m.Age >= 18, m.AgeBand != "":
			adults++
		default:
			continue
		}
		known++
	}
	return adults, children, known
}

// The checks an import makes, for the other ways a household comes in
// (the API's create and update), so that what one accepts the other takes
// back: each returns "" when v is fine, or why not, worded to follow the
// field's name ("phone "+why).

// CheckPhone normalises a phone number to E.164 as an import does, with
// defaultCC ("+93") completing a national number, or says why it is not
// one.
func CheckPhone(v, defaultCC string) (e164, why string) { return normalisePhone(v, defaultCC) }

// CheckEmail says why v is not an e-mail address an import would take.
func CheckEmail(v string) string { return checkEmail(v) }

// CheckName says why v cannot be a name (too long, a control character
// or a line break).
func CheckName(v string) string { return checkName(v) }
