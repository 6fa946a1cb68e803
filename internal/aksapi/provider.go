// Package aksapi is the HTTP face of the AKS resource provider
// (Microsoft.ContainerService): managed clusters, agent pools, maintenance
// configurations, versions, upgrade profiles, machines, and the operations
// AKS answers with. The model, rules and pipelines are in package aks.
package aksapi

import (
	"context"
	"log/slog"
	"strings"

	"github.com/localaks/localaks/internal/aks"
	"github.com/localaks/localaks/internal/apiversions"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/regions"
	"github.com/localaks/localaks/internal/store"
)

// Namespace is this provider's namespace.
const Namespace = aks.Namespace

// statusAPIVersion is what AKS puts in its operation URLs.
const statusAPIVersion = "2016-03-30"

// Config wires the provider.
type Config struct {
	Store      store.Store
	Registry   *arm.Registry
	Engine     *arm.Engine
	Reconciler *aks.Reconciler
	Rules      *aks.Rules
	Log        *slog.Logger
}

// Provider serves Microsoft.ContainerService.
type Provider struct {
	store  store.Store
	engine *arm.Engine
	rec    *aks.Reconciler
	rules  *aks.Rules
	log    *slog.Logger

	clusters *arm.ResourceType
	pools    *arm.ResourceType

	// Kubeconfig renders a cluster's kubeconfig for a credential role;
	// Exec runs a runCommand command line against its API server. Both are
	// nil when serve runs without control planes.
	Kubeconfig func(c *aks.Cluster, role string) ([]byte, error)
	Exec       func(ctx context.Context, c *aks.Cluster, command string, contextZip []byte) (exitCode int, logs string, err error)
}

// Register creates the provider and registers its types and operation
// kinds.
func Register(cfg Config) *Provider {
	p := &Provider{store: cfg.Store, engine: cfg.Engine, rec: cfg.Reconciler, rules: cfg.Rules, log: cfg.Log}
	reg := cfg.Registry
	locs := regions.List()
	rt := func(typ string, versions []string) *arm.ResourceType {
		return &arm.ResourceType{Namespace: Namespace, Type: typ, APIVersions: versions, Locations: locs}
	}

	p.clusters = rt("managedClusters", aks.APIVersions)
	p.clusters.Get, p.clusters.Put, p.clusters.Patch, p.clusters.Delete, p.clusters.List = p.getCluster, p.putCluster, p.patchCluster, p.deleteCluster, p.listClusters
	p.clusters.Actions = map[string]arm.HandlerFunc{
		"start": p.startCluster, "stop": p.stopCluster, "abort": p.abortCluster,
		"rotateClusterCertificates": p.rotateCertificates, "rotateServiceAccountSigningKeys": p.rotateServiceAccountKeys,
		"resetServicePrincipalProfile": p.resetServicePrincipal, "resetAADProfile": p.resetAADProfile,
		"listClusterUserCredential": p.listCredential("clusterUser"), "listClusterAdminCredential": p.listCredential("clusterAdmin"),
		"listClusterMonitoringUserCredential": p.listCredential("clusterMonitoringUser"),
		"runCommand":                          p.runCommand,
	}
	p.clusters.ReadActions = map[string]arm.HandlerFunc{"outboundNetworkDependenciesEndpoints": p.outboundDependencies}
	p.clusters.Teardown = func(ctx context.Context, r *store.Resource) error { return p.rec.Teardown(ctx, r.ID) }
	reg.Register(p.clusters)

	p.pools = rt("managedClusters/agentPools", aks.APIVersions)
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
		t := rt(typ, aks.APIVersions)
		t.Hidden, t.Get = true, h
		reg.Register(t)
	}
	avail := rt("managedClusters/availableAgentPoolVersions", aks.APIVersions)
	avail.Hidden, avail.List = true, p.availablePoolVersions // a collection-shaped path
	reg.Register(avail)

	machines := rt("managedClusters/agentPools/machines", aks.APIVersions)
	machines.Hidden, machines.Get, machines.List = true, p.getMachine, p.listMachines
	reg.Register(machines)

	results := rt("managedClusters/commandResults", aks.APIVersions)
	results.Hidden, results.Get = true, p.commandResult
	reg.Register(results)

	mc := rt("managedClusters/maintenanceConfigurations", aks.APIVersions)
	p.registerMaintenance(reg, mc)
	// Types newer than the API are unknown at the versions before their
	// first (package apiversions has their lists).
	since := func(typ string) *arm.ResourceType { return rt(typ, apiversions.For(Namespace+"/"+typ)) }
	p.registerSnapshots(reg, since("snapshots"))
	bindings, roles := since("managedClusters/trustedAccessRoleBindings"), since("locations/trustedAccessRoles")
	roles.Hidden = true
	p.registerTrustedAccess(reg, roles, bindings)
	revisions, upgrades := since("locations/meshRevisionProfiles"), since("managedClusters/meshUpgradeProfiles")
	revisions.Hidden, upgrades.Hidden = true, true
	p.registerMesh(reg, revisions, upgrades)
	p.registerIdentityBindings(reg, since("managedClusters/identityBindings"))
	p.registerNamespaces(reg, since("managedClusters/managedNamespaces"))
	access := rt("managedClusters/accessProfiles", aks.APIVersions)
	access.Hidden, access.Actions = true, map[string]arm.HandlerFunc{"listCredential": p.accessProfile}
	reg.Register(access)

	kv := rt("locations/kubernetesVersions", aks.APIVersions)
	kv.List = p.kubernetesVersions
	reg.Register(kv)
	orch := rt("locations/orchestrators", append([]string{"2019-08-01", "2019-04-01", "2017-09-30"}, aks.APIVersions...))
	orch.List = p.orchestrators
	reg.Register(orch)
	ops := rt("operations", append([]string{"2018-03-31", "2017-08-31", "2017-07-01"}, aks.APIVersions...))
	ops.List = p.operationsList
	reg.Register(ops)

	cfg.Engine.SetStatusAPIVersion(Namespace, statusAPIVersion)
	cfg.Engine.RegisterEndpoints(reg, Namespace, append([]string{statusAPIVersion}, aks.APIVersions...))
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
