package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/localaks/localaks/internal/aks"
	"github.com/localaks/localaks/internal/arm"
	"github.com/localaks/localaks/internal/clusterspec"
	"github.com/localaks/localaks/internal/logging"
	"github.com/localaks/localaks/internal/provider/compute"
	"github.com/localaks/localaks/internal/provider/managedidentity"
	"github.com/localaks/localaks/internal/provider/network"
	"github.com/localaks/localaks/internal/resourceid"
	"github.com/localaks/localaks/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const sub = "00000000-0000-0000-0000-000000000001"

// env is a store with the providers AKS's reconciler writes through, as in
// internal/aks's tests: clusters are created the way a PUT creates them.
type env struct {
	t   testing.TB
	st  store.Store
	net *network.Provider
	rec *aks.Reconciler
	val *aks.Rules
}

func newEnv(t testing.TB) *env {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := arm.NewRegistry()
	log := logging.Discard()
	net := network.Register(network.Config{Store: st, Registry: reg, Log: log})
	comp := compute.Register(compute.Config{Store: st, Registry: reg, Network: net, Log: log})
	ids := managedidentity.Register(reg, st, func(string) string { return "tenant" })
	e := &env{t: t, st: st, net: net,
		rec: &aks.Reconciler{Store: st, Net: net, Compute: comp, Identity: ids, Log: log},
		val: &aks.Rules{Net: net, Compute: comp, TenantOf: func(string) string { return "tenant" }}}
	e.update(func(tx store.Tx) error {
		return tx.Put(&store.Resource{ID: "/subscriptions/" + sub + "/resourceGroups/rg1", Type: groupType, Name: "rg1",
			Location: "eastus", Properties: json.RawMessage(`{"provisioningState":"Succeeded"}`)})
	})
	return e
}

func (e *env) update(fn func(tx store.Tx) error) {
	e.t.Helper()
	if err := e.st.Update(context.Background(), fn); err != nil {
		e.t.Fatal(err)
	}
}

func clusterID(name string) string {
	return "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/" + name
}

// create stores a cluster from a managedClusters properties document, as
// a PUT does, and reconciles it: its node resource group is complete.
func (e *env) create(name, props string) {
	e.t.Helper()
	id := resourceid.MustParse(clusterID(name))
	loc := "eastus"
	in := &aks.ClusterInput{Location: &loc, Properties: json.RawMessage(props)}
	req := &arm.Request{HTTP: httptest.NewRequest(http.MethodPut, id.String(), nil), APIVersion: aks.APIVersions[0]}
	e.update(func(tx store.Tx) error {
		c, pools, _, err := e.val.PutCluster(tx, req, id, in, "op-create")
		if err != nil {
			return err
		}
		return aks.Save(tx, c, pools...)
	})
	if err := e.rec.Reconcile(context.Background(), id.String()); err != nil {
		e.t.Fatal(err)
	}
}

// userVNet is a virtual network of the user's, in rg1.
func (e *env) userVNet(name, props string) {
	e.update(func(tx store.Tx) error {
		return e.net.VirtualNetworks.Write(context.Background(), tx, &store.Resource{
			ID:   "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/" + name,
			Type: network.VirtualNetworkType, Name: name, Location: "eastus", Properties: json.RawMessage(props)})
	})
}

