package main

import (
	"fmt"

	"github.com/prometheus/procfs"
)

const mib = 1 << 20

// processMemory sums RSS and PSS (MiB) over processes, from their
// /proc/<pid>/smaps_rollup; processes that have gone count nothing.
func processMemory(pids []int) (rss, pss float64) {
	for _, pid := range pids {
		p, err := procfs.NewProc(pid)
		if err != nil {
			continue
		}
		m, err := p.ProcSMapsRollup()
		if err != nil {
			continue
		}
		rss += float64(m.Rss) / mib
		pss += float64(m.Pss) / mib
	}
	return rss, pss
}

// machineMemory is the machine's total and available memory in MiB (0 if
// unknown) and its CPU model.
func machineMemory() (total, available float64, cpu string) {
	cpu = "unknown CPU"
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return 0, 0, cpu
	}
	if m, err := fs.Meminfo(); err == nil {
		if m.MemTotalBytes != nil {
			total = float64(*m.MemTotalBytes) / mib
		}
		if m.MemAvailableBytes != nil {
			available = float64(*m.MemAvailableBytes) / mib
		}
	}
	if cpus, err := fs.CPUInfo(); err == nil && len(cpus) > 0 && cpus[0].ModelName != "" {
		cpu = cpus[0].ModelName
	}
	return total, available, cpu
}

// machine describes the machine the benchmark ran on.
func machine() string {
	total, _, cpu := machineMemory()
	return fmt.Sprintf("%s, %.0f GiB RAM", cpu, total/1024)
}
