// Command build bundles muster's browser pages (web/src) into web/dist,
// which the binary embeds: `go generate ./web` runs it, after `npm ci` in
// web/ has installed the npm packages the pages use.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/muster-evac/muster/web/internal/bundle"
)

func main() {
	var opts bundle.Options
	flag.StringVar(&opts.Src, "src", "src", "the pages' sources")
	flag.StringVar(&opts.NodeModules, "node-modules", "node_modules", "the npm packages (npm ci)")
	flag.StringVar(&opts.Out, "out", "dist", "output folder (emptied first)")
	flag.Parse()
	if err := bundle.Build(opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
