package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/muster-evac/muster"
)

// Issued instructions (migration 0007, docs/issuing.md). An issuance is
// one transaction: the plan approved, the versions it supersedes and
// revokes marked, the new versions inserted (a partial unique index keeps
// one current version per series, so two instances issuing at once cannot
// both succeed), the capability links made, and the messages queued. The
// instruction (it names the household) and its token are sealed with the
// aad "instruction:<id>:body" and ":token".

const (
	// maxIssue bounds one issuance: 100,000 households and their escorts,
	// twice over.
	maxIssue = 400_000
	// issueChunk rows are inserted by one statement (see insertOutboxQueries).
	issueChunk = 50
	// maxTokenLen bounds a stored token (a token is at most 320 bytes in
	// base45, 480 characters).
	maxTokenLen = 1024
)

func instructionAAD(id, field string) string { return "instruction:" + id + ":" + field }

const instructionColumns = `id, series, version, audience, household_id, group_id, supersedes, superseded_by, status, plan_id,
	issued_at, expires_at, changed_at, changes, digest`

const instructionSealedColumns = `token_enc, body_enc`

// instructionCopyColumns are instructionColumns and
// instructionSealedColumns, for Dialect.CopyRows.
var instructionCopyColumns = columnNames(instructionColumns + ", " + instructionSealedColumns)

type instructionRow struct {
	in                               muster.IssuedInstruction
	issued, expires, changed         int64
	changes                          string
	token, body                      []byte
	audience, household, group, plan string
}

func (r *instructionRow) scanArgs(sealed bool) []any {
	args := []any{&r.in.ID, &r.in.Series, &r.in.Version, &r.audience, &r.household, &r.group, &r.in.Supersedes, &r.in.SupersededBy,
		&r.in.Status, &r.plan, &r.issued, &r.expires, &r.changed, &r.changes, &r.in.Digest}
	if sealed {
		args = append(args, &r.token, &r.body)
	}
	return args
}

// open returns the row as an IssuedInstruction; with k, its sealed
// content and token opened and the content checked against its digest.
func (r *instructionRow) open(k muster.Sealer) (muster.IssuedInstruction, error) {
	in := r.in
	if k != nil {
		body, err := k.Open(r.body, instructionAAD(in.ID, "body"))
		if err != nil {
			return in, fmt.Errorf("instruction %s: open: %w", in.ID, err)
		}
		tok, err := k.Open(r.token, instructionAAD(in.ID, "token"))
		if err != nil {
			return in, fmt.Errorf("instruction %s: open token: %w", in.ID, err)
		}
		if err := json.Unmarshal(body, &in.Instruction); err != nil {
			return in, fmt.Errorf("instruction %s: %w", in.ID, err)
		}
		if d := muster.InstructionDigest(&in.Instruction); d != r.in.Digest || in.Instruction.ID != r.in.ID {
			return in, fmt.Errorf("instruction %s: its content does not match its digest: the row was changed", r.in.ID)
		}
		in.Token = string(tok)
	}
	// What is in clear is what the row says (and, opened, what the
	// content says: checked above through the digest).
	in.ID, in.Series, in.Version, in.Supersedes = r.in.ID, r.in.Series, r.in.Version, r.in.Supersedes
	in.Audience, in.Household, in.Group, in.Plan = r.audience, r.household, r.group, r.plan
	in.IssuedAt, in.ExpiresAt, in.ChangedAt = fromMicros(r.issued), fromMicros(r.expires), fromMicros(r.changed)
	if r.changes != "" {
		in.Changes = strings.Split(r.changes, ",")
	}
	return in, nil
}

// issueRow is a new version ready to insert: its body and token sealed.
type issueRow struct {
	in          *muster.IssuedInstruction
	digest      string
	token, body []byte
	// vals are the row's arguments, made (each an interface: an
	// allocation) by whichever core prepared the row, not by the writer.
	vals [14]driver.Value
}

// linkRow is an instruction link ready to insert: its secret hashed for
// the capability and sealed for the messages.
type linkRow struct {
	l      *muster.InstructionLink
	hash   []byte
	secret []byte
	// the capability's arguments but created_at, and the link's
	// (as issueRow.vals)
	capVals  [4]driver.Value
	linkVals [3]driver.Value
}

// issueRows is a batch checked, whose rows are being encoded and sealed
// (prepare) while the writer inserts those already done (pipeline).
//
// The rows are prepared and inserted in segments: a group of versions at
// a time, interleaved with the messages (Dialect.InterleaveIssue;
// otherwise the versions are one group): the versions of group g+1, then
// the messages of group g (those that name its versions), and so on; the
// links last (layout says why).
// A message is read once the version it names is signed (Sign renders
// its SMS); one group behind, it rarely waits for it. So the writer
// inserts links, versions and messages from the start, while the other
// core signs and seals the next groups, instead of inserting the links
// and the messages alone at the end.
type issueRows struct {
	b     *muster.IssueBatch
	k     muster.Sealer
	issue []issueRow
	links []linkRow
	msgs  *messageBatch
	p     *pipeline // the pipeline preparing them
	segs  []issueSegment
	nrows int // the pipeline's rows: the segments' and the padding between
	// releaseInserted: the write runs once (a group commit's), so a row
	// inserted is not needed again (release).
	releaseInserted bool
}

