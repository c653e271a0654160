package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/credential"
	"github.com/muster-evac/muster/issue"
)

func init() { subcommands = append(subcommands, newKeysCmd) }

// signingKeysFile is the keyring's file in the data folder, beside the
// master key that seals its private keys.
const signingKeysFile = "signing-keys.json"

// keyringFlags are the flags of the commands that read the signing keys:
// the data folder and master key, as for the store, and the database whose
// instruction statuses verification uses.
type keyringFlags struct {
	data, key, db string
}

func (f *keyringFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.data, "data", defaultDataDir, "data folder: the signing keys ("+signingKeysFile+") and the master key file")
	fl.StringVar(&f.key, "key", "", "master key file (default: $MUSTER_MASTER_KEY if set, else DATA/"+masterKeyFile+")")
	fl.StringVar(&f.db, "db", "", "the store's PostgreSQL URL, for the instruction statuses (default: the SQLite database in DATA, if any)")
}

// storeStatuses reads the instruction statuses from the store beside the
// keys (the SQLite database in the data folder, or --db): ok false when
// there is no store.
func (f *keyringFlags) storeStatuses(cmd *cobra.Command) (st credential.Statuses, asOf time.Time, ok bool, err error) {
	if f.db == "" {
		if _, err := os.Stat(filepath.Join(f.data, sqliteFile)); err != nil {
			return nil, time.Time{}, false, nil
		}
	}
	sf := storeFlags{data: f.data, key: f.key, db: f.db}
	ctx, s, err := sf.open(cmd, false)
	if err != nil {
		return nil, time.Time{}, false, err
	}
	defer s.Close()
	m, asOf, err := s.InstructionStatuses(ctx)
	if err != nil {
		return nil, time.Time{}, false, err
	}
	return issue.Statuses(m), asOf, true, nil
}

func (f *keyringFlags) path() string { return filepath.Join(f.data, signingKeysFile) }

// open reads the keyring; with sign, its private keys too (which needs
// the master key).
func (f *keyringFlags) open(cmd *cobra.Command, sign bool) (kr *credential.Keyring, master, wrapped []byte, err error) {
	if _, err := os.Stat(f.path()); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil, muster.Errorf(muster.EINVALID, "no signing keys at %s: run `muster keys init --data %s` first, or give --data", f.path(), f.data)
	}
	if sign {
		sf := storeFlags{data: f.data, key: f.key}
		if master, err = sf.masterKey(cmd.ErrOrStderr(), false); err != nil {
			return nil, nil, nil, err
		}
	}
	kr, wrapped, err = credential.ReadKeyringFile(f.path(), master)
	if err != nil {
		return nil, nil, nil, muster.Errorf(muster.EINVALID, "%v", err)
	}
	return kr, master, wrapped, nil
}

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the keys that sign instructions: init, rotate, list, export-public",
		Long: `Instructions are signed with Ed25519 so that anyone can check, without a
network, that one is genuine (muster verify). The deployment's signing keys
live in DATA/` + signingKeysFile + ` (mode 0600), their private parts sealed
under the master key: the file alone signs nothing. docs/instruction-tokens.md
explains the tokens, the keys and the verifier's bundle.`,
	}
	cmd.AddCommand(newKeysInitCmd(), newKeysRotateCmd(), newKeysRevokeCmd(), newKeysListCmd(), newKeysExportCmd(), newKeysSignCmd())
	return cmd
}

