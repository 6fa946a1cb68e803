package resources

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/regions"
	"github.com/localaks/localaks/internal/store"
)

const (
	kindRegister   = "Microsoft.Resources/providers/register"
	kindUnregister = "Microsoft.Resources/providers/unregister"
)

// providerBody renders a resource provider as ARM lists it. state is ""
// for the tenant-level view, which has no registration.
func (p *Provider) providerBody(ns, sub, state string) map[string]any {
	var types []map[string]any
	if strings.EqualFold(ns, Namespace) {
		for _, t := range []string{"resourceGroups", "subscriptions", "tenants", "locations", "providers", "resources", "tags", "tagNames", "operationresults"} {
			types = append(types, map[string]any{"resourceType": t, "locations": []string{}, "apiVersions": versionsOf(t), "capabilities": "None"})
		}
	} else {
		for _, rt := range p.reg.TypesOf(ns) {
			locs := rt.Locations
			if locs == nil {
				locs = []string{}
			}
			var display []string
			for _, l := range locs {
				if r, ok := regions.Lookup(l); ok {
					display = append(display, r.DisplayName)
				}
			}
			entry := map[string]any{"resourceType": rt.Type, "locations": nonNil(display), "apiVersions": rt.APIVersions, "capabilities": "None"}
			if len(rt.APIVersions) > 0 {
				entry["defaultApiVersion"] = rt.APIVersions[0]
			}
			types = append(types, entry)
		}
	}
	body := map[string]any{
		"id":                 "/providers/" + ns,
		"namespace":          ns,
		"resourceTypes":      nonNil(types),
		"registrationPolicy": "RegistrationRequired",
	}
	if sub != "" {
		body["id"] = "/subscriptions/" + sub + "/providers/" + ns
		body["registrationState"] = state
	}
	return body
}

func (p *Provider) namespaces() []string {
	return append([]string{Namespace}, p.reg.ProviderNamespaces()...)
}

func (p *Provider) listProviders(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	sub := req.Subscription()
	var out []map[string]any
	err := p.store.View(ctx, func(tx store.Tx) error {
		for _, ns := range p.namespaces() {
			state := ""
			if sub != "" {
				var err error
				if state, err = arm.RegistrationState(tx, sub, ns); err != nil {
					return err
				}
			}
			out = append(out, p.providerBody(ns, sub, state))
		}
		return nil
	})
	if err != nil {
		return nil, arm.ErrInternal(err)
	}
	page, next, err := arm.Paginate(req, out, func(m map[string]any) string { return strings.ToLower(m["namespace"].(string)) })
	if err != nil {
		return nil, err
	}
	return arm.OK(arm.List{Value: page, NextLink: next}), nil
}

// canonicalNamespace resolves a namespace in any casing, or answers ARM's
// error for an unknown one.
func (p *Provider) canonicalNamespace(ns string) (string, error) {
	if strings.EqualFold(ns, Namespace) {
		return Namespace, nil
	}
	for _, known := range p.reg.ProviderNamespaces() {
		if strings.EqualFold(known, ns) {
			return known, nil
		}
	}
	return "", arm.Errorf(http.StatusNotFound, "InvalidResourceNamespace", "The resource namespace '%s' is invalid.", ns)
}

func (p *Provider) getProvider(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	ns, err := p.canonicalNamespace(req.Route.ID.Name())
	if err != nil {
		return nil, err
	}
	sub, state := req.Subscription(), ""
	if sub != "" {
		if err := p.store.View(ctx, func(tx store.Tx) error {
			state, err = arm.RegistrationState(tx, sub, ns)
			return err
		}); err != nil {
			return nil, arm.ErrInternal(err)
		}
	}
	return arm.OK(p.providerBody(ns, sub, state)), nil
}

func (p *Provider) register(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	return p.changeRegistration(ctx, req, arm.Registered, arm.Registering, kindRegister)
}

func (p *Provider) unregister(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	return p.changeRegistration(ctx, req, arm.Unregistered, arm.Unregistering, kindUnregister)
}

// changeRegistration moves a namespace towards target through the
// transitional state; an operation finishes the move in the background, so
// `az provider register` sees "Registering" first, as in Azure.
func (p *Provider) changeRegistration(ctx context.Context, req *arm.Request, target, transitional, kind string) (*arm.Response, error) {
	ns, err := p.canonicalNamespace(req.Route.ID.Name())
	if err != nil {
		return nil, err
	}
	sub := req.Subscription()
	op, err := p.engine.NewOperation(kind, sub, Namespace, "", arm.RegistrationID(sub, ns), nil)
	if err != nil {
		return nil, arm.ErrInternal(err)
	}
	state := ""
	errAlready := errors.New("already there")
	err = p.engine.Submit(ctx, op, func(tx store.Tx) error {
		current, err := arm.RegistrationState(tx, sub, ns)
		if err != nil {
			return err
		}
		if current == target {
			state = current
			return errAlready
		}
		state = transitional
		return putRegistration(tx, sub, ns, transitional)
	})
	if err != nil && !errors.Is(err, errAlready) {
		return nil, arm.ErrInternal(err)
	}
	return arm.OK(p.providerBody(ns, sub, state)), nil
}

func putRegistration(tx store.Tx, sub, ns, state string) error {
	props, err := json.Marshal(arm.RegistrationProperties{RegistrationState: state})
	if err != nil {
		return err
	}
	return tx.Put(&store.Resource{ID: arm.RegistrationID(sub, ns), Type: "Microsoft.Resources/providers", Name: ns, Properties: props})
}

func (p *Provider) finishRegistration(target string) func(store.Tx, *store.Operation) error {
	return func(tx store.Tx, op *store.Operation) error {
		r, err := tx.Get(op.ResourceID)
		if err != nil {
			return err
		}
		state := target
		if op.Status != store.StatusSucceeded {
			state = arm.NotRegistered
		}
		return putRegistration(tx, op.Subscription, r.Name, state)
	}
}
