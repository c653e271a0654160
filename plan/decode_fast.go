package plan

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/muster-evac/muster"
)

// An approval decodes its plan (some 24 MB for 76,000 households) with
// encoding/json: it checks the whole document once, then walks it again
// byte by byte through its scanner and reflection, and the split
// (decode_split.go) scans households[] twice more; 0.6 to 0.7 CPU-s of
// the approval's budget. Nearly all of it is routes[], groups[] and
// households[] as muster writes them (encode.go): the same few keys in
// every element, strings, numbers.
//
// So the plan is first read by unmarshalFast, a strict reader of that
// form alone, and it says false at the first thing it does not read
// exactly as encoding/json would: a key that is not one of its fields
// spelt as written (encoding/json matches keys whatever their case, and
// ignores unknown ones), a key twice (the last would win), null (which
// leaves a field as it was; but for the two nulls muster writes: a time
// of none, stamp's, and a group of no households, nil), a number that is
// not the field's (a fraction for an int), a type that is not the
// field's, a document that is not JSON. Then the plan is decoded the one
// way (or in parts, decode_split.go), and whatever the plan holds, the
// result and the error are encoding/json's. What it reads it reads as
// encoding/json does: strings with their escapes (\uXXXX and surrogate
// pairs too) and invalid UTF-8 made U+FFFD, numbers by strconv. The
// other top-level fields (gates, rally points, zones, reach...: small)
// are handed to encoding/json as they are.

// fastDecode says whether Plan.UnmarshalJSON reads the plan by
// unmarshalFast first. A variable for the tests and the benchmark.
var fastDecode = true

// The arrays unmarshalFast reads itself.
const (
	fastRoutes = iota
	fastGroups
	fastHouseholds
	fastArrays
)

var fastNames = [fastArrays]string{"routes", "groups", "households"}

// fastTop is plan.json cut at its top level: the arrays read by
// unmarshalFast, and the other fields as a JSON object of their own, for
// encoding/json.
type fastTop struct {
	arrays [fastArrays]fastArray
	rest   []byte
}

// fastArray is one of the arrays unmarshalFast reads: its bytes from '['
// to ']' (nil when absent), the commas between its elements (outside
// them), and some of those commas, where it may be cut into parts.
type fastArray struct {
	b      []byte
	commas int
	cuts   []fastCut
}

// fastCut is a comma between elements of an array, where it may be cut:
// its offset in the array, and the commas before it.
type fastCut struct{ at, before int }

// elements is how many elements the array has: one more than its commas,
// unless it is empty. (Counted by skipValue, that reads brackets and
// strings only: the parts' readers check it.)
func (a *fastArray) elements() int {
	if skipSpace(a.b, 1) == len(a.b)-1 {
		return 0
	}
	return a.commas + 1
}

// plausible says whether the array is long enough for its elements, each
// an object ("{}" at least) and a comma: the slices are made at their
// length before the elements are read, and a plan of commas alone must
// not make them forty times its size (encoding/json refuses it first).
func (a *fastArray) plausible() bool {
	return a.b == nil || 3*a.elements()+2 <= len(a.b)+1
}

// unmarshalFast decodes plan.json b as json.Unmarshal into a planJSON
// does; false when b holds anything it does not read the same way (and
// then nothing it read is kept).
func unmarshalFast(b []byte) (*planJSON, bool) {
	top, ok := scanTop(b)
	if !ok {
		return nil, false
	}
	// Each array is read into its slice, made once at its length (an
	// array present is a slice even when empty, as encoding/json makes
	// it; one absent stays nil), in parts on every core: parts of about
	// equal size, two a core, so that no core waits long for another.
	for _, a := range top.arrays {
		if !a.plausible() {
			return nil, false
		}
	}
	doc := &planJSON{}
	if a := &top.arrays[fastRoutes]; a.b != nil {
		doc.Routes = make([]routeJSON, a.elements())
	}
	if a := &top.arrays[fastGroups]; a.b != nil {
		doc.Groups = make([]groupJSON, a.elements())
	}
	if a := &top.arrays[fastHouseholds]; a.b != nil {
		doc.Households = make([]householdJSON, a.elements())
	}
	procs := runtime.GOMAXPROCS(0)
	total := 0
	for _, a := range top.arrays {
		total += len(a.b)
	}
	target := max(1, total/(2*procs))
	var parts []*fastPart
	for k := range top.arrays {
		a := &top.arrays[k]
		if a.b == nil {
			continue
		}
		n := 1
		if procs > 1 && len(a.b) >= splitMinBytes {
			n = min((len(a.b)+target-1)/target, 4*procs)
		}
		parts = append(parts, a.cut(k, n, doc)...)
	}
	var failed atomic.Bool
	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Go(func() {
			if !p.decode(&failed) {
				failed.Store(true)
			}
		})
	}
	if err := json.Unmarshal(top.rest, &doc.planAlias); err != nil {
		failed.Store(true)
	}
	wg.Wait()
	if failed.Load() {
		return nil, false
	}
	return doc, true
}

