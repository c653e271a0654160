package sqlstore

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/muster-evac/muster"
)

// Changes made by another process (SQLite). PostgreSQL tells every
// instance of every change (NOTIFY); SQLite has no such channel, and a
// process only hears its own writes. So where the dialect can tell that
// another connection has committed (Dialect.DataVersionQuery: SQLite's
// PRAGMA data_version, asked on the one writer connection, changes exactly
// when some other connection has committed), a watcher polls it, and on a
// change reads the audit log since the last entry it knows: every change
// is audited in its own transaction, so the log is a complete feed of what
// the others did. Each change entry becomes the event the writer announced
// in its own process, and an entry "key.wipe" drops this process's key, so
// that `muster wipe` run beside a running server takes effect in it.
//
// Entries this process wrote itself may be announced a second time when
// they share a poll with another process's: an event only says "re-read".

// externalPoll is how often the watcher asks; a change made elsewhere is
// announced here within about this long.
const externalPoll = 200 * time.Millisecond

// maxExternalEntries bounds what one poll reads; past it every kind is
// announced with an empty id ("re-read them all").
const maxExternalEntries = 5000

// auditEvents maps each audited change to the kind of event its writer
// announces (TestAuditEventsComplete keeps it in step with the code).
var auditEvents = map[string]string{
	"advisory.import":     "advisory",
	"advisory.issue":      "advisory",
	"capability.create":   "capability",
	"checkin":             "checkin",
	"checkin.duplicate":   "checkin",
	"checkin.other_rally": "checkin",
	"checkin.sync":        "checkin",
	"fieldevent.add":      "fieldevent",
	"instruction.issue":   "instruction",
	"capability.revoke":   "capability",
	"household.ack":       "household",
	"household.create":    "household",
	"household.import":    "household",
	"household.status":    "household",
	"household.update":    "household",
	"key.wipe":            "wipe",
	"message.dead":        "message",
	"message.requeue":     "outbox",
	"message.retry":       "message",
	"message.sent":        "message",
	"outbox.enqueue":      "outbox",
	"outbox.lease":        "message",
	"place.delete":        "place",
	"place.put":           "place",
	"places.timezone":     "place",
	"plan.approve":        "plan",
	"plan.save":           "plan",
	"report.add":          "report",
	"source.delete":       "source",
	"source.put":          "source",
	"throttle.clear":      "throttle",
	"token.create":        "token",
	"token.revoke":        "token",
	"user.create":         "user",
	"user.disable":        "user",
	"user.enable":         "user",
	"user.password":       "user",
	"user.role":           "user",
}

// eventOf is the event an audit entry stands for, if it records a change.
func eventOf(e muster.AuditEntry) (muster.Event, bool) {
	kind, ok := auditEvents[e.Action]
	if !ok {
		return muster.Event{}, false
	}
	if kind == "wipe" {
		return muster.Event{Kind: "wipe", ID: "data_key"}, true
	}
	id, found := strings.CutPrefix(e.Target, kind+":")
	if !found {
		id = ""
	}
	return muster.Event{Kind: kind, ID: id}, true
}

// startWatcher reads where the database stands before Open returns, so
// that every commit by another connection after Open is seen as a change.
func (c *Core) startWatcher(ctx context.Context) error {
	seen, version, err := c.externalState(ctx)
	if err != nil {
		return fmt.Errorf("watching for changes by other processes: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.stopWatch = cancel
	c.watchDone = make(chan struct{})
	go c.watchExternal(ctx, seen, version)
	return nil
}

func (c *Core) stopWatcher() {
	if c.stopWatch != nil {
		c.stopWatch()
		<-c.watchDone
	}
}

func (c *Core) watchExternal(ctx context.Context, seen, version int64) {
	defer close(c.watchDone)
	tick := time.NewTicker(externalPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		head, v, err := c.externalState(ctx)
		if err != nil {
			if ctx.Err() == nil {
				slog.Warn("watching for changes by other processes", "backend", c.d.Name, "err", err)
			}
			continue
		}
		if v == version {
			// No other connection committed before v was read, so every
			// entry up to head is this process's own.
			seen = head
			continue
		}
		version = v
		if seen, err = c.announceExternal(ctx, seen); err != nil && ctx.Err() == nil {
			slog.Warn("reading changes by other processes", "backend", c.d.Name, "err", err)
		}
	}
}

// externalState reads the audit head, then the data version: in this
// order, an entry committed elsewhere is either at most head or changes
// the version. Both on the writer's connection (between its writes),
// not the head on a reader: a reader that begins a read after a commit
// drops its page cache (SQLite cannot tell which pages changed), and the
// watcher, every 200 ms on whichever reader was free, made the readers
// drop and fill their caches again, and the allocator return and take
// their memory (madvise: half a CPU-second of an issuance of 100,000
// households). The writer's connection keeps its cache across its own
// commits.
func (c *Core) externalState(ctx context.Context) (head, version int64, err error) {
	if head, err = c.auditHead(ctx, conn{c: c, db: c.w}); err != nil {
		return 0, 0, err
	}
	if err := c.w.QueryRowContext(ctx, c.d.DataVersionQuery).Scan(&version); err != nil {
		return 0, 0, fmt.Errorf("data version: %w", err)
	}
	return head, version, nil
}

// auditHead is the seq of the last audit entry, read on db.
func (c *Core) auditHead(ctx context.Context, db conn) (int64, error) {
	var head int64
	if err := db.QueryRowContext(ctx, `SELECT seq FROM audit_head WHERE id = 1`).Scan(&head); err != nil {
		return 0, fmt.Errorf("audit head: %w", err)
	}
	return head, nil
}

// announceExternal announces the changes audited after seq and returns the
// last seq read.
func (c *Core) announceExternal(ctx context.Context, seq int64) (int64, error) {
	for read := 0; ; {
		es, err := c.ListAudit(ctx, seq, 1000)
		if err != nil {
			return seq, err
		}
		if len(es) == 0 {
			return seq, nil
		}
		for _, e := range es {
			if ev, ok := eventOf(e); ok {
				c.Deliver(ev)
			}
		}
		seq = es[len(es)-1].Seq
		if read += len(es); read >= maxExternalEntries {
			for _, kind := range []string{"household", "report", "place", "plan"} {
				c.Deliver(muster.Event{Kind: kind})
			}
			head, err := c.auditHead(ctx, c.reader())
			if err != nil {
				return seq, err
			}
			return head, nil
		}
	}
}
