package aksapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

//go:embed data/operations.json
var operationsJSON []byte

// SpecOperation is one operation of the newest stable AKS REST API spec
// (data/operations.json) and whether localaks serves it.
type SpecOperation struct {
	OperationID  string `json:"operationId"`
	Method       string `json:"method"`
	Path         string `json:"path"`
	LongRunning  bool   `json:"longRunning"`
	StableSince  string `json:"stableSince"`
	PreviewSince string `json:"previewSince"`
	Served       bool   `json:"served"`
}

// SpecOperations are the spec's operations, in its order.
func SpecOperations() []SpecOperation {
	var d struct {
		Operations []SpecOperation `json:"operations"`
	}
	if err := json.Unmarshal(operationsJSON, &d); err != nil {
		panic("operations.json: " + err.Error())
	}
	return d.Operations
}

// Family is the operation group an operation belongs to (the part of its
// operationId before "_").
func (o SpecOperation) Family() string {
	f, _, _ := strings.Cut(o.OperationID, "_")
	return f
}

// CoverageTable renders the spec's operations by group as a Markdown
// table: how many each group has, how many localaks serves, and those it
// does not.
func CoverageTable() string {
	type group struct {
		total, served int
		missing       []string
	}
	groups := map[string]*group{}
	var order []string
	all, served := 0, 0
	for _, o := range SpecOperations() {
		g := groups[o.Family()]
		if g == nil {
			g = &group{}
			groups[o.Family()] = g
			order = append(order, o.Family())
		}
		g.total++
		all++
		if o.Served {
			g.served++
			served++
		} else {
			g.missing = append(g.missing, strings.TrimPrefix(o.OperationID, o.Family()+"_"))
		}
	}
	sort.Strings(order)
	var b strings.Builder
	b.WriteString("| Operation group | Served | Not yet |\n|---|---|---|\n")
	for _, name := range order {
		g := groups[name]
		fmt.Fprintf(&b, "| %s | %d of %d | %s |\n", name, g.served, g.total, strings.Join(g.missing, ", "))
	}
	fmt.Fprintf(&b, "| **All** | **%d of %d** | |\n", served, all)
	return b.String()
}
