package evacuees

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/muster-evac/muster"
)

// Defaults for Options left at zero.
const (
	DefaultMaxBytes = 64 << 20 // 64 MiB
	DefaultMaxRows  = 1_000_000
)

// Options tune Read. The zero value is usable.
type Options struct {
	// MaxRows is the most data rows a file may have (blank rows not
	// counted); 0 means DefaultMaxRows. A longer file is rejected whole.
	MaxRows int
	// MaxBytes is the largest file accepted; 0 means DefaultMaxBytes.
	MaxBytes int64
	// DefaultCountryCode ("+93") turns a national number with a leading 0
	// into E.164. Empty: such numbers are rejected, since guessing the
	// country of a phone number sends messages to strangers.
	DefaultCountryCode string
}

// RowError is one problem with one value of one row.
type RowError struct {
	Line   int    // line of the file where the row starts (the header is line 1)
	Column string // the column as the file names it; "" for the row as a whole
	Value  string // the offending value, shortened to 80 bytes; "" if empty
	Reason string // why, in words an operator can act on
}

// Error reads like: line 7, column "lat": "95.2" is out of range (latitude must be within -90..90).
func (e RowError) Error() string {
	switch {
	case e.Column == "":
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	case e.Value == "":
		return fmt.Sprintf("line %d, column %q: %s", e.Line, e.Column, e.Reason)
	}
	return fmt.Sprintf("line %d, column %q: %q %s", e.Line, e.Column, e.Value, e.Reason)
}

// Row is one data row: the household read from it and, if it is to be
// rejected, why. Household is filled as far as the row allowed even when
// Errors is not empty.
type Row struct {
	Line      int
	Household muster.Household
	Errors    []RowError
}

// OK reports whether the row can be imported.
func (r *Row) OK() bool { return len(r.Errors) == 0 }

// Result is what Read made of a file.
type Result struct {
	Name      string            // the name given to Read, for messages
	Header    []string          // the header as written in the file
	Separator rune              // ',', ';' or '\t'
	Mapping   map[string]string // file column -> canonical column (ColID, ...)
	Ignored   []string          // file columns that mean nothing to muster (kept out of Mapping)
	Present   []string          // canonical columns the file has, in the order of Columns
	Rows      []Row             // data rows in file order; blank rows are skipped
	Good, Bad int               // rows with and without errors
}

// carriedBy maps each canonical column to the registry fields a file with
// that column carries (see Result.Carries).
var carriedBy = map[string][]string{
	ColName:        {muster.FieldName},
	ColNameLocal:   {muster.FieldNameLocal},
	ColMembers:     {muster.FieldPartySize},
	ColAdults:      {muster.FieldPartySize, muster.FieldAdultsChildren},
	ColChildren:    {muster.FieldPartySize, muster.FieldAdultsChildren},
	ColMemberNames: {muster.FieldMembers, muster.FieldPartySize},
	ColPriority:    {muster.FieldPriority},
	ColLanguage:    {muster.FieldLanguage},
	ColPhone:       {muster.FieldPhone},
	ColEmail:       {muster.FieldEmail},
	ColLat:         {muster.FieldLocation},
	ColLon:         {muster.FieldLocation},
	ColAddress:     {muster.FieldAddress},
	ColEligibility: {muster.FieldEligibility},
	ColDocuments:   {muster.FieldDocuments},
	ColNotes:       {muster.FieldNotes},
}

