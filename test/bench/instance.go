package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armdeployments"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/localaks/localaks/internal/datadir"
	"github.com/localaks/localaks/internal/server"
)

// armScope is the token scope of Azure Resource Manager.
const armScope = "https://management.core.windows.net//.default"

// pollInterval is how often long-running operations are polled: short
// enough that a 10 ms operation is timed to within a few milliseconds.
const pollInterval = 5 * time.Millisecond

// instanceConfig says what kind of throw-away instance to start.
type instanceConfig struct {
	// conns is how many idle HTTPS connections the client keeps.
	conns int
	// controlPlane is the argv of a control-plane process (a localaks
	// binary's `controlplane` command); empty, clusters are ARM resources
	// only.
	controlPlane []string
	// dir is the data dir; empty, a new temporary one (removed on stop).
	dir string
	// open starts serve --open: any client signs in, no role is checked.
	open bool
}

// instance is a throw-away localaks server running in this process, with
// an HTTPS client that trusts its CA and Azure SDK clients pointed at it.
type instance struct {
	srv  *server.Server
	dir  string
	sub  string
	http *http.Client
	cred azcore.TokenCredential

	groups      *armresources.ResourceGroupsClient
	clusters    *armcontainerservice.ManagedClustersClient
	pools       *armcontainerservice.AgentPoolsClient
	deployments *armdeployments.DeploymentsClient

	// keep leaves the data dir in place when stopping (for a restart).
	keep bool
	stop func()
}

// start runs a server for cfg until stop is called.
func start(ctx context.Context, cfg instanceConfig) (*instance, error) {
	dir := cfg.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "localaks-bench-"); err != nil {
			return nil, err
		}
	}
	srv, err := server.New(ctx, server.Config{DataDir: datadir.Dir{Path: dir}, Listen: []string{"127.0.0.1:0"},
		ControlPlanes: len(cfg.controlPlane) > 0, ControlPlaneCommand: cfg.controlPlane, Open: cfg.open})
	if err != nil {
		if cfg.dir == "" {
			os.RemoveAll(dir)
		}
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	in := &instance{srv: srv, dir: dir, sub: srv.Client().SubscriptionID}
	in.stop = func() {
		cancel()
		<-done
		if !in.keep {
			os.RemoveAll(dir)
		}
	}
	if err := in.connect(cfg.conns); err != nil {
		in.stop()
		return nil, err
	}
	return in, nil
}

// connect makes the HTTPS client and the SDK clients, configured as the
// README tells SDK users (and test/e2e does): the instance's URL as the
// authority and the Resource Manager endpoint, its CA trusted, the
// built-in service principal's secret.
func (in *instance) connect(conns int) error {
	caPEM, err := os.ReadFile(datadir.Dir{Path: in.dir}.CAFile())
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("no certificate in %s", datadir.Dir{Path: in.dir}.CAFile())
	}
	in.http = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: conns}}
	url, c := in.srv.URL(), in.srv.Client()
	opts := azcore.ClientOptions{
		Cloud: cloud.Configuration{
			ActiveDirectoryAuthorityHost: url + "/",
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: url, Audience: "https://management.core.windows.net/"},
			},
		},
		Transport: in.http,
	}
	if in.cred, err = azidentity.NewClientSecretCredential(c.TenantID, c.ClientID, c.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true}); err != nil {
		return err
	}
	armOpts := &arm.ClientOptions{ClientOptions: opts}
	if in.groups, err = armresources.NewResourceGroupsClient(in.sub, in.cred, armOpts); err != nil {
		return err
	}
	if in.clusters, err = armcontainerservice.NewManagedClustersClient(in.sub, in.cred, armOpts); err != nil {
		return err
	}
	if in.pools, err = armcontainerservice.NewAgentPoolsClient(in.sub, in.cred, armOpts); err != nil {
		return err
	}
	in.deployments, err = armdeployments.NewDeploymentsClient(in.sub, in.cred, armOpts)
	return err
}

// token is an ARM access token for raw requests.
func (in *instance) token(ctx context.Context) (string, error) {
	tok, err := in.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armScope}})
	if err != nil {
		return "", fmt.Errorf("get token: %w", err)
	}
	return tok.Token, nil
}

// createGroup creates the resource group the benchmarks put clusters in.
func (in *instance) createGroup(ctx context.Context, name string) error {
	if _, err := in.groups.CreateOrUpdate(ctx, name, armresources.ResourceGroup{Location: to.Ptr("eastus")}, nil); err != nil {
		return fmt.Errorf("create group %s: %w", name, err)
	}
	return nil
}

// await drives an SDK poller to the end of its operation, polling every
// pollInterval, and returns when the operation was seen to end (before the
// final GET a PUT's Result makes). PollUntilDone would wait at least the
// server's Retry-After (localaks sends 1 s) before each poll and refuses
// intervals under a second outside tests, which would hide every
// millisecond these benchmarks measure; Poll, Done and Result are the same
// poller, driven at a finer interval.
func await[T any](ctx context.Context, p *runtime.Poller[T]) (time.Time, error) {
	var ended time.Time
	err := wait.PollUntilContextCancel(ctx, pollInterval, true, func(ctx context.Context) (bool, error) {
		if _, err := p.Poll(ctx); err != nil {
			return false, err
		}
		ended = time.Now()
		return p.Done(), nil
	})
	if err != nil {
		return time.Time{}, err
	}
	if _, err := p.Result(ctx); err != nil {
		return time.Time{}, err
	}
	return ended, nil
}

// kubenetCluster is the cluster every benchmark creates: one system pool of
// nodes, kubenet, a pod range big enough for 1000 nodes; with agic, the
// application gateway ingress add-on.
func kubenetCluster(name string, nodes int, agic bool) armcontainerservice.ManagedCluster {
	mc := armcontainerservice.ManagedCluster{
		Location: to.Ptr("eastus"),
		Identity: &armcontainerservice.ManagedClusterIdentity{Type: to.Ptr(armcontainerservice.ResourceIdentityTypeSystemAssigned)},
		Properties: &armcontainerservice.ManagedClusterProperties{
			DNSPrefix: to.Ptr(name),
			AgentPoolProfiles: []*armcontainerservice.ManagedClusterAgentPoolProfile{{
				Name: to.Ptr("nodepool1"), Count: to.Ptr(int32(nodes)), VMSize: to.Ptr("Standard_D2s_v5"),
				Mode: to.Ptr(armcontainerservice.AgentPoolModeSystem),
			}},
			NetworkProfile: &armcontainerservice.NetworkProfile{
				NetworkPlugin: to.Ptr(armcontainerservice.NetworkPluginKubenet),
				PodCidr:       to.Ptr("10.128.0.0/13"),
			},
		},
	}
	if agic {
		mc.Properties.AddonProfiles = map[string]*armcontainerservice.ManagedClusterAddonProfile{
			"ingressApplicationGateway": {Enabled: to.Ptr(true), Config: map[string]*string{
				"applicationGatewayName": to.Ptr("gw"), "subnetCIDR": to.Ptr("10.225.0.0/16"),
			}},
		}
	}
	return mc
}

func fmtDur(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	if d >= time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}
