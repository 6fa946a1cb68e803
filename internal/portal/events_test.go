package portal

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/logging"
	"github.com/localaks/localaks/internal/store"
)

// The event stream sends the picture at once, and again when a write
// changes it: here a public IP appears in the node resource group.
func TestEvents(t *testing.T) {
	e := newEnv(t)
	name := topologyCases[0].build(e)
	srv := httptest.NewServer(New(Config{Store: e.st, Log: logging.Discard()}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/portal/events?id="+clusterID(name), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(make([]byte, 1<<20), 16<<20)
	next := func() livePicture {
		t.Helper()
		event := ""
		for lines.Scan() {
			line := lines.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				var pic livePicture
				if event != "picture" || json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &pic) != nil {
					t.Fatalf("event %q: %s", event, line)
				}
				return pic
			}
		}
		t.Fatalf("the stream ended: %v", lines.Err())
		return livePicture{}
	}
	first := next()
	if !strings.Contains(first.SVG, "<svg") || first.State == "" || strings.Contains(first.SVG, "late-pip") {
		t.Fatalf("first picture: state %q, %d bytes", first.State, len(first.SVG))
	}
	if err := e.st.Update(ctx, func(tx store.Tx) error {
		return tx.Put(&store.Resource{ID: "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/MC_rg1_c1_eastus/providers/Microsoft.Network/publicIPAddresses/late-pip",
			Type: "Microsoft.Network/publicIPAddresses", Name: "late-pip", Location: "eastus", Properties: json.RawMessage(`{"ipAddress":"127.224.0.99","provisioningState":"Updating"}`)})
	}); err != nil {
		t.Fatal(err)
	}
	second := next()
	if !strings.Contains(second.SVG, "late-pip") || !strings.Contains(second.SVG, ">Updating<") {
		t.Errorf("the picture after the write lacks the new public IP (in flight)")
	}

	// No such cluster: 404, no stream.
	r, err := http.Get(srv.URL + "/portal/events?id=" + clusterID("none"))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 404 {
		t.Errorf("events of no cluster: %d", r.StatusCode)
	}
}

// A resource's page: its facts, tags, what it links to and from, children,
// and the JSON ARM answers; a 404 page for what is not there.
func TestResourcePage(t *testing.T) {
	e := newEnv(t)
	name := topologyCases[0].build(e)
	var asked string
	p := New(Config{Store: e.st, Log: logging.Discard(), ARM: func(_ context.Context, id string) (string, int, []byte) {
		asked = id
		return "2024-01-01", 200, []byte(`{"id":"` + id + `","name":"from-arm"}`)
	}})
	get := func(target string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		p.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		return w
	}
	vnet := "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/MC_rg1_c1_eastus/providers/Microsoft.Network/virtualNetworks/aks-vnet-29207135"
	w := get("/portal/resource?id=" + url.QueryEscape(vnet))
	page := w.Body.String()
	if w.Code != 200 || asked != vnet {
		t.Fatalf("resource page: %d (ARM asked for %q)", w.Code, asked)
	}
	for _, want := range []string{"aks-vnet-29207135", "Microsoft.Network/virtualNetworks", "from-arm", // ARM's JSON
		"Linked from",        // the instances' NICs name its subnet
		`href="resource?id=`, // clickable IDs
		"MC_rg1_c1_eastus",   // its resource group
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the VNet's page lacks %q", want)
		}
	}
	cluster := get("/portal/resource?id=" + url.QueryEscape(clusterID(name))).Body.String()
	if !strings.Contains(cluster, `href="cluster?id=`) {
		t.Error("a cluster's page does not link to its picture")
	}
	for _, target := range []string{"/portal/resource?id=" + url.QueryEscape(clusterID("none")), "/portal/resource?id=..%2F..%2Fetc", "/portal/resource", "/portal/nowhere"} {
		w := get(target)
		if w.Code != 404 || !strings.Contains(w.Body.String(), "There is no resource") {
			t.Errorf("%s: %d, want the portal's 404 page", target, w.Code)
		}
	}
}

// A large pool: its first instances get boxes, the rest one box that
// counts them; the picture stays small.
func TestLargePool(t *testing.T) {
	e := newEnv(t)
	e.create("big", `{"dnsPrefix":"big","agentPoolProfiles":[{"name":"nodepool1","count":40,"mode":"System"}]}`)
	g := e.topology("big")
	nodes, more := 0, []*Node{}
	for _, n := range g.Nodes {
		switch n.Kind {
		case "node":
			nodes++
		case "more":
			more = append(more, n)
		}
	}
	if nodes != maxInstances-1 || len(more) != 1 || more[0].Label != fmt.Sprintf("+ %d more instances", 40-(maxInstances-1)) {
		t.Fatalf("%d instance boxes and %v", nodes, more)
	}
	// The first instances, in number order.
	if n := g.Node(strings.Replace(more[0].ID, "/virtualMachines", "/virtualMachines/0", 1)); n == nil {
		t.Error("instance 0 is not drawn")
	}
	for _, edge := range g.Edges {
		if g.Node(edge.From) == nil || g.Node(edge.To) == nil {
			t.Errorf("edge %s → %s has an end that is not drawn", edge.From, edge.To)
		}
	}
}

// An application gateway's routing rules (AGIC's Ingress rules) are
// drawn with their listener and pool, and linked to the node pool whose
// pods are the pool's members.
func TestGatewayRules(t *testing.T) {
	gw := &store.Resource{ID: "/subscriptions/s/resourceGroups/mc/providers/Microsoft.Network/applicationGateways/gw"}
	child := func(name, props string) arm.Child { return arm.Child{Name: name, Properties: json.RawMessage(props)} }
	g := &Graph{byID: map[string]*Node{}}
	vmss := "/subscriptions/s/resourceGroups/mc/providers/Microsoft.Compute/virtualMachineScaleSets/pool1"
	g.add(&Node{ID: gw.ID, Kind: "gateway", Column: colFrontends})
	g.add(&Node{ID: vmss, Kind: "vmss", Column: colScaleSets})
	g.addGatewayRules(gw,
		[]arm.Child{child("port80", `{"port":80}`)},
		[]arm.Child{child("fl-1", `{"protocol":"Http","hostName":"shop.example.com","frontendPort":{"id":"`+gw.ID+`/frontendPorts/port80"}}`)},
		[]arm.Child{child("pool-default-web-80-bp-8080", `{"backendAddresses":[{"ipAddress":"10.244.1.7"}]}`)},
		[]arm.Child{child("rr-1", `{"httpListener":{"id":"`+gw.ID+`/httpListeners/fl-1"},"backendAddressPool":{"id":"`+gw.ID+`/backendAddressPools/pool-default-web-80-bp-8080"}}`)},
		nil, []instanceHost{{vmss: vmss, ip: "10.224.0.5", podCIDR: "10.244.1.0/24"}})
	rule := g.Node(gw.ID + "/requestRoutingRules/rr-1")
	if rule == nil || rule.Detail != "Http :80 shop.example.com → pool-default-web-80-bp-8080 (1)" {
		t.Fatalf("rule: %+v", rule)
	}
	want := map[string]bool{strings.ToLower(gw.ID) + "→" + strings.ToLower(rule.ID): true, strings.ToLower(rule.ID) + "→" + strings.ToLower(vmss): true}
	for _, e := range g.Edges {
		delete(want, e.From+"→"+e.To)
	}
	if len(want) != 0 {
		t.Errorf("missing edges: %v", want)
	}
}
