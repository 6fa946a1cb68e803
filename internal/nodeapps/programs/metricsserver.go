package programs

import (
	"context"
	"flag"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/component-base/logs"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/util"
	"sigs.k8s.io/metrics-server/cmd/metrics-server/app/options"
	"sigs.k8s.io/metrics-server/pkg/server"

	"github.com/localaks/localaks/internal/nodeapps"
)

func init() {
	nodeapps.Register("metrics-server", func(args []string) int {
		stop := make(chan struct{})
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
		go func() { <-sigs; close(stop) }()
		cmd := metricsServerCommand(stop)
		cmd.SetArgs(args)
		if err := cmd.Execute(); err != nil {
			return 1
		}
		return 0
	})
}

// metricsServerCommand is metrics-server's own command (its options, its
// server), built as its app package builds it.
func metricsServerCommand(stop <-chan struct{}) *cobra.Command {
	o := options.NewOptions()
	cmd := &cobra.Command{
		Use:          "metrics-server",
		SilenceUsage: true,
		RunE: func(*cobra.Command, []string) error {
			if errs := o.Validate(); len(errs) > 0 {
				return errs[0]
			}
			return runMetricsServer(o, stop, nil)
		},
	}
	fs := cmd.Flags()
	nfs := o.Flags()
	for _, f := range nfs.FlagSets {
		fs.AddFlagSet(f)
	}
	local := flag.NewFlagSet("metrics-server", flag.ContinueOnError)
	logs.AddGoFlags(local)
	fs.AddGoFlagSet(local)
	return cmd
}

// MetricsServer runs metrics-server inside this process until stop closes,
// as its command with args runs it, except that it serves on ln and dials
// kubelets with dial. The process's logging stays as it is (the command
// would apply its own).
func MetricsServer(stop <-chan struct{}, args []string, ln net.Listener, dial func(ctx context.Context, network, addr string) (net.Conn, error)) error {
	o := options.NewOptions()
	fs := pflag.NewFlagSet("metrics-server", pflag.ContinueOnError)
	for _, f := range o.Flags().FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.SecureServing.Listener = ln
	errs := o.KubeletClient.Validate()
	errs = append(errs, o.GenericServerRunOptions.Validate()...)
	if len(errs) > 0 {
		return errs[0]
	}
	return runMetricsServer(o, stop, func(c *server.Config) { c.Kubelet.Client.Dial = dial })
}

// runMetricsServer builds metrics-server's server from o, as its app
// package does, with one difference: its generated OpenAPI definitions are
// keyed by Go package path, while the Kubernetes libraries it runs on here
// look the metrics types up by their model names ("io.k8s.metrics…"), so
// each definition is found under both.
func runMetricsServer(o *options.Options, stop <-chan struct{}, tweak func(*server.Config)) error {
	cfg, err := o.ServerConfig()
	if err != nil {
		return err
	}
	if c := cfg.Apiserver.OpenAPIConfig; c != nil {
		aliasDefinitions(&c.GetDefinitions)
	}
	if c := cfg.Apiserver.OpenAPIV3Config; c != nil {
		aliasDefinitions(&c.GetDefinitions)
		c.Definitions = withAliases(c.Definitions)
	}
	if tweak != nil {
		tweak(cfg)
	}
	s, err := cfg.Complete()
	if err != nil {
		return err
	}
	return s.RunUntil(stop)
}

func aliasDefinitions(getDefs *common.GetOpenAPIDefinitions) {
	get := *getDefs
	if get == nil {
		return
	}
	*getDefs = func(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
		return withAliases(get(ref))
	}
}

// withAliases adds each definition under its model name too.
func withAliases(defs map[string]common.OpenAPIDefinition) map[string]common.OpenAPIDefinition {
	if defs == nil {
		return nil
	}
	out := make(map[string]common.OpenAPIDefinition, 2*len(defs))
	for k, v := range defs {
		out[k] = v
		if alias := util.ToRESTFriendlyName(k); alias != k {
			if _, taken := defs[alias]; !taken {
				out[alias] = v
			}
		}
	}
	return out
}
