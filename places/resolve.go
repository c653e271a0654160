package places

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/muster-evac/muster"
)

// Index resolves the names reports use for places: a place's name, one of
// its aliases, or a group name (which stands for every place in the group),
// and the places' ids. Matching names ignores case, diacritics,
// punctuation and spacing, so "abbey gate", "Abbey-Gate" and "ABBEY GATE"
// are one name, as are "Praça XV" and "praca xv"; ids match exactly.
//
// Ids are unique; names and aliases need not be (a gazetteer may call a
// hundred junctions "unclassified junction"). A name that several places
// go by is ambiguous: Resolve refuses it with an *AmbiguousError listing
// them, and the report names the place by its id instead (ResolveID). A
// group name may be shared only by members of the group, and then stands
// for the whole group.
type Index struct {
	places *muster.Places
	byKey  map[string]*entry
	keys   []string // sorted, for deterministic suggestions
	byID   map[string]int
	ids    []string // sorted, for deterministic suggestions
	idKeys []string // ids[i] as Normalize folds it
}

type entry struct {
	display string // the name as the places file first spells it
	places  []int  // places with this name or alias, in file order, each once
	group   []int  // members of the group with this name, in file order, each once
}

// MaxCandidatesShown is how many of the places sharing an ambiguous name
// the error lists; it says how many more there are.
const MaxCandidatesShown = 5

// NewIndex indexes p's names and ids. It fails on a place without an id,
// on an id two places share, on a name or alias with no letter or digit,
// and on a group name that is also the name or alias of a place outside the
// group (a group can be named only by its name, so that name must not mean
// anything else).
func NewIndex(p *muster.Places) (*Index, error) {
	ix := &Index{places: p, byKey: map[string]*entry{}, byID: make(map[string]int, len(p.Places))}
	get := func(name, display string) *entry {
		e, ok := ix.byKey[name]
		if !ok {
			e = &entry{display: display}
			ix.byKey[name] = e
			ix.keys = append(ix.keys, name)
		}
		return e
	}
	for i, pl := range p.Places {
		if pl.ID == "" {
			return nil, muster.Errorf(muster.EINVALID, "place %d (%q): no id", i, pl.Name)
		}
		if j, dup := ix.byID[pl.ID]; dup {
			return nil, muster.Errorf(muster.EINVALID, "place %d (%q) and place %d (%q) both have the id %q: ids must be unique",
				j, p.Places[j].Name, i, pl.Name, pl.ID)
		}
		ix.byID[pl.ID] = i
		ix.ids = append(ix.ids, pl.ID)
		names := append([]string{pl.Name}, pl.Aliases...)
		for n, name := range names {
			what := "name"
			if n > 0 {
				what = "alias"
			}
			k := Normalize(name)
			if k == "" {
				return nil, muster.Errorf(muster.EINVALID, "place %q: %s %q has no letters or digits", pl.ID, what, name)
			}
			e := get(k, name)
			if len(e.places) == 0 || e.places[len(e.places)-1] != i { // an alias equal to its own name counts once
				e.places = append(e.places, i)
			}
		}
	}
	for i, pl := range p.Places {
		for _, g := range pl.Groups {
			k := Normalize(g)
			if k == "" {
				return nil, muster.Errorf(muster.EINVALID, "place %q: group %q has no letters or digits", pl.ID, g)
			}
			e := get(k, g)
			if len(e.group) == 0 || e.group[len(e.group)-1] != i {
				e.group = append(e.group, i)
			}
		}
	}
	sort.Strings(ix.keys)
	sort.Strings(ix.ids)
	ix.idKeys = make([]string, len(ix.ids))
	for i, id := range ix.ids {
		ix.idKeys[i] = Normalize(id)
	}
	for _, k := range ix.keys {
		e := ix.byKey[k]
		if len(e.group) == 0 {
			continue
		}
		for _, i := range e.places {
			if !containsInt(e.group, i) {
				pl := &p.Places[i]
				return nil, muster.Errorf(muster.EINVALID,
					"place %q: its name or alias %q is also the name of a group it is not in (the group of %q): a group may share its name only with its own members; rename the group or add %q to it",
					pl.ID, ix.spelling(pl, k), p.Places[e.group[0]].ID, pl.ID)
			}
		}
	}
	return ix, nil
}

