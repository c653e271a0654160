package instruct

import (
	"fmt"
	"strings"
	"sync"
	"time"
	_ "time/tzdata"
	"unicode" // instructions tell local time on hosts without a zoneinfo database
	"unicode/utf8"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/unicode/norm"

	"github.com/muster-evac/muster"
)

// Forms are the texts of one instruction in its language.
type Forms struct {
	Text string // the long form, plain text, lines ending in \n
	HTML string // the long form as a complete HTML document, for e-mail: no script, style sheet or image
	SMS  string // the short form: at most two SMS segments, the link included
}

// Render writes an instruction's long form, as text and HTML, and its
// short form, in the instruction's language. link is where the instruction
// can be checked (its verification link, "https://host/i/ID"); the short
// form needs one, of about 40 characters.
func Render(in *muster.Instruction, link string) (Forms, error) {
	return RenderMessage(in, Message{Link: link})
}

// Message is what the forms of an instruction as it is sent carry beside
// the instruction: the link to the household's page (and to check it),
// the signed token, and the code to reply with to acknowledge it.
type Message struct {
	Link    string
	Token   string // "MU1:...": in the long form, after the link
	AckCode string // in the long form and the short form
}

// RenderMessage writes an instruction's forms as they are sent: Render's,
// with the token in the long form and the reply code in both. The short
// form keeps within two SMS segments with the code (the rally point's
// name is shortened first).
func RenderMessage(in *muster.Instruction, m Message) (Forms, error) {
	var f Forms
	var err error
	if f.Text, err = textForm(in, m); err != nil {
		return Forms{}, err
	}
	if f.HTML, err = htmlForm(in, m); err != nil {
		return Forms{}, err
	}
	if f.SMS, err = shortForm(in, m); err != nil {
		return Forms{}, err
	}
	return f, nil
}

// Subject is the subject of the e-mail that carries the instruction: its
// title in its language and its id.
func Subject(in *muster.Instruction) (string, error) {
	r, err := newRenderer(in, false, false)
	if err != nil {
		return "", err
	}
	defer r.release()
	k := kTitle
	if in.Audience == muster.AudienceEscort {
		k = kEscortTitle
	}
	s := string(r.sub(k, 0))
	if in.Supersedes != "" {
		s = strings.TrimSpace(string(r.sub(kSMSUpdate, 0))) + " " + s
	}
	return s + " (" + in.ID + ")", nil
}

// Text writes the long form as plain text. Right-to-left text has each line
// begin with a right-to-left letter, and names, codes and links in Latin
// script set off by Unicode directional isolates (FSI ... PDI), so that
// they read correctly inside it; right-to-left names inside English are
// isolated likewise (RLI ... PDI).
func Text(in *muster.Instruction, link string) (string, error) {
	return textForm(in, Message{Link: link})
}

// TextMessage writes the long form as plain text, as RenderMessage does:
// with the token and reply code of m (the link may be empty).
func TextMessage(in *muster.Instruction, m Message) (string, error) { return textForm(in, m) }

func textForm(in *muster.Instruction, m Message) (string, error) {
	r, err := newRenderer(in, false, false)
	if err != nil {
		return "", err
	}
	defer r.release()
	if err := r.long(in, m); err != nil {
		return "", err
	}
	return string(r.b), nil
}

// HTML writes the long form as a small HTML document with the language and
// direction set (lang="fa-AF" dir="rtl"), every piece of data escaped and
// set in a <bdi> element, and nothing loaded from elsewhere.
func HTML(in *muster.Instruction, link string) (string, error) {
	return htmlForm(in, Message{Link: link})
}

func htmlForm(in *muster.Instruction, m Message) (string, error) {
	r, err := newRenderer(in, true, false)
	if err != nil {
		return "", err
	}
	defer r.release()
	tag, _, _ := LanguageTag(in.Language)
	dir := "ltr"
	if r.c.info.rtl {
		dir = "rtl"
	}
	title := r.sub(kTitle, 0)
	if in.Audience == muster.AudienceEscort {
		title = r.sub(kEscortTitle, 0)
	}
	r.b = append(r.b, "<!DOCTYPE html>\n<html lang=\""...)
	r.b = append(r.b, tag...)
	r.b = append(r.b, "\" dir=\""...)
	r.b = append(r.b, dir...)
	r.b = append(r.b, "\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>"...)
	r.b = append(r.b, title...)
	r.b = append(r.b, "</title>\n</head>\n<body>\n"...)
	if err := r.long(in, m); err != nil {
		return "", err
	}
	r.b = append(r.b, "</body>\n</html>\n"...)
	return string(r.b), nil
}

