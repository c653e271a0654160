package threat

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/muster-evac/muster"
)

// The source registry file: JSON Lines, one source a line, in the field
// names of the API:
//
//	{"id": "tg-17", "name": "Telegram account 17", "kind": "social", "reliability": "F", "hostile": true,
//	 "cluster": "abbey-open", "note": "one of forty new accounts", "updated_at": "2021-08-26T14:05:00Z", "updated_by": "amina"}
//	{"id": "tg-17", "deleted": true, "updated_at": "2021-08-27T09:00:00Z", "updated_by": "amina"}
//
// The file is a log: a change appends a line, the last line for an id is
// its grade, and a line with "deleted": true ends it, so the file keeps
// its own history. Only id is required; name, kind, reliability, hostile,
// cluster and note left out are empty (not graded). A deleted line carries
// only id, deleted, note (the reason), updated_at and updated_by.

// Limits on a source registry file, so that hostile input cannot exhaust
// memory: a line is far shorter than MaxSourceLineBytes even with every
// field at its limit and escaped.
const (
	MaxSourceLineBytes = 16 << 10
	MaxSourceFileBytes = 64 << 20
	// MaxUpdatedByBytes bounds updated_by: an operator's name, or
	// "cli:" and an OS user's.
	MaxUpdatedByBytes = 1000
)

// SourceLine is one line of a registry file: the grade of source Grade.ID
// from then on or, if Deleted, the end of its grade (Grade then holds only
// ID, Note, UpdatedAt and UpdatedBy).
type SourceLine struct {
	Line    int // 1-based line number in the file, when read from one
	Grade   muster.SourceGrade
	Deleted bool
}

// SourceFile is what ParseSources read: the good lines and the rejected.
type SourceFile struct {
	Lines    []SourceLine // accepted lines, in file order
	Rejected []Rejection
}

// Grades returns the registry the file ends with: for each id its last
// line, unless that line deleted it; in id (byte) order.
func (f *SourceFile) Grades() []muster.SourceGrade {
	last := map[string]int{}
	for i, l := range f.Lines {
		last[l.Grade.ID] = i
	}
	var out []muster.SourceGrade
	for _, i := range last {
		if !f.Lines[i].Deleted {
			out = append(out, f.Lines[i].Grade)
		}
	}
	slices.SortFunc(out, func(a, b muster.SourceGrade) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Err returns nil if every line was accepted, else an EINVALID error
// naming the first rejected line and how many there are.
func (f *SourceFile) Err(name string) error {
	if len(f.Rejected) == 0 {
		return nil
	}
	more := ""
	if n := len(f.Rejected); n > 1 {
		more = fmt.Sprintf(" (and %d more bad lines)", n-1)
	}
	return muster.Errorf(muster.EINVALID, "source registry %s: %s%s", name, Safe(f.Rejected[0].Error()), more)
}

type sourceLineJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Reliability string `json:"reliability"`
	Hostile     bool   `json:"hostile"`
	Cluster     string `json:"cluster"`
	Note        string `json:"note"`
	UpdatedAt   string `json:"updated_at,omitempty"`
	UpdatedBy   string `json:"updated_by,omitempty"`
	Deleted     bool   `json:"deleted,omitempty"`
}

type deletedLineJSON struct {
	ID        string `json:"id"`
	Deleted   bool   `json:"deleted"`
	Note      string `json:"note,omitempty"`
	UpdatedAt string `json:"updated_at,omitempty"`
	UpdatedBy string `json:"updated_by,omitempty"`
}

// sourceFields are the keys of a registry line, exactly as spelt (the
// JSON decoder alone would take "ID" for "id").
var sourceFields = []string{"id", "name", "kind", "reliability", "hostile", "cluster", "note", "updated_at", "updated_by", "deleted"}

// gradeFields are the keys a deleted line may not carry.
var gradeFields = []string{"name", "kind", "reliability", "hostile", "cluster"}

// ParseSourceLine parses and validates one registry line, a JSON object:
// strictly (an unknown or misspelt field, a key given twice, a null, a
// value of the wrong type or a second value is an error). The error is a
// *FieldError naming the first wrong field.
func ParseSourceLine(data []byte) (SourceLine, error) {
	keys, ferr := checkKeys(data)
	if ferr != nil {
		return SourceLine{}, ferr
	}
	var lj sourceLineJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&lj); err != nil {
		return SourceLine{}, sourceDecodeError(data, err)
	}
	if dec.More() {
		return SourceLine{}, fieldErr("", "more than one JSON value on the line")
	}
	l := SourceLine{Deleted: lj.Deleted, Grade: muster.SourceGrade{ID: lj.ID, Name: lj.Name, Kind: lj.Kind,
		Reliability: lj.Reliability, Hostile: lj.Hostile, Cluster: lj.Cluster, Note: lj.Note, UpdatedBy: lj.UpdatedBy}}
	if field, reason := l.Grade.Problem(); field != "" {
		return SourceLine{}, fieldErr(field, "%s", reason)
	}
	if l.Deleted {
		for _, k := range gradeFields {
			if keys[k] {
				return SourceLine{}, fieldErr(k, "a deleted line carries only id, deleted, note, updated_at and updated_by")
			}
		}
	}
	var ferr2 *FieldError
	if l.Grade.UpdatedAt, ferr2 = parseTime("updated_at", lj.UpdatedAt, false); ferr2 != nil {
		return SourceLine{}, ferr2
	}
	if err := checkText("updated_by", lj.UpdatedBy, MaxUpdatedByBytes); err != nil {
		return SourceLine{}, err
	}
	return l, nil
}

