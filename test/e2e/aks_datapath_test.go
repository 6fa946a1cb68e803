package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// getFrom fetches url once with a fresh connection (so each request is a
// new flow for the load balancer) and returns the body, or the error.
func getFrom(url string) string {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("status %d: %s", resp.StatusCode, b)
	}
	return strings.TrimSpace(string(b))
}

// answersFrom asks url n times and counts the answers by the node of the
// pod that gave them ("error…" for failures).
func answersFrom(t *testing.T, kc, url string, n int) map[string]int {
	t.Helper()
	nodeOf := map[string]string{}
	for _, p := range pods(t, kc) {
		nodeOf[p.Metadata.Name] = p.Spec.NodeName
	}
	out := map[string]int{}
	for range n {
		a := getFrom(url)
		if pod, ok := strings.CutPrefix(a, "hello from "); ok && nodeOf[pod] != "" {
			a = nodeOf[pod]
		}
		out[a]++
	}
	return out
}

// externalIP waits for a LoadBalancer Service's address.
func externalIP(t *testing.T, kc, svc string) string {
	t.Helper()
	var ip string
	eventually(t, "external IP of "+svc, 60*time.Second, func() string {
		ip = mustKubectl(t, kc, "get", "svc", svc, "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}")
		if ip == "" {
			return "no address yet"
		}
		return ""
	})
	return ip
}

// TestLoadBalancerDataPath: a Service of type LoadBalancer on real nodes
// answers on its external IP through the cluster's Azure load balancer:
// requests reach pods on both nodes; loadBalancerSourceRanges and a
// security rule added with az decide who gets through, at once; with
// externalTrafficPolicy Local only the nodes with the Service's pods pass
// the health probe and get traffic; deleting the Service closes the
// frontend. Nothing leaves loopback meanwhile.
func TestLoadBalancerDataPath(t *testing.T) {
	t.Parallel()
	// Frontends listen on the host: a public IP pool of the test's own
	// keeps other tests' addresses apart.
	s, ours, images := startRealNodes(t, t.TempDir(), "--public-ip-pool", "127.230.0.0/16")
	s.watchEgress(t)
	mustAz(t, s.localaksAz("group", "create", "-n", "rg1", "-l", "eastus"))
	mustAz(t, s.aksCreate(t, "-g", "rg1", "-n", "c1", "--node-count", "2", "--nodepool-tags", "localaks.io/nodes=real"))
	kc := s.credentials(t, "rg1", "c1", "--admin")
	ours.track(t, kc)
	s.deployHello(t, kc, "c1", images, 4)
	ns := nodes(t, kc)

	mustKubectl(t, kc, "expose", "deployment", "web", "--type=LoadBalancer", "--port=80", "--target-port=8080")
	url := "http://" + externalIP(t, kc, "web") + "/"
	eventually(t, "requests through the load balancer reach pods on both nodes", 60*time.Second, func() string {
		got := answersFrom(t, kc, url, 24)
		if got[ns[0].Metadata.Name]+got[ns[1].Metadata.Name] != 24 || got[ns[0].Metadata.Name] == 0 || got[ns[1].Metadata.Name] == 0 {
			return fmt.Sprint(got)
		}
		return ""
	})

	refused := func(what string) {
		t.Helper()
		eventually(t, what, 30*time.Second, func() string {
			if a := getFrom(url); !strings.HasPrefix(a, "error") {
				return a
			}
			return ""
		})
	}
	answers := func(what string) {
		t.Helper()
		eventually(t, what, 30*time.Second, func() string {
			if a := getFrom(url); !strings.HasPrefix(a, "hello from web-") {
				return a
			}
			return ""
		})
	}

	// loadBalancerSourceRanges become the Service's security rule's
	// sources: the host (127.0.0.1) outside them gets nowhere.
	mustKubectl(t, kc, "patch", "svc", "web", "-p", `{"spec":{"loadBalancerSourceRanges":["10.0.0.0/8"]}}`)
	refused("the host outside loadBalancerSourceRanges")
	mustKubectl(t, kc, "patch", "svc", "web", "-p", `{"spec":{"loadBalancerSourceRanges":["127.0.0.0/8"]}}`)
	answers("the host inside loadBalancerSourceRanges")

	// A deny rule ahead of the Service's allow rule, with az.
	var nsg string
	mustAz(t, s.localaksAz("network", "nsg", "list", "-g", "MC_rg1_c1_eastus", "--query", "[0].name")).json(t, &nsg)
	mustAz(t, s.localaksAz("network", "nsg", "rule", "create", "-g", "MC_rg1_c1_eastus", "--nsg-name", nsg, "-n", "deny-web",
		"--priority", "100", "--access", "Deny", "--protocol", "Tcp", "--destination-port-ranges", "80",
		"--source-address-prefixes", "*", "--destination-address-prefixes", "*"))
	refused("a security rule that denies port 80")
	mustAz(t, s.localaksAz("network", "nsg", "rule", "delete", "-g", "MC_rg1_c1_eastus", "--nsg-name", nsg, "-n", "deny-web"))
	answers("the deny rule deleted")

	// externalTrafficPolicy Local: only the node with the pods passes the
	// probe (kube-proxy's health check node port), so every request lands
	// there.
	one := filepath.Join(t.TempDir(), "one.yaml")
	os.WriteFile(one, []byte(fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: one}
spec:
  replicas: 2
  selector: {matchLabels: {app: one}}
  template:
    metadata: {labels: {app: one}}
    spec:
      nodeSelector: {kubernetes.io/hostname: %s}
      containers: [{name: hello, image: localaks.test/hello:v1}]
---
apiVersion: v1
kind: Service
metadata: {name: one}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app: one}
  ports: [{port: 8081, targetPort: 8080}]
`, ns[0].Metadata.Name)), 0o644)
	mustKubectl(t, kc, "apply", "-f", one)
	mustKubectl(t, kc, "rollout", "status", "deployment/one", "--timeout=90s")
	local := "http://" + externalIP(t, kc, "one") + ":8081/"
	eventually(t, "externalTrafficPolicy Local: every request to the node with the pods", 60*time.Second, func() string {
		got := answersFrom(t, kc, local, 16)
		if got[ns[0].Metadata.Name] != 16 {
			keys := make([]string, 0, len(got))
			for k, v := range got {
				keys = append(keys, fmt.Sprintf("%s=%d", k, v))
			}
			sort.Strings(keys)
			return strings.Join(keys, " ")
		}
		return ""
	})

	// The Service deleted: its rule goes, and the frontend with it.
	mustKubectl(t, kc, "delete", "svc", "web")
	eventually(t, "the frontend closed", 30*time.Second, func() string {
		if a := getFrom(url); !strings.Contains(a, "connection refused") {
			return a
		}
		return ""
	})
	s.deleteLeavesNothing(t, ours, "c1")
}
