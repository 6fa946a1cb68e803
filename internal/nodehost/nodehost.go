// Package nodehost says whether this machine can run real nodes (a kubelet
// with its own containerd in namespaces localaks makes) and where the host
// programs they need are. It links no Kubernetes code: serve asks it when a
// pool asks for real nodes, and answers a PUT it cannot honour with a 400
// that names what is missing.
package nodehost

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// Tools are the host programs a real node runs.
type Tools struct {
	Containerd string
	Shim       string
	Runc       string
	// CNIDir holds the CNI plugins (bridge, host-local, ptp, loopback,
	// portmap).
	CNIDir string
	// IPTables is iptables; kube-proxy also runs iptables-save and
	// iptables-restore from the same directory.
	IPTables string
	// Sh and Mount run the containers' hook that gives the system
	// images their program (a bind mount).
	Sh    string
	Mount string
}

// cniPlugins are the plugins real nodes' CNI configurations name.
var cniPlugins = []string{"bridge", "host-local", "ptp", "loopback", "portmap"}

// cniDirs are where distributions put the CNI plugins (Debian's
// containernetworking-plugins: /usr/lib/cni).
var cniDirs = []string{"/usr/lib/cni", "/opt/cni/bin", "/usr/libexec/cni"}

// Find locates the tools and lists what is missing, in words a user can act
// on; an empty list means real nodes can run here.
func Find() (Tools, []string) {
	var t Tools
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root privileges (real nodes make network and mount namespaces)")
	}
	if runtime.GOARCH != "amd64" {
		missing = append(missing, "an x86-64 host (the sandbox image localaks builds is x86-64)")
	}
	if !hasFilesystem("overlay") {
		missing = append(missing, "the overlay filesystem (containerd's snapshotter)")
	}
	look := func(name, pkg string) string {
		p, err := exec.LookPath(name)
		if err != nil {
			for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
				if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
					return filepath.Join(dir, name)
				}
			}
			missing = append(missing, fmt.Sprintf("%s (Debian package %s)", name, pkg))
			return ""
		}
		return p
	}
	t.Containerd = look("containerd", "containerd")
	t.Shim = look("containerd-shim-runc-v2", "containerd")
	t.Runc = look("runc", "runc")
	t.IPTables = look("iptables", "iptables")
	t.Sh = look("sh", "dash")
	t.Mount = look("mount", "mount")
	if t.IPTables != "" {
		for _, n := range []string{"iptables-save", "iptables-restore"} {
			look(n, "iptables")
		}
	}
	for _, dir := range cniDirs {
		if hasAll(dir, cniPlugins) {
			t.CNIDir = dir
			break
		}
	}
	if t.CNIDir == "" {
		missing = append(missing, fmt.Sprintf("the CNI plugins %s (Debian package containernetworking-plugins)", strings.Join(cniPlugins, ", ")))
	}
	return t, missing
}

// Missing is Find's list alone.
func Missing() []string {
	_, m := Find()
	return m
}

func hasAll(dir string, names []string) bool {
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			return false
		}
	}
	return true
}

// hasFilesystem reports whether the kernel offers a filesystem type.
func hasFilesystem(name string) bool {
	f, err := os.Open("/proc/filesystems")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 0 && fields[len(fields)-1] == name {
			return true
		}
	}
	return false
}

// NodeProcess is a running real node's process, as the host sees it.
type NodeProcess struct {
	PID int
	// Dir is the node's directory (its base name is the node's name).
	Dir string
	// Role is "init" (the node's namespaces' first process), "main" (the
	// kubelet's) or "proxy" (kube-proxy's).
	Role string
}

// NodeProcesses lists the real node processes whose node directories are
// under dataDir (`localaks node --dir DIR [--main|--proxy]`).
func NodeProcesses(dataDir string) []NodeProcess {
	var out []NodeProcess
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		// The node's init: node-init BINARY node --dir DIR --main; its
		// processes: BINARY node --dir DIR --main|--proxy.
		role, i := "", 1
		if len(args) == 6 && filepath.Base(args[0]) == "node-init" {
			role, i = "init", 2
		}
		if len(args) != i+4 || args[i] != "node" || args[i+1] != "--dir" || !strings.HasPrefix(args[i+2], dataDir+string(filepath.Separator)) {
			continue
		}
		if role == "" {
			role = strings.TrimPrefix(args[i+3], "--")
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err != nil {
			continue
		}
		out = append(out, NodeProcess{PID: pid, Dir: args[i+2], Role: role})
	}
	return out
}

// ContainerdSocket is a running real node's containerd socket as the host
// reaches it, through the node process's root (the socket lives in the
// node's own /run), given the node's init PID.
func ContainerdSocket(pid int) string {
	return fmt.Sprintf("/proc/%d/root/run/containerd/containerd.sock", pid)
}

// ImportImage imports an image archive into the containerd at socket, in
// the namespace the CRI plugin uses, with ctr (containerd's client).
func ImportImage(ctx context.Context, ctr, socket, archive string) error {
	out, err := exec.CommandContext(ctx, ctr, "--address", socket, "--namespace", "k8s.io",
		"images", "import", "--all-platforms", archive).CombinedOutput()
	if err != nil {
		return fmt.Errorf("import %s: %v: %s", archive, err, strings.TrimSpace(string(out)))
	}
	return nil
}