// checkKeys reads the keys of a line's object: each must be a registry
// field, spelt exactly, given once, and not null. It returns the keys
// present. A line that is not a well-formed JSON object passes here: the
// decoder says what is wrong with it.
func checkKeys(data []byte) (map[string]bool, *FieldError) {
	keys := map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return keys, nil
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return keys, nil
		}
		key, ok := tok.(string)
		if !ok {
			return keys, nil
		}
		if !slices.Contains(sourceFields, key) {
			return keys, fieldErr(key, "is not a source registry field (%s)", strings.Join(sourceFields, ", "))
		}
		if keys[key] {
			return keys, fieldErr(key, "is given twice on the line")
		}
		keys[key] = true
		// The value: null is refused; an array or object is skipped whole
		// (the decoder then says it has the wrong type).
		tok, err = dec.Token()
		if err != nil {
			return keys, nil
		}
		switch tok {
		case nil:
			return keys, fieldErr(key, "is null: give a value, or leave the field out")
		case json.Delim('{'), json.Delim('['):
			for depth := 1; depth > 0; {
				t, err := dec.Token()
				if err != nil {
					return keys, nil
				}
				switch t {
				case json.Delim('{'), json.Delim('['):
					depth++
				case json.Delim('}'), json.Delim(']'):
					depth--
				}
			}
		}
	}
	return keys, nil
}

// sourceDecodeError turns a JSON decoding error into a FieldError naming
// the field where the line went wrong.
func sourceDecodeError(data []byte, err error) *FieldError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return fieldErr("", "not a JSON object but a JSON %s", te.Value)
		}
		want := "a string"
		if te.Type.Kind() == reflect.Bool {
			want = "true or false"
		}
		return fieldErr(te.Field, "is a JSON %s, want %s", te.Value, want)
	}
	if s := err.Error(); strings.HasPrefix(s, "json: unknown field ") {
		return fieldErr(strings.Trim(strings.TrimPrefix(s, "json: unknown field "), `"`), "is not a source registry field (%s)", strings.Join(sourceFields, ", "))
	}
	last := lastKey(data)
	if last == "" {
		return fieldErr("", "not a JSON object: %v", err)
	}
	return fieldErr(last, "the JSON breaks off at or after this field (%v)", err)
}

