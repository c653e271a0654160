package places

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/paulmach/orb"

	"github.com/muster-evac/muster"
)

type placesDoc struct {
	Type     string         `json:"type"`
	Name     string         `json:"name,omitempty"`
	Timezone string         `json:"timezone,omitempty"`
	Features []placeFeature `json:"features"`
}

type placeFeature struct {
	Type       string     `json:"type"`
	Geometry   placeGeom  `json:"geometry"`
	Properties placeProps `json:"properties"`
}

type placeGeom struct {
	Type        string `json:"type"`
	Coordinates any    `json:"coordinates"`
}

type placeProps struct {
	ID                string   `json:"id"`
	Name              string   `json:"name"`
	Aliases           []string `json:"aliases,omitempty"`
	Kind              string   `json:"kind"`
	Groups            []string `json:"groups,omitempty"`
	RadiusM           float64  `json:"radius_m,omitempty"`
	ThroughputPerHour int      `json:"throughput_per_hour,omitempty"`
	CrowdLimit        int      `json:"crowd_limit,omitempty"`
	Status            string   `json:"status,omitempty"`
	Capacity          int      `json:"capacity,omitempty"`
	Opens             string   `json:"opens,omitempty"`
	Closes            string   `json:"closes,omitempty"`
}

func polygonCoords(p orb.Polygon) [][][2]float64 {
	rings := make([][][2]float64, len(p))
	for i, r := range p {
		for _, pt := range r {
			rings[i] = append(rings[i], [2]float64{pt[0], pt[1]})
		}
	}
	return rings
}

// Write writes places as a places file: a GeoJSON FeatureCollection with a
// top-level timezone (and name, if given), as Read reads it. Points,
// polygons and multipolygons are written; any other geometry is an error naming the place.
func Write(w io.Writer, ps *muster.Places, name string) error {
	doc := placesDoc{Type: "FeatureCollection", Name: name, Timezone: ps.Timezone, Features: []placeFeature{}}
	for _, pl := range ps.Places {
		var g placeGeom
		switch geom := pl.Geometry.(type) {
		case orb.Point:
			g = placeGeom{"Point", [2]float64{geom[0], geom[1]}}
		case orb.Polygon:
			g = placeGeom{"Polygon", polygonCoords(geom)}
		case orb.MultiPolygon:
			polys := make([][][][2]float64, len(geom))
			for i, poly := range geom {
				polys[i] = polygonCoords(poly)
			}
			g = placeGeom{"MultiPolygon", polys}
		default:
			return fmt.Errorf("writing places: place %q: a %T cannot be written (Point, Polygon or MultiPolygon)", pl.ID, pl.Geometry)
		}
		doc.Features = append(doc.Features, placeFeature{Type: "Feature", Geometry: g, Properties: placeProps{
			ID: pl.ID, Name: pl.Name, Aliases: pl.Aliases, Kind: pl.Kind, Groups: pl.Groups, RadiusM: pl.RadiusM,
			ThroughputPerHour: pl.ThroughputPerHour, CrowdLimit: pl.CrowdLimit, Status: pl.Status,
			Capacity: pl.Capacity, Opens: pl.Opens, Closes: pl.Closes,
		}})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("writing places: %w", err)
	}
	return nil
}
