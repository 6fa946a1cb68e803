package aks

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"strings"
)

// Service mesh revision profiles and outbound network dependencies: what
// AKS publishes about a location and a cluster.

//go:embed data/meshrevisions.json
var meshRevisionsJSON []byte

//go:embed data/outbound.json
var outboundJSON []byte

// MeshRevision is one Istio revision: what it upgrades to and the
// Kubernetes minors it runs on.
type MeshRevision struct {
	Revision       string              `json:"revision"`
	Upgrades       []string            `json:"upgrades"`
	CompatibleWith []CompatibleVersion `json:"compatibleWith"`
}

// CompatibleVersion names versions of a product a revision runs with.
type CompatibleVersion struct {
	Name     string   `json:"name"`
	Versions []string `json:"versions"`
}

// MeshRevisions are the Istio revisions offered in every location.
var MeshRevisions = func() []MeshRevision {
	var d struct {
		Revisions []MeshRevision `json:"revisions"`
	}
	if err := json.Unmarshal(meshRevisionsJSON, &d); err != nil {
		panic("meshrevisions.json: " + err.Error())
	}
	var minors []string
	for _, m := range Versions.Minors {
		minors = append(minors, m.Minor)
	}
	for i := range d.Revisions {
		d.Revisions[i].CompatibleWith = []CompatibleVersion{{Name: "kubernetes", Versions: minors}}
	}
	return d.Revisions
}()

// MeshMode is the one service mesh mode AKS has (the profiles' name).
const MeshMode = "istio"

// ErrNoMeshProfile is the 404 for a mesh profile of another mode.
func ErrNoMeshProfile(mode string) error {
	return Error(http.StatusNotFound, "NotFound", "mode", "Mesh profile '%s' was not found: the service mesh mode is istio.", mode)
}

// MeshUpgrade is a cluster's Istio upgrade profile: its revision's, nil
// when the cluster has no Istio service mesh.
func (c *Cluster) MeshUpgrade() *MeshRevision {
	var smp struct {
		Mode  string `json:"mode"`
		Istio *struct {
			Revisions []string `json:"revisions"`
		} `json:"istio"`
	}
	if json.Unmarshal(c.extra["serviceMeshProfile"], &smp) != nil || !strings.EqualFold(smp.Mode, "Istio") {
		return nil
	}
	current := MeshRevisions[0].Revision
	if smp.Istio != nil && len(smp.Istio.Revisions) > 0 {
		current = smp.Istio.Revisions[0]
	}
	for _, r := range MeshRevisions {
		if r.Revision == current {
			return &r
		}
	}
	return &MeshRevision{Revision: current, Upgrades: []string{}, CompatibleWith: MeshRevisions[0].CompatibleWith}
}

// OutboundEndpoints are the cluster's outbound network dependencies, by
// category: the published ones and its API server's address.
func (c *Cluster) OutboundEndpoints() []json.RawMessage {
	var d struct {
		Categories []json.RawMessage `json:"categories"`
	}
	if err := json.Unmarshal(outboundJSON, &d); err != nil {
		panic("outbound.json: " + err.Error())
	}
	api, _ := json.Marshal(map[string]any{"category": "apiserver", "endpoints": []map[string]any{{
		"domainName": c.Props.FQDN, "endpointDetails": []map[string]any{{"port": 443, "protocol": "Https"}}}}})
	return append(d.Categories, api)
}
