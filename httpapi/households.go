package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/evacuees"
)

type memberJSON struct {
	Name    string `json:"name"`
	Age     int    `json:"age,omitempty"`
	AgeBand string `json:"age_band,omitempty"`
}

type locationJSON struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// householdIn is the body of a create or an update.
type householdIn struct {
	ID          string        `json:"id"`
	Name        string        `json:"name"`
	NameLocal   string        `json:"name_local"`
	Members     []memberJSON  `json:"members"`
	PartySize   int           `json:"party_size"`
	Adults      int           `json:"adults"`
	Children    int           `json:"children"`
	Priority    string        `json:"priority"`
	Language    string        `json:"language"`
	Phone       string        `json:"phone"`
	Email       string        `json:"email"`
	Location    *locationJSON `json:"location"`
	Address     string        `json:"address"`
	Eligibility string        `json:"eligibility"`
	Documents   string        `json:"documents"`
	Notes       string        `json:"notes"`
	// Status is the initial status of a create (registered if empty); an
	// update must leave it out: see POST .../status.
	Status string `json:"status"`
	// Version is the version an update was made from: required on update.
	Version int64 `json:"version"`
}

type statusJSON struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Note   string    `json:"note,omitempty"`
}

// householdOut is a stored household as the API returns it.
type householdOut struct {
	ID          string        `json:"id"`
	Name        string        `json:"name"`
	NameLocal   string        `json:"name_local"`
	Members     []memberJSON  `json:"members"`
	PartySize   int           `json:"party_size"`
	Adults      int           `json:"adults"`
	Children    int           `json:"children"`
	Priority    string        `json:"priority"`
	Language    string        `json:"language"`
	Phone       string        `json:"phone"`
	Email       string        `json:"email"`
	Location    *locationJSON `json:"location"`
	Address     string        `json:"address"`
	Eligibility string        `json:"eligibility"`
	Documents   string        `json:"documents"`
	Notes       string        `json:"notes"`
	Status      string        `json:"status"`
	Version     int64         `json:"version"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
	History     []statusJSON  `json:"history,omitempty"`
}

func toOut(r *muster.HouseholdRecord) householdOut {
	o := householdOut{ID: r.ID, Name: r.Name, NameLocal: r.NameLocal, Members: []memberJSON{}, PartySize: r.PartySize,
		Adults: r.Adults, Children: r.Children, Priority: r.Priority, Language: r.Language, Phone: r.Phone, Email: r.Email,
		Address: r.Address, Eligibility: r.Eligibility, Documents: r.Documents, Notes: r.Notes, Status: r.Status,
		Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	for _, m := range r.Members {
		o.Members = append(o.Members, memberJSON(m))
	}
	if r.HasLocation {
		o.Location = &locationJSON{Lat: r.Lat, Lon: r.Lon}
	}
	for _, h := range r.History {
		o.History = append(o.History, statusJSON(h))
	}
	return o
}

// coordStep is the precision coordinates are kept at: 1e-7 degrees, about
// a centimetre, what an export writes and an import reads back (a
// subnormal such as 1e-320 would be written in a form no import takes).
const coordStep = 1e7

// maxEcho bounds how much of a refused value an error quotes.
const maxEcho = 64

// echo quotes v for an error message, cut to maxEcho bytes.
func echo(v string) string {
	if len(v) <= maxEcho {
		return strconv.Quote(v)
	}
	cut := maxEcho
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(v[:cut]), len(v))
}

// toHousehold validates what the store does not know to name by JSON
// field (coordinates, enums, sizes, and the phone, e-mail and names as an
// import checks them) and builds the household. defaultCC completes a
// national phone number, as in an import.
func (in *householdIn) toHousehold(defaultCC string) (muster.Household, error) {
	bad := func(field, format string, args ...any) error {
		return errorf(muster.EINVALID, "%s: %s", field, fmt.Sprintf(format, args...))
	}
	h := muster.Household{ID: in.ID, Name: in.Name, NameLocal: in.NameLocal, PartySize: in.PartySize, Adults: in.Adults,
		Children: in.Children, Priority: in.Priority, Language: in.Language, Phone: in.Phone, Email: in.Email,
		Address: in.Address, Eligibility: in.Eligibility, Documents: in.Documents, Notes: in.Notes, Status: in.Status}
	for _, m := range in.Members {
		h.Members = append(h.Members, muster.Member(m))
	}
	if strings.TrimSpace(in.Name) == "" && strings.TrimSpace(in.NameLocal) == "" {
		return h, bad("name", "a name (name or name_local) is required, and blanks are not one")
	}
	for _, f := range [][2]string{{"name", in.Name}, {"name_local", in.NameLocal}} {
		if why := evacuees.CheckName(f[1]); why != "" {
			return h, bad(f[0], "%s %s", echo(f[1]), why)
		}
	}
	if in.Phone != "" {
		e164, why := evacuees.CheckPhone(in.Phone, defaultCC)
		if why != "" {
			return h, bad("phone", "%s %s", echo(in.Phone), why)
		}
		h.Phone = e164
	}
	if in.Email != "" {
		if why := evacuees.CheckEmail(in.Email); why != "" {
			return h, bad("email", "%s %s", echo(in.Email), why)
		}
	}
	if in.PartySize < 1 || in.PartySize > evacuees.MaxPartySize {
		return h, bad("party_size", "%d not in 1..%d", in.PartySize, evacuees.MaxPartySize)
	}
	if in.Adults < 0 || in.Children < 0 || (in.Adults+in.Children != 0 && in.Adults+in.Children != in.PartySize) {
		return h, bad("adults, children", "%d adults and %d children do not make a party of %d", in.Adults, in.Children, in.PartySize)
	}
	if loc := in.Location; loc != nil {
		if math.IsNaN(loc.Lat) || loc.Lat < -90 || loc.Lat > 90 {
			return h, bad("location.lat", "%v not in -90..90", loc.Lat)
		}
		if math.IsNaN(loc.Lon) || loc.Lon < -180 || loc.Lon > 180 {
			return h, bad("location.lon", "%v not in -180..180", loc.Lon)
		}
		if loc.Lat == 0 && loc.Lon == 0 {
			return h, bad("location", "0,0 is in the Gulf of Guinea: leave location out when it is not known")
		}
		h.Lat, h.Lon, h.HasLocation = math.Round(loc.Lat*coordStep)/coordStep, math.Round(loc.Lon*coordStep)/coordStep, true
		if h.Lat == 0 && h.Lon == 0 {
			return h, bad("location", "%v,%v is 0,0 at a centimetre's precision: leave location out when it is not known", loc.Lat, loc.Lon)
		}
	}
	if !h.HasLocation && strings.TrimSpace(in.Address) == "" {
		return h, bad("location", "a location or an address is required")
	}
	if in.Phone == "" && in.Email == "" {
		return h, bad("phone", "a contact (phone or email) is required")
	}
	enum := func(field, v string, allowed []string) error {
		if v != "" && !slices.Contains(allowed, v) {
			return bad(field, "%q is not one of %s", v, strings.Join(allowed, ", "))
		}
		return nil
	}
	for _, e := range []error{
		enum("priority", in.Priority, muster.Priorities),
		enum("language", in.Language, muster.Languages),
		enum("eligibility", in.Eligibility, muster.Eligibilities),
		enum("documents", in.Documents, evacuees.DocumentStatuses),
		enum("status", in.Status, muster.HouseholdStatuses),
	} {
		if e != nil {
			return h, e
		}
	}
	for i, m := range in.Members {
		if m.Age < 0 || m.Age > 150 {
			return h, bad(fmt.Sprintf("members[%d].age", i), "%d not in 0..150", m.Age)
		}
		if err := enum(fmt.Sprintf("members[%d].age_band", i), m.AgeBand, []string{"child", "adult", "elderly"}); err != nil {
			return h, err
		}
	}
	return h, nil
}

func (s *Server) createHousehold(w http.ResponseWriter, r *http.Request, _ *caller) error {
	var in householdIn
	if err := s.decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Version != 0 {
		return errorf(muster.EINVALID, "version: a new household has none (use PUT /api/households/{id} to update)")
	}
	h, err := in.toHousehold(s.cfg.DefaultCountryCode)
	if err != nil {
		return err
	}
	rec, err := s.store.CreateHousehold(r.Context(), h)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/households/"+rec.ID)
	writeJSON(w, http.StatusCreated, toOut(&rec))
	return nil
}

func (s *Server) updateHousehold(w http.ResponseWriter, r *http.Request, _ *caller) error {
	var in householdIn
	if err := s.decodeJSON(w, r, &in); err != nil {
		return err
	}
	id := r.PathValue("id")
	if in.ID != "" && in.ID != id {
		return errorf(muster.EINVALID, "id: %q in the body, %q in the path: an id cannot change", in.ID, id)
	}
	in.ID = id
	if in.Version <= 0 {
		return errorf(muster.EINVALID, "version: required, the version the change was made from (409 if it changed since)")
	}
	if in.Status != "" {
		return errorf(muster.EINVALID, "status: an update leaves the status alone: POST /api/households/%s/status", id)
	}
	h, err := in.toHousehold(s.cfg.DefaultCountryCode)
	if err != nil {
		return err
	}
	rec, err := s.store.UpdateHousehold(r.Context(), h, in.Version)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toOut(&rec))
	return nil
}

type statusRequest struct {
	Status  string `json:"status"`
	Version int64  `json:"version"`
	Note    string `json:"note"`
}

func (s *Server) setStatus(w http.ResponseWriter, r *http.Request, _ *caller) error {
	var req statusRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if !slices.Contains(muster.HouseholdStatuses, req.Status) {
		return errorf(muster.EINVALID, "status: %q is not one of %s", req.Status, strings.Join(muster.HouseholdStatuses, ", "))
	}
	if req.Version < 0 {
		return errorf(muster.EINVALID, "version: %d is negative", req.Version)
	}
	rec, err := s.store.SetHouseholdStatus(r.Context(), r.PathValue("id"), req.Status, req.Version, req.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toOut(&rec))
	return nil
}

func (s *Server) getHousehold(w http.ResponseWriter, r *http.Request, _ *caller) error {
	id := r.PathValue("id")
	rec, err := s.store.GetHousehold(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.auditRead(r.Context(), "household.read", "household:"+id, ""); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toOut(&rec))
	return nil
}

// filterOf reads status, priority, after and limit.
func filterOf(r *http.Request, paging bool) (muster.HouseholdFilter, error) {
	q := r.URL.Query()
	f := muster.HouseholdFilter{Status: q.Get("status"), Priority: q.Get("priority")}
	if f.Status != "" && !slices.Contains(muster.HouseholdStatuses, f.Status) {
		return f, errorf(muster.EINVALID, "status: %q is not one of %s", f.Status, strings.Join(muster.HouseholdStatuses, ", "))
	}
	if f.Priority != "" && !slices.Contains(muster.Priorities, f.Priority) {
		return f, errorf(muster.EINVALID, "priority: %q is not one of %s", f.Priority, strings.Join(muster.Priorities, ", "))
	}
	if !paging {
		return f, nil
	}
	f.AfterID = q.Get("after")
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return f, errorf(muster.EINVALID, "limit: %q not a whole number in 1..1000", v)
		}
		f.Limit = n
	}
	return f, nil
}

type householdPage struct {
	Households []householdOut `json:"households"`
	// Next is the "after" of the next page; empty after the last.
	Next string `json:"next,omitempty"`
}

func (s *Server) listHouseholds(w http.ResponseWriter, r *http.Request, _ *caller) error {
	f, err := filterOf(r, true)
	if err != nil {
		return err
	}
	hs, next, err := s.store.ListHouseholds(r.Context(), f)
	if err != nil {
		return err
	}
	page := householdPage{Households: make([]householdOut, 0, len(hs)), Next: next}
	ids := make([]string, 0, len(hs))
	for i := range hs {
		page.Households = append(page.Households, toOut(&hs[i]))
		ids = append(ids, hs[i].ID)
	}
	if len(ids) > 0 {
		if err := s.auditRead(r.Context(), "household.list", "households", listDetail(f, ids)); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// listDetail says which households a page showed: every id when they fit
// in an audit entry, else the filter and the id range, which (ids being
// listed in order) names the same households.
func listDetail(f muster.HouseholdFilter, ids []string) string {
	d := fmt.Sprintf("%d households", len(ids))
	if f.Status != "" {
		d += " status=" + f.Status
	}
	if f.Priority != "" {
		d += " priority=" + f.Priority
	}
	if all := strings.Join(ids, ","); len(d)+len(all) < 3500 {
		return d + ": " + all
	}
	return d + ": ids " + ids[0] + " to " + ids[len(ids)-1] + " in order"
}

type countResponse struct {
	Count int `json:"count"`
}

func (s *Server) countHouseholds(w http.ResponseWriter, r *http.Request, _ *caller) error {
	f, err := filterOf(r, false)
	if err != nil {
		return err
	}
	n, err := s.store.CountHouseholds(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, countResponse{Count: n})
	return nil
}

// ImportRowReport says what happened (or, in a dry run, would happen) to
// one row of an imported evacuee list.
type ImportRowReport struct {
	Line    int      `json:"line"`
	ID      string   `json:"id,omitempty"`
	Action  string   `json:"action"` // created, updated, unchanged, rejected
	Reasons []string `json:"reasons,omitempty"`
}

// ImportReport is the row-by-row report of an import.
type ImportReport struct {
	DryRun    bool              `json:"dry_run"`
	Committed bool              `json:"committed"`
	Created   int               `json:"created"`
	Updated   int               `json:"updated"`
	Unchanged int               `json:"unchanged"`
	Rejected  int               `json:"rejected"`
	Ignored   []string          `json:"ignored_columns,omitempty"`
	Rows      []ImportRowReport `json:"rows"`
}

// ImportCSV reads an evacuee list and imports its good rows into st in one
// transaction (none if dryRun), returning what happened to every row: rows
// the file itself rejects (with each reason) and what the store did or
// would do with the others. An error is returned when the file as a whole
// cannot be read, or when the store refuses the batch; then nothing is
// stored and the report, if not nil, says why row by row. A household the
// file updates keeps its stored value of every field the file has no
// column for (see evacuees.Result.Carries).
func ImportCSV(ctx context.Context, st muster.Store, res *evacuees.Result, dryRun bool) (*ImportReport, error) {
	rep := &ImportReport{DryRun: dryRun, Ignored: res.Ignored, Rows: make([]ImportRowReport, len(res.Rows))}
	var good []muster.Household
	var goodRow []int // index in res.Rows of good[i]
	for i := range res.Rows {
		row := &res.Rows[i]
		rep.Rows[i] = ImportRowReport{Line: row.Line, ID: row.Household.ID}
		if !row.OK() {
			rep.Rows[i].Action = muster.ImportRejected
			for _, e := range row.Errors {
				rep.Rows[i].Reasons = append(rep.Rows[i].Reasons, e.Error())
			}
			rep.Rejected++
			continue
		}
		good = append(good, row.Household)
		goodRow = append(goodRow, i)
	}
	if len(good) == 0 {
		return rep, nil
	}
	// A household the file matches keeps what the file has no column for
	// (members entered through the API, e-mails...).
	ir, err := st.ImportHouseholds(ctx, good, muster.ImportOptions{DryRun: dryRun, Carries: res.Carries()})
	for _, row := range ir.Rows {
		if row.Index < 0 || row.Index >= len(goodRow) {
			continue
		}
		rr := &rep.Rows[goodRow[row.Index]]
		rr.Action = row.Action
		if row.ID != "" {
			rr.ID = row.ID
		}
		if row.Reason != "" {
			rr.Reasons = append(rr.Reasons, row.Reason)
		}
	}
	rep.Created, rep.Updated, rep.Unchanged = ir.Created, ir.Updated, ir.Unchanged
	rep.Rejected += ir.Rejected
	rep.Committed = ir.Committed
	if err != nil {
		return rep, err
	}
	return rep, nil
}

func (s *Server) importHouseholds(w http.ResponseWriter, r *http.Request, _ *caller) error {
	q := r.URL.Query()
	dryRun := false
	if v := q.Get("dry_run"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errorf(muster.EINVALID, "dry_run: %q, want true or false", v)
		}
		dryRun = b
	}
	cc := s.cfg.DefaultCountryCode
	if v := q.Get("country_code"); v != "" {
		if len(v) < 2 || len(v) > 4 || v[0] != '+' || strings.Trim(v[1:], "0123456789") != "" {
			return errorf(muster.EINVALID, "country_code: %q, want + and 1 to 3 digits such as +93", v)
		}
		cc = v
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "text/csv") && !strings.HasPrefix(ct, "text/plain") &&
		!strings.HasPrefix(ct, "application/octet-stream") {
		return errorf(muster.EINVALID, "Content-Type %q: send the evacuee list as text/csv", ct)
	}
	release, err := s.takeBulk()
	if err != nil {
		return err
	}
	defer release()
	body := &errReader{r: http.MaxBytesReader(w, r.Body, s.cfg.MaxCSVBytes)}
	res, err := evacuees.ReadContext(r.Context(), body, "request body", evacuees.Options{MaxBytes: s.cfg.MaxCSVBytes, DefaultCountryCode: cc})
	if err != nil {
		if body.err != nil {
			return bodyError(body.err)
		}
		return err
	}
	rep, err := ImportCSV(r.Context(), s.store, res, dryRun)
	if err != nil {
		if rep != nil && muster.ErrorCode(err) == muster.EINVALID {
			return &apiError{code: muster.EINVALID, message: "import refused, nothing stored: " + err.Error(), details: rep}
		}
		return err
	}
	if err := s.auditRead(r.Context(), "household.import", "households",
		fmt.Sprintf("dry_run=%v created=%d updated=%d unchanged=%d rejected=%d", dryRun, rep.Created, rep.Updated, rep.Unchanged, rep.Rejected)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// exportHouseholds streams every household, a page at a time, as the
// canonical CSV of package evacuees.
func (s *Server) exportHouseholds(w http.ResponseWriter, r *http.Request, _ *caller) error {
	var all []muster.Household
	f := muster.HouseholdFilter{Limit: 1000}
	for {
		hs, next, err := s.store.ListHouseholds(r.Context(), f)
		if err != nil {
			return err
		}
		for i := range hs {
			all = append(all, hs[i].Household)
		}
		if next == "" {
			break
		}
		f.AfterID = next
	}
	// The audit entry is written before any personal data leaves.
	if err := s.auditRead(r.Context(), "household.export", "households", fmt.Sprintf("%d households", len(all))); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="households.csv"`)
	w.WriteHeader(http.StatusOK)
	if err := evacuees.Write(w, all); err != nil {
		s.log.Error("export: writing CSV", "err", err)
	}
	return nil
}

// errReader remembers the error reading the request body, so that a
// client that hangs up mid-upload is told (and logged) as a bad request,
// not as muster's fault.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// bodyError is the error for a request body that could not be read: 413
// if over the limit, else 400.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return errorf(muster.EINVALID, "request body: could not be read: %v", err)
}

// takeBulk reserves one of the Config.MaxBulk places for a large upload,
// or answers 429 at once: memory, not the queue, is what runs out when
// several 64 MiB lists are parsed side by side, so nobody waits for a
// place holding a connection and a body.
func (s *Server) takeBulk() (release func(), err error) {
	select {
	case s.bulk <- struct{}{}:
		return func() { <-s.bulk }, nil
	default:
		return nil, &apiError{code: codeRateLimited, retryAfter: 10 * time.Second,
			message: fmt.Sprintf("%d large uploads are being read already: try again in a few seconds", cap(s.bulk))}
	}
}
