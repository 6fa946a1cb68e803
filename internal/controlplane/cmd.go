package controlplane

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"
)

// Command is the hidden `localaks controlplane` command serve starts for
// each running cluster.
func Command() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:    "controlplane --dir DIR",
		Short:  "Run one cluster's control plane (started by serve)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
			return Run(cmd.Context(), Config{Dir: dir, Specs: os.Stdin, Events: cmd.OutOrStdout(), Log: log})
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the cluster's data directory")
	cmd.MarkFlagRequired("dir") //nolint:errcheck // the flag exists
	return cmd
}
