package aks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"

	"github.com/google/uuid"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/failpoint"
	"github.com/localaks/localaks/internal/provider/compute"
	"github.com/localaks/localaks/internal/provider/managedidentity"
	"github.com/localaks/localaks/internal/provider/network"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// The reconciler: a cluster's create/update pipeline as ordered, idempotent steps, each in its own transaction.

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
	// TenantOf maps a subscription to its tenant (the cloud provider's
	// tenant, whatever identity the cluster has).
	TenantOf func(subscription string) string
	Log      *slog.Logger
}

// step is one named step of a pipeline.
type step struct {
	name string
	run  func(ctx context.Context, tx store.Tx, s *state) error
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
			if err := st.run(ctx, tx, s); err != nil {
				return err
			}
			if s.dirty {
				return Save(tx, c)
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
		{"control plane identity's role", r.ensureControlPlaneRole},
		{"kubelet identity", r.ensureKubeletIdentity},
		{"add-on identities", r.ensureAddonIdentities},
		{"network security group", r.ensureNSG},
		{"route table", r.ensureRouteTable},
		{"virtual network", r.ensureVNet},
		{"outbound connectivity", r.ensureOutbound},
		{"ingress application gateway", r.ensureAppGateway},
	}
	if r.ControlPlane != nil {
		steps = append(steps, step{"control plane endpoint", r.ensureEndpoint},
			// Again once the cloud controller's credentials exist (a
			// service-principal cluster's).
			step{"control plane identity's role", r.ensureControlPlaneRole})
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
//
// The network can change while the control plane converges: the cloud
// controller writes load balancer rules for a Service that the spec's
// add-on made. FollowNetwork leaves a cluster in an operation alone, so
// the spec is sent again, a few times at most, until its network no longer
// changes.
func (r *Reconciler) applyControlPlane(ctx context.Context, clusterID string, drain []string) error {
	if r.ControlPlane == nil {
		return nil
	}
	var applied *clusterspec.Spec
	for range 4 {
		var spec *clusterspec.Spec
		running, creating := true, false
		uid := ""
		err := r.Store.View(ctx, func(tx store.Tx) error {
			c, _, err := Load(tx, clusterID)
			if err != nil {
				return err
			}
			if c.Stopped() {
				running = false
				return nil
			}
			creating, uid = c.Props.ProvisioningState == "Creating", c.Props.ResourceUID
			spec, err = r.BuildSpec(tx, clusterID, drain)
			return err
		})
		if err != nil || !running {
			return err
		}
		if applied != nil && (len(spec.RealNodes()) == 0 || reflect.DeepEqual(applied.Fabric, spec.Fabric)) {
			return nil
		}
		if err := r.ControlPlane.Apply(ctx, spec); err != nil {
			// A create that fails stops what it started: its control
			// plane would otherwise restart for ever. A later PUT
			// starts it again.
			if creating && ctx.Err() == nil {
				if serr := r.ControlPlane.Stop(context.WithoutCancel(ctx), uid); serr != nil {
					r.Log.Warn("stop the control plane of a failed create", "cluster", clusterID, "err", serr)
				}
			}
			return err
		}
		applied = spec
	}
	return nil
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
			leaving, err := r.leavingNodes(ctx, tx, s, p)
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
func (r *Reconciler) leavingNodes(ctx context.Context, tx store.Tx, s *state, p *Pool) ([]string, error) {
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
func (r *Reconciler) ensureEndpoint(ctx context.Context, tx store.Tx, s *state) error {
	st := s.c.Props.Localaks
	if st.APIServerPort != 0 && st.AdvertiseAddress != "" && st.CloudClientID != "" && st.KubeletSecret != "" {
		return nil
	}
	if st.CloudClientID == "" {
		st.CloudClientID, st.CloudSecret = uuid.NewString(), RandomHex(24)
	}
	if st.KubeletSecret == "" {
		st.KubeletSecret = RandomHex(24)
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
