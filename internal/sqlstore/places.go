package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/places"
)

// Places are not personal data: they are stored in clear, one GeoJSON
// Feature each, written and checked by package places so that what is
// stored always reads back as a valid places file.

// Places implements muster.Store.
func (c *Core) Places(ctx context.Context) (muster.Places, error) {
	var out muster.Places
	err := c.reader().QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, "timezone").Scan(&out.Timezone)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return out, fmt.Errorf("places: %w", err)
	}
	rows, err := c.reader().QueryContext(ctx, `SELECT id, feature FROM places ORDER BY id`)
	if err != nil {
		return out, fmt.Errorf("places: %w", err)
	}
	defer rows.Close()
	var features []string
	for rows.Next() {
		var id, f string
		if err := rows.Scan(&id, &f); err != nil {
			return out, fmt.Errorf("places: %w", err)
		}
		features = append(features, f)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("places: %w", err)
	}
	if len(features) == 0 {
		return out, nil
	}
	doc := `{"type":"FeatureCollection","features":[` + strings.Join(features, ",") + `]}`
	pl, err := places.Read(strings.NewReader(doc), "stored places")
	if err != nil {
		return out, fmt.Errorf("places: %w", err)
	}
	out.Places = pl.Places
	return out, nil
}

// PutPlace implements muster.Store.
func (c *Core) PutPlace(ctx context.Context, p muster.Place) error {
	feature, err := placeFeature(p)
	if err != nil {
		return err
	}
	return c.write(ctx, func(w *wtx) error {
		if _, err := w.exec(`INSERT INTO places (id, kind, feature, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, feature = excluded.feature, updated_at = excluded.updated_at`,
			p.ID, p.Kind, feature, w.now.UnixMicro()); err != nil {
			return fmt.Errorf("place %s: %w", p.ID, err)
		}
		w.record("place.put", "place:"+p.ID, p.Kind)
		w.announce("place", p.ID)
		return nil
	})
}

// placeFeature validates a place by writing it as a places file and
// reading it back, and returns its Feature.
func placeFeature(p muster.Place) (string, error) {
	if badKey(p.ID) || p.ID == "" {
		return "", muster.Errorf(muster.EINVALID, "place: id %q must be 1 to 1000 bytes of text", p.ID)
	}
	var buf bytes.Buffer
	if err := places.Write(&buf, &muster.Places{Places: []muster.Place{p}}, ""); err != nil {
		return "", muster.Errorf(muster.EINVALID, "place %s: %v", p.ID, err)
	}
	if _, err := places.Read(bytes.NewReader(buf.Bytes()), "place "+p.ID); err != nil {
		return "", muster.Errorf(muster.EINVALID, "%v", err)
	}
	// The one feature, as written.
	doc := buf.String()
	start := strings.Index(doc, `"features": [`)
	end := strings.LastIndex(doc, "]")
	if start < 0 || end <= start {
		return "", fmt.Errorf("place %s: unexpected places encoding", p.ID)
	}
	return strings.TrimSpace(doc[start+len(`"features": [`) : end]), nil
}

// DeletePlace implements muster.Store.
func (c *Core) DeletePlace(ctx context.Context, id string) error {
	if badKey(id) {
		return muster.Errorf(muster.ENOTFOUND, "place %q not found", id)
	}
	return c.write(ctx, func(w *wtx) error {
		if err := w.updateOne("place "+id, `DELETE FROM places WHERE id = ?`, id); err != nil {
			return err
		}
		w.record("place.delete", "place:"+id, "")
		w.announce("place", id)
		return nil
	})
}

// SetTimezone implements muster.Store.
func (c *Core) SetTimezone(ctx context.Context, tz string) error {
	if _, err := time.LoadLocation(tz); err != nil || tz == "" || len(tz) > 100 {
		return muster.Errorf(muster.EINVALID, "time zone %q: want an IANA name such as Asia/Kabul", tz)
	}
	return c.write(ctx, func(w *wtx) error {
		if _, err := w.exec(`INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
			"timezone", tz); err != nil {
			return fmt.Errorf("time zone: %w", err)
		}
		w.record("places.timezone", "places", tz)
		w.announce("place", "")
		return nil
	})
}
