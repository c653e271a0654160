package instruct

import (
	"strings"
	"unicode/utf8"
	"unsafe"
)

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
	// Read, not kept nor written: the bytes of text as they are.
	return measureSMS(unsafe.Slice(unsafe.StringData(text), len(text)))
}

// gsmASCII is gsmCost of each ASCII character.
var gsmASCII = func() (t [utf8.RuneSelf]uint8) {
	for r := range t {
		t[r] = uint8(gsmCost(rune(r)))
	}
	return t
}()

// measureSMS is MeasureSMS of text's bytes, in one pass: both encodings'
// units and segments are counted side by side (GSM-7's until a character
// outside its alphabet), ASCII without decoding. The short form is
// measured so, once or more a message.
func measureSMS(text []byte) SMSSize {
	if len(text) == 0 {
		return SMSSize{Encoding: GSM7}
	}
	const gsmMulti, ucsMulti = 153, 67
	gsm := true
	var gsmUnits, gsmUsed, ucsUnits, ucsUsed int
	gsmSegs, ucsSegs := 1, 1
	for i := 0; i < len(text); {
		var gc, uc int
		if c := text[i]; c < utf8.RuneSelf {
			gc, uc = int(gsmASCII[c]), 1
			i++
		} else {
			r, n := utf8.DecodeRune(text[i:])
			i += n
			uc = 1
			if r > 0xffff {
				uc = 2
			}
			if gsm {
				gc = gsmSeptets[r]
			}
		}
		ucsUnits += uc
		if ucsUsed+uc > ucsMulti {
			ucsSegs++
			ucsUsed = 0
		}
		ucsUsed += uc
		if gsm {
			if gc == 0 {
				gsm = false
				continue
			}
			gsmUnits += gc
			if gsmUsed+gc > gsmMulti {
				gsmSegs++
				gsmUsed = 0
			}
			gsmUsed += gc
		}
	}
	if gsm {
		size := SMSSize{Encoding: GSM7, Units: gsmUnits, Segments: gsmSegs}
		if gsmUnits <= 160 {
			size.Segments = 1
		}
		return size
	}
	size := SMSSize{Encoding: UCS2, Units: ucsUnits, Segments: ucsSegs}
	if ucsUnits <= 70 {
		size.Segments = 1
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
