package aks

import (
	"fmt"
	"strings"

	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/ipam"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// defaultServiceAccountIssuer is the service-account token issuer of a
// cluster without the OIDC issuer enabled.
const defaultServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local"

// defaultDrainTimeout is upgradeSettings.drainTimeoutInMinutes' default.
const defaultDrainTimeout = 30

// BuildSpec is the cluster as its control plane runs it: versions, network
// model, pools, and one node per running VMSS instance. drain names nodes
// to cordon and drain first.
func (r *Reconciler) BuildSpec(tx store.Tx, clusterID string, drain []string) (*clusterspec.Spec, error) {
	c, pools, err := Load(tx, clusterID)
	if err != nil {
		return nil, err
	}
	id := resourceid.MustParse(c.Record.ID)
	np := c.Props.NetworkProfile
	if np == nil {
		return nil, fmt.Errorf("cluster %s has no network profile", c.Record.ID)
	}
	st := c.Props.Localaks
	s := &clusterspec.Spec{
		UID: c.Props.ResourceUID, ResourceID: c.Record.ID, Name: id.Name(), ResourceGroup: id.ResourceGroupName(),
		SubscriptionID: id.SubscriptionID(), Location: c.Record.Location, NodeResourceGroup: c.Props.NodeResourceGroup,
		KubernetesVersion: c.Props.CurrentKubernetesVersion, FQDN: c.Props.FQDN,
		APIServerPort: st.APIServerPort, AdvertiseAddress: st.AdvertiseAddress,
		ServiceAccountIssuer: defaultServiceAccountIssuer,
		EnableRBAC:           c.Props.EnableRBAC == nil || *c.Props.EnableRBAC,
		Network: clusterspec.Network{
			Plugin: np.NetworkPlugin, PluginMode: np.NetworkPluginMode, Policy: np.NetworkPolicy, Dataplane: np.NetworkDataplane,
			PodCIDR: np.PodCIDR, ServiceCIDR: np.ServiceCIDR, DNSServiceIP: np.DNSServiceIP,
		},
		Drain: drain,
	}
	if o := c.Props.OIDCIssuerProfile; o != nil && o.Enabled != nil && *o.Enabled && o.IssuerURL != "" {
		s.ServiceAccountIssuer = o.IssuerURL
	}
	draining := map[string]bool{}
	for _, n := range drain {
		draining[strings.ToLower(n)] = true
	}
	nrg := strings.ToLower(c.Props.NodeResourceGroup)
	timeout := 0
	for _, p := range pools {
		pp := p.Props
		spot := strings.EqualFold(pp.ScaleSetPriority, "Spot")
		batch, drainMin := 1, defaultDrainTimeout
		if u := pp.UpgradeSettings; u != nil {
			if n, err := ipam.Surge(u.MaxSurge, intValue(pp.Count)); err == nil && n > 0 {
				batch = n
			}
			if u.DrainTimeoutInMinutes != nil {
				drainMin = *u.DrainTimeoutInMinutes
			}
		}
		s.Pools = append(s.Pools, clusterspec.Pool{
			Name: p.Record.Name, Mode: pp.Mode, VMSize: pp.VMSize, OSType: pp.OSType, OSSKU: pp.OSSKU,
			Version: pp.CurrentOrchestratorVersion, NodeImageVersion: pp.NodeImageVersion,
			MaxPods: intValue(pp.MaxPods), OSDiskSizeGB: intValue(pp.OSDiskSizeGB),
			Labels: pp.NodeLabels, Taints: pp.NodeTaints, Spot: spot,
			UpgradeBatch: batch, DrainTimeoutSeconds: drainMin * 60,
		})
		if pp.Localaks.VMSS == "" {
			continue
		}
		vmss := resourceid.MustParse(pp.Localaks.VMSS)
		recs, props, err := r.Compute.Instances(tx, pp.Localaks.VMSS)
		if err != nil {
			return nil, err
		}
		poolDrains := false
		for i, r := range recs {
			ip := props[i]
			if ip.Localaks.PowerState != "" && ip.Localaks.PowerState != "running" {
				continue
			}
			name := ip.OSProfile.ComputerName
			if draining[strings.ToLower(name)] {
				poolDrains = true
			}
			s.Nodes = append(s.Nodes, clusterspec.Node{
				Name: name, Pool: p.Record.Name, InternalIP: ip.Localaks.PrivateIP,
				PodCIDR: ip.Localaks.PodCIDR, PodIPs: ip.Localaks.PodIPs, Zone: ip.Localaks.Zone,
				ProviderID: fmt.Sprintf("azure:///subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachineScaleSets/%s/virtualMachines/%s",
					vmss.SubscriptionID(), nrg, vmss.Name(), r.Name),
			})
		}
		if poolDrains {
			t := defaultDrainTimeout
			if u := pp.UpgradeSettings; u != nil && u.DrainTimeoutInMinutes != nil {
				t = *u.DrainTimeoutInMinutes
			}
			timeout = max(timeout, t)
		}
	}
	s.DrainTimeoutSeconds = timeout * 60
	return s, nil
}

func intValue(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
