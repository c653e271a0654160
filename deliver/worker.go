package deliver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/muster-evac/muster"
)

// Sender sends a message over one channel. Send must honour ctx (the
// worker bounds each attempt with it), must hand the provider
// m.IdempotencyKey, and returns the provider's id of the message (or ""),
// or an error: Permanent, Temporary, or any other error (temporary). A
// Sender is used by several goroutines at once.
type Sender interface {
	Channel() string
	Send(ctx context.Context, m muster.OutboxMessage) (providerID string, err error)
	Close() error
}

// Defaults of a Worker's fields left at zero.
const (
	DefaultConcurrency  = 4
	DefaultBatch        = 32
	DefaultSendTimeout  = 20 * time.Second
	DefaultMaxAttempts  = 8
	DefaultPollInterval = time.Second
)

// Worker leases due messages from the outbox, sends them and records the
// outcomes. Several workers (in several instances) can drain one outbox:
// a lease gives each message to one worker at a time.
type Worker struct {
	Store   muster.Store
	Senders []Sender // one per channel; the worker leases only those channels
	// Owner names this worker in leases and the audit log; default
	// host-pid-random.
	Owner string
	// Concurrency is how many messages are sent at once (each channel's
	// sender keeps about as many connections open).
	Concurrency int
	// Batch is how many messages one lease takes.
	Batch int
	// SendTimeout bounds one attempt, connection included.
	SendTimeout time.Duration
	// LeaseFor is how long a lease lasts: long enough to send a batch
	// through the senders (default: (Batch/Concurrency + 2) send
	// timeouts). A worker killed mid-send leaves its messages leased for
	// this long; then another worker takes them over.
	LeaseFor time.Duration
	// MaxAttempts: after so many failed attempts a message is dead.
	MaxAttempts int
	Backoff     Backoff
	// PollInterval: how often an idle worker looks for due messages (it
	// also wakes when messages are queued in any instance).
	PollInterval time.Duration
	Logger       *slog.Logger
	Metrics      *Metrics // nil: none
	// Render writes the subject and bodies of a message queued to be
	// rendered when it is sent (muster.OutboxMessage.Link): issue.Render
	// on the worker's store. A worker without it leaves such messages
	// queued (retried later) rather than send them empty.
	Render func(ctx context.Context, m muster.OutboxMessage) (muster.OutboxMessage, error)
}

func (w *Worker) defaults() error {
	if w.Store == nil {
		return fmt.Errorf("deliver: no store")
	}
	if len(w.Senders) == 0 {
		return fmt.Errorf("deliver: no sender")
	}
	seen := map[string]bool{}
	for _, s := range w.Senders {
		if !slices.Contains(muster.Channels, s.Channel()) || seen[s.Channel()] {
			return fmt.Errorf("deliver: sender for channel %q: unknown, or given twice", s.Channel())
		}
		seen[s.Channel()] = true
	}
	if w.Owner == "" {
		w.Owner = DefaultOwner()
	}
	if w.Concurrency <= 0 {
		w.Concurrency = DefaultConcurrency
	}
	if w.Batch <= 0 {
		w.Batch = DefaultBatch
	}
	w.Batch = min(w.Batch, 500)
	if w.SendTimeout <= 0 {
		w.SendTimeout = DefaultSendTimeout
	}
	if w.LeaseFor <= 0 {
		w.LeaseFor = time.Duration(w.Batch/w.Concurrency+2) * w.SendTimeout
	}
	w.LeaseFor = min(w.LeaseFor, time.Hour)
	if w.MaxAttempts <= 0 {
		w.MaxAttempts = DefaultMaxAttempts
	}
	if w.Backoff.Base <= 0 {
		w.Backoff = DefaultBackoff
	}
	if w.PollInterval <= 0 {
		w.PollInterval = DefaultPollInterval
	}
	if w.Logger == nil {
		w.Logger = slog.Default()
	}
	return nil
}

// DefaultOwner names a worker: host, process and 32 random bits, so that
// a restarted process never completes its predecessor's leases.
func DefaultOwner() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "host"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Run delivers until ctx ends, then releases the messages it leased and
// had not begun to send (they are due again at once) and returns
// ctx.Err(). Store errors (a database gone for a while) are logged and
// retried; only a bad configuration returns early.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.defaults(); err != nil {
		return err
	}
	senders := map[string]Sender{}
	var channels []string
	for _, s := range w.Senders {
		senders[s.Channel()] = s
		channels = append(channels, s.Channel())
	}
	sctx := muster.WithActor(ctx, "deliver:"+w.Owner)
	events, err := w.Store.Subscribe(ctx)
	if err != nil {
		return fmt.Errorf("deliver: subscribe: %w", err)
	}
	w.Logger.Info("delivery worker started", "owner", w.Owner, "channels", channels, "concurrency", w.Concurrency, "lease", w.LeaseFor)

	jobs := make(chan muster.OutboxMessage, w.Batch)
	freed := make(chan struct{}, 1)
	var wg sync.WaitGroup
	for range w.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range jobs {
				w.process(sctx, senders[m.Channel], m)
				select {
				case freed <- struct{}{}:
				default:
				}
			}
		}()
	}
	defer func() {
		close(jobs)
		wg.Wait()
	}()

	storeBackoff := Backoff{Base: 200 * time.Millisecond, Max: 10 * time.Second}
	failures := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		free := cap(jobs) - len(jobs)
		wait := w.PollInterval
		if free > 0 && (free >= cap(jobs)/2 || len(jobs) == 0) {
			ms, err := w.Store.LeaseMessages(sctx, w.Owner, channels, free, w.LeaseFor, time.Time{})
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case err != nil:
				failures++
				wait = storeBackoff.Delay(failures)
				w.Logger.Warn("delivery: lease failed", "owner", w.Owner, "err", err, "retry_in", wait)
			default:
				failures = 0
				w.Metrics.leased(len(ms))
				for _, m := range ms {
					jobs <- m // never blocks: at most free
				}
				if len(ms) == free {
					continue // more may be due
				}
			}
		}
		timer.Reset(wait)
	wait:
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case ev, ok := <-events:
				if !ok {
					return ctx.Err()
				}
				// Messages queued (here or in another instance) or a dead
				// letter retried: something new may be due. Leases and
				// outcomes ("message") are not news to a worker.
				if ev.Kind == "outbox" || ev.Kind == "wipe" {
					break wait
				}
			case <-freed:
				break wait
			case <-timer.C:
				break wait
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// margin is the time a lease must have left, beyond one send timeout, for
// an attempt to begin under it.
const margin = 2 * time.Second

