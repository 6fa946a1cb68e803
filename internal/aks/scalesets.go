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
	rec := r.scaleSetModel(s, p, id)
	if existing != nil {
		// Keep instance bookkeeping; the model is rewritten.
		var old map[string]json.RawMessage
		json.Unmarshal(existing.Properties, &old) //nolint:errcheck // stored by us
		var props map[string]json.RawMessage
		json.Unmarshal(rec.Properties, &props) //nolint:errcheck // just built
		for _, k := range []string{"localaksNextInstanceId", "uniqueId", "timeCreated"} {
			if v, ok := old[k]; ok {
				props[k] = v
			}
		}
		rec.Properties = mustJSON(props)
		rec.SKU = existing.SKU // count changes below
		if err := keepForeignPools(rec, existing); err != nil {
			return err
		}
	}
	want := *p.Props.Count
	if names := p.Props.Localaks.DeleteMachines; len(names) > 0 && existing != nil {
		if err := r.removeMachines(ctx, tx, s, id, names); err != nil {
			return err
		}
		p.Props.Localaks.DeleteMachines = nil
		if err := p.Encode(); err != nil {
			return err
		}
		if err := tx.Put(p.Record); err != nil {
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
		rec.SKU = mustJSON(map[string]any{"name": p.Props.VMSize, "tier": "Standard", "capacity": 0})
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
	n := want
	var sku map[string]any
	json.Unmarshal(rec.SKU, &sku) //nolint:errcheck // stored by us
	sku["capacity"] = n
	sku["name"] = p.Props.VMSize
	rec.SKU = mustJSON(sku)
	if err := tx.Put(rec); err != nil {
		return err
	}
	if p.Props.Localaks.VMSS != id {
		p.Props.Localaks.VMSS = id
		if err := p.Encode(); err != nil {
			return err
		}
		return tx.Put(p.Record)
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
func keepForeignPools(rec, existing *store.Resource) error {
	var old, now compute.ScaleSetProperties
	if err := json.Unmarshal(existing.Properties, &old); err != nil {
		return err
	}
	if err := json.Unmarshal(rec.Properties, &now); err != nil {
		return err
	}
	oldNP, nowNP := old.VirtualMachineProfile.NetworkProfile, now.VirtualMachineProfile.NetworkProfile
	if oldNP == nil || nowNP == nil || len(oldNP.NetworkInterfaceConfigurations) == 0 || len(nowNP.NetworkInterfaceConfigurations) == 0 {
		return nil
	}
	from := &oldNP.NetworkInterfaceConfigurations[0].Properties.IPConfigurations[0].Properties
	to := &nowNP.NetworkInterfaceConfigurations[0].Properties.IPConfigurations[0].Properties
	added := false
	for _, bp := range from.LoadBalancerBackendAddressPools {
		if strings.Contains(strings.ToLower(bp.ID), "/loadbalancers/"+lbName+"/") {
			continue // AKS's own
		}
		to.LoadBalancerBackendAddressPools = append(to.LoadBalancerBackendAddressPools, bp)
		added = true
	}
	if !added {
		return nil
	}
	// Only the pools change: patch them into the model as built.
	var props map[string]any
	if err := json.Unmarshal(rec.Properties, &props); err != nil {
		return err
	}
	vmp := props["virtualMachineProfile"].(map[string]any)
	nics := vmp["networkProfile"].(map[string]any)["networkInterfaceConfigurations"].([]any)
	ipc := nics[0].(map[string]any)["properties"].(map[string]any)["ipConfigurations"].([]any)[0].(map[string]any)["properties"].(map[string]any)
	ipc["loadBalancerBackendAddressPools"] = to.LoadBalancerBackendAddressPools
	rec.Properties = mustJSON(props)
	return nil
}

// scaleSetModel builds a pool's scale set as AKS writes it.
func (r *Reconciler) scaleSetModel(s *state, p *Pool, id string) *store.Resource {
	c := s.c
	name := resourceid.MustParse(id).Name()
	admin := defaultAdminUsername
	var keys []map[string]string
	if c.Props.LinuxProfile != nil {
		admin = c.Props.LinuxProfile.AdminUsername
		for _, k := range c.Props.LinuxProfile.SSH.PublicKeys {
			keys = append(keys, map[string]string{"path": "/home/" + admin + "/.ssh/authorized_keys", "keyData": k.KeyData})
		}
	}
	subnet := p.Props.VnetSubnetID
	if subnet == "" {
		subnet = c.Props.Localaks.VNetSubnetID
	}
	primary := map[string]any{"primary": true, "subnet": map[string]string{"id": subnet}, "privateIPAddressVersion": "IPv4"}
	lbID := resourceid.ResourceGroup(s.sub, s.rg).Child(network.Namespace, "loadBalancers", lbName).String()
	np := c.Props.NetworkProfile
	if np.OutboundType == "loadBalancer" && np.LoadBalancerSKU == "standard" {
		primary["loadBalancerBackendAddressPools"] = []map[string]string{
			{"id": lbID + "/backendAddressPools/" + lbBackendPool}, {"id": lbID + "/backendAddressPools/" + lbOutboundPool}}
	}
	ipconfigs := []map[string]any{{"name": "ipconfig1", "properties": primary}}
	if modelOf(np) == modelAzureCNI && p.Props.PodSubnetID == "" {
		for i := 0; i < *p.Props.MaxPods; i++ {
			ipconfigs = append(ipconfigs, map[string]any{"name": fmt.Sprintf("ipconfig%d", i+2),
				"properties": map[string]any{"subnet": map[string]string{"id": subnet}, "privateIPAddressVersion": "IPv4"}})
		}
	}
	size, _ := vmsizes.Lookup(p.Props.VMSize)
	nic := map[string]any{"name": name, "properties": map[string]any{
		"primary": true, "enableAcceleratedNetworking": size.AcceleratedNetworking, "enableIPForwarding": true,
		"networkSecurityGroup": map[string]string{"id": c.Props.Localaks.NSG}, "dnsSettings": map[string]any{"dnsServers": []string{}},
		"ipConfigurations": ipconfigs,
	}}
	image := strings.TrimPrefix(p.Props.NodeImageVersion, "AKSUbuntu-2204gen2containerd-")
	props := map[string]any{
		"singlePlacementGroup": false, "orchestrationMode": "Uniform", "upgradePolicy": map[string]string{"mode": "Manual"},
		"overprovision": false, "doNotRunExtensionsOnOverprovisionedVMs": false, "platformFaultDomainCount": 1,
		"virtualMachineProfile": map[string]any{
			"osProfile": map[string]any{
				"computerNamePrefix": name, "adminUsername": admin, "secrets": []any{}, "allowExtensionOperations": true,
				"linuxConfiguration": map[string]any{"disablePasswordAuthentication": true, "ssh": map[string]any{"publicKeys": keys}, "provisionVMAgent": true},
			},
			"storageProfile": map[string]any{
				"imageReference": map[string]string{"id": nodeImageGalleryOwner + image},
				"osDisk": map[string]any{"osType": p.Props.OSType, "createOption": "FromImage", "caching": "ReadOnly",
					"managedDisk": map[string]string{"storageAccountType": "Premium_LRS"}, "diskSizeGB": *p.Props.OSDiskSizeGB},
				"dataDisks": []any{},
			},
			"networkProfile": map[string]any{"networkInterfaceConfigurations": []any{nic}},
			"extensionProfile": map[string]any{"extensions": []any{
				map[string]any{"name": "vmssCSE", "properties": map[string]any{"publisher": "Microsoft.Azure.Extensions", "type": "CustomScript",
					"typeHandlerVersion": "2.0", "autoUpgradeMinorVersion": true, "settings": map[string]any{}}},
				map[string]any{"name": name + "-AKSLinuxBilling", "properties": map[string]any{"publisher": "Microsoft.AKS", "type": "Compute.AKS.Linux.Billing",
					"typeHandlerVersion": "1.0", "autoUpgradeMinorVersion": true, "settings": map[string]any{}}},
			}},
			"priority": p.Props.ScaleSetPriority,
		},
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
	rec := &store.Resource{ID: id, Type: compute.ScaleSetType, Name: name, Location: c.Record.Location, Tags: tags,
		Zones: p.Props.AvailabilityZones, Properties: mustJSON(props)}
	if k := c.Props.Localaks.KubeletIdentity; k != "" {
		rec.Identity = mustJSON(map[string]any{"type": "UserAssigned", "userAssignedIdentities": map[string]any{k: map[string]any{}}})
	}
	return rec
}
