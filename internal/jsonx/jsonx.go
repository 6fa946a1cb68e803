// Package jsonx decodes JSON objects into structs without losing the keys
// the struct does not model. ARM resources carry many optional profiles; a
// provider models the ones it acts on and must still echo the rest, as the
// real service does, or clients that read back what they wrote (Terraform)
// see drift.
package jsonx

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// Object is a JSON object split into a typed part (known) and the keys the
// type does not model (Extra).
type Object map[string]json.RawMessage

// Decode unmarshals data into known and returns every key of the object.
func Decode(data []byte, known any) (Object, error) {
	if len(data) == 0 || string(data) == "null" {
		return Object{}, nil
	}
	var all Object
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, known); err != nil {
		return nil, err
	}
	return all, nil
}

// Encode marshals known over extra: keys known models replace (or, when
// known omits them, remove) those in extra; other keys of extra stay.
func Encode(extra Object, known any) ([]byte, error) {
	out := Object{}
	for k, v := range extra {
		out[k] = v
	}
	for _, k := range keys(reflect.TypeOf(known)) {
		delete(out, k)
	}
	raw, err := json.Marshal(known)
	if err != nil {
		return nil, err
	}
	var typed Object
	if err := json.Unmarshal(raw, &typed); err != nil {
		return nil, err
	}
	for k, v := range typed {
		out[k] = v
	}
	return json.Marshal(out)
}

var cache sync.Map // reflect.Type → []string

// keys lists the JSON keys a struct type declares.
func keys(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v, ok := cache.Load(t); ok {
		return v.([]string)
	}
	var out []string
	if t.Kind() == reflect.Struct {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				out = append(out, keys(f.Type)...)
				continue
			}
			if name == "" {
				name = f.Name
			}
			out = append(out, name)
		}
	}
	cache.Store(t, out)
	return out
}
