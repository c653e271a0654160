package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/zonecost"
)

// demoDeployment is the deployment id of the demo's signing keys.
const demoDeployment = "muster-demo"

// demoAdmin is the demo's operator account.
const demoAdmin = "admin"

// runDemoServe runs the demo, then the server on what it made, set up as
// README's "An operation, end to end" does by hand: signing keys, an
// account, the households imported, the threat reported, a plan made and
// approved through the server's own API (POST /api/plans, .../approve), so
// that the operations map shows the threat, the plan and its groups.
//
// The data folder, OUT/data, is made anew on every run: the demo
// regenerates its city and households each time, and a folder kept from
// another seed or scale would mix two cities. Only a folder the demo made
// (it carries a mark) is removed; any other there is refused.
func runDemoServe(cmd *cobra.Command, o demoOptions, addr string) error {
	ctx := cmd.Context()
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if o.osm != "" {
		return muster.Errorf(muster.EINVALID, "--serve runs the generated city's operation (its places and households): leave --osm out")
	}
	data := filepath.Join(o.out, "data")
	if err := clearDemoData(data); err != nil {
		return err
	}
	if err := runDemo(ctx, out, o); err != nil {
		return err
	}
	zf, err := os.Open(filepath.Join(o.out, "zones.geojson"))
	if err != nil {
		return fmt.Errorf("demo --serve: %w", err)
	}
	zones, err := zonecost.ReadGeoJSON(zf, zf.Name())
	zf.Close()
	if err != nil {
		return fmt.Errorf("demo --serve: %w", err)
	}

	// The same commands an operator runs, in-process.
	sub := func(c *cobra.Command, stdin string, args ...string) error {
		var buf bytes.Buffer
		c.SetOut(&buf)
		c.SetErr(&buf)
		c.SetIn(strings.NewReader(stdin))
		c.SetArgs(args)
		c.SilenceUsage, c.SilenceErrors = true, true
		if err := c.ExecuteContext(ctx); err != nil {
			return fmt.Errorf("demo --serve: %s: %w\n%s", c.Name(), err, buf.String())
		}
		return nil
	}
	if err := sub(newKeysInitCmd(), "", "--data", data, "--deployment", demoDeployment); err != nil {
		return err
	}
	password, err := demoPassword()
	if err != nil {
		return err
	}
	if err := sub(newUserAddCmd(), password+"\n", demoAdmin, "--role", muster.RoleAdmin, "--password-stdin", "--data", data); err != nil {
		return err
	}
	if err := sub(newHouseholdsImportCmd(), "", filepath.Join(o.out, "evacuees.csv"), "--data", data); err != nil {
		return err
	}
	fmt.Fprintf(out, "• data folder %s (made anew): master key, signing keys of deployment %s, account %s, the demo's households\n", data, demoDeployment, demoAdmin)

	ready := func(ctx context.Context, base string) error {
		link, err := demoOperation(ctx, base, password, zones)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "\nThe operation is running. Open the operations map:\n  %s/\n", base)
		fmt.Fprintf(out, "Log in as %s with password %s\n  (printed only now; a new one each run)\n", demoAdmin, password)
		fmt.Fprintf(out, "One household's own page, as its link opens it: %s/me/%s\n", base, link)
		fmt.Fprintf(out, "Ctrl-C stops the server.\n")
		return nil
	}
	serve := serveCommand(ready)
	serve.SetOut(out)
	serve.SetErr(errOut)
	serve.SetArgs([]string{"--data", data, "--addr", addr,
		"--graph", filepath.Join(o.out, "city.graph"), "--places", filepath.Join(o.out, "places.geojson")})
	serve.SilenceUsage, serve.SilenceErrors = true, true
	return serve.ExecuteContext(ctx)
}

// demoDataMark marks a data folder demo --serve made, and so may remove.
const demoDataMark = ".muster-demo"