// exposeService does what the cloud controller does for a Service of type
// LoadBalancer: a public IP, and a frontend, probe and rule on the
// `kubernetes` load balancer feeding its backend pool.
func (e *env) exposeService(nodeRG, service, fe string, port int) {
	rg := "/subscriptions/" + sub + "/resourceGroups/" + nodeRG
	lbID := rg + "/providers/Microsoft.Network/loadBalancers/kubernetes"
	rule := fmt.Sprintf("%s-TCP-%d", fe, port)
	e.update(func(tx store.Tx) error {
		pip := &store.Resource{ID: rg + "/providers/Microsoft.Network/publicIPAddresses/kubernetes-" + fe, Type: network.PublicIPType,
			Name: "kubernetes-" + fe, Location: "eastus", SKU: json.RawMessage(`{"name":"Standard"}`),
			Tags:       map[string]string{"k8s-azure-service": service},
			Properties: json.RawMessage(`{"publicIPAllocationMethod":"Static"}`)}
		if err := e.net.PublicIPs.Write(context.Background(), tx, pip); err != nil {
			return err
		}
		lb, err := tx.Get(lbID)
		if err != nil {
			return err
		}
		var props map[string]any
		if err := json.Unmarshal(lb.Properties, &props); err != nil {
			return err
		}
		add := func(key string, v any) {
			list, _ := props[key].([]any)
			props[key] = append(list, v)
		}
		add("frontendIPConfigurations", map[string]any{"name": fe, "properties": map[string]any{"publicIPAddress": map[string]string{"id": pip.ID}}})
		add("probes", map[string]any{"name": rule, "properties": map[string]any{"protocol": "Tcp", "port": 31000 + port, "intervalInSeconds": 5}})
		add("loadBalancingRules", map[string]any{"name": rule, "properties": map[string]any{
			"frontendIPConfiguration": map[string]string{"id": lbID + "/frontendIPConfigurations/" + fe},
			"backendAddressPool":      map[string]string{"id": lbID + "/backendAddressPools/kubernetes"},
			"probe":                   map[string]string{"id": lbID + "/probes/" + rule},
			"protocol":                "Tcp", "frontendPort": port, "backendPort": port}})
		if lb.Properties, err = json.Marshal(props); err != nil {
			return err
		}
		return e.net.LoadBalancers.Write(context.Background(), tx, lb)
	})
}

func (e *env) topology(name string) *Graph {
	e.t.Helper()
	var g *Graph
	err := e.st.View(context.Background(), func(tx store.Tx) error {
		var err error
		g, err = Topology(tx, clusterID(name))
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return g
}

// The clusters the golden files show, each built as AKS builds it.
var topologyCases = []struct {
	name  string
	build func(e *env) string // returns the cluster's name
}{
	{
		// az aks create (kubenet, one pool of two) and one Service of type
		// LoadBalancer: outbound IP → frontend → outbound rule, service IP
		// → frontend → rule, both → the scale set → its nodes → the
		// managed subnet → NSG and route table.
		name: "kubenet-service",
		build: func(e *env) string {
			e.create("c1", `{"dnsPrefix":"c1","agentPoolProfiles":[{"name":"nodepool1","count":2,"mode":"System"}]}`)
			e.exposeService("MC_rg1_c1_eastus", "default/web", "a3a46f54bcde9474e95f0b598a2306f7", 80)
			return "c1"
		},
	},
	{
		// Azure CNI in a subnet of the user's (another resource group),
		// two pools, and the application gateway add-on with its subnet in
		// that network.
		name: "azure-cni-user-vnet-agic",
		build: func(e *env) string {
			e.userVNet("v", `{"addressSpace":{"addressPrefixes":["10.10.0.0/16"]},"subnets":[{"name":"s","properties":{"addressPrefix":"10.10.0.0/24"}}]}`)
			subnet := "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
			e.create("cni", `{"dnsPrefix":"cni","networkProfile":{"networkPlugin":"azure"},
				"agentPoolProfiles":[{"name":"system","count":1,"mode":"System","vnetSubnetID":"`+subnet+`"},
					{"name":"user","count":2,"mode":"User","vnetSubnetID":"`+subnet+`"}],
				"addonProfiles":{"ingressApplicationGateway":{"enabled":true,"config":{"applicationGatewayName":"gw","subnetCIDR":"10.10.1.0/24"}}}}`)
			return "cni"
		},
	},
	{
		// Azure CNI overlay in the managed network, with the application
		// gateway add-on's gateway and subnet in the node resource group.
		name: "overlay-agic",
		build: func(e *env) string {
			e.create("ov", `{"dnsPrefix":"ov","networkProfile":{"networkPlugin":"azure","networkPluginMode":"overlay"},
				"agentPoolProfiles":[{"name":"nodepool1","count":1,"mode":"System"}],
				"addonProfiles":{"ingressApplicationGateway":{"enabled":true,"config":{"applicationGatewayName":"gw","subnetCIDR":"10.225.0.0/16"}}}}`)
			return "ov"
		},
	},
	{
		// A managed NAT gateway instead of the load balancer.
		name: "kubenet-nat-gateway",
		build: func(e *env) string {
			e.create("nat", `{"dnsPrefix":"nat","networkProfile":{"networkPlugin":"kubenet","outboundType":"managedNATGateway"},
				"agentPoolProfiles":[{"name":"nodepool1","count":1,"mode":"System"}]}`)
			return "nat"
		},
	},
}

// TestTopology compares each cluster's picture, as data, with
// testdata/<case>.golden: the boxes column by column in drawing order,
// then the edges.
func TestTopology(t *testing.T) {
	for _, tc := range topologyCases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			g := e.topology(tc.build(e))
			golden(t, filepath.Join("testdata", tc.name+".golden"), describe(g))
			for _, edge := range g.Edges {
				if g.Node(edge.From) == nil || g.Node(edge.To) == nil {
					t.Errorf("edge %s → %s has an end that is not drawn", edge.From, edge.To)
				}
			}
		})
	}
}

