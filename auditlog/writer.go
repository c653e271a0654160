package auditlog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/muster-evac/muster"
)

// Writer signs checkpoints of a store's audit log as it grows. It checks
// the whole chain once (Start), then on each Checkpoint only the entries
// added since the last, linking them to the last checkpointed entry under
// the audit key: so it signs nothing that does not extend what it signed
// before. If that fails, someone changed the log under the running server:
// it logs an error at every attempt and signs nothing more.
type Writer struct {
	Store    muster.Store
	AuditKey []byte             // the store's audit key (seal.AuditKey)
	Key      ed25519.PrivateKey // signs (seal.AuditSigningKey)
	// Out receives each checkpoint line (a file opened for appending,
	// standard output); nil: the log only. Sync, if set, runs after each
	// line (fsync).
	Out  io.Writer
	Sync func() error
	Log  *slog.Logger

	mu        sync.Mutex
	seq       int64
	hash, mac []byte
	signed    bool   // a checkpoint of seq was written
	broken    string // why no more are signed
}

// Start verifies the whole chain and writes the first checkpoint. A
// broken chain is logged as an error, not returned: the server keeps
// serving, and every later attempt logs it again.
func (w *Writer) Start(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, err := w.Store.VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("audit checkpoints: %w", err)
	}
	if !v.OK {
		w.broken = fmt.Sprintf("the audit log fails verification at entry %d: %s", v.FirstBad, v.Reason)
		w.logger().Error("audit log broken: no checkpoint will be signed", "reason", w.broken)
		return nil
	}
	w.seq, w.hash, w.mac = v.Entries, v.Head, v.HeadMAC
	return w.write()
}

// Checkpoint signs and writes a checkpoint of the current head if the log
// grew since the last one.
func (w *Writer) Checkpoint(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.broken != "" {
		w.logger().Error("audit log broken: no checkpoint signed", "reason", w.broken)
		return nil
	}
	grew := false
	for {
		es, err := w.Store.ListAudit(ctx, w.seq, 1000)
		if err != nil {
			return fmt.Errorf("audit checkpoint: %w", err)
		}
		if len(es) == 0 {
			break
		}
		for _, e := range es {
			switch {
			case e.Seq != w.seq+1, !bytes.Equal(e.PrevHash, w.hash), !bytes.Equal(e.Hash, e.ChainHash(w.hash)),
				!hmac.Equal(e.MAC, e.ChainMAC(w.AuditKey, w.mac, e.Hash)):
				w.broken = fmt.Sprintf("entry %d does not extend the checkpointed entry %d under the audit key: the log was changed under the running server", w.seq+1, w.seq)
				w.logger().Error("audit log changed under the server: no checkpoint will be signed", "reason", w.broken)
				return nil
			}
			w.seq, w.hash, w.mac = e.Seq, e.Hash, e.MAC
			grew = true
		}
	}
	if !grew && w.signed {
		return nil
	}
	return w.write()
}

func (w *Writer) write() error {
	c := Sign(w.Key, w.seq, w.hash, w.mac, time.Now())
	line := c.MarshalLine()
	w.logger().Info("audit checkpoint", "seq", c.Seq, "checkpoint", strings.TrimSpace(string(line)))
	if w.Out != nil {
		if _, err := w.Out.Write(line); err != nil {
			return fmt.Errorf("audit checkpoint: write: %w", err)
		}
		if w.Sync != nil {
			if err := w.Sync(); err != nil {
				return fmt.Errorf("audit checkpoint: sync: %w", err)
			}
		}
	}
	w.signed = true
	return nil
}

// Run writes a checkpoint every interval while the log grows, and a last
// one when ctx ends (under a context of its own, so the store must still
// be open when Run returns).
func (w *Writer) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := w.Checkpoint(fctx); err != nil {
				w.logger().Error("last audit checkpoint", "err", err)
			}
			return
		case <-t.C:
			if err := w.Checkpoint(ctx); err != nil && ctx.Err() == nil {
				w.logger().Error("audit checkpoint", "err", err)
			}
		}
	}
}

func (w *Writer) logger() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.Default()
}
