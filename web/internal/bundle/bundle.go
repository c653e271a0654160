// Package bundle builds muster's browser pages: it bundles each page's
// JavaScript and CSS with esbuild (run as a Go library, so that building
// needs Go and the npm packages of web/node_modules, not a node toolchain),
// names every asset by a hash of its content, and writes the pages' HTML
// pointing at them. The output is the web/dist folder the binary embeds.
//
// Layout of the source folder (web/src):
//
//	<page>/index.html   the page; its src="main.js" and href="main.css" are
//	                    rewritten to the hashed bundle
//	<page>/main.js      the page's entry point (CSS it imports becomes main.css)
//	<page>/sw.js        optional: the page's service worker, bundled unhashed
//	                    to <page>/sw.js, with MUSTER_PAGE_ASSETS (the URLs of
//	                    the page and its assets) and MUSTER_BUILD (a hash of
//	                    them) defined, so it can precache them
//	lib/                modules shared by pages
//	fonts/              fonts (with their licence), imported from CSS or JS
//
// JavaScript may import a font or other file to get its URL (the file
// loader), and "worker-url:maplibre-gl" to get the URL of MapLibre's worker
// module. Output (web/dist):
//
//	<page>/index.html, <page>/sw.js
//	assets/<page>/main-HASH.js, assets/<page>/main-HASH.css
//	assets/NAME-HASH.EXT                     fonts, MapLibre's worker
//	licenses/<package>.txt                    the licences of what is bundled
package bundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// PublicPath is where the server serves dist/assets.
const PublicPath = "/assets"

// Options say where to read and write.
type Options struct {
	Src         string // web/src
	NodeModules string // web/node_modules
	Out         string // web/dist: emptied, then written
}

// Build bundles every page under opts.Src into opts.Out.
func Build(opts Options) error {
	src, err := filepath.Abs(opts.Src)
	if err != nil {
		return err
	}
	modules, err := filepath.Abs(opts.NodeModules)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(modules, "maplibre-gl", "package.json")); err != nil {
		return fmt.Errorf("bundle: %s has no maplibre-gl: run `npm ci` in web/ first (%w)", modules, err)
	}
	pages, err := findPages(src)
	if err != nil {
		return err
	}
	if len(pages) == 0 {
		return fmt.Errorf("bundle: no pages in %s (a page is a folder with index.html and main.js)", src)
	}
	files := map[string][]byte{} // path under Out -> content

	var entries []string
	for _, p := range pages {
		entries = append(entries, filepath.Join(src, p, "main.js"))
	}
	res := api.Build(api.BuildOptions{
		AbsWorkingDir:     filepath.Dir(src),
		EntryPoints:       entries,
		Bundle:            true,
		Format:            api.FormatESModule,
		Target:            api.ES2020,
		Platform:          api.PlatformBrowser,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		LegalComments:     api.LegalCommentsEndOfFile,
		Outdir:            filepath.Join(filepath.Dir(src), "out", "assets"),
		Outbase:           src,
		EntryNames:        "[dir]/[name]-[hash]",
		AssetNames:        "[name]-[hash]",
		ChunkNames:        "[name]-[hash]",
		PublicPath:        PublicPath,
		NodePaths:         []string{modules},
		Loader: map[string]api.Loader{
			".ttf": api.LoaderFile, ".woff2": api.LoaderFile, ".woff": api.LoaderFile,
			".png": api.LoaderFile, ".svg": api.LoaderFile,
		},
		Plugins:  []api.Plugin{workerURLPlugin(modules), noRemotePlugin()},
		Metafile: true,
		Write:    false,
		LogLevel: api.LogLevelSilent,
	})
	if len(res.Errors) > 0 {
		return buildErrors(res.Errors)
	}
	outRoot := filepath.Join(filepath.Dir(src), "out")
	for _, f := range res.OutputFiles {
		rel, err := filepath.Rel(outRoot, f.Path)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = stripSourceMapURL(f.Contents)
	}
	meta, err := parseMeta(res.Metafile, outRoot)
	if err != nil {
		return err
	}

	// Each page: its HTML pointing at the hashed bundle, and its service
	// worker if it has one.
	for _, p := range pages {
		js, css, assets := meta.entry(path.Join("src", p, "main.js"))
		if js == "" {
			return fmt.Errorf("bundle: page %s: esbuild made no bundle", p)
		}
		html, err := os.ReadFile(filepath.Join(src, p, "index.html"))
		if err != nil {
			return err
		}
		html, err = rewriteHTML(p, html, PublicPath+"/"+strings.TrimPrefix(js, "assets/"), cssURL(css))
		if err != nil {
			return err
		}
		files[p+"/index.html"] = html
		if _, err := os.Stat(filepath.Join(src, p, "sw.js")); err == nil {
			urls := []string{}
			for _, a := range assets {
				urls = append(urls, PublicPath+"/"+strings.TrimPrefix(a, "assets/"))
			}
			sort.Strings(urls)
			sw, err := buildWorker(src, modules, p, urls, files)
			if err != nil {
				return err
			}
			files[p+"/sw.js"] = sw
		}
	}

	// The licences of the npm packages bundled, and of the fonts.
	for _, pkg := range meta.packages() {
		lic, err := findLicense(filepath.Join(modules, filepath.FromSlash(pkg)))
		if err != nil {
			return err
		}
		files["licenses/"+strings.ReplaceAll(pkg, "/", "__")+".txt"] = lic
	}
	if ofl, err := os.ReadFile(filepath.Join(src, "fonts", "OFL.txt")); err == nil {
		files["licenses/fonts-noto.txt"] = ofl
	}
	return writeTree(opts.Out, files)
}

