package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/localaks/localaks/internal/kwatch"
)

// benchKwok runs the same steps with kwokctl (binary runtime, the
// configuration file names the component binaries) and fills in the peer
// column of rows: per size a new cluster (kwokctl create cluster, then
// scale node to the size), as each of localaks's is a new cluster.
func benchKwok(ctx context.Context, logf func(string, ...any), o clusterBenchOptions, rows []measure) error {
	set := func(name string, v float64) {
		logf("kwokctl: %s: %.3f", name, v)
		for i := range rows {
			if rows[i].name == name {
				rows[i].peer, rows[i].hasPeer = v, true
			}
		}
	}
	for i, n := range o.sizes {
		last := i == len(o.sizes)-1
		if err := kwokCluster(ctx, logf, o, n, i == 0, last && o.pods > 0, set); err != nil {
			return err
		}
	}
	return nil
}

// kwokCluster creates one kwokctl cluster with n nodes and measures it.
func kwokCluster(ctx context.Context, logf func(string, ...any), o clusterBenchOptions, n int, idleRead, pods bool, set func(string, float64)) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	work, err := os.MkdirTemp("", "localaks-bench-kwok-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	kubeconfig := filepath.Join(work, "kubeconfig")
	kwokctl := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "kwokctl", append([]string{"-c", o.kwokConfig, "--name", "bench"}, args...)...)
		cmd.Env = append(os.Environ(), "KWOK_WORKDIR="+work)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("kwokctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	logf("kwokctl: create a cluster for %d nodes", n)
	start := time.Now()
	if err := kwokctl("create", "cluster", "--kubeconfig", kubeconfig); err != nil {
		return err
	}
	defer kwokctl("delete", "cluster", "--kubeconfig", kubeconfig) //nolint:errcheck // best effort
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(work, "clusters", "bench", "kubeconfig.yaml"))
	if err != nil {
		return err
	}
	if err := waitReadyz(ctx, cfg, true); err != nil {
		return err
	}
	w, err := kwatch.Nodes(ctx, cfg)
	if err != nil {
		return err
	}
	defer w.Stop()
	if err := kwokctl("scale", "node", "--replicas", strconv.Itoa(n)); err != nil {
		return err
	}
	if _, err := w.Until(ctx, n); err != nil {
		return err
	}
	set(fmt.Sprintf("create → %d nodes Ready", n), time.Since(start).Seconds())
	// kwokctl's binary runtime records each component's PID in pids/.
	pids := func() []int {
		var out []int
		files, _ := filepath.Glob(filepath.Join(work, "clusters", "bench", "pids", "*.pid"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				out = append(out, pid)
			}
		}
		return out
	}
	if idleRead {
		logf("kwokctl: idle %v", o.idle)
		idle(ctx, o.idle)
		rss, pss := processMemory(pids())
		set("RSS per idle cluster (one cluster)", rss)
		set("PSS per idle cluster (one cluster)", pss)
	}
	if pods {
		logf("kwokctl: deploy %d pods", o.pods)
		d, err := deployPods(ctx, cfg, o.pods)
		if err != nil {
			return err
		}
		set(fmt.Sprintf("Deployment → %d pods Running", o.pods), d.Seconds())
		logf("kwokctl: idle %v", o.idle)
		idle(ctx, o.idle)
		rss, pss := processMemory(pids())
		set(fmt.Sprintf("RSS at %d nodes + %d pods, idle", n, o.pods), rss)
		set(fmt.Sprintf("PSS at %d nodes + %d pods, idle", n, o.pods), pss)
	}
	return nil
}
