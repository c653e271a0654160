package storetest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muster-evac/muster"
)

// OutboxMessage returns a realistic message for household i's instruction
// version v over channel, with its recipient taken from household(i).
func OutboxMessage(i, v int, channel string) muster.OutboxMessage {
	h := household(i)
	m := muster.OutboxMessage{HouseholdID: h.ID, InstructionID: fmt.Sprintf("I-%s-rally", h.ID), InstructionVersion: v, Channel: channel,
		Subject: "Your evacuation instruction", AckCode: fmt.Sprintf("%06d", 100000+i),
		Body: fmt.Sprintf("Zarghuna Karimi-%d: be at rally point Wazir Akbar Khan 7 between 06:00 and 06:30.\r\nReply %06d to confirm.", i, 100000+i)}
	switch channel {
	case muster.ChannelEmail:
		m.Recipient = h.Email
		m.BodyHTML = "<p>" + m.Body + "</p>"
	case muster.ChannelSMS:
		m.Recipient = h.Phone
	case muster.ChannelWebhook:
		m.Recipient = "https://ngo.example.org/hooks/muster"
	}
	return m
}

// testOutbox: messages are queued once per idempotency key, in one
// transaction or not at all; a lease opens their sealed fields for the
// worker and only for it; outcomes are recorded only under a live owner's
// lease; retries wait for their time; dead letters are listed and can be
// queued again; every change is audited without personal data, and
// announced; nothing personal is stored in clear.
func testOutbox(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	must(e.store.ImportHouseholds(e.ctx, batch(1, 10), muster.ImportOptions{}))(t)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	events := must(e.store.Subscribe(ctx))(t)

	var ms []muster.OutboxMessage
	for i := 1; i <= 10; i++ {
		ms = append(ms, OutboxMessage(i, 1, muster.ChannelEmail), OutboxMessage(i, 1, muster.ChannelSMS))
	}
	ms = append(ms, ms[3]) // the same message twice in one batch
	enq, dup := must2i(t)(e.store.EnqueueMessages(e.ctx, ms))
	if enq != 20 || dup != 1 {
		t.Fatalf("enqueue: %d enqueued, %d duplicates; want 20 and 1", enq, dup)
	}
	if !waitEvent(events, muster.Event{Kind: "outbox"}) {
		t.Fatal("no outbox event after an enqueue")
	}
	// Again, with one new message: only it is stored; the key is the
	// same whether given or derived.
	again := append(slices.Clone(ms[:20]), OutboxMessage(1, 2, muster.ChannelEmail))
	again[0].IdempotencyKey = muster.MessageKey(again[0].HouseholdID, again[0].InstructionID, 1, muster.ChannelEmail)
	if enq, dup := must2i(t)(e.store.EnqueueMessages(e.ctx, again)); enq != 1 || dup != 20 {
		t.Fatalf("re-enqueue: %d enqueued, %d duplicates; want 1 and 20", enq, dup)
	}

	// A bad message refuses the whole batch, naming it, and changes nothing.
	audits := len(must(e.store.ListAudit(e.ctx, 0, 0))(t))
	for what, bad := range map[string]func(m *muster.OutboxMessage){
		"recipient":      func(m *muster.OutboxMessage) { m.Recipient = "not an address" },
		"subject":        func(m *muster.OutboxMessage) { m.Subject = "Hi\r\nBcc: everyone@example.org" },
		"channel":        func(m *muster.OutboxMessage) { m.Channel = "pigeon" },
		"household_id":   func(m *muster.OutboxMessage) { m.HouseholdID = "" },
		"instruction_id": func(m *muster.OutboxMessage) { m.InstructionID = "a\x00b" },
		"body":           func(m *muster.OutboxMessage) { m.Body = strings.Repeat("x", muster.MaxMessageBody+1) },
		"ack_code":       func(m *muster.OutboxMessage) { m.AckCode = "ok" },
		"does not exist": func(m *muster.OutboxMessage) { m.HouseholdID = "H999999" },
	} {
		b := []muster.OutboxMessage{OutboxMessage(5, 3, muster.ChannelSMS), OutboxMessage(6, 3, muster.ChannelSMS)}
		bad(&b[1])
		_, _, err := e.store.EnqueueMessages(e.ctx, b)
		wantCode(t, err, muster.EINVALID, "enqueue with a bad "+what)
		if !strings.Contains(err.Error(), what) {
			t.Errorf("bad %s: the error does not name it: %v", what, err)
		}
	}
	if n := must(e.store.CountMessages(e.ctx, muster.MessageFilter{}))(t); n[muster.MessageQueued] != 21 {
		t.Fatalf("after refused batches: %v, want 21 queued", n)
	}
	if n := len(must(e.store.ListAudit(e.ctx, 0, 0))(t)); n != audits {
		t.Fatalf("refused batches were audited: %d entries, then %d", audits, n)
	}

	// Listing shows no personal field; paging by id is by age.
	var listed []muster.OutboxMessage
	for after := ""; ; {
		page, next, err := e.store.ListMessages(e.ctx, muster.MessageFilter{AfterID: after, Limit: 8})
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, page...)
		if next == "" {
			break
		}
		after = next
	}
	if len(listed) != 21 {
		t.Fatalf("listed %d messages, want 21", len(listed))
	}
	for i, m := range listed {
		if m.Recipient != "" || m.Body != "" || m.Subject != "" || m.BodyHTML != "" {
			t.Fatalf("a listed message carries personal fields: %+v", m)
		}
		if m.Status != muster.MessageQueued || m.Attempts != 0 || m.CreatedAt.IsZero() || m.IdempotencyKey == "" || m.AckCode == "" {
			t.Fatalf("listed: %+v", m)
		}
		if i > 0 && m.ID <= listed[i-1].ID {
			t.Fatalf("not in id order: %s after %s", m.ID, listed[i-1].ID)
		}
	}
	if sms := must2l(t)(e.store.ListMessages(e.ctx, muster.MessageFilter{Channel: muster.ChannelSMS, HouseholdID: "H000003"})); len(sms) != 1 || sms[0].AckCode != "100003" {
		t.Fatalf("filter by channel and household: %+v", sms)
	}

	// Nothing personal at rest.
	raw := e.db.Raw(t)
	for _, m := range ms[:20] {
		for field, v := range map[string]string{"recipient": m.Recipient, "body": m.Body[:30]} {
			if bytes.Contains(raw, []byte(v)) {
				t.Fatalf("message %s: %s %q is stored in clear", m.HouseholdID, field, v)
			}
		}
	}

	// Lease: the oldest first, opened, attempts counted.
	now := time.Now()
	if got := must(e.store.LeaseMessages(e.ctx, "webhook-worker", []string{muster.ChannelWebhook}, 100, time.Minute, now))(t); len(got) != 0 {
		t.Fatalf("a webhook worker leased %d e-mails and SMS", len(got))
	}
	if _, lerr := e.store.LeaseMessages(e.ctx, "fax-worker", []string{"fax"}, 100, time.Minute, now); muster.ErrorCode(lerr) != muster.EINVALID {
		t.Fatalf("leasing an unknown channel: %v", lerr)
	}
	first := must(e.store.LeaseMessages(e.ctx, "worker-a", nil, 15, time.Minute, now))(t)
	if len(first) != 15 {
		t.Fatalf("leased %d, want 15", len(first))
	}
	byKey := map[string]muster.OutboxMessage{}
	for _, m := range ms[:20] {
		byKey[muster.MessageKey(m.HouseholdID, m.InstructionID, m.InstructionVersion, m.Channel)] = m
	}
	for _, m := range first {
		want, ok := byKey[m.IdempotencyKey]
		if !ok {
			t.Fatalf("leased %s, not one of the first batch (oldest first)", m.ID)
		}
		if m.Status != muster.MessageSending || m.Attempts != 1 || m.LeaseOwner != "worker-a" || !m.LeaseExpiresAt.Equal(now.Add(time.Minute).UTC().Truncate(time.Microsecond)) {
			t.Fatalf("leased: %+v", m)
		}
		if m.Recipient != want.Recipient || m.Body != want.Body || m.Subject != want.Subject || m.BodyHTML != want.BodyHTML {
			t.Fatalf("leased message %s is not what was queued: %+v", m.ID, m)
		}
	}
	rest := must(e.store.LeaseMessages(e.ctx, "worker-b", nil, 100, time.Minute, now))(t)
	if len(rest) != 6 {
		t.Fatalf("second lease got %d, want the 6 left", len(rest))
	}
	if none := must(e.store.LeaseMessages(e.ctx, "worker-b", nil, 100, time.Minute, now.Add(30*time.Second)))(t); len(none) != 0 {
		t.Fatalf("leased %d messages whose leases are live", len(none))
	}

	// Outcomes, under the lease only.
	sent := must(e.store.CompleteMessage(e.ctx, first[0].ID, "worker-a", muster.MessageResult{Outcome: muster.OutcomeSent, ProviderMessageID: "<x@mail>"}))(t)
	if sent.Status != muster.MessageSent || sent.SentAt.IsZero() || sent.LeaseOwner != "" || sent.ProviderMessageID != "<x@mail>" {
		t.Fatalf("sent: %+v", sent)
	}
	_, err := e.store.CompleteMessage(e.ctx, first[0].ID, "worker-a", muster.MessageResult{Outcome: muster.OutcomeSent})
	wantCode(t, err, muster.ECONFLICT, "completing a sent message again")
	_, err = e.store.CompleteMessage(e.ctx, first[1].ID, "worker-b", muster.MessageResult{Outcome: muster.OutcomeSent})
	wantCode(t, err, muster.ECONFLICT, "completing another worker's message")
	_, err = e.store.CompleteMessage(e.ctx, "M-none", "worker-a", muster.MessageResult{Outcome: muster.OutcomeSent})
	wantCode(t, err, muster.ENOTFOUND, "completing a message that does not exist")
	_, err = e.store.CompleteMessage(e.ctx, first[1].ID, "worker-a", muster.MessageResult{Outcome: "maybe"})
	wantCode(t, err, muster.EINVALID, "an unknown outcome")

	retryAt := now.Add(10 * time.Minute)
	retry := must(e.store.CompleteMessage(e.ctx, first[1].ID, "worker-a", muster.MessageResult{Outcome: muster.OutcomeRetry, RetryAt: retryAt,
		Error: "smtp 451 4.3.0 try again later\r\n"}))(t)
	if retry.Status != muster.MessageRetrying || retry.LastError != "smtp 451 4.3.0 try again later  " || !retry.NextAttemptAt.Equal(retryAt.UTC().Truncate(time.Microsecond)) {
		t.Fatalf("retry: %+v", retry)
	}
	dead := must(e.store.CompleteMessage(e.ctx, first[2].ID, "worker-a", muster.MessageResult{Outcome: muster.OutcomeDead, Error: "smtp 550 5.1.1 no such user"}))(t)
	if dead.Status != muster.MessageDead || dead.LastError != "smtp 550 5.1.1 no such user" {
		t.Fatalf("dead: %+v", dead)
	}
	if got := must(e.store.LeaseMessages(e.ctx, "worker-c", nil, 100, time.Minute, now.Add(50*time.Second)))(t); len(got) != 0 {
		t.Fatalf("leased %d before the retry time and before the leases expired", len(got))
	}
	// After the retry time and the leases' expiry, everything not done is
	// leased again: the retry, and the 12+6 whose workers never completed.
	later := must(e.store.LeaseMessages(e.ctx, "worker-c", nil, 100, time.Minute, now.Add(11*time.Minute)))(t)
	if len(later) != 19 {
		t.Fatalf("after expiry leased %d, want 19", len(later))
	}
	for _, m := range later {
		if m.ID == first[1].ID && m.Attempts != 2 {
			t.Fatalf("the retried message's attempts: %d, want 2", m.Attempts)
		}
		if m.ID == first[0].ID || m.ID == first[2].ID {
			t.Fatalf("a sent or dead message was leased again: %+v", m)
		}
	}
	_, err = e.store.CompleteMessage(e.ctx, first[3].ID, "worker-a", muster.MessageResult{Outcome: muster.OutcomeSent})
	wantCode(t, err, muster.ECONFLICT, "completing after the lease was taken over")

	// Dead letters, and an operator's retry.
	deads := must(e.store.DeadLetters(e.ctx, 0))(t)
	if len(deads) != 1 || deads[0].ID != first[2].ID || deads[0].Body != "" {
		t.Fatalf("dead letters: %+v", deads)
	}
	_, err = e.store.RetryMessage(e.ctx, first[0].ID)
	wantCode(t, err, muster.ECONFLICT, "retrying a sent message")
	op := muster.WithActor(e.ctx, "planner-amina")
	requeued := must(e.store.RetryMessage(op, first[2].ID))(t)
	if requeued.Status != muster.MessageQueued || requeued.Attempts != 0 {
		t.Fatalf("requeued: %+v", requeued)
	}
	if got := must(e.store.LeaseMessages(e.ctx, "worker-d", nil, 100, time.Minute, now.Add(11*time.Minute)))(t); len(got) != 1 || got[0].ID != first[2].ID {
		t.Fatalf("after a retry leased %+v, want the requeued message", got)
	}
	counts := must(e.store.CountMessages(e.ctx, muster.MessageFilter{}))(t)
	if counts[muster.MessageSent] != 1 || counts[muster.MessageSending] != 20 || counts[muster.MessageDead] != 0 {
		t.Fatalf("counts: %v", counts)
	}

	// The audit log: who did what, no personal data, and it verifies.
	var actions []string
	for _, en := range must(e.store.ListAudit(e.ctx, 0, 0))(t) {
		if !strings.HasPrefix(en.Action, "outbox.") && !strings.HasPrefix(en.Action, "message.") {
			continue
		}
		actions = append(actions, en.Actor+" "+en.Action)
		for _, m := range ms[:20] {
			if strings.Contains(en.Detail, m.Recipient) || strings.Contains(en.Detail, "Zarghuna") {
				t.Fatalf("audit entry %d holds personal data: %q", en.Seq, en.Detail)
			}
		}
		if en.Action == "message.requeue" && (en.Actor != "planner-amina" || en.Target != "message:"+first[2].ID) {
			t.Fatalf("requeue audited as %+v", en)
		}
	}
	want := []string{"tester outbox.enqueue", "tester outbox.enqueue", "tester outbox.lease", "tester outbox.lease",
		"tester message.sent", "tester message.retry", "tester message.dead", "tester outbox.lease", "planner-amina message.requeue", "tester outbox.lease"}
	if !slices.Equal(actions, want) {
		t.Fatalf("audited:\n got %q\nwant %q", actions, want)
	}
	if v := must(e.store.VerifyAudit(e.ctx))(t); !v.OK {
		t.Fatalf("audit: %+v", v)
	}
	if !waitEvent(events, muster.Event{Kind: "message", ID: first[0].ID}) {
		t.Fatal("no message event for a sent message")
	}
}

