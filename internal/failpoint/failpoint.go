// Package failpoint crashes the process at named points so that tests can
// prove crash safety: that every accepted write survives and every
// interrupted operation completes after a restart. Points are enabled with
// LOCALAKS_FAILPOINTS=name[,name...] in the environment of the process;
// without it Hit does nothing. A hit point sends the process SIGKILL — the
// same as kill -9, no deferred cleanup runs.
package failpoint

import (
	"os"
	"strings"
	"syscall"
)

// EnvVar names the enabled failpoints.
const EnvVar = "LOCALAKS_FAILPOINTS"

var enabled = parse(os.Getenv(EnvVar))

func parse(s string) map[string]bool {
	out := map[string]bool{}
	for _, name := range strings.Split(s, ",") {
		if name = strings.TrimSpace(name); name != "" {
			out[name] = true
		}
	}
	return out
}

// Hit kills the process if the named point is enabled.
func Hit(name string) {
	if enabled[name] {
		syscall.Kill(os.Getpid(), syscall.SIGKILL) //nolint:errcheck // the process is gone either way
		select {}
	}
}
