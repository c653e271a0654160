package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/password"
)

func init() { subcommands = append(subcommands, newUserCmd) }

func newUserCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage operator accounts: add (the first admin too), list, disable, enable, role, passwd, token, tokens, revoke-token, unthrottle",
	}
	cmd.AddCommand(newUserAddCmd(), newUserListCmd(), newUserDisableCmd(), newUserEnableCmd(), newUserRoleCmd(), newUserPasswdCmd(),
		newUserTokenCmd(), newUserTokensCmd(), newUserRevokeTokenCmd(), newUserUnthrottleCmd())
	return cmd
}

func newUserAddCmd() *cobra.Command {
	var sf storeFlags
	var role string
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "add NAME --role admin|planner|field|viewer",
		Short: "Add an operator account",
		Long: `Adds an operator account. The password is asked on the terminal (twice),
or read from the first line of standard input with --password-stdin.
Passwords are stored only as argon2id hashes.

A password must have 12 characters or more, must not be on the list of
common passwords muster ships, and must not be easy to guess (a word with
digits added, a keyboard row, a date, one character repeated...): the
refusal says why. A passphrase of four or five words of your own is good.
User names that differ from another only by case are refused.

Roles: admin (everything, accounts and the audit log), planner (households,
imports and exports, reports), field (register and update households,
reports), viewer (counts, reports and the threat picture, no personal data).`,
		Example: `  muster user add alice --role admin
  printf '%s\n' "$PASSWORD" | muster user add bob --role field --password-stdin`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := checkUserName(name); err != nil {
				return err
			}
			if !slices.Contains(muster.Roles, role) {
				return muster.Errorf(muster.EINVALID, "--role %q: want one of %s", role, strings.Join(muster.Roles, ", "))
			}
			pw, err := readPassword(cmd, fromStdin, name)
			if err != nil {
				return err
			}
			hash, err := muster.HashPassword(pw)
			if err != nil {
				return err
			}
			ctx, st, err := sf.open(cmd, true)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.CreateUser(ctx, muster.User{Name: name, Role: role, PasswordHash: hash}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added %s, role %s\n", name, role)
			return nil
		},
	}
	sf.register(cmd.Flags())
	cmd.Flags().StringVar(&role, "role", "", "admin, planner, field or viewer (required)")
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	return cmd
}

func checkUserName(name string) error {
	if name == "" || len(name) > 64 {
		return muster.Errorf(muster.EINVALID, "user name %q: 1 to 64 characters", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.@", r)) {
			return muster.Errorf(muster.EINVALID, "user name %q: only letters, digits and - _ . @ are allowed", name)
		}
	}
	return nil
}

