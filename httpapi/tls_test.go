package httpapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
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

// writeCert writes a self-signed certificate for 127.0.0.1 valid from
// notBefore to notAfter, and its key, and returns their paths.
func writeCert(t *testing.T, notBefore, notAfter time.Time, keyMode os.FileMode) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: notBefore, NotAfter: notAfter, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), keyMode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(keyFile, keyMode); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestTLSConfigRefusesAndWarns(t *testing.T) {
	now := time.Now()
	if _, _, err := TLSConfig(writeCert(t, now.Add(-48*time.Hour), now.Add(-time.Hour), 0o600)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("an expired certificate: %v", err)
	}
	c, _ := writeCert(t, now.Add(-time.Hour), now.Add(time.Hour), 0o600)
	_, k := writeCert(t, now.Add(-time.Hour), now.Add(time.Hour), 0o600)
	if _, _, err := TLSConfig(c, k); err == nil {
		t.Error("a certificate with another certificate's key")
	}
	_, warnings, err := TLSConfig(writeCert(t, now.Add(-time.Hour), now.Add(10*24*time.Hour), 0o644))
	if err != nil || len(warnings) != 2 || !strings.Contains(warnings[0], "expires") || !strings.Contains(warnings[1], "chmod 600") {
		t.Errorf("a certificate expiring in 10 days with a key others may read: %v %q", err, warnings)
	}
	if _, warnings, err := TLSConfig(writeCert(t, now.Add(-time.Hour), now.Add(90*24*time.Hour), 0o600)); err != nil || len(warnings) != 0 {
		t.Errorf("a good certificate: %v %q", err, warnings)
	}
}

// TestTLSKeepsConnectionLimits: under TLS the connection limiter still
// sees each connection's state (an idle keep-alive can be evicted for a
// new client), and answers carry HSTS.
func TestTLSKeepsConnectionLimits(t *testing.T) {
	api, err := New(Config{Store: openSQLite(t), IPRate: -1, AccountRate: -1, AckKey: testAckKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.Close)
	now := time.Now()
	cfg, _, err := TLSConfig(writeCert(t, now.Add(-time.Hour), now.Add(24*time.Hour), 0o600))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, lln := api.HTTPServer(ln, NetLimits{})
	srv.TLSConfig = cfg
	srv.Handler = HSTS(srv.Handler)
	go func() { _ = srv.ServeTLS(lln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })

	roots := x509.NewCertPool()
	roots.AddCert(cfg.Certificates[0].Leaf)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("https://" + ln.Addr().String() + "/healthz")
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("GET /healthz over TLS: %v %v", err, resp)
	}
	_, _ = io.Copy(io.Discard, resp.Body) // read to the end, or the client closes the connection
	resp.Body.Close()
	cl := lln.(*connLimiter)
	deadline := time.Now().Add(5 * time.Second)
	var seen [][]http.ConnState
	for {
		cl.mu.Lock()
		var states []http.ConnState
		for el := cl.conns.Front(); el != nil; el = el.Next() {
			states = append(states, el.Value.(*limitedConn).state)
		}
		cl.mu.Unlock()
		if len(seen) == 0 || len(states) != len(seen[len(seen)-1]) || (len(states) > 0 && states[0] != seen[len(seen)-1][0]) {
			seen = append(seen, states)
		}
		if len(states) == 1 && states[0] == http.StateIdle {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the limiter sees the TLS keep-alive connection as %v, want one idle", seen)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
