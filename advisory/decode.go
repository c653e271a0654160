package advisory

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
)

// Limits on a CAP document Decode reads: a real alert is a few kilobytes;
// these leave room for detailed polygons and bound what a hostile one can
// cost.
const (
	MaxBytes        = 1 << 20 // the whole document
	maxElements     = 20_000
	maxElementBytes = 256 << 10 // the text of one element (a 2,000-point polygon is about 50 KB)
	maxInfos        = 30
)

const (
	dsigNamespace = "http://www.w3.org/2000/09/xmldsig#"
	xsiNamespace  = "http://www.w3.org/2001/XMLSchema-instance"
)

// Decoded is what Read made of a CAP alert.
type Decoded struct {
	Advisory muster.Advisory
	// LeftOut lists what the alert carries that an advisory does not keep,
	// by element ("/alert/info/eventCode (2)", "/alert/info[2]: language
	// es-US"), in document order.
	LeftOut []string
	// Signed is true when the alert carries an XML-DSig <Signature>: muster
	// does not verify it (yet), so a signed alert is no more trusted than
	// an unsigned one.
	Signed bool
}

// Decode reads a CAP 1.2 alert into an advisory; see Read.
func Decode(r io.Reader) (muster.Advisory, error) {
	d, err := Read(r)
	if err != nil {
		return muster.Advisory{}, err
	}
	return d.Advisory, nil
}

// Read reads a CAP 1.2 alert, from muster or from another system, strictly:
// at most MaxBytes; UTF-8; no DOCTYPE (so no entity can be declared, let
// alone expanded) and no processing instruction but the XML declaration;
// every element in CAP 1.2's namespace, where and as often as the OASIS
// schema allows, in its order, with no attribute but namespace
// declarations; CAP's time, polygon and circle formats. Info blocks in
// languages other than English, Dari and Pashto, and the elements an
// advisory has no field for, are left out and listed in LeftOut. The
// advisory must then pass Validate. Errors are *muster.Error with code
// EINVALID naming the element, its line and why.
func Read(r io.Reader) (*Decoded, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading CAP: %w", err)
	}
	if len(data) > MaxBytes {
		return nil, muster.Errorf(muster.EINVALID, "CAP: larger than %d KiB: an alert is a few kilobytes", MaxBytes>>10)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte-order mark, as some Windows tools write
	p := parser{}
	root, err := p.tree(data)
	if err != nil {
		return nil, err
	}
	b := builder{leftOut: map[string]int{}}
	out, err := b.build(root)
	if err != nil {
		return nil, err
	}
	out.Signed = p.signed
	if p.signed {
		out.LeftOut = append(out.LeftOut, "/alert/Signature: XML-DSig, not verified")
	}
	if err := out.Advisory.Validate(); err != nil {
		return nil, muster.Errorf(muster.EINVALID, "CAP: %v", err)
	}
	return out, nil
}

// node is one element of the document, checked against the schema.
type node struct {
	name string
	path string // "/alert/info[2]/area[1]/polygon[3]"
	line int
	text string // leaf elements only, trimmed
	kids []*node
}

