package sqlstore

import (
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"context"

	"github.com/muster-evac/muster"
)

// Personal fields are sealed one by one, each with the aad
// "household:<id>:<field>", so a ciphertext moved to another row or column
// does not open. What stays clear is what planning counts on and what
// says nothing of who a household is (status, language, party size).
// Priority, eligibility and documents are sealed too (migration 0010):
// for the people on these lists they are as dangerous as a name, so a
// priority filter or count opens the rows (listWhere, CountHouseholds).
const householdColumns = `id, status, priority_enc, language, party_size, adults, children, eligibility_enc, documents_enc,
	has_location, name_enc, name_local_enc, members_enc, phone_enc, email_enc, address_enc, notes_enc, location_enc,
	version, created_at, updated_at`

// householdColumnsH is householdColumns qualified by the alias h.
const householdColumnsH = `h.id, h.status, h.priority_enc, h.language, h.party_size, h.adults, h.children, h.eligibility_enc,
	h.documents_enc, h.has_location, h.name_enc, h.name_local_enc, h.members_enc, h.phone_enc, h.email_enc, h.address_enc,
	h.notes_enc, h.location_enc, h.version, h.created_at, h.updated_at`

// sealedHousehold is a households row.
type sealedHousehold struct {
	id, status, language                   string
	priority, eligibility, documents       []byte
	partySize, adults, children            int
	hasLocation                            int
	name, nameLocal, members, phone, email []byte
	address, notes, location               []byte
	phoneHash                              []byte
	version, createdAt, updatedAt          int64
}

func (s *sealedHousehold) scanArgs() []any {
	return []any{&s.id, &s.status, &s.priority, &s.language, &s.partySize, &s.adults, &s.children, &s.eligibility,
		&s.documents, &s.hasLocation, &s.name, &s.nameLocal, &s.members, &s.phone, &s.email, &s.address, &s.notes,
		&s.location, &s.version, &s.createdAt, &s.updatedAt}
}

func aad(id, field string) string { return "household:" + id + ":" + field }

// phoneHash is the keyed hash phones are looked up by; nil for no phone.
func phoneHash(k muster.Sealer, phone string) []byte {
	if phone == "" {
		return nil
	}
	return k.Hash("phone", phone)
}

func seal(k muster.Sealer, h *muster.Household) (sealedHousehold, error) {
	members, err := json.Marshal(h.Members)
	if err != nil {
		return sealedHousehold{}, fmt.Errorf("household %s: members: %w", h.ID, err)
	}
	loc := ""
	if h.HasLocation {
		loc = strconv.FormatFloat(h.Lat, 'g', -1, 64) + "," + strconv.FormatFloat(h.Lon, 'g', -1, 64)
	}
	id := h.ID
	return sealedHousehold{
		id: id, status: h.Status, language: h.Language,
		partySize: h.PartySize, adults: h.Adults, children: h.Children, hasLocation: boolInt(h.HasLocation),
		priority:    k.Seal([]byte(h.Priority), aad(id, "priority")),
		eligibility: k.Seal([]byte(h.Eligibility), aad(id, "eligibility")),
		documents:   k.Seal([]byte(h.Documents), aad(id, "documents")),
		name:        k.Seal([]byte(h.Name), aad(id, "name")),
		nameLocal:   k.Seal([]byte(h.NameLocal), aad(id, "name_local")),
		members:     k.Seal(members, aad(id, "members")),
		phone:       k.Seal([]byte(h.Phone), aad(id, "phone")),
		email:       k.Seal([]byte(h.Email), aad(id, "email")),
		address:     k.Seal([]byte(h.Address), aad(id, "address")),
		notes:       k.Seal([]byte(h.Notes), aad(id, "notes")),
		location:    k.Seal([]byte(loc), aad(id, "location")),
		phoneHash:   phoneHash(k, h.Phone),
	}, nil
}

func (s *sealedHousehold) open(k muster.Sealer) (muster.HouseholdRecord, error) {
	r := muster.HouseholdRecord{Version: s.version, CreatedAt: fromMicros(s.createdAt)}
	h := &r.Household
	h.ID, h.Status, h.Language = s.id, s.status, s.language
	h.PartySize, h.Adults, h.Children = s.partySize, s.adults, s.children
	h.HasLocation = s.hasLocation != 0
	h.UpdatedAt = fromMicros(s.updatedAt)
	var err error
	field := func(name string, ct []byte) string {
		if err != nil {
			return ""
		}
		var pt []byte
		pt, err = k.Open(ct, aad(s.id, name))
		if err != nil {
			err = fmt.Errorf("household %s: open %s: %w", s.id, name, err)
		}
		return string(pt)
	}
	h.Priority = field("priority", s.priority)
	h.Eligibility = field("eligibility", s.eligibility)
	h.Documents = field("documents", s.documents)
	h.Name = field("name", s.name)
	h.NameLocal = field("name_local", s.nameLocal)
	members := field("members", s.members)
	h.Phone = field("phone", s.phone)
	h.Email = field("email", s.email)
	h.Address = field("address", s.address)
	h.Notes = field("notes", s.notes)
	loc := field("location", s.location)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(members), &h.Members); err != nil {
		return r, fmt.Errorf("household %s: members: %w", s.id, err)
	}
	if h.HasLocation {
		lat, lon, ok := strings.Cut(loc, ",")
		if h.Lat, err = strconv.ParseFloat(lat, 64); err == nil && ok {
			h.Lon, err = strconv.ParseFloat(lon, 64)
		}
		if err != nil || !ok {
			return r, fmt.Errorf("household %s: location %q unreadable", s.id, loc)
		}
	}
	return r, nil
}

