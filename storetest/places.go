package storetest

import (
	"reflect"
	"testing"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
)

// testPlaces: places are stored, replaced, deleted and read back as they
// were put; a bad place is refused and nothing is stored; every change is
// audited.
func testPlaces(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	if pl := must(e.store.Places(e.ctx))(t); len(pl.Places) != 0 || pl.Timezone != "" {
		t.Fatalf("a new database has places: %+v", pl)
	}
	gate := muster.Place{ID: "abbey", Name: "Abbey Gate", Aliases: []string{"Abbey gate"}, Kind: muster.PlaceGate, Groups: []string{"HKIA gates"},
		Geometry: orb.Point{69.2195, 34.5605}, RadiusM: 250, ThroughputPerHour: 500, CrowdLimit: 150, Status: muster.GateOpen, Opens: "00:00", Closes: "24:00"}
	rally := muster.Place{ID: "r1", Name: "Shahr-e Naw park", Kind: muster.PlaceRally, Geometry: orb.Point{69.17, 34.53}, Capacity: 300, Opens: "05:00", Closes: "21:00"}
	airport := muster.Place{ID: "hkia", Name: "HKIA", Kind: muster.PlaceAirport,
		Geometry: orb.Polygon{{{69.18, 34.562}, {69.2, 34.5555}, {69.23, 34.5575}, {69.18, 34.568}, {69.18, 34.562}}}}
	for _, p := range []muster.Place{gate, rally, airport} {
		if err := e.store.PutPlace(e.ctx, p); err != nil {
			t.Fatalf("put %s: %v", p.ID, err)
		}
	}
	if err := e.store.SetTimezone(e.ctx, "Asia/Kabul"); err != nil {
		t.Fatal(err)
	}
	got := must(e.store.Places(e.ctx))(t)
	want := muster.Places{Timezone: "Asia/Kabul", Places: []muster.Place{gate, airport, rally}} // id order
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read back:\n got %+v\nwant %+v", got, want)
	}
	gate.Status, gate.ThroughputPerHour = muster.GateRestricted, 250
	if err := e.store.PutPlace(e.ctx, gate); err != nil {
		t.Fatal(err)
	}
	if err := e.store.DeletePlace(e.ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.store.DeletePlace(e.ctx, "r1"), muster.ENOTFOUND, "deleting a place twice")
	got = must(e.store.Places(e.ctx))(t)
	if len(got.Places) != 2 || got.Places[0].Status != muster.GateRestricted || got.Places[0].ThroughputPerHour != 250 {
		t.Fatalf("after update and delete: %+v", got.Places)
	}
	bad := gate
	bad.ID, bad.Geometry = "bad", orb.Point{200, 95}
	wantCode(t, e.store.PutPlace(e.ctx, bad), muster.EINVALID, "a place off the Earth")
	wantCode(t, e.store.SetTimezone(e.ctx, "Mars/Olympus"), muster.EINVALID, "an unknown time zone")
	if n := len(must(e.store.Places(e.ctx))(t).Places); n != 2 {
		t.Fatalf("a refused place changed the places: %d", n)
	}
	changes := 0
	for _, en := range must(e.store.ListAudit(e.ctx, 0, 100))(t) {
		switch en.Action {
		case "place.put", "place.delete", "places.timezone":
			changes++
		}
	}
	if changes != 6 {
		t.Fatalf("%d place changes audited, want 6", changes)
	}
}
