// Package armtemplate evaluates ARM deployment templates: parameters,
// variables, template expressions and functions, resource copy loops,
// nested child resources, conditions, dependsOn ordering and outputs — what
// `az deployment group create` hands Azure Resource Manager. The caller
// deploys the planned resources (in order) and answers reference().
package armtemplate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Scope is where a deployment runs.
type Scope struct {
	TenantID, SubscriptionID, ResourceGroup string
	// Location is the resource group's.
	Location       string
	DeploymentName string
	// Reference returns a deployed resource (reference()): its properties,
	// or the whole resource when full.
	Reference func(id string, full bool) (any, error)
}

// Template is a deployment template.
type Template struct {
	Schema          string                     `json:"$schema"`
	ContentVersion  string                     `json:"contentVersion"`
	LanguageVersion string                     `json:"languageVersion"`
	Parameters      map[string]ParameterSpec   `json:"parameters"`
	Variables       map[string]any             `json:"variables"`
	Resources       json.RawMessage            `json:"resources"`
	Outputs         map[string]OutputSpec      `json:"outputs"`
	Functions       json.RawMessage            `json:"functions"`
	Metadata        map[string]json.RawMessage `json:"metadata"`
}

// ParameterSpec declares a parameter.
type ParameterSpec struct {
	Type          string `json:"type"`
	DefaultValue  any    `json:"defaultValue"`
	AllowedValues []any  `json:"allowedValues"`
	MinValue      *int64 `json:"minValue"`
	MaxValue      *int64 `json:"maxValue"`
	MinLength     *int64 `json:"minLength"`
	MaxLength     *int64 `json:"maxLength"`
}

// OutputSpec declares an output.
type OutputSpec struct {
	Type      string `json:"type"`
	Value     any    `json:"value"`
	Condition any    `json:"condition"`
}

// Error is a template problem, reported as ARM reports it (InvalidTemplate
// and friends).
type Error struct {
	Code, Message string
}

func (e *Error) Error() string { return e.Message }

func invalid(format string, args ...any) *Error {
	return &Error{Code: "InvalidTemplate", Message: "Deployment template validation failed: '" + fmt.Sprintf(format, args...) + "'."}
}

// Parse reads a template.
func Parse(raw []byte) (*Template, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var t Template
	if err := dec.Decode(&t); err != nil {
		return nil, &Error{Code: "InvalidTemplate", Message: "Deployment template parse failed: '" + err.Error() + "'."}
	}
	if t.LanguageVersion != "" {
		return nil, &Error{Code: "InvalidTemplate", Message: fmt.Sprintf(
			"Deployment template validation failed: 'languageVersion %s (symbolic-name resources) is not supported by localaks; compile without it'.", t.LanguageVersion)}
	}
	if len(t.Functions) > 0 && string(t.Functions) != "[]" {
		return nil, invalid("user-defined functions are not supported by localaks")
	}
	for k, v := range t.Variables {
		t.Variables[k] = normalize(v)
	}
	for k, p := range t.Parameters {
		p.DefaultValue = normalize(p.DefaultValue)
		for i, v := range p.AllowedValues {
			p.AllowedValues[i] = normalize(v)
		}
		t.Parameters[k] = p
	}
	for k, o := range t.Outputs {
		o.Value = normalize(o.Value)
		o.Condition = normalize(o.Condition)
		t.Outputs[k] = o
	}
	return &t, nil
}

// Resource is one planned resource.
type Resource struct {
	// ID is the resource's full ID; Type and Name as in the template
	// (Name with its parents' names, "vnet/subnet").
	ID, Type, Name, APIVersion string
	// DependsOn are the indices (in the plan) of resources to deploy first.
	DependsOn []int
	raw       map[string]any
	copyIndex int
	copyName  string
}

// Deployment is a template bound to a scope and parameter values.
type Deployment struct {
	t         *Template
	scope     Scope
	params    map[string]any
	vars      map[string]any
	resolving map[string]bool
	// Plan is the resources in deployment order.
	Plan []*Resource
}

// Bind checks the parameter values against the template and plans the
// resources.
func Bind(t *Template, scope Scope, values map[string]any) (*Deployment, error) {
	d := &Deployment{t: t, scope: scope, params: map[string]any{}, vars: map[string]any{}, resolving: map[string]bool{}}
	for name := range values {
		if _, ok := lookup(t.Parameters, name); !ok {
			return nil, invalid("the parameter '%s' is not defined in the template", name)
		}
	}
	e := &evaluator{d: d, copyIndex: -1}
	names := make([]string, 0, len(t.Parameters))
	for name := range t.Parameters {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		spec := t.Parameters[name]
		v, given := lookupValue(values, name)
		if !given {
			if spec.DefaultValue == nil {
				return nil, &Error{Code: "InvalidTemplate", Message: fmt.Sprintf("Deployment template validation failed: 'The value for the template parameter '%s' is not provided. Please see https://aka.ms/arm-create-parameter-file for usage details.'.", name)}
			}
			var err error
			if v, err = e.value(spec.DefaultValue); err != nil {
				return nil, invalid("the default value of parameter '%s': %v", name, err)
			}
		}
		v = normalize(v)
		if err := checkParameter(name, spec, v); err != nil {
			return nil, err
		}
		d.params[strings.ToLower(name)] = v
	}
	if err := d.plan(); err != nil {
		return nil, err
	}
	return d, nil
}

