package aks

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// VersionTable is the Kubernetes versions AKS (here) supports, from
// versions.json.
type VersionTable struct {
	Default   string  `json:"default"`
	Minors    []Minor `json:"minors"`
	NodeImage string  `json:"nodeImage"`
}

// Minor is one supported minor version.
type Minor struct {
	Minor       string   `json:"minor"`
	Patches     []string `json:"patches"`
	SupportPlan []string `json:"supportPlan"`
	Preview     bool     `json:"preview"`
}

//go:embed versions.json
var versionsJSON []byte

// Versions is the embedded table.
var Versions = mustVersions()

func mustVersions() *VersionTable {
	var v VersionTable
	if err := json.Unmarshal(versionsJSON, &v); err != nil {
		panic(fmt.Sprintf("versions.json: %v", err))
	}
	return &v
}

// parseVersion splits "1.36" or "1.36.3" into numbers; patch is -1 when
// absent.
func parseVersion(v string) (major, minor, patch int, ok bool) {
	parts := strings.Split(strings.TrimPrefix(strings.TrimSpace(v), "v"), ".")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, 0, false
	}
	nums := make([]int, 3)
	nums[2] = -1
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return 0, 0, 0, false
		}
		nums[i] = n
	}
	return nums[0], nums[1], nums[2], true
}

// MinorOf is "1.36" for "1.36.3".
func MinorOf(v string) string {
	major, minor, _, ok := parseVersion(v)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%d.%d", major, minor)
}

// Resolve turns a requested version ("", "1.36" or "1.36.3") into the patch
// version to run: "" is the default minor, a minor is its latest patch. It
// reports false for an unsupported version.
func (t *VersionTable) Resolve(requested string) (string, bool) {
	if strings.TrimSpace(requested) == "" {
		requested = t.Default
	}
	_, _, patch, ok := parseVersion(requested)
	if !ok {
		return "", false
	}
	m := t.minor(MinorOf(requested))
	if m == nil {
		return "", false
	}
	if patch < 0 {
		return m.Patches[len(m.Patches)-1], true
	}
	for _, p := range m.Patches {
		if p == strings.TrimPrefix(strings.TrimSpace(requested), "v") {
			return p, true
		}
	}
	return "", false
}

func (t *VersionTable) minor(minor string) *Minor {
	for i := range t.Minors {
		if t.Minors[i].Minor == minor {
			return &t.Minors[i]
		}
	}
	return nil
}

// Compare orders two versions (-1, 0, 1); a missing patch counts as 0.
func Compare(a, b string) int {
	am, an, ap, _ := parseVersion(a)
	bm, bn, bp, _ := parseVersion(b)
	ap, bp = max(ap, 0), max(bp, 0)
	for _, d := range [][2]int{{am, bm}, {an, bn}, {ap, bp}} {
		if d[0] != d[1] {
			if d[0] < d[1] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// minorDistance is how many minors b is ahead of a.
func minorDistance(a, b string) int {
	am, an, _, _ := parseVersion(a)
	bm, bn, _, _ := parseVersion(b)
	if am != bm {
		return 100 * (bm - am)
	}
	return bn - an
}

// Upgrades lists the patch versions a cluster at version v may move to:
// later patches of its minor and any patch of the next minor (AKS does not
// skip minors).
func (t *VersionTable) Upgrades(v string) []string {
	var out []string
	for _, m := range t.Minors {
		d := minorDistance(v, m.Minor)
		if d < 0 || d > 1 {
			continue
		}
		for _, p := range m.Patches {
			if Compare(p, v) > 0 {
				out = append(out, p)
			}
		}
	}
	return out
}

// DefaultPatch is the version a cluster gets when it asks for none.
func (t *VersionTable) DefaultPatch() string {
	v, _ := t.Resolve("")
	return v
}

// IsDefaultMinor reports whether minor is the default one.
func (t *VersionTable) IsDefaultMinor(minor string) bool { return minor == t.Default }
