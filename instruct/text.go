package instruct

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/bidi"
	"golang.org/x/text/unicode/norm"
)

// Unicode directional isolates (UAX #9): text between an initiator and its
// PDI is laid out on its own and does not reorder what surrounds it.
const (
	lri = '\u2066' // left-to-right isolate
	rli = '\u2067' // right-to-left isolate
	fsi = '\u2068' // first-strong isolate: the direction of its first letter
	pdi = '\u2069' // pop directional isolate
)

// Limits on data placed in a message, in characters.
const (
	maxNameRunes = 80  // a name of a household, street or place
	maxLinkRunes = 300 // a link, phone number or id
)

// cleanData makes a string that comes from outside (a name, a street, a
// link) safe to place in a message: invalid UTF-8 becomes U+FFFD; bidi
// controls (embeddings, overrides such as U+202E, isolates, marks) and other
// invisible format characters are dropped, except the zero-width (non-)
// joiners that Persian and Pashto spelling needs; control characters and
// line or paragraph separators become spaces; runs of spaces collapse; the
// result is in NFC and at most max characters, the last an ellipsis when
// it is cut. Data can then neither reorder nor break the text around it.
func cleanData(s string, max int) string {
	if isPlainASCII(s) && len(s) <= max {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size <= 1:
			r = '\uFFFD'
		case r == '\u200c' || r == '\u200d': // ZWNJ, ZWJ: part of spelling
		case unicode.Is(unicode.Bidi_Control, r) || unicode.Is(unicode.Cf, r):
			continue
		case unicode.IsControl(r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029':
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	out := norm.NFC.String(b.String())
	if utf8.RuneCountInString(out) > max {
		n := 0
		for i := range out {
			if n == max-1 {
				out = strings.TrimRight(out[:i], " ") + "…"
				break
			}
			n++
		}
	}
	return out
}

// isPlainASCII reports whether s is printable ASCII with single spaces
// between words: already clean.
func isPlainASCII(s string) bool {
	if s == "" {
		return true
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == ' ' && s[i+1] == ' ' {
			return false
		}
	}
	return true
}

// Strong directions of a character, as UAX #9 counts them for a
// paragraph's direction and a first-strong isolate.
const (
	dirNone = iota // neutral or weak
	dirL
	dirR // R or AL
)

func strongClass(r rune) int {
	if r < 0x80 {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return dirL
		}
		return dirNone
	}
	p, _ := bidi.LookupRune(r)
	switch p.Class() {
	case bidi.L:
		return dirL
	case bidi.R, bidi.AL:
		return dirR
	}
	return dirNone
}

// isolation returns the isolate initiator data needs in a paragraph of
// the given direction, or 0 when it needs none: in right-to-left text,
// data holding a left-to-right letter or an ASCII digit (a Latin name, a
// group code, a link, a phone number) is isolated by first strong
// character; in left-to-right text, data holding a right-to-left letter is
// isolated, right to left when that is its first strong direction.
func isolation(s string, rtl bool) rune {
	first := dirNone
	needs := false
	for _, r := range s {
		c := strongClass(r)
		if first == dirNone {
			first = c
		}
		if rtl && (c == dirL || r >= '0' && r <= '9') || !rtl && c == dirR {
			needs = true
		}
	}
	switch {
	case !needs:
		return 0
	case !rtl && first == dirR:
		return rli
	}
	return fsi
}

// paragraphRTL reports whether a paragraph's first strong character,
// outside isolates, is right to left (UAX #9 rules P2 and P3).
func paragraphRTL(s string) bool {
	depth := 0
	for _, r := range s {
		switch r {
		case lri, rli, fsi:
			depth++
			continue
		case pdi:
			if depth > 0 {
				depth--
			}
			continue
		}
		if depth > 0 {
			continue
		}
		switch strongClass(r) {
		case dirR:
			return true
		case dirL:
			return false
		}
	}
	return false
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")

func escapeHTML(s string) string {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '&', '<', '>', '"', '\'':
			return htmlEscaper.Replace(s)
		}
	}
	return s
}
