// Package compute is the Microsoft.Compute resource provider for virtual
// machine scale sets and their instances. An instance's network interface
// belongs to Microsoft.Network (see package network); the scale set creates
// it from its network profile when it adds the instance.
package compute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/localaks/localaks/internal/apiversions"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/provider/network"
	"github.com/localaks/localaks/internal/regions"
	"github.com/localaks/localaks/internal/store"
	"github.com/localaks/localaks/internal/vmsizes"
)

// Namespace is this provider's namespace.
const Namespace = "Microsoft.Compute"

// Types.
const (
	ScaleSetType = "Microsoft.Compute/virtualMachineScaleSets"
	InstanceType = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines"
)

// APIVersions are the Microsoft.Compute api-versions accepted (package
// apiversions).
var APIVersions = apiversions.For(ScaleSetType)

// Config configures the provider.
type Config struct {
	Store    store.Store
	Registry *arm.Registry
	Network  *network.Provider
	Log      *slog.Logger
}

// Provider is the Microsoft.Compute provider.
type Provider struct {
	store        store.Store
	net          *network.Provider
	log          *slog.Logger
	now          func() time.Time
	ScaleSets    *arm.Tracked
	InstanceType *arm.Tracked
	// Owned, when set, carries out a client's capacity change or
	// instance deletion on a scale set that a managed cluster's pool owns,
	// as that pool's own operation (AKS makes its instances, with their
	// pod ranges and routes, and their nodes): it answers the request
	// (handled) or leaves it to compute (the scale set is no pool's).
	Owned func(ctx context.Context, req *arm.Request, vmssID string, change OwnedChange) (resp *arm.Response, handled bool, err error)
}

// OwnedChange is a client's change to an owned scale set: a new capacity,
// or instances to delete.
type OwnedChange struct {
	Capacity    *int
	InstanceIDs []string
}

// ScaleSetProperties are the properties of a scale set that localaks
// models; the rest of the model is kept as sent.
type ScaleSetProperties struct {
	SingplePlacementGroup  bool            `json:"singlePlacementGroup"`
	OrchestrationMode      string          `json:"orchestrationMode"`
	UpgradePolicy          json.RawMessage `json:"upgradePolicy"`
	VirtualMachineProfile  VMProfile       `json:"virtualMachineProfile"`
	Overprovision          bool            `json:"overprovision"`
	PlatformFaultDomain    int             `json:"platformFaultDomainCount"`
	ProvisioningState      string          `json:"provisioningState"`
	UniqueID               string          `json:"uniqueId"`
	TimeCreated            time.Time       `json:"timeCreated"`
	Extra                  map[string]any  `json:"-"`
	AdditionalCapabilities json.RawMessage `json:"additionalCapabilities,omitempty"`
	// Internal (not shown): the next instance ID to hand out; scale sets
	// never reuse instance IDs right away.
	NextInstanceID int `json:"localaksNextInstanceId,omitempty"`
}

// VMProfile is the instance model.
type VMProfile struct {
	OSProfile          *OSProfile      `json:"osProfile,omitempty"`
	StorageProfile     json.RawMessage `json:"storageProfile,omitempty"`
	NetworkProfile     *NetworkProfile `json:"networkProfile,omitempty"`
	ExtensionProfile   json.RawMessage `json:"extensionProfile,omitempty"`
	Priority           string          `json:"priority,omitempty"`
	SecurityProfile    json.RawMessage `json:"securityProfile,omitempty"`
	DiagnosticsProfile json.RawMessage `json:"diagnosticsProfile,omitempty"`
}

// OSProfile is the instance OS model.
type OSProfile struct {
	ComputerNamePrefix       string          `json:"computerNamePrefix"`
	AdminUsername            string          `json:"adminUsername"`
	LinuxConfiguration       json.RawMessage `json:"linuxConfiguration,omitempty"`
	Secrets                  []any           `json:"secrets"`
	AllowExtensionOperations bool            `json:"allowExtensionOperations"`
}

// NetworkProfile lists the NIC configurations of instances.
type NetworkProfile struct {
	NetworkInterfaceConfigurations []NICConfiguration `json:"networkInterfaceConfigurations"`
}

