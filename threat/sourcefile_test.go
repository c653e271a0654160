package threat

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
)

const goodSource = `{"id": "tg-abbey-17", "name": "Telegram account 17", "kind": "social", "reliability": "F", "hostile": true, "cluster": "abbey-open", "note": "one of forty new accounts", "updated_at": "2021-08-26T14:05:00Z", "updated_by": "amina"}`

func TestParseSourceLineFields(t *testing.T) {
	l, err := ParseSourceLine([]byte(goodSource))
	if err != nil {
		t.Fatal(err)
	}
	want := muster.SourceGrade{ID: "tg-abbey-17", Name: "Telegram account 17", Kind: "social", Reliability: "F", Hostile: true,
		Cluster: "abbey-open", Note: "one of forty new accounts", UpdatedAt: time.Date(2021, 8, 26, 14, 5, 0, 0, time.UTC), UpdatedBy: "amina"}
	if l.Deleted || !reflect.DeepEqual(l.Grade, want) {
		t.Fatalf("parsed %+v", l)
	}
	if l, err := ParseSourceLine([]byte(`{"id": "x"}`)); err != nil || l.Grade != (muster.SourceGrade{ID: "x"}) {
		t.Fatalf("an id alone: %+v %v", l, err)
	}
	if l, err := ParseSourceLine([]byte(`{"id": "x", "deleted": true, "note": "merged into y", "updated_by": "amina"}`)); err != nil || !l.Deleted || l.Grade.Note != "merged into y" {
		t.Fatalf("a deleted line: %+v %v", l, err)
	}
	for _, c := range []struct {
		line, field, reason string
	}{
		{`{"id": "x", "reliabilty": "B"}`, "reliabilty", "not a source registry field"},
		{`{"ID": "x"}`, "ID", "not a source registry field"},
		{`{"id": "x", "Hostile": true}`, "Hostile", "not a source registry field"},
		{`{"id": "x", "reliability": "B", "reliability": "E"}`, "reliability", "twice"},
		{`{"id": "x", "id": "y"}`, "id", "twice"},
		{`{"id": "x", "hostile": null}`, "hostile", "null"},
		{`{"id": null}`, "id", "null"},
		{`{"id": "x", "hostile": "yes"}`, "hostile", "true or false"},
		{`{"id": "x", "reliability": 2}`, "reliability", "want a string"},
		{`{"id": {"nested": [1, {"a": 2}]}}`, "id", "want a string"},
		{`{"id": "x", "reliability": "G"}`, "reliability", "Admiralty"},
		{`{"id": "x", "kind": "rumour"}`, "kind", "not one of"},
		{`{"name": "no id"}`, "id", "missing"},
		{`{"id": "  "}`, "id", "missing"},
		{`{"id": "a\u0000b"}`, "id", "control character"},
		{`{"id": "` + strings.Repeat("x", MaxIDBytes+1) + `"}`, "id", "more than 200"},
		{`{"id": "x", "cluster": " "}`, "cluster", "blank"},
		{`{"id": "x", "name": "\u001b[31mred"}`, "name", "control character"},
		{`{"id": "x", "note": "` + strings.Repeat("n", muster.MaxSourceNoteBytes+1) + `"}`, "note", "more than"},
		{`{"id": "x", "updated_at": "yesterday"}`, "updated_at", "RFC 3339"},
		{`{"id": "x", "updated_by": "a\u0007"}`, "updated_by", "control character"},
		{`{"id": "x", "deleted": true, "reliability": "B"}`, "reliability", "a deleted line carries only"},
		{`{"id": "x", "deleted": true, "hostile": false}`, "hostile", "a deleted line carries only"},
		{`{"id": "x"} {"id": "y"}`, "", "more than one JSON value"},
		{`["x"]`, "", "not a JSON object"},
		{`"x"`, "", "not a JSON object"},
		{`{"id": "x", "note": "cut sho`, "note", "breaks off"},
		{`{"id": "x",}`, "id", "breaks off"},
	} {
		_, err := ParseSourceLine([]byte(c.line))
		fe, ok := err.(*FieldError)
		if !ok || fe.Field != c.field || !strings.Contains(fe.Reason, c.reason) {
			t.Errorf("%.80s\n  error %v, want one on field %q saying %q", c.line, err, c.field, c.reason)
		}
	}
}