// Short writes the short form: where, when, the group code, how many it
// admits, the code word and the link, in at most two SMS segments (GSM-7
// for English, whose names are written without the accents GSM-7 lacks;
// UCS-2 for Dari and Pashto). When it would not fit, the rally point's
// name is shortened, with an ellipsis; the time, the codes, the code word,
// the link and RenderMessage's reply code never are: a household that
// cannot reply has no other way to confirm from a basic phone, and the
// name is also on its page and in the e-mail, while the code word and
// the group code identify the place at the rally point. An error says
// when even that is not enough (a link far longer than about 40
// characters).
func Short(in *muster.Instruction, link string) (string, error) {
	return shortForm(in, Message{Link: link})
}

// ShortMessage writes the short form as RenderMessage does: with the
// reply code of m.
func ShortMessage(in *muster.Instruction, m Message) (string, error) { return shortForm(in, m) }

func shortForm(in *muster.Instruction, m Message) (string, error) {
	link := m.Link
	if strings.TrimSpace(link) == "" {
		return "", muster.Errorf(muster.EINVALID, "instruction %s: the short form needs the link to check it by", in.ID)
	}
	r, err := newRenderer(in, false, in.Language == muster.LangEnglish)
	if err != nil {
		return "", err
	}
	defer r.release()
	rally := r.foldData(cleanData(in.RallyPoint.Name, maxNameRunes))
	gate := ""
	if in.Escort != nil {
		gate = r.foldData(cleanData(in.Escort.Gate.Name, maxNameRunes))
	}
	// measure renders the short form with the names cut to keep
	// characters into r.b and measures it.
	measure := func(keep int) (SMSSize, error) {
		r.b, r.arena = r.b[:0], r.arena[:0]
		if err := r.short(in, m, r.cut(rally, keep), r.cut(gate, keep)); err != nil {
			return SMSSize{}, err
		}
		return measureSMS(r.b), nil
	}
	full := max(utf8.RuneCountInString(rally), utf8.RuneCountInString(gate))
	size, err := measure(full)
	if err != nil {
		return "", err
	}
	if size.Segments <= 2 {
		return string(r.b), nil
	}
	// The longest cut that fits: fewer characters never make it longer.
	// The search starts where the excess says (each character cut saves
	// a unit or more), and widens from there: a name a few characters
	// too long takes two or three renderings, not the six of a search
	// over the whole name.
	limit := 2 * 67
	if size.Encoding == GSM7 {
		limit = 2 * 153
	}
	lo, hi := -1, full // measure(lo) fits (or lo is -1), measure(hi) does not
	var best []byte    // the rendering of lo
	fits := func(keep int) (bool, error) {
		size, err := measure(keep)
		if err != nil {
			return false, err
		}
		if size.Segments > 2 {
			hi = keep
			return false, nil
		}
		lo, best = keep, append(best[:0], r.b...)
		return true, nil
	}
	if guess := min(max(full-(size.Units-limit), 0), full-1); guess > lo {
		ok, err := fits(guess)
		if err != nil {
			return "", err
		}
		for step := 1; hi-lo > 1; step *= 2 { // widen towards the boundary
			next := guess + step
			if !ok {
				next = guess - step
			}
			if next <= lo || next >= hi {
				break
			}
			if ok2, err := fits(next); err != nil {
				return "", err
			} else if ok2 != ok {
				break
			}
		}
	}
	for hi-lo > 1 {
		if _, err := fits((lo + hi) / 2); err != nil {
			return "", err
		}
	}
	if lo < 0 {
		return "", muster.Errorf(muster.EINVALID, "instruction %s: the short form does not fit two SMS segments even with the rally point's name cut to an ellipsis (the link is %d characters, the reply code %d)",
			in.ID, utf8.RuneCountInString(link), utf8.RuneCountInString(m.AckCode))
	}
	return string(best), nil
}

// noteUse, when set (by tests), is told every message key rendered.
var noteUse func(msgKey)

