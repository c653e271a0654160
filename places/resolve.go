package places

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/muster-evac/muster"
)

// Index resolves the names reports use for places: a place's name, one of
// its aliases, or a group name (which stands for every place in the group).
// Matching ignores case, diacritics, punctuation and spacing, so "abbey
// gate", "Abbey-Gate" and "ABBEY GATE" are one name, as are "Praça XV" and
// "praca xv".
type Index struct {
	places *muster.Places
	byKey  map[string]*entry
	keys   []string // sorted, for deterministic suggestions
	byID   map[string]int
}

type entry struct {
	display string // the name as the places file spells it
	what    string // "name", "alias" or "group"
	idx     []int  // indexes into places.Places
}

// NewIndex indexes p's names. It fails if one name would stand for two
// different things (two places, or a place and a group it is not in).
func NewIndex(p *muster.Places) (*Index, error) {
	ix := &Index{places: p, byKey: map[string]*entry{}, byID: map[string]int{}}
	add := func(name, what string, i int) error {
		k := Normalize(name)
		if k == "" {
			return muster.Errorf(muster.EINVALID, "place %q: %s %q has no letters or digits", p.Places[i].ID, what, name)
		}
		e, ok := ix.byKey[k]
		if !ok {
			e = &entry{display: name, what: what}
			ix.byKey[k] = e
			ix.keys = append(ix.keys, k)
		}
		switch {
		case what == "group" && e.what == "group":
			for _, j := range e.idx {
				if j == i {
					return nil
				}
			}
			e.idx = append(e.idx, i)
		case len(e.idx) == 0:
			e.idx = []int{i}
		case e.idx[0] == i && len(e.idx) == 1 && what != "group" && e.what != "group":
			// a place's alias equal to its own name: harmless
		default:
			return muster.Errorf(muster.EINVALID, "place %q: %s %q is already the %s of %q",
				p.Places[i].ID, what, name, e.what, p.Places[e.idx[0]].ID)
		}
		return nil
	}
	for i, pl := range p.Places {
		ix.byID[pl.ID] = i
		if err := add(pl.Name, "name", i); err != nil {
			return nil, err
		}
		for _, a := range pl.Aliases {
			if err := add(a, "alias", i); err != nil {
				return nil, err
			}
		}
	}
	for i, pl := range p.Places {
		for _, g := range pl.Groups {
			if err := add(g, "group", i); err != nil {
				return nil, err
			}
		}
	}
	sort.Strings(ix.keys)
	return ix, nil
}

// Places returns the indexed places file.
func (ix *Index) Places() *muster.Places { return ix.places }

// ByID returns the place with the given id.
func (ix *Index) ByID(id string) (*muster.Place, bool) {
	i, ok := ix.byID[id]
	if !ok {
		return nil, false
	}
	return &ix.places.Places[i], true
}

// Resolve returns the places a name stands for: one place for a name or
// alias, every member for a group. An unknown name is an error of code
// EINVALID that suggests the closest known names.
func (ix *Index) Resolve(name string) ([]*muster.Place, error) {
	k := Normalize(name)
	e, ok := ix.byKey[k]
	if !ok && strings.HasPrefix(k, "the ") {
		e, ok = ix.byKey[strings.TrimPrefix(k, "the ")]
	}
	if !ok {
		return nil, ix.unknown(name, k)
	}
	out := make([]*muster.Place, len(e.idx))
	for j, i := range e.idx {
		out[j] = &ix.places.Places[i]
	}
	return out, nil
}

func (ix *Index) unknown(name, k string) error {
	s := ix.Suggest(k, 3)
	if len(s) == 0 {
		return muster.Errorf(muster.EINVALID, "unknown place %q: no place, alias or group has a name like it", name)
	}
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = fmt.Sprintf("%q", x)
	}
	return muster.Errorf(muster.EINVALID, "unknown place %q: did you mean %s?", name, strings.Join(q, " or "))
}

// Suggest returns up to n known names closest to name by edit distance
// (on the normalized forms), closest first; only names within a third of
// the longer name's length (at least 2 edits) are suggested.
func (ix *Index) Suggest(name string, n int) []string {
	k := Normalize(name)
	type cand struct {
		d   int
		key string
	}
	var cs []cand
	for _, key := range ix.keys {
		limit := max(len([]rune(key)), len([]rune(k))) / 3
		limit = max(limit, 2)
		d := Levenshtein(k, key, limit+1)
		if d <= limit {
			cs = append(cs, cand{d, key})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	var out []string
	for _, c := range cs {
		if len(out) == n {
			break
		}
		out = append(out, ix.byKey[c.key].display)
	}
	return out
}

// Levenshtein returns the edit distance between a and b in runes, or any
// value >= limit once it is known to be at least limit (limit <= 0: no
// limit). The bound keeps suggestions cheap over long names.
func Levenshtein(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if limit > 0 && abs(len(ra)-len(rb)) >= limit {
		return limit
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if limit > 0 && rowMin >= limit {
			return limit
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Normalize folds a name for matching: lower case, Latin diacritics
// removed, every run of non-letters and non-digits turned into one space.
func Normalize(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if f, ok := fold[r]; ok {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteString(f)
			continue
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		if unicode.Is(unicode.Mn, r) {
			continue // a combining accent: dropped with its letter kept
		}
		space = true
	}
	return b.String()
}

// fold maps the precomposed Latin letters with diacritics (Latin-1 and
// Latin Extended-A, which cover the languages of the places files muster
// meets) to their plain lower-case letters.
var fold = func() map[rune]string {
	m := map[rune]string{}
	pairs := []struct{ from, to string }{
		{"ÀÁÂÃÄÅàáâãäåĀāĂăĄą", "a"}, {"ÇçĆćĈĉĊċČč", "c"}, {"ĎďĐđ", "d"},
		{"ÈÉÊËèéêëĒēĔĕĖėĘęĚě", "e"}, {"ĜĝĞğĠġĢģ", "g"}, {"ĤĥĦħ", "h"},
		{"ÌÍÎÏìíîïĨĩĪīĬĭĮįİı", "i"}, {"Ĵĵ", "j"}, {"Ķķ", "k"}, {"ĹĺĻļĽľĿŀŁł", "l"},
		{"ÑñŃńŅņŇň", "n"}, {"ÒÓÔÕÖØòóôõöøŌōŎŏŐő", "o"}, {"ŔŕŖŗŘř", "r"},
		{"ŚśŜŝŞşŠš", "s"}, {"ŢţŤťŦŧ", "t"}, {"ÙÚÛÜùúûüŨũŪūŬŭŮůŰűŲų", "u"},
		{"Ŵŵ", "w"}, {"ÝýÿŶŷŸ", "y"}, {"ŹźŻżŽž", "z"},
	}
	for _, p := range pairs {
		for _, r := range p.from {
			m[r] = p.to
		}
	}
	m['ß'] = "ss"
	m['Æ'], m['æ'] = "ae", "ae"
	m['Œ'], m['œ'] = "oe", "oe"
	return m
}()
