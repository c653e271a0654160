package instruct

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestMeasureSMS(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		want SMSSize
	}{
		{"empty", "", SMSSize{GSM7, 0, 0}},
		{"one GSM segment", strings.Repeat("a", 160), SMSSize{GSM7, 160, 1}},
		{"two GSM segments", strings.Repeat("a", 161), SMSSize{GSM7, 161, 2}},
		{"full two GSM segments", strings.Repeat("a", 306), SMSSize{GSM7, 306, 2}},
		{"three GSM segments", strings.Repeat("a", 307), SMSSize{GSM7, 307, 3}},
		{"GSM-7's own letters", "Ünïcode? No: Øre, ñ, é, à, Δ, ß, £5 @ 10:00_", SMSSize{UCS2, 44, 1}}, // ï is not GSM-7
		{"GSM-7 letters only", "Øre, ñ, é, à, Δ, ß, £5 @ 10:00_", SMSSize{GSM7, 31, 1}},
		{"extension characters count two", "{}[]~^|\\€", SMSSize{GSM7, 18, 1}},
		{"an extension character fills a segment", strings.Repeat("a", 159) + "€", SMSSize{GSM7, 161, 2}},
		// 152 septets then a two-septet escape: it moves whole to the
		// second segment rather than split.
		{"escapes are not split", strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152), SMSSize{GSM7, 306, 3}},
		{"one UCS-2 segment", strings.Repeat("ا", 70), SMSSize{UCS2, 70, 1}},
		{"two UCS-2 segments", strings.Repeat("ا", 71), SMSSize{UCS2, 71, 2}},
		{"full two UCS-2 segments", strings.Repeat("ا", 134), SMSSize{UCS2, 134, 2}},
		{"three UCS-2 segments", strings.Repeat("ا", 135), SMSSize{UCS2, 135, 3}},
		{"a backquote is not GSM-7", "`", SMSSize{UCS2, 1, 1}},
		{"an isolate is UCS-2", "a\u2068b\u2069", SMSSize{UCS2, 4, 1}},
		{"outside the BMP: two code units", "😀", SMSSize{UCS2, 2, 1}},
		{"surrogate pairs are not split", strings.Repeat("ا", 66) + "😀" + strings.Repeat("ا", 66), SMSSize{UCS2, 134, 3}},
	} {
		if got := MeasureSMS(tc.text); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	// Every character of GSM-7's basic set costs one septet, of its
	// extension two; the fast path agrees with the table.
	for _, r := range gsmBasic {
		if gsmCost(r) != 1 {
			t.Errorf("%q costs %d", r, gsmCost(r))
		}
	}
	for _, r := range gsmExtension {
		if gsmCost(r) != 2 {
			t.Errorf("%q costs %d", r, gsmCost(r))
		}
	}
	if n := len([]rune(gsmBasic)); n != 128 {
		t.Errorf("the basic set has %d characters, want 128", n)
	}
}

// TestCutSMS: a text that fits is left as it is; a longer one is cut to
// its longest beginning that fits with the ellipsis, in either encoding,
// never inside a surrogate pair.
func TestCutSMS(t *testing.T) {
	if s := CutSMS("short", 1); s != "short" {
		t.Fatalf("a short text changed: %q", s)
	}
	for _, tc := range []struct {
		text     string
		segments int
		ell      string
	}{
		{strings.Repeat("word ", 200), 3, "..."},
		{strings.Repeat("کلمه ", 200), 3, "…"},
		{strings.Repeat("ا😀", 100), 2, "…"},
		{strings.Repeat("a", 400), 1, "..."},
	} {
		s := CutSMS(tc.text, tc.segments)
		size := MeasureSMS(s)
		if size.Segments != tc.segments || !strings.HasSuffix(s, tc.ell) || !strings.HasPrefix(tc.text, strings.TrimSuffix(s, tc.ell)) {
			t.Fatalf("cut to %d segments: %q (%+v)", tc.segments, s, size)
		}
		// One character more would not fit.
		kept := []rune(strings.TrimSuffix(s, tc.ell))
		more := []rune(tc.text)[:len(kept)+1]
		if MeasureSMS(string(more)+tc.ell).Segments <= tc.segments && string(more[len(more)-1]) != " " {
			t.Fatalf("cut shorter than it had to be: %q", s)
		}
		if strings.ContainsRune(s, '\uFFFD') {
			t.Fatalf("a character was split: %q", s)
		}
	}
}

// measureSMSSlow is MeasureSMS as it was first written, rune by rune in
// three passes: the one-pass measure must agree with it.
func measureSMSSlow(text string) SMSSize {
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

// TestMeasureSMSAgrees: random texts of ASCII, GSM-7's letters and
// escapes, Arabic script, isolates, characters outside the BMP and
// invalid UTF-8, around the segments' edges, measure as the three-pass
// measure does.
func TestMeasureSMSAgrees(t *testing.T) {
	pieces := []string{"a", " ", "`", "@", "$", "_", "\n", "é", "Δ", "€", "{", "\\", "ا", "ۏ", "\u2068", "\u2069", "…", "😀", "\xff", "\xe2\x82"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		n := rng.IntN(340)
		asciiOnly := rng.IntN(3) == 0
		for range n {
			if asciiOnly || rng.IntN(4) > 0 {
				b.WriteByte(byte(' ' + rng.IntN(95)))
			} else {
				b.WriteString(pieces[rng.IntN(len(pieces))])
			}
		}
		s := b.String()
		if got, want := MeasureSMS(s), measureSMSSlow(s); got != want {
			t.Fatalf("%q: %+v, want %+v", s, got, want)
		}
	}
}

func FuzzMeasureSMS(f *testing.F) {
	f.Add("Be at Q by 10:00 €")
	f.Add(strings.Repeat("ا", 66) + "😀" + strings.Repeat("ا", 66))
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := MeasureSMS(s), measureSMSSlow(s); got != want {
			t.Fatalf("%q: %+v, want %+v", s, got, want)
		}
	})
}
