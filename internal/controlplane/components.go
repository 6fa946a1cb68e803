package controlplane

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/spf13/pflag"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/rest"
	cliflag "k8s.io/component-base/cli/flag"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	apiserveroptions "k8s.io/kubernetes/cmd/kube-apiserver/app/options"
	kcm "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	kcmoptions "k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	scheduleroptions "k8s.io/kubernetes/cmd/kube-scheduler/app/options"

	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/oidcissuer"
)

// The three upstream components run as goroutines of this process, started
// the way their commands start them but without their cobra commands (which
// install process-wide signal handlers, once per process). Flags go through
// each component's own flag sets, so defaults and validation are upstream's.

// Their arguments are pure functions of the spec and the cluster's layout
// (and, for the API server, of where etcd listens and whether a rotated-out
// service-account key remains), so that they are reviewed as data: the
// golden files in testdata/ (components_test.go).

// apiServerArgs are kube-apiserver's flags for the cluster, whose etcd
// serves etcdURL; previousKey says the key a service-account key rotation
// replaced is still on disk, and trusted.
func apiServerArgs(l clusterspec.Layout, s *clusterspec.Spec, etcdURL string, previousKey bool) []string {
	args := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(s.APIServerPort),
		"--advertise-address=" + s.AdvertiseAddress,
		"--tls-cert-file=" + l.Cert(clusterspec.APIServerCert),
		"--tls-private-key-file=" + l.Key(clusterspec.APIServerCert),
		"--client-ca-file=" + l.CACert(),
		"--token-auth-file=" + l.TokenAuthFile(),
		"--service-account-issuer=" + s.ServiceAccountIssuer,
		"--service-account-key-file=" + l.ServiceAccountPub(),
		"--service-account-signing-key-file=" + l.ServiceAccountKey(),
		"--service-cluster-ip-range=" + s.Network.ServiceCIDR,
		"--emulated-version=" + s.EmulatedVersion(),
		"--allow-privileged=true",
		"--anonymous-auth=true",
		"--profiling=false",
		"--cert-dir=" + filepath.Join(string(l), "apiserver"),
		"--enable-admission-plugins=NodeRestriction",
		"--endpoint-reconciler-type=lease",
		"--egress-selector-config-file=" + l.EgressConfig(),
		"--kubelet-client-certificate=" + l.Cert(clusterspec.KubeletClient),
		"--kubelet-client-key=" + l.Key(clusterspec.KubeletClient),
		// Nodes by their private IP first, as konnectivity's agents reach
		// them: a node proxy request checks its target by resolving it,
		// and an address needs no DNS query (a node name would leave the
		// host for its resolver).
		"--kubelet-preferred-address-types=InternalIP,Hostname,InternalDNS,ExternalDNS,ExternalIP",
		// Aggregated APIs (metrics-server) trust the user the API server
		// names in these headers, from its front-proxy certificate.
		"--requestheader-client-ca-file=" + l.Cert(clusterspec.FrontProxyCA),
		"--requestheader-allowed-names=" + clusterspec.FrontProxyClient,
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + l.Cert(clusterspec.FrontProxyClient),
		"--proxy-client-key-file=" + l.Key(clusterspec.FrontProxyClient),
	}
	// AKS: tokens live at most a day and are not extended (1.30+); with the
	// OIDC issuer on, the issuer's own URL publishes the keys and is the
	// default audience, the in-cluster one still accepted.
	args = append(args, "--service-account-max-token-expiration=24h", "--service-account-extend-token-expiration=false")
	if previousKey {
		args = append(args, "--service-account-key-file="+l.PreviousServiceAccountPub())
	}
	if s.ServiceAccountIssuer != clusterspec.DefaultServiceAccountIssuer {
		args = append(args, "--service-account-jwks-uri="+oidcissuer.JWKSURL(s.ServiceAccountIssuer),
			"--api-audiences="+s.ServiceAccountIssuer+","+clusterspec.DefaultServiceAccountIssuer)
	}
	if s.Entra != nil {
		args = append(args, "--authentication-config="+l.AuthenticationConfig())
	}
	switch {
	case s.Entra != nil && s.Entra.AzureRBAC:
		args = append(args, "--authorization-config="+l.AuthorizationConfig())
	case s.EnableRBAC:
		args = append(args, "--authorization-mode=Node,RBAC")
	default:
		args = append(args, "--authorization-mode=AlwaysAllow")
	}
	return args
}