// spelling returns the name or alias of pl whose normalized form is k.
func (ix *Index) spelling(pl *muster.Place, k string) string {
	for _, a := range append([]string{pl.Name}, pl.Aliases...) {
		if Normalize(a) == k {
			return a
		}
	}
	return pl.Name
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
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

// lookup finds a name's entry, trying it without a leading "the" too.
func (ix *Index) lookup(name string) (*entry, string, bool) {
	k := Normalize(name)
	e, ok := ix.byKey[k]
	if !ok && strings.HasPrefix(k, "the ") {
		e, ok = ix.byKey[strings.TrimPrefix(k, "the ")]
	}
	return e, k, ok
}

// Resolve returns the places a name stands for: one place for a name or
// alias only it goes by, every member for a group. A name several places
// go by is an *AmbiguousError; an unknown name is an error that suggests
// the closest known names. Both are of code EINVALID.
func (ix *Index) Resolve(name string) ([]*muster.Place, error) {
	e, k, ok := ix.lookup(name)
	if !ok {
		return nil, ix.unknown(name, k)
	}
	idx := e.group
	if len(idx) == 0 {
		idx = e.places
		if len(idx) > 1 {
			return nil, ix.ambiguous(name, idx)
		}
	}
	out := make([]*muster.Place, len(idx))
	for j, i := range idx {
		out[j] = &ix.places.Places[i]
	}
	return out, nil
}

// ResolveID returns the place with the given id (matched exactly). An
// unknown id is an error of code EINVALID that suggests the closest ids.
func (ix *Index) ResolveID(id string) (*muster.Place, error) {
	if i, ok := ix.byID[id]; ok {
		return &ix.places.Places[i], nil
	}
	if s := ix.SuggestIDs(id, 3); len(s) > 0 {
		return nil, muster.Errorf(muster.EINVALID, "unknown place id %q: did you mean %s?", id, quoteJoin(s, " or "))
	}
	if e, _, ok := ix.lookup(id); ok && len(e.group) == 0 && len(e.places) == 1 {
		return nil, muster.Errorf(muster.EINVALID, "unknown place id %q: no place has this id, but it is the name of the place with id %q",
			id, ix.places.Places[e.places[0]].ID)
	}
	return nil, muster.Errorf(muster.EINVALID, "unknown place id %q: no place has an id like it", id)
}

// AmbiguousError is Resolve's error for a name that several places go by.
// Its code is EINVALID.
type AmbiguousError struct {
	Name   string          // the name as given
	Places []*muster.Place // every place that goes by it, in places-file order
}

func (e *AmbiguousError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "place %q is ambiguous: %d places go by this name: ", e.Name, len(e.Places))
	for i, p := range e.Places {
		if i == MaxCandidatesShown {
			fmt.Fprintf(&b, " and %d more", len(e.Places)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q (%s", p.ID, p.Kind)
		if pt, ok := p.Point(); ok {
			fmt.Fprintf(&b, " at [%.5f, %.5f]", pt[0], pt[1])
		}
		b.WriteString(")")
	}
	if len(e.Places) > 0 {
		fmt.Fprintf(&b, `; name the place meant by its id, as {"place_id": %q}`, e.Places[0].ID)
	}
	return b.String()
}

// Unwrap gives the error its code, EINVALID, for muster.ErrorCode.
func (e *AmbiguousError) Unwrap() error {
	return &muster.Error{Code: muster.EINVALID, Message: e.Error()}
}

func (ix *Index) ambiguous(name string, idx []int) error {
	e := &AmbiguousError{Name: name, Places: make([]*muster.Place, len(idx))}
	for j, i := range idx {
		e.Places[j] = &ix.places.Places[i]
	}
	return e
}

func (ix *Index) unknown(name, k string) error {
	s := ix.Suggest(k, 3)
	hint := ""
	if _, isID := ix.byID[name]; isID {
		hint = fmt.Sprintf(`; %q is a place's id: name it as {"place_id": %q}`, name, name)
	}
	if len(s) == 0 {
		return muster.Errorf(muster.EINVALID, "unknown place %q: no place, alias or group has a name like it%s", name, hint)
	}
	return muster.Errorf(muster.EINVALID, "unknown place %q: did you mean %s?%s", name, quoteJoin(s, " or "), hint)
}

func quoteJoin(s []string, sep string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, sep)
}

// Suggest returns up to n known names closest to name by edit distance
// (on the normalized forms), closest first; only names within a third of
// the longer name's length (at least 2 edits) are suggested.
func (ix *Index) Suggest(name string, n int) []string {
	var out []string
	for _, i := range closest(Normalize(name), ix.keys, n) {
		out = append(out, ix.byKey[ix.keys[i]].display)
	}
	return out
}

// SuggestIDs returns up to n ids closest to id by edit distance, closest
// first, with the same bounds as Suggest; ids are compared as Normalize
// folds them, so "Gate 2" suggests "gate-2".
func (ix *Index) SuggestIDs(id string, n int) []string {
	var out []string
	for _, i := range closest(Normalize(id), ix.idKeys, n) {
		out = append(out, ix.ids[i])
	}
	return out
}

// closest returns the indexes of up to n keys within the edit distance
// bound of k, closest first, ties in keys' order.
func closest(k string, keys []string, n int) []int {
	if n <= 0 {
		return nil
	}
	type cand struct{ d, i int }
	var cs []cand
	for i, key := range keys {
		limit := max(len([]rune(key)), len([]rune(k))) / 3
		limit = max(limit, 2)
		if d := Levenshtein(k, key, limit+1); d <= limit {
			cs = append(cs, cand{d, i})
		}
	}
	sort.SliceStable(cs, func(a, b int) bool { return cs[a].d < cs[b].d })
	out := make([]int, 0, n)
	for _, c := range cs {
		if len(out) == n {
			break
		}
		out = append(out, c.i)
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
