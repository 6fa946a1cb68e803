// Package kubectlcmd is the hidden `localaks kubectl` command: upstream
// kubectl, linked in, which runCommand executes against a cluster so that
// `az aks command invoke` needs no kubectl on the machine and no shell.
package kubectlcmd

import (
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/component-base/cli"
	kubectl "k8s.io/kubectl/pkg/cmd"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
)

// Command is `localaks kubectl ARGS...`: kubectl with ARGS.
func Command() *cobra.Command {
	return &cobra.Command{
		Use:                "kubectl [args...]",
		Short:              "Run the kubectl built into localaks (used by runCommand)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			streams := genericiooptions.IOStreams{In: os.Stdin, Out: cmd.OutOrStdout(), ErrOut: cmd.ErrOrStderr()}
			k := kubectl.NewKubectlCommand(kubectl.KubectlOptions{
				Arguments:   append([]string{"kubectl"}, args...),
				ConfigFlags: genericclioptions.NewConfigFlags(true).WithDiscoveryBurst(300).WithDiscoveryQPS(50).WithWarningPrinter(streams),
				IOStreams:   streams,
			})
			k.SetArgs(args)
			if err := cli.RunNoErrOutput(k); err != nil {
				cmdutil.CheckErr(err) // prints and exits 1, as kubectl does
			}
			return nil
		},
	}
}
