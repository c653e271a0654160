package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/muster-evac/muster/httpapi"
)

// certReloader hands the server's TLS certificate to each handshake, and
// reads the certificate and key files again when they change (looked at
// at most once every checkEvery) or when the server gets SIGHUP, so that
// a renewed certificate is served without a restart. A new pair that does
// not load (a certificate without its key, a key of another certificate,
// an expired certificate, a file half written) is refused with a log line
// and the old pair kept: a bad renewal never takes the server off the air.
type certReloader struct {
	certFile, keyFile string
	checkEvery        time.Duration
	out               io.Writer // where the operator reads the server's messages

	mu        sync.Mutex
	cert      *tls.Certificate
	stamp     [2]fileStamp // of the files the served pair was read from
	refused   [2]fileStamp // of the files last refused: not tried again until they change
	lastCheck time.Time
}

// fileStamp tells a file's versions apart: a renewal writes or replaces it.
type fileStamp struct {
	mod  time.Time
	size int64
}

func stampOf(path string) fileStamp {
	st, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{st.ModTime(), st.Size()}
}

// newCertReloader loads the pair once (an error stops the server from
// starting) and returns the reloader and the warnings about the pair.
func newCertReloader(certFile, keyFile string, out io.Writer) (*certReloader, []string, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, checkEvery: time.Second, out: out}
	stamp := [2]fileStamp{stampOf(certFile), stampOf(keyFile)}
	cfg, warnings, err := httpapi.TLSConfig(certFile, keyFile)
	if err != nil {
		return nil, nil, err
	}
	r.cert, r.stamp, r.lastCheck = &cfg.Certificates[0], stamp, time.Now()
	return r, warnings, nil
}

// Config is the server's TLS configuration, its certificate from r.
func (r *certReloader) Config() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}

// GetCertificate is tls.Config.GetCertificate: the current pair, read
// again first when its files changed.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.lastCheck) >= r.checkEvery {
		r.lastCheck = now
		if stamp := [2]fileStamp{stampOf(r.certFile), stampOf(r.keyFile)}; stamp != r.stamp && stamp != r.refused {
			r.reloadLocked(stamp, "the files changed")
		}
	}
	return r.cert, nil
}

// Reload reads the pair again whatever the files' stamps (SIGHUP), and
// says whether the new pair is served.
func (r *certReloader) Reload(why string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reloadLocked([2]fileStamp{stampOf(r.certFile), stampOf(r.keyFile)}, why)
}

func (r *certReloader) reloadLocked(stamp [2]fileStamp, why string) bool {
	cfg, warnings, err := httpapi.TLSConfig(r.certFile, r.keyFile)
	if err != nil {
		r.refused = stamp
		slog.Error("TLS certificate not reloaded: the one served is kept", "why", why, "err", err)
		fmt.Fprintf(r.out, "muster: WARNING: TLS certificate not reloaded (%s): %v: the one served is kept\n", why, err)
		return false
	}
	for _, w := range warnings {
		slog.Warn(w)
		fmt.Fprintf(r.out, "muster: warning: %s\n", w)
	}
	r.cert, r.stamp, r.refused = &cfg.Certificates[0], stamp, [2]fileStamp{}
	leaf := r.cert.Leaf
	slog.Info("TLS certificate reloaded", "why", why, "cert", r.certFile, "subject", leaf.Subject.String(),
		"serial", leaf.SerialNumber.String(), "not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	fmt.Fprintf(r.out, "muster: TLS certificate reloaded (%s): %s, serial %s, valid until %s\n", why, leaf.Subject, leaf.SerialNumber, leaf.NotAfter.UTC().Format(time.RFC3339))
	return true
}

// reloadOnSIGHUPUntil reads the pair again each time the process gets
// SIGHUP, until ctx ends.
func (r *certReloader) reloadOnSIGHUPUntil(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-hup:
				r.Reload("SIGHUP")
			case <-ctx.Done():
				return
			}
		}
	}()
}
