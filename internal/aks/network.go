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

func (r *Reconciler) ensureNSG(ctx context.Context, tx store.Tx, s *state) error {
	id := resourceid.ResourceGroup(s.sub, s.rg).Child(network.Namespace, "networkSecurityGroups", nsgName(s.c.Props.Localaks.ID))
	if _, err := tx.Get(id.String()); errors.Is(err, store.ErrNotFound) {
		rec, err := record(id, network.NSGType, s.c.Record.Location, clusterTags(s.c), network.NSGProperties{SecurityRules: []arm.Child{}})
		if err != nil {
			return err
		}
		if err := r.Net.NSGs.Write(ctx, tx, rec); err != nil {
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
		rec, err := record(id, network.RouteTableType, s.c.Record.Location, clusterTags(s.c), network.RouteTableProperties{Routes: []arm.Child{}})
		if err != nil {
			return err
		}
		if err := r.Net.RouteTables.Write(ctx, tx, rec); err != nil {
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
				if err := r.associateRouteTable(ctx, tx, p.Props.VnetSubnetID, rt); err != nil {
					return err
				}
			}
		}
		return nil
	}
	id := resourceid.ResourceGroup(s.sub, s.rg).Child(network.Namespace, "virtualNetworks", vnetName(s.c.Props.Localaks.ID))
	subnet := network.SubnetProperties{AddressPrefix: managedSubnetPrefix}
	if nsg := s.c.Props.Localaks.NSG; nsg != "" {
		subnet.NetworkSecurityGroup = &network.SubResource{ID: nsg}
	}
	if rt := s.c.Props.Localaks.RouteTable; rt != "" {
		subnet.RouteTable = &network.SubResource{ID: rt}
	}
	if _, err := tx.Get(id.String()); errors.Is(err, store.ErrNotFound) {
		child, err := arm.NewChild(managedSubnetName, subnet)
		if err != nil {
			return err
		}
		rec, err := record(id, network.VirtualNetworkType, s.c.Record.Location, clusterTags(s.c), network.VirtualNetworkProperties{
			AddressSpace: network.AddressSpace{AddressPrefixes: []string{managedVNetPrefix}}, Subnets: []arm.Child{child}})
		if err != nil {
			return err
		}
		if err := r.Net.VirtualNetworks.Write(ctx, tx, rec); err != nil {
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
func (r *Reconciler) associateRouteTable(ctx context.Context, tx store.Tx, subnetID, routeTable string) error {
	sid, err := resourceid.Parse(subnetID)
	if err != nil {
		return err
	}
	return r.Net.UpdateSubnets(ctx, tx, sid.Parent().String(), func(name string, sp *network.SubnetProperties) bool {
		if !strings.EqualFold(name, sid.Name()) || sp.RouteTable != nil {
			return false
		}
		sp.RouteTable = &network.SubResource{ID: routeTable}
		return true
	})
}

// dissociateRouteTable removes the cluster's route table from the subnets
// of a custom subnet's VNet before the node resource group goes.
func (r *Reconciler) dissociateRouteTable(ctx context.Context, tx store.Tx, subnetID, routeTable string) error {
	sid, err := resourceid.Parse(subnetID)
	if err != nil {
		return nil
	}
	err = r.Net.UpdateSubnets(ctx, tx, sid.Parent().String(), func(_ string, sp *network.SubnetProperties) bool {
		if sp.RouteTable == nil || !strings.EqualFold(sp.RouteTable.ID, routeTable) {
			return false
		}
		sp.RouteTable = nil
		return true
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// record is a node-resource-group resource with typed properties, for its
// provider's write path.
func record(id resourceid.ID, typ, location string, tags map[string]string, props any) (*store.Resource, error) {
	raw, err := json.Marshal(props)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	return &store.Resource{ID: id.String(), Type: typ, Name: id.Name(), Location: location, Tags: tags, Properties: raw}, nil
}
