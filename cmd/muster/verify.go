package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/credential"
	"github.com/muster-evac/muster/qrcode"
)

func init() { subcommands = append(subcommands, newVerifyCmd) }

// errNotCurrent is returned when a verdict is anything but genuine and
// current, so that the exit status says so (1).
var errNotCurrent = errors.New("the token is not genuine and current")

func newVerifyCmd() *cobra.Command {
	var kf keyringFlags
	var qrFile, bundleFile, status, newer, at, server string
	var trust []string
	cmd := &cobra.Command{
		Use:   "verify [TOKEN|-] [--qr IMAGE] [--bundle FILE --trust FINGERPRINT]",
		Short: "Say whether an instruction token is genuine and current",
		Long: `Checks an instruction token (MU1:...) and says plainly one of: genuine and
current; genuine but superseded (by which version; with --newer, what
changed); revoked; expired; signed by an unknown key (another deployment);
or forged. It always says how old the revocation list it used is.

The token is the argument (quote it: base45 has spaces), standard input
(- or no argument), or the QR code in a PNG, JPEG or GIF image (--qr).

Online, --server URL asks that muster server (POST /api/verify): it knows
every version issued, superseded and revoked up to now, and says which
parts of a superseded instruction changed.

Offline, against a verifier bundle (muster keys export-public --bundle, or
GET /api/bundle from the server):
--bundle FILE with --trust FINGERPRINT, the fingerprint of one of the
deployment's keys (muster keys init prints the first), which must have come
by a channel you trust. Where the keys are (a server's data folder), the
keyring itself is used, with the instruction statuses of the store (the
SQLite database in the data folder, or --db), or of --status FILE (JSON, as
for export-public; as of the file's modification time).

The exit status is 0 only for genuine and current.`,
		Example: `  muster verify 'MU1:6BF...'
  muster verify --server https://evac.example.org 'MU1:6BF...'
  muster verify --qr photo.png --bundle kabul.bundle --trust 3f2a...
  muster verify "$OLD" --newer "$NEW"`,
		Args: tokenArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			now := time.Now()
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return muster.Errorf(muster.EINVALID, "--at %q: want an RFC 3339 time such as 2021-08-26T06:00:00Z", at)
				}
				now = t
			}
			token, err := readToken(cmd, args, qrFile)
			if err != nil {
				return err
			}
			if server != "" {
				if bundleFile != "" || status != "" || newer != "" || at != "" || len(trust) > 0 {
					return muster.Errorf(muster.EINVALID, "--server asks the server, now: it goes without --bundle, --trust, --status, --newer and --at")
				}
				return verifyOnline(cmd, server, token)
			}
			b, err := verifierBundle(cmd, &kf, bundleFile, trust, status)
			if err != nil {
				return err
			}
			v := credential.Verify(token, b, now)
			if bundleFile == "" && status == "" && !hasStore(&kf) {
				v.Warnings = append(v.Warnings, "no instruction statuses were given (--status or --bundle): a superseded or revoked token shows as current")
			}
			if newer != "" {
				nv := credential.Verify(newer, b, now)
				switch {
				case !nv.Genuine():
					v.Warnings = append(v.Warnings, "the --newer token is not genuine ("+nv.Status.String()+"): "+nv.Reason)
				case !v.CompareWith(nv.Claims):
					if v.Status == credential.Superseded {
						v.Warnings = append(v.Warnings, fmt.Sprintf("the --newer token is %s, not a newer version of this instruction", nv.Claims.TokenID()))
					}
				}
			}
			fmt.Fprint(cmd.OutOrStdout(), v.String())
			if v.Status != credential.Current {
				return errNotCurrent
			}
			return nil
		},
	}
	kf.register(cmd.Flags())
	cmd.Flags().StringVar(&qrFile, "qr", "", "read the token from the QR code in this image (PNG, JPEG, GIF)")
	cmd.Flags().StringVar(&bundleFile, "bundle", "", "verify offline against this signed bundle (needs --trust)")
	cmd.Flags().StringArrayVar(&trust, "trust", nil, "fingerprint (64 hex digits) of a deployment key to trust the bundle by; repeatable")
	cmd.Flags().StringVar(&status, "status", "", "instruction statuses (JSON), with the keyring in --data")
	cmd.Flags().StringVar(&newer, "newer", "", "the newer version's token: say what changed")
	cmd.Flags().StringVar(&at, "at", "", "verify as at this time (RFC 3339) instead of now")
	cmd.Flags().StringVar(&server, "server", "", "ask this muster server (https://host): its statuses are current")
	return cmd
}

// hasStore reports whether the keys have a store beside them whose
// statuses verification uses.
func hasStore(kf *keyringFlags) bool {
	if kf.db != "" {
		return true
	}
	_, err := os.Stat(filepath.Join(kf.data, sqliteFile))
	return err == nil
}

