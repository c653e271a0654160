package sqlstore

import (
	"bytes"
	"testing"
	"time"

	"github.com/muster-evac/muster"
)

// TestIssueBatchLinksOncePerHousehold: a batch that gives one household
// two links is refused before any database work (PostgreSQL's multi-row
// upsert would fail on it mid-statement, SQLite would keep the last).
func TestIssueBatchLinksOncePerHousehold(t *testing.T) {
	b := muster.IssueBatch{Plan: "P1", Links: []muster.InstructionLink{
		{HouseholdID: "H000001", CapabilityID: "cap-iaaaaaaaaaaaaaaaa", Secret: "abcdefghijklmnopqrst"},
		{HouseholdID: "H000001", CapabilityID: "cap-ibbbbbbbbbbbbbbbb", Secret: "bcdefghijklmnopqrstu"},
	}}
	now := time.Date(2021, 8, 26, 5, 0, 0, 0, time.UTC)
	if _, err := checkIssueBatch(&b, testSealer{}, now); muster.ErrorCode(err) != muster.EINVALID {
		t.Fatalf("two links for one household: %v", err)
	}
	b.Links = b.Links[:1]
	if _, err := checkIssueBatch(&b, testSealer{}, now); err != nil {
		t.Fatalf("one link: %v", err)
	}
}

// TestMessageIDsCountUp: a batch's message ids sort in the batch's order
// and by time, and two batches of one microsecond differ.
func TestMessageIDsCountUp(t *testing.T) {
	now := time.Date(2021, 8, 26, 5, 0, 0, 0, time.UTC)
	a, b := messageIDs(now), messageIDs(now)
	prev := ""
	seen := map[string]bool{}
	for range 1000 {
		id := a()
		if len(id) != 30 || id <= prev || seen[id] {
			t.Fatalf("id %q after %q", id, prev)
		}
		prev = id
		seen[id] = true
	}
	if seen[b()] {
		t.Fatal("two batches made the same id")
	}
	if later := messageIDs(now.Add(time.Microsecond))(); later <= prev {
		t.Fatalf("a later batch's id %q sorts before %q", later, prev)
	}
}

// testSealer seals nothing: a check that needs no database needs no key.
type testSealer struct{}

func (testSealer) Seal(p []byte, aad string) []byte { return append([]byte(aad+":"), p...) }
func (testSealer) Open(c []byte, aad string) ([]byte, error) {
	return bytes.TrimPrefix(c, []byte(aad+":")), nil
}
func (testSealer) Hash(kind, value string) []byte { return []byte(kind + ":" + value) }
