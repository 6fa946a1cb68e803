package portal

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/localaks/localaks/internal/agic"
	"github.com/localaks/localaks/internal/agicconfig"
	"github.com/localaks/localaks/internal/aks"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/store"
)

func pod(ns, name, node, ip string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.PodSpec{NodeName: node},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip}}
}

// TestBridge: a cluster's Kubernetes objects on its picture — pods on
// their nodes (a large pool's others on its counting box), a LoadBalancer
// Service on its public IP, frontend and rule (not on a rule of another
// port), an Ingress on the gateway at its address and on the routing rule
// of its listener.
func TestBridge(t *testing.T) {
	e := newEnv(t)
	e.create("c1", `{"dnsPrefix":"c1","agentPoolProfiles":[{"name":"nodepool1","count":10,"mode":"System"}]}`)
	e.exposeService("MC_rg1_c1_eastus", "default/web", "a1", 80)
	e.exposeService("MC_rg1_c1_eastus", "default/other", "a2", 81)
	g := e.topology("c1")
	var first, ninth string
	var pip *Node
	for _, n := range g.Nodes {
		switch {
		case n.Kind == "node" && strings.HasSuffix(n.ID, "/virtualMachines/0"):
			first = n.Label
		case n.Kind == "pip" && strings.HasSuffix(n.ID, "/kubernetes-a1"):
			pip = n
		}
	}
	if first == "" || pip == nil {
		t.Fatalf("no instance 0 or public IP in %v", describe(g))
	}
	ninth = strings.TrimSuffix(first, "0") + "9"
	address := strings.Fields(pip.Detail)[0]

	// An application gateway with one listener for shop.example.com.
	gw := &store.Resource{ID: "/subscriptions/" + sub + "/resourceGroups/MC_rg1_c1_eastus/providers/Microsoft.Network/applicationGateways/gw"}
	listener := agicconfig.ListenerName(80, "shop.example.com", false)
	child := func(name, props string) arm.Child { return arm.Child{Name: name, Properties: json.RawMessage(props)} }
	g.add(&Node{ID: gw.ID, Kind: "gateway", Column: colFrontends})
	g.holds("20.1.2.3", gw.ID)
	g.addGatewayRules(gw, []arm.Child{child("fp-80", `{"port":80}`)},
		[]arm.Child{child(listener, `{"protocol":"Http","hostName":"shop.example.com","frontendPort":{"id":"`+gw.ID+`/frontendPorts/fp-80"}}`)},
		nil, []arm.Child{child("rr-1", `{"httpListener":{"id":"`+gw.ID+`/httpListeners/`+listener+`"}}`)}, nil, nil)

	class := agic.ClassName
	g.Bridge(kubeObjects{
		Pods: []*corev1.Pod{pod("default", "web-1", first, "10.244.0.5"), pod("kube-system", "coredns-1", first, "10.244.0.6"),
			pod("default", "web-2", ninth, "10.244.9.5"), pod("default", "pending", "", "")},
		Services: []*corev1.Service{{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
			Spec:   corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}},
			Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: address}}}}}},
		Ingresses: []*networkingv1.Ingress{{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "shop"},
			Spec: networkingv1.IngressSpec{IngressClassName: &class, Rules: []networkingv1.IngressRule{{Host: "shop.example.com"}}},
			Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{
				Ingress: []networkingv1.IngressLoadBalancerIngress{{IP: "20.1.2.3"}}}}}},
	})
	if !g.Kube || g.KubeSummary != "Kubernetes: 4 pods (1 not scheduled) · 1 LoadBalancer Service · 1 Ingress" {
		t.Errorf("summary %q", g.KubeSummary)
	}
	lb := "/subscriptions/" + sub + "/resourceGroups/MC_rg1_c1_eastus/providers/Microsoft.Network/loadBalancers/kubernetes"
	for id, want := range map[string]string{
		pip.ID:                                    "Service default/web",
		lb + "/frontendIPConfigurations/a1":       "Service default/web",
		lb + "/loadBalancingRules/a1-TCP-80":      "Service default/web",
		lb + "/loadBalancingRules/a2-TCP-81":      "",
		gw.ID:                                     "Ingress default/shop",
		gw.ID + "/requestRoutingRules/rr-1":       "Ingress default/shop",
		strings.TrimSuffix(pip.ID, "-a1") + "-a2": "",
	} {
		n := g.Node(id)
		if n == nil {
			t.Errorf("no box %s", id)
			continue
		}
		if n.Kube != want {
			t.Errorf("%s: %q, want %q", id, n.Kube, want)
		}
	}
	for _, n := range g.Nodes {
		switch {
		case n.Kind == "node" && n.Label == first:
			if n.Kube != "2 pods: default 1, kube-system 1" || len(n.Pods) != 2 || n.Pods[0] != "default/web-1 · Running · 10.244.0.5" {
				t.Errorf("node %s: %q %q", n.Label, n.Kube, n.Pods)
			}
		case n.Kind == "node":
			if n.Kube != "no pods" {
				t.Errorf("node %s: %q", n.Label, n.Kube)
			}
		case n.Kind == "more":
			if n.Kube != "1 pod: default 1" {
				t.Errorf("the pool's other instances: %q", n.Kube)
			}
		}
	}
	svg := string(g.SVG())
	if !strings.Contains(svg, `data-kube="Service default/web"`) || !strings.Contains(svg, `data-pods="default/web-1 · Running · 10.244.0.5`) ||
		!strings.Contains(svg, `>Kubernetes: 4 pods (1 not scheduled)`) {
		t.Error("the drawing lacks the Kubernetes objects")
	}

	// Without objects, the picture says why.
	g = e.topology("c1")
	g.Bridge(kubeObjects{Status: "the control plane is stopped: no Kubernetes objects to show"})
	if g.Kube || !strings.Contains(string(g.SVG()), `id="kube-status" x="520" y="51" font-size="12" fill="#605e5c">Kubernetes: the control plane is stopped`) {
		t.Errorf("stopped: %s", g.SVG())
	}
}