// testOutboxConcurrentLease: two instances on one database, four workers
// each, lease from the same outbox at once: no message is leased twice
// while its lease is live; when the leases expire the messages not
// completed are taken over, and their first owners can no longer complete
// them.
func testOutboxConcurrentLease(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	second := e.open(e.keys)
	must(e.store.ImportHouseholds(e.ctx, batch(1, 150), muster.ImportOptions{}))(t)
	var ms []muster.OutboxMessage
	for i := 1; i <= 150; i++ {
		ms = append(ms, OutboxMessage(i, 1, muster.ChannelEmail), OutboxMessage(i, 1, muster.ChannelSMS))
	}
	must2i(t)(e.store.EnqueueMessages(e.ctx, ms))
	now := time.Now()
	type lease struct{ id, owner string }
	var mu sync.Mutex
	var leases []lease
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		s := []muster.Store{e.store, second}[w%2]
		owner := fmt.Sprintf("instance%d-worker%d", w%2, w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.LeaseMessages(e.ctx, owner, nil, 7, time.Minute, now)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					leases = append(leases, lease{m.ID, owner})
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	owner := map[string]string{}
	for _, l := range leases {
		if o, twice := owner[l.id]; twice {
			t.Fatalf("message %s leased by %s and by %s while the first lease was live", l.id, o, l.owner)
		}
		owner[l.id] = l.owner
	}
	if len(owner) != 300 {
		t.Fatalf("%d of 300 messages leased", len(owner))
	}
	// Half are completed by their owners; the other half's workers "die".
	done := 0
	for _, l := range leases {
		if done < 150 {
			s := []muster.Store{e.store, second}[done%2]
			must(s.CompleteMessage(e.ctx, l.id, l.owner, muster.MessageResult{Outcome: muster.OutcomeSent}))(t)
			done++
		}
	}
	// The expired leases are taken over, by both instances at once.
	var taken sync.Map
	var n, dupes int
	var nmu sync.Mutex
	for w := range 4 {
		s := []muster.Store{e.store, second}[w%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.LeaseMessages(e.ctx, fmt.Sprintf("rescuer%d", w), nil, 10, time.Minute, now.Add(2*time.Minute))
				if err != nil || len(got) == 0 {
					return
				}
				nmu.Lock()
				for _, m := range got {
					if _, loaded := taken.LoadOrStore(m.ID, true); loaded {
						dupes++
					}
					if m.Attempts != 2 {
						t.Errorf("taken over with attempts %d, want 2", m.Attempts)
					}
					n++
				}
				nmu.Unlock()
			}
		}()
	}
	wg.Wait()
	if n != 150 || dupes != 0 {
		t.Fatalf("after expiry %d messages taken over (%d twice), want 150 once each", n, dupes)
	}
	for _, l := range leases[150:151] {
		_, err := second.CompleteMessage(e.ctx, l.id, l.owner, muster.MessageResult{Outcome: muster.OutcomeSent})
		wantCode(t, err, muster.ECONFLICT, "the first owner completing a message taken over")
	}
	if v := must(second.VerifyAudit(e.ctx))(t); !v.OK {
		t.Fatalf("audit: %+v", v)
	}
}

