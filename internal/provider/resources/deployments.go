package resources

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/armtemplate"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

// Template deployments (Microsoft.Resources/deployments at resource-group
// scope): `az deployment group create`, ARM templates from the SDKs. The
// template is evaluated by armtemplate; its resources are then deployed one
// after the other through localaks's own ARM API, as ARM's deployment
// engine calls resource providers — same validation, same operations.

const (
	deploymentType = "Microsoft.Resources/deployments"
	kindDeploy     = "Microsoft.Resources/deployments/write"
)

// Self lets deployments call localaks's ARM API: its URL, a client that
// trusts it, and tokens for the deployment's caller.
type Self struct {
	BaseURL string
	Client  *http.Client
	Token   func(c arm.Caller) (string, error)
}

type deploymentInput struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties struct {
		Template       json.RawMessage            `json:"template"`
		TemplateLink   json.RawMessage            `json:"templateLink"`
		Parameters     map[string]json.RawMessage `json:"parameters"`
		ParametersLink json.RawMessage            `json:"parametersLink"`
		Mode           string                     `json:"mode"`
	} `json:"properties"`
}

// deploymentProps are a deployment's stored properties; Localaks is what
// the API does not show (the template and the caller, to run it).
type deploymentProps struct {
	TemplateHash      string                `json:"templateHash"`
	Parameters        map[string]any        `json:"parameters,omitempty"`
	Mode              string                `json:"mode"`
	ProvisioningState string                `json:"provisioningState"`
	Timestamp         time.Time             `json:"timestamp"`
	Duration          string                `json:"duration"`
	CorrelationID     string                `json:"correlationId"`
	Providers         []any                 `json:"providers"`
	Dependencies      []any                 `json:"dependencies"`
	Outputs           map[string]any        `json:"outputs,omitempty"`
	OutputResources   []map[string]string   `json:"outputResources,omitempty"`
	Error             *store.OperationError `json:"error,omitempty"`
	Localaks          *deploymentState      `json:"localaks,omitempty"`
}

type deploymentState struct {
	Template   json.RawMessage `json:"template"`
	Parameters map[string]any  `json:"parameters"`
	Caller     arm.Caller      `json:"caller"`
	Operation  string          `json:"operation"`
	// Operations are the per-resource deployment operations so far.
	Operations []map[string]any `json:"operations,omitempty"`
}

// registerDeployments serves deployments at
// /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Resources/deployments/{name}
// and at the older path without the provider
// (/subscriptions/{s}/resourcegroups/{rg}/deployments/{name}), which az
// 2.45 uses for deployment operations.
func (p *Provider) registerDeployments(reg *arm.Registry) {
	for _, typ := range []string{"deployments", "subscriptions/resourceGroups/deployments"} {
		t := &arm.ResourceType{Namespace: Namespace, Type: typ, APIVersions: APIVersions, Builtin: true, LenientJSON: true}
		t.Get, t.Put, t.Delete, t.List = canonical(p.getDeployment), canonical(p.putDeployment), canonical(p.deleteDeployment), canonical(p.listDeployments)
		t.Head = canonical(func(ctx context.Context, req *arm.Request) (*arm.Response, error) {
			if _, err := p.getDeployment(ctx, req); err != nil {
				return nil, err
			}
			return arm.NoContent(), nil
		})
		t.Actions = map[string]arm.HandlerFunc{"validate": canonical(p.validateDeployment), "cancel": canonical(p.cancelDeployment)}
		reg.Register(t)
		ops := &arm.ResourceType{Namespace: Namespace, Type: typ + "/operations", APIVersions: APIVersions, Builtin: true}
		ops.List = canonical(p.listDeploymentOperations)
		reg.Register(ops)
	}
	p.engine.RegisterKind(&arm.OperationKind{Name: kindDeploy, Run: p.runDeployment, Finish: p.finishDeployment})
}

// canonical gives a handler the deployment's ID in the provider form
// (requests on the collection keep the resource group's).
func canonical(h arm.HandlerFunc) arm.HandlerFunc {
	return func(ctx context.Context, req *arm.Request) (*arm.Response, error) {
		id := req.Route.ID
		lower := strings.ToLower(id.String())
		if i := strings.Index(lower, "/deployments/"); i >= 0 && id.ResourceGroupName() != "" {
			name := id.String()[i+len("/deployments/"):]
			if j := strings.Index(name, "/"); j >= 0 {
				name = name[:j]
			}
			req.Route.ID = resourceid.ResourceGroup(id.SubscriptionID(), id.ResourceGroupName()).Child(Namespace, "deployments", name)
		}
		return h(ctx, req)
	}
}

