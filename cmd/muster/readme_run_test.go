package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/muster-evac/muster/internal/testshared"
)

// TestREADMERuns runs every shell block of README.md, as written and in
// order, in one bash, from a fresh folder that stands for the repository's
// root (../shared beside it), and checks that every command exits 0 but
// those the README says fail ("# exits N: ..."), which must exit N, and that
// the verdicts its comments announce (GENUINE AND CURRENT, CHECKED IN,
// REFUSED, FORGED, ...) are what the command printed. The blocks are read
// from the file itself, so the README cannot drift from what runs.
//
// A line "Try: COMMAND" that a command prints (the demo's) is run too,
// from the root, after the blocks: it must exit 0.
//
// What the test changes, and only this (readmePrelude):
//   - muster is this test binary playing muster (TestMain): `go build -o X
//     ./cmd/muster` copies it to X, `go run ./cmd/muster ARGS` runs it;
//     `go test ./...` is the run this test is part of and is not started
//     again; `go env` is Go's.
//   - A `muster serve` the README runs in the foreground (it serves until
//     Ctrl-C) runs in the background until it listens, and is stopped with
//     Ctrl-C (SIGINT, which must end it with status 0) before the next one
//     and at the end of its block.
//   - Each block starts in the root folder, with the shell variables of
//     the blocks before it, as in one terminal.
//   - MUSTER_DB is a schema of its own in MUSTER_TEST_POSTGRES: the
//     database `muster db init` says how to make.
//
// A block preceded by <!-- readme-test: skip: WHY --> is not run; none is
// today, and any such marker must say why running it is impossible.
func TestREADMERuns(t *testing.T) {
	testshared.Long(t)
	root := testshared.Root(t)
	for _, p := range runDocumentedShell(t, filepath.Join(root, "README.md"), docNeeds{servers: true, shared: true}) {
		t.Error(p)
	}
}

// TestDocsWalkthroughsRun runs the walk-throughs of docs/ that need
// neither a server reached by name nor files a reader brings, as
// TestREADMERuns runs the README, each from a fresh folder of its own:
// the tokens' (4 s) and the exercises' (about a minute on 2 loaded cores).
// The others show commands against servers and files of a deployment
// (evac.example.org, district8.geojson, secrets in /etc/muster):
// TestDocumentedCommandsExist checks those name real commands and flags.
func TestDocsWalkthroughsRun(t *testing.T) {
	testshared.Long(t)
	root := testshared.Root(t)
	for doc, needs := range map[string]docNeeds{"docs/instruction-tokens.md": {}, "docs/exercise.md": {shared: true}} {
		t.Run(filepath.Base(doc), func(t *testing.T) {
			for _, p := range runDocumentedShell(t, filepath.Join(root, doc), needs) {
				t.Error(p)
			}
		})
	}
}

// TestDocumentedShellRunnerCatches runs the runner on a small document:
// an unannounced failure, an announced one that does not fail, one that
// fails with another status and a verdict not printed are all caught;
// what the document announces rightly is not.
func TestDocumentedShellRunnerCatches(t *testing.T) {
	doc := filepath.Join(t.TempDir(), "doc.md")
	text := "# a document\n\n```sh\n" +
		"X=$(echo hello)\n" + // 4: fine, and X carries to the next block
		"sh -c 'exit 3'                 # exits 3: on purpose\n" + // 5: fine
		"echo 'CHECKED IN: yes'         # CHECKED IN\n" + // 6: fine
		"echo 'REFUSED: no'; false      # exits 1: REFUSED\n" + // 7: fine
		"cd /\n" + // 8: the next block starts at the root again
		"```\n\n<!-- readme-test: skip: a test of the marker -->\n```sh\nfalse\n```\n\n```bash\n" +
		"test \"$X\" = hello && test -e marker-root\n" + // 17: fine
		"sh -c 'exit 2'\n" + // 18: caught: not announced
		"true                           # exits 1: announced, but it succeeds\n" + // 19: caught
		"sh -c 'exit 4'                 # exits 1: another status\n" + // 20: caught twice
		"echo 'NOT CHECKED IN: no'      # CHECKED IN\n" + // 21: caught: another verdict
		"echo '{\"a\": 1,\n  \"b\": 2}' | grep -q b\n" + // 22-23: a quote across lines
		"echo 'Try: true'; echo 'Try: sh -c \"exit 5\"'\n" + // 24: the second caught
		"```\n"
	if err := os.WriteFile(doc, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	problems := runDocumentedShell(t, doc, docNeeds{})
	want := []string{"doc.md:18: exit status 2", "doc.md:19: the README says it exits 1, it exited 0", "doc.md:20: exit status 4", "doc.md:20: the README says it exits 1, it exited 4", "doc.md:21: the README announces CHECKED IN", "doc.md:24: the command printed \"Try: sh -c \\\"exit 5\\\"\", which fails"}
	if len(problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(problems), len(want), strings.Join(problems, "\n"))
	}
	for i, w := range want {
		if i < len(problems) && !strings.HasPrefix(problems[i], w) {
			t.Errorf("problem %d = %q, want %q...", i, problems[i], w)
		}
	}
}

