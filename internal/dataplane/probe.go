package dataplane

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/localaks/localaks/internal/clusterspec"
)

// prober runs one health probe against one backend pool member: every
// interval a TCP connect, or an HTTP(S) GET that must answer 200. The
// first answer decides the member's health (a success at once, a failure
// once it has lasted an interval); after that it changes after threshold
// answers in a row that say otherwise. A member whose node does not run is
// unhealthy at once.
type prober struct {
	probe   clusterspec.LBProbe
	addr    netip.Addr
	healthy atomic.Bool
	stop    chan struct{}
	once    sync.Once
}

func (e *Engine) startProber(probe clusterspec.LBProbe, addr netip.Addr) *prober {
	p := &prober{probe: probe, addr: addr, stop: make(chan struct{})}
	go p.run(e)
	return p
}

func (p *prober) close() { p.once.Do(func() { close(p.stop) }) }

func (p *prober) run(e *Engine) {
	interval := time.Duration(p.probe.IntervalSeconds) * time.Second
	client := &http.Client{
		Timeout: min(interval, 5*time.Second),
		Transport: &http.Transport{
			DialContext:       e.cfg.Dial,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // Azure's probes do not check certificates
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	first, streak, since := true, 0, time.Now()
	for {
		running := e.cfg.Running(p.addr)
		ok := running && p.check(e, client, interval)
		switch {
		case !running:
			// A node that is not up yet (or any more) gets no traffic;
			// its first answer once it runs decides.
			p.healthy.Store(false)
			first, streak, since = true, 0, time.Now()
		case first && (ok || time.Since(since) >= interval):
			p.healthy.Store(ok)
			first = false
		case first:
		case ok == p.healthy.Load():
			streak = 0
		default:
			if streak++; streak >= p.probe.Threshold {
				p.healthy.Store(ok)
				streak = 0
			}
		}
		// Until the first answer, a member is asked again at once (Azure
		// probes from many instances; a new rule's backends answer before
		// its interval has passed).
		next := interval
		if first {
			next = warmup
		}
		select {
		case <-time.After(next):
		case <-p.stop:
			return
		}
	}
}

// warmup is how often a member is probed until its first answer counts:
// a success at once, a failure only once a whole interval has failed.
const warmup = 200 * time.Millisecond

// check probes once.
func (p *prober) check(e *Engine, client *http.Client, interval time.Duration) bool {
	target := net.JoinHostPort(p.addr.String(), strconv.Itoa(p.probe.Port))
	ctx, cancel := context.WithTimeout(context.Background(), min(interval, 5*time.Second))
	defer cancel()
	go func() {
		select {
		case <-p.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	switch strings.ToLower(p.probe.Protocol) {
	case "http", "https":
		path := p.probe.Path
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.ToLower(p.probe.Protocol)+"://"+target+path, nil)
		if err != nil {
			return false
		}
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // draining
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	default:
		c, err := e.cfg.Dial(ctx, "tcp", target)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
}
