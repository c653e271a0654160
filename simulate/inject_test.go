package simulate

import (
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
)

var testPlaces = &muster.Places{Places: []muster.Place{
	{ID: "gate-1", Name: "North Gate", Kind: muster.PlaceGate, Geometry: orb.Point{69.2, 34.5}, ThroughputPerHour: 1000, CrowdLimit: 200},
	{ID: "rally-1", Name: "Square", Kind: muster.PlaceRally, Geometry: orb.Point{69.1, 34.5}, Capacity: 100},
}}

var start = time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)

func TestParseInjects(t *testing.T) {
	good := `{"injects": [
	 {"at": "+1h30m", "kind": "gate_close", "gate": "gate-1"},
	 {"at": "2021-08-26T07:00:00Z", "kind": "road_block", "lat": 34.5, "lon": 69.15, "radius_m": 200},
	 {"at": "45m", "kind": "fake_reports", "gate": "gate-1", "count": 50},
	 {"at": "+2h", "kind": "reports", "reports": [{"id": "x1", "source": {"id": "s", "kind": "field"}, "reliability": "B", "credibility": 2,
	   "kind": "crowd", "claim": "present", "likelihood": "likely", "severity": 2, "area": {"place": "North Gate"}, "text": "crowd"}]}]}`
	ins, err := ParseInjects([]byte(good), testPlaces, start)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 4 || ins[0].atS != 5400 || ins[1].atS != 3600 || ins[2].Count != 50 || len(ins[3].reports) != 1 || !ins[3].reports[0].ReceivedAt.Equal(start.Add(2*time.Hour)) {
		t.Fatalf("parsed %+v", ins)
	}
	for _, bad := range []struct{ in, want string }{
		{`{"injects": [{"at": "+1h", "kind": "gate_close", "gate": "gate-9"}]}`, "not a gate"},
		{`{"injects": [{"at": "-1h", "kind": "gate_close", "gate": "gate-1"}]}`, "before the operation"},
		{`{"injects": [{"at": "soon", "kind": "gate_close", "gate": "gate-1"}]}`, "neither a duration"},
		{`{"injects": [{"at": "+1h", "kind": "meteor"}]}`, "not one of"},
		{`{"injects": [{"at": "+1h", "kind": "gate_slow", "gate": "gate-1", "factor": 2}]}`, "factor"},
		{`{"injects": [{"at": "+1h", "kind": "road_block", "lat": 95, "lon": 0}]}`, "not a place"},
		{`{"injects": [{"at": "+1h", "kind": "fake_reports", "gate": "gate-1", "count": 1000000}]}`, "count"},
		{`{"injects": [{"at": "+1h", "kind": "reports", "reports": [{"id": "x"}]}]}`, "report 1"},
		{`{"injects": [], "extra": 1}`, "unknown field"},
	} {
		_, err := ParseInjects([]byte(bad.in), testPlaces, start)
		if err == nil || !strings.Contains(err.Error(), bad.want) || muster.ErrorCode(err) != muster.EINVALID {
			t.Errorf("%s: got %v, want an EINVALID error with %q", bad.in, err, bad.want)
		}
	}
}

func FuzzParseInjects(f *testing.F) {
	f.Add(`{"injects": [{"at": "+1h30m", "kind": "gate_close", "gate": "gate-1"}]}`)
	f.Add(`{"injects": [{"at": "+1h", "kind": "road_block", "lat": 34.5, "lon": 69.15}]}`)
	f.Add(`{"injects": [{"at": "+2h", "kind": "reports", "reports": [{"id": "x"}]}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		ins, err := ParseInjects([]byte(s), testPlaces, start)
		if err != nil {
			return
		}
		for _, in := range ins {
			if in.atS < 0 || in.RadiusM <= 0 || in.Count < 0 || in.Count > MaxFakeReports {
				t.Fatalf("accepted %+v", in)
			}
			_ = in.reportsOf(0, testPlaces, start)
		}
	})
}
