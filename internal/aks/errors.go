package aks

import (
	"fmt"
	"net/http"

	"github.com/localaks/localaks/internal/arm"
)

// The AKS resource provider's errors. AKS answers its validation and
// conflict errors in its own body shape ({"code","message","subcode",
// "target","details"}, arm.Error's Native form); every AKS error localaks
// returns is built here.

// Error is an AKS error with any status and code.
func Error(status int, code, target, format string, args ...any) *arm.Error {
	return &arm.Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...), Target: target, Native: true}
}

// invalidParameter is AKS's InvalidParameter with its naming-rules wording.
func invalidParameter(target, format string, args ...any) *arm.Error {
	return Error(http.StatusBadRequest, "InvalidParameter", target,
		"The value of parameter %s is invalid. Error details: %s. Please see https://aka.ms/aks-naming-rules for more details.",
		target, fmt.Sprintf(format, args...))
}

// badRequest is a 400 with an AKS code.
func badRequest(code, target, format string, args ...any) *arm.Error {
	return Error(http.StatusBadRequest, code, target, format, args...)
}

// notAllowed is the 409 OperationNotAllowed AKS answers for an operation
// the cluster's state does not permit.
func notAllowed(format string, args ...any) *arm.Error {
	return Error(http.StatusConflict, "OperationNotAllowed", "", format, args...)
}

// operationInProgress is the 409 for a second mutating operation.
func operationInProgress(state string) *arm.Error {
	return notAllowed("Operation is not allowed: Another operation (%s) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details", state)
}

// poolOperationInProgress is the 409 for an operation while a pool
// operation runs.
func poolOperationInProgress(pool, state string) *arm.Error {
	return notAllowed("Operation is not allowed: Another agentpool operation (%s - %s) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details", pool, state)
}

// stoppedRefusal refuses what cannot be done to a stopped cluster.
func stoppedRefusal(c *Cluster, what string) error {
	if c.Stopped() {
		return notAllowed("Operation is not allowed: managed cluster is in Provisioning State(%s) and Power State(Stopped), %s cannot be performed. Please start the cluster first: https://aka.ms/aks/start",
			c.Props.ProvisioningState, what)
	}
	return nil
}

// errClusterNotFound is ARM's 404 for a managed cluster.
func errClusterNotFound(name, rg string) *arm.Error {
	return arm.ErrResourceNotFound(ClusterType, name, rg)
}
