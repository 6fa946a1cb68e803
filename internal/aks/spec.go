package aks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/graph"
	"github.com/localaks/localaks/internal/ipam"
	"github.com/localaks/localaks/internal/provider/network"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

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
		ServiceAccountIssuer: clusterspec.DefaultServiceAccountIssuer,
		EnableRBAC:           c.Props.EnableRBAC == nil || *c.Props.EnableRBAC,
		Network: clusterspec.Network{
			Plugin: np.NetworkPlugin, PluginMode: np.NetworkPluginMode, Policy: np.NetworkPolicy, Dataplane: np.NetworkDataplane,
			PodCIDR: np.PodCIDR, ServiceCIDR: np.ServiceCIDR, DNSServiceIP: np.DNSServiceIP,
		},
		Drain:            drain,
		AppRouting:       c.Props.AppRoutingEnabled(),
		WorkloadIdentity: c.WorkloadIdentityEnabled(),
	}
	if _, a := c.Props.Addon(AGICAddon); a != nil && a.Enabled && a.Config["effectiveApplicationGatewayId"] != "" {
		s.AGIC = &clusterspec.AGIC{GatewayID: a.Config["effectiveApplicationGatewayId"], WatchNamespace: a.Config["watchNamespace"]}
	}
	s.Entra = entraSpec(c)
	if o := c.Props.OIDCIssuerProfile; o != nil && o.Enabled != nil && *o.Enabled && o.IssuerURL != "" {
		s.ServiceAccountIssuer = o.IssuerURL
	}
	draining := map[string]bool{}
	for _, n := range drain {
		draining[strings.ToLower(n)] = true
	}
	nrg := strings.ToLower(c.Props.NodeResourceGroup)
	timeout := 0
	var instances []string // running instances' IDs
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
			UpgradeBatch: batch, DrainTimeoutSeconds: drainMin * 60, Real: p.Real(),
		})
		subnetPrefix := ""
		if p.Real() {
			subnetID := pp.VnetSubnetID
			if subnetID == "" {
				subnetID = st.VNetSubnetID
			}
			_, pfx, err := r.Net.Subnet(tx, subnetID)
			if err != nil {
				return nil, fmt.Errorf("pool %s: subnet: %w", p.Record.Name, err)
			}
			subnetPrefix = pfx.String()
		}
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
			instances = append(instances, r.ID)
			if draining[strings.ToLower(name)] {
				poolDrains = true
			}
			s.Nodes = append(s.Nodes, clusterspec.Node{
				Name: name, Pool: p.Record.Name, InternalIP: ip.Localaks.PrivateIP,
				PodCIDR: ip.Localaks.PodCIDR, PodIPs: ip.Localaks.PodIPs, Zone: ip.Localaks.Zone, Subnet: subnetPrefix,
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
	s.Cloud = r.cloudConfig(tx, c, pools)
	s.Autoscaler = c.autoscaler(pools)
	if len(s.RealNodes()) > 0 {
		if s.Fabric, err = r.fabric(tx, c, instances); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// fabric is the network real nodes are wired into: the cluster's virtual
// network, the routes of its route table that name a next hop, and the
// data path to the running instances' NICs.
func (r *Reconciler) fabric(tx store.Tx, c *Cluster, instances []string) (clusterspec.Fabric, error) {
	st := c.Props.Localaks
	var f clusterspec.Fabric
	if sn, err := resourceid.Parse(st.VNetSubnetID); err == nil {
		f.VNetID = sn.Parent().String()
		vnet, err := tx.Get(f.VNetID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return f, err
		}
		if vnet != nil {
			var vp network.VirtualNetworkProperties
			if err := json.Unmarshal(vnet.Properties, &vp); err != nil {
				return f, fmt.Errorf("virtual network %s: %w", vnet.ID, err)
			}
			f.AddressSpace = vp.AddressSpace.AddressPrefixes
		}
	}
	if err := r.dataPath(tx, instances, &f); err != nil {
		return f, err
	}
	if err := r.appGateways(tx, resourceid.MustParse(c.Record.ID).SubscriptionID(), &f); err != nil {
		return f, err
	}
	if st.RouteTable == "" {
		return f, nil
	}
	rt, err := tx.Get(st.RouteTable)
	if errors.Is(err, store.ErrNotFound) {
		return f, nil
	} else if err != nil {
		return f, err
	}
	f.Sources = append(f.Sources, rt.ID)
	routes, err := arm.ChildrenOf(rt, "routes", "")
	if err != nil {
		return f, err
	}
	for _, ch := range routes {
		var rp network.RouteProperties
		if err := json.Unmarshal(ch.Properties, &rp); err != nil {
			return f, fmt.Errorf("route table %s: route %s: %w", st.RouteTable, ch.Name, err)
		}
		if rp.NextHopIPAddress != "" {
			f.Routes = append(f.Routes, clusterspec.Route{Name: ch.Name, Prefix: rp.AddressPrefix, NextHop: rp.NextHopIPAddress})
		}
	}
	return f, nil
}

// cloudConfig is the cluster's azure.json. A service-principal cluster's
// cloud controller signs in as that principal, with its secret (as AKS's
// does: a secret that stops working stops the cloud controller until
// resetServicePrincipalProfile); a managed-identity cluster's signs in
// with credentials localaks keeps for it, as its identity.
func (r *Reconciler) cloudConfig(tx store.Tx, c *Cluster, pools []*Pool) clusterspec.Cloud {
	id := resourceid.MustParse(c.Record.ID)
	// The subscription's tenant: a user-assigned identity or a service
	// principal carries none of its own.
	_, tenant := c.Principal()
	if r.TenantOf != nil {
		if t := r.TenantOf(id.SubscriptionID()); t != "" {
			tenant = t
		}
	}
	st := c.Props.Localaks
	clientID, secret := st.CloudClientID, st.CloudSecret
	if sp := c.Props.ServicePrincipalProfile; sp != nil && sp.ClientID != "" && !strings.EqualFold(sp.ClientID, "msi") && sp.Secret != "" && len(c.Record.Identity) == 0 {
		if _, ok, err := graph.ServicePrincipalByAppID(tx, tenant, sp.ClientID); err == nil && ok {
			clientID, secret = sp.ClientID, sp.Secret
		}
	}
	cc := clusterspec.Cloud{
		TenantID: tenant, SubscriptionID: id.SubscriptionID(), AADClientID: clientID, AADClientSecret: secret,
		KubeletClientSecret: st.KubeletSecret,
		ResourceGroup:       c.Props.NodeResourceGroup, Location: c.Record.Location, LoadBalancerSKU: "standard",
	}
	if np := c.Props.NetworkProfile; np != nil && np.LoadBalancerSKU != "" {
		cc.LoadBalancerSKU = np.LoadBalancerSKU
	}
	if k := c.Props.IdentityProfile["kubeletidentity"]; k != nil {
		cc.KubeletClientID = k.ClientID
	}
	if sn, err := resourceid.Parse(st.VNetSubnetID); err == nil {
		cc.VNetResourceGroup = sn.ResourceGroupName()
		cc.VNetName = sn.Parent().Name()
		cc.SubnetName = sn.Name()
	}
	if nsg, err := resourceid.Parse(st.NSG); err == nil {
		cc.SecurityGroupName = nsg.Name()
	}
	if rt, err := resourceid.Parse(st.RouteTable); err == nil {
		cc.RouteTableName = rt.Name()
	}
	for _, p := range pools {
		if vmss, err := resourceid.Parse(p.Props.Localaks.VMSS); err == nil {
			cc.ScaleSets = append(cc.ScaleSets, vmss.Name())
		}
	}
	return cc
}

func intValue(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// Principal is a cluster identity's object and tenant IDs: the
// system-assigned identity's, or the one user-assigned identity's.
func (c *Cluster) Principal() (objectID, tenantID string) {
	var id struct {
		PrincipalID            string `json:"principalId"`
		TenantID               string `json:"tenantId"`
		UserAssignedIdentities map[string]struct {
			PrincipalID string `json:"principalId"`
		} `json:"userAssignedIdentities"`
	}
	if len(c.Record.Identity) == 0 || json.Unmarshal(c.Record.Identity, &id) != nil {
		return "", ""
	}
	objectID = id.PrincipalID
	for _, u := range id.UserAssignedIdentities {
		if objectID == "" {
			objectID = u.PrincipalID
		}
	}
	return objectID, id.TenantID
}

// ClusterByIssuerPath finds the cluster whose OIDC issuer URL has this
// path (nil when none has, or its issuer is off).
func ClusterByIssuerPath(tx store.Tx, path string) (*Cluster, error) {
	recs, err := tx.List(store.Query{Type: ClusterType})
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		c, err := DecodeCluster(r)
		if err != nil {
			continue
		}
		o := c.Props.OIDCIssuerProfile
		if o == nil || !isTrue(o.Enabled) || o.IssuerURL == "" {
			continue
		}
		if u, err := url.Parse(o.IssuerURL); err == nil && u.Path == path {
			return c, nil
		}
	}
	return nil, nil
}

// CloudCredential finds the cluster whose cloud controller signs in with
// clientID and returns its secret and the identity's object ID.
func CloudCredential(tx store.Tx, clientID string) (secret, objectID string, ok bool) {
	recs, err := tx.List(store.Query{Type: ClusterType})
	if err != nil {
		return "", "", false
	}
	for _, r := range recs {
		c, err := DecodeCluster(r)
		if err != nil {
			continue
		}
		if k := c.Props.IdentityProfile["kubeletidentity"]; k != nil && k.ClientID != "" && strings.EqualFold(k.ClientID, clientID) && c.Props.Localaks.KubeletSecret != "" {
			return c.Props.Localaks.KubeletSecret, k.ObjectID, true
		}
		if !strings.EqualFold(c.Props.Localaks.CloudClientID, clientID) || c.Props.Localaks.CloudSecret == "" {
			continue
		}
		return c.Props.Localaks.CloudSecret, cloudObjectID(tx, c), true
	}
	return "", "", false
}

// FollowNetwork sends the control plane a fresh spec for every running
// cluster with real nodes whose fabric is made from the resource id (its
// route table, a load balancer or public IP of its data path, a security
// group), so that the virtual network and its data path follow a change
// at once: a route deleted with az cuts what it carried, a rule or a
// security rule changed decides the next connection, as in Azure.
// Clusters in the middle of an operation get the change with that
// operation's own spec.
func (r *Reconciler) FollowNetwork(ctx context.Context, id string) error {
	if r.ControlPlane == nil {
		return nil
	}
	var specs []*clusterspec.Spec
	err := r.Store.View(ctx, func(tx store.Tx) error {
		recs, err := tx.List(store.Query{Type: ClusterType})
		if err != nil {
			return err
		}
		for _, rec := range recs {
			c, err := DecodeCluster(rec)
			if err != nil {
				return err
			}
			if c.Stopped() || !Terminal(c.Props.ProvisioningState) {
				continue
			}
			s, err := r.BuildSpec(tx, rec.ID, nil)
			if err != nil {
				return err
			}
			if len(s.RealNodes()) > 0 && s.Fabric.Uses(id) {
				specs = append(specs, s)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range specs {
		errs = append(errs, r.ControlPlane.Apply(ctx, s))
	}
	return errors.Join(errs...)
}

// entraSpec is the control plane's view of AKS-managed Entra ID
// integration (aadProfile.managed), or nil.
func entraSpec(c *Cluster) *clusterspec.Entra {
	var aad struct {
		Managed             bool     `json:"managed"`
		EnableAzureRBAC     bool     `json:"enableAzureRBAC"`
		AdminGroupObjectIDs []string `json:"adminGroupObjectIDs"`
		TenantID            string   `json:"tenantID"`
	}
	if len(c.Props.AADProfile) == 0 || json.Unmarshal(c.Props.AADProfile, &aad) != nil || !aad.Managed {
		return nil
	}
	groups := make([]string, 0, len(aad.AdminGroupObjectIDs))
	for _, g := range aad.AdminGroupObjectIDs {
		groups = append(groups, strings.ToLower(g))
	}
	return &clusterspec.Entra{TenantID: strings.ToLower(aad.TenantID), AdminGroups: groups, AzureRBAC: aad.EnableAzureRBAC}
}

// EntraTenant is the tenant of a cluster's AKS-managed Entra ID
// integration, or "" when it has none.
func EntraTenant(c *Cluster) string {
	if e := entraSpec(c); e != nil {
		return e.TenantID
	}
	return ""
}

// cloudObjectID is the object ID the cluster's cloud controller acts as:
// its managed identity's principal, or — a service-principal cluster —
// that service principal's object in the directory (else the client ID
// of the credentials localaks gives the cloud controller).
func cloudObjectID(tx store.Tx, c *Cluster) string {
	if oid, _ := c.Principal(); oid != "" {
		return oid
	}
	id := c.Props.Localaks.CloudClientID
	sp := c.Props.ServicePrincipalProfile
	if sp == nil || sp.ClientID == "" || strings.EqualFold(sp.ClientID, "msi") {
		return id
	}
	var tenant string
	if r, err := tx.Get(resourceid.Subscription(resourceid.MustParse(c.Record.ID).SubscriptionID()).String()); err == nil {
		var p struct {
			TenantID string `json:"tenantId"`
		}
		if json.Unmarshal(r.Properties, &p) == nil {
			tenant = p.TenantID
		}
	}
	if oid, ok, err := graph.ServicePrincipalByAppID(tx, tenant, sp.ClientID); err == nil && ok {
		return oid
	}
	return id
}
