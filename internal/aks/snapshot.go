package aks

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// SnapshotType is the type of node-pool snapshots.
const SnapshotType = Namespace + "/snapshots"

// SnapshotProperties are a snapshot's properties: what it was taken from
// and, read from that pool when it was taken, what a pool created from it
// gets.
type SnapshotProperties struct {
	CreationData      *CreationData `json:"creationData,omitempty"`
	SnapshotType      string        `json:"snapshotType,omitempty"`
	KubernetesVersion string        `json:"kubernetesVersion,omitempty"`
	NodeImageVersion  string        `json:"nodeImageVersion,omitempty"`
	OSType            string        `json:"osType,omitempty"`
	OSSKU             string        `json:"osSku,omitempty"`
	VMSize            string        `json:"vmSize,omitempty"`
	EnableFIPS        bool          `json:"enableFIPS"`
}

// CreationData names the resource something is created from.
type CreationData struct {
	SourceResourceID string `json:"sourceResourceId,omitempty"`
}

// ValidateSnapshotName applies the snapshot name rule (the spec's, the
// same as a cluster's).
func ValidateSnapshotName(name string) error {
	if !clusterNameRule.MatchString(name) {
		return invalidParameter("name",
			"\"%s\" snapshot name is invalid. It can contain only letters, numbers, underscores and hyphens, must start and end with a letter or number, and can be at most 63 characters", name)
	}
	return nil
}

// PrepareSnapshot completes a snapshot PUT: on create, the source node
// pool must exist and be settled, and the snapshot takes its Kubernetes
// version, node image, OS and VM size; an existing snapshot keeps what it
// took (only its tags change), and its source cannot change.
func PrepareSnapshot(tx store.Tx, r, existing *store.Resource) error {
	// What the client may set; every other property is the service's.
	var in SnapshotProperties
	if len(r.Properties) > 0 {
		if err := json.Unmarshal(r.Properties, &in); err != nil {
			return badRequest("InvalidRequestContent", "properties", "The snapshot's properties could not be read: %v", err)
		}
	}
	in = SnapshotProperties{CreationData: in.CreationData, SnapshotType: in.SnapshotType}
	if in.SnapshotType == "" {
		in.SnapshotType = "NodePool"
	}
	if in.SnapshotType != "NodePool" {
		return invalidParameter("properties.snapshotType", "Snapshot type '%s' is not supported; the only snapshot type is NodePool.", in.SnapshotType)
	}
	if in.CreationData == nil || in.CreationData.SourceResourceID == "" {
		return invalidParameter("properties.creationData.sourceResourceId", "The snapshot's source (creationData.sourceResourceId) is required: the resource ID of an agent pool.")
	}
	source := in.CreationData.SourceResourceID
	if existing != nil {
		var old SnapshotProperties
		if err := json.Unmarshal(existing.Properties, &old); err != nil {
			return err
		}
		if old.CreationData == nil || !strings.EqualFold(old.CreationData.SourceResourceID, source) {
			return badRequest("PropertyChangeNotAllowed", "properties.creationData.sourceResourceId",
				"Changing property 'creationData.sourceResourceId' is not allowed: a snapshot keeps the node pool it was taken from.")
		}
		r.Properties = existing.Properties
		return nil
	}
	id, err := resourceid.Parse(source)
	if err != nil || !strings.EqualFold(id.Type(), PoolType) {
		return invalidParameter("properties.creationData.sourceResourceId", "The snapshot's source '%s' is not the resource ID of an agent pool (%s).", source, PoolType)
	}
	rec, err := tx.Get(id.String())
	if errors.Is(err, store.ErrNotFound) {
		return Error(http.StatusNotFound, "NotFound", "properties.creationData.sourceResourceId",
			"The snapshot's source agent pool '%s' was not found.", source)
	}
	if err != nil {
		return err
	}
	pool, err := DecodePool(rec)
	if err != nil {
		return err
	}
	if !Terminal(pool.Props.ProvisioningState) {
		return poolOperationInProgress(pool.Record.Name, pool.Props.ProvisioningState)
	}
	in.KubernetesVersion = pool.Props.CurrentOrchestratorVersion
	in.NodeImageVersion = pool.Props.NodeImageVersion
	in.OSType, in.OSSKU, in.VMSize = pool.Props.OSType, pool.Props.OSSKU, pool.Props.VMSize
	in.EnableFIPS = pool.Props.EnableFIPS != nil && *pool.Props.EnableFIPS
	in.CreationData.SourceResourceID = rec.ID
	r.Properties, err = json.Marshal(in)
	return err
}

// snapshotOf reads the snapshot a pool is created from (nil when its
// creationData names none).
func snapshotOf(tx store.Tx, p *Pool) (*SnapshotProperties, error) {
	raw, ok := p.extra["creationData"]
	if !ok {
		return nil, nil
	}
	var cd CreationData
	if err := json.Unmarshal(raw, &cd); err != nil {
		return nil, invalidParameter("agentPoolProfile.creationData", "creationData could not be read: %v", err)
	}
	if cd.SourceResourceID == "" {
		return nil, nil
	}
	id, err := resourceid.Parse(cd.SourceResourceID)
	if err != nil || !strings.EqualFold(id.Type(), SnapshotType) {
		return nil, invalidParameter("agentPoolProfile.creationData.sourceResourceId",
			"The creation data's source '%s' is not the resource ID of a snapshot (%s).", cd.SourceResourceID, SnapshotType)
	}
	rec, err := tx.Get(id.String())
	if errors.Is(err, store.ErrNotFound) {
		return nil, Error(http.StatusNotFound, "NotFound", "agentPoolProfile.creationData.sourceResourceId",
			"The snapshot '%s' was not found.", cd.SourceResourceID)
	}
	if err != nil {
		return nil, err
	}
	var s SnapshotProperties
	if err := json.Unmarshal(rec.Properties, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// fromSnapshot gives a new pool created from a snapshot what the snapshot
// recorded: its Kubernetes version (a different one asked for is refused,
// as AKS refuses it), node image, OS type and SKU, VM size unless the pool
// names its own, and FIPS.
func fromSnapshot(tx store.Tx, p *Pool) error {
	s, err := snapshotOf(tx, p)
	if err != nil || s == nil {
		return err
	}
	if v := p.Props.OrchestratorVersion; v != "" && v != s.KubernetesVersion && !strings.HasPrefix(s.KubernetesVersion, v+".") {
		name := p.Props.Name
		if p.Record != nil {
			name = p.Record.Name
		}
		return invalidParameter("agentPoolProfile.orchestratorVersion",
			"The orchestrator version %s of agent pool %s is not the snapshot's Kubernetes version %s: a pool created from a snapshot runs the snapshot's version.",
			v, name, s.KubernetesVersion)
	}
	p.Props.OrchestratorVersion = s.KubernetesVersion
	p.Props.NodeImageVersion = s.NodeImageVersion
	if s.OSType != "" {
		p.Props.OSType = s.OSType
	}
	if s.OSSKU != "" {
		p.Props.OSSKU = s.OSSKU
	}
	if p.Props.VMSize == "" {
		p.Props.VMSize = s.VMSize
	}
	fips := s.EnableFIPS
	p.Props.EnableFIPS = &fips
	return nil
}
