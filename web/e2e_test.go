package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muster-evac/muster/internal/testshared"
)

// The browser tests: each web/e2e/*.mjs script drives Debian's Chromium
// (playwright-core, /usr/bin/chromium) against a real muster server, built
// from this tree and started on the demo city with its households, signing
// keys and one account per role. Each script runs against a server of its
// own, so that none depends on what another did.
//
// The server serves HTTPS (muster tls init, serve --tls-cert): the secure
// context service workers, the camera and WebCrypto need, as in the field.
// A script is run as `node web/e2e/NAME.mjs BASE_URL SCREENSHOT_DIR` with
// MUSTER_E2E_SPKI (the server key's hash, which lib/browser.mjs gives
// Chromium to trust), MUSTER_E2E_PASSWORD (the accounts e2e-admin, e2e-planner, e2e-field and
// e2e-viewer share it) and MUSTER_E2E_DEMO (the demo's folder: city.graph,
// places.geojson, evacuees.csv) in its environment, and fails by exiting
// non-zero. Screenshots go to $MUSTER_SCREENSHOTS, else web/e2e/screenshots.
// camera.mjs also gets the fake camera's films of tokens the server issued
// (camera_e2e_test.go).

// E2EPassword is the e2e accounts' password.
const E2EPassword = "e2e stapler orbit velvet 2718"

const chromium = "/usr/bin/chromium"

func TestBrowser(t *testing.T) {
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
	scripts, _ := filepath.Glob(filepath.Join("e2e", "*.mjs"))
	sort.Strings(scripts)
	if len(scripts) == 0 {
		t.Fatal("no browser test scripts in web/e2e")
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
	demo := filepath.Join(dir, "demo")
	run(t, dir, bin, "demo", "--out", demo, "--scale", "0.3")

	for _, script := range scripts {
		name := strings.TrimSuffix(filepath.Base(script), ".mjs")
		t.Run(name, func(t *testing.T) {
			base, spki := startServer(t, bin, demo)
			abs, _ := filepath.Abs(script)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, abs, base, shots)
			cmd.Env = append(os.Environ(), "MUSTER_E2E_PASSWORD="+E2EPassword, "MUSTER_E2E_DEMO="+demo, "MUSTER_E2E_SPKI="+spki)
			if name == "camera" { // the fake camera's films, of the tokens this server issued (camera_e2e_test.go)
				cmd.Env = append(cmd.Env, cameraEnv(t, base, spki)...)
			}
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			t.Logf("%s:\n%s", name, out.String())
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		})
	}
}

// run runs a command, failing the test with its output if it fails.
func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	return runIn(t, dir, "", name, args...)
}

func runIn(t *testing.T, dir, stdin string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// startServer starts `muster serve` over HTTPS on a fresh data folder with
// the demo city, its households, signing keys and the e2e accounts; it
// returns the base URL and the SPKI hash of the server's key (for
// Chromium's --ignore-certificate-errors-spki-list), and stops the server
// when the test ends.
func startServer(t *testing.T, bin, demo string) (string, string) {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	run(t, ".", bin, "keys", "init", "--data", data, "--deployment", "e2e")
	for _, role := range []string{"admin", "planner", "field", "viewer"} {
		runIn(t, ".", E2EPassword+"\n", bin, "user", "add", "e2e-"+role, "--role", role, "--password-stdin", "--data", data)
	}
	run(t, ".", bin, "households", "import", filepath.Join(demo, "evacuees.csv"), "--data", data)

	// HTTPS, as in the field: a local authority and a certificate for
	// 127.0.0.1 (muster tls init). Chromium trusts the server's key by its
	// SPKI hash, nothing else, and the test's client the authority.
	tlsDir := filepath.Join(t.TempDir(), "tls")
	// (With an IP address alone, tls init fails: "failed to parse dnsName
	// constraint": a name is given too.)
	run(t, ".", bin, "tls", "init", "--host", "localhost", "--host", "127.0.0.1", "-o", tlsDir)
	client, spki := trust(t, tlsDir)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--data", data, "--addr", addr,
		"--graph", filepath.Join(demo, "city.graph"), "--places", filepath.Join(demo, "places.geojson"),
		"--tls-cert", filepath.Join(tlsDir, "server.crt"), "--tls-key", filepath.Join(tlsDir, "server.key"))
	var log syncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("server log:\n%s", log.String())
		}
	})
	base := "https://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base, spki
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not get ready at %s: %v\n%s", base, err, log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprint(s.b.String())
}

// trust returns an HTTP client that trusts the authority of `muster tls
// init` in dir, and the base64 SHA-256 of the server certificate's public
// key, which Chromium is told to accept.
func trust(t *testing.T, dir string) (*http.Client, string) {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("tls init wrote no authority certificate")
	}
	srvPEM, err := os.ReadFile(filepath.Join(dir, "server.crt"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(srvPEM)
	if block == nil {
		t.Fatal("tls init wrote no server certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return client, base64.StdEncoding.EncodeToString(sum[:])
}