// Limits on what one household may hold: generous for real lists, small
// enough that no row can exhaust memory.
const (
	maxIDLen      = 64
	maxTextLen    = 4000
	maxMembers    = 200
	maxPartySize  = 1000
	maxImportRows = 200_000
)

// validate normalises and checks h; the error says which field and why.
func validate(h *muster.Household) error {
	bad := func(field, format string, args ...any) error {
		return muster.Errorf(muster.EINVALID, "household %q: %s: %s", h.ID, field, fmt.Sprintf(format, args...))
	}
	if h.ID != "" {
		if len(h.ID) > maxIDLen {
			return bad("id", "longer than %d bytes", maxIDLen)
		}
		for _, r := range h.ID {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:", r)) {
				return bad("id", "%q: only letters, digits and - _ . : are allowed", r)
			}
		}
	}
	if h.Priority == "" {
		h.Priority = muster.PriorityNone
	}
	if !slices.Contains(muster.Priorities, h.Priority) {
		return bad("priority", "%q is not one of %s", h.Priority, strings.Join(muster.Priorities, ", "))
	}
	if h.Language != "" && !slices.Contains(muster.Languages, h.Language) {
		return bad("language", "%q is not one of %s", h.Language, strings.Join(muster.Languages, ", "))
	}
	if h.Eligibility != "" && !slices.Contains(muster.Eligibilities, h.Eligibility) {
		return bad("eligibility", "%q is not one of %s", h.Eligibility, strings.Join(muster.Eligibilities, ", "))
	}
	if h.Status != "" && !slices.Contains(muster.HouseholdStatuses, h.Status) {
		return bad("status", "%q is not one of %s", h.Status, strings.Join(muster.HouseholdStatuses, ", "))
	}
	if h.PartySize < 0 || h.PartySize > maxPartySize || h.Adults < 0 || h.Children < 0 || h.Adults+h.Children > maxPartySize {
		return bad("party size", "%d (%d adults, %d children) out of range 0..%d", h.PartySize, h.Adults, h.Children, maxPartySize)
	}
	if len(h.Members) > maxMembers {
		return bad("members", "%d, more than %d", len(h.Members), maxMembers)
	}
	if h.HasLocation {
		if math.IsNaN(h.Lat) || h.Lat < -90 || h.Lat > 90 {
			return bad("lat", "%v not in -90..90", h.Lat)
		}
		if math.IsNaN(h.Lon) || h.Lon < -180 || h.Lon > 180 {
			return bad("lon", "%v not in -180..180", h.Lon)
		}
	} else {
		h.Lat, h.Lon = 0, 0
	}
	for name, v := range map[string]string{"name": h.Name, "name_local": h.NameLocal, "phone": h.Phone, "email": h.Email,
		"address": h.Address, "eligibility": h.Eligibility, "documents": h.Documents, "notes": h.Notes} {
		if len(v) > maxTextLen {
			return bad(name, "longer than %d bytes", maxTextLen)
		}
		if !validText(v) {
			return bad(name, "not valid UTF-8")
		}
	}
	for i, m := range h.Members {
		if len(m.Name) > maxTextLen || !validText(m.Name) || m.Age < 0 || m.Age > 150 {
			return bad("members", "member %d: bad name or age %d", i+1, m.Age)
		}
	}
	return nil
}

// sameRegistry reports whether a and b agree on every field an import or
// an update sets (not status, history, times).
func sameRegistry(a, b *muster.Household) bool {
	return a.Name == b.Name && a.NameLocal == b.NameLocal && slices.Equal(a.Members, b.Members) &&
		a.PartySize == b.PartySize && a.Adults == b.Adults && a.Children == b.Children &&
		a.Priority == b.Priority && a.Language == b.Language && a.Phone == b.Phone && a.Email == b.Email &&
		a.HasLocation == b.HasLocation && a.Lat == b.Lat && a.Lon == b.Lon && a.Address == b.Address &&
		a.Eligibility == b.Eligibility && a.Documents == b.Documents && a.Notes == b.Notes
}

// listed names the household of row j of an import batch for a message:
// its id, or its place in the batch (counted from 1) when it has none.
func listed(hs []muster.Household, j int) string {
	if hs[j].ID != "" {
		return "household " + hs[j].ID
	}
	return fmt.Sprintf("the household without an id in row %d", j+1)
}

