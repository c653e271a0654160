package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/muster-evac/muster"
)

func init() { subcommands = append(subcommands, newUserCmd) }

func newUserCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage operator accounts: add (the first admin too), list, disable, passwd, token",
	}
	cmd.AddCommand(newUserAddCmd(), newUserListCmd(), newUserDisableCmd(), newUserPasswdCmd(), newUserTokenCmd())
	return cmd
}

// minPasswordLen: operators are few and their accounts reach the names of
// people at risk; a short password is refused.
const minPasswordLen = 12

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
			pw, err := readPassword(cmd, fromStdin)
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

// readPassword reads the password from stdin's first line, or asks for it
// twice on the terminal without echo.
func readPassword(cmd *cobra.Command, fromStdin bool) (string, error) {
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
	if len([]rune(pw)) < minPasswordLen {
		return "", muster.Errorf(muster.EINVALID, "password: at least %d characters, please (a passphrase of a few words is good)", minPasswordLen)
	}
	return pw, nil
}

func newUserListCmd() *cobra.Command {
	var sf storeFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List operator accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, st, err := sf.open(cmd, false)
			if err != nil {
				return err
			}
			defer st.Close()
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
		},
	}
	sf.register(cmd.Flags())
	return cmd
}

func newUserDisableCmd() *cobra.Command {
	var sf storeFlags
	cmd := &cobra.Command{
		Use:   "disable NAME",
		Short: "Disable an operator account: its tokens stop working at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, st, err := sf.open(cmd, false)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.DisableUser(ctx, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "disabled %s\n", args[0])
			return nil
		},
	}
	sf.register(cmd.Flags())
	return cmd
}

func newUserPasswdCmd() *cobra.Command {
	var sf storeFlags
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "passwd NAME",
		Short: "Set an operator's password",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(cmd, fromStdin)
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
