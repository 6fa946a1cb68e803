package aks

import (
	"errors"
	"strings"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// Load reads a cluster and its pools.
func Load(tx store.Tx, clusterID string) (*Cluster, []*Pool, error) {
	r, err := tx.Get(clusterID)
	if err != nil {
		return nil, nil, err
	}
	c, err := DecodeCluster(r)
	if err != nil {
		return nil, nil, err
	}
	prs, err := tx.List(store.Query{Parent: r.ID, Type: PoolType})
	if err != nil {
		return nil, nil, err
	}
	var pools []*Pool
	for _, pr := range prs {
		p, err := DecodePool(pr)
		if err != nil {
			return nil, nil, err
		}
		pools = append(pools, p)
	}
	return c, pools, nil
}

// Get reads a cluster and its pools for a request, answering ARM's 404s:
// the resource group's first, then the cluster's.
func Get(tx store.Tx, id resourceid.ID) (*Cluster, []*Pool, error) {
	c, pools, err := Load(tx, id.String())
	if errors.Is(err, store.ErrNotFound) {
		if _, err := tx.Get(resourceid.ResourceGroup(id.SubscriptionID(), id.ResourceGroupName()).String()); errors.Is(err, store.ErrNotFound) {
			return nil, nil, arm.ErrResourceGroupNotFound(id.ResourceGroupName())
		}
		return nil, nil, errClusterNotFound(id.Name(), id.ResourceGroupName())
	}
	return c, pools, err
}

// GetPool reads a cluster, its pools and the pool poolID addresses. When
// only the pool is missing it returns the cluster and pools with the 404.
func GetPool(tx store.Tx, poolID resourceid.ID) (*Cluster, []*Pool, *Pool, error) {
	cluster := ClusterOf(poolID)
	c, pools, err := Get(tx, cluster)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, pool := range pools {
		if strings.EqualFold(pool.Record.Name, poolID.Name()) {
			return c, pools, pool, nil
		}
	}
	return c, pools, nil, arm.ErrResourceNotFound(PoolType, cluster.Name()+"/"+poolID.Name(), poolID.ResourceGroupName())
}

// ClusterOf is the cluster ID of an ID addressing a cluster or one of its
// children.
func ClusterOf(id resourceid.ID) resourceid.ID {
	for !id.IsZero() && !strings.EqualFold(id.Type(), ClusterType) {
		id = id.Parent()
	}
	return id
}

// Save writes a cluster (nil: none) and pools back to the store: the one
// way AKS's records are written.
func Save(tx store.Tx, c *Cluster, pools ...*Pool) error {
	if c != nil {
		if err := c.Encode(); err != nil {
			return err
		}
		if err := tx.Put(c.Record); err != nil {
			return err
		}
	}
	for _, p := range pools {
		if err := p.Encode(); err != nil {
			return err
		}
		if err := tx.Put(p.Record); err != nil {
			return err
		}
	}
	return nil
}

// Stopped reports whether the cluster is stopped (az aks stop).
func (c *Cluster) Stopped() bool {
	return c.Props.PowerState != nil && c.Props.PowerState.Code == PowerStopped
}

// Power states.
const (
	PowerRunning = "Running"
	PowerStopped = "Stopped"
)

// setPower gives the cluster and its pools a power state.
func setPower(c *Cluster, pools []*Pool, code string) {
	c.Props.PowerState = &PowerState{Code: code}
	for _, p := range pools {
		p.Props.PowerState = &PowerState{Code: code}
	}
}

// begin marks the cluster as running operation opID in state.
func (c *Cluster) begin(opID, state string) {
	c.Props.ProvisioningState = state
	c.Props.Localaks.Operation, c.Props.Localaks.OperationKind = opID, state
}

// begin marks the pool as running operation opID in state.
func (p *Pool) begin(opID, state string) {
	p.Props.ProvisioningState = state
	p.Props.Localaks.Operation, p.Props.Localaks.OperationKind = opID, state
}

// end gives the cluster the terminal state of operation opID and clears the
// marker (when opID is the cluster's operation).
func (c *Cluster) end(opID, state string) {
	if c.Props.Localaks.Operation == opID {
		c.Props.ProvisioningState = state
		c.Props.Localaks.Operation, c.Props.Localaks.OperationKind = "", ""
	}
}

// end gives the pool the terminal state; force ends it whatever operation
// it shows (a cluster operation ends every pool it left mid-way).
func (p *Pool) end(opID, state string, force bool) {
	if p.Props.Localaks.Operation == opID || force {
		p.Props.ProvisioningState = state
		p.Props.Localaks.Operation, p.Props.Localaks.OperationKind = "", ""
	}
}