// readmePorts are the ports the README's commands listen on.
var readmePorts = []int{8080, 8443, 1025, 8025}

// readmeLinks are the repository's paths the README's commands read, linked
// into the folder that stands for the root.
var readmeLinks = []string{"simulate"}

// shellBlock is one runnable ```sh block of a Markdown file.
type shellBlock struct {
	open, close int // line numbers of the fences
	skip        string
}

var (
	readmeSkipMarker = regexp.MustCompile(`^<!--\s*readme-test:\s*skip:\s*(.*?)\s*-->$`)
	readmeExits      = regexp.MustCompile(`#\s*exits (\d+):`)
	// readmeVerdicts are the verdicts of verify and checkin that a
	// comment may announce; the command must print the one announced.
	readmeVerdicts = regexp.MustCompile(`\b(GENUINE AND CURRENT|GENUINE BUT SUPERSEDED|SIGNED BY A REVOKED KEY|SIGNED BY AN UNKNOWN KEY|REVOKED|FORGED|EXPIRED|NOT CHECKED IN|CHECKED IN|REFUSED)\b`)
)

// shellBlocks finds the ```sh (bash, shell) blocks of a Markdown file's
// lines, with their skip markers.
func shellBlocks(t *testing.T, lines []string) []shellBlock {
	var out []shellBlock
	for i := 0; i < len(lines); i++ {
		trim := strings.TrimSpace(lines[i])
		if trim != "```sh" && trim != "```bash" && trim != "```shell" {
			if strings.HasPrefix(trim, "```") { // another language: skip to its end
				for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
				}
			}
			continue
		}
		b := shellBlock{open: i + 1}
		for j := i - 1; j >= 0; j-- {
			prev := strings.TrimSpace(lines[j])
			if prev == "" {
				continue
			}
			if m := readmeSkipMarker.FindStringSubmatch(prev); m != nil {
				if m[1] == "" {
					t.Errorf("line %d: a skip marker must say why the block cannot run", j+1)
				}
				b.skip = m[1]
			}
			break
		}
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
		}
		if i == len(lines) {
			t.Fatalf("line %d: a shell block that never ends", b.open)
		}
		b.close = i + 1
		out = append(out, b)
	}
	return out
}

// servesInForeground matches a command line that runs muster serve (or
// muster demo --serve) in the foreground: optional VAR=value words, then
// the command; the caller checks that it does not end with &.
var servesInForeground = regexp.MustCompile(`^((?:[A-Z_][A-Z0-9_]*=\S*\s+)*)((?:\./muster|muster|go run \./cmd/muster)\s+(?:serve\b.*|demo\b.*--serve\b.*))$`)

// shellScript writes the blocks to run as a bash script whose line N is
// the file's line N (so bash's $LINENO names the file's line), every other
// line blank; a block's fences call readme_block and readme_block_end.
func shellScript(lines []string, blocks []shellBlock) string {
	out := make([]string, len(lines))
	for _, b := range blocks {
		if b.skip != "" {
			continue
		}
		out[b.open-1] = fmt.Sprintf("readme_block %d", b.open)
		out[b.close-1] = "readme_block_end"
		continued := false
		for n := b.open; n < b.close-1; n++ {
			line := lines[n]
			code := strings.TrimSpace(stripComment(line))
			if m := servesInForeground.FindStringSubmatch(code); !continued && m != nil && !strings.HasSuffix(code, "&") && !strings.HasSuffix(code, "\\") {
				line = m[1] + "readme_background " + strconv.Itoa(n+1) + " " + m[2]
			}
			continued = strings.HasSuffix(code, "\\")
			out[n] = line
		}
	}
	return strings.Join(out, "\n") + "\n"
}

