package armtemplate

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"strings"

	"github.com/google/uuid"
)

// evaluator evaluates expressions against a deployment: its parameters,
// variables, scope and the resources deployed so far.
type evaluator struct {
	d *Deployment
	// copyIndex is the index of the copy-loop instance being evaluated
	// (-1 outside loops).
	copyIndex int
	copyName  string
}

// value evaluates a template value: expressions in strings, recursively in
// objects and arrays.
func (e *evaluator) value(v any) (any, error) {
	switch t := v.(type) {
	case string:
		if !isExpression(t) {
			return unescape(t), nil
		}
		n, err := parseExpression(t[1 : len(t)-1])
		if err != nil {
			return nil, err
		}
		return e.eval(n)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			y, err := e.value(x)
			if err != nil {
				return nil, err
			}
			out[k] = y
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			y, err := e.value(x)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	}
	return v, nil
}

func (e *evaluator) eval(n node) (any, error) {
	switch t := n.(type) {
	case literal:
		return t.v, nil
	case property:
		base, err := e.eval(t.base)
		if err != nil {
			return nil, err
		}
		obj, ok := base.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("the language expression property '%s' can't be evaluated: %s is not an object", t.name, kindOf(base))
		}
		for k, v := range obj {
			if strings.EqualFold(k, t.name) {
				return v, nil
			}
		}
		return nil, fmt.Errorf("the language expression property '%s' doesn't exist, available properties are '%s'", t.name, strings.Join(keys(obj), ", "))
	case indexed:
		base, err := e.eval(t.base)
		if err != nil {
			return nil, err
		}
		idx, err := e.eval(t.index)
		if err != nil {
			return nil, err
		}
		switch b := base.(type) {
		case []any:
			i, ok := idx.(int64)
			if !ok || i < 0 || int(i) >= len(b) {
				return nil, fmt.Errorf("the array index '%v' is out of bounds (length %d)", idx, len(b))
			}
			return b[i], nil
		case map[string]any:
			name, _ := idx.(string)
			return e.eval(property{base: literal{b}, name: name})
		}
		return nil, fmt.Errorf("cannot index %s", kindOf(base))
	case call:
		if t.name == "if" {
			if len(t.args) != 3 {
				return nil, fmt.Errorf("the template function 'if' expects 3 arguments")
			}
			c, err := e.eval(t.args[0])
			if err != nil {
				return nil, err
			}
			b, ok := c.(bool)
			if !ok {
				return nil, fmt.Errorf("the first argument of 'if' must be a boolean")
			}
			if b {
				return e.eval(t.args[1])
			}
			return e.eval(t.args[2])
		}
		args := make([]any, len(t.args))
		for i, a := range t.args {
			v, err := e.eval(a)
			if err != nil {
				return nil, err
			}
			args[i] = v
		}
		fn, ok := functions[t.name]
		if !ok {
			return nil, fmt.Errorf("the template function '%s' is not valid (or not supported by localaks)", t.name)
		}
		return fn(e, args)
	}
	return nil, fmt.Errorf("bad expression node %T", n)
}

type function func(e *evaluator, args []any) (any, error)

var functions map[string]function