// findPages lists the folders of src with an index.html and a main.js.
func findPages(src string) ([]string, error) {
	ents, err := os.ReadDir(src)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	var pages []string
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		_, errHTML := os.Stat(filepath.Join(src, e.Name(), "index.html"))
		_, errJS := os.Stat(filepath.Join(src, e.Name(), "main.js"))
		if errHTML == nil && errJS == nil {
			pages = append(pages, e.Name())
		}
	}
	return pages, nil
}

// workerURLPlugin resolves "worker-url:maplibre-gl" to the URL of MapLibre's
// worker module, copied to the assets under a content hash: MapLibre 6 runs
// its worker as a module loaded from a URL, which must be same-origin under
// the pages' Content-Security-Policy.
func workerURLPlugin(modules string) api.Plugin {
	return api.Plugin{Name: "worker-url", Setup: func(b api.PluginBuild) {
		b.OnResolve(api.OnResolveOptions{Filter: `^worker-url:`}, func(a api.OnResolveArgs) (api.OnResolveResult, error) {
			if a.Path != "worker-url:maplibre-gl" {
				return api.OnResolveResult{}, fmt.Errorf("unknown worker %q (known: worker-url:maplibre-gl)", a.Path)
			}
			// The path is relative to modules: esbuild hashes a path outside
			// the file namespace as given, so an absolute one would make
			// the bundle's name depend on where the checkout sits.
			return api.OnResolveResult{Path: "maplibre-gl/dist/maplibre-gl-worker.mjs", Namespace: "worker-url"}, nil
		})
		b.OnLoad(api.OnLoadOptions{Filter: `.*`, Namespace: "worker-url"}, func(a api.OnLoadArgs) (api.OnLoadResult, error) {
			data, err := os.ReadFile(filepath.Join(modules, filepath.FromSlash(a.Path)))
			if err != nil {
				return api.OnLoadResult{}, err
			}
			s := string(stripSourceMapURL(data))
			return api.OnLoadResult{Contents: &s, Loader: api.LoaderFile}, nil
		})
	}}
}

// noRemotePlugin refuses imports of URLs: a page loads nothing from the
// internet, ever.
func noRemotePlugin() api.Plugin {
	return api.Plugin{Name: "no-remote", Setup: func(b api.PluginBuild) {
		b.OnResolve(api.OnResolveOptions{Filter: `^(https?:)?//`}, func(a api.OnResolveArgs) (api.OnResolveResult, error) {
			return api.OnResolveResult{}, fmt.Errorf("%s imports %s: pages must not load anything from the internet; install it with npm and import it by name", a.Importer, a.Path)
		})
	}}
}

