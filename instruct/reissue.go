package instruct

import (
	"cmp"
	"slices"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/plan"
)

// Change is an instruction a re-plan issues: a first version, or a new
// version of one whose content changed. Its Changes name what changed
// from the version it supersedes (muster.Changed), nil for a first
// version; it is not signed yet (no Token, no Digest, no Status). It is
// the store's type so that the issuer hands the changes to the store as
// they were built: copying 100,000 instructions from one type to the
// other cost a quarter of a CPU-second.
type Change = muster.IssuedInstruction

// Revision is what a re-plan does to the instructions in force.
type Revision struct {
	Changed   []Change // to issue, by series
	Unchanged []string // ids of instructions that stay in force as they are
	Revoked   []string // ids of instructions to revoke: their household (or group) is no longer in the plan
}

// Reissue builds the instructions of a new (approved) plan against those in
// force (previous): a household whose instruction would not change keeps
// it (no new version, nothing to deliver); one whose instruction changes
// gets the next version, which supersedes the one in force; one new to the
// plan gets a first version; one the plan no longer serves has its
// instruction revoked. An instruction in force that opts.Resign names
// (its token signed by a key since revoked) gets a new version even when
// nothing in it changed. Groups keep their codes where they can.
//
// previous may hold several versions of an instruction (a history): the
// highest is taken to be in force. lastVersions, if given, is the last
// version ever issued of each series, revoked ones included, so that a
// household that comes back never gets an id issued before.
func Reissue(previous []muster.Instruction, lastVersions map[string]int, p *plan.Plan, households []muster.Household, streets *Streets, opts Options) (*Revision, error) {
	inForce := map[string]*muster.Instruction{}
	for i := range previous {
		in := &previous[i]
		if cur, ok := inForce[in.Series]; !ok || in.Version > cur.Version {
			inForce[in.Series] = in
		}
	}
	codes := map[string]string{}
	for _, in := range inForce {
		if in.Group != "" && in.GroupCode != "" {
			codes[in.Group] = in.GroupCode
		}
	}
	opts.groupCodes = codes
	// Built in place, as Changes: a Change is large, and copying 133,100
	// instructions from one slice to another cost a quarter of a second.
	b, err := newBuilder(p, households, streets, opts)
	if err != nil {
		return nil, err
	}
	changed := make([]Change, b.count())
	if err := b.buildInto(func(i int) *muster.Instruction { return &changed[i].Instruction }); err != nil {
		return nil, err
	}
	rev := &Revision{}
	var seen map[string]bool // the series in force the plan still has
	if len(inForce) > 0 {
		seen = make(map[string]bool, len(inForce))
	}
	n := 0 // changed[:n] are the changes; the unchanged are dropped in place
	for i := range changed {
		ch := &changed[i]
		in := &ch.Instruction
		last := lastVersions[in.Series]
		prev := inForce[in.Series]
		switch {
		case prev == nil:
			if in.Version != last+1 { // built as version 1
				in.Version = last + 1
				in.ID = muster.InstructionID(in.Series, in.Version)
			}
		default:
			seen[in.Series] = true
			fields := muster.Changed(prev, in)
			if len(fields) == 0 && opts.Resign != nil && opts.Resign(prev) {
				fields = []string{muster.ChangedSignature}
			}
			if len(fields) == 0 {
				rev.Unchanged = append(rev.Unchanged, prev.ID)
				continue
			}
			in.Version = max(prev.Version, last) + 1
			in.ID = muster.InstructionID(in.Series, in.Version)
			in.Supersedes = prev.ID
			ch.Changes = fields
		}
		if n != i {
			changed[n] = *ch
		}
		n++
	}
	clear(changed[n:]) // what the unchanged held is not kept alive
	rev.Changed = changed[:n:n]
	for series, in := range inForce {
		if !seen[series] {
			rev.Revoked = append(rev.Revoked, in.ID)
		}
	}
	slices.Sort(rev.Unchanged)
	slices.Sort(rev.Revoked)
	return rev, nil
}

// Difference is how one instruction differs between two sets.
type Difference struct {
	Series    string
	Household string   // "" for an escort's
	Old, New  string   // the ids; Old "" when it is new, New "" when it is gone
	Fields    []string // what changed, when it is in both
}

// Compare pairs two sets of instructions by series (the highest version
// of each) and returns how they differ, by series, and how many are the
// same in both.
func Compare(old, newer []muster.Instruction) (diffs []Difference, same int) {
	latest := func(set []muster.Instruction) map[string]*muster.Instruction {
		m := map[string]*muster.Instruction{}
		for i := range set {
			if cur, ok := m[set[i].Series]; !ok || set[i].Version > cur.Version {
				m[set[i].Series] = &set[i]
			}
		}
		return m
	}
	o, n := latest(old), latest(newer)
	for series, ni := range n {
		oi := o[series]
		switch {
		case oi == nil:
			diffs = append(diffs, Difference{Series: series, Household: ni.Household, New: ni.ID})
		case oi.ID == ni.ID && oi.Digest() == ni.Digest():
			same++
		default:
			fields := muster.Changed(oi, ni)
			if len(fields) == 0 && oi.ID == ni.ID {
				fields = []string{"content"}
			}
			diffs = append(diffs, Difference{Series: series, Household: ni.Household, Old: oi.ID, New: ni.ID, Fields: fields})
		}
	}
	for series, oi := range o {
		if n[series] == nil {
			diffs = append(diffs, Difference{Series: series, Household: oi.Household, Old: oi.ID})
		}
	}
	slices.SortFunc(diffs, func(a, b Difference) int { return cmp.Compare(a.Series, b.Series) })
	return diffs, same
}
