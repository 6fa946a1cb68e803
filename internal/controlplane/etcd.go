package controlplane

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/localaks/localaks/internal/clusterspec"
)

// maxSocketPath keeps unix socket paths under the kernel's limit (108 bytes
// with the terminating NUL); longer data directories fall back to loopback
// TCP.
const maxSocketPath = 100

// startEtcd starts the cluster's embedded etcd with its data in dir and
// returns the client URL the API server uses. It listens on a unix socket in
// dir, so nothing else on the machine can reach it.
func startEtcd(ctx context.Context, dir string, log *zap.Logger) (*embed.Etcd, string, error) {
	client, peer, err := etcdURLs(dir)
	if err != nil {
		return nil, "", err
	}
	cfg := etcdConfig(clusterspec.Layout(dir), client, peer)
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(log)
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, "", err
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("start etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, "", fmt.Errorf("etcd: %w", err)
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, "", fmt.Errorf("etcd did not become ready in 60s")
	case <-ctx.Done():
		e.Close()
		return nil, "", ctx.Err()
	}
	return e, client.String(), nil
}

// etcdConfig is the embedded etcd's configuration for a cluster whose etcd
// listens on client and peer (etcdURLs); the caller adds the logger.
func etcdConfig(l clusterspec.Layout, client, peer *url.URL) *embed.Config {
	cfg := embed.NewConfig()
	cfg.Name = "default"
	cfg.Dir = filepath.Join(string(l), "etcd")
	cfg.ListenClientUrls = []url.URL{*client}
	cfg.AdvertiseClientUrls = []url.URL{*client}
	cfg.ListenPeerUrls = []url.URL{*peer}
	cfg.AdvertisePeerUrls = []url.URL{*peer}
	cfg.InitialCluster = cfg.Name + "=" + peer.String()
	// A fresh member on first start, the same member afterwards.
	cfg.ClusterState = embed.ClusterStateFlagNew
	// The API server compacts every 5 minutes itself; keep the raft log
	// small so an idle cluster stays small.
	cfg.SnapshotCount = 5000
	cfg.SnapshotCatchUpEntries = 1000
	cfg.QuotaBackendBytes = 2 << 30
	cfg.Logger = "zap"
	cfg.LogLevel = "warn"
	return cfg
}

// etcdURLs picks the client and peer URLs: unix sockets in dir, or free
// loopback ports when dir's path is too long for a socket.
func etcdURLs(dir string) (client, peer *url.URL, err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, err
	}
	if client, peer, ok := etcdSockets(abs); ok {
		for _, s := range []string{client.Path, peer.Path} {
			// A socket left by a killed process would make listen fail.
			if err := os.Remove(s); err != nil && !os.IsNotExist(err) {
				return nil, nil, err
			}
		}
		return client, peer, nil
	}
	cp, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	pp, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	return &url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", cp)}, &url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", pp)}, nil
}

// etcdSockets are the client and peer URLs as unix sockets in dir (an
// absolute path); ok is false when dir's path is too long for a socket.
func etcdSockets(dir string) (client, peer *url.URL, ok bool) {
	sock := filepath.Join(dir, "etcd-client.sock")
	if len(sock) >= maxSocketPath {
		return nil, nil, false
	}
	return &url.URL{Scheme: "unix", Path: sock}, &url.URL{Scheme: "unix", Path: filepath.Join(dir, "etcd-peer.sock")}, true
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
