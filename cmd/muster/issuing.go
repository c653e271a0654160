package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/credential"
	"github.com/muster-evac/muster/instruct"
	"github.com/muster-evac/muster/issue"
	"github.com/muster-evac/muster/roadgraph"
)

// issuingFlags configure how the server (and `muster instructions issue`)
// issues instructions: where evacuees' links point, whom they may call,
// the languages of those muster does not write and of escorts.
type issuingFlags struct {
	publicURL, contactPhone, contactURL, langDefault, escortLang string
}

func (f *issuingFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.publicURL, "public-url", "", "the server's address as evacuees reach it: their links are PUBLIC-URL/i/... (default: http:// and --addr)")
	fl.StringVar(&f.contactPhone, "contact-phone", "", "phone number to call with questions, in every instruction")
	fl.StringVar(&f.contactURL, "contact-url", "", "web page with more information, in every instruction")
	fl.StringVar(&f.langDefault, "lang-default", muster.LangEnglish, "language of instructions for households in one muster does not write")
	fl.StringVar(&f.escortLang, "escort-lang", "", "language of escorts' instructions (default: --lang-default)")
}

// The collector's GOGC in muster serve, unless GOGC is set: 200 for the
// requests, 100 while an approval or issuance runs (issue.Config's
// CollectorPercent says why). BenchmarkInstructions100k runs as served.
const (
	serveGCPercent    = 200
	issuanceGCPercent = 100
)

// issuer makes the issuer from the keyring in the store flags' data
// folder, sealed under their master key. Without a keyring it returns nil
// and says so: such a server approves no plan.
func (f *issuingFlags) issuer(cmd *cobra.Command, sf *storeFlags, st muster.Store, streets *instruct.Streets, webhook bool) (*issue.Issuer, error) {
	if _, _, ok := instruct.LanguageTag(f.langDefault); !ok {
		return nil, muster.Errorf(muster.EINVALID, "--lang-default %q: muster writes %s", f.langDefault, strings.Join(instruct.Languages(), ", "))
	}
	path := filepath.Join(sf.data, signingKeysFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	master, err := sf.masterKey(cmd.ErrOrStderr(), false)
	if err != nil {
		return nil, err
	}
	read := func() (*credential.Keyring, error) {
		kr, _, err := credential.ReadKeyringFile(path, master)
		if err != nil {
			return nil, muster.Errorf(muster.EINVALID, "%v", err)
		}
		return kr, nil
	}
	kr, err := read()
	if err != nil {
		return nil, err
	}
	collector := 0
	if cmd.Name() == "serve" && os.Getenv("GOGC") == "" {
		collector = issuanceGCPercent // (serve runs at serveGCPercent)
	}
	iss, err := issue.New(issue.Config{Store: st, Keyring: kr, Secret: issue.CodesSecret(master), Streets: streets, PublicURL: f.publicURL,
		Contact: muster.Contact{Phone: f.contactPhone, URL: f.contactURL}, DefaultLanguage: f.langDefault, EscortLanguage: f.escortLang,
		Webhook: webhook, Logger: slog.Default(), ReadKeyring: read, CollectorPercent: collector})
	if err != nil {
		return nil, err
	}
	if cmd.Name() == "serve" {
		reloadOnSIGHUP(cmd.Context(), iss)
	}
	return iss, nil
}

// reloadOnSIGHUP reads the keyring again each time the server gets
// SIGHUP (after `muster keys rotate` in its data folder), until ctx ends:
// the new key signs and verifies without a restart. A keyring that
// cannot be read, or is another deployment's, is logged and the old one
// kept. The verifier bundle the server caches is remade within seconds
// (POST /api/keys/reload remakes it at once).
func reloadOnSIGHUP(ctx context.Context, iss *issue.Issuer) {
	if ctx == nil {
		ctx = context.Background()
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-hup:
				if _, err := iss.ReloadKeys(); err != nil {
					slog.Error("SIGHUP: keyring not reloaded", "err", err)
				}
			case <-ctx.Done():
				return
			}
		}
	}()
}

// streetsOf names the streets of the foot network of a graph file; no
// file, no names.
func streetsOf(graphPath string) (*instruct.Streets, error) {
	if graphPath == "" {
		return nil, nil
	}
	city, err := roadgraph.LoadCity(graphPath)
	if err != nil {
		return nil, err
	}
	foot, err := city.Graph(roadgraph.Foot)
	if err != nil {
		return nil, muster.Errorf(muster.EINVALID, "%s: %v", graphPath, err)
	}
	s, err := instruct.NewStreets(foot)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", graphPath, err)
	}
	return s, nil
}

// printIssuance says what an issuance did.
func printIssuance(cmd *cobra.Command, r issue.Report) {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "plan %s: issued %d instructions (%d households, %d escorts), %d superseded, %d revoked, %d unchanged\n",
		r.Plan, r.Issued, r.Households, r.Escorts, r.Superseded, r.Revoked, r.Unchanged)
	fmt.Fprintf(w, "queued %d messages (%d e-mail, %d SMS, %d webhook); %d links made\n",
		r.Enqueued, r.Messages[muster.ChannelEmail], r.Messages[muster.ChannelSMS], r.Messages[muster.ChannelWebhook], r.Links)
	if r.Resigned > 0 {
		fmt.Fprintf(w, "signed again: %d instructions unchanged but signed by a revoked key (their new versions carry the current key's signature)\n", r.Resigned)
	}
	if r.Expired > 0 {
		fmt.Fprintf(w, "not issued: %d instructions that expired before they could be (their groups are through)\n", r.Expired)
	}
	if r.NoChannel > 0 {
		fmt.Fprintf(w, "%d households have no phone or e-mail to send theirs to: reach them another way ('muster unacknowledged')\n", r.NoChannel)
	}
}

func newInstructionsIssueCmd() *cobra.Command {
	var sf storeFlags
	var inf issuingFlags
	var planID, graphPath string
	cmd := &cobra.Command{
		Use:   "issue [--plan ID]",
		Short: "Issue the current plan's instructions from the store (what changed since the last issuance)",
		Long: `Builds the instructions of the current plan in the store, signs them with the
keys in the data folder, and stores them with their messages queued, in one
transaction: only households whose instruction changed get a new version, the
old one superseded; households the plan no longer serves have theirs revoked.
Approving a plan on the server does this already; this command forces it, for
example after the registry changed (a new phone, a new language). Nothing
changed, nothing is issued. --graph names the streets of walking directions.`,
		Example: `  muster instructions issue --graph muster-demo/city.graph --public-url https://evac.example.org`,
		Args:    cobra.NoArgs,
		RunE: sf.runE(false, func(cmd *cobra.Command, ctx context.Context, st muster.Store, args []string) error {
			streets, err := streetsOf(graphPath)
			if err != nil {
				return err
			}
			iss, err := inf.issuer(cmd, &sf, st, streets, false)
			if err != nil {
				return err
			}
			if iss == nil {
				return muster.Errorf(muster.EINVALID, "%v", issue.ErrNoKeys)
			}
			if planID == "" {
				cur, err := st.CurrentPlan(ctx)
				if err != nil {
					return err
				}
				planID = cur.ID
			}
			r, err := iss.Issue(ctx, planID)
			if err != nil {
				return err
			}
			printIssuance(cmd, r)
			return nil
		}),
	}
	sf.register(cmd.Flags())
	inf.register(cmd.Flags())
	cmd.Flags().StringVar(&planID, "plan", "", "the plan's id in the store (default: the current plan); it must be current")
	cmd.Flags().StringVar(&graphPath, "graph", "", "the graph the plan was made on: street names for walking directions")
	return cmd
}