func (n *node) child(name string) *node {
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

func fail(n *node, format string, args ...any) error {
	return muster.Errorf(muster.EINVALID, "CAP: line %d: %s: %s", n.line, n.path, fmt.Sprintf(format, args...))
}

// frame is an open element while the document is read.
type frame struct {
	n        *node
	def      *elemDef
	pos      int // index in def.children of the last child seen, -1 before the first
	count    int // how many times def.children[pos] has occurred
	text     []byte
	afterSig bool // a Signature was read: nothing of CAP may follow
}

type parser struct {
	signed bool
}

// tree reads the document into nodes, checking it against the schema as
// it goes.
func (p *parser) tree(data []byte) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	var stack []*frame
	var root *node
	elements := 0
	docErr := func(format string, args ...any) error {
		line, _ := d.InputPos()
		return muster.Errorf(muster.EINVALID, "CAP: line %d: %s", line, fmt.Sprintf(format, args...))
	}
	first := true
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, muster.Errorf(muster.EINVALID, "CAP: line %d: not well-formed XML: %s", se.Line, se.Msg)
			}
			return nil, docErr("not well-formed XML: %v", err)
		}
		isFirst := first
		first = false
		switch t := tok.(type) {
		case xml.ProcInst:
			if t.Target != "xml" || !isFirst {
				return nil, docErr("processing instruction <?%s?> refused: CAP needs none", clip(t.Target))
			}
		case xml.Directive:
			return nil, docErr("<!%s...> refused: CAP needs no DOCTYPE or DTD, and entity declarations are how XML bombs begin", clip(firstWord(t)))
		case xml.Comment:
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, docErr("text outside the <alert> element")
				}
				continue
			}
			top := stack[len(stack)-1]
			if top.def.children == nil {
				if len(top.text)+len(t) > maxElementBytes {
					return nil, fail(top.n, "more than %d KiB of text", maxElementBytes>>10)
				}
				top.text = append(top.text, t...)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, fail(top.n, "holds text %q, but only elements belong there", clip(string(bytes.TrimSpace(t))))
			}
		case xml.StartElement:
			elements++
			if elements > maxElements {
				return nil, docErr("more than %d elements", maxElements)
			}
			line, _ := d.InputPos()
			if len(stack) == 0 {
				if root != nil {
					return nil, docErr("a second root element <%s>: a CAP document holds one <alert>", clip(t.Name.Local))
				}
				if err := checkRootName(t.Name); err != nil {
					return nil, docErr("%v", err)
				}
				root = &node{name: "alert", path: "/alert", line: line}
				if err := checkAttrs(root, t.Attr, true); err != nil {
					return nil, err
				}
				stack = append(stack, &frame{n: root, def: &alertDef, pos: -1})
				continue
			}
			top := stack[len(stack)-1]
			if top.def.children == nil {
				return nil, fail(top.n, "holds the element <%s>, but only text belongs there", clip(t.Name.Local))
			}
			if t.Name.Space == dsigNamespace && top.def == &alertDef {
				if t.Name.Local != "Signature" {
					return nil, docErr("/alert/%s: of XML-DSig only a <Signature> may end an alert", clip(t.Name.Local))
				}
				p.signed = true
				top.afterSig = true
				if err := skipSignature(d); err != nil {
					return nil, docErr("/alert/Signature: %v", err)
				}
				continue
			}
			if t.Name.Space != Namespace {
				if t.Name.Space == "" {
					return nil, docErr("%s/%s: an element in no namespace: CAP 1.2's elements are in %s", top.n.path, clip(t.Name.Local), Namespace)
				}
				return nil, docErr("%s/%s: namespace %q is not CAP 1.2's (%s)", top.n.path, clip(t.Name.Local), clip(t.Name.Space), Namespace)
			}
			if top.afterSig {
				return nil, docErr("/alert/%s: after the signature, which must come last", clip(t.Name.Local))
			}
			k := top.def.childIndex(t.Name.Local)
			if k < 0 {
				return nil, docErr("%s/%s: CAP 1.2 has no such element here (it allows %s)", top.n.path, clip(t.Name.Local), names(top.def.children))
			}
			def := &top.def.children[k]
			switch {
			case k < top.pos:
				return nil, docErr("%s/%s: comes after <%s>, but the schema wants it before", top.n.path, def.name, top.def.children[top.pos].name)
			case k == top.pos:
				top.count++
				if def.max != unbounded && top.count > def.max {
					return nil, docErr("%s/%s: given more than once", top.n.path, def.name)
				}
			default:
				if err := checkMissing(top, k); err != nil {
					return nil, err
				}
				top.pos, top.count = k, 1
			}
			path := top.n.path + "/" + def.name
			if def.max != 1 {
				path += "[" + strconv.Itoa(top.count) + "]"
			}
			n := &node{name: def.name, path: path, line: line}
			if err := checkAttrs(n, t.Attr, false); err != nil {
				return nil, err
			}
			top.n.kids = append(top.n.kids, n)
			stack = append(stack, &frame{n: n, def: def, pos: -1})
		case xml.EndElement:
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if top.def.children != nil {
				if err := checkMissing(top, len(top.def.children)); err != nil {
					return nil, err
				}
			} else {
				top.n.text = strings.TrimSpace(string(top.text))
			}
		}
	}
	if root == nil {
		return nil, muster.Errorf(muster.EINVALID, "CAP: no <alert> element")
	}
	if len(stack) > 0 {
		return nil, muster.Errorf(muster.EINVALID, "CAP: the document ends inside %s", stack[len(stack)-1].n.path)
	}
	return root, nil
}

// maxSignatureDepth bounds the nesting inside a <Signature> (XML-DSig
// needs about six levels), which muster skips without reading.
const maxSignatureDepth = 16