// scanTop cuts plan.json b at its top level (fastTop). It checks the top
// level's syntax itself, and leaves the values' to their readers: its own
// for the arrays, encoding/json for the rest (the values are copied as
// they are, so a value that is not JSON is not JSON there either).
func scanTop(b []byte) (fastTop, bool) {
	var top fastTop
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return top, false
	}
	i = skipSpace(b, i+1)
	rest := []byte{'{'}
	stride := max(1, min(1<<15, splitMinBytes/8))
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			// A key: plain ASCII, so that which field it names is plain
			// too (encoding/json folds the case of keys, and some
			// non-ASCII letters onto ASCII ones: K, ſ).
			k0 := i
			if i >= len(b) || b[i] != '"' {
				return top, false
			}
			i++
			for i < len(b) && b[i] >= 0x20 && b[i] < 0x7f && b[i] != '"' && b[i] != '\\' {
				i++
			}
			if i >= len(b) || b[i] != '"' {
				return top, false
			}
			key := b[k0+1 : i]
			k1 := i + 1
			i = skipSpace(b, k1)
			if i >= len(b) || b[i] != ':' {
				return top, false
			}
			i = skipSpace(b, i+1)
			v0 := i
			var arr *fastArray
			for k, name := range fastNames {
				if string(key) == name {
					arr = &top.arrays[k]
				} else if strings.EqualFold(string(key), name) {
					return top, false // encoding/json's field too, by another spelling
				}
			}
			if arr != nil && (arr.b != nil || i >= len(b) || b[i] != '[') {
				return top, false // twice, or null, or not an array
			}
			end, ok := skipValue(b, v0, arr, stride)
			if !ok {
				return top, false
			}
			if arr != nil {
				if b[end-1] != ']' {
					return top, false // [ closed by } (its readers read the elements only)
				}
				arr.b = b[v0:end]
			} else {
				rest = append(append(append(append(rest, b[k0:k1]...), ':'), b[v0:end]...), ',')
			}
			i = skipSpace(b, end)
			if i >= len(b) {
				return top, false
			}
			if b[i] == '}' {
				i++
				break
			}
			if b[i] != ',' {
				return top, false
			}
			i = skipSpace(b, i+1)
		}
	}
	if skipSpace(b, i) != len(b) {
		return top, false
	}
	if rest[len(rest)-1] == ',' {
		rest[len(rest)-1] = '}'
	} else {
		rest = append(rest, '}')
	}
	top.rest = rest
	return top, true
}

// skipSpace is the index of the first byte from i on that is not JSON's
// white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipValue is the end of the value that starts at b[i], found by its
// brackets and strings alone (whoever reads it checks it). When arr is
// not nil, the value is an array, whose commas between elements it
// counts into arr, and one each stride bytes or so it keeps: where the
// array may be cut into parts.
func skipValue(b []byte, i int, arr *fastArray, stride int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\r' && b[j] != '\t' {
			j++
		}
		return j, j > i
	}
	depth, next, commas := 0, i+stride, 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			end, ok := skipString(b, j)
			if !ok {
				return 0, false
			}
			j = end - 1
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				if arr != nil {
					arr.commas = commas
				}
				return j + 1, true
			}
		case ',':
			if depth == 1 && arr != nil {
				if j >= next {
					arr.cuts = append(arr.cuts, fastCut{at: j - i, before: commas})
					next = j + stride
				}
				commas++
			}
		}
	}
	return 0, false
}

