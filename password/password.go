// Package password says whether a password is good enough for an operator
// account, and if not, why, in words an operator can act on.
//
// Operators' accounts reach the names and whereabouts of people at risk,
// so a password must be long (MinLength), must not be on the list of
// common passwords shipped in this package (common.txt, made by gen.go
// from roots.txt: what people type and how they stretch it to a required
// length), and must be hard to guess by an estimate of the guesses an
// attacker who knows those habits needs (Estimate): a password is cut
// into the patterns it is made of (dictionary words, with capitals and
// digit-for-letter swaps; one character repeated; a block repeated;
// sequences such as "abcd" or "9876"; keyboard walks such as "qwerty" or
// "1qaz"; years and dates; the account's own name) and the rest counted
// as random characters; the cheapest cut is the estimate, in bits.
//
// Check is what `muster user add`, `muster user passwd` and the API's
// password change call.
package password

import (
	_ "embed"
	"fmt"
	"math"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/muster-evac/muster"
)

const (
	// MinLength is the fewest characters a password may have.
	MinLength = 12
	// MaxBytes bounds a password: argon2 hashes it whole, and the
	// estimate reads it whole.
	MaxBytes = 1024
	// MinBits is the least estimated strength accepted: about 10^12
	// guesses, years of an attacker's time at the speed argon2id allows
	// for a stolen hash, and out of reach online behind the login
	// throttle. Four words picked at random from a list of a few thousand
	// pass; a word with digits and a symbol added does not.
	MinBits = 40
)

//go:generate go run gen.go

var (
	//go:embed common.txt
	commonTxt string
	//go:embed roots.txt
	rootsTxt string
	//go:embed words.txt
	wordsTxt string
)

type tables struct {
	common map[string]struct{}
	rank   map[string]int // dictionary word -> rank, 1 the most common
	roots  int            // ranks up to this are roots of common passwords, the rest words
	maxLen int            // the longest dictionary word, in runes
}

var loadTables = sync.OnceValue(func() *tables {
	t := &tables{common: map[string]struct{}{}, rank: map[string]int{}}
	for _, l := range strings.Split(commonTxt, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			t.common[l] = struct{}{}
		}
	}
	n := 0
	for k, src := range []string{rootsTxt, wordsTxt} {
		if k == 1 {
			t.roots = n
		}
		for _, l := range strings.Split(src, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "#") {
				continue
			}
			for _, w := range strings.Fields(l) {
				if utf8.RuneCountInString(w) < 3 {
					continue
				}
				if _, ok := t.rank[w]; !ok {
					n++
					t.rank[w] = n
					t.maxLen = max(t.maxLen, utf8.RuneCountInString(w))
				}
			}
		}
	}
	return t
})

// Check returns nil if pw may be an operator's password, else an EINVALID
// error that says why. userInputs are words an attacker would try first
// for this account: its name, the deployment's name.
func Check(pw string, userInputs ...string) error {
	if reason := Reason(pw, userInputs...); reason != "" {
		return muster.Errorf(muster.EINVALID, "password: %s", reason)
	}
	return nil
}

// Reason says why pw may not be an operator's password, "" if it may.
func Reason(pw string, userInputs ...string) string {
	switch {
	case len(pw) > MaxBytes:
		return fmt.Sprintf("it is longer than %d bytes", MaxBytes)
	case !utf8.ValidString(pw):
		return "it is not valid UTF-8 text"
	case strings.ContainsFunc(pw, unicode.IsControl):
		return "it holds a control character"
	case utf8.RuneCountInString(pw) < MinLength:
		return fmt.Sprintf("it is shorter than %d characters (a passphrase of a few words is good)", MinLength)
	case isCommon(pw):
		return "it is on the list of common passwords"
	}
	s := Estimate(pw, userInputs...)
	if s.Bits >= MinBits {
		return ""
	}
	return s.reason()
}

// separators are what people put between the words of a passphrase: the
// list is compared without them.
func stripSeparators(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '_' || r == '.' {
			return -1
		}
		return r
	}, s)
}

// isCommon reports pw on the list, whatever its case, separators and
// digits or symbols in place of letters ("P@ssw0rd-1234").
func isCommon(pw string) bool {
	t := loadTables()
	lower := strings.ToLower(pw)
	for _, c := range []string{lower, stripSeparators(lower)} {
		for _, v := range unleetVariants(c) {
			if _, ok := t.common[v]; ok {
				return true
			}
		}
	}
	return false
}

// leet maps the characters people put for letters; '1' may stand for i or l.
var leet = map[rune][]rune{'0': {'o'}, '1': {'i', 'l'}, '3': {'e'}, '4': {'a'}, '5': {'s'}, '7': {'t'}, '8': {'b'}, '9': {'g'},
	'@': {'a'}, '$': {'s'}, '!': {'i'}, '+': {'t'}, '|': {'l'}}

