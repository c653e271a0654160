package web_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/muster-evac/muster/internal/testshared"
	"github.com/muster-evac/muster/web/internal/bundle"
)

// TestDistIsFresh rebuilds the pages from web/src and the npm packages of
// web/node_modules (npm ci) and checks that the committed web/dist, which
// the binary embeds, is exactly that build: whoever changes a page must run
// `go generate ./web` and commit the result. It builds from a copy of the
// sources and npm packages elsewhere on disk: CI builds in another directory than the one web/dist was made in, and a
// bundle whose name depends on the checkout's path fails there only.
func TestDistIsFresh(t *testing.T) {
	testshared.Long(t)
	if _, err := os.Stat(filepath.Join("node_modules", "maplibre-gl")); err != nil {
		testshared.Unavailable(t, "web/node_modules: run `npm ci` in web/ (%v)", err)
	}
	elsewhere := filepath.Join(t.TempDir(), "another", "checkout")
	if err := os.CopyFS(filepath.Join(elsewhere, "src"), os.DirFS("src")); err != nil {
		t.Fatal(err)
	}
	// A copy, not a symlink: esbuild follows links to the real path. The
	// test driver and the links of .bin are not bundled.
	pkgs, err := os.ReadDir("node_modules")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		if !p.IsDir() || p.Name() == ".bin" || p.Name() == "playwright-core" {
			continue
		}
		if err := os.CopyFS(filepath.Join(elsewhere, "node_modules", p.Name()), os.DirFS(filepath.Join("node_modules", p.Name()))); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "dist")
	if err := bundle.Build(bundle.Options{Src: filepath.Join(elsewhere, "src"), NodeModules: filepath.Join(elsewhere, "node_modules"), Out: out}); err != nil {
		t.Fatal(err)
	}
	got, err := bundle.Tree(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := bundle.Tree("dist")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range got {
		names = append(names, n)
	}
	for n := range want {
		if _, ok := got[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		g, inBuild := got[n]
		w, inDist := want[n]
		switch {
		case !inDist:
			t.Errorf("web/dist lacks %s: run `go generate ./web` and commit web/dist", n)
		case !inBuild:
			t.Errorf("web/dist has %s, which the build no longer makes: run `go generate ./web`", n)
		case !bytes.Equal(g, w):
			t.Errorf("web/dist/%s differs from a fresh build: run `go generate ./web`", n)
		}
	}
}
