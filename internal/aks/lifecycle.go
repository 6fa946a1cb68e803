package aks

import (
	"context"
	"errors"

	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/provider/network"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// The pipelines of the other operations: pool removal, stop/start, rotation and teardown.

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
	err := r.run(ctx, clusterID, []step{{"remove scale set " + pool, func(ctx context.Context, tx store.Tx, s *state) error {
		p := &Pool{Record: &store.Resource{Name: pool}}
		id := r.vmssID(s, p)
		ids, err := r.Compute.InstanceIDs(tx, id)
		if err != nil {
			return err
		}
		if err := r.removeInstances(ctx, tx, s, id, ids); err != nil {
			return err
		}
		return r.Compute.ScaleSets.RemoveID(tx, id)
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
	err := r.run(ctx, clusterID, []step{{"power " + power, func(ctx context.Context, tx store.Tx, s *state) error {
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
					if err := r.dissociateRouteTable(ctx, tx, p.Props.VnetSubnetID, rt); err != nil {
						return err
					}
				}
			}
		}
		if c.Props.NodeResourceGroup == "" {
			return nil
		}
		id := resourceid.MustParse(c.Record.ID)
		// The load balancers go with the group; addresses they use from
		// elsewhere (outbound IPs the cluster was given) are freed.
		lbs, err := tx.List(store.Query{Subscription: id.SubscriptionID(), ResourceGroup: c.Props.NodeResourceGroup, Type: network.LoadBalancerType})
		if err != nil {
			return err
		}
		for _, lb := range lbs {
			if err := r.Net.ReleasePublicIPs(tx, lb); err != nil {
				return err
			}
		}
		_, err = tx.Delete(resourceid.ResourceGroup(id.SubscriptionID(), c.Props.NodeResourceGroup).String())
		return err
	})
}
