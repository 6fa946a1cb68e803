// Package supervisor runs one control-plane process (`localaks
// controlplane`) per running cluster on behalf of serve: it prepares the
// cluster's PKI, starts the process, sends it the cluster's spec and waits
// for it to converge, restarts it with back-off when it dies, stops it
// (data kept) and deletes it (data gone). Children die with serve
// (parent-death signal, and their stdin closing), so a restarted serve
// starts clean and resumes every running cluster.
package supervisor

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/localaks/localaks/internal/clusterspec"
)

// Config configures a Supervisor.
type Config struct {
	// Dir holds one directory per cluster (<data-dir>/clusters).
	Dir string
	// Command is the argv that starts a control plane (default: this
	// binary's `controlplane` command); --dir is appended.
	Command []string
	// Kubectl is the argv of the kubectl runCommand uses (default: this
	// binary's `kubectl` command).
	Kubectl []string
	// ARMEndpoint and CAFile tell control planes' cloud controllers where
	// localaks's ARM API is and which CA to trust for it.
	ARMEndpoint, CAFile string
	// WebhookToken is the token an Entra ID cluster's API server presents
	// to serve's Azure RBAC webhook.
	WebhookToken func(clusterUID string) (string, error)
	// Env is added to the child's environment.
	Env []string
	Log *slog.Logger
}

// Supervisor owns the control-plane processes.
type Supervisor struct {
	cfg Config

	mu     sync.Mutex
	procs  map[string]*proc
	closed bool
}

// New makes a Supervisor.
func New(cfg Config) (*Supervisor, error) {
	if len(cfg.Command) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cfg.Command = []string{exe, "controlplane"}
	}
	if len(cfg.Kubectl) == 0 {
		cfg.Kubectl = []string{cfg.Command[0], "kubectl"}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	return &Supervisor{cfg: cfg, procs: map[string]*proc{}}, nil
}

// Layout is a cluster's data directory.
func (s *Supervisor) Layout(uid string) clusterspec.Layout {
	return clusterspec.Layout(filepath.Join(s.cfg.Dir, uid))
}

// Error is a control plane's failure to reach a spec; Code is an AKS error
// code when the process named one.
type Error struct {
	Code string
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// proc is one cluster's process and what serve wants of it.
type proc struct {
	s   *Supervisor
	uid string

	mu         sync.Mutex
	spec       *clusterspec.Spec // newest desired spec
	generation int64
	want       bool // should run
	cmd        *exec.Cmd
	stdin      io.WriteCloser
	exited     chan struct{} // closed when the current process exits
	converged  int64         // newest generation the process reported converged
	failed     map[int64]clusterspec.Event
	version    string
	started    bool   // the current process's API server answered
	crashes    int    // consecutive exits without starting
	lastErr    string // last log line of the last failed process
	dataPath   *clusterspec.DataPath
	change     chan struct{}
	superviser bool // the supervising goroutine runs
	restartNow bool // the process was stopped to restart at once
	gone       bool // deleted: the supervising goroutine ends
}

func (p *proc) notifyLocked() {
	close(p.change)
	p.change = make(chan struct{})
}

// get returns the cluster's proc, creating it.
func (s *Supervisor) get(uid string) *proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.procs[uid]
	if !ok {
		p = &proc{s: s, uid: uid, failed: map[int64]clusterspec.Event{}, change: make(chan struct{})}
		s.procs[uid] = p
	}
	return p
}

// restartKey is what a running process cannot change without a restart.
func restartKey(s *clusterspec.Spec) string {
	entra := ""
	if s.Entra != nil {
		entra = fmt.Sprint(s.Entra.TenantID, s.Entra.AzureRBAC)
	}
	// The cloud controller signs in once, at start: a new credential (a
	// reset service principal) restarts it.
	cred := sha256.Sum256([]byte(s.Cloud.AADClientID + "\x00" + s.Cloud.AADClientSecret))
	return strings.Join([]string{s.EmulatedVersion(), fmt.Sprint(s.APIServerPort), s.AdvertiseAddress,
		s.Network.ServiceCIDR, s.ServiceAccountIssuer, fmt.Sprint(s.EnableRBAC), s.FQDN, entra, hex.EncodeToString(cred[:])}, "|")
}