func newKeysInitCmd() *cobra.Command {
	var kf keyringFlags
	var deployment string
	var lifetime time.Duration
	cmd := &cobra.Command{
		Use:   "init --deployment ID",
		Short: "Make the deployment's first signing key",
		Long: `Makes the deployment's signing keyring with its first key, in
DATA/` + signingKeysFile + `, sealed under the master key (made in the data
folder if there is none yet, as serve does). It never replaces a keyring.

The deployment id (letters, digits, '.', '_', '-') is in every token and
tells this deployment's instructions from another's. The fingerprint it
prints is what verifiers pin (muster verify --trust): give it to them by a
channel you trust.`,
		Example: `  muster keys init --deployment kabul-2021`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			kr, err := credential.NewKeyring(deployment, lifetime, time.Now())
			if err != nil {
				return muster.Errorf(muster.EINVALID, "%v", err)
			}
			if _, err := os.Stat(kf.path()); err == nil {
				return muster.Errorf(muster.ECONFLICT, "signing keys exist already at %s: use `muster keys rotate` for a new key", kf.path())
			}
			if err := os.MkdirAll(kf.data, 0o700); err != nil {
				return fmt.Errorf("data folder: %w", err)
			}
			sf := storeFlags{data: kf.data, key: kf.key}
			master, err := sf.masterKey(cmd.ErrOrStderr(), true)
			if err != nil {
				return err
			}
			if err := credential.CreateKeyringFile(kf.path(), kr, master); err != nil {
				return err
			}
			k := kr.Active()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "made the signing keys of deployment %s in %s (private keys sealed under the master key)\n", deployment, kf.path())
			fmt.Fprintf(out, "key %s signs; tokens live at most %s\n", k.ID(), kr.MaxLifetime())
			fmt.Fprintf(out, "fingerprint, for verifiers to pin (muster verify --trust):\n%s\n", k.Fingerprint())
			return nil
		},
	}
	kf.register(cmd.Flags())
	cmd.Flags().StringVar(&deployment, "deployment", "", "this deployment's id, in every token (required)")
	cmd.Flags().DurationVar(&lifetime, "max-lifetime", credential.DefaultMaxLifetime, "the longest a token may be valid; a retired key verifies this long after its retirement")
	_ = cmd.MarkFlagRequired("deployment")
	return cmd
}

func newKeysRotateCmd() *cobra.Command {
	var kf keyringFlags
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Make a new signing key and retire the current one",
		Long: `Makes a new signing key, endorsed by the current one so that verifiers
who trust the old key trust the new one, and retires the current key: it
signs no more and its private key is destroyed, but tokens it signed verify
until the longest token lifetime has passed. Send running servers SIGHUP
(or POST /api/keys/reload) so that they sign with the new key, and export a
new bundle for verifiers.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			kr, master, wrapped, err := kf.open(cmd, true)
			if err != nil {
				return err
			}
			old := kr.Active()
			k, err := kr.Rotate(time.Now())
			if err != nil {
				return err
			}
			if err := credential.WriteKeyringFile(kf.path(), kr, master, wrapped); err != nil {
				return err
			}
			retired := kr.Keys()[len(kr.Keys())-2]
			fmt.Fprintf(cmd.OutOrStdout(), "key %s signs from now on\nkey %s retired: it verifies the tokens it signed until %s\n",
				k.ID(), old.ID(), retired.VerifyUntil.Format(time.RFC3339))
			return nil
		},
	}
	kf.register(cmd.Flags())
	return cmd
}

func newKeysRevokeCmd() *cobra.Command {
	var kf keyringFlags
	var reason string
	cmd := &cobra.Command{
		Use:   "revoke KID --reason TEXT",
		Short: "Mark a signing key compromised: every token it signed is 'signed by a revoked key'",
		Long: `Marks a retired key (its id, as 'muster keys list' shows it) as compromised:
from then on every token it signed verifies as "signed by a revoked key",
whatever it says, and never checks in; the verifier bundles carry its id, so
offline verifiers say so too once they refresh. The key that signs now
cannot be revoked: rotate first ('muster keys rotate'), then revoke the old
one. Then send running servers SIGHUP (or POST /api/keys/reload), export a
new bundle, and re-issue: 'muster instructions issue' (or the next approved
re-plan) gives every instruction in force that the key signed a new version,
the same content signed by the current key, and queues it to its household.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := credential.ParseKeyID(args[0])
			if err != nil {
				return muster.Errorf(muster.EINVALID, "%v", err)
			}
			kr, master, wrapped, err := kf.open(cmd, true)
			if err != nil {
				return err
			}
			k, err := kr.Revoke(id, reason, time.Now())
			if err != nil {
				return muster.Errorf(muster.EINVALID, "%v", err)
			}
			if err := credential.WriteKeyringFile(kf.path(), kr, master, wrapped); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "key %s revoked at %s (%s): the tokens it signed are signed by a revoked key\n",
				k.ID(), k.RevokedAt.Format(time.RFC3339), k.RevokedReason)
			return nil
		},
	}
	kf.register(cmd.Flags())
	cmd.Flags().StringVar(&reason, "reason", "", "why, in one line (required): how the key was compromised")
	return cmd
}

