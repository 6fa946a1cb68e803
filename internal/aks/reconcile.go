package aks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/google/uuid"

	"github.com/localaks/localaks/internal/agicconfig"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/failpoint"
	"github.com/localaks/localaks/internal/ipam"
	"github.com/localaks/localaks/internal/provider/compute"
	"github.com/localaks/localaks/internal/provider/managedidentity"
	"github.com/localaks/localaks/internal/provider/network"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
	"github.com/localaks/localaks/internal/vmsizes"
)

// ControlPlane runs clusters' Kubernetes control planes; the pipelines'
// last steps call it. Nil means clusters have no control plane (their ARM
// view is complete without one).
type ControlPlane interface {
	// Apply starts (or keeps running) a cluster's control plane and makes
	// its nodes what spec says, returning once they are Ready (and the
	// nodes in spec.Drain drained).
	Apply(ctx context.Context, spec *clusterspec.Spec) error
	// Stop stops it, keeping its data; uid is the cluster's resourceUID.
	Stop(ctx context.Context, uid string) error
	// Delete stops it and removes its data.
	Delete(ctx context.Context, uid string) error
	// Rotate stops it and replaces the secrets named; the next Apply
	// starts it with the new ones.
	Rotate(ctx context.Context, uid string, what clusterspec.Rotation) error
}

// Reconciler makes a cluster's node resource group (and control plane)
// match the cluster's spec, as ordered idempotent steps, each in its own
// transaction: a step interrupted by a crash is simply run again.
type Reconciler struct {
	Store        store.Store
	Net          *network.Provider
	Compute      *compute.Provider
	Identity     *managedidentity.Provider
	ControlPlane ControlPlane
	Log          *slog.Logger
}

// step is one named step of a pipeline.
type step struct {
	name string
	run  func(tx store.Tx, s *state) error
}

// state is a cluster and its pools as one step sees them.
type state struct {
	c     *Cluster
	pools []*Pool
	sub   string
	rg    string // node resource group name
	// dirty marks that the step changed the cluster record.
	dirty bool
	// trimmed are managed IPs to delete once the load balancer is written.
	trimmed []string
}

func (r *Reconciler) run(ctx context.Context, clusterID string, steps []step) error {
	for _, st := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := r.Store.Update(ctx, func(tx store.Tx) error {
			c, pools, err := Load(tx, clusterID)
			if err != nil {
				return err
			}
			id := resourceid.MustParse(c.Record.ID)
			s := &state{c: c, pools: pools, sub: id.SubscriptionID(), rg: c.Props.NodeResourceGroup}
			if err := st.run(tx, s); err != nil {
				return err
			}
			if s.dirty {
				if err := c.Encode(); err != nil {
					return err
				}
				return tx.Put(c.Record)
			}
			return nil
		})
		if err != nil {
			var armErr *arm.Error
			if errors.As(err, &armErr) {
				return err
			}
			return fmt.Errorf("%s: %w", st.name, err)
		}
		r.Log.Debug("cluster step done", "cluster", clusterID, "step", st.name)
		failpoint.Hit("aks:after:" + st.name)
	}
	return nil
}

// Reconcile creates or updates everything the cluster consists of: node
// resource group, identity, network, outbound, scale sets per pool, and the
// control plane.
func (r *Reconciler) Reconcile(ctx context.Context, clusterID string) error {
	steps := []step{
		{"node resource group", r.ensureNodeRG},
		{"node resource group lockdown", r.ensureLockdown},
		{"kubelet identity", r.ensureKubeletIdentity},
		{"add-on identities", r.ensureAddonIdentities},
		{"network security group", r.ensureNSG},
		{"route table", r.ensureRouteTable},
		{"virtual network", r.ensureVNet},
		{"outbound connectivity", r.ensureOutbound},
		{"ingress application gateway", r.ensureAppGateway},
	}
	if r.ControlPlane != nil {
		steps = append(steps, step{"control plane endpoint", r.ensureEndpoint})
	}
	if err := r.run(ctx, clusterID, steps); err != nil {
		return err
	}
	// Nodes leaving (scale-in, deleteMachines) are cordoned and drained
	// before their machines go, as AKS does.
	if err := r.drainLeaving(ctx, clusterID); err != nil {
		return err
	}
	if err := r.run(ctx, clusterID, []step{{"scale sets", r.ensureScaleSets}}); err != nil {
		return err
	}
	return r.applyControlPlane(ctx, clusterID, nil)
}

// applyControlPlane sends the cluster's spec to its control plane and waits
// for it, unless there is none or the cluster is stopped.
func (r *Reconciler) applyControlPlane(ctx context.Context, clusterID string, drain []string) error {
	if r.ControlPlane == nil {
		return nil
	}
	var spec *clusterspec.Spec
	running := true
	err := r.Store.View(ctx, func(tx store.Tx) error {
		c, _, err := Load(tx, clusterID)
		if err != nil {
			return err
		}
		if c.Stopped() {
			running = false
			return nil
		}
		spec, err = r.BuildSpec(tx, clusterID, drain)
		return err
	})
	if err != nil || !running {
		return err
	}
	return r.ControlPlane.Apply(ctx, spec)
}

// Resume starts a running cluster's control plane as the store describes
// it (after serve restarts).
func (r *Reconciler) Resume(ctx context.Context, clusterID string) error {
	return r.applyControlPlane(ctx, clusterID, nil)
}

