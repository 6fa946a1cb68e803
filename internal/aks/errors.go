package aks

import (
	"fmt"
	"net/http"

	"github.com/localaks/localaks/internal/arm"
)

// aksError is an error in the AKS resource provider's own body shape
// ({"code","message","subcode","target","details"}), which is how AKS
// answers its validation and conflict errors.
func aksError(status int, code, target, format string, args ...any) *arm.Error {
	return &arm.Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...), Target: target, Native: true}
}

// invalidParameter is AKS's InvalidParameter with its usual wording.
func invalidParameter(target, format string, args ...any) *arm.Error {
	return aksError(http.StatusBadRequest, "InvalidParameter", target,
		"The value of parameter %s is invalid. Error details: %s. Please see https://aka.ms/aks-naming-rules for more details.",
		target, fmt.Sprintf(format, args...))
}

// badRequest is a 400 with an AKS code.
func badRequest(code, target, format string, args ...any) *arm.Error {
	return aksError(http.StatusBadRequest, code, target, format, args...)
}

// operationInProgress is the 409 for a second mutating operation.
func operationInProgress(state string) *arm.Error {
	return aksError(http.StatusConflict, "OperationNotAllowed", "",
		"Operation is not allowed: Another operation (%s) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details", state)
}

// poolOperationInProgress is the 409 for a cluster operation while a pool
// operation runs.
func poolOperationInProgress(pool, state string) *arm.Error {
	return aksError(http.StatusConflict, "OperationNotAllowed", "",
		"Operation is not allowed: Another agentpool operation (%s - %s) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details", pool, state)
}
