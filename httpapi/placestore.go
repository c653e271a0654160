package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/places"
)

// The operation's places live in the store, so that every instance sees
// the same gates and rally points and an operator can change them while
// the operation runs; `serve --places` only seeds an empty store.

// seedPlaces stores the places file's places if the store has none.
func (s *Server) seedPlaces(pl *muster.Places) error {
	ctx := muster.WithActor(context.Background(), "system")
	have, err := s.store.Places(ctx)
	if err != nil {
		return fmt.Errorf("httpapi: places: %w", err)
	}
	if len(have.Places) > 0 {
		return nil
	}
	for _, p := range pl.Places {
		if err := s.store.PutPlace(ctx, p); err != nil {
			return fmt.Errorf("httpapi: storing place %s: %w", p.ID, err)
		}
	}
	if pl.Timezone != "" {
		if err := s.store.SetTimezone(ctx, pl.Timezone); err != nil {
			return fmt.Errorf("httpapi: places: %w", err)
		}
	}
	return nil
}

// currentPlaces returns the stored places and their name index, or nils
// when there are none.
func (s *Server) currentPlaces(ctx context.Context) (*muster.Places, *places.Index, error) {
	pl, err := s.store.Places(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(pl.Places) == 0 {
		return nil, nil, nil
	}
	ix, err := places.NewIndex(&pl)
	if err != nil {
		return nil, nil, err
	}
	return &pl, ix, nil
}

type placeResponse struct {
	ID      string `json:"id"`
	Kind    string `json:"kind,omitempty"`
	Removed bool   `json:"removed,omitempty"`
}

func (s *Server) listPlaces(w http.ResponseWriter, r *http.Request, _ *caller) error {
	pl, err := s.store.Places(r.Context())
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := places.Write(&buf, &pl, "muster places"); err != nil {
		return err
	}
	w.Header().Set("Content-Type", mediaGeo)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// putPlace creates or replaces a place from a GeoJSON Feature in the
// places-file format, checked exactly as a places file is, alone and with
// the stored places. Its name and aliases may be other places' too.
func (s *Server) putPlace(w http.ResponseWriter, r *http.Request, _ *caller) error {
	id := r.PathValue("id")
	if err := checkPlaceID(id); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxJSONBytes))
	if err != nil {
		return bodyError(err)
	}
	if err := checkDuplicateKeys(body); err != nil {
		return err
	}
	var feature map[string]json.RawMessage
	if err := json.Unmarshal(body, &feature); err != nil {
		return errorf(muster.EINVALID, "request body: want a GeoJSON Feature (a JSON object): %s", unmarshalMessage(err))
	}
	doc := `{"type":"FeatureCollection","features":[` + string(bytes.TrimSpace(body)) + `]}`
	pl, err := places.Read(bytes.NewReader([]byte(doc)), "place "+id)
	if err != nil {
		return errorf(muster.EINVALID, "%v", err)
	}
	if len(pl.Places) != 1 || pl.Places[0].ID != id {
		return errorf(muster.EINVALID, "the feature's properties.id must be %q, the place of the path", id)
	}
	// Names may repeat (reports then name such a place by id), but the
	// places together must still index: a group may not share its name
	// with a place outside it.
	stored, err := s.store.Places(r.Context())
	if err != nil {
		return err
	}
	after := muster.Places{Timezone: stored.Timezone, Places: make([]muster.Place, 0, len(stored.Places)+1)}
	for _, p := range stored.Places {
		if p.ID != id {
			after.Places = append(after.Places, p)
		}
	}
	after.Places = append(after.Places, pl.Places[0])
	if _, err := places.NewIndex(&after); err != nil {
		return errorf(muster.EINVALID, "place %s: with the stored places: %v", id, err)
	}
	if err := s.store.PutPlace(r.Context(), pl.Places[0]); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, placeResponse{ID: id, Kind: pl.Places[0].Kind})
	return nil
}

func (s *Server) deletePlace(w http.ResponseWriter, r *http.Request, _ *caller) error {
	id := r.PathValue("id")
	if err := s.store.DeletePlace(r.Context(), id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, placeResponse{ID: id, Removed: true})
	return nil
}

// timezoneRequest sets the time zone the places' opening hours are in.
type timezoneRequest struct {
	Timezone string `json:"timezone"`
}

func (s *Server) putTimezone(w http.ResponseWriter, r *http.Request, _ *caller) error {
	var req timezoneRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.store.SetTimezone(r.Context(), req.Timezone); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, req)
	return nil
}

// placeIDPattern is what a place id may be, as a household id: it goes
// into paths, file names, links and messages.
var placeIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// maxPlaceID bounds a place id.
const maxPlaceID = 64

// checkPlaceID refuses ids that could be read as a path ("../../x"),
// markup or anything but a plain name.
func checkPlaceID(id string) error {
	if len(id) > maxPlaceID {
		return errorf(muster.EINVALID, "place id %s: longer than %d characters", echo(id), maxPlaceID)
	}
	if !placeIDPattern.MatchString(id) {
		return errorf(muster.EINVALID, "place id %s: letters, digits, '.', '_' and '-' only, starting with a letter or digit", echo(id))
	}
	return nil
}