// readPassword reads user's new password from stdin's first line, or asks
// for it twice on the terminal without echo, and refuses one that is
// short, common or easy to guess (package password says why).
func readPassword(cmd *cobra.Command, fromStdin bool, user string) (string, error) {
	var pw string
	if fromStdin {
		line, err := bufio.NewReader(io.LimitReader(cmd.InOrStdin(), 4096)).ReadString('\n')
		if err != nil && err != io.EOF {
			return "", fmt.Errorf("reading the password from stdin: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	} else {
		fd := int(os.Stdin.Fd())
		if !term.IsTerminal(fd) {
			return "", muster.Errorf(muster.EINVALID, "standard input is not a terminal: give --password-stdin and the password on stdin")
		}
		fmt.Fprint(cmd.ErrOrStderr(), "Password: ")
		a, err := term.ReadPassword(fd)
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		fmt.Fprint(cmd.ErrOrStderr(), "Again: ")
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		if string(a) != string(b) {
			return "", muster.Errorf(muster.EINVALID, "the two passwords differ")
		}
		pw = string(a)
	}
	if err := password.Check(pw, user, "muster"); err != nil {
		return "", err
	}
	return pw, nil
}

func newUserListCmd() *cobra.Command {
	var sf storeFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List operator accounts",
		Args:  cobra.NoArgs,
		RunE: sf.runE(false, func(cmd *cobra.Command, ctx context.Context, st muster.Store, args []string) error {
			us, err := st.ListUsers(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLE\tSTATE\tCREATED")
			for _, u := range us {
				state := "active"
				if u.Disabled {
					state = "disabled"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.Role, state, u.CreatedAt.UTC().Format("2006-01-02 15:04Z"))
			}
			return tw.Flush()
		}),
	}
	sf.register(cmd.Flags())
	return cmd
}

func newUserDisableCmd() *cobra.Command {
	return onStore(&cobra.Command{
		Use:   "disable NAME",
		Short: "Disable an operator account: its tokens stop working at once",
		Args:  cobra.ExactArgs(1),
	}, func(cmd *cobra.Command, ctx context.Context, st muster.Store, args []string) error {
		if err := st.DisableUser(ctx, args[0]); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "disabled %s\n", args[0])
		return nil
	})
}

func newUserPasswdCmd() *cobra.Command {
	var sf storeFlags
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "passwd NAME",
		Short: "Set an operator's password: every session and API token of theirs ends",
		Long: `Sets an operator's password, checked as 'muster user add' checks it. Every
session and API token of the account ends in the same transaction: whoever
knew the old password loses what they made with it. Running servers refuse
those tokens at once.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(cmd, fromStdin, args[0])
			if err != nil {
				return err
			}
			hash, err := muster.HashPassword(pw)
			if err != nil {
				return err
			}
			ctx, st, err := sf.open(cmd, false)
			if err != nil {
				return err
			}
			defer st.Close()
			n, err := st.SetUserPassword(ctx, args[0], hash, "")
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "password of %s set; %d sessions and tokens ended\n", args[0], n)
			return nil
		},
	}
	sf.register(cmd.Flags())
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	return cmd
}

func newUserTokenCmd() *cobra.Command {
	var sf storeFlags
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "token NAME",
		Short: "Make a long-lived API token for a program acting as this operator (printed once)",
		Long: `Makes an API token for NAME and prints it on stdout, once: only its hash
is stored. A program sends it as Authorization: Bearer TOKEN. It works until
--ttl runs out (0: until the account is disabled).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ttl < 0 {
				return muster.Errorf(muster.EINVALID, "--ttl %s: negative", ttl)
			}
			ctx, st, err := sf.open(cmd, false)
			if err != nil {
				return err
			}
			defer st.Close()
			u, err := st.GetUser(ctx, args[0])
			if err != nil {
				return err
			}
			if u.Disabled {
				return muster.Errorf(muster.EINVALID, "%s is disabled", u.Name)
			}
			secret := muster.NewSecret()
			id := make([]byte, 9)
			_, _ = rand.Read(id)
			now := time.Now().UTC()
			tok := muster.Token{ID: "tok_" + hex.EncodeToString(id), User: u.Name, Kind: muster.TokenAPI, Hash: muster.TokenHash(secret), CreatedAt: now}
			if ttl > 0 {
				tok.ExpiresAt = now.Add(ttl)
			}
			if err := st.CreateToken(ctx, tok); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), secret)
			fmt.Fprintf(cmd.ErrOrStderr(), "API token %s for %s (role %s); it is shown only this once\n", tok.ID, u.Name, u.Role)
			return nil
		},
	}
	sf.register(cmd.Flags())
	cmd.Flags().DurationVar(&ttl, "ttl", 90*24*time.Hour, "how long the token works (0: until the account is disabled)")
	return cmd
}

func newUserEnableCmd() *cobra.Command {
	return onStore(&cobra.Command{
		Use:   "enable NAME",
		Short: "Enable a disabled operator account (its old tokens stay revoked)",
		Args:  cobra.ExactArgs(1),
	}, func(cmd *cobra.Command, ctx context.Context, st muster.Store, args []string) error {
		if err := st.EnableUser(ctx, args[0]); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "enabled %s\n", args[0])
		return nil
	})
}

func newUserRoleCmd() *cobra.Command {
	return onStore(&cobra.Command{
		Use:   "role NAME admin|planner|field|viewer",
		Short: "Change an operator's role: their tokens carry it from the next request on",
		Args:  cobra.ExactArgs(2),
	}, func(cmd *cobra.Command, ctx context.Context, st muster.Store, args []string) error {
		if !slices.Contains(muster.Roles, args[1]) {
			return muster.Errorf(muster.EINVALID, "role %q: want one of %s", args[1], strings.Join(muster.Roles, ", "))
		}
		if err := st.SetUserRole(ctx, args[0], args[1]); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s is now %s\n", args[0], args[1])
		return nil
	})
}

