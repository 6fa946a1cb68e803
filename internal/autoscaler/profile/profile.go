// Package profile reads a managed cluster's autoScalerProfile: AKS's rules
// for each value (the ones its API refuses with "Invalid value specified for
// the cluster-autoscaler parameter …") and the settings the cluster
// autoscaler runs with. It has no Kubernetes dependency, so the resource
// provider validates with the same code the control plane runs.
package profile

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Options are the cluster autoscaler's settings: each is the flag of the
// same name (AKS's profile keys are the flag names).
type Options struct {
	ScanInterval               time.Duration
	ScaleDownDelayAfterAdd     time.Duration
	ScaleDownDelayAfterDelete  time.Duration
	ScaleDownDelayAfterFailure time.Duration
	ScaleDownUnneededTime      time.Duration
	ScaleDownUnreadyTime       time.Duration
	MaxNodeProvisionTime       time.Duration
	NewPodScaleUpDelay         time.Duration
	MaxGracefulTermination     time.Duration
	UtilizationThreshold       float64
	Expander                   string
	BalanceSimilarNodeGroups   bool
	SkipNodesWithLocalStorage  bool
	SkipNodesWithSystemPods    bool
	DaemonSetEvictionEmpty     bool
	DaemonSetEvictionOccupied  bool
	IgnoreDaemonSetsUtil       bool
	MaxEmptyBulkDelete         int
	OkTotalUnreadyCount        int
	MaxTotalUnreadyPercentage  float64
}

// Defaults are the values AKS fills in (and returns) for a cluster with an
// autoscaled pool.
var Defaults = map[string]string{
	"balance-similar-node-groups": "false", "daemonset-eviction-for-empty-nodes": "false", "daemonset-eviction-for-occupied-nodes": "true",
	"expander": "random", "ignore-daemonsets-utilization": "false", "max-empty-bulk-delete": "10", "max-graceful-termination-sec": "600",
	"max-node-provision-time": "15m", "max-total-unready-percentage": "45", "new-pod-scale-up-delay": "0s", "ok-total-unready-count": "3",
	"scale-down-delay-after-add": "10m", "scale-down-delay-after-delete": "10s", "scale-down-delay-after-failure": "3m",
	"scale-down-unneeded-time": "10m", "scale-down-unready-time": "20m", "scale-down-utilization-threshold": "0.5", "scan-interval": "10s",
	"skip-nodes-with-local-storage": "false", "skip-nodes-with-system-pods": "true",
}

// Booleans are the keys ARM carries as JSON booleans (the rest are strings).
var Booleans = map[string]bool{
	"daemonset-eviction-for-empty-nodes": true, "daemonset-eviction-for-occupied-nodes": true, "ignore-daemonsets-utilization": true,
}

// Expanders are the node-group expanders AKS offers.
var Expanders = []string{"least-waste", "most-pods", "priority", "random"}

// InvalidError is AKS's refusal of one profile value.
type InvalidError struct{ Key string }

func (e *InvalidError) Error() string {
	return fmt.Sprintf("Invalid value specified for the cluster-autoscaler parameter '%s'. Please refer to https://aka.ms/cluster-autoscaler for more details.", e.Key)
}

// The units AKS takes: the scan interval in whole seconds; the scale-down
// delays, unneeded and unready times and provisioning time in whole minutes
// ("No unit of time other than minutes (m) is supported"); the delay after
// a delete in seconds or minutes (its default is the scan interval, "10s");
// the new-pod delay with any of s, m, h.
var (
	seconds        = regexp.MustCompile(`^[0-9]+s?$`)
	minutes        = regexp.MustCompile(`^[0-9]+m$`)
	secondsMinutes = regexp.MustCompile(`^[0-9]+[sm]$`)
	anyUnit        = regexp.MustCompile(`^[0-9]+(s|m|h)$`)
)

