package httpapi

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
)

// TestPlaceNamesRepeat: the server takes a places file where 131 rally
// points share one name; a report naming that name is refused with the
// candidates and their ids, the same report naming the place by id is
// stored as received, listed with its place_id and makes its zone there;
// PUT /api/places takes another place of that name, and refuses a place
// that would make a group name mean two things.
func TestPlaceNamesRepeat(t *testing.T) {
	pl := &muster.Places{Timezone: "UTC", Places: []muster.Place{
		{ID: "gate-1", Name: "Gate 1", Kind: muster.PlaceGate, Geometry: orb.Point{10.5, 50.5}, RadiusM: 200, Status: muster.GateOpen,
			ThroughputPerHour: 500, CrowdLimit: 200, Groups: []string{"the gates"}},
	}}
	for i := 1; i <= 131; i++ {
		pl.Places = append(pl.Places, muster.Place{ID: fmt.Sprintf("rally-%03d", i), Name: "unclassified junction",
			Kind: muster.PlaceRally, Geometry: orb.Point{10 + float64(i)/100, 50}, Capacity: 300})
	}
	e := newEnv(t, openSQLite(t), func(c *Config) { c.Places = pl })
	var rp rallyPointsResponse
	e.do("viewer", "GET", "/api/rally-points", nil, 200, &rp)
	if len(rp.RallyPoints) != 131 {
		t.Fatalf("%d rally points, want 131", len(rp.RallyPoints))
	}
	report := `{"id":"j1","received_at":"2021-08-21T15:00:00Z","source":{"id":"team","kind":"field"},"reliability":"A","credibility":2,` +
		`"kind":"explosion","claim":"present","likelihood":"almost certain","severity":5,"area":{"place":"Unclassified Junction"},"text":"blast"}`
	body := e.do("field", "POST", "/api/reports", []byte(report), 400, nil)
	if !strings.Contains(string(body), `is ambiguous: 131 places go by this name: \"rally-001\" (rally at [10.01000, 50.00000])`) ||
		!strings.Contains(string(body), `and 126 more; name the place meant by its id, as {\"place_id\": \"rally-001\"}`) {
		t.Errorf("ambiguous report: %s", body)
	}
	byID := strings.Replace(report, `"place":"Unclassified Junction"`, `"place_id":"rally-042"`, 1)
	e.do("field", "POST", "/api/reports", []byte(byID), 201, nil)
	body = e.do("field", "POST", "/api/reports", []byte(strings.Replace(strings.Replace(byID, `"j1"`, `"j2"`, 1), "rally-042", "rally-42", 1)), 400, nil)
	if !strings.Contains(string(body), `area.place_id: unknown place id \"rally-42\": did you mean \"rally-042\"`) {
		t.Errorf("unknown id: %s", body)
	}
	var list struct {
		Reports []json.RawMessage `json:"reports"`
	}
	e.do("viewer", "GET", "/api/reports", nil, 200, &list)
	if len(list.Reports) != 1 || !strings.Contains(string(list.Reports[0]), `"area":{"place_id":"rally-042"}`) {
		t.Errorf("listed reports: %s", list.Reports)
	}
	var zones struct {
		Features []struct {
			Geometry struct {
				Coordinates []float64 `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	e.do("viewer", "GET", "/api/threats?at=2021-08-21T15:30:00Z", nil, 200, &zones)
	if len(zones.Features) != 1 || len(zones.Features[0].Geometry.Coordinates) != 2 ||
		zones.Features[0].Geometry.Coordinates[0] != 10.42 || zones.Features[0].Geometry.Coordinates[1] != 50 {
		t.Errorf("zone of the report naming rally-042: %+v", zones)
	}
	// One more junction of that name, through the API.
	e.do("planner", "PUT", "/api/places/rally-200",
		[]byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[11,50]},"properties":{"id":"rally-200","name":"unclassified junction","kind":"rally","capacity":100}}`), 200, nil)
	e.do("viewer", "GET", "/api/rally-points", nil, 200, &rp)
	if len(rp.RallyPoints) != 132 {
		t.Errorf("%d rally points after PUT, want 132", len(rp.RallyPoints))
	}
	// A place called as a group it is not in is refused; nothing breaks.
	body = e.do("planner", "PUT", "/api/places/rally-201",
		[]byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[11,50]},"properties":{"id":"rally-201","name":"The Gates","kind":"rally"}}`), 400, nil)
	if !strings.Contains(string(body), `is also the name of a group it is not in`) {
		t.Errorf("group name taken by an outsider: %s", body)
	}
	e.do("viewer", "GET", "/api/gates", nil, 200, nil)
}
