// Package controlplane is the process behind one managed cluster: embedded
// etcd, kube-apiserver, kube-controller-manager and kube-scheduler from the
// upstream modules, the node simulator for the cluster's VMSS instances, and
// AKS's system workloads. `serve` starts it (`localaks controlplane`), sends
// it the cluster's spec as JSON lines on stdin and reads its events from
// stdout (package clusterspec); stdin closing stops it.
//
// It is the only package that imports k8s.io/kubernetes.
package controlplane

import (
	"reflect"
	// The components report the Kubernetes release they are built from.
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	_ "github.com/localaks/localaks/internal/k8sversion"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/localaks/localaks/internal/autoscaler"
	"github.com/localaks/localaks/internal/cloudcontroller"
	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/controlplane/realnode"
	"github.com/localaks/localaks/internal/gctune"
	"github.com/localaks/localaks/internal/ingress"
	// The components report the Kubernetes release they are built from.
	_ "github.com/localaks/localaks/internal/k8sversion"
	"github.com/localaks/localaks/internal/nodesim"
	"github.com/localaks/localaks/internal/wiwebhook"
)

// Config configures one control-plane process.
type Config struct {
	// Dir is the cluster's data directory (clusterspec.Layout).
	Dir string
	// Specs carries the JSON-lines spec stream; its end stops the process.
	Specs io.Reader
	// Events receives JSON-lines events.
	Events io.Writer
	Log    *slog.Logger
}

// leaseDuration is the node lease duration: kwokctl's default (5× the
// kubelet's 40 s), so that a thousand idle nodes cost little; the
// controller-manager's grace period follows it.
const leaseDuration = 200

