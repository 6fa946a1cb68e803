package portal

import (
	"fmt"
	"net/http/httptest"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/localaks/localaks/internal/logging"
)

// BenchmarkClusterPage is the portal's answer for a cluster's page — the
// picture read from the store, laid out and drawn — for a cluster of 10
// and of 1000 nodes (the page's first paint waits for it).
func BenchmarkClusterPage(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			e := newEnv(b)
			name := fmt.Sprintf("c%d", n)
			e.create(name, fmt.Sprintf(`{"dnsPrefix":%q,"networkProfile":{"podCidr":"10.128.0.0/12"},"agentPoolProfiles":[{"name":"nodepool1","count":%d,"mode":"System"}]}`, name, n))
			p := New(Config{Store: e.st, Log: logging.Discard()})
			target := "/portal/cluster?id=" + clusterID(name)
			for b.Loop() {
				w := httptest.NewRecorder()
				p.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
				if w.Code != 200 {
					b.Fatalf("%d", w.Code)
				}
			}
		})
	}
}

// BenchmarkBridge is what the Kubernetes objects add to an update of a
// 1000-node cluster's picture: 10 pods per node and 100 LoadBalancer
// Services matched onto the boxes.
func BenchmarkBridge(b *testing.B) {
	e := newEnv(b)
	e.create("big", `{"dnsPrefix":"big","networkProfile":{"podCidr":"10.128.0.0/12"},"agentPoolProfiles":[{"name":"nodepool1","count":1000,"mode":"System"}]}`)
	base := e.topology("big")
	var prefix string
	for _, n := range base.Nodes {
		if n.Kind == "vmss" {
			prefix = n.prefix
		}
	}
	var k kubeObjects
	for i := range 1000 {
		for j := range 10 {
			k.Pods = append(k.Pods, pod("default", fmt.Sprintf("p-%d-%d", i, j), fmt.Sprintf("%s%06d", prefix, i), fmt.Sprintf("10.128.%d.%d", i%256, j)))
		}
	}
	for i := range 100 {
		k.Services = append(k.Services, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("s%d", i)},
			Spec:   corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}},
			Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: fmt.Sprintf("20.0.0.%d", i)}}}}})
	}
	for b.Loop() {
		for _, n := range base.Nodes {
			n.Kube, n.Pods = "", nil
		}
		base.Bridge(k)
	}
}
