package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armdeployments"
)

// benchAKS measures a managed cluster's create, scale and delete, each
// from its PUT (or DELETE) to its operation reporting Succeeded, for
// clusters of the given sizes, with ARM-only clusters (no control plane);
// then a template deployment.
func benchAKS(ctx context.Context, out io.Writer, sizes []int) error {
	in, err := start(ctx, instanceConfig{conns: 2})
	if err != nil {
		return err
	}
	defer in.stop()
	if err := in.createGroup(ctx, "bench"); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "nodes\tPUT answered\tcreate → Succeeded\tscale ±10% → Succeeded\tdelete → Succeeded")
	for _, n := range sizes {
		name := fmt.Sprintf("c%d", n)
		start := time.Now()
		cp, err := in.clusters.BeginCreateOrUpdate(ctx, "bench", name, kubenetCluster(name, n, false), nil)
		if err != nil {
			return fmt.Errorf("create %d-node cluster: %w", n, err)
		}
		answered := time.Since(start)
		ended, err := await(ctx, cp)
		if err != nil {
			return fmt.Errorf("create %d-node cluster: %w", n, err)
		}
		created := ended.Sub(start)

		target := n + max(1, n/10)
		if target > 1000 {
			target = n - n/10 // pools hold at most 1000 nodes: scale in instead
		}
		start = time.Now()
		sp, err := in.pools.BeginCreateOrUpdate(ctx, "bench", name, "nodepool1", armcontainerservice.AgentPool{
			Properties: &armcontainerservice.ManagedClusterAgentPoolProfileProperties{Count: to.Ptr(int32(target))}}, nil)
		if err != nil {
			return fmt.Errorf("scale %d-node cluster: %w", n, err)
		}
		if ended, err = await(ctx, sp); err != nil {
			return fmt.Errorf("scale %d-node cluster: %w", n, err)
		}
		scaled := ended.Sub(start)

		start = time.Now()
		dp, err := in.clusters.BeginDelete(ctx, "bench", name, nil)
		if err != nil {
			return fmt.Errorf("delete %d-node cluster: %w", n, err)
		}
		if ended, err = await(ctx, dp); err != nil {
			return fmt.Errorf("delete %d-node cluster: %w", n, err)
		}
		deleted := ended.Sub(start)
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", n, fmtDur(answered), fmtDur(created), fmtDur(scaled), fmtDur(deleted))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	d, err := in.deployTemplate(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "\ntemplate deployment (VNet + subnet + public IP + 3-node Azure CNI cluster in the subnet) → Succeeded: %s\n", fmtDur(d))
	return err
}

// benchTemplate is the template deployTemplate deploys.
const benchTemplate = `{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "resources": [
    {"type": "Microsoft.Network/virtualNetworks", "apiVersion": "2023-04-01", "name": "tvnet", "location": "[resourceGroup().location]",
     "properties": {"addressSpace": {"addressPrefixes": ["10.30.0.0/16"]}, "subnets": [{"name": "nodes", "properties": {"addressPrefix": "10.30.0.0/20"}}]}},
    {"type": "Microsoft.Network/publicIPAddresses", "apiVersion": "2023-04-01", "name": "tip", "location": "[resourceGroup().location]",
     "sku": {"name": "Standard"}, "properties": {"publicIPAllocationMethod": "Static"}},
    {"type": "Microsoft.ContainerService/managedClusters", "apiVersion": "2025-10-01", "name": "tcluster", "location": "[resourceGroup().location]",
     "dependsOn": ["tvnet"], "identity": {"type": "SystemAssigned"},
     "properties": {"dnsPrefix": "tcluster", "networkProfile": {"networkPlugin": "azure", "serviceCidr": "10.31.0.0/16", "dnsServiceIP": "10.31.0.10"},
       "agentPoolProfiles": [{"name": "system", "count": 3, "vmSize": "Standard_D2s_v5", "mode": "System",
         "vnetSubnetID": "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'tvnet', 'nodes')]"}]}}
  ],
  "outputs": {"fqdn": {"type": "string", "value": "[reference('tcluster').fqdn]"}}}`

// deployTemplate times a template deployment from its PUT to Succeeded.
func (in *instance) deployTemplate(ctx context.Context) (time.Duration, error) {
	var template map[string]any
	if err := json.Unmarshal([]byte(benchTemplate), &template); err != nil {
		return 0, err
	}
	start := time.Now()
	p, err := in.deployments.BeginCreateOrUpdate(ctx, "bench", "bench", armdeployments.Deployment{Properties: &armdeployments.DeploymentProperties{
		Mode: to.Ptr(armdeployments.DeploymentModeIncremental), Template: template}}, nil)
	if err != nil {
		return 0, fmt.Errorf("deploy template: %w", err)
	}
	ended, err := await(ctx, p)
	if err != nil {
		return 0, fmt.Errorf("deploy template: %w", err)
	}
	return ended.Sub(start), nil
}
