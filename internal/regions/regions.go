// Package regions is the table of Azure regions localaks offers, from an
// embedded data file (regions.json), and the normalisation ARM applies to
// location names ("East US" → "eastus").
package regions

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
)

// Region is one Azure region.
type Region struct {
	Name             string `json:"name"`
	DisplayName      string `json:"displayName"`
	Geography        string `json:"geography"`
	GeographyGroup   string `json:"geographyGroup"`
	PhysicalLocation string `json:"physicalLocation"`
	Latitude         string `json:"latitude"`
	Longitude        string `json:"longitude"`
	PairedRegion     string `json:"pairedRegion"`
	// Zones is the number of availability zones (0: none).
	Zones int `json:"zones"`
}

//go:embed regions.json
var data []byte

var (
	all    []Region
	byName = map[string]Region{}
)

func init() {
	if err := json.Unmarshal(data, &all); err != nil {
		panic(fmt.Sprintf("regions.json: %v", err))
	}
	for _, r := range all {
		byName[r.Name] = r
	}
}

// All returns every region, in the file's order (recommended regions first,
// as Azure lists them).
func All() []Region { return append([]Region(nil), all...) }

// Normalize turns a location as users write it ("East US", "EastUS") into
// its name ("eastus").
func Normalize(location string) string {
	return strings.ToLower(strings.ReplaceAll(location, " ", ""))
}

// Lookup finds a region by name or display name, in any case.
func Lookup(location string) (Region, bool) {
	r, ok := byName[Normalize(location)]
	return r, ok
}

// List is every region's name, in All's order: the locations resource
// types are offered in.
func List() []string {
	names := make([]string, len(all))
	for i, r := range all {
		names[i] = r.Name
	}
	return names
}

// Names lists every region name, comma-separated, for error messages.
func Names() string { return strings.Join(List(), ",") }
