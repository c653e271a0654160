package instruct

import "strings"

// SMS encodings.
const (
	GSM7 = "GSM-7" // the GSM 03.38 default alphabet: 160 characters in one segment, 153 per segment when concatenated
	UCS2 = "UCS-2" // anything else: 70 UTF-16 code units in one segment, 67 per segment when concatenated
)

// SMSSize is how a text travels as SMS.
type SMSSize struct {
	Encoding string // GSM7 or UCS2
	Units    int    // septets (GSM-7, an extension character counting two) or UTF-16 code units (UCS-2)
	Segments int    // messages it takes; 0 for an empty text
}

// gsmBasic is the GSM 03.38 default alphabet; gsmExtension the characters
// reached through its escape, which take two septets.
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtension = "\f^{}\\[~]|€"
)

var gsmSeptets = func() map[rune]int {
	m := map[rune]int{}
	for _, r := range gsmBasic {
		m[r] = 1
	}
	for _, r := range gsmExtension {
		m[r] = 2
	}
	return m
}()

// gsmCost returns the septets r takes in GSM-7, 0 if it has none.
func gsmCost(r rune) int {
	if r >= ' ' && r <= 'z' && r != '@' && r != '$' && r != '[' && r != '\\' && r != ']' && r != '^' && r != '_' && r != '`' {
		return 1
	}
	return gsmSeptets[r]
}

// MeasureSMS says how text travels as SMS: in GSM-7 when every character
// is in its alphabet, else in UCS-2; how many septets or code units it
// takes; and in how many segments. Segments are packed as phones pack
// them: an escape sequence or a surrogate pair is never split between two.
func MeasureSMS(text string) SMSSize {
	if text == "" {
		return SMSSize{Encoding: GSM7}
	}
	gsm := true
	for _, r := range text {
		if gsmCost(r) == 0 {
			gsm = false
			break
		}
	}
	size := SMSSize{Encoding: UCS2}
	single, multi := 70, 67
	cost := func(r rune) int {
		if r > 0xffff {
			return 2
		}
		return 1
	}
	if gsm {
		size.Encoding, single, multi, cost = GSM7, 160, 153, gsmCost
	}
	for _, r := range text {
		size.Units += cost(r)
	}
	if size.Units <= single {
		size.Segments = 1
		return size
	}
	used := 0
	size.Segments = 1
	for _, r := range text {
		c := cost(r)
		if used+c > multi {
			size.Segments++
			used = 0
		}
		used += c
	}
	return size
}

// CutSMS returns text when it fits in segments SMS segments, else its
// longest beginning that fits with an ellipsis after it, cut at a
// character (never inside a surrogate pair or an escape) and without the
// spaces it would end with. Measured as MeasureSMS measures: the ellipsis
// is not in GSM-7, so a cut text of GSM-7 ends in "...".
func CutSMS(text string, segments int) string {
	if segments < 1 {
		return ""
	}
	if MeasureSMS(text).Segments <= segments {
		return text
	}
	ell := "…"
	if MeasureSMS(text).Encoding == GSM7 {
		ell = "..."
	}
	// The longest beginning that fits: a shorter one never takes more.
	starts := make([]int, 0, len(text))
	for i := range text {
		starts = append(starts, i)
	}
	cut := func(n int) string { return strings.TrimRight(text[:starts[n]], " \n") + ell }
	lo, hi := 0, len(starts) // cut(lo) fits, cut(hi) would not
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if MeasureSMS(cut(mid)).Segments <= segments {
			lo = mid
		} else {
			hi = mid
		}
	}
	return cut(lo)
}