// stripComment drops a shell comment (a # outside quotes, after a blank or
// at the start) from a line.
func stripComment(line string) string {
	quote := byte(0)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return line[:i]
		}
	}
	return line
}

// readmePrelude is sourced before the blocks: the traps that record what
// each line printed and which commands failed, the go shim and the
// background servers (see TestREADMERuns).
const readmePrelude = `
set -E -T -o pipefail
# The markers go to a copy of standard output that command substitutions
# do not capture (-T: the DEBUG trap runs in them and in functions too).
exec 9>&1
readme_last=0
readme_mark() {
  if [ "$2" = "$READMETEST_SCRIPT" ] && [ "$1" != "$readme_last" ]; then
    readme_last=$1; printf '\n@@readme-line %s\n' "$1" >&9
  fi
}
readme_err() {
  if [ "$3" = "$READMETEST_SCRIPT" ]; then echo "$2 $1" >> "$READMETEST_DIR/failures"; fi
}
trap 'readme_err $? $LINENO "${BASH_SOURCE[0]}"' ERR
trap 'readme_mark $LINENO "${BASH_SOURCE[0]}"' DEBUG

go() {
  if [ "$1" = build ] && [ "$2" = -o ] && [ $# -eq 4 ] && [[ "$4" = ./cmd/muster || "$4" = ../cmd/muster ]]; then
    cp "$READMETEST_MUSTER" "$3"; return
  fi
  if [ "$1" = run ] && [ "$2" = ./cmd/muster ]; then shift 2; "$READMETEST_MUSTER" "$@"; return; fi
  if [ "$*" = "test ./..." ]; then echo "readme-test: go test ./... is the run this test is part of: not started again"; return 0; fi
  if [ "$1" = env ]; then command go "$@"; return; fi
  echo "readme-test: go $* is not a command this test knows" >&2; return 1
}

readme_bg_pid=""
readme_bg_line=""
readme_stop() {
  if [ -n "$readme_bg_pid" ]; then
    kill -INT "$readme_bg_pid" 2>/dev/null
    local rc=0
    wait "$readme_bg_pid" || rc=$?
    if [ "$rc" != 0 ]; then echo "$readme_bg_line stop:$rc" >> "$READMETEST_DIR/failures"; fi
    readme_bg_pid=""
  fi
}
readme_background() {
  readme_stop
  local line=$1; shift
  if [ "$1 $2 $3" = "go run ./cmd/muster" ]; then shift 3; set -- "$READMETEST_MUSTER" "$@"; fi
  local addr=localhost:8080 prev="" a
  for a in "$@"; do
    if [ "$prev" = --addr ]; then addr=$a; fi
    case "$a" in --addr=*) addr=${a#--addr=};; esac
    prev=$a
  done
  "$@" > "$READMETEST_DIR/serve-$line.log" 2>&1 &
  readme_bg_pid=$!
  readme_bg_line=$line
  local i
  for i in $(seq 1 1800); do
    if (exec 3<>"/dev/tcp/127.0.0.1/${addr##*:}") 2>/dev/null; then
      echo "readme-test: muster serve of line $line listens on $addr (log: serve-$line.log)"; return 0
    fi
    if ! kill -0 "$readme_bg_pid" 2>/dev/null; then
      local rc=0; wait "$readme_bg_pid" || rc=$?; readme_bg_pid=""
      cat "$READMETEST_DIR/serve-$line.log"
      echo "readme-test: muster serve of line $line ended before listening (status $rc)"; return 1
    fi
    sleep 0.1
  done
  echo "readme-test: muster serve of line $line does not listen on $addr after 180 s"; return 1
}
readme_block() { echo "readme-test: block of line $1 in $PWD"; }
readme_block_end() { readme_stop; cd "$READMETEST_ROOT" || return 1; }
readme_finish() {
  trap - DEBUG ERR
  readme_stop
  printf '\n@@readme-done\n'
  local p
  for p in $(jobs -p); do kill "$p" 2>/dev/null; done
  wait
  true
}
`

