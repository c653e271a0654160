// Command muster plans and runs the evacuation of a city under threat.
// Each subcommand lives in a file of its own; this is the only package that
// knows every other one.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/muster-evac/muster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "muster:", err)
		var e *muster.Error
		if errors.As(err, &e) && e.Code == muster.EINVALID {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// subcommands is filled by each command's file in its init function, so that
// adding a command touches only its own file.
var subcommands []func() *cobra.Command

func newRootCmd() *cobra.Command {
	var verbose bool
	root := &cobra.Command{
		Use:           "muster",
		Short:         "Plan and run the evacuation of a city under threat",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelDebug
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
		},
	}
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "log what muster does to stderr")
	for _, sub := range subcommands {
		root.AddCommand(sub())
	}
	return root
}
