package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/muster-evac/muster"
)

// The outbox (docs/delivery.md). A message is stored queued; a worker
// leases a batch of due messages in one statement (PostgreSQL: the rows
// are picked FOR UPDATE SKIP LOCKED, so concurrent instances take disjoint
// batches without waiting for each other; SQLite: the one writer makes
// the UPDATE ... RETURNING atomic), sends each and completes it under its
// lease. Recipient, subject, bodies and link are sealed together, one
// blob a message (content_enc, migration 0011: outboxContent), with the
// aad "message:<id>:content"; messages queued before it have each field
// sealed in a column of its own with the aad "message:<id>:<field>". The
// rest is clear and free of personal data.

const (
	// maxLease bounds one lease: a batch, and how long it may be held.
	maxLeaseBatch = 500
	maxLeaseFor   = time.Hour
	// maxEnqueue bounds one enqueue transaction.
	maxEnqueue = 200_000
	// enqueueChunk rows are inserted by one statement (see insertOutboxQueries).
	enqueueChunk = 50
)

const outboxColumns = `id, idempotency_key, household_id, instruction_id, instruction_version, channel, ack_code, status,
	attempts, next_attempt_at, lease_owner, lease_until, last_error, provider_id, created_at, updated_at, sent_at`

const outboxSealedColumns = `recipient_enc, subject_enc, body_enc, html_enc, content_enc`

func messageAAD(id, field string) string { return "message:" + id + ":" + field }

// messageIDs makes the ids of a batch of messages, one after another:
// "M" and muster.IDRange's (ids that sort by creation time across
// instances, so paging by id is paging by age, and that fill the outbox's
// primary key and pending index at their right edge).
func messageIDs(now time.Time) func() string { return newMessageIDRange(now).Seq() }

// newMessageIDRange makes the ids of one batch of messages: ID(i) is the
// i-th, made on any goroutine (the messages of an issuance are sealed on
// every core, each with its id in its aad).
func newMessageIDRange(now time.Time) muster.IDRange { return muster.NewIDRange("M", now) }

type outboxRow struct {
	m                                 muster.OutboxMessage
	next, leaseUntil, created, sentAt int64
	updated                           int64
	recipient, subject, body, html    []byte
	content                           []byte
}

func (r *outboxRow) scanArgs(sealed bool) []any {
	args := []any{&r.m.ID, &r.m.IdempotencyKey, &r.m.HouseholdID, &r.m.InstructionID, &r.m.InstructionVersion, &r.m.Channel,
		&r.m.AckCode, &r.m.Status, &r.m.Attempts, &r.next, &r.m.LeaseOwner, &r.leaseUntil, &r.m.LastError, &r.m.ProviderMessageID,
		&r.created, &r.updated, &r.sentAt}
	if sealed {
		args = append(args, &r.recipient, &r.subject, &r.body, &r.html, &r.content)
	}
	return args
}

func (r *outboxRow) message() muster.OutboxMessage {
	m := r.m
	m.NextAttemptAt = fromMicros(r.next)
	m.LeaseExpiresAt = fromMicros(r.leaseUntil)
	m.CreatedAt = fromMicros(r.created)
	m.UpdatedAt = fromMicros(r.updated)
	m.SentAt = fromMicros(r.sentAt)
	return m
}

// open returns the message with its sealed fields opened.
func (r *outboxRow) open(k muster.Sealer) (muster.OutboxMessage, error) {
	m := r.message()
	if len(r.content) > 0 {
		pt, err := k.Open(r.content, messageAAD(m.ID, "content"))
		if err != nil {
			return m, fmt.Errorf("message %s: open: %w", m.ID, err)
		}
		if err := readOutboxContent(pt, &m); err != nil {
			return m, fmt.Errorf("message %s: %w", m.ID, err)
		}
		return m, nil
	}
	// Queued before migration 0011: a sealed column a field.
	for _, f := range []struct {
		name string
		ct   []byte
		to   *string
	}{{"recipient", r.recipient, &m.Recipient}, {"subject", r.subject, &m.Subject}, {"body", r.body, &m.Body}, {"html", r.html, &m.BodyHTML}} {
		pt, err := k.Open(f.ct, messageAAD(m.ID, f.name))
		if err != nil {
			return m, fmt.Errorf("message %s: open %s: %w", m.ID, f.name, err)
		}
		*f.to = string(pt)
	}
	return m, nil
}

// outboxContentV1 starts the plaintext of content_enc.
const outboxContentV1 = 1

// outboxContent is what content_enc seals: a format byte, then the
// recipient, subject, body, HTML body and link, each its length (uvarint)
// and its bytes. One seal a message instead of one a field: sealing is
// most of what queueing 160,000 messages costs besides the insert, and
// the fields are sealed as tightly together as apart (one aad binds them
// to the message's id).
func outboxContent(m *muster.OutboxMessage) []byte {
	fields := [...]string{m.Recipient, m.Subject, m.Body, m.BodyHTML, m.Link}
	n := 1
	for _, f := range fields {
		n += binary.MaxVarintLen32 + len(f)
	}
	b := make([]byte, 1, n)
	b[0] = outboxContentV1
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

// readOutboxContent fills m's sealed fields from outboxContent's bytes.
func readOutboxContent(b []byte, m *muster.OutboxMessage) error {
	if len(b) == 0 || b[0] != outboxContentV1 {
		return errors.New("its content is not in a format this version reads")
	}
	b = b[1:]
	for _, to := range [...]*string{&m.Recipient, &m.Subject, &m.Body, &m.BodyHTML, &m.Link} {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return errors.New("its content is cut short")
		}
		*to = string(b[k : k+int(n)])
		b = b[k+int(n):]
	}
	if len(b) != 0 {
		return errors.New("its content has bytes after its fields")
	}
	return nil
}