func newKeysListCmd() *cobra.Command {
	var kf keyringFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the signing keys and what each may still do",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			kr, _, _, err := kf.open(cmd, false)
			if err != nil {
				return err
			}
			now := time.Now()
			fmt.Fprintf(cmd.OutOrStdout(), "deployment %s, tokens live at most %s\n", kr.Deployment(), kr.MaxLifetime())
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tCREATED\tSTATE\tFINGERPRINT")
			for _, k := range kr.Keys() {
				state := "signs"
				switch {
				case k.Revoked:
					state = "REVOKED " + k.RevokedAt.Format(time.RFC3339) + " (" + k.RevokedReason + "): its tokens prove nothing"
				case k.RetiredAt.IsZero():
				case now.After(k.VerifyUntil):
					state = "expired: verifies nothing since " + k.VerifyUntil.Format(time.RFC3339)
				default:
					state = "retired " + k.RetiredAt.Format(time.RFC3339) + ", verifies until " + k.VerifyUntil.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID(), k.CreatedAt.Format(time.RFC3339), state, k.Fingerprint())
			}
			return tw.Flush()
		},
	}
	kf.register(cmd.Flags())
	return cmd
}

// publicKeysJSON is what export-public writes: the public keys, for
// anyone to verify with.
type publicKeysJSON struct {
	Deployment  string    `json:"deployment"`
	MaxLifetime int64     `json:"max_lifetime_s"`
	Keys        []keyJSON `json:"keys"`
}

type keyJSON struct {
	ID          string     `json:"id"`
	Fingerprint string     `json:"fingerprint"`
	Public      []byte     `json:"public"`
	CreatedAt   time.Time  `json:"created_at"`
	RetiredAt   *time.Time `json:"retired_at,omitempty"`
	VerifyUntil *time.Time `json:"verify_until,omitempty"`
	Endorsement []byte     `json:"endorsement,omitempty"`
}

