// Package aksapi is the HTTP face of the AKS resource provider
// (Microsoft.ContainerService): managed clusters, agent pools, maintenance
// configurations, versions, upgrade profiles, machines, and the operations
// AKS answers with. The model, rules and pipelines are in package aks.
package aksapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/localaks/localaks/internal/aks"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/regions"
	"github.com/localaks/localaks/internal/store"
)

// Namespace is this provider's namespace.
const Namespace = aks.Namespace

// APIVersions are the api-versions of managed clusters and agent pools
// that localaks accepts: the stable versions since 2019 and the previews
// current tools pin.
var APIVersions = []string{
	"2025-10-01", "2025-09-01", "2025-08-01", "2025-07-01", "2025-05-01", "2025-04-01", "2025-03-01", "2025-02-01", "2025-01-01",
	"2024-10-01", "2024-09-01", "2024-08-01", "2024-07-01", "2024-06-01", "2024-05-01", "2024-04-01", "2024-03-01", "2024-02-01",
	"2024-01-01", "2023-11-01", "2023-10-01", "2023-09-01", "2023-08-01", "2023-07-01", "2023-06-01", "2023-05-01", "2023-04-01",
	"2023-03-01", "2023-02-01", "2023-01-01", "2022-11-01", "2022-09-01", "2022-08-01", "2022-07-01", "2022-06-01", "2022-04-01",
	"2022-03-01", "2022-02-01", "2022-01-01", "2021-10-01", "2021-09-01", "2021-08-01", "2021-07-01", "2021-05-01", "2021-03-01",
	"2021-02-01", "2020-12-01", "2020-11-01", "2020-09-01", "2020-07-01", "2020-06-01", "2020-04-01", "2020-03-01", "2020-02-01",
	"2020-01-01", "2019-11-01", "2019-10-01", "2019-08-01", "2019-06-01", "2019-04-01", "2019-02-01",
	"2025-10-02-preview", "2025-09-02-preview", "2025-08-02-preview", "2025-07-02-preview", "2025-06-02-preview", "2025-05-02-preview",
	"2025-04-02-preview", "2025-03-02-preview", "2025-02-02-preview", "2025-01-02-preview", "2024-10-02-preview", "2024-09-02-preview",
	"2024-07-02-preview", "2024-06-02-preview", "2024-05-02-preview", "2024-04-02-preview", "2024-03-02-preview", "2024-02-02-preview",
	"2024-01-02-preview", "2023-11-02-preview", "2023-10-02-preview", "2023-09-02-preview", "2023-08-02-preview", "2023-07-02-preview",
	"2023-06-02-preview", "2023-05-02-preview", "2023-04-02-preview", "2023-03-02-preview", "2023-02-02-preview", "2023-01-02-preview",
	"2022-11-02-preview", "2022-10-02-preview", "2022-09-02-preview", "2022-08-03-preview", "2022-08-02-preview", "2022-07-02-preview",
	"2022-06-02-preview", "2022-05-02-preview", "2022-04-02-preview", "2022-03-02-preview", "2022-02-02-preview", "2022-01-02-preview",
	"2018-08-01-preview", "2018-03-31", "2017-08-31",
}

// statusAPIVersion is what AKS puts in its operation URLs.
const statusAPIVersion = "2016-03-30"

// Config wires the provider.
type Config struct {
	Store      store.Store
	Registry   *arm.Registry
	Engine     *arm.Engine
	Reconciler *aks.Reconciler
	Validator  *aks.Validator
	// TenantOf maps a subscription to its tenant.
	TenantOf func(subscription string) string
	// IssuerBase is the URL clusters' OIDC issuers are served under
	// (localaks's own, e.g. https://localhost:7443).
	IssuerBase string
	Log        *slog.Logger
}

// Provider serves Microsoft.ContainerService.
type Provider struct {
	store    store.Store
	engine   *arm.Engine
	rec      *aks.Reconciler
	val      *aks.Validator
	tenantOf func(string) string
	issuer   string
	log      *slog.Logger
	now      func() time.Time

	clusters *arm.ResourceType
	pools    *arm.ResourceType

	// Kubeconfig renders a cluster's kubeconfig for a credential role;
	// Exec runs a runCommand command line against its API server. Both are
	// nil when serve runs without control planes.
	Kubeconfig func(c *aks.Cluster, role string) ([]byte, error)
	Exec       func(ctx context.Context, c *aks.Cluster, command string, contextZip []byte) (exitCode int, logs string, err error)
}

func locations() []string {
	var out []string
	for _, r := range regions.All() {
		out = append(out, r.Name)
	}
	return out
}

