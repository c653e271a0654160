package instruct

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"

	"github.com/muster-evac/muster"
)

// The message catalogs, one file per language. Each is a flat TOML file of
// key = "message" lines (a subset of TOML that this file's parser reads
// strictly), with {name} placeholders.
//
//go:embed catalog/*.toml
var catalogFS embed.FS

// langInfo is what muster knows of a language it writes instructions in.
type langInfo struct {
	code    string // muster's code, as households carry it
	file    string // its catalog
	tag     string // BCP 47, for HTML's lang attribute
	numbers string // BCP 47 with the numbering system its numbers are written in
	rtl     bool
}

// The languages, in muster.Languages order. Dari and Pashto write numbers
// in Extended Arabic-Indic digits (arabext); the -u-nu- extension says so
// explicitly because golang.org/x/text's data gives fa-AF and ps-AF Latin
// digits by default.
var languages = []langInfo{
	{code: muster.LangEnglish, file: "en.toml", tag: "en", numbers: "en-u-nu-latn"},
	{code: muster.LangDari, file: "fa-AF.toml", tag: "fa-AF", numbers: "fa-AF-u-nu-arabext", rtl: true},
	{code: muster.LangPashto, file: "ps-AF.toml", tag: "ps-AF", numbers: "ps-AF-u-nu-arabext", rtl: true},
}

// Plural forms, indexed by golang.org/x/text/feature/plural.Form.
var formNames = [...]string{plural.Other: "other", plural.Zero: "zero", plural.One: "one", plural.Two: "two", plural.Few: "few", plural.Many: "many"}

const numForms = len(formNames)

// part is a literal run of a message or a placeholder.
type part struct {
	lit, litHTML string // the literal, and the literal escaped for HTML
	ph           string // the placeholder's name; "" for a literal
}

type message struct{ parts []part }

// catalog is one language's messages, compiled.
type catalog struct {
	info   langInfo
	plural language.Tag
	msgs   [][numForms]*message // by key, then plural form (Other for a message without forms)
	num    *numbers
}

var (
	// catalogs are the compiled catalogs, by muster language code.
	// catalogProblems lists every problem of the embedded catalogs: a
	// missing or unused key, a placeholder missing or unknown, a syntax
	// error. Rendering refuses to run while there is one; a test lists them.
	catalogs, catalogProblems, catalogFingerprint = loadCatalogs()
)

// CatalogFingerprint identifies the catalogs this build renders with (a
// hash of their files): instructions record it, so that a text can be
// traced to its wording.
func CatalogFingerprint() string { return catalogFingerprint }

func loadCatalogs() (map[string]*catalog, []string, string) {
	var problems []string
	out := map[string]*catalog{}
	h := sha256.New()
	for _, li := range languages {
		data, err := catalogFS.ReadFile("catalog/" + li.file)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", li.file, err))
			continue
		}
		fmt.Fprintf(h, "%s %d\n", li.file, len(data))
		h.Write(data)
		c, ps := compileCatalog(li, data)
		problems = append(problems, ps...)
		out[li.code] = c
	}
	return out, problems, hex.EncodeToString(h.Sum(nil)[:6])
}

// compileCatalog parses and checks one catalog against keyDefs.
func compileCatalog(li langInfo, data []byte) (*catalog, []string) {
	var problems []string
	bad := func(format string, args ...any) {
		problems = append(problems, li.file+": "+fmt.Sprintf(format, args...))
	}
	entries, errs := parseTOMLStrings(data)
	for _, e := range errs {
		bad("%v", e)
	}
	c := &catalog{info: li, plural: language.Make(li.tag), msgs: make([][numForms]*message, len(keyDefs))}
	num, err := newNumbers(li.numbers)
	if err != nil {
		bad("%v", err)
	}
	c.num = num
	used := map[string]bool{}
	neededForms := pluralFormsOf(c.plural)
	for k, d := range keyDefs {
		names := []string{d.name}
		forms := []plural.Form{plural.Other}
		if d.plural {
			names, forms = nil, nil
			for _, f := range neededForms {
				names = append(names, d.name+"."+formNames[f])
				forms = append(forms, f)
			}
		}
		for i, name := range names {
			text, ok := entries[name]
			if !ok {
				bad("missing translation of %q (language %s)", name, li.code)
				continue
			}
			used[name] = true
			m, err := compileMessage(text)
			if err != nil {
				bad("%s: %v", name, err)
				continue
			}
			if err := checkPlaceholders(m, d.placeholders); err != nil {
				bad("%s: %v", name, err)
			}
			if li.rtl && startsLTR(m) {
				bad("%s: a right-to-left message must not begin with a left-to-right letter: a line of it would read left to right", name)
			}
			c.msgs[k][forms[i]] = m
		}
	}
	var unused []string
	for name := range entries {
		if !used[name] {
			unused = append(unused, name)
		}
	}
	slices.Sort(unused)
	for _, name := range unused {
		bad("unused key %q (language %s): no message of muster has it", name, li.code)
	}
	return c, problems
}