func newUserTokensCmd() *cobra.Command {
	var sf storeFlags
	var all bool
	var limit int
	cmd := &cobra.Command{
		Use:   "tokens [NAME]",
		Short: "List operators' sessions and API tokens (live ones; --all: revoked and expired too)",
		Long: `Lists sessions (made at login) and API tokens (made by 'muster user token'),
newest first: id, user, kind, when made, when it expires, and whether it
is live, expired or revoked. Without NAME, every user's. The secrets are
never shown: they are not stored. 'muster user revoke-token ID' ends one.`,
		Args: cobra.MaximumNArgs(1),
		RunE: sf.runE(false, func(cmd *cobra.Command, ctx context.Context, st muster.Store, args []string) error {
			f := muster.TokenFilter{Limit: limit}
			if len(args) == 1 {
				f.User = args[0]
				if _, err := st.GetUser(ctx, f.User); err != nil {
					return err
				}
			}
			now := time.Now()
			if !all {
				f.LiveAt = now
			}
			toks, err := st.ListTokens(ctx, f)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tUSER\tKIND\tCREATED\tEXPIRES\tSTATE")
			for _, t := range toks {
				expires := "never"
				if !t.ExpiresAt.IsZero() {
					expires = t.ExpiresAt.UTC().Format("2006-01-02 15:04Z")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.User, t.Kind, t.CreatedAt.UTC().Format("2006-01-02 15:04Z"), expires, tokenState(t, now))
			}
			return tw.Flush()
		}),
	}
	sf.register(cmd.Flags())
	cmd.Flags().BoolVar(&all, "all", false, "also revoked and expired ones")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many (up to 1000)")
	return cmd
}

// tokenState says whether a token is live at now.
func tokenState(t muster.Token, now time.Time) string {
	switch {
	case !t.RevokedAt.IsZero():
		return "revoked " + t.RevokedAt.UTC().Format("2006-01-02 15:04Z")
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return "expired"
	}
	return "live"
}

func newUserRevokeTokenCmd() *cobra.Command {
	return onStore(&cobra.Command{
		Use:   "revoke-token ID...",
		Short: "End sessions or API tokens by id (from 'muster user tokens'): running servers refuse them at once",
		Args:  cobra.MinimumNArgs(1),
	}, func(cmd *cobra.Command, ctx context.Context, st muster.Store, args []string) error {
		for _, id := range args {
			if err := st.RevokeToken(ctx, id); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s\n", id)
		}
		return nil
	})
}

func newUserUnthrottleCmd() *cobra.Command {
	var sf storeFlags
	var address string
	cmd := &cobra.Command{
		Use:   "unthrottle [NAME] [--address IP]",
		Short: "Forget the failed logins held against an account, or an address, in every running server",
		Long: `Servers slow down logins after failed attempts, per client address and
account (docs/server.md says how). This tells every server sharing the
database to forget the failures held against NAME (from every address),
or with --address against that client address (for every account).
It is audited. 'GET /api/throttles' shows what servers hold.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var target string
			switch {
			case len(args) == 1 && address != "":
				return muster.Errorf(muster.EINVALID, "give NAME or --address, not both")
			case len(args) == 1:
				target = "account:" + args[0]
			case address != "":
				a, err := netip.ParseAddr(address)
				if err != nil {
					return muster.Errorf(muster.EINVALID, "--address %q: not an IP address", address)
				}
				target = "address:" + a.Unmap().String()
			default:
				return muster.Errorf(muster.EINVALID, "give NAME or --address IP")
			}
			ctx, st, err := sf.open(cmd, false)
			if err != nil {
				return err
			}
			defer st.Close()
			if len(args) == 1 {
				if _, err := st.GetUser(ctx, args[0]); err != nil {
					return err
				}
			}
			if err := st.ClearThrottle(ctx, target); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "login throttles on %s cleared in every running server\n", target)
			return nil
		},
	}
	sf.register(cmd.Flags())
	cmd.Flags().StringVar(&address, "address", "", "a client address instead of an account")
	return cmd
}
