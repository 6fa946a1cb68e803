// Package layers keeps the package graph in its layers: it fails the
// build's tests when an import runs the wrong way. From the bottom:
//
//	kernel     arm, store, resourceid, entra, … (no provider, no AKS)
//	providers  internal/provider/<namespace> (each resource type's rules)
//	aks        AKS's rules and pipelines, writing through the providers
//	aksapi     the HTTP face of Microsoft.ContainerService, above aks
//	server     wiring; controlplane: the only package linking Kubernetes
package layers

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/localaks/localaks/"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// list is every package of the module with its imports and dependencies.
func list(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", module+"...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		p.ImportPath = strings.TrimPrefix(p.ImportPath, module)
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages; expected the whole module", len(pkgs))
	}
	return pkgs
}

func under(path string, prefixes ...string) bool {
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// rule forbids packages matching from to import (deps: to depend on, at
// any depth) packages matching to.
type rule struct {
	why  string
	from func(string) bool
	to   func(string) bool
	deps bool
}

var rules = []rule{
	{
		why:  "only the control-plane packages link k8s.io/kubernetes (every other package's tests build and link fast)",
		from: func(p string) bool { return !under(p, "internal/controlplane", "cmd/localaks") },
		to:   func(p string) bool { return under(p, "k8s.io/kubernetes") },
		deps: true,
	},
	{
		why:  "resource providers sit below AKS: the AKS reconciler writes through them, never the other way",
		from: func(p string) bool { return under(p, "internal/provider") },
		to:   func(p string) bool { return under(p, module+"internal/aks", module+"internal/aksapi") },
		deps: true,
	},
	{
		why:  "aks holds AKS's rules; its HTTP face (aksapi) sits above it",
		from: func(p string) bool { return under(p, "internal/aks") },
		to:   func(p string) bool { return under(p, module+"internal/aksapi", module+"internal/server") },
		deps: true,
	},
	{
		why: "the ARM kernel serves every provider and imports none",
		from: func(p string) bool {
			return under(p, "internal/arm", "internal/store", "internal/resourceid", "internal/entra", "internal/regions", "internal/jsonx")
		},
		to: func(p string) bool {
			return under(p, module+"internal/provider", module+"internal/aks", module+"internal/aksapi", module+"internal/server")
		},
		deps: true,
	},
	{
		why:  "only the wiring (server, the command line) imports the HTTP face and the server",
		from: func(p string) bool { return !under(p, "internal/server", "internal/app", "cmd/localaks", "test") },
		to:   func(p string) bool { return under(p, module+"internal/aksapi", module+"internal/server") },
	},
}

func TestLayers(t *testing.T) {
	for _, p := range list(t) {
		for _, r := range rules {
			if !r.from(p.ImportPath) {
				continue
			}
			edges := p.Imports
			if r.deps {
				edges = p.Deps
			}
			for _, to := range edges {
				if r.to(to) {
					t.Errorf("%s imports %s: %s", p.ImportPath, to, r.why)
				}
			}
		}
	}
}

// TestRulesSeeTheirPackages keeps the rules from passing because a package
// they name has moved.
func TestRulesSeeTheirPackages(t *testing.T) {
	pkgs := list(t)
	var paths []string
	for _, p := range pkgs {
		paths = append(paths, p.ImportPath)
	}
	for _, want := range []string{"internal/controlplane", "internal/aks", "internal/aksapi", "internal/arm", "internal/store",
		"internal/provider/network", "internal/provider/compute", "internal/server", "cmd/localaks"} {
		if !slices.Contains(paths, want) {
			t.Errorf("package %s not found: update the layer rules", want)
		}
	}
	var linking []string
	for _, p := range pkgs {
		if slices.ContainsFunc(p.Imports, func(s string) bool { return under(s, "k8s.io/kubernetes") }) {
			linking = append(linking, p.ImportPath)
		}
	}
	if !slices.Contains(linking, "internal/controlplane") {
		t.Errorf("internal/controlplane no longer imports k8s.io/kubernetes (importers: %v): update the layer rules", linking)
	}
}