// testAcknowledge: an acknowledgement needs an instruction the outbox
// held for the household; the first is kept; households whose newest
// instruction is not acknowledged after the cut-off are listed with their
// name and phone, oldest first.
func testAcknowledge(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	must(e.store.ImportHouseholds(e.ctx, batch(1, 5), muster.ImportOptions{}))(t)
	c, ok := e.store.(clock)
	if !ok {
		t.Skip("store has no SetNow")
	}
	t0 := time.Now().UTC().Truncate(time.Second)
	now := t0
	c.SetNow(func() time.Time { return now })
	for i := 1; i <= 4; i++ {
		must2i(t)(e.store.EnqueueMessages(e.ctx, []muster.OutboxMessage{OutboxMessage(i, 1, muster.ChannelSMS), OutboxMessage(i, 1, muster.ChannelEmail)}))
		now = now.Add(10 * time.Minute)
	}
	// Household 4 gets a new version (a new instruction id) later.
	v2 := OutboxMessage(4, 2, muster.ChannelSMS)
	v2.InstructionID += "-v2"
	must2i(t)(e.store.EnqueueMessages(e.ctx, []muster.OutboxMessage{v2}))

	_, err := e.store.Acknowledge(e.ctx, "H000005", "I-H000005-rally", muster.AckCode, time.Time{})
	wantCode(t, err, muster.ENOTFOUND, "acknowledging an instruction never sent")
	_, err = e.store.Acknowledge(e.ctx, "H000001", "I-H000001-rally", "carrier pigeon", time.Time{})
	wantCode(t, err, muster.EINVALID, "an unknown way")

	ev := muster.WithActor(e.ctx, "evacuee:H000002")
	ack := must(e.store.Acknowledge(ev, "H000002", "I-H000002-rally", muster.AckLink, time.Time{}))(t)
	if ack.Via != muster.AckLink || ack.By != "evacuee:H000002" || !ack.At.Equal(now) {
		t.Fatalf("ack: %+v", ack)
	}
	again := must(e.store.Acknowledge(e.ctx, "H000002", "I-H000002-rally", muster.AckCode, now.Add(time.Hour)))(t)
	if again != ack {
		t.Fatalf("a second acknowledgement changed the first: %+v, was %+v", again, ack)
	}
	// Household 4 acknowledged the old version only: it is still listed.
	must(e.store.Acknowledge(e.ctx, "H000004", "I-H000004-rally", muster.AckCode, time.Time{}))(t)

	now = t0.Add(2*time.Hour + 15*time.Minute)
	un := must(e.store.Unacknowledged(e.ctx, 2*time.Hour))(t)
	var got []string
	for _, u := range un {
		got = append(got, u.HouseholdID+" "+u.InstructionID)
	}
	// Cut-off t0+15min: H1 (queued at t0) is listed; H2 acknowledged; H3
	// was queued at t0+20min and H4's newest version at t0+40min, after it.
	if want := []string{"H000001 I-H000001-rally"}; !slices.Equal(got, want) {
		t.Fatalf("unacknowledged 2h: %q, want %q", got, want)
	}
	if un[0].Name != household(1).Name || un[0].Phone != household(1).Phone || un[0].Pending != 2 || un[0].Sent != 0 || !un[0].FirstQueuedAt.Equal(t0) {
		t.Fatalf("unacknowledged row: %+v", un[0])
	}
	un = must(e.store.Unacknowledged(e.ctx, 0))(t)
	got = got[:0]
	for _, u := range un {
		got = append(got, u.HouseholdID+" "+u.InstructionID)
	}
	if want := []string{"H000001 I-H000001-rally", "H000003 I-H000003-rally", "H000004 I-H000004-rally-v2"}; !slices.Equal(got, want) {
		t.Fatalf("unacknowledged now: %q, want %q", got, want)
	}
	// The acknowledgements by time: the first of each kept, with its time.
	var all []string
	for _, a := range must(e.store.Acknowledgements(e.ctx, time.Time{}))(t) {
		all = append(all, fmt.Sprintf("%s %s %s %s %s", a.HouseholdID, a.InstructionID, a.Via, a.By, a.At.Sub(t0)))
	}
	if want := []string{"H000002 I-H000002-rally link evacuee:H000002 40m0s", "H000004 I-H000004-rally code tester 40m0s"}; !slices.Equal(all, want) {
		t.Fatalf("acknowledgements:\n got %q\nwant %q", all, want)
	}
	if late := must(e.store.Acknowledgements(e.ctx, t0.Add(40*time.Minute+time.Microsecond)))(t); len(late) != 0 {
		t.Fatalf("acknowledgements after the last: %+v", late)
	}
	var acks []string
	for _, en := range must(e.store.ListAudit(e.ctx, 0, 0))(t) {
		if en.Action == "household.ack" {
			acks = append(acks, en.Actor+" "+en.Target+" "+en.Detail)
		}
	}
	if want := []string{"evacuee:H000002 household:H000002 instruction I-H000002-rally acknowledged via link",
		"tester household:H000004 instruction I-H000004-rally acknowledged via code"}; !slices.Equal(acks, want) {
		t.Fatalf("audited acknowledgements:\n got %q\nwant %q", acks, want)
	}
}

