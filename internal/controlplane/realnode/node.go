package realnode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"

	"github.com/localaks/localaks/internal/gctune"
	"github.com/localaks/localaks/internal/k8sversion"
	"github.com/localaks/localaks/internal/nodehost"
)

// A node process is one real node: the first process of its own PID, mount,
// network, UTS and IPC namespaces (the control plane starts it so), it runs
// the node's containerd as its child and the kubelet and kube-proxy as its
// goroutines. When it dies, the kernel kills everything in its PID
// namespace (containerd, shims, containers) and frees its mounts and
// network with it: a node cannot outlive its process.

// startFD is the pipe the control plane closes once the node's NIC is
// plugged in (its address exists before the kubelet looks for it).
const startFD = 3

// Command is the hidden `localaks node` command the control plane starts
// for every real node.
func Command() *cobra.Command {
	var dir string
	var main, proxyOnly bool
	cmd := &cobra.Command{
		Use:    "node --dir DIR",
		Short:  "Run one real node (started by a cluster's control plane)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if proxyOnly {
				return runProxy(cmd.Context(), dir)
			}
			if !main {
				return errors.New("a node's process is started by its init (the control plane starts both)")
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
			return runNode(cmd.Context(), dir, log)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the node's directory")
	cmd.Flags().BoolVar(&main, "main", false, "run the node itself (under the namespace's init)")
	cmd.Flags().MarkHidden("main") //nolint:errcheck // the flag exists
	cmd.Flags().BoolVar(&proxyOnly, "proxy", false, "run the node's kube-proxy")
	cmd.Flags().MarkHidden("proxy") //nolint:errcheck // the flag exists
	cmd.MarkFlagRequired("dir")     //nolint:errcheck // the flag exists
	return cmd
}

func runNode(ctx context.Context, dir string, log *slog.Logger) error {
	c, err := readConfig(dir)
	if err != nil {
		return err
	}
	if err := setupNamespaces(&c); err != nil {
		return err
	}
	if c.Version != "" {
		k8sversion.Stamp(c.Version)
	}
	go gctune.Run(ctx)
	// Wait for the NIC.
	start := os.NewFile(startFD, "start")
	if _, err := io.Copy(io.Discard, start); err != nil {
		return fmt.Errorf("wait for the network: %w", err)
	}
	start.Close()
	for key, val := range map[string]string{
		"net/ipv4/ip_forward":                 "1",
		"net/bridge/bridge-nf-call-iptables":  "1",
		"net/bridge/bridge-nf-call-ip6tables": "1",
		"net/ipv4/conf/all/route_localnet":    "1",
	} {
		if err := os.WriteFile(filepath.Join("/proc/sys", key), []byte(val), 0o644); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("sysctl %s: %w", key, err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.baseSpec()), 0o755); err != nil {
		return err
	}
	if err := writeBaseSpec(&c, self); err != nil {
		return err
	}
	ctd, err := startContainerd(ctx, &c)
	if err != nil {
		return err
	}
	ctdExit := make(chan struct{})
	go func() {
		ctd.Wait() //nolint:errcheck // any end of containerd ends the node
		close(ctdExit)
	}()
	defer ctd.Process.Kill() //nolint:errcheck // we exit; the kernel kills the rest
	for _, img := range c.Images {
		if err := importImage(ctx, &c, img); err != nil {
			return err
		}
	}
	log.Info("containerd ready", "node", c.Name)

	errs := make(chan error, 2)
	// kube-proxy runs as its own process: it and the kubelet each apply
	// process-wide logging settings, once.
	kp := exec.CommandContext(ctx, self, "node", "--dir", dir, "--proxy")
	kp.Stdout, kp.Stderr = os.Stdout, os.Stderr
	if err := kp.Start(); err != nil {
		return fmt.Errorf("start kube-proxy: %w", err)
	}
	go func() { errs <- fmt.Errorf("kube-proxy: %w", kp.Wait()) }()
	go func() {
		kc := kubelet.NewKubeletCommand(ctx)
		kc.SetArgs(c.KubeletArgs)
		errs <- fmt.Errorf("kubelet: %w", kc.ExecuteContext(ctx))
	}()
	select {
	case <-ctdExit:
		return fmt.Errorf("containerd exited (see %s)", filepath.Join(c.Dir, "containerd.log"))
	case err := <-errs:
		return err
	case <-ctx.Done():
		return nil
	}
}

// setupNamespaces makes the node's mounts and hostname. It runs first in
// the node's namespaces, whose init (nodeapps.InitProgram) only starts it
// and reaps.
func setupNamespaces(c *Config) error {
	if err := setupMounts(filepath.Join(c.Dir, "resolv.conf")); err != nil {
		return err
	}
	if err := setupMachine(c); err != nil {
		return err
	}
	// The kubelet's sockets live under its root directory, and socket
	// paths are short: its root is /run/kubelet, the node's kubelet
	// directory bound there.
	kdir := filepath.Join(c.Dir, "kubelet")
	if err := os.MkdirAll(kdir, 0o700); err != nil {
		return err
	}
	if err := os.MkdirAll(kubeletRoot, 0o700); err != nil {
		return err
	}
	if err := unix.Mount(kdir, kubeletRoot, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s: %w", kubeletRoot, err)
	}
	if err := unix.Sethostname([]byte(c.Name)); err != nil {
		return fmt.Errorf("hostname: %w", err)
	}
	return nil
}

// setupMounts makes the node's mount namespace: nothing mounted here
// propagates to the host; /proc is the node's PID namespace's; /run is the
// node's own (containerd's network-namespace pins, runc's state, iptables'
// lock); /etc/resolv.conf is the node's (Azure's DNS in the virtual
// network, as a VM's), so that containerd resolves registries there and
// never asks the host's resolver.
func setupMounts(resolv string) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("make / a slave mount: %w", err)
	}
	// Where /etc/resolv.conf really is (often a link into /run, which is
	// replaced below).
	resolvTarget, err := filepath.EvalSymlinks("/etc/resolv.conf")
	if err != nil {
		resolvTarget = "/etc/resolv.conf"
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	if err := unix.Mount("tmpfs", "/run", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=755"); err != nil {
		return fmt.Errorf("mount /run: %w", err)
	}
	for _, d := range []string{"/run/netns", "/run/containerd", "/run/lock"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if _, err := os.Stat(resolv); err != nil {
		return nil // a node directory from before: the host's resolver stays
	}
	if _, err := os.Stat(resolvTarget); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(resolvTarget), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(resolvTarget, nil, 0o644); err != nil {
			return err
		}
	}
	if err := unix.Mount(resolv, resolvTarget, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind the node's resolv.conf on %s: %w", resolvTarget, err)
	}
	return nil
}

