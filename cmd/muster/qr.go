package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/muster-evac/muster"
	"github.com/muster-evac/muster/qrcode"
)

func init() { subcommands = append(subcommands, newQRCmd) }

func newQRCmd() *cobra.Command {
	var pngFile, svgFile string
	var scale int
	cmd := &cobra.Command{
		Use:   "qr [TOKEN|-] --png FILE | --svg FILE",
		Short: "Draw an instruction token as a QR code (PNG, SVG)",
		Long: `Draws a token (the argument, or standard input with - or no argument) as
a QR code at error correction level Q, as a PNG (--scale pixels a module)
and/or an SVG, each with the standard 4-module white margin. muster verify
--qr reads it back.`,
		Example: `  muster qr "$TOKEN" --png instruction.png --svg instruction.svg`,
		Args:    tokenArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if pngFile == "" && svgFile == "" {
				return muster.Errorf(muster.EINVALID, "give --png FILE, --svg FILE or both")
			}
			if scale < 1 || scale > 64 {
				return muster.Errorf(muster.EINVALID, "--scale %d: 1 to 64 pixels a module", scale)
			}
			token, err := readToken(cmd, args, "")
			if err != nil {
				return err
			}
			code, err := qrcode.Encode(trimLineBreaks(token))
			if err != nil {
				return muster.Errorf(muster.EINVALID, "%v", err)
			}
			if pngFile != "" {
				if err := os.WriteFile(pngFile, code.PNG(scale), 0o644); err != nil {
					return fmt.Errorf("writing the PNG: %w", err)
				}
			}
			if svgFile != "" {
				if err := os.WriteFile(svgFile, code.SVG(), 0o644); err != nil {
					return fmt.Errorf("writing the SVG: %w", err)
				}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "QR code version %d (%d×%d modules), level Q\n", code.Version(), code.Size(), code.Size())
			return nil
		},
	}
	cmd.Flags().StringVar(&pngFile, "png", "", "write a PNG to FILE")
	cmd.Flags().StringVar(&svgFile, "svg", "", "write an SVG to FILE")
	cmd.Flags().IntVar(&scale, "scale", 8, "PNG pixels a module")
	return cmd
}

// trimLineBreaks removes the line breaks around a token read from a line,
// not its spaces (base45 has them).
func trimLineBreaks(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}