// TestTopologySVG pins the drawing of one cluster.
func TestTopologySVG(t *testing.T) {
	e := newEnv(t)
	g := e.topology(topologyCases[0].build(e))
	golden(t, filepath.Join("testdata", topologyCases[0].name+".svg"), normalize(string(g.SVG())))
}

// describe renders a graph as text: one line a box ("kind  label  detail
// [ID]") under its column's title, then one line an edge.
func describe(g *Graph) string {
	var b strings.Builder
	fmt.Fprintf(&b, "cluster %s\n", g.Cluster.Record.ID)
	short := func(id string) string {
		_, rest, ok := strings.Cut(id, "/resourcegroups/")
		if !ok {
			_, rest, _ = strings.Cut(id, "/resourceGroups/")
		}
		return rest
	}
	for col, title := range columnTitles {
		fmt.Fprintf(&b, "\n%s\n", title)
		for _, n := range g.Nodes {
			if n.Column == col {
				fmt.Fprintf(&b, "  %-8s %s  %s  [%s]\n", n.Kind, n.Label, n.Detail, short(n.ID))
			}
		}
	}
	b.WriteString("\nEdges\n")
	for _, e := range g.Edges {
		from, to := g.Node(e.From), g.Node(e.To)
		fmt.Fprintf(&b, "  %s %s → %s %s\n", from.Kind, from.Label, to.Kind, to.Label)
	}
	return normalize(b.String())
}

var guid = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// normalize numbers the random GUIDs (the managed outbound IPs' names) in
// order of appearance, so that the same GUID reads the same everywhere;
// the test subscription stays.
// fqdnHash is the random part of a cluster's API server name.
var fqdnHash = regexp.MustCompile(`-[0-9a-f]{8}\.(hcp|portal)\.`)

func normalize(s string) string {
	seen := map[string]string{}
	s = fqdnHash.ReplaceAllString(s, "-<hash>.$1.")
	return guid.ReplaceAllStringFunc(s, func(g string) string {
		g = strings.ToLower(g)
		if g == sub {
			return g
		}
		if _, ok := seen[g]; !ok {
			seen[g] = fmt.Sprintf("<guid-%d>", len(seen)+1)
		}
		return seen[g]
	})
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(want, []byte(got)) {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, cmp.Diff(strings.Split(string(want), "\n"), strings.Split(got, "\n")))
	}
}

