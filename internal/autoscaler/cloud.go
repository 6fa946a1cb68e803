package autoscaler

import (
	"context"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"

	"github.com/localaks/localaks/internal/cloudcontroller"
	"github.com/localaks/localaks/internal/clusterspec"
)

// Cloud is what the autoscaler asks of Azure, as cluster-autoscaler's Azure
// provider in VMSS mode asks it: the scale sets of the node resource group
// and their capacity, a capacity change (scale-up) and the deletion of
// instances (scale-down).
type Cloud interface {
	// ScaleSets lists the node resource group's scale sets by name
	// (lower-case).
	ScaleSets(ctx context.Context) (map[string]ScaleSet, error)
	// SetCapacity changes a scale set's capacity and waits for the
	// operation to end.
	SetCapacity(ctx context.Context, s ScaleSet, capacity int) error
	// DeleteInstances deletes instances (IDs as the last segment of a
	// node's providerID) and waits for the operation to end.
	DeleteInstances(ctx context.Context, scaleSet string, ids []string) error
}

// ScaleSet is a scale set as the autoscaler reads it.
type ScaleSet struct {
	Name, Location, SKU, Tier string
	Capacity                  int
	// ProvisioningState is the scale set's (Updating while AKS carries out
	// a change).
	ProvisioningState string
}

// armCloud reaches the scale sets through localaks's ARM API, signed in as
// the cluster's identity, the way the autoscaler does on AKS.
type armCloud struct {
	group string
	sets  *armcompute.VirtualMachineScaleSetsClient
}

// NewARMCloud signs in to the cluster's cloud (azure.json).
func NewARMCloud(cfg clusterspec.Cloud) (Cloud, error) {
	f, err := cloudcontroller.ComputeClients(cfg)
	if err != nil {
		return nil, err
	}
	return &armCloud{group: cfg.ResourceGroup, sets: f.NewVirtualMachineScaleSetsClient()}, nil
}

func (c *armCloud) ScaleSets(ctx context.Context) (map[string]ScaleSet, error) {
	out := map[string]ScaleSet{}
	pager := c.sets.NewListPager(c.group, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list scale sets of %s: %w", c.group, err)
		}
		for _, v := range page.Value {
			s := ScaleSet{Name: deref(v.Name), Location: deref(v.Location)}
			if v.SKU != nil {
				s.SKU, s.Tier = deref(v.SKU.Name), deref(v.SKU.Tier)
				s.Capacity = int(deref(v.SKU.Capacity))
			}
			if v.Properties != nil {
				s.ProvisioningState = deref(v.Properties.ProvisioningState)
			}
			out[strings.ToLower(s.Name)] = s
		}
	}
	return out, nil
}

// SetCapacity sends what cluster-autoscaler sends: a PUT with only the
// name, location and SKU with the new capacity.
func (c *armCloud) SetCapacity(ctx context.Context, s ScaleSet, capacity int) error {
	body := armcompute.VirtualMachineScaleSet{
		Name: to.Ptr(s.Name), Location: to.Ptr(s.Location),
		SKU: &armcompute.SKU{Name: to.Ptr(s.SKU), Capacity: to.Ptr(int64(capacity))},
	}
	if s.Tier != "" {
		body.SKU.Tier = to.Ptr(s.Tier)
	}
	poller, err := c.sets.BeginCreateOrUpdate(ctx, c.group, s.Name, body, nil)
	if err != nil {
		return err
	}
	_, err = poller.PollUntilDone(ctx, nil)
	return err
}

func (c *armCloud) DeleteInstances(ctx context.Context, scaleSet string, ids []string) error {
	poller, err := c.sets.BeginDeleteInstances(ctx, c.group, scaleSet,
		armcompute.VirtualMachineScaleSetVMInstanceRequiredIDs{InstanceIDs: to.SliceOfPtrs(ids...)}, nil)
	if err != nil {
		return err
	}
	_, err = poller.PollUntilDone(ctx, nil)
	return err
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