// skipString is the end of the string that starts at b[i]: after the
// first quote not escaped (an odd run of backslashes before it).
func skipString(b []byte, i int) (int, bool) {
	j := i + 1
	for {
		q := bytes.IndexByte(b[j:], '"')
		if q < 0 {
			return 0, false
		}
		q += j
		k := q
		for b[k-1] == '\\' { // b[i] is a quote: k stops there at the latest
			k--
		}
		if (q-k)%2 == 0 {
			return q + 1, true
		}
		j = q + 1
	}
}

// fastPart is a run of whole elements of one of the arrays (and the
// commas between them, without the brackets), read into their places in
// the document: one of routes, groups, households, as long as the
// elements the run should have.
type fastPart struct {
	kind       int
	b          []byte
	routes     []routeJSON
	groups     []groupJSON
	households []householdJSON
}

// cut cuts the array into n parts of about equal length at its cuts, each
// with its elements' places in doc.
func (a *fastArray) cut(kind, n int, doc *planJSON) []*fastPart {
	var parts []*fastPart
	part := func(from, to, lo, hi int) {
		p := &fastPart{kind: kind, b: a.b[from:to]}
		switch kind {
		case fastRoutes:
			p.routes = doc.Routes[lo:hi]
		case fastGroups:
			p.groups = doc.Groups[lo:hi]
		case fastHouseholds:
			p.households = doc.Households[lo:hi]
		}
		parts = append(parts, p)
	}
	from, lo, c := 1, 0, 0
	for k := 1; k < n; k++ {
		at := len(a.b) * k / n
		for c < len(a.cuts) && a.cuts[c].at < at {
			c++
		}
		if c == len(a.cuts) {
			break
		}
		// The elements before this comma: one more than the commas.
		hi := a.cuts[c].before + 1
		part(from, a.cuts[c].at, lo, hi)
		from, lo = a.cuts[c].at+1, hi
		c++
	}
	part(from, len(a.b)-1, lo, a.elements())
	return parts
}

// decode reads the part's elements into their places: false at the first
// thing it does not read, when it has not as many elements as places, or
// when another part failed.
func (p *fastPart) decode(failed *atomic.Bool) bool {
	n := len(p.routes) + len(p.groups) + len(p.households)
	d := &fastDecoder{b: p.b}
	// What the part's strings may take, about (a fifth of a group is
	// its ids, a tenth of a household; grown when more): the plan keeps
	// its ids, and drops its polylines and times once read (plan()), so
	// these are two buffers, the second one not kept.
	switch p.kind {
	case fastRoutes:
		d.drop.Grow(len(p.b))
		d.polys = make([]string, 0, n)
	case fastGroups:
		d.keep.Grow(len(p.b) / 4)
		d.drop.Grow(len(p.b) / 4)
		d.strs = make([]string, 0, len(p.b)/32)
	case fastHouseholds:
		d.keep.Grow(len(p.b) / 8)
		d.drop.Grow(len(p.b))
		d.walks = make([]routeJSON, 0, n)
		d.polys = make([]string, 0, n)
	}
	d.i = skipSpace(d.b, 0)
	if n == 0 {
		return d.i == len(d.b) // an empty array
	}
	for k := 0; ; k++ {
		if k == n || failed.Load() {
			return false
		}
		var ok bool
		switch p.kind {
		case fastRoutes:
			ok = d.route(&p.routes[k], d.polyline())
		case fastGroups:
			ok = d.group(&p.groups[k])
		case fastHouseholds:
			ok = d.household(&p.households[k])
		}
		if !ok {
			return false
		}
		d.i = skipSpace(d.b, d.i)
		if d.i == len(d.b) {
			return k+1 == n
		}
		if d.b[d.i] != ',' {
			return false
		}
		d.i = skipSpace(d.b, d.i+1)
	}
}

// fastDecoder reads the elements in b from i.
type fastDecoder struct {
	b    []byte
	i    int
	keep strings.Builder // the strings the plan keeps: ids
	drop strings.Builder // those it drops once read: polylines, times
	// Where the walks and their polylines go: slabs, not an allocation
	// each.
	walks []routeJSON
	polys []string
	strs  []string // groups' households
}

