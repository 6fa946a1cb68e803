// Package realnode runs a cluster's real nodes: for every VMSS instance of
// a pool whose nodes are real, a node process (kubelet, kube-proxy and the
// node's own containerd) in namespaces of its own, wired into its virtual
// network's namespace (the fabric). The control-plane process owns the
// Manager; the node process is `localaks node`.
package realnode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/dataplane"
	"github.com/localaks/localaks/internal/nodehost"
	"github.com/localaks/localaks/internal/nodesim"
	"github.com/localaks/localaks/internal/pki"
)

// Manager keeps a cluster's real nodes running as its spec says.
type Manager struct {
	layout clusterspec.Layout
	log    *slog.Logger
	// Self is the localaks binary (the node command's).
	self string

	mu      sync.Mutex
	spec    *clusterspec.Spec
	nodes   map[string]*nodeProc
	fab     *fabric
	fwd     []net.Listener
	fwdAddr string
	dns     *vnetDNS
	closed  bool
	// imds, platform and platformTarget are the platform services in the
	// fabric (platform.go).
	imds           *imds
	platform       []func()
	platformTarget string

	// provider is the kubelet's ACR credential provider's build
	// (ensureCredentialProvider), under providerMu.
	providerMu sync.Mutex
	provider   providerBuild

	// ingress is the managed NGINX's build (ensureIngressBundle), under
	// ingressMu: it is made before Sync takes mu.
	ingressMu sync.Mutex
	ingress   ingressBuild

	// Simulated, when set, connects to a simulated node's port (its
	// kubelet's API): the tunnel reaches simulated nodes through it.
	Simulated func(ctx context.Context, node, port string) (net.Conn, error)
	// Played, when set, connects to a Service address whose pods the
	// control plane plays (they are on simulated nodes); ok false leaves
	// the address to the cluster's network.
	Played func(ctx context.Context, host, port string) (c net.Conn, ok bool, err error)
	// NodePort, when set, finds the node port of the LoadBalancer Service
	// whose address and port a floating-IP rule's frontend has.
	NodePort func(frontend netip.Addr, protocol string, port int) (int, bool)
	// Event, when set, tells the Service behind a load balancer frontend
	// what the data path has to say.
	Event func(frontend, reason, message string)

	// lb runs the load balancers the fabric's data path holds.
	lb *dataplane.Engine
}

// nodeProc is one running node.
type nodeProc struct {
	name   string
	dir    string
	cancel context.CancelFunc
	done   chan struct{}
	// initPID is the node's init while it runs (0 between runs).
	initPID atomic.Int64
	// ingressImage is the managed NGINX's image archive the node has.
	ingressImage string
}

func (p *nodeProc) pid() int { return int(p.initPID.Load()) }

// NewManager makes the manager of the cluster at layout.
func NewManager(l clusterspec.Layout, log *slog.Logger) (*Manager, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	m := &Manager{layout: l, log: log, self: self, nodes: map[string]*nodeProc{}, imds: &imds{}}
	m.lb = dataplane.New(dataplane.Config{Dial: m.dialFabric, Running: m.runningAddr, Log: log,
		NodePort: func(fe netip.Addr, protocol string, port int) (int, bool) {
			if m.NodePort == nil {
				return 0, false
			}
			return m.NodePort(fe, protocol, port)
		},
		Event: func(frontend, reason, message string) {
			if m.Event != nil {
				m.Event(frontend, reason, message)
			}
		}})
	// Nodes of an earlier process of this cluster died with it (their
	// parent-death signal); their cgroups did not.
	if err := removeCgroups(m.cgroupBase()); err != nil {
		log.Warn("stale node cgroups", "err", err)
	}
	return m, nil
}

// cgroupBase holds the cluster's nodes' cgroup roots.
func (m *Manager) cgroupBase() string { return filepath.Dir(cgroupRoot(m.layout, "x")) }

func (m *Manager) nodesDir() string { return m.layout.Nodes() }

// loadedImages lists the archives loaded into the cluster (image load).
func (m *Manager) loadedImages() []string {
	out, _ := filepath.Glob(filepath.Join(m.layout.Images(), "*.tar"))
	return out
}

