// Package apiversions is the data of which api-versions localaks accepts
// for each resource type it serves (apiversions.json): the versions the
// REST API specs publish for the type, and older ones ARM accepts without
// a spec, newest first. The clients section names the version real
// clients pin for a type; the package's test checks each is accepted.
package apiversions

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
)

//go:embed apiversions.json
var raw []byte

// Type is one resource type's entry.
type Type struct {
	Source   string   `json:"source"`
	Versions []string `json:"versions"`
}

// data is apiversions.json.
var data = func() (d struct {
	Types   map[string]Type              `json:"types"`
	Clients map[string]map[string]string `json:"clients"`
}) {
	if err := json.Unmarshal(raw, &d); err != nil {
		panic("apiversions.json: " + err.Error())
	}
	return d
}()

// For is the api-versions of typ ("Namespace/type[/child...]"), newest
// first: its own entry, else its nearest parent's (a child type shares
// its parent's versions). A type with neither is a programming error.
func For(typ string) []string {
	v, ok := lookup(typ)
	if !ok {
		panic(fmt.Sprintf("apiversions: no api-versions for %s (add it to apiversions.json)", typ))
	}
	return v
}

// Has tells whether For(typ) has an answer.
func Has(typ string) bool {
	_, ok := lookup(typ)
	return ok
}

func lookup(typ string) ([]string, bool) {
	for t := typ; strings.Count(t, "/") >= 1; t = t[:strings.LastIndex(t, "/")] {
		for name, e := range data.Types {
			if strings.EqualFold(name, t) {
				return append([]string(nil), e.Versions...), true
			}
		}
	}
	return nil, false
}

// Types is every type with an entry.
func Types() map[string]Type { return data.Types }

// Clients is, per client, the api-version it pins for each type.
func Clients() map[string]map[string]string { return data.Clients }
