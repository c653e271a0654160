package places

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
)

// junctions returns a places file as a gazetteer gives it: an airport,
// a gate and n rally points all called "unclassified junction", with ids
// rally-001...
func junctions(n int) *muster.Places {
	ps := &muster.Places{Timezone: "UTC", Places: []muster.Place{
		{ID: "airport", Name: "Airport", Kind: muster.PlaceAirport, Geometry: orb.Point{10, 50}, RadiusM: 2000},
		{ID: "gate-1", Name: "Gate 1", Kind: muster.PlaceGate, Geometry: orb.Point{10.01, 50}, RadiusM: 200, Status: muster.GateOpen,
			ThroughputPerHour: 500, CrowdLimit: 200},
	}}
	for i := 1; i <= n; i++ {
		ps.Places = append(ps.Places, muster.Place{ID: fmt.Sprintf("rally-%03d", i), Name: "unclassified junction",
			Kind: muster.PlaceRally, Geometry: orb.Point{10 + float64(i)/1000, 50.02}, Capacity: 300})
	}
	return ps
}

// TestRepeatedNames: a places file where 131 rally points share one name
// loads; the name is ambiguous, with the candidates and their ids; each
// id names its place.
func TestRepeatedNames(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, junctions(131), "junctions"); err != nil {
		t.Fatal(err)
	}
	p, err := Read(&buf, "junctions.geojson")
	if err != nil {
		t.Fatalf("a places file with repeated names is refused: %v", err)
	}
	ix, err := NewIndex(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"unclassified junction", "Unclassified Junction", "the unclassified-junction"} {
		got, err := ix.Resolve(name)
		var amb *AmbiguousError
		if !errors.As(err, &amb) || muster.ErrorCode(err) != muster.EINVALID {
			t.Fatalf("Resolve(%q) = %d places, %v; want an EINVALID *AmbiguousError", name, len(got), err)
		}
		if len(amb.Places) != 131 || amb.Places[0].ID != "rally-001" || amb.Places[130].ID != "rally-131" {
			t.Fatalf("%d candidates, first %q", len(amb.Places), amb.Places[0].ID)
		}
		want := fmt.Sprintf(`place %q is ambiguous: 131 places go by this name: "rally-001" (rally at [10.00100, 50.02000]), "rally-002" (rally at [10.00200, 50.02000]), `+
			`"rally-003" (rally at [10.00300, 50.02000]), "rally-004" (rally at [10.00400, 50.02000]), "rally-005" (rally at [10.00500, 50.02000]) and 126 more; `+
			`name the place meant by its id, as {"place_id": "rally-001"}`, name)
		if err.Error() != want {
			t.Errorf("ambiguity error\n got %s\nwant %s", err, want)
		}
	}
	pl, err := ix.ResolveID("rally-042")
	if err != nil || pl.ID != "rally-042" || pl.Geometry != (orb.Point{10.042, 50.02}) {
		t.Fatalf("ResolveID(rally-042) = %+v, %v", pl, err)
	}
	// Ids match exactly; a near miss suggests the closest ids.
	for id, want := range map[string]string{
		"rally-42":         `unknown place id "rally-42": did you mean "rally-042" or`,
		"Rally 042":        `unknown place id "Rally 042": did you mean "rally-042" or`,
		"Gate 1":           `unknown place id "Gate 1": did you mean "gate-1"?`,
		"Airport":          `unknown place id "Airport": did you mean "airport"?`,
		"xyzzy-plugh-quux": `unknown place id "xyzzy-plugh-quux": no place has an id like it`,
	} {
		_, err := ix.ResolveID(id)
		if err == nil || !strings.HasPrefix(err.Error(), want) || muster.ErrorCode(err) != muster.EINVALID {
			t.Errorf("ResolveID(%q): %v, want %s...", id, err, want)
		}
	}
	// Suggestions for unknown names still work, an ambiguous name among them.
	if _, err := ix.Resolve("unclasified junction"); err == nil || !strings.Contains(err.Error(), `did you mean "unclassified junction"?`) {
		t.Errorf("misspelt junction: %v", err)
	}
	// A name that is an id says how to name the place by id.
	if _, err := ix.Resolve("rally-007"); err == nil || !strings.Contains(err.Error(), `"rally-007" is a place's id: name it as {"place_id": "rally-007"}`) {
		t.Errorf("an id given as a name: %v", err)
	}
	// The unique names still resolve.
	if got, err := ix.Resolve("gate 1"); err != nil || len(got) != 1 || got[0].ID != "gate-1" {
		t.Errorf("gate 1: %v %v", got, err)
	}
}