// Carries returns the registry fields the file carries, for
// muster.ImportOptions.Carries: those it has a column for, whatever its
// rows hold (an empty cell in a column the file has clears the field). The
// package documentation says which column carries which field.
func (r *Result) Carries() []string {
	out := []string{} // not nil: nil would mean every field
	for _, f := range muster.RegistryFields {
		for _, col := range r.Present {
			if slices.Contains(carriedBy[col], f) {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// Households returns the households of the good rows.
func (r *Result) Households() []muster.Household {
	hs := make([]muster.Household, 0, r.Good)
	for i := range r.Rows {
		if r.Rows[i].OK() {
			hs = append(hs, r.Rows[i].Household)
		}
	}
	return hs
}

// Read reads an evacuee list. It returns an error (a *muster.Error with code
// EINVALID, naming the file) only when the file as a whole cannot be read:
// not text, no header, a required column missing, a column given twice, too
// large or too many rows. Every problem confined to a row is a RowError in
// that Row, and the other rows are still read.
func Read(r io.Reader, name string, opts Options) (*Result, error) {
	return ReadContext(context.Background(), r, name, opts)
}

// ReadContext is Read, stopping with ctx's error when ctx is done.
func ReadContext(ctx context.Context, r io.Reader, name string, opts Options) (*Result, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxRows <= 0 {
		opts.MaxRows = DefaultMaxRows
	}
	if cc := opts.DefaultCountryCode; cc != "" && !countryCode.MatchString(cc) {
		return nil, muster.Errorf(muster.EINVALID, "%s: default country code %q: want + and 1 to 3 digits, like +93", name, cc)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	lim := &limitReader{r: r, left: opts.MaxBytes}
	tooLarge := func() error {
		return muster.Errorf(muster.EINVALID, "%s: the file is larger than the limit of %d bytes", name, opts.MaxBytes)
	}
	br := bufio.NewReaderSize(lim, 64<<10)

	head, _ := br.Peek(3)
	switch {
	case bytes.HasPrefix(head, []byte("\xEF\xBB\xBF")):
		_, _ = br.Discard(3)
	case bytes.HasPrefix(head, []byte("\xFF\xFE")), bytes.HasPrefix(head, []byte("\xFE\xFF")):
		return nil, muster.Errorf(muster.EINVALID, "%s: the file is UTF-16 text; save it as CSV UTF-8", name)
	}
	first, err := br.Peek(br.Size())
	if lim.exceeded {
		return nil, tooLarge()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// A NUL byte near the start means an image, archive or spreadsheet
	// workbook (.xlsx is a zip), not text.
	if bytes.IndexByte(first[:min(len(first), 4096)], 0) >= 0 {
		return nil, muster.Errorf(muster.EINVALID, "%s: binary data at the start; this is not a CSV text file (a spreadsheet must be saved as CSV UTF-8)", name)
	}
	line, complete := firstLine(first)
	if !complete && len(first) == br.Size() {
		return nil, muster.Errorf(muster.EINVALID, "%s: line 1: the header is longer than %d bytes; is this a CSV file?", name, br.Size())
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return nil, muster.Errorf(muster.EINVALID, "%s: line 1: no header (the file is empty or starts with a blank line)", name)
	}
	if !utf8.Valid(line) {
		return nil, muster.Errorf(muster.EINVALID, "%s: line 1: the header is not valid UTF-8; save the file as CSV UTF-8", name)
	}

	res := &Result{Name: name, Separator: sniffSeparator(line), Mapping: map[string]string{}}
	cr := csv.NewReader(br)
	cr.Comma = res.Separator
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		if lim.exceeded {
			return nil, tooLarge()
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, muster.Errorf(muster.EINVALID, "%s: line %d: the header is not valid CSV: %v", name, pe.Line, pe.Err)
		}
		return nil, fmt.Errorf("%s: reading the header: %w", name, err)
	}
	p, err := newParser(name, header, res, opts)
	if err != nil {
		return nil, err
	}

	dataRows := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if lim.exceeded {
			return nil, tooLarge()
		}
		var row Row
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("%s: after line %d: %w", name, lastLine(res), err)
			}
			row = Row{Line: pe.StartLine, Errors: []RowError{{Line: pe.StartLine,
				Reason: fmt.Sprintf("is not valid CSV (line %d, column %d: %v)", pe.Line, pe.Column, pe.Err)}}}
		} else {
			if blank(rec) {
				continue
			}
			line, _ := cr.FieldPos(0)
			row = p.parse(line, rec)
		}
		dataRows++
		if dataRows > opts.MaxRows {
			return nil, muster.Errorf(muster.EINVALID, "%s: more than %d rows (the limit); split the file", name, opts.MaxRows)
		}
		if dataRows%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("%s: reading stopped at line %d: %w", name, row.Line, err)
			}
		}
		if row.OK() {
			res.Good++
		} else {
			res.Bad++
		}
		res.Rows = append(res.Rows, row)
	}
	return res, nil
}

