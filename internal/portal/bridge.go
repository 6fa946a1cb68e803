package portal

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/localaks/localaks/internal/agic"
)

// Bridge names on the picture what the cluster's Kubernetes objects became
// and where they run: on each node its pods (a large pool's other nodes'
// on its counting box), on each public IP, frontend and load-balancing
// rule the LoadBalancer Services it serves (by the address in the
// Service's status and its ports), on each gateway and frontend the
// Ingresses published at its address, and on each routing rule the
// Ingresses whose rules AGIC serves on its listener.
func (g *Graph) Bridge(k kubeObjects) {
	g.KubeStatus = k.Status
	if k.Status != "" {
		return
	}
	g.Kube = true
	names := map[*Node][]string{}
	name := func(n *Node, s string) {
		for _, x := range names[n] {
			if x == s {
				return
			}
		}
		names[n] = append(names[n], s)
	}

	// Pods by node, and on a pool's counting box those of its nodes not
	// drawn.
	byName := map[string]*Node{}
	var pools, more []*Node
	for _, n := range g.Nodes {
		switch n.Kind {
		case "node":
			byName[strings.ToLower(n.Label)] = n
		case "vmss":
			if n.prefix != "" {
				pools = append(pools, n)
			}
		case "more":
			more = append(more, n)
		}
	}
	moreOf := map[*Node]*Node{}
	for _, m := range more {
		for _, e := range g.Edges {
			if e.To == strings.ToLower(m.ID) {
				if p := g.byID[e.From]; p != nil && p.Kind == "vmss" {
					moreOf[p] = m
				}
			}
		}
	}
	pods := map[*Node][]*corev1.Pod{}
	scheduled := 0
	for _, p := range k.Pods {
		if p.Spec.NodeName == "" {
			continue
		}
		scheduled++
		n := byName[strings.ToLower(p.Spec.NodeName)]
		if n == nil {
			for _, pool := range pools {
				if strings.HasPrefix(strings.ToLower(p.Spec.NodeName), strings.ToLower(pool.prefix)) {
					n = moreOf[pool]
					break
				}
			}
		}
		if n != nil {
			pods[n] = append(pods[n], p)
		}
	}
	for _, n := range g.Nodes {
		if n.Kind != "node" && n.Kind != "more" {
			continue
		}
		n.Kube = podSummary(pods[n])
		if n.Kind == "node" {
			for _, p := range pods[n] {
				n.Pods = append(n.Pods, fmt.Sprintf("%s · %s · %s", objectName(p), p.Status.Phase, p.Status.PodIP))
			}
		}
	}

	// LoadBalancer Services: the boxes holding their addresses, and the
	// rules from those frontends on their ports.
	for _, s := range k.Services {
		svc := "Service " + objectName(s)
		for _, ing := range s.Status.LoadBalancer.Ingress {
			for _, n := range g.addrs[ing.IP] {
				name(n, svc)
				if n.Kind != "frontend" {
					continue
				}
				for _, e := range g.Edges {
					r := g.byID[e.To]
					if e.From != strings.ToLower(n.ID) || r == nil || r.Kind != "rule" {
						continue
					}
					for _, sp := range s.Spec.Ports {
						if sp.Port == r.port && strings.EqualFold(string(sp.Protocol), r.proto) {
							name(r, svc)
						}
					}
				}
			}
		}
	}

	// Ingresses: where they are published, and the gateway's rules on the
	// listeners AGIC serves them on.
	rules := map[string][]*Node{}
	for _, n := range g.Nodes {
		if n.Kind == "gwrule" && n.listener != "" {
			rules[n.listener] = append(rules[n.listener], n)
		}
	}
	for _, ing := range k.Ingresses {
		label := "Ingress " + objectName(ing)
		for _, a := range ing.Status.LoadBalancer.Ingress {
			for _, n := range g.addrs[a.IP] {
				name(n, label)
			}
		}
		if agic.Serves(ing) {
			for _, l := range agic.Listeners(ing) {
				for _, r := range rules[strings.ToLower(l)] {
					name(r, label)
				}
			}
		}
	}
	for n, list := range names {
		n.Kube = strings.Join(list, ", ")
	}
	pending := ""
	if n := len(k.Pods) - scheduled; n > 0 {
		pending = fmt.Sprintf(" (%d not scheduled)", n)
	}
	g.KubeSummary = fmt.Sprintf("Kubernetes: %s%s · %s · %s", plural(len(k.Pods), "pod"), pending,
		plural(len(k.Services), "LoadBalancer Service"), plural(len(k.Ingresses), "Ingress"))
}

// podSummary is a node's pods by namespace, most first: "5 pods:
// kube-system 3, default 2".
func podSummary(pods []*corev1.Pod) string {
	if len(pods) == 0 {
		return "no pods"
	}
	by := map[string]int{}
	for _, p := range pods {
		by[p.Namespace]++
	}
	ns := make([]string, 0, len(by))
	for n := range by {
		ns = append(ns, n)
	}
	sort.Slice(ns, func(i, j int) bool { return by[ns[i]] > by[ns[j]] || by[ns[i]] == by[ns[j]] && ns[i] < ns[j] })
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = fmt.Sprintf("%s %d", n, by[n])
	}
	return plural(len(pods), "pod") + ": " + strings.Join(parts, ", ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	if strings.HasSuffix(what, "ss") {
		return fmt.Sprintf("%d %ses", n, what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}