// NICConfiguration is a NIC model.
type NICConfiguration struct {
	Name       string `json:"name"`
	Properties struct {
		Primary                     bool                   `json:"primary"`
		EnableAcceleratedNetworking bool                   `json:"enableAcceleratedNetworking"`
		EnableIPForwarding          bool                   `json:"enableIPForwarding"`
		NetworkSecurityGroup        *network.SubResource   `json:"networkSecurityGroup,omitempty"`
		DNSSettings                 json.RawMessage        `json:"dnsSettings,omitempty"`
		IPConfigurations            []IPConfigurationModel `json:"ipConfigurations"`
	} `json:"properties"`
}

// IPConfigurationModel is an IP configuration model.
type IPConfigurationModel struct {
	Name       string `json:"name"`
	Properties struct {
		Primary                         bool                  `json:"primary,omitempty"`
		Subnet                          *network.SubResource  `json:"subnet,omitempty"`
		PrivateIPAddressVersion         string                `json:"privateIPAddressVersion,omitempty"`
		LoadBalancerBackendAddressPools []network.SubResource `json:"loadBalancerBackendAddressPools,omitempty"`
	} `json:"properties"`
}

// SKU is a scale set's SKU; capacity is the instance count.
type SKU struct {
	Name     string `json:"name"`
	Tier     string `json:"tier,omitempty"`
	Capacity *int   `json:"capacity,omitempty"`
}

// Register creates the provider and registers its types.
func Register(cfg Config) *Provider {
	p := &Provider{store: cfg.Store, net: cfg.Network, log: cfg.Log, now: time.Now}
	locs := regions.List()
	p.ScaleSets = &arm.Tracked{
		ResourceType: &arm.ResourceType{Namespace: Namespace, Type: "virtualMachineScaleSets", APIVersions: APIVersions, Locations: locs},
		Located:      true, ValidateName: validScaleSetName, Store: p.store,
	}
	p.ScaleSets.Prepare = p.prepareScaleSet
	p.ScaleSets.Render = p.renderScaleSet
	p.ScaleSets.Actions = map[string]arm.HandlerFunc{
		"start": p.powerAction("running"), "deallocate": p.powerAction("deallocated"), "powerOff": p.powerAction("stopped"),
		"restart": p.powerAction("running"), "delete": p.deleteInstancesAction, "manualupgrade": p.manualUpgrade,
	}
	p.ScaleSets.Install(cfg.Registry)
	put := p.ScaleSets.Put
	p.ScaleSets.Put = func(ctx context.Context, req *arm.Request) (*arm.Response, error) {
		if resp, handled, err := p.ownedCapacity(ctx, req); handled || err != nil {
			return resp, err
		}
		return put(ctx, req)
	}

	p.InstanceType = &arm.Tracked{
		ResourceType: &arm.ResourceType{Namespace: Namespace, Type: "virtualMachineScaleSets/virtualMachines", APIVersions: APIVersions, Hidden: true},
		ReadOnly:     true, Store: p.store,
	}
	p.InstanceType.Render = p.renderInstance
	p.InstanceType.Install(cfg.Registry)

	view := &arm.ResourceType{Namespace: Namespace, Type: "virtualMachineScaleSets/virtualMachines/instanceView", APIVersions: APIVersions, Hidden: true}
	view.List = p.instanceView // GET {instance}/instanceView is a collection-shaped path
	cfg.Registry.Register(view)

	// Standalone virtual machines: AKS makes none (its nodes are scale
	// set instances), and localaks serves none; their lists answer, empty,
	// as the cluster autoscaler reads them beside the scale sets in every
	// refresh (a failure there stops it).
	vms := &arm.ResourceType{Namespace: Namespace, Type: "virtualMachines", APIVersions: apiversions.For(Namespace + "/virtualMachines"), Locations: locs}
	vms.List = func(ctx context.Context, req *arm.Request) (*arm.Response, error) {
		return arm.OK(arm.List{Value: []map[string]any{}}), nil
	}
	vms.Get = func(ctx context.Context, req *arm.Request) (*arm.Response, error) {
		return nil, arm.Errorf(http.StatusNotFound, "ResourceNotFound",
			"The Resource '%s/virtualMachines/%s' under resource group '%s' was not found. localaks serves no standalone virtual machines (AKS's nodes are scale set instances).",
			Namespace, req.Route.ID.Name(), req.Route.ID.ResourceGroupName())
	}
	cfg.Registry.Register(vms)
	return p
}