// checkMessage returns why m cannot be queued, naming the field, or nil.
func checkMessage(m *muster.OutboxMessage) error {
	bad := func(field, format string, args ...any) error {
		return muster.Errorf(muster.EINVALID, "%s: %s", field, fmt.Sprintf(format, args...))
	}
	if m.HouseholdID == "" || len(m.HouseholdID) > maxIDLen || !validText(m.HouseholdID) {
		return bad("household_id", "%q: want 1 to %d bytes", m.HouseholdID, maxIDLen)
	}
	if m.InstructionID == "" || muster.CheckText(m.InstructionID, muster.MaxIDBytes) != nil || strings.ContainsAny(m.InstructionID, "\n\t") {
		return bad("instruction_id", "%q: want 1 to %d bytes of text on one line", m.InstructionID, muster.MaxIDBytes)
	}
	if m.InstructionVersion < 0 {
		return bad("instruction_version", "%d is negative", m.InstructionVersion)
	}
	if !slices.Contains(muster.Channels, m.Channel) {
		return bad("channel", "%q is not one of %s", m.Channel, strings.Join(muster.Channels, ", "))
	}
	if m.IdempotencyKey != "" && m.IdempotencyKey != muster.MessageKey(m.HouseholdID, m.InstructionID, m.InstructionVersion, m.Channel) {
		// The outbox knows a message by what it carries to whom (its
		// unique index, migration 0014); a key of the caller's would
		// let two messages share a key, and the provider drop one.
		return bad("idempotency_key", "it is muster.MessageKey of the household, instruction, version and channel: give none, or that one")
	}
	if err := muster.CheckRecipient(m.Channel, m.Recipient); err != nil {
		return bad("recipient", "%v", err)
	}
	if err := muster.CheckText(m.Subject, muster.MaxMessageSubject); err != nil || strings.ContainsAny(m.Subject, "\n\t") {
		return bad("subject", "want one line of at most %d bytes of text", muster.MaxMessageSubject)
	}
	if m.Link != "" {
		// Rendered when it is sent, from the instruction it names.
		switch {
		case m.Channel != muster.ChannelEmail && m.Channel != muster.ChannelWebhook:
			return bad("link", "only an e-mail or a webhook is rendered when it is sent; an %s is queued rendered", m.Channel)
		case m.InstructionVersion < 1 || strings.HasPrefix(m.InstructionID, muster.AdvisoryMessagePrefix):
			return bad("link", "only an instruction's message is rendered when it is sent (version %d of %s)", m.InstructionVersion, m.InstructionID)
		case m.Subject != "" || m.Body != "" || m.BodyHTML != "":
			return bad("link", "a message rendered when it is sent is queued without subject and bodies")
		case muster.CheckText(m.Link, muster.MaxMessageLink) != nil || strings.ContainsAny(m.Link, " \n\t"):
			return bad("link", "want one line of at most %d bytes of text", muster.MaxMessageLink)
		}
		if m.AckCode != "" && !validAckCode(m.AckCode) {
			return bad("ack_code", "want 4 to 12 characters of A-Z 0-9")
		}
		return nil
	}
	if err := checkBody(m.Body); err != nil {
		return bad("body", "%v", err)
	}
	if err := checkBody(m.BodyHTML); err != nil {
		return bad("body_html", "%v", err)
	}
	if m.Body == "" && m.BodyHTML == "" {
		return bad("body", "empty: a message must say something")
	}
	if m.BodyHTML != "" && m.Channel != muster.ChannelEmail {
		return bad("body_html", "only e-mail carries HTML")
	}
	if m.AckCode != "" && !validAckCode(m.AckCode) {
		return bad("ack_code", "want 4 to 12 characters of A-Z 0-9")
	}
	return nil
}

