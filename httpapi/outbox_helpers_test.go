package httpapi

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/deliver"
)

// testAckKey signs the SMS gateway's replies in tests.
var testAckKey = []byte("the SMS gateway's reply-signing key")

// testTwilio is how the test servers take a Twilio-style gateway's
// replies.
var testTwilio = TwilioInbound{AuthToken: "the gateway account's auth token", URL: "https://muster.test/api/ack/twilio", AccountSID: "ACmuster"}

// ackCodeOf is the reply code of household id's instructions in tests.
func ackCodeOf(id string) string {
	var sum int
	for _, c := range id {
		sum = sum*31 + int(c)
	}
	return fmt.Sprintf("%06d", (sum%900000+900000)%900000+100000)
}

// queueInstruction queues instruction instr for household hh by SMS and
// e-mail, both carrying the household's reply code.
func (e *testEnv) queueInstruction(hh, instr string) []muster.OutboxMessage {
	e.t.Helper()
	ms := []muster.OutboxMessage{
		{HouseholdID: hh, InstructionID: instr, InstructionVersion: 1, Channel: muster.ChannelSMS, Recipient: "+93700000001",
			Body: "Be at rally point 7 at 06:00. Reply " + ackCodeOf(hh) + " to confirm.", AckCode: ackCodeOf(hh)},
		{HouseholdID: hh, InstructionID: instr, InstructionVersion: 1, Channel: muster.ChannelEmail, Recipient: "family@example.org",
			Subject: "Your instruction", Body: "Be at rally point 7 at 06:00.", AckCode: ackCodeOf(hh)},
	}
	if _, _, err := e.store.EnqueueMessages(muster.WithActor(context.Background(), "fixture"), ms); err != nil {
		e.t.Fatal(err)
	}
	return ms
}

// deadLetter queues a message for e.hh and makes it a dead letter; it
// returns its id.
func (e *testEnv) deadLetter(instr string) string {
	e.t.Helper()
	e.queueInstruction(e.hh, instr)
	ctx := muster.WithActor(context.Background(), "fixture")
	for {
		ms, err := e.store.LeaseMessages(ctx, "fixture-worker", nil, 10, time.Minute, time.Time{})
		if err != nil {
			e.t.Fatal(err)
		}
		if len(ms) == 0 {
			e.t.Fatal("no message leased")
		}
		var id string
		for _, m := range ms {
			out := muster.MessageResult{Outcome: muster.OutcomeSent}
			if m.InstructionID == instr {
				out, id = muster.MessageResult{Outcome: muster.OutcomeDead, Error: "smtp: 550 no such user"}, m.ID
			}
			if _, err := e.store.CompleteMessage(ctx, m.ID, "fixture-worker", out); err != nil {
				e.t.Fatal(err)
			}
		}
		if id != "" {
			return id
		}
	}
}

// signedReply is the SMS gateway's signed post of a reply.
func (e *testEnv) signedReply(from, text string) []byte {
	return mustJSON(ackCodeRequest{From: from, Body: text})
}

// signHeaders signs body as the gateway does.
func signHeaders(key, body []byte, id string, at time.Time) map[string]string {
	ts := at.Unix()
	return map[string]string{deliver.HeaderWebhookID: id, deliver.HeaderWebhookTimestamp: strconv.FormatInt(ts, 10),
		deliver.HeaderWebhookSignature: deliver.Sign(key, id, ts, body)}
}
