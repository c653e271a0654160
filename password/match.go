package password

import (
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// match is a pattern found at runes [i, j) of the password.
type match struct {
	i, j int
	Part
}

// maxBlock bounds the length of a repeated block looked for.
const maxBlock = 32

func findMatches(rs, lower []rune, userInputs []string, blocks bool) []match {
	var ms []match
	ms = append(ms, dictionaryMatches(rs, lower, userInputs)...)
	ms = append(ms, repeatMatches(rs)...)
	if blocks {
		ms = append(ms, blockMatches(rs, userInputs)...)
	}
	ms = append(ms, sequenceMatches(rs, lower)...)
	ms = append(ms, keyboardMatches(rs)...)
	ms = append(ms, dateMatches(rs)...)
	ms = append(ms, separatorMatches(rs)...)
	return ms
}

// separatorMatches finds what people put between the words of a
// passphrase: one guess among a few, not a random character.
func separatorMatches(rs []rune) []match {
	var ms []match
	for i, r := range rs {
		if strings.ContainsRune(" -_.,+/", r) {
			ms = append(ms, match{i, i + 1, Part{Kind: "separator", Text: string(r), Bits: 1}})
		}
	}
	return ms
}

// dictionaryMatches finds the dictionary's words and the user's own
// inputs, in any case, with substitutes for letters, and reversed. A word
// costs log2 of its rank, plus a bit or more for capitals and
// substitutes.
func dictionaryMatches(rs, lower []rune, userInputs []string) []match {
	t := loadTables()
	user := map[string]bool{}
	maxLen := t.maxLen
	for _, u := range userInputs {
		for _, w := range strings.FieldsFunc(strings.ToLower(u), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if utf8.RuneCountInString(w) >= 3 {
				user[w] = true
				maxLen = max(maxLen, utf8.RuneCountInString(w))
			}
		}
	}
	var ms []match
	n := len(rs)
	for i := 0; i < n; i++ {
		for j := i + 3; j <= n && j-i <= maxLen; j++ {
			sub := string(lower[i:j])
			best := math.Inf(1)
			kind := "word"
			variants := unleetVariants(sub)
			for k, v := range variants {
				extra := 0.0
				if k > 0 {
					extra = float64(leetCount(sub))
				}
				for rev := range 2 {
					w := v
					if rev == 1 {
						w = reverse(v)
						extra++
					}
					if user[w] {
						if b := extra; b < best {
							best, kind = b, "user"
						}
					}
					if r, ok := t.rank[w]; ok {
						if b := math.Log2(float64(r)) + extra; b < best {
							best, kind = b, "word"
							if r <= t.roots {
								kind = "common"
							}
						}
					}
				}
			}
			if math.IsInf(best, 1) {
				continue
			}
			bits := max(best, 1) + caseBits(rs[i:j])
			ms = append(ms, match{i, j, Part{Kind: kind, Text: string(rs[i:j]), Bits: bits}})
		}
	}
	return ms
}

func leetCount(s string) int {
	n := 0
	for _, r := range s {
		if _, ok := leet[r]; ok {
			n++
		}
	}
	return n
}

func reverse(s string) string {
	rs := []rune(s)
	slices.Reverse(rs)
	return string(rs)
}

// caseBits is what the capitals of a word add: nothing in lower case, a
// bit for a capital first or last letter or all capitals, else the
// number of ways to place that many capitals.
func caseBits(rs []rune) float64 {
	upper, lower := 0, 0
	for _, r := range rs {
		switch {
		case unicode.IsUpper(r):
			upper++
		case unicode.IsLower(r):
			lower++
		}
	}
	switch {
	case upper == 0:
		return 0
	case lower == 0, upper == 1 && (unicode.IsUpper(rs[0]) || unicode.IsUpper(rs[len(rs)-1])):
		return 1
	}
	ways := 0.0
	for k := 1; k <= min(upper, lower); k++ {
		ways += binomial(upper+lower, k)
	}
	return math.Log2(ways)
}

func binomial(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

// repeatMatches finds runs of one character: the character, then how
// many times.
func repeatMatches(rs []rune) []match {
	var ms []match
	for i := 0; i < len(rs); {
		j := i + 1
		for j < len(rs) && rs[j] == rs[i] {
			j++
		}
		if j-i >= 2 {
			ms = append(ms, match{i, j, Part{Kind: "repeat", Text: string(rs[i:j]), Bits: math.Log2(float64(classSize(rs[i]))) + math.Log2(float64(j-i))}})
		}
		i = j
	}
	return ms
}

// blockMatches finds a block said again and again ("abcabcabc",
// "passwordpassword"): the block's own cost, then how many times.
func blockMatches(rs []rune, userInputs []string) []match {
	var ms []match
	n := len(rs)
	for i := 0; i < n; i++ {
		for k := 2; k <= maxBlock && i+2*k <= n; k++ {
			if i >= k && slices.Equal(rs[i-k:i], rs[i:i+k]) {
				continue // found from an earlier start
			}
			if !slices.ContainsFunc(rs[i+1:i+k], func(r rune) bool { return r != rs[i] }) {
				continue // one character: a repeat
			}
			m := 1
			for i+(m+1)*k <= n && slices.Equal(rs[i:i+k], rs[i+m*k:i+(m+1)*k]) {
				m++
			}
			if m < 2 {
				continue
			}
			inner := estimate(rs[i:i+k], userInputs, false)
			ms = append(ms, match{i, i + m*k, Part{Kind: "block", Text: string(rs[i : i+k]), Bits: inner.Bits + math.Log2(float64(m))}})
		}
	}
	return ms
}

// sequenceMatches finds runs of letters or digits counting up or down by
// one ("abcdef", "9876"): where it starts (nothing for an obvious start),
// how long, and which way.
func sequenceMatches(rs, lower []rune) []match {
	var ms []match
	n := len(rs)
	class := func(r rune) int {
		switch {
		case r >= '0' && r <= '9':
			return 1
		case r >= 'a' && r <= 'z':
			return 2
		}
		return 0
	}
	for i := 0; i+2 < n; {
		d := lower[i+1] - lower[i]
		c := class(lower[i])
		if c == 0 || (d != 1 && d != -1) || class(lower[i+1]) != c {
			i++
			continue
		}
		j := i + 2
		for j < n && class(lower[j]) == c && lower[j]-lower[j-1] == d {
			j++
		}
		if j-i >= 3 {
			start := 1.0
			if !strings.ContainsRune("az019", lower[i]) {
				start = math.Log2(map[int]float64{1: 10, 2: 26}[c])
			}
			bits := start + math.Log2(float64(j-i)) + caseBits(rs[i:j])
			if d < 0 {
				bits++
			}
			ms = append(ms, match{i, j, Part{Kind: "sequence", Text: string(rs[i:j]), Bits: bits}})
		}
		i = j - 1
	}
	return ms
}

// keyboardLayout places the characters of a US keyboard and a numeric keypad: a
// key's neighbours are those beside it, above and below.
type keyPos struct {
	layout, row, col int
	shifted          bool
}

var keyboard = keyboardLayout()

func keyboardLayout() map[rune][]keyPos {
	m := map[rune][]keyPos{}
	rows := [][2]string{
		{"1234567890-=", "!@#$%^&*()_+"},
		{"qwertyuiop[]\\", "QWERTYUIOP{}|"},
		{"asdfghjkl;'", "ASDFGHJKL:\""},
		{"zxcvbnm,./", "ZXCVBNM<>?"},
	}
	for r, row := range rows {
		plain, shifted := []rune(row[0]), []rune(row[1])
		for c := range plain {
			m[plain[c]] = append(m[plain[c]], keyPos{0, r, c, false})
			m[shifted[c]] = append(m[shifted[c]], keyPos{0, r, c, true})
		}
	}
	for r, row := range []string{"789", "456", "123", "0"} {
		for c, ch := range row {
			m[ch] = append(m[ch], keyPos{1, r, c, false})
		}
	}
	return m
}

// step returns the direction from a to b if they are neighbours on the
// same layout: the US keyboard's rows are staggered, so a key touches two
// keys above it (same column and the next) and two below (the previous
// column and the same); the keypad's keys touch all eight around them.
func step(a, b keyPos) (int, bool) {
	if a.layout != b.layout {
		return 0, false
	}
	dr, dc := b.row-a.row, b.col-a.col
	if a.layout == 1 {
		if (dr != 0 || dc != 0) && dr >= -1 && dr <= 1 && dc >= -1 && dc <= 1 {
			return (dr+1)*3 + (dc + 1), true
		}
		return 0, false
	}
	switch {
	case dr == 0 && (dc == 1 || dc == -1),
		dr == -1 && (dc == 0 || dc == 1),
		dr == 1 && (dc == 0 || dc == -1):
		return (dr+1)*3 + (dc + 1), true
	}
	return 0, false
}

// keyboardMatches finds walks along the keyboard of four keys or more
// ("qwerty", "1qaz", "zxcvbn", "7896"): a starting key, the length, and
// two bits for each turn.
func keyboardMatches(rs []rune) []match {
	var ms []match
	n := len(rs)
	for layout := range 2 {
		pos := func(r rune) (keyPos, bool) {
			for _, p := range keyboard[r] {
				if p.layout == layout {
					return p, true
				}
			}
			return keyPos{}, false
		}
		for i := 0; i < n-1; {
			j, turns, dir, shifted := i+1, 0, -1, 0
			if p, ok := pos(rs[i]); ok && p.shifted {
				shifted++
			}
			for j < n {
				a, ok1 := pos(rs[j-1])
				b, ok2 := pos(rs[j])
				if !ok1 || !ok2 {
					break
				}
				d, ok := step(a, b)
				if !ok {
					break
				}
				if dir >= 0 && d != dir {
					turns++
				}
				dir = d
				if b.shifted {
					shifted++
				}
				j++
			}
			if j-i >= 4 {
				bits := math.Log2(47) + math.Log2(float64(j-i)) + 2*float64(turns)
				if shifted > 0 && shifted < j-i {
					bits++
				}
				ms = append(ms, match{i, j, Part{Kind: "keyboard", Text: string(rs[i:j]), Bits: bits}})
			}
			if j > i+1 {
				i = j - 1
			} else {
				i++
			}
		}
	}
	return ms
}

// dateMatches finds years (1900-2039) and dates of six or eight digits
// (day, month and year in any usual order).
func dateMatches(rs []rune) []match {
	var ms []match
	n := len(rs)
	digits := func(i, j int) (int, bool) {
		v := 0
		for _, r := range rs[i:j] {
			if r < '0' || r > '9' {
				return 0, false
			}
			v = v*10 + int(r-'0')
		}
		return v, true
	}
	for i := 0; i+4 <= n; i++ {
		if y, ok := digits(i, i+4); ok && y >= 1900 && y <= 2039 {
			ms = append(ms, match{i, i + 4, Part{Kind: "year", Text: string(rs[i : i+4]), Bits: math.Log2(140)}})
		}
		for _, l := range []int{6, 8} {
			if i+l > n {
				continue
			}
			if _, ok := digits(i, i+l); ok && isDate(string(rs[i:i+l])) {
				ms = append(ms, match{i, i + l, Part{Kind: "date", Text: string(rs[i : i+l]), Bits: math.Log2(366 * 100)}})
			}
		}
	}
	return ms
}

// isDate reports digits that read as a day, a month and a year: ddmmyy,
// mmddyy, yymmdd, and with four-digit years ddmmyyyy, mmddyyyy, yyyymmdd.
func isDate(s string) bool {
	num := func(a string) int {
		v := 0
		for _, r := range a {
			v = v*10 + int(r-'0')
		}
		return v
	}
	ok := func(d, m int) bool { return d >= 1 && d <= 31 && m >= 1 && m <= 12 }
	year4 := func(y int) bool { return y >= 1900 && y <= 2039 }
	if len(s) == 6 {
		a, b, c := num(s[:2]), num(s[2:4]), num(s[4:])
		return ok(a, b) || ok(b, a) || ok(c, b)
	}
	a, b := num(s[:2]), num(s[2:4])
	if year4(num(s[4:])) && (ok(a, b) || ok(b, a)) {
		return true
	}
	return year4(num(s[:4])) && ok(num(s[6:]), num(s[4:6]))
}