// walk is a new walk's place.
func (d *fastDecoder) walk() *routeJSON {
	if len(d.walks) == cap(d.walks) {
		d.walks = make([]routeJSON, 0, 512)
	}
	d.walks = d.walks[:len(d.walks)+1]
	return &d.walks[len(d.walks)-1]
}

// polyline is a new polyline's place.
func (d *fastDecoder) polyline() *string {
	if len(d.polys) == cap(d.polys) {
		d.polys = make([]string, 0, 512)
	}
	d.polys = d.polys[:len(d.polys)+1]
	return &d.polys[len(d.polys)-1]
}

// open reads the '{' of an object; true, true when it is empty (and
// read to its end).
func (d *fastDecoder) open() (empty, ok bool) {
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		return false, false
	}
	d.i = skipSpace(d.b, d.i+1)
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return true, true
	}
	return false, true
}

// key reads a key and its colon: its bytes, plain ASCII (any other key is
// none of the fields as spelt).
func (d *fastDecoder) key() ([]byte, bool) {
	b, i := d.b, d.i
	if i >= len(b) || b[i] != '"' {
		return nil, false
	}
	i++
	k0 := i
	for i < len(b) && b[i] >= 0x20 && b[i] < 0x7f && b[i] != '"' && b[i] != '\\' {
		i++
	}
	if i >= len(b) || b[i] != '"' {
		return nil, false
	}
	key := b[k0:i]
	i = skipSpace(b, i+1)
	if i >= len(b) || b[i] != ':' {
		return nil, false
	}
	d.i = skipSpace(b, i+1)
	return key, true
}

// next reads what follows an object's value: true when it was its last
// (the '}' read), false when a ',' and another key follow.
func (d *fastDecoder) next() (end, ok bool) {
	d.i = skipSpace(d.b, d.i)
	if d.i >= len(d.b) {
		return false, false
	}
	switch d.b[d.i] {
	case '}':
		d.i++
		return true, true
	case ',':
		d.i = skipSpace(d.b, d.i+1)
		return false, true
	}
	return false, false
}

// literal reads the literal word.
func (d *fastDecoder) literal(word string) bool {
	if len(d.b)-d.i < len(word) || string(d.b[d.i:d.i+len(word)]) != word {
		return false
	}
	d.i += len(word)
	return true
}

// boolean reads true or false (null would leave the field as it was).
func (d *fastDecoder) boolean() (bool, bool) {
	if d.literal("true") {
		return true, true
	}
	return false, d.literal("false")
}

// plainByte: the bytes a string holds as they are.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads a string into to, unquoted as encoding/json unquotes it:
// its escapes, and each byte of invalid UTF-8 U+FFFD.
func (d *fastDecoder) str(to *strings.Builder) (string, bool) {
	b, i := d.b, d.i
	if i >= len(b) || b[i] != '"' {
		return "", false
	}
	i++
	start := to.Len()
	for {
		run := i
		for i < len(b) && plainByte[b[i]] {
			i++
		}
		to.Write(b[run:i])
		if i >= len(b) {
			return "", false
		}
		switch c := b[i]; {
		case c == '"':
			d.i = i + 1
			return to.String()[start:], true
		case c == '\\':
			if i+1 >= len(b) {
				return "", false
			}
			switch b[i+1] {
			case '"', '\\', '/':
				to.WriteByte(b[i+1])
			case 'b':
				to.WriteByte('\b')
			case 'f':
				to.WriteByte('\f')
			case 'n':
				to.WriteByte('\n')
			case 'r':
				to.WriteByte('\r')
			case 't':
				to.WriteByte('\t')
			case 'u':
				rr := getu4(b[i:])
				if rr < 0 {
					return "", false
				}
				i += 6
				if utf16.IsSurrogate(rr) {
					// A pair, or U+FFFD.
					if dec := utf16.DecodeRune(rr, getu4(b[i:])); dec != unicode.ReplacementChar {
						i += 6
						to.WriteRune(dec)
						continue
					}
					rr = unicode.ReplacementChar
				}
				to.WriteRune(rr)
				continue
			default:
				return "", false
			}
			i += 2
		case c < 0x20:
			return "", false
		default:
			// Not ASCII: as it is when UTF-8, U+FFFD a byte when not.
			rr, size := utf8.DecodeRune(b[i:])
			to.WriteRune(rr)
			i += size
		}
	}
}

