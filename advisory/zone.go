package advisory

import (
	"fmt"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
)

// AreaFromZone returns an advisory area with the geometry of a
// threat-picture zone: its circle, or every polygon of its MultiPolygon
// with their holes (the members may overlap: the area is their union, as
// the zone is). The geometry is copied, and the zone's id kept, so that the
// advisory still says where it applied after the picture changes. The
// server passes the zones of its picture (threat.Zone converts to
// muster.Zone); the command line reads them from "muster threats" GeoJSON.
func AreaFromZone(z muster.Zone) (muster.AdvisoryArea, error) {
	ar := muster.AdvisoryArea{ZoneID: z.ID}
	switch {
	case len(z.Polygon) > 0:
		ar.Polygons = make([]orb.Polygon, len(z.Polygon))
		for i, p := range z.Polygon {
			ar.Polygons[i] = make(orb.Polygon, len(p))
			for j, r := range p {
				ar.Polygons[i][j] = append(orb.Ring(nil), r...)
			}
		}
	case z.RadiusM > 0:
		ar.Circles = []muster.AdvisoryCircle{{Center: z.Center, RadiusM: z.RadiusM}}
	default:
		return muster.AdvisoryArea{}, muster.Errorf(muster.EINVALID, "zone %q has no geometry: neither polygons nor a circle", z.ID)
	}
	if err := ar.Validate(); err != nil {
		return muster.AdvisoryArea{}, fmt.Errorf("zone %q: %w", z.ID, err)
	}
	return ar, nil
}
