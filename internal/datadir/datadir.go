// Package datadir lays out a localaks data directory and the small state
// files through which `localaks az` and `localaks env` find the running
// serve of the same directory:
//
//	localaks.db     SQLite: resources, operations, tenants, subscriptions
//	pki/            local CA, serving certificate, Entra signing key, CA bundle
//	client.json     the built-in service principal and default IDs (0600)
//	serve.json      address and pid of the running serve (removed at exit)
//	serve.lock      held by the running serve
//	az/             AZURE_CONFIG_DIR of `localaks az`
package datadir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/localaks/localaks/internal/fsutil"
)

// EnvVar names the data directory when --data-dir is not given.
const EnvVar = "LOCALAKS_DATA_DIR"

// Dir is a data directory.
type Dir struct {
	Path string
}

// Resolve picks the data directory: flag, then $LOCALAKS_DATA_DIR, then
// ~/.localaks. The result is absolute.
func Resolve(flag string) (Dir, error) {
	p := flag
	if p == "" {
		p = os.Getenv(EnvVar)
	}
	if p == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return Dir{}, fmt.Errorf("find home directory for the default data dir: %w", err)
		}
		p = filepath.Join(home, ".localaks")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return Dir{}, fmt.Errorf("data dir %q: %w", p, err)
	}
	return Dir{Path: abs}, nil
}

// Create makes the directory (0700) if needed.
func (d Dir) Create() error {
	if err := os.MkdirAll(d.Path, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	// It holds the signing keys, the built-in principal's secret and
	// every cluster's credentials: another user able to write there could
	// replace them.
	fi, err := os.Stat(d.Path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("data dir %s is writable by other users (mode %04o); it holds localaks's keys and credentials: chmod go-w %s", d.Path, fi.Mode().Perm(), d.Path)
	}
	return nil
}

// DB is the SQLite database file.
func (d Dir) DB() string { return filepath.Join(d.Path, "localaks.db") }

// Clusters holds one directory per cluster control plane.
func (d Dir) Clusters() string { return filepath.Join(d.Path, "clusters") }

// Registries holds the container registries' content, one directory per
// registry.
func (d Dir) Registries() string { return filepath.Join(d.Path, "registries") }

// PKI is the directory of keys and certificates.
func (d Dir) PKI() string { return filepath.Join(d.Path, "pki") }

// CAFile is the certificate of the local CA.
func (d Dir) CAFile() string { return filepath.Join(d.PKI(), "ca.pem") }

// CABundle is the system CA bundle plus the local CA, for tools that take
// one trust file (REQUESTS_CA_BUNDLE, SSL_CERT_FILE).
func (d Dir) CABundle() string { return filepath.Join(d.PKI(), "ca-bundle.pem") }

// AzureConfigDir is the AZURE_CONFIG_DIR of `localaks az`.
func (d Dir) AzureConfigDir() string { return filepath.Join(d.Path, "az") }

// Client is the identity `localaks az` and `localaks env` use.
type Client struct {
	TenantID       string `json:"tenantId"`
	SubscriptionID string `json:"subscriptionId"`
	ClientID       string `json:"clientId"`
	ClientSecret   string `json:"clientSecret"`
}

// Serve describes the running serve.
type Serve struct {
	PID int `json:"pid"`
	// URL is the ARM endpoint, e.g. https://localhost:7443.
	URL string `json:"url"`
	// Addresses are the listening sockets.
	Addresses []string `json:"addresses"`
}

// ReadClient reads client.json.
func (d Dir) ReadClient() (Client, error) {
	var c Client
	err := readJSON(filepath.Join(d.Path, "client.json"), &c)
	return c, err
}

// WriteClient writes client.json, readable by the owner only.
func (d Dir) WriteClient(c Client) error {
	return writeJSON(filepath.Join(d.Path, "client.json"), c, 0o600)
}

// ErrNotRunning means no serve is running for the directory.
var ErrNotRunning = errors.New("localaks is not running")

// ReadServe reads serve.json and checks that its process is alive.
func (d Dir) ReadServe() (Serve, error) {
	var s Serve
	if err := readJSON(filepath.Join(d.Path, "serve.json"), &s); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return s, fmt.Errorf("%w for data dir %s: start it with `localaks serve`", ErrNotRunning, d.Path)
		}
		return s, err
	}
	if s.PID <= 0 || syscall.Kill(s.PID, 0) != nil {
		return s, fmt.Errorf("%w for data dir %s (serve.json names pid %d, which has exited): start it with `localaks serve`", ErrNotRunning, d.Path, s.PID)
	}
	return s, nil
}

// WriteServe records the running serve.
func (d Dir) WriteServe(s Serve) error {
	return writeJSON(filepath.Join(d.Path, "serve.json"), s, 0o644)
}

// RemoveServe removes serve.json at shutdown.
func (d Dir) RemoveServe() error {
	err := os.Remove(filepath.Join(d.Path, "serve.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Lock is an exclusive lock on a file.
type Lock struct{ f *os.File }

// LockFile takes an exclusive, non-blocking flock on name in the
// directory. The kernel drops it when the process dies, even by kill -9.
func (d Dir) LockFile(name string, wait bool) (*Lock, error) {
	f, err := os.OpenFile(filepath.Join(d.Path, name), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, err
	}
	return &Lock{f: f}, nil
}

// Release drops the lock.
func (l *Lock) Release() error {
	return l.f.Close()
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func writeJSON(path string, v any, perm os.FileMode) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(path, append(data, '\n'), perm)
}
