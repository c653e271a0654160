package web_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/muster-evac/muster/internal/testshared"
)

// TestBrowserDemoServe is the README's promise, in a browser: a new user
// runs `muster demo --serve`, opens the printed URL, logs in with the
// printed password and sees the demo city's operation: the threat, the
// plan's routes and its groups moving as their times come. The script,
// web/e2e/demo/demo.mjs, sits in a folder of its own so that TestBrowser
// (which runs every web/e2e/*.mjs against a server of its own) does not
// run it.
func TestBrowserDemoServe(t *testing.T) {
	testshared.Long(t)
	if _, err := os.Stat(chromium); err != nil {
		testshared.Unavailable(t, "no Chromium at %s (apt-get install chromium): %v", chromium, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		testshared.Unavailable(t, "no node (apt-get install nodejs): %v", err)
	}
	if _, err := os.Stat(filepath.Join("node_modules", "playwright-core")); err != nil {
		testshared.Unavailable(t, "web/node_modules has no playwright-core: run `npm ci` in web/ (%v)", err)
	}
	shots := os.Getenv("MUSTER_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join("e2e", "screenshots")
	}
	if shots, err = filepath.Abs(shots); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "muster")
	run(t, ".", "go", "build", "-o", bin, "github.com/muster-evac/muster/cmd/muster")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	demo := exec.CommandContext(ctx, bin, "demo", "--scale", "0.2", "--out", filepath.Join(dir, "demo"), "--serve", "--addr", "127.0.0.1:0")
	demo.Cancel = func() error { return demo.Process.Signal(os.Interrupt) }
	demo.WaitDelay = 20 * time.Second
	var out, errb syncBuffer
	demo.Stdout, demo.Stderr = &out, &errb
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- demo.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("demo --serve printed:\n%s\n%s", out.String(), errb.String())
		}
	})

	// What it prints, as a new user reads it.
	urlRe := regexp.MustCompile(`(?m)^  (http://127\.0\.0\.1:\d+)/$`)
	loginRe := regexp.MustCompile(`Log in as (\S+) with password (\S+)`)
	deadline := time.After(4 * time.Minute)
	var url, login []string
	for url == nil || login == nil {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("demo --serve ended before serving: %v", err)
		case <-deadline:
			t.Fatal("demo --serve printed no URL and login in 4 minutes")
		case <-time.After(200 * time.Millisecond):
		}
		url, login = urlRe.FindStringSubmatch(out.String()), loginRe.FindStringSubmatch(out.String())
	}

	script, _ := filepath.Abs(filepath.Join("e2e", "demo", "demo.mjs"))
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer scancel()
	cmd := exec.CommandContext(sctx, node, script, url[1], shots)
	cmd.Env = append(os.Environ(), "MUSTER_E2E_USER="+login[1], "MUSTER_E2E_PASSWORD="+login[2])
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	err = cmd.Run()
	t.Logf("demo.mjs:\n%s", log.String())
	if err != nil {
		t.Fatalf("demo.mjs: %v", err)
	}
}
