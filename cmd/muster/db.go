package main

import (
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/muster-evac/muster"
)

func init() { subcommands = append(subcommands, newDBCmd) }

func newDBCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Get a PostgreSQL database for several muster serve instances",
		Long: `muster keeps its data in an embedded SQLite file by default (--data): nothing to install.
Several 'muster serve' instances behind a load balancer share one PostgreSQL database instead
(--db postgres://...). 'muster db init' prints the commands that make one on Debian.`,
	}
	var dbURL string
	initCmd := &cobra.Command{
		Use:   "init [--db postgres://USER:PASSWORD@HOST:PORT/NAME]",
		Short: "Print the commands that install PostgreSQL and make muster's role and database",
		Long: `Prints, for the database URL given (or a default one), the commands that install
Debian's PostgreSQL, start it and create the role and the database muster connects to,
then the muster commands that use it. muster creates its tables itself on first start.
Nothing is run: read the commands, then run them as root (or with sudo).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return printDBInit(cmd.OutOrStdout(), dbURL, muster.NewSecret()[:24])
		},
	}
	initCmd.Flags().StringVar(&dbURL, "db", "", "the database URL muster will use (default postgres://muster:GENERATED@127.0.0.1:5432/muster)")
	cmd.AddCommand(initCmd)
	return cmd
}

// sqlName is what printDBInit accepts as a role or database name: it goes
// into SQL and a shell command, so nothing that needs quoting.
var sqlName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// printDBInit writes the commands that make the database of dbURL, with
// password as the role's password when the URL has none.
func printDBInit(w io.Writer, dbURL, password string) error {
	if dbURL == "" {
		dbURL = "postgres://muster@127.0.0.1:5432/muster"
	}
	u, err := url.Parse(dbURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return muster.Errorf(muster.EINVALID, "--db %s: want postgres://USER:PASSWORD@HOST:PORT/NAME", redactURL(dbURL))
	}
	role := u.User.Username()
	if role == "" {
		role = "muster"
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		name = "muster"
	}
	for what, v := range map[string]string{"role": role, "database name": name} {
		if !sqlName.MatchString(v) {
			return muster.Errorf(muster.EINVALID, "--db: the %s %q must be lower-case letters, digits and _ (it goes into SQL and the shell)", what, v)
		}
	}
	if pw, ok := u.User.Password(); ok {
		password = pw
	}
	if strings.ContainsAny(password, "'\\\n") {
		return muster.Errorf(muster.EINVALID, "--db: the password must not hold quotes, backslashes or newlines")
	}
	u.User = url.UserPassword(role, password)
	u.Path = "/" + name
	full := u.String()
	host := u.Hostname()
	local := host == "127.0.0.1" || host == "localhost" || host == "::1"
	fmt.Fprintf(w, "# PostgreSQL for muster: run these as root (or with sudo).\n")
	if local {
		fmt.Fprintf(w, "apt-get install -y postgresql        # Debian's PostgreSQL; it starts at once, listening on loopback\n")
	} else {
		fmt.Fprintf(w, "# on %s:\napt-get install -y postgresql\n# then let muster's hosts in: listen_addresses in postgresql.conf, a hostssl line in pg_hba.conf\n", host)
	}
	fmt.Fprintf(w, "runuser -u postgres -- psql -v ON_ERROR_STOP=1 -c \"CREATE ROLE %s LOGIN PASSWORD '%s'\" -c \"CREATE DATABASE %s OWNER %s\"\n\n", role, password, name, role)
	fmt.Fprintf(w, "# then, as the user that runs muster (keep the URL secret: it holds the password):\n")
	fmt.Fprintf(w, "export MUSTER_DB='%s'\n", full)
	fmt.Fprintf(w, "muster user add admin --role admin --db \"$MUSTER_DB\" --key /etc/muster/master.key\n")
	fmt.Fprintf(w, "muster serve --db \"$MUSTER_DB\" --key /etc/muster/master.key   # start as many as you like, behind a load balancer\n")
	return nil
}
