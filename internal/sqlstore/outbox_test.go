package sqlstore

import (
	"bytes"
	"errors"
	"testing"

	"github.com/muster-evac/muster"
)

// aadSealer "seals" by prefixing the aad, and opens only what was sealed
// with the same aad: enough to tell which field a row was read from.
type aadSealer struct{}

func (aadSealer) Seal(pt []byte, aad string) []byte { return append([]byte(aad+"|"), pt...) }
func (aadSealer) Open(ct []byte, aad string) ([]byte, error) {
	if !bytes.HasPrefix(ct, []byte(aad+"|")) {
		return nil, errors.New("message authentication failed")
	}
	return ct[len(aad)+1:], nil
}
func (aadSealer) Hash(kind, value string) []byte { return []byte(kind + value) }

// TestOutboxRowsOldAndNew: a message queued since migration 11 is read
// from its one sealed blob, one queued before from its sealed columns; a
// blob sealed for another message, or cut short, is refused.
func TestOutboxRowsOldAndNew(t *testing.T) {
	var k aadSealer
	m := muster.OutboxMessage{ID: "M1", Recipient: "a@example.org", Subject: "Your instruction", Body: "Go.", BodyHTML: "<p>Go.</p>", Link: "https://e.example.org/i/x"}
	fresh := outboxRow{m: muster.OutboxMessage{ID: "M1"}, content: k.Seal(outboxContent(&m), messageAAD("M1", "content"))}
	got, err := fresh.open(k)
	if err != nil || got.Recipient != m.Recipient || got.Subject != m.Subject || got.Body != m.Body || got.BodyHTML != m.BodyHTML || got.Link != m.Link {
		t.Fatalf("new row: %+v, %v", got, err)
	}
	old := outboxRow{m: muster.OutboxMessage{ID: "M2"}, recipient: k.Seal([]byte("b@example.org"), messageAAD("M2", "recipient")),
		subject: k.Seal([]byte("S"), messageAAD("M2", "subject")), body: k.Seal([]byte("B"), messageAAD("M2", "body")), html: k.Seal(nil, messageAAD("M2", "html"))}
	if got, err := old.open(k); err != nil || got.Recipient != "b@example.org" || got.Subject != "S" || got.Body != "B" || got.BodyHTML != "" || got.Link != "" {
		t.Fatalf("row queued before migration 11: %+v, %v", got, err)
	}
	moved := outboxRow{m: muster.OutboxMessage{ID: "M3"}, content: fresh.content}
	if _, err := moved.open(k); err == nil {
		t.Fatal("a blob sealed for M1 opened as M3's")
	}
	pt := outboxContent(&m)
	for _, bad := range [][]byte{pt[:len(pt)-1], append(bytes.Clone(pt), 0), append([]byte{9}, pt[1:]...)} {
		r := outboxRow{m: muster.OutboxMessage{ID: "M1"}, content: k.Seal(bad, messageAAD("M1", "content"))}
		if _, err := r.open(k); err == nil {
			t.Fatalf("content %q read", bad)
		}
	}
}