func lastLine(res *Result) int {
	if len(res.Rows) == 0 {
		return 1
	}
	return res.Rows[len(res.Rows)-1].Line
}

var countryCode = regexp.MustCompile(`^\+[1-9][0-9]{0,2}$`)

// limitReader fails once more than left bytes have been read, so a huge
// upload is refused before it fills memory.
type limitReader struct {
	r        io.Reader
	left     int64
	exceeded bool
}

var errTooLarge = errors.New("file too large")

func (l *limitReader) Read(p []byte) (int, error) {
	if l.exceeded {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		l.exceeded = true
		return n, errTooLarge
	}
	return n, err
}

// firstLine returns the bytes of the first record of b (up to a newline
// outside quotes) and whether its end was seen.
func firstLine(b []byte) ([]byte, bool) {
	quoted := false
	for i, c := range b {
		switch {
		case c == '"':
			quoted = !quoted
		case c == '\n' && !quoted:
			return b[:i], true
		}
	}
	return b, false
}

// sniffSeparator picks the separator that occurs most often outside quotes
// in the header line; ties go to comma, then semicolon.
func sniffSeparator(line []byte) rune {
	counts := map[byte]int{}
	quoted := false
	for _, c := range line {
		switch {
		case c == '"':
			quoted = !quoted
		case !quoted && (c == ',' || c == ';' || c == '\t'):
			counts[c]++
		}
	}
	best := byte(',')
	for _, c := range []byte{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return rune(best)
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// parser turns records into households once the header is understood.
type parser struct {
	header       []string
	index        map[string]int // canonical column -> field index
	opts         Options
	decimalComma bool
	firstLineOf  map[string]int // household id -> line it first appeared on
}

func newParser(name string, header []string, res *Result, opts Options) (*parser, error) {
	p := &parser{index: map[string]int{}, opts: opts, decimalComma: res.Separator != ',', firstLineOf: map[string]int{}}
	for i, h := range header {
		h = strings.TrimSpace(h)
		header[i] = h
		if h == "" {
			continue
		}
		col, ok := headerAliases[normaliseHeader(h)]
		if !ok {
			res.Ignored = append(res.Ignored, h)
			continue
		}
		if j, dup := p.index[col]; dup {
			return nil, muster.Errorf(muster.EINVALID, "%s: line 1: columns %d (%q) and %d (%q) both mean %s; keep one",
				name, j+1, header[j], i+1, h, col)
		}
		p.index[col] = i
		res.Mapping[h] = col
	}
	p.header = slices.Clone(header)
	res.Header = p.header
	for _, col := range Columns {
		if _, ok := p.index[col]; ok {
			res.Present = append(res.Present, col)
		}
	}

	has := func(col string) bool { _, ok := p.index[col]; return ok }
	var missing []string
	if !has(ColID) {
		missing = append(missing, "a household id ("+ColID+")")
	}
	if !has(ColName) && !has(ColNameLocal) {
		missing = append(missing, "a name ("+ColName+" or "+ColNameLocal+")")
	}
	if !has(ColMembers) && !has(ColAdults) && !has(ColChildren) && !has(ColMemberNames) {
		missing = append(missing, "a party size ("+ColMembers+", or "+ColAdults+" and "+ColChildren+", or "+ColMemberNames+")")
	}
	if has(ColLat) != has(ColLon) {
		missing = append(missing, "both coordinates (only one of "+ColLat+" and "+ColLon+" is there)")
	} else if !has(ColLat) && !has(ColAddress) {
		missing = append(missing, "a location ("+ColLat+" and "+ColLon+", or "+ColAddress+")")
	}
	if !has(ColPhone) && !has(ColEmail) {
		missing = append(missing, "a contact ("+ColPhone+" or "+ColEmail+")")
	}
	if len(missing) > 0 {
		return nil, muster.Errorf(muster.EINVALID, "%s: line 1: the header has no column for %s (header: %s; see the evacuees package for accepted names)",
			name, strings.Join(missing, ", "), strings.Join(header, string(res.Separator)))
	}
	return p, nil
}

// shorten cuts v to 80 bytes at a rune boundary, for messages.
func shorten(v string) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	if len(v) <= 80 {
		return v
	}
	cut := 80
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut] + "…"
}

