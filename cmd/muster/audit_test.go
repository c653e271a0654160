package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuditCheckpointsCLI: checkpoints appended by `muster audit
// checkpoint` catch a log cut with its head moved back, which the chains
// alone cannot; a forged checkpoint line is refused; and the log still
// verifies, checkpoints and all, after `muster wipe`.
func TestAuditCheckpointsCLI(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	cps := filepath.Join(t.TempDir(), "checkpoints.jsonl")
	const pw = "tangerine zeppelin quartz 42\n"
	for _, name := range []string{"alice", "bob", "carol"} {
		if _, stderr, err := runIn(t, pw, "user", "add", name, "--role", "viewer", "--password-stdin", "--data", data); err != nil {
			t.Fatalf("user add %s: %v %s", name, err, stderr)
		}
		if _, stderr, err := runIn(t, "", "audit", "checkpoint", "-o", cps, "--data", data); err != nil {
			t.Fatalf("audit checkpoint: %v %s", err, stderr)
		}
	}
	if st, err := os.Stat(cps); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("checkpoints file: %v %v, want mode 0600", st, err)
	}
	out, _, err := runIn(t, "", "audit", "verify", "--checkpoints", cps, "--data", data)
	if err != nil || !strings.Contains(out, "OK: 3 checkpoints match") {
		t.Fatalf("audit verify --checkpoints: %v\n%s", err, out)
	}

	// A forged line: the entry count raised, the signature kept.
	text, err := os.ReadFile(cps)
	if err != nil {
		t.Fatal(err)
	}
	forged := filepath.Join(t.TempDir(), "forged.jsonl")
	if err := os.WriteFile(forged, []byte(strings.Replace(string(text), `"seq":3`, `"seq":4`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _, err := runIn(t, "", "audit", "verify", "--checkpoints", forged, "--data", data); err == nil || !strings.Contains(out, "line 3: the signature does not verify") {
		t.Errorf("a forged checkpoint: %v\n%s", err, out)
	}

	// Cut the last entry and move the head back to the one before.
	db, err := sql.Open("sqlite", filepath.Join(data, sqliteFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`DELETE FROM audit WHERE seq = 3`,
		`UPDATE audit_head SET seq = 2, hash = (SELECT hash FROM audit WHERE seq = 2), mac = (SELECT mac FROM audit WHERE seq = 2) WHERE id = 1`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if out, _, err := runIn(t, "", "audit", "verify", "--data", data); err != nil || !strings.HasPrefix(out, "OK: 2 audit entries") {
		t.Fatalf("the cut log on its own: %v %s (the check below would prove less)", err, out)
	}
	out, _, err = runIn(t, "", "audit", "verify", "--checkpoints", cps, "--data", data)
	if err == nil || !strings.Contains(out, "BAD: ") || !strings.Contains(out, "entries 3 to 3 were removed") {
		t.Fatalf("a cut log against its checkpoints: %v\n%s", err, out)
	}

	// A fresh database: the log outlives a wipe.
	data = filepath.Join(t.TempDir(), "data2")
	cps = filepath.Join(t.TempDir(), "checkpoints2.jsonl")
	if _, _, err := runIn(t, pw, "user", "add", "alice", "--role", "admin", "--password-stdin", "--data", data); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runIn(t, "", "wipe", "--yes", "--data", data); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := runIn(t, "", "audit", "checkpoint", "-o", cps, "--data", data); err != nil {
		t.Fatalf("audit checkpoint after wipe: %v %s", err, stderr)
	}
	out, _, err = runIn(t, "", "audit", "verify", "--checkpoints", cps, "--data", data)
	if err != nil || !strings.HasPrefix(out, "OK: 2 audit entries") {
		t.Fatalf("audit verify after wipe: %v\n%s", err, out)
	}
	if _, _, err := runIn(t, "", "user", "list", "--data", data); err == nil {
		t.Error("a wiped database opened for anything but its audit log")
	}
}
