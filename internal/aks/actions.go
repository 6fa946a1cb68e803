package aks

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// The managed cluster and agent pool actions (POST …/{action}) and DELETE:
// what each refuses, and the state the cluster or pool shows while the
// operation runs.

// ClusterAction is a cluster-wide operation: the state the cluster and its
// pools show while it runs, and what refuses it.
type ClusterAction struct {
	state string
	check func(c *Cluster) error
}

// The cluster actions.
var (
	Stop = ClusterAction{StateStopping, func(c *Cluster) error {
		if c.Stopped() {
			return notAllowed("Operation is not allowed: managed cluster is in Provisioning State(%s) and Power State(Stopped), stopping cannot be performed. Please see https://aka.ms/aks/stop for more details",
				c.Props.ProvisioningState)
		}
		return nil
	}}
	Start = ClusterAction{StateStarting, func(c *Cluster) error {
		if !c.Stopped() {
			return notAllowed("Operation is not allowed: managed cluster is in Provisioning State(%s) and Power State(Running), starting cannot be performed. Please see https://aka.ms/aks/start for more details",
				c.Props.ProvisioningState)
		}
		return nil
	}}
	RotateCertificates       = ClusterAction{StateUpdating, func(c *Cluster) error { return stoppedRefusal(c, "rotating certificates") }}
	RotateServiceAccountKeys = ClusterAction{StateUpdating, func(c *Cluster) error {
		return stoppedRefusal(c, "rotating service account signing keys")
	}}
)

// ResetServicePrincipal sets a service-principal cluster's credentials;
// managed-identity clusters have none to reset.
func ResetServicePrincipal(sp ServicePrincipalProfile) (ClusterAction, error) {
	if sp.ClientID == "" || sp.Secret == "" {
		return ClusterAction{}, badRequest("InvalidParameter", "servicePrincipalProfile", "Both clientId and secret are required to reset the service principal profile.")
	}
	return ClusterAction{StateUpdating, func(c *Cluster) error {
		if err := stoppedRefusal(c, "resetting the service principal"); err != nil {
			return err
		}
		if len(c.Record.Identity) > 0 {
			return badRequest("BadRequest", "servicePrincipalProfile",
				"Resetting the service principal profile is not supported for clusters with managed identity.")
		}
		c.Props.ServicePrincipalProfile = &ServicePrincipalProfile{ClientID: sp.ClientID, Secret: sp.Secret}
		return nil
	}}, nil
}

// ResetAADProfile is refused: the legacy Azure AD integration it resets is
// retired.
func ResetAADProfile(c *Cluster) error {
	if entraSpec(c) == nil {
		return badRequest("BadRequest", "aadProfile",
			"Managed cluster %s has no Azure AD integration to reset: resetAADProfile applies to legacy Azure AD integration only, which is deprecated; enable AKS-managed Azure AD with aadProfile.managed (az aks update --enable-aad).", c.Record.Name)
	}
	return badRequest("BadRequest", "aadProfile",
		"Managed cluster %s uses AKS-managed Azure AD: resetAADProfile applies to legacy Azure AD integration only, which is deprecated. Change the tenant or admin groups in aadProfile with a PUT of the cluster (az aks update --aad-tenant-id, --aad-admin-group-object-ids).", c.Record.Name)
}

// BeginClusterAction checks action against the cluster and marks the
// cluster and its pools as running operation opID (for Save).
func BeginClusterAction(tx store.Tx, id resourceid.ID, action ClusterAction, opID string) (*Cluster, []*Pool, error) {
	c, pools, err := Get(tx, id)
	if err != nil {
		return nil, nil, err
	}
	if err := CheckTerminal(c, pools); err != nil {
		return nil, nil, err
	}
	if err := action.check(c); err != nil {
		return nil, nil, err
	}
	c.begin(opID, action.state)
	for _, p := range pools {
		p.begin(opID, action.state)
	}
	return c, pools, nil
}