// Register creates the provider and registers its types and operation
// kinds.
func Register(cfg Config) *Provider {
	p := &Provider{store: cfg.Store, engine: cfg.Engine, rec: cfg.Reconciler, val: cfg.Validator, tenantOf: cfg.TenantOf, issuer: cfg.IssuerBase, log: cfg.Log, now: time.Now}
	if p.issuer == "" {
		p.issuer = "https://localhost:7443"
	}
	reg := cfg.Registry
	locs := locations()
	rt := func(typ string, versions []string) *arm.ResourceType {
		return &arm.ResourceType{Namespace: Namespace, Type: typ, APIVersions: versions, Locations: locs}
	}

	p.clusters = rt("managedClusters", APIVersions)
	p.clusters.Get, p.clusters.Put, p.clusters.Patch, p.clusters.Delete, p.clusters.List = p.getCluster, p.putCluster, p.patchCluster, p.deleteCluster, p.listClusters
	p.clusters.Actions = map[string]arm.HandlerFunc{
		"start": p.startCluster, "stop": p.stopCluster, "abort": p.abortCluster,
		"rotateClusterCertificates": p.rotateCertificates, "rotateServiceAccountSigningKeys": p.rotateServiceAccountKeys,
		"resetServicePrincipalProfile": p.resetServicePrincipal, "resetAADProfile": p.resetAADProfile,
		"listClusterUserCredential": p.listCredential("clusterUser"), "listClusterAdminCredential": p.listCredential("clusterAdmin"),
		"listClusterMonitoringUserCredential": p.listCredential("clusterMonitoringUser"),
		"runCommand":                          p.runCommand,
	}
	p.clusters.Teardown = func(ctx context.Context, r *store.Resource) error { return p.rec.Teardown(ctx, r.ID) }
	reg.Register(p.clusters)

	p.pools = rt("managedClusters/agentPools", APIVersions)
	p.pools.Hidden = false
	p.pools.Get, p.pools.Put, p.pools.Delete, p.pools.List = p.getPool, p.putPool, p.deletePool, p.listPools
	p.pools.Actions = map[string]arm.HandlerFunc{
		"abort": p.abortPool, "upgradeNodeImageVersion": p.upgradeNodeImage, "deleteMachines": p.deleteMachines,
	}
	reg.Register(p.pools)

	for typ, h := range map[string]arm.HandlerFunc{
		"managedClusters/upgradeProfiles":            p.clusterUpgradeProfile,
		"managedClusters/agentPools/upgradeProfiles": p.poolUpgradeProfile,
	} {
		t := rt(typ, APIVersions)
		t.Hidden, t.Get = true, h
		reg.Register(t)
	}
	avail := rt("managedClusters/availableAgentPoolVersions", APIVersions)
	avail.Hidden, avail.List = true, p.availablePoolVersions // a collection-shaped path
	reg.Register(avail)

	machines := rt("managedClusters/agentPools/machines", APIVersions)
	machines.Hidden, machines.Get, machines.List = true, p.getMachine, p.listMachines
	reg.Register(machines)

	results := rt("managedClusters/commandResults", APIVersions)
	results.Hidden, results.Get = true, p.commandResult
	reg.Register(results)

	mc := rt("managedClusters/maintenanceConfigurations", APIVersions)
	mc.Get, mc.Put, mc.Delete, mc.List = p.getMaintenance, p.putMaintenance, p.deleteMaintenance, p.listMaintenance
	reg.Register(mc)

	kv := rt("locations/kubernetesVersions", APIVersions)
	kv.List = p.kubernetesVersions
	reg.Register(kv)
	orch := rt("locations/orchestrators", append([]string{"2019-08-01", "2019-04-01", "2017-09-30"}, APIVersions...))
	orch.List = p.orchestrators
	reg.Register(orch)
	ops := rt("operations", append([]string{"2018-03-31", "2017-08-31", "2017-07-01"}, APIVersions...))
	ops.List = p.operationsList
	reg.Register(ops)

	cfg.Engine.SetStatusAPIVersion(Namespace, statusAPIVersion)
	cfg.Engine.RegisterEndpoints(reg, Namespace, append([]string{statusAPIVersion}, APIVersions...))
	p.registerKinds()
	return p
}

// operationsList serves GET /providers/Microsoft.ContainerService/operations.
func (p *Provider) operationsList(_ context.Context, _ *arm.Request) (*arm.Response, error) {
	var out []map[string]any
	add := func(name, resource, op, desc string) {
		out = append(out, map[string]any{"name": name, "origin": "user,system",
			"display": map[string]string{"provider": "Microsoft Container Service", "resource": resource, "operation": op, "description": desc}})
	}
	for _, t := range []struct{ typ, res string }{
		{"managedClusters", "Managed Cluster"}, {"managedClusters/agentPools", "Agent Pool"},
		{"managedClusters/maintenanceConfigurations", "Maintenance Configuration"},
	} {
		full := Namespace + "/" + t.typ
		add(full+"/read", t.res, "Get "+t.res, "Get a "+strings.ToLower(t.res))
		add(full+"/write", t.res, "Create or Update "+t.res, "Creates a new "+strings.ToLower(t.res)+" or updates an existing one")
		add(full+"/delete", t.res, "Delete "+t.res, "Deletes a "+strings.ToLower(t.res))
	}
	for _, a := range []string{"start", "stop", "abort", "rotateClusterCertificates", "resetServicePrincipalProfile",
		"listClusterUserCredential", "listClusterAdminCredential", "listClusterMonitoringUserCredential", "runCommand"} {
		add(Namespace+"/managedClusters/"+a+"/action", "Managed Cluster", a, "Runs "+a+" on a managed cluster")
	}
	return arm.OK(map[string]any{"value": out}), nil
}

func notFoundCluster(id string, rg string) *arm.Error {
	return arm.ErrResourceNotFound("Microsoft.ContainerService/managedClusters", id, rg)
}

func conflict(format string, args ...any) *arm.Error {
	e := arm.Errorf(http.StatusConflict, "OperationNotAllowed", format, args...)
	e.Native = true
	return e
}
