package advisory

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"github.com/muster-evac/muster"
)

// greatCircleM is an independent great-circle distance: the angle between
// unit vectors, by atan2 (well conditioned at every distance).
func greatCircleM(a, b orb.Point) float64 {
	v := func(p orb.Point) [3]float64 {
		lon, lat := p[0]*math.Pi/180, p[1]*math.Pi/180
		return [3]float64{math.Cos(lat) * math.Cos(lon), math.Cos(lat) * math.Sin(lon), math.Sin(lat)}
	}
	u, w := v(a), v(b)
	cx, cy, cz := u[1]*w[2]-u[2]*w[1], u[2]*w[0]-u[0]*w[2], u[0]*w[1]-u[1]*w[0]
	dot := u[0]*w[0] + u[1]*w[1] + u[2]*w[2]
	return muster.EarthRadiusM * math.Atan2(math.Sqrt(cx*cx+cy*cy+cz*cz), dot)
}

// TestRecipientsGenerated compares Recipients with independent geometry
// (orb's planar point-in-polygon, a vector great-circle distance) on
// generated households around Kabul airport.
func TestRecipientsGenerated(t *testing.T) {
	a := sample(t)
	a.Texts = a.Texts[:2] // English and Dari: Pashto speakers get English
	a.Area = muster.AdvisoryArea{
		Polygons: []orb.Polygon{{airport, hole}, {{{69.1, 34.5}, {69.12, 34.5}, {69.11, 34.52}, {69.1, 34.5}}}},
		Circles:  []muster.AdvisoryCircle{{Center: orb.Point{69.16, 34.53}, RadiusM: 1500}},
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(10, 26))
	langs := []string{muster.LangEnglish, muster.LangDari, muster.LangPashto, ""}
	var hs []muster.Household
	for i := range 20_000 {
		h := muster.Household{ID: fmt.Sprintf("H%06d", i), Language: langs[rng.IntN(len(langs))], Status: muster.StatusRegistered,
			HasLocation: true, Lon: 69.08 + rng.Float64()*0.18, Lat: 34.48 + rng.Float64()*0.11}
		switch rng.IntN(50) {
		case 0:
			h.HasLocation, h.Lat, h.Lon = false, 0, 0
		case 1:
			h.Status = muster.StatusEvacuated
		case 2:
			h.Status = muster.StatusWithdrawn
		}
		hs = append(hs, h)
	}
	got := Recipients(a, hs)
	inside := map[string]string{}
	for _, r := range got.Inside {
		inside[r.HouseholdID] = r.Language
	}
	var noLoc []string
	gone, compared := 0, 0
	for _, h := range hs {
		if h.Status == muster.StatusEvacuated || h.Status == muster.StatusWithdrawn {
			gone++
			if _, ok := inside[h.ID]; ok {
				t.Errorf("%s is %s but reached", h.ID, h.Status)
			}
			continue
		}
		if !h.HasLocation {
			noLoc = append(noLoc, h.ID)
			continue
		}
		p := orb.Point{h.Lon, h.Lat}
		d := greatCircleM(p, a.Area.Circles[0].Center)
		if math.Abs(d-a.Area.Circles[0].RadiusM) < 0.5 {
			continue // too close to the circle to compare two distance formulas
		}
		want := d <= a.Area.Circles[0].RadiusM || planar.MultiPolygonContains(orb.MultiPolygon(a.Area.Polygons), p)
		lang, ok := inside[h.ID]
		if ok != want {
			t.Errorf("%s at %v: reached %v, want %v", h.ID, p, ok, want)
		}
		if ok {
			compared++
			wantLang := h.Language
			if wantLang != muster.LangDari {
				wantLang = muster.LangEnglish
			}
			if lang != wantLang {
				t.Errorf("%s (language %q): sent in %q, want %q", h.ID, h.Language, lang, wantLang)
			}
		}
	}
	if !slices.Equal(got.NoLocation, noLoc) || got.Gone != gone {
		t.Errorf("no location %d (want %d), gone %d (want %d)", len(got.NoLocation), len(noLoc), got.Gone, gone)
	}
	by := got.ByLanguage()
	if compared < 1000 || by[muster.LangPashto] != 0 || by[muster.LangEnglish]+by[muster.LangDari] != len(got.Inside) {
		t.Errorf("%d inside, by language %v", compared, by)
	}
}

