package simulate

// What an event does.
const (
	evReceive uint8 = iota + 1 // a household's instruction reaches it (a: household, b: instruction version)
	evLeave                    // a household leaves home (a: household, ver: its move version)
	evAtRally                  // a household reaches its rally point (a: household, ver)
	evDepart                   // a group leaves its rally point (a: party, ver)
	evAdvance                  // a party reaches the end of its current road piece (a: party, ver)
	evPass                     // the next person passes a gate (a: gate, ver)
	evEscort                   // a group's escort receives a revised instruction (a: party, b: revision)
	evInject                   // an inject happens (a: inject index)
	evApprove                  // the operator approves the re-plan made for an inject (a: inject index)
	evSample                   // the minute's measurements are taken
)

// event is one thing due at a time. Events due at the same time run in the
// order they were scheduled (seq), so a run is the same on every machine.
type event struct {
	t    float64 // seconds from the start of the operation
	seq  uint64
	kind uint8
	a, b int32
	ver  uint32
}

// eventQueue is a plain binary min-heap on (t, seq).
type eventQueue struct {
	ev  []event
	seq uint64
}

func (q *eventQueue) len() int { return len(q.ev) }

func (q *eventQueue) less(i, j int) bool {
	a, b := &q.ev[i], &q.ev[j]
	return a.t < b.t || (a.t == b.t && a.seq < b.seq)
}

func (q *eventQueue) push(e event) {
	q.seq++
	e.seq = q.seq
	q.ev = append(q.ev, e)
	i := len(q.ev) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q.ev[i], q.ev[p] = q.ev[p], q.ev[i]
		i = p
	}
}

func (q *eventQueue) pop() event {
	top := q.ev[0]
	n := len(q.ev) - 1
	q.ev[0] = q.ev[n]
	q.ev = q.ev[:n]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && q.less(l, m) {
			m = l
		}
		if r < n && q.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		q.ev[i], q.ev[m] = q.ev[m], q.ev[i]
		i = m
	}
	return top
}