func (p *parser) parse(line int, rec []string) Row {
	row := Row{Line: line}
	fail := func(col, value, reason string) {
		name := ""
		if col != "" {
			name = p.header[p.index[col]]
		}
		row.Errors = append(row.Errors, RowError{Line: line, Column: name, Value: shorten(value), Reason: reason})
	}
	if len(rec) < len(p.header) {
		fail("", "", fmt.Sprintf("the row has %d fields, the header has %d", len(rec), len(p.header)))
		return row
	}
	if len(rec) > len(p.header) && !blank(rec[len(p.header):]) {
		fail("", "", fmt.Sprintf("the row has %d fields, the header has %d", len(rec), len(p.header)))
		return row
	}

	// Clean every mapped value first; a column with a broken value is
	// then treated as empty so one problem is reported once.
	var vals rowValues
	for _, col := range Columns {
		i, mapped := p.index[col]
		if !mapped {
			continue
		}
		v := rec[i]
		switch {
		case len(v) > MaxFieldBytes:
			fail(col, v, fmt.Sprintf("is too large (%d bytes; a field has at most %d)", len(v), MaxFieldBytes))
			continue
		case !utf8.ValidString(v):
			fail(col, v, "is not valid UTF-8 (save the file as CSV UTF-8)")
			continue
		}
		v = strings.TrimSpace(unneutralise(strings.TrimSpace(v)))
		if col == ColAddress || col == ColNotes {
			v = strings.ReplaceAll(strings.ReplaceAll(v, "\r\n", "\n"), "\r", "\n")
		}
		vals.set(col, v)
	}
	h := &row.Household

	h.ID = vals.get(ColID)
	switch {
	case h.ID == "":
		if vals.has(ColID) {
			fail(ColID, "", "is empty: every household needs an id")
		}
	default:
		if why := checkID(h.ID); why != "" {
			fail(ColID, h.ID, why)
		} else if first, dup := p.firstLineOf[h.ID]; dup {
			fail(ColID, h.ID, fmt.Sprintf("is a duplicate: household %s is already on line %d", h.ID, first))
		} else {
			p.firstLineOf[h.ID] = line
		}
	}

	h.Name, h.NameLocal = vals.get(ColName), vals.get(ColNameLocal)
	for _, c := range []struct{ col, v string }{{ColName, h.Name}, {ColNameLocal, h.NameLocal}} {
		if why := checkName(c.v); why != "" {
			fail(c.col, c.v, why)
		}
	}
	if h.Name == "" && h.NameLocal == "" && !p.brokenAny(&vals, ColName, ColNameLocal) {
		fail("", "", "no name: both name and name_local are empty")
	}

	list, listOK := p.memberList(&vals, fail)
	if p.partySize(&vals, h, len(list), listOK, fail) && len(list) > 0 {
		p.members(&vals, h, list, fail)
	}

	h.Priority = muster.PriorityNone
	if v := vals.get(ColPriority); v != "" {
		if w, ok := pickWord(v, muster.Priorities); ok {
			h.Priority = w
		} else {
			fail(ColPriority, v, "is not a known priority (accepted: "+strings.Join(muster.Priorities, ", ")+"; empty means none)")
		}
	}
	if v := vals.get(ColLanguage); v != "" {
		if code, ok := languageNames[strings.ToLower(v)]; ok {
			h.Language = code
		} else {
			fail(ColLanguage, v, "is not a supported language (accepted: en or English, fa or Dari/Farsi/Persian/دری, ps or Pashto/پښتو)")
		}
	}
	if v := vals.get(ColEligibility); v != "" {
		if w, ok := pickWord(v, muster.Eligibilities); ok {
			h.Eligibility = w
		} else {
			fail(ColEligibility, v, "is not a known eligibility category (accepted: "+strings.Join(muster.Eligibilities, ", ")+")")
		}
	}
	if v := vals.get(ColDocuments); v != "" {
		if w, ok := pickWord(v, DocumentStatuses); ok {
			h.Documents = w
		} else {
			fail(ColDocuments, v, "is not a known documents status (accepted: "+strings.Join(DocumentStatuses, ", ")+")")
		}
	}

	if v := vals.get(ColPhone); v != "" {
		if e164, why := normalisePhone(v, p.opts.DefaultCountryCode); why != "" {
			fail(ColPhone, v, why)
		} else {
			h.Phone = e164
		}
	}
	if v := vals.get(ColEmail); v != "" {
		if why := checkEmail(v); why != "" {
			fail(ColEmail, v, why)
		} else {
			h.Email = v
		}
	}
	if vals.get(ColPhone) == "" && vals.get(ColEmail) == "" && !p.brokenAny(&vals, ColPhone, ColEmail) {
		fail("", "", "no way to contact: both phone and e-mail are empty")
	}

	h.Address = vals.get(ColAddress)
	if why := checkText(h.Address, true); why != "" {
		fail(ColAddress, h.Address, why)
	}
	h.Notes = vals.get(ColNotes)
	if why := checkText(h.Notes, true); why != "" {
		fail(ColNotes, h.Notes, why)
	}
	p.location(&vals, h, fail)
	return row
}