// buildWorker bundles page's sw.js, unhashed (a service worker's URL must
// not change), with the page's asset URLs and a build hash defined.
func buildWorker(src, modules, page string, assets []string, files map[string][]byte) ([]byte, error) {
	h := sha256.New()
	for _, a := range assets {
		h.Write([]byte(a))
		h.Write(files["assets/"+strings.TrimPrefix(a, PublicPath+"/")])
	}
	h.Write(files[page+"/index.html"])
	build := hex.EncodeToString(h.Sum(nil))[:16]
	list, _ := json.Marshal(assets)
	res := api.Build(api.BuildOptions{
		AbsWorkingDir:     filepath.Dir(src),
		EntryPoints:       []string{filepath.Join(src, page, "sw.js")},
		Bundle:            true,
		Format:            api.FormatIIFE,
		Target:            api.ES2020,
		Platform:          api.PlatformBrowser,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		LegalComments:     api.LegalCommentsEndOfFile,
		NodePaths:         []string{modules},
		Define:            map[string]string{"MUSTER_PAGE_ASSETS": string(list), "MUSTER_BUILD": `"` + build + `"`},
		Plugins:           []api.Plugin{noRemotePlugin()},
		Write:             false,
		Outfile:           filepath.Join(filepath.Dir(src), "out", page, "sw.js"),
		LogLevel:          api.LogLevelSilent,
	})
	if len(res.Errors) > 0 {
		return nil, buildErrors(res.Errors)
	}
	if len(res.OutputFiles) != 1 {
		return nil, fmt.Errorf("bundle: %s/sw.js: %d outputs, want 1", page, len(res.OutputFiles))
	}
	return res.OutputFiles[0].Contents, nil
}

var (
	scriptRef = regexp.MustCompile(`src="(\./)?main\.js"`)
	styleRef  = regexp.MustCompile(`href="(\./)?main\.css"`)
)

// rewriteHTML points the page's references to main.js and main.css at the
// hashed bundle. A page must load main.js; main.css only if it has CSS.
func rewriteHTML(page string, html []byte, jsURL, cssURL string) ([]byte, error) {
	if len(scriptRef.FindAll(html, -1)) != 1 {
		return nil, fmt.Errorf("bundle: %s/index.html must load its bundle once, as <script type=\"module\" src=\"main.js\"></script>", page)
	}
	html = scriptRef.ReplaceAll(html, []byte(`src="`+jsURL+`"`))
	hasStyle := styleRef.Match(html)
	switch {
	case hasStyle && cssURL == "":
		return nil, fmt.Errorf("bundle: %s/index.html links main.css, but main.js imports no CSS", page)
	case !hasStyle && cssURL != "":
		return nil, fmt.Errorf("bundle: %s/main.js imports CSS: link it in index.html as <link rel=\"stylesheet\" href=\"main.css\">", page)
	case hasStyle:
		html = styleRef.ReplaceAll(html, []byte(`href="`+cssURL+`"`))
	}
	if bytes.Contains(html, []byte("<script>")) || regexp.MustCompile(`(?i)\son[a-z]+=`).Match(html) {
		return nil, fmt.Errorf("bundle: %s/index.html has an inline script or event handler: the Content-Security-Policy forbids them", page)
	}
	return html, nil
}

func cssURL(css string) string {
	if css == "" {
		return ""
	}
	return PublicPath + "/" + strings.TrimPrefix(css, "assets/")
}

// metafile is the part of esbuild's metafile this package reads.
type metafile struct {
	Inputs  map[string]json.RawMessage `json:"inputs"`
	Outputs map[string]struct {
		EntryPoint string `json:"entryPoint"`
		CSSBundle  string `json:"cssBundle"`
		Imports    []struct {
			Path string `json:"path"`
			Kind string `json:"kind"`
		} `json:"imports"`
	} `json:"outputs"`
}

