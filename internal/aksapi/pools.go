package aksapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"

	"github.com/localaks/localaks/internal/aks"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/jsonx"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

func randomHex(n int) string { return aks.RandomHex(n) }

// poolBody is an agent pool on the wire.
type poolBody struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Properties map[string]any `json:"properties"`
}

func renderPool(pool *aks.Pool) (*poolBody, error) {
	props, err := pool.Public(false)
	if err != nil {
		return nil, err
	}
	return &poolBody{ID: pool.Record.ID, Name: pool.Record.Name, Type: aks.PoolType, Properties: props}, nil
}

// loadPool reads a cluster, its pools and the addressed pool.
func loadPool(tx store.Tx, id resourceid.ID) (*aks.Cluster, []*aks.Pool, *aks.Pool, error) {
	c, pools, err := loadCluster(tx, clusterOf(id))
	if err != nil {
		return nil, nil, nil, err
	}
	for _, pool := range pools {
		if strings.EqualFold(pool.Record.Name, id.Name()) {
			return c, pools, pool, nil
		}
	}
	return c, pools, nil, arm.ErrResourceNotFound(aks.PoolType, clusterOf(id).Name()+"/"+id.Name(), id.ResourceGroupName())
}

func (p *Provider) getPool(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var body *poolBody
	err := p.store.View(ctx, func(tx store.Tx) error {
		_, _, pool, err := loadPool(tx, req.Route.ID)
		if err != nil {
			return err
		}
		body, err = renderPool(pool)
		return err
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(body), nil
}

func (p *Provider) listPools(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var out []*poolBody
	err := p.store.View(ctx, func(tx store.Tx) error {
		_, pools, err := loadCluster(tx, req.Route.ID)
		if err != nil {
			return err
		}
		for _, pool := range pools {
			b, err := renderPool(pool)
			if err != nil {
				return err
			}
			out = append(out, b)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []*poolBody{}
	}
	return arm.OK(arm.List{Value: out}), nil
}

// poolImmutable are the pool properties AKS does not let change.
var poolImmutable = []string{"vmSize", "osDiskSizeGB", "osDiskType", "kubeletDiskType", "osType", "vnetSubnetID", "podSubnetID",
	"maxPods", "availabilityZones", "enableNodePublicIP", "type", "scaleSetPriority", "enableEncryptionAtHost", "enableUltraSSD"}

// applyPoolChange lays a requested pool spec (raw: the keys the client
// sent) over an existing pool, checks what may change, and says what kind
// of change it is (Scaling, Upgrading, Updating).
func (p *Provider) applyPoolChange(c *aks.Cluster, cur, want *aks.Pool, raw json.RawMessage, pools []*aks.Pool) (string, error) {
	var present jsonx.Object
	if err := json.Unmarshal(raw, &present); err != nil {
		return "", arm.ErrInvalidRequestContent(err.Error())
	}
	before, err := cur.Public(false)
	if err != nil {
		return "", err
	}
	beforeRaw, _ := json.Marshal(before)
	var merged jsonx.Object
	json.Unmarshal(beforeRaw, &merged) //nolint:errcheck // just marshalled
	readOnly := map[string]bool{"name": true, "provisioningState": true, "currentOrchestratorVersion": true, "nodeImageVersion": true, "powerState": true}
	for k, v := range present {
		if readOnly[k] {
			continue
		}
		// Zero values a client sends for "default" keep the current value.
		if s := string(v); s == "null" || s == `""` || (k == "osDiskSizeGB" && s == "0") || (k == "maxPods" && s == "0") {
			continue
		}
		merged[k] = v
	}
	for _, k := range poolImmutable {
		if b, a := before[k], merged[k]; a != nil {
			var av any
			json.Unmarshal(a, &av) //nolint:errcheck // from the body
			if !reflect.DeepEqual(normalize(b), normalize(av)) {
				return "", aksNative(http.StatusBadRequest, "PropertyChangeNotAllowed", "agentPoolProfile."+k, "Changing property '%s' is not allowed.", k)
			}
		}
	}
	data, _ := json.Marshal(merged)
	next, err := aks.DecodePoolJSON(data)
	if err != nil {
		return "", arm.ErrInvalidRequestContent(err.Error())
	}
	next.Record = cur.Record
	next.Props.Localaks = cur.Props.Localaks
	next.Props.ProvisioningState = cur.Props.ProvisioningState
	next.Props.CurrentOrchestratorVersion = cur.Props.CurrentOrchestratorVersion
	next.Props.NodeImageVersion = cur.Props.NodeImageVersion
	next.Props.PowerState = cur.Props.PowerState
	if next.Props.Mode != cur.Props.Mode && cur.Props.Mode == "System" && systemPools(pools) == 1 {
		return "", aksNative(http.StatusBadRequest, "OperationNotAllowed", "agentPoolProfile.mode",
			"Cannot change the mode of agent pool %s to User: it is the last system node pool, and a cluster must have at least one.", cur.Record.Name)
	}
	p.val.DefaultPool(c, next, false)
	if err := p.val.ValidatePool(c, next); err != nil {
		return "", err
	}
	state := aks.StateUpdating
	switch {
	case next.Props.CurrentOrchestratorVersion != cur.Props.CurrentOrchestratorVersion:
		state = aks.StateUpgrading
	case *next.Props.Count != *cur.Props.Count:
		state = aks.StateScaling
	}
	*cur = *next
	return state, nil
}

// normalize makes JSON numbers and values comparable across decodes.
func normalize(v any) any {
	raw, _ := json.Marshal(v)
	var out any
	json.Unmarshal(raw, &out) //nolint:errcheck // round trip
	if s, ok := out.(string); ok {
		return strings.ToLower(s)
	}
	return out
}

func systemPools(pools []*aks.Pool) int {
	n := 0
	for _, pool := range pools {
		if pool.Props.Mode == "System" {
			n++
		}
	}
	return n
}

// putPool creates or updates an agent pool (201/200, long-running).
func (p *Provider) putPool(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	id := req.Route.ID
	var in struct {
		Properties json.RawMessage `json:"properties"`
	}
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, err
	}
	cluster := clusterOf(id)
	op, err := p.engine.NewOperation(kindPoolReconcile, id.SubscriptionID(), Namespace, "", id.String(),
		opInput{Cluster: cluster.String(), Pool: id.Name()})
	if err != nil {
		return nil, arm.ErrInternal(err)
	}
	status := http.StatusOK
	var body *poolBody
	err = p.engine.Submit(ctx, op, func(tx store.Tx) error {
		c, pools, err := loadCluster(tx, cluster)
		if err != nil {
			return err
		}
		op.Location = c.Record.Location
		if err := aks.CheckTerminal(c, nil); err != nil {
			return err
		}
		if c.Props.PowerState != nil && c.Props.PowerState.Code == "Stopped" {
			return conflict("Operation is not allowed: managed cluster is in Provisioning State(%s) and Power State(Stopped), agent pool operations cannot be performed. Please start the cluster first: https://aka.ms/aks/start",
				c.Props.ProvisioningState)
		}
		before := map[string]int{}
		var target *aks.Pool
		for _, pool := range pools {
			before[pool.Record.Name] = max(*pool.Props.Count, intValue(pool.Props.MaxCount))
			if strings.EqualFold(pool.Record.Name, id.Name()) {
				target = pool
			}
		}
		var state string
		if target == nil {
			if err := aks.ValidatePoolName(id.Name(), osTypeOf(in.Properties)); err != nil {
				return err
			}
			if len(pools) >= c.Props.MaxAgentPools {
				return aksNative(http.StatusBadRequest, "InvalidParameter", "agentPoolProfiles", "A cluster can have at most %d agent pools.", c.Props.MaxAgentPools)
			}
			target, err = aks.DecodePoolJSON(in.Properties)
			if err != nil {
				return arm.ErrInvalidRequestContent(err.Error())
			}
			target.Record = &store.Resource{ID: c.Record.ID + "/agentPools/" + id.Name(), Type: aks.PoolType, Name: id.Name()}
			p.val.DefaultPool(c, target, false)
			if err := p.val.ValidatePool(c, target); err != nil {
				return err
			}
			if (target.Props.VnetSubnetID == "") != (pools[0].Props.VnetSubnetID == "") {
				return aksNative(http.StatusBadRequest, "InvalidParameter", "agentPoolProfile.vnetSubnetID",
					"All agent pools must use a custom subnet, or none must: the cluster's pools %s one.", map[bool]string{true: "use", false: "do not use"}[pools[0].Props.VnetSubnetID != ""])
			}
			pools = append(pools, target)
			state, status = aks.StateCreating, http.StatusCreated
		} else {
			if err := req.CheckPreconditions(target.Record); err != nil {
				return err
			}
			if !aks.Terminal(target.Props.ProvisioningState) {
				return aksNative(http.StatusConflict, "OperationNotAllowed", "",
					"Operation is not allowed: Another agentpool operation (%s - %s) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details",
					target.Record.Name, target.Props.ProvisioningState)
			}
			if state, err = p.applyPoolChange(c, target, nil, in.Properties, pools); err != nil {
				return err
			}
		}
		if err := p.val.CheckGrowth(tx, c, pools, before); err != nil {
			return err
		}
		target.Props.ProvisioningState = state
		target.Props.Localaks.Operation, target.Props.Localaks.OperationKind = op.ID, state
		if err := target.Encode(); err != nil {
			return err
		}
		if err := tx.Put(target.Record); err != nil {
			return err
		}
		body, err = renderPool(target)
		return err
	})
	if err != nil {
		return nil, err
	}
	return p.engine.AsyncOnly(req, op, status, body), nil
}

func intValue(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func osTypeOf(raw json.RawMessage) string {
	var v struct {
		OSType string `json:"osType"`
	}
	json.Unmarshal(raw, &v) //nolint:errcheck // only a hint for the name rule
	return v.OSType
}

// deletePool deletes an agent pool (202, long-running), refusing the last
// pool and the last system pool.
func (p *Provider) deletePool(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	id := req.Route.ID
	cluster := clusterOf(id)
	var gone bool
	op, err := p.engine.NewOperation(kindPoolDelete, id.SubscriptionID(), Namespace, "", id.String(), opInput{Cluster: cluster.String(), Pool: id.Name()})
	if err != nil {
		return nil, arm.ErrInternal(err)
	}
	errGone := errors.New("no such pool")
	err = p.engine.Submit(ctx, op, func(tx store.Tx) error {
		c, pools, pool, err := loadPool(tx, id)
		if err != nil {
			var armErr *arm.Error
			if errors.As(err, &armErr) && armErr.Code == "ResourceNotFound" && c != nil {
				gone = true
				return errGone
			}
			return err
		}
		op.Location = c.Record.Location
		if err := aks.CheckTerminal(c, nil); err != nil {
			return err
		}
		if !aks.Terminal(pool.Props.ProvisioningState) && pool.Props.ProvisioningState != aks.StateDeleting {
			return aksNative(http.StatusConflict, "OperationNotAllowed", "",
				"Operation is not allowed: Another agentpool operation (%s - %s) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details",
				pool.Record.Name, pool.Props.ProvisioningState)
		}
		if len(pools) == 1 {
			return aksNative(http.StatusBadRequest, "OperationNotAllowed", "", "There has to be at least one agent pool.")
		}
		if pool.Props.Mode == "System" && systemPools(pools) == 1 {
			return aksNative(http.StatusBadRequest, "OperationNotAllowed", "",
				"Cannot delete agent pool %s: it is the last system node pool, and a cluster must have at least one system node pool. Please see https://aka.ms/aks/nodepool/mode for more details.", pool.Record.Name)
		}
		if err := req.CheckPreconditions(pool.Record); err != nil {
			return err
		}
		pool.Props.ProvisioningState = aks.StateDeleting
		pool.Props.Localaks.Operation, pool.Props.Localaks.OperationKind = op.ID, aks.StateDeleting
		if err := pool.Encode(); err != nil {
			return err
		}
		return tx.Put(pool.Record)
	})
	if gone {
		return arm.NoContent(), nil
	}
	if err != nil {
		return nil, err
	}
	return p.engine.Accepted(req, op, http.StatusAccepted, nil), nil
}