// UseSpec gives the tunnel the cluster's spec (node names and addresses)
// before the first Sync.
func (m *Manager) UseSpec(s *clusterspec.Spec) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.spec == nil {
		m.spec = s
	}
}

// Sync starts the real nodes spec has and are not running, stops those it
// no longer has, and sets the fabric's routes. It returns once every
// node's process runs (their kubelets register and report Ready on their
// own).
func (m *Manager) Sync(ctx context.Context, s *clusterspec.Spec) error {
	m.ensureIngressBundle(ctx, s)
	m.ensureCredentialProvider(ctx, s)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("real nodes are shut down")
	}
	m.spec = s
	want := map[string]clusterspec.Node{}
	for _, n := range s.RealNodes() {
		want[n.Name] = n
	}
	for name, p := range m.nodes {
		if _, ok := want[name]; !ok {
			m.stopNode(p)
			if err := os.RemoveAll(p.dir); err != nil {
				return err
			}
			delete(m.nodes, name)
		}
	}
	if len(want) == 0 {
		return m.releaseFabric()
	}
	tools, missing := nodehost.Find()
	if len(missing) > 0 {
		return fmt.Errorf("this host cannot run real nodes: it lacks %s", strings.Join(missing, "; "))
	}
	if err := m.ensureFabric(s); err != nil {
		return err
	}
	for _, n := range want {
		prefix, err := netip.ParsePrefix(n.Subnet)
		if err != nil {
			return fmt.Errorf("node %s: subnet %q: %w", n.Name, n.Subnet, err)
		}
		if _, err := m.fab.ensureSubnet(prefix); err != nil {
			return err
		}
	}
	if err := m.ensureDNS(s); err != nil {
		return fmt.Errorf("serve Azure's DNS in the virtual network: %w", err)
	}
	if err := m.ensurePlatform(s); err != nil {
		return err
	}
	if err := m.setRoutes(s); err != nil {
		return err
	}
	m.lb.Set(s.Fabric)
	images, err := m.ensureImages(s)
	if err != nil {
		return err
	}
	ingressImage := ""
	if s.AppRouting {
		ingressImage = images[len(images)-1]
		if err := m.importIngressImage(ctx, tools, ingressImage); err != nil {
			return err
		}
	}
	for name, n := range want {
		if _, ok := m.nodes[name]; ok {
			continue
		}
		cfg, err := m.prepareNode(s, n, tools, append(images, m.loadedImages()...))
		if err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
		pctx, cancel := context.WithCancel(context.Background())
		p := &nodeProc{name: name, dir: cfg.Dir, cancel: cancel, done: make(chan struct{}), ingressImage: ingressImage}
		started := make(chan error, 1)
		go m.keepRunning(pctx, p, cfg, n, started)
		if err := <-started; err != nil {
			cancel()
			<-p.done
			return fmt.Errorf("node %s: %w", name, err)
		}
		m.nodes[name] = p
	}
	return nil
}

// Reimage gives the named real nodes a new OS disk, as AKS's upgrade and
// node-image upgrade do: each node's process stops, its directory (its
// containerd's images and containers, its kubelet's state) goes, and it
// starts again from s (its pool's version now). Its Node object stays.
func (m *Manager) Reimage(ctx context.Context, s *clusterspec.Spec, names []string) error {
	m.mu.Lock()
	for _, name := range names {
		p := m.nodes[name]
		if p == nil {
			continue
		}
		m.stopNode(p)
		delete(m.nodes, name)
		if err := os.RemoveAll(p.dir); err != nil {
			m.mu.Unlock()
			return err
		}
	}
	m.mu.Unlock()
	return m.Sync(ctx, s)
}

// Close stops every node and removes the fabric if nothing else uses it.
// Node directories stay (a restart re-creates the nodes there).
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	m.lb.Close()
	for name, p := range m.nodes {
		m.stopNode(p)
		delete(m.nodes, name)
	}
	err := errors.Join(m.releaseFabric(), removeCgroups(m.cgroupBase()))
	// The shared parent goes with the last cluster (another's keeps it).
	for _, h := range hierarchies() {
		os.Remove(filepath.Join(h, filepath.Dir(m.cgroupBase()))) //nolint:errcheck // busy while others use it
	}
	return err
}