// Parse reads a profile (values as ARM returns them, as strings; a missing
// key takes its default) into Options, or names the first invalid key in
// the order AKS's documentation lists them.
func Parse(p map[string]string) (Options, error) {
	get := func(k string) string {
		if v, ok := p[k]; ok && v != "" {
			return strings.TrimSpace(v)
		}
		return Defaults[k]
	}
	var o Options
	var err error
	dur := func(k string, unit *regexp.Regexp, into *time.Duration) {
		if err != nil {
			return
		}
		v := get(k)
		if !unit.MatchString(v) {
			err = &InvalidError{k}
			return
		}
		if unit == seconds && !strings.HasSuffix(v, "s") {
			v += "s"
		}
		d, perr := time.ParseDuration(v)
		if perr != nil {
			err = &InvalidError{k}
			return
		}
		*into = d
	}
	integer := func(k string, lo, hi int, into *int) {
		if err != nil {
			return
		}
		n, perr := strconv.Atoi(get(k))
		if perr != nil || n < lo || n > hi {
			err = &InvalidError{k}
			return
		}
		*into = n
	}
	boolean := func(k string, into *bool) {
		if err != nil {
			return
		}
		b, perr := strconv.ParseBool(get(k))
		if perr != nil {
			err = &InvalidError{k}
			return
		}
		*into = b
	}
	boolean("balance-similar-node-groups", &o.BalanceSimilarNodeGroups)
	boolean("daemonset-eviction-for-empty-nodes", &o.DaemonSetEvictionEmpty)
	boolean("daemonset-eviction-for-occupied-nodes", &o.DaemonSetEvictionOccupied)
	if err == nil {
		o.Expander = get("expander")
		if !contains(Expanders, o.Expander) {
			err = &InvalidError{"expander"}
		}
	}
	boolean("ignore-daemonsets-utilization", &o.IgnoreDaemonSetsUtil)
	integer("max-empty-bulk-delete", 1, 1<<20, &o.MaxEmptyBulkDelete)
	var graceful int
	integer("max-graceful-termination-sec", 0, 1<<20, &graceful)
	o.MaxGracefulTermination = time.Duration(graceful) * time.Second
	dur("max-node-provision-time", minutes, &o.MaxNodeProvisionTime)
	if err == nil {
		f, perr := strconv.ParseFloat(get("max-total-unready-percentage"), 64)
		if perr != nil || f < 0 || f > 100 {
			err = &InvalidError{"max-total-unready-percentage"}
		}
		o.MaxTotalUnreadyPercentage = f
	}
	dur("new-pod-scale-up-delay", anyUnit, &o.NewPodScaleUpDelay)
	integer("ok-total-unready-count", 0, 1<<20, &o.OkTotalUnreadyCount)
	dur("scan-interval", seconds, &o.ScanInterval)
	if err == nil && o.ScanInterval < time.Second {
		err = &InvalidError{"scan-interval"}
	}
	dur("scale-down-delay-after-add", minutes, &o.ScaleDownDelayAfterAdd)
	dur("scale-down-delay-after-delete", secondsMinutes, &o.ScaleDownDelayAfterDelete)
	dur("scale-down-delay-after-failure", minutes, &o.ScaleDownDelayAfterFailure)
	dur("scale-down-unneeded-time", minutes, &o.ScaleDownUnneededTime)
	dur("scale-down-unready-time", minutes, &o.ScaleDownUnreadyTime)
	if err == nil {
		f, perr := strconv.ParseFloat(get("scale-down-utilization-threshold"), 64)
		if perr != nil || f <= 0 || f > 1 {
			err = &InvalidError{"scale-down-utilization-threshold"}
		}
		o.UtilizationThreshold = f
	}
	boolean("skip-nodes-with-local-storage", &o.SkipNodesWithLocalStorage)
	boolean("skip-nodes-with-system-pods", &o.SkipNodesWithSystemPods)
	return o, err
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
