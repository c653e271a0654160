package operation

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"

	"github.com/muster-evac/muster"
)

// MaxEventLine bounds one line of a JSON Lines file of events.
const MaxEventLine = 64 << 10

// ReadEvents reads field events as JSON Lines (one event a line, blank
// lines and lines starting with # skipped), each checked by Validate; the
// error names the line and why. Nothing is applied: the caller sends them.
func ReadEvents(r io.Reader) ([]muster.FieldEvent, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxEventLine)
	var out []muster.FieldEvent
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		var e muster.FieldEvent
		dec := json.NewDecoder(bytes.NewReader(line))
		if err := dec.Decode(&e); err != nil {
			return nil, muster.Errorf(muster.EINVALID, "line %d: not a field event: %v", n, err)
		}
		if dec.More() {
			return nil, muster.Errorf(muster.EINVALID, "line %d: more than one JSON value", n)
		}
		if e.By != "" || e.Seq != 0 || len(e.Flags) > 0 || !e.RecordedAt.IsZero() {
			return nil, muster.Errorf(muster.EINVALID, "line %d: by, seq, flags and recorded_at are the server's to set", n)
		}
		if err := e.Validate(); err != nil {
			return nil, muster.Errorf(muster.EINVALID, "line %d: %v", n, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, muster.Errorf(muster.EINVALID, "field events: %v (a line longer than %d bytes?)", err, MaxEventLine)
	}
	return out, nil
}