func newKeysExportCmd() *cobra.Command {
	var kf keyringFlags
	var out, bundle, status string
	cmd := &cobra.Command{
		Use:   "export-public [-o FILE] [--bundle FILE [--status FILE]]",
		Short: "Write the public keys (JSON), and the signed bundle offline verifiers need",
		Long: `Writes the deployment's public keys as JSON (to standard output, or -o
FILE): every key with its id, fingerprint, validity and endorsement.

With --bundle FILE, also writes the signed bundle that offline verifiers
load (muster verify --bundle FILE --trust FINGERPRINT): the public keys
and the statuses of instructions (which versions are superseded or
revoked) as of now, signed with the current key, which needs the master
key. The statuses are the store's (the SQLite database in the data folder,
or --db), or those of --status FILE, JSON: {"INSTRUCTION_ID": {"latest": 3,
"revoked": [2]}, ...}. A running server serves the same bundle at GET
/api/bundle.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			kr, _, _, err := kf.open(cmd, bundle != "")
			if err != nil {
				return err
			}
			pk := publicKeysJSON{Deployment: kr.Deployment(), MaxLifetime: int64(kr.MaxLifetime() / time.Second)}
			for _, k := range kr.Keys() {
				j := keyJSON{ID: k.ID().String(), Fingerprint: k.Fingerprint().String(), Public: k.Key, CreatedAt: k.CreatedAt, Endorsement: k.Endorsement}
				if !k.RetiredAt.IsZero() {
					r, u := k.RetiredAt, k.VerifyUntil
					j.RetiredAt, j.VerifyUntil = &r, &u
				}
				pk.Keys = append(pk.Keys, j)
			}
			text, err := json.MarshalIndent(&pk, "", "  ")
			if err != nil {
				return err
			}
			text = append(text, '\n')
			if out == "" || out == "-" {
				if _, err := cmd.OutOrStdout().Write(text); err != nil {
					return err
				}
			} else if err := os.WriteFile(out, text, 0o644); err != nil {
				return fmt.Errorf("writing the public keys: %w", err)
			}
			if bundle == "" {
				if status != "" {
					return muster.Errorf(muster.EINVALID, "--status goes with --bundle")
				}
				return nil
			}
			st, err := readStatuses(status)
			if err != nil {
				return err
			}
			asOf := time.Now()
			if status == "" {
				if fromStore, at, ok, err := kf.storeStatuses(cmd); err != nil {
					return err
				} else if ok {
					st, asOf = fromStore, at
				}
			}
			data, err := kr.SignBundle(kr.Bundle(st, asOf))
			if err != nil {
				return muster.Errorf(muster.EINVALID, "%v", err)
			}
			if err := os.WriteFile(bundle, data, 0o644); err != nil {
				return fmt.Errorf("writing the bundle: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s: %d keys, %d instruction statuses, %d bytes, signed by key %s\n", bundle, len(kr.Keys()), len(st), len(data), kr.Active().ID())
			return nil
		},
	}
	kf.register(cmd.Flags())
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the public keys to FILE instead of standard output")
	cmd.Flags().StringVar(&bundle, "bundle", "", "also write the signed verifier bundle to FILE")
	cmd.Flags().StringVar(&status, "status", "", "instruction statuses for the bundle (JSON, see above)")
	return cmd
}

// readStatuses reads a statuses file; "" is no statuses.
func readStatuses(path string) (credential.Statuses, error) {
	if path == "" {
		return credential.Statuses{}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, muster.Errorf(muster.EINVALID, "--status: %v", err)
	}
	defer f.Close()
	dec := json.NewDecoder(io.LimitReader(f, 256<<20))
	dec.DisallowUnknownFields()
	var st credential.Statuses
	if err := dec.Decode(&st); err != nil {
		return nil, muster.Errorf(muster.EINVALID, "--status %s: %v", path, err)
	}
	if err := st.Validate(); err != nil {
		return nil, muster.Errorf(muster.EINVALID, "--status %s: %v", path, err)
	}
	return st, nil
}

// claimsJSON is what `keys sign` reads.
type claimsJSON struct {
	Instruction string    `json:"instruction"`
	Version     uint32    `json:"version"`
	Supersedes  uint32    `json:"supersedes"`
	Household   string    `json:"household"`
	Content     string    `json:"content"`
	RallyPoint  string    `json:"rally_point"`
	ReportFrom  time.Time `json:"report_from"`
	ReportBy    time.Time `json:"report_by"`
	Group       string    `json:"group"`
	People      uint16    `json:"people"`
	IssuedAt    time.Time `json:"issued_at"`
	NotAfter    time.Time `json:"not_after"`
}

func newKeysSignCmd() *cobra.Command {
	var kf keyringFlags
	var claimsFile string
	cmd := &cobra.Command{
		Use:   "sign --claims FILE|-",
		Short: "(tool, for tests and demos) sign one instruction's claims given as JSON",
		Long: `A TOOL FOR TESTS AND DEMONSTRATIONS, not the way instructions are issued
(they will be signed from the approved plan). Signs the claims in FILE (or
standard input with -) and prints the token:

  {"instruction": "I-H000001", "version": 2, "supersedes": 1,
   "household": "H000001", "content": "the instruction's full text",
   "rally_point": "RP-031", "report_from": "2021-08-26T06:00:00Z",
   "report_by": "2021-08-26T06:30:00Z", "group": "G0421", "people": 6,
   "issued_at": "...", "not_after": "..."}

The content itself is not in the token, only its digest. issued_at
defaults to now, not_after to 72 hours after issued_at.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var r io.Reader
			if claimsFile == "-" {
				r = cmd.InOrStdin()
			} else {
				f, err := os.Open(claimsFile)
				if err != nil {
					return muster.Errorf(muster.EINVALID, "--claims: %v", err)
				}
				defer f.Close()
				r = f
			}
			dec := json.NewDecoder(io.LimitReader(r, 1<<20))
			dec.DisallowUnknownFields()
			var j claimsJSON
			if err := dec.Decode(&j); err != nil {
				return muster.Errorf(muster.EINVALID, "--claims: %v", err)
			}
			kr, _, _, err := kf.open(cmd, true)
			if err != nil {
				return err
			}
			now := time.Now()
			if j.IssuedAt.IsZero() {
				j.IssuedAt = now
			}
			if j.NotAfter.IsZero() {
				j.NotAfter = j.IssuedAt.Add(72 * time.Hour)
			}
			tok, err := kr.Sign(credential.Claims{
				IssuedAt: j.IssuedAt, NotAfter: j.NotAfter, Instruction: j.Instruction, Version: j.Version, Supersedes: j.Supersedes,
				Household: j.Household, Digest: credential.ContentDigest([]byte(j.Content)), RallyPoint: j.RallyPoint,
				ReportFrom: j.ReportFrom, ReportBy: j.ReportBy, Group: j.Group, People: j.People,
			}, now)
			if err != nil {
				return muster.Errorf(muster.EINVALID, "%v", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	kf.register(cmd.Flags())
	cmd.Flags().StringVar(&claimsFile, "claims", "", "the claims, JSON (- for standard input)")
	_ = cmd.MarkFlagRequired("claims")
	return cmd
}