func parseMeta(raw string, outRoot string) (*metafile, error) {
	var m metafile
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, fmt.Errorf("bundle: metafile: %w", err)
	}
	// Output paths are relative to the working directory (web/): make them
	// relative to the output root, as files is keyed.
	fixed := make(map[string]struct {
		EntryPoint string `json:"entryPoint"`
		CSSBundle  string `json:"cssBundle"`
		Imports    []struct {
			Path string `json:"path"`
			Kind string `json:"kind"`
		} `json:"imports"`
	}, len(m.Outputs))
	for k, v := range m.Outputs {
		v.CSSBundle = strings.TrimPrefix(v.CSSBundle, "out/")
		fixed[strings.TrimPrefix(k, "out/")] = v
	}
	m.Outputs = fixed
	return &m, nil
}

// entry returns the outputs of an entry point: its script, its stylesheet
// and everything the page loads (script, stylesheet, chunks, fonts, the
// worker), as paths under the output root.
func (m *metafile) entry(entry string) (js, css string, assets []string) {
	for out, o := range m.Outputs {
		if o.EntryPoint == entry && strings.HasSuffix(out, ".js") {
			js, css = out, o.CSSBundle
		}
	}
	if js == "" {
		return "", "", nil
	}
	seen := map[string]bool{}
	var walk func(string)
	walk = func(out string) {
		if seen[out] {
			return
		}
		seen[out] = true
		assets = append(assets, out)
		for _, im := range m.Outputs[out].Imports {
			p := im.Path
			if strings.HasPrefix(p, PublicPath+"/") {
				p = "assets/" + strings.TrimPrefix(p, PublicPath+"/")
			} else {
				p = strings.TrimPrefix(p, "out/")
			}
			if _, ok := m.Outputs[p]; ok {
				walk(p)
			}
		}
	}
	walk(js)
	if css != "" {
		walk(css)
	}
	return js, css, assets
}

// packages lists the npm packages whose files were bundled ("maplibre-gl",
// "@noble/ed25519"), for their licences.
func (m *metafile) packages() []string {
	set := map[string]bool{}
	for in := range m.Inputs {
		in = strings.TrimPrefix(in, "worker-url:")
		i := strings.LastIndex(in, "node_modules/")
		if i < 0 {
			continue
		}
		parts := strings.Split(in[i+len("node_modules/"):], "/")
		name := parts[0]
		if strings.HasPrefix(name, "@") && len(parts) > 1 {
			name += "/" + parts[1]
		}
		set[name] = true
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func findLicense(dir string) ([]byte, error) {
	for _, n := range []string{"LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "license", "license.md", "LICENSE-MIT"} {
		if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil {
			return b, nil
		}
	}
	// Some packages only name their licence in package.json.
	var pj struct {
		Name, License, Author any
	}
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, fmt.Errorf("bundle: no licence file in %s: %w", dir, err)
	}
	if err := json.Unmarshal(b, &pj); err != nil || pj.License == nil {
		return nil, fmt.Errorf("bundle: %s has no licence file and package.json names none", dir)
	}
	return fmt.Appendf(nil, "%v: licensed under %v (package.json; the package ships no licence file)\nAuthor: %v\n", pj.Name, pj.License, pj.Author), nil
}

var sourceMapURL = regexp.MustCompile(`(?m)^//# sourceMappingURL=.*$\n?`)

// stripSourceMapURL drops the source map comment of a copied file: the map
// is not shipped, and a browser's developer tools would ask for it.
func stripSourceMapURL(b []byte) []byte { return sourceMapURL.ReplaceAll(b, nil) }

func buildErrors(msgs []api.Message) error {
	var errs []error
	for _, m := range msgs {
		where := ""
		if m.Location != nil {
			where = fmt.Sprintf("%s:%d:%d: ", m.Location.File, m.Location.Line, m.Location.Column)
		}
		errs = append(errs, fmt.Errorf("%s%s", where, m.Text))
	}
	return fmt.Errorf("bundle: %w", errors.Join(errs...))
}

// writeTree replaces dir's content with files (a folder's own .gitkeep or
// other dotfiles included: dir holds only what the build wrote).
func writeTree(dir string, files map[string][]byte) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Tree reads a built folder back as path -> content, for comparing builds.
func Tree(dir string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	return out, err
}
