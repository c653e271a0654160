package issue

import (
	"runtime/debug"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/credential"
)

// TestStatusesListOnlyWhatChanged: a verifier's statuses hold the
// instructions superseded or withdrawn, nothing else.
func TestStatusesListOnlyWhatChanged(t *testing.T) {
	st := Statuses(map[string]muster.InstructionStatus{
		"I-H1": {Latest: 1, Current: 1},
		"I-H2": {Latest: 3, Current: 3},
		"I-H3": {Latest: 1, Revoked: []int{1}},
		"I-H4": {Latest: 2, Current: 2, Revoked: []int{1}},
	})
	if _, ok := st["I-H1"]; ok || len(st) != 3 || st["I-H2"].Latest != 3 || !slices.Equal(st["I-H3"].Revoked, []uint32{1}) {
		t.Fatalf("statuses: %+v", st)
	}
	if err := st.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestClaimsBindTheInstruction: the signed claims carry what a checker
// needs, the version it supersedes, and the digest of every field; an
// escort's name its group; the token verifies and changes with any field.
func TestClaimsBindTheInstruction(t *testing.T) {
	at := time.Date(2021, 8, 26, 5, 0, 0, 0, time.UTC)
	in := muster.Instruction{ID: "I-H000042/v3", Series: "I-H000042", Version: 3, Supersedes: "I-H000042/v1", IssuedAt: at, ExpiresAt: at.Add(20 * time.Hour),
		Audience: muster.AudienceHousehold, Household: "H000042", RallyPoint: muster.InstructionPlace{ID: "rally-031"},
		ReportFrom: at.Add(time.Hour), ReportBy: at.Add(80 * time.Minute), Group: "G0012", GroupCode: "K7F-42", People: 5}
	c, err := Claims(&in, "kabul-2021")
	if err != nil {
		t.Fatal(err)
	}
	if c.TokenID() != in.ID || c.Supersedes != 1 || c.Household != "H000042" || c.Group != "K7F-42" || c.People != 5 || c.Digest != credential.ContentDigest(in.Canonical()) {
		t.Fatalf("claims: %+v", c)
	}
	kr, err := credential.NewKeyring("kabul-2021", 0, at.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := kr.Sign(c, at)
	if err != nil {
		t.Fatal(err)
	}
	if v := credential.Verify(tok, kr.Bundle(nil, at), at); v.Status != credential.Current {
		t.Fatal(v.String())
	}
	other := in
	other.CodeWord = "camel"
	if c2, _ := Claims(&other, "kabul-2021"); c2.Digest == c.Digest {
		t.Fatal("the digest does not bind the code word")
	}
	esc := in
	esc.Audience, esc.Household, esc.Series, esc.ID, esc.Supersedes, esc.Version = muster.AudienceEscort, "", "E-G0012", "E-G0012/v1", "", 1
	if c3, err := Claims(&esc, "kabul-2021"); err != nil || c3.Household != "G0012" {
		t.Fatalf("an escort's claims: %+v, %v", c3, err)
	}
	bad := in
	bad.Supersedes = "nonsense"
	if _, err := Claims(&bad, "kabul-2021"); muster.ErrorCode(err) != muster.EINVALID {
		t.Fatalf("a bad supersedes: %v", err)
	}
	if s1, s2 := newLinkSecret(), newLinkSecret(); len(s1) != 20 || s1 == s2 {
		t.Fatal("link secrets")
	}
}

// TestHoldCollectorPercent: an issuance holds the collector at its
// percent; issuances side by side share the hold, and the process's own
// percent comes back when the last one ends, whatever order they end in;
// a percent of 0 holds nothing.
func TestHoldCollectorPercent(t *testing.T) {
	current := func() int { p := debug.SetGCPercent(-1); debug.SetGCPercent(p); return p }
	defer debug.SetGCPercent(debug.SetGCPercent(200))
	release0 := holdCollectorPercent(0)
	if got := current(); got != 200 {
		t.Fatalf("a hold of 0 set %d", got)
	}
	release0()
	r1 := holdCollectorPercent(100)
	if got := current(); got != 100 {
		t.Fatalf("held: %d, want 100", got)
	}
	r2 := holdCollectorPercent(50) // side by side: the first one's holds
	if got := current(); got != 100 {
		t.Fatalf("a second hold changed it to %d", got)
	}
	r1()
	if got := current(); got != 100 {
		t.Fatalf("one of two ended: %d, want 100 still", got)
	}
	r2()
	if got := current(); got != 200 {
		t.Fatalf("both ended: %d, want the process's 200 back", got)
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() { holdCollectorPercent(100)() })
	}
	wg.Wait()
	if got := current(); got != 200 {
		t.Fatalf("after 16 holds side by side: %d, want 200", got)
	}
}
