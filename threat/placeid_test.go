package threat

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/places"
)

// junctionPlaces is a places file as a gazetteer gives it: a gate and n
// rally points all called "unclassified junction" (ids rally-001...), one
// of them spelt with other case and accents.
func junctionPlaces(n int) *muster.Places {
	ps := &muster.Places{Timezone: "UTC", Places: []muster.Place{
		{ID: "gate-1", Name: "Gate 1", Kind: muster.PlaceGate, Geometry: orb.Point{10.5, 50.5}, RadiusM: 200, Status: muster.GateOpen,
			ThroughputPerHour: 500, CrowdLimit: 200},
	}}
	for i := 1; i <= n; i++ {
		name := "unclassified junction"
		if i == n {
			name = "Unclassified Junctión"
		}
		ps.Places = append(ps.Places, muster.Place{ID: fmt.Sprintf("rally-%03d", i), Name: name,
			Kind: muster.PlaceRally, Geometry: orb.Point{10 + float64(i)/100, 50}, Capacity: 300})
	}
	return ps
}

const junctionReport = `{"id":"j1","received_at":"2021-08-21T15:00:00Z","source":{"id":"x","name":"X","kind":"field"},"reliability":"A","credibility":2,"kind":"explosion","claim":"present","likelihood":"almost certain","immediacy":"imminent","severity":5,"area":{"place":"unclassified junction"},"text":"blast at the junction"}`

// TestPlaceNamedByID: with 131 rally points called "unclassified
// junction", a report naming that name is rejected with the candidates and
// their ids; the same report naming one by id is accepted, round-trips,
// and makes its zone where that place is.
func TestPlaceNamedByID(t *testing.T) {
	pl := junctionPlaces(131)
	ix, err := places.NewIndex(pl)
	if err != nil {
		t.Fatal(err)
	}
	opt := ParseOptions{Places: ix, Now: mustTime(t, "2021-08-22T00:00:00Z")}
	_, err = ParseReport([]byte(junctionReport), opt)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "area.place" ||
		!strings.HasPrefix(fe.Reason, `place "unclassified junction" is ambiguous: 131 places go by this name: "rally-001" (rally at [10.01000, 50.00000]), "rally-002" (rally`) ||
		!strings.HasSuffix(fe.Reason, `and 126 more; name the place meant by its id, as {"place_id": "rally-001"}`) {
		t.Fatalf("ambiguous name: %v", err)
	}
	if !strings.Contains(readDoc(t), "area.place: "+fe.Reason+"\n") {
		t.Errorf("docs/threat-picture.md §2 does not show the ambiguity error as it is:\n%s", fe.Reason)
	}
	byID := strings.Replace(junctionReport, `"place":"unclassified junction"`, `"place_id":"rally-042"`, 1)
	r, err := ParseReport([]byte(byID), opt)
	if err != nil {
		t.Fatalf("named by id: %v", err)
	}
	if !reflect.DeepEqual(r.Area, muster.Area{PlaceID: "rally-042"}) {
		t.Fatalf("area %+v", r.Area)
	}
	// It round-trips through the import format and through the store's
	// encoding (a muster.Report as JSON).
	enc, err := MarshalReport(&r)
	if err != nil || !strings.Contains(string(enc), `"area":{"place_id":"rally-042"}`) {
		t.Fatalf("MarshalReport: %s %v", enc, err)
	}
	if back, err := ParseReport(enc, opt); err != nil || !reflect.DeepEqual(back, r) {
		t.Fatalf("re-parsed %+v, %v", back, err)
	}
	stored, _ := json.Marshal(r)
	var fromStore muster.Report
	if err := json.Unmarshal(stored, &fromStore); err != nil || !reflect.DeepEqual(fromStore, r) {
		t.Fatalf("through JSON: %+v %v", fromStore, err)
	}
	// Its zone is where rally-042 is: a 100 m circle on it.
	p, err := Build([]muster.Report{fromStore}, pl, mustTime(t, "2021-08-21T15:30:00Z"), DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	z := p.ZoneOf("j1")
	if len(p.Rejected) > 0 || z == nil || z.Center != (orb.Point{10.42, 50}) || z.RadiusM != DefaultPlaceRadiusM || !z.Forbidden {
		t.Fatalf("zone of the report naming rally-042: %+v (rejected %v)", z, p.Rejected)
	}
	if !strings.HasSuffix(z.Name, "at unclassified junction (rally-042)") {
		t.Errorf("zone name %q should give the place's name and id", z.Name)
	}

	// Fusion refuses an ambiguous name too (a report built in Go, or
	// stored before the places changed).
	amb := fromStore
	amb.ID, amb.Area = "j2", muster.Area{Place: "UNCLASSIFIED-JUNCTION"}
	p, err = Build([]muster.Report{amb}, pl, mustTime(t, "2021-08-21T15:30:00Z"), DefaultPolicy())
	if err != nil || len(p.Rejected) != 1 || !strings.Contains(p.Rejected[0].Error(), "131 places go by this name") ||
		muster.ErrorCode(p.Rejected[0].Err) != muster.EINVALID || !strings.Contains(p.Rejected[0].Error(), "area.place: place \"UNCLASSIFIED-JUNCTION\" is ambiguous") {
		t.Fatalf("fusing an ambiguous name: %v %v", err, p.Rejected)
	}
	both := amb
	both.Area.PlaceID = "rally-001"
	if p, err := Build([]muster.Report{both}, pl, mustTime(t, "2021-08-21T15:30:00Z"), DefaultPolicy()); err != nil || len(p.Rejected) != 1 ||
		!strings.Contains(p.Rejected[0].Error(), "gives both place") {
		t.Fatalf("place and place_id: %v %v", err, p)
	}
}

func TestPlaceIDRejects(t *testing.T) {
	pl := junctionPlaces(3)
	ix, err := places.NewIndex(pl)
	if err != nil {
		t.Fatal(err)
	}
	opt := ParseOptions{Places: ix, Now: mustTime(t, "2021-08-22T00:00:00Z")}
	area := `"area":{"place":"unclassified junction"}`
	for _, c := range []struct{ area, field, reason string }{
		{`"area":{"place_id":"rally-42"}`, "area.place_id", `unknown place id "rally-42": did you mean "rally-002" or "rally-001" or "rally-003"?`},
		{`"area":{"place_id":"Gate 1"}`, "area.place_id", `unknown place id "Gate 1": did you mean "gate-1"?`},
		{`"area":{"place_id":""}`, "area.place_id", "is empty"},
		{`"area":{"place_id":7}`, "area.place_id", "is a JSON number, want a string"},
		{`"area":{"place_id":"rally-001","place":"Gate 1"}`, "area", "give exactly one of place, place_id, point (with radius_m) or polygon, not 2"},
		{`"area":{"place_id":"rally-001","radius_m":50}`, "area.radius_m", "goes with point, not with place_id"},
		{`"area":{"place":"rally-001"}`, "area.place", `"rally-001" is a place's id: name it as {"place_id": "rally-001"}`},
	} {
		doc := strings.Replace(junctionReport, area, c.area, 1)
		_, err := ParseReport([]byte(doc), opt)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Reason, c.reason) {
			t.Errorf("%s: %v, want %s: ...%s...", c.area, err, c.field, c.reason)
		}
	}
	if _, err := ParseReport([]byte(strings.Replace(junctionReport, area, `"area":{"place_id":"rally-001"}`, 1)), ParseOptions{Now: opt.Now}); err == nil ||
		err.Error() != `area.place_id: "rally-001" cannot be resolved: no places file given` {
		t.Errorf("no places file: %v", err)
	}
}