// Apply makes the cluster's control plane run spec and waits until it has
// converged (API server up, system workloads applied, nodes registered and
// Ready, drains done).
func (s *Supervisor) Apply(ctx context.Context, spec *clusterspec.Spec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("supervisor is shut down")
	}
	s.mu.Unlock()
	l := s.Layout(spec.UID)
	if err := os.MkdirAll(string(l), 0o700); err != nil {
		return err
	}
	if _, err := ensurePKI(l, spec); err != nil {
		return fmt.Errorf("cluster PKI: %w", err)
	}
	var webhookToken string
	if spec.Entra != nil && spec.Entra.AzureRBAC && s.cfg.WebhookToken != nil {
		var err error
		if webhookToken, err = s.cfg.WebhookToken(spec.UID); err != nil {
			return err
		}
	}
	p := s.get(spec.UID)
	p.mu.Lock()
	restart := p.spec != nil && p.cmd != nil && restartKey(p.spec) != restartKey(spec)
	p.generation++
	sp := *spec
	sp.Generation = p.generation
	sp.Cloud.ARMEndpoint, sp.Cloud.CAFile = s.cfg.ARMEndpoint, s.cfg.CAFile
	if sp.Entra != nil {
		e := *sp.Entra
		e.WebhookToken = webhookToken
		sp.Entra = &e
	}
	gen := sp.Generation
	p.spec = &sp
	p.want = true
	p.crashes = 0
	if restart {
		p.restartNow = true
		p.stopLocked()
	}
	if !p.superviser {
		p.superviser = true
		go p.supervise()
	} else if p.cmd != nil && !restart {
		p.sendLocked()
	}
	p.notifyLocked()
	p.mu.Unlock()
	return p.wait(ctx, gen)
}