// clearDemoData makes data an empty data folder with the demo's mark. A
// folder there without the mark is someone's own (--out pointed at a
// folder with a data/ of its own): it is refused, never removed.
func clearDemoData(data string) error {
	if _, err := os.Stat(data); err == nil {
		if _, err := os.Stat(filepath.Join(data, demoDataMark)); err != nil {
			return muster.Errorf(muster.EINVALID, "demo --serve: %s exists and was not made by demo --serve: move it away or give another --out (the demo makes its data folder anew each run)", data)
		}
		if err := os.RemoveAll(data); err != nil {
			return fmt.Errorf("demo --serve: clearing %s: %w", data, err)
		}
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return fmt.Errorf("demo --serve: %w", err)
	}
	return os.WriteFile(filepath.Join(data, demoDataMark), []byte("made by muster demo --serve, which makes this folder anew on each run\n"), 0o600)
}

// demoPassword is a new random password: 100 bits in base32, in groups
// of five for reading aloud.
func demoPassword() (string, error) {
	b := make([]byte, 25)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	s := strings.ToLower(base32.StdEncoding.EncodeToString(b))[:20]
	return s[:5] + "-" + s[5:10] + "-" + s[10:15] + "-" + s[15:], nil
}

// demoOperation does, through the API at base, what an operator does on
// the demo city: logs in, reports the threat, plans, approves, and makes
// a capability link for the first household the plan moves. It returns
// that link's secret token.
func demoOperation(ctx context.Context, base, password string, zones []muster.Zone) (string, error) {
	client := &http.Client{Timeout: 5 * time.Minute}
	call := func(method, path, token, contentType string, body []byte, into any) error {
		req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("demo --serve: %s %s: %w", method, path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		if err != nil {
			return fmt.Errorf("demo --serve: %s %s: %w", method, path, err)
		}
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("demo --serve: %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
		}
		if into != nil {
			if err := json.Unmarshal(b, into); err != nil {
				return fmt.Errorf("demo --serve: %s %s: %w", method, path, err)
			}
		}
		return nil
	}
	jsonBody := func(v any) []byte { b, _ := json.Marshal(v); return b }

	var login struct {
		Token string `json:"token"`
	}
	if err := call("POST", "/api/login", "", "application/json", jsonBody(map[string]string{"name": demoAdmin, "password": password}), &login); err != nil {
		return "", err
	}
	tok := login.Token

	// The threat, as the field reports it: one report per zone of the
	// demo, a minute old.
	var lines bytes.Buffer
	now := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	for _, z := range zones {
		if z.RadiusM <= 0 {
			continue
		}
		kind, likelihood, severity := muster.KindCrowd, "likely", 3
		if z.Forbidden {
			kind, likelihood, severity = muster.KindExplosion, "almost certain", 5
		}
		lines.Write(jsonBody(map[string]any{
			"id": "demo-" + z.ID, "received_at": now,
			"source":      map[string]string{"id": "field-team", "kind": "field"},
			"reliability": "A", "credibility": 1, "kind": kind, "claim": "present",
			"likelihood": likelihood, "immediacy": "imminent", "severity": severity,
			"area": map[string]any{"point": []float64{z.Center[0], z.Center[1]}, "radius_m": z.RadiusM},
			"text": z.Name,
		}))
		lines.WriteByte('\n')
	}
	if lines.Len() > 0 {
		if err := call("POST", "/api/reports", tok, "application/x-ndjson", lines.Bytes(), nil); err != nil {
			return "", err
		}
	}

	var made struct {
		ID string `json:"id"`
	}
	if err := call("POST", "/api/plans", tok, "application/json", []byte("{}"), &made); err != nil {
		return "", err
	}
	if err := call("POST", "/api/plans/"+made.ID+"/approve", tok, "", nil, nil); err != nil {
		return "", err
	}
	var current struct {
		Groups []struct {
			Households []string `json:"households"`
		} `json:"groups"`
	}
	if err := call("GET", "/api/plans/current", tok, "", nil, &current); err != nil {
		return "", err
	}
	household := ""
	for _, g := range current.Groups {
		if len(g.Households) > 0 {
			household = g.Households[0]
			break
		}
	}
	if household == "" {
		return "", muster.Errorf(muster.EUNREACHABLE, "demo --serve: the approved plan moves no household")
	}
	var link struct {
		Token string `json:"token"`
	}
	if err := call("POST", "/api/households/"+household+"/links", tok, "application/json", []byte("{}"), &link); err != nil {
		return "", err
	}
	return link.Token, nil
}