func init() {
	functions = map[string]function{
		"parameters": func(e *evaluator, a []any) (any, error) {
			name, err := oneString("parameters", a)
			if err != nil {
				return nil, err
			}
			return e.d.parameter(name)
		},
		"variables": func(e *evaluator, a []any) (any, error) {
			name, err := oneString("variables", a)
			if err != nil {
				return nil, err
			}
			return e.d.variable(name)
		},
		"resourcegroup": func(e *evaluator, a []any) (any, error) {
			s := e.d.scope
			return map[string]any{"id": "/subscriptions/" + s.SubscriptionID + "/resourceGroups/" + s.ResourceGroup, "name": s.ResourceGroup,
				"type": "Microsoft.Resources/resourceGroups", "location": s.Location, "properties": map[string]any{"provisioningState": "Succeeded"}}, nil
		},
		"subscription": func(e *evaluator, a []any) (any, error) {
			s := e.d.scope
			return map[string]any{"id": "/subscriptions/" + s.SubscriptionID, "subscriptionId": s.SubscriptionID, "tenantId": s.TenantID,
				"displayName": "localaks"}, nil
		},
		"tenant": func(e *evaluator, a []any) (any, error) {
			return map[string]any{"tenantId": e.d.scope.TenantID, "id": "/tenants/" + e.d.scope.TenantID}, nil
		},
		"deployment": func(e *evaluator, a []any) (any, error) {
			return map[string]any{"name": e.d.scope.DeploymentName, "properties": map[string]any{"mode": "Incremental"}}, nil
		},
		"resourceid":             func(e *evaluator, a []any) (any, error) { return e.d.resourceID(a, true) },
		"subscriptionresourceid": func(e *evaluator, a []any) (any, error) { return e.d.resourceID(a, false) },
		"reference": func(e *evaluator, a []any) (any, error) {
			if len(a) == 0 {
				return nil, fmt.Errorf("the template function 'reference' expects a resource")
			}
			target, _ := a[0].(string)
			full := len(a) > 2 && strings.EqualFold(fmt.Sprint(a[2]), "full")
			return e.d.reference(target, full)
		},
		"copyindex": func(e *evaluator, a []any) (any, error) {
			if e.copyIndex < 0 {
				return nil, fmt.Errorf("the template function 'copyIndex' is not expected at this location")
			}
			offset := int64(0)
			for _, x := range a {
				if n, ok := x.(int64); ok {
					offset = n
				}
			}
			return int64(e.copyIndex) + offset, nil
		},
		"concat": func(e *evaluator, a []any) (any, error) {
			if len(a) > 0 {
				if _, ok := a[0].([]any); ok {
					var out []any
					for _, x := range a {
						arr, ok := x.([]any)
						if !ok {
							return nil, fmt.Errorf("concat mixes arrays and %s", kindOf(x))
						}
						out = append(out, arr...)
					}
					return out, nil
				}
			}
			var b strings.Builder
			for _, x := range a {
				b.WriteString(toString(x))
			}
			return b.String(), nil
		},
		"format": func(e *evaluator, a []any) (any, error) {
			if len(a) == 0 {
				return nil, fmt.Errorf("the template function 'format' expects a format string")
			}
			f, _ := a[0].(string)
			out := f
			for i := len(a) - 1; i >= 1; i-- {
				out = strings.ReplaceAll(out, fmt.Sprintf("{%d}", i-1), toString(a[i]))
			}
			return out, nil
		},
		"string":  func(e *evaluator, a []any) (any, error) { return toString(first(a)), nil },
		"tolower": func(e *evaluator, a []any) (any, error) { return strings.ToLower(toString(first(a))), nil },
		"toupper": func(e *evaluator, a []any) (any, error) { return strings.ToUpper(toString(first(a))), nil },
		"trim":    func(e *evaluator, a []any) (any, error) { return strings.TrimSpace(toString(first(a))), nil },
		"int": func(e *evaluator, a []any) (any, error) {
			switch v := first(a).(type) {
			case int64:
				return v, nil
			case float64:
				return int64(v), nil
			case string:
				var n int64
				if _, err := fmt.Sscan(v, &n); err != nil {
					return nil, fmt.Errorf("'%s' is not an integer", v)
				}
				return n, nil
			}
			return nil, fmt.Errorf("int() of %s", kindOf(first(a)))
		},
		"bool": func(e *evaluator, a []any) (any, error) {
			switch v := first(a).(type) {
			case bool:
				return v, nil
			case string:
				return strings.EqualFold(v, "true"), nil
			case int64:
				return v != 0, nil
			}
			return false, nil
		},
		"json": func(e *evaluator, a []any) (any, error) {
			var v any
			if err := json.Unmarshal([]byte(toString(first(a))), &v); err != nil {
				return nil, fmt.Errorf("json(): %v", err)
			}
			return normalize(v), nil
		},
		"true":  func(e *evaluator, a []any) (any, error) { return true, nil },
		"false": func(e *evaluator, a []any) (any, error) { return false, nil },
		"null":  func(e *evaluator, a []any) (any, error) { return nil, nil },
		"equals": func(e *evaluator, a []any) (any, error) {
			if len(a) != 2 {
				return nil, fmt.Errorf("the template function 'equals' expects 2 arguments")
			}
			x, _ := json.Marshal(a[0])
			y, _ := json.Marshal(a[1])
			return string(x) == string(y), nil
		},
		"not": func(e *evaluator, a []any) (any, error) { b, _ := first(a).(bool); return !b, nil },
		"and": func(e *evaluator, a []any) (any, error) {
			for _, x := range a {
				if b, _ := x.(bool); !b {
					return false, nil
				}
			}
			return true, nil
		},
		"or": func(e *evaluator, a []any) (any, error) {
			for _, x := range a {
				if b, _ := x.(bool); b {
					return true, nil
				}
			}
			return false, nil
		},
		"empty": func(e *evaluator, a []any) (any, error) {
			switch v := first(a).(type) {
			case nil:
				return true, nil
			case string:
				return v == "", nil
			case []any:
				return len(v) == 0, nil
			case map[string]any:
				return len(v) == 0, nil
			}
			return false, nil
		},
		"length": func(e *evaluator, a []any) (any, error) {
			switch v := first(a).(type) {
			case string:
				return int64(len([]rune(v))), nil
			case []any:
				return int64(len(v)), nil
			case map[string]any:
				return int64(len(v)), nil
			}
			return nil, fmt.Errorf("length() of %s", kindOf(first(a)))
		},
		"contains": func(e *evaluator, a []any) (any, error) {
			if len(a) != 2 {
				return nil, fmt.Errorf("the template function 'contains' expects 2 arguments")
			}
			switch c := a[0].(type) {
			case string:
				return strings.Contains(c, toString(a[1])), nil
			case []any:
				for _, x := range c {
					if fmt.Sprint(x) == fmt.Sprint(a[1]) {
						return true, nil
					}
				}
				return false, nil
			case map[string]any:
				_, ok := c[toString(a[1])]
				return ok, nil
			}
			return false, nil
		},
		"createarray": func(e *evaluator, a []any) (any, error) { return append([]any{}, a...), nil },
		"createobject": func(e *evaluator, a []any) (any, error) {
			if len(a)%2 != 0 {
				return nil, fmt.Errorf("the template function 'createObject' expects name/value pairs")
			}
			out := map[string]any{}
			for i := 0; i < len(a); i += 2 {
				out[toString(a[i])] = a[i+1]
			}
			return out, nil
		},
		"union": func(e *evaluator, a []any) (any, error) {
			out := map[string]any{}
			for _, x := range a {
				m, ok := x.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("union() of %s (objects only)", kindOf(x))
				}
				for k, v := range m {
					out[k] = v
				}
			}
			return out, nil
		},
		"first": func(e *evaluator, a []any) (any, error) {
			switch v := first(a).(type) {
			case []any:
				if len(v) > 0 {
					return v[0], nil
				}
				return nil, nil
			case string:
				if v != "" {
					return v[:1], nil
				}
				return "", nil
			}
			return nil, nil
		},
		"last": func(e *evaluator, a []any) (any, error) {
			switch v := first(a).(type) {
			case []any:
				if len(v) > 0 {
					return v[len(v)-1], nil
				}
			case string:
				if v != "" {
					return v[len(v)-1:], nil
				}
			}
			return nil, nil
		},
		"split": func(e *evaluator, a []any) (any, error) {
			if len(a) != 2 {
				return nil, fmt.Errorf("the template function 'split' expects 2 arguments")
			}
			var out []any
			for _, s := range strings.Split(toString(a[0]), toString(a[1])) {
				out = append(out, s)
			}
			return out, nil
		},
		"replace": func(e *evaluator, a []any) (any, error) {
			if len(a) != 3 {
				return nil, fmt.Errorf("the template function 'replace' expects 3 arguments")
			}
			return strings.ReplaceAll(toString(a[0]), toString(a[1]), toString(a[2])), nil
		},
		"substring": func(e *evaluator, a []any) (any, error) {
			s := []rune(toString(first(a)))
			start, length := int64(0), int64(len(s))
			if len(a) > 1 {
				start, _ = a[1].(int64)
				length = int64(len(s)) - start
			}
			if len(a) > 2 {
				length, _ = a[2].(int64)
			}
			if start < 0 || length < 0 || start+length > int64(len(s)) {
				return nil, fmt.Errorf("substring(): the index and length must refer to a location within the string")
			}
			return string(s[start : start+length]), nil
		},
		"startswith": func(e *evaluator, a []any) (any, error) {
			return len(a) == 2 && strings.HasPrefix(strings.ToLower(toString(a[0])), strings.ToLower(toString(a[1]))), nil
		},
		"endswith": func(e *evaluator, a []any) (any, error) {
			return len(a) == 2 && strings.HasSuffix(strings.ToLower(toString(a[0])), strings.ToLower(toString(a[1]))), nil
		},
		"coalesce": func(e *evaluator, a []any) (any, error) {
			for _, x := range a {
				if x != nil {
					return x, nil
				}
			}
			return nil, nil
		},
		"base64": func(e *evaluator, a []any) (any, error) {
			return base64.StdEncoding.EncodeToString([]byte(toString(first(a)))), nil
		},
		"uniquestring": func(e *evaluator, a []any) (any, error) { return uniqueString(a), nil },
		"guid": func(e *evaluator, a []any) (any, error) {
			parts := make([]string, len(a))
			for i, x := range a {
				parts[i] = toString(x)
			}
			return uuid.NewSHA1(guidNamespace, []byte(strings.Join(parts, "-"))).String(), nil
		},
		"add":             arith(func(x, y int64) (int64, error) { return x + y, nil }),
		"sub":             arith(func(x, y int64) (int64, error) { return x - y, nil }),
		"mul":             arith(func(x, y int64) (int64, error) { return x * y, nil }),
		"div":             arith(func(x, y int64) (int64, error) { return divide(x, y, false) }),
		"mod":             arith(func(x, y int64) (int64, error) { return divide(x, y, true) }),
		"min":             arith(func(x, y int64) (int64, error) { return min(x, y), nil }),
		"max":             arith(func(x, y int64) (int64, error) { return max(x, y), nil }),
		"less":            compare(func(c int) bool { return c < 0 }),
		"lessorequals":    compare(func(c int) bool { return c <= 0 }),
		"greater":         compare(func(c int) bool { return c > 0 }),
		"greaterorequals": compare(func(c int) bool { return c >= 0 }),
	}
}