// release drops what rows [from, to) of kind hold only to be inserted
// (sealed values, arguments), once they are, if releaseInserted: the
// collector then reuses their memory for the rows still being sealed,
// where the sealed values of every row were kept to the commit (160 MB
// at 100,000 instructions). Memory the process has not touched before
// is what costs here: the kernel gives it a page at a time, at its first
// touch, some 11 µs a 4 kB page on this machine's virtual machines (2.9 s
// a gigabyte). At BenchmarkInstructions100k the Go heap's peak fell from
// 730-820 MB to 590-640, its page faults from 150,000-190,000 to
// 107,000-134,000. A write that may be retried (writeOnce's,
// PostgreSQL's) keeps them: its function runs again. What is read after
// the inserts (the instructions, links and messages given: the audit,
// the events) is kept. TestIssueRowsReleased.
func (r *issueRows) release(kind, from, to int) {
	if !r.releaseInserted {
		return
	}
	switch kind {
	case issueVersions:
		for i := from; i < to; i++ {
			row := &r.issue[i]
			row.digest, row.token, row.body, row.vals = "", nil, nil, [len(row.vals)]driver.Value{}
		}
	case issueLinks:
		for i := from; i < to; i++ {
			row := &r.links[i]
			row.hash, row.secret, row.capVals, row.linkVals = nil, nil, [len(row.capVals)]driver.Value{}, [len(row.linkVals)]driver.Value{}
		}
	case issueMessages:
		for i := from; i < to; i++ {
			row := &r.msgs.rows[i]
			row.content, row.vals = nil, [len(row.vals)]driver.Value{}
		}
	}
}

// Kinds of the rows of an issuance's pipeline.
const (
	issueVersions = iota
	issueLinks
	issueMessages
)

// issueSegment is a run of rows of one kind: rows [start, end) of the
// kind's, the pipeline's rows [row, row+end-start).
type issueSegment struct {
	kind       int
	start, end int
	row        int
	// after: a message is prepared once the pipeline's rows [0, after)
	// are (the versions the segment's messages name, and every one
	// before: Sign has returned for them); ready once they were seen.
	after int
	ready atomic.Bool
}

// issueGroup versions are a group (see issueRows).
const issueGroup = pipelineChunk

// linkGroupsAfter groups of versions follow the links (layout): some
// 16,000 versions and their messages, about 30 MB of pages, half the
// writer's cache (package sqlite).
const linkGroupsAfter = 64

// checkIssueBatch checks a batch before any database work and returns
// it ready to prepare (newIssueRows, then check).
func checkIssueBatch(b *muster.IssueBatch, k muster.Sealer, now time.Time) (issueRows, error) {
	r, err := newIssueRows(b, k, now)
	if err != nil {
		return issueRows{}, err
	}
	if err := r.check(); err != nil {
		return issueRows{}, err
	}
	return r, nil
}

// newIssueRows makes the rows of a batch, to be laid out and prepared,
// checking only its size. check checks the rest, what is cheap and
// needs the whole batch (an instruction twice, a version both revoked
// and superseded), while the pipeline prepares the rows (prepare checks
// what it can a row at a time): the approval's one core that would
// check them alone (0.2 s at 100,000 instructions) signs meanwhile. A
// row prepared that fails check is never written: the write does not
// begin.
func newIssueRows(b *muster.IssueBatch, k muster.Sealer, now time.Time) (issueRows, error) {
	if n := len(b.Issue) + len(b.Revoke); n > maxIssue {
		return issueRows{}, muster.Errorf(muster.EINVALID, "issue: %d instructions, more than %d in one issuance", n, maxIssue)
	}
	rows := make([]issueRow, len(b.Issue))
	for i := range b.Issue {
		rows[i].in = &b.Issue[i]
	}
	links := make([]linkRow, len(b.Links))
	for i := range links {
		links[i].l = &b.Links[i]
	}
	msgs, err := newMessageBatch(b.Messages, k, now)
	if err != nil {
		return issueRows{}, err
	}
	return issueRows{b: b, k: k, issue: rows, links: links, msgs: msgs}, nil
}