// pluralFormsOf returns the plural forms the language uses for whole
// numbers, as CLDR's rules (through golang.org/x/text) give them: a plural
// message needs one for each.
func pluralFormsOf(tag language.Tag) []plural.Form {
	seen := map[plural.Form]bool{plural.Other: true}
	for n := 0; n <= 1000; n++ {
		seen[plural.Cardinal.MatchPlural(tag, n, 0, 0, 0, 0)] = true
	}
	var out []plural.Form
	for f := range formNames {
		if seen[plural.Form(f)] {
			out = append(out, plural.Form(f))
		}
	}
	return out
}

// startsLTR reports whether the message's first strong character, outside
// placeholders, is left to right.
func startsLTR(m *message) bool {
	for _, p := range m.parts {
		if p.ph != "" {
			continue // data is isolated: its direction does not count
		}
		for _, r := range p.lit {
			switch strongClass(r) {
			case dirR:
				return false
			case dirL:
				return true
			}
		}
	}
	return false
}

// compileMessage splits a message into literals and {placeholders}.
func compileMessage(s string) (*message, error) {
	m := &message{}
	lit := func(t string) {
		if t != "" {
			m.parts = append(m.parts, part{lit: t, litHTML: escapeHTML(t)})
		}
	}
	for len(s) > 0 {
		i := strings.IndexAny(s, "{}")
		if i < 0 {
			lit(s)
			break
		}
		if s[i] == '}' {
			return nil, fmt.Errorf("a } that closes no placeholder")
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("a { that is never closed")
		}
		name := s[i+1 : i+j]
		if !validPlaceholder(name) {
			return nil, fmt.Errorf("placeholder {%s}: a name of lower-case letters and underscores", name)
		}
		lit(s[:i])
		m.parts = append(m.parts, part{ph: name})
		s = s[i+j+1:]
	}
	return m, nil
}

func validPlaceholder(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && c != '_' {
			return false
		}
	}
	return true
}

// placeholders returns the distinct placeholders of a message, sorted.
func (m *message) placeholders() []string {
	var out []string
	for _, p := range m.parts {
		if p.ph != "" && !slices.Contains(out, p.ph) {
			out = append(out, p.ph)
		}
	}
	slices.Sort(out)
	return out
}

func checkPlaceholders(m *message, want []string) error {
	got := m.placeholders()
	w := slices.Clone(want)
	slices.Sort(w)
	if !slices.Equal(got, w) {
		return fmt.Errorf("placeholders %v, want %v", braces(got), braces(w))
	}
	return nil
}

func braces(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return "{" + strings.Join(names, "} {") + "}"
}

