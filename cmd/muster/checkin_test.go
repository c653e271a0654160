package main

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/credential"
	"github.com/muster-evac/muster/httpapi"
	"github.com/muster-evac/muster/issue"
	"github.com/muster-evac/muster/storetest"
)

// TestCheckinAndVerifyOnline: `muster checkin` checks a token in once
// through the store, refuses the copy saying where and when the first
// check-in happened, never checks a forged token in, and checks a
// household in by its id; `muster verify --server` asks a server.
func TestCheckinAndVerifyOnline(t *testing.T) {
	data, _ := keysInit(t, "cli-deploy")
	ctx := muster.WithActor(context.Background(), "tester")
	sf := storeFlags{data: data}
	st, err := sf.openStore(ctx, io.Discard, true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	master, err := sf.masterKey(io.Discard, false)
	if err != nil {
		t.Fatal(err)
	}
	kr, _, err := credential.ReadKeyringFile(filepath.Join(data, signingKeysFile), master)
	if err != nil {
		t.Fatal(err)
	}
	// Three households, each issued a signed instruction.
	var hs []muster.Household
	for i := 1; i <= 3; i++ {
		hs = append(hs, muster.Household{ID: storetest.IssuedFixture(i, 1, 0, "", time.Now()).Household, Name: "Family", PartySize: 2, Adults: 2, Language: muster.LangEnglish})
	}
	if _, err := st.ImportHouseholds(ctx, hs, muster.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := st.SavePlan(ctx, muster.PlanRecord{Body: []byte(`{"version":1}`), Summary: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	b := muster.IssueBatch{ApprovePlan: p.ID, Plan: p.ID}
	var tokens []string
	for i := 1; i <= 3; i++ {
		in := storetest.IssuedFixture(i, 1, 0, p.ID, now)
		c, err := issue.Claims(&in.Instruction, kr.Deployment())
		if err != nil {
			t.Fatal(err)
		}
		if in.Token, err = kr.Sign(c, now); err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, in.Token)
		b.Issue = append(b.Issue, in)
	}
	if _, err := st.IssueInstructions(ctx, b); err != nil {
		t.Fatal(err)
	}

	out, _, err := run(t, "checkin", tokens[0], "--rally", "RP-011", "--data", data)
	if err != nil || !strings.Contains(out, "CHECKED IN: I-H000001/v1 at RP-011") {
		t.Fatalf("checkin: %v\n%s", err, out)
	}
	out, _, err = run(t, "checkin", tokens[0], "--rally", "RP-040", "--data", data, "--by", "officer-9")
	if !errors.Is(err, errNotCheckedIn) || !strings.Contains(out, "REFUSED") || !strings.Contains(out, "at RP-011") {
		t.Fatalf("a second checkin: %v\n%s", err, out)
	}
	forged := strings.Replace(tokens[1], tokens[1][20:21], map[bool]string{true: "B", false: "A"}[tokens[1][20] == 'A'], 1)
	out, _, err = run(t, "checkin", forged, "--rally", "RP-011", "--data", data)
	if !errors.Is(err, errNotCheckedIn) || !strings.Contains(out, "NOT CHECKED IN: FORGED") {
		t.Fatalf("a forged token: %v\n%s", err, out)
	}
	out, _, err = run(t, "checkin", "--household", "H000003", "--rally", "RP-012", "--data", data)
	if !errors.Is(err, errNotCheckedIn) || !strings.Contains(out, "NOT CHECKED IN: I-H000003/v1 is for rally point RP-011, not RP-012") {
		t.Fatalf("checkin by household at another rally point: %v\n%s", err, out)
	}
	out, _, err = run(t, "checkin", "--household", "H000003", "--rally", "RP-011", "--data", data)
	if err != nil || !strings.Contains(out, "CHECKED IN: I-H000003/v1") {
		t.Fatalf("checkin by household: %v\n%s", err, out)
	}
	// At another rally point: refused, unless the officer says why.
	out, _, err = run(t, "checkin", tokens[1], "--rally", "RP-040", "--data", data)
	if !errors.Is(err, errNotCheckedIn) || !strings.Contains(out, "NOT CHECKED IN: I-H000002/v1 is for rally point RP-011, not RP-040") {
		t.Fatalf("a token at another rally point: %v\n%s", err, out)
	}
	out, _, err = run(t, "checkin", tokens[1], "--rally", "RP-040", "--data", data, "--other-rally", "RP-011 is under fire")
	if err != nil || !strings.Contains(out, "CHECKED IN: I-H000002/v1 at RP-040") {
		t.Fatalf("a token admitted at another rally point: %v\n%s", err, out)
	}
	entries, err := st.ListAudit(ctx, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var audited []string
	for _, en := range entries {
		if strings.HasPrefix(en.Action, "checkin.other_rally") {
			audited = append(audited, en.Action+" "+en.Target+" "+en.Detail)
		}
	}
	if len(audited) != 3 || !strings.Contains(audited[2], "checkin.other_rally instruction:I-H000002/v1") || !strings.Contains(audited[2], "RP-011 is under fire") {
		t.Fatalf("audited: %q", audited)
	}
	if _, _, err := run(t, "checkin", tokens[1], "--data", data); err == nil || !strings.Contains(err.Error(), "--rally") {
		t.Fatalf("no rally point: %v", err)
	}

	// Online: the server's verdict, printed as muster verify prints its own.
	iss, err := issue.New(issue.Config{Store: st, Keyring: kr, Secret: issue.CodesSecret(master)})
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Store: st, Issuer: iss, IPRate: -1, AccountRate: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	srv := httptest.NewServer(api)
	defer srv.Close()
	out, _, err = run(t, "verify", "--server", srv.URL, tokens[1])
	if err != nil || !strings.HasPrefix(out, "GENUINE AND CURRENT") || !strings.Contains(out, "verified by "+srv.URL) {
		t.Fatalf("verify --server: %v\n%s", err, out)
	}
	out, _, err = run(t, "verify", "--server", srv.URL, forged)
	if !errors.Is(err, errNotCurrent) || !strings.HasPrefix(out, "FORGED") {
		t.Fatalf("verify --server, forged: %v\n%s", err, out)
	}
	if _, _, err := run(t, "verify", "--server", srv.URL, "--bundle", "x", tokens[1]); err == nil {
		t.Fatal("--server with --bundle accepted")
	}

	// H000002's instruction revoked (a re-plan without it): verified
	// beside the store, or offline with a bundle exported from it, it is.
	p2, err := st.SavePlan(ctx, muster.PlanRecord{Body: []byte(`{"version":1}`), Summary: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.IssueInstructions(ctx, muster.IssueBatch{ApprovePlan: p2.ID, Plan: p2.ID, Basis: p.ID, Revoke: []string{"I-H000002/v1"}}); err != nil {
		t.Fatal(err)
	}
	out, err = verify(t, tokens[1], "--data", data)
	if !errors.Is(err, errNotCurrent) || !strings.HasPrefix(out, "REVOKED") || strings.Contains(out, "no instruction statuses") {
		t.Fatalf("verify beside the store: %v\n%s", err, out)
	}
	bundle := filepath.Join(t.TempDir(), "b.bundle")
	if _, stderr, err := run(t, "keys", "export-public", "--data", data, "--bundle", bundle, "-o", filepath.Join(t.TempDir(), "keys.json")); err != nil || !strings.Contains(stderr, "1 instruction statuses") {
		t.Fatalf("export-public: %v\n%s", err, stderr)
	}
	out, err = verify(t, tokens[1], "--bundle", bundle, "--trust", kr.Keys()[0].Fingerprint().String())
	if !errors.Is(err, errNotCurrent) || !strings.HasPrefix(out, "REVOKED") {
		t.Fatalf("verify offline: %v\n%s", err, out)
	}
}
