package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/advisory"
	"github.com/muster-evac/muster/threat"
	"github.com/muster-evac/muster/zonecost"
)

// Advisories (docs/advisories.md): a planner broadcasts one to everyone
// registered in an area (a zone of the threat picture, or a polygon) in
// their language; it is stored as CAP 1.2 and its messages are queued in
// the same transaction. An operator imports another system's CAP the same
// way. Advisories are public: anyone may fetch one's CAP.

// advisoryRequest is a new advisory: canned (with the area's name) or
// written (texts in English, and in Dari and Pashto if wanted), over a
// zone of the threat picture now or a GeoJSON polygon.
type advisoryRequest struct {
	Canned   string             `json:"canned,omitempty"`    // avoid-gates, shelter-in-place, all-clear
	AreaName string             `json:"area_name,omitempty"` // with canned: the area as people know it
	Texts    []advisoryTextJSON `json:"texts,omitempty"`     // instead of canned
	// Zone is the id of a zone of the threat picture now (as GET
	// /api/threats gives it); Polygon is a GeoJSON Polygon, MultiPolygon,
	// Point with radius_m, Feature or FeatureCollection. One of the two.
	Zone          string          `json:"zone,omitempty"`
	Polygon       json.RawMessage `json:"polygon,omitempty"`
	Categories    []string        `json:"categories,omitempty"`     // with texts; default Safety
	ResponseTypes []string        `json:"response_types,omitempty"` // with texts
	Urgency       string          `json:"urgency,omitempty"`        // overrides the canned one's
	Severity      string          `json:"severity,omitempty"`
	Certainty     string          `json:"certainty,omitempty"`
	Status        string          `json:"status,omitempty"`           // Actual (default), Exercise, Test...
	ExpiresInH    int             `json:"expires_in_hours,omitempty"` // default 24
}

type advisoryTextJSON struct {
	Language    string `json:"language"`
	Event       string `json:"event"`
	Headline    string `json:"headline"`
	Description string `json:"description,omitempty"`
	Instruction string `json:"instruction,omitempty"`
	AreaDesc    string `json:"area_desc"`
}

type advisoryOut struct {
	ID         string         `json:"id"`
	Sender     string         `json:"sender"`
	Sent       time.Time      `json:"sent"`
	Status     string         `json:"status"`
	MsgType    string         `json:"msg_type"`
	Origin     string         `json:"origin"`
	CreatedAt  time.Time      `json:"created_at"`
	CreatedBy  string         `json:"created_by"`
	Recipients int            `json:"recipients"`  // households queued to
	NoLocation int            `json:"no_location"` // households it cannot place: reach them otherwise
	CAP        string         `json:"cap"`         // where its CAP 1.2 is
	ByLanguage map[string]int `json:"by_language,omitempty"`
	Queued     int            `json:"messages_queued,omitempty"`
	Gone       int            `json:"gone,omitempty"`     // evacuated or withdrawn, not reached
	LeftOut    []string       `json:"left_out,omitempty"` // an import: what of the CAP muster does not keep
}

type advisoriesResponse struct {
	Advisories []advisoryOut `json:"advisories"`
}

func toAdvisoryOut(a muster.AdvisoryRecord) advisoryOut {
	return advisoryOut{ID: a.ID, Sender: a.Sender, Sent: a.Sent, Status: a.Status, MsgType: a.MsgType, Origin: a.Origin, CreatedAt: a.CreatedAt,
		CreatedBy: a.CreatedBy, Recipients: a.Recipients, NoLocation: a.NoLocation, CAP: "/api/advisories/" + a.ID + ".xml"}
}

// advisorySender is the CAP sender of this deployment's advisories.
func (s *Server) advisorySender() string {
	if s.cfg.AdvisorySender != "" {
		return s.cfg.AdvisorySender
	}
	if s.cfg.Issuer != nil {
		return "muster@" + s.cfg.Issuer.Keyring().Deployment()
	}
	return "muster"
}