// TestLayout places boxes column by column in the graph's order and routes
// edges: forward from the right side of one box to the left side of the
// next, within a column (or backwards) out and in on the right, around a
// line half a gap to the right.
func TestLayout(t *testing.T) {
	build := func(perm bool) *Graph {
		g := &Graph{byID: map[string]*Node{}}
		nodes := []*Node{
			{ID: "pip-a", Kind: "pip", Label: "a", Column: colAddresses},
			{ID: "pip-b", Kind: "pip", Label: "b", Column: colAddresses},
			{ID: "fe-1", Kind: "frontend", Label: "1", Column: colFrontends},
			{ID: "fe-2", Kind: "frontend", Label: "2", Column: colFrontends},
			{ID: "subnet", Kind: "subnet", Label: "subnet", Column: colNetwork},
			{ID: "nsg", Kind: "nsg", Label: "nsg", Column: colNetwork},
			{ID: "vmss", Kind: "vmss", Label: "vmss", Column: colScaleSets},
		}
		// Crossed at the start (by name: a→2, b→1).
		edges := [][2]string{{"pip-a", "fe-2"}, {"pip-b", "fe-1"}, {"subnet", "nsg"}, {"vmss", "subnet"}}
		if perm {
			slices.Reverse(nodes)
			slices.Reverse(edges)
		}
		for _, n := range nodes {
			g.add(n)
		}
		for _, e := range edges {
			g.link(e[0], e[1])
		}
		return g
	}
	g := build(false)
	p := g.layout()
	at := map[string]box{}
	for _, b := range p.boxes {
		at[b.node.ID] = b
	}
	// The crossing is undone: each address is level with its frontend.
	for _, pair := range [][2]string{{"pip-a", "fe-2"}, {"pip-b", "fe-1"}} {
		if at[pair[0]].y != at[pair[1]].y {
			t.Errorf("%s at y %d, %s at y %d: want level", pair[0], at[pair[0]].y, pair[1], at[pair[1]].y)
		}
	}
	// A security group follows its subnet in the column.
	if at["nsg"].y <= at["subnet"].y {
		t.Errorf("nsg at %d above its subnet at %d", at["nsg"].y, at["subnet"].y)
	}
	// No box overlaps another; all are inside the picture.
	for i, a := range p.boxes {
		if a.x < 0 || a.y < topY || a.x+boxW > p.width || a.y+boxH > p.height {
			t.Errorf("%s outside the picture: %+v in %d×%d", a.node.ID, a, p.width, p.height)
		}
		for _, b := range p.boxes[i+1:] {
			if a.x < b.x+boxW && b.x < a.x+boxW && a.y < b.y+boxH && b.y < a.y+boxH {
				t.Errorf("%s and %s overlap", a.node.ID, b.node.ID)
			}
		}
	}
	// The same graph, its parts given in another order, draws the same.
	if a, b := string(g.SVG()), string(build(true).SVG()); a != b {
		t.Errorf("the layout depends on the order of the graph's parts:\n%s\n%s", a, b)
	}
	// An empty graph still has a box's height.
	if e := (&Graph{byID: map[string]*Node{}}).layout(); e.height <= topY || len(e.boxes) != 0 {
		t.Errorf("empty graph: %+v", e)
	}
}

// TestSpread: boxes keep their order and spacing, as near as they can be
// to where they want to be.
func TestSpread(t *testing.T) {
	for _, c := range []struct{ want, got []float64 }{
		{[]float64{0, 100, 200}, []float64{0, 100, 200}},
		{[]float64{50, 50}, []float64{0, 100}},
		{[]float64{0, 0, 300}, []float64{-50, 50, 300}},
		{[]float64{200, 0}, []float64{50, 150}},
	} {
		if got := spread(c.want, 100); !slices.Equal(got, c.got) {
			t.Errorf("spread(%v) = %v, want %v", c.want, got, c.got)
		}
	}
}

