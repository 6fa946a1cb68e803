package dataplane

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"
)

// udpFlow is one client's UDP flow through a frontend: its datagrams go
// to one backend (chosen when the flow starts, as for a TCP connection),
// and the backend's answers come back from the frontend's address, until
// the flow has been idle for the rule's idle timeout.
type udpFlow struct {
	up   net.Conn
	last time.Time
}

// serveUDP carries a UDP frontend's datagrams until its socket closes.
func (e *Engine) serveUDP(l *listener) {
	var mu sync.Mutex
	flows := map[netip.AddrPort]*udpFlow{}
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, f := range flows {
			f.up.Close()
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, from, err := l.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		src, _ := netip.ParseAddrPort(from.String())
		mu.Lock()
		f := flows[src]
		if f == nil {
			r := l.route.Load()
			target, err := e.backendFor(r, src, "Udp")
			if err != nil {
				mu.Unlock()
				e.cfg.Log.Info("load balancer: datagram dropped", "rule", r.rule.Name, "client", src, "reason", err)
				if _, ok := err.(errNoHealthyBackend); ok {
					e.event(r, ReasonNoHealthyBackend, "Datagram from "+src.String()+" dropped: "+err.Error())
				}
				r.count.refused.Add(1)
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
			up, err := e.cfg.Dial(ctx, "udp", target)
			cancel()
			if err != nil {
				mu.Unlock()
				e.cfg.Log.Info("load balancer: backend unreachable", "rule", r.rule.Name, "backend", target, "err", err)
				continue
			}
			f = &udpFlow{up: up}
			flows[src] = f
			host, _, _ := net.SplitHostPort(target)
			r.count.took(host)
			go func(idle time.Duration) {
				// Answers go back to the client until the flow idles.
				b := make([]byte, 64<<10)
				for {
					up.SetReadDeadline(time.Now().Add(idle)) //nolint:errcheck // a conn's deadline
					n, err := up.Read(b)
					if n > 0 {
						mu.Lock()
						f.last = time.Now()
						mu.Unlock()
						l.pc.WriteTo(b[:n], from) //nolint:errcheck // datagrams may be lost
					}
					if err != nil {
						if ne, ok := err.(net.Error); ok && ne.Timeout() {
							mu.Lock()
							busy := time.Since(f.last) < idle
							mu.Unlock()
							if busy {
								continue
							}
						}
						mu.Lock()
						if flows[src] == f {
							delete(flows, src)
						}
						mu.Unlock()
						up.Close()
						return
					}
				}
			}(r.idleTimeout())
		}
		f.last = time.Now()
		mu.Unlock()
		f.up.Write(buf[:n]) //nolint:errcheck // datagrams may be lost
	}
}