// ParseSources reads a registry file. Each bad line is rejected on its own
// with its line number, field and reason; the good ones are kept, in
// order. The error is for the input itself: it failed to read, or it is
// larger than MaxSourceFileBytes.
func ParseSources(r io.Reader) (*SourceFile, error) {
	lr := &io.LimitedReader{R: r, N: MaxSourceFileBytes + 1}
	br := bufio.NewReaderSize(lr, 64<<10)
	res := &SourceFile{}
	for line := 1; ; line++ {
		data, tooLong, err := readLineMax(br, MaxSourceLineBytes)
		if err != nil && err != io.EOF {
			return res, fmt.Errorf("line %d: %w", line, err)
		}
		if lr.N <= 0 {
			return res, muster.Errorf(muster.EINVALID, "the source registry is larger than %d bytes", MaxSourceFileBytes)
		}
		if tooLong {
			res.Rejected = append(res.Rejected, Rejection{Line: line, Err: fieldErr("", "line longer than %d bytes", MaxSourceLineBytes)})
		} else if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 {
			l, perr := ParseSourceLine(trimmed)
			if perr != nil {
				res.Rejected = append(res.Rejected, Rejection{Line: line, ID: peekID(trimmed), Err: perr, Input: string(trimmed)})
			} else {
				l.Line = line
				res.Lines = append(res.Lines, l)
			}
		}
		if err == io.EOF {
			return res, nil
		}
	}
}

// ReadSourceFile reads a registry file by name; an absent file is an
// empty registry.
func ReadSourceFile(path string) (*SourceFile, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return &SourceFile{}, nil
	}
	if err != nil {
		return nil, muster.Errorf(muster.EINVALID, "source registry: %v", err)
	}
	defer f.Close()
	sf, err := ParseSources(f)
	if err != nil {
		return nil, fmt.Errorf("source registry %s: %w", path, err)
	}
	return sf, nil
}

// readLineMax returns the next line without its newline; a line longer
// than max is skipped and reported as too long.
func readLineMax(br *bufio.Reader, max int) ([]byte, bool, error) {
	var buf []byte
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			buf = append(buf, chunk...)
			if len(bytes.TrimRight(buf, "\r\n")) > max {
				tooLong, buf = true, nil
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && err != io.EOF {
			return nil, false, err
		}
		if err == io.EOF && len(buf) == 0 && !tooLong {
			return nil, false, io.EOF
		}
		return bytes.TrimRight(buf, "\r\n"), tooLong, err
	}
}

// MarshalSourceLine encodes a registry line, without a trailing newline.
// It refuses a line that ParseSourceLine would reject, so that what is
// written always reads back as written.
func MarshalSourceLine(l SourceLine) ([]byte, error) {
	g := l.Grade
	at := ""
	if !g.UpdatedAt.IsZero() {
		at = g.UpdatedAt.UTC().Format(time.RFC3339Nano)
	}
	var v any = sourceLineJSON{ID: g.ID, Name: g.Name, Kind: g.Kind, Reliability: g.Reliability, Hostile: g.Hostile,
		Cluster: g.Cluster, Note: g.Note, UpdatedAt: at, UpdatedBy: g.UpdatedBy}
	if l.Deleted {
		v = deletedLineJSON{ID: g.ID, Deleted: true, Note: g.Note, UpdatedAt: at, UpdatedBy: g.UpdatedBy}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("source %s: %w", g.ID, err)
	}
	out := bytes.TrimRight(buf.Bytes(), "\n")
	if _, err := ParseSourceLine(out); err != nil {
		return nil, muster.Errorf(muster.EINVALID, "source %q: %v", g.ID, err)
	}
	if len(out) > MaxSourceLineBytes {
		return nil, muster.Errorf(muster.EINVALID, "source %q: the line would be %d bytes long, more than %d", g.ID, len(out), MaxSourceLineBytes)
	}
	return out, nil
}

// WriteSourceLine writes one registry line and its newline.
func WriteSourceLine(w io.Writer, l SourceLine) error {
	b, err := MarshalSourceLine(l)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// AppendSourceLines appends lines to a registry file open for reading and
// appending, then syncs it. The caller holds the file's lock. If the file
// does not end with a newline (a write cut short), one is added first, so
// the cut line stays a line of its own and is rejected on its own.
func AppendSourceLines(f *os.File, lines []SourceLine) error {
	var buf bytes.Buffer
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			buf.WriteByte('\n')
		}
	}
	for _, l := range lines {
		if err := WriteSourceLine(&buf, l); err != nil {
			return err
		}
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("appending to %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", f.Name(), err)
	}
	return nil
}
