package realnode

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// A real node's machine is its VM size's, as the kubelet finds it: in the
// node's mount namespace /proc/meminfo says the size's memory and
// /sys/devices/system/cpu holds the size's CPUs (without NUMA nodes), so
// the kubelet's capacity is a simulated node's. Only what the kubelet reads
// changes: the node's processes still share the host's CPUs and memory
// (as an overcommitted VM's would), and containers get /proc and /sys of
// their own.

// setupMachine makes the node's view of its machine, when c names one.
func setupMachine(c *Config) error {
	if c.MemoryBytes > 0 {
		if err := fakeMeminfo(c); err != nil {
			return fmt.Errorf("the node's memory: %w", err)
		}
	}
	if c.CPUs > 0 {
		if err := fakeCPUs(c.CPUs); err != nil {
			return fmt.Errorf("the node's CPUs: %w", err)
		}
	}
	return nil
}

// fakeMeminfo binds over /proc/meminfo the host's, with MemTotal (and
// MemFree, MemAvailable at most that) the VM size's.
func fakeMeminfo(c *Config) error {
	host, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return err
	}
	path := filepath.Join(c.Dir, "meminfo")
	if err := os.WriteFile(path, meminfo(host, c.MemoryBytes/1024), 0o444); err != nil {
		return err
	}
	return unix.Mount(path, "/proc/meminfo", "", unix.MS_BIND, "")
}

// meminfo rewrites a /proc/meminfo for a machine of totalKiB.
func meminfo(host []byte, totalKiB int64) []byte {
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(host))
	for sc.Scan() {
		line := sc.Text()
		key, rest, ok := strings.Cut(line, ":")
		if ok {
			f := strings.Fields(rest)
			switch key {
			case "MemTotal":
				line = fmt.Sprintf("%-16s%8d kB", key+":", totalKiB)
			case "MemFree", "MemAvailable":
				if len(f) > 0 {
					if v, err := strconv.ParseInt(f[0], 10, 64); err == nil && v > totalKiB {
						line = fmt.Sprintf("%-16s%8d kB", key+":", totalKiB)
					}
				}
			}
		}
		out.WriteString(line + "\n")
	}
	return out.Bytes()
}

// fakeCPUs mounts a /sys/devices/system/cpu of n CPUs, one package, a core
// each, all online, and hides the NUMA nodes.
func fakeCPUs(n int) error {
	const cpus, nodes = "/sys/devices/system/cpu", "/sys/devices/system/node"
	if err := unix.Mount("tmpfs", cpus, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=755"); err != nil {
		return err
	}
	for i := range n {
		top := filepath.Join(cpus, fmt.Sprintf("cpu%d", i), "topology")
		if err := os.MkdirAll(top, 0o755); err != nil {
			return err
		}
		for file, val := range map[string]string{"core_id": strconv.Itoa(i), "physical_package_id": "0", "thread_siblings_list": strconv.Itoa(i)} {
			if err := os.WriteFile(filepath.Join(top, file), []byte(val+"\n"), 0o444); err != nil {
				return err
			}
		}
	}
	list := "0"
	if n > 1 {
		list = fmt.Sprintf("0-%d", n-1)
	}
	for _, f := range []string{"possible", "present"} {
		if err := os.WriteFile(filepath.Join(cpus, f), []byte(list+"\n"), 0o444); err != nil {
			return err
		}
	}
	if _, err := os.Stat(nodes); err == nil {
		return unix.Mount("tmpfs", nodes, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_RDONLY, "mode=755")
	}
	return nil
}
