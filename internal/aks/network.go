package aks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/provider/network"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// Steps: network security group, route table and virtual network of the node resource group.

// ensureSubnet adds a subnet to a virtual network unless it is there, and
// returns its ID.
func (r *Reconciler) ensureSubnet(ctx context.Context, tx store.Tx, vnetID, name, prefix string) (string, error) {
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
	if err := r.Net.VirtualNetworks.Save(ctx, tx, nil, vnet, existing); err != nil {
		return "", err
	}
	return vnetID + "/subnets/" + name, nil
}

// save writes a node-resource-group resource through its type's Prepare
// (so it gets the same defaults and checks as a user's PUT), creating or
// updating.
func save(ctx context.Context, tx store.Tx, t *arm.Tracked, rec *store.Resource) error {
	existing, err := tx.Get(rec.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return t.Save(ctx, tx, nil, rec, existing)
}

func (r *Reconciler) ensureNSG(ctx context.Context, tx store.Tx, s *state) error {
	id := resourceid.ResourceGroup(s.sub, s.rg).Child(network.Namespace, "networkSecurityGroups", nsgName(s.c.Props.Localaks.ID))
	if _, err := tx.Get(id.String()); errors.Is(err, store.ErrNotFound) {
		if err := save(ctx, tx, r.Net.NSGs, &store.Resource{ID: id.String(), Type: network.NSGType, Name: id.Name(),
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

func (r *Reconciler) ensureRouteTable(ctx context.Context, tx store.Tx, s *state) error {
	if modelOf(s.c.Props.NetworkProfile) != modelKubenet {
		return nil
	}
	id := resourceid.ResourceGroup(s.sub, s.rg).Child(network.Namespace, "routeTables", routeTableName(s.c.Props.Localaks.ID))
	if _, err := tx.Get(id.String()); errors.Is(err, store.ErrNotFound) {
		if err := save(ctx, tx, r.Net.RouteTables, &store.Resource{ID: id.String(), Type: network.RouteTableType, Name: id.Name(),
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
func (r *Reconciler) ensureVNet(ctx context.Context, tx store.Tx, s *state) error {
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
		if err := save(ctx, tx, r.Net.VirtualNetworks, &store.Resource{ID: id.String(), Type: network.VirtualNetworkType, Name: id.Name(),
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