// clientComponentArgs are the flags kube-controller-manager and
// kube-scheduler share: their kubeconfig, no serving port, no leader
// election (one of each per cluster), the cluster's emulated version, and
// client rate limits above what the API server takes, so that a
// 1000-replica Deployment does not queue on client QPS.
func clientComponentArgs(s *clusterspec.Spec, kubeconfig string) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--secure-port=0",
		"--leader-elect=false",
		"--emulated-version=" + s.EmulatedVersion(),
		"--profiling=false",
		"--kube-api-qps=1000",
		"--kube-api-burst=2000",
	}
}

// controllerManagerArgs are kube-controller-manager's flags. Node IPAM is
// off: the network model, not the controller-manager, gives nodes their pod
// ranges.
func controllerManagerArgs(l clusterspec.Layout, s *clusterspec.Spec) []string {
	return append(clientComponentArgs(s, kubeconfigPath(l, clusterspec.ControllerManagerClient)),
		"--controllers=*,bootstrapsigner,tokencleaner,-nodeipam",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file="+l.ServiceAccountKey(),
		"--root-ca-file="+l.CACert(),
		"--cluster-signing-cert-file="+l.CACert(),
		"--cluster-signing-key-file="+l.CAKey(),
		"--cluster-name="+s.Name,
		"--service-cluster-ip-range="+s.Network.ServiceCIDR,
		"--allocate-node-cidrs=false",
		"--node-monitor-grace-period="+strconv.Itoa(leaseDuration)+"s",
		"--concurrent-replicaset-syncs=10",
		"--concurrent-deployment-syncs=10",
	)
}

// schedulerArgs are kube-scheduler's flags.
func schedulerArgs(l clusterspec.Layout, s *clusterspec.Spec) []string {
	return clientComponentArgs(s, kubeconfigPath(l, clusterspec.SchedulerClient))
}

// parseFlags parses args into a component's named flag sets.
func parseFlags(name string, sets cliflag.NamedFlagSets, args []string) error {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	for _, f := range sets.FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%s flags: %w", name, err)
	}
	return nil
}

// runAPIServer runs kube-apiserver until ctx ends.
func runAPIServer(ctx context.Context, args []string) error {
	s := apiserveroptions.NewServerRunOptions()
	if err := parseFlags("kube-apiserver", s.Flags(), args); err != nil {
		return err
	}
	if err := s.GenericServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		return err
	}
	// The API server's loopback clients must not log their own warnings.
	rest.SetDefaultWarningHandler(rest.NoWarnings{})
	completed, err := s.Complete(ctx)
	if err != nil {
		return err
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return utilerrors.NewAggregate(errs)
	}
	return apiserver.Run(ctx, completed)
}

// runControllerManager runs kube-controller-manager until ctx ends.
func runControllerManager(ctx context.Context, args []string) error {
	s, err := kcmoptions.NewKubeControllerManagerOptions()
	if err != nil {
		return err
	}
	sets := s.Flags(kcm.KnownControllers(), kcm.ControllersDisabledByDefault(), kcm.ControllerAliases())
	s.ParsedFlags = &sets
	if err := parseFlags("kube-controller-manager", sets, args); err != nil {
		return err
	}
	if err := s.ComponentGlobalsRegistry.Set(); err != nil {
		return err
	}
	c, err := s.Config(ctx, kcm.KnownControllers(), kcm.ControllersDisabledByDefault(), kcm.ControllerAliases())
	if err != nil {
		return err
	}
	return kcm.Run(ctx, c.Complete())
}

// runScheduler runs kube-scheduler until ctx ends.
func runScheduler(ctx context.Context, args []string) error {
	opts := scheduleroptions.NewOptions()
	if err := parseFlags("kube-scheduler", *opts.Flags, args); err != nil {
		return err
	}
	if err := opts.ComponentGlobalsRegistry.Set(); err != nil {
		return err
	}
	cc, sched, err := scheduler.Setup(ctx, opts)
	if err != nil {
		return err
	}
	return scheduler.Run(ctx, cc, sched)
}
