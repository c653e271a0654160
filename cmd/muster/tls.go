package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/muster-evac/muster"
)

func init() { subcommands = append(subcommands, newTLSCmd) }

// The files `muster tls init` writes in its folder.
const (
	tlsCACert     = "ca.crt"
	tlsCAKey      = "ca.key"
	tlsServerCert = "server.crt"
	tlsServerKey  = "server.key"
)

func newTLSCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tls",
		Short: "Make the certificates muster serve needs for HTTPS",
	}
	cmd.AddCommand(newTLSInitCmd())
	return cmd
}

func newTLSInitCmd() *cobra.Command {
	var hosts []string
	var dir string
	var days int
	cmd := &cobra.Command{
		Use:   "init --host NAME_OR_IP... [-o DIR]",
		Short: "Make a local certificate authority and a server certificate for the given names and addresses",
		Long: `Makes, in DIR (created 0700; every file 0600; nothing is overwritten):

  ca.crt      a certificate authority (ECDSA P-256, 10 years) to install on
              the phones and laptops that use this server
  ca.key      its private key: keep it offline once the server certificate
              is made, or delete it (a new 'tls init' makes a new authority)
  server.crt  the server's certificate (ECDSA P-256, --days), for every
              --host, signed by the authority
  server.key  its private key

The authority is name-constrained to the given hosts: installed on a
phone, it vouches for this server and nothing else, so its key cannot
be used to impersonate any other site. Then:

  muster serve --addr 0.0.0.0:8443 --tls-cert DIR/server.crt --tls-key DIR/server.key

Install ca.crt on each device (Android: Settings > Security > Encryption
& credentials > Install a certificate > CA certificate; iOS: open the file,
then Settings > General > VPN & Device Management, and Settings > General >
About > Certificate Trust Settings) and compare the SHA-256 fingerprint it
shows with the one printed here.`,
		Example: `  muster tls init --host muster.lan --host 192.168.1.20 -o muster-tls
  muster tls init --host localhost,127.0.0.1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if days < 1 || days > 825 {
				return muster.Errorf(muster.EINVALID, "--days %d: want 1 to 825 (browsers refuse longer server certificates)", days)
			}
			fp, err := tlsInit(dir, hosts, time.Duration(days)*24*time.Hour, time.Now())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "made %s, %s, %s and %s in %s for %s\n", tlsCACert, tlsCAKey, tlsServerCert, tlsServerKey, dir, strings.Join(hosts, ", "))
			fmt.Fprintf(out, "certificate authority SHA-256 fingerprint: %s\n", fp)
			fmt.Fprintf(out, "serve with: muster serve --tls-cert %s --tls-key %s\n", filepath.Join(dir, tlsServerCert), filepath.Join(dir, tlsServerKey))
			fmt.Fprintf(out, "install %s on each device that uses the server, then keep %s offline or delete it\n", filepath.Join(dir, tlsCACert), filepath.Join(dir, tlsCAKey))
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&hosts, "host", nil, "a DNS name or IP address the server is reached at (repeatable, or comma-separated)")
	cmd.Flags().StringVarP(&dir, "out", "o", "muster-tls", "folder to write the files to")
	cmd.Flags().IntVar(&days, "days", 397, "how long the server certificate is valid, in days (at most 825)")
	return cmd
}

// tlsInit writes the authority and the server certificate for hosts into
// dir and returns the authority's SHA-256 fingerprint.
func tlsInit(dir string, hosts []string, valid time.Duration, now time.Time) (string, error) {
	var dnsNames []string
	var ips []net.IP
	var ipNets []*net.IPNet
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if a, err := netip.ParseAddr(h); err == nil {
			ip := net.IP(a.AsSlice())
			ips = append(ips, ip)
			ipNets = append(ipNets, &net.IPNet{IP: ip, Mask: net.CIDRMask(a.BitLen(), a.BitLen())})
			continue
		}
		if !validHostName(h) {
			return "", muster.Errorf(muster.EINVALID, "--host %q: want a DNS name (letters, digits, '-' and '.') or an IP address", h)
		}
		dnsNames = append(dnsNames, strings.ToLower(h))
	}
	if len(dnsNames)+len(ips) == 0 {
		return "", muster.Errorf(muster.EINVALID, "no --host: name every DNS name and IP address the server is reached at, such as --host muster.lan --host 192.168.1.20")
	}
	paths := map[string]string{}
	for _, f := range []string{tlsCACert, tlsCAKey, tlsServerCert, tlsServerKey} {
		paths[f] = filepath.Join(dir, f)
		if _, err := os.Stat(paths[f]); err == nil {
			return "", muster.Errorf(muster.EINVALID, "%s exists already: refusing to overwrite it (choose another -o folder, or remove the old files)", paths[f])
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("tls init: %w", err)
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	serverKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	start := now.Add(-time.Hour) // a device whose clock runs a little slow
	ca := &x509.Certificate{
		SerialNumber:                serial(),
		Subject:                     pkix.Name{CommonName: "muster local authority for " + strings.Join(hosts, ", "), Organization: []string{"muster"}},
		NotBefore:                   start,
		NotAfter:                    now.AddDate(10, 0, 0),
		KeyUsage:                    x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid:       true,
		IsCA:                        true,
		MaxPathLenZero:              true,
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         dnsNames,
		PermittedIPRanges:           ipNets,
	}
	if len(dnsNames) == 0 {
		// No permitted names would permit all of them. Permit only the
		// reserved top-level domain "invalid" (RFC 2606), which no real
		// host has: Go's parser refuses "." as a constraint.
		ca.PermittedDNSDomains = []string{"invalid"}
	}
	if len(ipNets) == 0 {
		ca.ExcludedIPRanges = []*net.IPNet{{IP: net.IPv4zero, Mask: net.CIDRMask(0, 32)}, {IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}}
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return "", fmt.Errorf("tls init: the authority: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return "", err
	}
	cn := hosts[0]
	leaf := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    start,
		NotAfter:     now.Add(valid),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     dnsNames,
		IPAddresses:  ips,
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &serverKey.PublicKey, caKey)
	if err != nil {
		return "", fmt.Errorf("tls init: the server certificate: %w", err)
	}
	caKeyDER, err := x509.MarshalPKCS8PrivateKey(caKey)
	if err != nil {
		return "", err
	}
	serverKeyDER, err := x509.MarshalPKCS8PrivateKey(serverKey)
	if err != nil {
		return "", err
	}
	for _, f := range []struct {
		name, kind string
		der        [][]byte
	}{
		{tlsCAKey, "PRIVATE KEY", [][]byte{caKeyDER}},
		{tlsServerKey, "PRIVATE KEY", [][]byte{serverKeyDER}},
		{tlsCACert, "CERTIFICATE", [][]byte{caDER}},
		// The chain: servers send the authority too, for clients that
		// were given it another way.
		{tlsServerCert, "CERTIFICATE", [][]byte{leafDER, caDER}},
	} {
		var b []byte
		for _, der := range f.der {
			b = append(b, pem.EncodeToMemory(&pem.Block{Type: f.kind, Bytes: der})...)
		}
		if err := writeNew(paths[f.name], b); err != nil {
			return "", err
		}
	}
	sum := sha256.Sum256(caDER)
	return colonHex(sum[:]), nil
}

// writeNew writes a new file, owner only, never over an existing one.
func writeNew(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return muster.Errorf(muster.EINVALID, "%s exists already: refusing to overwrite it", path)
	}
	if err != nil {
		return fmt.Errorf("tls init: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(0o600) // whatever the umask
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("tls init: writing %s: %w", path, err)
	}
	return nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n.Add(n, big.NewInt(1))
}

func colonHex(b []byte) string {
	h := strings.ToUpper(hex.EncodeToString(b))
	var parts []string
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// validHostName: labels of letters, digits and '-', dot-separated.
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