// wait blocks until the process converged on gen (or a later spec), failed
// it, or keeps crashing.
func (p *proc) wait(ctx context.Context, gen int64) error {
	for {
		p.mu.Lock()
		ch := p.change
		switch {
		case p.converged >= gen:
			p.mu.Unlock()
			return nil
		case !p.want:
			p.mu.Unlock()
			return errors.New("control plane was stopped")
		case p.crashes >= 3:
			msg := p.lastErr
			p.mu.Unlock()
			return &Error{Code: "ControlPlaneStartFailed", Msg: "the cluster's control plane keeps exiting: " + msg}
		}
		if ev, ok := p.failed[gen]; ok {
			p.mu.Unlock()
			return &Error{Code: ev.Code, Msg: ev.Error}
		}
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Version is the running API server's version ("" when not running).
func (s *Supervisor) Version(uid string) string {
	p := s.get(uid)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started {
		return ""
	}
	return p.version
}

// DataPath is what the running cluster's data path has carried, as its
// control plane last reported it (nil when it has not, or is not running).
func (s *Supervisor) DataPath(uid string) *clusterspec.DataPath {
	p := s.get(uid)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started {
		return nil
	}
	return p.dataPath
}

// Stop stops a cluster's process, keeping its data.
func (s *Supervisor) Stop(ctx context.Context, uid string) error {
	return s.stop(ctx, uid, false)
}

func (s *Supervisor) stop(ctx context.Context, uid string, gone bool) error {
	p := s.get(uid)
	p.mu.Lock()
	p.want = false
	p.gone = p.gone || gone
	exited := p.stopLocked()
	p.notifyLocked()
	p.mu.Unlock()
	select {
	case <-exited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Delete stops a cluster's process and removes its data.
func (s *Supervisor) Delete(ctx context.Context, uid string) error {
	if err := s.stop(ctx, uid, true); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.procs, uid)
	s.mu.Unlock()
	return os.RemoveAll(string(s.Layout(uid)))
}

// Rotate stops the control plane and replaces the cluster CA and its
// certificates, or the service-account signing key; the next Apply starts
// it with new ones.
func (s *Supervisor) Rotate(ctx context.Context, uid string, what clusterspec.Rotation) error {
	if err := s.Stop(ctx, uid); err != nil {
		return err
	}
	switch what {
	case clusterspec.RotateCertificates:
		return rotatePKI(s.Layout(uid))
	case clusterspec.RotateServiceAccountKeys:
		return rotateServiceAccountKey(s.Layout(uid))
	}
	return fmt.Errorf("unknown rotation %q", what)
}

// Shutdown stops every process and waits for them to exit.
func (s *Supervisor) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	procs := make([]*proc, 0, len(s.procs))
	for _, p := range s.procs {
		procs = append(procs, p)
	}
	s.mu.Unlock()
	var errs []error
	for _, p := range procs {
		if err := s.Stop(ctx, p.uid); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// stopLocked asks the current process to stop (stdin closes; SIGTERM; then
// SIGKILL after a grace period) and returns a channel closed when it has
// exited.
func (p *proc) stopLocked() <-chan struct{} {
	if p.cmd == nil {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	cmd, exited, stdin := p.cmd, p.exited, p.stdin
	stdin.Close()                       //nolint:errcheck // closing is the stop signal
	cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may be gone
	go func() {
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill() //nolint:errcheck // it may be gone
		}
	}()
	return exited
}

// sendLocked writes the newest spec to the process.
func (p *proc) sendLocked() {
	b, err := clusterspec.Encode(p.spec)
	if err != nil {
		return
	}
	if _, err := p.stdin.Write(b); err != nil {
		p.s.cfg.Log.Warn("send spec to control plane", "cluster", p.uid, "err", err)
	}
}

// supervise keeps the process running while it is wanted, restarting it
// with back-off.
func (p *proc) supervise() {
	backoff := time.Second
	for {
		p.mu.Lock()
		for !p.want && !p.gone {
			ch := p.change
			p.mu.Unlock()
			<-ch
			p.mu.Lock()
		}
		if p.gone {
			p.superviser = false
			p.mu.Unlock()
			return
		}
		err := p.startLocked()
		exited := p.exited
		p.mu.Unlock()
		if err != nil {
			p.s.cfg.Log.Error("start control plane", "cluster", p.uid, "err", err)
			p.mu.Lock()
			p.crashes++
			p.lastErr = err.Error()
			p.notifyLocked()
			p.mu.Unlock()
		} else {
			start := time.Now()
			<-exited
			if time.Since(start) > time.Minute {
				backoff = time.Second
			}
		}
		p.mu.Lock()
		want, now := p.want, p.restartNow
		p.restartNow = false
		p.mu.Unlock()
		if !want || now {
			continue
		}
		p.s.cfg.Log.Warn("control plane exited; restarting", "cluster", p.uid, "in", backoff)
		time.Sleep(backoff)
		backoff = min(backoff*2, 30*time.Second)
	}
}

// startLocked starts a process and sends it the newest spec.
func (p *proc) startLocked() error {
	l := p.s.Layout(p.uid)
	logf, err := openLog(l.Log())
	if err != nil {
		return err
	}
	args := append(append([]string(nil), p.s.cfg.Command[1:]...), "--dir", string(l))
	cmd := exec.Command(p.s.cfg.Command[0], args...)
	cmd.Env = append(os.Environ(), p.s.cfg.Env...)
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		logf.Close()
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	p.s.cfg.Log.Info("control plane started", "cluster", p.uid, "pid", cmd.Process.Pid)
	p.cmd, p.stdin, p.exited = cmd, stdin, make(chan struct{})
	p.started, p.dataPath = false, nil
	p.sendLocked()
	exited := p.exited
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		p.readEvents(stdout)
	}()
	go func() {
		<-readDone
		err := cmd.Wait()
		logf.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.cmd == cmd {
			p.cmd, p.stdin = nil, nil
		}
		if !p.started {
			p.crashes++
			p.lastErr = lastLine(l.Log())
		}
		p.started, p.dataPath = false, nil
		p.s.cfg.Log.Info("control plane exited", "cluster", p.uid, "pid", cmd.Process.Pid, "err", err)
		close(exited)
		p.notifyLocked()
	}()
	return nil
}

// readEvents follows the process's events.
func (p *proc) readEvents(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var ev clusterspec.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			p.s.cfg.Log.Warn("control plane event", "cluster", p.uid, "line", sc.Text())
			continue
		}
		p.mu.Lock()
		switch ev.Type {
		case clusterspec.EventStarted:
			p.started = true
			p.crashes = 0
			p.version = ev.Version
		case clusterspec.EventConverged:
			if ev.Generation > p.converged {
				p.converged = ev.Generation
			}
		case clusterspec.EventFailed:
			p.failed[ev.Generation] = ev
		case clusterspec.EventDataPath:
			p.dataPath = ev.DataPath
		}
		p.notifyLocked()
		p.mu.Unlock()
	}
}

// maxLog is the size at which a cluster's log is rotated (one old copy).
const maxLog = 16 << 20

func openLog(path string) (*os.File, error) {
	if fi, err := os.Stat(path); err == nil && fi.Size() > maxLog {
		os.Rename(path, path+".1") //nolint:errcheck // best effort
	}
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
}

// lastLine returns the last non-empty line of a log (a failed process's
// reason).
func lastLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > 4096 {
		f.Seek(-4096, io.SeekEnd) //nolint:errcheck // then read from the start
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// Processes lists the live control-plane processes whose data directory is
// below dir (a data dir's clusters/, or one cluster's directory), from
// /proc: for benchmarks, tests and diagnostics.
func Processes(dir string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) < 4 || args[1] != "controlplane" || args[len(args)-2] != "--dir" || !strings.HasPrefix(args[len(args)-1], dir) {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && strings.Contains(string(st), ") Z ") {
			continue // exited, not yet reaped
		}
		out = append(out, pid)
	}
	sort.Ints(out)
	return out
}
