package issue

import (
	"strings"
	"testing"
	"time"
)

// TestCapabilityIDsInOrder: one issuance's capability ids count up in
// order (the capabilities' primary key is then filled at its right edge)
// and differ from another issuance's of the same microsecond.
func TestCapabilityIDsInOrder(t *testing.T) {
	now := time.Date(2021, 8, 26, 6, 0, 0, 0, time.UTC)
	a, b := newCapabilityIDs(now), newCapabilityIDs(now)
	seen := map[string]bool{}
	prev := ""
	for range 1000 {
		id := a()
		if !strings.HasPrefix(id, "cap-i") || len(id) != len("cap-i")+13+16 || id <= prev || seen[id] {
			t.Fatalf("capability id %q after %q", id, prev)
		}
		seen[id], prev = true, id
	}
	for range 1000 {
		if id := b(); seen[id] {
			t.Fatalf("two issuances of one microsecond made capability id %s", id)
		}
	}
	if later := newCapabilityIDs(now.Add(time.Microsecond))(); later <= prev {
		t.Fatalf("an issuance a microsecond later made %s, before %s", later, prev)
	}
}
