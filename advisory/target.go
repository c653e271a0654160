package advisory

import (
	"math"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
)

// Recipient is a household an advisory reaches and the language to send
// it in.
type Recipient struct {
	HouseholdID string
	Language    string // the household's language if the advisory has it, else English
}

// Targets is whom an advisory reaches.
type Targets struct {
	// Inside are the households whose location lies in the advisory's area,
	// in the order they were given.
	Inside []Recipient
	// NoLocation are the households muster cannot place, wherever they are:
	// an advisory cannot tell whether it concerns them, so they must be
	// reached otherwise (a call, a broadcast, a field team).
	NoLocation []string
	// Gone counts the households left out because they are evacuated or
	// withdrawn.
	Gone int
}

// ByLanguage counts the recipients inside the area per language.
func (t *Targets) ByLanguage() map[string]int {
	out := map[string]int{}
	for _, r := range t.Inside {
		out[r.Language]++
	}
	return out
}

// Recipients returns the households an advisory reaches: those located
// inside its area (inside or on the edge of a polygon's outline and not
// strictly inside a hole, or within a circle's radius along great
// circles), each with the language to send: its own if the advisory has
// it, else English. Households with no location are listed apart;
// evacuated and withdrawn households are not reached. A cancellation
// without an area reaches no one here: the server sends it to those the
// cancelled advisory reached.
func Recipients(a muster.Advisory, households []muster.Household) Targets {
	var t Targets
	langs := a.Languages()
	boxes := make([]orb.Bound, len(a.Area.Polygons))
	for i, p := range a.Area.Polygons {
		if len(p) > 0 {
			boxes[i] = p[0].Bound()
		}
	}
	for i := range households {
		h := &households[i]
		if h.Status == muster.StatusEvacuated || h.Status == muster.StatusWithdrawn {
			t.Gone++
			continue
		}
		if !h.HasLocation || math.IsInf(h.Lat, 0) || math.IsInf(h.Lon, 0) || !muster.ValidLatLon(h.Lat, h.Lon) {
			t.NoLocation = append(t.NoLocation, h.ID)
			continue
		}
		if !inArea(&a.Area, boxes, orb.Point{h.Lon, h.Lat}) {
			continue
		}
		lang := muster.LangEnglish
		for _, l := range langs {
			if l == h.Language {
				lang = l
			}
		}
		t.Inside = append(t.Inside, Recipient{HouseholdID: h.ID, Language: lang})
	}
	return t
}

// inArea is AdvisoryArea.Contains with each polygon's bounding box tried
// first.
func inArea(ar *muster.AdvisoryArea, boxes []orb.Bound, p orb.Point) bool {
	for _, c := range ar.Circles {
		if muster.DistanceM(c.Center[0], c.Center[1], p[0], p[1]) <= c.RadiusM {
			return true
		}
	}
	for i, poly := range ar.Polygons {
		if !boxes[i].Contains(p) {
			continue
		}
		one := muster.AdvisoryArea{Polygons: []orb.Polygon{poly}}
		if one.Contains(p) {
			return true
		}
	}
	return false
}
