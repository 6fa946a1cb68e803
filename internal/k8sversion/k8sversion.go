// Package k8sversion stamps the Kubernetes version the linked components
// report.
package k8sversion

import (
	"runtime/debug"
	"strings"
	_ "unsafe" // go:linkname

	// The packages whose version variables are stamped below.
	_ "k8s.io/client-go/pkg/version"
	"k8s.io/component-base/version"
)

// Kubernetes release builds stamp their version into these variables with
// -ldflags -X. localaks is built with plain `go build` / `go run`, so the
// process stamps them itself, from the k8s.io/kubernetes module version it
// was built with, before any component reads them: /version, `kubectl
// version` and AKS's currentKubernetesVersion then tell the truth.

//go:linkname baseGitVersion k8s.io/component-base/version.gitVersion
var baseGitVersion string

//go:linkname baseGitMajor k8s.io/component-base/version.gitMajor
var baseGitMajor string

//go:linkname baseGitMinor k8s.io/component-base/version.gitMinor
var baseGitMinor string

//go:linkname baseGitCommit k8s.io/component-base/version.gitCommit
var baseGitCommit string

//go:linkname baseGitTreeState k8s.io/component-base/version.gitTreeState
var baseGitTreeState string

//go:linkname clientGitVersion k8s.io/client-go/pkg/version.gitVersion
var clientGitVersion string

//go:linkname clientGitMajor k8s.io/client-go/pkg/version.gitMajor
var clientGitMajor string

//go:linkname clientGitMinor k8s.io/client-go/pkg/version.gitMinor
var clientGitMinor string

//go:linkname clientGitCommit k8s.io/client-go/pkg/version.gitCommit
var clientGitCommit string

// Built is the upstream release the components are built from
// ("v1.37.2"), or "" when the build has no module information.
var Built string

func init() {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	for _, m := range info.Deps {
		if m.Path == "k8s.io/kubernetes" {
			Built = m.Version
		}
	}
	if Built == "" || !strings.HasPrefix(baseGitVersion, "v0.0.0-master") {
		// No module version, or the build stamped the variables itself.
		return
	}
	Stamp(Built)
}

// Stamp makes the components of this process report version v
// ("v1.35.4"): a real node's kubelet reports its pool's version, as its
// Node's kubeletVersion does on AKS (the code is Built's).
func Stamp(v string) {
	major, minor, _ := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	minor, _, _ = strings.Cut(minor, ".")
	baseGitVersion, clientGitVersion = v, v
	baseGitMajor, clientGitMajor = major, major
	baseGitMinor, clientGitMinor = minor, minor
	// The release's commit is not recorded in module metadata.
	baseGitCommit, clientGitCommit = "", ""
	baseGitTreeState = "clean"
	// component-base copied gitVersion at its init; refresh that copy.
	if err := version.SetDynamicVersion(v); err != nil {
		panic(err) // equal to gitVersion by construction
	}
}