// skipSignature reads past the <Signature> just opened, refusing deep
// nesting before it costs memory.
func skipSignature(d *xml.Decoder) error {
	depth := 1
	for depth > 0 {
		tok, err := d.Token()
		if err != nil {
			return fmt.Errorf("not well-formed XML: %v", err)
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
			if depth > maxSignatureDepth {
				return fmt.Errorf("nested more than %d levels deep", maxSignatureDepth)
			}
		case xml.EndElement:
			depth--
		case xml.Directive, xml.ProcInst:
			return fmt.Errorf("holds a declaration or processing instruction")
		}
	}
	return nil
}

func checkRootName(n xml.Name) error {
	switch {
	case n.Local != "alert":
		return fmt.Errorf("the root element is <%s>: a CAP document is an <alert>", clip(n.Local))
	case n.Space == Namespace:
		return nil
	case strings.HasPrefix(n.Space, "urn:oasis:names:tc:emergency:cap:"):
		return fmt.Errorf("/alert: CAP version %q: muster reads CAP 1.2 (%s)", clip(strings.TrimPrefix(n.Space, "urn:oasis:names:tc:emergency:cap:")), Namespace)
	case n.Space == "":
		return fmt.Errorf("/alert: in no namespace: CAP 1.2's is %s", Namespace)
	}
	return fmt.Errorf("/alert: namespace %q is not CAP 1.2's (%s)", clip(n.Space), Namespace)
}

// checkAttrs refuses every attribute but namespace declarations (and, on
// the root, xsi:schemaLocation, which schema-aware writers add).
func checkAttrs(n *node, attrs []xml.Attr, root bool) error {
	for _, a := range attrs {
		switch {
		case a.Name.Space == "xmlns", a.Name.Space == "" && a.Name.Local == "xmlns":
		case root && a.Name.Space == xsiNamespace && (a.Name.Local == "schemaLocation" || a.Name.Local == "noNamespaceSchemaLocation"):
		default:
			name := a.Name.Local
			if a.Name.Space != "" {
				name = a.Name.Space + ":" + name
			}
			return fail(n, "attribute %q: CAP elements take none", clip(name))
		}
	}
	return nil
}

// checkMissing checks that every child the schema requires before position
// upto has occurred.
func checkMissing(f *frame, upto int) error {
	if f.pos >= 0 {
		if def := f.def.children[f.pos]; f.count < def.min {
			return fail(f.n, "<%s> must occur at least %d times", def.name, def.min)
		}
	}
	for i := f.pos + 1; i < upto; i++ {
		if f.def.children[i].min > 0 {
			if upto < len(f.def.children) {
				return fail(f.n, "<%s> is missing before <%s> (CAP's order is %s)", f.def.children[i].name, f.def.children[upto].name, names(f.def.children))
			}
			return fail(f.n, "<%s> is missing", f.def.children[i].name)
		}
	}
	return nil
}

func names(defs []elemDef) string {
	out := make([]string, len(defs))
	for i, d := range defs {
		out[i] = d.name
	}
	return strings.Join(out, ", ")
}

func firstWord(b []byte) string {
	s := string(b)
	if i := strings.IndexAny(s, " \t\r\n["); i >= 0 {
		s = s[:i]
	}
	return s
}

// builder turns the checked tree into an advisory.
type builder struct {
	leftOut map[string]int
	order   []string
}

func (b *builder) leave(what string) {
	if b.leftOut[what] == 0 {
		b.order = append(b.order, what)
	}
	b.leftOut[what]++
}