// carriedSet checks the fields an import says it carries and returns them
// as a set; nil (every field) for nil.
func carriedSet(carries []string) (map[string]bool, error) {
	if carries == nil {
		return nil, nil
	}
	set := make(map[string]bool, len(carries))
	for _, f := range carries {
		if !slices.Contains(muster.RegistryFields, f) {
			return nil, muster.Errorf(muster.EINVALID, "import: %q is not a registry field (want some of %s)", f, strings.Join(muster.RegistryFields, ", "))
		}
		set[f] = true
	}
	return set, nil
}

// keepUncarried gives h, a batch row that matched the stored household old,
// old's value of every field the batch does not carry (carried nil: it
// carries all), and returns what the operator should check: kept values
// the row's new ones may have made stale.
func keepUncarried(h, old *muster.Household, carried map[string]bool) []string {
	if carried == nil {
		return nil
	}
	keep := func(f string) bool { return !carried[f] }
	if keep(muster.FieldName) {
		h.Name = old.Name
	}
	if keep(muster.FieldNameLocal) {
		h.NameLocal = old.NameLocal
	}
	if keep(muster.FieldMembers) {
		h.Members = old.Members
	}
	if keep(muster.FieldPartySize) {
		h.PartySize = old.PartySize
	}
	if keep(muster.FieldPriority) {
		h.Priority = old.Priority
	}
	if keep(muster.FieldLanguage) {
		h.Language = old.Language
	}
	if keep(muster.FieldPhone) {
		h.Phone = old.Phone
	}
	if keep(muster.FieldEmail) {
		h.Email = old.Email
	}
	if keep(muster.FieldLocation) {
		h.Lat, h.Lon, h.HasLocation = old.Lat, old.Lon, old.HasLocation
	}
	if keep(muster.FieldAddress) {
		h.Address = old.Address
	}
	if keep(muster.FieldEligibility) {
		h.Eligibility = old.Eligibility
	}
	if keep(muster.FieldDocuments) {
		h.Documents = old.Documents
	}
	if keep(muster.FieldNotes) {
		h.Notes = old.Notes
	}
	var check []string
	// A split the row derived (from members' ages) is newer than the
	// stored one; a stored split that no longer adds up to the party size
	// is stale, and stays out rather than contradict it.
	if keep(muster.FieldAdultsChildren) && h.Adults+h.Children == 0 && old.Adults+old.Children != 0 {
		if old.Adults+old.Children == h.PartySize {
			h.Adults, h.Children = old.Adults, old.Children
		} else {
			check = append(check, fmt.Sprintf("the %d adults and %d children on record do not make the party of %d: cleared",
				old.Adults, old.Children, h.PartySize))
		}
	}
	if keep(muster.FieldMembers) && len(h.Members) > 0 && h.PartySize != old.PartySize && len(h.Members) != h.PartySize {
		check = append(check, fmt.Sprintf("kept the %d members on record, but the party is now %d", len(h.Members), h.PartySize))
	}
	if keep(muster.FieldLocation) && h.HasLocation && h.Address != old.Address {
		check = append(check, "kept the coordinates on record, but the address changed: check them")
	}
	return check
}