func TestParseSourcesIsALog(t *testing.T) {
	lines := []string{
		`{"id": "us-defense-official", "kind": "official", "reliability": "B"}`,
		goodSource,
		``,
		`{"id": "tg-abbey-17", "reliability": "Z"}`, // rejected: the grade above stands
		`{"id": "caller-5", "reliability": "E"}` + "\r",
		`{"id": "us-defense-official", "kind": "official", "reliability": "C", "note": "relayed a forged order"}`,
		`{"id": "caller-5", "deleted": true}`,
		`{"id": "late", "note": "` + strings.Repeat("x", MaxSourceLineBytes) + `"}`,
		`not json`,
	}
	res, err := ParseSources(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, g := range res.Grades() {
		ids = append(ids, g.ID+":"+g.Reliability)
	}
	if strings.Join(ids, " ") != "tg-abbey-17:F us-defense-official:C" {
		t.Errorf("the registry the file ends with: %v", ids)
	}
	var rejected []string
	for _, r := range res.Rejected {
		rejected = append(rejected, r.Error())
	}
	want := []string{
		`line 4 (id "tg-abbey-17"): reliability: "Z" is not an Admiralty source grade`,
		`line 8 (id "late"): line longer than`,
		`line 9: not a JSON object`,
	}
	if len(rejected) != len(want) {
		t.Fatalf("rejected %q", rejected)
	}
	for i := range want {
		if r := rejected[i]; !strings.HasPrefix(r, want[i]) && !(i == 1 && strings.HasPrefix(r, "line 8: line longer than")) {
			t.Errorf("rejection %d: %q, want %q...", i, r, want[i])
		}
	}
	if err := res.Err("sources.jsonl"); muster.ErrorCode(err) != muster.EINVALID || !strings.Contains(err.Error(), "line 4") || !strings.Contains(err.Error(), "2 more") {
		t.Errorf("Err: %v", err)
	}
	if res.Lines[len(res.Lines)-1].Line != 7 {
		t.Errorf("line numbers count blank and bad lines: %+v", res.Lines)
	}
}

func TestParseSourcesTooLarge(t *testing.T) {
	// Blank lines of 8 KB: a file of nothing but white space.
	blanks := func(n int64) io.Reader {
		return io.LimitReader(&repeatReader{pattern: []byte(strings.Repeat(" ", 8191) + "\n")}, n)
	}
	if _, err := ParseSources(blanks(MaxSourceFileBytes + 10)); muster.ErrorCode(err) != muster.EINVALID || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("a file over the limit: %v", err)
	}
	if res, err := ParseSources(blanks(MaxSourceFileBytes)); err != nil || len(res.Lines)+len(res.Rejected) != 0 {
		t.Fatalf("a file at the limit: %v", err)
	}
}

type repeatReader struct {
	pattern []byte
	off     int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.pattern[r.off]
		r.off = (r.off + 1) % len(r.pattern)
	}
	return len(p), nil
}

