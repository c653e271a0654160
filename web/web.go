// Package web holds muster's browser pages, built by web/build from
// web/src (`go generate ./web`) and embedded in the binary: the operations
// map (ops), the field page (field) and the evacuee's page (evacuee).
// docs/web.md describes them and how they are built and served.
package web

import (
	"embed"
	"io/fs"
	"path"
	"strings"
)

//go:generate go run ./build -src src -node-modules node_modules -out dist

//go:embed all:dist
var dist embed.FS

// Dist is the built output: <page>/index.html, <page>/sw.js,
// assets/..., licenses/...
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed pattern guarantees the folder
	}
	return sub
}

// Page returns a page's HTML, false if the build has no such page.
func Page(name string) ([]byte, bool) {
	b, err := fs.ReadFile(Dist(), path.Join(name, "index.html"))
	return b, err == nil
}

// ServiceWorker returns a page's service worker script, false if it has none.
func ServiceWorker(page string) ([]byte, bool) {
	b, err := fs.ReadFile(Dist(), path.Join(page, "sw.js"))
	return b, err == nil
}

// Asset returns a file of dist/assets by its name under /assets/ (which
// carries a hash of its content), false if there is none.
func Asset(name string) ([]byte, bool) {
	if !fs.ValidPath(name) || strings.Contains(name, "..") {
		return nil, false
	}
	b, err := fs.ReadFile(Dist(), path.Join("assets", name))
	return b, err == nil
}