// TestAddOnce: a box is added once whatever the case of its ID, and
// edges compare IDs in lower case.
func TestAddOnce(t *testing.T) {
	g := &Graph{byID: map[string]*Node{}}
	g.add(&Node{ID: "/A/b", Label: "first"})
	g.add(&Node{ID: "/a/B", Label: "second"})
	g.link("/A/B", "")
	g.link("/A/B", "/X")
	if len(g.Nodes) != 1 || g.Node("/a/b").Label != "first" {
		t.Errorf("nodes %+v", g.Nodes)
	}
	if d := cmp.Diff([]Edge{{From: "/a/b", To: "/x"}}, g.Edges); d != "" {
		t.Errorf("edges (-want +got):\n%s", d)
	}
}

// TestServeHTTP: the pages answer from the store, read-only.
func TestServeHTTP(t *testing.T) {
	e := newEnv(t)
	name := topologyCases[0].build(e)
	p := New(Config{Store: e.st, Log: logging.Discard()})
	get := func(method, target string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		p.ServeHTTP(w, httptest.NewRequest(method, target, nil))
		return w
	}
	svg := get("GET", "/portal/topology.svg?id="+clusterID(name))
	if svg.Code != 200 || svg.Header().Get("Content-Type") != "image/svg+xml" || !bytes.Equal(svg.Body.Bytes(), e.topology(name).SVG()) {
		t.Errorf("topology.svg: %d %s", svg.Code, svg.Header().Get("Content-Type"))
	}
	page := get("GET", "/portal/cluster?id="+clusterID(name)).Body.String()
	for _, want := range []string{"<svg", "MC_rg1_c1_eastus", "kubenet"} {
		if !strings.Contains(page, want) {
			t.Errorf("cluster page lacks %q", want)
		}
	}
	index := get("GET", "/portal/").Body.String()
	if !strings.Contains(index, `href="cluster?id=`) || !strings.Contains(index, "MC_rg1_c1_eastus") {
		t.Errorf("index:\n%s", index)
	}
	for _, tt := range []struct {
		method, target string
		code           int
	}{
		{"POST", "/portal/", http.StatusMethodNotAllowed},
		{"DELETE", "/portal/cluster?id=" + clusterID(name), http.StatusMethodNotAllowed},
		{"GET", "/portal/cluster?id=" + clusterID("none"), http.StatusNotFound},
		{"GET", "/portal/topology.svg", http.StatusNotFound},
		{"GET", "/portal/elsewhere", http.StatusNotFound},
		{"HEAD", "/portal/", http.StatusOK},
	} {
		if w := get(tt.method, tt.target); w.Code != tt.code {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.target, w.Code, tt.code)
		}
	}
}

// The data path's counts land on the rule's box and the node's.
func TestAnnotate(t *testing.T) {
	g := &Graph{byID: map[string]*Node{}}
	rule := "/subscriptions/s/resourceGroups/mc/providers/Microsoft.Network/loadBalancers/kubernetes/loadBalancingRules/a1-TCP-80"
	g.add(&Node{ID: rule, Kind: "rule", Detail: "Tcp 80 → 80", Column: colRules})
	g.add(&Node{ID: "n0", Kind: "node", Detail: "10.224.0.4 · pods 10.244.0.0/24 · real", Column: colNodes})
	g.add(&Node{ID: "n1", Kind: "node", Detail: "10.224.0.5 · pods 10.244.1.0/24 · real", Column: colNodes})
	g.Annotate(&clusterspec.DataPath{Rules: []clusterspec.RuleCount{{ID: strings.ToUpper(rule), Carried: 7, Refused: 2,
		Backends: []clusterspec.BackendCount{{Address: "10.224.0.4", Healthy: true, Carried: 7}, {Address: "10.224.0.5"}}}}})
	for id, want := range map[string]string{rule: "7 carried, 2 refused",
		"n0": "7 carried, healthy for 1 of 1 rules", "n1": "0 carried, healthy for 0 of 1 rules"} {
		if got := g.Node(id).Live; got != want {
			t.Errorf("%s: %q, want %q", id, got, want)
		}
	}
	if svg := string(g.SVG()); !strings.Contains(svg, `class="live"`) || !strings.Contains(svg, "7 carried, 2 refused") {
		t.Errorf("the picture has no live counts:\n%s", svg)
	}
}