// unleetVariants returns s itself, then s with every substitute read as
// its letter (both readings of '1').
func unleetVariants(s string) []string {
	if !strings.ContainsFunc(s, func(r rune) bool { _, ok := leet[r]; return ok }) {
		return []string{s}
	}
	out := []string{s}
	for pick := range 2 {
		v := strings.Map(func(r rune) rune {
			if ls, ok := leet[r]; ok {
				return ls[min(pick, len(ls)-1)]
			}
			return r
		}, s)
		if v != out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}

// Strength is an estimate of how hard a password is to guess.
type Strength struct {
	Bits  float64 // log2 of the guesses needed
	Parts []Part  // the cheapest cut of the password into patterns
}

// Part is one piece of a password and what it costs an attacker.
type Part struct {
	Kind string // "common" (password), "word", "user", "repeat", "block", "sequence", "keyboard", "year", "date", "separator", "random"
	Text string
	Bits float64
}

// Estimate cuts pw into the patterns it is made of, at least cost.
func Estimate(pw string, userInputs ...string) Strength {
	return estimate([]rune(pw), userInputs, true)
}

func estimate(rs []rune, userInputs []string, blocks bool) Strength {
	n := len(rs)
	if n == 0 {
		return Strength{}
	}
	lower := make([]rune, n)
	for i, r := range rs {
		lower[i] = unicode.ToLower(r)
	}
	brute := math.Log2(float64(cardinality(rs)))
	ms := findMatches(rs, lower, userInputs, blocks)
	byEnd := make([][]Part, n+1)
	starts := make([][]int, n+1)
	for _, m := range ms {
		byEnd[m.j] = append(byEnd[m.j], m.Part)
		starts[m.j] = append(starts[m.j], m.i)
	}
	best := make([]float64, n+1)
	from := make([]int, n+1)
	part := make([]Part, n+1)
	for j := 1; j <= n; j++ {
		best[j], from[j], part[j] = best[j-1]+brute, j-1, Part{Kind: "random", Text: string(rs[j-1]), Bits: brute}
		for k, p := range byEnd[j] {
			i := starts[j][k]
			if c := best[i] + p.Bits; c < best[j] {
				best[j], from[j], part[j] = c, i, p
			}
		}
	}
	var parts []Part
	for j := n; j > 0; j = from[j] {
		p := part[j]
		if p.Kind == "random" && len(parts) > 0 && parts[len(parts)-1].Kind == "random" {
			last := &parts[len(parts)-1]
			last.Text, last.Bits = p.Text+last.Text, last.Bits+p.Bits
			continue
		}
		parts = append(parts, p)
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return Strength{Bits: best[n], Parts: parts}
}

// cardinality is the size of the alphabet the password's characters are
// drawn from, by the classes it uses.
func cardinality(rs []rune) int {
	var lower, upper, digit, symbol, other bool
	for _, r := range rs {
		switch {
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= '0' && r <= '9':
			digit = true
		case r < 0x80:
			symbol = true
		default:
			other = true
		}
	}
	c := 0
	for _, x := range []struct {
		on bool
		n  int
	}{{lower, 26}, {upper, 26}, {digit, 10}, {symbol, 33}, {other, 100}} {
		if x.on {
			c += x.n
		}
	}
	return max(c, 10)
}

// classSize is the alphabet of one character's class.
func classSize(r rune) int {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		return 26
	case r >= '0' && r <= '9':
		return 10
	case r < 0x80:
		return 33
	}
	return 100
}

// reason says what makes a weak password weak.
func (s Strength) reason() string {
	if len(s.Parts) == 1 {
		p := s.Parts[0]
		switch p.Kind {
		case "repeat":
			return "it repeats one character"
		case "block":
			return fmt.Sprintf("it repeats a short pattern (%s)", quote(p.Text))
		case "sequence":
			return fmt.Sprintf("it is a sequence (%s)", quote(p.Text))
		case "keyboard":
			return fmt.Sprintf("it is a walk along the keyboard (%s)", quote(p.Text))
		case "word", "common":
			return "it is " + p.describe()
		case "user":
			return "it is the user's own name"
		case "date", "year":
			return "it is a date"
		}
	}
	var what []string
	random := 0
	for _, p := range s.Parts {
		if p.Kind == "separator" {
			continue
		}
		if p.Kind == "random" {
			random += utf8.RuneCountInString(p.Text)
			continue
		}
		what = append(what, p.describe())
	}
	switch {
	case random == 1:
		what = append(what, "1 other character")
	case random > 1:
		what = append(what, fmt.Sprintf("%d other characters", random))
	}
	return fmt.Sprintf("it is too easy to guess (about %.0f bits, %d wanted): it is made of %s; add words of your own, or make it longer",
		math.Floor(s.Bits), MinBits, strings.Join(what, ", "))
}

func (p Part) describe() string {
	switch p.Kind {
	case "word":
		return "the common word " + quote(p.Text)
	case "common":
		return "the common password " + quote(p.Text)
	case "user":
		return "the user's name " + quote(p.Text)
	case "repeat":
		return quote(p.Text[:utf8.RuneLen([]rune(p.Text)[0])]) + " repeated"
	case "block":
		return "the repeated " + quote(p.Text)
	case "sequence":
		return "the sequence " + quote(p.Text)
	case "keyboard":
		return "the keyboard walk " + quote(p.Text)
	case "year":
		return "a year"
	case "date":
		return "a date"
	}
	return quote(p.Text)
}

// quote quotes a piece of a password for a message, shortened.
func quote(s string) string {
	if rs := []rune(s); len(rs) > 24 {
		s = string(rs[:24]) + "..."
	}
	return fmt.Sprintf("%q", s)
}
