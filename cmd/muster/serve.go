package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/httpapi"
	"github.com/muster-evac/muster/instruct"
	"github.com/muster-evac/muster/operation"
	"github.com/muster-evac/muster/places"
	"github.com/muster-evac/muster/postgres"
	"github.com/muster-evac/muster/seal"
	"github.com/muster-evac/muster/sqlite"
	"github.com/muster-evac/muster/threat"
)

func init() { subcommands = append(subcommands, newServeCmd) }

// Where muster keeps its data when told nothing.
const (
	defaultDataDir = "muster-data"
	sqliteFile     = "muster.db"
	masterKeyFile  = "master.key"
)

// storeFlags are the flags of every command that opens the store: serve,
// user, audit, wipe, households.
type storeFlags struct {
	data, db, key string
	// openWiped: open a wiped database too (audit commands: its log
	// still verifies); its personal data stays out of reach.
	openWiped bool
}

func (f *storeFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.data, "data", defaultDataDir, "data folder: the embedded SQLite database and the master key file")
	fl.StringVar(&f.db, "db", "", "database URL: postgres://user:pass@host/db uses PostgreSQL instead of the embedded SQLite")
	fl.StringVar(&f.key, "key", "", "master key file (default: $"+seal.EnvMasterKey+" if set, else DATA/"+masterKeyFile+")")
}

// open opens the store the flags name for a command run by the CLI's
// user: the context it returns attributes the command's changes to them.
func (f *storeFlags) open(cmd *cobra.Command, create bool) (context.Context, muster.Store, error) {
	ctx := muster.WithActor(cmd.Context(), cliActor())
	st, err := f.openStore(ctx, cmd.ErrOrStderr(), create)
	return ctx, st, err
}

// onStore makes cmd a command that does one thing to the existing store as
// the CLI's operator: it gets the store flags, and run gets the store,
// opened and closed around it.
func onStore(cmd *cobra.Command, run func(cmd *cobra.Command, ctx context.Context, st muster.Store, args []string) error) *cobra.Command {
	var sf storeFlags
	cmd.RunE = sf.runE(false, run)
	sf.register(cmd.Flags())
	return cmd
}

// runE is a command's RunE that opens the store the flags name (create as
// for open), runs run on it as the CLI's user, and closes it.
func (f *storeFlags) runE(create bool, run func(cmd *cobra.Command, ctx context.Context, st muster.Store, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx, st, err := f.open(cmd, create)
		if err != nil {
			return err
		}
		defer st.Close()
		return run(cmd, ctx, st, args)
	}
}