// tokenArgs accepts at most one argument, and says what to do with a
// token that the shell split at its spaces.
func tokenArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 1 {
		if strings.HasPrefix(args[0], credential.Prefix) {
			return muster.Errorf(muster.EINVALID, "the token came as %d arguments: quote it ('MU1:...'), since base45 has spaces, or give it on standard input", len(args))
		}
		return muster.Errorf(muster.EINVALID, "one token at a time: got %d arguments", len(args))
	}
	return nil
}

// readToken returns the token from the argument, standard input or a QR
// image.
func readToken(cmd *cobra.Command, args []string, qrFile string) (string, error) {
	if qrFile != "" {
		if len(args) > 0 {
			return "", muster.Errorf(muster.EINVALID, "give a token or --qr, not both")
		}
		f, err := os.Open(qrFile)
		if err != nil {
			return "", muster.Errorf(muster.EINVALID, "--qr: %v", err)
		}
		defer f.Close()
		text, err := qrcode.Read(f)
		if err != nil {
			return "", muster.Errorf(muster.EINVALID, "--qr %s: %v", qrFile, err)
		}
		return text, nil
	}
	if len(args) == 1 && args[0] != "-" {
		return args[0], nil
	}
	line, err := bufio.NewReader(io.LimitReader(cmd.InOrStdin(), 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading the token: %w", err)
	}
	if strings.TrimSpace(line) == "" {
		return "", muster.Errorf(muster.EINVALID, "no token: give it as the argument, on standard input, or --qr IMAGE")
	}
	return line, nil
}

// verifierBundle opens the signed bundle, or makes one from the keyring in
// the data folder.
func verifierBundle(cmd *cobra.Command, kf *keyringFlags, bundleFile string, trust []string, status string) (*credential.Bundle, error) {
	if bundleFile != "" {
		if status != "" {
			return nil, muster.Errorf(muster.EINVALID, "--status goes with the keyring, not with --bundle: the bundle carries its statuses")
		}
		if len(trust) == 0 {
			return nil, muster.Errorf(muster.EINVALID, "--bundle needs --trust FINGERPRINT: a bundle is believed only when signed by a key you trust (muster keys init printed the fingerprint)")
		}
		var fps []credential.Fingerprint
		for _, s := range trust {
			fp, err := credential.ParseFingerprint(s)
			if err != nil {
				return nil, muster.Errorf(muster.EINVALID, "--trust: %v", err)
			}
			fps = append(fps, fp)
		}
		data, err := readLimited(bundleFile, credential.MaxBundleBytes)
		if err != nil {
			return nil, muster.Errorf(muster.EINVALID, "--bundle: %v", err)
		}
		b, err := credential.OpenBundle(data, fps...)
		if err != nil {
			return nil, muster.Errorf(muster.EINVALID, "--bundle %s refused: %v", bundleFile, err)
		}
		return b, nil
	}
	if len(trust) > 0 {
		return nil, muster.Errorf(muster.EINVALID, "--trust goes with --bundle")
	}
	kr, _, _, err := kf.open(cmd, false)
	if err != nil {
		return nil, err
	}
	st, err := readStatuses(status)
	if err != nil {
		return nil, err
	}
	asOf := time.Now()
	if status != "" {
		if info, err := os.Stat(status); err == nil {
			asOf = info.ModTime()
		}
	} else if fromStore, at, ok, err := kf.storeStatuses(cmd); err != nil {
		return nil, err
	} else if ok {
		st, asOf = fromStore, at
	}
	return kr.Bundle(st, asOf), nil
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}

// verifyOnline asks a server for the verdict and prints it.
func verifyOnline(cmd *cobra.Command, server, token string) error {
	u := strings.TrimRight(server, "/") + "/api/verify"
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return muster.Errorf(muster.EINVALID, "--server %q: want http:// or https:// and the host", server)
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(strings.Trim(token, "\r\n\t")))
	if err != nil {
		return muster.Errorf(muster.EINVALID, "--server: %v", err)
	}
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("asking %s: %w", server, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading %s's answer: %w", server, err)
	}
	var v struct {
		Status  string `json:"status"`
		Verdict string `json:"verdict"`
		Error   *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &v); err != nil || (resp.StatusCode == http.StatusOK && v.Verdict == "") {
		return fmt.Errorf("%s answered %s, not a verdict", server, resp.Status)
	}
	if resp.StatusCode != http.StatusOK {
		msg := resp.Status
		if v.Error != nil {
			msg = v.Error.Message
		}
		return fmt.Errorf("%s: %s", server, msg)
	}
	fmt.Fprint(cmd.OutOrStdout(), v.Verdict)
	fmt.Fprintf(cmd.OutOrStdout(), "  (verified by %s)\n", server)
	if v.Status != "current" {
		return errNotCurrent
	}
	return nil
}
