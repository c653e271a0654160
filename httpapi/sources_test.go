package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/threat"
)

// TestSourcesAPI: analysts grade sources through the API; a grade reads
// back as put, a PUT replaces the whole grade, a bad body is refused with
// the field and changes nothing, and every change is audited by whom and
// with what it changed.
func TestSourcesAPI(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		e := newEnv(t, open(t), nil)
		if b := e.do("viewer", "GET", "/api/sources", nil, 200, nil); !bytes.Contains(b, []byte(`"sources":[]`)) {
			t.Fatalf("an empty registry: %s", b)
		}
		var flood, official sourceJSON
		e.do("planner", "PUT", "/api/sources/tg-abbey-17", []byte(`{"name":"Telegram account 17","kind":"social","reliability":"F","hostile":true,"cluster":"abbey-open","note":"one of forty new accounts"}`), 200, &flood)
		if flood.ID != "tg-abbey-17" || flood.Reliability != "F" || !flood.Hostile || flood.Cluster != "abbey-open" || flood.UpdatedBy != "planner-user" ||
			time.Since(flood.UpdatedAt) > time.Minute {
			t.Fatalf("put returned %+v", flood)
		}
		e.do("admin", "PUT", "/api/sources/us-defense-official", []byte(`{"id":"us-defense-official","kind":"official","reliability":"B"}`), 200, &official)
		var list sourcesResponse
		e.do("viewer", "GET", "/api/sources", nil, 200, &list)
		if want := []sourceJSON{flood, official}; !sameSources(list.Sources, want) {
			t.Fatalf("read back:\n got %+v\nwant %+v", list.Sources, want)
		}

		// A PUT replaces the whole grade: what it leaves out is cleared.
		var replaced sourceJSON
		e.do("admin", "PUT", "/api/sources/tg-abbey-17", []byte(`{"reliability":"E"}`), 200, &replaced)
		if replaced.Reliability != "E" || replaced.Hostile || replaced.Cluster != "" || replaced.Name != "" || replaced.UpdatedBy != "admin-user" {
			t.Fatalf("replaced: %+v", replaced)
		}

		// Bad bodies: 400 naming the field; the registry is unchanged.
		e.do("viewer", "GET", "/api/sources", nil, 200, &list)
		before := list.Sources
		for _, c := range []struct{ path, body, field string }{
			{"tg-abbey-17", `{"reliability":"G"}`, "reliability"},
			{"tg-abbey-17", `{"reliability":"b"}`, "reliability"},
			{"tg-abbey-17", `{"kind":"rumour"}`, "kind"},
			{"tg-abbey-17", `{"hostile":"yes"}`, "hostile"},
			{"tg-abbey-17", `{"reliabilty":"B"}`, "reliabilty"},
			{"tg-abbey-17", `{"updated_by":"mallory"}`, "updated_by"},
			{"tg-abbey-17", `{"cluster":"c\u0007"}`, "cluster"},
			{"tg-abbey-17", `{"note":"` + strings.Repeat("n", muster.MaxSourceNoteBytes+1) + `"}`, "note"},
			{"tg-abbey-17", `{"id":"someone-else"}`, "id"},
			{"tg-abbey-17", `{"reliability":"E"} {"reliability":"A"}`, "after the JSON value"},
			{strings.Repeat("x", muster.MaxIDBytes+1), `{"reliability":"E"}`, "id"},
		} {
			resp, b := e.request("planner", "PUT", "/api/sources/"+c.path, []byte(c.body), "")
			if resp.StatusCode != 400 {
				t.Errorf("PUT %.40s %.60s: status %d, want 400 (%s)", c.path, c.body, resp.StatusCode, b)
				continue
			}
			if msg := errorOf(t, b).Message; !strings.Contains(msg, c.field) {
				t.Errorf("PUT %.60s: %q does not name %s", c.body, msg, c.field)
			}
		}
		e.do("viewer", "GET", "/api/sources", nil, 200, &list)
		if !sameSources(list.Sources, before) {
			t.Fatalf("refused bodies changed the registry:\n got %+v\nwant %+v", list.Sources, before)
		}

		e.do("planner", "DELETE", "/api/sources/us-defense-official", nil, 200, nil)
		e.do("planner", "DELETE", "/api/sources/us-defense-official", nil, 404, nil)
		e.do("viewer", "GET", "/api/sources", nil, 200, &list)
		if len(list.Sources) != 1 || list.Sources[0].ID != "tg-abbey-17" {
			t.Fatalf("after the delete: %+v", list.Sources)
		}

		var got []string
		for _, en := range must(e.store.ListAudit(context.Background(), 0, 0))(t) {
			if strings.HasPrefix(en.Action, "source.") {
				got = append(got, en.Actor+" "+en.Action+" "+en.Target+": "+en.Detail)
			}
		}
		want := []string{
			"planner-user source.put source:tg-abbey-17: new: reliability F, hostile, cluster abbey-open, kind social",
			"admin-user source.put source:us-defense-official: new: reliability B, kind official",
			"admin-user source.put source:tg-abbey-17: reliability F -> E, no longer hostile, cluster abbey-open -> none, kind social -> none, name changed, note changed",
			"planner-user source.delete source:us-defense-official: deleted: was reliability B, kind official",
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("audit:\n got %q\nwant %q", got, want)
		}
		if v := must(e.store.VerifyAudit(context.Background()))(t); !v.OK {
			t.Fatalf("audit chain: %+v", v)
		}
	})
}