// DataPath is what the cluster's load balancers and gateways have carried.
func (m *Manager) DataPath() clusterspec.DataPath { return m.lb.DataPath() }

// dialFabric connects to addr from the virtual network's namespace, as
// Azure's network delivers traffic to a NIC.
func (m *Manager) dialFabric(ctx context.Context, network, addr string) (net.Conn, error) {
	m.mu.Lock()
	var ns netns.NsHandle = -1
	if m.fab != nil {
		if fd, err := unix.Dup(int(m.fab.ns)); err == nil {
			ns = netns.NsHandle(fd)
		}
	}
	m.mu.Unlock()
	if ns == -1 {
		return nil, errors.New("the virtual network is not up")
	}
	defer ns.Close()
	var conn net.Conn
	err := inNetns(ns, func() error {
		var d net.Dialer
		var err error
		conn, err = d.DialContext(ctx, network, addr)
		return err
	})
	return conn, err
}

// runningAddr tells whether addr is a real node's whose process runs.
func (m *Manager) runningAddr(addr netip.Addr) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.spec == nil {
		return false
	}
	for _, n := range m.spec.RealNodes() {
		if n.InternalIP == addr.String() {
			p := m.nodes[n.Name]
			return p != nil && p.pid() != 0
		}
	}
	return false
}

// stopNode kills a node's namespace (its init) and cleans what the kernel
// does not: the NIC's fabric end and the node's cgroups.
func (m *Manager) stopNode(p *nodeProc) {
	p.cancel()
	<-p.done
}