// drainLeaving drains the nodes the scale sets step will remove.
func (r *Reconciler) drainLeaving(ctx context.Context, clusterID string) error {
	if r.ControlPlane == nil {
		return nil
	}
	var names []string
	err := r.Store.View(ctx, func(tx store.Tx) error {
		c, pools, err := Load(tx, clusterID)
		if err != nil {
			return err
		}
		id := resourceid.MustParse(c.Record.ID)
		s := &state{c: c, pools: pools, sub: id.SubscriptionID(), rg: c.Props.NodeResourceGroup}
		for _, p := range pools {
			leaving, err := r.leavingNodes(tx, s, p)
			if err != nil {
				return err
			}
			names = append(names, leaving...)
		}
		return nil
	})
	if err != nil || len(names) == 0 {
		return err
	}
	return r.applyControlPlane(ctx, clusterID, names)
}

// leavingNodes names a pool's instances the scale sets step removes: the
// machines deleteMachines names, else the newest beyond the pool's count.
func (r *Reconciler) leavingNodes(tx store.Tx, s *state, p *Pool) ([]string, error) {
	id := r.vmssID(s, p)
	if _, err := tx.Get(id); errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if names := p.Props.Localaks.DeleteMachines; len(names) > 0 {
		return names, nil
	}
	_, props, err := r.Compute.Instances(tx, id)
	if err != nil {
		return nil, err
	}
	want := *p.Props.Count
	var out []string
	for i := want; i < len(props); i++ {
		out = append(out, props[i].OSProfile.ComputerName)
	}
	return out, nil
}

// ensureEndpoint gives the cluster its API server's loopback port (unused
// by any other cluster) and advertise address.
func (r *Reconciler) ensureEndpoint(tx store.Tx, s *state) error {
	st := s.c.Props.Localaks
	if st.APIServerPort != 0 && st.AdvertiseAddress != "" && st.CloudClientID != "" {
		return nil
	}
	if st.CloudClientID == "" {
		st.CloudClientID, st.CloudSecret = uuid.NewString(), RandomHex(24)
	}
	if st.AdvertiseAddress == "" {
		st.AdvertiseAddress = advertiseAddress(s.c.Props.ResourceUID)
	}
	if st.APIServerPort == 0 {
		used := map[int]bool{}
		all, err := tx.List(store.Query{Type: ClusterType})
		if err != nil {
			return err
		}
		for _, rec := range all {
			if c, err := DecodeCluster(rec); err == nil && c.Props.Localaks.APIServerPort != 0 {
				used[c.Props.Localaks.APIServerPort] = true
			}
		}
		port, err := freePort(used)
		if err != nil {
			return err
		}
		st.APIServerPort = port
	}
	s.dirty = true
	return nil
}

