package arm

import (
	"context"
	"net/http"
)

// Authorizer decides whether the caller of req may perform action (an
// Azure RBAC action such as Microsoft.Network/virtualNetworks/write) at the
// request's scope, from the role assignments at that scope and above.
type Authorizer func(ctx context.Context, req *Request, action string) (bool, error)

// rbacAction is the action ARM checks for a request: {type}/read for GET
// and HEAD, /write for PUT and PATCH, /delete for DELETE, and
// {type}/{action}/action for a POST action (the list* ones too).
func rbacAction(req *Request) string {
	typ := req.Route.Type.FullType()
	switch {
	case req.Route.Action != "":
		return typ + "/" + req.Route.Action + "/action"
	case req.Method() == http.MethodPut || req.Method() == http.MethodPatch || req.Method() == http.MethodPost:
		return typ + "/write"
	case req.Method() == http.MethodDelete:
		return typ + "/delete"
	}
	return typ + "/read"
}

// authorize refuses a request whose caller has no role assignment granting
// its action at its scope, with ARM's 403 AuthorizationFailed. Requests
// at the tenant (the subscription list, providers, metadata) are not
// checked: there is nothing to assign roles on there.
func (s *Server) authorize(ctx context.Context, req *Request) error {
	if s.cfg.Authorize == nil || req.Subscription() == "" {
		return nil
	}
	act := rbacAction(req)
	ok, err := s.cfg.Authorize(ctx, req, act)
	if err != nil {
		return ErrInternal(err)
	}
	if ok {
		return nil
	}
	caller := req.Caller.AppID
	if caller == "" {
		caller = req.Caller.ObjectID
	}
	return Errorf(http.StatusForbidden, "AuthorizationFailed",
		"The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
		caller, req.Caller.ObjectID, act, req.Route.ID.String())
}
