package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/muster-evac/muster"
)

// maxPlanBytes bounds a stored plan (a plan for 100,000 people with every
// walk drawn is a few tens of MB).
const maxPlanBytes = 256 << 20

func planAAD(id string) string { return "plan:" + id + ":body" }

// SavePlan implements muster.Store.
func (c *Core) SavePlan(ctx context.Context, p muster.PlanRecord) (muster.PlanRecord, error) {
	if len(p.Body) == 0 || len(p.Body) > maxPlanBytes || !json.Valid(p.Body) {
		return muster.PlanRecord{}, muster.Errorf(muster.EINVALID, "plan: the body must be a JSON document of at most %d MB", maxPlanBytes>>20)
	}
	if len(p.Summary) == 0 || len(p.Summary) > 1<<20 || !json.Valid(p.Summary) {
		return muster.PlanRecord{}, muster.Errorf(muster.EINVALID, "plan: the summary must be a JSON document of at most 1 MB")
	}
	if badKey(p.Basis) {
		return muster.PlanRecord{}, muster.Errorf(muster.EINVALID, "plan: basis %q", p.Basis)
	}
	k, err := c.keyring()
	if err != nil {
		return muster.PlanRecord{}, err
	}
	p.ID = "P" + muster.NewSecret()[:16]
	p.Status = muster.PlanProposed
	p.CreatedBy = muster.ActorFrom(ctx)
	p.ApprovedAt, p.ApprovedBy = time.Time{}, ""
	sealed := k.Seal(p.Body, planAAD(p.ID))
	err = c.write(ctx, func(w *wtx) error {
		p.CreatedAt = w.now
		// The body has a row of its own (migration 0011): approving the
		// plan rewrites its small row, not its body.
		if _, err := w.exec(`INSERT INTO plans (id, status, created_at, created_by, basis, summary, body_enc) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.Status, w.now.UnixMicro(), p.CreatedBy, p.Basis, string(p.Summary), noBytes); err != nil {
			return fmt.Errorf("plan: %w", err)
		}
		if _, err := w.exec(`INSERT INTO plan_bodies (plan_id, body_enc) VALUES (?, ?)`, p.ID, sealed); err != nil {
			return fmt.Errorf("plan: %w", err)
		}
		w.record("plan.save", "plan:"+p.ID, "proposed")
		w.announce("plan", p.ID)
		return nil
	})
	if err != nil {
		return muster.PlanRecord{}, err
	}
	return p, nil
}

const planColumns = `id, status, created_at, created_by, basis, approved_at, approved_by, summary`

// scanPlan scans a plan's row, and its sealed body into body if body is
// not nil (a sql.RawBytes: the body, 30 MB sealed at 100,000 households,
// is opened where the driver holds it, not copied first).
func scanPlan(sc interface{ Scan(...any) error }, body *sql.RawBytes) (muster.PlanRecord, error) {
	var p muster.PlanRecord
	var created, approved int64
	var summary string
	args := []any{&p.ID, &p.Status, &created, &p.CreatedBy, &p.Basis, &approved, &p.ApprovedBy, &summary}
	if body != nil {
		args = append(args, body)
	}
	if err := sc.Scan(args...); err != nil {
		return p, err
	}
	p.CreatedAt = fromMicros(created)
	if approved != 0 {
		p.ApprovedAt = fromMicros(approved)
	}
	p.Summary = []byte(summary)
	return p, nil
}

// GetPlan implements muster.Store.
func (c *Core) GetPlan(ctx context.Context, id string) (muster.PlanRecord, error) {
	if badKey(id) {
		return muster.PlanRecord{}, muster.Errorf(muster.ENOTFOUND, "plan %q not found", id)
	}
	// (A plan by id is read to approve it, or a planner reads it: its body is
	// large and read whole, by the bulk readers.)
	return c.readPlan(ctx, c.bulkReader(), `SELECT `+planColumns+`, b.body_enc FROM plans JOIN plan_bodies b ON b.plan_id = plans.id WHERE id = ?`, id)
}

// CurrentPlan implements muster.Store.
func (c *Core) CurrentPlan(ctx context.Context) (muster.PlanRecord, error) {
	return c.readPlan(ctx, c.reader(), `SELECT `+planColumns+`, b.body_enc FROM plans JOIN plan_bodies b ON b.plan_id = plans.id
		WHERE status = ? ORDER BY approved_at DESC LIMIT 1`, muster.PlanCurrent)
}

func (c *Core) readPlan(ctx context.Context, on conn, query string, arg any) (muster.PlanRecord, error) {
	k, err := c.keyring()
	if err != nil {
		return muster.PlanRecord{}, err
	}
	rows, err := on.QueryContext(ctx, query, arg)
	if err != nil {
		return muster.PlanRecord{}, fmt.Errorf("plan %v: %w", arg, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return muster.PlanRecord{}, fmt.Errorf("plan %v: %w", arg, err)
		}
		return muster.PlanRecord{}, muster.Errorf(muster.ENOTFOUND, "plan %v not found", arg)
	}
	var sealed sql.RawBytes
	p, err := scanPlan(rows, &sealed)
	if err != nil {
		return muster.PlanRecord{}, fmt.Errorf("plan %v: %w", arg, err)
	}
	if p.Body, err = k.Open(sealed, planAAD(p.ID)); err != nil {
		return muster.PlanRecord{}, fmt.Errorf("plan %s: %w", p.ID, err)
	}
	if err := rows.Close(); err != nil {
		return muster.PlanRecord{}, fmt.Errorf("plan %v: %w", arg, err)
	}
	return p, nil
}

// ListPlans implements muster.Store.
func (c *Core) ListPlans(ctx context.Context, limit int) ([]muster.PlanRecord, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := c.reader().QueryContext(ctx, `SELECT `+planColumns+` FROM plans ORDER BY created_at DESC, id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("plans: %w", err)
	}
	defer rows.Close()
	var out []muster.PlanRecord
	for rows.Next() {
		p, err := scanPlan(rows, nil)
		if err != nil {
			return nil, fmt.Errorf("plans: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ApprovePlan implements muster.Store.
func (c *Core) ApprovePlan(ctx context.Context, id string) (muster.PlanRecord, error) {
	if badKey(id) {
		return muster.PlanRecord{}, muster.Errorf(muster.ENOTFOUND, "plan %q not found", id)
	}
	err := c.write(ctx, func(w *wtx) error { return w.approvePlan(id) })
	if err != nil {
		return muster.PlanRecord{}, err
	}
	p, err := c.GetPlan(ctx, id)
	if err != nil {
		return muster.PlanRecord{}, err
	}
	p.Body = nil
	return p, nil
}

// approvePlan makes proposed plan id current in w's transaction; the
// current plan becomes superseded.
func (w *wtx) approvePlan(id string) error {
	var status string
	if err := w.queryRow(`SELECT status FROM plans WHERE id = ?`+w.c.d.ForUpdate, id).Scan(&status); errors.Is(err, sql.ErrNoRows) {
		return muster.Errorf(muster.ENOTFOUND, "plan %q not found", id)
	} else if err != nil {
		return fmt.Errorf("plan %s: %w", id, err)
	}
	if status != muster.PlanProposed {
		return muster.Errorf(muster.ECONFLICT, "plan %s is %s: only a proposed plan can be approved", id, status)
	}
	if _, err := w.exec(`UPDATE plans SET status = ? WHERE status = ?`, muster.PlanSuperseded, muster.PlanCurrent); err != nil {
		return fmt.Errorf("plan %s: %w", id, err)
	}
	if err := w.updateOne("plan "+id, `UPDATE plans SET status = ?, approved_at = ?, approved_by = ? WHERE id = ? AND status = ?`,
		muster.PlanCurrent, w.now.UnixMicro(), w.actor, id, muster.PlanProposed); err != nil {
		return err
	}
	w.record("plan.approve", "plan:"+id, "current")
	w.announce("plan", id)
	return nil
}

// currentPlanID returns the id of the current plan in w's transaction,
// "" when none is, locking its row where the engine locks rows: an
// approval or issuance running at once on another instance waits, then
// finds the plan changed.
func (w *wtx) currentPlanID() (string, error) {
	var id string
	err := w.queryRow(`SELECT id FROM plans WHERE status = ? ORDER BY approved_at DESC LIMIT 1`+w.c.d.ForUpdate, muster.PlanCurrent).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("current plan: %w", err)
	}
	return id, nil
}