// guidNamespace makes guid() deterministic for its arguments (its values
// are localaks's, not Azure's).
var guidNamespace = uuid.MustParse("11fb06fb-712d-4ddd-98c7-e71bbd588830")

// uniqueString is a deterministic 13-character hash of its arguments, as
// ARM's (the values are localaks's, not Azure's).
func uniqueString(a []any) string {
	h := fnv.New64a()
	for i, x := range a {
		if i > 0 {
			h.Write([]byte("-"))
		}
		h.Write([]byte(toString(x)))
	}
	enc := base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
	return enc.EncodeToString(h.Sum(nil))[:13]
}

func arith(op func(x, y int64) (int64, error)) function {
	return func(e *evaluator, a []any) (any, error) {
		if len(a) != 2 {
			return nil, fmt.Errorf("arithmetic functions expect 2 integers")
		}
		x, ok1 := a[0].(int64)
		y, ok2 := a[1].(int64)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("arithmetic on %s and %s (integers only)", kindOf(a[0]), kindOf(a[1]))
		}
		return op(x, y)
	}
}

func divide(x, y int64, mod bool) (int64, error) {
	if y == 0 {
		return 0, fmt.Errorf("division by zero")
	}
	if mod {
		return x % y, nil
	}
	return x / y, nil
}