// brokenAny reports whether one of cols is mapped but its value was
// rejected already (too large, bad UTF-8), so "empty" is not the problem.
func (p *parser) brokenAny(vals *rowValues, cols ...string) bool {
	for _, c := range cols {
		if _, mapped := p.index[c]; !mapped {
			continue
		}
		if !vals.has(c) {
			return true
		}
	}
	return false
}

// partySize reads members, adults and children: members alone, or adults
// and children (their sum), or all three when they agree; when all three
// are empty, the number of people listed (listed, from member_names) is the
// party size. It reports whether the party size was read.
func (p *parser) partySize(vals *rowValues, h *muster.Household, listed int, listOK bool, fail func(col, value, reason string)) bool {
	var n [3]int
	var given [3]bool
	ok := true
	for i, col := range []string{ColMembers, ColAdults, ColChildren} {
		v := vals.get(col)
		if v == "" {
			ok = ok && !p.brokenAny(vals, col)
			continue
		}
		c, why := parseCount(v)
		if why != "" {
			fail(col, v, why)
			ok = false
			continue
		}
		n[i], given[i] = c, true
	}
	if !ok {
		return false
	}
	members, adults, children := n[0], n[1], n[2]
	sizeCol := ColMembers
	switch {
	case given[0] && given[1] && given[2]:
		if adults+children != members {
			fail(ColMembers, vals.get(ColMembers), fmt.Sprintf("does not match adults + children (%d + %d = %d)", adults, children, adults+children))
			return false
		}
	case given[0] && given[1]:
		if adults > members {
			fail(ColAdults, vals.get(ColAdults), fmt.Sprintf("is more than the %d members", members))
			return false
		}
		children = members - adults
	case given[0] && given[2]:
		if children > members {
			fail(ColChildren, vals.get(ColChildren), fmt.Sprintf("is more than the %d members", members))
			return false
		}
		adults = members - children
	case given[0]:
	case given[1] || given[2]:
		members = adults + children
		sizeCol = ColAdults
		if !given[1] {
			sizeCol = ColChildren
		}
	case listed > 0:
		members, sizeCol = listed, ColMemberNames
	case !listOK:
		return false // the member list was rejected already
	default:
		what := "members, adults and children are all empty"
		if _, mapped := p.index[ColMemberNames]; mapped {
			what = "members, adults, children and member_names are all empty"
		}
		fail("", "", "no party size: "+what)
		return false
	}
	if _, mapped := p.index[sizeCol]; !mapped {
		sizeCol = ""
	}
	switch {
	case members < 1:
		fail(sizeCol, vals.get(sizeCol), "makes a party of zero: a household has at least 1 person")
		return false
	case members > MaxPartySize:
		fail(sizeCol, vals.get(sizeCol), fmt.Sprintf("makes a party of %d: a household has at most %d people (split it, or check for a typo)", members, MaxPartySize))
		return false
	}
	h.PartySize, h.Adults, h.Children = members, adults, children
	return true
}