// runDocumentedShell runs the shell blocks of a Markdown file as
// TestREADMERuns says.
// docNeeds is what a document's commands need besides muster and bash:
// servers (ports, mailpit, PostgreSQL) and ../shared beside the root.
type docNeeds struct{ servers, shared bool }

func runDocumentedShell(t *testing.T, doc string, needs docNeeds) []string {
	bash, err := exec.LookPath("bash")
	if err != nil {
		testshared.Unavailable(t, "bash is not installed: %v", err)
	}
	for _, tool := range []string{"curl", "awk", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			testshared.Unavailable(t, "%s is not installed (the README's commands use it): %v", tool, err)
		}
	}
	repo := testshared.Root(t)
	var env []string
	if needs.servers {
		gopath, err := exec.Command("go", "env", "GOPATH").Output()
		if err != nil {
			testshared.Unavailable(t, "go env GOPATH: %v", err)
		}
		if _, err := os.Stat(filepath.Join(strings.TrimSpace(string(gopath)), "bin", "mailpit")); err != nil {
			testshared.Unavailable(t, "mailpit is not in $(go env GOPATH)/bin, where the README runs it (go install github.com/axllent/mailpit@v1.33.1): %v", err)
		}
		base := os.Getenv("MUSTER_TEST_POSTGRES")
		if base == "" {
			testshared.Unavailable(t, "MUSTER_TEST_POSTGRES is unset: the README runs a server on PostgreSQL")
		}
		for _, p := range readmePorts {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				testshared.Unavailable(t, "port %d, which the README's commands use, is taken: %v", p, err)
			}
			l.Close()
		}
		env = append(env, "MUSTER_DB="+readmePostgres(t, base))
	}

	raw, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	blocks := shellBlocks(t, lines)
	if len(blocks) == 0 {
		t.Fatalf("%s has no shell block", doc)
	}

	dir := t.TempDir()
	work := filepath.Join(dir, "root")
	for _, d := range []string{work, filepath.Join(dir, "bin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if needs.shared {
		if err := os.Symlink(filepath.Dir(testshared.Path(t, "data")), filepath.Join(dir, "shared")); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(work, "marker-root"), nil, 0o644); err != nil { // for TestDocumentedShellRunnerCatches: where each block starts
		t.Fatal(err)
	}
	for _, l := range readmeLinks {
		if err := os.Symlink(filepath.Join(repo, l), filepath.Join(work, l)); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	muster := filepath.Join(dir, "bin", "muster")
	if err := os.WriteFile(muster, []byte("#!/bin/sh\nMUSTER_TEST_RUN_MAIN=1 exec "+shellQuote(self)+` "$@"`+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "readme.sh")
	if err := os.WriteFile(script, []byte(shellScript(lines, blocks)), 0o644); err != nil {
		t.Fatal(err)
	}
	prelude := filepath.Join(dir, "prelude.sh")
	if err := os.WriteFile(prelude, []byte(readmePrelude+"\nsource "+shellQuote(script)+"\nreadme_finish\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tryPrelude := filepath.Join(dir, "try-prelude.sh")
	if err := os.WriteFile(tryPrelude, []byte(readmePrelude+"\ntrap - DEBUG ERR\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "output.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "--noprofile", "--norc", prelude)
	cmd.Dir = work
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Env = append(os.Environ(),
		"PATH="+filepath.Join(dir, "bin")+":"+os.Getenv("PATH"),
		"READMETEST_DIR="+dir,
		"READMETEST_ROOT="+work,
		"READMETEST_SCRIPT="+script,
		"READMETEST_MUSTER="+muster,
		"MUSTER_TEST_RUN_MAIN=",
	)
	cmd.Env = append(cmd.Env, env...)
	start := time.Now()
	runErr := cmd.Run()
	// Whatever a command left running (mailpit, a server) goes with the group.
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	t.Logf("%s ran in %s (output: %s)", filepath.Base(doc), time.Since(start).Round(time.Second), logPath)

	out, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	segments, done := outputByLine(string(out))
	dump := func() {
		if s := string(out); len(s) > 20000 {
			t.Logf("output (its last 20,000 bytes):\n%s", s[len(s)-20000:])
		} else {
			t.Logf("output:\n%s", s)
		}
	}
	if keep := os.Getenv("MUSTER_README_OUTPUT"); keep != "" {
		if err := os.WriteFile(keep, out, 0o644); err != nil {
			t.Error(err)
		}
	}
	if runErr != nil || !done {
		dump()
		t.Fatalf("%s: its commands did not run to the end (%v)", filepath.Base(doc), runErr)
	}
	name := filepath.Base(doc)

	// Failures: each must be announced by its line, with its status.
	failed := map[int]string{}
	if f, err := os.ReadFile(filepath.Join(dir, "failures")); err == nil {
		for _, l := range strings.Split(strings.TrimSpace(string(f)), "\n") {
			line, status, _ := strings.Cut(l, " ")
			n, _ := strconv.Atoi(line)
			if _, seen := failed[n]; !seen {
				failed[n] = status
			}
		}
	}
	expected := map[int]string{}
	for _, b := range blocks {
		if b.skip != "" {
			t.Logf("%s:%d: block not run: %s", name, b.open, b.skip)
			continue
		}
		for n := b.open + 1; n < b.close; n++ {
			if m := readmeExits.FindStringSubmatch(lines[n-1]); m != nil {
				expected[n] = m[1]
			}
		}
	}
	var bad []string
	for n, status := range failed {
		if expected[n] != status {
			bad = append(bad, fmt.Sprintf("%s:%d: exit status %s: %s\n%s", name, n, status, strings.TrimSpace(lines[n-1]), tail(segments[n], 3000)))
		}
	}
	for n, status := range expected {
		if got := failed[n]; got != status {
			if got == "" {
				got = "0"
			}
			bad = append(bad, fmt.Sprintf("%s:%d: the README says it exits %s, it exited %s: %s\n%s", name, n, status, got, strings.TrimSpace(lines[n-1]), tail(segments[n], 3000)))
		}
	}
	// Verdicts announced in a comment are the ones printed.
	for _, b := range blocks {
		if b.skip != "" {
			continue
		}
		for n := b.open + 1; n < b.close; n++ {
			comment := strings.TrimPrefix(lines[n-1], stripComment(lines[n-1]))
			v := readmeVerdicts.FindString(comment)
			if v == "" {
				continue
			}
			seg, ran := segments[n]
			if !ran {
				bad = append(bad, fmt.Sprintf("%s:%d: never ran: %s", name, n, strings.TrimSpace(lines[n-1])))
				continue
			}
			if !regexp.MustCompile(`(^|[^A-Z ])` + v + `\b`).MatchString(seg) {
				bad = append(bad, fmt.Sprintf("%s:%d: the README announces %s, the command printed:\n%s", name, n, v, tail(seg, 3000)))
			}
		}
	}
	// What a command tells the reader to try must work too (the demo's
	// "Try: muster route ..."), run from the root as the blocks are.
	for n, seg := range segments {
		for _, l := range strings.Split(seg, "\n") {
			try, ok := strings.CutPrefix(l, "Try: ")
			if !ok {
				continue
			}
			tc := exec.CommandContext(ctx, bash, "--noprofile", "--norc", "-c", `source "$1"; cd "$READMETEST_ROOT" && eval "$2"`, "try", tryPrelude, try)
			tc.Dir, tc.Env = work, cmd.Env
			if out, err := tc.CombinedOutput(); err != nil {
				bad = append(bad, fmt.Sprintf("%s:%d: the command printed %q, which fails (%v):\n%s", name, n, l, err, tail(string(out), 3000)))
			}
		}
	}
	sort.Strings(bad)
	return bad
}

// outputByLine splits the run's output at the markers the DEBUG trap
// prints, into what each line of the file printed; done says whether the
// run got to its end.
func outputByLine(out string) (map[int]string, bool) {
	segments := map[int]string{}
	line := 0
	done := false
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		l := sc.Text()
		if rest, ok := strings.CutPrefix(l, "@@readme-line "); ok {
			line, _ = strconv.Atoi(rest)
			segments[line] += ""
			continue
		}
		if l == "@@readme-done" {
			done = true
			line = 0
			continue
		}
		if line > 0 {
			segments[line] += l + "\n"
		}
	}
	return segments, done
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// readmePostgres makes a schema of its own in the database base names,
// dropped when t ends, and returns its URL.
func readmePostgres(t *testing.T, base string) string {
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("readme_%d", time.Now().UnixNano())
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		testshared.Unavailable(t, "PostgreSQL at MUSTER_TEST_POSTGRES: %v", err)
	}
	t.Cleanup(func() { admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); admin.Close() })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
