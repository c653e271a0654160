package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// sseHeartbeat keeps idle event streams alive through proxies.
const sseHeartbeat = 15 * time.Second

// events relays the store's change events as server-sent events: "event:
// <kind>" with data {"kind":...,"id":...}, a hint to re-read. It ends with
// the client, or when the server shuts down.
func (s *Server) events(w http.ResponseWriter, r *http.Request, _ *caller) error {
	rc := http.NewResponseController(w)
	ch, err := s.store.Subscribe(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", mediaSSE)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(format string, args ...any) error {
		// A stream outlives the server's write timeout: push the deadline
		// out before each write.
		_ = rc.SetWriteDeadline(time.Now().Add(sseHeartbeat * 2))
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := send(": muster events\nretry: 3000\n\n"); err != nil {
		return nil
	}
	tick := time.NewTicker(sseHeartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-s.closing:
			return nil
		case <-tick.C:
			if send(": keep-alive\n\n") != nil {
				return nil
			}
		case ev, ok := <-ch:
			if !ok {
				return nil
			}
			if privateEvents[ev.Kind] {
				continue
			}
			data, _ := json.Marshal(map[string]string{"kind": ev.Kind, "id": ev.ID})
			if send("event: %s\ndata: %s\n\n", sanitizeEventName(ev.Kind), data) != nil {
				return nil
			}
		}
	}
}

// privateEvents are not relayed: who logs in, and when links are made,
// is for the audit log, not for every viewer's screen.
var privateEvents = map[string]bool{"user": true, "token": true, "capability": true}

// sanitizeEventName keeps an event name on one line.
func sanitizeEventName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = '_'
		}
	}
	return string(b)
}
