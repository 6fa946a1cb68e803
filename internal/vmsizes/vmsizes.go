// Package vmsizes is the table of Azure VM sizes localaks offers (an
// embedded data file, vmsizes.json): vCPUs, memory and data-disk limits,
// which size validation, AKS's system-pool rules and node capacity use.
package vmsizes

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
)

// Size is one VM size.
type Size struct {
	Name                  string  `json:"name"`
	VCPUs                 int     `json:"vCPUs"`
	MemoryGiB             float64 `json:"memoryGiB"`
	MaxDataDisks          int     `json:"maxDataDisks"`
	Family                string  `json:"family"`
	AcceleratedNetworking bool    `json:"acceleratedNetworking"`
	GPUs                  int     `json:"gpus,omitempty"`
}

//go:embed vmsizes.json
var data []byte

var byName = map[string]Size{}
var all []Size

func init() {
	if err := json.Unmarshal(data, &all); err != nil {
		panic(fmt.Sprintf("vmsizes.json: %v", err))
	}
	for _, s := range all {
		byName[strings.ToLower(s.Name)] = s
	}
}

// Lookup finds a size by name, in any case.
func Lookup(name string) (Size, bool) {
	s, ok := byName[strings.ToLower(name)]
	return s, ok
}

// All lists every size in file order.
func All() []Size { return append([]Size(nil), all...) }
