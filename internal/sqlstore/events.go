package sqlstore

import (
	"context"
	"sync"

	"github.com/muster-evac/muster"
)

// broadcaster fans events out to this instance's subscribers. A send never
// blocks a writer: a subscriber whose buffer is full misses the event (an
// Event only says "re-read"; a client that missed one re-reads anyway when
// it reconnects).
//
// A subscription ends when its context does, not when a store closes.
// Other processes' changes reach the subscribers through NOTIFY
// (PostgreSQL) or the watcher (SQLite: external.go).
type broadcaster struct {
	mu   sync.Mutex
	subs map[chan muster.Event]struct{}
}

func newBroadcaster() *broadcaster { return &broadcaster{subs: map[chan muster.Event]struct{}{}} }

func (b *broadcaster) subscribe(ctx context.Context) <-chan muster.Event {
	ch := make(chan muster.Event, 256)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	go func() {
		<-ctx.Done()
		b.mu.Lock()
		if _, ok := b.subs[ch]; ok {
			delete(b.subs, ch)
			close(ch)
		}
		b.mu.Unlock()
	}()
	return ch
}

func (b *broadcaster) publish(ev muster.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}