func lookup[T any](m map[string]T, name string) (T, bool) {
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	var zero T
	return zero, false
}

func lookupValue(values map[string]any, name string) (any, bool) { return lookup(values, name) }

func checkParameter(name string, spec ParameterSpec, v any) error {
	ok := true
	switch strings.ToLower(spec.Type) {
	case "string", "securestring":
		_, ok = v.(string)
	case "int":
		_, ok = v.(int64)
	case "bool":
		_, ok = v.(bool)
	case "array":
		_, ok = v.([]any)
	case "object", "secureobject":
		_, ok = v.(map[string]any)
	default:
		return invalid("the parameter '%s' has type '%s'; expected string, securestring, int, bool, array, object or secureObject", name, spec.Type)
	}
	if !ok {
		return &Error{Code: "InvalidTemplate", Message: fmt.Sprintf("Deployment template validation failed: 'Template parameter JToken type is not valid. Expected '%s'. Actual '%s'. Please see https://aka.ms/arm-create-parameter-file for usage details.'.", spec.Type, kindOf(v))}
	}
	if len(spec.AllowedValues) > 0 {
		found := false
		for _, a := range spec.AllowedValues {
			if fmt.Sprint(a) == fmt.Sprint(v) {
				found = true
			}
		}
		if !found {
			return &Error{Code: "InvalidTemplate", Message: fmt.Sprintf("Deployment template validation failed: 'The provided value '%v' for the template parameter '%s' is not valid. The value must be one of %v. Please see https://aka.ms/arm-create-parameter-file for usage details.'.", v, name, spec.AllowedValues)}
		}
	}
	if n, isInt := v.(int64); isInt {
		if (spec.MinValue != nil && n < *spec.MinValue) || (spec.MaxValue != nil && n > *spec.MaxValue) {
			return invalid("the value %d of parameter '%s' is out of its range", n, name)
		}
	}
	length := -1
	switch t := v.(type) {
	case string:
		length = len([]rune(t))
	case []any:
		length = len(t)
	}
	if length >= 0 && ((spec.MinLength != nil && int64(length) < *spec.MinLength) || (spec.MaxLength != nil && int64(length) > *spec.MaxLength)) {
		return invalid("the length of parameter '%s' is out of its range", name)
	}
	return nil
}

func (d *Deployment) parameter(name string) (any, error) {
	v, ok := d.params[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("the template parameter '%s' is not found", name)
	}
	return v, nil
}

// variable evaluates a variable on first use (variables may use one
// another).
func (d *Deployment) variable(name string) (any, error) {
	key := strings.ToLower(name)
	if v, ok := d.vars[key]; ok {
		return v, nil
	}
	raw, ok := lookup(d.t.Variables, name)
	if !ok {
		return nil, fmt.Errorf("the template variable '%s' is not found", name)
	}
	if d.resolving[key] {
		return nil, fmt.Errorf("the template variable '%s' refers to itself", name)
	}
	d.resolving[key] = true
	defer delete(d.resolving, key)
	v, err := (&evaluator{d: d, copyIndex: -1}).value(raw)
	if err != nil {
		return nil, err
	}
	d.vars[key] = v
	return v, nil
}

// Parameters are the bound values, as the deployment shows them.
func (d *Deployment) Parameters() map[string]any {
	out := map[string]any{}
	for name, spec := range d.t.Parameters {
		v := d.params[strings.ToLower(name)]
		if strings.HasPrefix(strings.ToLower(spec.Type), "secure") {
			out[name] = map[string]any{"type": spec.Type}
			continue
		}
		out[name] = map[string]any{"type": spec.Type, "value": v}
	}
	return out
}

// Body evaluates a planned resource's body (location, tags, sku,
// properties…) now, so that reference() sees what was deployed before it.
func (d *Deployment) Body(r *Resource) (map[string]any, error) {
	e := &evaluator{d: d, copyIndex: r.copyIndex, copyName: r.copyName}
	if props, ok := field(r.raw, "properties").(map[string]any); ok {
		if _, loop := lookup(props, "copy"); loop {
			return nil, fmt.Errorf("resource '%s': property copy loops are not supported by localaks; write the array out", r.Name)
		}
	}
	out := map[string]any{}
	for k, v := range r.raw {
		switch strings.ToLower(k) {
		case "type", "apiversion", "name", "dependson", "condition", "copy", "resources", "comments", "scope":
			continue
		}
		x, err := e.value(v)
		if err != nil {
			return nil, fmt.Errorf("resource '%s': %w", r.Name, err)
		}
		out[k] = x
	}
	return out, nil
}

// Outputs evaluates the outputs after every resource is deployed.
func (d *Deployment) Outputs() (map[string]any, error) {
	e := &evaluator{d: d, copyIndex: -1}
	out := map[string]any{}
	for name, o := range d.t.Outputs {
		if o.Condition != nil {
			c, err := e.value(o.Condition)
			if err != nil {
				return nil, fmt.Errorf("output '%s': %w", name, err)
			}
			if b, _ := c.(bool); !b {
				continue
			}
		}
		v, err := e.value(o.Value)
		if err != nil {
			return nil, fmt.Errorf("output '%s': %w", name, err)
		}
		out[name] = map[string]any{"type": o.Type, "value": v}
	}
	return out, nil
}
