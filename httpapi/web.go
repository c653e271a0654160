package httpapi

import (
	"bytes"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/web"
)

// The browser pages (package web, docs/web.md): HTML shells at /, /field
// and /me/{token}, their bundled scripts, styles and fonts under /assets/.
// Nothing a page loads comes from elsewhere: the Content-Security-Policy
// below allows this origin only, so that a page cannot be made to fetch
// from the internet, nor run a script injected into it.

const mediaHTML = "text/html"

// pageCSP is the Content-Security-Policy of every page. No inline script
// or style element, no eval, nothing from another origin. MapLibre runs
// its worker from a same-origin module URL and draws control icons from
// data: URLs in its stylesheet; the evacuee page shows its QR code as a
// data: image.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"font-src 'self'; connect-src 'self'; worker-src 'self'; manifest-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// setPageHeaders sets the headers of a page or service worker: the CSP,
// and no caching, so that a new build is seen at the next load (the
// assets it names are immutable, under a hash of their content).
func setPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// The evacuee's page has the capability in its path: it must not
	// leak to another site through a Referer.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	h.Set("Permissions-Policy", "geolocation=(), microphone=(), camera=(self)")
}

// servePage answers with a built page, or a JSON 404 if this build has
// none by that name.
func (s *Server) servePage(name string) func(w http.ResponseWriter, r *http.Request, _ *caller) error {
	return func(w http.ResponseWriter, r *http.Request, _ *caller) error {
		html, ok := web.Page(name)
		if !ok {
			return muster.Errorf(muster.ENOTFOUND, "%s: this build has no %s page (go generate ./web)", r.URL.Path, name)
		}
		setPageHeaders(w.Header())
		if name == "evacuee" {
			// The shell holds nothing personal, but its URL is a capability.
			w.Header().Set("Cache-Control", "no-store")
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(html)
		}
		return nil
	}
}

// serveWorker answers with a page's service worker, allowed to control
// scope: the field page's own path (/field), which its folder (/field/)
// does not contain, or the evacuee's pages (/me/).
func (s *Server) serveWorker(page, scope string) func(w http.ResponseWriter, r *http.Request, _ *caller) error {
	return func(w http.ResponseWriter, r *http.Request, _ *caller) error {
		js, ok := web.ServiceWorker(page)
		if !ok {
			return muster.Errorf(muster.ENOTFOUND, "%s: the %s page has no service worker", r.URL.Path, page)
		}
		setPageHeaders(w.Header())
		w.Header().Set("Service-Worker-Allowed", scope)
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = w.Write(js)
		return nil
	}
}

// asset answers /assets/{file...}: a file named by a hash of its content,
// so cached for a year and never revalidated.
func (s *Server) asset(w http.ResponseWriter, r *http.Request, _ *caller) error {
	name := r.PathValue("file")
	b, ok := web.Asset(name)
	if !ok {
		return muster.Errorf(muster.ENOTFOUND, "/assets/%s: no such asset", name)
	}
	ct := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".js", ".mjs":
		ct = "text/javascript; charset=utf-8" // module scripts need a JavaScript type
	case ".ttf":
		ct = "font/ttf"
	case ".woff2":
		ct = "font/woff2"
	case ".css":
		ct = "text/css; charset=utf-8"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	if strings.HasSuffix(name, ".js") || strings.HasSuffix(name, ".mjs") {
		// A worker script carries its own policy.
		h.Set("Content-Security-Policy", pageCSP)
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
	return nil
}