// openStore opens the store the flags name. With create (serve only), the
// data folder and, when no key is given anywhere, a new master key file in
// it are made on first start, and the operator is told to keep it safe.
func (f *storeFlags) openStore(ctx context.Context, errOut io.Writer, create bool) (muster.Store, error) {
	usingPostgres := f.db != ""
	if usingPostgres && !strings.HasPrefix(f.db, "postgres://") && !strings.HasPrefix(f.db, "postgresql://") {
		return nil, muster.Errorf(muster.EINVALID, "--db %q: want a postgres:// URL (leave --db out for the embedded SQLite database)", redactURL(f.db))
	}
	dbPath := filepath.Join(f.data, sqliteFile)
	if !usingPostgres {
		if _, err := os.Stat(dbPath); errors.Is(err, fs.ErrNotExist) && !create {
			return nil, muster.Errorf(muster.EINVALID, "no database at %s: start `muster serve --data %s` first, or give --data or --db", dbPath, f.data)
		}
	}
	if create {
		if err := os.MkdirAll(f.data, 0o700); err != nil {
			return nil, fmt.Errorf("data folder: %w", err)
		}
	}
	// MkdirAll leaves an existing folder as it was, and every command
	// opens one made before: a data folder others can read is a leak
	// waiting to happen, one they can write lets them swap the database
	// or the key.
	if w := dataDirWarning(f.data); w != "" && !usingPostgres {
		slog.Warn(w)
		fmt.Fprintf(errOut, "muster: warning: %s\n", w)
	}
	master, err := f.masterKey(errOut, create)
	if err != nil {
		return nil, err
	}
	keys := seal.DataKeys(master)
	keys.OpenWiped = f.openWiped
	if usingPostgres {
		return openPostgresStore(ctx, f.db, keys)
	}
	st, err := sqlite.Open(ctx, dbPath, keys)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// masterKey finds the master key: --key, else $MUSTER_MASTER_KEY, else
// DATA/master.key, which serve makes on first start.
func (f *storeFlags) masterKey(errOut io.Writer, create bool) ([]byte, error) {
	if f.key != "" {
		return loadKey(f.key)
	}
	if v, ok := os.LookupEnv(seal.EnvMasterKey); ok && strings.TrimSpace(v) != "" {
		return loadKey("")
	}
	path := filepath.Join(f.data, masterKeyFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if !create {
			return nil, muster.Errorf(muster.EINVALID, "no master key: %s does not exist; give --key FILE or set %s", path, seal.EnvMasterKey)
		}
		if f.db == "" {
			// A database without its key file cannot be read: never make a
			// new key beside an existing database.
			if _, err := os.Stat(filepath.Join(f.data, sqliteFile)); err == nil {
				return nil, muster.Errorf(muster.EINVALID, "the database %s exists but its master key %s does not: give --key FILE or set %s (a new key cannot read it)",
					filepath.Join(f.data, sqliteFile), path, seal.EnvMasterKey)
			}
		}
		if err := seal.GenerateMasterKey(path); err != nil {
			return nil, err
		}
		fmt.Fprintf(errOut, "muster: created a new master key in %s.\n"+
			"muster: KEEP IT SAFE and keep a copy offline, away from the database: without it no one,\n"+
			"muster: you included, can read the personal data; with it and the database, anyone can.\n", path)
	}
	return loadKey(path)
}

func loadKey(path string) ([]byte, error) {
	k, err := seal.LoadMasterKey(path)
	if err != nil {
		return nil, muster.Errorf(muster.EINVALID, "%v", err)
	}
	return k, nil
}

// redactURL hides a database URL's password in messages.
func redactURL(s string) string {
	if at := strings.LastIndex(s, "@"); at >= 0 {
		if scheme := strings.Index(s, "://"); scheme >= 0 && scheme < at {
			userinfo := s[scheme+3 : at]
			if name, _, ok := strings.Cut(userinfo, ":"); ok {
				return s[:scheme+3] + name + ":***" + s[at:]
			}
		}
	}
	return s
}

// cliActor is who the audit log names for a command run on the server:
// the operating system's user.
func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

func newServeCmd() *cobra.Command { return serveCommand(nil) }

// serveCommand is the serve command; ready, when not nil, is called once
// the server listens, with its base URL (scheme://host:port): demo --serve
// uses it to plan and approve through the server's own API. An error from
// ready stops the server and is returned.
func serveCommand(ready func(ctx context.Context, baseURL string) error) *cobra.Command {
	var sf storeFlags
	var df deliveryFlags
	var inf issuingFlags
	var advisorySender string
	var addr, placesPath, policyPath, countryCode, graphPath string
	var ipRate, accountRate float64
	var trustedProxies []string
	var shutdownTimeout time.Duration
	var lim httpapi.NetLimits
	var bodyTimeout time.Duration
	var checkpointsPath string
	var tlsCert, tlsKey string
	var checkpointEvery time.Duration
	var noShowGrace time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the muster server: the JSON API, health, readiness and metrics",
		Long: `Serves muster's JSON API under /api/, /healthz, /readyz, /metrics and
/openapi.json.

With no flags it keeps an embedded SQLite database in ./muster-data
(created, mode 0700) and makes a master key file there on first start:
keep that file safe. --db postgres://... uses PostgreSQL, so that several
servers can share one database.

With --smtp, --sms-url or --webhook-url it also delivers the outbox over
those channels (docs/delivery.md); secrets are read from files
(--smtp-password-file, --sms-token-file, --webhook-secret-file) or the
environment, never from the command line.

It listens on localhost:8080 unless --addr says otherwise. Personal data
should not cross a network in clear: --tls-cert and --tls-key serve HTTPS
(with Strict-Transport-Security), and 'muster tls init' makes a local
certificate authority and a server certificate; plain HTTP on an address
other than loopback is served with a warning (behind a proxy that
terminates TLS, bind to loopback or a private interface). A renewed
certificate is served without a restart: the files are read again when
they change (looked at once a second at most) or when the server gets
SIGHUP; a new pair that does not load is refused with a log line and the
old one kept.

SIGINT or SIGTERM stops it gracefully: it stops accepting connections and
finishes the requests in flight (up to --shutdown-timeout).`,
		Example: `  muster serve
  muster serve --addr 127.0.0.1:8080 --db postgres://muster@localhost/muster --key /etc/muster/master.key
  muster tls init --host muster.lan --host 192.168.1.20 -o /etc/muster/tls
  muster serve --addr 0.0.0.0:8443 --tls-cert /etc/muster/tls/server.crt --tls-key /etc/muster/tls/server.key
  MUSTER_SMTP_PASSWORD=... muster serve --smtp smtp://muster@mail.example.org:587 --smtp-from "Evacuation <noreply@example.org>"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			errOut := cmd.ErrOrStderr()
			if os.Getenv("GOGC") == "" {
				// Each request allocates a few kilobytes that die with it,
				// over a live heap of a few megabytes (more with --graph):
				// at the default 100% the collector ran twice as often and
				// cost the household read path 7% of its throughput. An
				// approval runs at issuanceGCPercent (issuingFlags.issuer).
				debug.SetGCPercent(serveGCPercent)
			}
			cfg := httpapi.Config{Logger: slog.Default(), IPRate: ipRate, AccountRate: accountRate, DefaultCountryCode: countryCode,
				BodyStallTimeout: bodyTimeout, AdvisorySender: advisorySender, NoShowGrace: noShowGrace}
			for _, cidr := range trustedProxies {
				pfx, err := netip.ParsePrefix(cidr)
				if err != nil {
					addr, aerr := netip.ParseAddr(cidr)
					if aerr != nil {
						return muster.Errorf(muster.EINVALID, "--trusted-proxy %q: want an address or a CIDR such as 10.0.0.0/8", cidr)
					}
					pfx = netip.PrefixFrom(addr, addr.BitLen())
				}
				cfg.TrustedProxies = append(cfg.TrustedProxies, pfx.Masked())
			}
			if placesPath != "" {
				pl, err := places.ReadFile(placesPath)
				if err != nil {
					return err
				}
				cfg.Places = pl
			}
			if graphPath != "" {
				// Routers for planning: the graph's car and foot networks.
				pf := planFlags{graph: graphPath}
				car, foot, err := pf.routers(cmd, nil)
				if err != nil {
					return err
				}
				cfg.Car, cfg.Foot = car, foot
			}
			if policyPath != "" {
				p, err := threat.LoadPolicy(policyPath)
				if err != nil {
					return err
				}
				cfg.Policy = &p
			}
			st, err := sf.openStore(ctx, errOut, true)
			if err != nil {
				return err
			}
			defer st.Close()
			cfg.Store = st
			if cfg.AckKey, err = df.ackKey(); err != nil {
				return err
			}
			if cfg.Twilio, err = df.twilioInbound(); err != nil {
				return err
			}
			// Device cookies (login throttling) are signed under a key
			// derived from the master key: every instance sharing the
			// database, and so the key, accepts the others' cookies.
			master, err := sf.masterKey(errOut, false)
			if err != nil {
				return err
			}
			mac := hmac.New(sha256.New, master)
			mac.Write([]byte("muster device cookie key v1"))
			cfg.DeviceKey = mac.Sum(nil)
			// Signed checkpoints of the audit log, outside the database
			// (docs/server.md, "Audit log"); the last is written after the
			// requests in flight have finished, before the store closes.
			cpCtx, stopCheckpoints := context.WithCancel(context.Background())
			waitCheckpoints, err := runAuditCheckpoints(cpCtx, st, master, checkpointsPath, checkpointEvery, cmd.OutOrStdout())
			if err != nil {
				stopCheckpoints()
				return err
			}
			defer func() { stopCheckpoints(); waitCheckpoints() }()
			// The issuer signs and queues the instructions of every plan
			// approved; without signing keys no plan is approved.
			var streets *instruct.Streets
			if cfg.Foot != nil {
				if streets, err = instruct.NewStreets(cfg.Foot.Graph()); err != nil {
					return fmt.Errorf("--graph: %w", err)
				}
			}
			if (tlsCert == "") != (tlsKey == "") {
				return muster.Errorf(muster.EINVALID, "--tls-cert and --tls-key go together (muster tls init makes both)")
			}
			scheme := "http"
			var tlsConfig *tls.Config
			if tlsCert != "" {
				// Read again when the files change or on SIGHUP: a renewed
				// certificate is served without a restart (tlsreload.go).
				certs, warnings, err := newCertReloader(tlsCert, tlsKey, errOut)
				if err != nil {
					return muster.Errorf(muster.EINVALID, "%v", err)
				}
				certs.reloadOnSIGHUPUntil(ctx)
				tlsConfig = certs.Config()
				for _, w := range warnings {
					slog.Warn(w)
					fmt.Fprintf(errOut, "muster: warning: %s\n", w)
				}
				scheme = "https"
			}
			if inf.publicURL == "" {
				inf.publicURL = scheme + "://" + addr
			}
			if cfg.Issuer, err = inf.issuer(cmd, &sf, st, streets, df.webhookURL != ""); err != nil {
				return err
			}
			if cfg.Issuer == nil {
				fmt.Fprintf(errOut, "muster: warning: no signing keys in %s: plans cannot be approved nor instructions issued or verified until `muster keys init --data %s --deployment ID` is run and the server restarted\n",
					filepath.Join(sf.data, signingKeysFile), sf.data)
			}
			api, err := httpapi.New(cfg)
			if err != nil {
				return err
			}
			// The delivery worker, when a channel is configured; it stops
			// (releasing what it leased and had not begun) before the
			// store closes.
			wctx, stopWorker := context.WithCancel(ctx)
			waitWorker, err := df.startWorker(wctx, st, api.Registerer())
			if err != nil {
				stopWorker()
				return err
			}
			defer func() { stopWorker(); waitWorker() }()
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return muster.Errorf(muster.EINVALID, "--addr %s: %v", addr, err)
			}
			// Deadlines and connection caps, so that clients that connect
			// and stall cannot take the server (docs/server.md, "Errors and limits").
			lim.Exempt = cfg.TrustedProxies
			srv, limited := api.HTTPServer(ln, lim)
			if tlsConfig != nil {
				srv.TLSConfig = tlsConfig
				srv.Handler = httpapi.HSTS(srv.Handler)
			} else if w := plainHTTPWarning(ln.Addr()); w != "" {
				slog.Warn(w, "addr", ln.Addr().String())
				fmt.Fprintf(errOut, "muster: WARNING: %s\n", w)
			}
			where := "the embedded SQLite database in " + filepath.Join(sf.data, sqliteFile)
			if sf.db != "" {
				where = "PostgreSQL at " + redactURL(sf.db)
			}
			fmt.Fprintf(errOut, "muster: serving %s://%s with %s\n", scheme, ln.Addr(), where)
			served := make(chan error, 1)
			go func() {
				if tlsConfig != nil {
					served <- srv.ServeTLS(limited, "", "")
					return
				}
				served <- srv.Serve(limited)
			}()
			if ready != nil {
				if err := ready(ctx, scheme+"://"+ln.Addr().String()); err != nil && ctx.Err() == nil {
					_ = srv.Close()
					<-served
					return err
				}
			}
			select {
			case err := <-served:
				return fmt.Errorf("serve: %w", err)
			case <-ctx.Done():
			}
			fmt.Fprintf(errOut, "muster: shutting down: finishing the requests in flight (at most %s)\n", shutdownTimeout)
			sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				_ = srv.Close()
				return fmt.Errorf("shutdown: requests still running after %s were cut: %w", shutdownTimeout, err)
			}
			if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("serve: %w", err)
			}
			fmt.Fprintln(errOut, "muster: stopped")
			return nil
		},
	}
	fl := cmd.Flags()
	sf.register(fl)
	df.register(fl)
	inf.register(fl)
	fl.StringVar(&addr, "addr", "localhost:8080", "HOST:PORT to listen on")
	fl.StringVar(&checkpointsPath, "audit-checkpoints", "", "append signed checkpoints of the audit log to this file (made 0600; -: standard output), for 'muster audit verify --checkpoints'; they also go to the log")
	fl.DurationVar(&checkpointEvery, "audit-checkpoint-every", time.Minute, "how often to sign a checkpoint while the audit log grows (and once at shutdown)")
	fl.StringVar(&tlsCert, "tls-cert", "", "serve HTTPS with this certificate chain (PEM; muster tls init makes one), with --tls-key")
	fl.StringVar(&tlsKey, "tls-key", "", "the private key of --tls-cert (PEM)")
	fl.StringVar(&placesPath, "places", "", "places file (GeoJSON) resolving report place names and listing the gates")
	fl.StringVar(&policyPath, "policy", "", "threat routing policy file (JSON)")
	fl.StringVar(&graphPath, "graph", "", "graph file (from 'muster import' or 'muster demo'): with --places, the server can plan (POST /api/plans)")
	fl.StringVar(&advisorySender, "advisory-sender", "", "the CAP sender of this deployment's advisories, such as muster@kabul.example.org (default: muster@ and the signing keys' deployment)")
	fl.StringVar(&countryCode, "country-code", "", "country calling code (+93) completing national phone numbers in CSV imports")
	fl.Float64Var(&ipRate, "rate-ip", httpapi.DefaultIPRate, "requests a second allowed from one client address (negative: no limit)")
	fl.Float64Var(&accountRate, "rate-account", httpapi.DefaultAccountRate, "requests a second allowed from one operator account (negative: no limit)")
	fl.StringSliceVar(&trustedProxies, "trusted-proxy", nil, "load balancer address or CIDR whose X-Forwarded-For names the client (repeatable)")
	fl.DurationVar(&shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long to let requests in flight finish on SIGINT/SIGTERM")
	fl.DurationVar(&lim.ReadHeaderTimeout, "header-timeout", httpapi.DefaultReadHeaderTimeout, "a request's headers must arrive within this")
	fl.DurationVar(&noShowGrace, "no-show-grace", operation.DefaultGrace, "an overdue household is a no-show this long after its report-by time (docs/operations.md)")
	fl.DurationVar(&bodyTimeout, "body-timeout", httpapi.DefaultBodyStallTimeout, "a request body that sends nothing for this long is cut (and one slower than 1 KiB/s on average)")
	fl.DurationVar(&lim.IdleTimeout, "idle-timeout", httpapi.DefaultIdleTimeout, "an idle keep-alive connection is closed after this")
	fl.IntVar(&lim.MaxConnsPerAddress, "max-conns-per-ip", httpapi.DefaultMaxConnsPerAddress, "connections held at once from one client address (an IPv6 /64); over it, new ones are closed at once (--trusted-proxy addresses have no cap)")
	fl.IntVar(&lim.MaxConns, "max-conns", 0, "connections held at once in all (0: under the limit of open files); over it the oldest idle go first")
	return cmd
}

// openPostgresStore opens the PostgreSQL store at url.
func openPostgresStore(ctx context.Context, url string, keys muster.DataKeys) (muster.Store, error) {
	st, err := postgres.Open(ctx, url, keys)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(err.Error(), "connection refused") {
			return nil, fmt.Errorf("--db %s: %w (is PostgreSQL installed and running there? 'muster db init' prints the commands that make one)", redactURL(url), err)
		}
		return nil, fmt.Errorf("--db %s: %w", redactURL(url), err)
	}
	return st, nil
}

// plainHTTPWarning says why serving plain HTTP on addr is dangerous, or ""
// for a loopback address (only this machine can reach it).
func plainHTTPWarning(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if ok && tcp.IP.IsLoopback() {
		return ""
	}
	return "serving personal data over plain HTTP on " + addr.String() + ", which is not loopback: anyone on the network path can read it and take sessions. " +
		"Serve HTTPS (--tls-cert/--tls-key; muster tls init makes them), or bind to 127.0.0.1 behind a proxy that terminates TLS"
}

// dataDirWarning says what is wrong with the data folder's mode, or "".
func dataDirWarning(dir string) string {
	st, err := os.Stat(dir)
	if err != nil || runtime.GOOS == "windows" {
		return ""
	}
	perm := st.Mode().Perm()
	switch {
	case perm&0o022 != 0:
		return fmt.Sprintf("data folder %s may be changed by other users (mode %04o): they could replace the database or the master key, or read them: chmod 700 %s", dir, perm, dir)
	case perm&0o044 != 0 || perm&0o011 != 0:
		return fmt.Sprintf("data folder %s may be read by other users (mode %04o): chmod 700 %s", dir, perm, dir)
	}
	return ""
}
