package aks

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/jsonx"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// Agent pool PUT and DELETE, and the rules for changing a pool.

// PutPool applies an agent pool PUT (props: the body's properties) as AKS
// does: a new pool with AKS's defaults, or a change to an existing one. It
// returns the pool marked as running operation opID (for Save), the
// cluster, and whether the PUT creates the pool.
func (v *Rules) PutPool(tx store.Tx, req *arm.Request, poolID resourceid.ID, props json.RawMessage, opID string) (*Pool, *Cluster, bool, error) {
	c, pools, err := Get(tx, ClusterOf(poolID))
	if err != nil {
		return nil, nil, false, err
	}
	if err := CheckTerminal(c, nil); err != nil {
		return nil, c, false, err
	}
	if err := stoppedRefusal(c, "agent pool operations"); err != nil {
		return nil, c, false, err
	}
	before := map[string]int{}
	var target *Pool
	for _, pool := range pools {
		before[pool.Record.Name] = max(*pool.Props.Count, intv(pool.Props.MaxCount, 0))
		if strings.EqualFold(pool.Record.Name, poolID.Name()) {
			target = pool
		}
	}
	created := target == nil
	var state string
	if created {
		if target, err = v.newPool(tx, c, pools, poolID.Name(), props); err != nil {
			return nil, c, false, err
		}
		pools = append(pools, target)
		state = StateCreating
	} else {
		if err := req.CheckPreconditions(target.Record); err != nil {
			return nil, c, false, err
		}
		if !Terminal(target.Props.ProvisioningState) {
			return nil, c, false, poolOperationInProgress(target.Record.Name, target.Props.ProvisioningState)
		}
		if state, err = v.applyPoolChange(c, target, props, pools); err != nil {
			return nil, c, false, err
		}
	}
	if err := v.CheckGrowth(tx, c, pools, before); err != nil {
		return nil, c, false, err
	}
	target.begin(opID, state)
	return target, c, created, nil
}

// newPool builds a pool added to an existing cluster.
func (v *Rules) newPool(tx store.Tx, c *Cluster, pools []*Pool, name string, props json.RawMessage) (*Pool, error) {
	if err := ValidatePoolName(name, osTypeOf(props)); err != nil {
		return nil, err
	}
	if len(pools) >= c.Props.MaxAgentPools {
		return nil, badRequest("InvalidParameter", "agentPoolProfiles", "A cluster can have at most %d agent pools.", c.Props.MaxAgentPools)
	}
	p, err := DecodePoolJSON(props)
	if err != nil {
		return nil, arm.ErrInvalidRequestContent(err.Error())
	}
	p.Record = &store.Resource{ID: c.Record.ID + "/agentPools/" + name, Type: PoolType, Name: name}
	if err := fromSnapshot(tx, p); err != nil {
		return nil, err
	}
	v.DefaultPool(c, p, false)
	if err := v.ValidatePool(c, p); err != nil {
		return nil, err
	}
	if (p.Props.VnetSubnetID == "") != (pools[0].Props.VnetSubnetID == "") {
		return nil, badRequest("InvalidParameter", "agentPoolProfile.vnetSubnetID",
			"All agent pools must use a custom subnet, or none must: the cluster's pools %s one.", map[bool]string{true: "use", false: "do not use"}[pools[0].Props.VnetSubnetID != ""])
	}
	return p, nil
}

