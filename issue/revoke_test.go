package issue_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/credential"
	"github.com/muster-evac/muster/issue"
)

// TestRevokedKeyReissues: a signing key reported stolen makes every token
// it signed prove nothing. Rotating alone re-issues nothing (the old key's
// tokens still verify); once the old key is revoked, issuing again gives
// every instruction in force a new version with the same content, signed
// by the current key and queued to its household; the old tokens verify as
// signed by a revoked key, the new ones as genuine and current.
func TestRevokedKeyReissues(t *testing.T) {
	bp, ctx, now, st, kr := smallIssuance(t, 60, "revoke-test")
	planID := savePlan(t, ctx, st, bp.body)
	clock := now
	is, err := issue.New(issue.Config{Store: st, Keyring: kr, Secret: []byte("a test secret of 32 bytes or more"), Streets: bp.streets,
		PublicURL: "https://evac.example.org", Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	first, err := is.Approve(ctx, planID)
	if err != nil {
		t.Fatal(err)
	}
	if first.Issued == 0 || first.Resigned != 0 {
		t.Fatalf("approval: %+v", first)
	}
	before := current(t, st)
	oldKey := kr.Active().ID()

	// A new key signs from now on; the old one is still trusted.
	clock = now.Add(10 * time.Minute)
	if _, err := kr.Rotate(clock); err != nil {
		t.Fatal(err)
	}
	again, err := is.Issue(ctx, planID)
	if err != nil {
		t.Fatal(err)
	}
	if again.Issued != 0 || again.Resigned != 0 || again.Enqueued != 0 {
		t.Fatalf("after a rotation alone, nothing is issued: %+v", again)
	}

	// The old key is reported stolen.
	clock = now.Add(20 * time.Minute)
	if _, err := kr.Revoke(oldKey, "the laptop that held it was stolen", clock); err != nil {
		t.Fatal(err)
	}
	re, err := is.Issue(ctx, planID)
	if err != nil {
		t.Fatal(err)
	}
	if re.Issued != len(before) || re.Superseded != len(before) || re.Resigned != len(before) || re.Revoked != 0 {
		t.Fatalf("after the revocation: issued %d, superseded %d, signed again %d, revoked %d; want %d of the first three",
			re.Issued, re.Superseded, re.Resigned, re.Revoked, len(before))
	}
	if re.Enqueued != first.Enqueued {
		t.Fatalf("queued %d messages, the approval %d: every household gets its new version", re.Enqueued, first.Enqueued)
	}
	after := current(t, st)
	b, err := issue.Bundle(ctx, st, kr)
	if err != nil {
		t.Fatal(err)
	}
	for series, old := range before {
		nw, ok := after[series]
		if !ok {
			t.Fatalf("%s: no current version after the re-issue", series)
		}
		if nw.Version != old.Version+1 || nw.Supersedes != old.ID || !slices.Equal(nw.Changes, []string{muster.ChangedSignature}) {
			t.Fatalf("%s: new version %d superseding %q, changes %v; want %d superseding %s, changes [signature]", series, nw.Version, nw.Supersedes, nw.Changes, old.Version+1, old.ID)
		}
		if fields := muster.Changed(&old.Instruction, &nw.Instruction); len(fields) != 0 {
			t.Fatalf("%s: the content changed (%v): only the signature should", series, fields)
		}
		kid, err := credential.TokenKeyID(nw.Token)
		if err != nil || kid != kr.Active().ID() {
			t.Fatalf("%s: the new token is signed by %s (%v), not the current key %s", series, kid, err, kr.Active().ID())
		}
		if v := credential.Verify(old.Token, b, clock); v.Status != credential.RevokedKey {
			t.Fatalf("%s: the old token verifies as %s, want signed by a revoked key", series, v.Status)
		}
		if v := credential.Verify(nw.Token, b, clock); v.Status != credential.Current {
			t.Fatalf("%s: the new token verifies as %s (%s), want genuine and current", series, v.Status, v.Reason)
		}
	}
	// Done once: issuing again changes nothing.
	if last, err := is.Issue(ctx, planID); err != nil || last.Issued != 0 {
		t.Fatalf("issuing once more: %+v, %v", last, err)
	}
}

// current is every current instruction of st, by series, tokens included.
func current(t *testing.T, st muster.Store) map[string]muster.IssuedInstruction {
	t.Helper()
	out := map[string]muster.IssuedInstruction{}
	after := ""
	for {
		page, next, err := st.ListInstructions(context.Background(), muster.InstructionFilter{Status: muster.InstructionCurrent, AfterID: after, Limit: 1000}, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range page {
			out[in.Series] = in
		}
		if next == "" {
			return out
		}
		after = next
	}
}
