package threat

import (
	"math"

	"github.com/paulmach/orb"
)

// spatialIndex is a uniform grid of GridDeg-degree cells holding the ids
// of the areas whose bounding box meets each cell; areas covering more
// than maxCells cells (a country-wide report) sit on a list every query
// sees, so no area is inserted into thousands of cells.
type spatialIndex struct {
	cells map[int64][]int
	large []int
}

const (
	gridDeg  = 0.05 // about 5 km
	maxCells = 64
)

func newSpatialIndex() spatialIndex { return spatialIndex{cells: map[int64][]int{}} }

func cellRange(b orb.Bound) (x0, y0, x1, y1 int64) {
	return int64(math.Floor(b.Min[0] / gridDeg)), int64(math.Floor(b.Min[1] / gridDeg)),
		int64(math.Floor(b.Max[0] / gridDeg)), int64(math.Floor(b.Max[1] / gridDeg))
}

func cellKey(x, y int64) int64 { return x<<32 ^ (y & 0xffffffff) }

func (s *spatialIndex) insert(id int, b orb.Bound) {
	x0, y0, x1, y1 := cellRange(b)
	if (x1-x0+1)*(y1-y0+1) > maxCells {
		s.large = append(s.large, id)
		return
	}
	for x := x0; x <= x1; x++ {
		for y := y0; y <= y1; y++ {
			k := cellKey(x, y)
			s.cells[k] = append(s.cells[k], id)
		}
	}
}

// query calls fn for every id whose box may meet b; an id may come more
// than once.
func (s *spatialIndex) query(b orb.Bound, fn func(int)) {
	for _, id := range s.large {
		fn(id)
	}
	x0, y0, x1, y1 := cellRange(b)
	if (x1-x0+1)*(y1-y0+1) > int64(len(s.cells)) || (x1-x0+1)*(y1-y0+1) > 4096 {
		for _, ids := range s.cells { // the box covers more cells than exist
			for _, id := range ids {
				fn(id)
			}
		}
		return
	}
	for x := x0; x <= x1; x++ {
		for y := y0; y <= y1; y++ {
			for _, id := range s.cells[cellKey(x, y)] {
				fn(id)
			}
		}
	}
}