func compare(ok func(int) bool) function {
	return func(e *evaluator, a []any) (any, error) {
		if len(a) != 2 {
			return nil, fmt.Errorf("comparisons expect 2 arguments")
		}
		x, xi := a[0].(int64)
		y, yi := a[1].(int64)
		if xi && yi {
			return ok(int(sign(x - y))), nil
		}
		return ok(strings.Compare(toString(a[0]), toString(a[1]))), nil
	}
}

func sign(n int64) int64 {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func first(a []any) any {
	if len(a) == 0 {
		return nil
	}
	return a[0]
}

func oneString(fn string, a []any) (string, error) {
	if len(a) != 1 {
		return "", fmt.Errorf("the template function '%s' expects 1 argument", fn)
	}
	s, ok := a[0].(string)
	if !ok {
		return "", fmt.Errorf("the template function '%s' expects a string", fn)
	}
	return s, nil
}

// toString renders a value as ARM's string() does.
func toString(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case int64:
		return fmt.Sprint(t)
	case float64:
		if t == math.Trunc(t) {
			return fmt.Sprint(int64(t))
		}
		return fmt.Sprint(t)
	case bool:
		if t {
			return "True"
		}
		return "False"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case int64, float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// normalize turns json.Number (and float64 integers) into int64.
func normalize(v any) any {
	switch t := v.(type) {
	case json.Number:
		if n, err := t.Int64(); err == nil {
			return n
		}
		f, _ := t.Float64()
		return f
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return int64(t)
		}
		return t
	case map[string]any:
		for k, x := range t {
			t[k] = normalize(x)
		}
	case []any:
		for i, x := range t {
			t[i] = normalize(x)
		}
	}
	return v
}
