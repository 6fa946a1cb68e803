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
	t := reflect.TypeOf(known)
	for _, k := range keys(t) {
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
		out[k] = merge(extra[k], v, fieldType(t, k))
	}
	return json.Marshal(out)
}

// merge lays a modelled value over what was sent for it, at every depth:
// where the value's type is a struct (or a map of structs) and both are
// objects, the keys the type does not model stay as sent.
func merge(sent, typed json.RawMessage, t reflect.Type) json.RawMessage {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || len(sent) == 0 || (t.Kind() != reflect.Struct && t.Kind() != reflect.Map) {
		return typed
	}
	var s, v Object
	if json.Unmarshal(sent, &s) != nil || json.Unmarshal(typed, &v) != nil || s == nil || v == nil {
		return typed
	}
	out := Object{}
	if t.Kind() == reflect.Map {
		for k, tv := range v {
			out[k] = merge(s[k], tv, t.Elem())
		}
	} else {
		for k, sv := range s {
			out[k] = sv
		}
		for _, k := range keys(t) {
			delete(out, k)
		}
		for k, tv := range v {
			out[k] = merge(s[k], tv, fieldType(t, k))
		}
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return typed
	}
	return raw
}

// fieldType is the type of the field of struct type t whose JSON key is
// key, or nil.
func fieldType(t reflect.Type, key string) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			if ft := fieldType(f.Type, key); ft != nil {
				return ft
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return f.Type
		}
	}
	return nil
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