// readConfig reads the node.json the control plane wrote in dir.
func readConfig(dir string) (Config, error) {
	var c Config
	raw, err := os.ReadFile(filepath.Join(dir, "node.json"))
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("node.json: %w", err)
	}
	return c, nil
}

// runProxy runs the node's kube-proxy.
func runProxy(ctx context.Context, dir string) error {
	c, err := readConfig(dir)
	if err != nil {
		return err
	}
	if c.Version != "" {
		k8sversion.Stamp(c.Version)
	}
	go gctune.Run(ctx)
	pc := proxy.NewProxyCommand()
	pc.SetArgs(c.ProxyArgs)
	pc.SilenceUsage = true
	return pc.ExecuteContext(ctx)
}

// startContainerd runs the node's containerd and waits for its socket.
func startContainerd(ctx context.Context, c *Config) (*exec.Cmd, error) {
	for _, d := range []string{filepath.Dir(c.socket()), c.cniConfDir(), filepath.Join(c.Dir, "containerd")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	logf, err := os.OpenFile(filepath.Join(c.Dir, "containerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(c.Containerd, "--config", c.containerdConf())
	cmd.Stdout, cmd.Stderr = logf, logf
	// containerd idles on a node: collect its heap often (as gctune does
	// for an idle Go process of ours).
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(c.Runc)+":/usr/bin:/usr/sbin:/bin:/sbin", "GOGC=40")
	if c.RegistryCA != "" {
		cmd.Env = append(cmd.Env, "SSL_CERT_FILE="+c.RegistryCA)
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start containerd: %w", err)
	}
	logf.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.Dial("unix", c.socket())
		if err == nil {
			conn.Close()
			return cmd, nil
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill() //nolint:errcheck // giving up on it
			return nil, fmt.Errorf("containerd did not listen on %s within 30s (see %s)", c.socket(), filepath.Join(c.Dir, "containerd.log"))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// importImage loads an image archive into the node's containerd, in the
// namespace the CRI plugin uses.
func importImage(ctx context.Context, c *Config, archive string) error {
	return nodehost.ImportImage(ctx, ctrPath(c), c.socket(), archive)
}

// ctrPath is containerd's client, next to containerd.
func ctrPath(c *Config) string { return filepath.Join(filepath.Dir(c.Containerd), "ctr") }
