package controlplane

import (
	"net"
	"net/http"
	_ "net/http/pprof" // served only when asked for, below
	"os"
)

// PprofEnv names a loopback address on which a control-plane process
// serves Go's pprof handlers (for profiling a cluster's memory and CPU).
const PprofEnv = "LOCALAKS_CONTROLPLANE_PPROF"

func startPprof() {
	addr := os.Getenv(PprofEnv)
	if addr == "" {
		return
	}
	if host, _, err := net.SplitHostPort(addr); err != nil || !net.ParseIP(host).IsLoopback() {
		return // loopback only
	}
	go http.ListenAndServe(addr, nil) //nolint:errcheck // a debugging aid
}
