package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/muster-evac/muster"
)

// Advisories (migration 0007): the CAP 1.2 document, public, in clear,
// and the messages that deliver it queued in the same transaction.

// maxCAPBytes bounds a stored advisory: advisory.Read reads at most 1 MiB.
const maxCAPBytes = 1 << 20

const advisoryColumns = `id, sender, sent, status, msg_type, origin, created_at, created_by, recipients, no_location`

// SaveAdvisory implements muster.Store.
func (c *Core) SaveAdvisory(ctx context.Context, a muster.AdvisoryRecord, ms []muster.OutboxMessage) (muster.AdvisoryRecord, error) {
	switch {
	case a.ID == "" || muster.CheckText(a.ID, muster.MaxAdvisoryIDBytes) != nil, a.Sender == "" || muster.CheckText(a.Sender, muster.MaxAdvisoryIDBytes) != nil:
		return a, muster.Errorf(muster.EINVALID, "advisory: id and sender: want 1 to %d bytes of text", muster.MaxAdvisoryIDBytes)
	case !slices.Contains(muster.AdvisoryStatuses, a.Status), !slices.Contains(muster.AdvisoryMsgTypes, a.MsgType):
		return a, muster.Errorf(muster.EINVALID, "advisory %s: status %q or type %q is not CAP's", a.ID, a.Status, a.MsgType)
	case a.Origin != muster.AdvisoryIssued && a.Origin != muster.AdvisoryImported:
		return a, muster.Errorf(muster.EINVALID, "advisory %s: origin %q is not %s or %s", a.ID, a.Origin, muster.AdvisoryIssued, muster.AdvisoryImported)
	case len(a.CAP) == 0 || len(a.CAP) > maxCAPBytes || !validText(string(a.CAP)):
		return a, muster.Errorf(muster.EINVALID, "advisory %s: its CAP must be 1 byte to 1 MiB of UTF-8", a.ID)
	case a.Sent.IsZero() || a.Recipients < 0 || a.NoLocation < 0:
		return a, muster.Errorf(muster.EINVALID, "advisory %s: no time sent, or negative counts", a.ID)
	}
	want := muster.AdvisoryMessageID(a.ID)
	for i, m := range ms {
		if m.InstructionID != want {
			return a, muster.Errorf(muster.EINVALID, "advisory %s: message %d carries %q, not %q", a.ID, i, m.InstructionID, want)
		}
	}
	k, err := c.keyring()
	if err != nil {
		return a, err
	}
	msgs, err := newMessageBatch(ms, k, c.now().UTC())
	if err != nil {
		return a, err
	}
	p := startPipeline(len(ms), msgs.prepare)
	defer p.stop()
	if err := p.wait(ctx, len(ms)); err != nil {
		return a, err
	}
	err = c.write(ctx, func(w *wtx) error {
		a.CreatedAt, a.CreatedBy = w.now, w.actor
		if _, err := w.exec(`INSERT INTO advisories (`+advisoryColumns+`, cap) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.Sender, micros(a.Sent), a.Status, a.MsgType, a.Origin, micros(w.now), w.actor, a.Recipients, a.NoLocation, string(a.CAP)); err != nil {
			return c.conflict(err, "advisory %s exists already: an advisory's identifier is never reused", a.ID)
		}
		if _, _, err := w.enqueue(msgs.rows, msgs.households); err != nil {
			return err
		}
		detail := fmt.Sprintf("%s %s from %s, queued to %d households (%d without a location)", a.Status, a.MsgType, a.Sender, a.Recipients, a.NoLocation)
		if a.Origin == muster.AdvisoryImported {
			w.record("advisory.import", "advisory:"+a.ID, detail)
		} else {
			w.record("advisory.issue", "advisory:"+a.ID, detail)
		}
		w.announce("advisory", a.ID)
		return nil
	})
	if err != nil {
		return muster.AdvisoryRecord{}, err
	}
	a.Sent = a.Sent.UTC()
	return a, nil
}

func scanAdvisory(sc interface{ Scan(...any) error }, withCAP bool) (muster.AdvisoryRecord, error) {
	var a muster.AdvisoryRecord
	var sent, created int64
	var capText string
	args := []any{&a.ID, &a.Sender, &sent, &a.Status, &a.MsgType, &a.Origin, &created, &a.CreatedBy, &a.Recipients, &a.NoLocation}
	if withCAP {
		args = append(args, &capText)
	}
	if err := sc.Scan(args...); err != nil {
		return a, err
	}
	a.Sent, a.CreatedAt = fromMicros(sent), fromMicros(created)
	if withCAP {
		a.CAP = []byte(capText)
	}
	return a, nil
}

// GetAdvisory implements muster.Store.
func (c *Core) GetAdvisory(ctx context.Context, id string) (muster.AdvisoryRecord, error) {
	if badKey(id) {
		return muster.AdvisoryRecord{}, muster.Errorf(muster.ENOTFOUND, "advisory %q not found", id)
	}
	a, err := scanAdvisory(c.reader().QueryRowContext(ctx, `SELECT `+advisoryColumns+`, cap FROM advisories WHERE id = ?`, id), true)
	if errors.Is(err, sql.ErrNoRows) {
		return a, muster.Errorf(muster.ENOTFOUND, "advisory %q not found", id)
	}
	if err != nil {
		return a, fmt.Errorf("advisory %s: %w", id, err)
	}
	return a, nil
}

// ListAdvisories implements muster.Store.
func (c *Core) ListAdvisories(ctx context.Context, limit int) ([]muster.AdvisoryRecord, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := c.reader().QueryContext(ctx, `SELECT `+advisoryColumns+` FROM advisories ORDER BY created_at DESC, id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("advisories: %w", err)
	}
	defer rows.Close()
	var out []muster.AdvisoryRecord
	for rows.Next() {
		a, err := scanAdvisory(rows, false)
		if err != nil {
			return nil, fmt.Errorf("advisories: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