// memberList reads member_names; ok is false when the cell was rejected.
func (p *parser) memberList(vals *rowValues, fail func(col, value, reason string)) (list []muster.Member, ok bool) {
	v := vals.get(ColMemberNames)
	if v == "" {
		return nil, !p.brokenAny(vals, ColMemberNames)
	}
	ms, why := parseMembers(v)
	if why != "" {
		fail(ColMemberNames, v, why)
		return nil, false
	}
	return ms, true
}

// members checks a member list against the party size already read, and
// fills adults and children from the members' ages when the row has none
// and every member has an age or band.
func (p *parser) members(vals *rowValues, h *muster.Household, list []muster.Member, fail func(col, value, reason string)) {
	v := vals.get(ColMemberNames)
	h.Members = list
	if len(list) != h.PartySize {
		from := "members says"
		if vals.get(ColMembers) == "" {
			from = "adults + children make"
		}
		fail(ColMemberNames, v, fmt.Sprintf("lists %d people, but %s %d", len(list), from, h.PartySize))
		return
	}
	adults, children, known := ageSplit(list)
	if h.Adults+h.Children == 0 { // adults and children not given
		if known == len(list) {
			h.Adults, h.Children = adults, children
		}
		return
	}
	if adults > h.Adults || children > h.Children {
		some := "at least "
		if known == len(list) {
			some = ""
		}
		fail(ColMemberNames, v, fmt.Sprintf("gives %s%d adults and %d children by age (a child is under 18, or \"child\"), but the row has %d adults and %d children",
			some, adults, children, h.Adults, h.Children))
	}
}

// location reads lat and lon (both or neither); a household needs
// coordinates or an address, or no one can plan its way out.
func (p *parser) location(vals *rowValues, h *muster.Household, fail func(col, value, reason string)) {
	latS, lonS := vals.get(ColLat), vals.get(ColLon)
	if p.brokenAny(vals, ColLat, ColLon) {
		return
	}
	switch {
	case latS == "" && lonS == "":
		if h.Address == "" && !p.brokenAny(vals, ColAddress) {
			fail("", "", "no location: no coordinates and no address")
		}
		return
	case latS == "":
		fail(ColLat, "", "is missing while the longitude is given (give both coordinates or neither)")
		return
	case lonS == "":
		fail(ColLon, "", "is missing while the latitude is given (give both coordinates or neither)")
		return
	}
	lat, why1 := parseCoord(latS, p.decimalComma, 90, "latitude")
	if why1 != "" {
		fail(ColLat, latS, why1)
	}
	lon, why2 := parseCoord(lonS, p.decimalComma, 180, "longitude")
	if why2 != "" {
		fail(ColLon, lonS, why2)
	}
	if why1 != "" || why2 != "" {
		return
	}
	if math.Abs(lat) < 1e-6 && math.Abs(lon) < 1e-6 {
		fail(ColLat, latS, fmt.Sprintf("with longitude %q is 0,0, \"null island\" in the Gulf of Guinea: almost surely a missing value (leave both empty if unknown)", lonS))
		return
	}
	h.Lat, h.Lon, h.HasLocation = lat, lon, true
}

// formatCoord writes a coordinate so that ParseFloat gives it back exactly.
func formatCoord(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// colPos is the position of each canonical column in Columns.
var colPos = func() map[string]int {
	m := map[string]int{}
	for i, c := range Columns {
		m[c] = i
	}
	return m
}()

// rowValues holds a row's cleaned values by canonical column; a column is
// absent when it is not in the file or its value was rejected outright. An
// array, not a map: one map per row was half of Read's allocations.
type rowValues struct {
	v       [numColumns]string
	present [numColumns]bool
}

func (r *rowValues) set(col, v string)     { i := colPos[col]; r.v[i], r.present[i] = v, true }
func (r *rowValues) get(col string) string { return r.v[colPos[col]] }
func (r *rowValues) has(col string) bool   { return r.present[colPos[col]] }