func TestRecipientsEdges(t *testing.T) {
	a := sample(t)
	square := orb.Ring{{69.1, 34.5}, {69.2, 34.5}, {69.2, 34.6}, {69.1, 34.6}, {69.1, 34.5}}
	inner := orb.Ring{{69.14, 34.54}, {69.16, 34.54}, {69.16, 34.56}, {69.14, 34.56}, {69.14, 34.54}}
	a.Area = muster.AdvisoryArea{Polygons: []orb.Polygon{{square, inner}}}
	at := func(id string, lat, lon float64) muster.Household {
		return muster.Household{ID: id, HasLocation: true, Lat: lat, Lon: lon, Language: muster.LangPashto}
	}
	hs := []muster.Household{
		at("on-west-edge", 34.55, 69.1),
		at("on-north-edge", 34.6, 69.15),
		at("on-corner", 34.5, 69.2),
		at("on-hole-edge", 34.55, 69.16),
		at("in-hole", 34.55, 69.15),
		at("outside-level-with-edge", 34.6, 69.25),
		at("swapped", 69.15, 34.55),
		{ID: "no-location", Language: muster.LangDari},
		{ID: "nan", HasLocation: true, Lat: math.NaN(), Lon: 69.15},
	}
	got := Recipients(a, hs)
	var ids []string
	for _, r := range got.Inside {
		ids = append(ids, r.HouseholdID)
		if r.Language != muster.LangPashto {
			t.Errorf("%s: language %s, want ps (the advisory has it)", r.HouseholdID, r.Language)
		}
	}
	if want := []string{"on-west-edge", "on-north-edge", "on-corner", "on-hole-edge"}; !slices.Equal(ids, want) {
		t.Errorf("inside %v, want %v", ids, want)
	}
	if want := []string{"no-location", "nan"}; !slices.Equal(got.NoLocation, want) {
		t.Errorf("no location %v, want %v", got.NoLocation, want)
	}
}

// TestRecipientsNearTheAntimeridian: polygons must not cross it (Validate
// refuses them), but one beside it works, and a circle reaches across it,
// since its distance is measured along great circles.
func TestRecipientsNearTheAntimeridian(t *testing.T) {
	a := sample(t)
	a.Area = muster.AdvisoryArea{
		Polygons: []orb.Polygon{{{{179.5, -17}, {180, -17}, {180, -16}, {179.5, -16}, {179.5, -17}}}},
		Circles:  []muster.AdvisoryCircle{{Center: orb.Point{-179.99, 0}, RadiusM: 5000}},
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	hs := []muster.Household{
		{ID: "fiji", HasLocation: true, Lat: -16.5, Lon: 179.7},
		{ID: "on-the-meridian", HasLocation: true, Lat: -16.5, Lon: 180},
		{ID: "other-side", HasLocation: true, Lat: -16.5, Lon: -179.7},
		{ID: "across", HasLocation: true, Lat: 0, Lon: 179.99},        // 2.2 km from the circle's centre
		{ID: "far", HasLocation: true, Lat: 0, Lon: 179.9},            // 12 km
		{ID: "pole-side", HasLocation: true, Lat: 0.03, Lon: -179.99}, // 3.3 km north
	}
	var ids []string
	for _, r := range Recipients(a, hs).Inside {
		ids = append(ids, r.HouseholdID)
	}
	if want := []string{"fiji", "on-the-meridian", "across", "pole-side"}; !slices.Equal(ids, want) {
		t.Errorf("inside %v, want %v", ids, want)
	}
}

func TestRecipientsOfABareCancel(t *testing.T) {
	c := muster.Advisory{MsgType: muster.AdvisoryCancel}
	got := Recipients(c, []muster.Household{{ID: "a", HasLocation: true, Lat: 34.5, Lon: 69.2}, {ID: "b"}})
	if len(got.Inside) != 0 || len(got.NoLocation) != 1 {
		t.Errorf("%+v", got)
	}
}

func BenchmarkRecipients100k(b *testing.B) {
	a := sample(b)
	z := muster.Zone{ID: "zone-r10", Center: orb.Point{69.2, 34.55}, RadiusM: 3000}
	ar, err := AreaFromZone(z)
	if err != nil {
		b.Fatal(err)
	}
	a.Area.Circles = ar.Circles
	rng := rand.New(rand.NewPCG(1, 2))
	hs := make([]muster.Household, 100_000)
	for i := range hs {
		hs[i] = muster.Household{ID: fmt.Sprint(i), HasLocation: true, Lon: 69.05 + rng.Float64()*0.3, Lat: 34.45 + rng.Float64()*0.2, Language: muster.LangDari}
	}
	b.ResetTimer()
	for b.Loop() {
		Recipients(a, hs)
	}
}
