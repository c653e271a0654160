package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/places"
	"github.com/muster-evac/muster/threat"
)

// TestSourceFile: the registry file as analysts keep it. set changes only
// the flags given and appends a line by the OS user, delete appends a
// deleted line, the file keeps its history, bad input changes nothing, and
// analysts changing one file at once lose nothing.
func TestSourceFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sources.jsonl")
	must := func(args ...string) string {
		t.Helper()
		out, stderr, err := run(t, append(args, "--file", file)...)
		if err != nil {
			t.Fatalf("muster %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return out
	}
	out := must("source", "set", "tg-17", "--reliability", "F", "--hostile", "--cluster", "gate-campaign", "--kind", "social",
		"--name", "Telegram account 17", "--note", "one of 40 new accounts, one text")
	if !strings.Contains(out, "set tg-17: reliability F, HOSTILE") {
		t.Errorf("set says %q", out)
	}
	must("source", "set", "us-defense-official", "--reliability", "B", "--kind", "official")
	// Only the flags given change.
	must("source", "set", "tg-17", "--reliability", "E")
	must("source", "set", "us-defense-official", "--no-hostile", "--note", "checked")
	reg := readRegistry(t, file)
	tg := reg.Grades()[0]
	if tg.ID != "tg-17" || tg.Reliability != "E" || !tg.Hostile || tg.Cluster != "gate-campaign" || tg.Kind != "social" ||
		tg.Name != "Telegram account 17" || tg.UpdatedBy != osUser() || time.Since(tg.UpdatedAt) > time.Minute {
		t.Errorf("after the second set: %+v", tg)
	}
	// An empty value clears a field.
	must("source", "set", "tg-17", "--cluster", "", "--no-hostile")
	if tg = readRegistry(t, file).Grades()[0]; tg.Cluster != "" || tg.Hostile || tg.Reliability != "E" {
		t.Errorf("after clearing: %+v", tg)
	}
	must("source", "delete", "us-defense-official", "--note", "duplicate of us-dod")
	reg = readRegistry(t, file)
	if len(reg.Lines) != 6 || !reg.Lines[5].Deleted || reg.Lines[5].Grade.Note != "duplicate of us-dod" || len(reg.Grades()) != 1 {
		t.Errorf("the file should keep its history, 6 lines, the last deleting: %+v", reg)
	}

	// Bad input: an error naming what is wrong, and the file unchanged.
	before, _ := os.ReadFile(file)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"source", "set", "tg-17", "--reliability", "G"}, "reliability"},
		{[]string{"source", "set", "tg-17", "--kind", "rumour"}, "kind"},
		{[]string{"source", "set", "tg-17", "--hostile", "--no-hostile"}, "not both"},
		{[]string{"source", "set", "tg-17"}, "nothing to set"},
		{[]string{"source", "set", "tg\x0717", "--reliability", "B"}, "control character"},
		{[]string{"source", "delete", "never-registered"}, "not in"},
		{[]string{"source", "list", "--db", "postgres://x/y"}, "not both"},
	} {
		_, _, err := run(t, append(c.args, "--file", file)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("muster %q: %v, want an error saying %q", c.args, err, c.want)
		}
	}
	if after, _ := os.ReadFile(file); !bytes.Equal(before, after) {
		t.Fatalf("refused commands changed the file:\n%s", after)
	}

	// list: a table, or JSON in the file's fields.
	out = must("source", "list")
	if !strings.Contains(out, "ID") || !strings.Contains(out, "tg-17") || strings.Contains(out, "us-defense-official") || !strings.Contains(out, "1 sources") {
		t.Errorf("list:\n%s", out)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(must("source", "list", "--format", "json")), &list); err != nil || len(list) != 1 || list[0]["reliability"] != "E" || list[0]["updated_by"] != osUser() {
		t.Errorf("list --format json: %v %+v", err, list)
	}

	// Analysts setting at once: every change is a whole line of its own.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := run(t, "source", "set", fmt.Sprintf("caller-%02d", i), "--reliability", "D", "--note", strings.Repeat("n", 1500), "--file", file); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if reg = readRegistry(t, file); len(reg.Grades()) != 21 || len(reg.Rejected) != 0 {
		t.Errorf("after 20 concurrent sets: %d grades, %d bad lines", len(reg.Grades()), len(reg.Rejected))
	}

	// A change waits for the lock another analyst holds on the file.
	held, err := os.OpenFile(file, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(held.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := run(t, "source", "set", "tg-17", "--reliability", "C", "--file", file)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("a change went ahead while the file was locked: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	syscall.Flock(int(held.Fd()), syscall.LOCK_UN)
	held.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if g := readRegistry(t, file).Grades(); g[len(g)-1].ID != "tg-17" || g[len(g)-1].Reliability != "C" {
		t.Errorf("the change made after the lock was released: %+v", g[len(g)-1])
	}

	// A file with a bad line is refused for changes, and named.
	if err := os.WriteFile(file, append(before, []byte(`{"id": "x", "reliability": "Q"}`+"\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, "source", "set", "tg-17", "--reliability", "A", "--file", file); err == nil || !strings.Contains(err.Error(), "line 7") {
		t.Errorf("a change to a file with a bad line: %v", err)
	}
	if out, stderr, err := run(t, "source", "list", "--file", file); err == nil || !strings.Contains(stderr, "line 7") || !strings.Contains(out, "tg-17") {
		t.Errorf("list of a file with a bad line: %v\n%s\n%s", err, out, stderr)
	}
}

func readRegistry(t *testing.T, path string) *threat.SourceFile {
	t.Helper()
	sf, err := threat.ReadSourceFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(sf.Rejected) > 0 {
		t.Fatalf("%s: %v", path, sf.Rejected)
	}
	return sf
}

// TestSourceStore: the same commands on the store of each backend, as the
// CLI's user, every change audited; import loads a registry file and
// re-importing changes nothing; export writes a file that reads back.
func TestSourceStore(t *testing.T) {
	for name, args := range storeBackends() {
		t.Run(name, func(t *testing.T) {
			store := args(t)
			if _, stderr, err := runIn(t, "tangerine zeppelin quartz 42\n", append([]string{"user", "add", "ops", "--role", "admin", "--password-stdin"}, store...)...); err != nil {
				t.Fatalf("user add: %v %s", err, stderr)
			}
			must := func(a ...string) string {
				t.Helper()
				out, stderr, err := run(t, append(a, store...)...)
				if err != nil {
					t.Fatalf("muster %s: %v\n%s", strings.Join(a, " "), err, stderr)
				}
				return out
			}
			must("source", "set", "tg-17", "--reliability", "F", "--hostile", "--cluster", "gate-campaign")
			must("source", "set", "tg-17", "--reliability", "E")
			if _, _, err := run(t, append([]string{"source", "set", "tg-17", "--reliability", "Z"}, store...)...); muster.ErrorCode(err) != muster.EINVALID {
				t.Errorf("a bad grade: %v", err)
			}
			if _, _, err := run(t, append([]string{"source", "delete", "nobody"}, store...)...); muster.ErrorCode(err) != muster.ENOTFOUND {
				t.Errorf("deleting an unknown source: %v", err)
			}

			// A registry file: two sources graded, one deleted after a grade.
			file := filepath.Join(t.TempDir(), "sources.jsonl")
			for _, a := range [][]string{
				{"set", "us-defense-official", "--reliability", "B", "--kind", "official"},
				{"set", "caller-5", "--reliability", "E"},
				{"set", "tg-17", "--reliability", "E", "--hostile", "--cluster", "gate-campaign"}, // as stored: unchanged
				{"delete", "caller-5"},
				{"set", "tg-18", "--hostile", "--cluster", "gate-campaign"},
			} {
				if _, stderr, err := run(t, append(append([]string{"source"}, a...), "--file", file)...); err != nil {
					t.Fatalf("%v: %v %s", a, err, stderr)
				}
			}
			out := must("source", "import", file, "--dry-run")
			if !strings.Contains(out, "2 would be set, 0 would be deleted, 2 unchanged") {
				t.Errorf("import --dry-run:\n%s", out)
			}
			out = must("source", "import", file)
			if !strings.Contains(out, "new  us-defense-official") || !strings.Contains(out, "2 set, 0 deleted, 2 unchanged") {
				t.Errorf("import:\n%s", out)
			}
			if out = must("source", "import", file); !strings.Contains(out, "0 set, 0 deleted, 4 unchanged") {
				t.Errorf("re-import changed something:\n%s", out)
			}
			// A file that deletes a stored source deletes it.
			if _, _, err := run(t, "source", "delete", "tg-18", "--file", file); err != nil {
				t.Fatal(err)
			}
			if out = must("source", "import", file); !strings.Contains(out, "deleted  tg-18") {
				t.Errorf("import of a deletion:\n%s", out)
			}
			// A bad file imports nothing.
			bad := filepath.Join(t.TempDir(), "bad.jsonl")
			os.WriteFile(bad, []byte(`{"id": "new-one", "reliability": "A"}`+"\n"+`{"id": "x", "hostile": "yes"}`+"\n"), 0o644)
			if _, stderr, err := run(t, append([]string{"source", "import", bad}, store...)...); muster.ErrorCode(err) != muster.EINVALID || !strings.Contains(stderr, "line 2") {
				t.Errorf("import of a bad file: %v %s", err, stderr)
			}

			out = must("source", "list")
			if !strings.Contains(out, "tg-17") || !strings.Contains(out, "us-defense-official") || strings.Contains(out, "new-one") || !strings.Contains(out, "2 sources") {
				t.Errorf("list:\n%s", out)
			}
			exported := filepath.Join(t.TempDir(), "export.jsonl")
			must("source", "export", "-o", exported)
			if _, _, err := run(t, append([]string{"source", "export", "-o", exported}, store...)...); err == nil {
				t.Errorf("export overwrote an existing registry file")
			}
			got := readRegistry(t, exported).Grades()
			if len(got) != 2 || got[0].ID != "tg-17" || got[0].Reliability != "E" || !got[0].Hostile || !strings.HasPrefix(got[0].UpdatedBy, "cli") {
				t.Errorf("exported %+v", got)
			}

			// Audited, as the CLI's user.
			sf := storeFlagsOf(t, store)
			st, err := sf.openStore(context.Background(), io.Discard, false)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			stored, err := st.Sources(context.Background())
			if err != nil || !reflect.DeepEqual(stored, got) {
				t.Errorf("export is not the store's registry: %v\n%+v\n%+v", err, stored, got)
			}
			entries, err := st.ListAudit(context.Background(), 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			var changes []string
			for _, en := range entries {
				if strings.HasPrefix(en.Action, "source.") {
					if en.Actor != cliActor() {
						t.Errorf("audited as %q, want %q", en.Actor, cliActor())
					}
					changes = append(changes, en.Action+" "+en.Target+": "+en.Detail)
				}
			}
			want := []string{
				"source.put source:tg-17: new: reliability F, hostile, cluster gate-campaign",
				"source.put source:tg-17: reliability F -> E",
				"source.put source:tg-18: new: hostile, cluster gate-campaign",
				"source.put source:us-defense-official: new: reliability B, kind official",
				"source.delete source:tg-18: deleted: was hostile, cluster gate-campaign",
			}
			if !reflect.DeepEqual(changes, want) {
				t.Errorf("audit:\n got %q\nwant %q", changes, want)
			}
		})
	}
}

// storeFlagsOf reads back the store flags a backend's args give.
func storeFlagsOf(t *testing.T, args []string) *storeFlags {
	sf := &storeFlags{}
	for i := 0; i+1 < len(args); i += 2 {
		switch args[i] {
		case "--data":
			sf.data = args[i+1]
		case "--db":
			sf.db = args[i+1]
		case "--key":
			sf.key = args[i+1]
		default:
			t.Fatalf("store flag %s", args[i])
		}
	}
	return sf
}

// TestThreatsAndPlanReadTheSourceRegistry: `muster threats --sources` and
// `muster plan --sources` build the picture under the file's registry; a
// registry with a bad line, or none where one is named, fails the command.
func TestThreatsAndPlanReadTheSourceRegistry(t *testing.T) {
	reports := scenarioFile(t, "kabul-2021/reports.jsonl")
	placesFile := scenarioFile(t, "kabul-2021/places.geojson")
	evacueesFile := scenarioFile(t, "kabul-2021/evacuees.csv")
	dir := t.TempDir()
	file := filepath.Join(dir, "sources.jsonl")
	// The analysts distrust the official source of the first reports and
	// mark another hostile.
	for _, a := range [][]string{
		{"set", "us-defense-official", "--reliability", "E"},
		{"set", "senior-diplomat-kabul", "--hostile", "--cluster", "c1"},
	} {
		if _, stderr, err := run(t, append(append([]string{"source"}, a...), "--file", file)...); err != nil {
			t.Fatalf("%v: %v %s", a, err, stderr)
		}
	}
	const at = "2021-08-21T18:00:00Z"
	out, stderr, err := run(t, "threats", "--reports", reports, "--places", placesFile, "--sources", file, "--at", at)
	if err != nil {
		t.Fatalf("threats --sources: %v %s", err, stderr)
	}
	// The picture is the one built under the registry.
	pl, err := places.ReadFile(placesFile)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := places.NewIndex(pl)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(reports)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	when, _ := time.Parse(time.RFC3339, at)
	res, err := threat.ParseReports(f, nil, threat.ParseOptions{Places: ix, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	geo := func(opts ...threat.Option) string {
		p, err := threat.Build(res.Reports(), pl, when, threat.DefaultPolicy(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		p.Rejected = append(res.Rejected, p.Rejected...)
		var b bytes.Buffer
		if err := threat.WriteGeoJSON(&b, p); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	with := geo(threat.WithSources(threat.NewSources(readRegistry(t, file).Grades())))
	if out != with {
		t.Errorf("muster threats --sources is not the picture under the registry")
	}
	if with == geo() {
		t.Log("the fusion does not read the registry yet: only that the command passes it is checked")
	}
	// The plan's picture too (its inputs, before any routing).
	pf := planFlags{places: placesFile, evacuees: evacueesFile, reports: reports, sources: file, at: at}
	cmd := newPlanCmd()
	cmd.SetErr(io.Discard)
	cmd.SetContext(context.Background())
	in, err := pf.load(cmd)
	if err != nil {
		t.Fatal(err)
	}
	p, err := threat.Build(res.Reports(), pl, when, threat.DefaultPolicy(), threat.WithSources(threat.NewSources(readRegistry(t, file).Grades())))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in.zones, p.RoutingZones()) || len(in.gateStatus) != len(p.Gates) {
		t.Errorf("the plan's picture is not the one under the registry")
	}
	for _, g := range p.Gates {
		if in.gateStatus[g.PlaceID] != g.Status {
			t.Errorf("gate %s: plan sees %s, the registry's picture %s", g.PlaceID, in.gateStatus[g.PlaceID], g.Status)
		}
	}

	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"id": "us-defense-official", "reliability": "E"}`+"\n"+`{"id": "x", "hostile": 1}`+"\n"), 0o644)
	planArgs := []string{"plan", "-q", "--graph", filepath.Join(dir, "none.graph"), "--places", placesFile, "--evacuees", evacueesFile, "--at", at, "-o", filepath.Join(dir, "plan.json")}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"threats", "--reports", reports, "--places", placesFile, "--sources", bad}, "line 2"},
		{[]string{"threats", "--reports", reports, "--places", placesFile, "--sources", filepath.Join(dir, "absent.jsonl")}, "absent.jsonl"},
		{append(planArgs, "--reports", reports, "--sources", bad), "line 2"},
		{append(planArgs, "--sources", file), "give --reports too"},
	} {
		_, _, err := run(t, c.args...)
		if muster.ErrorCode(err) != muster.EINVALID || !strings.Contains(err.Error(), c.want) {
			t.Errorf("muster %s: %v, want an EINVALID error saying %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}