// pattern is a node's path without its indexes, to count what is left out.
func pattern(n *node) string {
	var sb strings.Builder
	skip := false
	for _, r := range n.path {
		switch {
		case r == '[':
			skip = true
		case r == ']':
			skip = false
		case !skip:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// info is what one kept <info> says.
type info struct {
	n             *node
	lang, tag     string
	categories    []string
	responseTypes []string
	urgency       string
	severity      string
	certainty     string
	effective     muster.Advisory // only its three times are used
	area          muster.AdvisoryArea
	text          muster.AdvisoryText
}

func (b *builder) build(root *node) (*Decoded, error) {
	var a muster.Advisory
	var infos []*info
	nInfo := 0
	for _, n := range root.kids {
		var err error
		switch n.name {
		case "identifier":
			a.ID = n.text
		case "sender":
			a.Sender = n.text
		case "sent":
			if a.Sent, err = parseTime(n.text); err != nil {
				return nil, fail(n, "%v", err)
			}
		case "status":
			if err := enum(n, muster.AdvisoryStatuses); err != nil {
				return nil, err
			}
			a.Status = n.text
		case "msgType":
			if n.text == "Ack" || n.text == "Error" {
				return nil, fail(n, "%q: an acknowledgement or error message is not an advisory (muster reads Alert, Update and Cancel)", n.text)
			}
			if err := enum(n, muster.AdvisoryMsgTypes); err != nil {
				return nil, err
			}
			a.MsgType = n.text
		case "scope":
			if n.text != muster.AdvisoryPublic {
				return nil, fail(n, "%q: muster broadcasts advisories to everyone in an area, so it reads Public alerts only", clip(n.text))
			}
			a.Scope = n.text
		case "note":
			a.Note = n.text
		case "references":
			if a.References, err = parseRefs(n.text); err != nil {
				return nil, fail(n, "%v", err)
			}
		case "info":
			nInfo++
			if nInfo > maxInfos {
				return nil, fail(n, "more than %d info blocks", maxInfos)
			}
			in, err := b.info(n)
			if err != nil {
				return nil, err
			}
			if in == nil {
				continue
			}
			for _, prev := range infos {
				if prev.lang == in.lang {
					return nil, fail(in.n, "a second info in %s (%s, after %s at line %d): muster keeps one per language", langName[in.lang], in.tag, prev.tag, prev.n.line)
				}
			}
			infos = append(infos, in)
		default: // source, restriction, addresses, code, incidents
			b.leave(pattern(n))
		}
	}
	if nInfo > 0 && len(infos) == 0 {
		return nil, fail(root, "no info in English, Dari or Pashto: muster cannot tell anyone what it says")
	}
	for i, in := range infos {
		if i == 0 {
			a.Categories, a.ResponseTypes = in.categories, in.responseTypes
			a.Urgency, a.Severity, a.Certainty = in.urgency, in.severity, in.certainty
			a.Effective, a.Onset, a.Expires = in.effective.Effective, in.effective.Onset, in.effective.Expires
			a.Area = in.area
		} else if err := sameInfo(infos[0], in); err != nil {
			return nil, err
		}
		a.Texts = append(a.Texts, in.text)
	}
	out := &Decoded{Advisory: a}
	for _, what := range b.order {
		if c := b.leftOut[what]; c > 1 {
			what += fmt.Sprintf(" (%d)", c)
		}
		out.LeftOut = append(out.LeftOut, what)
	}
	return out, nil
}

var langName = map[string]string{muster.LangEnglish: "English", muster.LangDari: "Dari", muster.LangPashto: "Pashto"}

func enum(n *node, allowed []string) error {
	if !slices.Contains(allowed, n.text) {
		return fail(n, "%q is not one of %s", clip(n.text), strings.Join(allowed, ", "))
	}
	return nil
}

// info reads one <info>; it returns nil for one in a language muster does
// not write, after noting it.
func (b *builder) info(n *node) (*info, error) {
	in := &info{n: n, tag: "en-US"} // CAP's default language
	if l := n.child("language"); l != nil {
		in.tag = l.text
	}
	in.lang = musterLanguage(in.tag)
	if in.lang == "" {
		b.leave(fmt.Sprintf("%s: language %s (muster keeps en, fa and ps)", n.path, clip(in.tag)))
		return nil, nil
	}
	in.text.Language = in.lang
	var descs []string
	geocodesOnly := false
	for _, k := range n.kids {
		var err error
		switch k.name {
		case "language":
		case "category":
			if err := enum(k, muster.AdvisoryCategories); err != nil {
				return nil, err
			}
			if slices.Contains(in.categories, k.text) {
				return nil, fail(k, "%q is given twice", k.text)
			}
			in.categories = append(in.categories, k.text)
		case "responseType":
			if err := enum(k, muster.AdvisoryResponseTypes); err != nil {
				return nil, err
			}
			if slices.Contains(in.responseTypes, k.text) {
				return nil, fail(k, "%q is given twice", k.text)
			}
			in.responseTypes = append(in.responseTypes, k.text)
		case "urgency":
			in.urgency = k.text
			err = enum(k, muster.AdvisoryUrgencies)
		case "severity":
			in.severity = k.text
			err = enum(k, muster.AdvisorySeverities)
		case "certainty":
			in.certainty = k.text
			err = enum(k, muster.AdvisoryCertainties)
		case "event":
			in.text.Event = k.text
		case "effective":
			in.effective.Effective, err = parseTime(k.text)
		case "onset":
			in.effective.Onset, err = parseTime(k.text)
		case "expires":
			in.effective.Expires, err = parseTime(k.text)
		case "headline":
			in.text.Headline = k.text
		case "description":
			in.text.Description = k.text
		case "instruction":
			in.text.Instruction = k.text
		case "area":
			desc, only, err := b.area(k, &in.area)
			if err != nil {
				return nil, err
			}
			descs = append(descs, desc)
			geocodesOnly = geocodesOnly || only
		default: // audience, eventCode, senderName, web, contact, parameter, resource
			b.leave(pattern(k))
		}
		if err != nil {
			if _, ok := err.(*muster.Error); ok {
				return nil, err
			}
			return nil, fail(k, "%v", err)
		}
	}
	if geocodesOnly {
		return nil, fail(n, "an area given by geocodes alone, which muster cannot place on a map: it needs a <polygon> or a <circle>")
	}
	in.text.AreaDesc = strings.Join(descs, "; ")
	return in, nil
}

// area reads one <area> into ar (an info's areas add up). It returns the
// area's description, and whether it was given by foreign geocodes alone.
func (b *builder) area(n *node, ar *muster.AdvisoryArea) (string, bool, error) {
	var desc string
	base := len(ar.Polygons)
	foreign, shapes := false, 0
	for _, k := range n.kids {
		switch k.name {
		case "areaDesc":
			desc = k.text
		case "polygon":
			r, err := parseRing(k.text)
			if err != nil {
				return "", false, fail(k, "%v", err)
			}
			ar.Polygons = append(ar.Polygons, orb.Polygon{r})
			shapes++
		case "circle":
			c, err := parseCircle(k.text)
			if err != nil {
				return "", false, fail(k, "%v", err)
			}
			ar.Circles = append(ar.Circles, c)
			shapes++
		case "geocode":
			name, value := k.child("valueName"), k.child("value")
			switch name.text {
			case geocodeZone:
				if ar.ZoneID != "" && ar.ZoneID != value.text {
					return "", false, fail(value, "zone %q, but the area already names zone %q", clip(value.text), ar.ZoneID)
				}
				ar.ZoneID = value.text
			case geocodeHole:
				if err := addHole(ar, base, value.text); err != nil {
					return "", false, fail(value, "%s: %v", geocodeHole, err)
				}
			default:
				foreign = true
				b.leave(pattern(k) + " " + clip(name.text))
			}
		default: // altitude, ceiling
			b.leave(pattern(k))
		}
	}
	if len(ar.Polygons)+len(ar.Circles) > muster.MaxAdvisoryShapes {
		return "", false, fail(n, "more than %d polygons and circles", muster.MaxAdvisoryShapes)
	}
	return desc, foreign && shapes == 0, nil
}

// addHole reads muster's hole geocode, "N lat,lon ...": a hole of polygon N
// of the same <area>.
func addHole(ar *muster.AdvisoryArea, base int, v string) error {
	idx, ring, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return fmt.Errorf("want \"N lat,lon lat,lon ...\" (a hole of the area's polygon N, from 0)")
	}
	i, err := strconv.Atoi(idx)
	if err != nil || i < 0 || base+i >= len(ar.Polygons) {
		return fmt.Errorf("polygon %q: the area has %d polygons", clip(idx), len(ar.Polygons)-base)
	}
	r, err := parseRing(ring)
	if err != nil {
		return fmt.Errorf("hole %w", err)
	}
	ar.Polygons[base+i] = append(ar.Polygons[base+i], r)
	return nil
}

// sameInfo checks that a later info says what the first one says in all
// but its words: muster keeps one classification, one set of times and
// one area for all languages.
func sameInfo(first, in *info) error {
	diff := func(what string, a, b any) error {
		return fail(in.n, "%s %v differs from the %s info's (%v, line %d): muster keeps one %s for all languages",
			what, b, first.tag, a, first.n.line, what)
	}
	switch {
	case !slices.Equal(first.categories, in.categories):
		return diff("category", first.categories, in.categories)
	case !slices.Equal(first.responseTypes, in.responseTypes):
		return diff("responseType", first.responseTypes, in.responseTypes)
	case first.urgency != in.urgency:
		return diff("urgency", first.urgency, in.urgency)
	case first.severity != in.severity:
		return diff("severity", first.severity, in.severity)
	case first.certainty != in.certainty:
		return diff("certainty", first.certainty, in.certainty)
	case !first.effective.Effective.Equal(in.effective.Effective):
		return diff("effective", first.effective.Effective, in.effective.Effective)
	case !first.effective.Onset.Equal(in.effective.Onset):
		return diff("onset", first.effective.Onset, in.effective.Onset)
	case !first.effective.Expires.Equal(in.effective.Expires):
		return diff("expires", first.effective.Expires, in.effective.Expires)
	case !reflect.DeepEqual(first.area, in.area):
		return fail(in.n, "its area differs from the %s info's (line %d): muster keeps one area for all languages", first.tag, first.n.line)
	}
	return nil
}