// keepRunning runs a node process, and again after it dies (the node goes
// NotReady meanwhile, as a VM whose kubelet crashed), until ctx ends. The
// first start's outcome goes to started.
func (m *Manager) keepRunning(ctx context.Context, p *nodeProc, cfg *Config, n clusterspec.Node, started chan<- error) {
	defer close(p.done)
	backoff := 500 * time.Millisecond
	first := true
	for {
		cmd, err := m.startNode(cfg, n)
		if first {
			started <- err
			first = false
			if err != nil {
				return
			}
		}
		if err == nil {
			p.initPID.Store(int64(cmd.Process.Pid))
			if err := os.WriteFile(m.layout.NodePID(p.name), []byte(strconv.Itoa(cmd.Process.Pid)), 0o600); err != nil {
				m.log.Warn("node pid file", "node", p.name, "err", err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err = <-exited:
				m.log.Warn("real node ended; restarting it", "node", p.name, "err", err, "log", filepath.Join(cfg.Dir, "node.log"))
			case <-ctx.Done():
				cmd.Process.Kill() //nolint:errcheck // it may have just ended
				<-exited
			}
		} else {
			m.log.Warn("real node did not start", "node", p.name, "err", err)
		}
		p.initPID.Store(0)
		os.Remove(m.layout.NodePID(p.name)) //nolint:errcheck // gone already is fine
		m.cleanNode(cfg)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

// cleanNode removes what a dead node process leaves: its NIC's fabric end
// (the kernel removed the pair with the namespace; this is for a
// half-plugged one) and its cgroups.
func (m *Manager) cleanNode(cfg *Config) {
	if m.fab != nil {
		if err := m.fab.unplug(cfg.Name); err != nil {
			m.log.Warn("unplug", "node", cfg.Name, "err", err)
		}
	}
	if err := removeCgroups(cgroupRoot(m.layout, cfg.Name)); err != nil {
		m.log.Warn("cgroups", "node", cfg.Name, "err", err)
	}
}

// startNode starts a node's init in new namespaces and plugs its NIC.
func (m *Manager) startNode(cfg *Config, n clusterspec.Node) (*exec.Cmd, error) {
	m.cleanNode(cfg)
	if err := makeCgroups(cgroupRoot(m.layout, cfg.Name)); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(cfg.Dir, "node.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer w.Close()
	init, err := m.ensureInit()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(init, m.self, "node", "--dir", cfg.Dir, "--main")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{r}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWNET | syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
		Pdeathsig:  syscall.SIGKILL,
	}
	err = cmd.Start()
	r.Close()
	if err != nil {
		return nil, fmt.Errorf("start node process: %w", err)
	}
	prefix, perr := netip.ParsePrefix(n.Subnet)
	ip, ierr := netip.ParseAddr(n.InternalIP)
	if err := errors.Join(perr, ierr); err != nil {
		cmd.Process.Kill() //nolint:errcheck // it waits for us
		cmd.Wait()         //nolint:errcheck // killed
		return nil, err
	}
	if err := m.fab.plug(cfg.Name, cmd.Process.Pid, prefix, ip); err != nil {
		cmd.Process.Kill() //nolint:errcheck // it waits for us
		cmd.Wait()         //nolint:errcheck // killed
		return nil, fmt.Errorf("plug the NIC: %w", err)
	}
	return cmd, nil
}

// ensureFabric opens the virtual network's namespace and serves the API
// server's advertised address in it.
func (m *Manager) ensureFabric(s *clusterspec.Spec) error {
	if m.fab == nil {
		if s.Fabric.VNetID == "" {
			return errors.New("the spec names no virtual network for real nodes")
		}
		f, err := openFabric(fabricName(filepath.Dir(string(m.layout)), s.Fabric.VNetID))
		if err != nil {
			return err
		}
		m.fab = f
	}
	adv, err := netip.ParseAddr(s.AdvertiseAddress)
	if err != nil {
		return fmt.Errorf("advertise address %q: %w", s.AdvertiseAddress, err)
	}
	if err := m.fab.ensureAddress(adv); err != nil {
		return err
	}
	target := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.APIServerPort))
	if m.fwdAddr == target {
		return nil
	}
	for _, l := range m.fwd {
		l.Close()
	}
	m.fwd = nil
	for _, port := range []int{s.APIServerPort, 443} {
		var ln net.Listener
		addr := net.JoinHostPort(adv.String(), strconv.Itoa(port))
		if err := inNetns(m.fab.ns, func() error {
			var err error
			ln, err = net.Listen("tcp", addr)
			return err
		}); err != nil {
			return fmt.Errorf("serve the API server at %s in the virtual network: %w", addr, err)
		}
		m.fwd = append(m.fwd, ln)
		go forward(ln, target)
	}
	m.fwdAddr = target
	return nil
}

// forward relays every connection ln accepts to target (on the host's
// loopback): the API server as nodes and pods reach it.
func forward(ln net.Listener, target string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			up, err := net.Dial("tcp", target)
			if err != nil {
				return
			}
			defer up.Close()
			splice(c, up)
		}()
	}
}

// splice copies both ways until either side ends.
func splice(a, b net.Conn) {
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		io.Copy(dst, src) //nolint:errcheck // either end closing ends the relay
		if tc, ok := dst.(interface{ CloseWrite() error }); ok {
			tc.CloseWrite() //nolint:errcheck // best effort half-close
		}
		done <- struct{}{}
	}
	go cp(a, b)
	go cp(b, a)
	<-done
	<-done
}

// releaseFabric closes the forwarders and removes the namespace once no
// node NIC is plugged into it (another cluster's nodes may share it).
func (m *Manager) releaseFabric() error {
	m.lb.Set(clusterspec.Fabric{})
	m.stopDNS()
	m.stopPlatform()
	for _, l := range m.fwd {
		l.Close()
	}
	m.fwd, m.fwdAddr = nil, ""
	if m.fab == nil {
		return nil
	}
	n, err := m.fab.nics()
	name := m.fab.name
	m.fab.close()
	m.fab = nil
	if err != nil || n > 0 {
		return err
	}
	return removeFabric(name)
}