// renderer writes one instruction in one language and one form.
type renderer struct {
	c    *catalog
	html bool
	gsm  bool // an SMS in English: data is written in the GSM-7 alphabet where it can be
	loc  *time.Location
	b    []byte // the output
	// arena holds what is rendered to be placed in a message (a date, a
	// number, another message): each a slice of it, valid until the
	// renderer is released. Growing it leaves earlier slices in place.
	arena []byte
}

var rendererPool = sync.Pool{New: func() any { return &renderer{b: make([]byte, 0, 4096), arena: make([]byte, 0, 2048)} }}

func newRenderer(in *muster.Instruction, html, gsm bool) (*renderer, error) {
	c, err := catalogFor(in.Language)
	if err != nil {
		return nil, fmt.Errorf("instruction %s: %w", in.ID, err)
	}
	loc, err := zone(in.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("instruction %s: %w", in.ID, err)
	}
	r := rendererPool.Get().(*renderer)
	r.c, r.html, r.gsm, r.loc = c, html, gsm, loc
	r.b, r.arena = r.b[:0], r.arena[:0]
	return r, nil
}

func (r *renderer) release() {
	if cap(r.b) <= 1<<16 && cap(r.arena) <= 1<<16 {
		rendererPool.Put(r)
	}
}

var zones sync.Map // name -> *time.Location

// zone loads a time zone once.
func zone(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, muster.Errorf(muster.EINVALID, "time zone %q: %v", name, err)
	}
	zones.Store(name, l)
	return l, nil
}

// arg is a value for a placeholder: text already in the output's form (a
// number, another message: raw bytes or a string), or data from outside
// (max > 0), which is cleaned, cut to max characters, isolated and escaped
// as it is placed.
type arg struct {
	name  string
	val   string
	raw   []byte
	isRaw bool
	max   int
}

func text(name, val string) arg       { return arg{name: name, val: val} }
func textb(name string, b []byte) arg { return arg{name: name, raw: b, isRaw: true} }
func data(name, val string) arg       { return arg{name: name, val: val, max: maxNameRunes} }
func link(name, val string) arg       { return arg{name: name, val: val, max: maxLinkRunes} }

// msg returns the message of key k (in the plural form n calls for).
func (r *renderer) msg(k msgKey, n int) *message {
	if noteUse != nil {
		noteUse(k)
	}
	forms := &r.c.msgs[k]
	if n < 0 {
		n = max(0, -n) // x/text's rules index by digit: a negative number panics
	}
	if keyDefs[k].plural {
		if m := forms[plural.Cardinal.MatchPlural(r.c.plural, n, 0, 0, 0, 0)]; m != nil {
			return m
		}
	}
	return forms[plural.Other]
}

// appendMsg appends message k with its placeholders filled.
func (r *renderer) appendMsg(b []byte, k msgKey, n int, args ...arg) []byte {
	for _, p := range r.msg(k, n).parts {
		if p.ph == "" {
			if r.html {
				b = append(b, p.litHTML...)
			} else {
				b = append(b, p.lit...)
			}
			continue
		}
		a := findArg(args, p.ph)
		switch {
		case a == nil: // a test proves every placeholder is given
			b = append(b, '{')
			b = append(b, p.ph...)
			b = append(b, '}')
		case a.isRaw:
			b = append(b, a.raw...)
		case a.max == 0:
			b = append(b, a.val...)
		default:
			b = r.appendData(b, a.val, a.max)
		}
	}
	return b
}

func findArg(args []arg, name string) *arg {
	for i := range args {
		if args[i].name == name {
			return &args[i]
		}
	}
	return nil
}

// sub renders message k into the arena, to be placed in another.
func (r *renderer) sub(k msgKey, n int, args ...arg) []byte {
	start := len(r.arena)
	r.arena = r.appendMsg(r.arena, k, n, args...)
	return r.arena[start:len(r.arena):len(r.arena)]
}

// keep returns what was appended to the arena since start.
func (r *renderer) keep(start int) []byte { return r.arena[start:len(r.arena):len(r.arena)] }

// verbatim places a token as it is, character for character (base45 has
// spaces, runs of them, and may end with one: cleaning it as data would
// change it), isolated in right-to-left text and set in <bdi> in HTML.
func (r *renderer) verbatim(s string) []byte {
	start := len(r.arena)
	switch {
	case r.html:
		r.arena = append(r.arena, "<bdi>"...)
		r.arena = append(r.arena, escapeHTML(s)...)
		r.arena = append(r.arena, "</bdi>"...)
	case r.c.info.rtl:
		r.arena = append(r.arena, "\u2068"...)
		r.arena = append(r.arena, s...)
		r.arena = append(r.arena, "\u2069"...)
	default:
		r.arena = append(r.arena, s...)
	}
	return r.keep(start)
}

