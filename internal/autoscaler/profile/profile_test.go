package profile

import (
	"errors"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	o, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.ScanInterval != 10*time.Second || o.ScaleDownUnneededTime != 10*time.Minute || o.Expander != "random" || o.SkipNodesWithLocalStorage ||
		!o.SkipNodesWithSystemPods || o.UtilizationThreshold != 0.5 || o.MaxEmptyBulkDelete != 10 || o.ScaleDownDelayAfterDelete != 10*time.Second {
		t.Fatalf("defaults = %+v", o)
	}
	o, err = Parse(map[string]string{"scan-interval": "2", "scale-down-unneeded-time": "0m", "new-pod-scale-up-delay": "1h", "expander": "least-waste",
		"balance-similar-node-groups": "true", "max-graceful-termination-sec": "30"})
	if err != nil {
		t.Fatal(err)
	}
	if o.ScanInterval != 2*time.Second || o.ScaleDownUnneededTime != 0 || o.NewPodScaleUpDelay != time.Hour || !o.BalanceSimilarNodeGroups ||
		o.MaxGracefulTermination != 30*time.Second {
		t.Fatalf("parsed = %+v", o)
	}
	for key, bad := range map[string]string{
		"scan-interval": "1m", "scale-down-delay-after-add": "30s", "scale-down-unneeded-time": "10", "max-node-provision-time": "1h",
		"scale-down-utilization-threshold": "1.5", "max-total-unready-percentage": "101", "max-empty-bulk-delete": "0",
		"ok-total-unready-count": "x", "expander": "price", "skip-nodes-with-system-pods": "yes", "new-pod-scale-up-delay": "1d",
	} {
		_, err := Parse(map[string]string{key: bad})
		var inv *InvalidError
		if !errors.As(err, &inv) || inv.Key != key {
			t.Errorf("%s=%s: err = %v", key, bad, err)
		}
	}
}
