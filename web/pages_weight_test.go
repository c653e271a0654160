package web

import (
	"bytes"
	"compress/gzip"
	"regexp"
	"strings"
	"testing"
)

// TestEvacueePageIsLight: what the evacuee's page loads from the build
// (its HTML and every asset it names, gzipped as a server would send
// them) stays under a budget that a cheap phone on a slow link fetches in
// a few seconds. The browser test (e2e/evacuee.mjs) measures the same page
// as served, with /api/me and the bundle.
func TestEvacueePageIsLight(t *testing.T) {
	const budget = 40 << 10 // gzipped bytes of the page itself; 60 KB with its data
	html, ok := Page("evacuee")
	if !ok {
		t.Fatal("the build has no evacuee page: go generate ./web")
	}
	total, gz := len(html), gzipLen(html)
	refs := regexp.MustCompile(`(?:src|href)="/assets/([^"]+)"`).FindAllSubmatch(html, -1)
	if len(refs) == 0 {
		t.Fatal("the evacuee page names no assets")
	}
	for _, m := range refs {
		name := string(m[1])
		b, ok := Asset(name)
		if !ok {
			t.Fatalf("the evacuee page names /assets/%s, which the build lacks", name)
		}
		total += len(b)
		gz += gzipLen(b)
		if strings.Contains(name, "maplibre") {
			t.Errorf("the evacuee page loads %s: it draws its map as SVG", name)
		}
		t.Logf("/assets/%s: %d bytes, %d gzipped", name, len(b), gzipLen(b))
	}
	t.Logf("the evacuee page: %d bytes, %d gzipped, in %d files", total, gz, len(refs)+1)
	if gz > budget {
		t.Errorf("the evacuee page is %d bytes gzipped, over its budget of %d", gz, budget)
	}
}

func gzipLen(b []byte) int {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Len()
}
