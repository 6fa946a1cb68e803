// Package app is the localaks command line: serve, az, env, version and
// the hidden commands the server runs itself. (The benchmarks are a test
// tool: test/bench.)
package app

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/localaks/localaks/internal/datadir"
)

// ExitError asks main to exit with Code after printing nothing more (the
// command already reported what went wrong, e.g. az's own exit code).
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Run executes the command line args (without the program name). extra
// are further (hidden) commands main links in: those that pull in the
// Kubernetes modules live outside this package so its tests link fast.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, extra ...*cobra.Command) error {
	root := newRoot(stdout, stderr)
	root.AddCommand(extra...)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	var exit *ExitError
	if err != nil && !errors.As(err, &exit) {
		fmt.Fprintln(stderr, "localaks:", err)
	}
	return err
}

type globals struct {
	dataDir string
}

func (g *globals) dir() (datadir.Dir, error) { return datadir.Resolve(g.dataDir) }

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "localaks",
		Short:         "Azure Kubernetes Service on one machine",
		Long:          "localaks emulates Azure Resource Manager, Entra ID and AKS offline, for the real az CLI, Azure SDKs and Terraform.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.dataDir, "data-dir", "",
		"state directory (default $"+datadir.EnvVar+", else ~/.localaks)")
	root.AddCommand(newServe(g, stdout, stderr), newAz(g, stdout, stderr), newEnv(g, stdout), newImage(g, stdout), newVersion(stdout))
	return root
}