func (s *Server) createAdvisory(w http.ResponseWriter, r *http.Request, _ *caller) error {
	var req advisoryRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	a, err := s.newAdvisory(r.Context(), req, nil)
	if err != nil {
		return err
	}
	if err := a.Validate(); err != nil {
		return err
	}
	out, err := s.deliverAdvisory(r.Context(), a, muster.AdvisoryIssued)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// newAdvisory builds an advisory of this deployment from a request: an
// Alert, over the request's area, or over area when the request names
// none (an update keeps the area it updates).
func (s *Server) newAdvisory(ctx context.Context, req advisoryRequest, area *muster.AdvisoryArea) (muster.Advisory, error) {
	var a muster.Advisory
	switch {
	case req.Canned != "" && len(req.Texts) > 0:
		return a, errorf(muster.EINVALID, "give canned (with area_name) or texts, not both")
	case req.Canned != "":
		if strings.TrimSpace(req.AreaName) == "" {
			return a, errorf(muster.EINVALID, "area_name: a canned advisory names its area as people know it")
		}
		var err error
		if a, err = advisory.Canned(req.Canned, req.AreaName); err != nil {
			return a, err
		}
	case len(req.Texts) > 0:
		a = muster.Advisory{Status: muster.AdvisoryActual, MsgType: muster.AdvisoryAlert, Scope: muster.AdvisoryPublic,
			Categories: req.Categories, ResponseTypes: req.ResponseTypes}
		if len(a.Categories) == 0 {
			a.Categories = []string{"Safety"}
		}
		for _, t := range req.Texts {
			a.Texts = append(a.Texts, muster.AdvisoryText{Language: t.Language, Event: t.Event, Headline: t.Headline, Description: t.Description,
				Instruction: t.Instruction, AreaDesc: t.AreaDesc})
		}
	default:
		return a, errorf(muster.EINVALID, "give canned (%s) with area_name, or texts", strings.Join(advisory.CannedKeys(), ", "))
	}
	for _, o := range []struct {
		to *string
		v  string
	}{{&a.Urgency, req.Urgency}, {&a.Severity, req.Severity}, {&a.Certainty, req.Certainty}, {&a.Status, req.Status}} {
		if o.v != "" {
			*o.to = o.v
		}
	}
	if area != nil && req.Zone == "" && len(req.Polygon) == 0 {
		a.Area = *area
	} else {
		ar, err := s.advisoryArea(ctx, req)
		if err != nil {
			return a, err
		}
		a.Area = ar
	}
	a.ID, a.Sender, a.Sent = advisory.NewID(), s.advisorySender(), s.now().UTC().Truncate(time.Second)
	if req.ExpiresInH < 0 || req.ExpiresInH > 24*30 {
		return a, errorf(muster.EINVALID, "expires_in_hours: %d not in 0..720 (0: 24)", req.ExpiresInH)
	}
	hours := req.ExpiresInH
	if hours == 0 {
		hours = 24
	}
	a.Expires = a.Sent.Add(time.Duration(hours) * time.Hour)
	return a, nil
}

// advisoryArea reads the area of a new advisory: a zone of the threat
// picture now, or a GeoJSON polygon.
func (s *Server) advisoryArea(ctx context.Context, req advisoryRequest) (muster.AdvisoryArea, error) {
	switch {
	case req.Zone != "" && len(req.Polygon) > 0:
		return muster.AdvisoryArea{}, errorf(muster.EINVALID, "give zone or polygon, not both")
	case req.Zone != "":
		reps, err := s.store.ListReports(ctx, time.Time{}, 0)
		if err != nil {
			return muster.AdvisoryArea{}, err
		}
		pl, _, err := s.currentPlaces(ctx)
		if err != nil {
			return muster.AdvisoryArea{}, err
		}
		opts, err := s.pictureOptions(ctx)
		if err != nil {
			return muster.AdvisoryArea{}, err
		}
		pic, err := threat.Build(reps, pl, s.now().UTC(), s.policy, opts...)
		if err != nil {
			return muster.AdvisoryArea{}, err
		}
		var ids []string
		for _, z := range pic.RoutingZones() {
			if z.ID == req.Zone {
				return advisory.AreaFromZone(z)
			}
			ids = append(ids, z.ID)
		}
		return muster.AdvisoryArea{}, errorf(muster.ENOTFOUND, "zone %q is not in the threat picture now (it has: %s); draw the area as a polygon instead", req.Zone, strings.Join(ids, ", "))
	case len(req.Polygon) > 0:
		data := []byte(req.Polygon)
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(data, &head); err != nil {
			return muster.AdvisoryArea{}, errorf(muster.EINVALID, "polygon: not GeoJSON: %v", err)
		}
		switch head.Type {
		case "FeatureCollection":
		case "Feature":
			data = []byte(`{"type":"FeatureCollection","features":[` + string(data) + `]}`)
		default:
			data = []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":` + string(data) + `}]}`)
		}
		zones, err := zonecost.ReadGeoJSON(bytes.NewReader(data), "polygon")
		if err != nil {
			return muster.AdvisoryArea{}, err
		}
		var ar muster.AdvisoryArea
		for _, z := range zones {
			one, err := advisory.AreaFromZone(z)
			if err != nil {
				return muster.AdvisoryArea{}, err
			}
			ar.Polygons = append(ar.Polygons, one.Polygons...)
			ar.Circles = append(ar.Circles, one.Circles...)
		}
		return ar, ar.Validate()
	}
	return muster.AdvisoryArea{}, errorf(muster.EINVALID, "give the area: zone (an id of GET /api/threats) or polygon (GeoJSON)")
}

// deliverAdvisory targets an advisory at the households in its area (their
// locations are read: audited), writes each one's messages in its
// language, and stores the advisory with them in one transaction.
func (s *Server) deliverAdvisory(ctx context.Context, a muster.Advisory, origin string) (advisoryOut, error) {
	var capXML bytes.Buffer
	if err := advisory.Encode(&capXML, a); err != nil {
		return advisoryOut{}, err
	}
	households, err := s.everyHousehold(ctx)
	if err != nil {
		return advisoryOut{}, err
	}
	if err := s.auditRead(ctx, "household.read", "households", fmt.Sprintf("%d households' locations, phones and e-mails read to target advisory %s", len(households), a.ID)); err != nil {
		return advisoryOut{}, err
	}
	t := advisory.Recipients(a, households)
	byID := make(map[string]*muster.Household, len(households))
	for i := range households {
		byID[households[i].ID] = &households[i]
	}
	var ms []muster.OutboxMessage
	for _, rc := range t.Inside {
		h, text := byID[rc.HouseholdID], a.Text(rc.Language)
		if h == nil || text == nil {
			continue
		}
		base := muster.OutboxMessage{HouseholdID: h.ID, InstructionID: muster.AdvisoryMessageID(a.ID)}
		if h.Email != "" && muster.CheckRecipient(muster.ChannelEmail, h.Email) == nil {
			m := base
			m.Channel, m.Recipient, m.Subject, m.Body = muster.ChannelEmail, h.Email, oneLine(text.Headline), advisoryBody(a, text)
			ms = append(ms, m)
		}
		if h.Phone != "" && muster.CheckRecipient(muster.ChannelSMS, h.Phone) == nil {
			m := base
			m.Channel, m.Recipient, m.Body = muster.ChannelSMS, h.Phone, advisory.SMS(text)
			ms = append(ms, m)
		}
	}
	rec := muster.AdvisoryRecord{ID: a.ID, Sender: a.Sender, Sent: a.Sent, Status: a.Status, MsgType: a.MsgType, Origin: origin,
		Recipients: len(t.Inside), NoLocation: len(t.NoLocation), CAP: capXML.Bytes()}
	saved, err := s.store.SaveAdvisory(ctx, rec, ms)
	if err != nil {
		return advisoryOut{}, err
	}
	out := toAdvisoryOut(saved)
	out.ByLanguage, out.Queued, out.Gone = t.ByLanguage(), len(ms), t.Gone
	s.log.Info("advisory queued", "advisory", a.ID, "origin", origin, "households", len(t.Inside), "no_location", len(t.NoLocation), "messages", len(ms))
	return out, nil
}

// everyHousehold reads every household on record, personal fields opened.
func (s *Server) everyHousehold(ctx context.Context) ([]muster.Household, error) {
	var out []muster.Household
	after := ""
	for {
		page, next, err := s.store.ListHouseholds(ctx, muster.HouseholdFilter{AfterID: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, h := range page {
			out = append(out, h.Household)
		}
		if next == "" {
			return out, nil
		}
		after = next
	}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// advisoryBody is an advisory's e-mail: its words in one language.
func advisoryBody(a muster.Advisory, t *muster.AdvisoryText) string {
	var parts []string
	for _, p := range []string{t.Event, t.Headline, t.Description, t.Instruction, t.AreaDesc} {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	parts = append(parts, a.ID+" · "+a.Sent.UTC().Format(time.RFC3339))
	return strings.Join(parts, "\n\n") + "\n"
}

func (s *Server) listAdvisories(w http.ResponseWriter, r *http.Request, _ *caller) error {
	as, err := s.store.ListAdvisories(r.Context(), 100)
	if err != nil {
		return err
	}
	out := advisoriesResponse{Advisories: []advisoryOut{}}
	for _, a := range as {
		out.Advisories = append(out.Advisories, toAdvisoryOut(a))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// advisoryCAP serves an advisory's CAP 1.2 XML: /api/advisories/ID.xml
// (or without .xml).
func (s *Server) advisoryCAP(w http.ResponseWriter, r *http.Request, _ *caller) error {
	id := strings.TrimSuffix(r.PathValue("id"), ".xml")
	a, err := s.store.GetAdvisory(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", mediaCAP)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(a.CAP)
	return nil
}

const mediaCAP = "application/cap+xml"

// importAdvisory reads another system's CAP 1.2 alert (an operator's act:
// CAP is not signed, so nothing unauthenticated enters) and delivers it to
// the households in its area. CAP under this deployment's own sender name
// is refused: only its own store issues those.
func (s *Server) importAdvisory(w http.ResponseWriter, r *http.Request, _ *caller) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, advisory.MaxBytes+1))
	if err != nil || len(body) > advisory.MaxBytes {
		return errorf(codeTooLarge, "request body: more than %d KiB: a CAP alert is a few kilobytes", advisory.MaxBytes>>10)
	}
	d, err := advisory.Read(bytes.NewReader(body))
	if err != nil {
		return err
	}
	a := d.Advisory
	if a.Sender == s.advisorySender() {
		return errorf(muster.EFORBIDDEN, "CAP from sender %q, this deployment's own name: muster issues those itself and never imports one (a forged advisory under its name is refused)", a.Sender)
	}
	if !a.HasInfo() {
		return errorf(muster.EINVALID, "a cancellation without text and area reaches no one by itself: nothing to import")
	}
	out, err := s.deliverAdvisory(r.Context(), a, muster.AdvisoryImported)
	if err != nil {
		return err
	}
	out.LeftOut = d.LeftOut
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// advisoryCancelRequest is the cancellation of an advisory: the area in
// words for the canned cancellation text (default: its English area
// description), and why (CAP <note>).
type advisoryCancelRequest struct {
	AreaName string `json:"area_name,omitempty"`
	Note     string `json:"note,omitempty"`
}

// ownAdvisory reads advisory id to update or cancel it: one of this
// deployment's (another system's is that system's to change: its update
// would come as an import), with text (a cancellation is final), and not
// cancelled already by a later one of ours.
func (s *Server) ownAdvisory(ctx context.Context, id string) (muster.Advisory, error) {
	rec, err := s.store.GetAdvisory(ctx, id)
	if err != nil {
		return muster.Advisory{}, err
	}
	prev, err := advisory.Decode(bytes.NewReader(rec.CAP))
	if err != nil {
		return muster.Advisory{}, fmt.Errorf("advisory %s as stored: %w", id, err)
	}
	switch {
	case rec.Origin != muster.AdvisoryIssued || prev.Sender != s.advisorySender():
		return muster.Advisory{}, errorf(muster.EFORBIDDEN, "advisory %s is %s's (%s): only this deployment's own advisories (sender %s) are updated or cancelled here; another system's update comes as an import",
			id, prev.Sender, rec.Origin, s.advisorySender())
	case !prev.HasInfo() || prev.MsgType == muster.AdvisoryCancel:
		return muster.Advisory{}, errorf(muster.ECONFLICT, "advisory %s is a cancellation: there is nothing left to update or cancel", id)
	}
	later, err := s.store.ListAdvisories(ctx, 1000)
	if err != nil {
		return muster.Advisory{}, err
	}
	for _, l := range later {
		if l.MsgType != muster.AdvisoryCancel || !l.Sent.After(prev.Sent.Add(-time.Second)) || l.ID == id {
			continue
		}
		full, err := s.store.GetAdvisory(ctx, l.ID)
		if err != nil {
			return muster.Advisory{}, err
		}
		c, err := advisory.Decode(bytes.NewReader(full.CAP))
		if err != nil {
			continue // an import this server could read once; not ours to judge now
		}
		for _, ref := range c.References {
			if ref.ID == prev.ID && ref.Sender == prev.Sender {
				return muster.Advisory{}, errorf(muster.ECONFLICT, "advisory %s was cancelled by %s at %s", id, c.ID, c.Sent.Format(time.RFC3339))
			}
		}
	}
	return prev, nil
}

// updateAdvisory issues a CAP Update of one of this deployment's
// advisories: new words (canned or written), over the same area unless
// the request names another, referencing the one it replaces, delivered
// to the households in its area as a new advisory is.
func (s *Server) updateAdvisory(w http.ResponseWriter, r *http.Request, _ *caller) error {
	var req advisoryRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	prev, err := s.ownAdvisory(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	a, err := s.newAdvisory(r.Context(), req, &prev.Area)
	if err != nil {
		return err
	}
	a.MsgType, a.References = muster.AdvisoryUpdate, []muster.AdvisoryRef{prev.Ref()}
	if req.Status == "" {
		a.Status = prev.Status
	}
	if !a.Sent.After(prev.Sent) {
		a.Sent = prev.Sent.Add(time.Second) // CAP orders by sent: the update comes after
	}
	if err := a.Validate(); err != nil {
		return err
	}
	out, err := s.deliverAdvisory(r.Context(), a, muster.AdvisoryIssued)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// cancelAdvisory issues a CAP Cancel of one of this deployment's
// advisories (advisory.Cancel: the same area, urgency Past, response
// None, the canned words saying it no longer applies, in its languages),
// delivered to the households in its area.
func (s *Server) cancelAdvisory(w http.ResponseWriter, r *http.Request, _ *caller) error {
	var req advisoryCancelRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	prev, err := s.ownAdvisory(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	area := req.AreaName
	if strings.TrimSpace(area) == "" {
		if t := prev.Text(muster.LangEnglish); t != nil {
			area = t.AreaDesc
		}
	}
	sent := s.now().UTC().Truncate(time.Second)
	if !sent.After(prev.Sent) {
		sent = prev.Sent.Add(time.Second)
	}
	c, err := advisory.Cancel(prev, advisory.NewID(), sent, area, req.Note)
	if err != nil {
		return err
	}
	c.Expires = prev.Expires
	if c.Expires.IsZero() || !c.Expires.After(sent) {
		c.Expires = sent.Add(24 * time.Hour)
	}
	if err := c.Validate(); err != nil {
		return err
	}
	out, err := s.deliverAdvisory(r.Context(), c, muster.AdvisoryIssued)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}