// getu4 is the rune of \uXXXX at the start of s, or -1 (encoding/json's).
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// number reads a number as JSON writes one: its bytes, and whether it
// is an integer (no fraction, no exponent).
func (d *fastDecoder) number() (num []byte, integer, ok bool) {
	b, i := d.b, d.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return nil, false, false
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = skipDigits(b, i)
	default:
		return nil, false, false
	}
	integer = true
	if i < len(b) && b[i] == '.' {
		integer = false
		j := skipDigits(b, i+1)
		if j == i+1 {
			return nil, false, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		integer = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return nil, false, false
		}
		i = j
	}
	num = b[d.i:i]
	d.i = i
	return num, integer, true
}

// skipDigits is the index of the first byte from i on that is not a digit.
func skipDigits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// integer reads an int field's number: a whole one of up to 18 digits
// (more might overflow, and a fraction is an error: not read here).
func (d *fastDecoder) integer() (int, bool) {
	num, integer, ok := d.number()
	if !ok || !integer {
		return 0, false
	}
	n, neg := magnitude(num)
	if n < 0 {
		return 0, false
	}
	if neg {
		n = -n
	}
	return int(n), true
}

// magnitude is the absolute value of the integer num, and its sign; -1 past
// 18 digits.
func magnitude(num []byte) (int64, bool) {
	neg := num[0] == '-'
	if neg {
		num = num[1:]
	}
	if len(num) > 18 {
		return -1, neg
	}
	var n int64
	for _, c := range num {
		n = n*10 + int64(c-'0')
	}
	return n, neg
}

// float reads a float64 field's number as encoding/json does (strconv),
// an integer of up to 15 digits directly (exact: below 2^53).
func (d *fastDecoder) float() (float64, bool) {
	num, integer, ok := d.number()
	if !ok {
		return 0, false
	}
	if integer && len(num) <= 15 {
		n, neg := magnitude(num)
		f := float64(n)
		if neg {
			f = -f // -0 too
		}
		return f, true
	}
	f, err := strconv.ParseFloat(string(num), 64)
	return f, err == nil
}

// stamp reads a time of version 2, as stamp.UnmarshalJSON does: a
// number as written, or null.
func (d *fastDecoder) stamp() (stamp, bool) {
	if d.literal("null") {
		return stamp{set: true, null: true}, true
	}
	num, _, ok := d.number()
	if !ok {
		return stamp{}, false
	}
	start := d.drop.Len()
	d.drop.Write(num)
	return stamp{set: true, num: d.drop.String()[start:]}, true
}

// priority reads a household's priority: one of muster's, written plain,
// is its constant, not a string of its own.
func (d *fastDecoder) priority() (string, bool) {
	b := d.b
	if j := d.i + 1; j < len(b) && b[d.i] == '"' {
		for j < len(b) && plainByte[b[j]] {
			j++
		}
		if j < len(b) && b[j] == '"' {
			for _, p := range muster.Priorities {
				if string(b[d.i+1:j]) == p {
					d.i = j + 1
					return p, true
				}
			}
		}
	}
	return d.str(&d.keep)
}

// object reads an object whose values field reads, given each key: the
// field's bit (each key once) and whether it read the value as muster
// writes it. Any key field does not know, or one twice, and it leaves
// the object to encoding/json.
func (d *fastDecoder) object(field func(key []byte) (bit uint, ok bool)) bool {
	empty, ok := d.open()
	if !ok || empty {
		return ok
	}
	var seen uint
	for {
		key, ok := d.key()
		if !ok {
			return false
		}
		bit, ok := field(key)
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		if end, ok := d.next(); !ok || end {
			return ok
		}
	}
}

// route reads a route object (a walk, or an element of routes[]),
// its polyline into poly.
func (d *fastDecoder) route(r *routeJSON, poly *string) bool {
	return d.object(func(key []byte) (bit uint, ok bool) {
		switch string(key) {
		case "polyline":
			*poly, ok = d.str(&d.drop)
			r.Polyline = poly
			return 1, ok
		case "duration_s":
			r.DurationS, ok = d.float()
			return 2, ok
		case "distance_m":
			r.DistanceM, ok = d.float()
			return 4, ok
		case "exposure":
			r.Exposure, ok = d.float()
			return 8, ok
		case "escape":
			r.Escape, ok = d.boolean()
			return 16, ok
		}
		return 0, false // geometry (version 1), or a key not as written
	})
}

