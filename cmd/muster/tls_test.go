package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTLSInitAndServeHTTPS: `muster tls init` makes an authority and a
// server certificate (files 0600); `muster serve --tls-cert --tls-key`
// answers a client that trusts the authority, with HSTS, and refuses
// plain HTTP, a client that does not trust it, and another host name. At
// shutdown it signs a last audit checkpoint, which verifies.
func TestTLSInitAndServeHTTPS(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	out, _, err := runIn(t, "", "tls", "init", "--host", "localhost,127.0.0.1", "-o", dir)
	if err != nil || !strings.Contains(out, "fingerprint") {
		t.Fatalf("tls init: %v %s", err, out)
	}
	for _, f := range []string{tlsCACert, tlsCAKey, tlsServerCert, tlsServerKey} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want mode 0600", f, st, err)
		}
	}
	if _, _, err := runIn(t, "", "tls", "init", "--host", "localhost", "-o", dir); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Errorf("tls init over existing files: %v", err)
	}
	for _, bad := range []string{"", "bad host", "-x.lan", "a..b"} {
		if _, _, err := runIn(t, "", "tls", "init", "--host", bad, "-o", filepath.Join(t.TempDir(), "x")); err == nil {
			t.Errorf("tls init --host %q: accepted", bad)
		}
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, tlsCACert))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.crt holds no certificate")
	}
	// The authority vouches for the given hosts only.
	block, _ := pem.Decode(caPEM)
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !ca.IsCA || len(ca.PermittedDNSDomains) != 1 || len(ca.PermittedIPRanges) != 1 {
		t.Fatalf("the authority: %v, name constraints %v %v", err, ca.PermittedDNSDomains, ca.PermittedIPRanges)
	}

	data := filepath.Join(t.TempDir(), "data")
	cps := filepath.Join(t.TempDir(), "checkpoints.jsonl")
	const pw = "tangerine zeppelin quartz 42"
	if _, _, err := runIn(t, pw+"\n", "user", "add", "alice", "--role", "planner", "--password-stdin", "--data", data); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pipeW := io.Pipe()
	cmd := newRootCmd()
	cmd.SetOut(io.Discard)
	cmd.SetErr(pipeW)
	cmd.SetArgs([]string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--audit-checkpoints", cps,
		"--tls-cert", filepath.Join(dir, tlsServerCert), "--tls-key", filepath.Join(dir, tlsServerKey)})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx); pipeW.Close() }()
	sc := bufio.NewScanner(pr)
	var base string
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if _, after, ok := strings.Cut(sc.Text(), "serving "); ok {
			base = strings.Fields(after)[0]
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("serve says %q: %v (%v)", base, lines, err)
	}
	trusting := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	resp, err := trusting.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /healthz over TLS, trusting the authority: %v %v", err, resp)
	}
	if hsts := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(hsts, "max-age=31536000") {
		t.Errorf("Strict-Transport-Security: %q", hsts)
	}
	resp.Body.Close()
	// A login over TLS: a change the audit log records, for the
	// checkpoint at shutdown.
	resp, err = trusting.Post(base+"/api/login", "application/json", strings.NewReader(`{"name":"alice","password":"`+pw+`"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login over TLS: %v %v", err, resp)
	}
	resp.Body.Close()

	// "localhost" is in the certificate, "127.0.0.2" and other names not.
	port := strings.TrimPrefix(base, "https://127.0.0.1:")
	if resp, err := trusting.Get("https://localhost:" + port + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("GET https://localhost: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
	other := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "muster.example.org"}}}
	if _, err := other.Get(base + "/healthz"); err == nil {
		t.Error("the certificate passed for a host it was not made for")
	}
	untrusting := &http.Client{Timeout: 10 * time.Second}
	if _, err := untrusting.Get(base + "/healthz"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a client that does not trust the authority: %v", err)
	}
	plain := "http://" + strings.TrimPrefix(base, "https://")
	if resp, err := untrusting.Get(plain + "/healthz"); err == nil {
		if resp.StatusCode == 200 {
			t.Errorf("plain HTTP to the TLS port answered 200")
		}
		resp.Body.Close()
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	out, _, err = runIn(t, "", "audit", "verify", "--checkpoints", cps, "--data", data)
	if err != nil || !strings.Contains(out, "checkpoints match") {
		t.Fatalf("checkpoints written by serve: %v\n%s", err, out)
	}
	text, _ := os.ReadFile(cps)
	if n := strings.Count(string(text), "\n"); n != 2 {
		t.Errorf("serve wrote %d checkpoints, want 2 (at start, and at shutdown after the login):\n%s", n, text)
	}
}

func TestPlainHTTPWarning(t *testing.T) {
	for addr, warn := range map[string]bool{"127.0.0.1:8080": false, "[::1]:8080": false, "0.0.0.0:8080": true, "[::]:80": true, "192.168.1.20:8080": true} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := plainHTTPWarning(a) != ""; got != warn {
			t.Errorf("%s: warns %v, want %v", addr, got, warn)
		}
	}
}

// TestDataFolderModeWarned: a data folder others may write (0777) or read
// is kept, with a warning naming the mode and the fix, by every command.
func TestDataFolderModeWarned(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if _, _, err := runIn(t, "tangerine zeppelin quartz 42\n", "user", "add", "alice", "--role", "admin", "--password-stdin", "--data", data); err != nil {
		t.Fatal(err)
	}
	for mode, want := range map[os.FileMode]string{0o777: "may be changed by other users (mode 0777)", 0o750: "may be read by other users (mode 0750)", 0o700: ""} {
		if err := os.Chmod(data, mode); err != nil {
			t.Fatal(err)
		}
		_, stderr, err := runIn(t, "", "user", "list", "--data", data)
		if err != nil {
			t.Fatal(err)
		}
		if want == "" && strings.Contains(stderr, "data folder") || !strings.Contains(stderr, want) {
			t.Errorf("mode %04o: stderr %q, want %q", mode, stderr, want)
		}
		if want != "" && !strings.Contains(stderr, "chmod 700") {
			t.Errorf("mode %04o: the warning does not say how to fix it: %q", mode, stderr)
		}
	}
}

// An authority made for addresses only vouches for no host name, and one
// made for names only vouches for no address: a certificate its key signs
// for anything else does not verify.
func TestTLSInitOneKindOfHost(t *testing.T) {
	for _, c := range []struct{ host, good, bad string }{
		{"127.0.0.1", "127.0.0.1", "evil.example"},
		{"muster.lan", "muster.lan", "10.0.0.1"},
	} {
		dir := filepath.Join(t.TempDir(), "tls")
		if _, _, err := runIn(t, "", "tls", "init", "--host", c.host, "-o", dir); err != nil {
			t.Fatalf("tls init --host %s: %v", c.host, err)
		}
		read := func(name string) *pem.Block {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			block, _ := pem.Decode(b)
			if block == nil {
				t.Fatalf("%s: no PEM", name)
			}
			return block
		}
		ca, err := x509.ParseCertificate(read(tlsCACert).Bytes)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AddCert(ca)
		leaf, err := x509.ParseCertificate(read(tlsServerCert).Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: c.good}); err != nil {
			t.Errorf("--host %s: the server certificate does not verify for %s: %v", c.host, c.good, err)
		}
		// A rogue certificate signed by the authority's key for another host.
		caKey, err := x509.ParsePKCS8PrivateKey(read(tlsCAKey).Bytes)
		if err != nil {
			caKey, err = x509.ParseECPrivateKey(read(tlsCAKey).Bytes)
			if err != nil {
				t.Fatal(err)
			}
		}
		rogue := &x509.Certificate{SerialNumber: big.NewInt(7), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		if ip := net.ParseIP(c.bad); ip != nil {
			rogue.IPAddresses = []net.IP{ip}
		} else {
			rogue.DNSNames = []string{c.bad}
		}
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, err := x509.CreateCertificate(rand.Reader, rogue, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := x509.ParseCertificate(der)
		if _, err := r.Verify(x509.VerifyOptions{Roots: roots, DNSName: c.bad}); err == nil {
			t.Errorf("--host %s: a certificate the authority signs for %s verifies", c.host, c.bad)
		}
	}
}