// TestGateStatusByID: a gate-status report may name its gate by id, and
// must name a gate.
func TestGateStatusByID(t *testing.T) {
	pl := junctionPlaces(3)
	pl.Places = append(pl.Places, muster.Place{ID: "gate-2", Name: "Gate 1", Kind: muster.PlaceGate, Geometry: orb.Point{10.6, 50.5},
		RadiusM: 200, Status: muster.GateOpen})
	ix, err := places.NewIndex(pl)
	if err != nil {
		t.Fatal(err)
	}
	opt := ParseOptions{Places: ix, Now: mustTime(t, "2021-08-22T00:00:00Z")}
	gate := strings.NewReplacer(`"kind":"explosion","claim":"present"`, `"kind":"gate-status","claim":"closed"`,
		`"area":{"place":"unclassified junction"}`, `"area":{"place_id":"gate-2"}`).Replace(junctionReport)
	r, err := ParseReport([]byte(gate), opt)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build([]muster.Report{r}, pl, mustTime(t, "2021-08-21T15:30:00Z"), DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, g := range p.Gates {
		status[g.PlaceID] = g.Status
	}
	if status["gate-2"] != muster.GateClosed || status["gate-1"] != muster.GateOpen {
		t.Errorf("gate statuses %v: want gate-2 closed by the report naming it by id, gate-1 open", status)
	}
	// Both gates are called "Gate 1": by name, the report is ambiguous.
	if _, err := ParseReport([]byte(strings.Replace(gate, `"place_id":"gate-2"`, `"place":"gate 1"`, 1)), opt); err == nil ||
		!strings.Contains(err.Error(), `area.place: place "gate 1" is ambiguous: 2 places go by this name: "gate-1" (gate at [10.50000, 50.50000]), "gate-2" (gate`) {
		t.Errorf("ambiguous gate: %v", err)
	}
	if _, err := ParseReport([]byte(strings.Replace(gate, `"place_id":"gate-2"`, `"place_id":"rally-002"`, 1)), opt); err == nil ||
		err.Error() != `area.place_id: "rally-002" (unclassified junction) is a rally, not a gate: a gate-status report must name gates` {
		t.Errorf("gate-status naming a rally point: %v", err)
	}
}
