package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/muster-evac/muster"
)

// Household search, for the operations map: by id, or by a part of a
// name (as written in Latin script or in the household's own). Names are
// sealed at rest, so a search reads the registry page by page and stops
// at the limit; every search that finds someone is audited with the ids
// it showed (never the words searched for: they are someone's name).

const (
	searchLimit    = 20
	maxSearchLimit = 50
	minSearchRunes = 2
)

type householdHit struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	NameLocal string `json:"name_local,omitempty"`
	PartySize int    `json:"party_size"`
	Priority  string `json:"priority,omitempty"`
	Language  string `json:"language,omitempty"`
	Status    string `json:"status"`
}

type householdSearchResponse struct {
	Households []householdHit `json:"households"`
	// More is set when more households match than the limit.
	More bool `json:"more,omitempty"`
}

// searchHouseholds answers GET /api/households/search?q=&limit=.
func (s *Server) searchHouseholds(w http.ResponseWriter, r *http.Request, _ *caller) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if utf8.RuneCountInString(q) < minSearchRunes || len(q) > 200 {
		return errorf(muster.EINVALID, "q: %d characters; give an id or at least %d characters of a name (200 bytes at most)", utf8.RuneCountInString(q), minSearchRunes)
	}
	limit := searchLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxSearchLimit {
			return errorf(muster.EINVALID, "limit %q: want 1 to %d", v, maxSearchLimit)
		}
		limit = n
	}
	ctx := r.Context()
	out := householdSearchResponse{Households: []householdHit{}}
	hit := func(h *muster.HouseholdRecord) householdHit {
		return householdHit{ID: h.ID, Name: h.Name, NameLocal: h.NameLocal, PartySize: h.PartySize, Priority: h.Priority, Language: h.Language, Status: h.Status}
	}
	// An id first: exactly, as it is written.
	if h, err := s.store.GetHousehold(ctx, q); err == nil {
		out.Households = append(out.Households, hit(&h))
	} else if c := muster.ErrorCode(err); c != muster.ENOTFOUND && c != muster.EINVALID {
		return err
	}
	needle := strings.ToLower(q)
	f := muster.HouseholdFilter{Limit: 1000}
	for len(out.Households) <= limit {
		hs, next, err := s.store.ListHouseholds(ctx, f)
		if err != nil {
			return err
		}
		for i := range hs {
			h := &hs[i]
			if h.ID == q || !strings.Contains(strings.ToLower(h.Name), needle) && !strings.Contains(strings.ToLower(h.NameLocal), needle) {
				continue
			}
			out.Households = append(out.Households, hit(h))
		}
		if next == "" || ctx.Err() != nil {
			break
		}
		f.AfterID = next
	}
	if len(out.Households) > limit {
		out.Households, out.More = out.Households[:limit], true
	}
	if len(out.Households) > 0 {
		ids := make([]string, len(out.Households))
		for i, h := range out.Households {
			ids[i] = h.ID
		}
		detail := fmt.Sprintf("search (%d characters): %d households: %s", utf8.RuneCountInString(q), len(ids), strings.Join(ids, ","))
		if err := s.auditRead(ctx, "household.search", "households", detail); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
