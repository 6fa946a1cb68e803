package realnode

import (
	"strings"
	"testing"
)

// The node's /proc/meminfo says its VM size's memory; free and available
// memory never exceed it; the other lines are the host's.
func TestMeminfo(t *testing.T) {
	host := "MemTotal:       24576000 kB\nMemFree:        20000000 kB\nMemAvailable:    1000000 kB\nSwapTotal:             0 kB\n"
	got := string(meminfo([]byte(host), 8*1024*1024))
	for _, want := range []string{"MemTotal:        8388608 kB", "MemFree:         8388608 kB", "MemAvailable:    1000000 kB", "SwapTotal:             0 kB"} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
}
