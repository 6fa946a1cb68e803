// Package gctune tunes the Go collector of a long-running localaks process
// (a control plane, a real node's kubelet and kube-proxy) to its load.
package gctune

import (
	"context"
	"os"
	"runtime/debug"
	"syscall"
	"time"
)

// GC percentages for an idle and a busy process (measured on a control
// plane). An idle cluster's
// live heap is ~125 MB; with Go's default (100) the heap grows to twice
// that between collections, so an idle cluster holds ~250 MB of heap. A
// busy one (a thousand nodes joining, a thousand pods starting) spends a
// third of its CPU in the collector at 50. So: collect often while idle,
// seldom while busy.
const (
	idleGCPercent = 40
	busyGCPercent = 200
	// busyCores is the CPU use above which the process counts as busy.
	busyCores = 0.25
	gcSample  = 2 * time.Second
)

// Run adjusts the GC percentage to the process's CPU use until ctx ends.
// GOGC in the environment turns it off.
func Run(ctx context.Context) {
	if os.Getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(busyGCPercent) // starting up is busy
	busy := true
	last := cpuTime()
	t := time.NewTicker(gcSample)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := cpuTime()
		cores := (now - last).Seconds() / gcSample.Seconds()
		last = now
		switch {
		case cores >= busyCores && !busy:
			debug.SetGCPercent(busyGCPercent)
			busy = true
		case cores < busyCores && busy:
			debug.SetGCPercent(idleGCPercent)
			debug.FreeOSMemory() // collect now and give the pages back
			busy = false
		}
	}
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
