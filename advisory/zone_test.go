package advisory

import (
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
)

func TestAreaFromZone(t *testing.T) {
	mp := orb.MultiPolygon{{airport, hole}, {{{69.1, 34.5}, {69.12, 34.5}, {69.11, 34.52}, {69.1, 34.5}}}}
	ar, err := AreaFromZone(muster.Zone{ID: "zone-r04", Polygon: mp})
	if err != nil {
		t.Fatal(err)
	}
	if ar.ZoneID != "zone-r04" || len(ar.Polygons) != 2 || len(ar.Polygons[0]) != 2 || len(ar.Circles) != 0 {
		t.Fatalf("%+v", ar)
	}
	mp[0][0][1] = orb.Point{0, 0} // the zone changes later; the advisory must not
	if ar.Polygons[0][0][1] == (orb.Point{0, 0}) {
		t.Error("the area shares the zone's rings")
	}
	if !ar.Contains(orb.Point{69.19, 34.565}) || ar.Contains(orb.Point{69.205, 34.565}) {
		t.Error("the zone's hole is not the area's")
	}

	c, err := AreaFromZone(muster.Zone{ID: "zone-r10", Center: orb.Point{69.17, 34.53}, RadiusM: 12000})
	if err != nil || len(c.Circles) != 1 || c.Circles[0].RadiusM != 12000 || c.Circles[0].Center != (orb.Point{69.17, 34.53}) {
		t.Errorf("%+v, %v", c, err)
	}

	for _, z := range []struct {
		zone muster.Zone
		want string
	}{
		{muster.Zone{ID: "empty"}, `zone "empty" has no geometry`},
		{muster.Zone{ID: "open", Polygon: orb.MultiPolygon{{airport[:5]}}}, `zone "open": advisory: area/polygon[0]: is open`},
		{muster.Zone{ID: "z 1", RadiusM: 10}, `area/zone: "z 1" holds ' '`},
	} {
		if _, err := AreaFromZone(z.zone); muster.ErrorCode(err) != muster.EINVALID || !strings.Contains(err.Error(), z.want) {
			t.Errorf("%s: %v, want %q", z.zone.ID, err, z.want)
		}
	}
}
