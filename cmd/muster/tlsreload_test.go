package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestTLSCertificateRenewedWithoutRestart runs `muster serve --tls-cert
// --tls-key` as a process and renews its certificate under it: once the
// files are replaced a new TLS connection gets the new certificate; a
// broken pair (a certificate with another's key) is refused with a log
// line and the certificate served stays; SIGHUP reads the files again at
// once. No restart in between: the same process serves throughout.
func TestTLSCertificateRenewedWithoutRestart(t *testing.T) {
	pairs := make([]string, 3) // three authorities, each with its server certificate
	for i := range pairs {
		pairs[i] = filepath.Join(t.TempDir(), "tls")
		if _, stderr, err := runIn(t, "", "tls", "init", "--host", "localhost,127.0.0.1", "-o", pairs[i]); err != nil {
			t.Fatalf("tls init: %v %s", err, stderr)
		}
	}
	live := t.TempDir()
	certFile, keyFile := filepath.Join(live, "server.crt"), filepath.Join(live, "server.key")
	// put replaces a live file as a renewal does: written aside, renamed over.
	put := func(dst, src string) {
		t.Helper()
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+".new", b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(dst+".new", dst); err != nil {
			t.Fatal(err)
		}
	}
	leafOf := func(dir string) []byte {
		t.Helper()
		pair, err := tls.LoadX509KeyPair(filepath.Join(dir, tlsServerCert), filepath.Join(dir, tlsServerKey))
		if err != nil {
			t.Fatal(err)
		}
		return pair.Certificate[0]
	}
	put(certFile, filepath.Join(pairs[0], tlsServerCert))
	put(keyFile, filepath.Join(pairs[0], tlsServerKey))

	cmd := exec.Command(os.Args[0], "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "data"),
		"--tls-cert", certFile, "--tls-key", keyFile)
	cmd.Env = append(os.Environ(), "MUSTER_TEST_RUN_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var mu sync.Mutex
	var logged []string
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			logged = append(logged, sc.Text())
			mu.Unlock()
			if _, after, ok := strings.Cut(sc.Text(), "serving https://"); ok {
				addr <- strings.Fields(after)[0]
			}
		}
		close(addr)
	}()
	host, ok := <-addr
	if !ok {
		t.Fatalf("serve did not start: %s", strings.Join(logged, "\n"))
	}
	served := func() []byte {
		t.Helper()
		conn, err := tls.Dial("tcp", host, &tls.Config{InsecureSkipVerify: true}) // the test compares the certificate itself
		if err != nil {
			t.Fatalf("TLS to the server: %v", err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Raw
	}
	// waitFor polls (new connections each time) until cond holds, for at
	// most 20 s: the server looks at the files once a second at most.
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("%s: not within 20 s; the server said:\n%s", what, strings.Join(logged, "\n"))
			}
		}
	}
	saidAfter := func(n int, s string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, l := range logged[n:] {
			if strings.Contains(l, s) {
				return true
			}
		}
		return false
	}
	mark := func() int { mu.Lock(); defer mu.Unlock(); return len(logged) }

	if !bytes.Equal(served(), leafOf(pairs[0])) {
		t.Fatal("the server does not serve the certificate it was given")
	}

	// Renewed: the new certificate on the next connections.
	m := mark()
	put(keyFile, filepath.Join(pairs[1], tlsServerKey))
	put(certFile, filepath.Join(pairs[1], tlsServerCert))
	waitFor("the renewed certificate served", func() bool { return bytes.Equal(served(), leafOf(pairs[1])) })
	if !saidAfter(m, "TLS certificate reloaded") {
		t.Error("no log line says the certificate was reloaded")
	}

	// Broken: the third certificate with the second's key. Refused, said,
	// and the second still served (also after SIGHUP, which tries again).
	m = mark()
	put(certFile, filepath.Join(pairs[2], tlsServerCert))
	waitFor("the broken pair refused", func() bool { served(); return saidAfter(m, "TLS certificate not reloaded") })
	if !bytes.Equal(served(), leafOf(pairs[1])) {
		t.Fatal("after a broken pair, the server no longer serves the certificate it had")
	}
	m = mark()
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor("SIGHUP refusing the broken pair again", func() bool { return saidAfter(m, "not reloaded (SIGHUP)") })
	if !bytes.Equal(served(), leafOf(pairs[1])) {
		t.Fatal("after SIGHUP with a broken pair, the server no longer serves the certificate it had")
	}

	// Mended (its key put in place), then read at once on SIGHUP.
	m = mark()
	put(keyFile, filepath.Join(pairs[2], tlsServerKey))
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor("the mended pair served", func() bool { return bytes.Equal(served(), leafOf(pairs[2])) })
	if !saidAfter(m, "TLS certificate reloaded") {
		t.Error("no log line says the mended certificate was reloaded")
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGINT: %v", err)
	}
}
