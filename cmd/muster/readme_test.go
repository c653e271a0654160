package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muster-evac/muster/internal/testshared"
)

// TestDocumentedCommandsExist reads every shell block of the README and the
// docs, and checks each muster command in them against the real command
// tree: the command exists, and every flag it is given is one of that
// command's flags. Documentation that names a command or a flag muster no
// longer has fails here, the day it drifts.
func TestDocumentedCommandsExist(t *testing.T) {
	root := testshared.Root(t)
	files := []string{filepath.Join(root, "README.md")}
	docs, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	files = append(files, docs...)
	more, _ := filepath.Glob(filepath.Join(root, "*", "*.md"))
	files = append(files, more...)
	checked := 0
	for _, f := range files {
		for _, c := range documentedCommands(t, f) {
			checked++
			if err := checkDocumentedCommand(c.args); err != nil {
				t.Errorf("%s:%d: muster %s: %v", c.file, c.line, strings.Join(c.args, " "), err)
			}
		}
	}
	if checked < 40 {
		t.Errorf("only %d documented muster commands found: is the extraction broken?", checked)
	}
}

// checkDocumentedCommand says whether args name a muster command and
// give it only flags it has.
func checkDocumentedCommand(args []string) error {
	root := newRootCmd()
	cmd, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	if cmd == root && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return fmt.Errorf("no such command %q", args[0])
	}
	if !cmd.Runnable() && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		return fmt.Errorf("%s has no subcommand %q", cmd.CommandPath(), rest[0])
	}
	return cmd.ParseFlags(flagsOnly(rest))
}

func TestCheckDocumentedCommand(t *testing.T) {
	for _, ok := range [][]string{{"demo"}, {"route", "--graph", "g", "--from", "1,2"}, {"plan", "check", "--plan", "p.json"}, {"keys", "init", "--deployment", "x"}, {"verify", "MU1:..."}} {
		if err := checkDocumentedCommand(ok); err != nil {
			t.Errorf("%v: %v", ok, err)
		}
	}
	for _, bad := range [][]string{{"demolish"}, {"route", "--grahp", "g"}, {"plan", "chek", "--plan", "p"}, {"keys", "burn"}, {"plan", "check", "--no-such-flag"}} {
		if err := checkDocumentedCommand(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	if got := musterInvocations(shellWords(`go build -o muster ./cmd/muster && ./muster demo --out x   # comment`)); len(got) != 1 || strings.Join(got[0], " ") != "demo --out x" {
		t.Errorf("invocations = %q", got)
	}
	if got := musterInvocations(shellWords(`echo 'pw 1' | ./muster user add p --role planner --password-stdin 2> err.log`)); len(got) != 1 || strings.Join(got[0], " ") != "user add p --role planner --password-stdin" {
		t.Errorf("invocations = %q", got)
	}
}

// flagsOnly keeps the flags of args and their values (ParseFlags needs
// no positional arguments, which a command checks itself).
func flagsOnly(args []string) []string {
	var out []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") || len(out) > 0 {
			out = append(out, a)
		}
	}
	return out
}

type documentedCommand struct {
	file string
	line int
	args []string
}

// documentedCommands extracts the muster commands of the ```sh blocks of
// a Markdown file: lines that run ./muster, muster or go run ./cmd/muster
// (after a pipe or && too), continuation lines joined, comments and
// shell redirections dropped, variables left as words.
func documentedCommands(t *testing.T, path string) []documentedCommand {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rel := path
	if r, err := filepath.Rel(testshared.Root(t), path); err == nil {
		rel = r
	}
	var out []documentedCommand
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	in, n, start := false, 0, 0
	var pending string
	for sc.Scan() {
		n++
		line := sc.Text()
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "```") {
			in = !in && (trim == "```sh" || trim == "```bash" || trim == "```shell")
			pending = ""
			continue
		}
		if !in {
			continue
		}
		if pending == "" {
			start = n
		}
		if strings.HasSuffix(trim, "\\") {
			pending += strings.TrimSuffix(trim, "\\") + " "
			continue
		}
		full := pending + trim
		pending = ""
		for _, words := range musterInvocations(shellWords(full)) {
			out = append(out, documentedCommand{file: rel, line: start, args: words})
		}
	}
	return out
}

// musterInvocations finds the muster commands among the words of one
// shell line, each up to the next |, &&, ;, & or redirection.
func musterInvocations(words []string) [][]string {
	var out [][]string
	for i := 0; i < len(words); i++ {
		w := words[i]
		skip := 0
		switch {
		case w == "./muster" || w == "muster" || strings.HasSuffix(w, "/muster") && !strings.Contains(w, "cmd/"):
			skip = 1
		case w == "go" && i+2 < len(words) && words[i+1] == "run" && words[i+2] == "./cmd/muster":
			skip = 3
		}
		if skip == 0 {
			continue
		}
		// "go build -o muster" names the binary, it does not run it.
		if i > 0 && words[i-1] == "-o" {
			continue
		}
		var args []string
		j := i + skip
		for ; j < len(words); j++ {
			a := words[j]
			if a == "|" || a == "&&" || a == ";" || a == "&" || a == "||" || strings.HasPrefix(a, ">") || strings.HasPrefix(a, "2>") || strings.HasPrefix(a, "<") || a == "#" {
				break
			}
			args = append(args, a)
		}
		out = append(out, args)
		i = j
	}
	return out
}

// shellWords splits a line as a shell would, enough for documentation:
// quotes group, a # starts a comment, $(...) is one word.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	quote := rune(0)
	depth := 0
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case depth > 0:
			cur.WriteRune(r)
			if r == '(' {
				depth++
			} else if r == ')' {
				depth--
			}
		case r == '$' && i+1 < len(rs) && rs[i+1] == '(':
			inWord = true
			depth = 1
			cur.WriteString("$(")
			i++
		case r == '\'' || r == '"':
			quote = r
			inWord = true
		case r == '#' && !inWord:
			flush()
			return append(words, "#")
		case r == ' ' || r == '\t':
			flush()
		case r == '|' || r == ';' || (r == '&' && !(i > 0 && rs[i-1] == '>')):
			flush()
			if i+1 < len(rs) && (rs[i+1] == '&' || rs[i+1] == '|') {
				words = append(words, string(r)+string(rs[i+1]))
				i++
			} else {
				words = append(words, string(r))
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	flush()
	return words
}
