package places

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/muster-evac/muster/internal/testshared"

	"github.com/muster-evac/muster"
)

// shared returns the path of a file under the shared data directory next
// to the repository root, or skips the test when it is absent.
func shared(t testing.TB, rel string) string {
	t.Helper()
	return testshared.Path(t, rel)
}

func TestReadKabulPlaces(t *testing.T) {
	p, err := ReadFile(shared(t, "scenarios/kabul-2021/places.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Timezone != "Asia/Kabul" {
		t.Errorf("timezone %q", p.Timezone)
	}
	ix, err := NewIndex(p)
	if err != nil {
		t.Fatal(err)
	}
	gates, err := ix.Resolve("HKIA gates")
	if err != nil {
		t.Fatal(err)
	}
	if len(gates) != 4 {
		t.Fatalf("HKIA gates resolves to %d places, want 4", len(gates))
	}
	for _, g := range gates {
		if g.Kind != muster.PlaceGate || g.RadiusM != 250 || g.Status != muster.GateOpen {
			t.Errorf("gate %+v", g)
		}
	}
	for _, name := range []string{"the airport", "HKIA", "hkia", "Kabul  International-Airport", "airport"} {
		got, err := ix.Resolve(name)
		if name == "airport" {
			if err == nil {
				t.Errorf("%q resolved to %v, want an error", name, got[0].ID)
			}
			continue
		}
		if err != nil || len(got) != 1 || got[0].ID != "hkia" {
			t.Errorf("Resolve(%q) = %v, %v", name, got, err)
		}
	}
	_, err = ix.Resolve("Abbey Gat")
	if err == nil || !strings.Contains(err.Error(), `did you mean "Abbey Gate"`) || muster.ErrorCode(err) != muster.EINVALID {
		t.Errorf("Abbey Gat: %v", err)
	}
	_, err = ix.Resolve("Abey Gate")
	if err == nil || err.Error() != `unknown place "Abey Gate": did you mean "Abbey Gate"?` {
		t.Errorf("Abey Gate: %v", err)
	}
	_, err = ix.Resolve("Xyzzy Plugh Quux")
	if err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("far name: %v", err)
	}
}

