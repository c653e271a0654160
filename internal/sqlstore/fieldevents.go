package sqlstore

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/muster-evac/muster"
)

// Field events (migration 0009, docs/operations.md). A batch is recorded
// in one transaction; an event whose id is stored already is the same
// event sent again (same keyed content hash) or refused. A check-in event
// spends its household's instruction through the check-in table of
// migration 0007, the same way SyncCheckIns does (a device offline sends
// late: the earliest check-in of a token is its first), so that there is
// one check-in record whichever way it came.

const maxFieldEventBatch = 10_000

// fieldEventLock serialises field-event batches on PostgreSQL, so that
// arrival numbers (seq) are handed out in commit order: a reader paging by
// seq never skips a batch that committed after a later-numbered one.
const fieldEventLock = "SELECT pg_advisory_xact_lock(7263019982)"

const fieldEventColumns = `seq, id, kind, at, since, household_id, token_id, group_id, households, rally_point, gate,
	lat, lon, people, queue, gate_status, note_enc, by_whom, recorded_at, flags`

func fieldNoteAAD(id string) string { return "field_event\x00" + id + "\x00note" }

// fieldCheckInID is the check-in row a check-in event makes: derived from
// the event's id, so that sending the event again finds it.
func fieldCheckInID(eventID string) string {
	sum := sha256.Sum256([]byte("muster-field-checkin-v1\x00" + eventID))
	return "CF" + hex.EncodeToString(sum[:15])
}

func joinFlags(fs []string) string { return strings.Join(fs, ",") }

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func scanFieldEvent(k muster.Sealer, sc interface{ Scan(...any) error }) (muster.FieldEvent, error) {
	var e muster.FieldEvent
	var at, since, rec int64
	var hh, flags string
	var note []byte
	if err := sc.Scan(&e.Seq, &e.ID, &e.Kind, &at, &since, &e.Household, &e.TokenID, &e.Group, &hh, &e.RallyPoint, &e.Gate,
		&e.Lat, &e.Lon, &e.People, &e.Queue, &e.GateStatus, &note, &e.By, &rec, &flags); err != nil {
		return e, err
	}
	e.At, e.Since, e.RecordedAt = fromMicros(at), fromMicros(since), fromMicros(rec)
	e.Households, e.Flags = splitList(hh), splitList(flags)
	if len(note) > 0 {
		b, err := k.Open(note, fieldNoteAAD(e.ID))
		if err != nil {
			return e, fmt.Errorf("field event %s: note: %w", e.ID, err)
		}
		e.Note = string(b)
	}
	return e, nil
}

