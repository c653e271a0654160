package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/instruct"
)

// From the demo's plan to instructions, their texts, a re-issue after the
// demo's re-plan, and the diff of the two: as an operator runs them.
func TestInstructionsFromDemoPlan(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := run(t, "demo", "--scale", "0.3", "--seed", "7", "--out", dir); err != nil {
		t.Fatal(err)
	}
	in := func(name string) string { return filepath.Join(dir, name) }
	common := []string{"--evacuees", in("evacuees.csv"), "--places", in("places.geojson"), "--graph", in("city.graph"),
		"--secret-file", in("deploy.secret"), "--contact-phone", "+93 20 210 0000"}

	// The demo's plan is proposed: no instructions from it until approved.
	args := append([]string{"instructions", "--plan", in("plan.json"), "-o", in("i1.jsonl")}, common...)
	if _, _, err := run(t, args...); err == nil || !strings.Contains(err.Error(), "approve it first") {
		t.Fatalf("instructions from a proposed plan: %v", err)
	}
	if _, _, err := run(t, "plan", "approve", in("plan.json")); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := run(t, append(args, "--render", in("texts"))...)
	if err != nil {
		t.Fatalf("instructions: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "created a new deployment secret in "+in("deploy.secret")) {
		t.Errorf("stderr: %s", stderr)
	}
	var p struct {
		Households []struct{ ID string } `json:"households"`
		Groups     []struct{ ID string } `json:"groups"`
	}
	readJSON(t, in("plan.json"), &p)
	v1 := readJSONL(t, in("i1.jsonl"))
	if len(v1) != len(p.Households)+len(p.Groups) {
		t.Fatalf("%d instructions for %d households and %d groups\n%s", len(v1), len(p.Households), len(p.Groups), out)
	}
	if want := "wrote " + in("i1.jsonl") + ": " + strconv.Itoa(len(v1)) + " instructions in force (" + strconv.Itoa(len(p.Households)) + " households"; !strings.Contains(out, want) {
		t.Errorf("no %q in\n%s", want, out)
	}
	seen := map[string]bool{}
	for _, i := range v1 {
		if seen[i.Series] {
			t.Errorf("%s twice", i.Series)
		}
		seen[i.Series] = true
		name := filepath.Join(dir, "texts", strings.ReplaceAll(i.ID, "/", "-"))
		for _, ext := range []string{".txt", ".html", ".sms.txt"} {
			if _, err := os.Stat(name + ext); err != nil {
				t.Fatalf("no %s%s: %v", name, ext, err)
			}
		}
		sms, _ := os.ReadFile(name + ".sms.txt")
		if size := instruct.MeasureSMS(strings.TrimSuffix(string(sms), "\n")); size.Segments > 2 {
			t.Errorf("%s: SMS of %d segments", i.ID, size.Segments)
		}
	}
	for _, h := range p.Households {
		if !seen["I-"+h.ID] {
			t.Errorf("household %s has no instruction", h.ID)
		}
	}

	// The re-plan, approved: only what changed is issued again.
	if _, _, err := run(t, "plan", "approve", in("proposed.json")); err != nil {
		t.Fatal(err)
	}
	out, stderr, err = run(t, append([]string{"instructions", "--plan", in("proposed.json"), "--previous", in("i1.jsonl"), "-o", in("i2.jsonl")}, common...)...)
	if err != nil {
		t.Fatalf("re-issue: %v\n%s", err, stderr)
	}
	m := regexp.MustCompile(`(\d+) instructions unchanged, (\d+) new versions, (\d+) first versions, (\d+) to revoke`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("re-issue says:\n%s", out)
	}
	unchanged, versions := atoi(m[1]), atoi(m[2])
	if unchanged == 0 || versions == 0 {
		t.Errorf("after a gate closes some instructions change and others do not:\n%s", out)
	}
	v2 := readJSONL(t, in("i2.jsonl"))
	bumped := 0
	for _, i := range v2 {
		if i.Version == 2 {
			bumped++
			if i.Supersedes != strings.TrimSuffix(i.ID, "/v2")+"/v1" {
				t.Errorf("%s supersedes %q", i.ID, i.Supersedes)
			}
		}
	}
	if bumped != versions {
		t.Errorf("%d second versions in the file, %d said", bumped, versions)
	}

	out, _, err = run(t, "instructions", "diff", in("i1.jsonl"), in("i2.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, strconv.Itoa(unchanged)+" unchanged, "+strconv.Itoa(versions)+" changed") || !strings.Contains(out, "what changed") {
		t.Errorf("diff:\n%s", out)
	}
	// A secret too short, a bad language, a file that is not instructions.
	if err := os.WriteFile(in("short.secret"), []byte("tiny\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{
		append(append([]string{"instructions", "--plan", in("plan.json"), "-o", in("x.jsonl")}, common...), "--secret-file", in("short.secret")),
		append(append([]string{"instructions", "--plan", in("plan.json"), "-o", in("x.jsonl")}, common...), "--lang-default", "de"),
		{"instructions", "diff", in("plan.json"), in("i2.jsonl")},
	} {
		if _, _, err := run(t, bad...); muster.ErrorCode(err) != muster.EINVALID {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

func readJSONL(t *testing.T, path string) []muster.Instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []muster.Instruction
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var in muster.Instruction
		if err := json.Unmarshal(sc.Bytes(), &in); err != nil {
			t.Fatal(err)
		}
		out = append(out, in)
	}
	return out
}