// parseTOMLStrings reads the subset of TOML the catalogs use: comment
// lines, blank lines, and lines of key = "basic string", where a key is
// bare or dotted (letters, digits, _ and -) and the string has TOML's
// escapes. Anything else is an error with its line number; so is a key
// given twice or a key that is both a message and a prefix of another
// (invalid TOML: a value and a table at once).
func parseTOMLStrings(data []byte) (map[string]string, []error) {
	out := map[string]string{}
	var errs []error
	if !utf8.Valid(data) {
		return out, []error{fmt.Errorf("not valid UTF-8")}
	}
	for n, line := range strings.Split(string(data), "\n") {
		lineNo := n + 1
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		eq := strings.IndexByte(line, '=')
		if eq < 0 {
			errs = append(errs, fmt.Errorf("line %d: want key = \"message\"", lineNo))
			continue
		}
		key := strings.TrimSpace(line[:eq])
		if !validKey(key) {
			errs = append(errs, fmt.Errorf("line %d: key %q: letters, digits, _ and - in dot-separated parts", lineNo, key))
			continue
		}
		val, rest, err := parseBasicString(strings.TrimSpace(line[eq+1:]))
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d (%s): %v", lineNo, key, err))
			continue
		}
		if rest = strings.TrimSpace(rest); rest != "" && rest[0] != '#' {
			errs = append(errs, fmt.Errorf("line %d (%s): %q after the string", lineNo, key, rest))
			continue
		}
		if _, dup := out[key]; dup {
			errs = append(errs, fmt.Errorf("line %d: key %q given twice", lineNo, key))
			continue
		}
		out[key] = val
	}
	for k := range out {
		for p := k; ; {
			i := strings.LastIndexByte(p, '.')
			if i < 0 {
				break
			}
			p = p[:i]
			if _, ok := out[p]; ok {
				errs = append(errs, fmt.Errorf("key %q is a message and also the table of %q", p, k))
			}
		}
	}
	return out, errs
}

func validKey(k string) bool {
	for _, part := range strings.Split(k, ".") {
		if part == "" {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}

// parseBasicString reads a TOML basic string at the start of s and returns
// it and what follows it.
func parseBasicString(s string) (val, rest string, err error) {
	if !strings.HasPrefix(s, `"`) {
		return "", "", fmt.Errorf("want a \"double-quoted\" string")
	}
	var b strings.Builder
	for i := 1; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			return b.String(), s[i+1:], nil
		case c == '\\':
			if i+1 >= len(s) {
				return "", "", fmt.Errorf("a \\ at the end of the line")
			}
			esc := s[i+1]
			i += 2
			switch esc {
			case '"', '\\':
				b.WriteByte(esc)
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'u', 'U':
				size := 4
				if esc == 'U' {
					size = 8
				}
				if i+size > len(s) {
					return "", "", fmt.Errorf("a short \\%c escape", esc)
				}
				v, err := strconv.ParseUint(s[i:i+size], 16, 32)
				if err != nil || !utf8.ValidRune(rune(v)) {
					return "", "", fmt.Errorf("a bad \\%c escape %q", esc, s[i:i+size])
				}
				b.WriteRune(rune(v))
				i += size
			default:
				return "", "", fmt.Errorf("unknown escape \\%c", esc)
			}
		case c < 0x20 && c != '\t' || c == 0x7f:
			return "", "", fmt.Errorf("a control character in the string")
		default:
			b.WriteByte(c)
			i++
		}
	}
	return "", "", fmt.Errorf("the string is never closed")
}

// Languages returns the codes of the languages instructions are written
// in (muster.LangEnglish, ...).
func Languages() []string {
	out := make([]string, len(languages))
	for i, l := range languages {
		out[i] = l.code
	}
	return out
}

// LanguageTag returns the BCP 47 tag of a language (fa-AF for Dari), and
// whether it is written right to left; false if muster does not write it.
func LanguageTag(code string) (tag string, rtl, ok bool) {
	for _, l := range languages {
		if l.code == code {
			return l.tag, l.rtl, true
		}
	}
	return "", false, false
}

// catalogFor returns the catalog of a language, or an error naming the
// languages there are, or the catalogs' problems.
func catalogFor(code string) (*catalog, error) {
	if len(catalogProblems) > 0 {
		return nil, fmt.Errorf("the message catalogs have %d problems, the first: %s", len(catalogProblems), catalogProblems[0])
	}
	c := catalogs[code]
	if c == nil {
		return nil, muster.Errorf(muster.EINVALID, "no message catalog for language %q (there are: %s)", code, strings.Join(Languages(), ", "))
	}
	return c, nil
}