// check checks what newIssueRows did not. It reads of each instruction
// only what Sign does not write (not its token or digest), so it may run
// while the pipeline signs.
func (r *issueRows) check() error {
	b := r.b
	bad := func(format string, args ...any) error {
		return muster.Errorf(muster.EINVALID, "issue: "+format, args...)
	}
	if b.Plan == "" || badKey(b.Plan) || badKey(b.Basis) {
		return bad("plan %q: not a plan id", b.Plan)
	}
	if b.ApprovePlan != "" && b.ApprovePlan != b.Plan {
		return bad("the plan approved (%s) must be the plan issued (%s)", b.ApprovePlan, b.Plan)
	}
	series := make(map[string]bool, len(b.Issue))
	for i := range b.Issue {
		in := &b.Issue[i]
		what := instructionWhat{i, in.ID}
		switch {
		case in.Series == "" || muster.CheckText(in.Series, muster.MaxIDBytes) != nil || strings.ContainsAny(in.Series, ",\n\t"):
			return bad("%s: series %q: want 1 to %d bytes of text", what, in.Series, muster.MaxIDBytes)
		case in.Version < 1:
			return bad("%s: version %d: versions start at 1", what, in.Version)
		case in.ID != muster.InstructionID(in.Series, in.Version):
			return bad("%s: the id of version %d of %s is %s", what, in.Version, in.Series, muster.InstructionID(in.Series, in.Version))
		case in.Audience != muster.AudienceHousehold && in.Audience != muster.AudienceEscort:
			return bad("%s: audience %q is not %s or %s", what, in.Audience, muster.AudienceHousehold, muster.AudienceEscort)
		case in.Audience == muster.AudienceHousehold && (in.Household == "" || badKey(in.Household)):
			return bad("%s: a household's instruction without its household", what)
		case badKey(in.Group) || strings.Contains(in.Group, ","):
			return bad("%s: group %q", what, in.Group)
		case in.Plan != b.Plan:
			return bad("%s: built from plan %q, not the plan issued (%s)", what, in.Plan, b.Plan)
		case b.Sign == nil && badToken(in.Token):
			return bad("%s: a token of 1 to %d bytes is needed", what, maxTokenLen)
		case series[in.Series]: // (an id is its series and version: one series once, one id once)
			return bad("%s: its series is in the batch twice", what)
		}
		if in.Supersedes != "" {
			s, v, ok := muster.VersionOf(in.Supersedes)
			if !ok || s != in.Series || v >= in.Version {
				return bad("%s: it cannot supersede %q (an earlier version of %s)", what, in.Supersedes, in.Series)
			}
		}
		for _, ch := range in.Changes {
			if ch == "" || strings.ContainsAny(ch, ",\n") || len(ch) > 64 {
				return bad("%s: change %q: want a word", what, ch)
			}
		}
		series[in.Series] = true
	}
	revoked := map[string]bool{}
	for _, id := range b.Revoke {
		if _, _, ok := muster.VersionOf(id); !ok || badKey(id) || revoked[id] {
			return bad("revoke %q: not an instruction version id, or twice", id)
		}
		revoked[id] = true
	}
	for i := range b.Issue {
		if revoked[b.Issue[i].Supersedes] {
			return bad("%s is both revoked and superseded by %s", b.Issue[i].Supersedes, b.Issue[i].ID)
		}
	}
	linked := map[string]bool{}
	for i, l := range b.Links {
		if l.HouseholdID == "" || badKey(l.HouseholdID) || checkName("capability", l.CapabilityID) != nil || len(l.Secret) < 16 || len(l.Secret) > 128 || !validText(l.Secret) {
			return bad("link %d: want a household, a capability id and a secret of 16 to 128 characters", i)
		}
		if linked[l.HouseholdID] {
			return bad("link %d: household %s has two links in the batch", i, l.HouseholdID)
		}
		linked[l.HouseholdID] = true
	}
	return nil
}

// layout lays the rows out in segments (see issueRows), group versions
// a group. The messages of
// group g are those up to the last one that names a version of group g
// or an earlier one (a message naming no version of the batch waits for
// none); a message naming a later version than one after it moves that
// one to its own group: whatever the order of the messages, each is read
// after the version it names was signed, and the messages are inserted
// in their order.
func (r *issueRows) layout(group int) {
	group = max(group, 1)
	groups := max(1, (len(r.issue)+group-1)/group)
	// msgEnd[g]: the messages of groups up to g end there.
	msgEnd := make([]int, groups)
	byID := make(map[string]int, len(r.issue))
	for i := range r.issue {
		byID[r.issue[i].in.ID] = i
	}
	g := 0
	for j := range r.msgs.in {
		if i, ok := byID[r.msgs.in[j].InstructionID]; ok && i/group > g {
			for ; g < i/group; g++ {
				msgEnd[g] = j
			}
		}
	}
	for ; g < groups; g++ {
		msgEnd[g] = len(r.msgs.in)
	}
	versionsEnd := make([]int, groups) // the pipeline's row after group g's versions
	add := func(kind, start, end, after int) {
		if start == end {
			return
		}
		r.segs = append(r.segs, issueSegment{kind: kind, start: start, end: end, row: r.nrows, after: after})
		r.nrows += end - start
	}
	versions := func(g int) {
		add(issueVersions, g*group, min((g+1)*group, len(r.issue)), 0)
		versionsEnd[g] = r.nrows
	}
	messages := func(g int) {
		start := 0
		if g > 0 {
			start = msgEnd[g-1]
		}
		if start == msgEnd[g] {
			return
		}
		// A worker preparing a message waits for the versions before it,
		// which must be in chunks before its own (the workers take the
		// chunks in order): the messages begin a chunk after theirs.
		if first := (versionsEnd[g] + pipelineChunk - 1) / pipelineChunk * pipelineChunk; r.nrows < first {
			r.nrows = first
		}
		add(issueMessages, start, msgEnd[g], versionsEnd[g])
	}
	// The links go in before the last linkGroupsAfter groups, all
	// together. Inserted between the versions and the messages they cost
	// the writer half as much again (a capability's id and hash are
	// random: its B-trees' pages leave the writer's cache between two
	// groups). Inserted first, their pages left the cache for the log
	// while the versions were written, and some were written again before
	// the commit: SQLite then reads back and sums again every frame of the
	// log after the first it rewrote, at the commit, on one core (0.2 to
	// 0.25 s at 76,000 links: 100 capability pages rewritten, 22,000
	// frames summed again). Last, the writer inserted them alone while the
	// other core, done signing, idled. Near the end, what is written after
	// them fits in the writer's cache with them: they reach the log once,
	// by the commit, while the last versions are still being signed.
	links := func() { add(issueLinks, 0, len(r.links), 0) }
	linksAt := max(0, groups-linkGroupsAfter)
	for g := range groups {
		if g == linksAt {
			links()
		}
		versions(g)
		if g > 0 {
			messages(g - 1)
		}
	}
	messages(groups - 1)
}