// prepare parses and checks a deployment request: the template, its
// parameters and the plan. Errors are ARM's (InvalidTemplate, …).
func (p *Provider) prepare(ctx context.Context, req *arm.Request) (*deploymentInput, *armtemplate.Deployment, map[string]any, error) {
	id := req.Route.ID
	var in deploymentInput
	if err := req.DecodeBody(&in, true); err != nil {
		return nil, nil, nil, err
	}
	if id.ResourceGroupName() == "" {
		return nil, nil, nil, arm.Errorf(http.StatusBadRequest, "InvalidDeploymentScope",
			"localaks deploys templates at resource-group scope: /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Resources/deployments/{name}.")
	}
	pr := in.Properties
	if len(pr.TemplateLink) > 0 && string(pr.TemplateLink) != "null" || len(pr.ParametersLink) > 0 && string(pr.ParametersLink) != "null" {
		return nil, nil, nil, arm.Errorf(http.StatusBadRequest, "InvalidContentLink",
			"Unable to download deployment content: localaks has no network access; pass the template and parameters inline.")
	}
	if len(pr.Template) == 0 || string(pr.Template) == "null" {
		return nil, nil, nil, arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid: properties.template is required.")
	}
	switch strings.ToLower(pr.Mode) {
	case "incremental":
	case "complete":
		return nil, nil, nil, arm.Errorf(http.StatusBadRequest, "InvalidDeploymentMode",
			"Complete mode (deleting what the template does not name) is not supported by localaks; use Incremental.")
	default:
		return nil, nil, nil, arm.Errorf(http.StatusBadRequest, "InvalidRequestContent",
			"The request content was invalid: properties.mode must be Incremental or Complete, not '%s'.", pr.Mode)
	}
	values := map[string]any{}
	for name, raw := range pr.Parameters {
		var v struct {
			Value     json.RawMessage `json:"value"`
			Reference json.RawMessage `json:"reference"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, nil, nil, arm.ErrInvalidRequestContent("parameter " + name + ": " + err.Error())
		}
		if len(v.Reference) > 0 {
			return nil, nil, nil, arm.Errorf(http.StatusBadRequest, "InvalidTemplate",
				"Deployment template validation failed: 'Key Vault references (parameter '%s') are not supported by localaks'.", name)
		}
		dec := json.NewDecoder(bytes.NewReader(v.Value))
		dec.UseNumber()
		var x any
		if err := dec.Decode(&x); err != nil {
			return nil, nil, nil, arm.ErrInvalidRequestContent("parameter " + name + ": " + err.Error())
		}
		values[name] = x
	}
	tmpl, err := armtemplate.Parse(pr.Template)
	if err != nil {
		return nil, nil, nil, templateError(err)
	}
	scope, err := p.scope(ctx, req.Caller, id)
	if err != nil {
		return nil, nil, nil, err
	}
	d, err := armtemplate.Bind(tmpl, scope, values)
	if err != nil {
		return nil, nil, nil, templateError(err)
	}
	return &in, d, values, nil
}

func templateError(err error) error {
	var te *armtemplate.Error
	if errors.As(err, &te) {
		return arm.Errorf(http.StatusBadRequest, te.Code, "%s", te.Message)
	}
	return arm.Errorf(http.StatusBadRequest, "InvalidTemplate", "Deployment template validation failed: '%s'.", err.Error())
}

// scope is where a deployment runs; the resource group must exist.
func (p *Provider) scope(ctx context.Context, caller arm.Caller, id resourceid.ID) (armtemplate.Scope, error) {
	s := armtemplate.Scope{TenantID: caller.TenantID, SubscriptionID: id.SubscriptionID(), ResourceGroup: id.ResourceGroupName(), DeploymentName: id.Name()}
	err := p.store.View(ctx, func(tx store.Tx) error {
		rg, err := loadGroup(tx, resourceid.ResourceGroup(id.SubscriptionID(), id.ResourceGroupName()))
		if err != nil {
			return err
		}
		s.Location = rg.Location
		return nil
	})
	return s, err
}

func (p *Provider) validateDeployment(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	_, d, _, err := p.prepare(ctx, req)
	if err != nil {
		return nil, err
	}
	var validated []map[string]string
	for _, r := range d.Plan {
		validated = append(validated, map[string]string{"id": r.ID})
	}
	return arm.OK(map[string]any{
		"id": req.Route.ID.String(), "name": req.Route.ID.Name(), "type": deploymentType,
		"properties": map[string]any{"provisioningState": "Succeeded", "mode": "Incremental", "parameters": d.Parameters(),
			"timestamp": p.now().UTC(), "duration": "PT0S", "correlationId": uuid.NewString(), "validatedResources": validated},
	}), nil
}

func (p *Provider) putDeployment(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	id := req.Route.ID
	in, d, values, err := p.prepare(ctx, req)
	if err != nil {
		return nil, err
	}
	op, err := p.engine.NewOperation(kindDeploy, req.Subscription(), Namespace, "", id.String(), nil)
	if err != nil {
		return nil, arm.ErrInternal(err)
	}
	sum := sha256.Sum256(in.Properties.Template)
	props := &deploymentProps{
		TemplateHash: new(big.Int).SetBytes(sum[:8]).String(), Parameters: d.Parameters(), Mode: "Incremental",
		ProvisioningState: "Running", Timestamp: p.now().UTC(), Duration: "PT0S", CorrelationID: uuid.NewString(),
		Providers: []any{}, Dependencies: []any{},
		Localaks: &deploymentState{Template: in.Properties.Template, Parameters: values, Caller: req.Caller, Operation: op.ID},
	}
	status := http.StatusCreated
	var rec *store.Resource
	err = p.engine.Submit(ctx, op, func(tx store.Tx) error {
		existing, err := tx.Get(id.String())
		if err == nil {
			status = http.StatusOK
			var old deploymentProps
			if err := json.Unmarshal(existing.Properties, &old); err != nil {
				return fmt.Errorf("decode properties of %s: %w", existing.ID, err)
			}
			if old.Localaks != nil {
				if running, err := tx.GetOperation(old.Localaks.Operation); err == nil && !running.Terminal() {
					return arm.Errorf(http.StatusConflict, "DeploymentActive",
						"Unable to edit or replace deployment '%s': previous deployment from '%s' is still active (please see https://aka.ms/arm-deploy for usage details).",
						id.Name(), old.Timestamp.Format(time.RFC3339))
				}
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		raw, err := json.Marshal(props)
		if err != nil {
			return err
		}
		rec = &store.Resource{ID: id.String(), Type: deploymentType, Name: id.Name(), Tags: in.Tags, Properties: raw}
		arm.Stamp(rec, req.Caller, p.now())
		return tx.Put(rec)
	})
	if err != nil {
		return nil, err
	}
	body, err := deploymentBody(rec)
	if err != nil {
		return nil, err
	}
	return p.engine.Accepted(req, op, status, body), nil
}

// deploymentBody is a deployment as ARM shows it (without the template).
func deploymentBody(r *store.Resource) (map[string]any, error) {
	var props map[string]any
	if len(r.Properties) > 0 {
		if err := json.Unmarshal(r.Properties, &props); err != nil {
			return nil, fmt.Errorf("decode properties of %s: %w", r.ID, err)
		}
	}
	delete(props, "localaks")
	body := map[string]any{"id": r.ID, "name": r.Name, "type": deploymentType, "properties": props}
	if len(r.Tags) > 0 {
		body["tags"] = r.Tags
	}
	return body, nil
}

func (p *Provider) loadDeployment(tx store.Tx, id resourceid.ID) (*store.Resource, error) {
	if _, err := loadGroup(tx, resourceid.ResourceGroup(id.SubscriptionID(), id.ResourceGroupName())); err != nil {
		return nil, err
	}
	r, err := tx.Get(id.String())
	if errors.Is(err, store.ErrNotFound) {
		return nil, arm.Errorf(http.StatusNotFound, "DeploymentNotFound", "Deployment '%s' could not be found.", id.Name())
	}
	return r, err
}

// loadDeploymentProps is loadDeployment with the properties decoded.
func (p *Provider) loadDeploymentProps(tx store.Tx, id resourceid.ID) (*store.Resource, *deploymentProps, error) {
	r, err := p.loadDeployment(tx, id)
	if err != nil {
		return nil, nil, err
	}
	var props deploymentProps
	if err := json.Unmarshal(r.Properties, &props); err != nil {
		return nil, nil, err
	}
	return r, &props, nil
}

func (p *Provider) getDeployment(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	return arm.ViewOK(ctx, p.store, func(tx store.Tx) (any, error) {
		r, err := p.loadDeployment(tx, req.Route.ID)
		if err != nil {
			return nil, err
		}
		return deploymentBody(r)
	})
}

func (p *Provider) listDeployments(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	id := req.Route.ID
	out := []map[string]any{}
	err := p.store.View(ctx, func(tx store.Tx) error {
		if _, err := loadGroup(tx, resourceid.ResourceGroup(id.SubscriptionID(), id.ResourceGroupName())); err != nil {
			return err
		}
		rs, err := tx.List(store.Query{Subscription: id.SubscriptionID(), ResourceGroup: id.ResourceGroupName(), Type: deploymentType})
		if err != nil {
			return err
		}
		for _, r := range rs {
			body, err := deploymentBody(r)
			if err != nil {
				return err
			}
			out = append(out, body)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(arm.List{Value: out}), nil
}

// deleteDeployment removes the deployment record (not what it deployed,
// as in ARM); a running deployment cannot be deleted.
func (p *Provider) deleteDeployment(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	n := 0
	err := p.store.Update(ctx, func(tx store.Tx) error {
		r, err := p.loadDeployment(tx, req.Route.ID)
		if err != nil {
			var ae *arm.Error
			if errors.As(err, &ae) && ae.Status == http.StatusNotFound && ae.Code == "DeploymentNotFound" {
				return nil
			}
			return err
		}
		var props deploymentProps
		if err := json.Unmarshal(r.Properties, &props); err != nil {
			return fmt.Errorf("decode properties of %s: %w", r.ID, err)
		}
		if props.ProvisioningState == "Running" {
			return arm.Errorf(http.StatusConflict, "DeploymentActive", "The deployment '%s' is still running; cancel it first.", req.Route.ID.Name())
		}
		n, err = tx.Delete(r.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return arm.Deleted(n > 0), nil
}

func (p *Provider) cancelDeployment(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	var opID string
	err := p.store.View(ctx, func(tx store.Tx) error {
		_, props, err := p.loadDeploymentProps(tx, req.Route.ID)
		if err != nil {
			return err
		}
		if props.ProvisioningState != "Running" || props.Localaks == nil {
			return arm.Errorf(http.StatusConflict, "DeploymentCannotBeCancelled", "The deployment '%s' is not running.", req.Route.ID.Name())
		}
		opID = props.Localaks.Operation
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := p.engine.Cancel(ctx, opID); err != nil {
		return nil, err
	}
	return arm.NoContent(), nil
}

func (p *Provider) listDeploymentOperations(ctx context.Context, req *arm.Request) (*arm.Response, error) {
	ops := []map[string]any{}
	err := p.store.View(ctx, func(tx store.Tx) error {
		_, props, err := p.loadDeploymentProps(tx, req.Route.ID)
		if err != nil {
			return err
		}
		if props.Localaks != nil {
			ops = append(ops, props.Localaks.Operations...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return arm.OK(arm.List{Value: ops}), nil
}

// runDeployment deploys the planned resources in order, each through the
// ARM API, waiting for its operation; reference() reads what is deployed.
// A rerun after a restart deploys them again (PUTs are idempotent).
func (p *Provider) runDeployment(ctx context.Context, op *store.Operation) (*arm.Outcome, error) {
	id, err := resourceid.Parse(op.ResourceID)
	if err != nil {
		return nil, fmt.Errorf("deployment of operation %s: %w", op.ID, err)
	}
	var props deploymentProps
	if err := p.store.View(ctx, func(tx store.Tx) error {
		r, err := tx.Get(id.String())
		if err != nil {
			return err
		}
		return json.Unmarshal(r.Properties, &props)
	}); err != nil {
		return nil, err
	}
	st := props.Localaks
	if p.self == nil || st == nil {
		return nil, errors.New("deployments cannot reach the ARM API")
	}
	tmpl, err := armtemplate.Parse(st.Template)
	if err != nil {
		return nil, templateError(err)
	}
	scope, err := p.scope(ctx, st.Caller, id)
	if err != nil {
		return nil, err
	}
	call := &selfCall{self: p.self, caller: st.Caller}
	var d *armtemplate.Deployment
	scope.Reference = func(rid string, full bool) (any, error) {
		version := defaultAPIVersion(rid)
		for _, r := range d.Plan {
			if strings.EqualFold(r.ID, rid) {
				version = r.APIVersion
			}
		}
		var body map[string]any
		status, err := call.do(ctx, http.MethodGet, rid+"?api-version="+version, nil, &body)
		if err != nil {
			return nil, err
		}
		if status != http.StatusOK {
			return nil, fmt.Errorf("reference('%s'): %d %v", rid, status, body["error"])
		}
		if full {
			return body, nil
		}
		return body["properties"], nil
	}
	d, err = armtemplate.Bind(tmpl, scope, st.Parameters)
	if err != nil {
		return nil, templateError(err)
	}
	// After a restart, resources already deployed are not deployed again.
	var records []map[string]any
	var outputs []map[string]string
	done := map[string]bool{}
	for i, rec := range st.Operations {
		var o struct {
			Properties struct {
				ProvisioningState string            `json:"provisioningState"`
				TargetResource    map[string]string `json:"targetResource"`
			} `json:"properties"`
		}
		raw, err := json.Marshal(rec)
		if err == nil {
			err = json.Unmarshal(raw, &o)
		}
		if err != nil {
			return nil, fmt.Errorf("decode operation %d of %s: %w", i, id, err)
		}
		if o.Properties.ProvisioningState == "Succeeded" {
			done[strings.ToLower(o.Properties.TargetResource["id"])] = true
			records = append(records, rec)
		}
	}
	for _, r := range d.Plan {
		if done[strings.ToLower(r.ID)] {
			outputs = append(outputs, map[string]string{"id": r.ID})
			continue
		}
		started := time.Now()
		rec := map[string]any{"id": id.String() + "/operations/" + uuid.NewString(), "operationId": strings.ToUpper(uuid.NewString()[:16])}
		opProps := map[string]any{"provisioningOperation": "Create", "timestamp": started.UTC(),
			"targetResource": map[string]string{"id": r.ID, "resourceType": r.Type, "resourceName": r.Name}}
		rec["properties"] = opProps
		body, err := d.Body(r)
		var failure *store.OperationError
		status := 0
		if err != nil {
			failure = &store.OperationError{Code: "InvalidTemplate", Message: err.Error()}
		} else {
			status, failure = call.deploy(ctx, r.ID, r.APIVersion, body)
		}
		opProps["duration"] = isoDuration(time.Since(started))
		opProps["statusCode"] = http.StatusText(status)
		if failure != nil {
			opProps["provisioningState"], opProps["statusMessage"] = "Failed", map[string]any{"error": failure}
			records = append(records, rec)
			p.saveOperations(ctx, id, records)
			return nil, &arm.Error{Status: http.StatusBadRequest, Code: "DeploymentFailed",
				Message: "At least one resource deployment operation failed. Please list deployment operations for details. Please see https://aka.ms/arm-deployment-operations for usage details.",
				Details: []*arm.Error{{Code: failure.Code, Message: failure.Message, Target: failure.Target}}}
		}
		opProps["provisioningState"] = "Succeeded"
		records = append(records, rec)
		outputs = append(outputs, map[string]string{"id": r.ID})
		p.saveOperations(ctx, id, records)
	}
	outs, err := d.Outputs()
	if err != nil {
		return nil, &arm.Error{Status: http.StatusBadRequest, Code: "DeploymentOutputEvaluationFailed", Message: "Unable to evaluate template outputs: " + err.Error()}
	}
	// The result (what polling the operation ends with) is the deployment
	// as it will read once finishDeployment has recorded the same.
	var final map[string]any
	err = p.store.View(ctx, func(tx store.Tx) error {
		r, err := tx.Get(id.String())
		if err != nil {
			return err
		}
		var props deploymentProps
		if err := json.Unmarshal(r.Properties, &props); err != nil {
			return err
		}
		props.ProvisioningState, props.Outputs, props.OutputResources = "Succeeded", outs, outputs
		props.Duration = isoDuration(time.Since(op.StartTime))
		if r.Properties, err = json.Marshal(props); err != nil {
			return err
		}
		final, err = deploymentBody(r)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &arm.Outcome{Body: final}, nil
}

// saveOperations records the deployment operations so far (best effort:
// they are for display).
func (p *Provider) saveOperations(ctx context.Context, id resourceid.ID, ops []map[string]any) {
	p.store.Update(ctx, func(tx store.Tx) error { //nolint:errcheck // display only
		r, err := tx.Get(id.String())
		if err != nil {
			return err
		}
		var props deploymentProps
		if err := json.Unmarshal(r.Properties, &props); err != nil || props.Localaks == nil {
			return err
		}
		props.Localaks.Operations = ops
		r.Properties, err = json.Marshal(props)
		if err != nil {
			return err
		}
		return tx.Put(r)
	})
}

// finishDeployment records the end: state, duration, outputs or error.
func (p *Provider) finishDeployment(tx store.Tx, op *store.Operation) error {
	r, err := tx.Get(op.ResourceID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	var props deploymentProps
	if err := json.Unmarshal(r.Properties, &props); err != nil {
		return err
	}
	props.Duration = isoDuration(op.EndTime.Sub(op.StartTime))
	switch op.Status {
	case store.StatusSucceeded:
		props.ProvisioningState = "Succeeded"
		var out struct {
			Properties struct {
				Outputs         map[string]any      `json:"outputs"`
				OutputResources []map[string]string `json:"outputResources"`
			} `json:"properties"`
		}
		// The result is the deployment body runDeployment ended with; an
		// operation that ended without one has no outputs.
		if len(op.Result) > 0 {
			if err := json.Unmarshal(op.Result, &out); err != nil {
				return fmt.Errorf("decode result of operation %s: %w", op.ID, err)
			}
		}
		props.Outputs, props.OutputResources = out.Properties.Outputs, out.Properties.OutputResources
	case store.StatusCanceled:
		props.ProvisioningState = "Canceled"
	default:
		props.ProvisioningState, props.Error = "Failed", op.Error
	}
	r.Properties, err = json.Marshal(props)
	if err != nil {
		return err
	}
	return tx.Put(r)
}

func isoDuration(d time.Duration) string {
	return fmt.Sprintf("PT%.7fS", d.Seconds())
}

// defaultAPIVersion is the api-version reference() uses for a resource the
// template does not deploy.
func defaultAPIVersion(id string) string {
	parsed, err := resourceid.Parse(id)
	if err != nil {
		return "2023-07-01"
	}
	switch strings.ToLower(strings.SplitN(parsed.Type(), "/", 2)[0]) {
	case "microsoft.containerservice":
		return "2025-10-01"
	case "microsoft.network":
		return "2024-05-01"
	case "microsoft.compute":
		return "2024-07-01"
	case "microsoft.managedidentity":
		return "2023-01-31"
	}
	return "2023-07-01"
}

// selfCall calls localaks's ARM API as the deployment's caller.
type selfCall struct {
	self   *Self
	caller arm.Caller
	// token is signed once and reused (tokens last an hour; renewed after
	// 50 minutes), not once per request of a polling loop.
	token  string
	signed time.Time
}

func (c *selfCall) bearer() (string, error) {
	if c.token == "" || time.Since(c.signed) > 50*time.Minute {
		tok, err := c.self.Token(c.caller)
		if err != nil {
			return "", err
		}
		c.token, c.signed = tok, time.Now()
	}
	return c.token, nil
}

func (c *selfCall) do(ctx context.Context, method, path string, body any, out any) (int, error) {
	status, _, err := c.raw(ctx, method, path, body, out)
	return status, err
}

func (c *selfCall) raw(ctx context.Context, method, url string, body any, out any) (int, http.Header, error) {
	if !strings.HasPrefix(url, "https://") {
		url = c.self.BaseURL + url
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	tok, err := c.bearer()
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.self.Client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	if out != nil && len(raw) > 0 {
		// An error answer is decoded best effort, for its message: callers
		// check the status first. A success must have the shape asked for.
		if err := json.Unmarshal(raw, out); err != nil && resp.StatusCode < http.StatusBadRequest {
			return resp.StatusCode, resp.Header, fmt.Errorf("decode %s %s answer: %w", method, req.URL.Path, err)
		}
	}
	return resp.StatusCode, resp.Header, nil
}

// settle waits until a resource's provisioningState is terminal.
func (c *selfCall) settle(ctx context.Context, id, apiVersion string) (int, *store.OperationError) {
	var status int
	var failed *store.OperationError
	err := poll(ctx, func() (bool, error) {
		var r struct {
			Properties struct {
				ProvisioningState string `json:"provisioningState"`
			} `json:"properties"`
		}
		var err error
		status, err = c.do(ctx, http.MethodGet, id+"?api-version="+apiVersion, nil, &r)
		if err != nil || status != http.StatusOK {
			failed = &store.OperationError{Code: "ResourceDeploymentFailure", Message: fmt.Sprintf("reading %s: %d %v", id, status, err)}
			return true, nil
		}
		switch r.Properties.ProvisioningState {
		case "Succeeded", "":
			return true, nil
		case "Failed", "Canceled":
			failed = &store.OperationError{Code: "ResourceDeploymentFailure",
				Message: "The resource operation completed with terminal provisioning state '" + r.Properties.ProvisioningState + "'."}
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return status, &store.OperationError{Code: "Canceled", Message: err.Error()}
	}
	return status, failed
}

// poll calls check until it reports done or ctx ends: at once, then after
// 5 ms, doubling to a fifth of a second (most operations here take
// milliseconds). It is how deployments wait on what they started.
func poll(ctx context.Context, check func() (done bool, err error)) error {
	wait := 5 * time.Millisecond
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		done, err := check()
		if done || err != nil {
			return err
		}
		timer.Reset(wait)
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// deploy PUTs one resource and waits for its operation, returning the
// final status and the provider's error, if any.
func (c *selfCall) deploy(ctx context.Context, id, apiVersion string, body map[string]any) (int, *store.OperationError) {
	var reply struct {
		Error *store.OperationError `json:"error"`
		Code  string                `json:"code"`
		Msg   string                `json:"message"`
		Tgt   string                `json:"target"`
	}
	status, hdr, err := c.raw(ctx, http.MethodPut, id+"?api-version="+apiVersion, body, &reply)
	if err != nil {
		return 0, &store.OperationError{Code: "InternalServerError", Message: err.Error()}
	}
	if status == http.StatusConflict && (reply.Code == "OperationNotAllowed" || (reply.Error != nil && reply.Error.Code == "OperationNotAllowed")) {
		// The resource is still busy with the PUT this deployment made
		// before a restart: wait for it rather than fail.
		return c.settle(ctx, id, apiVersion)
	}
	if status >= 400 {
		if reply.Error != nil {
			return status, reply.Error
		}
		return status, &store.OperationError{Code: reply.Code, Message: reply.Msg, Target: reply.Tgt} // AKS's unwrapped errors
	}
	url := hdr.Get("Azure-AsyncOperation")
	if url == "" && status == http.StatusAccepted {
		url = hdr.Get("Location")
	}
	if url == "" {
		return status, nil
	}
	var failed *store.OperationError
	err = poll(ctx, func() (bool, error) {
		var st struct {
			Status string                `json:"status"`
			Error  *store.OperationError `json:"error"`
		}
		code, h, err := c.raw(ctx, http.MethodGet, url, nil, &st)
		if err != nil {
			failed = &store.OperationError{Code: "InternalServerError", Message: err.Error()}
			return true, nil
		}
		switch {
		case code == http.StatusAccepted:
			if next := h.Get("Location"); next != "" {
				url = next
			}
			return false, nil
		case code >= 400:
			if st.Error == nil {
				st.Error = &store.OperationError{Code: "ResourceDeploymentFailure", Message: http.StatusText(code)}
			}
			status, failed = code, st.Error
			return true, nil
		case st.Status == "" || strings.EqualFold(st.Status, "Succeeded"):
			return true, nil
		case strings.EqualFold(st.Status, "Failed") || strings.EqualFold(st.Status, "Canceled"):
			if st.Error == nil {
				st.Error = &store.OperationError{Code: "ResourceDeploymentFailure", Message: "The resource operation completed with terminal provisioning state '" + st.Status + "'."}
			}
			failed = st.Error
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return status, &store.OperationError{Code: "Canceled", Message: err.Error()}
	}
	return status, failed
}
