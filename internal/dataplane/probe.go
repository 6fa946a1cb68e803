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

// prober keeps one backend's health by one probe: every interval it asks
// check. The first answer decides (a success at once, a failure once it
// has lasted an interval); after that health changes after threshold
// answers in a row that say otherwise. While eligible says no, the backend
// is unhealthy at once and its next answer is a first one again.
type prober struct {
	interval  time.Duration
	threshold int
	eligible  func() bool
	check     func(ctx context.Context) bool
	healthy   atomic.Bool
	stop      chan struct{}
	once      sync.Once
}

// warmup is how often a backend is probed until its first answer counts.
// Azure probes from many instances at once; a new rule's backends answer
// before its interval has passed.
const warmup = 200 * time.Millisecond

func startProber(interval time.Duration, threshold int, eligible func() bool, check func(ctx context.Context) bool) *prober {
	p := &prober{interval: max(interval, time.Second), threshold: max(threshold, 1), eligible: eligible, check: check, stop: make(chan struct{})}
	go p.run()
	return p
}

func (p *prober) close() { p.once.Do(func() { close(p.stop) }) }

func (p *prober) run() {
	first, streak, since := true, 0, time.Now()
	for {
		eligible := p.eligible()
		ok := false
		if eligible {
			ctx, cancel := context.WithTimeout(context.Background(), min(p.interval, 5*time.Second))
			go func() {
				select {
				case <-p.stop:
					cancel()
				case <-ctx.Done():
				}
			}()
			ok = p.check(ctx)
			cancel()
		}
		switch {
		case !eligible:
			p.healthy.Store(false)
			first, streak, since = true, 0, time.Now()
		case first && (ok || time.Since(since) >= p.interval):
			p.healthy.Store(ok)
			first = false
		case first:
		case ok == p.healthy.Load():
			streak = 0
		default:
			if streak++; streak >= p.threshold {
				p.healthy.Store(ok)
				streak = 0
			}
		}
		next := p.interval
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

// probeClient is an HTTP client for probes through the virtual network:
// no keep-alive, certificates unchecked (as Azure's probes), no redirects.
func probeClient(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:       dial,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // Azure's probes do not check certificates
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// httpProbe GETs url with host as the Host header and tells whether the
// status is one ok accepts.
func httpProbe(ctx context.Context, client *http.Client, url, host string, ok func(status int) bool) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	if host != "" {
		req.Host = host
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // draining
	resp.Body.Close()
	return ok(resp.StatusCode)
}

// lbProber probes a load balancer member: a TCP connect, or an HTTP(S)
// GET that must answer 200, from the virtual network; a member whose node
// does not run is not eligible.
func (e *Engine) lbProber(probe clusterspec.LBProbe, addr netip.Addr) *prober {
	client := probeClient(e.cfg.Dial)
	target := net.JoinHostPort(addr.String(), strconv.Itoa(probe.Port))
	return startProber(time.Duration(probe.IntervalSeconds)*time.Second, probe.Threshold,
		func() bool { return e.cfg.Running(addr) },
		func(ctx context.Context) bool {
			switch proto := strings.ToLower(probe.Protocol); proto {
			case "http", "https":
				path := probe.Path
				if !strings.HasPrefix(path, "/") {
					path = "/" + path
				}
				return httpProbe(ctx, client, proto+"://"+target+path, "", func(s int) bool { return s == http.StatusOK })
			default:
				c, err := e.cfg.Dial(ctx, "tcp", target)
				if err != nil {
					return false
				}
				c.Close()
				return true
			}
		})
}
