package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/roadgraph"
	"github.com/muster-evac/muster/tiles"
)

// The road map's vector tiles (package tiles): the map of the operations
// page is drawn from the server's own road graph (serve --graph). Tiles
// are public, as the roads they draw are (OpenStreetMap's), and rate
// limited per client address like the API.

const (
	mediaMVT = "application/vnd.mapbox-vector-tile"
	mediaJS  = "text/javascript"
)

// tileSource builds the tiles' indexes on first use: most servers'
// lifetimes, and every test's, never ask for a tile.
type tileSource struct {
	once sync.Once
	src  *tiles.Source
	err  error
}

func (s *Server) tiles() (*tiles.Source, error) {
	s.tileSrc.once.Do(func() {
		var car, foot *roadgraph.Graph
		if s.cfg.Car != nil {
			car = s.cfg.Car.Graph()
		}
		if s.cfg.Foot != nil {
			foot = s.cfg.Foot.Graph()
		}
		if car == nil && foot == nil {
			s.tileSrc.err = muster.Errorf(muster.ENOTFOUND, "this server has no road graph to draw (muster serve --graph FILE)")
			return
		}
		s.tileSrc.src, s.tileSrc.err = tiles.New(car, foot, tiles.Options{})
	})
	return s.tileSrc.src, s.tileSrc.err
}

// tileJSON is the TileJSON 3.0 document of the road map.
type tileJSON struct {
	TileJSON    string       `json:"tilejson"`
	Name        string       `json:"name"`
	Tiles       []string     `json:"tiles"`
	MinZoom     int          `json:"minzoom"`
	MaxZoom     int          `json:"maxzoom"`
	Bounds      [4]float64   `json:"bounds"`
	Center      [3]float64   `json:"center"`
	VectorLayer []tileLayers `json:"vector_layers"`
}

type tileLayers struct {
	ID     string            `json:"id"`
	Fields map[string]string `json:"fields"`
}

func (s *Server) tileJSON(w http.ResponseWriter, r *http.Request, _ *caller) error {
	src, err := s.tiles()
	if err != nil {
		return err
	}
	b, o := src.Bound(), src.Options()
	c := b.Center()
	writeJSON(w, http.StatusOK, tileJSON{
		TileJSON: "3.0.0", Name: "muster roads", Tiles: []string{"/tiles/{z}/{x}/{y}.mvt"},
		MinZoom: o.MinZoom, MaxZoom: o.MaxZoom,
		Bounds: [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]},
		Center: [3]float64{c[0], c[1], float64(max(o.MinZoom, 13))},
		VectorLayer: []tileLayers{{ID: tiles.Layer, Fields: map[string]string{
			"class": "major, arterial, street, minor or path", "name": "the road's name"}}},
	})
	return nil
}

// tile answers /tiles/{z}/{x}/{y}.mvt. An empty tile (no road there) is a
// 204; a zoom out of range a 400 that says the range.
func (s *Server) tile(w http.ResponseWriter, r *http.Request, _ *caller) error {
	zxy, err := parseTilePath(r.PathValue("z"), r.PathValue("x"), r.PathValue("y"))
	if err != nil {
		return muster.Errorf(muster.ErrorCode(err), "%s: %v", r.URL.Path, err)
	}
	src, err := s.tiles()
	if err != nil {
		return err
	}
	b, err := src.Tile(r.Context(), zxy[0], zxy[1], zxy[2])
	if err != nil {
		if errors.Is(err, r.Context().Err()) {
			return nil // the client left
		}
		return err
	}
	h := w.Header()
	// The graph changes only when the server restarts with another.
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	if len(b) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	h.Set("Content-Type", mediaMVT)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
	return nil
}

// parseTilePath reads the z, x and y.mvt of a tile's path: whole decimal
// numbers of at most 8 digits (the range is the tile source's to check).
func parseTilePath(z, x, y string) ([3]int, error) {
	var zxy [3]int
	ys, ok := strings.CutSuffix(y, ".mvt")
	if !ok {
		return zxy, muster.Errorf(muster.ENOTFOUND, "tiles are /tiles/{z}/{x}/{y}.mvt")
	}
	for i, v := range []string{z, x, ys} {
		if v == "" || len(v) > 8 || strings.Trim(v, "0123456789") != "" {
			return zxy, muster.Errorf(muster.EINVALID, "z, x and y must be whole numbers of at most 8 digits, not %q", v)
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return zxy, muster.Errorf(muster.EINVALID, "z, x and y must be whole numbers: %v", err)
		}
		zxy[i] = n
	}
	return zxy, nil
}
