package httpapi

import (
	"time"

	"github.com/muster-evac/muster"
)

// evacueePageData is what the evacuee's page (web/src/evacuee) needs of an
// instruction beyond its text: where the rally point is and the walk's
// steps, to draw the way there without map tiles; when to be there; the
// group code and how many it admits, to show beside the QR code. It is
// all in the text already (the coordinates included), so it tells the
// evacuee nothing new, and nothing of anyone else.
type evacueePageData struct {
	RallyPoint evacueePlace `json:"rally_point"`
	Walk       *evacueeWalk `json:"walk,omitempty"`
	ReportFrom time.Time    `json:"report_from,omitzero"`
	ReportBy   time.Time    `json:"report_by,omitzero"`
	TimeZone   string       `json:"time_zone,omitempty"`
	GroupCode  string       `json:"group_code,omitempty"`
	People     int          `json:"people"`
}

type evacueePlace struct {
	ID   string  `json:"id"`
	Name string  `json:"name"`
	Lat  float64 `json:"lat"`
	Lon  float64 `json:"lon"`
}

// evacueeWalk is the walk from home to the rally point as directions: the
// page sketches it backwards from the rally point, step by step, from
// each step's bearing and length (the home's position is not sent).
type evacueeWalk struct {
	DistanceM int               `json:"distance_m"`
	DurationS int               `json:"duration_s"`
	Escape    bool              `json:"escape,omitempty"`
	Steps     []muster.WalkStep `json:"steps"`
}

func evacueePageDataOf(in *muster.Instruction) evacueePageData {
	d := evacueePageData{
		RallyPoint: evacueePlace{ID: in.RallyPoint.ID, Name: in.RallyPoint.Name, Lat: in.RallyPoint.Lat, Lon: in.RallyPoint.Lon},
		ReportFrom: in.ReportFrom, ReportBy: in.ReportBy, TimeZone: in.TimeZone, GroupCode: in.GroupCode, People: in.People,
	}
	if in.Walk.DistanceM > 0 || len(in.Walk.Steps) > 0 {
		steps := in.Walk.Steps
		if steps == nil {
			steps = []muster.WalkStep{}
		}
		d.Walk = &evacueeWalk{DistanceM: in.Walk.DistanceM, DurationS: in.Walk.DurationS, Escape: in.Walk.Escape, Steps: steps}
	}
	return d
}