func TestMarshalSourceLineRoundTrip(t *testing.T) {
	for _, l := range []SourceLine{
		{Grade: muster.SourceGrade{ID: "د-۱", Name: "<b>Kabul & co</b> \"quoted\"", Kind: muster.SourceMedia, Reliability: "A", Hostile: true,
			Cluster: "c\t1", Note: "line one\nline two \u2028", UpdatedAt: time.Date(2021, 8, 26, 14, 5, 0, 123456000, time.UTC), UpdatedBy: "cli:amina"}},
		{Grade: muster.SourceGrade{ID: "bare"}},
		{Grade: muster.SourceGrade{ID: "gone", Note: "merged", UpdatedAt: time.Date(2021, 8, 27, 0, 0, 0, 0, time.UTC), UpdatedBy: "amina"}, Deleted: true},
	} {
		b, err := MarshalSourceLine(l)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.ContainsAny(b, "\n\r") {
			t.Fatalf("not one line: %s", b)
		}
		back, err := ParseSourceLine(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(back, l) {
			t.Errorf("round trip:\n %+v\n %+v\n %s", l, back, b)
		}
	}
	if _, err := MarshalSourceLine(SourceLine{Grade: muster.SourceGrade{ID: "x", Reliability: "G"}}); muster.ErrorCode(err) != muster.EINVALID {
		t.Errorf("a bad grade was written: %v", err)
	}
	// A deleted line drops the grade fields.
	b, _ := MarshalSourceLine(SourceLine{Grade: muster.SourceGrade{ID: "x", Reliability: "B", Hostile: true}, Deleted: true})
	if string(b) != `{"id":"x","deleted":true}` {
		t.Errorf("deleted line %s", b)
	}
}

func TestAppendSourceLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sources.jsonl")
	// A write cut short: the file ends mid-line.
	if err := os.WriteFile(path, []byte(goodSource+"\n"+`{"id": "cut", "relia`), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	at := time.Date(2021, 8, 27, 9, 0, 0, 0, time.UTC)
	if err := AppendSourceLines(f, []SourceLine{
		{Grade: muster.SourceGrade{ID: "tg-abbey-17", Reliability: "E", Hostile: true, UpdatedAt: at, UpdatedBy: "amina"}},
		{Grade: muster.SourceGrade{ID: "us-defense-official", Reliability: "B", UpdatedAt: at}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := AppendSourceLines(f, []SourceLine{{Grade: muster.SourceGrade{ID: "x", Kind: "rumour"}}}); muster.ErrorCode(err) != muster.EINVALID {
		t.Fatalf("appending a bad grade: %v", err)
	}
	res, err := ReadSourceFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejected) != 1 || res.Rejected[0].Line != 2 || len(res.Lines) != 3 {
		t.Fatalf("the cut line should be rejected alone: %+v", res)
	}
	g := res.Grades()
	if len(g) != 2 || g[0].Reliability != "E" || g[0].UpdatedBy != "amina" || !g[0].UpdatedAt.Equal(at) {
		t.Fatalf("grades %+v", g)
	}
	if empty, err := ReadSourceFile(filepath.Join(t.TempDir(), "absent.jsonl")); err != nil || len(empty.Grades()) != 0 {
		t.Fatalf("an absent file: %+v %v", empty, err)
	}
}

func FuzzParseSources(f *testing.F) {
	f.Add([]byte(goodSource))
	f.Add([]byte(goodSource + "\n" + `{"id": "tg-abbey-17", "deleted": true}` + "\n\n" + `{"id":"x","reliability":"B","reliability":"C"}`))
	f.Add([]byte(`{"id": "a", "hostile": null, "note": "x`))
	f.Add([]byte(`{"id": {"a": [1, {"b": null}]}, "ID": "x"}`))
	f.Add([]byte(`{"id": "a\u0000", "updated_at": "0001-01-01T00:00:00Z"}` + "\r\n" + `[]`))
	f.Add([]byte(`{"id": "x", "deleted": false, "cluster": "\u2028"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ParseSources(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		lines := 0
		for _, l := range bytes.Split(data, []byte("\n")) {
			// A line over the limit is rejected even if it is blank.
			if len(bytes.TrimSpace(l)) > 0 || len(bytes.TrimRight(l, "\r")) > MaxSourceLineBytes {
				lines++
			}
		}
		if len(res.Lines)+len(res.Rejected) != lines {
			t.Fatalf("%d lines, %d accepted, %d rejected", lines, len(res.Lines), len(res.Rejected))
		}
		for _, r := range res.Rejected {
			if _, ok := r.Err.(*FieldError); !ok {
				t.Fatalf("line %d: error %T is not a FieldError: %v", r.Line, r.Err, r.Err)
			}
		}
		// What is accepted is valid, re-encodes to itself, and a picture
		// built under the registry it ends with builds.
		for _, l := range res.Lines {
			if err := l.Grade.Validate(); err != nil {
				t.Fatalf("line %d accepted but not valid: %v", l.Line, err)
			}
			enc, err := MarshalSourceLine(l)
			if err != nil {
				t.Fatalf("line %d: %v", l.Line, err)
			}
			back, err := ParseSourceLine(enc)
			if err != nil {
				t.Fatalf("re-encoded line rejected: %v\n%s", err, enc)
			}
			back.Line = l.Line
			if !reflect.DeepEqual(back, l) {
				t.Fatalf("round trip differs:\n%+v\n%+v", l, back)
			}
		}
		grades := res.Grades()
		if len(grades) == 0 {
			return
		}
		rep, err := ParseReport([]byte(`{"id": "r1", "received_at": "2021-08-26T13:00:00Z", "source": {"id": "x", "kind": "public"}, "reliability": "B", "credibility": 2, "kind": "explosion", "claim": "present", "likelihood": "almost certain", "severity": 5, "area": {"point": [69.2, 34.56], "radius_m": 300}, "text": "blast"}`),
			ParseOptions{Now: time.Date(2021, 8, 27, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		rep.Source.ID = grades[0].ID
		if _, err := Build([]muster.Report{rep}, nil, rep.ReceivedAt.Add(time.Hour), DefaultPolicy(), WithSources(NewSources(grades))); err != nil {
			t.Fatal(err)
		}
	})
}