// process makes one attempt and records its outcome.
func (w *Worker) process(ctx context.Context, s Sender, m muster.OutboxMessage) {
	log := w.Logger.With("message", m.ID, "channel", m.Channel, "attempt", m.Attempts, "owner", w.Owner)
	switch {
	case ctx.Err() != nil:
		w.complete(ctx, log, m, muster.MessageResult{Outcome: muster.OutcomeRetry, Error: "released unsent: the worker stopped"})
		return
	case time.Until(m.LeaseExpiresAt) < w.SendTimeout+margin:
		// The lease would run out mid-send, and another worker could send
		// it too: leave it to a fresh lease.
		w.complete(ctx, log, m, muster.MessageResult{Outcome: muster.OutcomeRetry, Error: "released unsent: its lease ran out while earlier messages were sent (provider slow)"})
		return
	case m.Attempts > w.MaxAttempts:
		w.complete(ctx, log, m, muster.MessageResult{Outcome: muster.OutcomeDead,
			Error: fmt.Sprintf("gave up after %d attempts (the last ended with no outcome: a worker stopped mid-send?)", m.Attempts-1)})
		return
	case s == nil:
		w.complete(ctx, log, m, muster.MessageResult{Outcome: muster.OutcomeRetry, RetryAt: time.Now().Add(w.Backoff.Max), Error: "no sender for channel " + m.Channel})
		return
	case m.Link != "" && m.Body == "" && w.Render == nil:
		w.complete(ctx, log, m, muster.MessageResult{Outcome: muster.OutcomeRetry, RetryAt: time.Now().Add(w.Backoff.Max),
			Error: "this worker cannot render a message queued to be rendered when it is sent (no Render)"})
		return
	case m.Link != "" && m.Body == "":
		rendered, err := w.Render(ctx, m)
		if err != nil {
			log.Error("delivery: rendering the message failed", "err", err)
			r := muster.MessageResult{Outcome: muster.OutcomeRetry, RetryAt: time.Now().Add(w.Backoff.Delay(m.Attempts)), Error: "rendering it failed: " + err.Error()}
			if c := muster.ErrorCode(err); c == muster.ENOTFOUND || c == muster.EINVALID || m.Attempts >= w.MaxAttempts {
				// Its instruction is gone or is not its household's: no
				// attempt will do better. (A store that failed may.)
				r.Outcome = muster.OutcomeDead
			}
			w.complete(ctx, log, m, r)
			return
		}
		m = rendered
	}
	actx, cancel := context.WithTimeout(ctx, w.SendTimeout)
	start := time.Now()
	pid, err := s.Send(actx, m)
	cancel()
	took := time.Since(start)
	var r muster.MessageResult
	switch {
	case err == nil:
		r = muster.MessageResult{Outcome: muster.OutcomeSent, ProviderMessageID: pid}
	case IsPermanent(err):
		r = muster.MessageResult{Outcome: muster.OutcomeDead, Error: err.Error()}
	case m.Attempts >= w.MaxAttempts:
		r = muster.MessageResult{Outcome: muster.OutcomeDead, Error: fmt.Sprintf("gave up after %d attempts: %v", m.Attempts, err)}
	default:
		delay := max(w.Backoff.Delay(m.Attempts), min(retryAfter(err), w.Backoff.Max))
		if ctx.Err() != nil {
			delay = 0 // stopped mid-send: due again at once, for whoever runs next
		}
		r = muster.MessageResult{Outcome: muster.OutcomeRetry, RetryAt: time.Now().Add(delay), Error: err.Error()}
	}
	w.Metrics.attempt(m.Channel, r.Outcome, took)
	if err != nil {
		log.Info("delivery attempt failed", "outcome", r.Outcome, "err", r.Error, "took", took)
	}
	w.complete(ctx, log, m, r)
}

// complete records an outcome, even while the worker stops: a send that
// happened must be recorded if at all possible, or it is sent again.
func (w *Worker) complete(ctx context.Context, log *slog.Logger, m muster.OutboxMessage, r muster.MessageResult) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, err := w.Store.CompleteMessage(cctx, m.ID, w.Owner, r)
	switch {
	case err == nil:
	case muster.ErrorCode(err) == muster.ECONFLICT:
		// The lease ran out and another worker took the message over: it
		// may be sent twice, with the same idempotency key.
		w.Metrics.lostLease(m.Channel)
		log.Warn("delivery: lease lost before the outcome was recorded", "outcome", r.Outcome, "err", err)
	default:
		log.Error("delivery: recording the outcome failed; the message will be sent again when its lease expires", "outcome", r.Outcome, "err", err)
	}
}
