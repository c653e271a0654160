package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/auditlog"
	"github.com/muster-evac/muster/seal"
)

func init() { subcommands = append(subcommands, newAuditCmd) }

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Check and read the tamper-evident audit log",
	}
	cmd.AddCommand(newAuditVerifyCmd(), newAuditListCmd(), newAuditCheckpointCmd())
	return cmd
}

func newAuditVerifyCmd() *cobra.Command {
	var sf storeFlags
	var checkpointsPath string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Re-compute the audit log's hash and MAC chains, and check it against signed checkpoints: OK, or the first bad entry (exit status 1)",
		Long: `Every audit entry's hash covers the entry and the hash of the one
before it, and its MAC, under a key derived from the master key that is
never stored in the database, covers that hash and the MAC before it. So
editing, removing or reordering any entry, or recomputing the hashes after
an edit, breaks the chain from there on. verify re-computes both chains
and prints OK with the number of entries, or the first entry that fails
and why, and then exits with status 1.

What the chains cannot show alone is the newest entries cut off with the
head moved back. --checkpoints FILE reads the signed checkpoints that
'muster serve --audit-checkpoints FILE' (or 'muster audit checkpoint')
wrote, checks their signatures under this master key, and checks that
every entry they saw is still there, unchanged.

It also reads a database that 'muster wipe' wiped: the audit log outlives
the personal data.`,
		Example: `  muster audit verify
  muster audit verify --checkpoints /var/log/muster/audit-checkpoints.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			var cps []auditlog.Checkpoint
			if checkpointsPath != "" {
				master, err := sf.masterKey(cmd.ErrOrStderr(), false)
				if err != nil {
					return err
				}
				pub := seal.AuditSigningKey(master).Public().(ed25519.PublicKey)
				if cps, err = readCheckpoints(checkpointsPath, pub); err != nil {
					fmt.Fprintf(out, "BAD: %v\n", err)
					return err
				}
			}
			sf.openWiped = true
			ctx, st, err := sf.open(cmd, false)
			if err != nil {
				return err
			}
			defer st.Close()
			r, err := auditlog.Verify(ctx, st, cps)
			if err != nil {
				return err
			}
			if !r.OK {
				if !r.Audit.OK {
					fmt.Fprintf(out, "BAD: audit entry %d: %s (%d entries checked)\n", r.Audit.FirstBad, r.Audit.Reason, r.Audit.Entries)
					return fmt.Errorf("audit log broken at entry %d: %s", r.Audit.FirstBad, r.Audit.Reason)
				}
				fmt.Fprintf(out, "BAD: %s (%d entries, %d checkpoints checked)\n", r.Reason, r.Audit.Entries, r.Checked)
				return fmt.Errorf("audit log does not match its checkpoints: %s", r.Reason)
			}
			fmt.Fprintf(out, "OK: %d audit entries, hash and MAC chains intact\n", r.Audit.Entries)
			if checkpointsPath != "" {
				if r.Checked == 0 {
					fmt.Fprintf(out, "warning: %s holds no checkpoint: a truncated log would go unnoticed\n", checkpointsPath)
				} else {
					fmt.Fprintf(out, "OK: %d checkpoints match, the latest of %s at entry %d (entries after it are covered by the chains only)\n",
						r.Checked, r.Latest.At.Format("2006-01-02T15:04:05Z"), r.Latest.Seq)
				}
			}
			return nil
		},
	}
	sf.register(cmd.Flags())
	cmd.Flags().StringVar(&checkpointsPath, "checkpoints", "", "file of signed checkpoints (muster serve --audit-checkpoints) to check the log against")
	return cmd
}

// maxCheckpointFile bounds what verify reads: a line a minute for a year
// is about 200 MB.
const maxCheckpointFile = 1 << 30

func readCheckpoints(path string, pub ed25519.PublicKey) ([]auditlog.Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, muster.Errorf(muster.EINVALID, "--checkpoints: %v", err)
	}
	defer f.Close()
	cps, err := auditlog.Parse(io.LimitReader(f, maxCheckpointFile), pub)
	if err != nil {
		return nil, muster.Errorf(muster.EINVALID, "--checkpoints %s: %v", path, err)
	}
	return cps, nil
}

func newAuditCheckpointCmd() *cobra.Command {
	var sf storeFlags
	var outPath string
	cmd := &cobra.Command{
		Use:   "checkpoint",
		Short: "Verify the audit log and append a signed checkpoint of its head to a file (or print it)",
		Long: `Verifies the whole audit log, then signs a checkpoint of its head (the
last entry's number, hash and MAC) with the Ed25519 key derived from the
master key, and appends it to --out (made 0600 if new), or prints it.
'muster serve --audit-checkpoints FILE' does the same every minute while
the log grows; this is for the commands run without a server, or a cron
job that ships the line to another host. The checkpoint's "key" is the
public key that checks it, without the master key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			master, err := sf.masterKey(cmd.ErrOrStderr(), false)
			if err != nil {
				return err
			}
			sf.openWiped = true
			ctx, st, err := sf.open(cmd, false)
			if err != nil {
				return err
			}
			defer st.Close()
			w := &auditlog.Writer{Store: st, AuditKey: seal.AuditKey(master), Key: seal.AuditSigningKey(master), Out: cmd.OutOrStdout(), Log: discardLogger()}
			if outPath != "" {
				f, err := openCheckpointFile(outPath)
				if err != nil {
					return err
				}
				defer f.Close()
				w.Out, w.Sync = f, f.Sync
			}
			v, err := st.VerifyAudit(ctx)
			if err != nil {
				return err
			}
			if !v.OK {
				return fmt.Errorf("audit log broken at entry %d: %s: no checkpoint signed", v.FirstBad, v.Reason)
			}
			if err := w.Start(ctx); err != nil {
				return err
			}
			if outPath != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "muster: checkpoint of entry %d (MAC %s…) appended to %s\n", v.Entries, hex.EncodeToString(v.HeadMAC[:6]), outPath)
			}
			return nil
		},
	}
	sf.register(cmd.Flags())
	cmd.Flags().StringVarP(&outPath, "out", "o", "", "append the checkpoint to this file (default: print it)")
	return cmd
}