// sameSources compares grades, their times to the microsecond the store
// keeps.
func sameSources(a, b []sourceJSON) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if !x.UpdatedAt.Equal(y.UpdatedAt) {
			return false
		}
		x.UpdatedAt, y.UpdatedAt = time.Time{}, time.Time{}
		if x != y {
			return false
		}
	}
	return true
}

// countingStore counts the reads of the source registry.
type countingStore struct {
	muster.Store
	sources atomic.Int64
}

func (c *countingStore) Sources(ctx context.Context) ([]muster.SourceGrade, error) {
	c.sources.Add(1)
	return c.Store.Sources(ctx)
}

func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// TestPicturesReadTheSourceRegistry: the threat picture and the gates the
// server serves are the ones built under the stored registry. The case is
// issue 9's: an A1 explosion at a gate, then forty all-clears from forty
// new accounts, which the analysts have marked one hostile cluster.
func TestPicturesReadTheSourceRegistry(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t testing.TB) muster.Store) {
		k := testCity(t)
		counted := &countingStore{Store: open(t)}
		e := newEnv(t, counted, nil)
		var gate *muster.Place
		for i := range k.places.Places {
			if k.places.Places[i].Kind == muster.PlaceGate {
				gate = &k.places.Places[i]
				break
			}
		}
		pt := gate.Geometry.(orb.Point)
		area := fmt.Sprintf(`{"point": [%f, %f], "radius_m": 300}`, pt[0], pt[1])
		var lines []string
		lines = append(lines, fmt.Sprintf(`{"id": "blast", "received_at": "2021-08-26T12:50:00Z", "source": {"id": "centcom", "kind": "official"}, "reliability": "A", "credibility": 1, "kind": "explosion", "claim": "present", "likelihood": "almost certain", "immediacy": "imminent", "severity": 5, "area": %s, "text": "explosion at the gate"}`, area))
		for i := range 40 {
			lines = append(lines, fmt.Sprintf(`{"id": "clear-%02d", "received_at": "2021-08-26T13:%02d:00Z", "source": {"id": "tg-%02d", "kind": "social"}, "reliability": "F", "credibility": 6, "kind": "all-clear", "claim": "absent", "likelihood": "almost certain", "severity": 1, "area": %s, "text": "the gate is open and safe, everyone go now"}`, i, i, i, area))
			e.do("planner", "PUT", fmt.Sprintf("/api/sources/tg-%02d", i), []byte(`{"kind":"social","reliability":"F","hostile":true,"cluster":"gate-open-campaign","note":"forty new accounts, one text"}`), 200, nil)
		}
		e.do("field", "POST", "/api/reports", []byte(strings.Join(lines, "\n")), 201, nil)

		ctx := context.Background()
		reps := must(e.store.ListReports(ctx, time.Time{}, 0))(t)
		pl := must(e.store.Places(ctx))(t)
		reg := must(e.store.Sources(ctx))(t)
		const at = "2021-08-26T14:00:00Z"
		when, _ := time.Parse(time.RFC3339, at)
		with := must(threat.Build(reps, &pl, when, threat.DefaultPolicy(), threat.WithSources(threat.NewSources(reg))))(t)
		without := must(threat.Build(reps, &pl, when, threat.DefaultPolicy()))(t)
		geo := func(p *threat.Picture) string {
			var b bytes.Buffer
			if err := threat.WriteGeoJSON(&b, p); err != nil {
				t.Fatal(err)
			}
			return b.String()
		}
		resp, served := e.request("viewer", "GET", "/api/threats?at="+at, nil, "")
		if resp.StatusCode != 200 {
			t.Fatalf("/api/threats: %d %s", resp.StatusCode, served)
		}
		if string(served) != geo(with) {
			t.Errorf("/api/threats is not the picture under the stored registry:\n%.600s\nwant\n%.600s", served, geo(with))
		}
		var gs gatesResponse
		e.do("viewer", "GET", "/api/gates?at="+at, nil, 200, &gs)
		for _, g := range gs.Gates {
			for _, w := range with.Gates {
				if w.PlaceID == g.ID && (w.Status != g.Status || w.Disputed != g.Disputed) {
					t.Errorf("gate %s served %s (disputed %v), under the registry %s (disputed %v)", g.ID, g.Status, g.Disputed, w.Status, w.Disputed)
				}
			}
		}
		// The registry changes the picture: the forty hostile all-clears are
		// kept in the record, discounted, and the blast's zone is not
		// disputed by them.
		if geo(with) == geo(without) {
			t.Error("the stored registry changes nothing in the picture")
		}
		discounted := 0
		for _, r := range with.Record {
			if r.Status == threat.StatusDiscounted {
				discounted++
			}
		}
		if z := with.ZoneOf("blast"); discounted != 40 || z == nil || z.Disputed || !z.Forbidden {
			t.Errorf("under the registry: %d reports discounted (want 40), blast zone %+v", discounted, z)
		}
		if !strings.Contains(string(served), `"discounted"`) {
			t.Error("the served picture does not show the discounted reports")
		}
		// Every picture the server builds reads the registry, plans too.
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/api/threats?at=" + at, ""},
			{"GET", "/api/gates?at=" + at, ""},
			{"POST", "/api/plans", `{"at":"` + at + `"}`},
		} {
			n := counted.sources.Load()
			var body []byte
			if c.body != "" {
				body = []byte(c.body)
			}
			if resp, b := e.request("planner", c.method, c.path, body, ""); resp.StatusCode >= 300 {
				t.Fatalf("%s %s: %d %s", c.method, c.path, resp.StatusCode, b)
			}
			if counted.sources.Load() == n {
				t.Errorf("%s %s built a picture without reading the source registry", c.method, c.path)
			}
		}
	})
}

