package httpapi

import (
	"net/http"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/threat"
)

// Rally points and gates as the planner and the operators see them: the
// stored places (placestore.go), gates with their status in the threat
// picture.

type rallyPointJSON struct {
	ID       string       `json:"id"`
	Name     string       `json:"name"`
	Location locationJSON `json:"location"`
	Capacity int          `json:"capacity"`
	Opens    string       `json:"opens,omitempty"`
	Closes   string       `json:"closes,omitempty"`
}

type rallyPointsResponse struct {
	Timezone    string           `json:"timezone,omitempty"`
	RallyPoints []rallyPointJSON `json:"rally_points"`
}

type gateJSON struct {
	ID                string       `json:"id"`
	Name              string       `json:"name"`
	Location          locationJSON `json:"location"`
	ThroughputPerHour int          `json:"throughput_per_hour"`
	CrowdLimit        int          `json:"crowd_limit"`
	Opens             string       `json:"opens,omitempty"`
	Closes            string       `json:"closes,omitempty"`
	// Status is the gate's status in the threat picture at the time asked:
	// its places-file status unless reports say otherwise.
	Status   string   `json:"status"`
	Disputed bool     `json:"disputed"`
	Reasons  []string `json:"reasons"`
}

type gatesResponse struct {
	At    time.Time  `json:"at"`
	Gates []gateJSON `json:"gates"`
}

// where is a place's point: itself, or the centre of its bounds.
func where(p *muster.Place) locationJSON {
	pt, _ := p.Point()
	return locationJSON{Lat: pt.Lat(), Lon: pt.Lon()}
}

func (s *Server) rallyPoints(w http.ResponseWriter, r *http.Request, _ *caller) error {
	out := rallyPointsResponse{RallyPoints: []rallyPointJSON{}}
	pl, _, err := s.currentPlaces(r.Context())
	if err != nil {
		return err
	}
	if pl != nil {
		out.Timezone = pl.Timezone
		for _, p := range pl.Places {
			if p.Kind == muster.PlaceRally {
				out.RallyPoints = append(out.RallyPoints, rallyPointJSON{ID: p.ID, Name: p.Name, Location: where(&p),
					Capacity: p.Capacity, Opens: p.Opens, Closes: p.Closes})
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// gates lists the gates with their status in the threat picture at ?at=
// (default now).
func (s *Server) gates(w http.ResponseWriter, r *http.Request, _ *caller) error {
	at, err := s.atParam(r)
	if err != nil {
		return err
	}
	out := gatesResponse{At: at, Gates: []gateJSON{}}
	stored, _, err := s.currentPlaces(r.Context())
	if err != nil {
		return err
	}
	if stored == nil {
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	reps, err := s.store.ListReports(r.Context(), time.Time{}, 0)
	if err != nil {
		return err
	}
	opts, err := s.pictureOptions(r.Context())
	if err != nil {
		return err
	}
	p, err := threat.Build(reps, stored, at, s.policy, opts...)
	if err != nil {
		return err
	}
	status := map[string]threat.GateStatus{}
	for _, g := range p.Gates {
		status[g.PlaceID] = g
	}
	for _, pl := range stored.Places {
		if pl.Kind != muster.PlaceGate {
			continue
		}
		g := gateJSON{ID: pl.ID, Name: pl.Name, Location: where(&pl), ThroughputPerHour: pl.ThroughputPerHour,
			CrowdLimit: pl.CrowdLimit, Opens: pl.Opens, Closes: pl.Closes, Status: pl.Status, Reasons: []string{}}
		if st, ok := status[pl.ID]; ok {
			g.Status, g.Disputed = st.Status, st.Disputed
			g.Reasons = append(g.Reasons, st.Reasons...)
		}
		if g.Status == "" {
			g.Status = muster.GateOpen
		}
		out.Gates = append(out.Gates, g)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