// Run runs the control plane until the spec stream ends or ctx is done.
func Run(ctx context.Context, cfg Config) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	startPprof()
	go gctune.Run(ctx)
	l := clusterspec.Layout(cfg.Dir)
	ev := &events{w: cfg.Events}

	specs := make(chan *clusterspec.Spec, 1)
	readErr := make(chan error, 1)
	go func() { readErr <- readSpecs(cfg.Specs, specs) }()
	var spec *clusterspec.Spec
	select {
	case spec = <-specs:
	case err := <-readErr:
		if err == nil {
			err = errors.New("spec stream ended before the first spec")
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := spec.Validate(); err != nil {
		return err
	}

	zl := zapLogger()
	etcd, etcdURL, err := startEtcd(ctx, cfg.Dir, zl)
	if err != nil {
		return err
	}
	defer etcd.Close()

	if err := writeIdentity(l, spec); err != nil {
		return err
	}
	kubeconfigs, err := writeKubeconfigs(l, spec)
	if err != nil {
		return err
	}
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	run := func(name string, f func(context.Context, []string) error, args []string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx, args); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	started := time.Now()
	_, prevErr := os.Stat(l.PreviousServiceAccountPub())
	// The API server reaches nodes, pods and services through the real
	// nodes' tunnel (package realnode), never by a route or DNS.
	nodes, err := realnode.NewManager(l, cfg.Log)
	if err != nil {
		return err
	}
	defer nodes.Close() //nolint:errcheck // logged by the manager; the process ends
	nodes.UseSpec(spec)
	sim, err := nodesim.New(nodesim.Config{Kubeconfig: kubeconfigs[clusterspec.NodeSimulatorClient], LeaseDurationSeconds: leaseDuration,
		KubeletCert: l.Cert(clusterspec.WebhookCert), KubeletKey: l.Key(clusterspec.WebhookCert), Log: cfg.Log})
	if err != nil {
		return err
	}
	// Simulated nodes' kubelets and the metrics-server the control plane
	// plays for their pods are reached through the same tunnel.
	metrics := newMetricsPlayer(sim.Client(), l, cfg.Log, nodes.DialCluster, nodes.Real)
	nodes.Simulated = sim.DialKubelet
	nodes.Played = metrics.Played
	lbServices := newLoadBalancerServices(sim.Client())
	nodes.NodePort = lbServices.NodePort
	nodes.Event = lbServices.Event
	tunnel, err := listenTunnel(l)
	if err != nil {
		return err
	}
	defer tunnel.Close()
	go nodes.ServeTunnel(tunnel)
	if err := writeEntraConfigs(l, spec); err != nil {
		return err
	}
	run("kube-apiserver", runAPIServer, apiServerArgs(l, spec, etcdURL, prevErr == nil))
	admin, err := restConfig(kubeconfigs[clusterspec.NodeSimulatorClient])
	if err != nil {
		return err
	}
	// Nodes and system workloads go in as soon as the API server serves;
	// the cluster counts as started (and converged) only once /readyz
	// passes too.
	if err := waitAPIServer(ctx, admin, errs, "/version"); err != nil {
		return err
	}
	ready := make(chan struct{})
	go func() {
		if err := waitAPIServer(ctx, admin, nil, "/readyz"); err != nil {
			return
		}
		cs, err := kubernetes.NewForConfig(admin)
		if err != nil {
			return
		}
		v, err := cs.Discovery().ServerVersion()
		if err != nil {
			return
		}
		cfg.Log.Info("API server ready", "version", v.GitVersion, "after", time.Since(started).Round(time.Millisecond))
		ev.send(clusterspec.Event{Type: clusterspec.EventStarted, Version: v.GitVersion})
		close(ready)
	}()

	run("kube-controller-manager", runControllerManager, controllerManagerArgs(l, spec))
	run("kube-scheduler", runScheduler, schedulerArgs(l, spec))

	sim.SetSpec(spec)
	metrics.start(ctx)
	lbServices.start(ctx)
	sim.Registered = nodes.Sync
	sim.Reimage = nodes.Reimage
	if err := sim.Start(ctx); err != nil {
		return fmt.Errorf("node simulator: %w", err)
	}
	if spec.Cloud.ARMEndpoint != "" {
		cloud, err := cloudcontroller.New(spec.Cloud, cfg.Log)
		if err != nil {
			return fmt.Errorf("cloud controller: %w", err)
		}
		run("cloud controller", func(ctx context.Context, _ []string) error {
			return cloudcontroller.Run(ctx, sim.Client(), cloud)
		}, nil)
	}
	// The cluster autoscaler changes the pools' scale sets through the ARM
	// API, as the cloud controller changes the load balancer.
	var scaler *autoscaler.Autoscaler
	if spec.Cloud.ARMEndpoint != "" {
		cloud, err := autoscaler.NewARMCloud(spec.Cloud)
		if err != nil {
			return fmt.Errorf("cluster autoscaler: %w", err)
		}
		scaler = autoscaler.New(sim.Client(), cloud, cfg.Log)
		scaler.Set(spec)
		run("cluster autoscaler", func(ctx context.Context, _ []string) error { return scaler.Run(ctx) }, nil)
	}
	ing := ingress.New(sim.Client(), cfg.Log)
	run("ingress status", func(ctx context.Context, _ []string) error { return ing.Run(ctx) }, nil)

	go reportDataPath(ctx, nodes.DataPath, ev)
	conv := &converger{log: cfg.Log, sim: sim, client: sim.Client(), rest: admin, events: ev, ready: ready}
	addons := &agicRunner{client: sim.Client(), log: cfg.Log}
	addons.set(ctx, spec)
	wi, err := wiwebhook.Start(ctx, sim.Client(), l.Cert(clusterspec.WebhookCert), l.Key(clusterspec.WebhookCert), l.CACert(), cfg.Log)
	if err != nil {
		return fmt.Errorf("workload identity webhook: %w", err)
	}
	wi.Set(spec.WorkloadIdentity, workloadIdentityDefaults(spec))
	// Converge on the newest spec; a newer one supersedes one in progress.
	for {
		convCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func(s *clusterspec.Spec) {
			defer close(done)
			conv.converge(convCtx, s)
		}(spec)
		select {
		case next := <-specs:
			stop()
			<-done
			spec = next
			if err := spec.Validate(); err != nil {
				ev.send(clusterspec.Event{Type: clusterspec.EventFailed, Generation: spec.Generation, Error: err.Error()})
			}
			addons.set(ctx, spec)
			wi.Set(spec.WorkloadIdentity, workloadIdentityDefaults(spec))
			if scaler != nil {
				scaler.Set(spec)
			}
			continue
		case err := <-readErr:
			stop()
			<-done
			// Nodes first: their kubelets' connections would hold the API
			// server's shutdown.
			nodes.Close() //nolint:errcheck // the manager logs what it cannot remove
			cancel()
			wg.Wait()
			if err != nil {
				return fmt.Errorf("spec stream: %w", err)
			}
			return nil
		case err := <-errs:
			stop()
			cancel()
			return err
		case <-ctx.Done():
			stop()
			<-done
			nodes.Close() //nolint:errcheck // the manager logs what it cannot remove
			wg.Wait()
			return nil
		}
	}
}

// writeIdentity records which cluster the directory is (clusterspec.Layout.Identity).
func writeIdentity(l clusterspec.Layout, s *clusterspec.Spec) error {
	b, err := json.Marshal(clusterspec.Identity{ResourceID: s.ResourceID})
	if err != nil {
		return err
	}
	return os.WriteFile(l.Identity(), b, 0o600)
}

// listenTunnel opens the tunnel's socket and writes the API server's
// egress configuration that points at it.
func listenTunnel(l clusterspec.Layout) (net.Listener, error) {
	if err := os.Remove(l.TunnelSocket()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	ln, err := net.Listen("unix", l.TunnelSocket())
	if err != nil {
		return nil, fmt.Errorf("tunnel: %w", err)
	}
	if err := os.WriteFile(l.EgressConfig(), []byte(realnode.EgressConfig(l.TunnelSocket())), 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// readSpecs decodes JSON lines into specs until the reader ends.
func readSpecs(r io.Reader, out chan *clusterspec.Spec) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var s clusterspec.Spec
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			return fmt.Errorf("decode spec: %w", err)
		}
		// Keep only the newest spec pending.
		select {
		case <-out:
		default:
		}
		out <- &s
	}
	return sc.Err()
}

// events writes JSON-lines events.
// reportDataPath sends serve the data path's counters every couple of
// seconds while they change, for the portal's picture.
func reportDataPath(ctx context.Context, read func() clusterspec.DataPath, ev *events) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	var last clusterspec.DataPath
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		dp := read()
		if reflect.DeepEqual(dp, last) {
			continue
		}
		last = dp
		ev.send(clusterspec.Event{Type: clusterspec.EventDataPath, DataPath: &dp})
	}
}