func must2i(t testing.TB) func(a, b int, err error) (int, int) {
	return func(a, b int, err error) (int, int) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

func must2l(t testing.TB) func(ms []muster.OutboxMessage, next string, err error) []muster.OutboxMessage {
	return func(ms []muster.OutboxMessage, next string, err error) []muster.OutboxMessage {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}
}

// testOutboxIdentity: a message is known by its household, instruction,
// version and channel; its idempotency key is MessageKey of those, and a
// key a caller gives that is another is refused (two messages sharing a
// key would have the provider drop one). Migration 0014, which made that
// the outbox's unique index and the key no longer unique on its own
// (rebuilding SQLite's table), keeps every message as it was: run again
// over a queue, it leaves the same messages, leased and read as before,
// and the same batch again is all duplicates.
func testOutboxIdentity(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	must(e.store.ImportHouseholds(e.ctx, batch(1, 6), muster.ImportOptions{}))(t)
	var ms []muster.OutboxMessage
	for i := 1; i <= 6; i++ {
		ms = append(ms, OutboxMessage(i, 1, muster.ChannelEmail), OutboxMessage(i, 1, muster.ChannelSMS))
	}
	ms[0].IdempotencyKey = muster.MessageKey(ms[0].HouseholdID, ms[0].InstructionID, 1, muster.ChannelEmail) // its own: fine
	if enq, dup := must2i(t)(e.store.EnqueueMessages(e.ctx, ms)); enq != len(ms) || dup != 0 {
		t.Fatalf("enqueue: %d, %d duplicates", enq, dup)
	}
	other := OutboxMessage(1, 2, muster.ChannelEmail)
	other.IdempotencyKey = muster.MessageKey(ms[1].HouseholdID, ms[1].InstructionID, 1, muster.ChannelSMS) // valid, but another message's
	_, _, err := e.store.EnqueueMessages(e.ctx, []muster.OutboxMessage{OutboxMessage(2, 2, muster.ChannelSMS), other})
	wantCode(t, err, muster.EINVALID, "a message given another message's idempotency key")
	if err == nil || !strings.Contains(err.Error(), "idempotency_key") {
		t.Fatalf("the refusal does not name the key: %v", err)
	}
	list := func() string {
		t.Helper()
		var b strings.Builder
		for _, m := range must2l(t)(e.store.ListMessages(e.ctx, muster.MessageFilter{Limit: 1000})) {
			fmt.Fprintf(&b, "%s %s %s %s %d %s %s %s\n", m.ID, m.IdempotencyKey, m.HouseholdID, m.InstructionID, m.InstructionVersion, m.Channel, m.Status, m.AckCode)
		}
		return b.String()
	}
	before := list()
	if strings.Count(before, "\n") != len(ms) {
		t.Fatalf("%d messages queued, want %d (the refused batch stored nothing):\n%s", strings.Count(before, "\n"), len(ms), before)
	}
	e.store.Close()
	e.db.Exec(t, `DELETE FROM schema_migrations WHERE version >= 14`)
	e.store = e.open(e.keys)
	if after := list(); after != before {
		t.Fatalf("migration 0014 again: the queue\n%s\nwas\n%s", after, before)
	}
	if enq, dup := must2i(t)(e.store.EnqueueMessages(e.ctx, ms)); enq != 0 || dup != len(ms) {
		t.Fatalf("the batch again after migration 0014: %d enqueued, %d duplicates", enq, dup)
	}
	leased := must(e.store.LeaseMessages(e.ctx, "worker-1", []string{muster.ChannelEmail}, 100, time.Minute, time.Now()))(t)
	if len(leased) != 6 || leased[0].Recipient == "" || !strings.Contains(leased[0].Body, "Reply") {
		t.Fatalf("leased after migration 0014: %d, %+v", len(leased), leased)
	}
}
