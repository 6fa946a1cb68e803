package aks

import (
	"errors"

	"github.com/localaks/localaks/internal/store"
)

// How operations end: the provisioning states AKS shows once an operation
// is over, and which clusters serve restarts.

// TerminalState maps an operation's end to a provisioning state.
func TerminalState(status string) string {
	switch status {
	case store.StatusSucceeded:
		return StateSucceeded
	case store.StatusCanceled:
		return StateCanceled
	}
	return StateFailed
}

// PowerChange is what a finished cluster operation does to the power
// state: nothing, or Running/Stopped once it has succeeded.
type PowerChange string

// FinishCluster ends cluster operation op: the cluster and every pool it
// left mid-way take the terminal state, and the operation marker is
// cleared; a successful start or stop sets the power state. A cluster that
// is gone is not an error.
func FinishCluster(tx store.Tx, clusterID string, op *store.Operation, power PowerChange) error {
	c, pools, err := Load(tx, clusterID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	state := TerminalState(op.Status)
	c.end(op.ID, state)
	if power != "" && op.Status == store.StatusSucceeded {
		setPower(c, pools, string(power))
	}
	for _, p := range pools {
		p.end(op.ID, state, !Terminal(p.Props.ProvisioningState))
	}
	return Save(tx, c, pools...)
}

// FinishClusterDelete ends a delete: the cluster record goes when it
// succeeded; otherwise it ends as any cluster operation.
func FinishClusterDelete(tx store.Tx, clusterID string, op *store.Operation) error {
	if op.Status == store.StatusSucceeded {
		_, err := tx.Delete(clusterID)
		return err
	}
	return FinishCluster(tx, clusterID, op, "")
}

// FinishPool ends pool operation op; a successful delete removes the pool.
func FinishPool(tx store.Tx, clusterID, pool string, op *store.Operation, deleting bool) error {
	r, err := tx.Get(clusterID + "/agentPools/" + pool)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if deleting && op.Status == store.StatusSucceeded {
		_, err := tx.Delete(r.ID)
		return err
	}
	p, err := DecodePool(r)
	if err != nil {
		return err
	}
	p.end(op.ID, TerminalState(op.Status), false)
	return Save(tx, nil, p)
}

// Resumable reports whether serve starts the cluster's control plane when
// it starts: the cluster runs, no operation works on it (those resume with
// their operation), and it has had a control plane.
func (c *Cluster) Resumable() bool {
	return !c.Stopped() && Terminal(c.Props.ProvisioningState) && c.Props.Localaks.APIServerPort != 0
}

// ResumableClusters lists the IDs of the clusters to resume.
func ResumableClusters(tx store.Tx) ([]string, error) {
	recs, err := tx.List(store.Query{Type: ClusterType})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, r := range recs {
		c, err := DecodeCluster(r)
		if err != nil {
			return nil, err
		}
		if c.Resumable() {
			ids = append(ids, r.ID)
		}
	}
	return ids, nil
}

// CheckTerminal refuses a mutating operation while another runs on the
// cluster or on one of its pools.
func CheckTerminal(c *Cluster, pools []*Pool) error {
	if !Terminal(c.Props.ProvisioningState) {
		return operationInProgress(c.Props.ProvisioningState)
	}
	for _, p := range pools {
		if !Terminal(p.Props.ProvisioningState) {
			return poolOperationInProgress(p.Record.Name, p.Props.ProvisioningState)
		}
	}
	return nil
}
