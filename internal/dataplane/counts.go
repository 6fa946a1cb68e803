package dataplane

import (
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/localaks/localaks/internal/clusterspec"
)

// counter counts one rule's (or gateway's) traffic, across configuration
// changes.
type counter struct {
	carried, refused atomic.Int64
	backends         sync.Map // address → *atomic.Int64
}

func (c *counter) took(addr string) {
	c.carried.Add(1)
	n, _ := c.backends.LoadOrStore(addr, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
}

func (c *counter) backend(addr string) int64 {
	if n, ok := c.backends.Load(addr); ok {
		return n.(*atomic.Int64).Load()
	}
	return 0
}

// counterFor is the counter of the rule or gateway id (e.mu held).
func (e *Engine) counterFor(id string) *counter {
	key := strings.ToLower(id)
	c := e.counters[key]
	if c == nil {
		c = &counter{}
		e.counters[key] = c
	}
	return c
}

// DataPath is what the data path has carried so far, by rule and gateway.
func (e *Engine) DataPath() clusterspec.DataPath {
	e.mu.Lock()
	routes := map[string]*route{}
	for _, l := range e.listeners {
		r := l.route.Load()
		routes[strings.ToLower(r.id())] = r
	}
	gateways := map[string]*gateway{}
	for _, f := range e.gwFronts {
		g := f.gw.Load()
		gateways[strings.ToLower(g.spec.ID)] = g
	}
	e.mu.Unlock()
	// Health asks the node manager, outside the engine's lock.
	var out clusterspec.DataPath
	for _, r := range routes {
		rc := clusterspec.RuleCount{ID: r.id(), Carried: r.count.carried.Load(), Refused: r.count.refused.Load()}
		for _, m := range r.members {
			a := m.addr.String()
			rc.Backends = append(rc.Backends, clusterspec.BackendCount{Address: a, Healthy: m.healthy() && e.cfg.Running(m.addr), Carried: r.count.backend(a)})
		}
		out.Rules = append(out.Rules, rc)
	}
	for _, g := range gateways {
		rc := clusterspec.RuleCount{ID: g.spec.ID, Carried: g.count.carried.Load(), Refused: g.count.refused.Load()}
		healthy := map[string]bool{}
		for key, p := range g.backends {
			_, addr, _ := strings.Cut(key, "|")
			healthy[addr] = healthy[addr] || p.healthy.Load()
		}
		for addr, ok := range healthy {
			rc.Backends = append(rc.Backends, clusterspec.BackendCount{Address: addr, Healthy: ok, Carried: g.count.backend(addr)})
		}
		sort.Slice(rc.Backends, func(i, j int) bool { return rc.Backends[i].Address < rc.Backends[j].Address })
		out.Rules = append(out.Rules, rc)
	}
	sort.Slice(out.Rules, func(i, j int) bool { return out.Rules[i].ID < out.Rules[j].ID })
	return out
}

// id is a route's rule's resource ID.
func (r *route) id() string { return r.lb + "/loadBalancingRules/" + r.rule.Name }
