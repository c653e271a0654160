package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/muster-evac/muster"
)

// The source registry: an analyst's grade of each report source. Grades
// are judgements about sources, not personal data, so they are stored in
// clear; every change is audited with what it changed.

const sourceColumns = `id, name, kind, reliability, hostile, cluster, note, updated_at, updated_by`

func scanSource(sc interface{ Scan(...any) error }) (muster.SourceGrade, error) {
	var g muster.SourceGrade
	var hostile, updated int64
	if err := sc.Scan(&g.ID, &g.Name, &g.Kind, &g.Reliability, &hostile, &g.Cluster, &g.Note, &updated, &g.UpdatedBy); err != nil {
		return g, err
	}
	g.Hostile = hostile != 0
	g.UpdatedAt = fromMicros(updated)
	return g, nil
}

// Sources implements muster.Store: the registry in id (byte) order, the
// same on both engines whatever PostgreSQL's collation.
func (c *Core) Sources(ctx context.Context) ([]muster.SourceGrade, error) {
	rows, err := c.reader().QueryContext(ctx, `SELECT `+sourceColumns+` FROM sources`)
	if err != nil {
		return nil, fmt.Errorf("sources: %w", err)
	}
	defer rows.Close()
	var out []muster.SourceGrade
	for rows.Next() {
		g, err := scanSource(rows)
		if err != nil {
			return nil, fmt.Errorf("sources: %w", err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sources: %w", err)
	}
	slices.SortFunc(out, func(a, b muster.SourceGrade) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// PutSource implements muster.Store.
func (c *Core) PutSource(ctx context.Context, g muster.SourceGrade) (muster.SourceGrade, error) {
	if err := g.Validate(); err != nil {
		return muster.SourceGrade{}, err
	}
	var out muster.SourceGrade
	err := c.write(ctx, func(w *wtx) error {
		prev, found, err := w.source(g.ID)
		if err != nil {
			return err
		}
		out = g
		out.UpdatedAt, out.UpdatedBy = w.now, w.actor
		if _, err := w.exec(`INSERT INTO sources (`+sourceColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, reliability = excluded.reliability,
			hostile = excluded.hostile, cluster = excluded.cluster, note = excluded.note,
			updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			out.ID, out.Name, out.Kind, out.Reliability, boolInt(out.Hostile), out.Cluster, out.Note, out.UpdatedAt.UnixMicro(), out.UpdatedBy); err != nil {
			return fmt.Errorf("source %s: %w", g.ID, err)
		}
		var was *muster.SourceGrade
		if found {
			was = &prev
		}
		w.record("source.put", "source:"+g.ID, sourceChange(was, &out))
		w.announce("source", g.ID)
		return nil
	})
	if err != nil {
		return muster.SourceGrade{}, err
	}
	return out, nil
}

// source reads one grade in a write transaction, locking its row where the
// engine locks rows, so that the audit entry says what this change changed.
func (w *wtx) source(id string) (muster.SourceGrade, bool, error) {
	g, err := scanSource(w.queryRow(`SELECT `+sourceColumns+` FROM sources WHERE id = ?`+w.c.d.ForUpdate, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return g, false, nil
	case err != nil:
		return g, false, fmt.Errorf("source %s: %w", id, err)
	}
	return g, true, nil
}

// DeleteSource implements muster.Store.
func (c *Core) DeleteSource(ctx context.Context, id string) error {
	if badKey(id) {
		return muster.Errorf(muster.ENOTFOUND, "source %q not found", id)
	}
	return c.write(ctx, func(w *wtx) error {
		prev, found, err := w.source(id)
		if err != nil {
			return err
		}
		if !found {
			return muster.Errorf(muster.ENOTFOUND, "source %q not found", id)
		}
		if err := w.updateOne(fmt.Sprintf("source %q", id), `DELETE FROM sources WHERE id = ?`, id); err != nil {
			return err
		}
		w.record("source.delete", "source:"+id, "deleted: was "+gradeSummary(&prev))
		w.announce("source", id)
		return nil
	})
}

// sourceChange says, for the audit log, what a put changed: "new:
// reliability B, hostile" for a new source, "reliability C -> B, no longer
// hostile" for a change, "no change" for none. Names and notes are said
// to have changed, not quoted: the log says who did what, the registry
// holds the text.
func sourceChange(was, now *muster.SourceGrade) string {
	if was == nil {
		return "new: " + gradeSummary(now)
	}
	var parts []string
	field := func(name, a, b string) {
		switch {
		case a == b:
		case a == "":
			parts = append(parts, name+" "+b)
		case b == "":
			parts = append(parts, name+" "+a+" -> none")
		default:
			parts = append(parts, name+" "+a+" -> "+b)
		}
	}
	field("reliability", was.Reliability, now.Reliability)
	switch {
	case !was.Hostile && now.Hostile:
		parts = append(parts, "hostile")
	case was.Hostile && !now.Hostile:
		parts = append(parts, "no longer hostile")
	}
	field("cluster", was.Cluster, now.Cluster)
	field("kind", was.Kind, now.Kind)
	if was.Name != now.Name {
		parts = append(parts, "name changed")
	}
	if was.Note != now.Note {
		parts = append(parts, "note changed")
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, ", ")
}

// gradeSummary is a grade in a few words: "reliability B, hostile,
// cluster c1, kind social", or "ungraded".
func gradeSummary(g *muster.SourceGrade) string {
	var parts []string
	if g.Reliability != "" {
		parts = append(parts, "reliability "+g.Reliability)
	}
	if g.Hostile {
		parts = append(parts, "hostile")
	}
	if g.Cluster != "" {
		parts = append(parts, "cluster "+g.Cluster)
	}
	if g.Kind != "" {
		parts = append(parts, "kind "+g.Kind)
	}
	if len(parts) == 0 {
		return "ungraded"
	}
	return strings.Join(parts, ", ")
}