func TestReadPortoAlegrePlaces(t *testing.T) {
	p, err := ReadFile(shared(t, "scenarios/porto-alegre-drill/places.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Places) != 65 {
		t.Fatalf("%d places, want 65", len(p.Places))
	}
	ix, err := NewIndex(p)
	if err != nil {
		t.Fatal(err)
	}
	g, err := ix.Resolve("airport gates")
	if err != nil || len(g) != 4 {
		t.Fatalf("airport gates: %v %v", g, err)
	}
	a, err := ix.Resolve("the airport")
	if err != nil || a[0].Kind != muster.PlaceAirport {
		t.Fatalf("the airport: %v %v", a, err)
	}
}

func TestNormalizeDiacritics(t *testing.T) {
	for _, c := range [][2]string{
		{"Praça  XV de Novembro", "praca xv de novembro"},
		{"Pul-e Khishti", "pul e khishti"},
		{"Ärztehaus Straße", "arztehaus strasse"},
		{"Cafe\u0301", "cafe"}, // combining accent
		{"  ", ""},
	} {
		if got := Normalize(c[0]); got != c[1] {
			t.Errorf("Normalize(%q) = %q, want %q", c[0], got, c[1])
		}
	}
}

func TestLevenshtein(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "", 3}, {"kitten", "sitting", 3}, {"abbey gat", "abbey gate", 1}, {"çé", "ce", 2}} {
		if got := Levenshtein(c.a, c.b, 0); got != c.d {
			t.Errorf("Levenshtein(%q,%q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
	if got := Levenshtein("aaaaaaaa", "bbbbbbbb", 3); got < 3 {
		t.Errorf("bounded distance %d < limit", got)
	}
}

func TestReadRejects(t *testing.T) {
	const head = `{"type":"FeatureCollection","timezone":"UTC","features":[`
	pt := `{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"id":"a","name":"A","kind":"gate"}}`
	cases := []struct{ doc, want string }{
		{`[]`, "not a GeoJSON FeatureCollection"},
		{`{"type":"Feature"}`, `type is "Feature"`},
		{`{"type":"FeatureCollection","timezone":"Mars/Olympus","features":[]}`, "timezone"},
		{head + `{"type":"Feature","geometry":{"type":"Point","coordinates":[200,2]},"properties":{"id":"a","name":"A","kind":"gate"}}]}`, "out of range"},
		{head + `{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"id":"a","name":"A","kind":"castle"}}]}`, "property kind"},
		{head + `{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"name":"A","kind":"gate"}}]}`, "property id missing"},
		{head + pt + `,` + strings.Replace(pt, `"name":"A"`, `"name":"B"`, 1) + `]}`, `id "a" is also`},
		{head + strings.Replace(pt, `"kind":"gate"`, `"kind":"gate","groups":["B"]`, 1) + `,` +
			strings.Replace(strings.Replace(pt, `"id":"a"`, `"id":"b"`, 1), `"name":"A"`, `"name":"B"`, 1) + `]}`, `also the name of a group it is not in`},
		{head + strings.Replace(pt, `"name":"A"`, `"name":"--"`, 1) + `]}`, "has no letters or digits"},
		{head + `{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]},"properties":{"id":"a","name":"A","kind":"area"}}]}`, "crosses itself"},
		{head + `{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0]]]},"properties":{"id":"a","name":"A","kind":"area"}}]}`, "at least 4"},
		{head + strings.Replace(pt, `"kind":"gate"`, `"kind":"gate","status":"ajar"`, 1) + `]}`, "property status"},
		{head + strings.Replace(pt, `"kind":"gate"`, `"kind":"gate","opens":"25:00","closes":"26:00"`, 1) + `]}`, "property opens"},
		{head + strings.Replace(pt, `"kind":"gate"`, `"kind":"gate","radius_m":-4`, 1) + `]}`, "property radius_m"},
	}
	for _, c := range cases {
		_, err := Read(strings.NewReader(c.doc), "test.geojson")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "test.geojson") {
			t.Errorf("%s\n got error %v, want one containing %q", c.doc, err, c.want)
		}
	}
}

func FuzzReadPlaces(f *testing.F) {
	for _, rel := range []string{"scenarios/kabul-2021/places.geojson"} {
		dir, _ := os.Getwd()
		if b, err := os.ReadFile(filepath.Join(dir, "..", "..", "shared", rel)); err == nil {
			f.Add(string(b))
		}
	}
	f.Add(`{"type":"FeatureCollection","timezone":"UTC","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"id":"a","name":"Ação","kind":"gate","groups":["g"],"aliases":["x"]}}]}`)
	f.Add(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]]]},"properties":{"id":"a","name":"A","kind":"area"}}]}`)
	f.Add(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"id":"a","name":"Junction","kind":"rally","groups":["J"]}},` +
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,3]},"properties":{"id":"b","name":"junction","aliases":["J"],"kind":"rally","groups":["J"]}}]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		p, err := Read(strings.NewReader(doc), "fuzz")
		if err != nil {
			return
		}
		ix, err := NewIndex(p)
		if err != nil {
			t.Fatalf("Read accepted a file NewIndex rejects: %v", err)
		}
		for i := range p.Places {
			pl := &p.Places[i]
			// Its id names it, and only it.
			if got, err := ix.ResolveID(pl.ID); err != nil || got != pl {
				t.Fatalf("own id %q resolves to %v, %v", pl.ID, got, err)
			}
			// Its name stands for it: alone, in its group, or among the
			// candidates of an ambiguous name.
			got, err := ix.Resolve(pl.Name)
			var amb *AmbiguousError
			switch {
			case err == nil:
				if !slices.Contains(got, pl) {
					t.Fatalf("own name %q resolves to %d places, not to %q", pl.Name, len(got), pl.ID)
				}
			case errors.As(err, &amb):
				if len(amb.Places) < 2 || !slices.Contains(amb.Places, pl) || muster.ErrorCode(err) != muster.EINVALID {
					t.Fatalf("own name %q ambiguous without %q among %d candidates: %v", pl.Name, pl.ID, len(amb.Places), err)
				}
			default:
				t.Fatalf("own name %q does not resolve: %v", pl.Name, err)
			}
			_, _ = ix.Resolve(pl.Name + "x")
			if _, err := ix.ResolveID(pl.ID + "x"); err == nil && ix.places.Places[ix.byID[pl.ID+"x"]].ID != pl.ID+"x" {
				t.Fatalf("id %q resolves to another place", pl.ID+"x")
			}
		}
	})
}
