package sqlstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/muster-evac/muster"
)

// Check-ins (migration 0007). The first check-in of a token is the row of
// that token with duplicate_of empty, which a partial unique index makes
// one at most: an INSERT ... ON CONFLICT DO NOTHING on that index decides
// which of several concurrent check-ins is first (on PostgreSQL the others
// wait for its commit, then insert nothing), and every later one is kept
// with duplicate_of naming the first.

const (
	maxCheckInSync = 10_000
	maxCheckInText = 200
)

const checkInColumns = `id, token_id, household_id, rally_point, by_whom, at, recorded_at, recorded_by, duplicate_of`

func scanCheckIn(sc interface{ Scan(...any) error }) (muster.CheckIn, error) {
	var c muster.CheckIn
	var at, rec int64
	if err := sc.Scan(&c.ID, &c.TokenID, &c.HouseholdID, &c.RallyPoint, &c.By, &at, &rec, &c.RecordedBy, &c.DuplicateOf); err != nil {
		return c, err
	}
	c.At, c.RecordedAt = fromMicros(at), fromMicros(rec)
	return c, nil
}

func newCheckInID(now time.Time) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("C%013x%016x", now.UnixMicro(), binary.BigEndian.Uint64(b[:]))
}

func checkCheckIn(c *muster.CheckIn) error {
	for _, f := range []struct{ name, v string }{{"token_id", c.TokenID}, {"rally_point", c.RallyPoint}, {"by", c.By}} {
		if f.v == "" || len(f.v) > maxCheckInText || muster.CheckText(f.v, maxCheckInText) != nil || strings.ContainsAny(f.v, "\n\t") {
			return muster.Errorf(muster.EINVALID, "check-in: %s: want 1 to %d bytes of text on one line", f.name, maxCheckInText)
		}
	}
	if c.ID != "" && !validKey(c.ID) {
		return muster.Errorf(muster.EINVALID, "check-in: id %q: want 1 to 128 characters of A-Z a-z 0-9 . _ -", c.ID)
	}
	if _, _, ok := muster.VersionOf(c.TokenID); !ok {
		return muster.Errorf(muster.EINVALID, "check-in: token id %q does not name an instruction version (I-H000042/v2)", c.TokenID)
	}
	if !c.At.IsZero() && (c.At.Year() < 2000 || c.At.Year() > 9999) {
		return muster.Errorf(muster.EINVALID, "check-in: time %s is out of range", c.At.Format(time.RFC3339))
	}
	return nil
}

// spendable reads what a check-in needs of an instruction version: its
// household (or group) and status. ok is false when it was never issued.
func (w *wtx) spendable(tokenID string) (holder, status, supersededBy, audience string, ok bool, err error) {
	var household, group string
	err = w.queryRow(`SELECT household_id, group_id, status, superseded_by, audience FROM instructions WHERE id = ?`, tokenID).
		Scan(&household, &group, &status, &supersededBy, &audience)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", "", "", false, nil
	}
	if err != nil {
		return "", "", "", "", false, fmt.Errorf("check-in %s: %w", tokenID, err)
	}
	holder = household
	if audience == muster.AudienceEscort {
		holder = group
	}
	return holder, status, supersededBy, audience, true, nil
}

