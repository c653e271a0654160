package threat

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/muster-evac/muster/internal/testshared"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/places"
)

// sharedPath returns a file under ../shared next to the repository root,
// or skips the test when the shared data is absent.
func sharedPath(t testing.TB, rel string) string {
	t.Helper()
	return testshared.Path(t, rel)
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

type scenario struct {
	places  *muster.Places
	index   *places.Index
	reports []muster.Report
}

func (s *scenario) report(t testing.TB, id string) muster.Report {
	t.Helper()
	for _, r := range s.reports {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no report %q", id)
	return muster.Report{}
}

func loadScenario(t testing.TB, dir string) *scenario {
	t.Helper()
	pl, err := places.ReadFile(sharedPath(t, "scenarios/"+dir+"/places.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	ix, err := places.NewIndex(pl)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(sharedPath(t, "scenarios/"+dir+"/reports.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := ParseReports(bytes.NewReader(data), nil, ParseOptions{Places: ix})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejected) > 0 {
		t.Fatalf("%s/reports.jsonl: rejected %v", dir, res.Rejected)
	}
	return &scenario{places: pl, index: ix, reports: res.Reports()}
}

func build(t testing.TB, s *scenario, reports []muster.Report, at time.Time) *Picture {
	t.Helper()
	p, err := Build(reports, s.places, at, DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rejected) > 0 {
		t.Fatalf("rejected: %v", p.Rejected)
	}
	return p
}

func geojsonOf(t testing.TB, p *Picture) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteGeoJSON(&b, p); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