// int writes a whole number into the arena.
func (r *renderer) int(v int) []byte {
	start := len(r.arena)
	if v < 0 || v >= 1000 {
		r.arena = append(r.arena, r.c.num.Int(v)...)
	} else {
		r.arena = r.c.num.appendDigits(r.arena, v, 1)
	}
	return r.keep(start)
}

// appendData places data: cleaned, then in HTML escaped inside <bdi>, in
// text set off by an isolate when its direction calls for one.
func (r *renderer) appendData(b []byte, s string, max int) []byte {
	s = r.foldData(cleanData(s, max))
	if r.html {
		b = append(b, "<bdi>"...)
		b = append(b, escapeHTML(s)...)
		return append(b, "</bdi>"...)
	}
	iso := isolation(s, r.c.info.rtl)
	if iso == 0 {
		return append(b, s...)
	}
	b = utf8.AppendRune(b, iso)
	b = append(b, s...)
	return utf8.AppendRune(b, pdi)
}

// foldData writes data in the GSM-7 alphabet for an English SMS where it
// can: a letter GSM-7 lacks loses its accents (São João becomes Sao Joao)
// when that leaves GSM-7 letters; anything else stays as it is, and the
// message goes as UCS-2.
func (r *renderer) foldData(s string) string {
	if !r.gsm {
		return s
	}
	clean := true
	for _, c := range s {
		if gsmCost(c) == 0 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, c := range s {
		if gsmCost(c) > 0 {
			b.WriteRune(c)
			continue
		}
		d := norm.NFD.String(string(c))
		base, _ := utf8.DecodeRuneInString(d)
		if rest := d[utf8.RuneLen(base):]; gsmCost(base) > 0 && onlyMarks(rest) {
			b.WriteRune(base)
		} else {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func onlyMarks(s string) bool {
	for _, c := range s {
		if !unicode.Is(unicode.Mn, c) {
			return false
		}
	}
	return true
}

// cut shortens s to keep characters, the last an ellipsis, when it is longer.
func (r *renderer) cut(s string, keep int) string {
	if utf8.RuneCountInString(s) <= keep {
		return s
	}
	ell := "…"
	if r.gsm {
		ell = "..."
	}
	n := keep - utf8.RuneCountInString(ell)
	if n <= 0 {
		return ell
	}
	i := 0
	for j := range s {
		if i == n {
			return strings.TrimRight(s[:j], " ") + ell
		}
		i++
	}
	return s
}

// Times, dates and quantities in the language's words and digits, written
// into the arena.

// clock is a time of day, hh:mm: the minute it is in (a time to be
// somewhere by is never told later than it is).
func (r *renderer) clock(t time.Time) []byte {
	t = t.In(r.loc)
	start := len(r.arena)
	r.arena = r.c.num.Clock(r.arena, t.Hour(), t.Minute())
	return r.keep(start)
}

func (r *renderer) date(t time.Time) []byte {
	t = t.In(r.loc)
	return r.sub(kDate, 0, textb("weekday", r.sub(weekdayBase+msgKey(t.Weekday()), 0)),
		textb("day", r.int(t.Day())), textb("month", r.sub(monthBase+msgKey(t.Month()-1), 0)))
}

func (r *renderer) dateShort(t time.Time) []byte {
	t = t.In(r.loc)
	return r.sub(kDateShort, 0, textb("day", r.int(t.Day())), textb("month", r.sub(monthBase+msgKey(t.Month()-1), 0)))
}

func (r *renderer) dateTime(t time.Time) []byte {
	return r.sub(kDateTime, 0, textb("date", r.date(t)), textb("time", r.clock(t)))
}

// window is the report-by window, from (rounded up) to (rounded down);
// one time when they meet.
func (r *renderer) window(from, to time.Time) (f, t []byte, single bool) {
	up := from.Truncate(time.Minute)
	if !up.Equal(from) {
		up = up.Add(time.Minute)
	}
	return r.clock(up), r.clock(to), !up.Before(to.Truncate(time.Minute))
}

// distance is a walking distance as people read one: to 10 m below a
// kilometre, then in kilometres to one decimal.
func (r *renderer) distance(m int) []byte {
	if m < 995 {
		return r.sub(kUnitM, 0, textb("n", r.int(max(10, (m+5)/10*10))))
	}
	start := len(r.arena)
	r.arena = append(r.arena, r.c.num.Tenths(float64(m)/1000)...)
	return r.sub(kUnitKM, 0, textb("n", r.keep(start)))
}

// duration is a walk's duration in whole minutes, rounded up.
func (r *renderer) duration(s int) []byte {
	minutes := max(1, (s+59)/60)
	return r.sub(kUnitMin, minutes, textb("n", r.int(minutes)))
}

func (r *renderer) coords(p muster.InstructionPlace) []byte {
	start := len(r.arena)
	r.arena = append(r.arena, r.c.num.Coord(p.Lat)...)
	lat := r.keep(start)
	start = len(r.arena)
	r.arena = append(r.arena, r.c.num.Coord(p.Lon)...)
	return r.sub(kCoords, 0, textb("lat", lat), textb("lon", r.keep(start)))
}

// zoneName names the time zone the times are in: its city and its offset
// from UTC at t ("Kabul, UTC+04:30"). It is data: Latin script.
func (r *renderer) zoneName(t time.Time) string {
	name := r.loc.String()
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	_, off := t.In(r.loc).Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	b := make([]byte, 0, len(name)+12)
	if name != "UTC" && name != "Local" {
		b = append(b, strings.ReplaceAll(name, "_", " ")...)
		b = append(b, ", "...)
	}
	b = append(b, "UTC"...)
	b = append(b, sign, byte('0'+off/36000), byte('0'+off/3600%10), ':', byte('0'+off/600%6), byte('0'+off/60%10))
	return string(b)
}

func compassKey(bearing int) msgKey {
	b := ((bearing % 360) + 360) % 360
	return compassBase + msgKey((b*2+45)/90%8)
}

// codeWordIn returns a code word in language lang, plain or for HTML.
func codeWordIn(lang, word string, html bool) (string, error) {
	i, ok := codeWordIndex[word]
	if !ok {
		return "", muster.Errorf(muster.EINVALID, "code word %q is not in the word list", word)
	}
	c, err := catalogFor(lang)
	if err != nil {
		return "", err
	}
	if noteUse != nil {
		noteUse(codeWordBase + msgKey(i))
	}
	parts := c.msgs[codeWordBase+msgKey(i)][plural.Other].parts
	if len(parts) == 1 {
		if html {
			return parts[0].litHTML, nil
		}
		return parts[0].lit, nil
	}
	var b strings.Builder
	for _, p := range parts {
		if html {
			b.WriteString(p.litHTML)
		} else {
			b.WriteString(p.lit)
		}
	}
	return b.String(), nil
}

// Layout: the same calls write text and HTML.

func (r *renderer) heading(k msgKey, n int, args ...arg) {
	if r.html {
		r.b = append(r.b, "<h1>"...)
		r.b = r.appendMsg(r.b, k, n, args...)
		r.b = append(r.b, "</h1>\n"...)
		return
	}
	r.b = r.appendMsg(r.b, k, n, args...)
	r.b = append(r.b, '\n')
}

func (r *renderer) para(k msgKey, n int, args ...arg) {
	if r.html {
		r.b = append(r.b, "<p>"...)
		r.b = r.appendMsg(r.b, k, n, args...)
		r.b = append(r.b, "</p>\n"...)
		return
	}
	r.b = r.appendMsg(r.b, k, n, args...)
	r.b = append(r.b, '\n')
}

func (r *renderer) blank() {
	if !r.html {
		r.b = append(r.b, '\n')
	}
}

func (r *renderer) listStart(ordered bool) {
	if r.html {
		if ordered {
			r.b = append(r.b, "<ol>\n"...)
		} else {
			r.b = append(r.b, "<ul>\n"...)
		}
	}
}

func (r *renderer) listEnd(ordered bool) {
	if r.html {
		if ordered {
			r.b = append(r.b, "</ol>\n"...)
		} else {
			r.b = append(r.b, "</ul>\n"...)
		}
	}
}

// item writes a list item: numbered from 1 in an ordered list (n > 0),
// else with a bullet.
func (r *renderer) item(number int, k msgKey, args ...arg) {
	switch {
	case r.html:
		r.b = append(r.b, "<li>"...)
		r.b = r.appendMsg(r.b, k, 0, args...)
		r.b = append(r.b, "</li>\n"...)
		return
	case number > 0:
		r.b = r.c.num.appendDigits(r.b, number, 1)
		r.b = append(r.b, ". "...)
	default:
		r.b = append(r.b, "• "...)
	}
	r.b = r.appendMsg(r.b, k, 0, args...)
	r.b = append(r.b, '\n')
}

// long writes the long form of a household's or an escort's instruction.
func (r *renderer) long(in *muster.Instruction, m Message) error {
	verifyLink := m.Link
	word, err := codeWordIn(in.Language, in.CodeWord, r.html)
	if err != nil {
		return fmt.Errorf("instruction %s: %w", in.ID, err)
	}
	from, to, single := r.window(in.ReportFrom, in.ReportBy)
	escort := in.Audience == muster.AudienceEscort
	if escort && in.Escort == nil {
		return muster.Errorf(muster.EINVALID, "instruction %s: an escort's instruction without the gate", in.ID)
	}
	if escort {
		r.heading(kEscortTitle, 0)
		r.para(kEscortRecipient, 0, data("code", in.GroupCode))
	} else {
		r.heading(kTitle, 0)
		r.para(kRecipient, 0, data("household", in.Household))
		if in.Name != "" {
			r.para(kGreeting, 0, data("name", in.Name))
		}
	}
	if in.Supersedes != "" {
		r.para(kReplaces, 0, link("previous", in.Supersedes))
	}
	if in.Walk.Escape && !escort {
		r.para(kEscape, 0)
	}
	r.blank()
	r.para(kWhere, 0, data("rally", in.RallyPoint.Name), textb("coords", r.coords(in.RallyPoint)))
	date := r.date(in.ReportBy)
	switch {
	case escort:
		r.para(kEscortWhen, 0, textb("date", date), textb("from", from), textb("to", to))
	case single:
		r.para(kWhenAt, 0, textb("date", date), textb("time", to))
	default:
		r.para(kWhen, 0, textb("date", date), textb("from", from), textb("to", to))
	}
	r.para(kTimezone, 0, data("zone", r.zoneName(in.ReportBy)))
	if escort {
		b := in.Escort
		r.para(kGroup, 0, data("code", in.GroupCode))
		r.para(kEscortGroup, 0, textb("households", r.int(b.Households)), textb("people", r.int(in.People)))
		words := make([]arg, 0, len(languages))
		for _, l := range languages {
			if l.code == in.Language {
				words = append(words, text(l.code, word))
				continue
			}
			w, err := codeWordIn(l.code, in.CodeWord, false)
			if err != nil {
				return fmt.Errorf("instruction %s: %w", in.ID, err)
			}
			words = append(words, data(l.code, w))
		}
		r.para(kEscortCodeword, 0, words...)
		r.para(kEscortGate, 0, data("gate", b.Gate.Name), textb("coords", r.coords(b.Gate)))
		r.para(kEscortSchedule, 0, textb("departure", r.clock(b.Departure)), textb("arrival", r.clock(b.Arrival)), textb("through", r.clock(b.Through)))
	} else {
		r.para(kGroup, 0, data("code", in.GroupCode))
		r.para(kPeople, in.People, textb("n", r.int(in.People)))
		r.para(kCodeword, 0, text("word", word))
		if err := r.walk(in); err != nil {
			return err
		}
		if err := r.lists(in); err != nil {
			return err
		}
		r.blank()
		r.para(kWarning, 0)
	}
	if in.Contact.Phone != "" {
		r.para(kContactPhone, 0, link("phone", in.Contact.Phone))
	}
	if in.Contact.URL != "" {
		r.para(kContactURL, 0, link("url", in.Contact.URL))
	}
	if verifyLink != "" {
		r.para(kVerify, 0, link("link", verifyLink))
	}
	if m.Token != "" {
		r.para(kToken, 0, textb("token", r.verbatim(m.Token)))
	}
	if m.AckCode != "" {
		r.para(kAck, 0, data("code", m.AckCode))
	}
	r.para(kFooter, 0, link("id", in.ID), textb("issued", r.dateTime(in.IssuedAt)), textb("expires", r.dateTime(in.ExpiresAt)))
	return nil
}

// walk writes the walk and its directions.
func (r *renderer) walk(in *muster.Instruction) error {
	w := in.Walk
	if w.DurationS <= 0 && len(w.Steps) == 0 {
		return nil
	}
	r.blank()
	r.para(kWalk, 0, textb("duration", r.duration(w.DurationS)), textb("distance", r.distance(w.DistanceM)))
	if len(w.Steps) == 0 {
		return nil
	}
	r.para(kDirections, 0)
	r.listStart(true)
	var unnamed []byte
	for i, s := range w.Steps {
		k, ok := stepKey(s.Maneuver)
		if !ok {
			return muster.Errorf(muster.EINVALID, "instruction %s: step %d: unknown maneuver %q", in.ID, i+1, s.Maneuver)
		}
		if s.Maneuver == muster.ManeuverArrive {
			r.item(i+1, k, data("rally", in.RallyPoint.Name))
			continue
		}
		street := data("street", s.Street)
		if s.Street == "" {
			if unnamed == nil {
				unnamed = r.sub(kStreetUnnamed, 0)
			}
			street = textb("street", unnamed)
		}
		r.item(i+1, k, street, textb("distance", r.distance(s.DistanceM)), textb("compass", r.sub(compassKey(s.Bearing), 0)))
	}
	r.listEnd(true)
	return nil
}

// lists writes what to bring and what not to.
func (r *renderer) lists(in *muster.Instruction) error {
	for _, l := range []struct {
		heading msgKey
		prefix  string
		keys    []string
	}{{kBringHeading, "bring.", in.Bring}, {kDoNotBringHeading, "no.", in.DoNotBring}} {
		if len(l.keys) == 0 {
			continue
		}
		r.blank()
		r.para(l.heading, 0)
		r.listStart(false)
		for _, name := range l.keys {
			k, ok := keyByName[name]
			if !ok || !strings.HasPrefix(name, l.prefix) {
				return muster.Errorf(muster.EINVALID, "instruction %s: %q is not a %s item of the catalogs", in.ID, name, strings.TrimSuffix(l.prefix, "."))
			}
			r.item(0, k)
		}
		r.listEnd(false)
	}
	return nil
}

// short writes the short form with the names given (cut to fit).
func (r *renderer) short(in *muster.Instruction, m Message, rally, gate string) error {
	verifyLink := m.Link
	word, err := codeWordIn(in.Language, in.CodeWord, false)
	if err != nil {
		return fmt.Errorf("instruction %s: %w", in.ID, err)
	}
	if in.Audience == muster.AudienceEscort && in.Escort == nil {
		return muster.Errorf(muster.EINVALID, "instruction %s: an escort's instruction without the gate", in.ID)
	}
	if in.Supersedes != "" {
		r.b = r.appendMsg(r.b, kSMSUpdate, 0)
	}
	date := r.dateShort(in.ReportBy)
	// The names are cut already: no further limit.
	rallyArg := arg{name: "rally", val: rally, max: maxLinkRunes}
	if in.Audience == muster.AudienceEscort {
		// The escort is there before the first household may come.
		r.b = r.appendMsg(r.b, kSMSEscort, 0, data("code", in.GroupCode), rallyArg, textb("date", date), textb("time", r.clock(in.ReportFrom)),
			textb("departure", r.clock(in.Escort.Departure)), arg{name: "gate", val: gate, max: maxLinkRunes}, link("link", verifyLink))
		return nil
	}
	from, to, single := r.window(in.ReportFrom, in.ReportBy)
	window := to
	if !single {
		window = r.sub(kWindow, 0, textb("from", from), textb("to", to))
	}
	people := r.sub(kSMSPeople, in.People, textb("n", r.int(in.People)))
	r.b = r.appendMsg(r.b, kSMSBody, 0, rallyArg, textb("date", date), textb("window", window), data("code", in.GroupCode),
		textb("people", people), text("word", word), link("link", verifyLink))
	if m.AckCode != "" {
		// A code of digits needs no isolate (digits keep their order in
		// right-to-left text): two units of the SMS budget saved.
		code := data("code", m.AckCode)
		if isDigits(m.AckCode) {
			code = text("code", m.AckCode)
		}
		r.b = r.appendMsg(r.b, kSMSAck, 0, code)
	}
	return nil
}

// isDigits reports whether s is ASCII digits, at least one.
func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
