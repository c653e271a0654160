package auditlog

import (
	"bytes"
	"context"
	"fmt"
	"sort"

	"github.com/muster-evac/muster"
)

// Result is the verdict of Verify.
type Result struct {
	OK bool
	// Audit is the store's own verification of its chain.
	Audit muster.AuditVerification
	// Checked is how many checkpoints were compared; Latest the one with
	// the highest seq.
	Checked int
	Latest  Checkpoint
	// Reason says what is wrong when !OK.
	Reason string
}

// Verify checks the store's chain (hashes and MACs, VerifyAudit) and then
// every checkpoint against it: each entry a checkpoint saw must still be
// there with the hash and MAC it had. A log cut below a checkpoint, or
// rebuilt from before it, fails. The checkpoints must already have passed
// Parse (their signatures).
func Verify(ctx context.Context, st muster.Store, cps []Checkpoint) (Result, error) {
	var r Result
	v, err := st.VerifyAudit(ctx)
	if err != nil {
		return r, err
	}
	r.Audit = v
	if !v.OK {
		r.Reason = fmt.Sprintf("audit entry %d: %s", v.FirstBad, v.Reason)
		return r, nil
	}
	sorted := append([]Checkpoint(nil), cps...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Seq < sorted[j].Seq })
	for _, c := range sorted {
		r.Checked++
		r.Latest = c
		if c.Seq > v.Entries {
			r.Reason = fmt.Sprintf("the %s says the log had %d entries, but it has %d: entries %d to %d were removed and the head moved back",
				c, c.Seq, v.Entries, v.Entries+1, c.Seq)
			return r, nil
		}
		if c.Seq == 0 {
			continue
		}
		es, err := st.ListAudit(ctx, c.Seq-1, 1)
		if err != nil {
			return r, err
		}
		if len(es) != 1 || es[0].Seq != c.Seq {
			r.Reason = fmt.Sprintf("entry %d, which the %s saw, is missing", c.Seq, c)
			return r, nil
		}
		if !bytes.Equal(es[0].Hash, c.Hash) || !bytes.Equal(es[0].MAC, c.MAC) {
			r.Reason = fmt.Sprintf("entry %d is not the one the %s saw: the log was rewritten at or before it", c.Seq, c)
			return r, nil
		}
	}
	r.OK = true
	return r, nil
}
