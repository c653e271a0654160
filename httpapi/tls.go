package httpapi

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"time"
)

// TLSConfig returns the server's TLS configuration for the certificate
// chain in certFile and its private key in keyFile (PEM, as `muster tls
// init` or any CA writes them): TLS 1.2 at least, Go's default cipher
// suites. It refuses a pair that does not match or a certificate that has
// expired, and warns (in warnings) of one that expires within 30 days or
// a key file others may read. It reads the files once; muster serve calls
// it again when they change, to serve a renewed certificate without a
// restart. The web pages (service workers, the camera, the
// browser's WebCrypto) need the secure context this gives.
func TLSConfig(certFile, keyFile string) (cfg *tls.Config, warnings []string, err error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, nil, fmt.Errorf("TLS certificate %s: %w", certFile, err)
	}
	now := time.Now()
	switch {
	case now.After(leaf.NotAfter):
		return nil, nil, fmt.Errorf("TLS certificate %s expired on %s: make a new one (muster tls init)", certFile, leaf.NotAfter.UTC().Format(time.DateOnly))
	case now.Before(leaf.NotBefore):
		return nil, nil, fmt.Errorf("TLS certificate %s is not valid before %s: is the clock right?", certFile, leaf.NotBefore.UTC().Format(time.RFC3339))
	case leaf.NotAfter.Sub(now) < 30*24*time.Hour:
		warnings = append(warnings, fmt.Sprintf("TLS certificate %s expires on %s: renew it (muster serve reads it again when its files change, or on SIGHUP)", certFile, leaf.NotAfter.UTC().Format(time.DateOnly)))
	}
	if st, err := os.Stat(keyFile); err == nil && st.Mode().Perm()&0o077 != 0 && runtime.GOOS != "windows" {
		warnings = append(warnings, fmt.Sprintf("TLS key %s may be read by other users (mode %04o): chmod 600 %s", keyFile, st.Mode().Perm(), keyFile))
	}
	pair.Leaf = leaf
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{pair},
	}, warnings, nil
}

// HSTSMaxAge is how long browsers are told to use HTTPS only for this
// host (Strict-Transport-Security): a year.
const HSTSMaxAge = 365 * 24 * time.Hour

// HSTS adds Strict-Transport-Security to every answer given over TLS, so
// that a browser that once reached the server over HTTPS never again
// sends a session cookie over plain HTTP to it.
func HSTS(h http.Handler) http.Handler {
	value := fmt.Sprintf("max-age=%d", int(HSTSMaxAge.Seconds()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			w.Header().Set("Strict-Transport-Security", value)
		}
		h.ServeHTTP(w, r)
	})
}