// PrepareDelete looks at a cluster about to be deleted: whether it exists
// (a missing cluster in an existing group is a 204) and the operation the
// delete preempts ("" when none), as AKS lets a delete interrupt any other
// operation.
func PrepareDelete(tx store.Tx, id resourceid.ID) (exists bool, preempt string, err error) {
	c, _, err := Get(tx, id)
	var armErr *arm.Error
	if errors.As(err, &armErr) && armErr.Code == "ResourceNotFound" {
		return false, "", nil
	} else if err != nil {
		return false, "", err
	}
	if running := c.Props.Localaks.Operation; running != "" && c.Props.Localaks.OperationKind != StateDeleting {
		return true, running, nil
	}
	return true, "", nil
}

// BeginDeleteCluster marks the cluster and its pools as being deleted by
// operation opID (for Save).
func BeginDeleteCluster(tx store.Tx, req *arm.Request, id resourceid.ID, opID string) (*Cluster, []*Pool, error) {
	c, pools, err := Get(tx, id)
	if err != nil {
		return nil, nil, err
	}
	if err := req.CheckPreconditions(c.Record); err != nil {
		return nil, nil, err
	}
	c.begin(opID, StateDeleting)
	for _, p := range pools {
		p.Props.ProvisioningState = StateDeleting
	}
	return c, pools, nil
}

// BeginAbortCluster checks an abort of the cluster's running operation and
// shows the cluster Canceling (for Save); it returns the operation to
// cancel.
func BeginAbortCluster(tx store.Tx, id resourceid.ID) (*Cluster, string, error) {
	c, _, err := Get(tx, id)
	if err != nil {
		return nil, "", err
	}
	running := c.Props.Localaks.Operation
	if running == "" || Terminal(c.Props.ProvisioningState) {
		return nil, "", notAllowed("No on-going operation found to abort on managed cluster %s.", c.Record.Name)
	}
	if c.Props.ProvisioningState == StateDeleting {
		return nil, "", notAllowed("Abort is not allowed on managed cluster %s: it is being deleted.", c.Record.Name)
	}
	c.Props.ProvisioningState = StateCanceling
	return c, running, nil
}

// BeginAbortPool is BeginAbortCluster for a pool's operation.
func BeginAbortPool(tx store.Tx, poolID resourceid.ID) (*Pool, string, error) {
	_, _, pool, err := GetPool(tx, poolID)
	if err != nil {
		return nil, "", err
	}
	running := pool.Props.Localaks.Operation
	if running == "" || Terminal(pool.Props.ProvisioningState) {
		return nil, "", notAllowed("No on-going operation found to abort on agent pool %s.", pool.Record.Name)
	}
	pool.Props.ProvisioningState = StateCanceling
	return pool, running, nil
}

// PoolAction is an operation on one pool: its state while it runs and the
// change it makes to the pool's spec.
type PoolAction struct {
	state  string
	change func(v *Rules, tx store.Tx, pool *Pool) error
}

// UpgradeNodeImage moves a pool to the latest node image.
var UpgradeNodeImage = PoolAction{StateUpgradingNodeImage, func(_ *Rules, _ store.Tx, pool *Pool) error {
	pool.Props.NodeImageVersion = Versions.NodeImage
	return nil
}}

// DeleteMachines removes named machines (nodes) from a pool, lowering its
// count.
func DeleteMachines(names []string) (PoolAction, error) {
	if len(names) == 0 {
		return PoolAction{}, badRequest("InvalidParameter", "machineNames", "At least one machine name is required.")
	}
	return PoolAction{StateScaling, func(v *Rules, tx store.Tx, pool *Pool) error {
		want := map[string]bool{}
		for _, n := range names {
			want[strings.ToLower(n)] = true
		}
		_, props, err := v.Compute.Instances(tx, pool.Props.Localaks.VMSS)
		if err != nil {
			return err
		}
		found := 0
		for _, ip := range props {
			if want[strings.ToLower(ip.OSProfile.ComputerName)] {
				found++
			}
		}
		if found != len(want) {
			return badRequest("InvalidParameter", "machineNames", "Some machines in %v are not in agent pool %s.", names, pool.Record.Name)
		}
		if *pool.Props.Count-found < 1 && pool.Props.Mode == "System" {
			return badRequest("InvalidParameter", "machineNames", "System node pool %s must keep at least 1 node.", pool.Record.Name)
		}
		n := *pool.Props.Count - found
		pool.Props.Count = &n
		pool.Props.Localaks.DeleteMachines = names
		return nil
	}}, nil
}