func badToken(t string) bool { return t == "" || len(t) > maxTokenLen || !validText(t) }

// instructionWhat names an instruction in an error, made only for one.
type instructionWhat struct {
	i  int
	id string
}

func (w instructionWhat) String() string { return fmt.Sprintf("instruction %d (%q)", w.i, w.id) }

// prepare makes the pipeline's row ready to insert: an instruction's
// digest checked, its body encoded, it and its token sealed; a link's
// secret hashed and sealed; a message checked and sealed. Safe to call
// for different rows at once.
func (r *issueRows) prepare(row int) error {
	s := sort.Search(len(r.segs), func(s int) bool { return r.segs[s].row+r.segs[s].end-r.segs[s].start > row })
	if s == len(r.segs) || row < r.segs[s].row {
		return nil // padding
	}
	seg := &r.segs[s]
	i := seg.start + row - seg.row
	switch seg.kind {
	case issueVersions:
		row := &r.issue[i]
		in := row.in
		if r.b.Sign != nil {
			if err := r.b.Sign(i); err != nil {
				return err
			}
			if badToken(in.Token) {
				return muster.Errorf(muster.EINVALID, "issue: instruction %d (%q): a token of 1 to %d bytes is needed", i, in.ID, maxTokenLen)
			}
		}
		digest := muster.InstructionDigest(&in.Instruction)
		if in.Digest != "" && in.Digest != digest {
			return muster.Errorf(muster.EINVALID, "issue: instruction %d (%q): its digest does not match its content", i, in.ID)
		}
		// The body is only sealed: its buffer is used again (bodies of 795
		// to 1,057 bytes at BenchmarkInstructions100k, 116 MB the collector
		// scanned and freed an approval).
		buf := bodyBuffers.Get().(*[]byte)
		body, err := in.Instruction.AppendJSON((*buf)[:0])
		if err != nil {
			bodyBuffers.Put(buf)
			return muster.Errorf(muster.EINVALID, "issue: instruction %d (%q): %v", i, in.ID, err)
		}
		row.digest = digest
		row.body = r.k.Seal(body, instructionAAD(in.ID, "body"))
		*buf = body
		bodyBuffers.Put(buf)
		row.token = r.k.Seal([]byte(in.Token), instructionAAD(in.ID, "token"))
		row.vals = issueVals(row)
	case issueLinks:
		row := &r.links[i]
		l := row.l
		row.hash, row.secret = muster.TokenHash(l.Secret), r.k.Seal([]byte(l.Secret), linkAAD(l.HouseholdID, l.CapabilityID))
		row.capVals = [...]driver.Value{l.CapabilityID, l.HouseholdID, row.hash, micros(l.ExpiresAt)}
		row.linkVals = [...]driver.Value{l.HouseholdID, l.CapabilityID, row.secret}
	case issueMessages:
		// A message is read once the version it names is signed (Sign
		// renders the messages that carry one): the versions are in
		// chunks before this one, prepared by the workers before.
		if r.b.Sign != nil && !seg.ready.Load() {
			if err := r.p.waitAll(seg.after); err != nil {
				return err
			}
			seg.ready.Store(true)
		}
		return r.msgs.prepare(i)
	}
	return nil
}

// bodyBuffers hold the JSON of instruction bodies until sealed.
var bodyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1152); return &b }}

