// Package e2e drives a built localaks binary with real clients: the az CLI,
// the Azure SDK for Go, and plain HTTPS.
//
// Every test runs its own serve on its own data dir and port, so tests are
// independent; the longest ones run in parallel (t.Parallel), two at a time
// on two cores, because `go test ./...` gives the package ten minutes. A
// parallel test must not depend on host-wide state other tests change
// (fixed ports, all network namespaces): the real-node tests track their own.
package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/localaks/localaks/internal/acrprovider"
	"github.com/localaks/localaks/internal/ingressnginx"
	"github.com/localaks/localaks/internal/nodehost"
)

// binary is the localaks binary built once for all tests.
var binary string

func TestMain(m *testing.M) {
	// The tests mostly wait (for az, for clusters), so more of them run at
	// once than the machine has cores (go test's default), unless -parallel
	// says otherwise: on two cores the suite would not fit go test's ten
	// minutes per package.
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		flag.Set("test.parallel", strconv.Itoa(max(4, runtime.GOMAXPROCS(0)))) //nolint:errcheck // the flag exists
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "localaks-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "localaks")
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	build := exec.Command("go", "build", "-o", binary, "./cmd/localaks")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build localaks:", err)
		return 1
	}
	// The kubelet's ACR credential provider and the managed NGINX's
	// controller, built once per machine (serve would build them on the
	// first cluster that needs them, inside a test's time).
	if len(nodehost.Missing()) == 0 {
		if cache, err := acrprovider.CacheDir(); err == nil {
			if _, err := acrprovider.Ensure(context.Background(), cache); err != nil {
				fmt.Fprintln(os.Stderr, "build the ACR credential provider:", err)
			}
		}
	}
	if len(nodehost.Missing()) == 0 && len(ingressnginx.MissingPackages()) == 0 {
		if cache, err := ingressnginx.CacheDir(); err == nil {
			if _, err := ingressnginx.Ensure(context.Background(), cache); err != nil {
				fmt.Fprintln(os.Stderr, "build the managed NGINX:", err)
			}
		}
	}
	return m.Run()
}

// serve is a running `localaks serve` process.
type serve struct {
	t       *testing.T
	dataDir string
	cmd     *exec.Cmd
	logFile string
	URL     string
	Client  client
	http    *http.Client
	done    chan struct{}
}

type client struct {
	TenantID       string `json:"tenantId"`
	SubscriptionID string `json:"subscriptionId"`
	ClientID       string `json:"clientId"`
	ClientSecret   string `json:"clientSecret"`
}

// startServe starts serve on a free loopback port with dataDir (a new temp
// dir if empty) and waits until it has recorded its address.
func startServe(t *testing.T, dataDir string, args ...string) *serve {
	t.Helper()
	return startServeEnv(t, dataDir, nil, args...)
}

// startServeEnv is startServe with extra environment variables.
func startServeEnv(t *testing.T, dataDir string, env []string, args ...string) *serve {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	logFile := filepath.Join(t.TempDir(), "serve.log")
	log, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, append([]string{"serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), env...)
	// If the test binary dies (a timeout panic skips cleanups), take serve
	// with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &serve{t: t, dataDir: dataDir, cmd: cmd, logFile: logFile, done: make(chan struct{})}
	go func() { cmd.Wait(); log.Close(); close(s.done) }()
	t.Cleanup(func() {
		s.kill(syscall.SIGKILL)
		if t.Failed() {
			s.dumpLog()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st struct {
			PID int    `json:"pid"`
			URL string `json:"url"`
		}
		data, err := os.ReadFile(filepath.Join(dataDir, "serve.json"))
		if err == nil && json.Unmarshal(data, &st) == nil && st.PID == cmd.Process.Pid {
			s.URL = st.URL
			break
		}
		select {
		case <-s.done:
			s.dumpLog()
			t.Fatalf("serve exited before it was ready")
		default:
		}
		if time.Now().After(deadline) {
			s.dumpLog()
			t.Fatal("serve did not become ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	data, err := os.ReadFile(filepath.Join(dataDir, "client.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &s.Client); err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(filepath.Join(dataDir, "pki", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	s.http = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return s
}

func (s *serve) dumpLog() {
	data, _ := os.ReadFile(s.logFile)
	s.t.Logf("serve log:\n%s", data)
}

// kill sends sig and waits for the process to exit.
func (s *serve) kill(sig syscall.Signal) {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(sig) //nolint:errcheck // it may have exited
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill() //nolint:errcheck
		<-s.done
		s.t.Errorf("serve did not exit after %v", sig)
	}
}

// exitCode is the exit status of the stopped process.
func (s *serve) exitCode() int { return s.cmd.ProcessState.ExitCode() }

func (s *serve) sub() string { return "/subscriptions/" + s.Client.SubscriptionID }

// token gets an ARM token from localaks's Entra endpoint.
func (s *serve) token(scope string) string {
	s.t.Helper()
	resp, err := s.http.PostForm(s.URL+"/"+s.Client.TenantID+"/oauth2/v2.0/token", map[string][]string{
		"grant_type": {"client_credentials"}, "client_id": {s.Client.ClientID}, "client_secret": {s.Client.ClientSecret}, "scope": {scope},
	})
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	if body.AccessToken == "" {
		s.t.Fatalf("token: %s", resp.Status)
	}
	return body.AccessToken
}

// azResult is the outcome of one az command.
type azResult struct {
	code           int
	stdout, stderr string
}

func (r azResult) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("az output is not JSON: %v\n%s", err, r.stdout)
	}
}

// needAz skips the test when az is not installed, unless the run requires
// it (CI sets LOCALAKS_E2E_REQUIRE_AZ=1, so a missing az fails there).
func needAz(t *testing.T) {
	t.Helper()
	needCommand(t, "az", "LOCALAKS_E2E_REQUIRE_AZ", "azure-cli")
}

// needCommand skips the test when a program is not installed, unless the
// environment variable env is set (as CI sets it), which makes that a
// failure. pkg is the Debian package that has it.
func needCommand(t *testing.T, name, env, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv(env) != "" {
			t.Fatalf("%s not installed but %s is set", name, env)
		}
		t.Skipf("%s not installed (apt-get install %s); skipping", name, pkg)
	}
}

// localaksAz runs `localaks az ARGS` against s.
func (s *serve) localaksAz(args ...string) azResult {
	s.t.Helper()
	return runCmd(s.t, nil, binary, append([]string{"az", "--data-dir", s.dataDir}, args...)...)
}

// az runs the az CLI with the given environment additions.
func az(t *testing.T, env []string, args ...string) azResult {
	t.Helper()
	return runCmd(t, env, "az", args...)
}

func runCmd(t *testing.T, env []string, name string, args ...string) azResult {
	t.Helper()
	return runCmdDir(t, "", env, name, args...)
}

// runCmdDir runs a command in dir ("" for the test's directory).
func runCmdDir(t *testing.T, dir string, env []string, name string, args ...string) azResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "AZURE_CORE_COLLECT_TELEMETRY=false")
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := azResult{stdout: out.String(), stderr: errb.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return r
}

// mustAz fails the test unless the command exits 0.
func mustAz(t *testing.T, r azResult) azResult {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("az exited %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	return r
}