// openCheckpointFile opens path for appending checkpoints, owner only.
func openCheckpointFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, muster.Errorf(muster.EINVALID, "audit checkpoints file: %v", err)
	}
	return f, nil
}

func newAuditListCmd() *cobra.Command {
	var sf storeFlags
	var after int64
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Print audit entries: sequence, time, actor, action, target, detail",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sf.openWiped = true
			ctx, st, err := sf.open(cmd, false)
			if err != nil {
				return err
			}
			defer st.Close()
			es, err := st.ListAudit(ctx, after, limit)
			if err != nil {
				return err
			}
			for _, e := range es {
				fmt.Fprintf(cmd.OutOrStdout(), "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.At.UTC().Format("2006-01-02T15:04:05.000000Z"), e.Actor, e.Action, e.Target, e.Detail)
			}
			return nil
		},
	}
	sf.register(cmd.Flags())
	cmd.Flags().Int64Var(&after, "after", 0, "print entries after this sequence number")
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most this many (0: all)")
	return cmd
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// lastCheckpoint reads the last line of a checkpoints file (nil if the
// file is absent or empty), signed under pub.
func lastCheckpoint(path string, pub ed25519.PublicKey) (*auditlog.Checkpoint, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	const tail = 8 << 10
	off := max(0, st.Size()-tail)
	b := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		return nil, nil
	}
	c, err := auditlog.ParseLine([]byte(last), pub)
	if err != nil {
		return nil, fmt.Errorf("%s, last line: %w", path, err)
	}
	return &c, nil
}

// runAuditCheckpoints signs checkpoints of st's audit log every interval
// while it grows and once more when ctx ends, to path ("-": standard
// output; "": the log only) and the log. It first checks the log against
// the last checkpoint already in path: a log cut while the server was
// down is reported at once. The returned function waits for the last
// checkpoint; call it before closing st.
func runAuditCheckpoints(ctx context.Context, st muster.Store, master []byte, path string, every time.Duration, stdout io.Writer) (wait func(), err error) {
	if every <= 0 {
		return nil, muster.Errorf(muster.EINVALID, "--audit-checkpoint-every %s: want a positive duration such as 1m", every)
	}
	w := &auditlog.Writer{Store: st, AuditKey: seal.AuditKey(master), Key: seal.AuditSigningKey(master), Log: slog.Default()}
	closeFile := func() {}
	switch path {
	case "":
	case "-":
		w.Out = stdout
	default:
		last, err := lastCheckpoint(path, w.Key.Public().(ed25519.PublicKey))
		if err != nil {
			slog.Error("audit checkpoints file: its last line is not a checkpoint of this deployment", "err", err)
		}
		f, err := openCheckpointFile(path)
		if err != nil {
			return nil, err
		}
		w.Out, w.Sync, closeFile = f, f.Sync, func() { _ = f.Close() }
		if last != nil {
			if r, err := auditlog.Verify(ctx, st, []auditlog.Checkpoint{*last}); err != nil {
				slog.Error("audit log: checking the last checkpoint", "err", err)
			} else if !r.OK {
				slog.Error("AUDIT LOG TAMPERED: it does not match the last signed checkpoint", "file", path, "reason", r.Reason)
			}
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer closeFile()
		if err := w.Start(ctx); err != nil {
			slog.Error("audit checkpoints", "err", err)
		}
		w.Run(ctx, every)
	}()
	return func() { <-done }, nil
}