func TestAmbiguityIgnoresCaseAndAccents(t *testing.T) {
	ps := &muster.Places{Places: []muster.Place{
		{ID: "praca-1", Name: "Praça XV", Kind: muster.PlaceLandmark, Geometry: orb.Point{-51.2, -30.03}},
		{ID: "praca-2", Name: "PRACA-XV", Kind: muster.PlaceRally, Geometry: orb.Point{-51.1, -30.03}},
		{ID: "cafe", Name: "Café Central", Aliases: []string{"Cafe Central"}, Kind: muster.PlaceLandmark, Geometry: orb.Point{-51.0, -30.03}},
		{ID: "bazaar", Name: "Old Bazaar", Kind: muster.PlaceLandmark, Geometry: orb.Point{-51.0, -30.04}},
		{ID: "market", Name: "Market Hall", Aliases: []string{"OLD-BAZAAR"}, Kind: muster.PlaceLandmark, Geometry: orb.Point{-51.0, -30.05}},
	}}
	ix, err := NewIndex(ps)
	if err != nil {
		t.Fatal(err)
	}
	var amb *AmbiguousError
	if _, err := ix.Resolve("praca xv"); !errors.As(err, &amb) || len(amb.Places) != 2 ||
		!strings.Contains(err.Error(), `2 places go by this name: "praca-1" (landmark at [-51.20000, -30.03000]), "praca-2" (rally at [-51.10000, -30.03000]); name`) {
		t.Errorf("Praça XV and PRACA-XV: %v", err)
	}
	// A place's alias equal to its own name is not a second place.
	if got, err := ix.Resolve("cafe central"); err != nil || len(got) != 1 {
		t.Errorf("café: %v %v", got, err)
	}
	// A name and another place's alias are one name.
	if _, err := ix.Resolve("Old Bazaar"); !errors.As(err, &amb) || amb.Places[0].ID != "bazaar" || amb.Places[1].ID != "market" {
		t.Errorf("old bazaar: %v", err)
	}
	// Naming by id: the name that is the id of a place says so.
	if _, err := ix.ResolveID("Cafe Central"); err == nil || err.Error() != `unknown place id "Cafe Central": no place has this id, but it is the name of the place with id "cafe"` {
		t.Errorf("a name given as an id: %v", err)
	}
}

func TestRepeatedIDRefused(t *testing.T) {
	ps := junctions(3)
	ps.Places[3].ID = "rally-001"
	_, err := NewIndex(ps)
	if err == nil || err.Error() != `place 2 ("unclassified junction") and place 3 ("unclassified junction") both have the id "rally-001": ids must be unique` ||
		muster.ErrorCode(err) != muster.EINVALID {
		t.Errorf("repeated id: %v", err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, ps, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(&buf, "dup.geojson"); err == nil ||
		!strings.Contains(err.Error(), `places file dup.geojson: feature 3: id "rally-001" is also the id of feature 2`) {
		t.Errorf("repeated id in a file: %v", err)
	}
	ps.Places[3].ID = ""
	if _, err := NewIndex(ps); err == nil || !strings.Contains(err.Error(), "no id") {
		t.Errorf("no id: %v", err)
	}
}

// TestGroupNames: a group stands for all its members; it may share its
// name with its own members (the name then means the group), never with
// a place outside it.
func TestGroupNames(t *testing.T) {
	ps := junctions(3)
	for i := 2; i < 5; i++ {
		ps.Places[i].Groups = []string{"Unclassified Junction"}
	}
	ix, err := NewIndex(ps)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ix.Resolve("unclassified junction")
	if err != nil || len(got) != 3 || got[0].ID != "rally-001" || got[2].ID != "rally-003" {
		t.Fatalf("a group named as its members: %v, %v", got, err)
	}
	ps.Places[1].Groups = []string{"the gates"}
	ps.Places[0].Aliases = []string{"The Gates"}
	_, err = NewIndex(ps)
	if err == nil || muster.ErrorCode(err) != muster.EINVALID || err.Error() !=
		`place "airport": its name or alias "The Gates" is also the name of a group it is not in (the group of "gate-1"): a group may share its name only with its own members; rename the group or add "airport" to it` {
		t.Errorf("group named as an outsider: %v", err)
	}
	ps.Places[0].Groups = []string{"the gates"}
	if got, err := NewIndex(ps); err != nil {
		t.Errorf("outsider joined the group: %v", err)
	} else if pls, err := got.Resolve("the gates"); err != nil || len(pls) != 2 {
		t.Errorf("the gates: %v %v", pls, err)
	}
}
