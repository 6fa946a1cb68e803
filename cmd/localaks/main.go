// Command localaks is Azure Kubernetes Service on one machine.
package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/localaks/localaks/internal/app"
	"github.com/localaks/localaks/internal/controlplane"
	"github.com/localaks/localaks/internal/controlplane/realnode"
	"github.com/localaks/localaks/internal/kubectlcmd"
	"github.com/localaks/localaks/internal/nodeapps"
	_ "github.com/localaks/localaks/internal/nodeapps/programs"
)

func main() {
	// In a container of a real node's system image, the binary is the
	// image's program.
	if code, ok := nodeapps.Main(os.Args[0], os.Args[1:]); ok {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := app.Run(ctx, os.Args[1:], os.Stdout, os.Stderr, controlplane.Command(), realnode.Command(), kubectlcmd.Command())
	stop()
	var exit *app.ExitError
	switch {
	case errors.As(err, &exit):
		os.Exit(exit.Code)
	case err != nil:
		os.Exit(1)
	}
}