// TestKubeViewsNotRunning: a stopped cluster and one whose control plane
// is not running are told without a request to an API server; one that
// cannot be reached says why, at once.
func TestKubeViewsNotRunning(t *testing.T) {
	calls := 0
	kv := &kubeViews{views: map[string]*kubeView{}, connect: func(c *aks.Cluster) (*rest.Config, error) {
		calls++
		if c.Props.ResourceUID == "down" {
			return nil, ErrNotRunning
		}
		return nil, errors.New("no credential")
	}}
	stopped := &aks.Cluster{}
	stopped.Props.PowerState = &aks.PowerState{Code: "Stopped"}
	if v, why, _ := kv.acquire(stopped); v != nil || why != "the control plane is stopped: no Kubernetes objects to show" || calls != 0 {
		t.Errorf("stopped: %v %q (%d calls)", v, why, calls)
	}
	down := &aks.Cluster{}
	down.Props.ResourceUID = "down"
	if v, why, retry := kv.acquire(down); v != nil || why != "the control plane is not running yet" || retry {
		t.Errorf("not running: %v %q", v, why)
	}
	broken := &aks.Cluster{}
	broken.Props.ResourceUID = "broken"
	if v, why, retry := kv.acquire(broken); v != nil || why != "the control plane cannot be reached: no credential" || !retry {
		t.Errorf("broken: %v %q", v, why)
	}
}

// TestKubeViewUnanswered: an API server that does not answer costs the
// page kubeWait at most, says so, and is tried again later.
func TestKubeViewUnanswered(t *testing.T) {
	kv := &kubeViews{views: map[string]*kubeView{}, connect: func(*aks.Cluster) (*rest.Config, error) {
		// A port nothing listens on (loopback).
		return &rest.Config{Host: "https://127.0.0.1:1"}, nil
	}}
	c := &aks.Cluster{}
	c.Props.ResourceUID = "u"
	v, why, retry := kv.acquire(c)
	if v != nil || !strings.HasPrefix(why, "the control plane does not answer: ") || !strings.Contains(why, "127.0.0.1:1") || !retry {
		t.Errorf("%v %q %v", v, why, retry)
	}
	if len(kv.views) != 0 {
		t.Errorf("watches kept for a server that does not answer: %v", kv.views)
	}
}
