package httpapi

import (
	"fmt"
	"io/fs"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/web"
)

// someAsset is the URL of a script the ops page loads.
func someAsset(t testing.TB) string {
	html, ok := web.Page("ops")
	if !ok {
		t.Fatal("the build has no ops page")
	}
	m := regexp.MustCompile(`src="(/assets/[^"]+\.js)"`).FindSubmatch(html)
	if m == nil {
		t.Fatalf("the ops page loads no script from /assets/:\n%s", html)
	}
	return string(m[1])
}

// roadTile is the URL of the zoom-15 tile around the car graph's first
// node, which has roads.
func roadTile(e *testEnv) string {
	p := e.api.cfg.Car.Graph().NodePoint(0)
	t := maptile.At(p, 15)
	return fmt.Sprintf("/tiles/%d/%d/%d.mvt", t.Z, t.X, t.Y)
}

func TestPagesAreServedWithAStrictPolicy(t *testing.T) {
	e := newEnvCity(t, openSQLite(t), true, nil)
	for _, path := range []string{"/", "/field", "/me/" + e.link} {
		resp, body := e.request("", "GET", path, nil, "")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "http") {
			t.Errorf("GET %s: CSP %q allows inline code or another origin", path, csp)
		}
		if resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("GET %s: Referrer-Policy %q", path, resp.Header.Get("Referrer-Policy"))
		}
		// Every script and stylesheet the page names is ours and served.
		refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllSubmatch(body, -1)
		if len(refs) == 0 {
			t.Errorf("GET %s: the page loads nothing", path)
		}
		for _, m := range refs {
			ref := string(m[1])
			if strings.HasPrefix(ref, "#") {
				continue // a link within the page
			}
			if !strings.HasPrefix(ref, "/assets/") {
				t.Errorf("GET %s: the page refers to %s, not to this server's assets", path, ref)
				continue
			}
			resp, _ := e.request("", "GET", ref, nil, "")
			if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
				t.Errorf("GET %s: %d, Cache-Control %q", ref, resp.StatusCode, resp.Header.Get("Cache-Control"))
			}
		}
	}
	// The evacuee's page is a capability URL: never stored by a cache.
	resp, _ := e.request("", "GET", "/me/"+e.link, nil, "")
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("evacuee page: Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	// The service worker may control /field, outside its folder.
	resp, _ = e.request("", "GET", "/field/sw.js", nil, "")
	if resp.StatusCode != 200 || resp.Header.Get("Service-Worker-Allowed") != "/field" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("service worker: %d, Service-Worker-Allowed %q, %s", resp.StatusCode, resp.Header.Get("Service-Worker-Allowed"), resp.Header.Get("Content-Type"))
	}
	// The evacuee page's worker controls /me/ (every link's page), and is
	// not taken for a link.
	resp, body := e.request("", "GET", "/me/sw.js", nil, "")
	if resp.StatusCode != 200 || resp.Header.Get("Service-Worker-Allowed") != "/me/" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") || !strings.Contains(string(body), "muster-me-") {
		t.Errorf("evacuee service worker: %d, Service-Worker-Allowed %q, %s", resp.StatusCode, resp.Header.Get("Service-Worker-Allowed"), resp.Header.Get("Content-Type"))
	}
}

func TestPagesLeaveAPIErrorsAlone(t *testing.T) {
	e := newEnvCity(t, openSQLite(t), false, nil)
	for _, path := range []string{"/nothing", "/api/nothing", "/field/other", "/assets/nothing.js", "/assets/../web.go", "/me/"} {
		resp, body := e.request("", "GET", path, nil, "")
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
			continue
		}
		if code := errorOf(t, body).Code; code != "not_found" {
			t.Errorf("GET %s: code %q", path, code)
		}
	}
	resp, body := e.request("", "POST", "/", nil, "")
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d %s", resp.StatusCode, body)
	}
	// Without a road graph there are no tiles, and the answer says why.
	resp, body = e.request("", "GET", "/tiles/14/1/1.mvt", nil, "")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "--graph") {
		t.Errorf("tile without a graph: %d %s", resp.StatusCode, body)
	}
}

func TestAssetsAreEveryBuiltFile(t *testing.T) {
	e := newEnvCity(t, openSQLite(t), false, nil)
	n := 0
	err := fs.WalkDir(web.Dist(), "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		resp, body := e.request("", "GET", "/"+p, nil, "")
		want, _ := fs.ReadFile(web.Dist(), p)
		if resp.StatusCode != 200 || string(body) != string(want) {
			t.Errorf("GET /%s: %d, %d bytes, want %d", p, resp.StatusCode, len(body), len(want))
		}
		if strings.HasSuffix(p, "js") && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
			t.Errorf("GET /%s: Content-Type %s: a module script needs a JavaScript type", p, resp.Header.Get("Content-Type"))
		}
		return nil
	})
	if err != nil || n < 3 {
		t.Fatalf("%d assets: %v", n, err)
	}
}

func TestRoadTiles(t *testing.T) {
	e := newEnvCity(t, openSQLite(t), true, nil)
	resp, body := e.request("", "GET", roadTile(e), nil, "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != mediaMVT {
		t.Fatalf("tile: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	layers, err := mvt.Unmarshal(body)
	if err != nil || len(layers) == 0 || len(layers[0].Features) == 0 {
		t.Fatalf("tile: %v, %d layers", err, len(layers))
	}
	for path, want := range map[string]string{
		"/tiles/0/0/0.mvt":           "zoom out of range",
		"/tiles/30/1/1.mvt":          "zoom out of range",
		"/tiles/14/99999/1.mvt":      "x and y must be",
		"/tiles/14/-1/1.mvt":         "x and y must be",
		"/tiles/a/1/1.mvt":           "whole numbers",
		"/tiles/14/1/1":              ".mvt",
		"/tiles/14/1/1e300.mvt":      "whole numbers",
		"/tiles/14/1/9999999999.mvt": "whole numbers",
	} {
		resp, body := e.request("", "GET", path, nil, "")
		if resp.StatusCode/100 != 4 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d %s, want a 4xx saying %q", path, resp.StatusCode, body, want)
		}
	}
	// A tile far from the city is empty.
	resp, _ = e.request("", "GET", "/tiles/14/0/0.mvt", nil, "")
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("empty tile: %d, want 204", resp.StatusCode)
	}
}

func FuzzTilePath(f *testing.F) {
	for _, s := range [][3]string{{"14", "1", "2.mvt"}, {"0", "0", "0.mvt"}, {"-1", "1", "1.mvt"}, {"1e3", "1", "1.mvt"}, {"14", "1", "1"}, {"", "", ".mvt"}, {"99999999", "0", "99999999.mvt"}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, z, x, y string) {
		zxy, err := parseTilePath(z, x, y)
		if err != nil {
			if c := muster.ErrorCode(err); c != muster.EINVALID && c != muster.ENOTFOUND {
				t.Fatalf("%q %q %q: code %s", z, x, y, c)
			}
			return
		}
		// What is accepted is what was written, in decimal, and small.
		for i, v := range []string{z, x, strings.TrimSuffix(y, ".mvt")} {
			if zxy[i] < 0 || zxy[i] > 99999999 || strings.TrimLeft(v, "0") != strings.TrimLeft(strconv.Itoa(zxy[i]), "0") {
				t.Fatalf("%q %q %q: read %v", z, x, y, zxy)
			}
		}
	})
}