// IssueInstructions implements muster.Store.
func (c *Core) IssueInstructions(ctx context.Context, b muster.IssueBatch) (muster.IssueResult, error) {
	k, err := c.keyring()
	if err != nil {
		return muster.IssueResult{}, err
	}
	batch, err := newIssueRows(&b, k, c.now().UTC())
	if err != nil {
		return muster.IssueResult{}, err
	}
	batch.releaseInserted = c.d.GroupCommit
	if c.d.InterleaveIssue {
		batch.layout(issueGroup)
	} else {
		batch.layout(len(batch.issue)) // one group: the messages after every version
	}
	// The rows are prepared on every core while the writer, one core,
	// inserts those done: the writer's work and the rest overlap.
	p := startPipelineOn(runtime.GOMAXPROCS(0)-1, batch.nrows, batch.prepare, func(p *pipeline) { batch.p = p })
	defer p.stop()
	if err := batch.check(); err != nil {
		return muster.IssueResult{}, err
	}
	rows := batch.issue
	var res muster.IssueResult
	// Alone: its parents are checked below (checkIssueHouseholds,
	// checkMessageHouseholds), and SQLite then keeps no statement journal
	// for its inserts (Dialect.BulkForeignKeysOff).
	err = c.writeAlone(ctx, func(w *wtx) error {
		res = muster.IssueResult{Plan: b.Plan, IssuedAt: w.now}
		if err := w.issuePlan(&b); err != nil {
			return err
		}
		res.Approved = b.ApprovePlan != ""
		// The versions replaced leave "current" first: the partial unique
		// index allows one current version per series.
		now := micros(w.now)
		// (Each row by its index: the pipeline is still filling the rest
		// of its fields.)
		for i := range rows {
			in := rows[i].in
			if in.Supersedes == "" {
				continue
			}
			if err := w.changeStatus(in.Supersedes, muster.InstructionSuperseded, in.ID, now); err != nil {
				return err
			}
			res.Superseded++
		}
		for _, id := range b.Revoke {
			if err := w.changeStatus(id, muster.InstructionRevoked, "", now); err != nil {
				return err
			}
			res.Revoked++
		}
		if err := w.checkIssueHouseholds(rows, batch.links, batch.msgs.households); err != nil {
			return err
		}
		// Each segment once the pipeline has prepared it, in the order it
		// prepares them; a statement's rows (issueChunk, linkChunk,
		// enqueueChunk) may span segments.
		var versions, links, msgs int // inserted
		var q enqueuer
		insert := func(kind, end int, all bool) error {
			var n int
			var err error
			switch kind {
			case issueVersions:
				n, err = w.insertInstructions(rows[versions:end], all)
				batch.release(kind, versions, versions+n)
				versions += n
			case issueLinks:
				n, err = w.insertLinks(batch.links[links:end], all)
				batch.release(kind, links, links+n)
				links += n
			case issueMessages:
				n, err = q.insert(w, batch.msgs.rows[msgs:end], all)
				batch.release(kind, msgs, msgs+n)
				msgs += n
			}
			return err
		}
		for s := range batch.segs {
			seg := &batch.segs[s]
			if err := p.wait(w.ctx, seg.row+seg.end-seg.start); err != nil {
				return err
			}
			if err := insert(seg.kind, seg.end, false); err != nil {
				return err
			}
		}
		for _, kind := range []int{issueVersions, issueLinks, issueMessages} {
			if err := insert(kind, [...]int{len(rows), len(batch.links), len(batch.msgs.rows)}[kind], true); err != nil {
				return err
			}
		}
		res.Issued = len(rows)
		if len(batch.links) > 0 {
			w.recordLinks(batch.links)
		}
		res.Links = len(b.Links)
		q.finish(w, batch.msgs.rows)
		res.Enqueued, res.Duplicates = q.enqueued, q.duplicates
		w.record("instruction.issue", "plan:"+b.Plan, issueDetail(&b, &res))
		if res.Issued+res.Revoked > 0 {
			w.announce("instruction", "")
		}
		return nil
	})
	if err != nil {
		return muster.IssueResult{}, err
	}
	return res, nil
}