// household reads an element of households[].
func (d *fastDecoder) household(h *householdJSON) bool {
	return d.object(func(key []byte) (bit uint, ok bool) {
		switch string(key) {
		case "id":
			h.ID, ok = d.str(&d.keep)
			return 1, ok
		case "rally_point":
			var s string
			s, ok = d.str(&d.keep)
			h.RallyPoint = &s
			return 2, ok
		case "group":
			h.Group, ok = d.str(&d.keep)
			return 4, ok
		case "report_by_s":
			h.ReportByS, ok = d.stamp()
			return 8, ok
		case "people":
			h.People, ok = d.integer()
			return 16, ok
		case "priority":
			h.Priority, ok = d.priority()
			return 32, ok
		case "walk":
			w := d.walk()
			ok = d.route(w, d.polyline())
			h.Walk = w
			return 64, ok
		}
		return 0, false // report_by (version 1), or a key not as written
	})
}

// group reads an element of groups[] of version 2.
func (d *fastDecoder) group(g *groupJSON) bool {
	return d.object(func(key []byte) (bit uint, ok bool) {
		switch string(key) {
		case "id":
			g.ID, ok = d.str(&d.keep)
			return 1, ok
		case "rally_point":
			g.RallyPoint, ok = d.str(&d.keep)
			return 2, ok
		case "gate":
			g.Gate, ok = d.str(&d.keep)
			return 4, ok
		case "report_by_s":
			g.ReportByS, ok = d.stamp()
			return 8, ok
		case "departure_s":
			g.DepartureS, ok = d.stamp()
			return 16, ok
		case "route_from_s":
			g.RouteFromS, ok = d.stamp()
			return 32, ok
		case "arrival_s":
			g.ArrivalS, ok = d.stamp()
			return 64, ok
		case "through_s":
			g.ThroughS, ok = d.stamp()
			return 128, ok
		case "people":
			g.People, ok = d.integer()
			return 256, ok
		case "households":
			g.Households, ok = d.strings()
			return 512, ok
		case "priority":
			g.Priority, ok = d.boolean()
			return 1024, ok
		case "weight":
			g.Weight, ok = d.integer()
			return 2048, ok
		case "vehicles":
			g.Vehicles, ok = d.integer()
			return 4096, ok
		case "route":
			g.Route, ok = d.routeRef()
			return 8192, ok
		}
		return 0, false // a time of version 1, or a key not as written
	})
}

// routeRef reads a group's route index as groupRoute.UnmarshalJSON does.
func (d *fastDecoder) routeRef() (groupRoute, bool) {
	num, integer, ok := d.number()
	if !ok || !integer {
		return groupRoute{}, false // a route object (version 1), or not an index
	}
	n, neg := magnitude(num)
	if n < 0 {
		return groupRoute{}, false
	}
	if neg {
		n = -n
	}
	if n < 0 || n > 1<<31 {
		n = -1 // out of range, said with its context
	}
	return groupRoute{set: true, ref: int(n)}, true
}

// strings reads an array of strings: a group's households, a slice of a
// slab shared by the part's groups; null (a group of none, as Write
// writes it) is nil.
func (d *fastDecoder) strings() ([]string, bool) {
	if d.literal("null") {
		return nil, true
	}
	if d.i >= len(d.b) || d.b[d.i] != '[' {
		return nil, false
	}
	d.i = skipSpace(d.b, d.i+1)
	if d.strs == nil {
		d.strs = make([]string, 0, 64)
	}
	from := len(d.strs)
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		return d.strs[from:from:from], true // empty, not nil
	}
	for {
		s, ok := d.str(&d.keep)
		if !ok {
			return nil, false
		}
		d.strs = append(d.strs, s)
		d.i = skipSpace(d.b, d.i)
		if d.i >= len(d.b) {
			return nil, false
		}
		switch d.b[d.i] {
		case ']':
			d.i++
			return d.strs[from:len(d.strs):len(d.strs)], true
		case ',':
			d.i = skipSpace(d.b, d.i+1)
		default:
			return nil, false
		}
	}
}