// setRoutes makes the fabric's pod routes: the route table's (kubenet),
// or each node's overlay range to the node.
func (m *Manager) setRoutes(s *clusterspec.Spec) error {
	want := map[netip.Prefix]netip.Addr{}
	add := func(prefix, hop string) {
		p, err1 := netip.ParsePrefix(prefix)
		a, err2 := netip.ParseAddr(hop)
		if err1 == nil && err2 == nil {
			want[p.Masked()] = a
		}
	}
	switch s.Network.Model() {
	case "kubenet":
		for _, r := range s.Fabric.Routes {
			add(r.Prefix, r.NextHop)
		}
	case "overlay":
		for _, n := range s.RealNodes() {
			add(n.PodCIDR, n.InternalIP)
		}
	case "azure":
		for _, n := range s.RealNodes() {
			for _, ip := range n.PodIPs {
				add(ip+"/32", n.InternalIP)
			}
		}
	}
	return m.fab.setRoutes(want)
}

// prepareNode writes a node's directory: credentials, kubeconfig and the
// kubelet's, containerd's and CNI's configuration.
func (m *Manager) prepareNode(s *clusterspec.Spec, n clusterspec.Node, tools nodehost.Tools, images []string) (*Config, error) {
	dir := filepath.Join(m.nodesDir(), n.Name)
	cfg := &Config{Name: n.Name, IP: n.InternalIP, Dir: dir, Containerd: tools.Containerd, Runc: tools.Runc, CNIDir: tools.CNIDir, Sh: tools.Sh, Mount: tools.Mount, Images: images}
	if pool, ok := s.Pool(n.Pool); ok && pool.Version != "" {
		cfg.Version, cfg.NodeImage = "v"+strings.TrimPrefix(pool.Version, "v"), pool.NodeImageVersion
	}
	if err := os.MkdirAll(cfg.cniConfDir(), 0o700); err != nil {
		return nil, err
	}
	ca, err := pki.LoadOrCreateCA(m.layout.PKI(), clusterspec.CAName, "ca")
	if err != nil {
		return nil, err
	}
	pkiDir := filepath.Join(dir, "pki")
	if err := os.MkdirAll(pkiDir, 0o700); err != nil {
		return nil, err
	}
	if _, err := ca.ClientCert(pkiDir, "kubelet", "system:node:"+n.Name, []string{"system:nodes"}); err != nil {
		return nil, err
	}
	if _, err := ca.ClientCert(pkiDir, "kube-proxy", "system:kube-proxy", nil); err != nil {
		return nil, err
	}
	server := "https://" + net.JoinHostPort(s.AdvertiseAddress, strconv.Itoa(s.APIServerPort))
	for who, file := range map[string]string{"kubelet": cfg.kubeconfig(), "kube-proxy": filepath.Join(dir, "kube-proxy.conf")} {
		kc := clientcmdapi.NewConfig()
		kc.Clusters["cluster"] = &clientcmdapi.Cluster{Server: server, CertificateAuthority: m.layout.CACert()}
		kc.AuthInfos[who] = &clientcmdapi.AuthInfo{ClientCertificate: filepath.Join(pkiDir, who+".pem"), ClientKey: filepath.Join(pkiDir, who+"-key.pem")}
		kc.Contexts["cluster"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: who}
		kc.CurrentContext = "cluster"
		if err := clientcmd.WriteToFile(*kc, file); err != nil {
			return nil, err
		}
	}
	pool, _ := s.Pool(n.Pool)
	node, err := nodesim.BuildNode(s, n)
	if err != nil {
		return nil, err
	}
	// The node's machine is its VM size's (machine.go), and the kubelet
	// reserves what AKS reserves: its allocatable is a simulated node's.
	res := reserved{}
	if c, a := node.Status.Capacity, node.Status.Allocatable; c != nil && a != nil {
		cfg.CPUs = int(c.Cpu().Value())
		cfg.MemoryBytes = c.Memory().Value()
		res.cpuMilli = c.Cpu().MilliValue() - a.Cpu().MilliValue()
		res.memoryBytes = c.Memory().Value() - a.Memory().Value()
	}
	resolv := filepath.Join(dir, "resolv.conf")
	// Azure's DNS inside the virtual network (azuredns.go); nothing on the
	// host is ever asked.
	if err := os.WriteFile(resolv, []byte("nameserver "+AzureDNS+"\noptions timeout:1 attempts:1\n"), 0o644); err != nil {
		return nil, err
	}
	files := map[string]string{
		cfg.kubeletConf():    kubeletConfig(pool.MaxPods, s.Network.DNSServiceIP, cgroupRoot(m.layout, n.Name), resolv, n.ProviderID, filepath.Join(dir, "pods"), m.layout.CACert(), res),
		cfg.containerdConf(): containerdConfig(cfg),
	}
	localMode := []string{"--detect-local-mode=ClusterCIDR"}
	switch model := s.Network.Model(); {
	case model == "azure":
		conf, err := azureCNIConfig(n.Subnet, n.InternalIP, n.PodIPs)
		if err != nil {
			return nil, err
		}
		files[filepath.Join(cfg.cniConfDir(), "10-azure.conflist")] = conf
		localMode = []string{"--detect-local-mode=InterfaceNamePrefix", "--pod-interface-name-prefix=veth"}
	case n.PodCIDR != "":
		conf, err := cniConfig(n.PodCIDR)
		if err != nil {
			return nil, err
		}
		files[filepath.Join(cfg.cniConfDir(), "10-kubenet.conflist")] = conf
	default:
		return nil, fmt.Errorf("network model %s: real nodes need a pod range or pre-allocated pod addresses", model)
	}
	for path, body := range files {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			return nil, err
		}
	}
	cfg.KubeletArgs = []string{
		"--config=" + cfg.kubeletConf(),
		"--kubeconfig=" + cfg.kubeconfig(),
		"--hostname-override=" + n.Name,
		"--node-ip=" + n.InternalIP,
		"--root-dir=" + kubeletRoot,
		"--cert-dir=" + filepath.Join(dir, "kubelet", "pki"),
		"--container-runtime-endpoint=unix://" + cfg.socket(),
		"--node-labels=" + nodeLabelsFlag(node.Labels),
		"--register-with-taints=" + taintsFlag(node.Spec.Taints),
		"--v=1",
	}
	if s.Cloud.ARMEndpoint != "" {
		// Container registries are serve's (platform.go), whose
		// certificate localaks's CA signs.
		cfg.RegistryCA = s.Cloud.CAFile
	}
	m.providerMu.Lock()
	provider := m.provider.path
	m.providerMu.Unlock()
	if provider != "" && s.Cloud.KubeletClientID != "" {
		// Images of container registries: pulled with the kubelet
		// identity's credentials (credentialprovider.go).
		conf, bin, err := writeCredentialProvider(dir, provider, s.Cloud)
		if err != nil {
			return nil, err
		}
		cfg.KubeletArgs = append(cfg.KubeletArgs, "--image-credential-provider-config="+conf, "--image-credential-provider-bin-dir="+bin)
	}
	clusterCIDR := s.Network.PodCIDR
	if clusterCIDR == "" {
		clusterCIDR = n.PodCIDR
	}
	cfg.ProxyArgs = []string{
		"--kubeconfig=" + filepath.Join(dir, "kube-proxy.conf"),
		"--hostname-override=" + n.Name,
		"--proxy-mode=iptables",
		"--cluster-cidr=" + clusterCIDR,
		"--metrics-bind-address=127.0.0.1:10249",
		"--healthz-bind-address=" + net.JoinHostPort(n.InternalIP, "10256"),
		// The host's conntrack table is everyone's: leave its sizes alone.
		"--conntrack-max-per-core=0",
		"--conntrack-tcp-timeout-established=0",
		"--conntrack-tcp-timeout-close-wait=0",
		"--v=1",
	}
	cfg.ProxyArgs = append(cfg.ProxyArgs, localMode...)
	if clusterCIDR == "" {
		cfg.ProxyArgs = slices.DeleteFunc(cfg.ProxyArgs, func(a string) bool { return a == "--cluster-cidr=" })
	}
	raw, err := jsonIndent(cfg)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "node.json"), raw, 0o600); err != nil {
		return nil, err
	}
	return cfg, nil
}

func taintsFlag(ts []corev1.Taint) string {
	var parts []string
	for _, t := range ts {
		parts = append(parts, t.Key+"="+t.Value+":"+string(t.Effect))
	}
	return strings.Join(parts, ",")
}