// osTypeOf reads osType from pool properties: only a hint for the name rule
// ("" when the body is not an object; decoding reports that).
func osTypeOf(raw json.RawMessage) string {
	var v struct {
		OSType string `json:"osType"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	return v.OSType
}

// ErrPoolGone marks a DELETE of a pool that does not exist (204).
var ErrPoolGone = errors.New("no such agent pool")

// BeginDeletePool checks an agent pool DELETE and marks the pool as being
// deleted by operation opID. A missing pool of an existing cluster is
// ErrPoolGone. AKS refuses to delete the last pool and the last system
// pool.
func BeginDeletePool(tx store.Tx, req *arm.Request, poolID resourceid.ID, opID string) (*Pool, *Cluster, error) {
	c, pools, pool, err := GetPool(tx, poolID)
	if err != nil {
		if c != nil {
			return nil, c, ErrPoolGone
		}
		return nil, nil, err
	}
	if err := CheckTerminal(c, nil); err != nil {
		return nil, c, err
	}
	if !Terminal(pool.Props.ProvisioningState) && pool.Props.ProvisioningState != StateDeleting {
		return nil, c, poolOperationInProgress(pool.Record.Name, pool.Props.ProvisioningState)
	}
	if len(pools) == 1 {
		return nil, c, badRequest("OperationNotAllowed", "", "There has to be at least one agent pool.")
	}
	if pool.Props.Mode == "System" && systemPools(pools) == 1 {
		return nil, c, badRequest("OperationNotAllowed", "",
			"Cannot delete agent pool %s: it is the last system node pool, and a cluster must have at least one system node pool. Please see https://aka.ms/aks/nodepool/mode for more details.", pool.Record.Name)
	}
	if err := req.CheckPreconditions(pool.Record); err != nil {
		return nil, c, err
	}
	pool.begin(opID, StateDeleting)
	return pool, c, nil
}

// poolImmutable are the pool properties AKS does not let change.
var poolImmutable = []string{"vmSize", "osDiskSizeGB", "osDiskType", "kubeletDiskType", "osType", "vnetSubnetID", "podSubnetID",
	"maxPods", "availabilityZones", "enableNodePublicIP", "type", "scaleSetPriority", "enableEncryptionAtHost", "enableUltraSSD"}

// poolReadOnly are the pool properties a body cannot set.
var poolReadOnly = map[string]bool{"name": true, "provisioningState": true, "currentOrchestratorVersion": true, "nodeImageVersion": true, "powerState": true}

// applyPoolChange lays a requested pool spec (raw: the keys the client
// sent) over an existing pool, checks what may change, and says what kind
// of change it is (Scaling, Upgrading, Updating).
func (v *Rules) applyPoolChange(c *Cluster, cur *Pool, raw json.RawMessage, pools []*Pool) (string, error) {
	var present jsonx.Object
	if err := json.Unmarshal(raw, &present); err != nil {
		return "", arm.ErrInvalidRequestContent(err.Error())
	}
	before, err := cur.publicObject()
	if err != nil {
		return "", err
	}
	merged := jsonx.Object{}
	for k, val := range before {
		merged[k] = val
	}
	for k, val := range present {
		if poolReadOnly[k] {
			continue
		}
		// Zero values a client sends for "default" keep the current value.
		if s := string(val); s == "null" || s == `""` || (k == "osDiskSizeGB" && s == "0") || (k == "maxPods" && s == "0") {
			continue
		}
		merged[k] = val
	}
	for _, k := range poolImmutable {
		a, ok := merged[k]
		if !ok {
			continue
		}
		same, err := sameValue(before[k], a)
		if err != nil {
			return "", arm.ErrInvalidRequestContent(err.Error())
		}
		if !same {
			return "", Error(http.StatusBadRequest, "PropertyChangeNotAllowed", "agentPoolProfile."+k, "Changing property '%s' is not allowed.", k)
		}
		if b, ok := before[k]; ok {
			merged[k] = b // as first written (a value sent in another case is the same)
		}
	}
	data, err := json.Marshal(merged)
	if err != nil {
		return "", err
	}
	next, err := DecodePoolJSON(data)
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
		return "", Error(http.StatusBadRequest, "OperationNotAllowed", "agentPoolProfile.mode",
			"Cannot change the mode of agent pool %s to User: it is the last system node pool, and a cluster must have at least one.", cur.Record.Name)
	}
	v.DefaultPool(c, next, false)
	// A new autoscaler range takes the pool into it: AKS scales it to the
	// new minimum or maximum rather than refusing the update.
	if pp := &next.Props; isTrue(pp.EnableAutoScaling) && pp.MinCount != nil && pp.MaxCount != nil && pp.Count != nil && *pp.MinCount <= *pp.MaxCount {
		pp.Count = intp(min(max(*pp.Count, *pp.MinCount), *pp.MaxCount))
	}
	if err := v.ValidatePool(c, next); err != nil {
		return "", err
	}
	state := StateUpdating
	switch {
	case next.Props.CurrentOrchestratorVersion != cur.Props.CurrentOrchestratorVersion:
		state = StateUpgrading
	case *next.Props.Count != *cur.Props.Count:
		state = StateScaling
	}
	*cur = *next
	return state, nil
}

// sameValue compares two JSON values as AKS compares an immutable
// property: strings in any case; an absent value (nil) equals only null.
func sameValue(a, b json.RawMessage) (bool, error) {
	decode := func(raw json.RawMessage) (any, error) {
		if len(raw) == 0 {
			return nil, nil
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, err
		}
		if s, ok := v.(string); ok {
			return strings.ToLower(s), nil
		}
		return v, nil
	}
	av, err := decode(a)
	if err != nil {
		return false, err
	}
	bv, err := decode(b)
	if err != nil {
		return false, err
	}
	return reflect.DeepEqual(av, bv), nil
}

func systemPools(pools []*Pool) int {
	n := 0
	for _, pool := range pools {
		if pool.Props.Mode == "System" {
			n++
		}
	}
	return n
}