// issuePlan approves the batch's plan, or checks that it is current, and
// that the plan current before is the one the batch was built on.
func (w *wtx) issuePlan(b *muster.IssueBatch) error {
	cur, err := w.currentPlanID()
	if err != nil {
		return err
	}
	if b.ApprovePlan != "" {
		if cur != b.Basis {
			return muster.Errorf(muster.ECONFLICT, "issue: plan %s became current while plan %s's instructions were built (on %s): build them again", cur, b.Plan, orNone(b.Basis))
		}
		return w.approvePlan(b.ApprovePlan)
	}
	if cur != b.Plan {
		return muster.Errorf(muster.ECONFLICT, "issue: plan %s is not current (the current plan is %s): instructions come from the current plan only", b.Plan, orNone(cur))
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// changeStatus moves a current version to status, or fails with ECONFLICT.
func (w *wtx) changeStatus(id, status, by string, now int64) error {
	res, err := w.exec(`UPDATE instructions SET status = ?, superseded_by = ?, changed_at = ? WHERE id = ? AND status = ?`,
		status, by, now, id, muster.InstructionCurrent)
	if err != nil {
		return fmt.Errorf("instruction %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("instruction %s: %w", id, err)
	}
	if n != 1 {
		return muster.Errorf(muster.ECONFLICT, "issue: instruction %s is not current (superseded, revoked or never issued) any more: build the issuance again", id)
	}
	return nil
}

// issueQueries are the inserts of an issuance, by the rows a statement.
type issueQueries struct {
	instructions, capabilities, links map[int]string
}

// newIssueQueries makes an issuance's inserts with the verb
// Dialect.BulkInsert.
func newIssueQueries(verb string) issueQueries {
	q := issueQueries{instructions: map[int]string{}, capabilities: map[int]string{}, links: map[int]string{}}
	for _, n := range []int{1, issueChunk} {
		// A new version is current, superseded by none and unchanged:
		// written in the statement, not bound.
		row := "(" + placeholders(7) + ", '', '" + muster.InstructionCurrent + "', " + placeholders(3) + ", 0, " + placeholders(4) + "), "
		q.instructions[n] = verb + ` INTO instructions (` + instructionColumns + `, ` + instructionSealedColumns + `) VALUES ` +
			strings.TrimSuffix(strings.Repeat(row, n), ", ")
	}
	for _, n := range []int{1, linkChunk} {
		rows := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, 0), ", n), ", ")
		q.capabilities[n] = verb + ` INTO capabilities (id, household_id, hash, created_at, expires_at, revoked_at) VALUES ` + rows
		q.links[n] = verb + ` INTO instruction_links (household_id, capability_id, secret_enc, created_at) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?), ", n), ", ") +
			` ON CONFLICT (household_id) DO UPDATE SET capability_id = excluded.capability_id, secret_enc = excluded.secret_enc, created_at = excluded.created_at`
	}
	return q
}

// checkIssueHouseholds fails unless the households of the versions, of
// the links and of the messages exist: they name the same households,
// looked up together, once (missingHouseholds).
func (w *wtx) checkIssueHouseholds(rows []issueRow, links []linkRow, messages []string) error {
	ids := make([]string, 0, len(rows)+len(links)+len(messages))
	for i := range rows { // by index: the pipeline is still filling the rows
		if in := rows[i].in; in.Audience == muster.AudienceHousehold {
			ids = append(ids, in.Household)
		}
	}
	versions := len(ids)
	for i := range links {
		ids = append(ids, links[i].l.HouseholdID)
	}
	ids = append(ids, messages...)
	missing, err := w.missingHouseholds(ids)
	if err != nil || len(missing) == 0 {
		return err
	}
	// Said as each kind's own check says it, the versions' first.
	gone := func(h string) bool { _, ok := slices.BinarySearch(missing, h); return ok }
	for i, h := range ids {
		if !gone(h) {
			continue
		}
		switch {
		case i < versions:
			return muster.Errorf(muster.EINVALID, "issue: household %q does not exist", h)
		case i < versions+len(links):
			return muster.Errorf(muster.EINVALID, "issue: link for household %q, which does not exist", h)
		default:
			return muster.Errorf(muster.EINVALID, "enqueue: household %q does not exist", h)
		}
	}
	return nil
}

// issueVals are the arguments of version row r, once prepared.
func issueVals(r *issueRow) [14]driver.Value {
	in := r.in
	household := in.Household
	if in.Audience != muster.AudienceHousehold {
		household = ""
	}
	return [...]driver.Value{in.ID, in.Series, int64(in.Version), in.Audience, household, in.Group, in.Supersedes, in.Plan,
		micros(in.IssuedAt), micros(in.ExpiresAt), strings.Join(in.Changes, ","), r.digest, r.token, r.body}
}

// insertInstructions inserts rows prepared, issueChunk a statement; the
// rows of an incomplete last statement are left for the next call unless
// all. It returns how many rows it inserted.
func (w *wtx) insertInstructions(rows []issueRow, all bool) (int, error) {
	// A version that conflicts fails either way alike.
	failed := func(err error) error {
		if ce := w.c.conflict(err, "issue: an instruction of this issuance was issued meanwhile, or its series has a current version it does not supersede: build the issuance again"); ce != err {
			return ce
		}
		return fmt.Errorf("issue: %w", err)
	}
	if len(rows) > 0 && w.copies() {
		// All of them, copied: a new version is current, superseded by
		// none and unchanged (as the statements below write it).
		copied := make([][]any, len(rows))
		for i := range rows {
			v := &rows[i].vals
			copied[i] = []any{v[0], v[1], v[2], v[3], v[4], v[5], v[6], "", muster.InstructionCurrent, v[7], v[8], v[9], int64(0), v[10], v[11], v[12], v[13]}
		}
		if _, err := w.copyRows(w.ctx, "instructions", instructionCopyColumns, copied); err != nil {
			return 0, failed(err)
		}
		return len(rows), nil
	}
	args := make(bulkArgs, 0, 14*issueChunk)
	start := 0
	for start < len(rows) {
		n := statementRows(len(rows)-start, issueChunk, all)
		if n == 0 {
			break
		}
		args = args[:0]
		for i := range rows[start : start+n] {
			args = args.add(rows[start+i].vals[:]...)
		}
		if _, err := w.execBulk(w.ctx, w.c.issueInsert.instructions[n], args); err != nil {
			return start, failed(err)
		}
		start += n
	}
	return start, nil
}

// insertLinks makes households' instruction links: a capability (its
// hash) and the sealed secret, replacing a link the household had. Rows
// go linkChunk a statement (see insertOutboxQueries); the rows of an
// incomplete last statement are left for the next call unless all. It
// returns how many links it made.
func (w *wtx) insertLinks(links []linkRow, all bool) (int, error) {
	now := driver.Value(micros(w.now)) // (one interface for all)
	capArgs := make(bulkArgs, 0, 5*linkChunk)
	linkArgs := make(bulkArgs, 0, 4*linkChunk)
	start := 0
	for start < len(links) {
		n := statementRows(len(links)-start, linkChunk, all)
		if n == 0 {
			break
		}
		capArgs, linkArgs = capArgs[:0], linkArgs[:0]
		for i := range links[start : start+n] {
			r := &links[start+i]
			capArgs = capArgs.add(r.capVals[0], r.capVals[1], r.capVals[2], now, r.capVals[3])
			linkArgs = linkArgs.add(r.linkVals[0], r.linkVals[1], r.linkVals[2], now)
		}
		if _, err := w.execBulk(w.ctx, w.c.issueInsert.capabilities[n], capArgs); err != nil {
			return start, w.c.conflict(err, "issue: a capability of this issuance exists already")
		}
		if _, err := w.execBulk(w.ctx, w.c.issueInsert.links[n], linkArgs); err != nil {
			return start, fmt.Errorf("issue: links: %w", err)
		}
		start += n
	}
	return start, nil
}

// recordLinks audits and announces the links made.
func (w *wtx) recordLinks(links []linkRow) {
	hs := make([]string, len(links))
	for i := range links {
		hs[i] = links[i].l.HouseholdID
	}
	w.record("capability.create", "households", fmt.Sprintf("%d instruction links: %s", len(links), firstIDs(hs, 20)))
	w.announce("capability", "")
}

// linkChunk is how many links one statement inserts.
const linkChunk = 100

func linkAAD(household, capability string) string {
	return "instruction-link:" + household + ":" + capability
}

func firstIDs(ids []string, n int) string {
	if len(ids) <= n {
		return strings.Join(ids, " ")
	}
	return strings.Join(ids[:n], " ") + fmt.Sprintf(" and %d more", len(ids)-n)
}

// issueDetail says, for the audit log, what an issuance did: counts and
// ids, no content.
func issueDetail(b *muster.IssueBatch, r *muster.IssueResult) string {
	issued := make([]string, len(b.Issue))
	for i, in := range b.Issue {
		issued[i] = in.ID
	}
	s := fmt.Sprintf("issued=%d superseded=%d revoked=%d links=%d enqueued=%d", r.Issued, r.Superseded, r.Revoked, r.Links, r.Enqueued)
	if b.ApprovePlan != "" {
		s += " approved with the plan"
	}
	if len(issued) > 0 {
		s += "; issued: " + firstIDs(issued, 20)
	}
	if len(b.Revoke) > 0 {
		s += "; revoked: " + firstIDs(b.Revoke, 20)
	}
	return s
}

// GetInstruction implements muster.Store.
func (c *Core) GetInstruction(ctx context.Context, id string) (muster.IssuedInstruction, error) {
	if badKey(id) {
		return muster.IssuedInstruction{}, muster.Errorf(muster.ENOTFOUND, "instruction %q not found", id)
	}
	return c.readInstruction(ctx, `SELECT `+instructionColumns+`, `+instructionSealedColumns+` FROM instructions WHERE id = ?`, id)
}

// CurrentInstruction implements muster.Store.
func (c *Core) CurrentInstruction(ctx context.Context, householdID string) (muster.IssuedInstruction, error) {
	if badKey(householdID) || householdID == "" {
		return muster.IssuedInstruction{}, muster.Errorf(muster.ENOTFOUND, "household %q has no current instruction", householdID)
	}
	return c.readInstruction(ctx, `SELECT `+instructionColumns+`, `+instructionSealedColumns+` FROM instructions
		WHERE household_id = ? AND audience = ? AND status = ?`, householdID, muster.AudienceHousehold, muster.InstructionCurrent)
}

func (c *Core) readInstruction(ctx context.Context, query string, args ...any) (muster.IssuedInstruction, error) {
	k, err := c.keyring()
	if err != nil {
		return muster.IssuedInstruction{}, err
	}
	var r instructionRow
	err = c.reader().QueryRowContext(ctx, query, args...).Scan(r.scanArgs(true)...)
	if errors.Is(err, sql.ErrNoRows) {
		return muster.IssuedInstruction{}, muster.Errorf(muster.ENOTFOUND, "instruction %v not found", args[0])
	}
	if err != nil {
		return muster.IssuedInstruction{}, fmt.Errorf("instruction %v: %w", args[0], err)
	}
	return r.open(k)
}

// ListInstructions implements muster.Store.
func (c *Core) ListInstructions(ctx context.Context, f muster.InstructionFilter, content bool) ([]muster.IssuedInstruction, string, error) {
	if f.Status != "" && !slices.Contains([]string{muster.InstructionCurrent, muster.InstructionSuperseded, muster.InstructionRevoked}, f.Status) {
		return nil, "", muster.Errorf(muster.EINVALID, "status %q is not current, superseded or revoked", f.Status)
	}
	if f.Audience != "" && f.Audience != muster.AudienceHousehold && f.Audience != muster.AudienceEscort {
		return nil, "", muster.Errorf(muster.EINVALID, "audience %q is not household or escort", f.Audience)
	}
	if badKey(f.HouseholdID) || badKey(f.Series) || badKey(f.Plan) || badKey(f.AfterID) || f.Limit < 0 {
		return nil, "", muster.Errorf(muster.EINVALID, "instruction filter: not an id, or a negative limit")
	}
	var k muster.Sealer
	if content {
		var err error
		if k, err = c.keyring(); err != nil {
			return nil, "", err
		}
	}
	limit := f.Limit
	if limit == 0 {
		limit = 1000
	}
	limit = min(limit, 100_000)
	var w where
	w.eq("status", f.Status)
	w.eq("series", f.Series)
	w.eq("audience", f.Audience)
	w.eq("household_id", f.HouseholdID)
	w.eq("plan_id", f.Plan)
	w.add("id > ?", f.AfterID)
	args := append(w.args, limit+1)
	cols := instructionColumns
	if content {
		cols += ", " + instructionSealedColumns
	}
	rows, err := c.reader().QueryContext(ctx, `SELECT `+cols+` FROM instructions WHERE `+w.String()+` ORDER BY id LIMIT ?`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list instructions: %w", err)
	}
	defer rows.Close()
	var out []muster.IssuedInstruction
	for rows.Next() {
		var r instructionRow
		if err := rows.Scan(r.scanArgs(content)...); err != nil {
			return nil, "", fmt.Errorf("list instructions: %w", err)
		}
		in, err := r.open(k)
		if err != nil {
			return nil, "", err
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list instructions: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// InstructionStatuses implements muster.Store.
func (c *Core) InstructionStatuses(ctx context.Context) (map[string]muster.InstructionStatus, time.Time, error) {
	asOf := c.now().UTC()
	rows, err := c.reader().QueryContext(ctx, `SELECT series, version, status FROM instructions ORDER BY series, version`)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("instruction statuses: %w", err)
	}
	defer rows.Close()
	out := map[string]muster.InstructionStatus{}
	for rows.Next() {
		var series, status string
		var v int
		if err := rows.Scan(&series, &v, &status); err != nil {
			return nil, time.Time{}, fmt.Errorf("instruction statuses: %w", err)
		}
		st := out[series]
		st.Latest = max(st.Latest, v)
		switch status {
		case muster.InstructionCurrent:
			st.Current = v
		case muster.InstructionRevoked:
			st.Revoked = append(st.Revoked, v)
		}
		out[series] = st
	}
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, fmt.Errorf("instruction statuses: %w", err)
	}
	return out, asOf, nil
}

// InstructionLinks implements muster.Store.
func (c *Core) InstructionLinks(ctx context.Context, householdIDs []string, now time.Time) (map[string]string, error) {
	k, err := c.keyring()
	if err != nil {
		return nil, err
	}
	if now.IsZero() {
		now = c.now()
	}
	out := map[string]string{}
	query := `SELECT l.household_id, l.capability_id, l.secret_enc, c.expires_at, c.revoked_at FROM instruction_links l
		JOIN capabilities c ON c.id = l.capability_id WHERE l.household_id IN (` + placeholders(prefetchChunk) + `)`
	for start := 0; start < len(householdIDs); start += prefetchChunk {
		rows, err := c.reader().QueryContext(ctx, query, padded(householdIDs, start)...)
		if err != nil {
			return nil, fmt.Errorf("instruction links: %w", err)
		}
		for rows.Next() {
			var hh, capID string
			var secret []byte
			var expires, revoked int64
			if err := rows.Scan(&hh, &capID, &secret, &expires, &revoked); err != nil {
				rows.Close()
				return nil, fmt.Errorf("instruction links: %w", err)
			}
			// A link that ends within InstructionLinkRenew is not handed
			// out again: the issuer makes a new one for the new message.
			if revoked != 0 || (expires != 0 && expires <= now.Add(muster.InstructionLinkRenew).UnixMicro()) {
				continue
			}
			s, err := k.Open(secret, linkAAD(hh, capID))
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("instruction link of %s: %w", hh, err)
			}
			out[hh] = string(s)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("instruction links: %w", err)
		}
	}
	return out, nil
}
