package realnode

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/localaks/localaks/internal/clusterspec"
)

// Each real node's kubelet gets its own cgroup root, under which it makes
// the pods' cgroups (cgroup v1: in every hierarchy). A node's cgroups go
// when it does.

const cgroupFS = "/sys/fs/cgroup"

// cgroupRoot is a node's cgroup root (the kubelet's cgroupRoot).
func cgroupRoot(l clusterspec.Layout, node string) string {
	return "/localaks/" + filepath.Base(string(l)) + "/" + node
}

// hierarchies are the mounted cgroup v1 hierarchies (or the v2 one).
func hierarchies() []string {
	entries, err := os.ReadDir(cgroupFS)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		p := filepath.Join(cgroupFS, e.Name())
		if _, err := os.Stat(filepath.Join(p, "cgroup.procs")); err == nil && e.IsDir() {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		if _, err := os.Stat(filepath.Join(cgroupFS, "cgroup.procs")); err == nil {
			out = append(out, cgroupFS)
		}
	}
	return out
}

// makeCgroups creates root in every hierarchy; cpuset directories get
// their parent's CPUs and memory nodes (cgroup v1 leaves them empty).
func makeCgroups(root string) error {
	for _, h := range hierarchies() {
		parts := strings.Split(strings.Trim(root, "/"), "/")
		cur := h
		for _, p := range parts {
			parent := cur
			cur = filepath.Join(cur, p)
			if err := os.Mkdir(cur, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
				return err
			}
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				if b, err := os.ReadFile(filepath.Join(parent, f)); err == nil {
					if cur, err := os.ReadFile(filepath.Join(cur, f)); err == nil && strings.TrimSpace(string(cur)) == "" {
						if err := os.WriteFile(filepath.Join(filepath.Join(parent, p), f), b, 0o644); err != nil {
							return err
						}
					}
				}
			}
		}
	}
	return nil
}

// removeCgroups removes root and everything under it in every hierarchy
// (deepest first; the processes in them are gone).
func removeCgroups(root string) error {
	var errs []error
	for _, h := range hierarchies() {
		top := filepath.Join(h, root)
		var dirs []string
		filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error { //nolint:errcheck // a missing tree is fine
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