func newID(prefix string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// insertHousehold inserts a new household and its first history entry.
func (w *wtx) insertHousehold(k muster.Sealer, h *muster.Household) error {
	if h.Status == "" {
		h.Status = muster.StatusRegistered
	}
	s, err := seal(k, h)
	if err != nil {
		return err
	}
	now := micros(w.now)
	_, err = w.exec(`INSERT INTO households (`+householdColumns+`, phone_hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`,
		s.id, s.status, s.priority, s.language, s.partySize, s.adults, s.children, s.eligibility, s.documents,
		s.hasLocation, s.name, s.nameLocal, s.members, s.phone, s.email, s.address, s.notes, s.location,
		now, now, s.phoneHash)
	if err != nil {
		return w.c.conflict(err, "household %s exists already", h.ID)
	}
	if err := w.appendHistory(k, h.ID, h.Status, "", 1); err != nil {
		return err
	}
	w.record("household.create", "household:"+h.ID, "status="+h.Status)
	w.announce("household", h.ID)
	return nil
}

// appendHistory appends a status change as entry seq (0: the next one).
func (w *wtx) appendHistory(k muster.Sealer, id, status, note string, seq int64) error {
	if seq == 0 {
		if err := w.queryRow(`SELECT COALESCE(MAX(seq), 0) + 1 FROM household_status WHERE household_id = ?`, id).Scan(&seq); err != nil {
			return fmt.Errorf("household %s: history: %w", id, err)
		}
	}
	noteCT := k.Seal([]byte(note), aad(id, "history:"+strconv.FormatInt(seq, 10)+":note"))
	if _, err := w.exec(`INSERT INTO household_status (household_id, seq, status, at, by_actor, note_enc) VALUES (?, ?, ?, ?, ?, ?)`,
		id, seq, status, micros(w.now), w.actor, noteCT); err != nil {
		return fmt.Errorf("household %s: history: %w", id, err)
	}
	return nil
}

// updateRegistry writes h's registry fields over the stored row if its
// version is still version (any version when version < 0).
func (w *wtx) updateRegistry(k muster.Sealer, h *muster.Household, version int64) (bool, error) {
	s, err := seal(k, h)
	if err != nil {
		return false, err
	}
	res, err := w.exec(`UPDATE households SET priority_enc = ?, language = ?, party_size = ?, adults = ?, children = ?,
		eligibility_enc = ?, documents_enc = ?, has_location = ?, name_enc = ?, name_local_enc = ?, members_enc = ?, phone_enc = ?,
		email_enc = ?, address_enc = ?, notes_enc = ?, location_enc = ?, phone_hash = ?, version = version + 1, updated_at = ?
		WHERE id = ? AND (version = ? OR ? < 0)`,
		s.priority, s.language, s.partySize, s.adults, s.children, s.eligibility, s.documents, s.hasLocation,
		s.name, s.nameLocal, s.members, s.phone, s.email, s.address, s.notes, s.location, s.phoneHash, micros(w.now),
		h.ID, version, version)
	if err != nil {
		return false, fmt.Errorf("household %s: update: %w", h.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("household %s: update: %w", h.ID, err)
	}
	if n == 1 {
		w.record("household.update", "household:"+h.ID, "")
		w.announce("household", h.ID)
	}
	return n == 1, nil
}

const (
	getHouseholdQuery   = `SELECT ` + householdColumns + ` FROM households WHERE id = ?`
	getWithHistoryQuery = `SELECT ` + householdColumnsH + `, s.seq, s.status, s.at, s.by_actor, s.note_enc
		FROM households h LEFT JOIN household_status s ON s.household_id = h.id WHERE h.id = ? ORDER BY s.seq`
)

// getHousehold reads one household row (no history) in tx.
func getHousehold(ctx context.Context, q querier, c *Core, k muster.Sealer, id string, lock bool) (muster.HouseholdRecord, error) {
	var s sealedHousehold
	query := getHouseholdQuery
	if lock {
		query += c.d.ForUpdate
	}
	err := q.QueryRowContext(ctx, c.q(query), id).Scan(s.scanArgs()...)
	if errors.Is(err, sql.ErrNoRows) {
		return muster.HouseholdRecord{}, muster.Errorf(muster.ENOTFOUND, "household %s not found", id)
	}
	if err != nil {
		return muster.HouseholdRecord{}, fmt.Errorf("household %s: %w", id, err)
	}
	return s.open(k)
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// CreateHousehold implements muster.Store.
func (c *Core) CreateHousehold(ctx context.Context, h muster.Household) (muster.HouseholdRecord, error) {
	k, err := c.keyring()
	if err != nil {
		return muster.HouseholdRecord{}, err
	}
	if err := validate(&h); err != nil {
		return muster.HouseholdRecord{}, err
	}
	if h.ID == "" {
		h.ID = newID("hh-")
	}
	var rec muster.HouseholdRecord
	err = c.write(ctx, func(w *wtx) error {
		if err := w.insertHousehold(k, &h); err != nil {
			return err
		}
		rec, err = getWithHistory(ctx, w, c, k, h.ID)
		return err
	})
	return rec, err
}

// UpdateHousehold implements muster.Store.
func (c *Core) UpdateHousehold(ctx context.Context, h muster.Household, version int64) (muster.HouseholdRecord, error) {
	k, err := c.keyring()
	if err != nil {
		return muster.HouseholdRecord{}, err
	}
	if err := validate(&h); err != nil {
		return muster.HouseholdRecord{}, err
	}
	if h.ID == "" {
		return muster.HouseholdRecord{}, muster.Errorf(muster.EINVALID, "household: no id to update")
	}
	var rec muster.HouseholdRecord
	err = c.write(ctx, func(w *wtx) error {
		ok, err := w.updateRegistry(k, &h, version)
		if err != nil {
			return err
		}
		rec, err = getHousehold(ctx, w, c, k, h.ID, false)
		if err != nil {
			return err
		}
		if !ok {
			return muster.Errorf(muster.ECONFLICT, "household %s changed since version %d (now %d): re-read it", h.ID, version, rec.Version)
		}
		rec, err = getWithHistory(ctx, w, c, k, h.ID)
		return err
	})
	return rec, err
}

// ImportHouseholds implements muster.Store.
func (c *Core) ImportHouseholds(ctx context.Context, hs []muster.Household, opts muster.ImportOptions) (muster.ImportResult, error) {
	res := muster.ImportResult{DryRun: opts.DryRun}
	k, err := c.keyring()
	if err != nil {
		return res, err
	}
	if len(hs) > maxImportRows {
		return res, muster.Errorf(muster.EINVALID, "import: %d rows, more than %d in one batch", len(hs), maxImportRows)
	}
	carried, err := carriedSet(opts.Carries)
	if err != nil {
		return res, err
	}
	errAbort := errors.New("dry run or rejected rows: roll back")
	err = c.write(ctx, func(w *wtx) error {
		res = muster.ImportResult{DryRun: opts.DryRun}
		seenID := map[string]int{}
		seenPhone := map[string]int{}
		reject := func(i int, id, reason string) {
			res.Rows = append(res.Rows, muster.ImportRow{Index: i, ID: id, Action: muster.ImportRejected, Reason: reason})
			res.Rejected++
		}
		// Read every household the batch may match in a few statements
		// rather than two per row.
		var ids []string
		var phones [][]byte
		for i := range hs {
			if hs[i].ID != "" && !badKey(hs[i].ID) { // a bad one is rejected below
				ids = append(ids, hs[i].ID)
			}
			if hs[i].Phone != "" {
				phones = append(phones, phoneHash(k, hs[i].Phone))
			}
		}
		if c.d.BeforeBulkRead != "" {
			if _, err := w.ExecContext(ctx, c.d.BeforeBulkRead); err != nil {
				return fmt.Errorf("import: %w", err)
			}
		}
		byID, err := w.prefetchByID(ids)
		if err != nil {
			return err
		}
		byPhone, err := w.prefetchByPhone(phones)
		if err != nil {
			return err
		}
		for i := range hs {
			if err := ctx.Err(); err != nil {
				return err
			}
			h := hs[i]
			if err := validate(&h); err != nil {
				reject(i, h.ID, err.Error())
				continue
			}
			if h.ID != "" {
				if j, dup := seenID[h.ID]; dup {
					reject(i, h.ID, fmt.Sprintf("id %s is also on row %d of this batch", h.ID, j))
					continue
				}
				seenID[h.ID] = i
			}
			// A row with an id is that household; the phone finds the
			// household of a row without one. Households may share a phone
			// (one handset for a family and its neighbours: the Porto Alegre
			// drill's list has two such pairs), so a shared phone on rows
			// with ids is imported, with a note to check it is not one
			// family registered twice.
			var checks []string
			if h.Phone != "" {
				j, dup := seenPhone[h.Phone]
				switch {
				case dup && h.ID == "":
					reject(i, h.ID, fmt.Sprintf("no household id, and the phone is also that of %s in this list: cannot tell which household this row is", listed(hs, j)))
					continue
				case dup:
					checks = append(checks, fmt.Sprintf("the phone is also that of %s in this list: a shared phone, or one family twice?", listed(hs, j)))
				default:
					seenPhone[h.Phone] = i
				}
			}
			var existing *muster.HouseholdRecord
			reason := ""
			if sh := byID[h.ID]; h.ID != "" && sh != nil {
				rec, err := sh.open(k)
				if err != nil {
					return err
				}
				existing, reason = &rec, "matched by id"
			}
			if existing == nil && h.Phone != "" {
				ids := byPhone[string(phoneHash(k, h.Phone))]
				switch {
				case h.ID != "" && len(ids) > 0:
					checks = append(checks, fmt.Sprintf("the phone is also registered to household %s: a shared phone, or one family under a new id?", strings.Join(ids, ", ")))
				case len(ids) > 1:
					reject(i, h.ID, fmt.Sprintf("phone matches %d households (%s): cannot tell which", len(ids), strings.Join(ids, ", ")))
					continue
				case len(ids) == 1:
					rec, err := getHousehold(ctx, w, c, k, ids[0], true)
					if err != nil {
						return err
					}
					existing, reason = &rec, "matched by phone"
					h.ID = rec.ID
					if j, dup := seenID[h.ID]; dup {
						reject(i, h.ID, fmt.Sprintf("matches household %s by phone, which is also on row %d", h.ID, j))
						continue
					}
					seenID[h.ID] = i
				}
			}
			if existing != nil {
				checks = append(checks, keepUncarried(&h, &existing.Household, carried)...)
			}
			if reason != "" {
				checks = append([]string{reason}, checks...)
			}
			reason = strings.Join(checks, "; ")
			switch {
			case existing == nil:
				if h.ID == "" {
					h.ID = newID("hh-")
				}
				h.Status = ""
				if err := w.insertHousehold(k, &h); err != nil {
					return err
				}
				res.Created++
				res.Rows = append(res.Rows, muster.ImportRow{Index: i, ID: h.ID, Action: muster.ImportCreated, Reason: reason})
			case sameRegistry(&existing.Household, &h):
				res.Unchanged++
				res.Rows = append(res.Rows, muster.ImportRow{Index: i, ID: h.ID, Action: muster.ImportUnchanged, Reason: reason})
			default:
				if _, err := w.updateRegistry(k, &h, -1); err != nil {
					return err
				}
				res.Updated++
				res.Rows = append(res.Rows, muster.ImportRow{Index: i, ID: h.ID, Action: muster.ImportUpdated, Reason: reason})
			}
		}
		if res.Created+res.Updated > 0 {
			w.record("household.import", "households", fmt.Sprintf("created=%d updated=%d unchanged=%d", res.Created, res.Updated, res.Unchanged))
		}
		if res.Rejected > 0 || opts.DryRun {
			return errAbort
		}
		return nil
	})
	slices.SortStableFunc(res.Rows, func(a, b muster.ImportRow) int { return a.Index - b.Index })
	switch {
	case errors.Is(err, errAbort) && res.Rejected > 0:
		var reasons []string
		for _, r := range res.Rows {
			if r.Action == muster.ImportRejected && len(reasons) < 5 {
				reasons = append(reasons, fmt.Sprintf("row %d: %s", r.Index, r.Reason))
			}
		}
		return res, muster.Errorf(muster.EINVALID, "import: %d of %d rows rejected, nothing stored: %s", res.Rejected, len(hs), strings.Join(reasons, "; "))
	case errors.Is(err, errAbort):
		return res, nil
	case err != nil:
		return res, fmt.Errorf("import: %w", err)
	}
	res.Committed = true
	return res, nil
}

// prefetchChunk is how many keys one prefetch statement looks up; a
// shorter last chunk repeats its last key, so that there is one statement
// to prepare, not one per length.
const prefetchChunk = 100

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func padded[T any](keys []T, start int) []any {
	chunk := keys[start:min(len(keys), start+prefetchChunk)]
	args := make([]any, prefetchChunk)
	for i := range args {
		args[i] = chunk[min(i, len(chunk)-1)]
	}
	return args
}

// prefetchByID reads (and on PostgreSQL locks) the households with these ids.
func (w *wtx) prefetchByID(ids []string) (map[string]*sealedHousehold, error) {
	out := map[string]*sealedHousehold{}
	query := `SELECT ` + householdColumns + ` FROM households WHERE id IN (` + placeholders(prefetchChunk) + `)` + w.c.d.ForUpdate
	for start := 0; start < len(ids); start += prefetchChunk {
		rows, err := w.query(query, padded(ids, start)...)
		if err != nil {
			return nil, fmt.Errorf("read households: %w", err)
		}
		for rows.Next() {
			s := new(sealedHousehold)
			if err := rows.Scan(s.scanArgs()...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read households: %w", err)
			}
			out[s.id] = s
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read households: %w", err)
		}
	}
	return out, nil
}

// prefetchByPhone returns the ids of the households with each phone hash
// (keyed by the hash as a string), in id order.
func (w *wtx) prefetchByPhone(hashes [][]byte) (map[string][]string, error) {
	out := map[string][]string{}
	query := `SELECT id, phone_hash FROM households WHERE phone_hash IN (` + placeholders(prefetchChunk) + `) ORDER BY id`
	for start := 0; start < len(hashes); start += prefetchChunk {
		rows, err := w.query(query, padded(hashes, start)...)
		if err != nil {
			return nil, fmt.Errorf("find by phone: %w", err)
		}
		for rows.Next() {
			var id string
			var hash []byte
			if err := rows.Scan(&id, &hash); err != nil {
				rows.Close()
				return nil, fmt.Errorf("find by phone: %w", err)
			}
			out[string(hash)] = append(out[string(hash)], id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("find by phone: %w", err)
		}
	}
	return out, nil
}

// GetHousehold implements muster.Store.
func (c *Core) GetHousehold(ctx context.Context, id string) (muster.HouseholdRecord, error) {
	if badKey(id) {
		return muster.HouseholdRecord{}, muster.Errorf(muster.ENOTFOUND, "household %q not found", id)
	}
	k, err := c.keyring()
	if err != nil {
		return muster.HouseholdRecord{}, err
	}
	return getWithHistory(ctx, c.reader(), c, k, id)
}

// getWithHistory reads a household and its history in one statement: one
// round trip, and one consistent snapshot on both engines.
func getWithHistory(ctx context.Context, q querier, c *Core, k muster.Sealer, id string) (muster.HouseholdRecord, error) {
	rows, err := q.QueryContext(ctx, getWithHistoryQuery, id)
	if err != nil {
		return muster.HouseholdRecord{}, fmt.Errorf("household %s: %w", id, err)
	}
	defer rows.Close()
	var s sealedHousehold
	var hist []muster.StatusChange
	found := false
	for rows.Next() {
		var seq, at sql.NullInt64
		var status, by sql.NullString
		var note []byte
		if err := rows.Scan(append(s.scanArgs(), &seq, &status, &at, &by, &note)...); err != nil {
			return muster.HouseholdRecord{}, fmt.Errorf("household %s: %w", id, err)
		}
		found = true
		if !seq.Valid {
			continue
		}
		pt, err := k.Open(note, aad(id, "history:"+strconv.FormatInt(seq.Int64, 10)+":note"))
		if err != nil {
			return muster.HouseholdRecord{}, fmt.Errorf("household %s: history %d: %w", id, seq.Int64, err)
		}
		hist = append(hist, muster.StatusChange{Status: status.String, At: fromMicros(at.Int64), By: by.String, Note: string(pt)})
	}
	if err := rows.Err(); err != nil {
		return muster.HouseholdRecord{}, fmt.Errorf("household %s: %w", id, err)
	}
	if !found {
		return muster.HouseholdRecord{}, muster.Errorf(muster.ENOTFOUND, "household %s not found", id)
	}
	rec, err := s.open(k)
	rec.History = hist
	return rec, err
}

// FindHouseholdsByPhone implements muster.Store.
func (c *Core) FindHouseholdsByPhone(ctx context.Context, phone string) ([]muster.HouseholdRecord, error) {
	k, err := c.keyring()
	if err != nil {
		return nil, err
	}
	if phone == "" {
		return nil, muster.Errorf(muster.EINVALID, "find by phone: empty phone")
	}
	return c.listWhere(ctx, k, `phone_hash = ?`, []any{phoneHash(k, phone)}, "", "", 0)
}

func filterWhere(f muster.HouseholdFilter) (string, []any) {
	var conds []string
	var args []any
	if f.Status != "" {
		conds, args = append(conds, "status = ?"), append(args, f.Status)
	}
	if len(conds) == 0 {
		return "1 = 1", nil
	}
	return strings.Join(conds, " AND "), args
}

// listWhere lists, in id order after afterID, up to limit (0: no limit)
// households that match where and, when priority is not "", have that
// priority. Priority is sealed, so it is matched after opening: the rows
// are read a page at a time until limit of them match.
func (c *Core) listWhere(ctx context.Context, k muster.Sealer, where string, args []any, priority, afterID string, limit int) ([]muster.HouseholdRecord, error) {
	page := sqlLimit(limit)
	if priority != "" && limit > 0 {
		page = int64(max(limit, 500))
	}
	var out []muster.HouseholdRecord
	for {
		query := `SELECT ` + householdColumns + ` FROM households WHERE ` + where
		qargs := slices.Clone(args)
		if afterID != "" {
			query += ` AND id > ?`
			qargs = append(qargs, afterID)
		}
		query += ` ORDER BY id LIMIT ?`
		n, err := c.listPage(ctx, k, query, append(qargs, page), priority, &out, &afterID)
		if err != nil {
			return nil, err
		}
		if limit > 0 && len(out) >= limit {
			return out[:limit], nil
		}
		if priority == "" || int64(n) < page {
			return out, nil
		}
	}
}

// listPage reads one page of listWhere, appends the matching households
// to out, sets last to the last id read and returns how many rows it read.
func (c *Core) listPage(ctx context.Context, k muster.Sealer, query string, args []any, priority string, out *[]muster.HouseholdRecord, last *string) (int, error) {
	rows, err := c.reader().QueryContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("list households: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var s sealedHousehold
		if err := rows.Scan(s.scanArgs()...); err != nil {
			return n, fmt.Errorf("list households: %w", err)
		}
		n++
		*last = s.id
		rec, err := s.open(k)
		if err != nil {
			return n, err
		}
		if priority == "" || rec.Priority == priority {
			*out = append(*out, rec)
		}
	}
	return n, rows.Err()
}

// ListHouseholds implements muster.Store.
func (c *Core) ListHouseholds(ctx context.Context, f muster.HouseholdFilter) ([]muster.HouseholdRecord, string, error) {
	k, err := c.keyring()
	if err != nil {
		return nil, "", err
	}
	if err := checkFilter(f); err != nil {
		return nil, "", err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	where, args := filterWhere(f)
	hs, err := c.listWhere(ctx, k, where, args, f.Priority, f.AfterID, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(hs) > limit {
		hs = hs[:limit]
		next = hs[limit-1].ID
	}
	return hs, next, nil
}

func checkFilter(f muster.HouseholdFilter) error {
	if badKey(f.AfterID) {
		return muster.Errorf(muster.EINVALID, "after %q: not a household id", f.AfterID)
	}
	if f.Status != "" && !slices.Contains(muster.HouseholdStatuses, f.Status) {
		return muster.Errorf(muster.EINVALID, "status filter %q is not one of %s", f.Status, strings.Join(muster.HouseholdStatuses, ", "))
	}
	if f.Priority != "" && !slices.Contains(muster.Priorities, f.Priority) {
		return muster.Errorf(muster.EINVALID, "priority filter %q is not one of %s", f.Priority, strings.Join(muster.Priorities, ", "))
	}
	return nil
}

// CountHouseholds implements muster.Store.
func (c *Core) CountHouseholds(ctx context.Context, f muster.HouseholdFilter) (int, error) {
	if err := checkFilter(f); err != nil {
		return 0, err
	}
	where, args := filterWhere(f)
	if f.Priority != "" {
		return c.countPriority(ctx, where, args, f.Priority)
	}
	var n int
	if err := c.reader().QueryRowContext(ctx, (`SELECT COUNT(*) FROM households WHERE ` + where), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count households: %w", err)
	}
	return n, nil
}

// countPriority counts the households matching where whose sealed
// priority opens to priority: it needs the data key, as a list does.
func (c *Core) countPriority(ctx context.Context, where string, args []any, priority string) (int, error) {
	k, err := c.keyring()
	if err != nil {
		return 0, err
	}
	rows, err := c.reader().QueryContext(ctx, `SELECT id, priority_enc FROM households WHERE `+where, args...)
	if err != nil {
		return 0, fmt.Errorf("count households: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id string
		var ct []byte
		if err := rows.Scan(&id, &ct); err != nil {
			return 0, fmt.Errorf("count households: %w", err)
		}
		pt, err := k.Open(ct, aad(id, "priority"))
		if err != nil {
			return 0, fmt.Errorf("count households: household %s: open priority: %w", id, err)
		}
		if string(pt) == priority {
			n++
		}
	}
	return n, rows.Err()
}

// ListHouseholdContacts implements muster.Store: the six columns an
// issuance addresses a household by, four of them sealed, and none of the
// others (members, address, location, notes, priority, eligibility,
// documents stay sealed and unread).
func (c *Core) ListHouseholdContacts(ctx context.Context, afterID string, limit int) ([]muster.Household, string, error) {
	k, err := c.keyring()
	if err != nil {
		return nil, "", err
	}
	if badKey(afterID) {
		return nil, "", muster.Errorf(muster.EINVALID, "after %q: not a household id", afterID)
	}
	if limit <= 0 {
		limit = 1000
	}
	limit = min(limit, muster.MaxContactsPage)
	query := `SELECT id, language, name_enc, name_local_enc, phone_enc, email_enc FROM households`
	args := []any{}
	if afterID != "" {
		query += ` WHERE id > ?`
		args = append(args, afterID)
	}
	// One more than asked says whether a page follows.
	rows, err := c.bulkReader().QueryContext(ctx, query+` ORDER BY id LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list household contacts: %w", err)
	}
	defer rows.Close()
	// Room for the page asked for: ten thousand households grown by
	// appends were a quarter of the read's time.
	out := make([]muster.Household, 0, limit+1)
	// The sealed values are opened where the driver holds them, not
	// copied first.
	var name, nameLocal, phone, email sql.RawBytes
	for rows.Next() {
		// Scanned in place: a household of its own would escape to the
		// heap, one allocation a row.
		out = append(out, muster.Household{})
		h := &out[len(out)-1]
		if err := rows.Scan(&h.ID, &h.Language, &name, &nameLocal, &phone, &email); err != nil {
			return nil, "", fmt.Errorf("list household contacts: %w", err)
		}
		for _, f := range [...]struct {
			name string
			ct   []byte
			to   *string
		}{{"name", name, &h.Name}, {"name_local", nameLocal, &h.NameLocal}, {"phone", phone, &h.Phone}, {"email", email, &h.Email}} {
			pt, err := k.Open(f.ct, aad(h.ID, f.name))
			if err != nil {
				return nil, "", fmt.Errorf("list household contacts: household %s: open %s: %w", h.ID, f.name, err)
			}
			*f.to = string(pt)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list household contacts: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// SetHouseholdStatus implements muster.Store.
func (c *Core) SetHouseholdStatus(ctx context.Context, id, status string, version int64, note string) (muster.HouseholdRecord, error) {
	k, err := c.keyring()
	if err != nil {
		return muster.HouseholdRecord{}, err
	}
	if badKey(id) {
		return muster.HouseholdRecord{}, muster.Errorf(muster.ENOTFOUND, "household %q not found", id)
	}
	if !slices.Contains(muster.HouseholdStatuses, status) {
		return muster.HouseholdRecord{}, muster.Errorf(muster.EINVALID, "status %q is not one of %s", status, strings.Join(muster.HouseholdStatuses, ", "))
	}
	if len(note) > maxTextLen || !validText(note) {
		return muster.HouseholdRecord{}, muster.Errorf(muster.EINVALID, "status note: longer than %d bytes or not UTF-8", maxTextLen)
	}
	var rec muster.HouseholdRecord
	err = c.write(ctx, func(w *wtx) error {
		cur, err := getHousehold(ctx, w, c, k, id, true)
		if err != nil {
			return err
		}
		if version > 0 && cur.Version != version {
			return muster.Errorf(muster.ECONFLICT, "household %s changed since version %d (now %d): re-read it", id, version, cur.Version)
		}
		if _, err := w.exec(`UPDATE households SET status = ?, version = version + 1, updated_at = ? WHERE id = ?`, status, micros(w.now), id); err != nil {
			return fmt.Errorf("household %s: status: %w", id, err)
		}
		if err := w.appendHistory(k, id, status, note, 0); err != nil {
			return err
		}
		w.record("household.status", "household:"+id, cur.Status+"->"+status)
		w.announce("household", id)
		rec, err = getWithHistory(ctx, w, c, k, id)
		return err
	})
	return rec, err
}