type events struct {
	mu sync.Mutex
	w  io.Writer
}

func (e *events) send(ev clusterspec.Event) {
	b, err := clusterspec.Encode(ev)
	if err != nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.w.Write(b) //nolint:errcheck // serve gone: stdin closes too, and we stop
}

// writeKubeconfigs writes the in-process components' kubeconfigs (client
// certificates from the cluster PKI) and returns their paths by identity.
func writeKubeconfigs(l clusterspec.Layout, s *clusterspec.Spec) (map[string]string, error) {
	dir := filepath.Join(string(l), "kubeconfigs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	server := "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(s.APIServerPort))
	out := map[string]string{}
	for _, who := range []string{clusterspec.ControllerManagerClient, clusterspec.SchedulerClient, clusterspec.NodeSimulatorClient, clusterspec.MetricsServerClient} {
		cfg := clientcmdapi.NewConfig()
		cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: server, CertificateAuthority: l.CACert()}
		cfg.AuthInfos[who] = &clientcmdapi.AuthInfo{ClientCertificate: l.Cert(who), ClientKey: l.Key(who)}
		cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: who}
		cfg.CurrentContext = "local"
		path := kubeconfigPath(l, who)
		if err := clientcmd.WriteToFile(*cfg, path); err != nil {
			return nil, err
		}
		out[who] = path
	}
	return out, nil
}

// kubeconfigPath is where writeKubeconfigs puts an identity's kubeconfig.
func kubeconfigPath(l clusterspec.Layout, who string) string {
	return filepath.Join(string(l), "kubeconfigs", who+".conf")
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	c, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	c.QPS, c.Burst = 1000, 2000
	return c, nil
}

// waitAPIServer waits until path answers 200 (or a component fails).
func waitAPIServer(ctx context.Context, c *rest.Config, errs <-chan error, path string) error {
	cs, err := kubernetes.NewForConfig(c)
	if err != nil {
		return err
	}
	deadline := time.After(2 * time.Minute)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var code int
		res := cs.Discovery().RESTClient().Get().AbsPath(path).Do(ctx).StatusCode(&code)
		if res.Error() == nil && code == http.StatusOK {
			return nil
		}
		select {
		case err := <-errs:
			return err
		case <-deadline:
			return fmt.Errorf("API server %s not OK after 2m: %v", path, res.Error())
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// zapLogger sends etcd's warnings and errors to stderr (the process log).
func zapLogger() *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(os.Stderr), zap.WarnLevel)
	return zap.New(core)
}

// workloadIdentityDefaults are the webhook's tenant and authority: the
// cluster's tenant, and localaks's Entra endpoint (AKS's webhook points pods
// at login.microsoftonline.com).
func workloadIdentityDefaults(s *clusterspec.Spec) wiwebhook.Defaults {
	d := wiwebhook.Defaults{TenantID: s.Cloud.TenantID}
	if s.Cloud.ARMEndpoint != "" {
		d.AuthorityHost = strings.TrimSuffix(s.Cloud.ARMEndpoint, "/") + "/"
	}
	return d
}
