package aks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/ipam"
	"github.com/localaks/localaks/internal/provider/compute"
	"github.com/localaks/localaks/internal/provider/network"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
	"github.com/localaks/localaks/internal/vmsizes"
)

// Step: one VM scale set per pool, its instances, their pod ranges and routes.

// ensureScaleSets makes each pool's scale set exist with the pool's node
// count, and removes scale sets of pools that are gone.
func (r *Reconciler) ensureScaleSets(ctx context.Context, tx store.Tx, s *state) error {
	used, err := r.podCIDRsInUse(ctx, tx, s)
	if err != nil {
		return err
	}
	for _, p := range s.pools {
		if err := r.ensureScaleSet(ctx, tx, s, p, &used); err != nil {
			return err
		}
	}
	return nil
}

// podCIDRsInUse lists the node pod ranges of every pool's instances.
func (r *Reconciler) podCIDRsInUse(ctx context.Context, tx store.Tx, s *state) ([]netip.Prefix, error) {
	var used []netip.Prefix
	for _, p := range s.pools {
		vmss := r.vmssID(s, p)
		_, props, err := r.Compute.Instances(tx, vmss)
		if err != nil {
			return nil, err
		}
		for _, ip := range props {
			if pfx, err := netip.ParsePrefix(ip.Localaks.PodCIDR); err == nil {
				used = append(used, pfx)
			}
		}
	}
	return used, nil
}

func (r *Reconciler) vmssID(s *state, p *Pool) string {
	return resourceid.ResourceGroup(s.sub, s.rg).Child(compute.Namespace, "virtualMachineScaleSets", vmssName(p.Record.Name, s.c.Props.Localaks.ID)).String()
}

