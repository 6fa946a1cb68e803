package programs

import (
	"flag"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/component-base/logs"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/util"
	"sigs.k8s.io/metrics-server/cmd/metrics-server/app/options"

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
// server), built as its app package builds it, with one difference: its
// generated OpenAPI definitions are keyed by Go package path, while the
// Kubernetes libraries it runs on here look the metrics types up by their
// model names ("io.k8s.metrics…"), so each definition is found under both.
func metricsServerCommand(stop <-chan struct{}) *cobra.Command {
	o := options.NewOptions()
	cmd := &cobra.Command{
		Use:          "metrics-server",
		SilenceUsage: true,
		RunE: func(*cobra.Command, []string) error {
			if errs := o.Validate(); len(errs) > 0 {
				return errs[0]
			}
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
			s, err := cfg.Complete()
			if err != nil {
				return err
			}
			return s.RunUntil(stop)
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