// firstCheckIn reads a token's first check-in, locking it where the
// engine locks rows.
func (w *wtx) firstCheckIn(tokenID string) (*muster.CheckIn, error) {
	c, err := scanCheckIn(w.queryRow(`SELECT `+checkInColumns+` FROM checkins WHERE token_id = ? AND duplicate_of = ''`+w.c.d.ForUpdate, tokenID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("check-in %s: %w", tokenID, err)
	}
	return &c, nil
}

func (w *wtx) checkInByID(id string) (*muster.CheckIn, error) {
	c, err := scanCheckIn(w.queryRow(`SELECT `+checkInColumns+` FROM checkins WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("check-in %s: %w", id, err)
	}
	return &c, nil
}

// insertFirst stores c as its token's first check-in, unless the token
// has one: inserted false then.
func (w *wtx) insertFirst(c *muster.CheckIn) (bool, error) {
	res, err := w.exec(`INSERT INTO checkins (`+checkInColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '')
		ON CONFLICT (token_id) WHERE duplicate_of = '' DO NOTHING`,
		c.ID, c.TokenID, c.HouseholdID, c.RallyPoint, c.By, micros(c.At), micros(c.RecordedAt), c.RecordedBy)
	if err != nil {
		return false, w.c.conflict(err, "check-in %s is recorded already", c.ID)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("check-in %s: %w", c.TokenID, err)
	}
	return n == 1, nil
}

// claimFirst stores c as its token's first check-in and returns nil, or
// returns the first check-in recorded. On PostgreSQL a first check-in
// displaced by an earlier one synced at the same moment is not seen by the
// statement that waited for it: the claim is then made again.
func (w *wtx) claimFirst(c *muster.CheckIn) (*muster.CheckIn, error) {
	for range 5 {
		inserted, err := w.insertFirst(c)
		if err != nil || inserted {
			return nil, err
		}
		first, err := w.firstCheckIn(c.TokenID)
		if err != nil || first != nil {
			return first, err
		}
	}
	return nil, fmt.Errorf("check-in %s: the token is spent but its first check-in cannot be read", c.TokenID)
}

func (w *wtx) insertDuplicate(c *muster.CheckIn) error {
	if _, err := w.exec(`INSERT INTO checkins (`+checkInColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.TokenID, c.HouseholdID, c.RallyPoint, c.By, micros(c.At), micros(c.RecordedAt), c.RecordedBy, c.DuplicateOf); err != nil {
		return w.c.conflict(err, "check-in %s is recorded already", c.ID)
	}
	return nil
}

// arrived moves a household whose token was just spent to
// checked_in_rally, with a history entry saying where.
func (w *wtx) arrived(k muster.Sealer, c *muster.CheckIn) error {
	var status string
	err := w.queryRow(`SELECT status FROM households WHERE id = ?`, c.HouseholdID).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // the household was removed since; the check-in stands
	}
	if err != nil {
		return fmt.Errorf("check-in %s: household %s: %w", c.TokenID, c.HouseholdID, err)
	}
	switch status {
	case muster.StatusAtRally, muster.StatusMoving, muster.StatusAtGate, muster.StatusEvacuated:
		return nil // there already, or further on
	}
	if _, err := w.exec(`UPDATE households SET status = ?, version = version + 1, updated_at = ? WHERE id = ?`,
		muster.StatusAtRally, micros(w.now), c.HouseholdID); err != nil {
		return fmt.Errorf("check-in %s: household %s: %w", c.TokenID, c.HouseholdID, err)
	}
	if err := w.appendHistory(k, c.HouseholdID, muster.StatusAtRally, "checked in at "+c.RallyPoint+" with "+c.TokenID, 0); err != nil {
		return err
	}
	w.record("household.status", "household:"+c.HouseholdID, status+"->"+muster.StatusAtRally+" (check-in "+c.ID+")")
	w.announce("household", c.HouseholdID)
	return nil
}

// CheckIn implements muster.Store.
func (c *Core) CheckIn(ctx context.Context, tokenID, rallyPoint, by string, at time.Time) (muster.CheckIn, *muster.CheckIn, error) {
	in := muster.CheckIn{TokenID: tokenID, RallyPoint: rallyPoint, By: by, At: at}
	if err := checkCheckIn(&in); err != nil {
		return muster.CheckIn{}, nil, err
	}
	k, err := c.keyring()
	if err != nil {
		return muster.CheckIn{}, nil, err
	}
	var out muster.CheckIn
	var first *muster.CheckIn
	err = c.write(ctx, func(w *wtx) error {
		if err := w.lockFieldEvents(); err != nil {
			return err
		}
		out, first = in, nil
		out.ID, out.RecordedAt, out.RecordedBy = newCheckInID(w.now), w.now, w.actor
		if out.At.IsZero() {
			out.At = w.now
		}
		out.At = out.At.UTC().Truncate(time.Microsecond)
		holder, status, by, audience, ok, err := w.spendable(tokenID)
		if err != nil {
			return err
		}
		if !ok {
			return muster.Errorf(muster.ENOTFOUND, "instruction %s was never issued here: nothing to check in", tokenID)
		}
		out.HouseholdID = holder
		if prev, err := w.firstCheckIn(tokenID); err != nil {
			return err
		} else if prev == nil && status != muster.InstructionCurrent {
			if status == muster.InstructionSuperseded {
				return muster.Errorf(muster.ECONFLICT, "instruction %s was superseded by %s: only the current version is checked in", tokenID, by)
			}
			return muster.Errorf(muster.ECONFLICT, "instruction %s was revoked: it is not checked in", tokenID)
		}
		if first, err = w.claimFirst(&out); err != nil {
			return err
		}
		if first == nil {
			w.record("checkin", "instruction:"+tokenID, fmt.Sprintf("checked in at %s by %s (%s)", out.RallyPoint, out.By, out.ID))
			w.announce("checkin", out.ID)
			var flags []string
			if audience == muster.AudienceHousehold {
				// The caller let a check-in at another rally point than
				// the instruction's through for a reason (issue.
				// CheckRallyPoint): the live state flags it as an
				// event's.
				instructed, err := w.otherRally(k, out)
				if err != nil {
					return err
				}
				if instructed != "" {
					flags = []string{muster.FlagOtherRallyPoint}
				}
			}
			if err := w.checkInEvent(k, &out, audience, flags); err != nil {
				return err
			}
			if audience == muster.AudienceHousehold {
				return w.arrived(k, &out)
			}
			return nil
		}
		out.DuplicateOf = first.ID
		if err := w.insertDuplicate(&out); err != nil {
			return err
		}
		if err := w.checkInEvent(k, &out, audience, []string{muster.FlagTokenSpent}); err != nil {
			return err
		}
		w.record("checkin.duplicate", "instruction:"+tokenID, fmt.Sprintf("refused at %s by %s (%s): first checked in at %s by %s at %s (%s)",
			out.RallyPoint, out.By, out.ID, first.RallyPoint, first.By, first.At.Format(time.RFC3339), first.ID))
		w.announce("checkin", out.ID)
		return nil
	})
	if err != nil {
		return muster.CheckIn{}, nil, err
	}
	return out, first, nil
}

// SyncCheckIns implements muster.Store.
func (c *Core) SyncCheckIns(ctx context.Context, cs []muster.CheckIn) ([]muster.CheckInOutcome, error) {
	if len(cs) > maxCheckInSync {
		return nil, muster.Errorf(muster.EINVALID, "sync: %d check-ins, more than %d at once", len(cs), maxCheckInSync)
	}
	items := make([]muster.CheckIn, len(cs))
	for i, ci := range cs {
		if err := checkCheckIn(&ci); err != nil {
			return nil, muster.Errorf(muster.EINVALID, "sync: check-in %d: %v", i, err)
		}
		if ci.At.IsZero() {
			return nil, muster.Errorf(muster.EINVALID, "sync: check-in %d: no time: an offline check-in says when it was made", i)
		}
		ci.At = ci.At.UTC().Truncate(time.Microsecond)
		if ci.ID == "" {
			ci.ID = muster.CheckInID(ci.TokenID, ci.RallyPoint, ci.By, ci.At)
		}
		ci.DuplicateOf, ci.HouseholdID = "", ""
		items[i] = ci
	}
	// Tokens in order, and each token's check-ins earliest first: locks
	// are taken in one order by every instance (no deadlock), and within a
	// batch the earliest is first.
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		x, y := &items[a], &items[b]
		return cmp.Or(strings.Compare(x.TokenID, y.TokenID), x.At.Compare(y.At), strings.Compare(x.ID, y.ID))
	})
	k, err := c.keyring()
	if err != nil {
		return nil, err
	}
	var out []muster.CheckInOutcome
	err = c.write(ctx, func(w *wtx) error {
		if err := w.lockFieldEvents(); err != nil {
			return err
		}
		out = make([]muster.CheckInOutcome, len(items))
		recorded, flagged := 0, 0
		for _, i := range order {
			ci := items[i]
			ci.RecordedAt, ci.RecordedBy = w.now, w.actor
			o, err := w.syncOne(k, ci, true)
			if err != nil {
				return err
			}
			out[i] = o
			if o.Refused == "" {
				recorded++
			}
			if o.CheckIn.Duplicate() || o.Displaced != nil {
				flagged++
			}
		}
		if recorded > 0 {
			w.record("checkin.sync", "checkins", fmt.Sprintf("%d check-ins synced, %d recorded or known, %d flagged as duplicates", len(items), recorded, flagged))
			w.announce("checkin", "")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// syncOne records one check-in made offline (by a device's sync, or a
// field event's: fieldCheckIn), the earliest of a token's first. With
// event, it records the check-in's field event (checkInEvent; a field
// event is its own). A check-in it displaces from the first place is
// flagged FlagTokenSpent on the event that recorded it, so that the live
// state no longer counts it.
func (w *wtx) syncOne(k muster.Sealer, ci muster.CheckIn, event bool) (muster.CheckInOutcome, error) {
	if known, err := w.checkInByID(ci.ID); err != nil {
		return muster.CheckInOutcome{}, err
	} else if known != nil {
		if known.TokenID != ci.TokenID {
			return muster.CheckInOutcome{Refused: fmt.Sprintf("id %s is another check-in's (of %s)", ci.ID, known.TokenID)}, nil
		}
		o := muster.CheckInOutcome{CheckIn: *known}
		if known.Duplicate() {
			o.First, _ = w.checkInByID(known.DuplicateOf)
		}
		return o, nil
	}
	holder, _, _, audience, ok, err := w.spendable(ci.TokenID)
	if err != nil {
		return muster.CheckInOutcome{}, err
	}
	if !ok {
		return muster.CheckInOutcome{CheckIn: ci, Refused: "instruction " + ci.TokenID + " was never issued here"}, nil
	}
	ci.HouseholdID = holder
	instructed, err := w.otherRally(k, ci)
	if err != nil {
		return muster.CheckInOutcome{}, err
	}
	first, err := w.claimFirst(&ci)
	if err != nil {
		return muster.CheckInOutcome{}, err
	}
	if first == nil || cmp.Or(ci.At.Compare(first.At), strings.Compare(ci.ID, first.ID)) < 0 {
		// It spends the token: at another rally point than the
		// instruction's, that is on record (POST /api/checkin audits
		// the officer's reason the same way; a device's sync has none
		// to give).
		if instructed != "" {
			w.record("checkin.other_rally", "instruction:"+ci.TokenID, fmt.Sprintf("check-in %s at %s by %s at %s, synced, the instruction naming rally point %s",
				ci.ID, ci.RallyPoint, ci.By, ci.At.Format(time.RFC3339), instructed))
		}
	}
	var otherFlag []string
	if instructed != "" {
		otherFlag = []string{muster.FlagOtherRallyPoint}
	}
	if first == nil {
		w.record("checkin", "instruction:"+ci.TokenID, fmt.Sprintf("checked in at %s by %s at %s, synced (%s)", ci.RallyPoint, ci.By, ci.At.Format(time.RFC3339), ci.ID))
		if event {
			if err := w.checkInEvent(k, &ci, audience, otherFlag); err != nil {
				return muster.CheckInOutcome{}, err
			}
		}
		if audience == muster.AudienceHousehold {
			if err := w.arrived(k, &ci); err != nil {
				return muster.CheckInOutcome{}, err
			}
		}
		return muster.CheckInOutcome{CheckIn: ci, Instructed: instructed}, nil
	}
	if cmp.Or(ci.At.Compare(first.At), strings.Compare(ci.ID, first.ID)) < 0 {
		// Earlier than the one recorded first: it was first. The old
		// first and its duplicates become duplicates of it.
		if _, err := w.exec(`UPDATE checkins SET duplicate_of = ? WHERE id = ? OR duplicate_of = ?`, ci.ID, first.ID, first.ID); err != nil {
			return muster.CheckInOutcome{}, fmt.Errorf("check-in %s: %w", ci.TokenID, err)
		}
		if ok, err := w.insertFirst(&ci); err != nil || !ok {
			return muster.CheckInOutcome{}, errors.Join(err, fmt.Errorf("check-in %s: could not record the earlier check-in first", ci.TokenID))
		}
		// The event that was first came second: it is flagged now.
		if err := w.flagFieldCheckIn(first.ID, muster.FlagTokenSpent); err != nil {
			return muster.CheckInOutcome{}, err
		}
		if event {
			if err := w.checkInEvent(k, &ci, audience, otherFlag); err != nil {
				return muster.CheckInOutcome{}, err
			}
		}
		displaced := *first
		displaced.DuplicateOf = ci.ID
		w.record("checkin.duplicate", "instruction:"+ci.TokenID, fmt.Sprintf("%s (at %s by %s at %s) came second: %s (at %s by %s at %s), synced, was first",
			first.ID, first.RallyPoint, first.By, first.At.Format(time.RFC3339), ci.ID, ci.RallyPoint, ci.By, ci.At.Format(time.RFC3339)))
		return muster.CheckInOutcome{CheckIn: ci, Displaced: &displaced, Instructed: instructed}, nil
	}
	ci.DuplicateOf = first.ID
	if err := w.insertDuplicate(&ci); err != nil {
		return muster.CheckInOutcome{}, err
	}
	if event {
		if err := w.checkInEvent(k, &ci, audience, append([]string{muster.FlagTokenSpent}, otherFlag...)); err != nil {
			return muster.CheckInOutcome{}, err
		}
	}
	w.record("checkin.duplicate", "instruction:"+ci.TokenID, fmt.Sprintf("%s (at %s by %s at %s), synced, came second: first %s at %s by %s at %s",
		ci.ID, ci.RallyPoint, ci.By, ci.At.Format(time.RFC3339), first.ID, first.RallyPoint, first.By, first.At.Format(time.RFC3339)))
	return muster.CheckInOutcome{CheckIn: ci, First: first, Instructed: instructed}, nil
}

// otherRally returns the rally point ci's instruction names when ci was
// at another, or says none ("-"); "" when it was at the instruction's or
// the instruction names none. The instruction version the token shows is
// the truth here, not the current plan: a version superseded after the
// check-in was current at the rally point then, and sent the household
// where it went.
func (w *wtx) otherRally(k muster.Sealer, ci muster.CheckIn) (string, error) {
	var sealed []byte
	if err := w.queryRow(`SELECT body_enc FROM instructions WHERE id = ?`, ci.TokenID).Scan(&sealed); err != nil {
		return "", fmt.Errorf("check-in %s: instruction: %w", ci.TokenID, err)
	}
	body, err := k.Open(sealed, instructionAAD(ci.TokenID, "body"))
	if err != nil {
		return "", fmt.Errorf("check-in %s: instruction: open: %w", ci.TokenID, err)
	}
	var in struct {
		RallyPoint struct {
			ID string `json:"id"`
		} `json:"rally_point"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return "", fmt.Errorf("check-in %s: instruction: %w", ci.TokenID, err)
	}
	if in.RallyPoint.ID == "" || in.RallyPoint.ID == ci.RallyPoint {
		return "", nil
	}
	return in.RallyPoint.ID, nil
}

// ListCheckIns implements muster.Store.
func (c *Core) ListCheckIns(ctx context.Context, f muster.CheckInFilter) ([]muster.CheckIn, string, error) {
	if badKey(f.TokenID) || badKey(f.HouseholdID) || badKey(f.AfterID) || f.Limit < 0 {
		return nil, "", muster.Errorf(muster.EINVALID, "check-in filter: not an id, or a negative limit")
	}
	limit := f.Limit
	if limit == 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	var w where
	w.add("id > ?", f.AfterID)
	w.eq("token_id", f.TokenID)
	w.eq("household_id", f.HouseholdID)
	if f.Duplicates {
		w.add("duplicate_of <> ''")
	}
	args := append(w.args, limit+1)
	rows, err := c.reader().QueryContext(ctx, `SELECT `+checkInColumns+` FROM checkins WHERE `+w.String()+` ORDER BY id LIMIT ?`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list check-ins: %w", err)
	}
	defer rows.Close()
	var out []muster.CheckIn
	for rows.Next() {
		ci, err := scanCheckIn(rows)
		if err != nil {
			return nil, "", fmt.Errorf("list check-ins: %w", err)
		}
		out = append(out, ci)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list check-ins: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}
