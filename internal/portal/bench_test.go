package portal

import (
	"fmt"
	"net/http/httptest"
	"testing"

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
