package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/muster-evac/muster"
)

// Group commit (SQLite). SQLite has one writer and, with synchronous=FULL,
// one fsync per commit: a few hundred commits a second on an ordinary
// disk, whatever the CPU. So one goroutine runs the writes: it takes every
// write waiting when it is free and runs them in ONE transaction, each
// inside a savepoint of its own, and commits once; then it answers each
// caller. A write that fails is rolled back to its savepoint alone; a
// commit that fails fails them all; no caller hears "done" before the
// commit that holds its write is on disk. A lone write goes through at
// once, so grouping adds no latency; under load the groups grow by
// themselves.

// maxGroup bounds one group, so that one commit never holds too much.
const maxGroup = 256

type writeReq struct {
	ctx  context.Context
	fn   func(w *wtx) error
	done chan error
	// alone: a bulk write, run in a transaction of its own with the
	// dialect's BulkForeignKeysOff (see writeAlone).
	alone bool
}

func (c *Core) startGroupCommit() {
	c.writes = make(chan writeReq)
	c.quit = make(chan struct{})
	c.writerDone = make(chan struct{})
	go c.groupWriter()
}

func (c *Core) stopGroupCommit() {
	if c.quit != nil {
		close(c.quit)
		<-c.writerDone
	}
}

var errClosed = errors.New("store closed")

// groupWrite queues fn for the group writer and waits for its commit.
func (c *Core) groupWrite(ctx context.Context, fn func(w *wtx) error, alone bool) error {
	req := writeReq{ctx: ctx, fn: fn, done: make(chan error, 1), alone: alone}
	select {
	case c.writes <- req:
	case <-c.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-req.done
}

func (c *Core) groupWriter() {
	defer close(c.writerDone)
	var held *writeReq // a write alone, taken while draining: it goes next
	for {
		var batch []writeReq
		if held != nil {
			batch, held = append(batch, *held), nil
		} else {
			select {
			case r := <-c.writes:
				batch = append(batch, r)
			case <-c.quit:
				return
			}
		}
	drain:
		for len(batch) < maxGroup && !batch[0].alone {
			select {
			case r := <-c.writes:
				if r.alone {
					held = &r
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		c.runGroup(batch)
	}
}

// foreignKeys runs the dialect's BulkForeignKeysOff (on false) or On
// (true) on the writer's connection sc, between transactions.
func (c *Core) foreignKeys(sc *sql.Conn, on bool) error {
	q := c.d.BulkForeignKeysOff
	if on {
		q = c.d.BulkForeignKeysOn
	}
	if q == "" {
		return nil
	}
	if _, err := sc.ExecContext(context.Background(), q); err != nil {
		return fmt.Errorf("foreign keys on=%v: %w", on, err)
	}
	return nil
}

func (c *Core) runGroup(batch []writeReq) {
	errs := make([]error, len(batch))
	events := make([][]muster.Event, len(batch))
	bg := context.Background()
	var cn conn
	alone := len(batch) == 1 && batch[0].alone
	groupErr := func() error {
		// The writer's foreign keys are on for every transaction but a
		// bulk write's: if turning them on again failed after one, no
		// other write runs until they are.
		// The writer's one connection, held for the transaction and the
		// pragmas around it: a bulk write's inserts run on it directly
		// (conn.execBulk), not through database/sql's conversion of every
		// argument.
		sc, err := c.w.Conn(bg)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		defer sc.Close()
		if c.foreignKeysOff {
			if err := c.foreignKeys(sc, true); err != nil {
				return err
			}
			c.foreignKeysOff = false
		}
		if alone && c.d.BulkForeignKeysOff != "" {
			if err := c.foreignKeys(sc, false); err != nil {
				return err
			}
			c.foreignKeysOff = true
			defer func() {
				if err := c.foreignKeys(sc, true); err == nil {
					c.foreignKeysOff = false
				}
			}()
		}
		if alone && c.d.DuringBulkWrite != nil {
			defer c.d.DuringBulkWrite()()
		}
		tx, err := sc.BeginTx(bg, nil)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		defer tx.Rollback()
		cn = newTxConn(c, c.w, tx)
		cn.raw = sc
		// A lone write needs no savepoint: if it fails, the transaction,
		// which holds nothing else, is rolled back whole. The savepoint
		// is not free: SQLite copies every page the write changes to its
		// statement journal first (a large issuance or import writes its
		// pages twice).
		lone := len(batch) == 1
		for i, r := range batch {
			if err := r.ctx.Err(); err != nil {
				errs[i] = err
				continue
			}
			if !lone {
				if _, err := cn.ExecContext(bg, `SAVEPOINT muster_write`); err != nil {
					return fmt.Errorf("savepoint: %w", err)
				}
			}
			// Statements do not see the caller's cancellation: SQLite
			// answers an interrupted write by rolling back the whole
			// transaction, which would take the group's other writes too.
			ctx := context.WithoutCancel(r.ctx)
			w := &wtx{conn: cn, c: c, ctx: ctx, actor: muster.ActorFrom(ctx), now: c.now().UTC().Truncate(time.Microsecond)}
			err := r.fn(w)
			if err == nil {
				_, err = c.appendAudit(w, w.audit)
			}
			if lone {
				if err != nil {
					errs[i] = err
					return nil // the deferred rollback undoes it; nothing to commit
				}
				events[i] = w.events
				break
			}
			if err != nil {
				errs[i] = err
				if _, err := cn.ExecContext(bg, `ROLLBACK TO muster_write`); err != nil {
					return fmt.Errorf("rollback to savepoint: %w", err)
				}
			} else {
				events[i] = w.events
			}
			if _, err := cn.ExecContext(bg, `RELEASE muster_write`); err != nil {
				return fmt.Errorf("release savepoint: %w", err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}()
	cn.promote(bg)
	if groupErr == nil && c.d.AfterCommit != nil {
		c.d.AfterCommit()
	}
	if groupErr == nil {
		for i := range batch {
			if errs[i] == nil && authChanged(events[i]) {
				c.afterAuthChange()
				break
			}
		}
	}
	for i, r := range batch {
		switch {
		case errs[i] != nil:
		case groupErr != nil:
			errs[i] = groupErr
		default:
			for _, ev := range events[i] {
				c.Deliver(ev)
			}
		}
		r.done <- errs[i]
	}
}