// TestLayoutStable: as a cluster grows (a pool scales out, a Service is
// exposed, a pool is added), the boxes already drawn keep their columns
// and their order in them: new boxes push others along, never across.
func TestLayoutStable(t *testing.T) {
	e := newEnv(t)
	e.create("c1", `{"dnsPrefix":"c1","agentPoolProfiles":[{"name":"nodepool1","count":2,"mode":"System"}]}`)
	e.exposeService("MC_rg1_c1_eastus", "default/web", "a1", 80)
	id := clusterID("c1")
	order := func() map[string][2]int { // box → (x, rank in its column)
		p := e.topology("c1").layout()
		boxes := slices.Clone(p.boxes)
		slices.SortStableFunc(boxes, func(a, b box) int { return a.y - b.y })
		rank := map[int]int{}
		out := map[string][2]int{}
		for _, b := range boxes {
			out[strings.ToLower(b.node.ID)] = [2]int{b.x, rank[b.x]}
			rank[b.x]++
		}
		return out
	}
	scale := func(pool string, n int) {
		e.update(func(tx store.Tx) error {
			r, err := tx.Get(id + "/agentPools/" + pool)
			if err != nil {
				return err
			}
			p, err := aks.DecodePool(r)
			if err != nil {
				return err
			}
			*p.Props.Count = n
			if err := p.Encode(); err != nil {
				return err
			}
			return tx.Put(p.Record)
		})
		if err := e.rec.Reconcile(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name string
		do   func()
	}{
		{"scale out", func() { scale("nodepool1", 4) }},
		{"expose a Service", func() { e.exposeService("MC_rg1_c1_eastus", "default/api", "a2", 8080) }},
		{"scale out again", func() { scale("nodepool1", 6) }},
		{"add a pool", func() {
			// As nodepool1, named user1 (what a PUT of a pool stores).
			e.update(func(tx store.Tx) error {
				r, err := tx.Get(id + "/agentPools/nodepool1")
				if err != nil {
					return err
				}
				p, err := aks.DecodePool(r)
				if err != nil {
					return err
				}
				p.Record.ID, p.Record.Name, p.Props.Mode, *p.Props.Count = id+"/agentPools/user1", "user1", "User", 2
				if err := p.Encode(); err != nil {
					return err
				}
				return tx.Put(p.Record)
			})
			if err := e.rec.Reconcile(context.Background(), id); err != nil {
				t.Fatal(err)
			}
		}},
		{"scale the new pool", func() { scale("user1", 3) }},
	}
	before := order()
	for _, st := range steps {
		st.do()
		after := order()
		if len(after) <= len(before) {
			t.Fatalf("%s: %d boxes, had %d", st.name, len(after), len(before))
		}
		// Common boxes: same column, same relative order.
		var common []string
		for id := range before {
			if _, ok := after[id]; ok {
				common = append(common, id)
			}
		}
		for _, a := range common {
			if before[a][0] != after[a][0] {
				t.Errorf("%s: %s moved from column x=%d to x=%d", st.name, a, before[a][0], after[a][0])
			}
			for _, b := range common {
				if before[a][0] == before[b][0] && before[a][1] < before[b][1] && after[a][1] > after[b][1] {
					t.Errorf("%s: %s and %s swapped places", st.name, a, b)
				}
			}
		}
		before = after
	}
}