// ownedCapacity hands a PUT that changes an existing scale set's capacity
// to its owner (Owned); the answer is the scale set with the capacity
// asked for, and the owner's operation to poll.
func (p *Provider) ownedCapacity(ctx context.Context, req *arm.Request) (*arm.Response, bool, error) {
	if p.Owned == nil {
		return nil, false, nil
	}
	var in struct {
		SKU        *SKU                       `json:"sku"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(req.Body, &in); err != nil || in.SKU == nil || in.SKU.Capacity == nil {
		return nil, false, nil
	}
	var existing *store.Resource
	if err := p.store.View(ctx, func(tx store.Tx) error {
		r, err := tx.Get(req.Route.ID.String())
		if err == nil {
			existing = r
		}
		return nil
	}); err != nil || existing == nil {
		return nil, false, err
	}
	// Only a change of capacity is the owner's (a full model sent back
	// with a new capacity, as az vmss scale does, included); the model of
	// a pool's scale set is AKS's, and what else such a PUT says is not
	// applied.
	if _, sku, err := decodeSet(existing); err != nil || sku.Capacity != nil && *sku.Capacity == *in.SKU.Capacity {
		return nil, false, nil
	}
	resp, handled, err := p.Owned(ctx, req, existing.ID, OwnedChange{Capacity: in.SKU.Capacity})
	if !handled || err != nil {
		return resp, handled, err
	}
	var body any
	err = p.store.View(ctx, func(tx store.Tx) error {
		r, err := tx.Get(existing.ID)
		if err != nil {
			return err
		}
		var sku map[string]any
		json.Unmarshal(r.SKU, &sku) //nolint:errcheck // a stored record
		if sku == nil {
			sku = map[string]any{}
		}
		sku["capacity"] = *in.SKU.Capacity
		r.SKU, _ = json.Marshal(sku)
		body, err = p.renderScaleSet(tx, req, r)
		return err
	})
	if err != nil {
		return nil, true, err
	}
	resp.Status, resp.Body = http.StatusOK, body
	return resp, true, nil
}

// capacityOnly merges a PUT that names no virtualMachineProfile (the
// cluster autoscaler's capacity change: name, location and sku) onto the
// scale set it updates, as Compute does: the model is kept, the sku's
// fields sent replace the stored ones.
func capacityOnly(r, existing *store.Resource) error {
	var sent map[string]json.RawMessage
	if len(r.Properties) > 0 {
		if err := json.Unmarshal(r.Properties, &sent); err != nil {
			return arm.ErrInvalidRequestContent("properties: " + err.Error())
		}
	}
	if existing == nil || len(sent["virtualMachineProfile"]) > 0 {
		return nil
	}
	var props map[string]json.RawMessage
	if err := json.Unmarshal(existing.Properties, &props); err != nil || props == nil {
		props = map[string]json.RawMessage{}
	}
	for k, v := range sent {
		props[k] = v
	}
	r.Properties, _ = json.Marshal(props)
	var oldSKU, newSKU map[string]any
	json.Unmarshal(existing.SKU, &oldSKU) //nolint:errcheck // a stored record
	if len(r.SKU) > 0 {
		if err := json.Unmarshal(r.SKU, &newSKU); err != nil {
			return arm.ErrInvalidRequestContent("sku: " + err.Error())
		}
	}
	if oldSKU == nil {
		oldSKU = map[string]any{}
	}
	for k, v := range newSKU {
		oldSKU[k] = v
	}
	r.SKU, _ = json.Marshal(oldSKU)
	if r.Tags == nil {
		r.Tags = existing.Tags
	}
	return nil
}

// validScaleSetName is Azure's rule for Linux scale set names: 1–64
// alphanumerics, underscores, periods and hyphens.
var scaleSetName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}[a-zA-Z0-9_]$|^[a-zA-Z0-9]$`)

func validScaleSetName(name string) error {
	if !scaleSetName.MatchString(name) {
		return arm.Errorf(http.StatusBadRequest, "InvalidParameter",
			"The scale set name '%s' is invalid. It can contain up to 64 letters, digits, '_', '.' and '-', and must start with a letter or digit and end with a letter, digit or '_'.", name).
			WithTarget("vmScaleSetName")
	}
	return nil
}

func decodeSet(r *store.Resource) (*ScaleSetProperties, *SKU, error) {
	var props ScaleSetProperties
	if len(r.Properties) > 0 {
		if err := json.Unmarshal(r.Properties, &props); err != nil {
			return nil, nil, arm.ErrInvalidRequestContent("properties: " + err.Error())
		}
	}
	var sku SKU
	if len(r.SKU) > 0 {
		if err := json.Unmarshal(r.SKU, &sku); err != nil {
			return nil, nil, arm.ErrInvalidRequestContent("sku: " + err.Error())
		}
	}
	return &props, &sku, nil
}

func (p *Provider) prepareScaleSet(_ context.Context, tx store.Tx, req *arm.Request, r, existing *store.Resource) error {
	if err := capacityOnly(r, existing); err != nil {
		return err
	}
	props, sku, err := decodeSet(r)
	if err != nil {
		return err
	}
	size, ok := vmsizes.Lookup(sku.Name)
	if !ok {
		return arm.Errorf(http.StatusBadRequest, "InvalidParameter",
			"The requested VM size %s is not available in the current region. The sizes available in the current region are: %s. Find out more on the available VM sizes in each region at https://aka.ms/azure-regions.",
			sku.Name, sizeNames()).WithTarget("vmSize")
	}
	sku.Name = size.Name
	if sku.Tier == "" {
		sku.Tier = "Standard"
	}
	capacity := 0
	if sku.Capacity != nil {
		capacity = *sku.Capacity
	}
	if capacity < 0 || capacity > 1000 {
		return arm.Errorf(http.StatusBadRequest, "InvalidParameter", "The value %d of parameter 'sku.capacity' is out of range. The value must be between 0 and 1000, inclusive.", capacity).WithTarget("sku.capacity")
	}
	sku.Capacity = &capacity
	r.SKU, _ = json.Marshal(sku)
	if props.OrchestrationMode == "" {
		props.OrchestrationMode = "Uniform"
	}
	if props.VirtualMachineProfile.OSProfile == nil || props.VirtualMachineProfile.OSProfile.ComputerNamePrefix == "" {
		return arm.Errorf(http.StatusBadRequest, "InvalidParameter", "Required parameter 'osProfile.computerNamePrefix' is missing (null).").
			WithTarget("virtualMachineProfile.osProfile.computerNamePrefix")
	}
	if props.VirtualMachineProfile.OSProfile.Secrets == nil {
		props.VirtualMachineProfile.OSProfile.Secrets = []any{}
	}
	// Instances copy the storage profile (instanceStorage), so it must be
	// an object when there is one.
	if sp := props.VirtualMachineProfile.StorageProfile; len(sp) > 0 {
		var profile map[string]any
		if err := json.Unmarshal(sp, &profile); err != nil {
			return arm.ErrInvalidRequestContent("virtualMachineProfile.storageProfile: " + err.Error())
		}
	}
	if props.VirtualMachineProfile.NetworkProfile == nil || len(props.VirtualMachineProfile.NetworkProfile.NetworkInterfaceConfigurations) == 0 {
		return arm.Errorf(http.StatusBadRequest, "InvalidParameter", "The scale set needs at least one network interface configuration.").
			WithTarget("virtualMachineProfile.networkProfile.networkInterfaceConfigurations")
	}
	for _, nc := range props.VirtualMachineProfile.NetworkProfile.NetworkInterfaceConfigurations {
		if len(nc.Properties.IPConfigurations) == 0 || nc.Properties.IPConfigurations[0].Properties.Subnet == nil {
			return arm.Errorf(http.StatusBadRequest, "InvalidParameter", "Network interface configuration %s needs an IP configuration with a subnet.", nc.Name)
		}
		if _, _, err := p.net.Subnet(tx, nc.Properties.IPConfigurations[0].Properties.Subnet.ID); err != nil {
			return err
		}
	}
	if existing != nil {
		old, _, err := decodeSet(existing)
		if err != nil {
			return err
		}
		props.UniqueID, props.TimeCreated, props.NextInstanceID = old.UniqueID, old.TimeCreated, old.NextInstanceID
	} else {
		props.UniqueID, props.TimeCreated = uuid.NewString(), p.now().UTC()
	}
	props.ProvisioningState = "Succeeded"
	raw, err := json.Marshal(props)
	if err != nil {
		return err
	}
	r.Properties = raw
	if existing != nil {
		if err := p.markModelChanges(tx, r.ID, props); err != nil {
			return err
		}
	}
	// The instance count follows sku.capacity.
	current, err := p.InstanceIDs(tx, r.ID)
	if err != nil {
		return err
	}
	switch {
	case capacity > len(current):
		if _, err := p.AddInstances(tx, r, capacity-len(current), nil); err != nil {
			return err
		}
	case capacity < len(current):
		// Scale-in removes the newest instances first.
		if err := p.RemoveInstances(tx, r.ID, current[capacity:]); err != nil {
			return err
		}
	}
	return nil
}

func sizeNames() string {
	var names []string
	for _, s := range vmsizes.All() {
		names = append(names, s.Name)
	}
	return strings.Join(names, ",")
}

// InstanceIDs lists a scale set's instance IDs in ascending order.
func (p *Provider) InstanceIDs(tx store.Tx, vmssID string) ([]int, error) {
	rs, err := tx.List(store.Query{Parent: vmssID, Type: InstanceType})
	if err != nil {
		return nil, err
	}
	var ids []int
	for _, r := range rs {
		if n, err := strconv.Atoi(r.Name); err == nil {
			ids = append(ids, n)
		}
	}
	sort.Ints(ids)
	return ids, nil
}

// InstanceProperties are what the store keeps for an instance.
type InstanceProperties struct {
	LatestModelApplied     bool            `json:"latestModelApplied"`
	ModelDefinitionApplied string          `json:"modelDefinitionApplied"`
	VMID                   string          `json:"vmId"`
	HardwareProfile        json.RawMessage `json:"hardwareProfile,omitempty"`
	StorageProfile         json.RawMessage `json:"storageProfile,omitempty"`
	OSProfile              InstanceOS      `json:"osProfile"`
	NetworkProfile         struct {
		NetworkInterfaces []struct {
			ID string `json:"id"`
		} `json:"networkInterfaces"`
	} `json:"networkProfile"`
	ProvisioningState string    `json:"provisioningState"`
	TimeCreated       time.Time `json:"timeCreated"`
	// Localaks holds what is not shown: power state and the node's
	// addresses, for the Kubernetes side.
	Localaks InstanceState `json:"localaks"`
}

// InstanceOS is an instance's OS profile.
type InstanceOS struct {
	ComputerName  string          `json:"computerName"`
	AdminUsername string          `json:"adminUsername"`
	Linux         json.RawMessage `json:"linuxConfiguration,omitempty"`
	Secrets       []any           `json:"secrets"`
	AllowExt      bool            `json:"allowExtensionOperations"`
}

// InstanceState is an instance's hidden state.
type InstanceState struct {
	// PowerState is running, stopped or deallocated.
	PowerState string `json:"powerState"`
	// PrivateIP is the primary NIC address; PodIPs are the secondary
	// addresses Azure CNI pre-allocates.
	PrivateIP string   `json:"privateIP"`
	PodIPs    []string `json:"podIPs,omitempty"`
	// PodCIDR is the node's pod range (kubenet, Azure CNI Overlay).
	PodCIDR string `json:"podCIDR,omitempty"`
	Zone    string `json:"zone,omitempty"`
}

// Instance is one instance as AddInstances made it.
type Instance struct {
	ID           string
	InstanceID   int
	ComputerName string
	PrivateIP    netip.Addr
	PodIPs       []netip.Addr
}

// ComputerName is the host name of instance n: the prefix and the instance
// ID in base 36, six digits (aks-nodepool1-12345678-vmss00000a).
func ComputerName(prefix string, n int) string {
	s := strconv.FormatInt(int64(n), 36)
	return prefix + strings.Repeat("0", max(0, 6-len(s))) + s
}

// AddInstances adds n instances to the scale set r (the record being
// written), with network interfaces from its network profile. before, when
// not nil, may adjust each instance's state before it is stored (the AKS
// reconciler assigns pod ranges there).
func (p *Provider) AddInstances(tx store.Tx, vmss *store.Resource, n int, before func(*Instance, *InstanceState) error) ([]Instance, error) {
	props, sku, err := decodeSet(vmss)
	if err != nil {
		return nil, err
	}
	nic := props.VirtualMachineProfile.NetworkProfile.NetworkInterfaceConfigurations[0]
	primary := nic.Properties.IPConfigurations[0]
	subnetID := primary.Properties.Subnet.ID
	pool, err := p.net.SubnetPool(tx, subnetID, "")
	if err != nil {
		return nil, err
	}
	if need := int64(n * len(nic.Properties.IPConfigurations)); need > pool.Free() {
		_, prefix, _ := p.net.Subnet(tx, subnetID)
		return nil, arm.Errorf(http.StatusBadRequest, "SubnetIsFull",
			"Subnet %s with address prefix %s does not have enough capacity for %d IP addresses.", lastSegment(subnetID), prefix, need)
	}
	spec := network.NICSpec{Name: nic.Name, SubnetID: subnetID, SecondaryIPs: len(nic.Properties.IPConfigurations) - 1,
		AcceleratedNetworking: nic.Properties.EnableAcceleratedNetworking, IPFwd: nic.Properties.EnableIPForwarding}
	if nic.Properties.NetworkSecurityGroup != nil {
		spec.NSGID = nic.Properties.NetworkSecurityGroup.ID
	}
	for _, bp := range primary.Properties.LoadBalancerBackendAddressPools {
		spec.BackendPools = append(spec.BackendPools, bp.ID)
	}
	var out []Instance
	for i := 0; i < n; i++ {
		num := props.NextInstanceID
		props.NextInstanceID++
		id := vmss.ID + "/virtualMachines/" + strconv.Itoa(num)
		ip, podIPs, err := p.net.CreateInstanceNIC(tx, id, spec, pool, vmss.Location)
		if err != nil {
			return nil, err
		}
		inst := Instance{ID: id, InstanceID: num, ComputerName: ComputerName(props.VirtualMachineProfile.OSProfile.ComputerNamePrefix, num),
			PrivateIP: ip, PodIPs: podIPs}
		state := InstanceState{PowerState: "running", PrivateIP: ip.String()}
		for _, a := range podIPs {
			state.PodIPs = append(state.PodIPs, a.String())
		}
		if len(vmss.Zones) > 0 {
			state.Zone = vmss.Zones[num%len(vmss.Zones)]
		}
		if before != nil {
			if err := before(&inst, &state); err != nil {
				return nil, err
			}
		}
		if err := p.putInstance(tx, vmss, props, sku, inst, state); err != nil {
			return nil, err
		}
		out = append(out, inst)
	}
	raw, err := json.Marshal(props)
	if err != nil {
		return nil, err
	}
	vmss.Properties = raw
	return out, nil
}

func lastSegment(id string) string { return id[strings.LastIndex(id, "/")+1:] }

func (p *Provider) putInstance(tx store.Tx, vmss *store.Resource, props *ScaleSetProperties, sku *SKU, inst Instance, state InstanceState) error {
	os := props.VirtualMachineProfile.OSProfile
	ip := InstanceProperties{
		LatestModelApplied: true, ModelDefinitionApplied: "VirtualMachineScaleSet", VMID: uuid.NewString(),
		OSProfile: InstanceOS{ComputerName: inst.ComputerName, AdminUsername: os.AdminUsername, Linux: os.LinuxConfiguration,
			Secrets: []any{}, AllowExt: os.AllowExtensionOperations},
		ProvisioningState: "Succeeded", TimeCreated: p.now().UTC(), Localaks: state,
	}
	ip.HardwareProfile, _ = json.Marshal(map[string]string{"vmSize": sku.Name})
	storage, err := instanceStorage(props.VirtualMachineProfile.StorageProfile, vmss, inst.InstanceID)
	if err != nil {
		return err
	}
	ip.StorageProfile = storage
	for _, nc := range props.VirtualMachineProfile.NetworkProfile.NetworkInterfaceConfigurations {
		ip.NetworkProfile.NetworkInterfaces = append(ip.NetworkProfile.NetworkInterfaces, struct {
			ID string `json:"id"`
		}{network.InstanceNICID(inst.ID, nc.Name)})
	}
	raw, err := json.Marshal(ip)
	if err != nil {
		return err
	}
	skuRaw, _ := json.Marshal(SKU{Name: sku.Name, Tier: sku.Tier})
	r := &store.Resource{ID: inst.ID, Type: InstanceType, Name: strconv.Itoa(inst.InstanceID), Location: vmss.Location,
		SKU: skuRaw, Properties: raw, Tags: vmss.Tags}
	if state.Zone != "" {
		r.Zones = []string{state.Zone}
	}
	return tx.Put(r)
}

// instanceStorage gives an instance its OS disk: the model's, named as
// Azure names scale-set OS disks ({vmss}_{instance}_{32 hex}). A model
// without a storage profile gives one with just that disk.
func instanceStorage(model json.RawMessage, vmss *store.Resource, n int) (json.RawMessage, error) {
	var sp map[string]any
	if len(model) > 0 {
		if err := json.Unmarshal(model, &sp); err != nil {
			return nil, fmt.Errorf("decode storageProfile of %s: %w", vmss.ID, err)
		}
	}
	if sp == nil {
		sp = map[string]any{}
	}
	disk, _ := sp["osDisk"].(map[string]any)
	if disk == nil {
		disk = map[string]any{}
	}
	disk["name"] = fmt.Sprintf("%s_%d_%s", vmss.Name, n, strings.ReplaceAll(uuid.NewString(), "-", ""))
	sp["osDisk"] = disk
	return json.Marshal(sp)
}

// RemoveInstances deletes instances (and their NICs) from a scale set.
func (p *Provider) RemoveInstances(tx store.Tx, vmssID string, ids []int) error {
	for _, n := range ids {
		if _, err := tx.Delete(vmssID + "/virtualMachines/" + strconv.Itoa(n)); err != nil {
			return err
		}
	}
	return nil
}

// Instances lists a scale set's instance records with their state.
func (p *Provider) Instances(tx store.Tx, vmssID string) ([]*store.Resource, []InstanceProperties, error) {
	rs, err := tx.List(store.Query{Parent: vmssID, Type: InstanceType})
	if err != nil {
		return nil, nil, err
	}
	sort.Slice(rs, func(i, j int) bool { return atoi(rs[i].Name) < atoi(rs[j].Name) })
	props := make([]InstanceProperties, len(rs))
	for i, r := range rs {
		if err := json.Unmarshal(r.Properties, &props[i]); err != nil {
			return nil, nil, err
		}
	}
	return rs, props, nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// SetPowerState sets every instance's power state (running, stopped,
// deallocated), as AKS stop and start do.
func (p *Provider) SetPowerState(tx store.Tx, vmssID, state string) error {
	rs, props, err := p.Instances(tx, vmssID)
	if err != nil {
		return err
	}
	for i, r := range rs {
		if props[i].Localaks.PowerState == state {
			continue
		}
		props[i].Localaks.PowerState = state
		raw, err := json.Marshal(props[i])
		if err != nil {
			return err
		}
		r.Properties = raw
		if err := tx.Put(r); err != nil {
			return err
		}
	}
	return nil
}

func (p *Provider) renderScaleSet(tx store.Tx, req *arm.Request, r *store.Resource) (any, error) {
	var props map[string]any
	if err := json.Unmarshal(r.Properties, &props); err != nil {
		return nil, err
	}
	delete(props, "localaksNextInstanceId")
	return p.ScaleSets.Envelope(r, props), nil
}

func (p *Provider) renderInstance(tx store.Tx, req *arm.Request, r *store.Resource) (any, error) {
	var props map[string]any
	if err := json.Unmarshal(r.Properties, &props); err != nil {
		return nil, err
	}
	delete(props, "localaks")
	body := p.InstanceType.Envelope(r, props)
	return struct {
		*arm.Body
		InstanceID string `json:"instanceId"`
	}{body, r.Name}, nil
}

// instanceView serves GET {instance}/instanceView.
func (p *Provider) instanceView(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var view map[string]any
	err := p.store.View(ctx, func(tx store.Tx) error {
		r, err := p.InstanceType.Load(tx, req.Route.ID)
		if err != nil {
			return err
		}
		var props InstanceProperties
		if err := json.Unmarshal(r.Properties, &props); err != nil {
			return err
		}
		power := map[string]string{"running": "VM running", "stopped": "VM stopped", "deallocated": "VM deallocated"}
		view = map[string]any{
			"computerName": props.OSProfile.ComputerName, "osName": "ubuntu", "osVersion": "22.04",
			"statuses": []map[string]any{
				{"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "time": props.TimeCreated},
				{"code": "PowerState/" + props.Localaks.PowerState, "level": "Info", "displayStatus": power[props.Localaks.PowerState]},
			},
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(view), nil
}

// powerAction serves start, deallocate and powerOff: they apply to every
// instance (or those in "instanceIds").
func (p *Provider) powerAction(state string) arm.HandlerFunc {
	return func(ctx context.Context, req *arm.Request) (*arm.Response, error) {
		err := p.store.Update(ctx, func(tx store.Tx) error {
			if _, err := p.ScaleSets.Load(tx, req.Route.ID); err != nil {
				return err
			}
			return p.SetPowerState(tx, req.Route.ID.String(), state)
		})
		if err != nil {
			return nil, err
		}
		return &arm.Response{Status: http.StatusOK}, nil
	}
}

// deleteInstancesAction serves POST {vmss}/delete {"instanceIds": [...]}.
func (p *Provider) deleteInstancesAction(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var in struct {
		InstanceIDs []string `json:"instanceIds"`
	}
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	if p.Owned != nil && len(in.InstanceIDs) > 0 {
		if resp, handled, err := p.Owned(ctx, req, req.Route.ID.String(), OwnedChange{InstanceIDs: in.InstanceIDs}); handled || err != nil {
			return resp, err
		}
	}
	err := p.store.Update(ctx, func(tx store.Tx) error {
		vmss, err := p.ScaleSets.Load(tx, req.Route.ID)
		if err != nil {
			return err
		}
		var ids []int
		for _, s := range in.InstanceIDs {
			n, err := strconv.Atoi(s)
			if err != nil {
				return arm.Errorf(http.StatusBadRequest, "InvalidParameter", "Instance ID %q is not valid.", s).WithTarget("instanceIds")
			}
			ids = append(ids, n)
		}
		if err := p.RemoveInstances(tx, vmss.ID, ids); err != nil {
			return err
		}
		left, err := p.InstanceIDs(tx, vmss.ID)
		if err != nil {
			return err
		}
		_, sku, err := decodeSet(vmss)
		if err != nil {
			return err
		}
		c := len(left)
		sku.Capacity = &c
		vmss.SKU, _ = json.Marshal(sku)
		return tx.Put(vmss)
	})
	if err != nil {
		return nil, err
	}
	return &arm.Response{Status: http.StatusOK}, nil
}

// modelPools are the backend pools of the model's primary IP
// configuration, which every instance's primary NIC should be in.
func modelPools(props *ScaleSetProperties) (nicName string, pools []string) {
	np := props.VirtualMachineProfile.NetworkProfile
	if np == nil || len(np.NetworkInterfaceConfigurations) == 0 {
		return "", nil
	}
	nic := np.NetworkInterfaceConfigurations[0]
	pools = []string{}
	for _, bp := range nic.Properties.IPConfigurations[0].Properties.LoadBalancerBackendAddressPools {
		pools = append(pools, bp.ID)
	}
	return nic.Name, pools
}

// markModelChanges marks instances whose NIC no longer matches the model's
// backend pools as not on the latest model (upgrade policy Manual: they
// take it with manualupgrade, as cloud-provider-azure calls it).
func (p *Provider) markModelChanges(tx store.Tx, vmssID string, props *ScaleSetProperties) error {
	nicName, pools := modelPools(props)
	recs, insts, err := p.Instances(tx, vmssID)
	if err != nil {
		return err
	}
	for i, r := range recs {
		have, err := p.net.NICBackendPools(tx, network.InstanceNICID(r.ID, nicName), nil)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			return err
		}
		latest := samePools(have, pools)
		if insts[i].LatestModelApplied == latest {
			continue
		}
		insts[i].LatestModelApplied = latest
		if r.Properties, err = json.Marshal(insts[i]); err != nil {
			return err
		}
		if err := tx.Put(r); err != nil {
			return err
		}
	}
	return nil
}

func samePools(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}

// manualUpgrade brings instances to the scale set's model: their primary
// NIC joins exactly the model's backend pools.
func (p *Provider) manualUpgrade(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var in struct {
		InstanceIDs []string `json:"instanceIds"`
	}
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	if len(in.InstanceIDs) == 0 {
		return nil, arm.Errorf(http.StatusBadRequest, "InvalidParameter", "Required parameter 'instanceIds' is missing (null).").WithTarget("instanceIds")
	}
	err := p.store.Update(ctx, func(tx store.Tx) error {
		vmss, err := p.ScaleSets.Load(tx, req.Route.ID)
		if err != nil {
			return err
		}
		props, _, err := decodeSet(vmss)
		if err != nil {
			return err
		}
		nicName, pools := modelPools(props)
		for _, s := range in.InstanceIDs {
			id := vmss.ID + "/virtualMachines/" + s
			r, err := tx.Get(id)
			if errors.Is(err, store.ErrNotFound) {
				return arm.Errorf(http.StatusBadRequest, "InvalidParameter", "The instance ID %s is not in scale set %s.", s, vmss.Name).WithTarget("instanceIds")
			} else if err != nil {
				return err
			}
			if _, err := p.net.NICBackendPools(tx, network.InstanceNICID(id, nicName), pools); err != nil {
				return err
			}
			var ip InstanceProperties
			if err := json.Unmarshal(r.Properties, &ip); err != nil {
				return err
			}
			ip.LatestModelApplied = true
			if r.Properties, err = json.Marshal(ip); err != nil {
				return err
			}
			if err := tx.Put(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &arm.Response{Status: http.StatusOK}, nil
}
