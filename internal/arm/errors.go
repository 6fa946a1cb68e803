// Package arm is the Azure Resource Manager front door of localaks: request
// routing by resource ID, api-version checks, authentication, the CloudError
// envelope, paging, ETags and the long-running-operation engine every
// resource provider shares.
package arm

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/localaks/localaks/internal/store"
)

// Error is an error as ARM returns it. The message is for the client; Cause
// is kept for the log only.
type Error struct {
	Status  int              `json:"-"`
	Code    string           `json:"code"`
	Message string           `json:"message"`
	Target  string           `json:"target,omitempty"`
	Details []*Error         `json:"details,omitempty"`
	Info    []AdditionalInfo `json:"additionalInfo,omitempty"`
	// Native renders the error unwrapped, as the AKS resource provider
	// returns its own validation errors: {"code":…,"message":…,"subcode":"",…}.
	Native bool  `json:"-"`
	Cause  error `json:"-"`
	// challenge is the WWW-Authenticate header of a 401.
	challenge string
}

// AdditionalInfo is the additionalInfo entry of an ARM error.
type AdditionalInfo struct {
	Type string `json:"type"`
	Info any    `json:"info"`
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Cause }

// Errorf builds an ARM error.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithTarget sets the target and returns e.
func (e *Error) WithTarget(target string) *Error {
	e.Target = target
	return e
}

// body is the JSON the client receives.
func (e *Error) body() any {
	if e.Native {
		details := any(nil)
		if len(e.Details) > 0 {
			details = e.Details
		}
		return map[string]any{"code": e.Code, "message": e.Message, "target": e.Target, "subcode": "", "details": details}
	}
	return map[string]any{"error": e}
}

// OperationError converts the error to the shape stored on a failed
// operation.
func (e *Error) OperationError() *store.OperationError {
	out := &store.OperationError{Code: e.Code, Message: e.Message, Target: e.Target}
	for _, d := range e.Details {
		out.Details = append(out.Details, *d.OperationError())
	}
	return out
}

// Common ARM errors.

// ErrInternal hides an unexpected failure from the client, keeping its cause
// for the log.
func ErrInternal(cause error) *Error {
	return &Error{Status: http.StatusInternalServerError, Code: "InternalServerError",
		Message: "Encountered internal server error. Diagnostic information has been recorded; see the localaks log.", Cause: cause}
}

// ErrResourceNotFound is ARM's 404 for a missing tracked resource.
func ErrResourceNotFound(typ, name, rg string) *Error {
	return Errorf(http.StatusNotFound, "ResourceNotFound",
		"The Resource '%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", typ, name, rg)
}

// ErrResourceGroupNotFound is ARM's 404 for a missing resource group.
func ErrResourceGroupNotFound(rg string) *Error {
	return Errorf(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", rg)
}

// ErrInvalidRequestContent reports a body that cannot be deserialised.
func ErrInvalidRequestContent(detail string) *Error {
	return Errorf(http.StatusBadRequest, "InvalidRequestContent",
		"The request content was invalid and could not be deserialized: '%s'.", detail)
}

// ErrPreconditionFailed is the 412 for failed If-Match / If-None-Match.
func ErrPreconditionFailed() *Error {
	return Errorf(http.StatusPreconditionFailed, "PreconditionFailed",
		"The condition specified using HTTP conditional header(s) is not met.")
}

// writeError renders err (an *Error or anything else, which becomes a 500).
func writeError(w http.ResponseWriter, err *Error) {
	if err.challenge != "" {
		w.Header().Set("WWW-Authenticate", err.challenge)
	}
	writeJSON(w, err.Status, err.body())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if v == nil {
		w.WriteHeader(status)
		return
	}
	body, err := json.Marshal(v)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // the client went away; nothing to do
}
