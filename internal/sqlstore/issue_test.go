package sqlstore

import (
	"bytes"
	"fmt"
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

// TestIssueLayout: an issuance's rows are laid out interleaved (the
// versions and the messages a group at a time, the links before the last
// linkGroupsAfter groups of versions, first if there are no more), and
// every version, link and message is in one segment once, each kind in
// its order; a message's segment waits for the pipeline's rows that hold
// the version it names (and every one before), and begins in a chunk
// after them, whatever the order of the messages (in the versions'
// order, reversed, naming none).
func TestIssueLayout(t *testing.T) {
	now := time.Date(2021, 8, 26, 5, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name                    string
		oneGroup                bool // as on PostgreSQL: the messages after every version
		versions, links, perMsg int
		order                   func(i, n int) int // the version message i names; -1 none
	}{
		{"in order", false, 3*issueGroup + 17, 2*issueGroup + 5, 2, func(i, n int) int { return i / 2 }},
		{"reversed", false, 2*issueGroup + 3, 10, 1, func(i, n int) int { return n - 1 - i }},
		{"naming none", false, issueGroup + 1, 0, 1, func(i, n int) int { return -1 }},
		{"no versions", false, 0, 3, 1, func(i, n int) int { return -1 }},
		{"one group", false, 5, 5, 3, func(i, n int) int { return i / 3 }},
		{"the links before the last groups", false, (linkGroupsAfter+9)*issueGroup + 5, 40, 1, func(i, n int) int { return i }},
		{"not interleaved", true, 2*issueGroup + 9, 7, 2, func(i, n int) int { return i / 2 }},
	} {
		b := muster.IssueBatch{Plan: "P1", Sign: func(int) error { return nil }}
		for i := range tc.versions {
			b.Issue = append(b.Issue, muster.IssuedInstruction{Instruction: muster.Instruction{ID: muster.InstructionID(fmt.Sprintf("S%d", i), 1),
				Series: fmt.Sprintf("S%d", i), Version: 1, Audience: muster.AudienceEscort, Plan: "P1"}})
		}
		for i := range tc.links {
			b.Links = append(b.Links, muster.InstructionLink{HouseholdID: fmt.Sprintf("H%06d", i), CapabilityID: fmt.Sprintf("cap-i%016d", i), Secret: "abcdefghijklmnopqrst"})
		}
		n := max(tc.versions, 1) * tc.perMsg
		named := make([]int, n)
		for i := range n {
			named[i] = tc.order(i, n)
			m := muster.OutboxMessage{HouseholdID: "H000001", Channel: muster.ChannelSMS}
			if named[i] >= 0 {
				named[i] = min(named[i], tc.versions-1)
				m.InstructionID = b.Issue[named[i]].ID
			}
			b.Messages = append(b.Messages, m)
		}
		r, err := checkIssueBatch(&b, testSealer{}, now)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		group := issueGroup
		if tc.oneGroup {
			group = tc.versions
		}
		r.layout(group)
		next := [3]int{}
		versionRow := map[int]int{}
		row := 0
		for s := range r.segs {
			seg := &r.segs[s]
			if seg.row < row || seg.start != next[seg.kind] || seg.end <= seg.start {
				t.Fatalf("%s: segment %d %+v after row %d, kind's next %d", tc.name, s, seg, row, next[seg.kind])
			}
			for i := seg.start; i < seg.end; i++ {
				switch seg.kind {
				case issueVersions:
					versionRow[i] = seg.row + i - seg.start
				case issueMessages:
					if v := named[i]; v >= 0 && versionRow[v] >= seg.after || seg.row < (seg.after+pipelineChunk-1)/pipelineChunk*pipelineChunk {
						t.Fatalf("%s: message %d (version %d at row %d) in segment %+v", tc.name, i, v, versionRow[v], seg)
					}
				}
			}
			next[seg.kind], row = seg.end, seg.row+seg.end-seg.start
		}
		if next != [3]int{tc.versions, tc.links, n} || r.nrows != row {
			t.Fatalf("%s: segments end at %v, rows %d (want %d, %d, %d; %d rows)", tc.name, next, r.nrows, tc.versions, tc.links, n, row)
		}
		if tc.oneGroup && (len(r.segs) != 3 || r.segs[0].kind != issueLinks || r.segs[2].kind != issueMessages) {
			t.Fatalf("not interleaved: %+v", r.segs)
		}
		if tc.name == "in order" && (r.segs[0].kind != issueLinks || r.segs[3].kind != issueMessages || r.segs[4].kind != issueVersions) {
			t.Fatalf("in order: not interleaved: %+v", r.segs[:3])
		}
		// The links, when there are more groups, come before the last
		// linkGroupsAfter groups' versions.
		if groups := (tc.versions + group - 1) / group; tc.links > 0 && !tc.oneGroup {
			l := -1
			for s := range r.segs {
				if r.segs[s].kind == issueLinks {
					l = s
				}
			}
			after := 0
			for s := l + 1; s < len(r.segs); s++ {
				if r.segs[s].kind == issueVersions {
					after++
				}
			}
			if want := min(groups, linkGroupsAfter); after != want {
				t.Fatalf("%s: %d groups of versions after the links, want %d", tc.name, after, want)
			}
		}
	}
}

// TestIssueRowsReleased: once rows are inserted, a write that runs once
// (releaseInserted) drops exactly those rows' sealed values and
// arguments, and keeps what is read after the inserts (the instruction,
// link and message given); a write that may run again keeps them all.
func TestIssueRowsReleased(t *testing.T) {
	now := time.Date(2021, 8, 26, 5, 0, 0, 0, time.UTC)
	for _, once := range []bool{true, false} {
		b := muster.IssueBatch{Plan: "P1"}
		for i := range 3 {
			series := fmt.Sprintf("E-G%d", i)
			b.Issue = append(b.Issue, muster.IssuedInstruction{Instruction: muster.Instruction{ID: muster.InstructionID(series, 1),
				Series: series, Version: 1, Audience: muster.AudienceEscort, Plan: "P1"}, Token: fmt.Sprintf("MU1:token%d", i)})
			b.Links = append(b.Links, muster.InstructionLink{HouseholdID: fmt.Sprintf("H%06d", i), CapabilityID: fmt.Sprintf("cap-i%016d", i),
				Secret: "abcdefghijklmnopqrst", ExpiresAt: now.Add(time.Hour)})
			b.Messages = append(b.Messages, muster.OutboxMessage{HouseholdID: fmt.Sprintf("H%06d", i), Channel: muster.ChannelSMS,
				InstructionID: b.Issue[i].ID, InstructionVersion: 1, Recipient: "+93700000000", Body: "go"})
		}
		r, err := checkIssueBatch(&b, testSealer{}, now)
		if err != nil {
			t.Fatal(err)
		}
		r.layout(issueGroup)
		for row := range r.nrows {
			if err := r.prepare(row); err != nil {
				t.Fatal(err)
			}
		}
		r.releaseInserted = once
		for _, kind := range []int{issueVersions, issueLinks, issueMessages} {
			r.release(kind, 0, 2) // rows 0 and 1 inserted, row 2 not yet
		}
		for i := range 3 {
			v, l, m := &r.issue[i], &r.links[i], &r.msgs.rows[i]
			held := [...]bool{v.token != nil, v.body != nil, v.digest != "", v.vals[0] != nil,
				l.hash != nil, l.secret != nil, l.capVals[0] != nil, l.linkVals[0] != nil, m.content != nil, m.vals[0] != nil}
			want := !once || i == 2
			for k, h := range held {
				if h != want {
					t.Fatalf("released once=%v: row %d value %d held %v, want %v", once, i, k, h, want)
				}
			}
			if v.in == nil || l.l == nil || m.m == nil || m.id == "" {
				t.Fatalf("released once=%v: row %d lost what is read after the inserts", once, i)
			}
		}
	}
}