// FuzzSourceBody feeds any bytes to PUT /api/sources/{id}'s decoding and
// the grade's validation: no panic, and every rejection is a 4xx JSON
// error, never a 500.
func FuzzSourceBody(f *testing.F) {
	f.Add([]byte(`{"name":"Telegram account 17","kind":"social","reliability":"F","hostile":true,"cluster":"c","note":"n"}`))
	f.Add([]byte(`{"reliability":"G","hostile":"yes"}`))
	f.Add([]byte(`{"id":"other","updated_at":"2021-08-26T14:00:00Z"}`))
	f.Add([]byte(`{"cluster":" "} {}`))
	s := &Server{cfg: Config{MaxJSONBytes: 4096}, log: slog.New(slog.DiscardHandler)}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := httptest.NewRequest("PUT", "/api/sources/tg-17", bytes.NewReader(data))
		w := httptest.NewRecorder()
		var in sourceIn
		err := s.decodeJSON(w, r, &in)
		if err == nil {
			_, err = in.grade("tg-17")
		}
		if err == nil {
			return
		}
		rec := httptest.NewRecorder()
		s.writeError(rec, r, err)
		if rec.Code < 400 || rec.Code >= 500 {
			t.Fatalf("input %q: status %d for %v", data, rec.Code, err)
		}
		errorOf(t, rec.Body.Bytes())
	})
}