// AddFieldEvents implements muster.Store.
func (c *Core) AddFieldEvents(ctx context.Context, es []muster.FieldEvent) ([]muster.FieldEventOutcome, error) {
	if len(es) > maxFieldEventBatch {
		return nil, muster.Errorf(muster.EINVALID, "field events: %d in one batch, more than %d", len(es), maxFieldEventBatch)
	}
	k, err := c.keyring()
	if err != nil {
		return nil, err
	}
	items := make([]muster.FieldEvent, len(es))
	out := make([]muster.FieldEventOutcome, len(es))
	valid := make([]int, 0, len(es))
	for i, e := range es {
		e.Token, e.By, e.RecordedAt, e.Seq, e.Flags = "", "", time.Time{}, 0, nil
		e.Normalize()
		items[i] = e
		if err := e.Validate(); err != nil {
			out[i] = muster.FieldEventOutcome{Event: e, Outcome: muster.FieldRefused, Reason: err.Error()}
			continue
		}
		for _, h := range e.Households {
			if strings.Contains(h, ",") {
				out[i] = muster.FieldEventOutcome{Event: e, Outcome: muster.FieldRefused, Reason: fmt.Sprintf("field event %q: households[] id %q holds a comma", e.ID, h)}
			}
		}
		if out[i].Outcome == "" {
			valid = append(valid, i)
		}
	}
	// Earliest first: of two check-ins of one token in a batch the earlier
	// is first, whatever order the phone sent them in.
	slices.SortStableFunc(valid, func(a, b int) int {
		return cmp.Or(items[a].At.Compare(items[b].At), strings.Compare(items[a].ID, items[b].ID))
	})
	hashes := make([][]byte, len(items))
	for _, i := range valid {
		hashes[i] = k.Hash("field_event", items[i].Content())
	}
	err = c.write(ctx, func(w *wtx) error {
		if err := w.lockFieldEvents(); err != nil {
			return err
		}
		recorded, dup, refused, flagged := 0, 0, 0, 0
		for _, i := range valid {
			e := items[i]
			e.By, e.RecordedAt = w.actor, w.now
			o, err := w.addFieldEvent(k, e, hashes[i])
			if err != nil {
				return err
			}
			out[i] = o
			switch o.Outcome {
			case muster.FieldRecorded:
				recorded++
				if o.Event.Flagged() {
					flagged++
				}
			case muster.FieldDuplicate:
				dup++
			default:
				refused++
			}
		}
		if recorded > 0 || refused > 0 {
			w.record("fieldevent.add", "fieldevents", fmt.Sprintf("%d field events: %d recorded (%d flagged), %d already recorded, %d refused as another event's id",
				len(valid), recorded, flagged, dup, refused))
			w.announce("fieldevent", "")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// addFieldEvent records one event in w, or says why not.
func (w *wtx) addFieldEvent(k muster.Sealer, e muster.FieldEvent, hash []byte) (muster.FieldEventOutcome, error) {
	var stored []byte
	err := w.queryRow(`SELECT content_hash FROM field_events WHERE id = ?`, e.ID).Scan(&stored)
	switch {
	case err == nil:
		if string(stored) != string(hash) {
			return muster.FieldEventOutcome{Event: e, Outcome: muster.FieldRefused,
				Reason: fmt.Sprintf("field event %q: another event with this id, saying something else, is recorded already", e.ID)}, nil
		}
		known, err := scanFieldEvent(k, w.queryRow(`SELECT `+fieldEventColumns+` FROM field_events WHERE id = ?`, e.ID))
		if err != nil {
			return muster.FieldEventOutcome{}, fmt.Errorf("field event %s: %w", e.ID, err)
		}
		return muster.FieldEventOutcome{Event: known, Outcome: muster.FieldDuplicate}, nil
	case !errors.Is(err, sql.ErrNoRows):
		return muster.FieldEventOutcome{}, fmt.Errorf("field event %s: %w", e.ID, err)
	}
	checkinID := ""
	if e.Kind == muster.FieldCheckIn {
		flags, id, err := w.fieldCheckIn(k, &e)
		if err != nil {
			return muster.FieldEventOutcome{}, err
		}
		e.Flags, checkinID = flags, id
	}
	var note []byte
	if e.Note != "" {
		note = k.Seal([]byte(e.Note), fieldNoteAAD(e.ID))
	}
	if note == nil {
		note = []byte{}
	}
	if err := w.insertFieldEvent(&e, note, checkinID, hash); err != nil {
		return muster.FieldEventOutcome{}, err
	}
	return muster.FieldEventOutcome{Event: e, Outcome: muster.FieldRecorded}, nil
}

// insertFieldEvent stores e, its note sealed, and sets its arrival number
// (Seq). On PostgreSQL the transaction holds fieldEventLock.
func (w *wtx) insertFieldEvent(e *muster.FieldEvent, note []byte, checkinID string, hash []byte) error {
	err := w.queryRow(`INSERT INTO field_events (id, kind, at, since, household_id, token_id, group_id, households, rally_point, gate,
		lat, lon, people, queue, gate_status, note_enc, by_whom, recorded_at, flags, checkin_id, content_hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
		e.ID, e.Kind, micros(e.At), micros(e.Since), e.Household, e.TokenID, e.Group, strings.Join(e.Households, ","), e.RallyPoint, e.Gate,
		e.Lat, e.Lon, e.People, e.Queue, e.GateStatus, note, e.By, micros(e.RecordedAt), joinFlags(e.Flags), checkinID, hash).Scan(&e.Seq)
	if err != nil {
		return w.c.conflict(err, "field event %s is recorded already", e.ID)
	}
	return nil
}

// lockFieldEvents takes fieldEventLock on PostgreSQL: first in every
// transaction that records field events (AddFieldEvents, and CheckIn and
// SyncCheckIns, which record one for each check-in they make), so that
// they take it and the check-ins' row locks in one order.
func (w *wtx) lockFieldEvents() error {
	if w.c.d.Name != "postgres" {
		return nil
	}
	if _, err := w.exec(fieldEventLock); err != nil {
		return fmt.Errorf("field events: lock: %w", err)
	}
	return nil
}

// checkInEvent records the field event of a check-in made through
// CheckIn or SyncCheckIns (a check-in event makes its own): the live
// state, computed from field events alone, then counts the household
// where it was checked in, whichever way the check-in came, and a
// check-in that displaced it, or a copy, is flagged there as an event's
// would be. Its id is muster.CheckInEventID's, which no client may use;
// its flags say what the check-in was (flags: FlagTokenSpent for a copy
// or one that came second, FlagOtherRallyPoint where the instruction
// names another rally point). An escort's check-in (a group's) makes
// none: the live state follows households.
func (w *wtx) checkInEvent(k muster.Sealer, ci *muster.CheckIn, audience string, flags []string) error {
	if audience != muster.AudienceHousehold {
		return nil
	}
	e := muster.FieldEvent{ID: muster.CheckInEventID(ci.ID), Kind: muster.FieldCheckIn, At: ci.At, Household: ci.HouseholdID,
		TokenID: ci.TokenID, RallyPoint: ci.RallyPoint, Queue: -1, By: w.actor, RecordedAt: w.now, Flags: flags}
	e.Normalize()
	return w.insertFieldEvent(&e, []byte{}, ci.ID, k.Hash("field_event", e.Content()))
}

// fieldCheckIn spends the instruction a check-in event names (its token
// id, or else its household's current instruction) and returns the flags
// the event gets and the check-in row it made. A household with no
// instruction issued (an operation run from a plan without issuance, an
// exercise) is checked in on the event alone (the live state checks its
// rally point against the plan's). One at another rally point than its
// instruction names, or at none said, is flagged FlagOtherRallyPoint.
func (w *wtx) fieldCheckIn(k muster.Sealer, e *muster.FieldEvent) (flags []string, checkinID string, err error) {
	tokenID := e.TokenID
	if tokenID == "" {
		err := w.queryRow(`SELECT id FROM instructions WHERE household_id = ? AND audience = ? AND status = ?`,
			e.Household, muster.AudienceHousehold, muster.InstructionCurrent).Scan(&tokenID)
		if errors.Is(err, sql.ErrNoRows) {
			ci := muster.CheckIn{ID: fieldCheckInID(e.ID), TokenID: "(by household id)", HouseholdID: e.Household, RallyPoint: e.RallyPoint}
			return nil, "", w.arrived(k, &ci)
		}
		if err != nil {
			return nil, "", fmt.Errorf("field event %s: household %s: %w", e.ID, e.Household, err)
		}
	}
	if _, _, ok := muster.VersionOf(tokenID); !ok {
		return []string{muster.FlagTokenForged}, "", nil
	}
	var household, group, status, audience string
	var changedAt int64
	err = w.queryRow(`SELECT household_id, group_id, status, audience, changed_at FROM instructions WHERE id = ?`, tokenID).
		Scan(&household, &group, &status, &audience, &changedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return []string{muster.FlagTokenForged}, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("field event %s: instruction %s: %w", e.ID, tokenID, err)
	}
	if audience == muster.AudienceHousehold && e.Household != "" && household != e.Household {
		// Another household's token: not spent by this one.
		return []string{muster.FlagTokenMismatch}, "", nil
	}
	if e.Household == "" && audience == muster.AudienceHousehold {
		e.Household = household
	}
	if status != muster.InstructionCurrent && !fromMicros(changedAt).After(e.At) {
		// Superseded or revoked before the check-in: refused, unless the
		// token was spent before that (then it is a copy: spent).
		first, err := w.firstCheckIn(tokenID)
		if err != nil {
			return nil, "", err
		}
		if first == nil {
			if status == muster.InstructionSuperseded {
				return append(flags, muster.FlagTokenSuperseded), "", nil
			}
			return append(flags, muster.FlagTokenRevoked), "", nil
		}
	}
	ci := muster.CheckIn{ID: fieldCheckInID(e.ID), TokenID: tokenID, RallyPoint: e.RallyPoint, By: e.By, At: e.At,
		RecordedAt: w.now, RecordedBy: w.actor}
	if ci.RallyPoint == "" {
		ci.RallyPoint = "-"
	}
	o, err := w.syncOne(k, ci, false)
	if err != nil {
		return nil, "", err
	}
	switch {
	case o.Refused != "":
		return append(flags, muster.FlagTokenForged), "", nil
	case o.CheckIn.Duplicate():
		flags = append(flags, muster.FlagTokenSpent)
	}
	if o.Instructed != "" {
		// At another rally point than the instruction's (or none said):
		// recorded as the device did it, flagged for the operators.
		flags = append(flags, muster.FlagOtherRallyPoint)
	}
	return flags, o.CheckIn.ID, nil
}

// flagFieldCheckIn adds flag to the event that made check-in row id, if
// an event made it.
func (w *wtx) flagFieldCheckIn(checkinID, flag string) error {
	var id, flags string
	err := w.queryRow(`SELECT id, flags FROM field_events WHERE checkin_id = ?`, checkinID).Scan(&id, &flags)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("field event of check-in %s: %w", checkinID, err)
	}
	fs := splitList(flags)
	if slices.Contains(fs, flag) {
		return nil
	}
	if _, err := w.exec(`UPDATE field_events SET flags = ? WHERE id = ?`, joinFlags(append(fs, flag)), id); err != nil {
		return fmt.Errorf("field event %s: %w", id, err)
	}
	return nil
}

// ListFieldEvents implements muster.Store.
func (c *Core) ListFieldEvents(ctx context.Context, f muster.FieldEventFilter) ([]muster.FieldEvent, error) {
	if badKey(f.Kind) || badKey(f.Household) || badKey(f.Group) || badKey(f.Gate) || f.Limit < 0 || f.AfterSeq < 0 {
		return nil, muster.Errorf(muster.EINVALID, "field event filter: not an id, or a negative limit or seq")
	}
	k, err := c.keyring()
	if err != nil {
		return nil, err
	}
	limit := f.Limit
	if limit == 0 {
		limit = 1000
	}
	limit = min(limit, 10_000)
	var w where
	if f.AfterSeq > 0 {
		w.add("seq > ?", f.AfterSeq)
	}
	w.eq("kind", f.Kind)
	w.eq("household_id", f.Household)
	w.eq("group_id", f.Group)
	w.eq("gate", f.Gate)
	if f.Flagged {
		w.add("flags <> ''")
	}
	order := "seq"
	if f.ByTime {
		order = "at, id"
	}
	rows, err := c.reader().QueryContext(ctx, `SELECT `+fieldEventColumns+` FROM field_events WHERE `+w.String()+` ORDER BY `+order+` LIMIT ?`,
		append(w.args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list field events: %w", err)
	}
	defer rows.Close()
	var out []muster.FieldEvent
	for rows.Next() {
		e, err := scanFieldEvent(k, rows)
		if err != nil {
			return nil, fmt.Errorf("list field events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list field events: %w", err)
	}
	return out, nil
}
