package app

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/localaks/localaks/internal/logging"
	"github.com/localaks/localaks/internal/provider/network"
	"github.com/localaks/localaks/internal/server"
)

func newServe(g *globals, stdout, stderr io.Writer) *cobra.Command {
	var (
		listen, hosts, sps       []string
		retryAfter, pageSize     int
		logLevel                 string
		minOpDuration            time.Duration
		publicIPPool             string
		tenantID, subscriptionID string
		controlPlanes            bool
		open                     bool
		nodes                    string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run localaks: the ARM and Entra ID endpoints on HTTPS",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logging.New(stderr, logLevel)
			if err != nil {
				return err
			}
			d, err := g.dir()
			if err != nil {
				return err
			}
			creds := map[string]string{}
			for _, sp := range sps {
				id, secret, ok := strings.Cut(sp, "=")
				if !ok || id == "" || secret == "" {
					return fmt.Errorf("--service-principal %q: want CLIENT_ID=SECRET", sp)
				}
				creds[id] = secret
			}
			if retryAfter < 1 {
				return fmt.Errorf("--retry-after must be at least 1 second (clients wait 30 s or more when it is 0)")
			}
			if nodes != "simulated" && nodes != "real" {
				return fmt.Errorf("--nodes %q: want simulated or real", nodes)
			}
			pool, err := netip.ParsePrefix(publicIPPool)
			if err != nil {
				return fmt.Errorf("--public-ip-pool: %w", err)
			}
			srv, err := server.New(cmd.Context(), server.Config{
				DataDir: d, Listen: listen, Hosts: hosts, RetryAfter: retryAfter, ServicePrincipals: creds,
				TenantID: tenantID, SubscriptionID: subscriptionID, PageSize: pageSize, Log: log,
				MinOperationDuration: minOpDuration, PublicIPPool: pool, ControlPlanes: controlPlanes,
				Nodes: nodes, Open: open,
			})
			if err != nil {
				return err
			}
			srv.Banner(stdout)
			log.Info("serving", "url", srv.URL(), "pid", os.Getpid())
			err = srv.Run(cmd.Context())
			log.Info("stopped")
			return err
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&listen, "listen", []string{server.DefaultListen}, "address to listen on (repeatable; localhost = 127.0.0.1 and ::1; port 0 picks one)")
	f.StringSliceVar(&hosts, "host", nil, "extra host name or IP for the serving certificate (repeatable)")
	f.IntVar(&retryAfter, "retry-after", 1, "Retry-After seconds sent with long-running operations")
	f.StringArrayVar(&sps, "service-principal", nil, "also sign in this CLIENT_ID=SECRET pair, as Owner of the default subscription and directory administrator (repeatable)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&tenantID, "tenant-id", "", "default tenant ID to create on first start (default: random)")
	f.StringVar(&subscriptionID, "subscription-id", "", "default subscription ID to create on first start (default: random)")
	f.DurationVar(&minOpDuration, "operation-min-duration", 0, "make every long-running operation take at least this long (e.g. 30s), to exercise polling and --no-wait code")
	f.StringVar(&publicIPPool, "public-ip-pool", network.DefaultPublicIPPool.String(), "CIDR that public IP addresses are allocated from (loopback by default, so they can be bound on this machine)")
	f.BoolVar(&controlPlanes, "control-planes", true, "run a real Kubernetes control plane for every managed cluster (false: clusters are ARM resources only)")
	f.StringVar(&nodes, "nodes", "simulated", "node mode of pools that ask for none (tag localaks.io/nodes on the pool or cluster): simulated (KWOK) or real (kubelet + containerd; needs root)")
	f.BoolVar(&open, "open", false, "accept any client ID and secret and check no role assignments (default: only the directory's principals sign in, and every ARM request is checked against role assignments; the built-in principal is Owner of the default subscription)")
	f.IntVar(&pageSize, "page-size", 1000, "items per page of list responses")
	f.MarkHidden("page-size") //nolint:errcheck // the flag exists
	return cmd
}