// ScaleTo sets a pool's count to n: a client's capacity change of the
// pool's scale set (the cluster autoscaler's scale-up), which AKS carries
// out as a pool scale (instances with their pod ranges and routes, nodes).
func ScaleTo(n int) PoolAction {
	return PoolAction{StateScaling, func(v *Rules, tx store.Tx, pool *Pool) error {
		if n < 0 || n > 1000 {
			return badRequest("InvalidParameter", "sku.capacity", "The value %d of parameter 'sku.capacity' is out of range. The value must be between 0 and 1000, inclusive.", n)
		}
		if n == 0 && pool.Props.Mode == "System" {
			return badRequest("InvalidParameter", "sku.capacity", "System node pool %s must keep at least 1 node.", pool.Record.Name)
		}
		pool.Props.Count = &n
		return nil
	}}
}

// PoolOfScaleSet finds the pool whose scale set is vmssID; nil when no
// managed cluster's pool owns it.
func PoolOfScaleSet(tx store.Tx, vmssID string) (*Pool, error) {
	id, err := resourceid.Parse(vmssID)
	if err != nil {
		return nil, nil
	}
	recs, err := tx.List(store.Query{Subscription: id.SubscriptionID(), Type: PoolType})
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		p, err := DecodePool(r)
		if err != nil {
			return nil, err
		}
		if p.Props.Localaks != nil && strings.EqualFold(p.Props.Localaks.VMSS, vmssID) {
			return p, nil
		}
	}
	return nil, nil
}

// BeginPoolAction checks action against the pool and its cluster, makes
// its change and marks the pool as running operation opID (for Save).
func (v *Rules) BeginPoolAction(tx store.Tx, poolID resourceid.ID, action PoolAction, opID string) (*Pool, *Cluster, error) {
	c, _, pool, err := GetPool(tx, poolID)
	if err != nil {
		return nil, nil, err
	}
	if err := CheckTerminal(c, []*Pool{pool}); err != nil {
		return nil, nil, err
	}
	if err := stoppedRefusal(c, "agent pool operations"); err != nil {
		return nil, nil, err
	}
	if err := action.change(v, tx, pool); err != nil {
		return nil, nil, err
	}
	pool.begin(opID, action.state)
	return pool, c, nil
}

// CheckCredential refuses listing a credential of role (clusterUser,
// clusterAdmin, clusterMonitoringUser) that the cluster does not give.
func CheckCredential(c *Cluster, role string) error {
	if role == "clusterAdmin" && isTrue(c.Props.DisableLocalAccounts) {
		return badRequest("BadRequest", "", "Getting static credential isn't allowed because this cluster is set to disable local accounts.")
	}
	if c.Stopped() {
		return notAllowed("Operation is not allowed: managed cluster %s is stopped; its API server has no credentials to list. Start it first: https://aka.ms/aks/start", c.Record.Name)
	}
	return nil
}

// ValidateRunCommand checks a runCommand body: a command, and a context
// that is base64 (of a zip archive).
func ValidateRunCommand(command, context string) error {
	if strings.TrimSpace(command) == "" {
		return badRequest("InvalidParameter", "command", "The command must not be empty.")
	}
	if context != "" {
		if _, err := base64.StdEncoding.DecodeString(context); err != nil {
			return badRequest("InvalidParameter", "context", "The context must be a base64-encoded zip archive: %v.", err)
		}
	}
	return nil
}

// CheckRunCommand refuses runCommand on a cluster that does not take it.
func CheckRunCommand(c *Cluster) error {
	if a := c.Props.APIServerAccessProfile; a != nil && isTrue(a.DisableRunCommand) {
		return badRequest("BadRequest", "", "Run command is disabled for managed cluster %s (apiServerAccessProfile.disableRunCommand).", c.Record.Name)
	}
	if c.Stopped() {
		return notAllowed("Operation is not allowed: managed cluster %s is stopped. Start it first: https://aka.ms/aks/start", c.Record.Name)
	}
	return nil
}

// ErrNoControlPlane is AKS's answer where a request needs a control plane
// and serve runs without them.
func ErrNoControlPlane(c *Cluster, what string) error {
	return Error(http.StatusConflict, "ControlPlaneNotAvailable", "",
		"Managed cluster %s has no Kubernetes control plane in this localaks (serve runs with control planes off)%s.", c.Record.Name, what)
}