func validKey(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func validAckCode(s string) bool {
	if len(s) < 4 || len(s) > 12 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func checkBody(s string) error {
	if len(s) > muster.MaxMessageBody {
		return fmt.Errorf("is %d bytes long, more than %d", len(s), muster.MaxMessageBody)
	}
	// Text with line breaks (CR LF included) and tabs, no other controls.
	return muster.CheckText(strings.ReplaceAll(s, "\r\n", "\n"), muster.MaxMessageBody)
}

// EnqueueMessages implements muster.Store.
func (c *Core) EnqueueMessages(ctx context.Context, ms []muster.OutboxMessage) (enqueued, duplicates int, err error) {
	if len(ms) == 0 {
		return 0, 0, nil
	}
	k, err := c.keyring()
	if err != nil {
		return 0, 0, err
	}
	b, err := newMessageBatch(ms, k, c.now().UTC())
	if err != nil {
		return 0, 0, err
	}
	p := startPipeline(len(ms), b.prepare)
	defer p.stop()
	if err := p.wait(ctx, len(ms)); err != nil {
		return 0, 0, err
	}
	err = c.write(ctx, func(w *wtx) error {
		enqueued, duplicates, err = w.enqueue(b.rows, b.households)
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	return enqueued, duplicates, nil
}

// queuedMessage is a message ready to insert: its id made and its
// content sealed.
type queuedMessage struct {
	// m is the message as given, not copied (an issuance queues 120,000
	// of half a kilobyte) nor changed: the idempotency key made for it,
	// when it has none, is in vals.
	m       *muster.OutboxMessage
	id      string
	content []byte
	// vals are its arguments but the bodies of the old format and the
	// times (as issueRow.vals).
	vals [8]driver.Value
}

// messageBatch is a batch of messages for the outbox being made ready
// to insert: newMessageBatch lists their households; prepare(i) checks
// message i, fills in its idempotency key if left empty, gives it its id
// and seals its content, on every core (pipeline) before or while the
// write that queues them runs.
type messageBatch struct {
	in         []muster.OutboxMessage
	k          muster.Sealer
	rows       []queuedMessage
	households []string // each once
	ids        muster.IDRange
}

func newMessageBatch(ms []muster.OutboxMessage, k muster.Sealer, now time.Time) (*messageBatch, error) {
	if len(ms) > maxEnqueue {
		return nil, muster.Errorf(muster.EINVALID, "enqueue: %d messages, more than %d in one batch", len(ms), maxEnqueue)
	}
	b := &messageBatch{in: ms, k: k, rows: make([]queuedMessage, len(ms)), ids: newMessageIDRange(now)}
	seen := map[string]bool{}
	for i := range b.rows {
		if h := ms[i].HouseholdID; !seen[h] {
			seen[h] = true
			b.households = append(b.households, h)
		}
	}
	return b, nil
}

func (b *messageBatch) prepare(i int) error {
	m := &b.in[i]
	if err := checkMessage(m); err != nil {
		return muster.Errorf(muster.EINVALID, "enqueue: message %d (household %q, %s): %v", i, m.HouseholdID, m.Channel, err)
	}
	key := m.IdempotencyKey
	if key == "" {
		key = muster.MessageKey(m.HouseholdID, m.InstructionID, m.InstructionVersion, m.Channel)
	}
	r := &b.rows[i]
	r.m, r.id = m, b.ids.ID(i)
	r.content = b.k.Seal(outboxContent(m), messageAAD(r.id, "content"))
	r.vals = [...]driver.Value{r.id, key, m.HouseholdID, m.InstructionID, int64(m.InstructionVersion), m.Channel, r.content, m.AckCode}
	return nil
}

// enqueue stores messages prepared (messageBatch) in w's transaction:
// the outbox's part of any transaction that also queues what it sends
// (an issuance, an advisory). A message whose idempotency key is in the
// outbox already is a duplicate, not stored. Audited and announced when
// something was queued.
func (w *wtx) enqueue(rows []queuedMessage, households []string) (enqueued, duplicates int, err error) {
	if len(rows) == 0 {
		return 0, 0, nil
	}
	if err := w.checkMessageHouseholds(households); err != nil {
		return 0, 0, err
	}
	var q enqueuer
	if _, err := q.insert(w, rows, true); err != nil {
		return 0, 0, err
	}
	q.finish(w, rows)
	return q.enqueued, q.duplicates, nil
}

// checkMessageHouseholds fails unless every one of households exists.
func (w *wtx) checkMessageHouseholds(households []string) error {
	known, err := w.existingHouseholds(households)
	if err != nil {
		return err
	}
	for _, id := range households {
		if !known[id] {
			return muster.Errorf(muster.EINVALID, "enqueue: household %q does not exist", id)
		}
	}
	return nil
}

// enqueuer inserts a batch of messages a part at a time (an issuance
// inserts each part once the pipeline has sealed it) and counts them.
type enqueuer struct {
	enqueued, duplicates int
	args                 bulkArgs
}

// insert inserts rows enqueueChunk a statement; the rows of an
// incomplete last statement are left for the next call unless all, and
// insert returns how many rows it inserted.
func (q *enqueuer) insert(w *wtx, rows []queuedMessage, all bool) (int, error) {
	if len(rows) > 0 && w.copies() {
		return q.copyIn(w, rows)
	}
	if q.args == nil {
		q.args = make(bulkArgs, 0, 15*enqueueChunk)
	}
	now := driver.Value(micros(w.now)) // (one interface for all)
	bindEmpty := w.c.d.EmptyBytes == ""
	start := 0
	for start < len(rows) {
		n := statementRows(len(rows)-start, enqueueChunk, all)
		if n == 0 {
			break
		}
		args := q.args[:0]
		for i := range rows[start : start+n] {
			v := &rows[start+i].vals
			args = args.add(v[:6]...)
			if bindEmpty {
				args = args.add(noBytesValue, noBytesValue, noBytesValue, noBytesValue)
			}
			args = args.add(v[6], v[7], now, now, now)
		}
		added, err := w.execBulk(w.ctx, w.c.outboxInsert[n], args)
		if err != nil {
			return start, fmt.Errorf("enqueue: %w", err)
		}
		q.enqueued += int(added)
		q.duplicates += n - int(added)
		start += n
	}
	return start, nil
}

// outboxCopyColumns are the columns a new message is copied with
// (copyIn).
var outboxCopyColumns = columnNames(outboxColumnsInsert)

// copyIn queues rows by the dialect's CopyRows: into a temporary table
// of the transaction, then into the outbox by one statement that skips
// the duplicates (a copy cannot).
func (q *enqueuer) copyIn(w *wtx, rows []queuedMessage) (int, error) {
	if _, err := w.exec(`CREATE TEMPORARY TABLE IF NOT EXISTS outbox_in (LIKE outbox) ON COMMIT DELETE ROWS`); err != nil {
		return 0, fmt.Errorf("enqueue: %w", err)
	}
	now := micros(w.now)
	copied := make([][]any, len(rows))
	for i := range rows {
		v := &rows[i].vals
		copied[i] = []any{v[0], v[1], v[2], v[3], v[4], v[5], noBytes, noBytes, noBytes, noBytes, v[6], v[7],
			muster.MessageQueued, int64(0), now, "", int64(0), "", "", now, now, int64(0)}
	}
	if _, err := w.copyRows(w.ctx, "outbox_in", outboxCopyColumns, copied); err != nil {
		return 0, fmt.Errorf("enqueue: %w", err)
	}
	res, err := w.exec(`INSERT INTO outbox (` + outboxColumnsInsert + `) SELECT ` + outboxColumnsInsert + ` FROM outbox_in
		ON CONFLICT (household_id, instruction_id, instruction_version, channel) DO NOTHING`)
	if err != nil {
		return 0, fmt.Errorf("enqueue: %w", err)
	}
	added, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("enqueue: %w", err)
	}
	if _, err := w.exec(`TRUNCATE outbox_in`); err != nil {
		return 0, fmt.Errorf("enqueue: %w", err)
	}
	q.enqueued += int(added)
	q.duplicates += len(rows) - int(added)
	return len(rows), nil
}

// finish audits and announces the batch rows, once every part is in.
func (q *enqueuer) finish(w *wtx, rows []queuedMessage) {
	if q.enqueued > 0 {
		w.record("outbox.enqueue", "outbox", enqueueDetail(q.enqueued, q.duplicates, rows))
		w.announce("outbox", "")
	}
}

// Bulk writes (an issuance, messages queued by the thousand) insert
// enqueueChunk, issueChunk or linkChunk rows a statement, on both
// engines. On SQLite a statement of several rows costs a statement
// journal (a copy of each page it changes that the transaction had
// changed before, so that it can undo the statement alone): spilled to a
// temporary file past 64 KiB, it cost more than the statements it saved
// (3.4 against 2.6 CPU-seconds on 100,000 messages), and SQLite wrote one
// row a statement. The writer now keeps it in memory (temp_store=MEMORY,
// package sqlite), and a bulk write touches a few pages a statement, at
// its right edge: fifty rows a statement spare most of what a row cost
// (binding, stepping and resetting a statement through database/sql).
// PostgreSQL saves a round trip a row.
//
// What every new message starts with is written in the statement, not
// bound: binding is a good part of what a row costs. That includes the
// four empty columns of the format before content_enc where the dialect
// has a literal for an empty byte string (Dialect.EmptyBytes).
func insertOutboxQueries(verb, emptyBytes string) map[int]string {
	old := placeholders(4)
	if emptyBytes != "" {
		old = strings.Repeat(emptyBytes+", ", 3) + emptyBytes
	}
	qs := map[int]string{}
	for _, n := range []int{1, enqueueChunk} {
		row := "(" + placeholders(6) + ", " + old + ", " + placeholders(2) + ", '" + muster.MessageQueued + "', 0, ?, '', 0, '', '', ?, ?, 0), "
		qs[n] = verb + ` INTO outbox (` + outboxColumnsInsert + `) VALUES ` +
			strings.TrimSuffix(strings.Repeat(row, n), ", ") + ` ON CONFLICT (household_id, instruction_id, instruction_version, channel) DO NOTHING`
	}
	return qs
}

const outboxColumnsInsert = `id, idempotency_key, household_id, instruction_id, instruction_version, channel,
	recipient_enc, subject_enc, body_enc, html_enc, content_enc, ack_code, status, attempts, next_attempt_at, lease_owner, lease_until,
	last_error, provider_id, created_at, updated_at, sent_at`

// noBytes fills the columns of a field a column (recipient_enc, ...)
// in rows whose content is sealed whole: empty, not NULL.
var noBytes = []byte{}

// noBytesValue is noBytes as an argument, made once.
var noBytesValue driver.Value = noBytes

// enqueueDetail says, for the audit log, what a batch held: counts by
// channel and the instructions, never a recipient.
func enqueueDetail(enqueued, duplicates int, rows []queuedMessage) string {
	byChannel := map[string]int{}
	instr := map[string]bool{}
	var instrs []string
	for i := range rows {
		m := rows[i].m
		byChannel[m.Channel]++
		key := m.InstructionID + " v" + strconv.Itoa(m.InstructionVersion)
		if !instr[key] && len(instrs) < 20 {
			instr[key] = true
			instrs = append(instrs, key)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "enqueued=%d duplicates=%d", enqueued, duplicates)
	for _, ch := range muster.Channels {
		if byChannel[ch] > 0 {
			fmt.Fprintf(&b, " %s=%d", ch, byChannel[ch])
		}
	}
	b.WriteString(" instructions: " + strings.Join(instrs, ", "))
	if len(instr) == 20 && len(rows) > 20 {
		b.WriteString(", ...")
	}
	return b.String()
}

// scanHouseholdsFrom ids or more are looked up by reading every
// household's id in order (missingHouseholds) rather than a hundred at a time: SQLite
// evaluates each IN list of a hundred through a temporary table it builds
// and frees, which for an issuance of 76,000 households cost the writer
// 0.45 s, where reading the ids of the registry's index takes a tenth of it.
var scanHouseholdsFrom = 2000 // (a variable for the tests)

// missingHouseholds returns, sorted and once each, those of ids (in any
// order, repeated or not) that are not households.
func (w *wtx) missingHouseholds(ids []string) ([]string, error) {
	want := slices.Clone(ids)
	slices.Sort(want)
	want = slices.Compact(want)
	var missing []string
	if len(want) < scanHouseholdsFrom {
		found, err := w.existingHouseholds(want)
		if err != nil {
			return nil, err
		}
		for _, id := range want {
			if !found[id] {
				missing = append(missing, id)
			}
		}
		return missing, nil
	}
	// One pass over the households' ids in order (their primary key's
	// index), beside want in the same order: bytewise, as Go compares
	// strings and SQLite's BINARY collation does.
	rows, err := w.query(`SELECT id FROM households ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read households: %w", err)
	}
	defer rows.Close()
	var id []byte // (sql.RawBytes: a string a row would be 76,000 allocations)
	j := 0
	for j < len(want) && rows.Next() {
		if err := rows.Scan((*sql.RawBytes)(&id)); err != nil {
			return nil, fmt.Errorf("read households: %w", err)
		}
		for ; j < len(want) && want[j] < string(id); j++ {
			missing = append(missing, want[j])
		}
		if j < len(want) && want[j] == string(id) {
			j++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read households: %w", err)
	}
	return append(missing, want[j:]...), nil
}

// existingHouseholds reports which of ids are households.
func (w *wtx) existingHouseholds(ids []string) (map[string]bool, error) {
	if len(ids) >= scanHouseholdsFrom {
		missing, err := w.missingHouseholds(ids)
		if err != nil {
			return nil, err
		}
		out := make(map[string]bool, len(ids))
		for _, id := range ids {
			if _, gone := slices.BinarySearch(missing, id); !gone {
				out[id] = true
			}
		}
		return out, nil
	}
	out := map[string]bool{}
	query := `SELECT id FROM households WHERE id IN (` + placeholders(prefetchChunk) + `)`
	for start := 0; start < len(ids); start += prefetchChunk {
		rows, err := w.query(query, padded(ids, start)...)
		if err != nil {
			return nil, fmt.Errorf("enqueue: read households: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("enqueue: read households: %w", err)
			}
			out[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("enqueue: read households: %w", err)
		}
	}
	return out, nil
}

// leaseQuery claims due messages. The inner SELECT picks them (locked,
// skipping rows another instance is locking, on PostgreSQL) and the
// UPDATE takes them; RETURNING gives them back in the same statement.
// pendingPredicate is the predicate of the partial index outbox_pending
// (migration 0012), word for word, so that both engines scan that index in
// next_attempt_at order and stop at the LIMIT. Three comparisons, not an
// IN list: SQLite would build a temporary table for the list each time a
// statement evaluates it (every insert and status change of a message).
const pendingPredicate = `(status = 'queued' OR status = 'failed-retrying' OR status = 'sending')`

// The channels are bound as three parameters (a channel repeated when
// fewer are wanted), so that there is one statement to prepare.
func (c *Core) leaseQuery() string {
	return `UPDATE outbox SET status = ?, attempts = attempts + 1, lease_owner = ?, lease_until = ?, updated_at = ?
		WHERE id IN (SELECT id FROM outbox
			WHERE ` + pendingPredicate + `
			AND ((status IN (?, ?) AND next_attempt_at <= ?) OR (status = ? AND lease_until <= ?)) AND channel IN (?, ?, ?)
			ORDER BY next_attempt_at, id LIMIT ?` + c.d.ForUpdate + c.d.SkipLocked + `)
		RETURNING ` + outboxColumns + `, ` + outboxSealedColumns
}

// LeaseMessages implements muster.Store.
func (c *Core) LeaseMessages(ctx context.Context, owner string, channels []string, n int, leaseFor time.Duration, now time.Time) ([]muster.OutboxMessage, error) {
	if len(channels) == 0 {
		channels = muster.Channels
	}
	var chans [3]any
	for i := range chans {
		ch := channels[min(i, len(channels)-1)]
		if !slices.Contains(muster.Channels, ch) {
			return nil, muster.Errorf(muster.EINVALID, "lease: channel %q is not one of %s", ch, strings.Join(muster.Channels, ", "))
		}
		chans[i] = ch
	}
	if len(channels) > len(chans) {
		return nil, muster.Errorf(muster.EINVALID, "lease: %d channels, there are only %d", len(channels), len(chans))
	}
	if owner == "" || len(owner) > maxIDLen*2 || !validText(owner) {
		return nil, muster.Errorf(muster.EINVALID, "lease: owner must be 1 to %d bytes of text", maxIDLen*2)
	}
	if n <= 0 || n > maxLeaseBatch {
		return nil, muster.Errorf(muster.EINVALID, "lease: n %d not in 1..%d", n, maxLeaseBatch)
	}
	if leaseFor <= 0 || leaseFor > maxLeaseFor {
		return nil, muster.Errorf(muster.EINVALID, "lease: duration %s not in (0, %s]", leaseFor, maxLeaseFor)
	}
	k, err := c.keyring()
	if err != nil {
		return nil, err
	}
	var out []muster.OutboxMessage
	err = c.write(ctx, func(w *wtx) error {
		out = out[:0]
		at := now
		if at.IsZero() {
			at = w.now
		}
		t, until := micros(at), at.Add(leaseFor).UnixMicro()
		rows, err := w.query(c.leaseQuery(), muster.MessageSending, owner, until, micros(w.now),
			muster.MessageQueued, muster.MessageRetrying, t, muster.MessageSending, t, chans[0], chans[1], chans[2], n)
		if err != nil {
			return fmt.Errorf("lease: %w", err)
		}
		var leased []outboxRow
		for rows.Next() {
			var r outboxRow
			if err := rows.Scan(r.scanArgs(true)...); err != nil {
				rows.Close()
				return fmt.Errorf("lease: %w", err)
			}
			leased = append(leased, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("lease: %w", err)
		}
		if len(leased) == 0 {
			return nil
		}
		ids := make([]string, len(leased))
		for i := range leased {
			m, err := leased[i].open(k)
			if err != nil {
				return err
			}
			out = append(out, m)
			ids[i] = m.ID
		}
		slices.SortFunc(out, func(a, b muster.OutboxMessage) int {
			if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		w.record("outbox.lease", "outbox", fmt.Sprintf("owner=%s leased=%d until=%s: %s", owner, len(ids),
			fromMicros(until).Format(time.RFC3339Nano), strings.Join(ids, " ")))
		w.announce("message", "")
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// message reads one message in a write transaction, locking its row where
// the engine locks rows.
func (w *wtx) message(id string) (outboxRow, error) {
	var r outboxRow
	err := w.queryRow(`SELECT `+outboxColumns+` FROM outbox WHERE id = ?`+w.c.d.ForUpdate, id).Scan(r.scanArgs(false)...)
	if errors.Is(err, sql.ErrNoRows) {
		return r, muster.Errorf(muster.ENOTFOUND, "message %q not found", id)
	}
	if err != nil {
		return r, fmt.Errorf("message %s: %w", id, err)
	}
	return r, nil
}

// cut shortens an error for the record, on a rune boundary, and makes it
// one line of text.
func cut(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// CompleteMessage implements muster.Store.
func (c *Core) CompleteMessage(ctx context.Context, id, owner string, r muster.MessageResult) (muster.OutboxMessage, error) {
	if badKey(id) {
		return muster.OutboxMessage{}, muster.Errorf(muster.ENOTFOUND, "message %q not found", id)
	}
	if !slices.Contains([]string{muster.OutcomeSent, muster.OutcomeRetry, muster.OutcomeDead}, r.Outcome) {
		return muster.OutboxMessage{}, muster.Errorf(muster.EINVALID, "complete: outcome %q is not sent, retry or dead", r.Outcome)
	}
	errText := cut(r.Error, muster.MaxLastError)
	provider := cut(r.ProviderMessageID, 200)
	var out muster.OutboxMessage
	err := c.write(ctx, func(w *wtx) error {
		cur, err := w.message(id)
		if err != nil {
			return err
		}
		if cur.m.Status != muster.MessageSending || cur.m.LeaseOwner != owner {
			return muster.Errorf(muster.ECONFLICT, "message %s is %s (lease held by %q), not sending under %q's lease: its outcome is not recorded",
				id, cur.m.Status, cur.m.LeaseOwner, owner)
		}
		now := micros(w.now)
		switch r.Outcome {
		case muster.OutcomeSent:
			_, err = w.exec(`UPDATE outbox SET status = ?, lease_owner = '', lease_until = 0, last_error = '', provider_id = ?, sent_at = ?, updated_at = ? WHERE id = ?`,
				muster.MessageSent, provider, now, now, id)
			detail := fmt.Sprintf("attempt %d by %s", cur.m.Attempts, owner)
			if provider != "" {
				detail += ", provider id " + provider
			}
			w.record("message.sent", "message:"+id, detail)
		case muster.OutcomeRetry:
			at := r.RetryAt.UTC()
			if at.Before(w.now) {
				at = w.now
			}
			_, err = w.exec(`UPDATE outbox SET status = ?, lease_owner = '', lease_until = 0, last_error = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?`,
				muster.MessageRetrying, errText, micros(at), now, id)
			w.record("message.retry", "message:"+id, fmt.Sprintf("attempt %d by %s failed, retry at %s: %s", cur.m.Attempts, owner, at.Format(time.RFC3339), errText))
		case muster.OutcomeDead:
			_, err = w.exec(`UPDATE outbox SET status = ?, lease_owner = '', lease_until = 0, last_error = ?, updated_at = ? WHERE id = ?`,
				muster.MessageDead, errText, now, id)
			w.record("message.dead", "message:"+id, fmt.Sprintf("attempt %d by %s: dead letter: %s", cur.m.Attempts, owner, errText))
		}
		if err != nil {
			return fmt.Errorf("complete message %s: %w", id, err)
		}
		w.announce("message", id)
		// The row as updated, without reading it again.
		out = cur.message()
		out.LeaseOwner, out.LeaseExpiresAt, out.UpdatedAt = "", time.Time{}, w.now
		switch r.Outcome {
		case muster.OutcomeSent:
			out.Status, out.LastError, out.ProviderMessageID, out.SentAt = muster.MessageSent, "", provider, w.now
		case muster.OutcomeRetry:
			out.Status, out.LastError, out.NextAttemptAt = muster.MessageRetrying, errText, fromMicros(max(micros(r.RetryAt), now))
		case muster.OutcomeDead:
			out.Status, out.LastError = muster.MessageDead, errText
		}
		return nil
	})
	return out, err
}

// RetryMessage implements muster.Store.
func (c *Core) RetryMessage(ctx context.Context, id string) (muster.OutboxMessage, error) {
	if badKey(id) {
		return muster.OutboxMessage{}, muster.Errorf(muster.ENOTFOUND, "message %q not found", id)
	}
	var out muster.OutboxMessage
	err := c.write(ctx, func(w *wtx) error {
		cur, err := w.message(id)
		if err != nil {
			return err
		}
		if cur.m.Status != muster.MessageDead {
			return muster.Errorf(muster.ECONFLICT, "message %s is %s: only a dead letter can be retried", id, cur.m.Status)
		}
		now := micros(w.now)
		if _, err := w.exec(`UPDATE outbox SET status = ?, attempts = 0, next_attempt_at = ?, updated_at = ? WHERE id = ?`,
			muster.MessageQueued, now, now, id); err != nil {
			return fmt.Errorf("retry message %s: %w", id, err)
		}
		w.record("message.requeue", "message:"+id, fmt.Sprintf("dead after %d attempts -> queued (was: %s)", cur.m.Attempts, cur.m.LastError))
		w.announce("outbox", id)
		out = cur.message()
		out.Status, out.Attempts, out.NextAttemptAt, out.UpdatedAt = muster.MessageQueued, 0, w.now, w.now
		return nil
	})
	return out, err
}

func checkMessageFilter(f *muster.MessageFilter) error {
	if f.Status != "" && !slices.Contains(muster.MessageStatuses, f.Status) {
		return muster.Errorf(muster.EINVALID, "status %q is not one of %s", f.Status, strings.Join(muster.MessageStatuses, ", "))
	}
	if f.Channel != "" && !slices.Contains(muster.Channels, f.Channel) {
		return muster.Errorf(muster.EINVALID, "channel %q is not one of %s", f.Channel, strings.Join(muster.Channels, ", "))
	}
	for name, v := range map[string]string{"household_id": f.HouseholdID, "instruction_id": f.InstructionID, "ack_code": f.AckCode, "after": f.AfterID} {
		if len(v) > muster.MaxIDBytes || !validText(v) {
			return muster.Errorf(muster.EINVALID, "%s: not an id", name)
		}
	}
	if f.Limit < 0 {
		return muster.Errorf(muster.EINVALID, "limit %d is negative", f.Limit)
	}
	return nil
}

func messageWhere(f muster.MessageFilter) (string, []any) {
	var w where
	w.eq("status", f.Status)
	w.eq("channel", f.Channel)
	w.eq("household_id", f.HouseholdID)
	w.eq("instruction_id", f.InstructionID)
	w.eq("ack_code", f.AckCode)
	return w.String(), w.args
}

// ListMessages implements muster.Store.
func (c *Core) ListMessages(ctx context.Context, f muster.MessageFilter) ([]muster.OutboxMessage, string, error) {
	if err := checkMessageFilter(&f); err != nil {
		return nil, "", err
	}
	limit := f.Limit
	if limit == 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	where, args := messageWhere(f)
	args = append(args, f.AfterID, limit+1)
	ms, err := c.queryMessages(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE `+where+` AND id > ? ORDER BY id LIMIT ?`, args...)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(ms) > limit {
		ms = ms[:limit]
		next = ms[limit-1].ID
	}
	return ms, next, nil
}

func (c *Core) queryMessages(ctx context.Context, query string, args ...any) ([]muster.OutboxMessage, error) {
	rows, err := c.reader().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	defer rows.Close()
	var out []muster.OutboxMessage
	for rows.Next() {
		var r outboxRow
		if err := rows.Scan(r.scanArgs(false)...); err != nil {
			return nil, fmt.Errorf("list messages: %w", err)
		}
		out = append(out, r.message())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	return out, nil
}

// CountMessages implements muster.Store.
func (c *Core) CountMessages(ctx context.Context, f muster.MessageFilter) (map[string]int, error) {
	if err := checkMessageFilter(&f); err != nil {
		return nil, err
	}
	where, args := messageWhere(f)
	rows, err := c.reader().QueryContext(ctx, `SELECT status, COUNT(*) FROM outbox WHERE `+where+` GROUP BY status`, args...)
	if err != nil {
		return nil, fmt.Errorf("count messages: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for _, s := range muster.MessageStatuses {
		out[s] = 0
	}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("count messages: %w", err)
		}
		out[s] = n
	}
	return out, rows.Err()
}

// DeadLetters implements muster.Store.
func (c *Core) DeadLetters(ctx context.Context, limit int) ([]muster.OutboxMessage, error) {
	if limit <= 0 {
		limit = 100
	}
	return c.queryMessages(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE status = ? ORDER BY updated_at, id LIMIT ?`, muster.MessageDead, min(limit, 1000))
}

// Acknowledge implements muster.Store.
func (c *Core) Acknowledge(ctx context.Context, householdID, instructionID, via string, at time.Time) (muster.Acknowledgement, error) {
	if badKey(householdID) || badKey(instructionID) || householdID == "" || instructionID == "" {
		return muster.Acknowledgement{}, muster.Errorf(muster.ENOTFOUND, "household %q has no instruction %q in the outbox", householdID, instructionID)
	}
	if !slices.Contains(muster.AckVias, via) {
		return muster.Acknowledgement{}, muster.Errorf(muster.EINVALID, "via %q is not one of %s", via, strings.Join(muster.AckVias, ", "))
	}
	var out muster.Acknowledgement
	err := c.write(ctx, func(w *wtx) error {
		var n int
		if err := w.queryRow(`SELECT COUNT(*) FROM outbox WHERE household_id = ? AND instruction_id = ?`, householdID, instructionID).Scan(&n); err != nil {
			return fmt.Errorf("acknowledge: %w", err)
		}
		if n == 0 {
			return muster.Errorf(muster.ENOTFOUND, "household %q has no instruction %q in the outbox", householdID, instructionID)
		}
		when := at.UTC().Truncate(time.Microsecond)
		if at.IsZero() {
			when = w.now
		}
		res, err := w.exec(`INSERT INTO acknowledgements (household_id, instruction_id, via, at, by_actor) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (household_id, instruction_id) DO NOTHING`, householdID, instructionID, via, micros(when), w.actor)
		if err != nil {
			return fmt.Errorf("acknowledge: %w", err)
		}
		added, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("acknowledge: %w", err)
		}
		var atMicros int64
		out = muster.Acknowledgement{HouseholdID: householdID, InstructionID: instructionID}
		if err := w.queryRow(`SELECT via, at, by_actor FROM acknowledgements WHERE household_id = ? AND instruction_id = ?`, householdID, instructionID).
			Scan(&out.Via, &atMicros, &out.By); err != nil {
			return fmt.Errorf("acknowledge: %w", err)
		}
		out.At = fromMicros(atMicros)
		if added == 1 {
			w.record("household.ack", "household:"+householdID, "instruction "+instructionID+" acknowledged via "+via)
			w.announce("household", householdID)
		}
		return nil
	})
	return out, err
}

// Acknowledgements implements muster.Store.
func (c *Core) Acknowledgements(ctx context.Context, since time.Time) ([]muster.Acknowledgement, error) {
	from := int64(0)
	if !since.IsZero() {
		from = since.UTC().UnixMicro()
	}
	rows, err := c.reader().QueryContext(ctx, `SELECT household_id, instruction_id, via, at, by_actor FROM acknowledgements
		WHERE at >= ? ORDER BY at, household_id, instruction_id`, from)
	if err != nil {
		return nil, fmt.Errorf("acknowledgements: %w", err)
	}
	defer rows.Close()
	var out []muster.Acknowledgement
	for rows.Next() {
		var a muster.Acknowledgement
		var at int64
		if err := rows.Scan(&a.HouseholdID, &a.InstructionID, &a.Via, &at, &a.By); err != nil {
			return nil, fmt.Errorf("acknowledgements: %w", err)
		}
		a.At = fromMicros(at)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("acknowledgements: %w", err)
	}
	return out, nil
}

// Unacknowledged implements muster.Store.
func (c *Core) Unacknowledged(ctx context.Context, olderThan time.Duration) ([]muster.Unacknowledged, error) {
	if olderThan < 0 {
		return nil, muster.Errorf(muster.EINVALID, "older than %s: negative", olderThan)
	}
	k, err := c.keyring()
	if err != nil {
		return nil, err
	}
	cutoff := c.now().Add(-olderThan).UnixMicro()
	rows, err := c.reader().QueryContext(ctx, `SELECT household_id, instruction_id, MAX(instruction_version), MIN(created_at), MAX(created_at), MAX(sent_at),
		SUM(CASE WHEN status = ? THEN 1 ELSE 0 END), SUM(CASE WHEN status = ? THEN 1 ELSE 0 END), COUNT(*)
		FROM outbox WHERE instruction_id NOT LIKE ? GROUP BY household_id, instruction_id`, muster.MessageSent, muster.MessageDead, muster.AdvisoryMessagePrefix+"%")
	if err != nil {
		return nil, fmt.Errorf("unacknowledged: %w", err)
	}
	type group struct {
		u      muster.Unacknowledged
		newest int64
	}
	newest := map[string]*group{}
	for rows.Next() {
		var g group
		var first, last int64
		var total int
		if err := rows.Scan(&g.u.HouseholdID, &g.u.InstructionID, &g.u.InstructionVersion, &first, &g.newest, &last, &g.u.Sent, &g.u.Dead, &total); err != nil {
			rows.Close()
			return nil, fmt.Errorf("unacknowledged: %w", err)
		}
		g.u.FirstQueuedAt, g.u.LastSentAt = fromMicros(first), fromMicros(last)
		g.u.Pending = total - g.u.Sent - g.u.Dead
		cur := newest[g.u.HouseholdID]
		if cur == nil || g.newest > cur.newest || g.newest == cur.newest && g.u.InstructionID > cur.u.InstructionID {
			newest[g.u.HouseholdID] = &g
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("unacknowledged: %w", err)
	}
	acked, err := c.reader().QueryContext(ctx, `SELECT household_id, instruction_id FROM acknowledgements`)
	if err != nil {
		return nil, fmt.Errorf("unacknowledged: %w", err)
	}
	for acked.Next() {
		var hh, instr string
		if err := acked.Scan(&hh, &instr); err != nil {
			acked.Close()
			return nil, fmt.Errorf("unacknowledged: %w", err)
		}
		if g := newest[hh]; g != nil && g.u.InstructionID == instr {
			delete(newest, hh)
		}
	}
	acked.Close()
	if err := acked.Err(); err != nil {
		return nil, fmt.Errorf("unacknowledged: %w", err)
	}
	var out []muster.Unacknowledged
	var ids []string
	for _, g := range newest {
		if g.u.FirstQueuedAt.UnixMicro() <= cutoff {
			out = append(out, g.u)
			ids = append(ids, g.u.HouseholdID)
		}
	}
	slices.SortFunc(out, func(a, b muster.Unacknowledged) int {
		if c := a.FirstQueuedAt.Compare(b.FirstQueuedAt); c != 0 {
			return c
		}
		return strings.Compare(a.HouseholdID, b.HouseholdID)
	})
	who, err := c.namesAndPhones(ctx, k, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		p := who[out[i].HouseholdID]
		out[i].Name, out[i].Phone = p[0], p[1]
	}
	return out, nil
}

// namesAndPhones reads the name and phone of each household.
func (c *Core) namesAndPhones(ctx context.Context, k muster.Sealer, ids []string) (map[string][2]string, error) {
	out := map[string][2]string{}
	query := `SELECT id, name_enc, phone_enc FROM households WHERE id IN (` + placeholders(prefetchChunk) + `)`
	for start := 0; start < len(ids); start += prefetchChunk {
		rows, err := c.reader().QueryContext(ctx, query, padded(ids, start)...)
		if err != nil {
			return nil, fmt.Errorf("unacknowledged: read households: %w", err)
		}
		for rows.Next() {
			var id string
			var name, phone []byte
			if err := rows.Scan(&id, &name, &phone); err != nil {
				rows.Close()
				return nil, fmt.Errorf("unacknowledged: read households: %w", err)
			}
			n, err := k.Open(name, aad(id, "name"))
			if err == nil {
				phone, err = k.Open(phone, aad(id, "phone"))
			}
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("household %s: %w", id, err)
			}
			out[id] = [2]string{string(n), string(phone)}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("unacknowledged: read households: %w", err)
		}
	}
	return out, nil
}