func (r *Reconciler) ensureNodeRG(tx store.Tx, s *state) error {
	id := resourceid.ResourceGroup(s.sub, s.rg)
	rec, err := tx.Get(id.String())
	if err == nil {
		// It exists (a retry): keep it, refresh tags.
		rec.Tags = nodeRGTags(s.c)
		return tx.Put(rec)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	cid := resourceid.MustParse(s.c.Record.ID)
	return tx.Put(&store.Resource{
		ID: id.String(), Type: "Microsoft.Resources/resourceGroups", Name: s.rg, Location: s.c.Record.Location,
		ManagedBy:  rgResourceID(s.sub, cid.ResourceGroupName(), Namespace, "managedClusters", cid.Name()),
		Tags:       nodeRGTags(s.c),
		Properties: json.RawMessage(`{"provisioningState":"Succeeded"}`),
	})
}

// nodeRGTags are the cluster's tags plus AKS's own.
func nodeRGTags(c *Cluster) map[string]string {
	cid := resourceid.MustParse(c.Record.ID)
	tags := map[string]string{"aks-managed-cluster-name": cid.Name(), "aks-managed-cluster-rg": cid.ResourceGroupName()}
	for k, v := range c.Record.Tags {
		tags[k] = v
	}
	return tags
}

// clusterTags are the tags AKS propagates to node-resource-group resources.
func clusterTags(c *Cluster) map[string]string {
	tags := map[string]string{}
	for k, v := range c.Record.Tags {
		tags[k] = v
	}
	if len(tags) == 0 {
		return nil
	}
	return tags
}

// ensureLockdown keeps the deny assignment of restrictionLevel ReadOnly in
// step with the profile.
func (r *Reconciler) ensureLockdown(tx store.Tx, s *state) error {
	rg := resourceid.ResourceGroup(s.sub, s.rg)
	name := uuid.NewSHA1(uuid.NameSpaceURL, []byte(strings.ToLower(s.c.Record.ID)+"/lockdown")).String()
	id := rg.String() + "/providers/" + arm.DenyAssignmentType + "/" + name
	readOnly := s.c.Props.NodeResourceGroupProfile != nil && s.c.Props.NodeResourceGroupProfile.RestrictionLevel == "ReadOnly"
	if !readOnly {
		_, err := tx.Delete(id)
		return err
	}
	exclude := []arm.DenyPrincipal{}
	var ident struct {
		PrincipalID string `json:"principalId"`
	}
	json.Unmarshal(s.c.Record.Identity, &ident) //nolint:errcheck // clusters without identity exclude none
	if ident.PrincipalID != "" {
		exclude = append(exclude, arm.DenyPrincipal{ID: ident.PrincipalID, Type: "ServicePrincipal"})
	}
	if k := s.c.Props.IdentityProfile["kubeletidentity"]; k != nil && k.ObjectID != "" {
		exclude = append(exclude, arm.DenyPrincipal{ID: k.ObjectID, Type: "ServicePrincipal"})
	}
	props := arm.DenyAssignmentProperties{
		DenyAssignmentName: "AKS Node Resource Group Lockdown " + s.c.Record.Name,
		Description:        "Denies writes to the node resource group of an AKS cluster with restrictionLevel ReadOnly.",
		Permissions:        []arm.DenyPermission{{Actions: []string{"*"}, NotActions: []string{"*/read", "Microsoft.Network/*/join/action"}}},
		Scope:              rg.String(),
		Principals:         []arm.DenyPrincipal{{ID: arm.EveryoneID, Type: "SystemDefined"}},
		ExcludePrincipals:  exclude,
		IsSystemProtected:  true,
	}
	return tx.Put(&store.Resource{ID: id, Type: arm.DenyAssignmentType, Name: name, Properties: mustJSON(props)})
}

func (r *Reconciler) ensureKubeletIdentity(tx store.Tx, s *state) error {
	if s.c.Record.Identity == nil {
		return nil // service principal cluster
	}
	if k := s.c.Props.IdentityProfile["kubeletidentity"]; k != nil && k.ResourceID != "" && !strings.Contains(strings.ToLower(k.ResourceID), strings.ToLower("/resourcegroups/"+s.rg+"/")) {
		return nil // bring-your-own kubelet identity
	}
	name := kubeletIdentityName(s.c.Record.Name)
	id := resourceid.ResourceGroup(s.sub, s.rg).Child(managedidentity.Namespace, "userAssignedIdentities", name)
	props, err := r.Identity.Ensure(tx, &store.Resource{ID: id.String(), Name: name, Location: s.c.Record.Location, Tags: clusterTags(s.c)})
	if err != nil {
		return err
	}
	if s.c.Props.IdentityProfile == nil {
		s.c.Props.IdentityProfile = map[string]*UserAssignedIdentity{}
	}
	s.c.Props.IdentityProfile["kubeletidentity"] = &UserAssignedIdentity{
		ResourceID: rgResourceID(s.sub, s.rg, managedidentity.Namespace, "userAssignedIdentities", name),
		ClientID:   props.ClientID, ObjectID: props.PrincipalID,
	}
	s.c.Props.Localaks.KubeletIdentity = id.String()
	s.dirty = true
	return nil
}

// appRoutingIdentityName is the application routing add-on's identity in
// the node resource group.
func appRoutingIdentityName(cluster string) string { return "webapprouting-" + cluster }

// ensureAddonIdentities creates the identities of enabled add-ons in the
// node resource group (and removes those of disabled ones), and shows them
// on the cluster, as AKS does.
func (r *Reconciler) ensureAddonIdentities(tx store.Tx, s *state) error {
	name := appRoutingIdentityName(s.c.Record.Name)
	id := resourceid.ResourceGroup(s.sub, s.rg).Child(managedidentity.Namespace, "userAssignedIdentities", name)
	if !s.c.Props.AppRoutingEnabled() {
		if s.c.Props.IngressProfile != nil && s.c.Props.IngressProfile.WebAppRouting != nil && s.c.Props.IngressProfile.WebAppRouting.Identity != nil {
			s.c.Props.IngressProfile.WebAppRouting.Identity = nil
			s.dirty = true
		}
		if _, err := tx.Delete(id.String()); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	}
	props, err := r.Identity.Ensure(tx, &store.Resource{ID: id.String(), Name: name, Location: s.c.Record.Location, Tags: clusterTags(s.c)})
	if err != nil {
		return err
	}
	want := &UserAssignedIdentity{ResourceID: rgResourceID(s.sub, s.rg, managedidentity.Namespace, "userAssignedIdentities", name),
		ClientID: props.ClientID, ObjectID: props.PrincipalID}
	w := s.c.Props.IngressProfile.WebAppRouting
	if cur := w.Identity; cur == nil || *cur != *want {
		w.Identity = want
		s.dirty = true
	}
	if w.Nginx == nil || w.Nginx.DefaultIngressControllerType == "" {
		w.Nginx = &WebAppRoutingNginx{DefaultIngressControllerType: "AnnotationControlled"}
		s.dirty = true
	}
	return nil
}

// agicIdentityName is the AGIC add-on's identity in the node resource group.
func agicIdentityName(cluster string) string { return "ingressapplicationgateway-" + cluster }

// ensureAppGateway sets up the Application Gateway Ingress Controller
// add-on: its identity, and unless the user brought a gateway
// (applicationGatewayId), a Standard_v2 gateway in the node resource group
// with its subnet in the cluster's virtual network and a public IP
// `{name}-appgwpip`, configured as AGIC configures an empty gateway.
// Disabling the add-on removes the identity; the gateway stays, as in AKS.
func (r *Reconciler) ensureAppGateway(tx store.Tx, s *state) error {
	_, a := s.c.Props.Addon(AGICAddon)
	name := agicIdentityName(s.c.Record.Name)
	identityID := resourceid.ResourceGroup(s.sub, s.rg).Child(managedidentity.Namespace, "userAssignedIdentities", name)
	if a == nil || !a.Enabled {
		if a != nil && (a.Identity != nil || a.Config["effectiveApplicationGatewayId"] != "") {
			a.Identity = nil
			delete(a.Config, "effectiveApplicationGatewayId")
			s.dirty = true
		}
		if _, err := tx.Delete(identityID.String()); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	}
	props, err := r.Identity.Ensure(tx, &store.Resource{ID: identityID.String(), Name: name, Location: s.c.Record.Location, Tags: clusterTags(s.c)})
	if err != nil {
		return err
	}
	a.Identity = &UserAssignedIdentity{ResourceID: rgResourceID(s.sub, s.rg, managedidentity.Namespace, "userAssignedIdentities", name),
		ClientID: props.ClientID, ObjectID: props.PrincipalID}
	if a.Config == nil {
		a.Config = map[string]string{}
	}
	cfg := map[string]string{}
	for k, v := range a.Config {
		cfg[strings.ToLower(k)] = v
	}
	s.dirty = true
	if id := cfg["applicationgatewayid"]; id != "" {
		a.Config["effectiveApplicationGatewayId"] = id
		return nil
	}
	gwName := cfg["applicationgatewayname"]
	gwID := resourceid.ResourceGroup(s.sub, s.rg).Child(network.Namespace, "applicationGateways", gwName)
	a.Config["effectiveApplicationGatewayId"] = gwID.String()
	if _, err := tx.Get(gwID.String()); err == nil {
		return nil // made earlier; AGIC owns its configuration now
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	subnet := cfg["subnetid"]
	if subnet == "" {
		cidr := cfg["subnetcidr"]
		if cidr == "" {
			cidr = defaultAGICSubnetCIDR
		}
		vnet := resourceid.MustParse(s.c.Props.Localaks.VNetSubnetID).Parent().String()
		if subnet, err = r.ensureSubnet(tx, vnet, agicSubnetName, cidr); err != nil {
			return err
		}
	}
	pipID := resourceid.ResourceGroup(s.sub, s.rg).Child(network.Namespace, "publicIPAddresses", gwName+"-appgwpip")
	if _, err := tx.Get(pipID.String()); errors.Is(err, store.ErrNotFound) {
		if err := save(tx, r.Net.PublicIPs, &store.Resource{ID: pipID.String(), Type: network.PublicIPType, Name: pipID.Name(),
			Location: s.c.Record.Location, Tags: clusterTags(s.c), SKU: json.RawMessage(`{"name":"Standard","tier":"Regional"}`),
			Properties: json.RawMessage(`{"publicIPAllocationMethod":"Static","publicIPAddressVersion":"IPv4"}`)}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	gwProps := agicconfig.Build(agicconfig.Gateway{ID: gwID.String(), SubnetID: subnet, PublicIPID: pipID.String()}, nil)
	gwProps["sku"] = map[string]any{"name": "Standard_v2", "tier": "Standard_v2", "capacity": 2}
	return save(tx, r.Net.ApplicationGateways, &store.Resource{ID: gwID.String(), Type: network.ApplicationGatewayType, Name: gwName,
		Location: s.c.Record.Location, Tags: clusterTags(s.c), Properties: mustJSON(gwProps)})
}

// ensureSubnet adds a subnet to a virtual network unless it is there, and
// returns its ID.
func (r *Reconciler) ensureSubnet(tx store.Tx, vnetID, name, prefix string) (string, error) {
	vnet, err := tx.Get(vnetID)
	if err != nil {
		return "", err
	}
	subnets, err := arm.ChildrenOf(vnet, "subnets", "")
	if err != nil {
		return "", err
	}
	for _, c := range subnets {
		if strings.EqualFold(c.Name, name) {
			return vnetID + "/subnets/" + c.Name, nil
		}
	}
	subnets = append(subnets, arm.Child{Name: name, Properties: mustJSON(map[string]any{"addressPrefix": prefix})})
	if err := arm.SetChildren(vnet, "subnets", subnets); err != nil {
		return "", err
	}
	existing, err := tx.Get(vnetID)
	if err != nil {
		return "", err
	}
	if err := r.Net.VirtualNetworks.Save(context.Background(), tx, nil, vnet, existing); err != nil {
		return "", err
	}
	return vnetID + "/subnets/" + name, nil
}

// save writes a node-resource-group resource through its type's Prepare
// (so it gets the same defaults and checks as a user's PUT), creating or
// updating.
func save(tx store.Tx, t *arm.Tracked, rec *store.Resource) error {
	existing, err := tx.Get(rec.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return t.Save(context.Background(), tx, nil, rec, existing)
}

func (r *Reconciler) ensureNSG(tx store.Tx, s *state) error {
	id := resourceid.ResourceGroup(s.sub, s.rg).Child(network.Namespace, "networkSecurityGroups", nsgName(s.c.Props.Localaks.ID))
	if _, err := tx.Get(id.String()); errors.Is(err, store.ErrNotFound) {
		if err := save(tx, r.Net.NSGs, &store.Resource{ID: id.String(), Type: network.NSGType, Name: id.Name(),
			Location: s.c.Record.Location, Tags: clusterTags(s.c), Properties: json.RawMessage(`{"securityRules":[]}`)}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	s.c.Props.Localaks.NSG = id.String()
	s.dirty = true
	return nil
}

func (r *Reconciler) ensureRouteTable(tx store.Tx, s *state) error {
	if modelOf(s.c.Props.NetworkProfile) != modelKubenet {
		return nil
	}
	id := resourceid.ResourceGroup(s.sub, s.rg).Child(network.Namespace, "routeTables", routeTableName(s.c.Props.Localaks.ID))
	if _, err := tx.Get(id.String()); errors.Is(err, store.ErrNotFound) {
		if err := save(tx, r.Net.RouteTables, &store.Resource{ID: id.String(), Type: network.RouteTableType, Name: id.Name(),
			Location: s.c.Record.Location, Tags: clusterTags(s.c), Properties: json.RawMessage(`{"routes":[],"disableBgpRoutePropagation":false}`)}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	s.c.Props.Localaks.RouteTable = id.String()
	s.dirty = true
	return nil
}

// ensureVNet creates the managed VNet (aks-vnet-{id} with aks-subnet) when
// the pools have no subnet of their own; with a custom subnet and kubenet,
// it associates the route table with the subnet if it has none.
func (r *Reconciler) ensureVNet(tx store.Tx, s *state) error {
	byo := ""
	for _, p := range s.pools {
		if p.Props.VnetSubnetID != "" {
			byo = p.Props.VnetSubnetID
			break
		}
	}
	if byo != "" {
		s.c.Props.Localaks.VNetSubnetID = byo
		s.dirty = true
		if rt := s.c.Props.Localaks.RouteTable; rt != "" {
			for _, p := range s.pools {
				if err := r.associateRouteTable(tx, p.Props.VnetSubnetID, rt); err != nil {
					return err
				}
			}
		}
		return nil
	}
	id := resourceid.ResourceGroup(s.sub, s.rg).Child(network.Namespace, "virtualNetworks", vnetName(s.c.Props.Localaks.ID))
	subnet := map[string]any{"addressPrefix": managedSubnetPrefix}
	if s.c.Props.Localaks.NSG != "" {
		subnet["networkSecurityGroup"] = map[string]string{"id": s.c.Props.Localaks.NSG}
	}
	if s.c.Props.Localaks.RouteTable != "" {
		subnet["routeTable"] = map[string]string{"id": s.c.Props.Localaks.RouteTable}
	}
	props := map[string]any{
		"addressSpace": map[string]any{"addressPrefixes": []string{managedVNetPrefix}},
		"subnets":      []any{map[string]any{"name": managedSubnetName, "properties": subnet}},
	}
	if _, err := tx.Get(id.String()); errors.Is(err, store.ErrNotFound) {
		if err := save(tx, r.Net.VirtualNetworks, &store.Resource{ID: id.String(), Type: network.VirtualNetworkType, Name: id.Name(),
			Location: s.c.Record.Location, Tags: clusterTags(s.c), Properties: mustJSON(props)}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	s.c.Props.Localaks.VNetSubnetID = id.String() + "/subnets/" + managedSubnetName
	s.dirty = true
	return nil
}

// associateRouteTable puts the route table on a subnet that has none (AKS
// does this for kubenet clusters in a custom subnet).
func (r *Reconciler) associateRouteTable(tx store.Tx, subnetID, routeTable string) error {
	sid := resourceid.MustParse(subnetID)
	vnet, err := tx.Get(sid.Parent().String())
	if err != nil {
		return err
	}
	subnets, err := arm.ChildrenOf(vnet, "subnets", "")
	if err != nil {
		return err
	}
	for i, c := range subnets {
		if !strings.EqualFold(c.Name, sid.Name()) {
			continue
		}
		var props map[string]any
		if err := json.Unmarshal(c.Properties, &props); err != nil {
			return err
		}
		if _, has := props["routeTable"]; has {
			return nil
		}
		props["routeTable"] = map[string]string{"id": routeTable}
		subnets[i].Properties = mustJSON(props)
		if err := arm.SetChildren(vnet, "subnets", subnets); err != nil {
			return err
		}
		return tx.Put(vnet)
	}
	return nil
}

// dissociateRouteTable removes the cluster's route table from custom
// subnets before the node resource group goes.
func (r *Reconciler) dissociateRouteTable(tx store.Tx, subnetID, routeTable string) error {
	sid, err := resourceid.Parse(subnetID)
	if err != nil {
		return nil
	}
	vnet, err := tx.Get(sid.Parent().String())
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	subnets, err := arm.ChildrenOf(vnet, "subnets", "")
	if err != nil {
		return err
	}
	changed := false
	for i, c := range subnets {
		var props map[string]any
		if err := json.Unmarshal(c.Properties, &props); err != nil {
			return err
		}
		if rt, ok := props["routeTable"].(map[string]any); ok && strings.EqualFold(fmt.Sprint(rt["id"]), routeTable) {
			delete(props, "routeTable")
			subnets[i].Properties = mustJSON(props)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	if err := arm.SetChildren(vnet, "subnets", subnets); err != nil {
		return err
	}
	return tx.Put(vnet)
}

// ensureOutbound creates the outbound path: for outboundType loadBalancer
// (standard SKU) the managed public IPs and the "kubernetes" load balancer
// with its two backend pools and outbound rule; for managedNATGateway a NAT
// gateway on the managed subnet.
func (r *Reconciler) ensureOutbound(tx store.Tx, s *state) error {
	np := s.c.Props.NetworkProfile
	rg := resourceid.ResourceGroup(s.sub, s.rg)
	switch {
	case np.OutboundType == "loadBalancer" && np.LoadBalancerSKU == "standard":
		lp := np.LoadBalancerProfile
		var pipIDs []string
		if lp.ManagedOutboundIPs != nil && lp.ManagedOutboundIPs.Count != nil {
			for i := 0; i < *lp.ManagedOutboundIPs.Count; i++ {
				id, err := r.ensureManagedIP(tx, s, i, "aks-slb-managed-outbound-ip")
				if err != nil {
					return err
				}
				pipIDs = append(pipIDs, id)
			}
			if err := r.trimManagedIPs(tx, s, *lp.ManagedOutboundIPs.Count, "aks-slb-managed-outbound-ip"); err != nil {
				return err
			}
		}
		if lp.OutboundIPs != nil {
			for _, ref := range lp.OutboundIPs.PublicIPs {
				pipIDs = append(pipIDs, ref.ID)
			}
		}
		lbID := rg.Child(network.Namespace, "loadBalancers", lbName)
		if err := r.ensureLoadBalancer(tx, s, lbID.String(), pipIDs); err != nil {
			return err
		}
		lp.EffectiveOutboundIPs = nil
		for _, id := range pipIDs {
			pid := resourceid.MustParse(id)
			lp.EffectiveOutboundIPs = append(lp.EffectiveOutboundIPs, ResourceReference{
				ID: rgResourceID(pid.SubscriptionID(), pid.ResourceGroupName(), network.Namespace, "publicIPAddresses", pid.Name())})
		}
		s.dirty = true
	case np.OutboundType == "managedNATGateway":
		count := intv(np.NATGatewayProfile.ManagedOutboundIPProfile.Count, 1)
		var pips []network.SubResource
		for i := 0; i < count; i++ {
			id, err := r.ensureManagedIP(tx, s, i, "aks-natgw-managed-outbound-ip")
			if err != nil {
				return err
			}
			pips = append(pips, network.SubResource{ID: id})
		}
		natID := rg.Child(network.Namespace, "natGateways", natGatewayName)
		props := map[string]any{"idleTimeoutInMinutes": intv(np.NATGatewayProfile.IdleTimeoutInMinutes, 4), "publicIpAddresses": pips}
		if err := save(tx, r.Net.NATGateways, &store.Resource{ID: natID.String(), Type: network.NATGatewayType, Name: natGatewayName,
			Location: s.c.Record.Location, Tags: clusterTags(s.c), SKU: json.RawMessage(`{"name":"Standard"}`), Properties: mustJSON(props)}); err != nil {
			return err
		}
		np.NATGatewayProfile.EffectiveOutboundIPs = nil
		for _, p := range pips {
			np.NATGatewayProfile.EffectiveOutboundIPs = append(np.NATGatewayProfile.EffectiveOutboundIPs, ResourceReference{ID: p.ID})
		}
		s.dirty = true
		return r.attachNATGateway(tx, s, natID.String())
	}
	return nil
}

// natGatewayName is the managed NAT gateway's name. [Unverified: AKS's
// exact name is not documented; chosen and noted in the README.]
const natGatewayName = "aks-natgateway"

// attachNATGateway sets the NAT gateway on the managed subnet.
func (r *Reconciler) attachNATGateway(tx store.Tx, s *state, natID string) error {
	sid := resourceid.MustParse(s.c.Props.Localaks.VNetSubnetID)
	vnet, err := tx.Get(sid.Parent().String())
	if err != nil {
		return err
	}
	subnets, err := arm.ChildrenOf(vnet, "subnets", "")
	if err != nil {
		return err
	}
	for i, c := range subnets {
		if strings.EqualFold(c.Name, sid.Name()) {
			var props map[string]any
			json.Unmarshal(c.Properties, &props) //nolint:errcheck // stored by us
			props["natGateway"] = map[string]string{"id": natID}
			subnets[i].Properties = mustJSON(props)
		}
	}
	if err := arm.SetChildren(vnet, "subnets", subnets); err != nil {
		return err
	}
	return tx.Put(vnet)
}

// managedIPName is the i-th managed outbound IP's name: a GUID, stable for
// the cluster, so a retried step finds the IP it made.
func managedIPName(c *Cluster, kind string, i int) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte(fmt.Sprintf("%s/%s/%d", strings.ToLower(c.Record.ID), kind, i))).String()
}

func (r *Reconciler) ensureManagedIP(tx store.Tx, s *state, i int, kind string) (string, error) {
	name := managedIPName(s.c, kind, i)
	id := resourceid.ResourceGroup(s.sub, s.rg).Child(network.Namespace, "publicIPAddresses", name)
	if _, err := tx.Get(id.String()); err == nil {
		return id.String(), nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	tags := nodeRGTags(s.c)
	tags["aks-managed-type"] = kind
	rec := &store.Resource{ID: id.String(), Type: network.PublicIPType, Name: name, Location: s.c.Record.Location, Tags: tags,
		SKU: json.RawMessage(`{"name":"Standard","tier":"Regional"}`), Properties: json.RawMessage(`{"publicIPAllocationMethod":"Static","publicIPAddressVersion":"IPv4"}`)}
	if err := save(tx, r.Net.PublicIPs, rec); err != nil {
		return "", err
	}
	return id.String(), nil
}

// trimManagedIPs deletes managed outbound IPs beyond count (after a scale
// down of managedOutboundIPs.count; the load balancer no longer uses them).
func (r *Reconciler) trimManagedIPs(tx store.Tx, s *state, count int, kind string) error {
	for i := count; i < count+100; i++ {
		id := resourceid.ResourceGroup(s.sub, s.rg).Child(network.Namespace, "publicIPAddresses", managedIPName(s.c, kind, i))
		if _, err := tx.Get(id.String()); errors.Is(err, store.ErrNotFound) {
			return nil
		}
		s.trimmed = append(s.trimmed, id.String())
	}
	return nil
}

func (r *Reconciler) ensureLoadBalancer(tx store.Tx, s *state, lbID string, pipIDs []string) error {
	lp := s.c.Props.NetworkProfile.LoadBalancerProfile
	var frontends, outboundFrontends []map[string]any
	for _, pip := range pipIDs {
		name := resourceid.MustParse(pip).Name()
		frontends = append(frontends, map[string]any{"name": name, "properties": map[string]any{"publicIPAddress": map[string]string{"id": pip}}})
		outboundFrontends = append(outboundFrontends, map[string]any{"id": lbID + "/frontendIPConfigurations/" + name})
	}
	props := map[string]any{
		"frontendIPConfigurations": frontends,
		"backendAddressPools": []any{
			map[string]any{"name": lbBackendPool, "properties": map[string]any{}},
			map[string]any{"name": lbOutboundPool, "properties": map[string]any{}},
		},
		"loadBalancingRules": []any{},
		"probes":             []any{},
		"outboundRules": []any{map[string]any{"name": lbOutboundRule, "properties": map[string]any{
			"allocatedOutboundPorts":   intv(lp.AllocatedOutboundPorts, 0),
			"protocol":                 "All",
			"enableTcpReset":           true,
			"idleTimeoutInMinutes":     intv(lp.IdleTimeoutInMinutes, 30),
			"backendAddressPool":       map[string]string{"id": lbID + "/backendAddressPools/" + lbOutboundPool},
			"frontendIPConfigurations": outboundFrontends,
		}}},
	}
	existing, err := tx.Get(lbID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if existing != nil {
		// Keep what Services added (rules, probes, their frontends).
		var cur map[string]json.RawMessage
		json.Unmarshal(existing.Properties, &cur) //nolint:errcheck // stored by us
		for _, k := range []string{"loadBalancingRules", "probes", "inboundNatRules"} {
			if v, ok := cur[k]; ok {
				props[k] = v
			}
		}
		fes, err := arm.ChildrenOf(existing, "frontendIPConfigurations", "")
		if err != nil {
			return err
		}
		managed := map[string]bool{}
		for _, f := range frontends {
			managed[strings.ToLower(f["name"].(string))] = true
		}
		for _, f := range fes {
			if !managed[strings.ToLower(f.Name)] && !isManagedOutboundName(f.Name) {
				frontends = append(frontends, map[string]any{"name": f.Name, "properties": f.Properties})
			}
		}
		props["frontendIPConfigurations"] = frontends
	}
	tags := nodeRGTags(s.c)
	rec := &store.Resource{ID: lbID, Type: network.LoadBalancerType, Name: lbName, Location: s.c.Record.Location, Tags: tags,
		SKU: json.RawMessage(`{"name":"Standard","tier":"Regional"}`), Properties: mustJSON(props)}
	if err := r.Net.LoadBalancers.Save(context.Background(), tx, nil, rec, existing); err != nil {
		return err
	}
	// Managed IPs dropped from the load balancer can go now.
	for _, id := range s.trimmed {
		if _, err := tx.Delete(id); err != nil {
			return err
		}
	}
	s.trimmed = nil
	return nil
}

// isManagedOutboundName reports whether a frontend name is a managed
// outbound IP's GUID (dropped frontends of trimmed IPs).
func isManagedOutboundName(name string) bool {
	// The dashed form only: a Service's frontend (a + 31 hex digits) also
	// parses as a UUID without dashes.
	_, err := uuid.Parse(name)
	return err == nil && len(name) == 36
}

// ensureScaleSets makes each pool's scale set exist with the pool's node
// count, and removes scale sets of pools that are gone.
func (r *Reconciler) ensureScaleSets(tx store.Tx, s *state) error {
	used, err := r.podCIDRsInUse(tx, s)
	if err != nil {
		return err
	}
	for _, p := range s.pools {
		if err := r.ensureScaleSet(tx, s, p, &used); err != nil {
			return err
		}
	}
	return nil
}

// podCIDRsInUse lists the node pod ranges of every pool's instances.
func (r *Reconciler) podCIDRsInUse(tx store.Tx, s *state) ([]netip.Prefix, error) {
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
func (r *Reconciler) ensureScaleSet(tx store.Tx, s *state, p *Pool, used *[]netip.Prefix) error {
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
		if err := r.removeMachines(tx, s, id, names); err != nil {
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
		if err := r.Compute.ScaleSets.Save(context.Background(), tx, nil, rec, nil); err != nil {
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
		if err := r.removeInstances(tx, s, id, current[want:]); err != nil {
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
func (r *Reconciler) removeInstances(tx store.Tx, s *state, vmssID string, ids []int) error {
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
func (r *Reconciler) removeMachines(tx store.Tx, s *state, vmssID string, names []string) error {
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
	return r.removeInstances(tx, s, vmssID, ids)
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

// RemovePool drains a pool's nodes and deletes its scale set (instances,
// NICs, routes).
func (r *Reconciler) RemovePool(ctx context.Context, clusterID, pool string) error {
	if r.ControlPlane != nil {
		var names []string
		err := r.Store.View(ctx, func(tx store.Tx) error {
			c, _, err := Load(tx, clusterID)
			if err != nil {
				return err
			}
			id := resourceid.MustParse(c.Record.ID)
			s := &state{c: c, sub: id.SubscriptionID(), rg: c.Props.NodeResourceGroup}
			_, props, err := r.Compute.Instances(tx, r.vmssID(s, &Pool{Record: &store.Resource{Name: pool}}))
			for _, ip := range props {
				names = append(names, ip.OSProfile.ComputerName)
			}
			return err
		})
		if err != nil {
			return err
		}
		if len(names) > 0 {
			if err := r.applyControlPlane(ctx, clusterID, names); err != nil {
				return err
			}
		}
	}
	err := r.run(ctx, clusterID, []step{{"remove scale set " + pool, func(tx store.Tx, s *state) error {
		p := &Pool{Record: &store.Resource{Name: pool}}
		id := r.vmssID(s, p)
		ids, err := r.Compute.InstanceIDs(tx, id)
		if err != nil {
			return err
		}
		if err := r.removeInstances(tx, s, id, ids); err != nil {
			return err
		}
		_, err = tx.Delete(id)
		return err
	}}})
	if err != nil {
		return err
	}
	return r.applyControlPlane(ctx, clusterID, nil)
}

// SetPower starts (running) or deallocates every node; stopping stops the
// control plane (its data kept), starting starts it again.
func (r *Reconciler) SetPower(ctx context.Context, clusterID string, running bool) error {
	power := "deallocated"
	if running {
		power = "running"
	}
	if !running && r.ControlPlane != nil {
		uid, err := r.resourceUID(ctx, clusterID)
		if err != nil {
			return err
		}
		if err := r.ControlPlane.Stop(ctx, uid); err != nil {
			return err
		}
	}
	err := r.run(ctx, clusterID, []step{{"power " + power, func(tx store.Tx, s *state) error {
		for _, p := range s.pools {
			if err := r.Compute.SetPowerState(tx, r.vmssID(s, p), power); err != nil {
				return err
			}
		}
		return nil
	}}})
	if err != nil || !running || r.ControlPlane == nil {
		return err
	}
	// The cluster still shows Stopped until the operation finishes; start
	// its control plane regardless.
	var spec *clusterspec.Spec
	err = r.Store.View(ctx, func(tx store.Tx) error {
		var err error
		spec, err = r.BuildSpec(tx, clusterID, nil)
		return err
	})
	if err != nil {
		return err
	}
	return r.ControlPlane.Apply(ctx, spec)
}

// resourceUID reads a cluster's resourceUID ("" when the cluster is gone).
func (r *Reconciler) resourceUID(ctx context.Context, clusterID string) (string, error) {
	var uid string
	err := r.Store.View(ctx, func(tx store.Tx) error {
		c, _, err := Load(tx, clusterID)
		if err == nil {
			uid = c.Props.ResourceUID
		}
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return uid, err
}

// Rotate gives the cluster new certificates (rotateClusterCertificates) or
// service-account signing key (rotateServiceAccountSigningKeys) and
// restarts its control plane with them.
func (r *Reconciler) Rotate(ctx context.Context, clusterID string, what clusterspec.Rotation) error {
	if r.ControlPlane == nil {
		return nil
	}
	uid, err := r.resourceUID(ctx, clusterID)
	if err != nil {
		return err
	}
	if err := r.ControlPlane.Rotate(ctx, uid, what); err != nil {
		return err
	}
	return r.applyControlPlane(ctx, clusterID, nil)
}

// Teardown removes everything the cluster holds outside its own records:
// the control plane, its route table on custom subnets, and the node
// resource group with all it contains. It is idempotent.
func (r *Reconciler) Teardown(ctx context.Context, clusterID string) error {
	if r.ControlPlane != nil {
		uid, err := r.resourceUID(ctx, clusterID)
		if err != nil {
			return err
		}
		if uid != "" {
			if err := r.ControlPlane.Delete(ctx, uid); err != nil {
				return err
			}
		}
	}
	return r.Store.Update(ctx, func(tx store.Tx) error {
		c, pools, err := Load(tx, clusterID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if rt := c.Props.Localaks.RouteTable; rt != "" {
			for _, p := range pools {
				if p.Props.VnetSubnetID != "" {
					if err := r.dissociateRouteTable(tx, p.Props.VnetSubnetID, rt); err != nil {
						return err
					}
				}
			}
		}
		if c.Props.NodeResourceGroup == "" {
			return nil
		}
		id := resourceid.MustParse(c.Record.ID)
		_, err = tx.Delete(resourceid.ResourceGroup(id.SubscriptionID(), c.Props.NodeResourceGroup).String())
		return err
	})
}