// ensureScaleSet writes a pool's scale set model and adds or removes
// instances to match the pool's count. New kubenet and overlay nodes get a
// /24 of the pod range; kubenet nodes also a route.
func (r *Reconciler) ensureScaleSet(ctx context.Context, tx store.Tx, s *state, p *Pool, used *[]netip.Prefix) error {
	id := r.vmssID(s, p)
	existing, err := tx.Get(id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	rec, model, err := r.scaleSetModel(s, p, id)
	if err != nil {
		return err
	}
	if existing != nil {
		// Keep instance bookkeeping; the model is rewritten.
		var old compute.ScaleSetProperties
		if err := json.Unmarshal(existing.Properties, &old); err != nil {
			return fmt.Errorf("scale set %s: %w", id, err)
		}
		model.NextInstanceID, model.UniqueID, model.TimeCreated = old.NextInstanceID, old.UniqueID, old.TimeCreated
		keepForeignPools(model, &old)
		if rec.Properties, err = json.Marshal(model); err != nil {
			return err
		}
		rec.SKU = existing.SKU // count changes below
	}
	want := *p.Props.Count
	if names := p.Props.Localaks.DeleteMachines; len(names) > 0 && existing != nil {
		if err := r.removeMachines(ctx, tx, s, id, names); err != nil {
			return err
		}
		p.Props.Localaks.DeleteMachines = nil
		if err := Save(tx, nil, p); err != nil {
			return err
		}
	}
	current, err := r.Compute.InstanceIDs(tx, id)
	if err != nil {
		return err
	}
	if existing == nil {
		// Write the model with no instances; instances are added below so
		// that each gets its pod range and route.
		if rec.SKU, err = json.Marshal(compute.SKU{Name: p.Props.VMSize, Tier: "Standard", Capacity: new(int)}); err != nil {
			return err
		}
		if err := r.Compute.ScaleSets.Save(ctx, tx, nil, rec, nil); err != nil {
			return err
		}
	}
	np := s.c.Props.NetworkProfile
	m := modelOf(np)
	switch {
	case want > len(current):
		var blocks *ipam.BlockAllocator
		if m == modelKubenet || m == modelOverlay {
			podRange, err := netip.ParsePrefix(np.PodCIDR)
			if err != nil {
				return fmt.Errorf("pod CIDR %q: %w", np.PodCIDR, err)
			}
			if blocks, err = ipam.NewBlockAllocator(podRange, 24, *used); err != nil {
				return err
			}
		}
		routes := map[string]network.RouteProperties{}
		_, err := r.Compute.AddInstances(tx, rec, want-len(current), func(inst *compute.Instance, st *compute.InstanceState) error {
			if blocks == nil {
				return nil
			}
			block, err := blocks.Next()
			if err != nil {
				return badRequest("InsufficientSubnetSize", "networkProfile.podCIDR",
					"Pod CIDR %s has no /24 left for node %s. http://aka.ms/aks/insufficientsubnetsize", np.PodCIDR, inst.ComputerName)
			}
			*used = append(*used, block)
			st.PodCIDR = block.String()
			if m == modelKubenet {
				routes[inst.ComputerName] = network.RouteProperties{AddressPrefix: block.String(), NextHopType: "VirtualAppliance", NextHopIPAddress: inst.PrivateIP.String()}
			}
			return nil
		})
		if err != nil {
			var armErr *arm.Error
			if errors.As(err, &armErr) {
				return err
			}
			return fmt.Errorf("add instances to %s: %w", id, err)
		}
		if rt := s.c.Props.Localaks.RouteTable; rt != "" {
			if err := r.Net.SetRoutes(tx, rt, routes); err != nil {
				return err
			}
		}
	case want < len(current):
		if err := r.removeInstances(ctx, tx, s, id, current[want:]); err != nil {
			return err
		}
	}
	var sku compute.SKU
	if err := json.Unmarshal(rec.SKU, &sku); err != nil {
		return fmt.Errorf("scale set %s sku: %w", id, err)
	}
	sku.Capacity, sku.Name = &want, p.Props.VMSize
	if rec.SKU, err = json.Marshal(sku); err != nil {
		return err
	}
	// The instances are in step already: the model and count are recorded
	// as they are (the scale set's Prepare would scale it a second time).
	if err := tx.Put(rec); err != nil {
		return err
	}
	if p.Props.Localaks.VMSS != id {
		p.Props.Localaks.VMSS = id
		return Save(tx, nil, p)
	}
	return nil
}

// removeInstances deletes instances (newest first, as scale-in does) and
// their kubenet routes.
func (r *Reconciler) removeInstances(ctx context.Context, tx store.Tx, s *state, vmssID string, ids []int) error {
	recs, props, err := r.Compute.Instances(tx, vmssID)
	if err != nil {
		return err
	}
	drop := map[string]bool{}
	for _, n := range ids {
		drop[fmt.Sprint(n)] = true
	}
	var names []string
	for i, rec := range recs {
		if drop[rec.Name] {
			names = append(names, props[i].OSProfile.ComputerName)
		}
	}
	if rt := s.c.Props.Localaks.RouteTable; rt != "" && len(names) > 0 {
		if err := r.Net.RemoveRoutes(tx, rt, names); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return r.Compute.RemoveInstances(tx, vmssID, ids)
}

// removeMachines deletes the instances with the given computer names.
func (r *Reconciler) removeMachines(ctx context.Context, tx store.Tx, s *state, vmssID string, names []string) error {
	recs, props, err := r.Compute.Instances(tx, vmssID)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, n := range names {
		want[strings.ToLower(n)] = true
	}
	var ids []int
	for i, rec := range recs {
		if want[strings.ToLower(props[i].OSProfile.ComputerName)] {
			var n int
			fmt.Sscan(rec.Name, &n)
			ids = append(ids, n)
		}
	}
	return r.removeInstances(ctx, tx, s, vmssID, ids)
}

// keepForeignPools carries over the backend pools that others added to the
// model's primary IP configuration (the cloud controller puts the nodes in
// `kubernetes-internal`'s pool), as AKS leaves them when it updates a pool.
func keepForeignPools(model, old *compute.ScaleSetProperties) {
	oldNP, nowNP := old.VirtualMachineProfile.NetworkProfile, model.VirtualMachineProfile.NetworkProfile
	if oldNP == nil || nowNP == nil || len(oldNP.NetworkInterfaceConfigurations) == 0 || len(nowNP.NetworkInterfaceConfigurations) == 0 ||
		len(oldNP.NetworkInterfaceConfigurations[0].Properties.IPConfigurations) == 0 || len(nowNP.NetworkInterfaceConfigurations[0].Properties.IPConfigurations) == 0 {
		return
	}
	from := &oldNP.NetworkInterfaceConfigurations[0].Properties.IPConfigurations[0].Properties
	to := &nowNP.NetworkInterfaceConfigurations[0].Properties.IPConfigurations[0].Properties
	for _, bp := range from.LoadBalancerBackendAddressPools {
		if strings.Contains(strings.ToLower(bp.ID), "/loadbalancers/"+lbName+"/") {
			continue // AKS's own
		}
		to.LoadBalancerBackendAddressPools = append(to.LoadBalancerBackendAddressPools, bp)
	}
}

// scaleSetModel builds a pool's scale set as AKS writes it: the record and
// its typed properties.
func (r *Reconciler) scaleSetModel(s *state, p *Pool, id string) (*store.Resource, *compute.ScaleSetProperties, error) {
	c := s.c
	name := resourceid.MustParse(id).Name()
	admin := defaultAdminUsername
	var keys []compute.SSHPublicKey
	if c.Props.LinuxProfile != nil {
		admin = c.Props.LinuxProfile.AdminUsername
		for _, k := range c.Props.LinuxProfile.SSH.PublicKeys {
			keys = append(keys, compute.SSHPublicKey{Path: "/home/" + admin + "/.ssh/authorized_keys", KeyData: k.KeyData})
		}
	}
	subnet := p.Props.VnetSubnetID
	if subnet == "" {
		subnet = c.Props.Localaks.VNetSubnetID
	}
	ipconfig := func(name string, primary bool) compute.IPConfigurationModel {
		ip := compute.IPConfigurationModel{Name: name}
		ip.Properties.Primary = primary
		ip.Properties.Subnet = &network.SubResource{ID: subnet}
		ip.Properties.PrivateIPAddressVersion = "IPv4"
		return ip
	}
	primary := ipconfig("ipconfig1", true)
	lbID := resourceid.ResourceGroup(s.sub, s.rg).Child(network.Namespace, "loadBalancers", lbName).String()
	np := c.Props.NetworkProfile
	if np.OutboundType == "loadBalancer" && np.LoadBalancerSKU == "standard" {
		primary.Properties.LoadBalancerBackendAddressPools = []network.SubResource{
			{ID: lbID + "/backendAddressPools/" + lbBackendPool}, {ID: lbID + "/backendAddressPools/" + lbOutboundPool}}
	}
	ipconfigs := []compute.IPConfigurationModel{primary}
	if modelOf(np) == modelAzureCNI && p.Props.PodSubnetID == "" {
		for i := 0; i < *p.Props.MaxPods; i++ {
			ipconfigs = append(ipconfigs, ipconfig(fmt.Sprintf("ipconfig%d", i+2), false))
		}
	}
	size, _ := vmsizes.Lookup(p.Props.VMSize)
	nic := compute.NICConfiguration{Name: name}
	nic.Properties.Primary = true
	nic.Properties.EnableAcceleratedNetworking = size.AcceleratedNetworking
	nic.Properties.EnableIPForwarding = true
	nic.Properties.NetworkSecurityGroup = &network.SubResource{ID: c.Props.Localaks.NSG}
	nic.Properties.IPConfigurations = ipconfigs
	image := strings.TrimPrefix(p.Props.NodeImageVersion, "AKSUbuntu-2204gen2containerd-")
	extension := func(name, publisher, typ, version string) compute.Extension {
		return compute.Extension{Name: name, Properties: compute.ExtensionProperties{Publisher: publisher, Type: typ,
			TypeHandlerVersion: version, AutoUpgradeMinorVersion: true, Settings: map[string]string{}}}
	}
	var err error
	raw := func(v any) json.RawMessage {
		out, e := compute.Raw(v)
		if e != nil && err == nil {
			err = e
		}
		return out
	}
	nic.Properties.DNSSettings = raw(compute.NICDNSSettings{DNSServers: []string{}})
	model := &compute.ScaleSetProperties{
		OrchestrationMode: "Uniform", UpgradePolicy: raw(compute.UpgradePolicy{Mode: "Manual"}), PlatformFaultDomain: 1,
		VirtualMachineProfile: compute.VMProfile{
			OSProfile: &compute.OSProfile{
				ComputerNamePrefix: name, AdminUsername: admin, Secrets: []any{}, AllowExtensionOperations: true,
				LinuxConfiguration: raw(compute.LinuxConfiguration{DisablePasswordAuthentication: true, SSH: compute.SSHKeys{PublicKeys: keys}, ProvisionVMAgent: true}),
			},
			StorageProfile: raw(compute.StorageProfile{
				ImageReference: compute.ImageReference{ID: nodeImageGalleryOwner + image},
				OSDisk: compute.OSDisk{OSType: p.Props.OSType, CreateOption: "FromImage", Caching: "ReadOnly",
					ManagedDisk: compute.ManagedDisk{StorageAccountType: "Premium_LRS"}, DiskSizeGB: *p.Props.OSDiskSizeGB},
				DataDisks: []json.RawMessage{},
			}),
			NetworkProfile: &compute.NetworkProfile{NetworkInterfaceConfigurations: []compute.NICConfiguration{nic}},
			ExtensionProfile: raw(compute.ExtensionProfile{Extensions: []compute.Extension{
				extension("vmssCSE", "Microsoft.Azure.Extensions", "CustomScript", "2.0"),
				extension(name+"-AKSLinuxBilling", "Microsoft.AKS", "Compute.AKS.Linux.Billing", "1.0"),
			}}),
			Priority: p.Props.ScaleSetPriority,
		},
	}
	if err != nil {
		return nil, nil, err
	}
	tags := map[string]string{
		"aks-managed-createOperationID": c.Props.Localaks.Operation, "aks-managed-creationSource": "vmssclient-" + name,
		"aks-managed-orchestrator": "Kubernetes:" + p.Props.CurrentOrchestratorVersion, "aks-managed-poolName": p.Record.Name,
		"aks-managed-resourceNameSuffix": c.Props.Localaks.ID,
	}
	if k := c.Props.IdentityProfile["kubeletidentity"]; k != nil {
		tags["aks-managed-kubeletIdentityClientID"] = k.ClientID
	}
	for k, v := range c.Record.Tags {
		tags[k] = v
	}
	for k, v := range p.Props.Tags {
		tags[k] = v
	}
	// The node mode, on the scale set and so on each instance (az vmss
	// show / list-instances, the portal): ARM's spelling of the tag.
	mode := p.State().Nodes
	if mode == "" {
		mode = NodesSimulated
	}
	tags[NodesTagARM] = mode
	props, err := json.Marshal(model)
	if err != nil {
		return nil, nil, err
	}
	rec := &store.Resource{ID: id, Type: compute.ScaleSetType, Name: name, Location: c.Record.Location, Tags: tags,
		Zones: p.Props.AvailabilityZones, Properties: props}
	if k := c.Props.Localaks.KubeletIdentity; k != "" {
		if rec.Identity, err = json.Marshal(compute.Identity{Type: "UserAssigned", UserAssignedIdentities: map[string]struct{}{k: {}}}); err != nil {
			return nil, nil, err
		}
	}
	return rec, model, nil
}
