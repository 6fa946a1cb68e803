// Package cloudcontroller is the cloud controller of a localaks cluster:
// like cloud-provider-azure in AKS, it turns Services of type LoadBalancer
// into Azure Load Balancer frontends, rules and probes, public IPs and NSG
// rules in the cluster's node resource group — through localaks's ARM API,
// signed in as the cluster's identity, with the Azure SDK for Go. The
// upstream service controller (k8s.io/cloud-provider) drives it: finalizers,
// Service status and events are upstream's.
package cloudcontroller

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	cloudprovider "k8s.io/cloud-provider"
	servicecontroller "k8s.io/cloud-provider/controllers/service"
	controllersmetrics "k8s.io/component-base/metrics/prometheus/controllers"

	"github.com/localaks/localaks/internal/clusterspec"
)

// ClusterName is the cluster name cloud-provider-azure has on AKS: it names
// the load balancer (`kubernetes`) and its backend pool, and prefixes
// Service public IPs.
const ClusterName = "kubernetes"

// Provider implements cloudprovider.Interface with a load balancer.
type Provider struct {
	cfg   clusterspec.Cloud
	log   *slog.Logger
	lbs   *armnetwork.LoadBalancersClient
	pips  *armnetwork.PublicIPAddressesClient
	rules *armnetwork.SecurityRulesClient
	nsgs  *armnetwork.SecurityGroupsClient
	sets  *armcompute.VirtualMachineScaleSetsClient
	vms   *armcompute.VirtualMachineScaleSetVMsClient
	// mu serialises changes: Services share the load balancer and NSG.
	mu sync.Mutex
}

// New signs in to localaks's ARM API as the cluster's identity.
func New(cfg clusterspec.Cloud, log *slog.Logger) (*Provider, error) {
	f, err := NetworkClients(cfg)
	if err != nil {
		return nil, err
	}
	c, err := ComputeClients(cfg)
	if err != nil {
		return nil, err
	}
	return &Provider{cfg: cfg, log: log, lbs: f.NewLoadBalancersClient(), pips: f.NewPublicIPAddressesClient(),
		rules: f.NewSecurityRulesClient(), nsgs: f.NewSecurityGroupsClient(),
		sets: c.NewVirtualMachineScaleSetsClient(), vms: c.NewVirtualMachineScaleSetVMsClient()}, nil
}

// ComputeClients are Microsoft.Compute clients for localaks's ARM API,
// signed in with the cluster's cloud credentials (the cluster autoscaler's
// and the cloud controller's scale-set calls).
func ComputeClients(cfg clusterspec.Cloud) (*armcompute.ClientFactory, error) {
	cred, opts, err := armClient(cfg)
	if err != nil {
		return nil, err
	}
	return armcompute.NewClientFactory(cfg.SubscriptionID, cred, opts)
}

// NetworkClients are Microsoft.Network clients for localaks's ARM API,
// signed in with the cluster's cloud credentials (as azure.json gives them
// to cloud-provider-azure and AGIC).
func NetworkClients(cfg clusterspec.Cloud) (*armnetwork.ClientFactory, error) {
	cred, opts, err := armClient(cfg)
	if err != nil {
		return nil, err
	}
	return armnetwork.NewClientFactory(cfg.SubscriptionID, cred, opts)
}

// armClient is the credential and client options for localaks's ARM API.
func armClient(cfg clusterspec.Cloud) (azcore.TokenCredential, *arm.ClientOptions, error) {
	if cfg.ARMEndpoint == "" || cfg.AADClientID == "" {
		return nil, nil, fmt.Errorf("cloud config has no ARM endpoint or client")
	}
	transport, err := httpClient(cfg.CAFile)
	if err != nil {
		return nil, nil, err
	}
	endpoint := strings.TrimSuffix(cfg.ARMEndpoint, "/")
	opts := azcore.ClientOptions{
		Cloud: cloud.Configuration{
			ActiveDirectoryAuthorityHost: endpoint + "/",
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: endpoint, Audience: "https://management.core.windows.net/"},
			},
		},
		Transport: transport,
	}
	cred, err := azidentity.NewClientSecretCredential(cfg.TenantID, cfg.AADClientID, cfg.AADClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	if err != nil {
		return nil, nil, err
	}
	return cred, &arm.ClientOptions{ClientOptions: opts}, nil
}

func httpClient(caFile string) (*http.Client, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read ARM CA: %w", err)
		}
		pool.AppendCertsFromPEM(pem)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}, nil
}

// Run runs the upstream service controller with this provider until ctx
// ends.
func Run(ctx context.Context, client kubernetes.Interface, p *Provider) error {
	f := informers.NewSharedInformerFactory(client, 0)
	sc, err := servicecontroller.New(p, client, f.Core().V1().Services(), f.Core().V1().Nodes(), ClusterName, utilfeature.DefaultFeatureGate)
	if err != nil {
		return err
	}
	f.Start(ctx.Done())
	sc.Run(ctx, 1, controllersmetrics.NewControllerManagerMetrics("cloud-controller-manager"))
	return nil
}

// The cloudprovider.Interface: only load balancers; nodes, routes and
// zones come from localaks itself.

// Initialize does nothing: the provider is ready when New returns.
func (p *Provider) Initialize(cloudprovider.ControllerClientBuilder, <-chan struct{}) {}

// LoadBalancer returns the provider.
func (p *Provider) LoadBalancer() (cloudprovider.LoadBalancer, bool) { return p, true }

// Instances is not provided.
func (p *Provider) Instances() (cloudprovider.Instances, bool) { return nil, false }

// InstancesV2 is not provided.
func (p *Provider) InstancesV2() (cloudprovider.InstancesV2, bool) { return nil, false }

// Zones is not provided.
func (p *Provider) Zones() (cloudprovider.Zones, bool) { return nil, false }

// Clusters is not provided.
func (p *Provider) Clusters() (cloudprovider.Clusters, bool) { return nil, false }

// Routes is not provided: localaks keeps kubenet routes with the nodes.
func (p *Provider) Routes() (cloudprovider.Routes, bool) { return nil, false }

// ProviderName is "azure".
func (p *Provider) ProviderName() string { return "azure" }

// HasClusterID is true.
func (p *Provider) HasClusterID() bool { return true }

var _ cloudprovider.Interface = (*Provider)(nil)
