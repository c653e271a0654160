package storetest

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
)

// UndoMigration11 puts a database back as schema 10 had it: each plan's
// body in its row, no plan_bodies, no content_enc in the outbox (the
// messages queued since lose their sealed fields: tests undo it before
// queueing any), and migration 11 forgotten. The same SQL runs on both
// backends.
const UndoMigration11 = `UPDATE plans SET body_enc = (SELECT b.body_enc FROM plan_bodies b WHERE b.plan_id = plans.id);
	DROP TABLE plan_bodies;
	ALTER TABLE outbox DROP COLUMN content_enc;
	DELETE FROM schema_migrations WHERE version >= 11;`

// testOutboxRenderedWhenSent: an instruction's e-mail or webhook may be
// queued with the household's link and no bodies, to be rendered when it
// is sent; the lease gives the link back (sealed at rest like the rest),
// and a message that is neither rendered nor to be rendered, or an SMS or
// an advisory to be rendered, is refused.
func testOutboxRenderedWhenSent(t *testing.T, fresh Fresh) {
	e := setup(t, fresh)
	must(e.store.ImportHouseholds(e.ctx, batch(1, 3), muster.ImportOptions{}))(t)
	const link = "https://evac.example.org/i/qwertyuiopasdfghjklz"
	toRender := func(i int, channel string) muster.OutboxMessage {
		m := OutboxMessage(i, 1, channel)
		m.Subject, m.Body, m.BodyHTML, m.Link = "", "", "", link
		return m
	}
	ms := []muster.OutboxMessage{toRender(1, muster.ChannelEmail), toRender(2, muster.ChannelWebhook), OutboxMessage(3, 1, muster.ChannelSMS)}
	if enq, _ := must2i(t)(e.store.EnqueueMessages(e.ctx, ms)); enq != 3 {
		t.Fatalf("enqueued %d, want 3", enq)
	}
	for what, bad := range map[string]func(m *muster.OutboxMessage){
		"an SMS":         func(m *muster.OutboxMessage) { m.Channel, m.Recipient = muster.ChannelSMS, household(3).Phone },
		"with a body":    func(m *muster.OutboxMessage) { m.Body = "hello" },
		"with a subject": func(m *muster.OutboxMessage) { m.Subject = "hello" },
		"an advisory": func(m *muster.OutboxMessage) {
			m.InstructionID, m.InstructionVersion = muster.AdvisoryMessageID("A1"), 0
		},
		"a link of 2 lines":  func(m *muster.OutboxMessage) { m.Link = link + "\nBcc: x" },
		"a link too long":    func(m *muster.OutboxMessage) { m.Link = link + strings.Repeat("x", muster.MaxMessageLink) },
		"no link, no bodies": func(m *muster.OutboxMessage) { m.Link = "" },
	} {
		m := toRender(3, muster.ChannelEmail)
		m.InstructionVersion = 2
		bad(&m)
		_, _, err := e.store.EnqueueMessages(e.ctx, []muster.OutboxMessage{m})
		wantCode(t, err, muster.EINVALID, "enqueue "+what)
	}
	got := must(e.store.LeaseMessages(e.ctx, "w", nil, 10, time.Minute, time.Now().Add(time.Minute)))(t)
	if len(got) != 3 {
		t.Fatalf("leased %d, want 3", len(got))
	}
	byHousehold := map[string]muster.OutboxMessage{}
	for _, m := range got {
		byHousehold[m.HouseholdID] = m
	}
	for _, want := range ms {
		m := byHousehold[want.HouseholdID]
		if m.Link != want.Link || m.Recipient != want.Recipient || m.Body != want.Body || m.Subject != want.Subject || m.BodyHTML != want.BodyHTML || m.AckCode != want.AckCode {
			t.Fatalf("leased %+v\nqueued %+v", m, want)
		}
	}
	raw := e.db.Raw(t)
	for _, v := range []string{"qwertyuiopasdfghjklz", household(1).Email, household(3).Phone} {
		if bytes.Contains(raw, []byte(v)) {
			t.Fatalf("%q is stored in clear", v)
		}
	}
}

// testMigration11: a database at schema 10 (each plan's body in its row)
// ends, once opened, with the bodies in plan_bodies and the rows empty of
// them; the plans read back whole, and approving one leaves its body be.
func testMigration11(t *testing.T, fresh Fresh) {
	e := &env{t: t, db: fresh(t), keys: NewKeys(), ctx: muster.WithActor(context.Background(), "tester")}
	first := must(e.db.Open(e.ctx, e.keys.DataKeys()))(t)
	bodies := map[string]string{}
	for i, b := range []string{`{"version":1,"households":["H000001"]}`, `{"version":1,"households":["H000002","H000003"]}`} {
		p := must(first.SavePlan(e.ctx, muster.PlanRecord{Body: []byte(b), Summary: []byte(`{}`)}))(t)
		bodies[p.ID] = b
		if i == 0 {
			must(first.ApprovePlan(e.ctx, p.ID))(t)
		}
	}
	first.Close()
	e.db.Exec(t, UndoMigration11)
	s := e.open(e.keys)
	for id, b := range bodies {
		if p := must(s.GetPlan(e.ctx, id))(t); string(p.Body) != b {
			t.Fatalf("plan %s after migration 11: %s, want %s", id, p.Body, b)
		}
	}
	// The plans' rows hold their bodies no more: a row that still did
	// would be copied to plan_bodies again here, and clash with its body.
	e.db.Exec(t, `INSERT INTO plan_bodies (plan_id, body_enc) SELECT id, body_enc FROM plans WHERE length(body_enc) > 0`)
	if p := must(s.CurrentPlan(e.ctx))(t); bodies[p.ID] == "" || string(p.Body) != bodies[p.ID] {
		t.Fatalf("current plan after migration 11: %s %s", p.ID, p.Body)
	}
	for id, b := range bodies {
		if p, err := s.GetPlan(e.ctx, id); err == nil && p.Status == muster.PlanProposed {
			must(s.ApprovePlan(e.ctx, id))(t)
			if p := must(s.CurrentPlan(e.ctx))(t); p.ID != id || string(p.Body) != b {
				t.Fatalf("approved after migration 11: %s %s", p.ID, p.Body)
			}
		}
	}
}
